"""The disc-tracker interface every backend implements."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Optional, Protocol

from liftflow.errors import TrackerUnavailable, TrackingError  # noqa: F401 (tracking's errors)

from liftflow.progress import ProgressFn
from liftflow.video import Frame, VideoInfo

# iter_frames(path, ...) with the path bound: (start=0, stop=None, max_side=None, scale=None)
FrameSource = Callable[..., Iterator[Frame]]

# Observation states
TRACKED = "tracked"  # plate found in this frame
LOST = "lost"  # plate not found (occluded, out of frame, too blurred): no position invented


@dataclass(frozen=True)
class SeedCircle:
    """The plate circle the user clicked (or that auto-detection chose) on ``frame``."""

    cx: float
    cy: float
    r: float
    frame: int = 0
    source: str = "user"  # "user" | "auto"
    reason: Optional[str] = None  # for auto seeds: why this circle was chosen

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DiscObservation:
    """The plate in one frame, in full-resolution image pixels of the upright frame."""

    frame: int
    t_s: float
    state: str  # TRACKED or LOST
    confidence: float  # 0..1; 0 when LOST
    center: Optional[tuple[float, float]] = None
    radius: Optional[float] = None  # equivalent circle radius, sqrt(a*b) for an ellipse
    ellipse: Optional[tuple[float, float, float]] = None  # (semi_major, semi_minor, angle_deg)
    polygon: Optional[Any] = None  # outline [[x, y], ...], or the same as an (n, 2) array
    extra: dict = field(default_factory=dict)
    # 1-sigma uncertainty of ``center`` (px) from the tracker's own fit, where it gives one
    # (the classic tracker: its rim fit's residual over the rim points' count); the physics
    # weights each frame's position by it (``liftflow.physics.filtering``)
    center_sd_px: Optional[float] = None

    @property
    def tracked(self) -> bool:
        return self.state == TRACKED and self.center is not None

    def to_dict(self) -> dict:
        """Plain dict of the fields. The outline is shared, not copied (asdict's deep copy
        held a second copy of every frame's outline while the analysis converted a whole
        track); it may be an (n, 2) numpy array (``liftflow.contract`` takes either)."""
        return {
            "frame": self.frame,
            "t_s": self.t_s,
            "state": self.state,
            "confidence": self.confidence,
            "center": None if self.center is None else list(self.center),
            "radius": self.radius,
            "ellipse": None if self.ellipse is None else list(self.ellipse),
            "polygon": self.polygon,
            "extra": dict(self.extra),
            "center_sd_px": self.center_sd_px,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "DiscObservation":
        d = dict(d)
        if d.get("center") is not None:
            d["center"] = tuple(d["center"])
        if d.get("ellipse") is not None:
            d["ellipse"] = tuple(d["ellipse"])
        return cls(**d)


class DiscTracker(Protocol):
    """Seed circle + video in, one observation per presentable frame out.

    Implementations stream frames from ``video_path`` (never hold the whole video) through
    ``frame_source`` when given (``liftflow.video.iter_frames``' signature without the path;
    the analysis passes one that also keeps small overlay frames from the same decode), cover
    every frame index ``0 .. info.frame_count-1`` (frames before ``seed.frame`` are tracked
    backwards from the seed), and report lost frames as LOST rather than inventing positions.
    """

    name: str

    def track(
        self,
        video_path: str,
        info: VideoInfo,
        seed: SeedCircle,
        progress: Optional[ProgressFn] = None,
        frame_source: Optional[FrameSource] = None,
    ) -> list[DiscObservation]: ...
