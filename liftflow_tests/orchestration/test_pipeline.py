"""The lift_analysis job in process: ops, metadata, failure hook, re-execution from failure."""

import json

import pytest
from dagster import DagsterEventType, DagsterInstance

from liftflow.jobstore import JobFolder, new_meta
from liftflow.orchestration.definitions import defs
from liftflow.orchestration.resources import run_config_for

STEPS = ["decode", "track_disc", "estimate_pose", "compute_metrics", "assemble_contract"]


def _job_folder(tmp_path, job_id="abcdef12-3456"):
    folder = JobFolder(tmp_path / job_id, job_id)
    folder.create()
    folder.write_meta(new_meta(job_id, source={"type": "upload", "original_filename": "x.mp4", "asset_id": None},
                               benchmark={"case_id": None, "client_run_id": None, "tags": {}},
                               model_config={}))
    return folder


def _request(folder, video, **kw):
    return {"job_id": folder.job_id, "job_dir": str(folder.path), "video_path": str(video), **kw}


@pytest.fixture
def instance(tmp_path):
    with DagsterInstance.ephemeral(tempdir=str(tmp_path / "dagster")) as inst:
        yield inst


def test_job_runs_and_ops_tell_the_story(tmp_path, instance, synth_clip):
    path, truth = synth_clip
    folder = _job_folder(tmp_path)
    req = _request(folder, path, disc_center_x=truth.x[0], disc_center_y=truth.y[0],
                   disc_radius=truth.r[0], lift_type="squat")
    res = defs.resolve_job_def("lift_analysis").execute_in_process(
        run_config=run_config_for(req), instance=instance, tags={"job_id": folder.job_id})
    assert res.success
    mats = {e.step_key: e for e in res.all_events if e.event_type == DagsterEventType.STEP_OUTPUT}
    assert list(mats) == STEPS
    decode_meta = mats["decode"].step_output_data.metadata
    assert decode_meta["frames"].value == len(truth.frames)
    track_meta = mats["track_disc"].step_output_data.metadata
    assert track_meta["backend"].value == "classic" and track_meta["lost_frames"].value == 0
    assert "peak_speed_m_s" in mats["compute_metrics"].step_output_data.metadata
    # the data team sees the plots in the Dagster UI: markdown with the PNGs inlined
    plots_md = mats["assemble_contract"].step_output_data.metadata["plots"].value
    assert plots_md.count("data:image/png;base64,") == 4
    assert (folder.path / "overlay.mp4").is_file() and (folder.path / "plots" / "velocity.png").is_file()
    meta = folder.read_meta()
    assert meta["status"] == "completed" and set(meta["steps"]) == set(STEPS)
    assert json.loads(folder.file("result.json").read_text())["video_id"] == folder.job_id
    run = instance.get_run_by_id(res.run_id)
    assert run.tags["job_id"] == folder.job_id and "liftflow/worker_pid" in run.tags


def test_failure_hook_records_readable_reason(tmp_path, instance, synth_clip):
    path, _ = synth_clip
    folder = _job_folder(tmp_path)
    req = _request(folder, path, disc_center_x=10, disc_center_y=10, disc_radius=20, seed_frame=10_000)
    res = defs.resolve_job_def("lift_analysis").execute_in_process(
        run_config=run_config_for(req), instance=instance, raise_on_error=False)
    assert not res.success
    meta = folder.read_meta()
    assert meta["status"] == "failed" and meta["error"]["step"] == "decode"
    assert "seed_frame 10000 is outside the video" in meta["error"]["reason"]
    failures = [e for e in res.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert failures[0].step_failure_data.user_failure_data.description == meta["error"]["reason"]
    assert "seed_frame 10000" in folder.file("pipeline.log").read_text()


def test_unavailable_backend_fails_at_once_and_never_substitutes(tmp_path, instance, synth_clip, monkeypatch):
    monkeypatch.setenv("LIFTFLOW_MODELS_DIR", str(tmp_path / "no-models"))
    path, truth = synth_clip
    folder = _job_folder(tmp_path)
    req = _request(folder, path, disc_center_x=truth.x[0], disc_center_y=truth.y[0],
                   disc_radius=truth.r[0], backend="cutie")
    res = defs.resolve_job_def("lift_analysis").execute_in_process(
        run_config=run_config_for(req), instance=instance, raise_on_error=False)
    assert not res.success
    err = folder.read_meta()["error"]
    assert err["step"] == "track_disc"
    assert str(tmp_path / "no-models" / "cutie-base-mega.pth") in err["reason"]


def test_cli_runner_writes_the_same_job_folder_as_the_job(tmp_path, instance, synth_clip):
    """liftflow.pipeline.run.run_job (what `liftflow analyze` runs, no Dagster) and the Dagster
    job share the step bookkeeping: same files, same job_meta.json keys, same result."""
    from liftflow.pipeline import AnalysisRequest
    from liftflow.pipeline.run import run_job

    path, truth = synth_clip
    seed = dict(disc_center_x=truth.x[0], disc_center_y=truth.y[0], disc_radius=truth.r[0],
                lift_type="squat")
    a = _job_folder(tmp_path / "dagster-job")
    res = defs.resolve_job_def("lift_analysis").execute_in_process(
        run_config=run_config_for(_request(a, path, **seed)), instance=instance)
    assert res.success
    b = _job_folder(tmp_path / "cli")
    out = run_job(b, "cli-run", AnalysisRequest(video_path=str(path), **seed))
    assert out == b.file("result.json")

    def listing(folder):
        return sorted(str(p.relative_to(folder.path)) for p in folder.path.rglob("*"))

    assert listing(a) == listing(b)
    ma, mb = a.read_meta(), b.read_meta()
    assert set(ma) == set(mb) and ma["status"] == mb["status"] == "completed"
    assert set(ma["steps"]) == set(mb["steps"]) == set(STEPS) and mb["runs"] == ["cli-run"]
    assert set(ma["runtime"]) == set(mb["runtime"]) and mb["runtime"]["run_id"] == "cli-run"
    assert ma["artefacts"].keys() == mb["artefacts"].keys()
    ra, rb = (json.loads(f.file("result.json").read_text()) for f in (a, b))
    for r in (ra, rb):
        r.pop("processed_at")
        r["tracking"].pop("seconds"), r["tracking"].pop("fps")  # timings
    assert ra == rb
    assert a.file("progress.json").is_file() and b.read_progress()["fraction"] == 1.0
    log = b.file("pipeline.log").read_text()
    assert all(f"[{s}] done in" in log for s in STEPS)
