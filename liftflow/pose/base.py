"""The pose-estimator interface every backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol

import numpy as np

from liftflow.errors import PoseUnavailable  # noqa: F401 (pose's error)



@dataclass
class PersonPose:
    """One person in one frame, full-resolution pixels of the upright frame.

    ``keypoints``: (K, 3) ``[x, y, confidence]`` with the 17 COCO keypoints first.
    ``box``: (x1, y1, x2, y2) person box. ``score``: detection confidence 0..1.
    """

    keypoints: np.ndarray
    box: tuple[float, float, float, float]
    score: float
    extra: dict = field(default_factory=dict)

    def scaled(self, s: float, dx: float = 0.0, dy: float = 0.0) -> "PersonPose":
        """Map from (crop-)image pixels to full-res: ``full = (p + (dx, dy)) / s``."""
        k = np.asarray(self.keypoints, dtype=float).copy()
        k[:, 0] = (k[:, 0] + dx) / s
        k[:, 1] = (k[:, 1] + dy) / s
        x1, y1, x2, y2 = self.box
        box = ((x1 + dx) / s, (y1 + dy) / s, (x2 + dx) / s, (y2 + dy) / s)
        return PersonPose(k, box, self.score, dict(self.extra))


class PoseEstimator(Protocol):
    """Image in, people out.

    ``estimate(image, roi)`` takes one BGR uint8 frame (any size; callers may downscale) and
    an optional region of interest ``(x1, y1, x2, y2)`` in that image's pixels where the
    lifter is expected; it returns the people found, keypoints and boxes in the pixels of
    ``image``. Single-person backends (MediaPipe) return at most one and use ``roi`` to
    look where the bar is; multi-person backends (YOLO) return everyone and may ignore it.
    Backends keep state between consecutive calls (temporal tracking) until ``reset()``.
    """

    name: str
    multi_person: bool
    model_info: dict

    def estimate(self, image: np.ndarray,
                 roi: Optional[tuple[float, float, float, float]] = None) -> list[PersonPose]: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...
