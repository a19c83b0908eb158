"""End to end with the scaled profile (issue #17): ``liftflow up --scaled --workers 2`` starts
a real Postgres (run, event-log and schedule storage), a real Redis (the Celery broker) and
two Celery workers beside the code server, webserver, daemon and API, each on its own free
port, and stops them all. Jobs go in through the API as on the embedded stack."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import psutil
import pytest

from liftflow.bench.identity import differences
from liftflow.devstack import scaled_stack, shared_temp_dir
from liftflow.orchestration.names import WORKER_NAME_TAG, WORKER_PID_TAG

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def scaled():
    root = shared_temp_dir("liftflow-scaled-")  # the postgres user's cluster lives in it
    s = scaled_stack(root, workers=2)
    try:
        s.start()
        yield s
        assert s.stop() == 0, s.tail()
    finally:
        if s.proc is not None and s.proc.poll() is None:
            s.kill9_everything()
        shutil.rmtree(root, ignore_errors=True)


def _upload(c, path: Path, truth, **extra) -> str:
    with open(path, "rb") as f:
        r = c.post("/api/v1/videos/upload", files={"file": (path.name, f, "video/mp4")},
                   data={"disc_center_x": truth.x[0], "disc_center_y": truth.y[0], "disc_radius": truth.r[0],
                         "render": "false", **extra})
    assert r.status_code == 200, r.text
    return r.json()["video_id"]


def _runs(stack, job_id: str):
    from dagster import RunsFilter

    return stack.instance().get_run_records(filters=RunsFilter(tags={"job_id": job_id}))


def _reference_result(tmp_path: Path, path: Path, truth) -> dict:
    """The same analysis in process, as the embedded profile's ops do it."""
    from liftflow.jobstore import RESULT, JobFolder, new_job_id, read_json
    from liftflow.pipeline import AnalysisRequest
    from liftflow.pipeline.run import run_job

    job_id = new_job_id()
    folder = JobFolder(tmp_path / job_id, job_id)
    folder.path.mkdir(parents=True)
    req = AnalysisRequest(video_path=str(path), disc_center_x=truth.x[0], disc_center_y=truth.y[0],
                          disc_radius=truth.r[0], render=False)
    assert run_job(folder, "reference", req) is not None
    return read_json(folder.file(RESULT))


def test_the_stack_runs_on_postgres_and_celery(scaled):
    yaml_text = (scaled.data_dir / "dagster_home" / "dagster.yaml").read_text()
    assert "postgres_url: postgresql+psycopg2://" in yaml_text and "LiftFlowCeleryRunLauncher" in yaml_text
    inst = scaled.instance()
    assert type(inst.run_storage).__name__ == "PostgresRunStorage"
    assert len(scaled.find("celery_app worker")) >= 4  # two workers, each a main and a pool process
    # no SQLite storage was made under the data folder
    assert not list((scaled.data_dir / "dagster_home").glob("history/runs*.db"))
    with scaled.client() as c:
        info = c.get("/api/v1/info").json()
    assert info["limits"]["max_concurrent_jobs"] == 2
    assert info["deployment"] == {"profile": "scaled", "storage": "postgres", "run_launcher": "celery",
                                  "concurrent_runs": 2, "worker_queue": "dagster", "learned_queue": None}
    assert "postgresql" not in json.dumps(info) and "redis://" not in json.dumps(info)  # no URL, no password


def test_jobs_run_in_parallel_on_two_workers_with_the_embedded_results(scaled, long_clip, tmp_path):
    path, truth = long_clip
    with scaled.client() as c:
        jobs = [_upload(c, path, truth) for _ in range(2)]
    for jid in jobs:
        st = scaled.wait_status(jid, timeout=300)
        assert st["status"] == "completed", (json.dumps(st), scaled.tail())
    records = [_runs(scaled, jid) for jid in jobs]
    assert all(len(r) == 1 for r in records), records
    runs = [r[0] for r in records]
    workers = {r.dagster_run.tags.get(WORKER_NAME_TAG) for r in runs}
    assert workers == {"w1@" + _host(), "w2@" + _host()}, workers
    (a0, a1), (b0, b1) = [(r.start_time, r.end_time) for r in runs]
    assert a0 < b1 and b0 < a1, f"the two runs did not overlap: {a0}-{a1} and {b0}-{b1}"
    reference = _reference_result(tmp_path, path, truth)
    for jid in jobs:
        got = json.loads((scaled.data_dir / "api" / "results" / jid / "result.json").read_text())
        assert differences(reference, got) == [], jid


