"""Smoothing positions before differentiating, segment by segment.

Why: differentiating tracked pixel positions twice amplifies noise by ~(1/dt)^2 — the
original system reported a 4 m/s peak for a bar that cannot move that fast. Positions are
low-pass filtered first; velocity and acceleration are derivatives of cubic splines through
the smoothed positions (``spline_derivatives``; plain central differences attenuate the
2-6 Hz content that makes a velocity peak).

What, exactly:
- A *segment* is a run of consecutive tracked frames. A lost frame (or a timestamp jump
  longer than ``MAX_DT_GAP_S``) ends a segment: nothing is interpolated across it and no
  derivative spans it.
- Inside a segment with a variable frame rate, positions are resampled (cubic spline) onto a
  uniform grid at the segment's median frame interval, filtered there, and the smoothed
  position, velocity and acceleration are read back (cubic spline) at the original timestamps.
  Constant-rate segments (every interval within 5% of the median) are filtered in place.
- Filter: 2nd-order Butterworth low-pass run forward and backward (``scipy.signal.filtfilt``,
  zero lag, 4th-order response). The design frequency is corrected for the double pass
  (Winter 2009, 2nd ed. §3.4.4.3: f_design = f_c / 0.802) so that f_c is the -3 dB point
  of the combined filter. Ends are padded by odd extension (value and slope preserved)
  over three periods of f_c (at least 30 samples, at most the segment).
- Cut-off: chosen per clip and per coordinate by Winter's residual analysis: the rms
  residual R(f) between raw and filtered positions is computed for f on a 0.25 Hz grid;
  a straight line fitted to the noise-dominated tail (upper 40% of the grid) meets f = 0 at
  the noise rms; f_c is the lowest f with R(f) <= that intercept, then clamped to
  [``FC_MIN_HZ``, ``FC_MAX_HZ``] and below 0.3 × the sampling rate. Residuals are pooled
  over all segments long enough to filter. Snatch and clean boundaries (lift-off, peak
  height) are read from a second pass at a fixed 4 Hz (``kinematics.TIMING_FC_HZ``).
- Segments too short for the Butterworth pass (< ``MIN_BUTTER_SAMPLES``) fall back to a
  Savitzky-Golay fit (quadratic, window as long as the segment allows up to ~fs/f_c);
  segments under ``MIN_SEGMENT_SAMPLES`` are not analysed at all (reported as a warning).

Evidence behind the choices (synthetic lifts with exact truth, ``liftflow.synth.profiles``,
0.3-0.7 px noise, 30 and 60 fps; see ``benchmark``):
- Butterworth filtfilt over Savitzky-Golay: one cut-off in Hz whatever the frame rate (an SG
  window is in samples and its response changes with fps and polynomial order), a flat
  passband, zero lag, and Winter's residual analysis to pick the cut-off from the clip's own
  noise. SG remains for runs too short for filtfilt's padding.
- The residual analysis alone chose 1.75-2.5 Hz on every synthetic lift (a lift is mostly
  rest, so the residual is mostly noise): fine for squats, but it flattened a snatch's peak
  vertical velocity by 0.05-0.10 m/s. Hence the floors: ``FC_MIN_HZ`` = 3 Hz for all lifts
  (rep mean velocities within ~0.01 m/s rms on squats; a 6 Hz floor doubled their timing
  noise) and ``FC_MIN_EXPLOSIVE_HZ`` = 6 Hz for snatch/clean (peak errors < 0.03 m/s at 60
  fps; 4-5 Hz still cut sharp second-pull peaks by 0.04 m/s).
- Derivatives: central differences have gain sin(ωdt)/(ωdt): -6.5% at 3 Hz and -24% at 6 Hz
  for 30 fps; the spline derivative -0.1% and -1.7%.
- Resampling of variable-frame-rate runs: cubic, not linear (linear bent a snatch path across
  dropped frames and cost 0.03-0.04 m/s of peak velocity).
- 30 fps phone pulls (issue #18 item 1; bench cases ``snatch-30fps-phone``/``clean-30fps-phone``,
  seeds 1-7, 28 px plate, exposure = frame interval, arm and thigh over the plate), measured
  on the tracker's observations replayed into ``compute_metrics``:
  - Exact instantaneous centres: peak vertical velocity +0.015..+0.017 m/s on every snatch,
    +0.001..+0.017 on the cleans. Of it, the filtfilt's overshoot of the turnover (the
    continuous path filtered at 6-7 Hz) is +0.010..+0.013, the 30 fps sampling, spline
    derivative and ``refine_peak`` vertex +0.003..+0.012 more. The same chain reads the
    hand-built sharp pull of ``test_physics_phases`` (second pull from a transition dip) low:
    -0.020 at 6 Hz, -0.036 at 5, -0.048 at 4.5 (30 fps, no noise). The error is the filter's
    response to the pull's shape, of either sign: no constant correction or floor removes it.
  - The synthetic truth is the instantaneous maximum of h'(t); a shutter-1.0 plate's tracked
    centre is about the exposure-window mean, which reads the peak 0.004-0.007 lower. Not
    the cause of the positive errors.
  - Tracked: mean +0.020, sd 0.025 (at 6 Hz, where every clip ends); the tracker adds +0.004
    mean and the whole spread: centre errors of 0.3-0.9 px around the peak and at lift-off
    (the plate is partly covered through the pull), correlated over 2-5 frames, with a flat
    tracker confidence; the residual analysis sees 0.05-0.1 px (the errors look like motion).
  - Kept: positions weighted by the tracker's per-frame centre sd (``position_weights``,
    ``smooth_segment(weights=)``): the weighted cubic smoothing spline of the same cut-off
    (Reinsch; on even weights H(f) = 1 / (1 + (f / f_d)^4), the response the cut-off names,
    where the digital filtfilt at 30 fps passes 0.78 instead of 0.71 at 6 Hz). The classic
    tracker's sd (rim-fit residual over its rim points' count) is ~10x larger on the frames
    it tracks worst than on its best quarter (``test_center_sd_says_which_frames_are_less_certain``).
    Phone seeds 1-7, tracked: peak vertical velocity max |error| 0.060 -> 0.033 m/s (mean
    +0.020 -> +0.003, sd 0.025 -> 0.018; the three clips that were over 0.04 now +0.012,
    +0.013, +0.031), MCV unchanged; on exact centres the same spline evenly weighted reads the peak
    +0.008 instead of +0.016. Of the 42 clips of every case (seeds 1-7), squats unchanged
    (PVV and MCV within 0.001), the default snatches' PVV max 0.016 -> 0.007 (30 fps) and
    0.017 -> 0.015 (60 fps); three phone pulls read a little lower than before (s1 -0.005 ->
    -0.014, s4 -0.008 -> -0.033, clean s2 -0.007 -> -0.013). Real clips: rep counts and
    PVV within 0.01 m/s. The timing pass stays evenly weighted (weighted, the phone cleans'
    lift-off moved: clean s7's MCV error 0.021 -> 0.029).
  - Peak velocity, tried and not kept (none better on every case): y floors 4.5 / 5 / 7 Hz
    (4.5: tracked within 0.030 but the sharp pull above 0.04 low, the pinned test fails); a
    critically damped filtfilt (Robertson & Dowling 2003: +0.004 on exact centres, tracked
    sd 0.031); 4th-order Butterworth and Savitzky-Golay windows (no better bias/noise trade);
    re-filtering to correct the peak (2 peak(F z) - peak(F F z)); a parametric-bootstrap
    correction of the noise maximum bias (0.5 px white noise: mean +0.049 -> +0.024 but one
    more case over the limit; tracked: +0.020 -> +0.016, the same three over).
  - Mean concentric velocity: exact centres within 0.002; the tracked errors were lift-off
    timing (-60..+29 ms), from centre errors of 0.3-0.9 px in the first 4-5 frames of motion
    (the arm eases over the plate at lift-off). The timing pass's cut-off came from the
    residual analysis above its 4 Hz floor: 4.5-5.5 Hz on these clips, letting those errors
    through; on exact centres lift-off is the same (0 ms) from 4 to 8 Hz. Fixed at 4 Hz
    (``test_lift_off_holds_against_tracker_errors_at_lift_off``: those errors on a hand-built
    pull): worst tracked MCV error 0.043 -> 0.021 m/s (clean s7 -0.043 -> -0.021, snatch s2
    +0.024 -> +0.017, s5 -0.021 -> -0.018); of the 30 tracked pulls (phone seeds 0-7, default
    snatches 0-6) 13 better, two 60 fps snatches 0.003 worse (s0 +0.018, s4 +0.016), the rest
    within 0.002; exact centres within 0.004; 0.5 px truth-track unchanged (its residual
    analysis already ends at the floor). Tried and not kept: 3.5 and 4.5 Hz (4.5: 11 of the
    14 phone pulls over 0.02 with 0.5 px truth-track noise instead of 6), a wider onset window
    (to 0.7 m/s: sd 0.016 -> 0.011 but 8 of 14 phone pulls biased over), the peak-height end
    read from the main series (exact centres back to 0.002, worse under 0.5 px noise).
    Lift-off is found walking back from the peak on the timing series to where it comes to
    rest, no longer stopped at the main series' lowest point before the rise (noise puts
    that anywhere in the rest: a 60 fps snatch's lift-off was held a frame late, MCV +0.020
    once the main series was weighted): default snatches seeds 1-7, MCV max |error| 0.016 ->
    0.008 at 60 fps, 0.004 -> 0.009 at 30 fps (errors a few ms earlier there), phone pulls
    unchanged; the real competition snatch's lift-off 0.38 s (its hand-checked track leaves
    rest between 0.33 and 0.50 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from liftflow.numeric import CubicSplineNAK, butter2_lowpass, filtfilt_odd, smoothing_spline

MAX_DT_GAP_S = 0.25  # a timestamp jump longer than this splits a segment even without LOST
MIN_SEGMENT_SAMPLES = 5  # fewer tracked frames in a row: not analysed (no derivative possible)
MIN_BUTTER_SAMPLES = 15  # fewer: Savitzky-Golay instead of filtfilt
FC_MIN_HZ = 3.0  # floor on the residual-analysis cut-off (see the evidence above)
FC_MAX_HZ = 12.0
FC_MIN_EXPLOSIVE_HZ = 6.0  # snatch/clean floor (see the evidence above)
BUTTER_ORDER = 2
DOUBLE_PASS_CORRECTION = 0.802  # Winter: (2^(1/(2n)) - 1)^(1/4) for n = 1 pass pair, order 2
VFR_TOLERANCE = 0.05
PAD_MIN_SAMPLES = 30  # odd-extension padding: short pads leave an edge transient
FC_MAX_FRACTION_OF_FS = 0.3
MOVING_ONLY = False
MOVING_FRACTION = 0.15  # intervals within 5% of the median count as a constant frame rate


@dataclass
class CutoffChoice:
    fc_hz: float
    method: str  # "residual_analysis" | "bounded" | "default"
    noise_rms: float | None = None  # in the unit of the input (pixels)
    unclamped_hz: float | None = None
    grid_hz: list[float] = field(default_factory=list)
    residuals: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "fc_hz": round(self.fc_hz, 3),
            "method": self.method,
            "noise_rms": None if self.noise_rms is None else round(float(self.noise_rms), 4),
            "unclamped_hz": None if self.unclamped_hz is None else round(float(self.unclamped_hz), 3),
        }


def split_segments(frames: np.ndarray, t: np.ndarray, max_dt_gap: float = MAX_DT_GAP_S) -> list[np.ndarray]:
    """Index arrays of runs of consecutive frames (a missing frame index or a long pause splits)."""
    n = len(frames)
    if n == 0:
        return []
    breaks = np.where((np.diff(frames) != 1) | (np.diff(t) > max_dt_gap) | (np.diff(t) <= 0))[0]
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks + 1, [n]])
    return [np.arange(s, e) for s, e in zip(starts, ends)]


def _uniform_grid(t: np.ndarray) -> tuple[np.ndarray, float, bool]:
    dts = np.diff(t)
    dt = float(np.median(dts))
    if np.all(np.abs(dts - dt) <= VFR_TOLERANCE * dt):
        return t, dt, True
    m = max(2, int(round((t[-1] - t[0]) / dt)))
    dt = (t[-1] - t[0]) / m  # grid spans exactly the segment's first to last timestamp
    grid = t[0] + np.arange(m + 1) * dt
    grid[-1] = t[-1]
    return grid, dt, False


def _resample(t_from: np.ndarray, z: np.ndarray, t_to: np.ndarray) -> np.ndarray:
    """Cubic spline through the samples (linear between the outer two points is too coarse:
    across a dropped frame of a snatch it bent the path by ~5 mm and cut the velocity peak)."""
    if len(t_from) < 4:
        return np.interp(t_to, t_from, z)
    return CubicSplineNAK(t_from, z)(np.clip(t_to, t_from[0], t_from[-1]))


def _butter_filtfilt(z: np.ndarray, fs: float, fc: float) -> np.ndarray:
    # = scipy.signal.filtfilt(*butter(2, wn), z, padtype="odd", padlen=padlen), in numpy
    # (liftflow.numeric): importing scipy.signal cost more than the whole step
    wn = min(fc / DOUBLE_PASS_CORRECTION / (fs / 2.0), 0.95)
    b, a = butter2_lowpass(wn)
    n = len(z)
    padlen = int(min(n - 1, max(PAD_MIN_SAMPLES, round(3.0 * fs / fc))))
    return filtfilt_odd(b, a, z, padlen)


def _savgol(z: np.ndarray, fs: float, fc: float) -> np.ndarray:
    n = len(z)
    w = int(round(fs / fc)) | 1
    w = max(5, min(w, n if n % 2 == 1 else n - 1))
    if w > n:
        return z.copy()
    from scipy import signal  # only runs shorter than MIN_BUTTER_SAMPLES get here

    return signal.savgol_filter(z, w, polyorder=2, mode="interp")


def lowpass(z: np.ndarray, fs: float, fc: float) -> tuple[np.ndarray, str]:
    """Filter one evenly sampled series; returns (smoothed, method name)."""
    n = len(z)
    if n >= MIN_BUTTER_SAMPLES:
        return _butter_filtfilt(z, fs, fc), "butterworth_filtfilt"
    if n >= MIN_SEGMENT_SAMPLES:
        return _savgol(z, fs, fc), "savitzky_golay"
    return z.copy(), "none"


def choose_cutoff(
    series: list[tuple[np.ndarray, np.ndarray]],
    fc_min: float | None = None,
    fc_max: float | None = None,
) -> CutoffChoice:
    """Winter's residual analysis over several (t, z) segments of one coordinate."""
    fc_min = FC_MIN_HZ if fc_min is None else fc_min
    fc_max = FC_MAX_HZ if fc_max is None else fc_max
    usable = []
    fs_all = []
    for t, z in series:
        if len(t) < MIN_BUTTER_SAMPLES:
            continue
        grid, dt, uniform = _uniform_grid(t)
        zg = z if uniform else _resample(t, z, grid)
        usable.append(zg)
        fs_all.append(1.0 / dt)
    if not usable:
        return CutoffChoice(fc_hz=min(6.0, fc_max), method="default")
    fs = float(np.min(fs_all))
    top = min(0.45 * fs, 2.0 * fc_max)
    grid_f = np.arange(0.5, top + 1e-9, 0.25)
    if len(grid_f) < 8:
        return CutoffChoice(fc_hz=float(np.clip(0.3 * fs, 1.0, fc_max)), method="default")
    masks = [np.ones(len(z), bool) for z in usable]
    total = sum(int(m.sum()) for m in masks)
    res = []
    for f in grid_f:
        sse = 0.0
        for zg, fsi, m in zip(usable, fs_all, masks):
            sse += float(np.sum(((zg - _butter_filtfilt(zg, fsi, f)) ** 2)[m]))
        res.append(np.sqrt(sse / total))
    res = np.asarray(res)
    tail = grid_f >= grid_f[0] + 0.6 * (grid_f[-1] - grid_f[0])
    slope, intercept = np.polyfit(grid_f[tail], res[tail], 1)
    intercept = max(float(intercept), 0.0)
    below = np.where(res <= intercept)[0]
    raw_fc = float(grid_f[below[0]]) if len(below) else float(grid_f[-1])
    hi = min(fc_max, FC_MAX_FRACTION_OF_FS * fs)
    fc = float(np.clip(raw_fc, min(fc_min, hi), hi))
    return CutoffChoice(
        fc_hz=fc,
        method="residual_analysis" if fc == raw_fc else "bounded",
        noise_rms=intercept,
        unclamped_hz=raw_fc,
        grid_hz=[float(f) for f in grid_f],
        residuals=[float(r) for r in res],
    )


