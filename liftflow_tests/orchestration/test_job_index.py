"""jobs.json, the original server's job index: derived from a real (ephemeral) Dagster run
storage and the job folders; its entries, its refresher, its atomic rewrite."""

from __future__ import annotations

import json
import threading
import time

import pytest
from dagster import DagsterEvent, DagsterEventType, DagsterRunStatus
from dagster._core.storage.dagster_run import DagsterRun

from liftflow.config import get_settings
from liftflow.jobstore import JobFolder
from liftflow.orchestration.job_index import (
    JobIndex,
    JobIndexRefresher,
    build_job_index,
    index_path,
    write_job_index,
)
from liftflow.orchestration.names import ANALYSIS_JOB
from liftflow.orchestration.service import JobService

FIELDS = ["video_id", "status", "created_at", "updated_at", "progress", "current_step", "message",
          "original_filename", "selection_data", "tracking_backend", "case_id", "client_run_id",
          "tags", "source_type", "asset_id", "started_at", "finished_at"]


class RunsLauncher:
    """The RunLauncher interface, making real runs (not started) in the instance: what the
    webserver does, without a daemon to start them."""

    def __init__(self, instance):
        self.instance = instance
        self.n = 0

    def submit(self, run_config: dict, tags: dict) -> str:
        self.n += 1
        run_id = f"run-{self.n:04d}"
        self.instance.add_run(DagsterRun(job_name=ANALYSIS_JOB, run_id=run_id, run_config=run_config,
                                         tags=tags, status=DagsterRunStatus.NOT_STARTED))
        return run_id

    def terminate(self, run_id: str) -> None:
        self.instance.report_run_canceled(self.instance.get_run_by_id(run_id))

    def reexecute(self, parent_run_id: str, from_failure: bool = True) -> str:
        raise AssertionError("not used")


def _event(instance, run_id: str, kind: DagsterEventType) -> None:
    instance.report_dagster_event(DagsterEvent(event_type_value=kind.value, job_name=ANALYSIS_JOB), run_id=run_id)


@pytest.fixture
def svc(dagster_instance, monkeypatch):
    """On SQLite and on Postgres (the conftest's dagster_instance). No automatic retries: a
    failed run here stays failed (no daemon would start the retry its instance promises)."""
    monkeypatch.setenv("LIFTFLOW_RUN_RETRIES", "0")
    yield JobService(get_settings(), dagster_instance, RunsLauncher(dagster_instance))


def _upload(svc, seed=True, backend="classic"):
    folder = svc.new_job()
    request = {"backend": backend, "pose_backend": "off"}
    if seed:
        request.update(disc_center_x=160.0, disc_center_y=170.5, disc_radius=36.0, seed_frame=0)
    run_id = svc.submit(folder, video_path=folder.path / "in.mp4", request=request,
                        source={"type": "upload", "original_filename": "lift.mp4", "asset_id": None},
                        benchmark={"case_id": None, "client_run_id": None, "tags": {}},
                        model_config={"tracking_backend": backend})
    return folder, run_id


def _bench(svc):
    folder = svc.new_job()
    run_id = svc.submit(folder, video_path=folder.path / "in.mp4", request={"backend": "classic"},
                        source={"type": "local_asset", "original_filename": None, "asset_id": "snatch_001"},
                        benchmark={"case_id": "snatch_001", "client_run_id": "run_1",
                                   "tags": {"env": "indoor"}},
                        model_config={"tracking_backend": "classic"})
    return folder, run_id


def _read(svc) -> dict:
    return json.loads(index_path(svc).read_text())


