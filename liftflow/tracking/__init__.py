"""Disc (plate) tracking: one interface, several backends, a registry that knows availability."""

from liftflow.tracking.base import (
    LOST,
    TRACKED,
    TrackerUnavailable,
    DiscObservation,
    DiscTracker,
    SeedCircle,
    TrackingError,
)
from liftflow.tracking.registry import (
    BACKENDS,
    DEFAULT_BACKEND,
    all_backends,
    available_backends,
    backend_status,
    create_tracker,
)

__all__ = [
    "BACKENDS", "DEFAULT_BACKEND", "LOST", "TRACKED", "TrackerUnavailable", "DiscObservation",
    "DiscTracker", "SeedCircle", "TrackingError", "all_backends", "available_backends",
    "backend_status", "create_tracker",
]
