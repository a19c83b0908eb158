"""An honest ± on the figures a coach reads, and a verdict on the filming setup.

Per rep, a symmetric 95 % half-width (1.96 x the combined standard uncertainty; sources
independent, combined in quadrature) on mean concentric velocity (MCV), peak concentric
velocity (PCV) and range of motion (ROM), from:

- scale: the relative standard uncertainty of ``m_per_px`` (``scale_rel_sd``): standard error
  of the median plate radius over the frames it came from, a floor for the outline fit's bias,
  the obliqueness, the drift of the apparent size. It multiplies every velocity and distance.
- position noise: sigma of the tracked centre (pixels, from the residual between raw and
  smoothed positions around the rep, de-biased for what the filter lets through), inflated
  where the tracker's confidence is low, carried through the very filter and derivative the
  figures came from (``noise_gains``: exact for white noise). ROM = difference of two smoothed
  positions (sqrt(2) sigma); MCV = ROM / duration, plus the timing error of its two
  boundaries (a boundary shifted by dt changes the duration, not the rise: the bar is at
  rest there); PCV = sigma of the smoothed velocity.
- timing (MCV): each boundary's sigma = velocity noise of the timing series / the rate at
  which the velocity leaves (or returns to) zero, plus the onset model's own error.
- filter attenuation (PCV): a low-pass flattens a narrow peak. The filter applied once more
  to the smoothed path loses about what the first pass lost (a small attenuation is nearly
  linear in the number of passes): that loss counts as a standard uncertainty of its size.
- frame rate (PCV): a peak narrower than ``PEAK_MIN_FRAMES`` frames at 90 % of its height,
  or one where the bar travels more than ``PEAK_MAX_TRAVEL_OF_RADIUS`` of the plate radius
  between frames, is not resolved by the frame rate: ``peak_velocity_resolved`` is false with
  the reason, and a sampling term is added: the peak read between samples
  (``filtering.refine_peak``) counts as uncertain by the size of its correction.

The constants were set on synthetic clips with exact truth (``liftflow.synth.profiles``:
squat, deadlift, snatch, clean; 30 and 60 fps; 20-60 px plates; constant and variable frame
rate); the coverage is checked on other seeds in ``liftflow_tests/physics/test_uncertainty.py``
and by ``liftflow bench physics``.

Setup quality (``setup_quality``): plate size in pixels, obliqueness, blur, frame rate and
camera shake, each ``ok``/``warn``/``poor`` (``unknown`` when the clip cannot tell) with what
to change; the verdict is ``poor`` with any poor check, ``fair`` with any warning, else
``good``. Blur and shake are proxies from what the track offers (see ``setup_quality``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np

import liftflow.physics.filtering as flt

Z95 = 1.96  # two-sided 95 % of a normal error
# scale
RADIUS_BIAS_REL_SD = 0.01  # outline fit bias: +1.6 % on risevbt-squat vs the hand-checked outline, 2-3 % blur/fit noise on the real clips (calibration.py)
RADIUS_CORR_FRAMES = 5.0  # consecutive radii are not independent (the tracker refines from the last frame): ~5 frames per independent one
TILT_REL_PER_UNIT = 0.5  # corrected oblique view: perspective error ~ half of 1 - b/a (weak-perspective model, calibration.py)
# noise and timing
MIN_CONFIDENCE = 0.25  # below it a frame's noise is inflated as if at this confidence (1/sqrt(conf))
RESIDUAL_PAD_S = 0.2  # the residual around a rep: from this long before its start to after its end
ONSET_MODEL_S = 0.005  # the onset fit's own error on noise-free onsets (reps._zero_time: within ±5 ms)
TIMING_NOISE_K = 2.6  # extrapolating the onset fit to zero amplifies the crossing error: set so the timing errors of the synthetic squats, deadlifts and pulls (seeds 0-1) have unit rms z
# peak velocity
PEAK_MIN_FRAMES = 3.0  # peak narrower than this at 90 % of its height: not resolved by the frame rate
PEAK_LEVEL = 0.9
PEAK_MAX_TRAVEL_OF_RADIUS = 0.25  # bar moves more than this share of the plate radius in one frame at the peak: blurred, undersampled
# setup quality thresholds (status ok / warn / poor)
PLATE_OK_PX = 35.0  # radius: 0.3 px of centre noise is < 1 % of it (the bench's 60 px default keeps MCV within 0.02 m/s)
PLATE_POOR_PX = 20.0
BLUR_WARN = 0.03  # radius inflation in the fast frames vs the slow ones (motion blur stretches the outline)
BLUR_POOR = 0.08
FPS_OK = 50.0  # explosive lifts need >= 60 fps (filtering.py: 30 fps peaks 0.05-0.08 m/s low before spline derivatives)
FPS_OK_SLOW = 25.0  # squats, deadlifts, bench: 30 fps resolves a ~1 s concentric
SHAKE_WARN_MM = 3.0  # rms of the plate centre while the bar rests, tracker noise removed: a tripod gives ~0, a phone held at arm's length several mm
SHAKE_POOR_MM = 8.0
# what the blur and shake checks measure (the pipeline has no direct view of either)
BLUR_PROXY = "radius inflation in the fastest quarter of frames vs the slow half"
SHAKE_PROXY = "rms of the plate centre about its mean while the bar rests, less the tracker noise (mm)"
REST_SPEED_M_S = 0.05  # the bar is at rest below this (smoothed speed)
REST_MIN_S = 0.3  # rest runs shorter than this are not used for shake


@dataclass
class NoiseGains:
    pos: float  # sd of the smoothed position per unit sd of white noise on the raw position
    vel_per_s: float  # sd of the smoothed velocity (per second) per unit sd of position noise
    residual: float  # sd of raw - smoothed per unit sd of position noise


@lru_cache(maxsize=64)
def noise_gains(fs: float, fc: float) -> NoiseGains:
    """How white position noise passes the Butterworth filtfilt at ``fc`` and the spline
    derivative, at sampling rate ``fs``: from the impulse response (both are linear)."""
    half = int(max(flt.PAD_MIN_SAMPLES, round(6.0 * fs / max(fc, 0.1))))
    n = 2 * half + 1
    z = np.zeros(n)
    z[half] = 1.0
    hs = flt.lowpass(z, fs, fc)[0]
    v, _ = flt.spline_derivatives(np.arange(n) / fs, hs)
    pos = float(np.sqrt(np.sum(hs**2)))
    resid = float(np.sqrt(max(1.0 - 2.0 * hs[half] + pos**2, 1e-6)))
    return NoiseGains(pos=pos, vel_per_s=float(np.sqrt(np.sum(v**2))), residual=resid)


def scale_rel_sd(calib) -> tuple[float, dict]:
    """Relative standard uncertainty of ``m_per_px`` and its parts (``calibration.Calibration``)."""
    if calib.method == "given":
        return 0.0, {"given": 0.0}
    n_eff = max(calib.frames_used / RADIUS_CORR_FRAMES, 1.0)
    stat = 1.2533 * float(calib.radius_px_cv or 0.0) / math.sqrt(n_eff)  # se of a median = 1.2533 sd/sqrt(n)
    ratio = float(calib.axis_ratio or 1.0)
    if calib.method == "plate_ellipse_major_axis_median":
        tilt = TILT_REL_PER_UNIT * (1.0 - ratio)
    else:  # the equivalent radius sqrt(a b) of a slightly oblique plate is short by 1 - sqrt(b/a)
        tilt = 1.0 - math.sqrt(ratio)
    drift = abs(float(calib.radius_drift or 0.0)) / math.sqrt(12.0)
    parts = {"radius_spread": stat, "fit_bias": RADIUS_BIAS_REL_SD, "obliqueness": tilt, "drift": drift}
    return float(math.sqrt(sum(v * v for v in parts.values()))), parts


@dataclass
class TrackContext:
    """What the per-rep uncertainty needs from compute_metrics (arrays over analysed frames)."""
    t: np.ndarray
    y_px: np.ndarray  # raw vertical pixel positions
    ys_px: np.ndarray  # smoothed
    vy_m_s: np.ndarray  # smoothed vertical velocity, y up
    conf: np.ndarray  # tracker confidence per frame (1 where unknown)
    segs: list
    fc_y: float
    fc_timing: float
    m_per_px: float
    radius_px: float
    scale_rel: float

    @property
    def fs(self) -> float:
        d = np.diff(self.t)
        d = d[d > 0]
        return float(1.0 / np.median(d)) if d.size else 30.0


def _sigma_pos_px(ctx: TrackContext, sel: np.ndarray, g: NoiseGains) -> float:
    """Position noise sd (px) from the raw - smoothed residual over ``sel`` (and, as a floor,
    over the whole track), de-biased for the noise the filter keeps."""
    res = ctx.y_px - ctx.ys_px
    glob = float(np.sqrt(np.mean(res**2))) if res.size else 0.0
    loc = float(np.sqrt(np.mean(res[sel]**2))) if sel.any() else glob
    sigma = max(glob, loc) / g.residual
    c = ctx.conf[sel] if sel.any() else ctx.conf
    c = float(np.mean(c)) if c.size else 1.0
    return sigma / math.sqrt(min(max(c, MIN_CONFIDENCE), 1.0))


def track_noise_px(ctx: TrackContext) -> float:
    """The tracked centre's noise sd (px) over the whole track (vertical residual, de-biased)."""
    g = noise_gains(round(ctx.fs, 3), round(ctx.fc_y, 3))
    res = ctx.y_px - ctx.ys_px
    return float(np.sqrt(np.mean(res**2))) / g.residual if res.size else 0.0


