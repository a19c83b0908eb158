"""Metres per pixel from the tracked plate, over the whole track, ellipse-aware.

The plate is a circle of known diameter D in the bar's plane of motion (the sagittal plane).
A camera whose axis is not perpendicular to that plane sees an ellipse: rotating the plane
by an angle θ about the vertical axis keeps the vertical semi-axis at the true radius and
shrinks the horizontal one by cos θ (weak-perspective model). Hence:

- scale: ``m_per_px = D / (2 · a)`` with ``a`` the semi-major axis (the plate radius seen
  unshortened) when the view is measurably oblique (θ >= ``CORRECT_TILT_DEG``), else the
  tracked (equivalent-circle) radius. ``a`` is the median over the
  tracked frames where the plate moves slowly (motion blur stretches the outline along the
  motion and inflates ``a``), so the scale uses the radius over time, not only the seed.
- obliqueness: ``θ = acos(b / a)`` from the median axis ratio of the same frames. Horizontal
  distances are foreshortened by cos θ; when θ >= ``CORRECT_TILT_DEG`` and the minor axis is
  within 30° of horizontal, x is divided by ``b / a``. Above ``WARN_TILT_DEG`` the numbers
  come with a warning (perspective errors no longer small); above ``UNTRUSTED_TILT_DEG``
  they are flagged as not trustworthy.
- a plate whose apparent size drifts (camera zoom, plate moving toward the camera) breaks the
  single-scale assumption: a warning reports the drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

CORRECT_TILT_DEG = 15.0  # axis ratio 0.966: below it, blur and fit noise (2-3% on the real clips) dominate
WARN_TILT_DEG = 20.0
UNTRUSTED_TILT_DEG = 30.0
RADIUS_DRIFT_WARN = 0.08  # relative change of apparent radius over the clip


@dataclass
class Calibration:
    m_per_px: float  # vertical scale (and horizontal before foreshortening correction)
    m_per_px_x: float  # horizontal scale actually applied
    method: str
    plate_diameter_m: float
    radius_px_median: float | None = None
    radius_px_p05: float | None = None
    radius_px_p95: float | None = None
    radius_px_cv: float | None = None
    radius_drift: float | None = None
    axis_ratio: float | None = None
    tilt_deg: float | None = None
    horizontal_corrected: bool = False
    frames_used: int = 0
    trustworthy: bool = True
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        r = lambda v, k=5: None if v is None else round(float(v), k)  # noqa: E731
        return {
            "m_per_px": r(self.m_per_px, 8),
            "m_per_px_x": r(self.m_per_px_x, 8),
            "method": self.method,
            "plate_diameter_m": self.plate_diameter_m,
            "plate_radius_px": {
                "median": r(self.radius_px_median, 3),
                "p05": r(self.radius_px_p05, 3),
                "p95": r(self.radius_px_p95, 3),
                "cv": r(self.radius_px_cv, 4),
                "drift": r(self.radius_drift, 4),
                "frames_used": self.frames_used,
            },
            "obliqueness": {
                "axis_ratio": r(self.axis_ratio, 4),
                "tilt_deg": r(self.tilt_deg, 2),
                "horizontal_corrected": self.horizontal_corrected,
                "trustworthy": self.trustworthy,
            },
            "warnings": list(self.warnings),
        }


def calibrate(
    t: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    radius: np.ndarray,
    ellipses: list,
    segments: list[np.ndarray],
    plate_diameter_m: float,
    m_per_px_override: float | None = None,
) -> Calibration:
    """Scale from the tracked frames (arrays aligned, one entry per tracked frame)."""
    n = len(t)
    warnings: list[str] = []
    a = np.full(n, np.nan)
    b = np.full(n, np.nan)
    ang = np.full(n, np.nan)
    has_ellipse = np.zeros(n, bool)
    for i in range(n):
        e = ellipses[i]
        if e is not None and e[0] and e[1]:
            a[i], b[i] = max(e[0], e[1]), min(e[0], e[1])
            ang[i] = e[2] if e[0] >= e[1] else e[2] + 90.0
            has_ellipse[i] = True
        elif radius[i] is not None and np.isfinite(radius[i]) and radius[i] > 0:
            a[i] = b[i] = radius[i]
    ok = np.isfinite(a) & (a > 0)
    if m_per_px_override is not None:
        return Calibration(m_per_px=m_per_px_override, m_per_px_x=m_per_px_override,
                           method="given", plate_diameter_m=plate_diameter_m, frames_used=0)
    if not ok.any():
        raise ValueError("no tracked frame carries a plate radius: cannot calibrate the scale")

    # Pixel speed of the centre within segments: pick the slow half of the frames.
    speed = np.full(n, np.nan)
    for seg in segments:
        if len(seg) >= 3:
            vx = np.gradient(cx[seg], t[seg])
            vy = np.gradient(cy[seg], t[seg])
            speed[seg] = np.hypot(vx, vy)
    cand = ok & np.isfinite(speed)
    if cand.sum() >= 5:
        slow = cand & (speed <= np.nanmedian(speed[cand]))
    else:
        slow = ok
    if slow.sum() < 3:
        slow = ok

    ratio = float(np.median(b[slow] / a[slow]))
    ratio = min(ratio, 1.0)
    tilt = math.degrees(math.acos(ratio))
    # Below CORRECT_TILT_DEG the ellipse is not significant and its semi-major axis is biased
    # up by fit noise (max of two noisy axes: +1.6% on risevbt-squat against the hand-checked
    # outline, +0.4% for the equivalent radius): use the tracked (equivalent) radius there.
    eq = np.where(np.isfinite(radius), radius, np.sqrt(a * b))
    use_major = bool(has_ellipse[slow].any()) and tilt >= CORRECT_TILT_DEG
    a_med = float(np.median(a[slow])) if use_major else float(np.median(eq[slow]))
    m_per_px = plate_diameter_m / (2.0 * a_med)
    m_per_px_x = m_per_px
    corrected = False
    method = "plate_ellipse_major_axis_median" if use_major else "plate_radius_median"
    trustworthy = True
    if has_ellipse[slow].any():
        angle = float(np.nanmedian(ang[slow & has_ellipse])) if (slow & has_ellipse).any() else 90.0
        minor_dir = (angle + 90.0) % 180.0  # direction of the minor axis, degrees from image x
        minor_horizontal = min(minor_dir, 180.0 - minor_dir) <= 30.0
        if tilt >= CORRECT_TILT_DEG and minor_horizontal:
            m_per_px_x = m_per_px / ratio
            corrected = True
        if tilt >= UNTRUSTED_TILT_DEG:
            trustworthy = False
            warnings.append(
                f"camera view is too oblique for trustworthy numbers: the plate looks like an "
                f"ellipse with axis ratio {ratio:.2f} (about {tilt:.0f} degrees off a side view, "
                f"limit {UNTRUSTED_TILT_DEG:.0f}); film from the side, level with the bar"
            )
        elif tilt >= WARN_TILT_DEG:
            warnings.append(
                f"oblique view: the plate is seen about {tilt:.0f} degrees off a side view (axis "
                f"ratio {ratio:.2f}); horizontal distances were corrected by 1/{ratio:.2f}, "
                f"expect a few percent of perspective error"
            )
        if tilt >= WARN_TILT_DEG and not minor_horizontal:
            warnings.append(
                f"the plate ellipse is tilted (minor axis {minor_dir:.0f} degrees from horizontal): "
                "camera roll or pitch; horizontal distances were not corrected"
            )

    # Radius over time: spread and drift (first vs last fifth of the track).
    a_ok = a[ok]
    cv = float(np.std(a_ok) / np.mean(a_ok)) if len(a_ok) > 1 else 0.0
    drift = 0.0
    if len(a_ok) >= 10:
        k = max(2, len(a_ok) // 5)
        drift = float((np.median(a_ok[-k:]) - np.median(a_ok[:k])) / a_med)
    if abs(drift) >= RADIUS_DRIFT_WARN:
        warnings.append(
            f"the plate's apparent size changes by {100 * drift:+.0f}% over the clip (camera zoom or "
            "the plate moving toward/away from the camera): one scale from the median radius is used"
        )
    if cv >= 0.15:
        warnings.append(
            f"the tracked plate radius varies a lot (coefficient of variation {cv:.2f}): the tracker "
            "may have jumped to another circle in some frames; scale uses the median"
        )
    return Calibration(
        m_per_px=m_per_px,
        m_per_px_x=m_per_px_x,
        method=method,
        plate_diameter_m=plate_diameter_m,
        radius_px_median=a_med,
        radius_px_p05=float(np.percentile(a_ok, 5)),
        radius_px_p95=float(np.percentile(a_ok, 95)),
        radius_px_cv=cv,
        radius_drift=drift,
        axis_ratio=ratio,
        tilt_deg=tilt,
        horizontal_corrected=corrected,
        frames_used=int(slow.sum()),
        trustworthy=trustworthy,
        warnings=warnings,
    )
