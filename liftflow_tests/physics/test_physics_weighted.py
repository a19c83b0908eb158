"""Positions weighted by the tracker's per-frame centre uncertainty (``center_sd_px``).

The weighted cubic smoothing spline (``liftflow.numeric.smoothing_spline``) has the
filtfilt's response on evenly weighted samples; where the tracker says some frames are less
certain (a rim partly hidden by the lifter's body, a blurred frame), they pull the path less.
Synthetic lifts from the closed-form paths of ``liftflow.synth.profiles``, no video.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from liftflow.numeric import smoothing_spline
from liftflow.physics import PhysicsParams, compute_metrics
from liftflow.physics import filtering as flt
from liftflow.synth import profiles
from liftflow.tracking.base import DiscObservation
from liftflow.tracking.table import ObservationTable

R_PX = 28.0  # a small plate: a 30 fps phone filming from afar (the benchmark's hard case)
PX_PER_M = 2 * R_PX / 0.45


def test_smoothing_spline_matches_scipy():
    from scipy.interpolate import make_smoothing_spline

    rng = np.random.default_rng(3)
    for n in (5, 7, 400):
        x = np.cumsum(rng.uniform(0.01, 0.05, n))
        y = np.sin(5 * x) + rng.normal(0, 0.1, n)
        w = rng.uniform(0.2, 2.0, n)
        for lam in (1e-7, 1e-3, 10.0):
            g, d = smoothing_spline(x, y, w, lam)
            ref = make_smoothing_spline(x, y, w=w, lam=lam)
            assert np.abs(g - ref(x)).max() < 1e-9
            assert np.abs(d - ref.derivative()(x)).max() < 1e-7


def test_smoothing_spline_refuses_bad_input():
    with pytest.raises(ValueError, match="at least 3"):
        smoothing_spline([0.0, 1.0], [0.0, 1.0], [1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="increasing"):
        smoothing_spline([0.0, 1.0, 1.0], [0.0, 1.0, 2.0], [1.0] * 3, 1.0)
    with pytest.raises(ValueError, match="positive"):
        smoothing_spline([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [1.0, 0.0, 1.0], 1.0)


def test_even_weights_give_the_response_the_cut_off_names():
    """H(f) = 1 / (1 + (f / f_d)^4), f_d = f_c / 0.802: -3 dB at the cut-off (the analogue
    response of the 2nd-order Butterworth run twice; the digital filtfilt's differs near
    Nyquist: at 30 fps it passes 0.78 at 6 Hz, from the bilinear transform's warping)."""
    fs, fc = 30.0, 6.0
    t = np.arange(900) / fs
    fd = fc / flt.DOUBLE_PASS_CORRECTION
    for f in (1.0, 3.0, fc, 9.0):
        z = np.sin(2 * np.pi * f * t)
        zs, _v, _a, method, _r = flt.smooth_segment(t, z, fc, np.ones(len(t)))
        assert method == "weighted_smoothing_spline"
        mid = slice(200, 700)  # away from the ends
        gain = np.sqrt(np.mean(zs[mid] ** 2) / np.mean(z[mid] ** 2))
        assert gain == pytest.approx(1.0 / (1.0 + (f / fd) ** 4), abs=0.02)
    z = np.sin(2 * np.pi * fc * t)
    zs = flt.smooth_segment(t, z, fc, np.ones(len(t)))[0]
    assert np.sqrt(np.mean(zs[200:700] ** 2) / np.mean(z[200:700] ** 2)) == pytest.approx(1 / math.sqrt(2), abs=0.01)


def test_position_weights():
    assert flt.position_weights(np.full(5, np.nan)) is None
    w = flt.position_weights(np.array([0.1, 0.1, np.nan, 0.1, 1.0]))
    assert w.mean() == pytest.approx(1.0)
    assert w[2] == pytest.approx(w[0])  # no sd: the run's median
    assert w[4] < 0.05 * w[0]  # ten times less certain: far less weight
    # the floor: a frame far surer than the rest weighs at most twice a typical one
    w = flt.position_weights(np.array([0.001, 0.2, 0.2, 0.2, 0.2]))
    assert w[0] / w[1] <= 2.0 + 1e-9


def _snatch(seed: int, fps: float = 30.0, sd_given: str = "each"):
    """A snatch with 0.1 px noise on most frames and 0.9 px on a random fifth of them (the
    plate partly behind the lifter). ``sd_given``: "each" (each frame's sd, as the tracker
    gives it), "even" (one sd for every frame: evenly weighted) or "none"."""
    rng = np.random.default_rng(seed)
    m = profiles.build("snatch", 0.7, 1, np.random.default_rng(seed + 1000), False)
    t = profiles.frame_times(m.end_s + 0.7, fps, rng, False)
    x_m, h_m = m.pos(t)
    sd = np.where(rng.random(len(t)) < 0.2, 0.9, 0.1)
    px = 640 + x_m * PX_PER_M + rng.normal(0, 1, len(t)) * sd
    py = 600 - h_m * PX_PER_M + rng.normal(0, 1, len(t)) * sd
    given = {"each": sd, "even": np.full(len(t), 0.3), "none": [None] * len(t)}[sd_given]
    obs = [DiscObservation(i, float(t[i]), "tracked", 1.0, (float(px[i]), float(py[i])), R_PX,
                           center_sd_px=None if given[i] is None else float(given[i]))
           for i in range(len(t))]
    dense = np.linspace(0, m.end_s + 0.7, 40000)
    return obs, t, float(np.max(m.h(dense, 1)))


def _pvv_errors(sd_given: str) -> list[float]:
    errs = []
    for seed in range(8):
        obs, t, pvv = _snatch(seed, sd_given=sd_given)
        res = compute_metrics(obs, list(t), PhysicsParams(lift_type="snatch", m_per_px=1 / PX_PER_M))
        want = "butterworth_filtfilt" if sd_given == "none" else "weighted_smoothing_spline"
        assert res["filter"]["name"] == want
        assert (res["filter"]["position_weights"] is None) == (sd_given == "none")
        errs.append(res["summary"]["peak_vertical_velocity_m_s"] - pvv)
    return errs


def _rms(e) -> float:
    return float(np.sqrt(np.mean(np.square(e))))


def test_uncertain_frames_pull_the_peak_velocity_less():
    each, even, none = (_pvv_errors(k) for k in ("each", "even", "none"))
    # the weights themselves, against the same spline evenly weighted
    assert _rms(each) < 0.75 * _rms(even), (each, even)
    # and against the filtfilt without weights (what a tracker without sd gets)
    assert _rms(each) < 0.75 * _rms(none), (each, none)
    assert max(map(abs, each)) <= 0.04, each


def test_no_sd_keeps_the_butterworth_results():
    obs, t, _ = _snatch(0, sd_given="none")
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type="snatch"))
    table = ObservationTable.from_observations(obs)
    assert table.center_sd_at(0) is None
    again = compute_metrics(table, list(t), PhysicsParams(lift_type="snatch"))
    assert res["metrics"] == again["metrics"]
    assert res["filter"]["segment_methods"] == ["butterworth_filtfilt"]


def test_the_table_keeps_center_sd():
    obs, t, _ = _snatch(1)
    table = ObservationTable.from_observations(obs)
    assert [table[i].center_sd_px for i in range(5)] == [o.center_sd_px for o in obs[:5]]
    assert table[3].to_dict()["center_sd_px"] == obs[3].center_sd_px
    assert DiscObservation.from_dict(obs[3].to_dict()) == obs[3]
    # a table pickled before the column existed reads as "no sd"
    del table.__dict__["center_sd"]
    assert table.center_sd_at(2) is None