def _peak_width_s(t: np.ndarray, v: np.ndarray, i: int, lo: int, hi: int) -> float:
    """Width (s) of the peak at ``i`` at ``PEAK_LEVEL`` of its height (linear between samples)."""
    lvl = PEAK_LEVEL * v[i]
    a = i
    while a > lo and v[a - 1] >= lvl:
        a -= 1
    b = i
    while b < hi and v[b + 1] >= lvl:
        b += 1
    ta = t[a] if a == lo else t[a - 1] + (t[a] - t[a - 1]) * (lvl - v[a - 1]) / max(v[a] - v[a - 1], 1e-12)
    tb = t[b] if b == hi else t[b] + (t[b + 1] - t[b]) * (v[b] - lvl) / max(v[b] - v[b + 1], 1e-12)
    return float(tb - ta)


def _reapplied_attenuation(ctx: TrackContext, seg: np.ndarray, i_pk: int) -> float:
    """Peak velocity lost by filtering the smoothed path once more (m/s, >= 0)."""
    ts, zs = ctx.t[seg], ctx.ys_px[seg]
    if len(seg) < flt.MIN_SEGMENT_SAMPLES:
        return 0.0
    _p, v2, _a, _m, _r = flt.smooth_segment(ts, zs, ctx.fc_y)
    j = i_pk - int(seg[0])
    w = slice(max(0, j - 2), min(len(seg), j + 3))
    v2_pk = float(np.max(-v2[w])) * ctx.m_per_px
    return max(0.0, float(ctx.vy_m_s[i_pk]) - v2_pk)


