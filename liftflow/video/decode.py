from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np


class VideoError(ValueError):
    """The file is not a decodable video (readable reason in the message)."""


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int  # after rotation
    height: int  # after rotation
    fps: float  # average over the presentable frames
    frame_count: int
    duration_s: float
    rotation: int  # degrees clockwise applied to the stored frames to present them
    codec: str
    variable_frame_rate: bool
    timestamps_s: list[float] = field(repr=False)  # per presentable frame, first = 0.0

    def to_dict(self, with_timestamps: bool = False) -> dict:
        d = asdict(self)
        if not with_timestamps:
            d.pop("timestamps_s")
        return d


@dataclass
class Frame:
    index: int
    t_s: float
    image: np.ndarray  # BGR uint8, HxWx3, rotation applied (and scaled when asked)
    scale: float = 1.0  # image pixels per original (rotated) pixel


def _open(path: str | Path):
    import av

    p = Path(path)
    if not p.is_file():
        raise VideoError(f"video file not found: {p}")
    if p.stat().st_size == 0:
        raise VideoError(f"video file is empty (0 bytes): {p.name}")
    try:
        container = av.open(str(p))
    except Exception as exc:  # PyAV raises a family of FFmpeg errors
        raise VideoError(f"not a readable video file ({p.name}): {exc}") from exc
    if not container.streams.video:
        container.close()
        raise VideoError(f"no video stream in {p.name}")
    return container


def _rotation_of(stream, first_frame=None) -> int:
    """Clockwise degrees needed to present the stored frames upright."""
    rot = None
    if first_frame is not None and getattr(first_frame, "rotation", None) is not None:
        # PyAV reports the display matrix angle counter-clockwise.
        rot = -int(round(first_frame.rotation))
    if rot is None:
        tag = stream.metadata.get("rotate") if stream.metadata else None
        if tag is not None:
            rot = int(tag)
    return int(rot or 0) % 360


def _rotate(img: np.ndarray, rotation: int) -> np.ndarray:
    if rotation == 0:
        return img
    import cv2

    code = {
        90: cv2.ROTATE_90_CLOCKWISE,
        180: cv2.ROTATE_180,
        270: cv2.ROTATE_90_COUNTERCLOCKWISE,
    }.get(rotation)
    if code is None:
        raise VideoError(f"unsupported rotation of {rotation} degrees")
    return cv2.rotate(img, code)


def _presentable_pts(container, stream) -> list[int]:
    """Presentation timestamps of the frames a player would show (demux only, no decode)."""
    pts = []
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0:
            continue
        if getattr(packet, "is_discard", False):
            continue
        pts.append(packet.pts)
    pts.sort()
    return pts


def probe(path: str | Path) -> VideoInfo:
    """Read geometry, rotation and every frame's timestamp without decoding the whole video."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        codec = stream.codec_context.name if stream.codec_context else "unknown"
        try:
            first = next(container.decode(stream))
        except StopIteration:
            raise VideoError(f"{Path(path).name}: the video stream holds no decodable frame")
        except Exception as exc:
            raise VideoError(f"{Path(path).name}: cannot decode ({codec}): {exc}") from exc
        rotation = _rotation_of(stream, first)
        w, h = first.width, first.height
        if rotation in (90, 270):
            w, h = h, w
        container.seek(0)
        pts = _presentable_pts(container, stream)
        first_pts = first.pts if first.pts is not None else (pts[0] if pts else 0)
        pts = [p for p in pts if p >= first_pts]
    finally:
        container.close()
    if not pts:
        raise VideoError(f"{Path(path).name}: no frames found")
    tb = float(stream.time_base)
    ts = [(p - pts[0]) * tb for p in pts]
    n = len(ts)
    if n > 1:
        dts = np.diff(ts)
        mean_dt = float(np.mean(dts))
        fps = 1.0 / mean_dt if mean_dt > 0 else float(stream.average_rate or 30.0)
        vfr = bool(np.max(np.abs(dts - np.median(dts))) > 0.25 * np.median(dts))
        duration = ts[-1] + mean_dt
    else:
        fps = float(stream.average_rate or 30.0)
        vfr = False
        duration = 1.0 / fps
    return VideoInfo(
        path=str(path),
        width=int(w),
        height=int(h),
        fps=round(fps, 3),
        frame_count=n,
        duration_s=round(duration, 4),
        rotation=rotation,
        codec=codec,
        variable_frame_rate=vfr,
        timestamps_s=[round(t, 6) for t in ts],
    )


def iter_frames(
    path: str | Path,
    start: int = 0,
    stop: int | None = None,
    max_side: int | None = None,
    scale: float | None = None,
    threads: bool = True,
) -> Iterator[Frame]:
    """Stream decoded frames [start, stop) in presentation order, rotated upright.

    ``max_side`` or ``scale`` downscale each frame during colour conversion (cheaper than
    converting at full size); ``Frame.scale`` says by how much so callers can map back.
    Never holds more than one frame.
    """
    container = _open(path)
    try:
        stream = container.streams.video[0]
        if threads:
            stream.thread_type = "AUTO"
        first_pts = None
        index = -1
        rotation = None
        tb = float(stream.time_base)
        out_w = out_h = None
        s = 1.0
        for av_frame in container.decode(stream):
            if av_frame.pts is None:
                continue
            if first_pts is None:
                first_pts = av_frame.pts
                rotation = _rotation_of(stream, av_frame)
                w, h = av_frame.width, av_frame.height
                rw, rh = (h, w) if rotation in (90, 270) else (w, h)
                if scale is not None:
                    s = float(scale)
                elif max_side is not None and max(rw, rh) > max_side:
                    s = max_side / max(rw, rh)
                out_w = max(2, int(round(w * s)))
                out_h = max(2, int(round(h * s)))
            if av_frame.pts < first_pts:
                continue  # before the presentation start (edit list)
            index += 1
            if index < start:
                continue
            if stop is not None and index >= stop:
                break
            if s != 1.0:
                img = av_frame.reformat(width=out_w, height=out_h, format="bgr24").to_ndarray()
            else:
                img = av_frame.to_ndarray(format="bgr24")
            img = _rotate(img, rotation)
            yield Frame(index=index, t_s=(av_frame.pts - first_pts) * tb, image=img, scale=s)
    except VideoError:
        raise
    except Exception as exc:
        raise VideoError(f"{Path(path).name}: decoding failed at frame {index + 1}: {exc}") from exc
    finally:
        container.close()

