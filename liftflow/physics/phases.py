"""Snatch and clean phases and bar-path figures, from the bar path (refined by pose events).

Phase boundaries of the first repetition (``reps[0]``), bar path only:

- first pull: lift-off (rep concentric start) → first local maximum of ``vy`` before the
  peak vertical velocity (the knees finish their first extension and the bar stops
  accelerating). When ``vy`` rises without a dip, the end of the first pull is the local
  minimum of the bar's vertical acceleration between 0.15 s after lift-off (and a bar height
  of at least ``KNEE_MIN_HEIGHT_M``) and the second pull's acceleration peak.
- transition (double knee bend): end of the first pull → the following local minimum of
  ``vy`` (no dip: the first time ``ay`` climbs back half-way to its second-pull maximum).
- second pull: end of the transition → peak vertical velocity.
- turnover: peak vertical velocity → peak bar height (``vy`` crosses zero; the lifter
  pulls under a bar that still rises).
- catch: peak bar height → lowest point of the bar before it rises again (the bar is
  received and ridden down into the squat).
- recovery: lowest catch point → the lifter stands: the next downward zero crossing of
  ``vy`` after the bar rose at least 5 cm, else the end of the analysed rep window.

Pose events (any subset, seconds on the video clock) replace the bar estimates where they
fall inside the plausible window: ``knee_extension_max_s`` (end of first pull),
``knee_flexion_max_s`` / ``knee_rebend_max_s`` (end of transition),
``hip_extension_max_s`` (end of second pull), ``catch_s`` (end of catch),
``recovery_end_s``. ``facing`` ("left"/"right": where the lifter faces in the image) fixes
the toward-the-lifter direction.
"""

from __future__ import annotations

import numpy as np

from liftflow.physics.params import PhysicsParams

KNEE_MIN_HEIGHT_M = 0.35  # the first pull ends at the knees: never with the bar lower than this
PHASE_NAMES = ("first_pull", "transition", "second_pull", "turnover", "catch", "recovery")


def _idx(t: np.ndarray, ts: float) -> int:
    return int(np.clip(np.searchsorted(t, ts), 0, len(t) - 1))


