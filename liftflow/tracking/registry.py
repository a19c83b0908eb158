"""Which disc-tracking backends exist, whether each can run here, and why not.

Each backend module exposes ``DESCRIPTION``, ``availability(settings) -> str | None``
(None when it can run, else the exact reason: missing package, missing weights file at
PATH) and ``create(settings, **options) -> DiscTracker``. ``availability`` must be cheap:
no heavy imports, only package look-ups and file checks.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Optional

from liftflow.config import Settings, get_settings
from liftflow.tracking.base import TrackerUnavailable, DiscTracker

CLASSIC_BACKEND = "classic"  # the one place the default backend's name is spelled

BACKENDS: dict[str, str] = {
    CLASSIC_BACKEND: "liftflow.tracking.classic",
    "cutie": "liftflow.tracking.cutie",
    "yolo": "liftflow.tracking.yolo",
}
DEFAULT_BACKEND = CLASSIC_BACKEND


@dataclass(frozen=True)
class BackendStatus:
    name: str
    available: bool
    reason: Optional[str]
    description: str

    def to_dict(self) -> dict:
        return {"name": self.name, "available": self.available, "reason": self.reason,
                "description": self.description}


def _module(name: str):
    if name not in BACKENDS:
        raise TrackerUnavailable(
            f"unknown tracking backend {name!r}; known backends: {', '.join(BACKENDS)}"
        )
    return importlib.import_module(BACKENDS[name])


def backend_status(name: str, settings: Optional[Settings] = None) -> BackendStatus:
    settings = settings or get_settings()
    mod = _module(name)
    try:
        reason = mod.availability(settings)
    except Exception as exc:  # a broken optional dependency must not break /info
        reason = f"availability check failed: {exc}"
    return BackendStatus(name, reason is None, reason, getattr(mod, "DESCRIPTION", ""))


def all_backends(settings: Optional[Settings] = None) -> list[BackendStatus]:
    settings = settings or get_settings()
    return [backend_status(n, settings) for n in BACKENDS]


def available_backends(settings: Optional[Settings] = None) -> list[str]:
    return [b.name for b in all_backends(settings) if b.available]


def create_tracker(name: str, settings: Optional[Settings] = None, **options) -> DiscTracker:
    """Build a tracker, or raise TrackerUnavailable with the exact reason. Never substitutes."""
    settings = settings or get_settings()
    status = backend_status(name, settings)
    if not status.available:
        raise TrackerUnavailable(f"tracking backend {name!r} is unavailable: {status.reason}")
    return _module(name).create(settings, **options)
