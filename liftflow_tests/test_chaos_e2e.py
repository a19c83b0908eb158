"""Chaos: kill -9 each single process of the stack in turn while jobs are queued and running.
Every job ends completed or failed with a reason; none is lost or stuck; the queue drains.

Dagster's run retries re-execute the killed runs; with kills chained a few seconds apart, one
retry can itself be killed before it starts (it then fails after the start timeout and is
retried again) or, rarely, Dagster marks a killed run as not to be retried: so one job of
five may end failed, with the reason, but never lost, stuck or silently pending."""

import time

import psutil
import pytest
from dagster import DagsterRunStatus, RunsFilter

from liftflow.devstack import StackProcess

pytestmark = pytest.mark.e2e

# what each stack process is called on its command line, in the order they are killed
VICTIMS = ("run worker", "dagster-daemon", "liftflow.orchestration.code_server -h", "dagster-webserver", "uvicorn")


def _upload(stack, path, truth) -> str:
    with stack.client() as c, open(path, "rb") as f:
        r = c.post("/api/v1/videos/upload", files={"file": (path.name, f, "video/mp4")},
                   data={"disc_center_x": truth.x[0], "disc_center_y": truth.y[0], "disc_radius": truth.r[0]})
    assert r.status_code == 200, r.text
    return r.json()["video_id"]


def _running_worker(stack, timeout: float = 120.0) -> psutil.Process:
    """The run worker of the run in progress, once it is in a step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in stack.instance().get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED])):
            pid = run.tags.get("liftflow/worker_pid")
            if pid and psutil.pid_exists(int(pid)):
                return psutil.Process(int(pid))
        time.sleep(0.2)
    raise AssertionError(f"no run worker in a step after {timeout} s\n{stack.tail()}")


def _wait_restarted(stack, word: str, old_pid: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.pid != old_pid for p in stack.find(word)):
            try:
                with stack.client() as c:
                    if c.get("/health").status_code == 200:
                        return
            except Exception:
                pass
        time.sleep(0.5)
    raise AssertionError(f"{word} not restarted after {timeout} s\n{stack.tail()}")


def test_kill9_of_each_process_in_turn_loses_no_job(tmp_path, long_clip, synth_clip):
    long_path, long_truth = long_clip
    path, truth = synth_clip
    stack = StackProcess(tmp_path / "chaos").start()
    try:
        jobs = [_upload(stack, long_path, long_truth) for _ in range(4)] + [_upload(stack, path, truth)]
        for word in VICTIMS:
            if word == "run worker":
                victim = _running_worker(stack)
            else:
                found = stack.find(word)
                assert len(found) == 1, (word, found)
                victim = found[0]
            victim.kill()
            psutil.wait_procs([victim], timeout=10)
            if word != "run worker":  # the supervisor restarts the stack's own children
                _wait_restarted(stack, word, victim.pid)
            else:
                time.sleep(1.0)
        deadline = time.monotonic() + 600
        ended = {}
        with stack.client() as c:
            while len(ended) < len(jobs):
                for jid in jobs:
                    if jid in ended:
                        continue
                    r = c.get(f"/api/v1/videos/{jid}/status")
                    assert r.status_code == 200, (jid, r.text)  # never lost
                    st = r.json()
                    if st["status"] in ("completed", "failed"):
                        ended[jid] = st
                assert time.monotonic() < deadline, ({j: ended.get(j) for j in jobs}, stack.tail())
                time.sleep(1.0)
        for jid, st in ended.items():  # a failed job says why (Dagster's retries heal most)
            assert st["status"] == "completed" or (st.get("error") and "Analysis failed: " in st["message"]), st
        assert sum(st["status"] == "completed" for st in ended.values()) >= len(jobs) - 1, ended
        # the queue drained: nothing queued or running is left behind
        left = stack.instance().get_runs(filters=RunsFilter(statuses=[
            DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]))
        assert not left, [(r.run_id, r.status) for r in left]
    finally:
        assert stack.stop() == 0, stack.tail()
