"""Issue #18 item 4 through the steps (``run_job``, what ``liftflow analyze`` runs): the
synthetic clips on which the plate cannot be followed fail or complete with a verdict, and
what a job is given as its load reaches the physics.

The bad clips come from the project's generator (``liftflow.synth``): a front view (the
plate edge-on), a clip with no plate, a plate that leaves the frame, a bar that never moves.
"""

from __future__ import annotations

import json

import pytest

from liftflow.jobstore import JobFolder, new_meta
from liftflow.pipeline import AnalysisRequest
from liftflow.pipeline.run import run_job
from liftflow.synth import SynthSpec, generate_clip

SMALL = dict(profile="squat", reps=2, width=320, height=240, plate_radius_px=36, fps=30, seed=3)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("verdict-clips")
    made: dict = {}

    def get(name: str, **kw):
        if name not in made:
            made[name] = (root / f"{name}.mp4", generate_clip(root / f"{name}.mp4", SynthSpec(**{**SMALL, **kw})))
        return made[name]

    return get


def _run(tmp_path, clip, seeded=True, **req):
    """run_job on ``clip`` (seeded at its first frame where the plate is fully seen, else 0):
    (job_meta.json, result.json or None)."""
    path, truth = clip
    folder = JobFolder(tmp_path / "job", "abcdef12-3456")
    folder.create()
    folder.write_meta(new_meta(folder.job_id, source={"type": "local"}, benchmark={}, model_config={}))
    if seeded:
        f = next((i for i, v in enumerate(truth.visibility) if v == "visible"), 0)
        req.update(disc_center_x=truth.x[f], disc_center_y=truth.y[f], disc_radius=truth.r[f], seed_frame=f)
    out = run_job(folder, "run-1", AnalysisRequest(video_path=str(path), lift_type="squat", render=False, **req))
    return folder.read_meta(), (json.loads(out.read_text()) if out else None)


def test_front_view_fails_with_too_few_tracked_frames(tmp_path, clips):
    """The case of the issue: plates edge-on, 1 tracked frame. It used to complete with zero
    metrics; now it fails (nothing to read) with the reason code and what to change."""
    meta, result = _run(tmp_path, clips("front", view="front"))
    assert result is None and meta["status"] == "failed"
    assert meta["error"]["step"] == "compute_metrics"
    assert meta["verdict"]["code"] == "too_few_tracked_frames"
    assert meta["verdict"]["message"] == meta["error"]["reason"]
    assert "of 202 frames" in meta["error"]["reason"] and "from the side" in meta["error"]["reason"]


def test_no_plate_and_no_seed_fails_with_no_plate_detected(tmp_path, clips):
    meta, result = _run(tmp_path, clips("bare", view="no_plate", clutter=False, reps=1), seeded=False)
    assert result is None and meta["error"]["step"] == "track_disc"
    assert meta["verdict"]["code"] == "no_plate_detected" and "no weight plate found" in meta["error"]["reason"]


def test_no_plate_with_a_seed_fails_with_too_few_tracked_frames(tmp_path, clips):
    meta, _ = _run(tmp_path, clips("no-plate", view="no_plate"))
    assert meta["status"] == "failed" and meta["verdict"]["code"] == "too_few_tracked_frames"


def test_plate_leaving_the_frame_completes_with_plate_lost(tmp_path, clips):
    """The squat framed so the plate is above the picture whenever the lifter stands: followed
    in a quarter of the frames. The job completes (the bottom halves of the reps are real
    figures) and says what they cover."""
    meta, result = _run(tmp_path, clips("exit", leave_frame=True))
    assert meta["status"] == "completed" and result["status"] == "completed"
    assert result["verdict"]["code"] == "plate_lost" and meta["verdict"] == result["verdict"]
    assert "cover only" in result["verdict"]["message"]
    assert result["summary"]["analysed_frames"] < 0.5 * result["summary"]["total_frames"]


def test_a_bar_that_never_moves_completes_with_no_motion(tmp_path, clips):
    meta, result = _run(tmp_path, clips("still", reps=1, lead_in_s=3.0, tail_s=0.0, duration_s=2.5))
    assert meta["status"] == "completed" and result["verdict"]["code"] == "no_motion"
    assert result["reps"] == [] and result["summary"]["velocity_loss_pct"] is None


def test_a_good_clip_is_ok_and_its_load_is_given_or_assumed(tmp_path, clips, synth_clip):
    meta, assumed = _run(tmp_path / "a", synth_clip)
    assert meta["status"] == "completed" and assumed["verdict"]["code"] == "ok"
    assert meta["verdict"] == assumed["verdict"]
    assert assumed["load"]["origin"] == "assumed" and assumed["load"]["load_kg"] == 60.0
    assert any(w.startswith("load not given") for w in assumed["warnings"])
    _, given = _run(tmp_path / "g", synth_clip, load_kg=150.0)
    assert given["load"] == {"load_kg": 150.0, "origin": "given"}
    assert not any(w.startswith("load not given") for w in given["warnings"])
    assert given["summary"]["peak_power_w"] == pytest.approx(2.5 * assumed["summary"]["peak_power_w"], abs=0.05)
    assert [r["peak_power_w"] for r in given["reps"]] == pytest.approx(
        [2.5 * r["peak_power_w"] for r in assumed["reps"]], abs=0.05)
    assert [r["velocity_loss_pct"] for r in given["reps"]] == [r["velocity_loss_pct"] for r in assumed["reps"]]
    assert given["results_contract_version"] == "2.4.0"
