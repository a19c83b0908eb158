"""compute_metrics: tracked plate observations + timestamps -> calibrated bar physics.

Conventions (also returned in ``definitions``):
- SI units; x to the right of the image, y up (image y is inverted).
- ``x_m``, ``y_m``: plate-centre displacement from its raw position in the first analysed frame.
- ``height_m``: height of the plate centre. For lifts that start with the plates on the
  platform (snatch, clean, clean_and_jerk, deadlift) the lowest smoothed point is taken as
  "plate resting on the floor", so height = y - y_min + D/2 (centre above the floor). For
  other lifts (or unknown) height is above the lowest tracked point.
- Series hold one entry per analysed frame: tracked, not rejected as an outlier, and in a
  run of at least ``MIN_SEGMENT_SAMPLES`` consecutive tracked frames. Lost frames are absent;
  no value is interpolated and no derivative spans a gap.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

import liftflow.physics.filtering as flt
import liftflow.physics.uncertainty as unc
from liftflow.physics.calibration import Calibration, calibrate
from liftflow.numeric import round_list
from liftflow.physics.params import CONCENTRIC_FIRST, MOVING_SPEED_M_S, OLYMPIC, PhysicsParams

CONTRACT_METRIC_KEYS = (
    "frames", "time_s", "x_m", "y_m", "height_m", "vx_m_s", "vy_m_s", "speed_m_s",
    "accel_m_s2", "kinetic_energy_j", "potential_energy_j", "total_energy_j", "power_w",
)
OUTLIER_WINDOW = 5  # running median window (frames) for the jump detector
OUTLIER_MIN_FRACTION_OF_RADIUS = 0.3  # a jump smaller than this is never called an outlier
EXPLOSIVE_VY_M_S = 1.4  # unknown lift faster than this upward: filtered as a snatch/clean
# positions weighted by the tracker's per-frame centre uncertainty where it gives one
# (filtering.position_weights; the main pass only: the timing pass stays evenly weighted)
WEIGHTED_SMOOTHING = True
TIMING_PASS = True  # explosive lifts: rep boundaries from a second pass at TIMING_FC_HZ
# The timing pass's cut-off, fixed (filtering.py's evidence): on the synthetic pulls 3 Hz smeared
# lift-off 10-25 ms early and 4 Hz halved the MCV error; the residual analysis raised it to 4.5-5.5 Hz
# on the 30 fps phone pulls (their tracker errors at lift-off look like motion to it), which moved
# lift-off by up to 60 ms; on exact centres lift-off is the same from 4 to 8 Hz.
TIMING_FC_HZ = 4.0


def _round_list(a: np.ndarray, k: int) -> list:
    """``[round(float(v), k) if finite else None]``, per array (``numeric.round_list``)."""
    return round_list(a, k)


def _reject_outliers(frames, t, cx, cy, r_med) -> tuple[np.ndarray, int]:
    """Keep-mask: frames whose centre jumps away from the running median (tracker glitch)."""
    keep = np.ones(len(frames), bool)
    segs = flt.split_segments(frames, t)
    h = OUTLIER_WINDOW // 2
    for seg in segs:
        if len(seg) < OUTLIER_WINDOW:
            continue
        for arr in (cx, cy):
            z = arr[seg]
            pad = np.concatenate([np.full(h, z[0]), z, np.full(h, z[-1])])
            med = np.median(np.lib.stride_tricks.sliding_window_view(pad, OUTLIER_WINDOW), axis=1)
            dev = np.abs(z - med)
            mad = 1.4826 * np.median(dev) if len(dev) else 0.0
            thr = max(6.0 * mad, OUTLIER_MIN_FRACTION_OF_RADIUS * r_med)
            keep[seg[dev > thr]] = False
    return keep, int((~keep).sum())


def _series(t, X, Y, vx, vy, ax, ay, mass, g, height_offset) -> dict:
    height = Y + height_offset
    speed = np.hypot(vx, vy)
    ke = 0.5 * mass * speed**2
    pe = mass * g * height
    # Force the lifter applies to the bar: F = m (a - g_vec), g_vec = (0, -g); power = F . v
    power = mass * (ax * vx + (ay + g) * vy)
    return {
        "time_s": t, "x_m": X, "y_m": Y, "height_m": height, "vx_m_s": vx, "vy_m_s": vy,
        "speed_m_s": speed, "accel_m_s2": ay, "ax_m_s2": ax, "kinetic_energy_j": ke,
        "potential_energy_j": pe, "total_energy_j": ke + pe, "power_w": power,
    }


def _to_contract(frames: np.ndarray, s: dict) -> dict:
    out = {"frames": [int(f) for f in frames]}
    digits = {"time_s": 6, "x_m": 5, "y_m": 5, "height_m": 5, "vx_m_s": 4, "vy_m_s": 4,
              "speed_m_s": 4, "accel_m_s2": 3, "kinetic_energy_j": 3, "potential_energy_j": 3,
              "total_energy_j": 3, "power_w": 2}
    for k in CONTRACT_METRIC_KEYS[1:]:
        out[k] = _round_list(s[k], digits[k])
    return out


def _peak_in_window(t: np.ndarray, v: np.ndarray, w: np.ndarray, segs: list[np.ndarray]) -> float:
    """Max of v over the window mask, refined between samples (``filtering.refine_peak``)."""
    if not w.any():
        return 0.0
    idx = np.where(w)[0]
    i = int(idx[np.argmax(v[idx])])
    seg = next(s for s in segs if s[0] <= i <= s[-1])
    return flt.refine_peak(t, v, i, int(seg[0]), int(seg[-1]))


def video_duration(timestamps_s: list[float], duration_s: Optional[float] = None) -> Optional[float]:
    """The video's duration (``summary.lift_duration_s``, the original server's meaning),
    rounded like the other summary durations (4 digits): ``duration_s`` when given (the
    decoder's ``VideoInfo.duration_s``), else from the per-frame timestamps as the decoder
    computes it (last minus first timestamp plus the mean frame interval); None when
    neither says (fewer than two timestamps)."""
    if duration_s is not None and math.isfinite(float(duration_s)):
        return round(float(duration_s), 4)
    ts = np.asarray([float(v) for v in timestamps_s or []], float)
    ts = ts[np.isfinite(ts)]
    if len(ts) < 2:
        return None
    return round(float(ts[-1] - ts[0] + np.mean(np.diff(ts))), 4)


def _abs_peak(v: np.ndarray) -> float:
    """max |v| over its finite values (0.0 when there are none)."""
    a = np.abs(v[np.isfinite(v)])
    return float(np.max(a)) if a.size else 0.0


def _judged(out: dict, params: PhysicsParams, tracked_frames: int) -> dict:
    """``out`` with the job's ``lift_type``, ``load`` and ``verdict`` (and the warning of an
    assumed load)."""
    from liftflow.verdict import judge

    s = out["summary"]
    rng = s["max_height_m"] - s["min_height_m"] if s["analysed_frames"] else None
    out["lift_type"] = params.lift_type
    out["load"] = params.load()
    out["verdict"] = judge(s["total_frames"], tracked_frames, s["analysed_frames"], rng,
                           s["rep_count"]).to_dict()
    if params.load_warning():
        out["warnings"].append(params.load_warning())
    return out


def _empty_result(params: PhysicsParams, total_frames: int, warnings: list[str],
                  video_duration_s: Optional[float], tracked_frames: int) -> dict:
    from liftflow.physics.definitions import build_definitions

    empty = {k: [] for k in CONTRACT_METRIC_KEYS}
    return _judged({
        "metrics": empty,
        "metrics_raw": {k: [] for k in CONTRACT_METRIC_KEYS},
        "summary": {
            "peak_speed_m_s": 0.0, "peak_power_w": 0.0, "max_height_m": 0.0, "min_height_m": 0.0,
            "lift_duration_s": video_duration_s, "total_frames": int(total_frames), "analysed_frames": 0,
            "peak_vertical_velocity_m_s": 0.0, "rep_count": 0,
            "peak_speed_lift_m_s": 0.0, "peak_power_lift_w": 0.0, "moving_duration_s": 0.0,
            "velocity_loss_pct": None, "velocity_loss_reference_rep": None,
        },
        "reps": [],
        "phases": None,
        "bar_path": None,
        "calibration": None,
        "setup_quality": None,
        "filter": None,
        "definitions": build_definitions(None, params),
        "warnings": warnings,
        "params": params.to_dict(),
    }, params, tracked_frames)


def _tracked(observations):
    """(frame, own t_s, x, y, radius, ellipse, confidence, centre sd or None) of each tracked
    observation: from an
    ``ObservationTable``'s columns without building its DiscObservations, else from the
    DiscObservations (or their dicts, when they travelled as JSON)."""
    from liftflow.tracking.base import DiscObservation
    from liftflow.tracking.table import ObservationTable

    if isinstance(observations, ObservationTable):
        tab = observations
        for i in np.flatnonzero(tab.tracked_mask()).tolist():
            x, y = tab.center[i].tolist()
            yield (int(tab.frame[i]), float(tab.t_s[i]), x, y,
                   float(tab.radius[i]) if tab.has_radius[i] else None,
                   tuple(tab.ellipse[i].tolist()) if tab.has_ellipse[i] else None,
                   float(tab.confidence[i]), tab.center_sd_at(i))
        return
    for o in observations:
        if isinstance(o, dict):
            o = DiscObservation.from_dict(o)
        if getattr(o, "tracked", False):
            yield (int(o.frame), float(o.t_s), float(o.center[0]), float(o.center[1]),
                   o.radius, o.ellipse, float(getattr(o, "confidence", 1.0)),
                   getattr(o, "center_sd_px", None))


def compute_metrics(
    observations: list,
    timestamps_s: list[float],
    params: Optional[PhysicsParams] = None,
    pose_events: Optional[dict] = None,
    video_duration_s: Optional[float] = None,
) -> dict:
    """Calibrated, filtered bar kinematics, energy, power, reps, phases and definitions.

    ``observations``: DiscObservation per frame (lost ones are skipped). ``timestamps_s``:
    the video's per-frame presentation times (``VideoInfo.timestamps_s``); an observation's
    own ``t_s`` is used only where the list does not cover its frame. ``pose_events``
    (optional, seconds on the video clock): ``knee_extension_max_s``, ``knee_flexion_max_s``
    (or ``knee_rebend_max_s``), ``hip_extension_max_s``, ``catch_s``, ``recovery_end_s`` refine
    the snatch/clean phase boundaries; ``facing`` ("left"/"right") fixes the toward-the-lifter
    direction of the bar-path figures. ``video_duration_s``: the video's duration
    (``VideoInfo.duration_s``), reported as ``summary.lift_duration_s``; without it the
    duration comes from ``timestamps_s`` (``video_duration``). Raises ValueError only when
    no tracked frame carries a plate radius and no ``params.m_per_px`` is given (no scale).
    """
    from liftflow.physics.definitions import build_definitions
    from liftflow.physics.reps import detect_reps, lift_window, velocity_loss
    from liftflow.physics.phases import bar_path_figures, detect_phases

    params = params or PhysicsParams()
    warnings: list[str] = []
    ts = list(timestamps_s or [])
    total_frames = len(ts) if ts else len(observations)
    duration = video_duration(ts, video_duration_s)

    rows = []
    for f, t_own, x, y, r, e, c, sd in _tracked(observations):
        t = float(ts[f]) if 0 <= f < len(ts) else t_own
        if math.isfinite(t) and math.isfinite(x) and math.isfinite(y):
            rows.append((f, t, x, y, r, e, c, sd))
    rows.sort(key=lambda r: r[0])
    # one observation per frame (first wins)
    dedup, seen = [], set()
    for r in rows:
        if r[0] not in seen:
            seen.add(r[0])
            dedup.append(r)
    rows = dedup
    tracked_frames = len(rows)
    if len(rows) < flt.MIN_SEGMENT_SAMPLES:
        warnings.append(
            f"only {len(rows)} tracked frame(s): at least {flt.MIN_SEGMENT_SAMPLES} consecutive "
            "tracked frames are needed to compute any velocity"
        )
        return _empty_result(params, total_frames, warnings, duration, tracked_frames)

    frames = np.array([r[0] for r in rows], int)
    t = np.array([r[1] for r in rows], float)
    cx = np.array([r[2] for r in rows], float)
    cy = np.array([r[3] for r in rows], float)
    rad = np.array([np.nan if r[4] is None else float(r[4]) for r in rows], float)
    ell = [r[5] for r in rows]
    conf = np.array([r[6] if math.isfinite(r[6]) else 1.0 for r in rows], float)
    pos_sd = np.array([np.nan if r[7] is None else float(r[7]) for r in rows], float)

    r_med = float(np.nanmedian(rad)) if np.isfinite(rad).any() else 20.0
    keep, n_out = _reject_outliers(frames, t, cx, cy, r_med)
    if n_out:
        warnings.append(
            f"{n_out} tracked frame(s) jumped away from their neighbours by more than "
            f"{OUTLIER_MIN_FRACTION_OF_RADIUS:.0%} of the plate radius (tracker glitch) and were "
            "treated as lost"
        )
    segs = flt.split_segments(frames[keep], t[keep])
    idx_keep = np.where(keep)[0]
    short = [s for s in segs if len(s) < flt.MIN_SEGMENT_SAMPLES]
    segs = [idx_keep[s] for s in segs if len(s) >= flt.MIN_SEGMENT_SAMPLES]
    if short:
        warnings.append(
            f"{sum(len(s) for s in short)} tracked frame(s) in {len(short)} run(s) shorter than "
            f"{flt.MIN_SEGMENT_SAMPLES} frames between lost frames were not analysed"
        )
    if not segs:
        warnings.append("no run of consecutive tracked frames is long enough to analyse")
        return _empty_result(params, total_frames, warnings, duration, tracked_frames)
    use = np.concatenate(segs)
    # re-index onto the analysed frames
    frames, t, cx, cy, rad, conf = frames[use], t[use], cx[use], cy[use], rad[use], conf[use]
    pos_sd = pos_sd[use]
    ell = [ell[i] for i in use]
    bounds = np.cumsum([0] + [len(s) for s in segs])
    segs = [np.arange(bounds[i], bounds[i + 1]) for i in range(len(segs))]
    n_lost = total_frames - len(frames)
    gap_lengths = [float(t[s2[0]] - t[s1[-1]]) for s1, s2 in zip(segs[:-1], segs[1:])]
    if gap_lengths and max(gap_lengths) > 0.5:
        warnings.append(
            f"the plate was lost for up to {max(gap_lengths):.2f} s: nothing is reported inside "
            "the gap(s); a repetition hidden in a gap cannot be counted"
        )

    calib: Calibration = calibrate(t, cx, cy, rad, ell, segs, params.plate_diameter_m, params.m_per_px)
    warnings.extend(calib.warnings)

    # Filter choice on pixel positions (noise is a pixel property), per coordinate.
    # Explosive lifts (snatch, clean: a ~0.1 s velocity peak followed by near free flight)
    # need a higher floor on the cut-off than squats: measured on the synthetic pulls, a 3 Hz
    # floor flattened the peak vertical velocity by 0.05-0.1 m/s, 6 Hz by < 0.03 m/s, while on
    # squats 6 Hz doubled the rep timing noise. Unknown lifts are called explosive when the
    # first (3 Hz floor) pass already shows a vertical velocity above EXPLOSIVE_VY_M_S.
    n = len(t)

    def smooth(fc_min: float, fc_fixed: Optional[float] = None):
        if fc_fixed is None:
            fcx = flt.choose_cutoff([(t[s], cx[s]) for s in segs], fc_min=fc_min)
            fcy = flt.choose_cutoff([(t[s], cy[s]) for s in segs], fc_min=fc_min)
        else:
            fcx = fcy = flt.CutoffChoice(fc_hz=fc_fixed, method="fixed")
        out = {k: np.zeros(n) for k in ("xs", "ys", "vxs", "vys", "axs", "ays")}
        methods, rs = [], False
        for s in segs:
            # (the timing pass reads lift-off where the bar barely moves: weighted there, the
            # phone cleans' lift-off moved and clean s7's MCV error grew from 0.021 to 0.029)
            w = flt.position_weights(pos_sd[s]) if WEIGHTED_SMOOTHING and fc_fixed is None else None
            px, pvx, pax, _m1, rs1 = flt.smooth_segment(t[s], cx[s], fcx.fc_hz, w)
            py, pvy, pay, m2, rs2 = flt.smooth_segment(t[s], cy[s], fcy.fc_hz, w)
            out["xs"][s], out["vxs"][s], out["axs"][s] = px, pvx, pax
            out["ys"][s], out["vys"][s], out["ays"][s] = py, pvy, pay
            methods.append(m2)
            rs = rs or rs1 or rs2
        return fcx, fcy, out, methods, rs

    explosive = params.lift_type in OLYMPIC
    fc_floor = flt.FC_MIN_EXPLOSIVE_HZ if explosive else flt.FC_MIN_HZ
    fc_x, fc_y, sm_px, seg_methods, resampled = smooth(fc_floor)
    if params.lift_type is None and float(np.max(-sm_px["vys"] * calib.m_per_px)) >= EXPLOSIVE_VY_M_S:
        explosive = True
        fc_floor = flt.FC_MIN_EXPLOSIVE_HZ
        fc_x, fc_y, sm_px, seg_methods, resampled = smooth(fc_floor)
    xs, ys, vxs, vys, axs, ays = (sm_px[k] for k in ("xs", "ys", "vxs", "vys", "axs", "ays"))
    # Rep and phase boundaries are read where the bar is nearly at rest, where noise rules:
    # for explosive lifts they come from a second pass at a fixed low cut-off (TIMING_FC_HZ).
    fc_timing = fc_y.fc_hz
    vys_timing = vys
    if explosive and TIMING_PASS:
        _tx, tim_y, tim, _tm, _tr = smooth(TIMING_FC_HZ, fc_fixed=TIMING_FC_HZ)
        vys_timing, fc_timing = tim["vys"], tim_y.fc_hz
    vxr, vyr, axr, ayr = (np.zeros(n) for _ in range(4))
    for s in segs:
        vxr[s], axr[s] = flt.raw_derivatives(t[s], cx[s])
        vyr[s], ayr[s] = flt.raw_derivatives(t[s], cy[s])

    kx, ky = calib.m_per_px_x, calib.m_per_px
    x0, y0 = cx[0], cy[0]
    mass, g = params.total_mass_kg, params.g_m_s2
    X, Y = (xs - x0) * kx, -(ys - y0) * ky
    Xr, Yr = (cx - x0) * kx, -(cy - y0) * ky
    y_low = float(np.min(Y))
    plate_r = params.plate_diameter_m / 2.0
    floor_based = params.lift_type in CONCENTRIC_FIRST
    h_off = -y_low + (plate_r if floor_based else 0.0)
    sm = _series(t, X, Y, vxs * kx, -vys * ky, axs * kx, -ays * ky, mass, g, h_off)
    sm["vy_timing_m_s"] = -vys_timing * ky
    raw = _series(t, Xr, Yr, vxr * kx, -vyr * ky, axr * kx, -ayr * ky, mass, g, h_off)

    # Reps, the lift window (drops excluded), phases, bar-path figures.
    rep_info = detect_reps(sm, segs, params)
    warnings.extend(rep_info["warnings"])
    reps = rep_info["reps"]
    set_loss = velocity_loss(reps)
    # the ± on each rep's figures and the verdict on the filming setup (uncertainty.py)
    scale_rel, scale_parts = unc.scale_rel_sd(calib)
    ctx = unc.TrackContext(t=t, y_px=cy, ys_px=ys, vy_m_s=sm["vy_m_s"], conf=conf, segs=segs,
                           fc_y=fc_y.fc_hz, fc_timing=fc_timing, m_per_px=ky,
                           radius_px=calib.radius_px_median or r_med, scale_rel=scale_rel)
    for r in reps:
        r["uncertainty"] = unc.rep_uncertainty(r, ctx)
    setup = unc.setup_quality(calib, t, cx, cy, rad, sm["speed_m_s"], segs, explosive, reps,
                              noise_px=unc.track_noise_px(ctx))
    setup["scale_rel_sd"] = {k: round(v, 4) for k, v in {"total": scale_rel, **scale_parts}.items()}
    window = lift_window(sm, rep_info)
    phases, bar_path = None, None
    if params.lift_type in OLYMPIC:
        phases, pw = detect_phases(sm, segs, reps, params, pose_events)
        warnings.extend(pw)
        bar_path = bar_path_figures(sm, phases, pose_events)
    elif pose_events:
        warnings.append("pose events were given but phases are only split for snatch and clean")

    w = window
    spd, vy, pw_ = sm["speed_m_s"], sm["vy_m_s"], sm["power_w"]
    moving = np.where(w & (spd > MOVING_SPEED_M_S))[0]
    moving_duration = float(t[moving[-1]] - t[moving[0]]) if len(moving) else 0.0
    all_frames = np.ones(n, bool)
    max_speed_all = round(_peak_in_window(t, spd, all_frames, segs), 4)
    summary = {
        # the v2.0.0 keys keep the original server's meaning: every analysed frame, the video
        # (ResultsContract: new figures get new keys, an old key's meaning never changes)
        "peak_speed_m_s": max_speed_all,
        "peak_power_w": round(_abs_peak(pw_), 2),
        "max_height_m": round(float(np.max(sm["height_m"])), 5),
        "min_height_m": round(float(np.min(sm["height_m"])), 5),
        "lift_duration_s": duration,
        "total_frames": int(total_frames),
        # the same figures over the lift only (a dropped bar's fall and bounces excluded)
        "peak_speed_lift_m_s": round(_peak_in_window(t, spd, w, segs), 4),
        "peak_power_lift_w": round(float(np.max(pw_[w])) if w.any() else 0.0, 2),
        "moving_duration_s": round(moving_duration, 4),
        "peak_vertical_velocity_m_s": round(_peak_in_window(t, vy, w, segs), 4),
        "rep_count": len(reps),
        "analysed_frames": int(n),
        "lost_or_rejected_frames": int(max(n_lost, 0)),
        "segments": len(segs),
        "mean_concentric_velocity_m_s": [r["mean_concentric_velocity_m_s"] for r in reps],
        "peak_concentric_velocity_m_s": [r["peak_concentric_velocity_m_s"] for r in reps],
        "max_speed_all_frames_m_s": max_speed_all,
        "dropped_bar": rep_info.get("drops", []),
        "mass_kg": mass,
        "m_per_px": round(calib.m_per_px, 8),
        "filter_cutoff_hz": {"x": round(fc_x.fc_hz, 3), "y": round(fc_y.fc_hz, 3)},
        **set_loss,  # velocity_loss_pct, velocity_loss_reference_rep
    }
    weighted = "weighted_smoothing_spline" in seg_methods
    filt = {
        # the main pass's method: weighted where the tracker gave each frame's centre sd
        # (the timing pass, the cut-off choice and short or variable-rate runs: filtfilt)
        "name": "weighted_smoothing_spline" if weighted else "butterworth_filtfilt",
        "order": flt.BUTTER_ORDER,
        "passes": 2,
        "cutoff_x": fc_x.to_dict(),
        "cutoff_y": fc_y.to_dict(),
        "segment_methods": seg_methods,
        "resampled_variable_frame_rate": bool(resampled),
        "cutoff_floor_hz": fc_floor,
        "explosive_lift": bool(explosive),
        "position_weights": ("1 / (center_sd_px^2 + median center_sd_px^2) of the run, mean 1"
                             if weighted else None),
        "differentiation": ("derivative of the weighted smoothing spline (velocity), then of a cubic spline "
                            "through the velocity (acceleration)" if weighted else
                            "derivative of a cubic spline through the smoothed positions (velocity), then through the velocity (acceleration)"),
    }
    metrics = _to_contract(frames, sm)
    if not all(np.isfinite(v).all() for k, v in sm.items() if k != "vy_timing_m_s"):
        warnings.append("some values could not be computed (non-finite) and are reported as null")
    metrics_raw = _to_contract(frames, raw)
    return _judged({
        "metrics": metrics,
        "metrics_raw": metrics_raw,
        "summary": summary,
        "reps": reps,
        "phases": phases,
        "bar_path": bar_path,
        "calibration": calib.to_dict(),
        "setup_quality": setup,
        "filter": filt,
        "definitions": build_definitions(filt, params, floor_based=floor_based),
        "warnings": warnings,
        "params": params.to_dict(),
    }, params, tracked_frames)
