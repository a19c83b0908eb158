"""What one step hands the next: a type per stage, travelling as itself.

    decode         -> VideoInfo      (liftflow.video: geometry, rotation, every frame's timestamp)
    track_disc     -> TrackResult    (the plate per frame as an ObservationTable, the seed used)
    estimate_pose  -> PoseResult     (person box, keypoints, pose events; or disabled)
    compute_metrics-> Kinematics     (calibrated bar kinematics, reps, phases: the physics dict)
    assemble       -> result.json    (liftflow.contract.build_result)

Dagster pickles them between ops (re-execution from failure reads them back); ``liftflow
analyze`` hands them over in memory. Frames never travel: each step that needs pixels
streams the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from liftflow.tracking.base import SeedCircle
from liftflow.tracking.table import ObservationTable
from liftflow.verdict import OK, Verdict
from liftflow.video import VideoInfo

__all__ = ["Kinematics", "PoseResult", "TrackResult", "VideoInfo"]


@dataclass
class TrackResult:
    """The plate through the clip: one row per frame (LOST rows included)."""

    backend: str
    seed: SeedCircle
    observations: ObservationTable
    seconds: float  # tracking's wall time, decoding included
    # why the overlay will decode the video again (None: it reuses tracking's decode)
    overlay_spool_refused: Optional[str] = None

    def __post_init__(self):
        if not isinstance(self.observations, ObservationTable):
            raise TypeError(f"TrackResult.observations must be an ObservationTable, "
                            f"not {type(self.observations).__name__}")

    @property
    def frames(self) -> int:
        return len(self.observations)

    @property
    def tracked_frames(self) -> int:
        return int(self.observations.tracked_mask().sum())

    @property
    def stats(self) -> dict:
        """Frames, tracked and lost frames, seconds and frames per second of tracking."""
        n, tracked, s = self.frames, self.tracked_frames, self.seconds
        return {"frames": n, "tracked_frames": tracked, "lost_frames": n - tracked,
                "seconds": round(s, 3), "fps": round(n / s, 2) if s > 0 else None}

    def as_pose_input(self) -> dict:
        """The track as the pose step reads it (``liftflow.pose.estimate_pose``)."""
        return {"observations": self.observations.dicts()}


@dataclass
class PoseResult:
    """``data``: what ``liftflow.pose.estimate_pose`` returned (contract ``pose`` section)."""

    enabled: bool
    backend: Optional[str] = None
    data: dict = field(default_factory=dict)

    @classmethod
    def disabled(cls) -> "PoseResult":
        return cls(enabled=False, data={"enabled": False})

    @property
    def events(self) -> Optional[dict]:
        """Pose events that refine the phases (knee/hip extension, catch, facing), if any."""
        return self.data.get("events")

    @property
    def stats(self) -> dict:
        return self.data.get("stats", {})


@dataclass
class Kinematics:
    """``data``: the JSON-ready dict ``liftflow.physics.compute_metrics`` returned (metrics,
    summary, reps, phases, bar_path, calibration, definitions, warnings, ...)."""

    data: dict

    @property
    def summary(self) -> dict:
        return self.data.get("summary", {})

    @property
    def verdict(self) -> Verdict:
        """Can the numbers be used (``liftflow.verdict``)."""
        v = self.data.get("verdict") or {}
        return Verdict(v.get("code", OK), v.get("message", ""))