def rep_uncertainty(rep: dict, ctx: TrackContext) -> dict:
    """``rep["uncertainty"]``: 95 % half-widths on MCV, PCV and ROM, the peak-velocity flag,
    and each source's half-width per figure (``sources``)."""
    t = ctx.t
    t0, t1 = float(rep["concentric_start_s"]), float(rep["concentric_end_s"])
    dur = max(t1 - t0, 1e-6)
    mcv = float(rep["mean_concentric_velocity_m_s"])
    pcv = float(rep["peak_concentric_velocity_m_s"])
    rom = float(rep["range_of_motion_m"])
    i_pk = int(np.argmin(np.abs(t - float(rep["peak_concentric_velocity_at_s"]))))
    seg = next((s for s in ctx.segs if s[0] <= i_pk <= s[-1]), ctx.segs[0])
    fs = ctx.fs
    dt = 1.0 / fs
    g_main = noise_gains(round(fs, 3), round(ctx.fc_y, 3))
    g_tim = noise_gains(round(fs, 3), round(ctx.fc_timing, 3))
    sel = (t >= t0 - RESIDUAL_PAD_S) & (t <= t1 + RESIDUAL_PAD_S)
    sig_px = _sigma_pos_px(ctx, sel, g_main)
    mpp = ctx.m_per_px
    sd_pos = sig_px * g_main.pos * mpp  # one smoothed position, m
    sd_vel = sig_px * g_main.vel_per_s * mpp  # one smoothed velocity, m/s
    sd_vt = sig_px * g_tim.vel_per_s * mpp  # the timing series' velocity, m/s
    # timing: velocity noise / the rate the velocity leaves zero (rise) and returns (fall)
    t_pk = float(t[i_pk])
    up = max(pcv, 1e-6) / max(t_pk - t0, dt)
    down = max(pcv, 1e-6) / max(t1 - t_pk, dt)
    sd_t0 = math.hypot(ONSET_MODEL_S, TIMING_NOISE_K * sd_vt / up)
    sd_t1 = math.hypot(ONSET_MODEL_S, TIMING_NOISE_K * sd_vt / down)
    # peak: attenuation by the filter, and the frame rate
    att = _reapplied_attenuation(ctx, seg, i_pk)
    lo, hi = int(seg[0]), int(seg[-1])
    width = _peak_width_s(t, ctx.vy_m_s, i_pk, lo, hi)
    width_frames = width * fs
    travel = pcv * dt / max(ctx.radius_px * mpp, 1e-9)
    reasons = []
    if width_frames < PEAK_MIN_FRAMES:
        reasons.append(f"the peak is {width_frames:.1f} frames wide at {PEAK_LEVEL:.0%} of its height "
                       f"(fewer than {PEAK_MIN_FRAMES:g})")
    if travel > PEAK_MAX_TRAVEL_OF_RADIUS:
        reasons.append(f"the bar moves {travel:.0%} of the plate radius between frames at the peak "
                       f"(more than {PEAK_MAX_TRAVEL_OF_RADIUS:.0%})")
    resolved = not reasons
    # the peak between samples (filtering.refine_peak) is uncertain by about its correction
    samp = 0.0 if resolved else max(0.0, pcv - float(ctx.vy_m_s[i_pk]))
    s = ctx.scale_rel
    parts = {
        "mean_concentric_velocity_m_s": {
            "scale": s * abs(mcv), "position_noise": math.sqrt(2.0) * sd_pos / dur,
            "timing": abs(mcv) * math.hypot(sd_t0, sd_t1) / dur},
        "peak_concentric_velocity_m_s": {
            "scale": s * abs(pcv), "position_noise": sd_vel, "filter_attenuation": att,
            "frame_rate": samp},
        "range_of_motion_m": {"scale": s * abs(rom), "position_noise": math.sqrt(2.0) * sd_pos},
    }
    out = {}
    for k, p in parts.items():
        out[k] = round(Z95 * math.sqrt(sum(v * v for v in p.values())), 4)
    out["peak_velocity_resolved"] = resolved
    out["peak_velocity_note"] = None if resolved else "; ".join(reasons) + ": film at a higher frame rate"
    out["sources"] = {k: {n: round(Z95 * v, 4) for n, v in p.items()} for k, p in parts.items()}
    out["inputs"] = {"position_noise_px": round(sig_px, 3), "scale_rel_sd": round(s, 4),
                     "timing_sd_s": [round(sd_t0, 4), round(sd_t1, 4)],
                     "peak_width_frames": round(width_frames, 2), "peak_travel_of_radius": round(travel, 3)}
    return out


