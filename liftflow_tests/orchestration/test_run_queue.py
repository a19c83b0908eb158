"""The run queue of the embedded profile (liftflow.orchestration.run_queue): Dagster's
QueuedRunCoordinator with a dequeue interval under a second, one run at a time."""

from dagster import DagsterInstance
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._daemon.controller import create_daemon_of_type
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from liftflow.config import build_settings
from liftflow.orchestration.instance import prepare_dagster_home
from liftflow.orchestration.run_queue import LiftFlowRunCoordinator


def test_the_instance_queues_runs_one_at_a_time_and_the_daemon_looks_every_half_second(tmp_path):
    home = prepare_dagster_home(build_settings({"LIFTFLOW_DATA_DIR": str(tmp_path)}))
    with DagsterInstance.from_config(str(home)) as instance:
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, LiftFlowRunCoordinator) and isinstance(coordinator, QueuedRunCoordinator)
        assert coordinator.dequeue_interval_seconds == 0.5
        # `concurrency: runs:` of dagster.yaml is what the daemon enforces
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        daemon = create_daemon_of_type(QueuedRunCoordinatorDaemon.daemon_type(), instance)
        assert daemon.interval_seconds == 0.5


def test_whole_seconds_and_dagsters_other_options_still_pass_through():
    c = LiftFlowRunCoordinator.from_config_value(None, {"dequeue_interval_seconds": 2, "max_concurrent_runs": 3,
                                                        "dequeue_use_threads": True})
    assert c.dequeue_interval_seconds == 2.0 and c.dequeue_use_threads
    assert c.get_run_queue_config().max_concurrent_runs == 3
    assert LiftFlowRunCoordinator().dequeue_interval_seconds == 1.0
