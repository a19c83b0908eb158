"""ResultsContract assembly: the frozen v2.0.0 fields, and the additions of 2.1.0, 2.2.0, 2.3.0 and 2.4.0."""

import pytest
from pydantic import ValidationError

from liftflow.contract import RESULTS_CONTRACT_VERSION, ResultsContract, build_result

INFO = {"fps": 30.0, "width": 640, "height": 480, "duration_s": 0.1, "frame_count": 3,
        "rotation": 0, "variable_frame_rate": False}


def _obs(i, tracked=True):
    if not tracked:
        return {"frame": i, "t_s": i / 30, "state": "lost", "confidence": 0.0, "center": None,
                "radius": None, "ellipse": None, "polygon": None}
    return {"frame": i, "t_s": i / 30, "state": "tracked", "confidence": 0.9,
            "center": [100.0 + i, 200.0], "radius": 50.0, "ellipse": None,
            "polygon": [[150.0 + i, 200.0], [100.0 + i, 250.0], [50.0 + i, 200.0], [100.0 + i, 150.0]]}


def test_disc_track_and_contract_shape():
    res = build_result("abc12345-def6", INFO, [_obs(0), _obs(1, tracked=False), _obs(2)], physics=None)
    assert res["results_contract_version"] == RESULTS_CONTRACT_VERSION
    (disc,) = res["tracks"]
    assert disc["class_name"] == "frisbee" and disc["track_id"] == 1
    assert list(disc["frames"]) == ["0", "2"]  # lost frames are absent, never invented
    f0 = disc["frames"]["0"]
    assert f0["center"] == [100.0, 200.0] and f0["radius"] == 50.0
    assert f0["bbox"] == {"x1": 50.0, "y1": 150.0, "x2": 150.0, "y2": 250.0}
    assert disc["trajectory"] == [[100.0, 200.0], [102.0, 200.0]]
    assert res["summary"]["total_frames"] == 3 and res["metrics"]["frames"] == []
    assert res["metadata"] == {**{k: INFO[k] for k in ("fps", "width", "height", "duration_s")},
                               "total_frames": 3, "rotation": 0, "variable_frame_rate": False}


def test_physics_sections_pass_through_and_person_track():
    physics = {"metrics": {k: [0.0] for k in ("frames", "time_s", "x_m", "y_m", "height_m", "vx_m_s",
                                             "vy_m_s", "speed_m_s", "accel_m_s2", "kinetic_energy_j",
                                             "potential_energy_j", "total_energy_j", "power_w")},
               "summary": {"peak_speed_m_s": 1.0, "rep_count": 1}, "reps": [{"x": 1}], "definitions": {}}
    pose = {"enabled": True, "person_track": {"frames": {"0": {"bbox": {"x1": 0, "y1": 0, "x2": 1, "y2": 1},
                                                              "confidence": 0.5, "keypoints": [[0, 0, 1]]}},
                                              "trajectory": [[0.5, 0.5]]}}
    res = build_result("abc12345-def6", INFO, [_obs(0)], physics, pose=pose)
    assert res["reps"] == [{"x": 1}] and res["summary"]["rep_count"] == 1
    assert [t["class_name"] for t in res["tracks"]] == ["frisbee", "person"]


def test_summary_keeps_the_v2_meanings_and_adds_the_lift_figures():
    """lift_duration_s is the video's duration (metadata.duration_s, the v2.0.0 meaning)
    whatever physics computed; the lift-only figures ride under their own keys, null when
    physics is missing; the model accepts both."""
    physics = {"summary": {"peak_speed_m_s": 5.2, "peak_power_w": 9000.0, "lift_duration_s": 0.1,
                           "peak_speed_lift_m_s": 1.9, "peak_power_lift_w": 3800.0,
                           "moving_duration_s": 1.25, "rep_count": 1}}
    info = {**INFO, "duration_s": 7.7667}
    res = build_result("abc12345-def6", info, [_obs(0)], physics)
    s = res["summary"]
    assert s["lift_duration_s"] == res["metadata"]["duration_s"] == 7.7667
    assert (s["peak_speed_m_s"], s["peak_power_w"]) == (5.2, 9000.0)
    assert (s["peak_speed_lift_m_s"], s["peak_power_lift_w"], s["moving_duration_s"]) == (1.9, 3800.0, 1.25)
    res = build_result("abc12345-def6", INFO, [_obs(0)], physics=None)
    s = res["summary"]
    assert s["lift_duration_s"] == INFO["duration_s"] and s["peak_speed_m_s"] is None
    assert s["peak_speed_lift_m_s"] is None and s["peak_power_lift_w"] is None and s["moving_duration_s"] is None
    m = ResultsContract.model_validate(res).summary
    assert m.lift_duration_s == INFO["duration_s"] and m.moving_duration_s is None