def _check(name: str, value, status: str, advice: Optional[str], **extra) -> dict:
    d = {"name": name, "value": value, "status": status, "advice": advice if status != "ok" else None}
    d.update(extra)
    return d


def _grade(v: float, warn: float, poor: float, higher_is_worse: bool = True) -> str:
    if higher_is_worse:
        return "poor" if v >= poor else "warn" if v >= warn else "ok"
    return "poor" if v < poor else "warn" if v < warn else "ok"


def setup_quality(calib, t: np.ndarray, cx: np.ndarray, cy: np.ndarray, rad: np.ndarray,
                  speed_m_s: np.ndarray, segs: list, explosive: bool, reps: list[dict],
                  noise_px: float = 0.0) -> dict:
    """The job's ``setup_quality``: a verdict and one check per part of the filming setup.

    - plate_size_px: the median plate radius (px) the scale came from.
    - obliqueness: degrees off a side view (calibration's axis ratio).
    - blur (proxy): how much larger the tracked radius is in the fastest quarter of the frames
      than in the slow half (motion blur stretches the outline along the motion); the blur a
      tracker hides from its radius is not seen.
    - frame_rate: frames per second (median interval); explosive lifts need more, and any rep
      whose peak velocity the frame rate does not resolve makes it at least a warning.
    - camera_shake (proxy): rms movement (mm) of the raw plate centre within each run of at
      least ``REST_MIN_S`` with the bar at rest, about the run's own mean, less the tracker's
      own noise (``noise_px`` on each axis, from the raw - smoothed residual): a tripod gives
      ~0, a hand-held phone several mm; a lifter swaying with the bar counts too.
    """
    mpp = float(calib.m_per_px)
    checks = []
    r = calib.radius_px_median
    if r is None:
        checks.append(_check("plate_size_px", None, "unknown", None))
    else:
        st = _grade(float(r), PLATE_OK_PX, PLATE_POOR_PX, higher_is_worse=False)
        checks.append(_check("plate_size_px", round(float(r), 1), st,
                             f"the plate is {r:.0f} px in radius: move the camera closer or zoom in so it is at "
                             f"least {PLATE_OK_PX:.0f} px ({2 * PLATE_OK_PX:.0f} px across); every figure's "
                             "noise grows as the plate shrinks"))
    tilt = calib.tilt_deg
    if tilt is None:
        checks.append(_check("obliqueness", None, "unknown", None))
    else:
        from liftflow.physics.calibration import UNTRUSTED_TILT_DEG, WARN_TILT_DEG
        st = _grade(float(tilt), WARN_TILT_DEG, UNTRUSTED_TILT_DEG)
        checks.append(_check("obliqueness", round(float(tilt), 1), st,
                             f"the camera is about {tilt:.0f} degrees off a side view: place it at the side of "
                             "the lifter, level with the bar, facing the plate squarely"))
    ok = np.isfinite(rad) & (rad > 0) & np.isfinite(speed_m_s)
    if ok.sum() >= 20:
        sp = speed_m_s[ok]
        rr = rad[ok]
        slow = rr[sp <= np.median(sp)]
        fast = rr[sp >= np.percentile(sp, 75)]
        infl = float(np.median(fast) / np.median(slow) - 1.0) if slow.size and fast.size else 0.0
        st = _grade(infl, BLUR_WARN, BLUR_POOR)
        checks.append(_check("blur", round(infl, 4), st,
                             f"the plate looks {100 * infl:.0f}% larger when the bar moves fast (motion blur): "
                             "use a shorter exposure (1/500 s or faster, more light) or a higher frame rate",
                             proxy=BLUR_PROXY))
    else:
        checks.append(_check("blur", None, "unknown", None,
                             proxy=BLUR_PROXY))
    d = np.diff(t)
    d = d[d > 0]
    fps = float(1.0 / np.median(d)) if d.size else None
    unresolved = [r_["rep"] for r_ in reps if not (r_.get("uncertainty") or {}).get("peak_velocity_resolved", True)]
    if fps is None:
        checks.append(_check("frame_rate", None, "unknown", None))
    else:
        need = FPS_OK if explosive else FPS_OK_SLOW
        st = "ok" if fps >= need else ("poor" if fps < 0.75 * need else "warn")
        if unresolved and st == "ok":
            st = "warn"
        why = (f"peak velocity of rep(s) {', '.join(map(str, unresolved))} is not resolved at {fps:.0f} fps"
               if unresolved else f"{fps:.0f} fps")
        target = "60 fps or more (120 fps slow motion for snatches and cleans)" if explosive else "at least 30 fps (60 fps is better)"
        checks.append(_check("frame_rate", round(fps, 2), st, f"{why}: film at {target}"))
    devs = []
    for s in segs:
        rest = speed_m_s[s] < REST_SPEED_M_S
        i = 0
        while i < len(s):
            if not rest[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(s) and rest[j + 1]:
                j += 1
            run = s[i:j + 1]
            if t[run[-1]] - t[run[0]] >= REST_MIN_S:
                devs.append(np.hypot(cx[run] - np.mean(cx[run]), cy[run] - np.mean(cy[run])))
            i = j + 1
    if devs:
        ms = float(np.mean(np.concatenate(devs) ** 2)) - 2.0 * noise_px**2
        shake_mm = math.sqrt(max(ms, 0.0)) * mpp * 1000.0
        st = _grade(shake_mm, SHAKE_WARN_MM, SHAKE_POOR_MM)
        checks.append(_check("camera_shake", round(shake_mm, 2), st,
                             f"the plate moves {shake_mm:.1f} mm rms while the bar rests: put the camera on a "
                             "tripod or lean it against something solid",
                             proxy=SHAKE_PROXY))
    else:
        checks.append(_check("camera_shake", None, "unknown", None,
                             proxy=SHAKE_PROXY))
    sts = [c["status"] for c in checks]
    verdict = "poor" if "poor" in sts else "fair" if "warn" in sts else "good"
    return {"verdict": verdict, "checks": checks,
            "advice": [c["advice"] for c in checks if c["advice"]]}
