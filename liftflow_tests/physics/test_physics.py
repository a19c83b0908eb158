"""Bar physics on hand-computed cases and analytic trajectories (no video needed).

Every trajectory here is written in the test: a known path in metres is turned into plate
observations in pixels (scale from a plate of known radius, image y down), optionally with
gaussian pixel noise and jittered (variable frame rate) timestamps.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from liftflow.physics import CONTRACT_METRIC_KEYS, PhysicsParams, compute_metrics
from liftflow.tracking.base import DiscObservation

R_PX = 50.0
MPP = 0.45 / (2 * R_PX)  # 0.0045 m per pixel
G = 9.80665
SUMMARY_KEYS = ("peak_speed_m_s", "peak_power_w", "max_height_m", "min_height_m", "lift_duration_s",
                "total_frames", "peak_vertical_velocity_m_s", "rep_count",
                "peak_speed_lift_m_s", "peak_power_lift_w", "moving_duration_s")


def make_obs(t, x_m, y_m, noise_px=0.0, seed=0, lost=(), r_px=R_PX, ellipse=None, x0=400.0, y0=600.0):
    """Plate observations from a path in metres (y up) at times t."""
    rng = np.random.default_rng(seed)
    n = len(t)
    px = x0 + np.asarray(x_m) / MPP * (R_PX / r_px) ** -1 * (r_px / R_PX)
    px = x0 + np.asarray(x_m) / (0.45 / (2 * r_px))
    py = y0 - np.asarray(y_m) / (0.45 / (2 * r_px))
    px = px + rng.normal(0, noise_px, n) if noise_px else px
    py = py + rng.normal(0, noise_px, n) if noise_px else py
    out = []
    lost = set(lost)
    for i in range(n):
        if i in lost:
            out.append(DiscObservation(i, float(t[i]), "lost", 0.0))
        else:
            out.append(DiscObservation(i, float(t[i]), "tracked", 0.9, (float(px[i]), float(py[i])),
                                       float(r_px), ellipse))
    return out


def min_jerk(s):
    s = np.clip(s, 0.0, 1.0)
    return 10 * s**3 - 15 * s**4 + 6 * s**5


def squat_path(fps=30.0, reps=3, rom=0.6, t_ecc=1.0, pause=0.15, t_con=1.2, rest=0.8, lead=0.8, jitter=0.0, seed=0):
    """Multi-rep squat (y = 0 standing) with exact truth per rep (mean/peak concentric velocity)."""
    total = lead + reps * (t_ecc + pause + t_con + rest) + 0.5
    rng = np.random.default_rng(seed)
    if jitter:
        dts = (1 / fps) * (1 + rng.uniform(-jitter, jitter, int(total * fps * 1.5)))
        t = np.concatenate([[0.0], np.cumsum(dts)])
        t = t[t < total]
    else:
        t = np.arange(0.0, total, 1 / fps)
    y = np.zeros_like(t)
    truth = []
    t0 = lead
    for _ in range(reps):
        e = (t >= t0) & (t < t0 + t_ecc)
        y[e] = -rom * min_jerk((t[e] - t0) / t_ecc)
        b = (t >= t0 + t_ecc) & (t < t0 + t_ecc + pause)
        y[b] = -rom
        c0 = t0 + t_ecc + pause
        c = (t >= c0) & (t < c0 + t_con)
        y[c] = -rom + rom * min_jerk((t[c] - c0) / t_con)
        truth.append({"eccentric_start_s": t0, "concentric_start_s": c0, "concentric_end_s": c0 + t_con,
                      "mcv": rom / t_con, "pcv": 1.875 * rom / t_con, "rom": rom})
        t0 = c0 + t_con + rest
    return t, y, truth


# ---------------------------------------------------------------- contract shape


def test_contract_keys_json_and_parallel_arrays():
    t = np.arange(0, 2, 1 / 30)
    res = compute_metrics(make_obs(t, 0 * t, 0.3 * t), list(t), PhysicsParams())
    json.dumps(res)  # serialisable
    assert tuple(res["metrics"].keys()) == CONTRACT_METRIC_KEYS
    assert tuple(res["metrics_raw"].keys()) == CONTRACT_METRIC_KEYS
    lens = {len(v) for v in res["metrics"].values()}
    assert lens == {len(t)}
    for k in SUMMARY_KEYS:
        assert k in res["summary"], k
    for k in ("reps", "phases", "bar_path", "calibration", "definitions", "warnings"):
        assert k in res
    for k in CONTRACT_METRIC_KEYS[1:]:
        assert "unit" in res["definitions"][k] and res["definitions"][k]["how"]
    assert "Butterworth" in res["definitions"]["y_m"]["how"]
    assert res["summary"]["total_frames"] == len(t)


# ---------------------------------------------------------------- hand-computed kinematics


def test_constant_velocity_hand_computed():
    """Bar rising at exactly 0.5 m/s and drifting 0.1 m/s right: every derivative is exact."""
    fps = 30.0
    t = np.arange(0, 3, 1 / fps)
    params = PhysicsParams(bar_mass_kg=20, plate_mass_kg=25, plate_count=2)  # 70 kg
    res = compute_metrics(make_obs(t, 0.1 * t, 0.5 * t), list(t), params)
    m = res["metrics"]
    assert res["calibration"]["m_per_px"] == pytest.approx(MPP, rel=1e-6)
    assert np.allclose(m["vy_m_s"], 0.5, atol=2e-3)
    assert np.allclose(m["vx_m_s"], 0.1, atol=2e-3)
    assert np.allclose(m["accel_m_s2"], 0.0, atol=0.05)
    assert np.allclose(m["speed_m_s"], math.hypot(0.5, 0.1), atol=2e-3)
    assert np.allclose(m["y_m"], 0.5 * t, atol=1e-3)
    assert np.allclose(m["x_m"], 0.1 * t, atol=1e-3)
    # F = m (g + a) with a = 0: P = 70 * 9.80665 * 0.5 = 343.23 W
    assert np.allclose(m["power_w"][5:-5], 70 * G * 0.5, rtol=2e-3)
    # KE = 1/2 * 70 * 0.26 = 9.1 J
    assert np.allclose(m["kinetic_energy_j"], 0.5 * 70 * (0.25 + 0.01), rtol=1e-2)
    assert res["summary"]["peak_vertical_velocity_m_s"] == pytest.approx(0.5, abs=3e-3)


def test_parabola_constant_acceleration_and_power_at_a_point():
    """y = 0.2 t + 1.5 t^2 (a = 3 m/s^2): at t = 1 s, v = 3.2 m/s, P = m (g + 3) 3.2."""
    fps = 60.0
    t = np.arange(0, 2.0001, 1 / fps)
    y = 0.2 * t + 1.5 * t**2
    params = PhysicsParams(bar_mass_kg=20, plate_mass_kg=0, plate_count=0)  # 20 kg
    res = compute_metrics(make_obs(t, 0 * t, y), list(t), params)
    m = res["metrics"]
    i = int(np.argmin(np.abs(t - 1.0)))
    assert m["time_s"][i] == pytest.approx(1.0, abs=1e-9)
    assert m["vy_m_s"][i] == pytest.approx(3.2, abs=0.01)
    assert m["accel_m_s2"][i] == pytest.approx(3.0, abs=0.05)
    assert m["power_w"][i] == pytest.approx(20 * (G + 3.0) * 3.2, rel=5e-3)  # 819.6 W
    # interior acceleration is constant
    assert np.allclose(m["accel_m_s2"][10:-10], 3.0, atol=0.05)


def test_energy_of_known_mass_height_and_speed():
    """Deadlift-type height is above the floor (lowest point + plate radius)."""
    fps = 30.0
    t = np.arange(0, 2, 1 / fps)
    y = 0.4 * t  # constant 0.4 m/s up from the floor
    params = PhysicsParams(lift_type="deadlift", bar_mass_kg=20, plate_mass_kg=20, plate_count=4)  # 100 kg
    res = compute_metrics(make_obs(t, 0 * t, y), list(t), params)
    m = res["metrics"]
    i = int(np.argmin(np.abs(t - 1.0)))
    h = 0.4 * t[i] + 0.225
    assert m["height_m"][i] == pytest.approx(h, abs=2e-3)
    assert m["potential_energy_j"][i] == pytest.approx(100 * G * h, rel=5e-3)
    assert m["kinetic_energy_j"][i] == pytest.approx(0.5 * 100 * 0.16, rel=1e-2)  # 8 J
    assert m["total_energy_j"][i] == pytest.approx(m["potential_energy_j"][i] + m["kinetic_energy_j"][i], abs=0.01)
    assert res["summary"]["min_height_m"] == pytest.approx(0.225, abs=2e-3)
    # unknown lift: height above the lowest tracked point
    res2 = compute_metrics(make_obs(t, 0 * t, y), list(t), PhysicsParams())
    assert res2["summary"]["min_height_m"] == pytest.approx(0.0, abs=2e-3)


def test_total_mass():
    assert PhysicsParams().total_mass_kg == 60.0
    assert PhysicsParams(bar_mass_kg=15, plate_mass_kg=10, plate_count=4).total_mass_kg == 55.0
    with pytest.raises(ValueError):
        PhysicsParams(lift_type="curl")
    assert PhysicsParams(lift_type="Back Squat").lift_type == "squat"


# ---------------------------------------------------------------- calibration


def test_calibration_uses_radius_over_time_not_one_frame():
    t = np.arange(0, 2, 1 / 30)
    obs = make_obs(t, 0 * t, 0.2 * t)
    obs[0].radius = 80.0  # a bad first frame (e.g. the seed) must not set the scale
    res = compute_metrics(obs, list(t), PhysicsParams())
    assert res["calibration"]["m_per_px"] == pytest.approx(MPP, rel=1e-3)
    assert res["calibration"]["plate_radius_px"]["median"] == pytest.approx(R_PX, abs=1e-6)
    # configurable plate diameter
    res = compute_metrics(make_obs(t, 0 * t, 0.2 * t), list(t), PhysicsParams(plate_diameter_m=0.40))
    assert res["calibration"]["m_per_px"] == pytest.approx(0.40 / 100, rel=1e-6)


def test_oblique_ellipse_scale_foreshortening_and_warning():
    """Plate seen 36.9 degrees off-axis: ellipse 50 x 40 px, major axis vertical."""
    t = np.arange(0, 2, 1 / 30)
    x_true = 0.2 * t  # 0.2 m/s horizontally in the plate plane -> 0.8 of it on screen
    n = len(t)
    obs = []
    for i in range(n):
        px = 400 + 0.8 * x_true[i] / MPP
        py = 600 - 0.3 * t[i] / MPP
        obs.append(DiscObservation(i, float(t[i]), "tracked", 0.9, (px, py), math.sqrt(50 * 40), (50.0, 40.0, 90.0)))
    res = compute_metrics(obs, list(t), PhysicsParams())
    cal = res["calibration"]
    assert cal["m_per_px"] == pytest.approx(MPP, rel=1e-6)  # semi-major axis, not sqrt(ab)
    assert cal["obliqueness"]["tilt_deg"] == pytest.approx(math.degrees(math.acos(0.8)), abs=0.1)
    assert cal["obliqueness"]["horizontal_corrected"] is True
    assert cal["obliqueness"]["trustworthy"] is False
    assert any("oblique" in w for w in res["warnings"])
    assert np.allclose(res["metrics"]["vx_m_s"], 0.2, atol=3e-3)
    assert np.allclose(res["metrics"]["vy_m_s"], 0.3, atol=3e-3)


def test_side_view_circle_has_no_oblique_warning():
    t = np.arange(0, 2, 1 / 30)
    res = compute_metrics(make_obs(t, 0 * t, 0.2 * t), list(t), PhysicsParams())
    assert res["calibration"]["obliqueness"]["tilt_deg"] == pytest.approx(0.0, abs=1e-6)
    assert not any("oblique" in w for w in res["warnings"])


# ---------------------------------------------------------------- time and gaps


def test_variable_frame_rate_uses_real_timestamps():
    """Jittered intervals (+-30%): velocity stays exact because time comes from the timestamps."""
    rng = np.random.default_rng(4)
    dts = (1 / 30) * (1 + rng.uniform(-0.3, 0.3, 90))
    t = np.concatenate([[0.0], np.cumsum(dts)])
    res = compute_metrics(make_obs(t, 0 * t, 0.6 * t), list(t), PhysicsParams())
    assert res["metrics"]["time_s"] == pytest.approx(list(t), abs=1e-6)
    assert np.allclose(res["metrics"]["vy_m_s"], 0.6, atol=5e-3)
    assert res["filter"]["resampled_variable_frame_rate"] is True
    # the same path read with index/fps would be wrong: the metrics are not
    assert res["metrics"]["y_m"][-1] == pytest.approx(0.6 * t[-1], abs=2e-3)


def test_lost_frames_are_gaps_not_lines():
    """A 10-frame gap: absent from the series, and no derivative reaches across it."""
    fps = 30.0
    t = np.arange(0, 3, 1 / fps)
    y = np.where(t < 1.5, 0.0, 0.5)  # the bar "teleports" while lost: a line would give 1.5 m/s
    lost = range(40, 50)
    res = compute_metrics(make_obs(t, 0 * t, y, lost=lost), list(t), PhysicsParams())
    frames = res["metrics"]["frames"]
    assert not set(lost) & set(frames)
    assert len(frames) == len(t) - 10
    assert res["summary"]["segments"] == 2
    assert max(abs(v) for v in res["metrics"]["vy_m_s"]) < 0.02
    assert max(abs(v) for v in res["metrics_raw"]["vy_m_s"]) < 0.02


def test_short_runs_between_gaps_are_not_analysed():
    t = np.arange(0, 2, 1 / 30)
    lost = [20, 21, 24, 25]  # frames 22-23 form a 2-frame island
    res = compute_metrics(make_obs(t, 0 * t, 0.1 * t, lost=lost), list(t), PhysicsParams())
    assert 22 not in res["metrics"]["frames"] and 23 not in res["metrics"]["frames"]
    assert any("not analysed" in w for w in res["warnings"])


def test_no_tracked_frames_gives_empty_contract():
    t = np.arange(0, 1, 1 / 30)
    obs = [DiscObservation(i, float(t[i]), "lost", 0.0) for i in range(len(t))]
    res = compute_metrics(obs, list(t), PhysicsParams())
    assert all(v == [] for v in res["metrics"].values())
    assert res["summary"]["rep_count"] == 0 and res["warnings"]
    assert res["summary"]["lift_duration_s"] == 1.0  # the video's 30 frames at 30 fps
    assert res["summary"]["moving_duration_s"] == 0.0 and res["summary"]["peak_power_lift_w"] == 0.0
    json.dumps(res)


def test_tracker_glitch_is_rejected_not_differentiated():
    t = np.arange(0, 2, 1 / 30)
    obs = make_obs(t, 0 * t, 0.3 * t, noise_px=0.5)
    obs[30].center = (obs[30].center[0] + 90, obs[30].center[1] - 60)  # jumped to another circle
    res = compute_metrics(obs, list(t), PhysicsParams())
    assert 30 not in res["metrics"]["frames"]
    assert res["summary"]["peak_speed_m_s"] < 0.45


# ---------------------------------------------------------------- filtering


def test_filter_removes_noise_raw_keeps_it():
    """1 px noise at 30 fps: raw velocity noise ~0.1 m/s, smoothed within a few cm/s."""
    t = np.arange(0, 4, 1 / 30)
    y = 0.4 * np.sin(2 * np.pi * 0.5 * t)
    res = compute_metrics(make_obs(t, 0 * t, y, noise_px=1.0, seed=2), list(t), PhysicsParams())
    v_true = 0.4 * 2 * np.pi * 0.5 * np.cos(2 * np.pi * 0.5 * t)
    err_s = np.abs(np.array(res["metrics"]["vy_m_s"]) - v_true)[5:-5]
    err_r = np.abs(np.array(res["metrics_raw"]["vy_m_s"]) - v_true)[5:-5]
    assert np.sqrt(np.mean(err_s**2)) < 0.03
    assert np.sqrt(np.mean(err_r**2)) > 2 * np.sqrt(np.mean(err_s**2))
    fc = res["filter"]["cutoff_y"]
    assert 3.0 <= fc["fc_hz"] <= 12.0
    assert fc["noise_rms"] == pytest.approx(1.0, rel=0.5)  # residual analysis sees the 1 px noise


# ---------------------------------------------------------------- reps


@pytest.mark.parametrize("fps,jitter", [(30.0, 0.0), (60.0, 0.0), (30.0, 0.3)])
def test_squat_reps_mean_concentric_velocity(fps, jitter):
    t, y, truth = squat_path(fps=fps, reps=3, jitter=jitter, seed=1)
    res = compute_metrics(make_obs(t, 0.01 * np.sin(t), y, noise_px=0.7, seed=3), list(t),
                          PhysicsParams(lift_type="squat"))
    reps = res["reps"]
    assert res["summary"]["rep_count"] == 3 == len(reps)
    for r, tr in zip(reps, truth):
        assert r["mean_concentric_velocity_m_s"] == pytest.approx(tr["mcv"], abs=0.02)
        assert r["peak_concentric_velocity_m_s"] == pytest.approx(tr["pcv"], abs=0.04)
        assert r["range_of_motion_m"] == pytest.approx(tr["rom"], abs=0.02)
        assert r["concentric_start_s"] == pytest.approx(tr["concentric_start_s"], abs=0.08)
        assert r["concentric_end_s"] == pytest.approx(tr["concentric_end_s"], abs=0.08)
        assert r["eccentric_start_s"] == pytest.approx(tr["eccentric_start_s"], abs=0.08)
        assert r["peak_power_w"] > 0
        assert r["mean_propulsive_velocity_m_s"] >= r["mean_concentric_velocity_m_s"] - 1e-6
    assert res["summary"]["peak_vertical_velocity_m_s"] == pytest.approx(truth[0]["pcv"], abs=0.04)


def test_unrack_and_walkout_are_not_reps():
    """Lift out of the hooks (+4 cm), walk back 0.3 m with small bobs, two squats, re-rack."""
    fps = 30.0
    t_lead = 3.0
    t, y, truth = squat_path(fps=fps, reps=2, lead=t_lead + 0.5)
    x = np.zeros_like(t)
    pre = t < t_lead
    y[pre] = -0.04 + 0.04 * min_jerk(t[pre] / 0.6) - 0.012 * np.abs(np.sin(np.pi * t[pre] / 0.8)) * (t[pre] > 0.6)
    x[pre] = 0.3 - 0.3 * min_jerk((t[pre] - 0.6) / 2.0)
    end = t > truth[-1]["concentric_end_s"] + 0.3
    x[end] = 0.3 * min_jerk((t[end] - t[end][0]) / 1.5)
    y[end] = -0.05 * min_jerk((t[end] - t[end][0] - 1.0) / 0.5)
    res = compute_metrics(make_obs(t, x, y, noise_px=0.5, seed=5), list(t), PhysicsParams(lift_type="squat"))
    assert res["summary"]["rep_count"] == 2
    # the same clip with the lift type unknown
    res = compute_metrics(make_obs(t, x, y, noise_px=0.5, seed=5), list(t), PhysicsParams())
    assert res["summary"]["rep_count"] == 2


def test_dropped_bar_is_not_a_rep_and_not_a_peak():
    """A deadlift to lock-out, then the bar is dropped from 0.55 m and bounces 10 cm twice."""
    fps = 60.0
    t = np.arange(0, 5, 1 / fps)
    y = np.zeros_like(t)
    c0, tc = 0.8, 1.3
    c = (t >= c0) & (t < c0 + tc)
    y[c] = 0.55 * min_jerk((t[c] - c0) / tc)
    y[(t >= c0 + tc)] = 0.55
    td = 2.6  # release: free fall
    f = t >= td
    fall = 0.55 - 0.5 * G * (t[f] - td) ** 2
    t_hit = td + math.sqrt(2 * 0.55 / G)
    y[f] = np.maximum(fall, 0.0)
    for k, (hb, t_b) in enumerate([(0.10, t_hit), (0.03, t_hit + 2 * math.sqrt(2 * 0.10 / G))]):
        v0 = math.sqrt(2 * G * hb)
        tb = t - t_b
        m = (tb > 0) & (tb < 2 * v0 / G)
        y[m] = v0 * tb[m] - 0.5 * G * tb[m] ** 2
    res = compute_metrics(make_obs(t, 0 * t, y, noise_px=0.5), list(t), PhysicsParams(lift_type="deadlift"))
    assert res["summary"]["rep_count"] == 1
    mcv = 0.55 / tc
    assert res["reps"][0]["mean_concentric_velocity_m_s"] == pytest.approx(mcv, abs=0.02)
    assert res["summary"]["peak_vertical_velocity_m_s"] == pytest.approx(1.875 * mcv, abs=0.04)
    s = res["summary"]
    assert s["peak_speed_lift_m_s"] < 1.0  # the 3.3 m/s fall is not the lift's peak
    # the v2.0.0 keys keep the original meaning: every analysed frame, the fall included
    speed, power = res["metrics"]["speed_m_s"], res["metrics"]["power_w"]
    assert s["peak_speed_m_s"] == s["max_speed_all_frames_m_s"] > 2.5
    assert s["peak_speed_m_s"] >= max(speed) - 1e-9
    assert s["peak_power_w"] == pytest.approx(max(abs(p) for p in power), abs=0.011)
    assert s["peak_power_w"] > s["peak_power_lift_w"] > 0  # the bounces' braking, not the pull
    assert s["lift_duration_s"] == pytest.approx(5.0, abs=1e-4)  # the video, not the lift
    assert 1.0 < s["moving_duration_s"] < 2.0  # the pull (the fall excluded)
    assert res["summary"]["dropped_bar"] and res["summary"]["dropped_bar"][0]["start_s"] > 2.5
    assert any("dropped" in w for w in res["warnings"])
    # unknown lift type: same count
    res = compute_metrics(make_obs(t, 0 * t, y, noise_px=0.5), list(t), PhysicsParams())
    assert res["summary"]["rep_count"] == 1


def test_peak_power_is_the_largest_absolute_power_negative_included():
    """A fast squat descent braked hard at the bottom, then a slow rise: the braking's
    negative power is larger than any positive one. summary.peak_power_w (v2.0.0 meaning)
    is max |power_w| over every frame; peak_power_lift_w the largest signed power over the lift."""
    fps = 60.0
    t = np.arange(0, 4, 1 / fps)
    y = np.zeros_like(t)
    d0, td, u0, tu = 0.5, 0.4, 1.2, 2.0
    m = (t >= d0) & (t < d0 + td)
    y[m] = -0.5 * min_jerk((t[m] - d0) / td)
    y[t >= d0 + td] = -0.5
    m = (t >= u0) & (t < u0 + tu)
    y[m] = -0.5 + 0.5 * min_jerk((t[m] - u0) / tu)
    y[t >= u0 + tu] = 0.0
    res = compute_metrics(make_obs(t, 0 * t, y), list(t), PhysicsParams(lift_type="squat"))
    s, power = res["summary"], res["metrics"]["power_w"]
    assert -min(power) > 2 * max(power)  # the braking dominates
    assert s["peak_power_w"] == pytest.approx(-min(power), abs=0.011)
    assert s["peak_power_w"] > 0
    assert 0 < s["peak_power_lift_w"] <= max(power) + 0.011  # signed, over the lift window
    d = res["definitions"]
    assert "|power_w|" in d["summary.peak_power_w"]["how"] and d["summary.peak_power_lift_w"]["unit"] == "W"


def test_lift_duration_is_the_video_duration_and_moving_duration_the_lift():
    """summary.lift_duration_s (v2.0.0 meaning) is the video's duration: given (the
    decoder's VideoInfo.duration_s) or from the timestamps; moving_duration_s the time the
    bar moved faster than 0.1 m/s."""
    fps = 30.0
    t = np.arange(0, 4, 1 / fps)  # 120 frames: 4.0 s
    y = np.where(t < 1.0, 0.0, np.where(t < 2.0, 0.4 * min_jerk(np.clip(t - 1.0, 0, 1)), 0.4))
    obs = make_obs(t, 0 * t, y)
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="deadlift"))
    s = res["summary"]
    assert s["lift_duration_s"] == 4.0
    assert 0.6 < s["moving_duration_s"] < 1.0
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="deadlift"), video_duration_s=4.0333333)
    assert res["summary"]["lift_duration_s"] == 4.0333  # rounded like the other durations
    assert res["summary"]["moving_duration_s"] == s["moving_duration_s"]
    d = res["definitions"]
    assert "metadata.duration_s" in d["summary.lift_duration_s"]["how"]
    assert d["summary.moving_duration_s"]["unit"] == "s" and "0.1 m/s" in d["summary.moving_duration_s"]["how"]


def test_mean_propulsive_velocity_hand_computed():
    """Linear rise at 1 m/s, then a braking phase at -1.5 g: MPV stops where a < -g."""
    fps = 120.0
    t = np.arange(0, 3, 1 / fps)
    v = np.zeros_like(t)
    a_up = 4.0
    t1 = 0.5 + 1.0 / a_up  # accelerate to 1 m/s in 0.25 s
    t2 = t1 + 0.5  # constant 1 m/s for 0.5 s
    t3 = t2 + 1.0 / (1.5 * G)  # brake at 1.5 g
    v = np.where((t >= 0.5) & (t < t1), a_up * (t - 0.5), v)
    v = np.where((t >= t1) & (t < t2), 1.0, v)
    v = np.where((t >= t2) & (t < t3), 1.0 - 1.5 * G * (t - t2), v)
    y = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(t))])
    res = compute_metrics(make_obs(t, 0 * t, y), list(t), PhysicsParams(lift_type="deadlift"))
    (r,) = res["reps"]
    y_prop = 0.5 * 1.0 * (t1 - 0.5) + 1.0 * (t2 - t1)
    assert r["mean_propulsive_velocity_m_s"] == pytest.approx(y_prop / (t2 - 0.5), abs=0.03)
    assert r["mean_concentric_velocity_m_s"] == pytest.approx(y[-1] / (t3 - 0.5), abs=0.03)
    assert r["range_of_motion_m"] == pytest.approx(y[-1], abs=0.01)


# ---------------------------------------------------------------- edge cases


def test_short_clip_uses_savitzky_golay_and_still_differentiates():
    t = np.arange(0, 10 / 30, 1 / 30)  # 10 frames: too short for the Butterworth pass
    res = compute_metrics(make_obs(t, 0 * t, 0.4 * t), list(t), PhysicsParams())
    assert res["filter"]["segment_methods"] == ["savitzky_golay"]
    assert np.allclose(res["metrics"]["vy_m_s"], 0.4, atol=5e-3)
    json.dumps(res)


def test_bar_at_rest_has_no_reps_and_no_duration():
    t = np.arange(0, 3, 1 / 30)
    res = compute_metrics(make_obs(t, 0 * t, 0 * t, noise_px=0.3), list(t), PhysicsParams(lift_type="squat"))
    assert res["summary"]["rep_count"] == 0 and res["reps"] == []
    assert res["summary"]["moving_duration_s"] == 0.0
    assert res["summary"]["lift_duration_s"] == 3.0  # the video's duration, moving or not
    assert res["summary"]["peak_speed_m_s"] < 0.05
    assert any("no squat repetition" in w for w in res["warnings"])


def test_timestamps_come_from_the_video_not_the_observation():
    """The pipeline passes VideoInfo.timestamps_s; an observation's own t_s is only a fallback."""
    t = np.arange(0, 2, 1 / 30)
    obs = make_obs(t, 0 * t, 0.3 * t)
    for o in obs:
        o.t_s = o.frame / 25.0  # a wrong index/fps guess
    res = compute_metrics(obs, list(t), PhysicsParams())
    assert np.allclose(res["metrics"]["vy_m_s"], 0.3, atol=3e-3)


