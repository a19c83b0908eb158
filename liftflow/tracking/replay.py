"""A stand-in tracker that replays a given track: for tests of the steps after tracking.

``ReplayTracker`` is a ``DiscTracker`` that looks at no pixel: ``track()`` returns the
observations it was given (an ``ObservationTable``, a list of ``DiscObservation`` or their
dicts, or a ground-truth CSV ``frame,x,y,r[,r_minor][,visibility]``), one per frame of the
video, with the probe's timestamps. Frames the given track does not cover are LOST, as a
real tracker reports a frame it never reached. Physics, the contract and the overlay can
so be tested on a known track, independent of any tracker's accuracy.

Not a registered backend (the API lists what ``registry.BACKENDS`` holds): build it directly.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Iterable, Optional, Union

from liftflow.errors import DatasetError
from liftflow.progress import ProgressFn, report
from liftflow.tracking.base import LOST, TRACKED, DiscObservation, FrameSource, SeedCircle
from liftflow.tracking.driver import check_seed, frame_time
from liftflow.tracking.table import ObservationTable
from liftflow.video import VideoInfo

__all__ = ["NOT_REPLAYED", "ReplayTracker", "observations_from_csv"]

NOT_REPLAYED = "frame not in the replayed track"  # the reason such a frame is LOST
_VISIBILITIES = ("visible", "partial", "absent")  # as in a benchmark's ground truth


def _number(row: dict, key: str, line: int) -> Optional[float]:
    v = (row.get(key) or "").strip()
    if not v:
        return None
    try:
        x = float(v)
    except ValueError:
        raise DatasetError(f"line {line}: {key} must be a number (got {v!r})") from None
    if not math.isfinite(x):
        raise DatasetError(f"line {line}: {key} must be a finite number (got {v!r})")
    return x


def observations_from_csv(path: Union[str, Path]) -> list[DiscObservation]:
    """A ground-truth CSV as observations: a visible or partial row is TRACKED (confidence 1,
    radius sqrt(r * r_minor) where ``r_minor`` is given, the equivalent circle), an absent
    row LOST. ``t_s`` is 0 here: the tracker takes the times from the video's probe."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"replay track not found: {p}")
    with open(p, newline="", encoding="utf-8") as fh:
        rows = [{(k or "").strip(): v for k, v in r.items()} for r in csv.DictReader(fh)]
    out = []
    for line, row in enumerate(rows, start=2):
        fr = _number(row, "frame", line)
        if fr is None or fr < 0 or fr != int(fr):
            raise DatasetError(f"line {line}: frame must be a whole number >= 0 (got {row.get('frame')!r})")
        vis = (row.get("visibility") or "visible").strip().lower()
        if vis not in _VISIBILITIES:
            raise DatasetError(f"line {line}: visibility must be one of {', '.join(_VISIBILITIES)} "
                               f"(got {row.get('visibility')!r})")
        if vis == "absent":
            out.append(DiscObservation(int(fr), 0.0, LOST, 0.0, extra={"reason": "absent"}))
            continue
        x, y, r = (_number(row, k, line) for k in ("x", "y", "r"))
        if x is None or y is None or r is None or r <= 0:
            raise DatasetError(f"line {line}: x, y and a positive r are required where the plate is {vis}")
        r_minor = _number(row, "r_minor", line)
        if r_minor is not None:
            if r_minor <= 0:
                raise DatasetError(f"line {line}: r_minor must be positive (got {row.get('r_minor')!r})")
            r = math.sqrt(r * r_minor)
        out.append(DiscObservation(int(fr), 0.0, TRACKED, 1.0, center=(x, y), radius=r))
    return out


class ReplayTracker:
    """Returns a given track for any video with that many frames; never decodes one."""

    name = "replay"

    def __init__(self, track: Union[ObservationTable, Iterable, str, Path]):
        if isinstance(track, (str, Path)):
            given = observations_from_csv(track)
        else:
            given = [o if isinstance(o, DiscObservation) else DiscObservation.from_dict(o)
                     for o in track]
        self.by_frame: dict[int, DiscObservation] = {}
        for o in given:
            if o.frame in self.by_frame:
                raise DatasetError(f"the replayed track has frame {o.frame} twice")
            self.by_frame[int(o.frame)] = o

    def track(self, video_path: str, info: VideoInfo, seed: SeedCircle,
              progress: Optional[ProgressFn] = None,
              frame_source: Optional[FrameSource] = None) -> ObservationTable:
        """The given observations at frames ``0 .. info.frame_count-1`` (the seed is checked
        as a real tracker checks it, then ignored), LOST where none was given."""
        n = check_seed(info, seed)
        beyond = [f for f in self.by_frame if f >= n]
        if beyond:
            raise DatasetError(f"the replayed track has frame {max(beyond)}; the video has "
                               f"frames 0..{n - 1}")
        obs = ObservationTable(n)
        for i, o in self.by_frame.items():
            obs[i] = DiscObservation(
                frame=i, t_s=frame_time(info, i, o.t_s), state=o.state, confidence=o.confidence,
                center=o.center, radius=o.radius, ellipse=o.ellipse, polygon=o.polygon,
                extra=dict(o.extra))
        for i in range(n):
            if not obs.is_set(i):
                obs[i] = DiscObservation(i, frame_time(info, i, 0.0), LOST, 0.0,
                                         extra={"reason": NOT_REPLAYED})
        report(progress, 1.0, f"replay: {len(self.by_frame)} of {n} frames given")
        return obs
