"""ResultsContract assembly: the frozen v2.0.0 fields, and the additions of 2.1.0."""

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


def test_model_rejects_a_broken_contract():
    res = build_result("abc12345-def6", INFO, [_obs(0)], physics=None)
    res["tracks"][0]["frames"]["0"]["confidence"] = 1.5
    with pytest.raises(ValidationError):
        ResultsContract.model_validate(res)