def _editable(res: dict) -> dict:
    """``res`` with its disc track's frame entries as plain dicts (built results hold them
    read-only, in a ``DiscFrames``)."""
    disc = res["tracks"][0]
    disc["frames"] = {k: dict(e) for k, e in disc["frames"].items()}
    return res


def test_model_rejects_a_broken_contract():
    res = build_result("abc12345-def6", INFO, [_obs(0)], physics=None)
    with pytest.raises(TypeError):  # read-only: an edit would be lost, so it fails loudly
        res["tracks"][0]["frames"]["0"]["confidence"] = 1.5
    _editable(res)["tracks"][0]["frames"]["0"]["confidence"] = 1.5
    with pytest.raises(ValidationError):
        ResultsContract.model_validate(res)


def test_disc_track_rounds_per_array_exactly_like_python_round():
    """The vectorised disc_track gives the very same entries as one round() per value
    (ties, outlines with and without points, ellipses, clamped confidence, lost frames)."""
    import random

    from liftflow.contract.assemble import _disc_track_slow, disc_track

    rnd = random.Random(7)
    obs = []
    for i in range(300):
        if i % 37 == 5:
            obs.append(_obs(i, tracked=False))
            continue
        cx, cy, r = rnd.uniform(0, 1080), rnd.uniform(0, 1920), rnd.uniform(20, 200)
        n = 0 if i % 29 == 3 else rnd.choice([8, 48])
        # coordinates on a 0.05 grid: many exact-looking ties at one decimal
        poly = [[round(cx + rnd.uniform(-r, r), 2), round(cy + rnd.uniform(-r, r), 2)] for _ in range(n)]
        if poly and i % 4 == 0:  # the classic tracker gives its outline as an (n, 2) array
            import numpy as np

            poly = np.array(poly)
        obs.append({"frame": i, "t_s": i / 60, "state": "tracked", "confidence": rnd.uniform(-0.2, 1.2),
                    "center": [cx, cy], "radius": r, "polygon": poly if len(poly) else None,
                    "ellipse": [r * 1.1, r * 0.9, rnd.uniform(-90, 90)] if i % 3 else None})
    fast = disc_track(obs)
    # outlines are compact arrays in memory, [[x, y], ...] once written
    assert all(type(e["mask"]).__name__ == "ndarray" for e in fast["frames"].values())
    assert _plain(fast) == _disc_track_slow(obs)
    assert _plain(disc_track([o for o in obs if type(o.get("polygon")) is not list])) == \
        _disc_track_slow([o for o in obs if type(o.get("polygon")) is not list])
    assert _plain(disc_track([_obs(1, tracked=False)])) == _disc_track_slow([])


def _plain(obj):
    """``obj`` as written to JSON and read back (arrays become lists)."""
    import json

    return json.loads(json.dumps(obj, default=_listed))


def _listed(obj):
    from collections.abc import Mapping

    return dict(obj.items()) if isinstance(obj, Mapping) else obj.tolist()


