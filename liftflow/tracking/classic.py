"""The ``classic`` plate tracker: pure OpenCV/NumPy, no weights.

Per frame, at a working resolution where the plate radius is about ``WORK_RADIUS`` px:

1. Coarse: appearance matching (``cv2.matchTemplate`` on a chroma-weighted Lab image) of
   the seed plate and of the last confidently tracked plate, in a window around a
   constant-velocity prediction whose size grows with the speed. Template matching keeps
   its peak on a motion-blurred plate where edges alone are ambiguous.
2. Fine: ~120 rays from each candidate centre; on each ray the outward transition from
   "plate colour" to "not plate colour" near the expected radius is located with
   sub-pixel precision (centroid of the edge ramp: the mid-exposure rim under blur).
   A robust (Tukey) geometric circle fit on those rim points gives centre and radius; an
   ellipse is fitted on the inliers for the outline of oblique views.
3. Decision: candidates are scored by rim support, appearance and motion plausibility.
   A plate whose rim is not supported well enough, or that is mostly outside the frame,
   is reported LOST (no position invented); while lost the search widens until the plate
   is found again with strict acceptance.

Frames before ``seed.frame`` are tracked backwards from the seed, decoded in chunks at
the working resolution (bounded memory). Nothing holds the whole video.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

import numpy as np

from liftflow.progress import ProgressFn, report
from liftflow.tracking.base import LOST, TRACKED, DiscObservation, SeedCircle, TrackingError

DESCRIPTION = (
    "Classic OpenCV tracker (no weights): appearance matching around a constant-velocity "
    "prediction, then a robust sub-pixel fit of the plate rim (circle/ellipse); reports "
    "frames where the plate is not visible as lost."
)

WORK_RADIUS = 44.0  # plate radius in working-resolution pixels
N_RAYS = 120
POLY_POINTS = 48
CHROMA_WEIGHT = 1.6
BACKWARD_BUDGET_BYTES = 192 * 1024 * 1024


def availability(settings=None) -> Optional[str]:
    return None  # opencv-python and numpy are core dependencies


def create(settings=None, **options) -> "ClassicTracker":
    return ClassicTracker(**options)


# ----------------------------------------------------------------------------------------
# image features


def _features(img_bgr: np.ndarray) -> np.ndarray:
    """Chroma-weighted Lab, float32, lightly smoothed."""
    import cv2

    lab = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2Lab).astype(np.float32)
    # 8-bit Lab: L in 0..255 (= L*2.55), a, b offset by 128
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1] -= 128.0
    lab[..., 2] -= 128.0
    lab[..., 1:] *= CHROMA_WEIGHT
    return cv2.GaussianBlur(lab, (3, 3), 0.8)


@dataclass
class _Fit:
    cx: float
    cy: float
    r: float
    inlier_frac: float  # inlier rays / rays inside the image
    visible_frac: float  # rays whose rim point lies inside the image / all rays
    contrast: float  # median edge strength of inliers
    rms: float  # rms residual of inliers (px)
    n_inliers: int
    points: Optional[np.ndarray] = None  # inlier rim points (working px)
    ellipse: Optional[tuple] = None  # ((cx, cy), (2a, 2b), angle) working px


class _Rays:
    def __init__(self, n: int):
        self.theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False).astype(np.float32)
        self.cos = np.cos(self.theta)
        self.sin = np.sin(self.theta)


def _sample_rays(feat, rays: _Rays, cx, cy, rho):
    import cv2

    mx = (cx + rays.cos[:, None] * rho[None, :]).astype(np.float32)
    my = (cy + rays.sin[:, None] * rho[None, :]).astype(np.float32)
    prof = cv2.remap(feat, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    h, w = feat.shape[:2]
    inside = (mx >= 0.5) & (mx <= w - 1.5) & (my >= 0.5) & (my <= h - 1.5)
    return prof, inside


def _fit_circle(x, y, wts, cx, cy, r, iters=6):
    """Robust geometric circle fit (Gauss-Newton with Tukey weights)."""
    scale = max(1.0, 0.04 * r)
    wr = wts
    for _ in range(iters):
        dx = x - cx
        dy = y - cy
        d = np.sqrt(dx * dx + dy * dy) + 1e-9
        res = d - r
        mad = np.median(np.abs(res[wts > 0])) if np.any(wts > 0) else 1.0
        scale = max(0.6, 1.4826 * mad * 2.5, 0.015 * r)
        u = res / (scale * 2.0)
        tuk = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        wr = wts * tuk
        if wr.sum() < 1e-6:
            break
        J = np.stack([-dx / d, -dy / d, -np.ones_like(d)], axis=1)
        A = J.T @ (J * wr[:, None])
        b = -J.T @ (wr * res)
        try:
            step = np.linalg.solve(A + np.eye(3) * 1e-6, b)
        except np.linalg.LinAlgError:
            break
        cx += step[0]
        cy += step[1]
        r += step[2]
        if abs(step).max() < 0.01:
            break
    return cx, cy, r, wr, scale


class _RimFitter:
    def __init__(self, plate_col: np.ndarray, n_rays=N_RAYS):
        self.rays = _Rays(n_rays)
        self.plate_col = plate_col.astype(np.float32)

    def edges(self, feat, cx, cy, r_pred, sigma, lo=0.55, hi=1.5):
        step = 0.5
        rho = np.arange(lo * r_pred, hi * r_pred + step, step, dtype=np.float32)
        prof, inside = _sample_rays(feat, self.rays, cx, cy, rho)
        d = np.linalg.norm(prof - self.plate_col[None, None, :], axis=2)
        # outward increase of the distance to plate colour, over +-1.5 px
        k = 3
        e = np.zeros_like(d)
        e[:, k:-k] = d[:, 2 * k:] - d[:, :-2 * k]
        e = np.maximum(e, 0.0)
        # an edge is only usable if the ray is inside the image around it
        ok = inside.copy()
        ok[:, k:-k] &= inside[:, 2 * k:] & inside[:, :-2 * k]
        ok[:, :k] = False
        ok[:, -k:] = False
        e = np.where(ok, e, 0.0)
        prior = np.exp(-0.5 * ((rho - r_pred) / sigma) ** 2)
        score = e * prior[None, :]
        idx = np.argmax(score, axis=1)
        n = len(self.rays.theta)
        rows = np.arange(n)
        peak = e[rows, idx]
        # sub-pixel: centroid of the ramp where e > half the peak, contiguous around idx
        pos = np.empty(n, np.float32)
        half = 0.5 * peak
        for i in range(n):
            j0 = idx[i]
            a = j0
            while a > 0 and e[i, a - 1] > half[i]:
                a -= 1
            b = j0
            m = e.shape[1] - 1
            while b < m and e[i, b + 1] > half[i]:
                b += 1
            seg = e[i, a:b + 1]
            pos[i] = rho[a] + step * float((seg * np.arange(b - a + 1)).sum() / max(seg.sum(), 1e-6))
        # visibility: is the expected rim point itself inside the image
        j_exp = int(np.clip(np.searchsorted(rho, r_pred), 0, len(rho) - 1))
        vis = inside[:, j_exp]
        valid = ok[rows, idx] & (peak > 0) & vis
        return pos, peak, valid, vis

    def fit(self, feat, cx, cy, r_pred, sigma_frac=0.12, passes=3, min_contrast=1.0,
            r_bounds=None) -> Optional[_Fit]:
        r = float(r_pred)
        sig = sigma_frac * r
        fit = None
        for p in range(passes):
            pos, peak, valid, vis = self.edges(feat, cx, cy, r, sig)
            nvis = int(vis.sum())
            if nvis < 0.25 * len(vis):
                return _Fit(cx, cy, r, 0.0, nvis / len(vis), 0.0, 99.0, 0)
            w = np.where(valid & (peak > min_contrast), peak, 0.0)
            if np.count_nonzero(w) < 8:
                return _Fit(cx, cy, r, 0.0, nvis / len(vis), 0.0, 99.0, 0)
            x = cx + self.rays.cos * pos
            y = cy + self.rays.sin * pos
            w = np.sqrt(w)
            ncx, ncy, nr, wr, scale = _fit_circle(x, y, w, cx, cy, r)
            if not np.isfinite([ncx, ncy, nr]).all() or nr <= 2:
                return None
            if r_bounds is not None:
                nr = float(np.clip(nr, r_bounds[0], r_bounds[1]))
            res = np.sqrt((x - ncx) ** 2 + (y - ncy) ** 2) - nr
            tol = max(1.2, 0.035 * nr)
            inl = valid & (w > 0) & (np.abs(res) < tol)
            ninl = int(inl.sum())
            fit = _Fit(
                float(ncx), float(ncy), float(nr),
                inlier_frac=ninl / max(nvis, 1),
                visible_frac=nvis / len(vis),
                contrast=float(np.median(peak[inl])) if ninl else 0.0,
                rms=float(np.sqrt(np.mean(res[inl] ** 2))) if ninl else 99.0,
                n_inliers=ninl,
                points=np.stack([x[inl], y[inl]], axis=1) if ninl else None,
            )
            cx, cy, r = fit.cx, fit.cy, fit.r
            sig = max(0.04 * r, 1.5) if p == 0 else max(0.03 * r, 1.2)
        return fit


def _ellipse_of(fit: _Fit):
    import cv2

    if fit.points is None or len(fit.points) < 24 or fit.inlier_frac < 0.5:
        return None
    try:
        (ex, ey), (d1, d2), ang = cv2.fitEllipseAMS(fit.points.astype(np.float32))
    except cv2.error:
        return None
    a, b = max(d1, d2) / 2, min(d1, d2) / 2
    if not (np.isfinite([ex, ey, a, b]).all()) or b <= 0:
        return None
    if b / a < 0.7 or abs(math.sqrt(a * b) - fit.r) > 0.08 * fit.r:
        return None
    if math.hypot(ex - fit.cx, ey - fit.cy) > 0.06 * fit.r:
        return None
    if d1 < d2:
        ang = ang + 90.0
    return (float(ex), float(ey)), (float(a), float(b)), float(ang % 180.0)


# ----------------------------------------------------------------------------------------
# the tracker


class _Templates:
    """Appearance of the plate: the seed's and the last confident one's."""

    def __init__(self):
        self.items: list[np.ndarray] = []  # [seed, recent]

    @staticmethod
    def cut(feat, cx, cy, r):
        h, w = feat.shape[:2]
        half = int(round(0.85 * r))
        x0, y0 = int(round(cx)) - half, int(round(cy)) - half
        x1, y1 = x0 + 2 * half + 1, y0 + 2 * half + 1
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            return None
        return feat[y0:y1, x0:x1].copy()


def _local_maxima(m: np.ndarray, k: int, min_dist: int):
    import cv2

    m = m.copy()
    out = []
    for _ in range(k):
        _, mv, _, ml = cv2.minMaxLoc(m)
        if not np.isfinite(mv) or mv <= -1:
            break
        out.append((ml[0], ml[1], float(mv)))
        x, y = ml
        m[max(0, y - min_dist):y + min_dist + 1, max(0, x - min_dist):x + min_dist + 1] = -2
    return out


@dataclass
class _State:
    cx: float
    cy: float
    r: float
    vx: float = 0.0
    vy: float = 0.0
    lost: int = 0  # consecutive lost frames
    last_good: tuple = None  # (cx, cy, r)


class _Engine:
    """Frame-by-frame tracking in working-resolution pixels (direction agnostic)."""

    def __init__(self, feat0, seed_w: tuple, ref_contrast=None, plate_col=None, templ=None):
        cx, cy, r = seed_w
        self.r0 = r
        if plate_col is None:
            plate_col = _plate_colour(feat0, cx, cy, r)
        self.rim = _RimFitter(plate_col)
        fit = self.rim.fit(feat0, cx, cy, r, sigma_frac=0.10, passes=4,
                           r_bounds=(0.85 * r, 1.15 * r))
        if fit is not None and fit.n_inliers >= 16 and math.hypot(fit.cx - cx, fit.cy - cy) < 0.2 * r:
            cx, cy, r = fit.cx, fit.cy, fit.r
            plate_col = _plate_colour(feat0, cx, cy, r)
            self.rim = _RimFitter(plate_col)
            fit = self.rim.fit(feat0, cx, cy, r, sigma_frac=0.05, passes=2,
                               r_bounds=(0.9 * r, 1.1 * r)) or fit
            cx, cy, r = fit.cx, fit.cy, fit.r
        self.seed_fit = fit
        self.r_ref = r
        self.ref_contrast = ref_contrast or (fit.contrast if fit and fit.contrast > 0 else 10.0)
        self.state = _State(cx, cy, r, last_good=(cx, cy, r))
        t = templ if templ is not None else _Templates.cut(feat0, cx, cy, r)
        self.t_seed = t
        self.t_seed_r = r
        self.t_recent = t
        self.t_recent_r = r

    # -- helpers
    def _templ_for(self, t, tr, r):
        import cv2

        if t is None:
            return None
        if abs(r / tr - 1) < 0.04:
            return t
        s = r / tr
        n = int(round(t.shape[0] * s)) | 1
        if n < 9:
            return None
        return cv2.resize(t, (n, n), interpolation=cv2.INTER_AREA)

    def _match(self, feat, px, py, half_w, r):
        """Template candidates (centre x, y, score) in a window around (px, py)."""
        import cv2

        h, w = feat.shape[:2]
        cands = []
        for t, tr in ((self.t_seed, self.t_seed_r), (self.t_recent, self.t_recent_r)):
            tt = self._templ_for(t, tr, r)
            if tt is None:
                continue
            th = tt.shape[0] // 2
            x0 = int(max(0, px - half_w - th))
            y0 = int(max(0, py - half_w - th))
            x1 = int(min(w, px + half_w + th + 1))
            y1 = int(min(h, py + half_w + th + 1))
            if x1 - x0 <= tt.shape[1] or y1 - y0 <= tt.shape[0]:
                continue
            res = cv2.matchTemplate(feat[y0:y1, x0:x1], tt, cv2.TM_CCOEFF_NORMED)
            res = np.nan_to_num(res, nan=-1.0)
            for mx, my, sc in _local_maxima(res, 3, max(2, int(0.4 * r))):
                cands.append((x0 + mx + th, y0 + my + th, sc))
            if t is self.t_recent and self.t_recent is self.t_seed:
                break
        return cands

    def step(self, feat) -> tuple[Optional[_Fit], float, dict]:
        """Track one frame. Returns (fit or None when lost, confidence, diagnostics)."""
        st = self.state
        h, w = feat.shape[:2]
        r = st.r
        speed = math.hypot(st.vx, st.vy)
        if st.lost == 0:
            px, py = st.cx + st.vx, st.cy + st.vy
            half_w = max(0.6 * r, 2.0 * speed + 0.4 * r)
        else:
            px, py = st.cx + st.vx * min(st.lost + 1, 4), st.cy + st.vy * min(st.lost + 1, 4)
            half_w = max(w, h) if st.lost > 3 else max(1.2 * r, 2.5 * speed + r * (0.6 + 0.4 * st.lost))
        cands = self._match(feat, px, py, half_w, r)
        pts = [(px, py, None), (st.cx, st.cy, None)] + [(x, y, s) for x, y, s in cands]
        best = None
        best_score = -1e9
        best_ts = 0.0
        seen = []
        for x, y, ts in pts:
            if any(math.hypot(x - a, y - b) < 0.08 * r for a, b in seen):
                continue
            seen.append((x, y))
            fit = self.rim.fit(feat, x, y, r, sigma_frac=0.12, passes=3,
                               r_bounds=(0.75 * self.r_ref, 1.3 * self.r_ref))
            if fit is None or fit.n_inliers == 0:
                continue
            if ts is None:
                ts = self._templ_score(feat, fit.cx, fit.cy, fit.r)
            q = self._quality(fit)
            # motion plausibility
            dev = math.hypot(fit.cx - px, fit.cy - py) / (0.5 * r + 1.5 * speed + 1e-6)
            dr = abs(fit.r / r - 1)
            score = q + 0.35 * max(ts, 0) - 0.08 * dev * dev - 2.0 * dr
            if st.lost:
                score = q + 0.35 * max(ts, 0) - 2.0 * dr
            if score > best_score:
                best, best_score, best_ts = fit, score, ts
        diag = {"candidates": len(seen)}
        if best is None:
            return self._lose(), 0.0, diag
        q = self._quality(best)
        conf = float(np.clip(q * (0.6 + 0.4 * max(best_ts, 0.0)), 0.0, 1.0))
        diag.update(inlier_frac=round(best.inlier_frac, 3), visible_frac=round(best.visible_frac, 3),
                    contrast=round(best.contrast / self.ref_contrast, 3), rms=round(best.rms, 3),
                    template=round(float(best_ts), 3))
        need = 0.30 if st.lost == 0 else 0.45
        ok = (best.visible_frac >= 0.35 and q >= need and best.n_inliers >= 12
              and (st.lost == 0 or best_ts > 0.3))
        if not ok:
            return self._lose(), 0.0, diag
        # update state
        if st.lost == 0:
            nvx, nvy = best.cx - st.cx, best.cy - st.cy
            st.vx = 0.6 * nvx + 0.4 * st.vx
            st.vy = 0.6 * nvy + 0.4 * st.vy
        else:
            st.vx = st.vy = 0.0
        st.cx, st.cy = best.cx, best.cy
        # radius: smoothed, only from well supported fits
        if best.inlier_frac > 0.6 and best.visible_frac > 0.8:
            st.r = 0.7 * st.r + 0.3 * best.r
        st.lost = 0
        st.last_good = (best.cx, best.cy, best.r)
        if conf > 0.75 and best.visible_frac > 0.95:
            t = _Templates.cut(feat, best.cx, best.cy, best.r)
            if t is not None:
                self.t_recent, self.t_recent_r = t, best.r
        return best, conf, diag

    def _lose(self):
        st = self.state
        st.lost += 1
        st.vx *= 0.8
        st.vy *= 0.8
        return None

    def _quality(self, fit: _Fit) -> float:
        c = min(1.0, fit.contrast / (0.5 * self.ref_contrast + 1e-6))
        return float(fit.inlier_frac * (0.5 + 0.5 * c))

    def _templ_score(self, feat, cx, cy, r) -> float:
        import cv2

        t = self._templ_for(self.t_seed, self.t_seed_r, r)
        if t is None:
            return 0.0
        th = t.shape[0] // 2
        x0, y0 = int(round(cx)) - th - 1, int(round(cy)) - th - 1
        h, w = feat.shape[:2]
        if x0 < 0 or y0 < 0 or x0 + t.shape[1] + 2 > w or y0 + t.shape[0] + 2 > h:
            return 0.0
        res = cv2.matchTemplate(feat[y0:y0 + t.shape[0] + 2, x0:x0 + t.shape[1] + 2], t,
                                cv2.TM_CCOEFF_NORMED)
        return float(np.nan_to_num(res).max())


def _plate_colour(feat, cx, cy, r):
    rays = _Rays(72)
    rho = np.linspace(0.72 * r, 0.9 * r, 6, dtype=np.float32)
    prof, inside = _sample_rays(feat, rays, cx, cy, rho)
    vals = prof[inside]
    if len(vals) == 0:
        return np.zeros(3, np.float32)
    return np.median(vals, axis=0).astype(np.float32)


# ----------------------------------------------------------------------------------------


class ClassicTracker:
    name = "classic"

    def __init__(self, work_radius: float = WORK_RADIUS, n_rays: int = N_RAYS, **_ignored):
        self.work_radius = float(work_radius)
        self.n_rays = int(n_rays)

    def _scale_for(self, info, seed: SeedCircle) -> float:
        s = self.work_radius / max(seed.r, 1.0)
        return float(min(1.0, max(s, 0.05)))

    def track(self, video_path, info, seed: SeedCircle, progress: Optional[ProgressFn] = None):
        from liftflow.video.decode import iter_frames

        n = int(info.frame_count)
        if n <= 0:
            raise TrackingError("the video has no frames")
        if not (0 <= seed.frame < n):
            raise TrackingError(f"seed frame {seed.frame} is outside the video (0..{n - 1})")
        if not (seed.r > 2):
            raise TrackingError(f"seed radius {seed.r} is too small")
        s = self._scale_for(info, seed)
        obs: list[Optional[DiscObservation]] = [None] * n
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
        fwd = iter_frames(video_path, start=seed.frame, scale=s if s < 1 else None)
        engine = None
        for fr in fwd:
            if fr.index >= n:
                break
            sx, sy = mapper(fr.image)
            feat = _features(fr.image)
            if engine is None:
                seed_w = ((seed.cx + 0.5) * sx - 0.5, (seed.cy + 0.5) * sy - 0.5, seed.r * sx)
                engine = _Engine(feat, seed_w)
                fit = engine.seed_fit
                if fit is None or fit.n_inliers < 8:
                    fit = _Fit(*seed_w, 0.0, 1.0, 0.0, 99.0, 0)
                    conf = 0.3
                else:
                    conf = float(np.clip(engine._quality(fit), 0.3, 1.0))
                fit = _Fit(engine.state.cx, engine.state.cy, engine.state.r, fit.inlier_frac,
                           fit.visible_frac, fit.contrast, fit.rms, fit.n_inliers, fit.points)
                obs[fr.index] = self._obs(fr.index, info, fr.t_s, fit, conf, sx, sy, {"seed": True})
                seed_state = (engine.state.cx, engine.state.cy, engine.state.r)
                seed_templ = engine.t_seed
                seed_col = engine.rim.plate_col
                seed_contrast = engine.ref_contrast
                tick()
                continue
            fit, conf, diag = engine.step(feat)
            obs[fr.index] = self._obs(fr.index, info, fr.t_s, fit, conf, sx, sy, diag)
            tick()
        if engine is None:
            raise TrackingError(f"could not decode frame {seed.frame} of the video")

        # backwards from the seed, in chunks held at working resolution
        if seed.frame > 0:
            frame_bytes = max(1, int(info.width * s) * int(info.height * s) * 3)
            chunk = int(max(8, min(seed.frame, BACKWARD_BUDGET_BYTES // frame_bytes)))
            bengine = None
            end = seed.frame
            while end > 0:
                begin = max(0, end - chunk)
                frames = [(f.index, f.t_s, f.image) for f in
                          iter_frames(video_path, start=begin, stop=end, scale=s if s < 1 else None)]
                for idx, t_s, img in reversed(frames):
                    sx, sy = mapper(img)
                    feat = _features(img)
                    if bengine is None:
                        bengine = _Engine.__new__(_Engine)
                        bengine.__dict__.update(engine.__dict__)
                        bengine.rim = _RimFitter(seed_col)
                        bengine.state = _State(*seed_state, last_good=seed_state)
                        bengine.t_seed = bengine.t_recent = seed_templ
                        bengine.t_seed_r = bengine.t_recent_r = seed_state[2]
                        bengine.ref_contrast = seed_contrast
                    fit, conf, diag = bengine.step(feat)
                    obs[idx] = self._obs(idx, info, t_s, fit, conf, sx, sy, diag)
                    tick()
                del frames
                end = begin

        out = []
        for i in range(n):
            if obs[i] is None:  # not decodable: honest loss
                t = info.timestamps_s[i] if i < len(info.timestamps_s) else 0.0
                obs[i] = DiscObservation(frame=i, t_s=float(t), state=LOST, confidence=0.0,
                                         extra={"reason": "frame not decoded"})
            out.append(obs[i])
        elapsed = time.perf_counter() - t_start
        if out:
            out[0].extra.setdefault("tracker_fps", round(n / max(elapsed, 1e-6), 1))
        return out

    def _obs(self, idx, info, t_s, fit: Optional[_Fit], conf, sx, sy, diag) -> DiscObservation:
        t = info.timestamps_s[idx] if idx < len(info.timestamps_s) else float(t_s)
        if fit is None:
            return DiscObservation(frame=idx, t_s=float(t), state=LOST, confidence=0.0,
                                   extra=dict(diag))

        def bx(x):
            return (x + 0.5) / sx - 0.5

        def by(y):
            return (y + 0.5) / sy - 0.5

        cx, cy = bx(fit.cx), by(fit.cy)
        rr = fit.r / math.sqrt(sx * sy)
        ell = _ellipse_of(fit)
        if ell is not None:
            (ex, ey), (a, b), ang = ell
            a_f, b_f = a / math.sqrt(sx * sy), b / math.sqrt(sx * sy)
            ellipse = (round(a_f, 3), round(b_f, 3), round(ang, 2))
            radius = math.sqrt(a_f * b_f)
        else:
            a_f = b_f = rr
            ang = 0.0
            ellipse = (round(rr, 3), round(rr, 3), 0.0)
            radius = rr
        th = np.linspace(0, 2 * np.pi, POLY_POINTS, endpoint=False)
        ca, sa = math.cos(math.radians(ang)), math.sin(math.radians(ang))
        px = cx + a_f * np.cos(th) * ca - b_f * np.sin(th) * sa
        py = cy + a_f * np.cos(th) * sa + b_f * np.sin(th) * ca
        poly = [[round(float(x), 2), round(float(y), 2)] for x, y in zip(px, py)]
        return DiscObservation(
            frame=idx, t_s=float(t), state=TRACKED, confidence=round(float(conf), 4),
            center=(round(float(cx), 3), round(float(cy), 3)), radius=round(float(radius), 3),
            ellipse=ellipse, polygon=poly, extra=dict(diag),
        )
