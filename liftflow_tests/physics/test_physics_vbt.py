"""Issue #18 in the physics: velocity loss within the set (against the synthetic truth), the
load (power and energy scale with it; "assumed" when not given) and the verdict of a path."""

from __future__ import annotations

import numpy as np
import pytest

from liftflow.physics import PhysicsParams, compute_metrics
from liftflow.physics.params import MAX_LOAD_KG, check_load_kg
from liftflow.physics.reps import velocity_loss
from test_physics import make_obs, squat_path
from test_physics_synth_truth import _clip


def _true_losses(reps: list[dict]) -> list[float]:
    mcv = [r["mean_concentric_velocity_m_s"] for r in reps]
    return [(max(mcv) - v) / max(mcv) * 100 for v in mcv]


# ---------------------------------------------------------------- velocity loss

@pytest.mark.parametrize("profile,fps,seed,vfr", [(p, fps, seed, vfr) for p in ("squat", "deadlift")
                                                  for fps in (30.0, 60.0) for seed, vfr in ((0, False), (1, True))])
def test_velocity_loss_on_the_synthetic_truth(profile, fps, seed, vfr):
    """The synthetic sets slow down by a known share per rep (6 % squat, 5 % deadlift): each
    rep's loss against the fastest, and the set's (fastest to last), within 4 percentage
    points of the truth (a 0.02 m/s MCV error is ~4 % of a 0.5 m/s rep)."""
    obs, t, m, _ = _clip(profile, fps, seed, noise_px=0.15, vfr=vfr, unrack=(profile == "squat"))
    res = compute_metrics(obs, list(t), PhysicsParams(lift_type=profile))
    reps, s = res["reps"], res["summary"]
    truth = _true_losses(m.reps)
    assert len(reps) == len(truth) == 3 and truth[-1] > 9  # the truth does slow down
    for found, true in zip(reps, truth):
        assert found["velocity_loss_pct"] == pytest.approx(true, abs=4.0)
    assert s["velocity_loss_reference_rep"] == 1  # the first rep is the fastest of these sets
    assert s["velocity_loss_pct"] == pytest.approx(truth[-1], abs=4.0)
    assert s["velocity_loss_pct"] == reps[-1]["velocity_loss_pct"]
    # from the reported velocities, as a client would recompute it
    best = max(r["mean_concentric_velocity_m_s"] for r in reps)
    for r in reps:
        assert r["velocity_loss_pct"] == round((best - r["mean_concentric_velocity_m_s"]) / best * 100, 2)


def test_velocity_loss_reference_is_the_fastest_rep_not_the_first():
    reps = [{"rep": i + 1, "mean_concentric_velocity_m_s": v} for i, v in enumerate((0.50, 0.60, 0.45))]
    assert velocity_loss(reps) == {"velocity_loss_pct": 25.0, "velocity_loss_reference_rep": 2}
    assert [r["velocity_loss_pct"] for r in reps] == [16.67, 0.0, 25.0]


def test_velocity_loss_of_one_rep_and_of_none():
    one = [{"rep": 1, "mean_concentric_velocity_m_s": 1.2}]
    assert velocity_loss(one) == {"velocity_loss_pct": None, "velocity_loss_reference_rep": 1}
    assert one[0]["velocity_loss_pct"] == 0.0
    assert velocity_loss([]) == {"velocity_loss_pct": None, "velocity_loss_reference_rep": None}


def test_velocity_loss_is_defined():
    t, y, _ = squat_path(reps=2)
    res = compute_metrics(make_obs(t, np.zeros_like(y), y), list(t), PhysicsParams(lift_type="squat"))
    d = res["definitions"]
    assert "fastest rep" in d["reps.velocity_loss_pct"]["how"] and d["reps.velocity_loss_pct"]["unit"] == "%"
    assert "to the last rep" in d["summary.velocity_loss_pct"]["how"]
    assert "fastest rep" in d["summary.velocity_loss_reference_rep"]["how"]
    assert res["reps"][0]["mean_concentric_velocity_m_s"] > 0  # MCV stays rise / duration
    assert "rise / duration" in d["reps.mean_concentric_velocity_m_s"]["how"]


# ---------------------------------------------------------------- the load

def _squat(load_kg=None):
    t, y, _ = squat_path(reps=2)
    return compute_metrics(make_obs(t, np.zeros_like(y), y), list(t),
                           PhysicsParams(lift_type="squat", load_kg=load_kg))


def test_power_and_energy_scale_with_the_load_given():
    assumed, given = _squat(), _squat(120.0)
    assert assumed["load"] == {"load_kg": 60.0, "origin": "assumed",
                               "assumed_from": {"bar_mass_kg": 20.0, "plate_mass_kg": 20.0, "plate_count": 2}}
    assert given["load"] == {"load_kg": 120.0, "origin": "given"}
    for key in ("power_w", "kinetic_energy_j", "potential_energy_j"):
        a, g = np.array(assumed["metrics"][key]), np.array(given["metrics"][key])
        assert np.allclose(g, 2 * a, atol=0.02), key
    assert given["summary"]["peak_power_w"] == pytest.approx(2 * assumed["summary"]["peak_power_w"], abs=0.02)
    assert given["reps"][0]["peak_power_w"] == pytest.approx(2 * assumed["reps"][0]["peak_power_w"], abs=0.02)
    assert given["summary"]["mass_kg"] == 120.0
    # kinematics do not depend on the load
    assert given["metrics"]["vy_m_s"] == assumed["metrics"]["vy_m_s"]


def test_an_assumed_load_says_so_loudly():
    assumed, given = _squat(), _squat(80.0)
    [w] = [w for w in assumed["warnings"] if w.startswith("load not given")]
    assert "60 kg" in w and "load_kg" in w
    assert not any(w.startswith("load not given") for w in given["warnings"])
    d = assumed["definitions"]
    assert "assumed" in d["load.origin"]["how"] and d["load.load_kg"]["unit"] == "kg"


@pytest.mark.parametrize("value", [0, -5, float("nan"), float("inf"), MAX_LOAD_KG + 1, "heavy", True])
def test_a_load_that_cannot_be_is_refused(value):
    with pytest.raises(ValueError, match="load_kg must be"):
        check_load_kg(value)
    with pytest.raises(ValueError, match="load_kg must be"):
        PhysicsParams(load_kg=value)


def test_a_load_given_as_text_is_read():
    assert check_load_kg("102.5") == 102.5 and check_load_kg(" ") is None and check_load_kg(None) is None
    assert check_load_kg(MAX_LOAD_KG) == MAX_LOAD_KG


# ---------------------------------------------------------------- the verdict of a path

def test_verdict_of_a_path():
    assert _squat()["verdict"]["code"] == "ok"
    t, y, _ = squat_path(reps=2, rom=0.08)  # a bob, under the rep threshold
    res = compute_metrics(make_obs(t, np.zeros_like(y), y), list(t), PhysicsParams(lift_type="squat"))
    assert res["verdict"]["code"] == "no_reps" and res["reps"] == []
    assert res["summary"]["velocity_loss_pct"] is None
    still = compute_metrics(make_obs(t, np.zeros_like(y), np.zeros_like(y)), list(t), PhysicsParams())
    assert still["verdict"]["code"] == "no_motion"
    one = compute_metrics(make_obs(t[:1], [0.0], [0.0]), list(t), PhysicsParams())
    assert one["verdict"]["code"] == "too_few_tracked_frames" and "1 of" in one["verdict"]["message"]
    assert one["load"]["origin"] == "assumed" and "verdict.code" in one["definitions"]
