"""Which pose backends exist, whether each can run here, and why not (like the trackers).

Each backend module exposes ``DESCRIPTION``, ``availability(settings) -> str | None``
(None when it can run, else the exact reason: missing package, weights file missing at an
absolute path) and ``create(settings, **options) -> PoseEstimator``. ``availability`` is
cheap: package look-ups and file checks, no heavy import.
"""

from __future__ import annotations

import importlib
from typing import Optional

from liftflow.config import Settings, get_settings
from liftflow.pose.base import PoseEstimator, PoseUnavailable

BACKENDS: dict[str, str] = {
    "mediapipe": "liftflow.pose.mediapipe_backend",
    "yolo": "liftflow.pose.yolo_backend",
}
# Person boxes only (pose_backend "off", enable_person_detection on): the first available
# in this order. MediaPipe first: it needs no weights file.
PERSON_ONLY_PREFERENCE = ("mediapipe", "yolo")


def _module(name: str):
    if name not in BACKENDS:
        raise PoseUnavailable(f"unknown pose backend {name!r}; known backends: {', '.join(BACKENDS)}")
    return importlib.import_module(BACKENDS[name])


def backend_reason(name: str, settings: Optional[Settings] = None) -> Optional[str]:
    settings = settings or get_settings()
    mod = _module(name)
    try:
        return mod.availability(settings)
    except Exception as exc:  # a broken optional dependency must not break /info
        return f"availability check failed: {exc}"


def pose_backends(settings: Optional[Settings] = None) -> list[dict]:
    """``[{"name", "available", "reason", "description"}]`` for ``/api/v1/info``."""
    settings = settings or get_settings()
    out = []
    for name in BACKENDS:
        reason = backend_reason(name, settings)
        out.append({"name": name, "available": reason is None, "reason": reason,
                    "description": getattr(_module(name), "DESCRIPTION", "")})
    return out


def create_estimator(name: str, settings: Optional[Settings] = None, **options) -> PoseEstimator:
    """Build a backend or raise PoseUnavailable with the exact reason. Never substitutes."""
    settings = settings or get_settings()
    reason = backend_reason(name, settings)
    if reason is not None:
        raise PoseUnavailable(f"pose backend {name!r} is unavailable: {reason}")
    return _module(name).create(settings, **options)


def person_only_backend(settings: Optional[Settings] = None) -> str:
    """The backend used for person boxes when pose itself is off."""
    settings = settings or get_settings()
    reasons = {}
    for name in PERSON_ONLY_PREFERENCE:
        r = backend_reason(name, settings)
        if r is None:
            return name
        reasons[name] = r
    raise PoseUnavailable(
        "person detection needs a pose backend and none is available: "
        + "; ".join(f"{n}: {r}" for n, r in reasons.items())
    )
