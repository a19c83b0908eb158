"""Repetitions from the smoothed vertical bar path, ignoring unracking, walk-outs and drops.

How a repetition is recognised (all on smoothed ``y`` / ``vy`` of the analysed frames):

1. Dropped bar: a descent (``vy < 0`` run, or a gap across which the bar falls) that loses
   at least ``DROP_MIN_HEIGHT_M`` and either reaches ``DROP_SPEED_M_S`` downwards or falls
   with a mean acceleration <= -``DROP_ACCEL_G`` g (near free fall: nobody lowers a bar like
   that) and, for the acceleration test, ends within ``DROP_LANDING_M`` of the lowest level
   (on the platform: a snatch or clean catch is received well above it). The drop and the
   bounces after it, until the bar rests for ``REST_S``, are excluded
   from rep counting and from the summary peaks.
2. Swings: a zig-zag (hysteresis) over ``y`` keeps only turning points separated by at least
   ``P = max(MIN_ROM_M, REL_ROM × vertical range of the lift)``. Unracking (a few cm up), a
   walk-out (horizontal) or a re-rack never move the bar that far vertically; a catch dip or a
   jerk dip is small compared with the whole lift.
3. Order: squat and bench go down first (eccentric first): a rep is top → bottom → top, with
   both the descent and the ascent >= P. Snatch, clean, clean-and-jerk and deadlift go up
   first (concentric first): a rep is a rise >= P from a low position within
   ``RETURN_LEVEL_M`` of where the first rep started (a deep catch or a jerk dip is higher,
   so standing up from it is not a rep). Unknown lift: the
   first vertical movement of more than ``MIN_ROM_M`` decides.
4. Timing (linear interpolation between frames, never across a gap):
   - concentric start: eccentric-first — the bottom, where ``vy`` crosses zero upwards;
     concentric-first — lift-off, where ``vy`` last rises through ``V_ON_M_S`` before the rise.
   - concentric end: the first downward zero crossing of ``vy`` after the concentric start
     (top of a squat, lock-out of a deadlift, peak bar height of a snatch or clean pull).
   - eccentric start: eccentric-first — where ``vy`` last falls through -``V_ON_M_S`` before the
     bottom; concentric-first — where ``vy`` first falls through -``V_ON_M_S`` after the
     concentric end (the lowering of a deadlift), null for snatch, clean and clean-and-jerk
     (no lowering of their own) and when the bar is dropped.
5. Figures per rep: mean concentric velocity = rise / duration between concentric start and
   end (the time-mean of ``vy``); peak concentric velocity = max ``vy`` in that interval;
   mean propulsive velocity = the same mean up to the first instant after peak velocity where
   the bar decelerates faster than gravity (``ay < -g``; Sanchez-Medina et al. 2010), else the
   concentric end; range of motion = rise over the concentric phase; peak power = max of the
   power series over the concentric phase.
6. Velocity loss within the set (``velocity_loss``): each rep's loss against the fastest rep's
   mean concentric velocity, and the set's from the fastest rep to the last.
"""

from __future__ import annotations

import numpy as np

from liftflow.physics.filtering import refine_peak
from liftflow.physics.params import CONCENTRIC_FIRST, OLYMPIC, PhysicsParams

MIN_ROM_M = 0.12
REL_ROM = 0.4
V_ON_M_S = 0.05
EXTRAP_MAX_S = 0.25
ONSET_FRAC = 0.6
ONSET_LO_FRAC = 0.1
ONSET_LO_MAX_M_S = 0.1
ONSET_HI_MAX_M_S = 0.45  # a snatch's first pull: the power law only holds near rest
ONSET_EXPONENT = 1.75
DROP_MIN_HEIGHT_M = 0.45
DROP_SPEED_M_S = 2.5
DROP_ACCEL_G = 0.7
DROP_LANDING_M = 0.15  # a near-free-fall descent counts as a drop only if it ends this close to the lowest level
REST_SPEED_M_S = 0.15
RETURN_LEVEL_M = 0.15  # concentric-first: a new rep must start this close to the first one's level
REST_S = 0.3


def _interp_crossing(t: np.ndarray, v: np.ndarray, i: int, level: float) -> float:
    """Time where v crosses ``level`` between samples i and i+1 (linear)."""
    v0, v1 = v[i] - level, v[i + 1] - level
    if v1 == v0:
        return float(t[i])
    frac = min(max(-v0 / (v1 - v0), 0.0), 1.0)
    return float(t[i] + frac * (t[i + 1] - t[i]))