def _command(p: psutil.Process) -> str:
    """A process's command line for a message (it may have exited since it was listed)."""
    try:
        return " ".join(p.cmdline())[:80]
    except psutil.Error:
        return f"pid {p.pid} (exited)"


def _host() -> str:
    import socket

    return socket.gethostname()


def test_reexecution_from_failure_through_the_uis_mutation(scaled, synth_clip):
    """Pose weights that vanish after the upload fail the job at estimate_pose; once they are
    back, the webserver's launchRunReexecution (what the UI's "Re-execute from failure"
    sends) runs the rest on a worker, reusing decode and tracking from the shared storage."""
    from dagster import DagsterEventType

    from liftflow.orchestration.launcher import RunLauncher
    from liftflow.pose.testing import write_random_yolo_pose_weights

    path, truth = synth_clip
    weights = scaled.data_dir / "models" / "yolo11n-pose.pt"
    write_random_yolo_pose_weights(weights)
    with scaled.client() as c:
        jid = _upload(c, path, truth, pose="yolo")
        weights.unlink()
    st = scaled.wait_status(jid)
    assert st["status"] == "failed" and st["current_step"] == "estimate_pose", st
    write_random_yolo_pose_weights(weights)
    failed = _runs(scaled, jid)[0].dagster_run
    new_run = RunLauncher("127.0.0.1", scaled.ui_port).reexecute(failed.run_id, from_failure=True)
    st = scaled.wait_status(jid, run_id=new_run)
    assert st["status"] == "completed", st
    inst = scaled.instance()
    started = {e.step_key for e in inst.all_logs(new_run, of_type=DagsterEventType.STEP_START)}
    assert started == {"estimate_pose", "compute_metrics", "assemble_contract"}
    assert inst.get_run_by_id(new_run).tags.get(WORKER_NAME_TAG, "").startswith("w")


def test_kill9_of_one_worker_mid_step_leaves_the_other_jobs_untouched(scaled, long_clip):
    """A worker killed as a whole (its main process and the pool process running the
    analysis) mid-step: its run is seen dead and retried from the failed step on a live
    worker; the job on the other worker never notices; the supervisor starts a new worker."""
    path, truth = long_clip
    with scaled.client() as c:
        victim = _upload(c, path, truth)
        other = _upload(c, path, truth)
        scaled.wait_for_step(victim, "track_disc")
    run = _runs(scaled, victim)[0].dagster_run
    worker = psutil.Process(int(run.tags[WORKER_PID_TAG]))  # the pool process running the run
    main = worker.parent()
    assert "celery" in " ".join(main.cmdline())
    for p in (main, worker):
        p.kill()
    killed_at = time.monotonic()
    st = scaled.wait_status(victim, timeout=300)
    assert st["status"] == "completed", st
    print(f"\nkilled worker's job completed {time.monotonic() - killed_at:.1f} s after the kill")
    victim_runs = _runs(scaled, victim)
    assert len(victim_runs) == 2, victim_runs  # the killed run and its retry
    assert scaled.wait_status(other, timeout=300)["status"] == "completed"
    assert len(_runs(scaled, other)) == 1  # never retried, never touched
    deadline = time.monotonic() + 60
    while len(scaled.find("celery_app worker")) < 4:  # the supervisor restarts the worker
        assert time.monotonic() < deadline, scaled.tail()
        time.sleep(0.5)


