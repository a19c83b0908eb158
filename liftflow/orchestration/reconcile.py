"""Start-up reconciliation: fail runs whose worker died with the previous stack.

With one run at a time, a run left STARTED by a crashed stack would block the queue for
ever. Our stack lock guarantees no other stack serves this data folder, so any run still
marked in progress whose worker process is gone is failed here, with a reason, and its job
folder says so too. Queued runs are left alone: the daemon starts them.
"""

from __future__ import annotations

from typing import Optional

from liftflow.jobstore import JobFolder
from liftflow.orchestration.names import WORKER_HOST_TAG, WORKER_PID_TAG

REASON = ("the analysis worker is gone: the LiftFlow stack stopped (crash, kill or reboot) while "
          "this run was in progress. It is re-executed from the failed step automatically "
          "(LIFTFLOW_RUN_RETRIES); once those are used up, re-execute it from failure (Dagster UI, "
          "or POST /api/v1/videos/{job_id}/retry).")


WORKER_DIED = ("the analysis worker process stopped unexpectedly (killed, out of memory or crashed) "
               "during step {step}; it is re-executed from that step automatically "
               "(LIFTFLOW_RUN_RETRIES); once those are used up, re-execute the job from failure "
               "(Dagster UI, or POST /api/v1/videos/{job_id}/retry)")


def _lift_config(run) -> dict:
    return ((run.run_config or {}).get("resources", {}).get("lift", {}) or {}).get("config", {})


def sync_failed_job_folders(instance, since: float) -> list[str]:
    """Runs failed from outside their worker (run monitoring, a killed worker) never ran the
    failure hook: give their job folder the failed status and a readable reason."""
    from dagster import DagsterRunStatus, RunsFilter

    fixed = []
    for run in instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.FAILURE],
                                                     updated_after=_dt(since))):
        lift, job_id = _lift_config(run), run.tags.get("job_id")
        if not lift.get("job_dir") or not job_id:
            continue
        folder = JobFolder(lift["job_dir"], job_id)
        meta = folder.read_meta()
        if not meta or meta.get("status") in ("failed", "completed"):
            continue
        if (meta.get("runs") or [run.run_id])[-1] != run.run_id:
            continue
        step = (folder.read_progress() or {}).get("step", "?")
        reason = WORKER_DIED.format(step=step, job_id=job_id)
        folder.drop_scratch()
        folder.update_meta(status="failed", error={"step": step, "reason": reason, "run_id": run.run_id})
        folder.log(step, f"job failed: {reason}", "ERROR")
        fixed.append(run.run_id)
    return fixed


def _dt(ts: float):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _worker_alive(pid: Optional[str], host: Optional[str]) -> bool:
    """The run's worker process (a Dagster run worker, or a Celery worker of the scaled
    profile) still runs. A worker on another host is not this stack's to judge: run
    monitoring asks the run launcher about it."""
    import socket

    import psutil

    if host and host != socket.gethostname():
        return True
    if not pid:
        return False
    try:
        proc = psutil.Process(int(pid))
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE and any(
            "dagster" in part or "celery" in part for part in proc.cmdline())
    except (psutil.Error, ValueError):
        return False


def reconcile_orphaned_runs(instance) -> list[str]:
    """Fail in-progress runs without a live worker; returns their run ids."""
    from dagster import DagsterRunStatus, RunsFilter

    in_progress = instance.get_runs(filters=RunsFilter(statuses=[
        DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]))
    failed = []
    for run in in_progress:
        if _worker_alive(run.tags.get(WORKER_PID_TAG), run.tags.get(WORKER_HOST_TAG)):
            continue
        job_id = run.tags.get("job_id", "")
        reason = REASON.replace("{job_id}", job_id or "<job_id>")
        if run.status == DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message="cancelled: the worker stopped with the stack")
        else:
            instance.report_run_failed(run, message=reason)
        lift = _lift_config(run)
        if lift.get("job_dir") and job_id:
            folder = JobFolder(lift["job_dir"], job_id)
            if folder.exists():
                folder.drop_scratch()
                folder.update_meta(status="failed", error={"step": "run", "reason": reason,
                                                           "run_id": run.run_id})
                folder.log("reconcile", f"run {run.run_id} failed at start-up: {reason}", "ERROR")
        failed.append(run.run_id)
    return failed


def main() -> int:
    """``python -m liftflow.orchestration.reconcile``: the start-up reconciliation of the
    settings' instance (``liftflow up`` runs it before the daemon starts)."""
    from liftflow.config import get_settings
    from liftflow.orchestration.instance import get_instance

    failed = reconcile_orphaned_runs(get_instance(get_settings()))
    if failed:
        print(f"failed {len(failed)} run(s) left in progress by a stopped stack: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
