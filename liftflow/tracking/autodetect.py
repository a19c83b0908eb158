"""Find the near weight plate automatically when the user gives no seed circle.

On the first frames (downscaled), ``cv2.HoughCircles`` proposes circles of plausible plate
size. Proposals are grouped across frames; each group is scored by

- *rim support*: the classic tracker's robust rim fit must find the plate's outer edge
  all round the circle (fraction of rays with a consistent edge, and edge contrast),
- *persistence*: in how many of the sampled frames the circle is proposed,
- *size*: the near plate is the largest plate in a side view (the far plate is smaller by
  perspective and mostly hidden; inner rings and hubs are smaller still),
- *position*: a mild preference for the lower part of the frame.

Concentric smaller circles (inner rings, hubs) are dropped in favour of the outer rim.
The winner is refined with the rim fit and returned as a ``SeedCircle(source="auto")``
whose ``reason`` says which circle was chosen and why, in numbers.
"""

from __future__ import annotations

import math

import numpy as np

from liftflow.tracking.base import SeedCircle, TrackingError
from liftflow.tracking.classic.features import feature_map
from liftflow.tracking.classic.rim import Rays, RimFitter, plate_colour, sample_rays

WORK_SIDE = 480  # longest side of the frames the detector looks at
N_SAMPLES = 5  # frames sampled among the first max_frames


def _proposals(gray: np.ndarray, rmin: int, rmax: int) -> list[tuple[float, float, float]]:
    """Circle proposals (x, y, r). HOUGH_GRADIENT_ALT keeps the plates among few proposals
    where the classic gradient Hough returns hundreds of clutter circles."""
    import cv2

    g = cv2.medianBlur(gray, 5)
    c = cv2.HoughCircles(g, cv2.HOUGH_GRADIENT_ALT, dp=1.5, minDist=max(8, rmin), param1=100,
                         param2=0.4, minRadius=rmin, maxRadius=rmax)
    if c is None:
        return []
    return [tuple(map(float, v)) for v in c[0][:60]]


def _uniformity(feat, cx, cy, r) -> float:
    """Fraction of the band just inside the rim that has the band's typical colour.

    A plate is one material all round its edge; a circle that Hough found in clutter
    has a different colour inside on every side.
    """
    rays = Rays(72)
    rho = np.array([0.8 * r, 0.86 * r, 0.92 * r], np.float32)
    prof, inside = sample_rays(feat, rays, cx, cy, rho)
    ok = inside.all(axis=1)
    if ok.sum() < 12:
        return 0.0
    col = prof[ok].mean(axis=1)  # per ray
    med = np.median(col, axis=0)
    dist = np.linalg.norm(col - med, axis=1)
    return float(np.mean(dist < 12.0) * ok.mean())


