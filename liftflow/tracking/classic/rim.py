"""The rim fitter: where the plate colour ends along rays from a centre, and a robust
circle (or, in a normalised frame, ellipse) through those rim points.

Used by the per-frame engine and by automatic plate detection (``liftflow.tracking.autodetect``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["MAX_RATIO", "MIN_VISIBLE_FIT", "N_RAYS", "Rays", "RimFit", "RimFitter", "fit_circle",
           "plate_colour", "rim_shape", "sample_rays"]

N_RAYS = 120
MIN_VISIBLE_FIT = 0.06  # least fraction of the rim inside the frame to fit at all
MAX_RATIO = 1.3  # most elongated outline accepted (oblique views)


@dataclass
class RimFit:
    """One rim fit in working-resolution pixels, with the support the decision reads."""

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


class Rays:
    """``n`` ray directions around a centre, with their cosines and sines precomputed."""

    def __init__(self, n: int):
        self.theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False).astype(np.float32)
        self.cos = np.cos(self.theta)
        self.sin = np.sin(self.theta)
        self.cs = np.stack([self.cos, self.sin])
        self.cos_col, self.sin_col = self.cos[:, None], self.sin[:, None]
        self.rows = np.arange(n)


def sample_rays(feat, rays: Rays, cx, cy, rho):
    """Features along every ray at distances ``rho`` from (cx, cy): (profiles, inside image)."""
    import cv2

    mx = (cx + rays.cos[:, None] * rho[None, :]).astype(np.float32)
    my = (cy + rays.sin[:, None] * rho[None, :]).astype(np.float32)
    prof = cv2.remap(feat, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    h, w = feat.shape[:2]
    inside = (mx >= 0.5) & (mx <= w - 1.5) & (my >= 0.5) & (my <= h - 1.5)
    return prof, inside


_ONES13 = np.ones((1, 3), np.float32)


def _median(a: np.ndarray) -> float:
    """np.median of a 1-d array, without its overhead (a sort: the same order statistics
    as a partition, and cheaper at these sizes)."""
    n = len(a)
    k = n // 2
    p = np.sort(a)
    if n % 2:
        return float(p[k])
    return float((p[k - 1] + p[k]) * 0.5)


def fit_circle(xy, wts, cx, cy, r, iters=6, fix_r=False):
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
    all_w = bool(pos_w.all())  # (then res[pos_w] is res itself)
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
        mad = _median(np.abs(res if all_w else res[pos_w])) if any_w else 1.0
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


class RimFitter:
    """Finds the plate's rim (plate colour -> not plate colour) near an expected radius and
    fits the outline through it; holds the plate colour and the expected outline shape."""

    reach: Optional[list] = None  # where set, edges() adds the box its samples lie in

    def __init__(self, plate_col: np.ndarray, n_rays=N_RAYS):
        self.rays = Rays(n_rays)
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

    def _scratch(self, m: int) -> dict:
        """Work arrays of ``edges`` for ``m`` samples a ray, kept between calls (the count
        changes only with the radius). Every array is whole and contiguous: NumPy runs an
        operation on it as one loop, where an (n, 1) by (1, m) broadcast runs n short loops
        that cost more than the arithmetic."""
        sc = self.__dict__.setdefault("_scratch_by_m", {})
        b = sc.get(m)
        if b is None:
            if len(sc) >= 4:  # a few sample counts in use at a time: bounded memory
                del sc[next(iter(sc))]
            n, k = len(self.rays.theta), _EDGE_K
            e = np.zeros((n, m), np.float32)  # its first and last k columns stay 0
            b = sc[m] = dict(
                cos=np.ascontiguousarray(np.broadcast_to(self.rays.cos_col, (n, m))),
                sin=np.ascontiguousarray(np.broadcast_to(self.rays.sin_col, (n, m))),
                rho=np.empty((n, m), np.float32), mx=np.empty((n, m), np.float32),
                my=np.empty((n, m), np.float32), e=e, e_mid=e[:, k:m - k],
                z=np.empty((n, m), np.float32), below=np.empty((n, m), bool),
                seg=np.empty((n, m), bool), segf=np.empty((n, m), np.float32),
                flat=self.rays.rows * m, cols=np.arange(m, dtype=np.float32))
        return b

    def edges(self, feat, cx, cy, r_pred, sigma, lo=0.55, hi=1.5):
        import cv2

        step = 0.5
        cx, cy, r_pred, sigma = float(cx), float(cy), float(r_pred), float(sigma)
        rho = np.arange(lo * r_pred * self.mlo, hi * r_pred * self.mhi + step, step, dtype=np.float32)
        rays = self.rays
        n, m, k = len(rays.theta), len(rho), _EDGE_K
        b = self._scratch(m)
        rho_t = b["rho"]
        np.copyto(rho_t, rho)  # rho on every row
        mx = np.multiply(b["cos"], rho_t, out=b["mx"])
        mx += np.float32(cx)
        my = np.multiply(b["sin"], rho_t, out=b["my"])
        my += np.float32(cy)
        prof = cv2.remap(feat, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        h, w = feat.shape[:2]
        rmax = float(rho[-1]) + 0.01
        if self.reach is not None:
            self.reach.append((cx - rmax, cy - rmax, cx + rmax, cy + rmax))
        all_in = (cx - rmax >= 0.5 and cx + rmax <= w - 1.5
                  and cy - rmax >= 0.5 and cy + rmax <= h - 1.5)
        # distance to plate colour
        dd = cv2.subtract(prof, self._col_scalar, dst=prof)
        dd = cv2.multiply(dd, dd, dst=dd)
        d = cv2.sqrt(cv2.transform(dd, _ONES13))
        # outward increase of the distance to plate colour, over +-1.5 px
        e = b["e"]
        cv2.subtract(d[:, 2 * k:], d[:, :-2 * k], dst=b["e_mid"])
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
        z = b["z"]
        np.copyto(z, r_ray[:, None])
        z -= rho_t
        z /= np.float32(sigma)
        z *= z
        z *= np.float32(-0.5)
        prior = np.exp(z, out=z)
        prior *= e
        idx = np.argmax(prior, axis=1)
        flat = b["flat"] + idx  # (ray, idx) in the raveled (n, m) arrays
        peak = e.ravel().take(flat)
        # sub-pixel: centroid of the ramp where e > half the peak, contiguous around idx:
        # the samples above half the peak whose count of samples below it so far is the
        # peak's. The count runs over the raveled rays (cv2.integral of one row, a fraction
        # of a cumsum's cost): within a ray it is the ray's own count plus the same offset.
        half = (0.5 * peak)[:, None]
        below = np.less_equal(e, half, out=b["below"])
        run = cv2.integral(below.view(np.uint8).reshape(1, n * m))[1, 1:]
        seg = np.equal(run.reshape(n, m), run.take(flat)[:, None], out=b["seg"])
        seg &= np.greater(e, half)  # (= ~below: e holds no NaN)
        seg = np.multiply(e, seg, out=b["segf"])
        num = seg @ b["cols"]
        den = seg.sum(axis=1)
        pos = rho[0] + step * num / np.maximum(den, 1e-6)
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
            r_bounds=None, first_sigma=True) -> Optional[RimFit]:
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
                return RimFit(cx, cy, r, 0.0, nvis / len(vis), 0.0, 99.0, 0)
            w = peak * (valid & (peak > min_contrast))  # (peak >= 0: peak or +0)
            if np.count_nonzero(w) < 8:
                return RimFit(cx, cy, r, 0.0, nvis / len(vis), 0.0, 99.0, 0)
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
            ncu, ncv, nr, wr, scale = fit_circle(xyu, w, cu, cv_, r_known if fix_r else r,
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
            fit = RimFit(
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


def rim_shape(points) -> Optional[tuple]:
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


def plate_colour(feat, cx, cy, r):
    """Median feature colour of the band just inside a circle's rim (0.72-0.9 r)."""
    rays = Rays(72)
    rho = np.linspace(0.72 * r, 0.9 * r, 6, dtype=np.float32)
    prof, inside = sample_rays(feat, rays, cx, cy, rho)
    vals = prof[inside]
    if len(vals) == 0:
        return np.zeros(3, np.float32)
    return np.median(vals, axis=0).astype(np.float32)