def position_weights(sd_px: np.ndarray) -> np.ndarray | None:
    """Weights of a segment's positions from their 1-sigma uncertainties (px, NaN where a
    frame has none): 1 / (sd^2 + median sd^2), normalised to mean 1; None where no frame
    has one (every position then counts the same: the Butterworth path).

    The median term is a floor: a rim fit's own residual says which frames are worse than
    the others, not how good the best ones are (compression and blur errors correlated
    over the rim do not show in it), so no frame weighs more than twice the typical one."""
    sd = np.asarray(sd_px, float)
    ok = np.isfinite(sd) & (sd >= 0)
    if not ok.any():
        return None
    s2 = np.where(ok, sd, np.median(sd[ok])) ** 2
    floor = float(np.median(s2))
    if not floor > 0:
        return None
    w = 1.0 / (s2 + floor)
    return w / float(np.mean(w))


def _weighted_spline(t: np.ndarray, z: np.ndarray, dt: float, fc: float, w: np.ndarray):
    """Position and velocity from the weighted cubic smoothing spline whose response on
    evenly weighted samples is the filtfilt's: H(f) = 1 / (1 + (f / f_d)^4), f_d = f_c / 0.802
    (-3 dB at f_c), i.e. lam = 1 / (dt (2 pi f_d)^4)."""
    wd = 2.0 * np.pi * fc / DOUBLE_PASS_CORRECTION
    return smoothing_spline(t, z, w, 1.0 / (dt * wd ** 4))


