"""The plate's appearance: templates of the plate (the seed's and the last confident one's),
how they look under motion blur, and their correlation with a frame's features.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["centred", "cut_template", "local_maxima", "motion_blur", "overlap_ncc"]


def cut_template(feat, cx, cy, r):
    """The plate's appearance: the square of features around (cx, cy) reaching 0.85 r
    (a copy). Where a frame edge cuts the square (a plate seeded partly outside the
    picture), its missing part is the point reflection through the centre of the part
    inside (a plate looks much the same turned half a turn: its colour, rim and hub);
    None where that is outside too (a corner) or the centre itself is outside."""
    h, w = feat.shape[:2]
    half = int(round(0.85 * r))
    ix, iy = int(round(cx)), int(round(cy))
    x0, y0 = ix - half, iy - half
    x1, y1 = x0 + 2 * half + 1, y0 + 2 * half + 1
    if x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h:
        return feat[y0:y1, x0:x1].copy()
    if not (0 <= ix < w and 0 <= iy < h):
        return None
    rows, cols = np.mgrid[y0:y1, x0:x1]
    out = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    mr, mc = 2 * iy - rows[out], 2 * ix - cols[out]
    if (mr < 0).any() or (mr >= h).any() or (mc < 0).any() or (mc >= w).any():
        return None
    t = np.empty((y1 - y0, x1 - x0) + feat.shape[2:], feat.dtype)
    inside = ~out
    t[inside] = feat[rows[inside], cols[inside]]
    t[out] = feat[mr, mc]
    return t


def local_maxima(m: np.ndarray, k: int, min_dist: int):
    """Up to ``k`` peaks (x, y, value) of a match map, at least ``min_dist`` apart."""
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


def motion_blur(t, vx, vy):
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


def centred(b):
    """(b minus its per-channel mean, the sum of its squares) for ``overlap_ncc``."""
    import cv2

    m = cv2.mean(b)
    bc = cv2.subtract(b, m)
    return bc, float(cv2.norm(bc, cv2.NORM_L2SQR))


def overlap_ncc(feat, t, x0, y0, t_centred=None) -> float:
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
        bc, sbb = centred(b)
    # sum (a - mean a)(b - mean b) = sum a (b - mean b); sum (a - mean a)^2 = n sum var
    num = sum(cv2.sumElems(cv2.multiply(a, bc))[:3])
    _, sd = cv2.meanStdDev(a)
    saa = float((sd * sd).sum()) * a.shape[0] * a.shape[1]
    den = math.sqrt(saa * sbb)
    return float(num / den) if den > 1e-6 else 0.0

