"""Which tracking and pose backends a request may use: known, and available here.

The availability is the registries' (``liftflow.tracking.backend_status``,
``liftflow.pose.registry``); an unavailable backend is refused before a job exists with
``TrackerUnavailable`` / ``PoseUnavailable`` (422 with ``.public``, the reason without
server paths; the full reason is logged and shown in /api/v1/info).
"""

from __future__ import annotations

from typing import Optional

from liftflow.config import Settings
from liftflow.errors import InputError, PoseUnavailable, TrackerUnavailable
from liftflow.pose.pipeline import POSE_OFF
from liftflow.pose.registry import BACKENDS as POSE_BACKENDS, backend_reason, person_only_backend
from liftflow.tracking import BACKENDS, backend_status

__all__ = ["POSE_BACKENDS", "POSE_OFF", "check_pose_backend", "check_tracking_backend", "known_tracking_backend"]


def known_tracking_backend(name: str) -> str:
    if name not in BACKENDS:
        raise InputError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    return name


def check_tracking_backend(name: str, settings: Settings) -> str:
    """``name`` when it is a known tracking backend that can run here."""
    known_tracking_backend(name)
    st = backend_status(name, settings)
    if not st.available:
        raise TrackerUnavailable(f"backend {name!r} is unavailable: {st.reason}")
    return name


def check_pose_backend(pose_backend: Optional[str], person_detection: bool, settings: Settings) -> None:
    """The pose step of a job can run: its pose backend (unless off) is available, and with
    pose off but person detection on, one backend for person boxes is."""
    if pose_backend in (None, "", POSE_OFF):
        if person_detection:
            person_only_backend(settings)  # PoseUnavailable with every backend's reason
        return
    if pose_backend not in POSE_BACKENDS:
        raise InputError(f"unknown pose backend {pose_backend!r}; known: {', '.join(POSE_BACKENDS)}")
    reason = backend_reason(pose_backend, settings)
    if reason is not None:
        raise PoseUnavailable(f"pose backend {pose_backend!r} is unavailable: {reason}")