def test_benchmark_manifest_lift_parsing():
    from liftflow.bench.physics import parse_lift

    assert parse_lift("back squat, 3 reps") == ("squat", {3})
    assert parse_lift("back squat, 3-4 reps") == ("squat", {3, 4})
    assert parse_lift("clean") == ("clean", {1})
    assert parse_lift("clean and jerk") == ("clean_and_jerk", {1})
    assert parse_lift("snatch") == ("snatch", {1})


def test_params_from_job_config():
    p = PhysicsParams.from_dict({"plate_diameter_m": 0.45, "bar_mass_kg": 15, "plate_mass_kg": 25,
                                 "plate_count": 2, "lift_type": "snatch", "total_mass_kg": 999})
    assert p.total_mass_kg == 65.0 and p.lift_type == "snatch"
    with pytest.raises(ValueError, match="plate_weight"):
        PhysicsParams.from_dict({"plate_weight": 20})


def test_no_radius_and_no_scale_is_a_readable_error():
    t = np.arange(0, 1, 1 / 30)
    obs = make_obs(t, 0 * t, 0.2 * t)
    for o in obs:
        o.radius = None
    with pytest.raises(ValueError, match="radius"):
        compute_metrics(obs, list(t), PhysicsParams())
    res = compute_metrics(obs, list(t), PhysicsParams(m_per_px=MPP))  # a given scale is enough
    assert np.allclose(res["metrics"]["vy_m_s"], 0.2, atol=3e-3)