def test_round_array_equals_python_round():
    import numpy as np

    from liftflow.numeric import round_array, round_list

    rng = np.random.default_rng(3)
    for a in (rng.normal(0, 50, 20000), np.arange(-2000, 2000) / 200.0,
              np.array([0.285, 2.675, 1.005, 0.125, -0.125, 2.5, -2.5, -0.04, 0.0, 1e17])):
        for k in range(7):
            assert round_array(a, k).tolist() == [round(float(v), k) for v in a]
    assert round_list([1.23456, float("nan"), float("inf")], 2) == [1.23, None, None]
    # long inputs go block by block: ties and non-finite values in several blocks
    from liftflow import numeric

    ties = np.array([0.285, 2.675, 1.005, 0.125, -0.125, 2.5, float("nan"), float("inf"), 1e17])
    a = np.concatenate([rng.normal(0, 500, 3 * numeric._BLOCK), np.tile(ties, 9000)])
    rng.shuffle(a)
    a = a.reshape(-1, 3)[:, :2]  # not contiguous
    for k in (1, 2):
        got = round_array(a, k)
        assert got.shape == a.shape
        assert np.array_equal(got, np.array([[round(float(v), k) for v in row] for row in a]), equal_nan=True)


def test_disc_frames_is_a_read_only_mapping_of_the_entries():
    import pickle

    import numpy as np

    from liftflow.contract.assemble import _disc_track_slow, disc_track

    obs = [_obs(i) for i in (3, 5, 12)]
    frames = disc_track(obs)["frames"]
    slow = _disc_track_slow(obs)["frames"]
    assert len(frames) == 3 and list(frames) == ["3", "5", "12"] and "5" in frames
    for missing in ("4", "05", " 5", 5, "x", "13", "-1"):
        assert missing not in frames and frames.get(missing) is None
    assert _plain(frames) == slow and frames == _plain(frames) and _plain(frames) == frames
    assert _plain(pickle.loads(pickle.dumps(frames))) == slow
    with pytest.raises(TypeError):
        frames["5"] = {}
    from liftflow.contract.assemble import _tenths

    assert _tenths(np.array([[3e8, 1.0]])) is None  # beyond int32 tenths: kept as doubles
    assert _tenths(np.array([[0.25, -0.35], [1e7 + 0.05, 2.0]])).tolist() == [[2, -3], [100000001, 20]]
    # frames out of order or repeated: the order and values a dict built row by row has
    obs = [_obs(i) for i in (7, 2, 7, 4)]
    obs[2]["center"] = [1.0, 2.0]
    assert list(disc_track(obs)["frames"]) == ["7", "2", "4"]
    assert _plain(disc_track(obs)) == _disc_track_slow(obs)


def test_result_json_is_streamed_compact_with_the_same_content(tmp_path):
    import json

    from liftflow.jobstore import read_json, write_result_json

    res = build_result("abc12345-def6", INFO, [_obs(i) for i in range(100)], physics=None)
    write_result_json(tmp_path / "result.json", res)
    text = (tmp_path / "result.json").read_text()
    assert text == json.dumps(res, separators=(",", ":"), default=_listed) + "\n"
    assert read_json(tmp_path / "result.json") == _plain(res)
    with pytest.raises(ValueError):
        write_result_json(tmp_path / "bad.json", {"a": [{"b": float("nan")}] * 100})
    assert not (tmp_path / "bad.json").exists()


def test_frame_entries_are_validated_one_by_one_with_the_full_location():
    from liftflow.contract.assemble import validate_result

    res = build_result("abc12345-def6", INFO, [_obs(0), _obs(2)], physics=None)
    res["tracks"].append({"track_id": 2, "class_name": "person", "trajectory": [],
                          "frames": {"0": {"confidence": 0.5}, "1": {"confidence": 2.0}}})
    with pytest.raises(ValidationError) as e:
        validate_result(res)
    assert "tracks.1.frames.1.confidence" in str(e.value)
    res["tracks"].pop()
    _editable(res)["tracks"][0]["frames"]["2"]["mask"] = [["a", 1.0]]
    with pytest.raises(ValidationError, match="tracks.0.frames.2.mask"):
        validate_result(res)
    import numpy as np

    res["tracks"][0]["frames"]["2"]["mask"] = np.array([["a", "1.0"]])  # an array, not of floats
    with pytest.raises(ValidationError, match="tracks.0.frames.2.mask"):
        validate_result(res)
    res["tracks"][0]["frames"]["2"]["mask"] = np.array([1.0, 2.0])  # not [[x, y], ...]
    with pytest.raises(ValidationError, match="tracks.0.frames.2.mask"):
        validate_result(res)
    res["tracks"][0]["frames"]["2"]["mask"] = np.array([[1.0, 2.0], [3.0, 4.0]])
    validate_result(res)


