"""The request: the ONE list of what a run needs (video, seed, backends, physics inputs).

``AnalysisRequest`` is what the steps read. The Dagster resource that carries it as run
config (``liftflow.orchestration.resources.LiftRequest``, shown and edited in the launchpad)
is built from these fields, with the descriptions given here, so a new request field is
one edit here plus wherever a client sets it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Optional

from liftflow.pose.pipeline import POSE_OFF
from liftflow.tracking.registry import CLASSIC_BACKEND, DEFAULT_BACKEND

NETWORK_POSE_BACKENDS = ("yolo",)  # mediapipe's pose model runs on the CPU

__all__ = ["POSE_OFF", "AnalysisRequest", "check_backends_available", "check_pose_backend",
           "check_tracking_backend", "known_tracking_backend", "request_fields"]


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
    load_kg: Optional[float] = _f(None, "Total mass on the bar, bar included (kg); not given: bar_mass_kg + "
                                        "plate_mass_kg x plate_count, reported as assumed")
    pose_stride: int = _f(1)
    render: bool = _f(True, "Overlay video and plots beside result.json")
    # options for the steps that are not part of the run config (e.g. pose_max_side)
    extra: dict = field(default_factory=dict, metadata={"run_config": False})

    @property
    def has_seed(self) -> bool:
        return None not in (self.disc_center_x, self.disc_center_y, self.disc_radius)

    @property
    def runs_a_network(self) -> bool:
        """A learned model runs (Cutie/YOLO tracking, YOLO pose): a GPU host's work."""
        return runs_a_network(self.backend, self.pose_backend)

    @property
    def pose_enabled(self) -> bool:
        """Pose or the person box is asked for (else the pose step is a no-op)."""
        return self.pose_backend not in (None, "", POSE_OFF) or self.enable_person_detection

    def to_dict(self) -> dict:
        return asdict(self)


def runs_a_network(backend: Optional[str], pose_backend: Optional[str]) -> bool:
    """Tracking other than the classic tracker, or a pose backend with a torch network."""
    return (backend or DEFAULT_BACKEND) != CLASSIC_BACKEND or pose_backend in NETWORK_POSE_BACKENDS


def request_fields():
    """The fields a run's config carries: (name, type, default or MISSING, description)."""
    import typing

    hints = typing.get_type_hints(AnalysisRequest)
    return [(f.name, hints[f.name], f.default, f.metadata.get("doc", ""))
            for f in fields(AnalysisRequest) if f.metadata.get("run_config", True)]



def known_tracking_backend(name: str) -> str:
    """``name`` when the tracking registry knows it (InputError listing the known ones otherwise)."""
    from liftflow.errors import InputError
    from liftflow.tracking.registry import BACKENDS

    if name not in BACKENDS:
        raise InputError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    return name


def check_tracking_backend(name: str, settings=None) -> str:
    """``name`` when it is a known tracking backend that can run here."""
    from liftflow.errors import TrackerUnavailable
    from liftflow.tracking.registry import backend_status

    known_tracking_backend(name)
    st = backend_status(name, settings)
    if not st.available:
        raise TrackerUnavailable(f"backend {name!r} is unavailable: {st.reason}")
    return name


def check_pose_backend(pose_backend: Optional[str], person_detection: bool, settings=None) -> None:
    """The pose step of a job can run: its pose backend (unless off) is available, and with
    pose off but person detection on, one backend for person boxes is."""
    from liftflow.errors import InputError, PoseUnavailable
    from liftflow.pose.registry import BACKENDS as POSE_BACKENDS, backend_reason, person_only_backend

    if pose_backend in (None, "", POSE_OFF):
        if person_detection:
            person_only_backend(settings)  # PoseUnavailable with every backend's reason
        return
    if pose_backend not in POSE_BACKENDS:
        raise InputError(f"unknown pose backend {pose_backend!r}; known: {', '.join(POSE_BACKENDS)}")
    reason = backend_reason(pose_backend, settings)
    if reason is not None:
        raise PoseUnavailable(f"pose backend {pose_backend!r} is unavailable: {reason}")


def check_backends_available(backend: str, pose_backend: Optional[str] = None,
                             enable_person_detection: bool = False, settings=None) -> None:
    """Refuse a request for a backend that cannot run here, before any job exists (every
    entry point: upload, run_one, run_batch, ``liftflow analyze``).

    Raises ``InputError`` for an unknown name, ``TrackerUnavailable`` or ``PoseUnavailable``
    when it cannot run: ``str()`` names the missing package or weights path (operators),
    ``.public`` the same without paths (API clients)."""
    check_tracking_backend(backend, settings)
    check_pose_backend(pose_backend, enable_person_detection, settings)