def test_observations_as_dicts_give_the_same_result():
    t = np.arange(0, 2, 1 / 30)
    obs = make_obs(t, 0 * t, 0.3 * t, noise_px=0.4)
    a = compute_metrics(obs, list(t), PhysicsParams())
    b = compute_metrics([o.to_dict() for o in obs], list(t), PhysicsParams())
    assert a["metrics"] == b["metrics"] and a["summary"] == b["summary"]


def test_numpy_butterworth_filtfilt_matches_scipy():
    """liftflow.numeric replaces scipy.signal.butter/filtfilt (an import of ~0.75 s) for the
    2nd-order low-pass: same coefficients, same filtered series to ~1e-12."""
    import numpy as np
    from scipy import signal

    from liftflow.numeric import butter2_lowpass, filtfilt_odd

    rng = np.random.default_rng(5)
    for wn in (0.01, 0.05, 0.2, 0.5, 0.8, 0.95):
        b, a = signal.butter(2, wn)
        b2, a2 = butter2_lowpass(wn)
        assert np.array_equal(b, b2) and np.array_equal(a, a2)
        for n in (15, 31, 600, 3000):
            x = np.cumsum(rng.normal(0, 1, n)) + 700.0
            pad = int(min(n - 1, max(30, round(3 / wn))))
            ref = signal.filtfilt(b, a, x, padtype="odd", padlen=pad)
            assert np.max(np.abs(filtfilt_odd(b2, a2, x, pad) - ref)) < 1e-8


