"""What a frame-by-frame tracker does around its per-frame work, shared by the backends.

A track starts at the seed frame: the seed is checked against the video, frames are walked
forwards from it (optionally decoded in a background thread), then backwards from it in
chunks decoded forwards (a video decodes only forwards; one chunk is held at a time), and
any frame neither walk reached is reported LOST rather than left out.
"""

from __future__ import annotations

from typing import Callable, Iterator

from liftflow.tracking.base import LOST, DiscObservation, FrameSource, SeedCircle, TrackingError
from liftflow.video import Frame, VideoInfo
from liftflow.video.decode import prefetch

__all__ = ["NOT_DECODED", "backward_from_seed", "check_seed", "check_seed_frame",
           "fill_not_decoded", "forward_from_seed", "frame_time", "prefetch", "seed_not_decoded"]

NOT_DECODED = "frame not decoded"  # the reason a frame no walk reached is LOST


def check_seed_frame(seed: SeedCircle, n: int) -> None:
    """The seed frame is one of the video's ``n`` frames."""
    if not (0 <= seed.frame < n):
        raise TrackingError(f"seed frame {seed.frame} is outside the video (0..{n - 1})")


def check_seed(info: VideoInfo, seed: SeedCircle, min_radius: float = 0.0) -> int:
    """The checks at the start of ``track()``: frames to track, the seed frame among them,
    a positive seed radius (and above ``min_radius`` where the backend needs more).
    Returns the frame count."""
    n = int(info.frame_count)
    if n <= 0:
        raise TrackingError("the video has no frames")
    check_seed_frame(seed, n)
    if not (seed.r > 0):
        raise TrackingError(f"seed radius must be positive, got {seed.r}")
    if not (seed.r > min_radius):
        raise TrackingError(f"seed radius {seed.r} is too small")
    return n


def seed_not_decoded(seed: SeedCircle) -> TrackingError:
    """The error for a forward walk that never produced the seed frame."""
    return TrackingError(f"could not decode the seed frame {seed.frame} of the video")


def frame_time(info: VideoInfo, i: int, fallback: float) -> float:
    """Frame ``i``'s presentation time from the probe, else ``fallback`` (the decoder's)."""
    ts = info.timestamps_s
    return float(ts[i]) if i < len(ts) else float(fallback)


def forward_from_seed(frames: FrameSource, seed_frame: int, n: int, prefetch_depth: int = 0,
                      **decode) -> Iterator[Frame]:
    """Frames ``seed_frame .. n-1`` in order, decoded with ``decode`` (scale=...); in a
    background thread, ``prefetch_depth`` frames ahead, where that is > 0."""
    it = frames(start=seed_frame, **decode)
    if prefetch_depth > 0:
        it = prefetch(it, prefetch_depth)
    try:
        for fr in it:
            if fr.index >= n:
                return
            yield fr
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()


def backward_from_seed(frames: FrameSource, seed_frame: int, chunk: int,
                       **decode) -> Iterator[Frame]:
    """Frames ``seed_frame-1 .. 0``, nearest the seed first: decoded forwards in chunks of
    ``chunk`` frames, only one chunk held at a time (bounded memory)."""
    end = seed_frame
    while end > 0:
        begin = max(0, end - chunk)
        held = list(frames(start=begin, stop=end, **decode))
        for fr in reversed(held):
            yield fr
        del held
        end = begin


def fill_not_decoded(obs, n: int, info: VideoInfo, is_set: Callable[[int], bool]) -> None:
    """Every frame of ``0 .. n-1`` not stored in ``obs`` becomes LOST (no position invented)."""
    for i in range(n):
        if not is_set(i):
            obs[i] = DiscObservation(frame=i, t_s=frame_time(info, i, 0.0), state=LOST,
                                     confidence=0.0, extra={"reason": NOT_DECODED})
