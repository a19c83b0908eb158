"""JobService's view of a finished lift_analysis run (in process, ephemeral instance): the
verdict of issue #18 in /status, as new fields beside the original's, for a failed and for a
completed job. The failure hook records the verdict code (the Dagster side of run_job's)."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance

from liftflow.jobstore import JobFolder, new_job_id, new_meta
from liftflow.orchestration.definitions import defs
from liftflow.orchestration.resources import run_config_for
from liftflow.orchestration.service import JobService
from liftflow.synth import SynthSpec, generate_clip

STATUS_KEYS = {"video_id", "status", "progress", "current_step", "message", "created_at", "updated_at"}


@pytest.fixture
def service(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFTFLOW_DATA_DIR", str(tmp_path / "data"))
    from liftflow.config import get_settings

    settings = get_settings()
    with DagsterInstance.ephemeral(tempdir=str(tmp_path / "dagster")) as instance:
        yield JobService(settings, instance, launcher=None)


def _run(svc: JobService, video, truth, frame: int, **req) -> dict:
    """One lift_analysis run of ``video`` seeded at ``frame``; the job's /status body."""
    folder = JobFolder.for_job(svc.settings.results_dir, new_job_id())
    folder.create()
    folder.write_meta(new_meta(folder.job_id, source={"type": "upload", "original_filename": "x.mp4",
                                                      "asset_id": None},
                               benchmark={"case_id": None, "client_run_id": None, "tags": {}}, model_config={}))
    lift = {"job_id": folder.job_id, "job_dir": str(folder.path), "video_path": str(video), "render": False,
            "lift_type": "squat", "disc_center_x": truth.x[frame], "disc_center_y": truth.y[frame],
            "disc_radius": truth.r[frame], "seed_frame": frame, **req}
    defs.resolve_job_def("lift_analysis").execute_in_process(
        run_config=run_config_for(lift), instance=svc.instance, tags={"job_id": folder.job_id},
        raise_on_error=False)
    return svc.view(folder.job_id).status_response()


def test_status_shows_the_verdict_of_failed_and_completed_jobs(tmp_path, service):
    spec = dict(profile="squat", reps=2, width=320, height=240, plate_radius_px=36, fps=30, seed=3)
    front = generate_clip(tmp_path / "front.mp4", SynthSpec(**spec, view="front"))
    st = _run(service, tmp_path / "front.mp4", front, 0)
    assert STATUS_KEYS <= set(st) and st["status"] == "failed"  # terminal, as the original's clients read it
    assert st["verdict"]["code"] == "too_few_tracked_frames"
    assert st["message"].startswith("Analysis failed: compute_metrics: the plate was followed in 1 of")
    assert st["error"] == f"compute_metrics: {st['verdict']['message']}"

    exit_ = generate_clip(tmp_path / "exit.mp4", SynthSpec(**spec, leave_frame=True))
    f = next(i for i, v in enumerate(exit_.visibility) if v == "visible")
    st = _run(service, tmp_path / "exit.mp4", exit_, f, load_kg=100.0)
    assert st["status"] == "completed" and st["progress"] == 1.0 and st["current_step"] == "completed"
    assert st["verdict"]["code"] == "plate_lost"
    # the original's clients show only the message: it carries the verdict
    assert st["message"] == f"Analysis complete: {st['verdict']['message']}"
    _, result = service.result(st["video_id"])
    assert result["verdict"] == st["verdict"] and result["load"] == {"load_kg": 100.0, "origin": "given"}


def test_cached_view_serves_hot_polls_without_a_query_and_never_a_stale_state(tmp_path, service, monkeypatch):
    """The API serves a poll from ``cached_view`` on its event loop: no run-storage query while
    the shared query of unfinished runs is fresh, and nothing once it is stale, the job's
    folder changed, or a newer run of the job exists (a re-execution from the UI)."""
    import time

    from dagster import DagsterRunStatus

    from liftflow.orchestration import service as service_module

    spec = dict(profile="squat", reps=1, width=320, height=240, plate_radius_px=36, fps=30, seed=3)
    front = generate_clip(tmp_path / "front.mp4", SynthSpec(**spec, view="front"))
    jid = _run(service, tmp_path / "front.mp4", front, 0)["video_id"]
    failed = service.view(jid)
    assert failed.status == "failed"
    real = service.instance.get_run_records

    def no_query(*a, **k):
        raise AssertionError("cached_view queried the run storage")
    monkeypatch.setattr(service.instance, "get_run_records", no_query)
    assert service.cached_view(jid) == failed
    # the finished job's folder changed: the cache says nothing
    folder = JobFolder.for_job(service.settings.results_dir, jid)
    time.sleep(0.01)
    meta = folder.update_meta(status="failed")
    assert service.cached_view(jid) is None
    assert service.cached_view("not a job id") is None
    monkeypatch.setattr(service.instance, "get_run_records", real)
    # a newer run of the job, made behind the service's back: seen once the shared query is
    # stale, and from then on the job reads pending
    parent = service.instance.get_run_by_id(failed.run_id)
    service.instance.add_run(parent.with_status(DagsterRunStatus.NOT_STARTED)._replace(run_id="f" * 36))
    time.sleep(service_module.ACTIVE_TTL_S)
    assert service.cached_view(jid) is None
    pending = service.view(jid)
    assert pending.status == "pending" and pending.run_id == "f" * 36
    # a job with an unfinished run in the fresh shared query whose folder changed is viewed
    # again from that run's record, without a query: never the view made before the change
    time.sleep(0.01)
    folder.update_meta(timestamps={**meta["timestamps"], "created_at": "2000-01-01T00:00:00"})
    monkeypatch.setattr(service.instance, "get_run_records", no_query)
    again = service.cached_view(jid)
    assert again is not None and again.created_at == "2000-01-01T00:00:00"
    assert again.status == "pending" and again.run_id == "f" * 36
    monkeypatch.setattr(service.instance, "get_run_records", real)
    assert service.view(jid) == again