def _wait_for(pred, timeout=20.0):
    """Until ``pred()``; generous: what is tested is that it happens, not how fast (a loaded
    machine takes seconds where an idle one takes milliseconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return time.monotonic()
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_entries_carry_the_original_servers_fields(svc):
    done, done_run = _upload(svc)
    time.sleep(0.01)
    bench, _ = _bench(svc)
    _event(svc.instance, done_run, DagsterEventType.RUN_START)
    done.update_meta(timestamps={"started_at": "2026-01-01T10:00:00", "finished_at": "2026-01-01T10:00:09"})
    _event(svc.instance, done_run, DagsterEventType.RUN_SUCCESS)
    # a folder without job_meta.json (an upload still arriving) and a stray file: no entries
    svc.new_job()
    (svc.settings.results_dir / "notes.txt").write_text("x")

    index = build_job_index(svc)
    assert list(index) == [bench.job_id, done.job_id]  # newest first
    for jid, e in index.items():
        assert list(e) == FIELDS and e["video_id"] == jid
    d = index[done.job_id]
    view = svc.view(done.job_id)
    assert {k: d[k] for k in ("status", "progress", "current_step", "message", "created_at", "updated_at")} == {
        "status": "completed", "progress": 1.0, "current_step": "completed", "message": "Analysis complete",
        "created_at": view.created_at, "updated_at": view.updated_at}
    assert d["selection_data"] == {"center": [160.0, 170.5], "radius": 36.0}
    assert d["tracking_backend"] == "classic" and d["original_filename"] == "lift.mp4"
    assert d["source_type"] == "upload" and d["asset_id"] is None
    assert d["case_id"] is None and d["client_run_id"] is None and d["tags"] == {}
    assert d["started_at"] == "2026-01-01T10:00:00" and d["finished_at"] == "2026-01-01T10:00:09"
    b = index[bench.job_id]
    assert b["status"] == "pending" and b["current_step"] == "queued" and b["progress"] == 0.0
    assert b["selection_data"] is None  # no seed
    assert (b["source_type"], b["asset_id"], b["original_filename"]) == ("local_asset", "snatch_001", None)
    assert (b["case_id"], b["client_run_id"], b["tags"]) == ("snatch_001", "run_1", {"env": "indoor"})
    assert b["started_at"] is None and b["finished_at"] is None

    path = write_job_index(svc)
    assert path == svc.settings.results_dir / "jobs.json" and _read(svc) == index


def test_a_job_whose_runs_are_gone_takes_its_seed_from_pipeline_config(svc):
    folder, run_id = _upload(svc)
    folder.file("pipeline_config.yaml").write_text(
        "request:\n  disc_center_x: 10.0\n  disc_center_y: 20.0\n  disc_radius: 5.0\n  backend: cutie\n")
    svc.instance.delete_run(run_id)
    e = build_job_index(svc)[folder.job_id]
    assert e["selection_data"] == {"center": [10.0, 20.0], "radius": 5.0}
    assert e["tracking_backend"] == "cutie" and e["status"] == "pending"


def test_the_index_follows_the_runs_and_rewrites_only_on_change(svc):
    folder, run_id = _upload(svc)
    index = JobIndex(svc)
    assert index.refresh() is True
    first = index_path(svc).stat().st_mtime_ns
    assert _read(svc).get(folder.job_id, {}).get("status") == "pending"
    assert index.refresh() is False and index_path(svc).stat().st_mtime_ns == first  # nothing changed

    _event(svc.instance, run_id, DagsterEventType.RUN_START)
    index.refresh()
    assert _read(svc)[folder.job_id]["current_step"] == "starting"
    folder.set_progress(run_id, "track_disc", 0.5, "tracking 50/100")
    index.refresh()
    e = _read(svc)[folder.job_id]
    assert (e["status"], e["current_step"], e["message"]) == ("processing", "track_disc", "tracking 50/100")
    assert 0 < e["progress"] < 1
    _event(svc.instance, run_id, DagsterEventType.RUN_FAILURE)
    index.refresh()
    assert _read(svc)[folder.job_id]["status"] == "failed"

    other, _ = _upload(svc, seed=False)
    index.refresh()
    assert set(_read(svc)) == {folder.job_id, other.job_id}
    svc.delete(folder.job_id)
    index.refresh()
    assert set(_read(svc)) == {other.job_id}  # a deleted job leaves the index
    index_path(svc).unlink()  # removed by hand: written again from the truth
    index.refresh()
    assert set(_read(svc)) == {other.job_id}


def test_the_refresher_shows_a_submit_and_a_delete_when_nudged(svc):
    # a period far longer than the test: only the service's nudge can make it look again
    refresher = JobIndexRefresher(svc, period_s=3600.0, echo=lambda m: pytest.fail(m)).start()
    try:
        _wait_for(lambda: index_path(svc).is_file())
        folder, _ = _upload(svc)
        t0 = time.monotonic()
        shown = _wait_for(lambda: folder.job_id in _read(svc)) - t0
        t0 = time.monotonic()
        svc.delete(folder.job_id)
        gone = _wait_for(lambda: folder.job_id not in _read(svc)) - t0
        print(f"\njobs.json showed the submit after {shown * 1000:.0f} ms, the delete after {gone * 1000:.0f} ms")
    finally:
        refresher.stop()
    assert not refresher._thread.is_alive()


def test_the_refresher_sees_jobs_of_another_process(svc):
    """A job made by another JobService (the API's process) shows by the poll alone."""
    refresher = JobIndexRefresher(svc, period_s=0.2, echo=lambda m: pytest.fail(m)).start()
    try:
        other = JobService(svc.settings, svc.instance, svc.launcher)
        folder, run_id = _upload(other)
        _wait_for(lambda: _read(svc).get(folder.job_id, {}).get("status") == "pending")
        _event(svc.instance, run_id, DagsterEventType.RUN_START)
        _event(svc.instance, run_id, DagsterEventType.RUN_SUCCESS)
        _wait_for(lambda: _read(svc).get(folder.job_id, {}).get("status") == "completed")
        JobFolder.for_job(svc.settings.results_dir, folder.job_id).remove()
        _wait_for(lambda: folder.job_id not in _read(svc))
    finally:
        refresher.stop()


def test_concurrent_writers_never_leave_a_partial_file(svc):
    for _ in range(30):
        _upload(svc)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer():
        try:
            for _ in range(15):
                write_job_index(svc)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def reader():
        n = 0
        while not stop.is_set() or n == 0:
            try:
                data = json.loads(index_path(svc).read_text())
            except FileNotFoundError:
                continue
            assert len(data) == 30
            n += 1

    writers = [threading.Thread(target=writer) for _ in range(2)]
    r = threading.Thread(target=lambda: errors.extend(_catch(reader)))
    r.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    r.join()
    assert not errors, errors
    assert len(_read(svc)) == 30
    assert not [p.name for p in svc.settings.results_dir.iterdir() if p.name.startswith(".")]  # no temp left


def _catch(fn) -> list[BaseException]:
    try:
        fn()
        return []
    except BaseException as exc:  # noqa: BLE001
        return [exc]


def test_one_bookkeeper_per_data_folder(svc):
    """The stack's API keeps the books (jobs.json, failed folders, retention) while it holds
    the data folder's bookkeeping lock; a second process's bookkeeper starts nothing until
    the first one stops (an flock: a killed holder releases it too)."""
    import subprocess
    import sys

    from liftflow.orchestration.bookkeeping import LOCK_FILE, Bookkeeping

    first = Bookkeeping(svc, echo=lambda m: pytest.fail(m))
    assert first.start()
    try:
        _wait_for(lambda: index_path(svc).is_file())
        folder, _ = _upload(svc)
        _wait_for(lambda: folder.job_id in _read(svc))  # the service's submit nudged it
        lock = svc.settings.run_dir / LOCK_FILE
        probe = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
                 "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
                 "except OSError:\n    print('held')")
        held = subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True, text=True)
        assert held.stdout.strip() == "held", held
    finally:
        first.stop()
    free = subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True, text=True)
    assert free.stdout.strip() == "free", free
    second = Bookkeeping(svc)
    assert second.start()
    second.stop()
