"""The request: the ONE list of what a run needs (video, seed, backends, physics inputs).

``AnalysisRequest`` is what the steps read. The Dagster resource that carries it as run
config (``liftflow.orchestration.resources.LiftRequest``, shown and edited in the launchpad)
is built from these fields, with the descriptions given here, so a new request field is
one edit here plus wherever a client sets it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Optional

from liftflow.tracking.registry import DEFAULT_BACKEND

__all__ = ["POSE_OFF", "AnalysisRequest", "request_fields"]

POSE_OFF = "off"


def _f(default, doc: str = "", **kw):
    return field(default=default, metadata={"doc": doc}, **kw)


@dataclass
class AnalysisRequest:
    """Everything a run needs; also the run config the Dagster launchpad shows and edits."""

    video_path: str = field(metadata={"doc": "Absolute path of the video to analyse"})
    disc_center_x: Optional[float] = _f(None, "Seed circle centre x (px)")
    disc_center_y: Optional[float] = _f(None, "Seed circle centre y (px)")
    disc_radius: Optional[float] = _f(None, "Seed circle radius (px)")
    seed_frame: int = _f(0, "Frame index of the seed circle")
    backend: str = _f(DEFAULT_BACKEND, "Disc tracking backend")
    pose_backend: str = _f(POSE_OFF, "off | mediapipe | yolo")
    enable_person_detection: bool = _f(False)
    lift_type: Optional[str] = _f(None, "squat, snatch, clean, ...")
    plate_diameter_m: float = _f(0.45)
    bar_mass_kg: float = _f(20.0)
    plate_mass_kg: float = _f(20.0)
    plate_count: int = _f(2)
    pose_stride: int = _f(1)
    render: bool = _f(True, "Overlay video and plots beside result.json")
    # options for the steps that are not part of the run config (e.g. pose_max_side)
    extra: dict = field(default_factory=dict, metadata={"run_config": False})

    @property
    def has_seed(self) -> bool:
        return None not in (self.disc_center_x, self.disc_center_y, self.disc_radius)

    @property
    def pose_enabled(self) -> bool:
        """Pose or the person box is asked for (else the pose step is a no-op)."""
        return self.pose_backend not in (None, "", POSE_OFF) or self.enable_person_detection

    def to_dict(self) -> dict:
        return asdict(self)


def request_fields():
    """The fields a run's config carries: (name, type, default or MISSING, description)."""
    import typing

    hints = typing.get_type_hints(AnalysisRequest)
    return [(f.name, hints[f.name], f.default, f.metadata.get("doc", ""))
            for f in fields(AnalysisRequest) if f.metadata.get("run_config", True)]


def check_backends_available(backend: str, pose_backend: Optional[str] = None,
                             enable_person_detection: bool = False, settings=None) -> None:
    """Refuse a request for a backend that cannot run here, before any job exists.

    Raises ``TrackerUnavailable`` or ``PoseUnavailable``: ``str()`` names the missing
    package or weights path (operators), ``.public`` the same without paths (API clients).
    An unknown name is refused by the registry with the list of known ones."""
    from liftflow.errors import PoseUnavailable, TrackerUnavailable
    from liftflow.tracking.registry import backend_status

    status = backend_status(backend, settings)
    if not status.available:
        raise TrackerUnavailable(f"tracking backend {backend!r} is unavailable: {status.reason}")
    if pose_backend not in (None, "", POSE_OFF):
        from liftflow.pose.registry import backend_reason

        reason = backend_reason(pose_backend, settings)
        if reason is not None:
            raise PoseUnavailable(f"pose backend {pose_backend!r} is unavailable: {reason}")
    elif enable_person_detection:
        from liftflow.pose.registry import person_only_backend

        person_only_backend(settings)  # raises PoseUnavailable with every backend's reason
