"""The classic tracker's driver: the seed frame starts an engine, which walks forwards to
the end of the video; a twin of it, restarted at the seed, walks backwards to frame 0.
Observations go to an ``ObservationTable`` in full-resolution pixels."""

from __future__ import annotations

import math
import time
from typing import Optional

import numpy as np

from liftflow.numeric import round_array
from liftflow.progress import ProgressFn, report
from liftflow.tracking.base import TRACKED, LOST, DiscObservation, FrameSource, SeedCircle
from liftflow.tracking.classic.engine import Engine
from liftflow.tracking.classic.features import feature_map
from liftflow.tracking.classic.rim import N_RAYS, RimFit
from liftflow.tracking.driver import (backward_from_seed, check_seed, fill_not_decoded,
                                      forward_from_seed, frame_time, seed_not_decoded)
from liftflow.tracking.registry import CLASSIC_BACKEND
from liftflow.tracking.table import ObservationTable

__all__ = ["BACKWARD_BUDGET_BYTES", "DESCRIPTION", "MIN_SEED_RADIUS", "POLY_POINTS", "PREFETCH_DEPTH",
           "WORK_RADIUS", "ClassicTracker", "availability", "create"]

DESCRIPTION = (
    "Classic OpenCV tracker (no weights): appearance matching around a constant-velocity "
    "prediction, then a robust sub-pixel fit of the plate rim (circle/ellipse); reports "
    "frames where the plate is not visible as lost."
)

WORK_RADIUS = 44.0  # plate radius in working-resolution pixels
POLY_POINTS = 48
BACKWARD_BUDGET_BYTES = 192 * 1024 * 1024
MIN_SEED_RADIUS = 2.0  # px: a smaller seed circle has no rim to fit
PREFETCH_DEPTH = 4  # frames decoded ahead in the background while the engine works

_OUTLINE_TRIG: dict = {}  # POLY_POINTS -> the outline angles' (cosines, sines)


def _outline_trig(n: int) -> tuple:
    """Cosines and sines of the ``n`` outline angles: the same every frame, so computed once
    (per ``n``: the constant may be patched)."""
    hit = _OUTLINE_TRIG.get(n)
    if hit is None:
        th = np.linspace(0, 2 * np.pi, n, endpoint=False)
        hit = _OUTLINE_TRIG[n] = (np.cos(th), np.sin(th))
    return hit


def availability(settings=None) -> Optional[str]:
    return None  # opencv-python and numpy are core dependencies


def create(settings=None, **options) -> "ClassicTracker":
    return ClassicTracker(**options)


