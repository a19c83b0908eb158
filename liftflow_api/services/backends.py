"""Which tracking and pose backends a request may use: known, and available here.

The checks are the pipeline's (``liftflow.pipeline.request``: the same for the CLI); an
unavailable backend is refused before a job exists with ``TrackerUnavailable`` /
``PoseUnavailable`` (422 with ``.public``, the reason without server paths; the full reason
is logged and shown in /api/v1/info).
"""

from liftflow.pipeline.request import (
    POSE_OFF,
    check_pose_backend,
    check_tracking_backend,
    known_tracking_backend,
)
from liftflow.pose.registry import BACKENDS as POSE_BACKENDS

__all__ = ["POSE_BACKENDS", "POSE_OFF", "check_pose_backend", "check_tracking_backend", "known_tracking_backend"]
