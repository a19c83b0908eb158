"""Snatch/clean phases and bar-path figures on an analytic snatch-like pull (no video)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from liftflow.physics import PhysicsParams, compute_metrics
from liftflow.tracking.base import DiscObservation

R_PX = 50.0
MPP = 0.45 / (2 * R_PX)
G = 9.80665


def quintic_path(knots):
    """C2 path through knots (t, p, v, a); returns f(t) -> (p, v)."""
    segs = []
    for (t0, p0, v0, a0), (t1, p1, v1, a1) in zip(knots, knots[1:]):
        T = t1 - t0
        dp = p1 - p0
        c3 = (20 * dp - (8 * v1 + 12 * v0) * T - (3 * a0 - a1) * T**2) / (2 * T**3)
        c4 = (-30 * dp + (14 * v1 + 16 * v0) * T + (3 * a0 - 2 * a1) * T**2) / (2 * T**4)
        c5 = (12 * dp - 6 * (v1 + v0) * T - (a0 - a1) * T**2) / (2 * T**5)
        segs.append((t0, t1, (p0, v0, a0 / 2, c3, c4, c5)))

    def f(t):
        t = np.asarray(t, float)
        p = np.full_like(t, knots[0][1])
        v = np.zeros_like(t)
        for t0, t1, c in segs:
            m = (t >= t0) & (t <= t1)
            u = t[m] - t0
            p[m] = sum(c[k] * u**k for k in range(6))
            v[m] = sum(k * c[k] * u ** (k - 1) for k in range(1, 6))
        p[t > segs[-1][1]] = knots[-1][1]
        return p, v

    return f


T0 = 1.0  # lift-off
V_PK = 1.9
T_VPK = T0 + 0.90
T_TOP = T_VPK + V_PK / G
H_VPK = 1.005
H_TOP = H_VPK + V_PK**2 / (2 * G)
T_CATCH = T_TOP + 0.22
T_BOT = T_CATCH + 0.30
H_BOT = H_TOP - 0.12 - 0.06
HEIGHT = quintic_path([
    (0.0, 0.225, 0, 0), (T0, 0.225, 0, 0),
    (T0 + 0.50, 0.50, 1.0, 0.0),      # end of first pull: vy local max
    (T0 + 0.62, 0.61, 0.85, 0.0),     # transition: vy dip (double knee bend)
    (T0 + 0.78, 0.80, 1.5, 4.0),
    (T_VPK, H_VPK, V_PK, 0.0),        # end of second pull: peak vertical velocity
    (T_TOP, H_TOP, 0.0, -G),          # turnover ends at peak height
    (T_CATCH, H_TOP - 0.12, -0.5, 4.0),
    (T_BOT, H_BOT, 0.0, 0.0),         # lowest point of the catch
    (T_BOT + 0.5, H_BOT, 0, 0),
    (T_BOT + 1.8, 1.95, 0, 0),        # standing overhead
    (T_BOT + 3.0, 1.95, 0, 0),
])
# lifter faces right (+x forward): toward the lifter is -x
XPATH = quintic_path([
    (0.0, 0.0, 0, 0), (T0, 0.0, 0, 0), (T0 + 0.50, -0.04, 0, 0), (T_VPK, 0.03, 0, 0),
    (T_CATCH, -0.03, 0, 0), (T_BOT + 3.0, -0.02, 0, 0),
])


def snatch_obs(fps=60.0, noise_px=0.3, seed=0):
    t = np.arange(0.0, T_BOT + 3.0, 1 / fps)
    h, _ = HEIGHT(t)
    x, _ = XPATH(t)
    rng = np.random.default_rng(seed)
    px = 300 + x / MPP + rng.normal(0, noise_px, len(t))
    py = 900 - h / MPP + rng.normal(0, noise_px, len(t))
    obs = [DiscObservation(i, float(t[i]), "tracked", 0.9, (float(px[i]), float(py[i])), R_PX) for i in range(len(t))]
    return obs, t


def _true_mcv():
    return (H_TOP - 0.225) / (T_TOP - T0)


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_snatch_one_rep_peak_velocity_and_mcv(fps):
    obs, t = snatch_obs(fps)
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="snatch"))
    s = res["summary"]
    assert s["rep_count"] == 1
    assert s["peak_vertical_velocity_m_s"] == pytest.approx(V_PK, abs=0.04)
    (rep,) = res["reps"]
    assert rep["concentric_start_s"] == pytest.approx(T0, abs=0.04)
    assert rep["concentric_end_s"] == pytest.approx(T_TOP, abs=0.03)
    assert rep["mean_concentric_velocity_m_s"] == pytest.approx(_true_mcv(), abs=0.02)
    assert rep["range_of_motion_m"] == pytest.approx(H_TOP - 0.225, abs=0.01)
    assert s["max_height_m"] == pytest.approx(1.95, abs=0.01)  # floor-based height
    assert s["min_height_m"] == pytest.approx(0.225, abs=0.005)
    assert res["filter"]["explosive_lift"] is True
    assert res["filter"]["cutoff_y"]["fc_hz"] >= 6.0
    json.dumps(res)


# vertical centre errors (px, image y down) of the classic tracker in the 18 frames from 0.2 s
# before lift-off of 30 fps phone pulls (bench physics: clean-30fps-phone seeds 7 and 3,
# snatch-30fps-phone seeds 2 and 5), the arm easing over the plate: they look like motion to the
# residual analysis, which raised the timing pass's cut-off to 4.5-5.5 Hz and moved lift-off
# by up to 60 ms there
LIFT_OFF_TRACK_ERRORS_PX = [
    [0.13, 0.40, 0.38, 0.36, 0.47, 0.54, 0.29, 0.17, 0.27, 0.54, -0.35, -0.11, 0.00, 0.20, 0.08, -0.02, -0.03, 0.21],
    [0.53, 0.44, 0.56, 0.59, 0.62, 0.65, 0.48, 0.35, 0.33, 0.57, 0.36, -0.13, 0.22, 0.47, 0.14, 0.27, 0.11, 0.18],
    [0.11, 0.12, 0.12, 0.14, 0.15, 0.16, 0.08, 0.03, 0.08, 0.42, 0.48, 0.41, 0.36, -0.03, 0.05, 0.01, -0.03, 0.21],
    [0.09, 0.06, 0.11, 0.11, 0.12, 0.13, 0.02, -0.05, -0.03, 0.29, 0.19, -0.03, 0.01, 0.51, 0.64, 0.26, 0.27, 0.21],
]


@pytest.mark.parametrize("errors", LIFT_OFF_TRACK_ERRORS_PX)
def test_lift_off_holds_against_tracker_errors_at_lift_off(errors):
    obs, t = snatch_obs(30.0, noise_px=0.0)
    j0 = int(np.searchsorted(t, T0)) - 6
    dy = np.pad(np.asarray(errors, float), (j0, len(t) - j0 - len(errors)), mode="edge")
    obs = [DiscObservation(o.frame, o.t_s, o.state, o.confidence, (o.center[0], o.center[1] + dy[i]), o.radius)
           for i, o in enumerate(obs)]
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="snatch"))
    (rep,) = res["reps"]
    assert rep["concentric_start_s"] == pytest.approx(T0, abs=0.04)
    assert rep["concentric_end_s"] == pytest.approx(T_TOP, abs=0.03)


def test_snatch_phases_from_bar_path():
    obs, t = snatch_obs(60.0)
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="snatch"))
    ph = res["phases"]
    assert ph["method"] == "bar_path"
    names = ["first_pull", "transition", "second_pull", "turnover", "catch", "recovery"]
    for a, b in zip(names, names[1:]):
        assert ph[a]["end_s"] == ph[b]["start_s"]
        assert ph[a]["duration_s"] > 0
    assert ph["first_pull"]["start_s"] == pytest.approx(T0, abs=0.04)
    assert ph["first_pull"]["end_s"] == pytest.approx(T0 + 0.50, abs=0.05)
    assert ph["first_pull"]["end_method"] == "vy_local_maximum"
    assert ph["transition"]["end_s"] == pytest.approx(T0 + 0.62, abs=0.05)
    assert ph["second_pull"]["end_s"] == pytest.approx(T_VPK, abs=0.03)
    assert ph["turnover"]["end_s"] == pytest.approx(T_TOP, abs=0.03)
    assert ph["catch"]["end_s"] == pytest.approx(T_BOT, abs=0.06)
    assert ph["recovery"]["end_s"] == pytest.approx(T_BOT + 1.8, abs=0.15)


def test_snatch_bar_path_figures():
    obs, t = snatch_obs(60.0)
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="snatch"))
    bp = res["bar_path"]
    assert bp["toward_lifter"] == "-x"  # inferred from the first pull
    assert bp["first_pull"]["toward_lifter_m"] == pytest.approx(0.04, abs=0.006)
    assert bp["x_toward_lifter_to_rearmost_m"] == pytest.approx(0.04, abs=0.006)
    assert bp["x_away_rearmost_to_forwardmost_m"] == pytest.approx(0.07, abs=0.008)
    assert bp["loop_toward_lifter_m"] == pytest.approx(0.06, abs=0.01)
    assert bp["peak_height_m"] == pytest.approx(H_TOP, abs=0.01)
    assert bp["catch_height_m"] == pytest.approx(H_BOT, abs=0.01)
    assert bp["drop_under_bar_m"] == pytest.approx(H_TOP - H_BOT, abs=0.015)
    # pose says the lifter faces right: same direction
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="snatch"), pose_events={"facing": "right"})
    assert res["bar_path"]["toward_lifter"] == "-x"
    assert res["bar_path"]["direction_source"] == "pose:facing"


def test_pose_events_refine_phase_boundaries():
    obs, t = snatch_obs(60.0)
    pose = {"knee_extension_max_s": T0 + 0.47, "hip_extension_max_s": T_VPK - 0.02, "knee_flexion_max_s": 99.0}
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="snatch"), pose_events=pose)
    ph = res["phases"]
    assert ph["method"] == "bar_path+pose"
    assert ph["first_pull"]["end_s"] == pytest.approx(T0 + 0.47, abs=1e-6)
    assert ph["first_pull"]["end_method"] == "pose:knee_extension_max_s"
    assert ph["second_pull"]["end_s"] == pytest.approx(T_VPK - 0.02, abs=1e-6)
    assert "knee_flexion_max_s" not in ph["pose_events_used"]
    assert any("knee_flexion_max_s" in w for w in res["warnings"])


def test_non_olympic_lifts_have_no_phases():
    obs, t = snatch_obs(60.0)
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="deadlift"))
    assert res["phases"] is None and res["bar_path"] is None
    res = compute_metrics(obs, list(t), PhysicsParams())  # unknown: reps only
    assert res["phases"] is None
    assert res["summary"]["rep_count"] == 1
    assert res["filter"]["explosive_lift"] is True  # recognised from the 1.9 m/s pull


def test_deep_fast_catch_is_not_a_dropped_bar():
    """A clean whose bar falls 0.5 m nearly freely into a deep catch, well above the platform."""
    t_top = T0 + 1.0
    path = quintic_path([
        (0.0, 0.225, 0, 0), (T0, 0.225, 0, 0), (T0 + 0.8, 0.95, 1.6, 0.0), (t_top, 1.15, 0.0, -G),
        (t_top + 0.3, 0.66, -2.2, 0.0), (t_top + 0.6, 0.60, 0.0, 0.0), (t_top + 1.2, 0.60, 0, 0),
        (t_top + 2.5, 1.45, 0, 0), (t_top + 3.5, 1.45, 0, 0),
    ])
    t = np.arange(0.0, t_top + 3.5, 1 / 60)
    h, v = path(t)
    assert v.min() > -2.5  # the speed test alone would not call it a drop
    obs = [DiscObservation(i, float(t[i]), "tracked", 0.9, (300.0, float(900 - h[i] / MPP)), R_PX) for i in range(len(t))]
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="clean"))
    assert res["summary"]["dropped_bar"] == []
    assert not any("dropped" in w for w in res["warnings"])
    assert res["summary"]["rep_count"] == 1
    after = t > t_top
    i_low = int(np.argmin(np.where(after & (t < t_top + 1.5), h, np.inf)))
    assert h[i_low] > 0.5  # the catch is received well above the platform
    assert res["phases"]["catch"]["end_s"] == pytest.approx(t[i_low], abs=0.05)