def test_a_postgres_crash_loses_nothing_and_a_deleted_job_leaves_no_run(scaled, synth_clip):
    """kill -9 of Postgres (the supervisor restarts it): an upload right after is accepted and
    completes, the jobs before it still read; DELETE removes the job's runs from Postgres."""
    path, truth = synth_clip
    with scaled.client() as c:
        before = _upload(c, path, truth)
    assert scaled.wait_status(before)["status"] == "completed"
    # the postmaster (its backends come and go: never read a listed process's command line twice)
    (pg,) = [p for p in scaled.find("postgres -D") if p.ppid() == scaled.proc.pid]
    pg.kill()
    with scaled.client() as c:
        after = _upload(c, path, truth)
        assert c.get(f"/api/v1/videos/{before}/status").json()["status"] == "completed"
    assert scaled.wait_status(after)["status"] == "completed", scaled.tail()
    # a run submitted while the webserver's pooled connections are stale may be stored and
    # then fail: run retries finish it; the submit is never repeated into a second run
    from dagster import DagsterRunStatus

    runs = [r.dagster_run for r in _runs(scaled, after)]  # newest first
    assert [r.status for r in runs].count(DagsterRunStatus.SUCCESS) == 1, runs
    assert len(runs) == 1 or (len(runs) == 2 and runs[0].parent_run_id == runs[1].run_id), runs
    print(f"\nthe upload after the Postgres crash took {len(runs)} run(s)")
    with scaled.client() as c:
        assert c.delete(f"/api/v1/videos/{before}").status_code == 200
        assert c.get(f"/api/v1/videos/{before}/status").status_code == 404
    assert _runs(scaled, before) == []


def test_one_command_adds_a_worker(scaled):
    """`liftflow worker` on the stack's machine finds the trial servers in <data>/run/scaled.json
    and joins: the launcher's Celery app sees it answer."""
    import os
    import signal
    import subprocess
    import sys

    from liftflow.orchestration.instance import get_instance
    from liftflow.config import build_settings, environment

    env = {k: v for k, v in scaled.env.items() if k not in ("LIFTFLOW_STORAGE_URL", "LIFTFLOW_BROKER_URL")}
    log = scaled.data_dir / "w3.log"
    with open(log, "wb") as out:
        p = subprocess.Popen([sys.executable, "-m", "liftflow.cli", "worker", "--name", "w3"], env=env,
                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"w3@" + _host().encode() + b" ready" not in log.read_bytes():
            assert p.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.3)
        found = json.loads((scaled.data_dir / "run" / "scaled.json").read_text())
        settings = build_settings({**environment(), **env, "LIFTFLOW_STORAGE_URL": found["storage_url"],
                                   "LIFTFLOW_BROKER_URL": found["broker_url"]})
        replies = get_instance(settings).run_launcher.celery.control.ping(destination=[f"w3@{_host()}"], timeout=5)
        assert replies == [{f"w3@{_host()}": {"ok": "pong"}}], replies
    finally:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        p.wait(30)


def test_a_killed_supervisor_leaves_no_server_behind():
    """kill -9 of `liftflow up --scaled` alone: its children follow it (a trial Postgres left
    running would hold its data folder and refuse the next start), also while a client
    outside the stack holds a connection (a "smart" shutdown would wait for it), and the
    next start works."""
    import os
    import signal

    import sqlalchemy

    from liftflow.scaled import SCALED_FILE

    root = shared_temp_dir("liftflow-scaled-kill-")
    s = scaled_stack(root, workers=1)
    children: list = []
    outsider = None
    try:
        s.start()
        children = [p for p in s.tree() if p.pid != s.proc.pid]
        assert s.find("postgres -D")
        url = json.loads((s.data_dir / "run" / SCALED_FILE).read_text())["storage_url"]
        outsider = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool).connect()
        outsider.execute(sqlalchemy.text("select 1"))
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait(10)
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, [_command(p) for p in alive]
        again = scaled_stack(root, workers=1).start()  # the same data folder and cluster
        assert again.stop() == 0, again.tail()
    finally:
        if outsider is not None:
            try:
                outsider.close()
            except Exception:  # its server is gone: that is the point
                pass
        if s.proc is not None and s.proc.poll() is None:
            s.kill9_everything()
        for p in children:  # what outlived the supervisor when the test failed
            try:
                p.kill()
            except psutil.Error:
                pass
        shutil.rmtree(root, ignore_errors=True)