def detect_seed(video_path: str, info, max_frames: int = 30) -> SeedCircle:
    """The near plate on the first frames, or TrackingError with the reason."""
    import cv2

    from liftflow.video.decode import iter_frames

    n = max(1, min(int(max_frames), int(info.frame_count or max_frames)))
    wanted = sorted(set(int(round(i)) for i in np.linspace(0, n - 1, min(N_SAMPLES, n))))
    frames = []
    for fr in iter_frames(video_path, stop=n, max_side=WORK_SIDE):
        if fr.index in wanted:
            frames.append((fr.index, fr.image))
    if not frames:
        raise TrackingError(f"no weight plate found in the first {n} frames: no frame decoded")
    h, w = frames[0][1].shape[:2]
    sx, sy = w / info.width, h / info.height
    short = min(w, h)
    rmin, rmax = max(6, int(0.045 * short)), int(0.28 * short)

    # proposals per frame, grouped across frames
    groups: list[dict] = []
    for idx, img in frames:
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        for cx, cy, r in _proposals(gray, rmin, rmax):
            for g in groups:
                if (math.hypot(cx - g["cx"], cy - g["cy"]) < 0.25 * g["r"]
                        and abs(r / g["r"] - 1) < 0.2):
                    if idx not in g["frames"]:
                        g["frames"].append(idx)
                    break
            else:
                groups.append({"cx": cx, "cy": cy, "r": r, "frames": [idx]})
    if not groups:
        raise TrackingError(
            f"no weight plate found in the first {n} frames: no circle of plate size "
            f"(radius {rmin / sx:.0f}-{rmax / sx:.0f} px) was detected")

    # rim support of each group on the first frame where it was proposed
    feats = {}
    scored = []
    for g in groups:
        f0 = g["frames"][0]
        if f0 not in feats:
            feats[f0] = feature_map(dict(frames)[f0])
        feat = feats[f0]
        rim = RimFitter(plate_colour(feat, g["cx"], g["cy"], g["r"]))
        fit = rim.fit(feat, g["cx"], g["cy"], g["r"], sigma_frac=0.10, passes=3,
                      r_bounds=(0.8 * g["r"], 1.2 * g["r"]))
        if fit is None or fit.n_inliers < 12:
            continue
        if math.hypot(fit.cx - g["cx"], fit.cy - g["cy"]) > 0.3 * g["r"]:
            continue
        uni = _uniformity(feat, fit.cx, fit.cy, fit.r)
        persistence = len(g["frames"]) / len(frames)
        size = fit.r / short
        lower = fit.cy / h
        score = (fit.inlier_frac * uni ** 2 * fit.visible_frac * (0.4 + 0.6 * persistence)
                 * (0.3 + size) * (0.85 + 0.3 * lower))
        scored.append({**g, "fit": fit, "frame": f0, "persistence": persistence,
                       "score": score, "contrast": fit.contrast, "uniformity": uni})
    if not scored:
        raise TrackingError(
            f"no weight plate found in the first {n} frames: {len(groups)} circle proposals, "
            "none with a plate rim (consistent edge all round)")
    # drop circles nested inside a larger, well supported circle (inner rings, hubs)
    keep = []
    for s in scored:
        f = s["fit"]
        nested = any(
            o is not s and o["fit"].r > 1.12 * f.r
            and math.hypot(o["fit"].cx - f.cx, o["fit"].cy - f.cy) + f.r < 1.1 * o["fit"].r
            and o["fit"].inlier_frac >= 0.5 and o["uniformity"] >= 0.7
            and o["score"] >= 0.5 * s["score"]
            for o in scored)
        if not nested:
            keep.append(s)
    keep = keep or scored
    keep.sort(key=lambda s: -s["score"])
    best = keep[0]
    f = best["fit"]
    if f.inlier_frac < 0.45:
        raise TrackingError(
            f"no weight plate found in the first {n} frames: the best circle "
            f"(centre {f.cx / sx:.0f},{f.cy / sy:.0f}, radius {f.r / sx:.0f} px) has a rim "
            f"along only {100 * f.inlier_frac:.0f}% of its outline")
    cx = (f.cx + 0.5) / sx - 0.5
    cy = (f.cy + 0.5) / sy - 0.5
    r = f.r / math.sqrt(sx * sy)
    runner = ""
    if len(keep) > 1:
        o = keep[1]["fit"]
        runner = (f"; next best circle at ({(o.cx + .5) / sx - .5:.0f}, {(o.cy + .5) / sy - .5:.0f})"
                  f" r={o.r / sx:.0f} px scored {keep[1]['score'] / max(best['score'], 1e-9):.0%}"
                  " of it")
    reason = (
        f"largest well-supported circle: centre ({cx:.0f}, {cy:.0f}) px, radius {r:.0f} px "
        f"({100 * f.r / short:.0f}% of the short side), rim edge found on "
        f"{100 * f.inlier_frac:.0f}% of its outline, {100 * best['uniformity']:.0f}% of the band "
        f"inside the rim of one colour, proposed in {len(best['frames'])} of "
        f"{len(frames)} sampled frames among the first {n}; {len(groups)} circle groups "
        f"considered, {len(scored) - len(keep)} nested inner circles dropped{runner}"
    )
    return SeedCircle(cx=round(cx, 2), cy=round(cy, 2), r=round(r, 2), frame=int(best["frame"]),
                      source="auto", reason=reason)