def test_numpy_not_a_knot_spline_matches_scipy():
    """liftflow.numeric.CubicSplineNAK replaces scipy.interpolate.CubicSpline (an import of
    ~0.3 s) for the velocity/acceleration splines and the VFR resampling: same values and
    first derivatives, at the knots, between them and beyond the ends."""
    import numpy as np
    from scipy.interpolate import CubicSpline

    from liftflow.numeric import CubicSplineNAK

    rng = np.random.default_rng(11)
    for n in (4, 5, 7, 120, 1800):
        grids = (np.arange(n) / 60.0, np.arange(n) / 30.0 + rng.uniform(-0.004, 0.004, n),
                 np.cumsum(rng.uniform(0.005, 0.08, n)))  # uniform, jittered, variable rate
        for x in grids:
            y = np.cumsum(rng.normal(0, 1, n)) + 500.0
            xq = np.concatenate([x, rng.uniform(x[0] - 0.1, x[-1] + 0.1, 40)])
            ref, ours = CubicSpline(x, y, bc_type="not-a-knot"), CubicSplineNAK(x, y)
            for nu in (0, 1):
                r = ref(xq, nu)
                assert np.max(np.abs(ours(xq, nu) - r)) <= 1e-11 * max(1.0, np.max(np.abs(r)))
    with pytest.raises(ValueError):
        CubicSplineNAK([0.0, 1.0, 2.0], [1.0, 2.0, 3.0])  # too few points for not-a-knot
    with pytest.raises(ValueError):
        CubicSplineNAK([0.0, 1.0, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0])  # not increasing


def test_metrics_do_not_import_scipy():
    """The default metrics path (squat, no pose) runs on numpy alone: scipy.signal and
    scipy.interpolate each cost more to import than the whole step."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from liftflow_tests.physics.test_physics import make_obs\n"
        "from liftflow.physics import compute_metrics, PhysicsParams\n"
        "t = np.arange(0, 6, 1 / 60)\n"
        "obs = make_obs(t, 0 * t, 0.4 * np.sin(2 * np.pi * t / 3), noise_px=0.4)\n"
        "compute_metrics(obs, list(t), PhysicsParams())\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
