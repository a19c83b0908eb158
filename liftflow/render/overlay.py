"""The overlay video: the tracked plate, the bar path coloured by vertical speed, rep and
phase labels, a live velocity readout and (when present) the pose skeleton, drawn with
cv2 over each frame and encoded as a browser-ready H.264 MP4 in one streaming pass.

Speed: the frames come at the output size as I420, either from the small copies tracking
kept while it decoded the video (``liftflow.render.spool``: no second decode) or, when
there are none (a re-executed step), from a decode downscaled on the yuv planes. Each
picture is copied into a yuv420p frame the encoder takes as it is; only the boxes that
get drawing (the path and plate, the readout panel) are converted to BGR, drawn with the
usual cv2 calls and converted back, so most pixels never leave yuv (a whole-frame round
trip cost more than the drawing). The path is kept in a persistent layer so each frame
costs one ROI copy however long the lift, colours are precomputed per frame, and x264
runs in a worker thread while the next frame is drawn. The drawing waits for the whole
clip's filtered metrics (path colours, velocity readout, rep labels), which exist only
after tracking has seen every frame. Figures: ``liftflow bench speed``.
"""

from __future__ import annotations

import functools
import math
import os
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from liftflow.render.common import (
    DROP_RGB,
    FrameSeries,
    disc_track,
    drop_intervals,
    in_intervals,
    person_track,
    phase_list,
    rep_intervals,
    vy_rgb,
    vy_scale,
)
from liftflow.video.decode import frame_planes, i420_box_to_bgr, i420_planes
from liftflow.video.encode import VideoWriter

ProgressFn = Callable[[float, str], None]

# BGR colours
OUTLINE_BGR = (0, 255, 0)  # plate outline: pure green, easy to find in tests and on video
HALO_BGR = (30, 30, 30)
CENTRE_BGR = (0, 255, 255)
SKELETON_BGR = (255, 200, 0)
JOINT_BGR = (255, 255, 255)
TEXT_BGR = (255, 255, 255)
PANEL_BGR = (20, 20, 20)

COCO_SKELETON = (
    (5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11), (6, 12), (11, 12),
    (11, 13), (13, 15), (12, 14), (14, 16), (0, 5), (0, 6),
)
SHIFT = 4  # cv2 sub-pixel bits
ONE = 1 << SHIFT
GAP_FRAMES = 3  # the path is broken where more frames than this are missing



def _fx(v: float) -> int:
    return int(round(v * ONE))


@functools.lru_cache(maxsize=1024)
def _text_size(text: str, scale: float, thickness: int) -> tuple[int, int]:
    """cv2.getTextSize of a readout line, remembered: most lines (the speed, the rep and
    phase labels) recur from frame to frame, and measuring was a fifth of the panel's cost."""
    import cv2

    return cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0]


def _overlay_writer(path: Path, width: int, height: int, fps: float, codec: str = "h264",
             preset: str = "veryfast", crf: int = 23, threaded: bool = True) -> VideoWriter:
    """The overlay's encoder: faststart MP4 (or WebM), a keyframe about every second so
    scrubbing in the browser is quick, OpenCV's fast BGR->I420."""
    k = max(1, int(round(fps if fps and fps > 0 else 30.0)))
    return VideoWriter(path, width, height, fps, codec=codec, preset=preset, crf=crf,
                       x264_params=f"keyint={k}:min-keyint={min(k, 25)}", faststart=True,
                       threaded=threaded, fast_yuv=True,
                       codec_threads=1 if max(width, height) <= 1280 else 0)


def _video_frames(video_path, max_side: Optional[int]):
    """(index, t_s, I420 picture, scale) straight from the video, downscaled on the yuv
    planes (``liftflow.video.iter_frames``); odd sizes lose their last row or column."""
    import cv2

    from liftflow.video import iter_frames

    for fr in iter_frames(video_path, max_side=max_side):
        img = fr.image
        h, w = img.shape[:2]
        img = img[:h - h % 2, :w - w % 2]
        if img.shape[0] < 2 or img.shape[1] < 2:
            raise ValueError(f"frame too small to encode: {w}x{h}")
        yield fr.index, fr.t_s, cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420), fr.scale


def _spool_frames(spool, width: int):
    """The same from a ``FrameSpool`` kept during tracking (no second decode)."""
    s = spool.width / max(1, width)
    for i, t, i420 in spool.frames():
        yield i, t, i420, s


