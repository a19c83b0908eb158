"""The ``classic`` plate tracker: pure OpenCV/NumPy, no weights.

Per frame, at a working resolution where the plate radius is about ``WORK_RADIUS`` px:

1. Coarse: appearance matching (``cv2.matchTemplate`` on a chroma-weighted YCrCb image) of
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

from liftflow.numeric import round_array
from liftflow.progress import ProgressFn, report
from liftflow.tracking.base import (LOST, TRACKED, DiscObservation, FrameSource, SeedCircle,
                                    TrackingError)
from liftflow.tracking.table import ObservationTable

DESCRIPTION = (
    "Classic OpenCV tracker (no weights): appearance matching around a constant-velocity "
    "prediction, then a robust sub-pixel fit of the plate rim (circle/ellipse); reports "
    "frames where the plate is not visible as lost."
)

WORK_RADIUS = 44.0  # plate radius in working-resolution pixels
N_RAYS = 120
POLY_POINTS = 48
CHROMA_WEIGHT = 1.6
USE_SHAPE = True  # learn the outline's ellipse shape (oblique views) and fit with it
REACQUIRE_MAX_R = 7.0  # farthest (in plate radii) from where it was lost a plate is sought
BLUR_FRAC = 0.5  # exposure / frame interval assumed for the template's motion blur
MIN_VISIBLE_FIT = 0.06  # least fraction of the rim inside the frame to fit at all
MIN_VISIBLE_TRACK = 0.07  # ... to keep following a plate that leaves the frame
MIN_INLIERS = 12  # least rim points supporting a tracked fit
MIN_VISIBLE_ACQUIRE = 0.35  # ... to pick a plate up again after it was lost
MAX_RATIO = 1.3  # most elongated outline accepted (oblique views)
BACKWARD_BUDGET_BYTES = 192 * 1024 * 1024
STATIC_NCC = 0.8  # a re-acquired "plate" this similar to the same spot before the loss is another plate


def availability(settings=None) -> Optional[str]:
    return None  # opencv-python and numpy are core dependencies


def create(settings=None, **options) -> "ClassicTracker":
    return ClassicTracker(**options)


# ----------------------------------------------------------------------------------------
# image features


def _features(img_bgr: np.ndarray) -> np.ndarray:
    """Chroma-weighted YCrCb (luma scaled to 0..100 like L*), float32, lightly smoothed.

    YCrCb rather than Lab: a tenth of the conversion cost (0.04 vs 0.38 ms on a 230x230
    search region) with the same accuracy on the real and synthetic clips (`liftflow
    bench tracking`: medians within -0.5..+0.1 points of radius, 13/13 pass, no keyframe
    lost); edges and template scores only need distances between colours, which both
    spaces give on a similar scale."""
    import cv2

    ycc = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2YCrCb)
    # The per-channel affine map commutes with the (normalised, linear) blur: blur the
    # raw values, then map them in one pass.
    blur = cv2.GaussianBlur(ycc.astype(np.float32), (3, 3), 0.8)
    return cv2.transform(blur, _FEATURE_AFFINE)


class _FeatureBuffers:
    """``_features`` into buffers kept from frame to frame: fresh arrays of this size per
    frame cost more in page faults than the conversion itself. The result is overwritten
    by the next call."""

    def __init__(self):
        self.cap = 0

    def __call__(self, img_bgr: np.ndarray) -> np.ndarray:
        import cv2

        h, w = img_bgr.shape[:2]
        n = h * w * 3
        if n > self.cap:
            self.cap = int(n * 1.25) + 4096
            self.raw = np.empty(self.cap, np.uint8)
            self.f0 = np.empty(self.cap, np.float32)
            self.f1 = np.empty(self.cap, np.float32)
        raw = self.raw[:n].reshape(h, w, 3)
        f0 = self.f0[:n].reshape(h, w, 3)
        f1 = self.f1[:n].reshape(h, w, 3)
        cv2.cvtColor(img_bgr, cv2.COLOR_BGR2YCrCb, dst=raw)
        np.copyto(f0, raw)
        cv2.GaussianBlur(f0, (3, 3), 0.8, dst=f1)
        cv2.transform(f1, _FEATURE_AFFINE, dst=f0)
        return f0


# 8-bit YCrCb -> (luma 0..100, CHROMA_WEIGHT * Cr, CHROMA_WEIGHT * Cb), chroma centred on 0
_FEATURE_AFFINE = np.array([[100.0 / 255.0, 0.0, 0.0, 0.0],
                            [0.0, CHROMA_WEIGHT, 0.0, -128.0 * CHROMA_WEIGHT],
                            [0.0, 0.0, CHROMA_WEIGHT, -128.0 * CHROMA_WEIGHT]], np.float64)


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
    shape: tuple = (1.0, 0.0)  # (axis ratio, major-axis angle rad) the fit assumed


class _Rays:
    def __init__(self, n: int):
        self.theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False).astype(np.float32)
        self.cos = np.cos(self.theta)
        self.sin = np.sin(self.theta)
        self.cs = np.stack([self.cos, self.sin])
        self.rows = np.arange(n)


def _sample_rays(feat, rays: _Rays, cx, cy, rho):
    import cv2

    mx = (cx + rays.cos[:, None] * rho[None, :]).astype(np.float32)
    my = (cy + rays.sin[:, None] * rho[None, :]).astype(np.float32)
    prof = cv2.remap(feat, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    h, w = feat.shape[:2]
    inside = (mx >= 0.5) & (mx <= w - 1.5) & (my >= 0.5) & (my <= h - 1.5)
    return prof, inside


_ONES13 = np.ones((1, 3), np.float32)


def _median(a: np.ndarray) -> float:
    """np.median of a 1-d array, without its overhead."""
    n = len(a)
    k = n // 2
    if n % 2:
        return float(np.partition(a, k)[k])
    p = np.partition(a, (k - 1, k))
    return float((p[k - 1] + p[k]) * 0.5)


def _fit_circle(xy, wts, cx, cy, r, iters=6, fix_r=False):
    """Robust geometric circle fit (Gauss-Newton with Tukey weights); radius held if fix_r.

    ``xy``: (2, n) points. Returns (cx, cy, r, final weights, residual scale)."""
    xy = np.asarray(xy, np.float64)
    wts = np.asarray(wts, np.float64)
    n = xy.shape[1]
    cx, cy, r = float(cx), float(cy), float(r)
    scale = max(1.0, 0.04 * r)
    wr = wts
    pos_w = wts > 0
    any_w = bool(pos_w.any())
    # M rows: (dx/d, dy/d, 1) = -J^T of the residual d - r in (cx, cy, r)
    M = np.ones((3, n))
    c = np.empty((2, 1))
    nu = 2 if fix_r else 3
    for _ in range(iters):
        c[0, 0], c[1, 0] = cx, cy
        dxy = xy - c
        d = np.hypot(dxy[0], dxy[1])
        d += 1e-9
        res = d - r
        mad = _median(np.abs(res[pos_w])) if any_w else 1.0
        scale = max(0.6, 1.4826 * mad * 2.5, 0.015 * r)
        u = res * (1.0 / (scale * 2.0))
        tuk = 1.0 - u * u
        np.maximum(tuk, 0.0, out=tuk)  # |u| >= 1: weight 0
        tuk *= tuk
        wr = wts * tuk
        sw = float(wr.sum())
        if sw < 1e-6:
            break
        np.divide(dxy, d, out=M[:2])
        Mu = M[:nu]
        MW = Mu * wr
        A = (MW @ Mu.T).tolist()  # J^T W J
        bb = (MW @ res).tolist()  # -J^T W res
        a11, a12 = A[0][0] + 1e-6, A[0][1]
        a22 = A[1][1] + 1e-6
        b1, b2 = bb[0], bb[1]
        if fix_r:
            det = a11 * a22 - a12 * a12
            if det == 0.0 or not math.isfinite(det):
                break
            s0 = (b1 * a22 - a12 * b2) / det
            s1 = (a11 * b2 - a12 * b1) / det
            s2 = 0.0
        else:
            a13, a23, a33, b3 = A[0][2], A[1][2], A[2][2] + 1e-6, bb[2]
            c11 = a22 * a33 - a23 * a23
            c12 = a13 * a23 - a12 * a33
            c13 = a12 * a23 - a13 * a22
            det = a11 * c11 + a12 * c12 + a13 * c13
            if det == 0.0 or not math.isfinite(det):
                break
            c22 = a11 * a33 - a13 * a13
            c23 = a12 * a13 - a11 * a23
            c33 = a11 * a22 - a12 * a12
            s0 = (c11 * b1 + c12 * b2 + c13 * b3) / det
            s1 = (c12 * b1 + c22 * b2 + c23 * b3) / det
            s2 = (c13 * b1 + c23 * b2 + c33 * b3) / det
        cx += s0
        cy += s1
        r += s2
        if max(abs(s0), abs(s1), abs(s2)) < 0.01:
            break
    return cx, cy, r, wr, scale


_EDGE_K = 3  # edge = outward increase of the distance to plate colour over +-_EDGE_K samples


class _RimFitter:
    reach: Optional[list] = None  # where set, edges() adds the box its samples lie in

    def __init__(self, plate_col: np.ndarray, n_rays=N_RAYS):
        self.rays = _Rays(n_rays)
        self.plate_col = plate_col.astype(np.float32)
        self.set_shape(1.0, 0.0)

    @property
    def plate_col(self):
        return self._plate_col

    @plate_col.setter
    def plate_col(self, col):
        self._plate_col = col
        c = np.asarray(col, np.float64).ravel()
        self._col_scalar = (float(c[0]), float(c[1]), float(c[2]), 0.0)

    def set_shape(self, ratio: float, phi: float):
        """Expected outline: an ellipse of axis ratio ``ratio`` (major/minor) at ``phi``."""
        self.ratio = float(ratio)
        self.phi = float(phi)
        psi = self.rays.theta - self.phi
        self.mult = (1.0 / np.sqrt(np.cos(psi) ** 2 / self.ratio
                                   + np.sin(psi) ** 2 * self.ratio)).astype(np.float32)
        self.mlo, self.mhi = float(self.mult.min()), float(self.mult.max())
        c, s_ = math.cos(self.phi), math.sin(self.phi)
        q = math.sqrt(self.ratio)
        # _to_norm as a matrix on (2, n) points
        self._norm_mat = np.array([[c / q, s_ / q], [-s_ * q, c * q]], np.float32)

    def _to_norm(self, x, y):
        c, s_ = math.cos(self.phi), math.sin(self.phi)
        q = math.sqrt(self.ratio)
        return (x * c + y * s_) / q, (-x * s_ + y * c) * q

    def _from_norm(self, u, v):
        c, s_ = math.cos(self.phi), math.sin(self.phi)
        q = math.sqrt(self.ratio)
        xr, yr = u * q, v / q
        return xr * c - yr * s_, xr * s_ + yr * c

    def edges(self, feat, cx, cy, r_pred, sigma, lo=0.55, hi=1.5):
        import cv2

        step = 0.5
        cx, cy, r_pred, sigma = float(cx), float(cy), float(r_pred), float(sigma)
        rho = np.arange(lo * r_pred * self.mlo, hi * r_pred * self.mhi + step, step, dtype=np.float32)
        rays = self.rays
        n, m, k = len(rays.theta), len(rho), _EDGE_K
        mx = np.multiply.outer(rays.cos, rho)
        mx += np.float32(cx)
        my = np.multiply.outer(rays.sin, rho)
        my += np.float32(cy)
        prof = cv2.remap(feat, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        h, w = feat.shape[:2]
        rmax = float(rho[-1]) + 0.01
        if self.reach is not None:
            self.reach.append((cx - rmax, cy - rmax, cx + rmax, cy + rmax))
        all_in = (cx - rmax >= 0.5 and cx + rmax <= w - 1.5
                  and cy - rmax >= 0.5 and cy + rmax <= h - 1.5)
        # distance to plate colour
        dd = cv2.subtract(prof, self._col_scalar)
        dd = cv2.multiply(dd, dd)
        d = cv2.sqrt(cv2.transform(dd, _ONES13))
        # outward increase of the distance to plate colour, over +-1.5 px
        e = np.zeros((n, m), np.float32)
        cv2.subtract(d[:, 2 * k:], d[:, :-2 * k], dst=e[:, k:m - k])
        cv2.max(e, 0.0, dst=e)
        rows = rays.rows
        r_ray = r_pred * self.mult  # expected rim distance on each ray
        if not all_in:
            # an edge is only usable if the ray is inside the image around it
            inside = (mx >= 0.5) & (mx <= w - 1.5) & (my >= 0.5) & (my <= h - 1.5)
            ok = inside.copy()
            ok[:, k:-k] &= inside[:, 2 * k:] & inside[:, :-2 * k]
            ok[:, :k] = False
            ok[:, -k:] = False
            e[~ok] = 0.0
        z = np.subtract.outer(r_ray, rho)
        z /= np.float32(sigma)
        z *= z
        z *= np.float32(-0.5)
        prior = np.exp(z, out=z)
        prior *= e
        idx = np.argmax(prior, axis=1)
        peak = e[rows, idx]
        # sub-pixel: centroid of the ramp where e > half the peak, contiguous around idx:
        # the samples above half the peak whose count of samples below it so far (along the
        # ray) is the peak's
        half = 0.5 * peak
        below = e <= half[:, None]
        run = np.cumsum(below, axis=1, dtype=np.int32)
        seg = run == run.ravel().take(rays.rows * m + idx)[:, None]
        seg &= ~below
        seg = e * seg
        num = seg @ np.arange(m, dtype=np.float32)
        den = seg.sum(axis=1)
        pos = (rho[0] + step * num / np.maximum(den, 1e-6)).astype(np.float32)
        if all_in:
            vis = np.ones(n, bool)
            valid = (idx >= k) & (idx < m - k) & (peak > 0)
        else:
            # visibility: is the expected rim point itself inside the image
            j_exp = np.clip(np.searchsorted(rho, r_ray), 0, len(rho) - 1)
            vis = inside[rows, j_exp]
            valid = ok[rows, idx] & (peak > 0) & vis
        return pos, peak, valid, vis

    def fit(self, feat, cx, cy, r_pred, sigma_frac=0.12, passes=3, min_contrast=1.0,
            r_bounds=None, first_sigma=True) -> Optional[_Fit]:
        r = float(r_pred)
        r_known = r
        sig = sigma_frac * r
        if not first_sigma:
            sig = max(0.04 * r, 1.5)
        fit = None
        for p in range(passes):
            pos, peak, valid, vis = self.edges(feat, cx, cy, r, sig)
            nvis = int(np.count_nonzero(vis))
            if nvis < MIN_VISIBLE_FIT * len(vis):
                return _Fit(cx, cy, r, 0.0, nvis / len(vis), 0.0, 99.0, 0)
            w = np.where(valid & (peak > min_contrast), peak, np.float32(0.0))
            if np.count_nonzero(w) < 8:
                return _Fit(cx, cy, r, 0.0, nvis / len(vis), 0.0, 99.0, 0)
            xy = self.rays.cs * pos
            xy[0] += np.float32(cx)
            xy[1] += np.float32(cy)
            w = np.sqrt(w)
            # with much of the rim outside the frame the radius is poorly determined:
            # hold the known radius and fit the centre only
            fix_r = nvis < 0.85 * len(vis)
            # fit in the frame where the expected ellipse is a circle of radius sqrt(a*b)
            xyu = self._norm_mat @ xy
            cu, cv_ = self._to_norm(cx, cy)
            ncu, ncv, nr, wr, scale = _fit_circle(xyu, w, cu, cv_, r_known if fix_r else r,
                                                  fix_r=fix_r)
            if not (math.isfinite(ncu) and math.isfinite(ncv) and math.isfinite(nr)) or nr <= 2:
                return None
            ncx, ncy = self._from_norm(ncu, ncv)
            if r_bounds is not None:
                nr = float(min(max(nr, r_bounds[0]), r_bounds[1]))
            if p < passes - 1:  # only the last pass's fit is returned: its start is enough
                cx, cy, r = float(ncx), float(ncy), float(nr)
                sig = max(0.04 * r, 1.5) if p == 0 else max(0.03 * r, 1.2)
                continue
            res = np.hypot(xyu[0] - ncu, xyu[1] - ncv)
            res -= nr
            tol = max(1.2, 0.035 * nr)
            inl = valid & (w > 0) & (np.abs(res) < tol)
            ninl = int(np.count_nonzero(inl))
            res_in = res[inl]
            fit = _Fit(
                float(ncx), float(ncy), float(nr),
                inlier_frac=ninl / max(nvis, 1),
                visible_frac=nvis / len(vis),
                contrast=_median(peak[inl]) if ninl else 0.0,
                rms=math.sqrt(float(res_in @ res_in) / ninl) if ninl else 99.0,
                n_inliers=ninl,
                points=np.ascontiguousarray(xy[:, inl].T) if ninl else None,
                shape=(self.ratio, self.phi),
            )
            cx, cy, r = fit.cx, fit.cy, fit.r
            sig = max(0.04 * r, 1.5) if p == 0 else max(0.03 * r, 1.2)
        return fit


def _shape_of(points) -> Optional[tuple]:
    """(axis ratio, major-axis angle in rad) of an ellipse fitted to rim points."""
    import cv2

    if points is None or len(points) < 30:
        return None
    try:
        (_, _), (d1, d2), ang = cv2.fitEllipseAMS(points.astype(np.float32))
    except cv2.error:
        return None
    if not np.isfinite([d1, d2, ang]).all() or min(d1, d2) <= 0:
        return None
    ratio = max(d1, d2) / min(d1, d2)
    if ratio > MAX_RATIO:
        return None
    phi = math.radians(ang if d1 >= d2 else ang + 90.0)
    return ratio, phi


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
    ref: Optional[np.ndarray] = None  # last confidently tracked frame (working resolution BGR)
    ref_xy: tuple = None  # where the plate was in it


class _Engine:
    """Frame-by-frame tracking in working-resolution pixels (direction agnostic)."""

    def __init__(self, feat0, seed_w: tuple, ref_contrast=None, plate_col=None, templ=None):
        cx, cy, r = seed_w
        self.r0 = r
        if plate_col is None:
            plate_col = _plate_colour(feat0, cx, cy, r)
        self.rim = _RimFitter(plate_col)
        # a clicked circle is rough: start the rim fit from a few radii around the click
        # and keep the best supported rim that stays near the click
        fit = None
        best_q = -1.0
        for k in (1.0, 0.88, 1.12):
            rk = r * k
            self.rim.plate_col = _plate_colour(feat0, cx, cy, rk)
            f = self.rim.fit(feat0, cx, cy, rk, sigma_frac=0.08, passes=4,
                             r_bounds=(0.75 * r, 1.25 * r))
            if f is None or f.n_inliers == 0:
                continue
            qk = f.inlier_frac * min(1.0, f.contrast / 10.0)
            if math.hypot(f.cx - cx, f.cy - cy) > 0.25 * r:
                qk *= 0.5
            if qk > best_q + 0.02:
                fit, best_q = f, qk
        if fit is not None and fit.n_inliers >= 16 and math.hypot(fit.cx - cx, fit.cy - cy) < 0.3 * r:
            cx, cy, r = fit.cx, fit.cy, fit.r
            plate_col = _plate_colour(feat0, cx, cy, r)
            self.rim = _RimFitter(plate_col)
            fit = self.rim.fit(feat0, cx, cy, r, sigma_frac=0.05, passes=2,
                               r_bounds=(0.9 * r, 1.1 * r)) or fit
            cx, cy, r = fit.cx, fit.cy, fit.r
            if USE_SHAPE:
                for _ in range(3):  # the outline's ellipse shape (oblique views)
                    sh = _shape_of(fit.points)
                    if sh is None:
                        break
                    self.rim.set_shape(*sh)
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
    def _templ_for(self, t, tr, r, stats=False):
        """Template ``t`` (cut at radius ``tr``) resized to radius ``r`` and blurred as the
        plate moves in this frame; cached for the frame (with its zero-mean version and
        energy for ``_overlap_ncc`` when ``stats``)."""
        import cv2

        if t is None:
            return None
        n = 0
        if abs(r / tr - 1) >= 0.04:
            n = int(round(t.shape[0] * (r / tr))) | 1
            if n < 9:
                return None
        cache = self.__dict__.setdefault("_tcache", {})
        key = (id(t), n, getattr(self, "blur_vec", (0.0, 0.0)))
        hit = cache.get(key)
        if hit is None:
            tt = t if not n else cv2.resize(t, (n, n), interpolation=cv2.INTER_AREA)
            hit = [_motion_blur(tt, *key[2]), None]
            cache[key] = hit
        if not stats:
            return hit[0]
        if hit[1] is None:
            hit[1] = _centred(hit[0])
        return hit

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

    def step(self, img) -> tuple[Optional[_Fit], float, dict]:
        """Track one frame (working resolution: a BGR array, or an I420Image read by region).
        Returns (fit or None, confidence, diag)."""
        st = self.state
        H, W = img.shape[:2]
        r = st.r
        speed = math.hypot(st.vx, st.vy)
        self._tcache = {}  # templates as they look in this frame
        self._nccache = {}  # template scores at integer positions in this frame's features
        # expected motion blur over an exposure of about half the frame interval
        self.blur_vec = (BLUR_FRAC * st.vx, BLUR_FRAC * st.vy) if st.lost == 0 else (0.0, 0.0)
        if st.lost == 0:
            px, py = st.cx + st.vx, st.cy + st.vy
            half_w = max(0.6 * r, 2.0 * speed + 0.4 * r)
        else:
            px, py = st.cx + st.vx * min(st.lost + 1, 4), st.cy + st.vy * min(st.lost + 1, 4)
            # the plate comes back near where it was lost (or falls from there): the
            # search grows with the time lost, up to REACQUIRE_MAX_R radii, so a
            # look-alike plate elsewhere in the scene is never taken for it
            half_w = r * min(1.2 + 0.6 * st.lost, REACQUIRE_MAX_R) + 2.0 * speed
        # features only in the region the search can reach (rays reach 1.5 r past a centre)
        m = half_w + 2.0 * r
        x0, y0 = int(max(0, px - m)), int(max(0, py - m))
        x1, y1 = int(min(W, px + m + 1)), int(min(H, py + m + 1))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return self._lose(), 0.0, {"reason": "prediction outside the frame"}
        fb = self.__dict__.get("_fbuf")
        if fb is None:
            fb = self._fbuf = _FeatureBuffers()
        near = None
        if st.lost == 0 and self.__dict__.get("_last_fast", True):
            near = self._step_near(fb, img, px, py, half_w, r, speed, (x0, y0, x1, y1))
        if near is not None:
            feat, x0, y0, (best, conf, diag) = near
        else:
            feat = fb(img[y0:y1, x0:x1])
            best, conf, diag = self._step_roi(feat, px - x0, py - y0, half_w, r, speed,
                                              st.cx - x0, st.cy - y0)
        # the fast path mostly holds or fails for a run of frames: the next frame tries
        # the part of the region first only after a fast one
        self._last_fast = bool(diag.get("fast"))
        if best is not None:
            best.cx += x0
            best.cy += y0
            if best.points is not None:
                best.points = best.points + np.array([x0, y0], np.float32)
            if st.lost > 0 and self._static_lookalike(img, best):
                diag["reason"] = "a plate that sat there while the tracked one was elsewhere"
                return self._lose(), 0.0, diag
            self._accept(best, conf, feat, x0, y0)
            if conf >= 0.5 and best.visible_frac > 0.95:
                # (into the buffer it had: a fresh frame-sized array per frame costs more
                # in page faults than the copy)
                if not isinstance(img, np.ndarray):  # an I420Image
                    st.ref = img.copy_into(st.ref)
                else:
                    if not isinstance(st.ref, np.ndarray) or st.ref.shape != img.shape \
                            or st.ref.dtype != img.dtype:
                        st.ref = np.empty_like(img)
                    np.copyto(st.ref, img)
                st.ref_xy = (best.cx, best.cy)
        return best, conf, diag

    def _step_near(self, fb, img, px, py, half_w, r, speed, box):
        """``_step_roi`` on the features of only the part of the search region that the
        rim fits of its fast path reach (a plate right where it was predicted, the usual
        case while tracking): the colour conversion of the whole region is most of a
        frame's cost. Returns (feat, x0, y0, result), or None where the whole region is
        needed: not the fast path, or a fit or template reached to within 2 px of an edge
        of the part that is not an edge of the region (features or in-image tests could
        differ there). The result is then the one the whole region gives."""
        st = self.state
        x0, y0, x1, y1 = box
        mn = 1.5 * r * self.rim.mhi + 0.25 * r + 0.5 * speed + 6.0
        nx0, ny0 = max(x0, int(px - mn)), max(y0, int(py - mn))
        nx1, ny1 = min(x1, int(px + mn + 1)), min(y1, int(py + mn + 1))
        if (nx1 - nx0) * (ny1 - ny0) > 0.8 * (x1 - x0) * (y1 - y0) or nx1 - nx0 < 8 or ny1 - ny0 < 8:
            return None
        feat = fb(img[ny0:ny1, nx0:nx1])
        saved = (st.lost, st.vx, st.vy)
        reach: list = []
        self._reach = self.rim.reach = reach
        try:
            res = self._step_roi(feat, px - nx0, py - ny0, half_w, r, speed,
                                 st.cx - nx0, st.cy - ny0)
        finally:
            self._reach = self.rim.reach = None
        best, conf, diag = res
        ok = best is not None and diag.get("fast")
        if ok:
            if conf > 0.75 and best.visible_frac > 0.95:  # the template _accept will cut
                half = int(round(0.85 * best.r))
                ix, iy = int(round(best.cx)), int(round(best.cy))
                reach.append((ix - half, iy - half, ix + half, iy + half))
            inf = math.inf
            lo_x = 2.0 if nx0 > x0 else -inf
            lo_y = 2.0 if ny0 > y0 else -inf
            hi_x = (nx1 - nx0) - 3.0 if nx1 < x1 else inf
            hi_y = (ny1 - ny0) - 3.0 if ny1 < y1 else inf
            ok = all(a >= lo_x and b >= lo_y and c <= hi_x and d <= hi_y for a, b, c, d in reach)
        if ok:
            return feat, nx0, ny0, res
        st.lost, st.vx, st.vy = saved
        self._nccache = {}  # (positions in this part's features)
        return None

    def _static_lookalike(self, img, fit) -> bool:
        """Is a plate found after a loss one that stood at the same place, looking the same,
        in the last confidently tracked frame, while the tracked plate was elsewhere (a
        stored plate on a rack, a poster)? The lost plate cannot be that one."""
        st = self.state
        if st.ref is None or st.ref.shape != img.shape:
            return False
        r = fit.r
        if math.hypot(fit.cx - st.ref_xy[0], fit.cy - st.ref_xy[1]) < 2.0 * max(r, st.r):
            return False  # the tracked plate itself could have been in that patch
        H, W = img.shape[:2]
        half = int(round(0.85 * r))
        x0, y0 = max(0, int(round(fit.cx)) - half), max(0, int(round(fit.cy)) - half)
        x1, y1 = min(W, int(round(fit.cx)) + half + 1), min(H, int(round(fit.cy)) + half + 1)
        if (x1 - x0) * (y1 - y0) < 0.4 * (2 * half + 1) ** 2:
            return False
        a = _features(img[y0:y1, x0:x1])
        b = _features(st.ref[y0:y1, x0:x1])
        a = a - a.mean(axis=(0, 1))
        b = b - b.mean(axis=(0, 1))
        den = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
        return den > 1e-6 and float((a * b).sum()) / den > STATIC_NCC

    def _step_roi(self, feat, px, py, half_w, r, speed, lx, ly):
        st = self.state
        # the radius follows scale changes (zoom, plate moving toward the camera) a little
        # per frame, never jumping to an inner ring or a neighbouring plate's size
        rb = (max(0.8 * r, 0.35 * self.r_ref), min(1.25 * r, 3.0 * self.r_ref))
        seen = [(px, py)]
        coarse = []
        fit = self.rim.fit(feat, px, py, r, sigma_frac=0.12, passes=1, r_bounds=rb)
        fast = False
        if fit is not None and fit.n_inliers > 0:
            sc = self._score(feat, fit, None, px, py, r, speed)
            coarse.append((sc[0], fit, sc[1]))
            # fast path: a well supported rim right where it was expected
            fast = (st.lost == 0 and self._quality(fit) >= 0.75 and sc[1] > 0.5
                    and math.hypot(fit.cx - px, fit.cy - py) < 0.15 * r + 0.5 * speed)
        if not fast:
            cands = self._match(feat, px, py, half_w, r)
            for x, y, ts in [(lx, ly, None)] + cands:
                if any(math.hypot(x - a, y - b) < 0.08 * r for a, b in seen):
                    continue
                seen.append((x, y))
                fit = self.rim.fit(feat, x, y, r, sigma_frac=0.12, passes=1, r_bounds=rb)
                if fit is None or fit.n_inliers == 0:
                    continue
                coarse.append((self._score(feat, fit, ts, px, py, r, speed)[0], fit, ts))
        coarse.sort(key=lambda c: -c[0])
        best, best_score, best_ts = None, -1e9, 0.0
        refined = []
        for _, fit0, ts in coarse[:2]:
            if any(math.hypot(fit0.cx - a.cx, fit0.cy - a.cy) < 0.05 * r for a in refined):
                continue
            rim = self.rim
            if fit0.visible_frac < 0.3:  # a short arc at the frame edge: sample it densely
                rim = _RimFitter(self.rim.plate_col, n_rays=3 * N_RAYS)
                rim.set_shape(self.rim.ratio, self.rim.phi)
                rim.reach = self.rim.reach
            # the fast path's rim is already where it was predicted: one narrow pass refines
            # it as well as two (bench tracking, % of radius, medians within +-0.03 points
            # on all 13 clips, p95 within +-0.03, 13/13 pass) at a third less edge search
            fit = rim.fit(feat, fit0.cx, fit0.cy, fit0.r, passes=1 if fast else 2,
                          first_sigma=False, r_bounds=rb)
            if fit is None or fit.n_inliers == 0:
                continue
            refined.append(fit)
            score, ts = self._score(feat, fit, None, px, py, r, speed)
            if score > best_score:
                best, best_score, best_ts = fit, score, ts
        diag = {"candidates": len(seen), "fast": fast}
        if best is None:
            return self._lose(), 0.0, diag
        q = self._quality(best)
        conf = float(np.clip(q * (0.6 + 0.4 * max(best_ts, 0.0)), 0.0, 1.0))
        diag.update(inlier_frac=round(best.inlier_frac, 3), visible_frac=round(best.visible_frac, 3),
                    contrast=round(best.contrast / self.ref_contrast, 3), rms=round(best.rms, 3),
                    template=round(float(best_ts), 3))
        need = 0.30 if st.lost == 0 else 0.45
        near = math.hypot(best.cx - px, best.cy - py) < (0.5 if st.lost == 0 else 1.5) * r + speed
        min_vis = MIN_VISIBLE_TRACK if st.lost == 0 else MIN_VISIBLE_ACQUIRE
        ok = (best.visible_frac >= min_vis and q >= need and best.n_inliers >= MIN_INLIERS
              and (st.lost == 0 or (abs(best.r / r - 1) < 0.15
                                    and max(abs(best.cx - px), abs(best.cy - py)) <= half_w
                                    and (best_ts > 0.5 or (best_ts > 0.25 and near
                                                           and best.inlier_frac >= 0.55))))
              # weak rim support must at least look like the plate, where it was expected
              and (best.inlier_frac >= 0.6 or best_ts >= 0.35 or (best_ts >= 0.25 and near)))
        if ok and best.visible_frac < 0.35:
            # a short arc at the frame edge: only a consistent, well supported continuation
            dev = math.hypot(best.cx - px, best.cy - py)
            ok = best.inlier_frac >= 0.6 and dev < 0.2 * r + 0.5 * speed
        if not ok:
            return self._lose(), 0.0, diag
        return best, conf, diag

    def _accept(self, best, conf, feat, x0, y0):
        st = self.state
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
        if (USE_SHAPE and math.hypot(st.vx, st.vy) < 0.03 * st.r and best.inlier_frac > 0.7
                and best.visible_frac > 0.95):
            sh = _shape_of(best.points)
            if sh is not None:
                rim = self.rim
                ex = (rim.ratio - 1) * math.cos(2 * rim.phi)
                ey = (rim.ratio - 1) * math.sin(2 * rim.phi)
                ex = 0.9 * ex + 0.1 * (sh[0] - 1) * math.cos(2 * sh[1])
                ey = 0.9 * ey + 0.1 * (sh[0] - 1) * math.sin(2 * sh[1])
                rim.set_shape(1 + math.hypot(ex, ey), 0.5 * math.atan2(ey, ex))
        st.lost = 0
        st.last_good = (best.cx, best.cy, best.r)
        if conf > 0.75 and best.visible_frac > 0.95:
            t = _Templates.cut(feat, best.cx - x0, best.cy - y0, best.r)
            if t is not None:
                self.t_recent, self.t_recent_r = t, best.r

    def _score(self, feat, fit, ts, px, py, r, speed):
        st = self.state
        if ts is None:
            ts = self._templ_score(feat, fit.cx, fit.cy, fit.r)
        q = self._quality(fit)
        dr = abs(fit.r / r - 1)
        score = q + 0.35 * max(ts, 0) - 2.0 * dr
        if not st.lost:  # motion plausibility
            dev = math.hypot(fit.cx - px, fit.cy - py) / (0.5 * r + 1.5 * speed + 1e-6)
            score -= 0.08 * dev * dev
        return score, ts

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
        best = 0.0
        ix, iy = int(round(cx)), int(round(cy))
        cache = self.__dict__.setdefault("_nccache", {})
        for tmpl, tr in ((self.t_seed, self.t_seed_r), (self.t_recent, self.t_recent_r)):
            hit = self._templ_for(tmpl, tr, r, stats=True)
            if hit is None:
                continue
            t = hit[0]
            key = (id(t), ix, iy)
            reach = self.__dict__.get("_reach")
            if reach is not None:
                th = t.shape[0] // 2
                reach.append((ix - th, iy - th, ix - th + t.shape[1] - 1, iy - th + t.shape[0] - 1))
            v = cache.get(key)
            if v is None:
                th = t.shape[0] // 2
                v = cache[key] = _overlap_ncc(feat, t, ix - th, iy - th, hit[1])
            best = max(best, v)
            if tmpl is self.t_recent and self.t_recent is self.t_seed:
                break
        return best


def _motion_blur(t, vx, vy):
    """The template as a moving plate would look: smeared along (vx, vy) px."""
    import cv2

    L = math.hypot(vx, vy)
    if L < 2.0:
        return t
    n = int(math.ceil(L)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    for i in range(4 * n):
        f = i / (4 * n - 1) - 0.5
        k[int(round(c + f * vy * (n - 1) / L)), int(round(c + f * vx * (n - 1) / L))] += 1
    k /= k.sum()
    return cv2.filter2D(t, -1, k, borderType=cv2.BORDER_REPLICATE)


def _centred(b):
    """(b minus its per-channel mean, the sum of its squares) for ``_overlap_ncc``."""
    import cv2

    m = cv2.mean(b)
    bc = cv2.subtract(b, m)
    return bc, float(cv2.norm(bc, cv2.NORM_L2SQR))


def _overlap_ncc(feat, t, x0, y0, t_centred=None) -> float:
    """Normalised correlation of template ``t`` placed at (x0, y0) over the part inside
    the image (a plate at the frame edge); 0 when less than 40% of it is inside."""
    import cv2

    h, w = feat.shape[:2]
    th, tw = t.shape[:2]
    ax0, ay0 = max(0, x0), max(0, y0)
    ax1, ay1 = min(w, x0 + tw), min(h, y0 + th)
    if ax1 <= ax0 or ay1 <= ay0 or (ax1 - ax0) * (ay1 - ay0) < 0.4 * tw * th:
        return 0.0
    a = feat[ay0:ay1, ax0:ax1]
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    if t_centred is not None and (ax0, ay0, ax1, ay1) == (x0, y0, x0 + tw, y0 + th):
        bc, sbb = t_centred
    else:
        b = t[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0]
        if b.dtype != np.float32:
            b = b.astype(np.float32)
        bc, sbb = _centred(b)
    # sum (a - mean a)(b - mean b) = sum a (b - mean b); sum (a - mean a)^2 = n sum var
    num = sum(cv2.sumElems(cv2.multiply(a, bc))[:3])
    _, sd = cv2.meanStdDev(a)
    saa = float((sd * sd).sum()) * a.shape[0] * a.shape[1]
    den = math.sqrt(saa * sbb)
    return float(num / den) if den > 1e-6 else 0.0


def _plate_colour(feat, cx, cy, r):
    rays = _Rays(72)
    rho = np.linspace(0.72 * r, 0.9 * r, 6, dtype=np.float32)
    prof, inside = _sample_rays(feat, rays, cx, cy, rho)
    vals = prof[inside]
    if len(vals) == 0:
        return np.zeros(3, np.float32)
    return np.median(vals, axis=0).astype(np.float32)


# ----------------------------------------------------------------------------------------


def _prefetch(it: Iterable, depth: int = 4) -> Iterator:
    """Run a frame iterator in a background thread (decode overlaps tracking on 2 cores).

    At most ``depth`` frames wait in the queue: memory stays bounded.
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