def smooth_segment(t: np.ndarray, z: np.ndarray, fc: float,
                   weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, bool]:
    """Smoothed position, velocity, acceleration of one segment, at the original timestamps.

    ``weights`` (``position_weights``; constant frame rate, at least ``MIN_BUTTER_SAMPLES``
    samples): the weighted smoothing spline of the same cut-off instead of the filtfilt, so
    that a frame whose tracked position is less certain pulls the path less.

    Returns (pos, vel, acc, method, resampled).
    """
    t = np.asarray(t, float)
    z = np.asarray(z, float)
    grid, dt, uniform = _uniform_grid(t)
    if weights is not None and uniform and len(z) >= MIN_BUTTER_SAMPLES:
        zs, v = _weighted_spline(t, z, dt, fc, np.asarray(weights, float))
        a = CubicSplineNAK(t, v)(t, 1)
        return zs, v, a, "weighted_smoothing_spline", False
    zg = z if uniform else _resample(t, z, grid)
    fs = 1.0 / dt
    zs, method = lowpass(zg, fs, fc)
    if len(zs) >= 4:
        v, a = spline_derivatives(grid, zs)
    elif len(zs) >= 3:
        v = np.gradient(zs, dt, edge_order=2)
        a = np.gradient(v, dt, edge_order=2)
    else:
        v = np.zeros_like(zs)
        a = np.zeros_like(zs)
    if not uniform:
        zs, v, a = (_resample(grid, s, t) for s in (zs, v, a))
    return zs, v, a, method, not uniform


