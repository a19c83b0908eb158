"""The instance's dagster.yaml per profile (liftflow.orchestration.instance) and the settings
that switch the scaled profile on."""

import stat

import pytest
import yaml

from liftflow.config import PROJECT_ROOT, build_settings
from liftflow.errors import ConfigError
from liftflow.orchestration.instance import celery_config, instance_config, prepare_dagster_home


def test_the_embedded_profile_is_the_projects_dagster_yaml(tmp_path):
    s = build_settings({"LIFTFLOW_DATA_DIR": str(tmp_path)})
    assert instance_config(s) == yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    assert s.storage_url is None and s.broker_url is None and s.concurrent_runs == 1


def test_the_scaled_profile_names_postgres_celery_and_the_run_limit(tmp_path):
    s = build_settings({"LIFTFLOW_DATA_DIR": str(tmp_path), "LIFTFLOW_STORAGE_URL": "postgresql://u:pw@db:5432/lf",
                        "LIFTFLOW_BROKER_URL": "redis://broker:6379/0", "LIFTFLOW_CONCURRENT_RUNS": "4"})
    c = instance_config(s)
    # psycopg2 named: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3 (breaks NOTIFY)
    assert c["storage"] == {"postgres": {"postgres_url": "postgresql+psycopg2://u:pw@db:5432/lf"}}
    assert c["run_launcher"]["class"] == "LiftFlowCeleryRunLauncher"
    assert c["run_launcher"]["config"] == celery_config(s)
    assert c["run_launcher"]["config"]["broker"] == c["run_launcher"]["config"]["backend"] == "redis://broker:6379/0"
    assert c["run_launcher"]["config"]["config_source"]["task_acks_late"] is True
    assert c["concurrency"]["runs"]["max_concurrent_runs"] == 4
    assert c["run_monitoring"]["enabled"] and c["run_monitoring"]["poll_interval_seconds"] == 5
    assert c["run_retries"]["enabled"] and not c["run_retries"]["retry_on_asset_or_op_failure"]


def test_the_written_file_is_the_owners_only_and_loads_as_an_instance(tmp_path):
    from dagster import DagsterInstance

    s = build_settings({"LIFTFLOW_DATA_DIR": str(tmp_path)})
    home = prepare_dagster_home(s)
    f = home / "dagster.yaml"
    assert stat.S_IMODE(f.stat().st_mode) == 0o600  # a storage URL may carry a password
    assert f.read_text().startswith("# Written by LiftFlow")
    with DagsterInstance.from_config(str(home)) as inst:
        assert type(inst.run_storage).__name__ == "SqliteRunStorage"
        assert type(inst.run_launcher).__name__ == "DefaultRunLauncher"


@pytest.mark.parametrize("name, value, says", [
    ("LIFTFLOW_STORAGE_URL", "mysql://db/lf", "LIFTFLOW_STORAGE_URL must be a Postgres URL"),
    ("LIFTFLOW_STORAGE_URL", "db:5432", "LIFTFLOW_STORAGE_URL must be a Postgres URL"),
    ("LIFTFLOW_BROKER_URL", "amqp://guest@rabbit//", "LIFTFLOW_BROKER_URL must be a Redis URL"),
    ("LIFTFLOW_CONCURRENT_RUNS", "0", "LIFTFLOW_CONCURRENT_RUNS='0' must be at least 1"),
    ("LIFTFLOW_LEARNED_QUEUE", "gpu queue", "LIFTFLOW_LEARNED_QUEUE='gpu queue' must be letters"),
])
def test_a_bad_scaled_setting_is_refused_naming_it(tmp_path, name, value, says):
    with pytest.raises(ConfigError, match=says):
        build_settings({"LIFTFLOW_DATA_DIR": str(tmp_path), name: value})


def test_runs_with_a_network_go_to_the_learned_queue_only_when_one_is_set(tmp_path):
    from liftflow.orchestration.names import CELERY_QUEUE_TAG
    from liftflow.orchestration.service import queue_tags

    scaled = {"LIFTFLOW_DATA_DIR": str(tmp_path), "LIFTFLOW_BROKER_URL": "redis://b:6379/0"}
    gpu = build_settings({**scaled, "LIFTFLOW_LEARNED_QUEUE": "gpu"})
    assert queue_tags(gpu, {"backend": "cutie"}) == {CELERY_QUEUE_TAG: "gpu"}
    assert queue_tags(gpu, {"backend": "classic", "pose_backend": "yolo"}) == {CELERY_QUEUE_TAG: "gpu"}
    assert queue_tags(gpu, {"backend": "classic", "pose_backend": "mediapipe"}) == {}
    assert queue_tags(build_settings(scaled), {"backend": "cutie"}) == {}
    assert queue_tags(build_settings({"LIFTFLOW_DATA_DIR": str(tmp_path), "LIFTFLOW_LEARNED_QUEUE": "gpu"}),
                      {"backend": "cutie"}) == {}


def test_an_instance_configured_elsewhere_is_used_as_it_is(tmp_path):
    home = tmp_path / "helm-home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    s = build_settings({"LIFTFLOW_DATA_DIR": str(tmp_path / "data"), "LIFTFLOW_DAGSTER_HOME": str(home)})
    assert prepare_dagster_home(s) == home == s.dagster_home
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    with pytest.raises(ConfigError, match="has no dagster.yaml"):
        prepare_dagster_home(build_settings({"LIFTFLOW_DATA_DIR": str(tmp_path / "data"),
                                             "LIFTFLOW_DAGSTER_HOME": str(tmp_path / "empty")}))
