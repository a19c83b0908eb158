"""Start-up reconciliation (liftflow.orchestration.reconcile) on SQLite and on Postgres: a run
left in progress without a live worker on this host is failed with the reason; a live worker's
run, and a run of another host (the scaled profile's remote worker), are left alone."""

import socket
import subprocess
import sys

from dagster import DagsterRun, DagsterRunStatus

from liftflow.orchestration.names import ANALYSIS_JOB, WORKER_HOST_TAG, WORKER_PID_TAG
from liftflow.orchestration.reconcile import reconcile_orphaned_runs


def _run(instance, run_id: str, **tags) -> None:
    instance.add_run(DagsterRun(job_name=ANALYSIS_JOB, run_id=run_id, tags=tags, status=DagsterRunStatus.STARTED))


def test_only_runs_without_a_live_worker_here_are_failed(dagster_instance):
    here = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    # a stand-in worker: what reconcile checks is a live process whose command line names celery
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "celery"])
    try:
        _run(dagster_instance, "dead-worker", **{WORKER_PID_TAG: str(dead.pid), WORKER_HOST_TAG: here})
        _run(dagster_instance, "live-worker", **{WORKER_PID_TAG: str(live.pid), WORKER_HOST_TAG: here})
        _run(dagster_instance, "other-host", **{WORKER_PID_TAG: "1", WORKER_HOST_TAG: here + "-elsewhere"})
        _run(dagster_instance, "never-started")
        assert sorted(reconcile_orphaned_runs(dagster_instance)) == ["dead-worker", "never-started"]
    finally:
        live.kill()
        live.wait()
    status = {r: dagster_instance.get_run_by_id(r).status for r in
              ("dead-worker", "live-worker", "other-host", "never-started")}
    assert status == {"dead-worker": DagsterRunStatus.FAILURE, "live-worker": DagsterRunStatus.STARTED,
                      "other-host": DagsterRunStatus.STARTED, "never-started": DagsterRunStatus.FAILURE}
