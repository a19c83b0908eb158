"""dagster-celery's ``CeleryRunLauncher`` with a worker health check that sees a dead worker.

The library's check reads the run's task state from the result backend: a worker whose pool
process dies reports the task FAILED, but a worker killed as a whole (kill -9, OOM of the
host, a lost host) never writes anything, its task stays STARTED, and the run would read
"running" until its ``dagster/max_runtime``. Here a STARTED task is also looked up on the
worker it started on (Celery's remote control, answered by the worker's main process even
while its pool runs the analysis): when that worker does not answer, or answers without the
task (a restarted worker of the same name), twice in a row, the run's worker is reported
failed with the reason; run retries then re-execute the run from the failed step on a live
worker. Two looks, not one: a broker hiccup must not fail a run that is still running.
"""

from __future__ import annotations

from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

MISSES_TO_FAIL = 2
INSPECT_TIMEOUT_S = 2.0


class LiftFlowCeleryRunLauncher(CeleryRunLauncher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._misses: dict[str, int] = {}

    def _task_on_worker(self, task_id: str, hostname: str) -> bool:
        replies = self.celery.control.inspect(destination=[hostname], timeout=INSPECT_TIMEOUT_S).active() or {}
        return any(t.get("id") == task_id for t in replies.get(hostname) or ())

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        result = super().check_run_worker_health(run)
        if result.status != WorkerStatus.RUNNING:
            self._misses.pop(run.run_id, None)
            return result
        task_id = run.tags[DAGSTER_CELERY_TASK_ID_TAG]
        info = self.celery.AsyncResult(task_id).info
        hostname = info.get("hostname") if isinstance(info, dict) else None
        if not hostname:
            return result
        try:
            present = self._task_on_worker(task_id, hostname)
        except Exception:  # the broker itself is unreachable: nothing can be said about the worker
            return result
        if present:
            self._misses.pop(run.run_id, None)
            return result
        misses = self._misses[run.run_id] = self._misses.get(run.run_id, 0) + 1
        if misses < MISSES_TO_FAIL:
            return result
        self._misses.pop(run.run_id, None)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the worker {hostname} running this run is gone (it no longer holds its task {task_id})")
