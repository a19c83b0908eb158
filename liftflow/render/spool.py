"""Small copies of the frames, kept while tracking decodes the video, for the overlay pass.

The overlay's colours, readout and rep labels need the whole clip's filtered metrics, so
it is drawn after tracking. Decoding the full-size video a second time for it would cost
as much as the first decode; instead, tracking's decode hands each picture to
``FrameSpool.tap``, which shrinks its yuv planes to the overlay size (cv2, no colour
conversion) and writes them as raw I420 records into a file (fixed size per frame,
written at ``index * record`` so frames may arrive in any order, as the backward pass
from a later seed frame delivers them). Memory: one small frame, whatever the length;
disk: width * height * 1.5 bytes per frame (404x720: 436 KB, 785 MB for 30 s at 60 fps),
deleted once the overlay is rendered.

``FrameSpool.load(path)`` reads it back when every frame is there; otherwise the overlay
decodes the video itself (a re-executed step, a tracker that decodes on its own).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from liftflow.jobstore import FRAME_SPOOL
from liftflow.video.decode import PlaneScaler, rotate_i420

SPOOL_NAME = FRAME_SPOOL  # in the job folder
MAX_BYTES = 8 * 2**30  # never more than this on disk (about 5 min of 1080x1920 60 fps)
FREE_SHARE = 0.5  # nor more than this share of the free disk space


def spool_bytes(width: int, height: int, frame_count: int, max_side: Optional[int]) -> int:
    """Disk space a spool of this video takes (upright size, as the overlay's)."""
    w, h = PlaneScaler(width, height, overlay_scale(width, height, max_side)).out_size
    return int(frame_count) * w * h * 3 // 2


def overlay_max_side(width: int, height: int) -> int:
    """The overlay's longer side: 720 px for portrait phone clips (404x720 from 1080x1920:
    lines and labels stay crisp on a phone), 1080 px otherwise."""
    return 720 if height > width else 1080


def overlay_scale(width: int, height: int, max_side: Optional[int]) -> float:
    """The overlay's downscale: its longer side at most ``max_side``."""
    if max_side is not None and max(width, height) > max_side:
        return max_side / max(width, height)
    return 1.0


def spool_refusal(folder: Path, width: int, height: int, frame_count: int,
                  max_side: Optional[int]) -> Optional[str]:
    """Why a spool should not be kept (too large for the disk), or None."""
    import shutil

    need = spool_bytes(width, height, frame_count, max_side)
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        return f"cannot check free disk space ({exc})"
    if need > MAX_BYTES or need > FREE_SHARE * free:
        return (f"small overlay frames would take {need / 2**30:.1f} GB "
                f"({free / 2**30:.1f} GB free, limit {MAX_BYTES / 2**30:.0f} GB): "
                "the overlay decodes the video again instead")
    return None


class FrameSpool:
    """Writer: pass ``tap`` to ``iter_frames`` (or a tracker's frame source); ``close()``."""

    def __init__(self, path: Path, frame_count: int, max_side: Optional[int]):
        self.path = Path(path)
        self.info_path = self.path.with_name(self.path.name + ".json")
        self.frame_count = int(frame_count)
        self.max_side = max_side
        self.scaler: Optional[PlaneScaler] = None
        self.size: Optional[tuple[int, int]] = None  # (width, height) upright
        self.record = 0
        self.times: dict[int, float] = {}
        self.problem: Optional[str] = None  # why the spool cannot be used
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.info_path.unlink(missing_ok=True)
        # a new file, never an old one truncated: ext4 flushes a file truncated and
        # rewritten when it is closed (auto_da_alloc), 0.24 s for 785 MB
        self.path.unlink(missing_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)

    def tap(self, index: int, t_s: float, av_frame, rotation: int) -> None:
        if self.problem is not None or self._fd < 0 or not 0 <= index < self.frame_count:
            return
        if self.scaler is None:
            w, h = av_frame.width, av_frame.height
            self.scaler = PlaneScaler(w, h, overlay_scale(w, h, self.max_side), rotation)
            self.size = self.scaler.out_size
            self.record = self.scaler.W * self.scaler.H * 3 // 2
        if not self.scaler.applies(av_frame):
            # not plain 4:2:0 at the first frame's size: the overlay decodes the video itself
            self.problem = f"frame {index} is {av_frame.format.name} {av_frame.width}x{av_frame.height}"
            return
        buf = rotate_i420(self.scaler.i420(av_frame), self.scaler.W, self.scaler.H,
                           self.scaler.rotation)
        os.pwrite(self._fd, memoryview(np.ascontiguousarray(buf)).cast("B"), index * self.record)
        self.times[index] = float(t_s)

    def close(self) -> dict:
        """Finish the file and write its description beside it; returns that description."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        info = {
            "width": self.size[0] if self.size else None,
            "height": self.size[1] if self.size else None,
            "max_side": self.max_side,
            "frame_count": self.frame_count,
            "frames_written": len(self.times),
            "problem": self.problem,
            "t_s": [self.times.get(i) for i in range(self.frame_count)],
        }
        self.info_path.write_text(json.dumps(info))
        return info

    @staticmethod
    def remove(path: Path) -> None:
        path = Path(path)
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".json").unlink(missing_ok=True)

    @staticmethod
    def load(path: Path, max_side: Optional[int]) -> Optional["SpoolReader"]:
        """A reader when the spool is complete and was made for ``max_side``, else None."""
        path = Path(path)
        try:
            info = json.loads(path.with_name(path.name + ".json").read_text())
        except (OSError, ValueError):
            return None
        n = int(info.get("frame_count") or 0)
        if (info.get("problem") or not info.get("width") or n <= 0
                or info.get("frames_written") != n or info.get("max_side") != max_side
                or any(t is None for t in info.get("t_s") or [None])):
            return None
        w, h = int(info["width"]), int(info["height"])
        if not path.is_file() or path.stat().st_size != n * w * h * 3 // 2:
            return None
        return SpoolReader(path, w, h, info["t_s"])


class SpoolReader:
    def __init__(self, path: Path, width: int, height: int, times: list[float]):
        self.path, self.width, self.height, self.times = Path(path), width, height, times

    def __len__(self) -> int:
        return len(self.times)

    def frames(self) -> Iterator[tuple[int, float, np.ndarray]]:
        """(index, t_s, I420 picture (height*3/2, width)) in order. One buffer, overwritten
        by the next frame: copy what must be kept."""
        W, H = self.width, self.height
        rec = W * H * 3 // 2
        buf = np.empty((H * 3 // 2, W), np.uint8)
        with open(self.path, "rb", buffering=0) as f:
            for i, t in enumerate(self.times):
                if f.readinto(memoryview(buf).cast("B")) != rec:
                    raise ValueError(f"overlay frame spool {self.path.name} is truncated at frame {i}")
                yield i, t, buf