def spline_derivatives(t: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Velocity and acceleration of smoothed positions: derivative of a cubic spline through
    them, then of a cubic spline through that velocity.

    Why not central differences: their gain at frequency f is sin(2πf·dt)/(2πf·dt); at 30 fps
    a 3 Hz component loses 6.5% and a 6 Hz one 24% (measured: a snatch's velocity peak came
    out 0.05-0.08 m/s low). The spline derivative keeps 99.9% at 3 Hz and 98% at 6 Hz.
    """
    if len(t) < 4:  # scipy's special cases for 2 and 3 points (a line, a parabola)
        from scipy.interpolate import CubicSpline
    else:  # the same spline without importing scipy.interpolate (~0.3 s)
        CubicSpline = CubicSplineNAK
    v = CubicSpline(t, z)(t, 1)
    a = CubicSpline(t, v)(t, 1)
    return v, a


def raw_derivatives(t: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unsmoothed velocity and acceleration: central differences on the real timestamps."""
    t = np.asarray(t, float)
    z = np.asarray(z, float)
    if len(t) < 3:
        return np.zeros_like(z), np.zeros_like(z)
    v = np.gradient(z, t, edge_order=2)
    a = np.gradient(v, t, edge_order=2)
    return v, a


def refine_peak(t: np.ndarray, v: np.ndarray, i: int, lo: int = 0, hi: int | None = None) -> float:
    """Peak value of a smoothed series between samples: vertex of the parabola through
    samples i-1, i, i+1 (same segment: ``lo <= i-1``, ``i+1 <= hi``), never below v[i].

    At 30 fps a velocity peak followed by near free fall (-g) loses up to g/(2·fps) ≈ 0.16 m/s
    when read at the nearest frame; the filtered curve is smooth at the frame scale, so the
    parabola recovers the continuous maximum.
    """
    hi = len(v) - 1 if hi is None else hi
    if i - 1 < lo or i + 1 > hi:
        return float(v[i])
    tt = t[i - 1:i + 2] - t[i]
    c2, c1, c0 = np.polyfit(tt, v[i - 1:i + 2], 2)
    if c2 >= 0:
        return float(v[i])
    tv = -c1 / (2 * c2)
    if not (tt[0] <= tv <= tt[2]):
        return float(v[i])
    return float(max(v[i], c0 - c1 * c1 / (4 * c2)))