def test_the_shared_query_is_asked_again_ahead_of_its_expiry(service, monkeypatch):
    """A poll that finds the shared query of unfinished runs near its expiry has it asked
    again in a thread and is answered meanwhile: under steady polling the query is renewed
    before it goes stale, so no poll waits for it; a stale one is never used."""
    import time

    from liftflow.orchestration import service as service_module

    # wider than the defaults (0.5 s, 0.2 s), so a loaded machine cannot make the poll late
    monkeypatch.setattr(service_module, "ACTIVE_TTL_S", 2.0)
    monkeypatch.setattr(service_module, "REFRESH_AHEAD_S", 1.0)
    folder = JobFolder.for_job(service.settings.results_dir, new_job_id())
    folder.create()
    folder.write_meta(new_meta(folder.job_id, source={"type": "upload"}, benchmark={}, model_config={}))
    first = service.view(folder.job_id)  # no run yet: pending, and the shared query made
    asked_at = service._active[0]
    assert service.cached_view(folder.job_id) == first and service._active[0] == asked_at  # fresh: not asked
    time.sleep(service_module.ACTIVE_TTL_S - service_module.REFRESH_AHEAD_S + 0.05)
    assert service.cached_view(folder.job_id) == first  # answered at once...
    deadline = time.monotonic() + 10
    while service._active[0] == asked_at:  # ...and the query asked again behind it
        assert time.monotonic() < deadline, "the shared query was not asked again"
        time.sleep(0.01)
    assert not service._refreshing
    time.sleep(service_module.ACTIVE_TTL_S)
    assert service.cached_view(folder.job_id) is None  # stale: the poll goes to view()


@pytest.mark.parametrize("reason, says", [("RUN_EXCEPTION", "pending"), ("STEP_FAILURE", "failed")])
def test_a_failed_run_about_to_be_retried_never_reads_failed(tmp_path, monkeypatch, reason, says):
    """Between a run's failure and Dagster's will_retry tag (a second write after it) /status
    asks Dagster's own retry rule: a dead worker's run reads "queued for an automatic retry",
    a run that failed on its input reads failed."""
    from dagster import DagsterRun, DagsterRunStatus
    from dagster._core.storage.tags import RUN_FAILURE_REASON_TAG, WILL_RETRY_TAG

    from liftflow.config import get_settings
    from liftflow.orchestration import service as svc_module
    from liftflow.orchestration.names import JOB_ID_TAG

    monkeypatch.setenv("LIFTFLOW_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "dagster").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "dagster"),
                                    overrides={"run_retries": {"enabled": True, "max_retries": 2,
                                                               "retry_on_asset_or_op_failure": False}}) as inst:  # as dagster.yaml
        svc = JobService(get_settings(), inst, launcher=None)
        folder = JobFolder.for_job(svc.settings.results_dir, new_job_id())
        folder.create()
        folder.write_meta(new_meta(folder.job_id, source={"type": "upload", "original_filename": "x.mp4",
                                                          "asset_id": None},
                                   benchmark={"case_id": None, "client_run_id": None, "tags": {}}, model_config={}))
        run = inst.add_run(DagsterRun(job_name="lift_analysis", status=DagsterRunStatus.FAILURE,
                                      tags={JOB_ID_TAG: folder.job_id, RUN_FAILURE_REASON_TAG: reason}))
        assert WILL_RETRY_TAG not in inst.get_run_by_id(run.run_id).tags  # the window
        st = svc.view(folder.job_id).status_response()
        assert st["status"] == says, st
        if says == "pending":
            assert "automatic retry 1" in st["message"], st
        if says == "pending":  # an old failure without the tag (retries switched on later): failed
            window = svc_module.TAG_WINDOW_S
            monkeypatch.setattr(svc_module, "TAG_WINDOW_S", -1.0)
            folder.update_meta(status="failed")
            assert svc.view(folder.job_id).status_response()["status"] == "failed"
            monkeypatch.setattr(svc_module, "TAG_WINDOW_S", window)
        inst.add_run_tags(run.run_id, {WILL_RETRY_TAG: "false"})  # the tag, once written, decides
        folder.update_meta(status="failed")
        assert svc.view(folder.job_id).status_response()["status"] == "failed"