class ClassicTracker:
    name = "classic"
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

        n = int(info.frame_count)
        if n <= 0:
            raise TrackingError("the video has no frames")
        if not (0 <= seed.frame < n):
            raise TrackingError(f"seed frame {seed.frame} is outside the video (0..{n - 1})")
        if not (seed.r > 2):
            raise TrackingError(f"seed radius {seed.r} is too small")
        s = self._scale_for(info, seed)
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
        fwd = _prefetch(frames(start=seed.frame, scale=s if s < 1 else None))
        engine = None
        for fr in fwd:
            if fr.index >= n:
                break
            sx, sy = mapper(fr.image)
            if engine is None:
                feat = _features(np.asarray(fr.image))
                seed_w = ((seed.cx + 0.5) * sx - 0.5, (seed.cy + 0.5) * sy - 0.5, seed.r * sx)
                engine = _Engine(feat, seed_w)
                fit = engine.seed_fit
                if fit is None or fit.n_inliers < 8:
                    fit = _Fit(*seed_w, 0.0, 1.0, 0.0, 99.0, 0)
                    conf = 0.3
                else:
                    conf = float(np.clip(engine._quality(fit), 0.3, 1.0))
                fit = _Fit(engine.state.cx, engine.state.cy, engine.state.r, fit.inlier_frac,
                           fit.visible_frac, fit.contrast, fit.rms, fit.n_inliers, fit.points,
                           shape=(engine.rim.ratio, engine.rim.phi))
                obs[fr.index] = self._obs(fr.index, info, fr.t_s, fit, conf, sx, sy, {"seed": True})
                seed_state = (engine.state.cx, engine.state.cy, engine.state.r)
                seed_templ = engine.t_seed
                seed_col = engine.rim.plate_col
                seed_shape = (engine.rim.ratio, engine.rim.phi)
                seed_contrast = engine.ref_contrast
                tick()
                continue
            fit, conf, diag = engine.step(fr.image)
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
                chunk_frames = [(f.index, f.t_s, f.image) for f in
                                frames(start=begin, stop=end, scale=s if s < 1 else None)]
                for idx, t_s, img in reversed(chunk_frames):
                    sx, sy = mapper(img)
                    if bengine is None:
                        bengine = _Engine.__new__(_Engine)
                        bengine.__dict__.update(engine.__dict__)
                        bengine.rim = _RimFitter(seed_col)
                        bengine.rim.set_shape(*seed_shape)
                        bengine.state = _State(*seed_state, last_good=seed_state)
                        bengine.t_seed = bengine.t_recent = seed_templ
                        bengine.t_seed_r = bengine.t_recent_r = seed_state[2]
                        bengine.ref_contrast = seed_contrast
                    fit, conf, diag = bengine.step(img)
                    obs[idx] = self._obs(idx, info, t_s, fit, conf, sx, sy, diag)
                    tick()
                del chunk_frames
                end = begin

        for i in range(n):
            if not obs.is_set(i):  # not decodable: honest loss
                t = info.timestamps_s[i] if i < len(info.timestamps_s) else 0.0
                obs[i] = DiscObservation(frame=i, t_s=float(t), state=LOST, confidence=0.0,
                                         extra={"reason": "frame not decoded"})
        elapsed = time.perf_counter() - t_start
        obs.set_extra(0, "tracker_fps", round(n / max(elapsed, 1e-6), 1))
        return obs

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
        th = np.linspace(0, 2 * np.pi, POLY_POINTS, endpoint=False)
        ca, sa = math.cos(math.radians(ang)), math.sin(math.radians(ang))
        px = cx + a_f * np.cos(th) * ca - b_f * np.sin(th) * sa
        py = cy + a_f * np.cos(th) * sa + b_f * np.sin(th) * ca
        # = round(x, 2); kept as an array: ~0.9 instead of ~6 KB a frame as lists
        poly = round_array(np.column_stack((px, py)), 2)
        return DiscObservation(
            frame=idx, t_s=float(t), state=TRACKED, confidence=round(float(conf), 4),
            center=(round(float(cx), 3), round(float(cy), 3)), radius=round(float(radius), 3),
            ellipse=ellipse, polygon=poly, extra=extra,
        )
