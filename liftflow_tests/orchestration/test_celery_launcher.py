"""The scaled profile's worker health check (liftflow.orchestration.celery_launcher): a STARTED
task whose worker no longer holds it fails the run after two looks, never after one."""

import pytest
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster_celery.launcher import CeleryRunLauncher

from liftflow.orchestration import celery_launcher
from liftflow.orchestration.celery_launcher import LiftFlowCeleryRunLauncher


class _Run:
    def __init__(self, run_id="r1"):
        self.run_id = run_id
        self.tags = {"dagster-celery/task_id": "t-" + run_id}


class _Result:
    info = {"pid": 123, "hostname": "w1@host"}


@pytest.fixture
def launcher(monkeypatch):
    # a real launcher (its Celery app is made but never connects here)
    lau = LiftFlowCeleryRunLauncher(default_queue="dagster", broker="redis://127.0.0.1:9/0",
                                    backend="redis://127.0.0.1:9/0")
    monkeypatch.setattr(CeleryRunLauncher, "check_run_worker_health",
                        lambda self, run: CheckRunHealthResult(WorkerStatus.RUNNING))
    monkeypatch.setattr(lau.celery, "AsyncResult", lambda task_id: _Result())
    return lau


def _answers(monkeypatch, launcher, *answers):
    seq = list(answers)

    def task_on_worker(task_id, hostname):
        a = seq.pop(0)
        if isinstance(a, Exception):
            raise a
        return a
    monkeypatch.setattr(launcher, "_task_on_worker", task_on_worker)


def test_a_worker_that_holds_its_task_is_running(monkeypatch, launcher):
    _answers(monkeypatch, launcher, True, True, True)
    assert all(launcher.check_run_worker_health(_Run()).status == WorkerStatus.RUNNING for _ in range(3))


def test_a_worker_without_the_task_twice_in_a_row_fails_the_run_with_its_name(monkeypatch, launcher):
    _answers(monkeypatch, launcher, False, False)
    assert launcher.check_run_worker_health(_Run()).status == WorkerStatus.RUNNING
    failed = launcher.check_run_worker_health(_Run())
    assert failed.status == WorkerStatus.FAILED and "w1@host" in failed.msg


def test_one_miss_between_answers_is_forgiven(monkeypatch, launcher):
    _answers(monkeypatch, launcher, False, True, False, True)
    assert all(launcher.check_run_worker_health(_Run()).status == WorkerStatus.RUNNING for _ in range(4))


def test_an_unreachable_broker_says_nothing_about_the_worker(monkeypatch, launcher):
    _answers(monkeypatch, launcher, ConnectionError("broker down"), ConnectionError("broker down"),
             ConnectionError("broker down"))
    assert all(launcher.check_run_worker_health(_Run()).status == WorkerStatus.RUNNING for _ in range(3))


def test_misses_are_counted_per_run(monkeypatch, launcher):
    _answers(monkeypatch, launcher, False, False, False)
    assert launcher.check_run_worker_health(_Run("a")).status == WorkerStatus.RUNNING
    assert launcher.check_run_worker_health(_Run("b")).status == WorkerStatus.RUNNING
    assert launcher.check_run_worker_health(_Run("a")).status == WorkerStatus.FAILED


def test_the_librarys_verdict_stands_when_the_task_is_not_running(monkeypatch, launcher):
    monkeypatch.setattr(CeleryRunLauncher, "check_run_worker_health",
                        lambda self, run: CheckRunHealthResult(WorkerStatus.FAILED, "Celery task failed."))
    _answers(monkeypatch, launcher)  # never asked
    assert launcher.check_run_worker_health(_Run()).msg == "Celery task failed."
    assert celery_launcher.MISSES_TO_FAIL == 2