def _even_box(x0: float, y0: float, x1: float, y1: float, w: int, h: int):
    """(x0, y0, x1, y1) grown to even coordinates (whole 4:2:0 chroma samples) and clipped
    to the w x h picture (both even); None when empty."""
    x0 = max(0, int(math.floor(x0)) // 2 * 2)
    y0 = max(0, int(math.floor(y0)) // 2 * 2)
    x1 = min(w, -(-int(math.ceil(x1)) // 2) * 2)
    y1 = min(h, -(-int(math.ceil(y1)) // 2) * 2)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _union(boxes):
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _bgr_to_box(planes, box, img: np.ndarray) -> None:
    """Write a BGR image back into ``box`` of the I420 planes."""
    import cv2

    x0, y0, x1, y1 = box
    by, bu, bv = i420_planes(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420), x1 - x0, y1 - y0)
    planes[0][y0:y1, x0:x1] = by
    planes[1][y0 // 2:y1 // 2, x0 // 2:x1 // 2] = bu
    planes[2][y0 // 2:y1 // 2, x0 // 2:x1 // 2] = bv


class _Scene:
    """Everything precomputed from the result; draws one frame in place."""

    def __init__(self, result: dict, scale: float, width: int, height: int, pose: bool):
        import cv2

        self.cv2 = cv2
        self.s = scale
        self.w, self.h = width, height
        track = disc_track(result)
        # entries are read frame by frame, never copied: a result's DiscFrames builds each
        # one when read (holding them all cost ~1 KB a frame)
        self.entries = track.get("frames") or {}
        self.keys: Optional[dict[int, str]] = None  # only for keys that are not str(int)
        idx = []
        for k in self.entries:
            try:
                i = int(k)
            except (TypeError, ValueError):
                continue
            idx.append(i)
            if k != str(i):
                self.keys = self.keys or {}
                self.keys[i] = k
        idx = sorted(set(idx))
        self.metrics = FrameSeries(result, min_frames=(idx[-1] + 1) if idx else 0)
        # the dropped bar (its fall, the bounces, the bar left lying) is drawn grey and kept
        # off the colour scale, as in the bar-path plot
        self.drops = drop_intervals(result)
        dropped = in_intervals(self.metrics.t, self.drops)
        lift_vy = self.metrics.vy[self.metrics.has & ~dropped]
        self.vmax = vy_scale(lift_vy if lift_vy.size else self.metrics.vy_all)
        # per frame: path colour (BGR) of the segment ending there; has_colour: tracked
        rgb = vy_rgb(self.metrics.vy[idx] if idx else np.zeros(0), self.vmax)
        self.colour = np.zeros((len(self.metrics), 3), np.uint8)
        self.has_colour = np.zeros(len(self.metrics), bool)
        self.colour[idx] = rgb[:, ::-1]
        self.colour[dropped] = DROP_RGB[::-1]
        self.has_colour[idx] = True
        self.prev_pt: Optional[tuple[int, int, int]] = None  # (frame, x, y) fixed-point
        # thickness and text sizes follow the output size
        side = min(width, height)
        self.th = max(2, int(round(side / 220)))
        self.path_th = max(2, int(round(side / 160)))
        self.fs = max(0.4, side / 900)
        self.ft = max(1, int(round(self.fs * 1.6)))
        self.layer = np.zeros((height, width, 3), np.uint8)
        self.mask = np.zeros((height, width), np.uint8)
        self.bbox: Optional[list[int]] = None  # x0, y0, x1, y1 of the drawn path
        self.reps = rep_intervals(result.get("reps"))
        self.phases = phase_list(result.get("phases"))
        self.person = person_track(result) if pose else None
        self.legend = self._legend()
        self.panel_bg: Optional[np.ndarray] = None  # the panel's colour, at the panel's size

    # -- labels --------------------------------------------------------------------------
    def labels(self, t: float) -> tuple[str, str, str]:
        rep_txt, last_txt, phase_txt = "", "", ""
        n = len(self.reps)
        for r in self.reps:
            if r["ecc"] and r["ecc"][0] <= t < r["ecc"][1]:
                rep_txt = f"Rep {r['rep']}/{n}  down"
            if r["con"] and r["con"][0] <= t <= r["con"][1]:
                rep_txt = f"Rep {r['rep']}/{n}  UP"
            if r["con"] and r["con"][1] < t and r["mcv"] is not None:
                last_txt = f"Rep {r['rep']} mean {r['mcv']:.2f} m/s"
        for label, s, e in self.phases:
            if s <= t <= e:
                phase_txt = label
        for s, e in self.drops:
            if s <= t <= e:
                phase_txt = "dropped bar"
        return rep_txt, last_txt, phase_txt

    def _legend(self):
        """The colour scale as I420 planes and its (even) size, or None."""
        cv2 = self.cv2
        bh = max(60, int(self.h * 0.18))
        bw = max(8, int(self.w * 0.025))
        v = np.linspace(self.vmax, -self.vmax, bh)
        rgb = vy_rgb(v, self.vmax)[:, ::-1]
        bar = np.repeat(rgb[:, None, :], bw, axis=1)
        fs = self.fs * 0.75
        tw = cv2.getTextSize("-0.00 m/s", cv2.FONT_HERSHEY_SIMPLEX, fs, 1)[0][0]
        pad = 6
        lh = cv2.getTextSize("0", cv2.FONT_HERSHEY_SIMPLEX, fs, 1)[0][1]
        H = bh + 2 * pad + 2 * (lh + pad)
        W = bw + tw + 3 * pad
        img = np.full((H, W, 3), PANEL_BGR, np.uint8)
        y0 = pad + lh + pad
        img[y0:y0 + bh, pad:pad + bw] = bar
        tx = pad * 2 + bw
        cv2.putText(img, "vy up", (pad, pad + lh), cv2.FONT_HERSHEY_SIMPLEX, fs, TEXT_BGR, 1, cv2.LINE_AA)
        cv2.putText(img, f"+{self.vmax:.1f} m/s", (tx, y0 + lh), cv2.FONT_HERSHEY_SIMPLEX, fs,
                    TEXT_BGR, 1, cv2.LINE_AA)
        cv2.putText(img, "0", (tx, y0 + bh // 2 + lh // 2), cv2.FONT_HERSHEY_SIMPLEX, fs,
                    TEXT_BGR, 1, cv2.LINE_AA)
        cv2.putText(img, f"-{self.vmax:.1f} m/s", (tx, y0 + bh), cv2.FONT_HERSHEY_SIMPLEX, fs,
                    TEXT_BGR, 1, cv2.LINE_AA)
        cv2.putText(img, "down", (pad, H - pad), cv2.FONT_HERSHEY_SIMPLEX, fs, TEXT_BGR, 1, cv2.LINE_AA)
        if W > self.w // 3 or H > self.h // 2:
            return None  # too small a video for a legend
        # even size (whole chroma samples): one more panel column on the left, row below
        img = cv2.copyMakeBorder(img, 0, H % 2, W % 2, 0, cv2.BORDER_CONSTANT, value=PANEL_BGR)
        h, w = img.shape[:2]
        i420 = cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420)
        return tuple(p.copy() for p in i420_planes(i420, w, h)), (w, h)

    # -- drawing -------------------------------------------------------------------------
    def _extend_path(self, idx: int, entry: dict) -> None:
        c = entry.get("center")
        if not c or len(c) < 2:
            return
        try:
            x, y = float(c[0]) * self.s, float(c[1]) * self.s
        except (TypeError, ValueError):
            return
        if not (math.isfinite(x) and math.isfinite(y)):
            return
        p = (idx, _fx(x), _fx(y))
        prev = self.prev_pt
        self.prev_pt = p
        if prev is None or idx - prev[0] > GAP_FRAMES:
            return
        cv2 = self.cv2
        col = self._colour(idx, (150, 150, 150))
        a, b = (prev[1], prev[2]), (p[1], p[2])
        cv2.line(self.layer, a, b, col, self.path_th, cv2.LINE_8, SHIFT)
        cv2.line(self.mask, a, b, 1, self.path_th, cv2.LINE_8, SHIFT)
        r = self.path_th
        x0, x1 = sorted((prev[1] >> SHIFT, p[1] >> SHIFT))
        y0, y1 = sorted((prev[2] >> SHIFT, p[2] >> SHIFT))
        box = [max(0, x0 - r - 1), max(0, y0 - r - 1), min(self.w, x1 + r + 2), min(self.h, y1 + r + 2)]
        if self.bbox is None:
            self.bbox = box
        else:
            bb = self.bbox
            self.bbox = [min(bb[0], box[0]), min(bb[1], box[1]), max(bb[2], box[2]), max(bb[3], box[3])]

    def _panel(self, planes, lines: list[tuple[str, float, tuple]]) -> None:
        """The readout, top left: the picture darkened under it, then the text."""
        cv2 = self.cv2
        pad = max(4, int(8 * self.fs))
        sizes = [_text_size(t, self.fs * k, self.ft) for t, k, _ in lines]
        W = min(self.w, max(s[0] for s in sizes) + 2 * pad)
        H = min(self.h, sum(s[1] + pad for s in sizes) + pad + 2)
        box = _even_box(0, 0, W, H, self.w, self.h)
        if box is None:
            return
        img = i420_box_to_bgr(planes, box)
        roi = img[0:H, 0:W]
        if self.panel_bg is None or self.panel_bg.shape != roi.shape:
            self.panel_bg = np.full_like(roi, PANEL_BGR)
        cv2.addWeighted(roi, 0.35, self.panel_bg, 0.65, 0, dst=roi)
        y = 0
        for (t, k, col), s in zip(lines, sizes):
            y += s[1] + pad
            cv2.putText(img, t, (pad, y), cv2.FONT_HERSHEY_SIMPLEX, self.fs * k, col, self.ft, cv2.LINE_AA)
        _bgr_to_box(planes, box, img)

    def _colour(self, idx: int, default: tuple) -> tuple:
        if 0 <= idx < self.has_colour.size and self.has_colour[idx]:
            b, g, r = self.colour[idx].tolist()
            return (b, g, r)
        return default

    def _entry(self, idx: int):
        key = str(idx) if self.keys is None else self.keys.get(idx, str(idx))
        return self.entries.get(key)

    def draw(self, planes, idx: int, t_video: float) -> None:
        """Draw frame ``idx`` over its I420 picture, given as its (Y, U, V) plane views."""
        entry = self._entry(idx)
        if entry is not None:
            self._extend_path(idx, entry)
        kps = None
        if self.person is not None:
            pe = (self.person.get("frames") or {}).get(str(idx)) or {}
            kps = self._keypoints(pe.get("keypoints"))
        plate = self._plate_shape(entry) if entry is not None else None
        # the path so far, the skeleton and the plate, drawn in BGR on one box around them
        box = _union([self.bbox, kps and kps[1], plate and plate[1]])
        box = box and _even_box(*box, self.w, self.h)
        if box is not None:
            img = i420_box_to_bgr(planes, box)
            ox, oy = box[0], box[1]
            if self.bbox is not None:  # one ROI copy, whatever the lift's length
                x0, y0, x1, y1 = self.bbox
                m = self.mask[y0:y1, x0:x1].view(bool)[..., None]
                np.copyto(img[y0 - oy:y1 - oy, x0 - ox:x1 - ox], self.layer[y0:y1, x0:x1], where=m)
            if kps:
                self._skeleton(img, kps[0], ox, oy)
            if plate:
                self._plate(img, plate[0], ox, oy)
            _bgr_to_box(planes, box, img)
        # readout
        ms = self.metrics
        m = 0 <= idx < len(ms) and bool(ms.has[idx])
        t = float(ms.t[idx]) if m and math.isfinite(ms.t[idx]) else t_video
        vy = float(ms.vy[idx]) if m else math.nan
        lines = []
        if math.isfinite(vy):
            col = self._colour(idx, TEXT_BGR)
            col = tuple(int(0.6 * c + 0.4 * 255) for c in col)  # lighter: readable on the dark panel
            lines.append((f"vy {vy:+.2f} m/s", 1.25, col))
        else:
            lines.append(("vy  --", 1.25, TEXT_BGR))
        h = float(ms.h[idx]) if m else math.nan
        sub = f"t {t:5.2f} s"
        if math.isfinite(h):
            sub += f"   h {h:.2f} m"
        lines.append((sub, 0.8, TEXT_BGR))
        rep_txt, last_txt, phase_txt = self.labels(t)
        if rep_txt:
            lines.append((rep_txt, 0.9, (0, 220, 255) if "UP" in rep_txt else TEXT_BGR))
        if phase_txt:
            lines.append((phase_txt, 0.9, (0, 220, 255)))
        if last_txt:
            lines.append((last_txt, 0.75, TEXT_BGR))
        self._panel(planes, lines)
        if self.legend is not None:  # top right, pasted as it is
            (ly, lu, lv), (lw, lh) = self.legend
            x0 = self.w - lw
            planes[0][0:lh, x0:self.w] = ly
            planes[1][0:lh // 2, x0 // 2:self.w // 2] = lu
            planes[2][0:lh // 2, x0 // 2:self.w // 2] = lv

    def _plate_shape(self, entry: dict):
        """(what to draw, its box in output pixels) for a track entry, or None."""
        s = self.s
        m = self.th + 4  # the halo's half width plus anti-aliasing
        pts = centre = r = None
        poly = entry.get("mask")  # lists, or an (n, 2) array from contract.disc_track
        if poly is not None and len(poly) >= 3:
            try:
                pts = np.round(np.asarray(poly, dtype=float)[:, :2] * s * ONE).astype(np.int32)
            except (TypeError, ValueError):
                pts = None
        c = entry.get("center")
        if c and len(c) >= 2:
            try:
                centre = (float(c[0]) * s, float(c[1]) * s)
                r = float(entry["radius"]) * s if pts is None and entry.get("radius") else None
            except (TypeError, ValueError):
                centre = r = None
            if centre is not None and not all(map(math.isfinite, centre)):
                centre = r = None
        boxes = []
        if pts is not None:
            lo, hi = pts.min(axis=0) / ONE, pts.max(axis=0) / ONE
            boxes.append((lo[0] - m, lo[1] - m, hi[0] + m, hi[1] + m))
        if centre is not None:
            e = (r if r is not None and math.isfinite(r) else 0.0) + max(2.0, self.th * 1.5) + m
            boxes.append((centre[0] - e, centre[1] - e, centre[0] + e, centre[1] + e))
        box = _union(boxes)
        return ((pts, centre, r), box) if box is not None else None

    def _plate(self, img: np.ndarray, shape, ox: int, oy: int) -> None:
        cv2 = self.cv2
        pts, centre, r = shape
        if pts is not None:
            pl = [(pts - np.array([ox * ONE, oy * ONE], np.int32)).reshape(-1, 1, 2)]
            # dark halo first: the outline stays visible on green plates and bright walls
            cv2.polylines(img, pl, True, HALO_BGR, self.th + 2, cv2.LINE_AA, SHIFT)
            cv2.polylines(img, pl, True, OUTLINE_BGR, self.th, cv2.LINE_AA, SHIFT)
        if centre is not None:
            c = (_fx(centre[0] - ox), _fx(centre[1] - oy))
            if pts is None and r is not None and math.isfinite(r) and r > 0:
                cv2.circle(img, c, _fx(r), HALO_BGR, self.th + 2, cv2.LINE_AA, SHIFT)
                cv2.circle(img, c, _fx(r), OUTLINE_BGR, self.th, cv2.LINE_AA, SHIFT)
            cv2.circle(img, c, _fx(max(2.0, self.th * 1.5)), CENTRE_BGR, -1, cv2.LINE_AA, SHIFT)

    def _keypoints(self, kps):
        """([fixed-point point or None] * 17, their box) for COCO keypoints, or None."""
        if not kps:
            return None
        s = self.s
        pts = []
        for kp in kps[:17]:
            try:
                x, y = float(kp[0]) * s, float(kp[1]) * s
                conf = float(kp[2]) if len(kp) > 2 else 1.0
            except (TypeError, ValueError, IndexError):
                pts.append(None)
                continue
            ok = math.isfinite(x) and math.isfinite(y) and conf >= 0.3
            pts.append((_fx(x), _fx(y)) if ok else None)
        good = [p for p in pts if p]
        if not good:
            return None
        m = self.th * 1.2 + self.th + 3
        xs, ys = [p[0] / ONE for p in good], [p[1] / ONE for p in good]
        return pts, (min(xs) - m, min(ys) - m, max(xs) + m, max(ys) + m)

    def _skeleton(self, img: np.ndarray, pts, ox: int, oy: int) -> None:
        cv2 = self.cv2
        o = (ox * ONE, oy * ONE)
        pts = [(p[0] - o[0], p[1] - o[1]) if p else None for p in pts]
        for a, b in COCO_SKELETON:
            if a < len(pts) and b < len(pts) and pts[a] and pts[b]:
                cv2.line(img, pts[a], pts[b], SKELETON_BGR, self.th, cv2.LINE_AA, SHIFT)
        for p in pts:
            if p:
                cv2.circle(img, p, _fx(self.th * 1.2), JOINT_BGR, -1, cv2.LINE_AA, SHIFT)


def render_overlay(
    video_path: str,
    result: dict,
    out_path: Path,
    progress: Optional[ProgressFn] = None,
    max_side: Optional[int] = 1080,
    *,
    codec: str = "h264",
    preset: str = "superfast",
    crf: int = 23,
    pose: bool = True,
    threaded: Optional[bool] = None,
    poster: bool = True,
    spool=None,
) -> dict:
    """Draw the analysis over the video and encode it for browsers; one streaming pass.

    ``result`` is the ResultsContract dict (pixel coordinates of the original, upright
    frame). ``max_side`` caps the longer side of the output (None = original size); the
    frames are decoded at that size directly. ``codec`` "h264" writes MP4 (libx264,
    yuv420p, moov atom first); "vp9" writes WebM (libvpx-vp9) for browsers without H.264.
    ``preset``/``crf`` are libx264's: on small-squat.mp4 (608x1080 out, 263 frames)
    veryfast 16.6 ms CPU/frame and 0.9 MB, superfast 13.5 ms and 2.1 MB, ultrafast 12.2
    ms and 4.0 MB (decode alone 7.5-8.6 ms); superfast is the default balance.
    ``progress(fraction, message)`` is called about 50 times. The file appears at
    ``out_path`` only when complete (written to a temporary name, then renamed).
    ``poster`` also writes the last overlay frame (the whole bar path drawn on the plate)
    as ``<stem>_poster.jpg`` beside it, for the page's <video poster>.
    ``spool``: a ``liftflow.render.spool.SpoolReader`` with every frame already at the
    output size (kept during tracking's decode); the video is then not decoded again.

    Returns {"path", "frames", "seconds", "width", "height", "fps", "codec", "poster"}
    ("poster" is None when not written).
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".part")
    md = result.get("metadata") or {}
    total = int(md.get("total_frames") or 0)
    fps = float(md.get("fps") or 30.0)
    if threaded is None:
        threaded = (os.cpu_count() or 1) >= 2
    t0 = time.perf_counter()
    enc: Optional[VideoWriter] = None
    scene: Optional[_Scene] = None
    n = 0
    w = h = 0
    every = max(1, total // 50) if total else 30
    ok = False
    last = None
    try:
        frames = (_spool_frames(spool, int(md.get("width") or spool.width)) if spool is not None
                  else _video_frames(video_path, max_side))
        for f_index, f_t, i420, f_scale in frames:
            if enc is None:
                h, w = i420.shape[0] * 2 // 3, i420.shape[1]
                if w < 2 or h < 2:
                    raise ValueError(f"frame too small to encode: {w}x{h}")
                enc = _overlay_writer(tmp, w, h, fps, codec=codec, preset=preset, crf=crf, threaded=threaded)
                scene = _Scene(result, f_scale, w, h, pose)
            frame = enc.blank_frame()
            planes = frame_planes(frame)
            for dst, src in zip(planes, i420_planes(i420, w, h)):
                dst[...] = src
            scene.draw(planes, f_index, f_t)
            enc.write_at(frame, f_t)
            last = frame
            n += 1
            if progress is not None and n % every == 0:
                frac = min(1.0, n / total) if total else 0.0
                progress(frac, f"rendering overlay: frame {n}" + (f" of {total}" if total else ""))
        if enc is None:
            raise ValueError(f"{Path(video_path).name}: no frames to render")
        ok = True
    finally:
        if enc is not None:
            enc.close(ok)
        if not ok:
            tmp.unlink(missing_ok=True)
    os.replace(tmp, out_path)
    poster_path = None
    if poster and last is not None:
        import cv2

        # the last frame: the encoder is done with it and nothing draws into it any more
        buf = np.empty((h * 3 // 2, w), np.uint8)
        for dst, src in zip(i420_planes(buf, w, h), frame_planes(last)):
            dst[...] = src
        poster_path = out_path.with_name(out_path.stem + "_poster.jpg")
        cv2.imwrite(str(poster_path), cv2.cvtColor(buf, cv2.COLOR_YUV2BGR_I420),
                    [cv2.IMWRITE_JPEG_QUALITY, 85])
    seconds = time.perf_counter() - t0
    if progress is not None:
        progress(1.0, f"overlay rendered: {n} frames")
    return {
        "path": out_path,
        "frames": n,
        "seconds": round(seconds, 3),
        "width": w,
        "height": h,
        "fps": round(n / seconds, 2) if seconds > 0 else None,
        "codec": codec,
        "poster": poster_path,
    }