def detect_phases(sm: dict, segs, reps: list[dict], params: PhysicsParams, pose_events: dict | None):
    warnings: list[str] = []
    if not reps:
        warnings.append("no lift found in the bar path: phases cannot be split")
        return None, warnings
    t = np.asarray(sm["time_s"], float)
    y = np.asarray(sm["y_m"], float)
    vy = np.asarray(sm["vy_m_s"], float)
    ay = np.asarray(sm["accel_m_s2"], float)
    rep = reps[0]
    t0, t_top = rep["concentric_start_s"], rep["concentric_end_s"]
    i0, i_top = _idx(t, t0), _idx(t, t_top)
    if i_top - i0 < 4:
        warnings.append("the pull is too short in the tracked frames to split into phases")
        return None, warnings
    i_vpk = i0 + int(np.argmax(vy[i0:i_top + 1]))
    method = {}
    # first pull end / transition end from vy peaks and dips before the peak velocity
    i_fp, i_tr = None, None
    if i_vpk - i0 >= 4:
        seg_v = vy[i0:i_vpk + 1]
        from scipy import signal  # snatch/clean phases only

        pk, _ = signal.find_peaks(seg_v, prominence=0.02)
        if len(pk):
            i_fp = i0 + int(pk[-1]) if len(pk) == 1 else i0 + int(pk[np.argmax(seg_v[pk])])
            dip = i_fp + int(np.argmin(vy[i_fp:i_vpk + 1]))
            if i_fp < dip < i_vpk:
                i_tr = dip
                method["first_pull_end"] = "vy_local_maximum"
                method["transition_end"] = "vy_local_minimum"
            else:
                i_fp = None
        if i_fp is None:
            # no vy dip: the transition is the lull in acceleration before the second pull's
            # acceleration peak (the ay decline just before peak velocity is not it)
            i_amax = i0 + int(np.argmax(ay[i0:i_vpk + 1]))
            lo = int(np.searchsorted(t, t[i0] + 0.15))
            # and not below knee height (bar centre >= KNEE_MIN_HEIGHT_M above the floor)
            h = np.asarray(sm["height_m"], float)
            above = np.where(h[lo:i_amax] >= KNEE_MIN_HEIGHT_M)[0]
            if len(above):
                lo = lo + int(above[0])
            hi = i_amax - 1
            if hi > lo:
                i_fp = lo + int(np.argmin(ay[lo:hi + 1]))
                a_max = float(ay[i_amax])
                half = 0.5 * (ay[i_fp] + a_max)
                up = np.where(ay[i_fp + 1:i_amax + 1] >= half)[0]
                i_tr = i_fp + 1 + int(up[0]) if len(up) else i_amax
                method["first_pull_end"] = "ay_minimum_before_second_pull_peak_acceleration"
                method["transition_end"] = "ay_half_way_back_up"
    if i_fp is None:
        i_fp = i_tr = i0 + (i_vpk - i0) // 2
        method["first_pull_end"] = method["transition_end"] = "midpoint_fallback"
        warnings.append("the pull is too short to locate the transition; first pull / transition "
                        "split at mid-way to peak velocity")
    # catch: lowest point after the peak height before the bar rises again
    n = len(t)
    seg_end = next((int(s[-1]) for s in segs if s[0] <= i_top <= s[-1]), n - 1)
    i_catch = i_top
    for i in range(i_top, seg_end):
        if vy[i] <= 0 < vy[i + 1]:
            i_catch = i + 1 if y[i + 1] < y[i] else i
            break
    else:
        i_catch = i_top + int(np.argmin(y[i_top:seg_end + 1]))
    method["catch_end"] = "lowest_point_after_peak_height"
    if i_catch >= seg_end:
        method["catch_end"] = "end_of_tracked_run (bottom of the catch not observed)"
        warnings.append("the bar is still going down in the last tracked frame of the lift: the catch "
                        "and the recovery are not complete")
    i_rec = None
    for i in range(i_catch, seg_end):
        if y[i] - y[i_catch] >= 0.05 and vy[i] > 0 >= vy[i + 1]:
            i_rec = i + 1
            break
    if i_rec is None:
        i_rec = seg_end
        method["recovery_end"] = "end_of_tracked_run (standing not observed)"
        warnings.append("the recovery is not complete in the tracked frames: its end is the last "
                        "tracked frame of the lift")
    else:
        method["recovery_end"] = "standing_vy_zero"
    bounds = {
        "lift_off": float(t0), "first_pull_end": float(t[i_fp]), "transition_end": float(t[i_tr]),
        "second_pull_end": float(t[i_vpk]), "peak_height": float(t_top),
        "catch_end": float(t[i_catch]), "recovery_end": float(t[i_rec]),
    }
    method["second_pull_end"] = "peak_vertical_velocity"
    used_pose = []
    if pose_events:
        refine = (("knee_extension_max_s", "first_pull_end", "lift_off", "second_pull_end"),
                  ("knee_flexion_max_s", "transition_end", "first_pull_end", "peak_height"),
                  ("knee_rebend_max_s", "transition_end", "first_pull_end", "peak_height"),
                  ("hip_extension_max_s", "second_pull_end", "transition_end", "peak_height"),
                  ("catch_s", "catch_end", "peak_height", "recovery_end"),
                  ("recovery_end_s", "recovery_end", "catch_end", None))
        for key, name, lo_name, hi_name in refine:
            v = pose_events.get(key)
            if v is None:
                continue
            lo = bounds[lo_name]
            hi = bounds[hi_name] if hi_name else float(t[-1])
            if lo <= float(v) <= hi:
                bounds[name] = float(v)
                method[name] = f"pose:{key}"
                used_pose.append(key)
            else:
                warnings.append(f"pose event {key}={float(v):.3f} s is outside the bar-path window "
                                f"[{lo:.3f}, {hi:.3f}] s and was ignored")
    order = ["lift_off", "first_pull_end", "transition_end", "second_pull_end", "peak_height",
             "catch_end", "recovery_end"]
    phases = {"rep": rep["rep"], "method": "bar_path+pose" if used_pose else "bar_path",
              "pose_events_used": used_pose}
    for k, name in enumerate(PHASE_NAMES):
        s, e = bounds[order[k]], bounds[order[k + 1]]
        phases[name] = {"start_s": round(s, 4), "end_s": round(e, 4),
                        "duration_s": round(e - s, 4), "end_method": method.get(order[k + 1])}
    phases["boundaries_s"] = {k: round(v, 4) for k, v in bounds.items()}
    return phases, warnings


