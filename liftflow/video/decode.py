from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import threading

import numpy as np

from liftflow.errors import VideoError  # noqa: F401 (video's error)



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
    image: np.ndarray  # BGR uint8, HxWx3, rotation applied (and scaled when asked; an
    # I420Image, BGR where read, with iter_frames(lazy_bgr=True))
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


def i420_planes(buf: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y (h, w), U and V (h/2, w/2) planes of a contiguous I420 buffer (the
    (h*3/2, w) layout OpenCV's COLOR_*_I420 conversions use); w and h even."""
    flat = buf.reshape(-1)
    q = (h // 2) * (w // 2)
    return (flat[:w * h].reshape(h, w), flat[w * h:w * h + q].reshape(h // 2, w // 2),
            flat[w * h + q:w * h + 2 * q].reshape(h // 2, w // 2))


def rotate_i420(buf: np.ndarray, W: int, H: int, rotation: int) -> np.ndarray:
    """Rotate an I420 image (H*3/2, W) clockwise by ``rotation`` degrees, plane by plane
    (``buf`` itself when 0)."""
    import cv2

    if rotation == 0:
        return buf
    code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
            270: cv2.ROTATE_90_COUNTERCLOCKWISE}[rotation]
    return np.concatenate([cv2.rotate(p, code).reshape(-1) for p in i420_planes(buf, W, H)])


def i420_box_to_bgr(planes, box) -> np.ndarray:
    """A BGR copy of ``box`` = (x0, y0, x1, y1), even coordinates, of an I420 picture given
    as its (Y, U, V) planes: the very pixels the whole picture's conversion has there."""
    import cv2

    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    buf = np.empty((h * 3 // 2, w), np.uint8)
    by, bu, bv = i420_planes(buf, w, h)
    by[...] = planes[0][y0:y1, x0:x1]
    bu[...] = planes[1][y0 // 2:y1 // 2, x0 // 2:x1 // 2]
    bv[...] = planes[2][y0 // 2:y1 // 2, x0 // 2:x1 // 2]
    return cv2.cvtColor(buf, cv2.COLOR_YUV2BGR_I420)


class I420Image:
    """A frame kept as I420 and converted to BGR only where it is read.

    ``img[y0:y1, x0:x1]`` is the BGR image of that region: the very pixels the whole
    frame's conversion has there (4:2:0 shares one chroma sample between 2x2 pixels, so
    the region is cut on even lines and columns, converted, then trimmed). ``shape`` and
    ``dtype`` are the BGR image's; ``np.asarray(img)`` converts all of it. The classic
    tracker reads about a tenth of each frame (the region around the plate): converting
    the whole frame for it was ~0.2 ms a frame of the decode thread's time, and a frame
    waiting in the prefetch queue is half the size."""

    def __init__(self, i420: np.ndarray, width: int, height: int):
        self.i420 = i420  # (height*3/2, width), owned
        self.shape = (int(height), int(width), 3)
        self.dtype = np.dtype(np.uint8)

    def __getitem__(self, key) -> np.ndarray:
        H, W = self.shape[:2]
        if not (isinstance(key, tuple) and len(key) == 2
                and all(isinstance(k, slice) and k.step in (None, 1) for k in key)):
            return np.asarray(self)[key]
        y0, y1, _ = key[0].indices(H)
        x0, x1, _ = key[1].indices(W)
        if y1 <= y0 or x1 <= x0:
            return np.zeros((max(0, y1 - y0), max(0, x1 - x0), 3), np.uint8)
        ey0, ex0 = y0 - (y0 & 1), x0 - (x0 & 1)
        ey1, ex1 = min(H, y1 + (y1 & 1)), min(W, x1 + (x1 & 1))
        bgr = i420_box_to_bgr(i420_planes(self.i420, W, H), (ex0, ey0, ex1, ey1))
        return bgr[y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        import cv2

        bgr = cv2.cvtColor(self.i420, cv2.COLOR_YUV2BGR_I420)
        return bgr if dtype is None else bgr.astype(dtype)


def frame_planes(av_frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Writable (h, w) views of a yuv420p ``av.VideoFrame``'s three planes (no copy)."""
    w, h = av_frame.width, av_frame.height
    return (_plane(av_frame, 0, w, h), _plane(av_frame, 1, w // 2, h // 2),
            _plane(av_frame, 2, w // 2, h // 2))


def _plane(av_frame, k: int, w: int, h: int) -> np.ndarray:
    """Plane ``k`` of a decoded frame as a (h, w) uint8 view (no copy; valid while the
    frame lives)."""
    p = av_frame.planes[k]
    return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:h, :w]


class _Halvings(threading.local):
    """The current frame's yuv planes and their exact 2x box halvings, computed once per
    frame and shared by every ``PlaneScaler`` working on it (the tracker's frames and the
    overlay's spool are both cut from the same decoded picture). One frame per thread."""

    frame = None
    levels: list = []
    sized: dict = {}  # (W, H) -> the frame as I420 at that size

    def get(self, av_frame, level: int, w: int, h: int) -> list[np.ndarray]:
        import cv2

        if self.frame is not av_frame:
            self.frame = av_frame  # holds the frame: its planes back the level-0 views
            self.levels = [list(frame_planes(av_frame))]  # (w, h: the frame's, see applies())
            self.sized = {}
        while len(self.levels) <= level:
            prev = self.levels[-1]
            self.levels.append([cv2.resize(p, (p.shape[1] // 2, p.shape[0] // 2),
                                           interpolation=cv2.INTER_AREA) for p in prev])
        return self.levels[level]


_halvings = _Halvings()


class PlaneScaler:
    """A decoded yuv420p frame to a smaller I420 or BGR image, with cv2 on the planes.

    About 3x cheaper than swscale's combined scale + colour conversion on 1080x1920
    input (the pipeline's biggest per-frame cost after decoding itself): exact 2x box
    halvings while the ratio is over 2 (plain bilinear would alias fine texture;
    INTER_AREA at a non-integer ratio is ~20x slower), shared between scalers of the same
    frame, then bilinear to the exact size. Colours: BT.601 limited range, as swscale's
    default. Output sizes are rounded to even numbers (4:2:0). ``applies(av_frame)`` says
    whether a frame can take this path (yuv420p, even size, the size it was made for);
    other frames go through ``av_frame.reformat``.
    """

    def __init__(self, src_w: int, src_h: int, scale: float, rotation: int = 0):
        self.src_w, self.src_h = int(src_w), int(src_h)
        self.W = max(2, int(round(src_w * scale)) // 2 * 2)
        self.H = max(2, int(round(src_h * scale)) // 2 * 2)
        self.rotation = int(rotation)
        self._buf = np.empty((self.H * 3 // 2, self.W), np.uint8)
        # halvings that keep the chroma planes at least the output's chroma size
        lv, w, h = 0, self.src_w // 2, self.src_h // 2
        while w >= self.W and h >= self.H and w >= 4 and h >= 4 and w % 2 == 0 and h % 2 == 0:
            lv, w, h = lv + 1, w // 2, h // 2
        self.level = lv

    @property
    def out_size(self) -> tuple[int, int]:
        """(width, height) of the output, rotation applied."""
        return (self.H, self.W) if self.rotation in (90, 270) else (self.W, self.H)

    def applies(self, av_frame) -> bool:
        return (av_frame.format.name == "yuv420p" and av_frame.width == self.src_w
                and av_frame.height == self.src_h and self.src_w % 2 == 0 and self.src_h % 2 == 0)

    def i420(self, av_frame) -> np.ndarray:
        """The frame as I420 (H*3/2, W) at the output size, stored orientation (not rotated).
        Read-only: scalers of the same size share it for the current frame."""
        import cv2

        W, H = self.W, self.H
        planes = _halvings.get(av_frame, self.level, self.src_w, self.src_h)
        done = _halvings.sized.get((W, H))
        if done is not None:
            return done
        buf = self._buf
        for src, dst in zip(planes, i420_planes(buf, W, H)):
            if src.shape == dst.shape:
                dst[...] = src
            else:
                cv2.resize(src, (dst.shape[1], dst.shape[0]), dst=dst, interpolation=cv2.INTER_LINEAR)
        _halvings.sized[(W, H)] = buf
        return buf

    def lazy_bgr(self, av_frame):
        """The frame at the output size, rotated upright, as an ``I420Image`` (its own copy
        of the pixels); a BGR array where the frame cannot take the plane path."""
        if not self.applies(av_frame):
            return self.bgr(av_frame)
        buf = self.i420(av_frame)
        # (rotated: a new array; else a copy: the scaler's is overwritten by the next frame)
        buf = rotate_i420(buf, self.W, self.H, self.rotation) if self.rotation else buf.copy()
        w, h = self.out_size
        return I420Image(buf.reshape(h * 3 // 2, w), w, h)

    def bgr(self, av_frame) -> np.ndarray:
        """A fresh BGR image at the output size, rotated upright."""
        import cv2

        if not self.applies(av_frame):
            img = av_frame.reformat(width=self.W, height=self.H, format="bgr24").to_ndarray()
        else:
            img = cv2.cvtColor(self.i420(av_frame), cv2.COLOR_YUV2BGR_I420)
        return _rotate(img, self.rotation)


def prefetch(it: Iterable, depth: int = 4) -> Iterator:
    """Run an iterator in a background thread (decoding overlaps its consumer: the tracker,
    or the shrinking of the decoded pictures). An error is raised in the consumer; closing
    the consumer stops the thread, and returns only once it has stopped.

    At most ``depth`` items wait in the queue: memory stays bounded.
    """
    import queue
    import threading

    q: "queue.Queue" = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work():
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            q.put(done)
        except BaseException as exc:  # hand the decode error to the consumer
            q.put(exc)
        finally:
            close = getattr(it, "close", None)
            if close is not None and stop.is_set():
                try:
                    close()
                except Exception:
                    pass

    th = threading.Thread(target=work, name="liftflow-decode", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while th.is_alive():
            try:
                q.get_nowait()
            except Exception:
                pass
            th.join(timeout=0.05)


DECODE_AHEAD = 3  # pictures decoded ahead by iter_frames(decode_thread=True): ~3 MB each at 1080x1920


def decode_threads(cpus: Optional[int] = None) -> int:
    """FFmpeg threads for a decoder that has a thread of its own beside two busy ones (the
    shrinking and the tracker): the cores beyond those two, at least one. On two cores that
    is one: H.264 frame threads cost ~25-30% more decoder CPU (1080x1920, 1.8-1.9 against
    2.3-2.5 ms a frame here) for no gain when every core is busy anyway."""
    import os

    cpus = os.cpu_count() if cpus is None else cpus
    return max(1, int(cpus or 1) - 2)


FrameTap = Callable[[int, float, object, int], None]


def iter_frames(
    path: str | Path,
    start: int = 0,
    stop: int | None = None,
    max_side: int | None = None,
    scale: float | None = None,
    threads: bool = True,
    tap: Optional[FrameTap] = None,
    skip_loop_filter: bool = False,
    lazy_bgr: bool = False,
    decode_thread: bool = False,
) -> Iterator[Frame]:
    """Stream decoded frames [start, stop) in presentation order, rotated upright.

    ``max_side`` or ``scale`` downscale each frame (on the yuv planes with
    ``PlaneScaler`` where the pixel format allows, else during swscale's colour
    conversion); ``Frame.scale`` says by how much so callers can map back (the image's
    own shape is exact: sizes are rounded to even numbers). ``tap(index, t_s, av_frame,
    rotation)`` sees every yielded frame's decoded picture first (the analysis uses it
    to keep small overlay frames from the same decode). ``skip_loop_filter``: H.264/HEVC
    decoding without the deblocking filter, ~23% less decoder CPU; the pictures differ
    by 0.3-3 grey levels on average (block edges), invisible once downscaled for tracking
    or the overlay. ``lazy_bgr``: a downscaled frame's ``image`` is an ``I420Image``
    (BGR where it is read; for readers of small regions). ``decode_thread``: the decoder
    runs in a thread of its own, ``DECODE_AHEAD`` pictures ahead, with fewer FFmpeg threads
    (``decode_threads()``): the caller's shrinking and tap then overlap decoding without
    paying for FFmpeg's frame threads. Otherwise never holds more than one frame.
    """
    container = _open(path)
    index = -1
    decoded = None
    try:
        stream = container.streams.video[0]
        if decode_thread:
            n_threads = decode_threads()
            stream.codec_context.thread_count = n_threads
            if n_threads > 1:
                stream.thread_type = "AUTO"
        elif threads:
            stream.thread_type = "AUTO"
        if skip_loop_filter:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        first_pts = None
        rotation = None
        tb = float(stream.time_base)
        s = 1.0
        scaler = None
        decoded = container.decode(stream)
        if decode_thread:
            decoded = prefetch(decoded, DECODE_AHEAD)
        for av_frame in decoded:
            if av_frame.pts is None:
                continue
            if first_pts is None:
                first_pts = av_frame.pts
                rotation = _rotation_of(stream, av_frame)
                w, h = av_frame.width, av_frame.height
                if scale is not None:
                    s = float(scale)
                elif max_side is not None and max(w, h) > max_side:
                    s = max_side / max(w, h)  # rotation does not change the longer side
                if s != 1.0:
                    scaler = PlaneScaler(w, h, s, rotation)
            if av_frame.pts < first_pts:
                continue  # before the presentation start (edit list)
            index += 1
            if index < start:
                continue
            if stop is not None and index >= stop:
                break
            t_s = (av_frame.pts - first_pts) * tb
            if tap is not None:
                tap(index, t_s, av_frame, rotation)
            if scaler is not None:
                img = scaler.lazy_bgr(av_frame) if lazy_bgr else scaler.bgr(av_frame)
            else:
                img = _rotate(av_frame.to_ndarray(format="bgr24"), rotation)
            yield Frame(index=index, t_s=t_s, image=img, scale=s)
    except VideoError:
        raise
    except Exception as exc:
        raise VideoError(f"{Path(path).name}: decoding failed at frame {index + 1}: {exc}") from exc
    finally:
        if decode_thread and decoded is not None:
            decoded.close()  # the decoder thread stops before its container closes
        container.close()