class ClassicTracker:
    """Pure OpenCV/NumPy plate tracking from a seed circle (see ``liftflow.tracking.classic``)."""

    name = CLASSIC_BACKEND
    lazy_frames = True  # reads frames by region: an I420Image (iter_frames(lazy_bgr=True)) will do

    def __init__(self, work_radius: float = WORK_RADIUS, n_rays: int = N_RAYS, **_ignored):
        self.work_radius = float(work_radius)
        self.n_rays = int(n_rays)

    def _scale_for(self, info, seed: SeedCircle) -> float:
        s = self.work_radius / max(seed.r, 1.0)
        return float(min(1.0, max(s, 0.05)))

    def track(self, video_path, info, seed: SeedCircle, progress: Optional[ProgressFn] = None,
              frame_source: Optional[FrameSource] = None):
        from functools import partial

        from liftflow.video.decode import iter_frames

        # frames as I420Image where the source can (BGR converted only around the plate)
        frames = frame_source or partial(iter_frames, video_path, lazy_bgr=True)

        n = check_seed(info, seed, min_radius=MIN_SEED_RADIUS)
        s = self._scale_for(info, seed)
        scale = s if s < 1 else None
        obs = ObservationTable(n)  # columns: nothing per frame stays as Python objects
        t_start = time.perf_counter()

        def mapper(img):
            h, w = img.shape[:2]
            sx, sy = w / info.width, h / info.height
            return sx, sy

        done = [0]

        def tick():
            done[0] += 1
            if progress is not None and (done[0] % 15 == 0 or done[0] == n):
                report(progress, done[0] / n, f"tracking frame {done[0]}/{n}")

        # forward from the seed
        engine = None
        for fr in forward_from_seed(frames, seed.frame, n, prefetch_depth=PREFETCH_DEPTH,
                                    scale=scale):
            sx, sy = mapper(fr.image)
            if engine is None:
                feat = feature_map(np.asarray(fr.image))
                seed_w = ((seed.cx + 0.5) * sx - 0.5, (seed.cy + 0.5) * sy - 0.5, seed.r * sx)
                engine = Engine(feat, seed_w)
                fit, conf = engine.seed_result(seed_w)
                obs[fr.index] = self._obs(fr.index, info, fr.t_s, fit, conf, sx, sy, {"seed": True})
                at_seed = engine.seed_snapshot()
                tick()
                continue
            fit, conf, diag = engine.step(fr.image)
            obs[fr.index] = self._obs(fr.index, info, fr.t_s, fit, conf, sx, sy, diag)
            tick()
        if engine is None:
            raise seed_not_decoded(seed)

        # backwards from the seed, in chunks held at working resolution
        if seed.frame > 0:
            frame_bytes = max(1, int(info.width * s) * int(info.height * s) * 3)
            chunk = int(max(8, min(seed.frame, BACKWARD_BUDGET_BYTES // frame_bytes)))
            bengine = None
            for fr in backward_from_seed(frames, seed.frame, chunk, scale=scale):
                sx, sy = mapper(fr.image)
                if bengine is None:
                    bengine = engine.restarted_at_seed(at_seed)
                fit, conf, diag = bengine.step(fr.image)
                obs[fr.index] = self._obs(fr.index, info, fr.t_s, fit, conf, sx, sy, diag)
                tick()

        fill_not_decoded(obs, n, info, obs.is_set)  # not decodable: honest loss
        elapsed = time.perf_counter() - t_start
        obs.set_extra(0, "tracker_fps", round(n / max(elapsed, 1e-6), 1))
        return obs

    def _obs(self, idx, info, t_s, fit: Optional[RimFit], conf, sx, sy, diag) -> DiscObservation:
        """One frame's fit as an observation in full-resolution pixels: centre, equivalent
        radius, the outline's ellipse and a POLY_POINTS-point outline (all rounded)."""
        t = frame_time(info, idx, t_s)
        if fit is None:
            return DiscObservation(frame=idx, t_s=float(t), state=LOST, confidence=0.0,
                                   extra=dict(diag))

        def bx(x):
            return (x + 0.5) / sx - 0.5

        def by(y):
            return (y + 0.5) / sy - 0.5

        cx, cy = bx(fit.cx), by(fit.cy)
        rr = fit.r / math.sqrt(sx * sy)
        # a tracked frame keeps no per-frame diagnostics (a lost one keeps its reason):
        # nothing reads them, and for a long clip they were the largest part of the
        # observations after the outline (~0.5 KB a frame)
        extra: dict = {}
        ratio, phi = fit.shape
        sq = math.sqrt(ratio)
        a_f, b_f = rr * sq, rr / sq
        ang = math.degrees(phi) % 180.0
        ellipse = (round(a_f, 3), round(b_f, 3), round(ang, 2))
        radius = rr
        ca, sa = math.cos(math.radians(ang)), math.sin(math.radians(ang))
        cos_t, sin_t = _outline_trig(POLY_POINTS)
        px = cx + a_f * cos_t * ca - b_f * sin_t * sa
        py = cy + a_f * cos_t * sa + b_f * sin_t * ca
        # = round(x, 2); kept as an array: ~0.9 instead of ~6 KB a frame as lists
        poly = round_array(np.column_stack((px, py)), 2)
        # the centre's 1-sigma from the rim fit: its residual over the rim points' count
        sd = (round(fit.rms / math.sqrt(fit.n_inliers) / math.sqrt(sx * sy), 4)
              if fit.n_inliers > 0 and math.isfinite(fit.rms) and fit.rms < 99.0 else None)
        return DiscObservation(
            frame=idx, t_s=float(t), state=TRACKED, confidence=round(float(conf), 4),
            center=(round(float(cx), 3), round(float(cy), 3)), radius=round(float(radius), 3),
            ellipse=ellipse, polygon=poly, extra=extra, center_sd_px=sd,
        )