def bar_path_figures(sm: dict, phases: dict | None, pose_events: dict | None) -> dict | None:
    """Horizontal displacements toward/away from the lifter, loop, peak height, drop under the bar.

    u = horizontal displacement with + toward the lifter. Direction: from ``pose_events['facing']``
    when given, else inferred from the first pull (the bar moves toward the lifter as it leaves
    the floor), else from the catch (bars are caught behind their start).
    """
    if not phases:
        return None
    t = np.asarray(sm["time_s"], float)
    x = np.asarray(sm["x_m"], float)
    h = np.asarray(sm["height_m"], float)
    b = phases["boundaries_s"]
    i0, i_fp, i_tr = _idx(t, b["lift_off"]), _idx(t, b["first_pull_end"]), _idx(t, b["transition_end"])
    i_top, i_catch = _idx(t, b["peak_height"]), _idx(t, b["catch_end"])
    facing = (pose_events or {}).get("facing")
    if facing in ("left", "right"):
        sign = 1.0 if facing == "left" else -1.0  # lifter faces left: +x is toward the lifter
        source = "pose:facing"
    else:
        dx1 = x[i_fp] - x[i0]
        dxc = x[i_catch] - x[i0]
        if abs(dx1) >= 0.005:
            sign, source = float(np.sign(dx1)), "inferred: bar moves toward the lifter in the first pull"
        elif abs(dxc) >= 0.005:
            sign, source = float(np.sign(dxc)), "inferred: bar caught behind its start"
        else:
            sign, source = 1.0, "unknown (no horizontal movement): +x assumed toward the lifter"
    u = sign * (x - x[i0])

    def pull(a: int, c: int) -> dict:
        w = u[a:c + 1]
        return {"toward_lifter_m": round(float(np.max(w) - w[0]), 4),
                "away_from_lifter_m": round(float(w[0] - np.min(w)), 4),
                "net_toward_lifter_m": round(float(w[-1] - w[0]), 4)}

    i_rear = i0 + int(np.argmax(u[i0:i_top + 1] if i_top > i0 else u[i0:i0 + 1]))
    i_fwd = i_rear + int(np.argmin(u[i_rear:i_top + 1])) if i_top >= i_rear else i_rear
    peak_h = float(np.max(h[i0:i_catch + 1])) if i_catch >= i0 else float(h[i_top])
    catch_h = float(h[i_catch])
    return {
        "toward_lifter": "+x" if sign > 0 else "-x",
        "direction_source": source,
        "first_pull": pull(i0, i_fp),
        "second_pull": pull(i_tr, i_top),
        "x_toward_lifter_to_rearmost_m": round(float(u[i_rear]), 4),
        "x_away_rearmost_to_forwardmost_m": round(float(u[i_rear] - u[i_fwd]), 4),
        "loop_toward_lifter_m": round(float(u[i_catch] - u[i_fwd]), 4),
        "catch_x_toward_lifter_m": round(float(u[i_catch]), 4),
        "peak_height_m": round(peak_h, 4),
        "peak_height_s": round(float(t[i0 + int(np.argmax(h[i0:i_catch + 1]))]), 4),
        "catch_height_m": round(catch_h, 4),
        "drop_under_bar_m": round(peak_h - catch_h, 4),
    }