def _seg_of(segs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    n = int(segs[-1][-1]) + 1
    start = np.zeros(n, int)
    end = np.zeros(n, int)
    for s in segs:
        start[s] = s[0]
        end[s] = s[-1]
    return start, end


def _value_at(t: np.ndarray, y: np.ndarray, tq: float) -> float:
    return float(np.interp(tq, t, y))


def _find_drops(t, y, vy, ay, segs, g) -> list[dict]:
    drops = []
    n = len(t)
    y_floor = float(np.min(y))
    # descents inside segments
    for s in segs:
        i = s[0]
        while i <= s[-1]:
            if vy[i] < 0:
                j = i
                while j + 1 <= s[-1] and vy[j + 1] < 0:
                    j += 1
                dh = y[i] - y[j]
                k = i + int(np.argmin(vy[i:j + 1]))
                mean_acc = (vy[k] - vy[i]) / max(t[k] - t[i], 1e-9)
                lands = y[j] - y_floor <= DROP_LANDING_M  # ends on the platform, not in a catch
                if dh >= DROP_MIN_HEIGHT_M and (vy[k] <= -DROP_SPEED_M_S
                                                or (lands and mean_acc <= -DROP_ACCEL_G * g)):
                    drops.append({"start": i, "end": j, "via_gap": False})
                i = j + 1
            else:
                i += 1
    # falls hidden in a gap (tracker lost the plate while the bar fell)
    for s1, s2 in zip(segs[:-1], segs[1:]):
        a, b = s1[-1], s2[0]
        dh = y[a] - y[b]
        dt = t[b] - t[a]
        if dh >= DROP_MIN_HEIGHT_M and y[b] - y_floor <= DROP_LANDING_M and (
                dh / max(dt, 1e-9) >= 0.5 * DROP_SPEED_M_S or vy[a] <= -0.5 * DROP_SPEED_M_S):
            st = a
            while st - 1 >= s1[0] and vy[st - 1] < 0:
                st -= 1
            drops.append({"start": st, "end": b, "via_gap": True})
    # extend each drop through the bounces until the bar rests
    out = []
    speed = np.abs(vy)
    for d in sorted(drops, key=lambda d: d["start"]):
        j = d["end"]
        rest_from = None
        end = n - 1
        while j < n:
            if speed[j] < REST_SPEED_M_S:
                rest_from = j if rest_from is None else rest_from
                if t[j] - t[rest_from] >= REST_S:
                    end = rest_from
                    break
            else:
                rest_from = None
            j += 1
        d["end_rest"] = end
        if out and d["start"] <= out[-1]["end_rest"]:
            out[-1]["end_rest"] = max(out[-1]["end_rest"], end)
            continue
        out.append(d)
    return out


def _zigzag(y: np.ndarray, thr: float) -> list[tuple[int, str]]:
    """Turning points (index, 'high'|'low') separated by at least ``thr`` in value."""
    if len(y) == 0:
        return []
    pts: list[tuple[int, str]] = []
    hi_i = lo_i = 0
    trend = None
    for i in range(1, len(y)):
        if trend is None:
            if y[i] > y[hi_i]:
                hi_i = i
            if y[i] < y[lo_i]:
                lo_i = i
            if y[hi_i] - y[lo_i] >= thr:
                if hi_i > lo_i:
                    pts.append((lo_i, "low"))
                    trend = "up"
                else:
                    pts.append((hi_i, "high"))
                    trend = "down"
        elif trend == "up":
            if y[i] > y[hi_i]:
                hi_i = i
            elif y[hi_i] - y[i] >= thr:
                pts.append((hi_i, "high"))
                trend = "down"
                lo_i = i
        else:
            if y[i] < y[lo_i]:
                lo_i = i
            elif y[i] - y[lo_i] >= thr:
                pts.append((lo_i, "low"))
                trend = "up"
                hi_i = i
    if trend == "up":
        pts.append((hi_i, "high"))
    elif trend == "down":
        pts.append((lo_i, "low"))
    return pts


def _zero_time(t: np.ndarray, v: np.ndarray, i_pk: int, step: int, i_limit: int) -> tuple[float, int]:
    """When ``v`` (positive at ``i_pk``) comes to zero walking from ``i_pk`` by ``step`` (+1/-1).

    Near a smooth start or stop ``v`` creeps toward zero (human movement starts and ends with
    little acceleration) and noise decides when it crosses zero. Instead the samples where
    ``V_ON_M_S <= v <= ONSET_FRAC × v_peak`` — well above the noise, close to the rest — are
    fitted with the onset model ``v = k·|t - t0|^ONSET_EXPONENT`` (``v^(1/p)`` is linear in t)
    and ``t0`` is the boundary; never beyond the actual zero crossing (a bar that reverses
    through zero, e.g. bouncing out of the bottom or reaching its peak height, ends there) nor
    more than ``EXTRAP_MAX_S`` beyond the window. Measured on noise-free onsets: 1.75 puts the
    boundary within ±5 ms for minimum-jerk profiles (v ∝ τ²(1-τ/T)²) and quintic pulls from
    rest, where a quadratic-polynomial fit was 25-40 ms late and a plain threshold 60+ ms.
    Returns (time, index of the last sample of the phase on the ``i_pk`` side).
    """
    vpk = float(v[i_pk])
    if vpk <= 0:
        return float(t[i_pk]), i_pk
    v_lo = max(V_ON_M_S, min(ONSET_LO_FRAC * vpk, ONSET_LO_MAX_M_S))
    v_hi = max(min(ONSET_FRAC * vpk, ONSET_HI_MAX_M_S), 2.5 * v_lo)
    seq = []
    j = i_pk
    while True:
        seq.append(j)
        if j == i_limit:
            break
        j += step
    seq = np.asarray(seq)
    d = np.abs(t[seq] - t[i_pk])
    vs = v[seq]
    # actual zero crossing (bound)
    nz = np.where(vs <= 0)[0]
    if len(nz):
        k = int(nz[0])
        d0, d1 = d[k - 1], d[k]
        dz = d0 + (d1 - d0) * vs[k - 1] / max(vs[k - 1] - vs[k], 1e-12)
        last = k - 1
    else:
        dz = float(d[-1])
        last = len(seq) - 1
    # window: samples with V_ON <= v <= ONSET_FRAC * peak, at least 3 (extended toward the peak)
    in_w = np.where((vs[: last + 1] >= v_lo) & (vs[: last + 1] <= v_hi))[0]
    d_star = dz
    if len(in_w):
        w1 = int(in_w[-1])
        w0 = int(in_w[0])
        while w1 - w0 + 1 < 3 and w0 > 0:
            w0 -= 1
        if w1 - w0 + 1 >= 2:
            q = vs[w0:w1 + 1] ** (1.0 / ONSET_EXPONENT)
            k, b = np.polyfit(d[w0:w1 + 1], q, 1)
            if k < 0:
                d_star = min(-b / k, dz, float(d[w1]) + EXTRAP_MAX_S)
    d_star = max(d_star, 0.0)
    t_star = float(t[i_pk] + step * d_star)
    idx = int(seq[min(last, int(np.searchsorted(d, d_star)))])
    return t_star, idx


def detect_reps(sm: dict, segs: list[np.ndarray], params: PhysicsParams) -> dict:
    t = np.asarray(sm["time_s"], float)
    y = np.asarray(sm["y_m"], float)
    h = np.asarray(sm["height_m"], float)
    vy = np.asarray(sm["vy_m_s"], float)
    # phase boundaries from the timing series when there is one (see kinematics: a lower
    # cut-off, less noise near rest); peaks and power from the main series
    vt = np.asarray(sm.get("vy_timing_m_s", sm["vy_m_s"]), float)
    ay = np.asarray(sm["accel_m_s2"], float)
    pw = np.asarray(sm["power_w"], float)
    g = params.g_m_s2
    warnings: list[str] = []
    n = len(t)
    seg_start, seg_end = _seg_of(segs)

    drops = _find_drops(t, y, vy, ay, segs, g)
    excluded = np.zeros(n, bool)
    for d in drops:
        excluded[d["start"]:d["end_rest"] + 1] = True
    keep_idx = np.where(~excluded)[0]
    if len(keep_idx) < 3:
        return {"reps": [], "drops": _drops_out(t, y, drops), "warnings": warnings,
                "excluded": excluded, "order": None, "threshold_m": None}
    yk = y[keep_idx]
    vrange = float(np.max(yk) - np.min(yk))
    thr = max(MIN_ROM_M, REL_ROM * vrange)

    lt = params.lift_type
    if lt in ("squat", "bench"):
        order = "eccentric_first"
    elif lt in CONCENTRIC_FIRST:
        order = "concentric_first"
    else:
        order = None
        dev = yk - yk[0]
        big = np.where(np.abs(dev) >= MIN_ROM_M)[0]
        if len(big):
            order = "eccentric_first" if dev[big[0]] < 0 else "concentric_first"
    pts = _zigzag(yk, thr)
    pts = [(int(keep_idx[i]), kind) for i, kind in pts]

    reps = []
    if order == "eccentric_first":
        for k in range(len(pts)):
            i_bot, kind = pts[k]
            if kind != "low" or k == 0 or k + 1 >= len(pts):
                continue
            i_top1, i_top2 = pts[k - 1][0], pts[k + 1][0]
            s0, s1 = seg_start[i_bot], seg_end[i_bot]
            lo = max(i_top1, s0)
            i_vmin = lo + int(np.argmin(vy[lo:i_bot + 1]))
            ecc_t = None
            if vy[i_vmin] < -2 * V_ON_M_S:
                ecc_t, _ = _zero_time(t, -vt, i_vmin, -1, lo)
            hi = min(i_top2, s1)
            i_vpk = i_bot + int(np.argmax(vy[i_bot:hi + 1]))
            if vy[i_vpk] <= 2 * V_ON_M_S:
                continue
            con_t, i_con = _zero_time(t, vt, i_vpk, -1, max(s0, i_vmin))
            limit = min(s1, pts[k + 2][0]) if k + 2 < len(pts) else s1
            end_t, i_end = _zero_time(t, vt, i_vpk, +1, max(limit, i_vpk))
            reps.append(_rep_figures(t, y, h, vy, ay, pw, g, ecc_t, con_t, end_t, i_con, i_end, order))
    elif order == "concentric_first":
        start_level = None
        for k in range(len(pts)):
            i_low, kind = pts[k]
            if kind != "low" or k + 1 >= len(pts):
                continue
            # a new rep starts where the last one did (platform, hang): the bottom of a catch
            # and the dip of a jerk are higher, so the recovery or the jerk is not a new rep
            if start_level is not None and y[i_low] > start_level + RETURN_LEVEL_M:
                continue
            i_high = pts[k + 1][0]
            # the first continuous rise that carries the bar half-way up the threshold
            rise = np.where((y[i_low:i_high + 1] - y[i_low]) >= 0.5 * thr)[0]
            i_mid = i_low + int(rise[0]) if len(rise) else i_high
            s0, s1 = seg_start[i_mid], seg_end[i_mid]
            i_rs = i_mid
            while i_rs > max(s0, i_low) and vy[i_rs - 1] > 0:
                i_rs -= 1
            i_zero = i_mid
            while i_zero < s1 and vy[i_zero + 1] > 0:
                i_zero += 1
            i_vpk = i_rs + int(np.argmax(vy[i_rs:i_zero + 1]))
            if vy[i_vpk] <= 2 * V_ON_M_S:
                continue
            # lift-off: where the timing series comes to rest walking back from the peak; not
            # bounded by the main series' lowest point, which noise places anywhere in the
            # rest before it (a 60 fps snatch's lift-off was held a frame late by it)
            back = pts[k - 1][0] if k > 0 else s0
            con_t, i_con = _zero_time(t, vt, i_vpk, -1, max(s0, back))
            end_t, i_end = _zero_time(t, vt, i_vpk, +1, s1)
            ecc_t = None
            nxt = min(pts[k + 2][0] if k + 2 < len(pts) else n - 1, seg_end[i_end])
            # a snatch or clean has no lowering of its own (the bar drops under the lifter or is
            # dropped); a deadlift's lowering must not be the dropped-bar fall
            while nxt > i_end and excluded[nxt]:
                nxt -= 1
            if lt not in OLYMPIC and nxt > i_end:
                i_vmin = i_end + int(np.argmin(vy[i_end:nxt + 1]))
                if vy[i_vmin] < -2 * V_ON_M_S:
                    ecc_t, _ = _zero_time(t, -vt, i_vmin, -1, i_end)
            reps.append(_rep_figures(t, y, h, vy, ay, pw, g, ecc_t, con_t, end_t, i_con, i_end, order))
            start_level = float(y[i_low]) if start_level is None else min(start_level, float(y[i_low]))
    for r_i, r in enumerate(reps, 1):
        r["rep"] = r_i
    if drops:
        warnings.append(
            f"dropped bar detected at {', '.join('%.2f s' % t[d['start']] for d in drops)}: the fall "
            "and the bounces are not counted as reps and not used for the summary peaks"
        )
    if lt is not None and not reps:
        warnings.append(f"no {lt} repetition found (vertical movement of at least {thr:.2f} m up and down)")
    return {"reps": reps, "drops": _drops_out(t, y, drops), "warnings": warnings,
            "excluded": excluded, "order": order, "threshold_m": thr}


def _drops_out(t, y, drops) -> list[dict]:
    return [{"start_s": round(float(t[d["start"]]), 4), "end_s": round(float(t[d["end_rest"]]), 4),
             "fall_m": round(float(y[d["start"]] - np.min(y[d["start"]:d["end_rest"] + 1])), 4),
             "tracked_through": not d["via_gap"]} for d in drops]


def _rep_figures(t, y, h, vy, ay, pw, g, ecc_t, con_t, end_t, i_con, i_end, order) -> dict:
    y0, y1 = _value_at(t, y, con_t), _value_at(t, y, end_t)
    dur = max(end_t - con_t, 1e-9)
    mcv = (y1 - y0) / dur
    sel = (t >= con_t) & (t <= end_t)
    if not sel.any():
        sel = np.zeros(len(t), bool)
        sel[i_con:i_end + 1] = True
    idx = np.where(sel)[0]
    i_pk = int(idx[np.argmax(vy[idx])])
    pcv = refine_peak(t, vy, i_pk, int(idx[0]) - 1, int(idx[-1]) + 1) if 0 < i_pk < len(t) - 1 else float(vy[i_pk])
    prop_t = end_t
    for i in range(i_pk, int(idx[-1])):
        if ay[i] >= -g > ay[i + 1]:
            prop_t = _interp_crossing(t, ay, i, -g)
            break
    mpv = (_value_at(t, y, prop_t) - y0) / max(prop_t - con_t, 1e-9)
    return {
        "rep": 0,
        "order": order,
        "eccentric_start_s": None if ecc_t is None else round(float(ecc_t), 4),
        "concentric_start_s": round(float(con_t), 4),
        "concentric_end_s": round(float(end_t), 4),
        "concentric_duration_s": round(float(dur), 4),
        "mean_concentric_velocity_m_s": round(float(mcv), 4),
        "peak_concentric_velocity_m_s": round(pcv, 4),
        "peak_concentric_velocity_at_s": round(float(t[i_pk]), 4),
        "mean_propulsive_velocity_m_s": round(float(mpv), 4),
        "propulsive_end_s": round(float(prop_t), 4),
        "range_of_motion_m": round(float(y1 - y0), 4),
        "peak_power_w": round(float(np.max(pw[idx])), 2),
        "mean_concentric_power_w": round(float(np.mean(pw[idx])), 2),
        "bottom_height_m": round(_value_at(t, h, con_t), 4),
        "top_height_m": round(_value_at(t, h, end_t), 4),
    }


def velocity_loss(reps: list[dict]) -> dict:
    """Velocity loss within the set, as velocity-based-training tools report it: the fastest
    rep (highest mean concentric velocity) is the reference. Writes each rep's
    ``velocity_loss_pct`` = (best - this) / best x 100 and returns the set's figures:
    ``velocity_loss_pct`` from the fastest rep to the last (None below two reps) and
    ``velocity_loss_reference_rep``, the fastest rep's number. From the reported (rounded)
    velocities, so a client recomputes the same figures from ``reps``."""
    mcv = [r["mean_concentric_velocity_m_s"] for r in reps]
    best_i = int(np.argmax(mcv)) if mcv else None
    best = mcv[best_i] if mcv else None

    def loss(v: float):
        return round((best - v) / best * 100.0, 2) if best is not None and best > 0 else None

    for r, v in zip(reps, mcv):
        r["velocity_loss_pct"] = loss(v)
    return {"velocity_loss_pct": loss(mcv[-1]) if len(mcv) >= 2 else None,
            "velocity_loss_reference_rep": reps[best_i]["rep"] if reps else None}


def lift_window(sm: dict, rep_info: dict) -> np.ndarray:
    """Frames that belong to the lift proper (everything but dropped-bar intervals)."""
    ex = rep_info.get("excluded")
    n = len(sm["time_s"])
    if ex is None or len(ex) != n:
        return np.ones(n, bool)
    w = ~ex
    return w if w.any() else np.ones(n, bool)