def test_disc_frames_are_validated_on_their_columns_with_the_full_location():
    """validate_result checks a DiscFrames' confidences on the column (the model's only
    constraint on what it holds) and any offending entry through the model itself."""
    import numpy as np

    from liftflow.contract.assemble import DiscFrames, validate_result

    res = build_result("abc12345-def6", INFO, [_obs(0), _obs(1), _obs(2)], physics=None)
    validate_result(res)
    n = 3

    def frames(conf):
        return DiscFrames(frames=[0, 1, 2], mask=np.zeros((0, 2)), lens=np.zeros(n, int),
                          box=np.zeros((n, 4)), conf=np.array(conf, float), centre=np.zeros((n, 2)),
                          rad=np.ones(n), ellipse=np.full((n, 3), np.nan), has_ellipse=np.zeros(n, bool))

    for conf, where in (([0.5, 1.5, 0.2], "1"), ([0.5, 0.4, float("nan")], "2"), ([-0.1, 0.5, 0.5], "0")):
        res["tracks"][0]["frames"] = frames(conf)
        with pytest.raises(ValidationError, match=f"tracks.0.frames.{where}.confidence"):
            validate_result(res)
    res["tracks"][0]["frames"] = frames([0.0, 1.0, 0.5])
    validate_result(res)


def test_2_3_0_load_and_verdict_pass_through_and_are_checked():
    physics = {"summary": {"rep_count": 2, "velocity_loss_pct": 6.5, "velocity_loss_reference_rep": 1},
               "reps": [{"velocity_loss_pct": 0.0}, {"velocity_loss_pct": 6.5}],
               "load": {"load_kg": 60.0, "origin": "assumed"}, "verdict": {"code": "ok", "message": "fine"}}
    res = build_result("abc12345-def6", INFO, [_obs(0)], physics)
    assert RESULTS_CONTRACT_VERSION == "2.4.0"
    assert res["load"] == physics["load"] and res["verdict"] == physics["verdict"]
    assert res["summary"]["velocity_loss_pct"] == 6.5 and res["reps"][1]["velocity_loss_pct"] == 6.5
    bare = build_result("abc12345-def6", INFO, [_obs(0)], physics=None)
    assert "load" not in bare and "verdict" not in bare and bare["summary"]["velocity_loss_pct"] is None
    for bad in ({"verdict": {"code": "fine", "message": ""}}, {"load": {"load_kg": 0, "origin": "given"}},
                {"load": {"load_kg": 60.0, "origin": "guessed"}}):
        with pytest.raises(ValidationError):
            build_result("abc12345-def6", INFO, [_obs(0)], {**physics, **bad})


def test_uncertainty_and_setup_quality_pass_through():
    """Issue #18: reps[].uncertainty rides in the rep, setup_quality is its own key."""
    sq = {"verdict": "fair", "checks": [{"name": "frame_rate", "value": 30.0, "status": "warn",
                                         "advice": "film at 60 fps"}], "advice": ["film at 60 fps"]}
    physics = {"summary": {"rep_count": 1}, "setup_quality": sq,
               "reps": [{"mean_concentric_velocity_m_s": 0.5,
                         "uncertainty": {"mean_concentric_velocity_m_s": 0.03}}]}
    res = build_result("abc12345-def6", INFO, [_obs(0)], physics)
    assert res["setup_quality"] == sq
    assert res["reps"][0]["uncertainty"] == {"mean_concentric_velocity_m_s": 0.03}
    assert "setup_quality" not in build_result("abc12345-def6", INFO, [_obs(0)], physics=None)
