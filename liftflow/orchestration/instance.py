"""The Dagster instance of a LiftFlow data folder (DAGSTER_HOME = <data>/dagster_home).

Its dagster.yaml is the project's ``dagster.yaml`` (the embedded profile: SQLite under the
data folder, runs as subprocesses of the code server, one at a time) with what the settings
switch on written over it (README "Scaling out"):

- ``LIFTFLOW_STORAGE_URL``: run, event-log and schedule storage in Postgres (dagster-postgres);
- ``LIFTFLOW_BROKER_URL``: runs launched as Celery tasks onto ``liftflow worker`` processes
  (dagster-celery's ``CeleryRunLauncher`` with a health check that sees a dead worker,
  ``celery_launcher``; a whole run is one task, so steps pay no per-op hand-off);
- ``LIFTFLOW_CONCURRENT_RUNS``: how many runs the daemon's queue lets run at once.

``LIFTFLOW_DAGSTER_HOME`` names an instance configured elsewhere (the Dagster Helm chart's
on Kubernetes): its dagster.yaml is used as it is and none is written.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

from liftflow.config import PROJECT_ROOT, Settings, get_settings, set_environment
from liftflow.errors import ConfigError

HEADER = ("# Written by LiftFlow at start-up from {src} and the settings (LIFTFLOW_STORAGE_URL,\n"
          "# LIFTFLOW_BROKER_URL, LIFTFLOW_CONCURRENT_RUNS): edit those, not this file.\n")


def celery_config(settings: Settings) -> dict:
    """The Celery app of the run launcher and of every worker: the two must agree.

    The broker is also the result backend (the daemon asks a task's state to tell a dead
    worker from a busy one); ``task_track_started`` makes a running run's task read STARTED.
    One run per worker process and none reserved behind it: with an early ack a busy worker
    would take the next run off the queue and sit on it while another worker idles;
    ``task_acks_late`` with a prefetch of 1 keeps it on the queue. A late-acked task of a
    dead worker that the broker hands out again is ignored by Dagster (its run is finished
    or being retried already)."""
    return {
        "broker": settings.broker_url,
        "backend": settings.broker_url,
        "default_queue": settings.worker_queue,
        "config_source": {
            "task_track_started": True,
            "worker_prefetch_multiplier": 1,
            "task_acks_late": True,
            "broker_connection_retry_on_startup": True,
            "result_expires": 7 * 24 * 3600,
        },
    }


def instance_config(settings: Settings) -> dict:
    """dagster.yaml of this data folder, as a mapping."""
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text()) or {}
    config.setdefault("concurrency", {}).setdefault("runs", {})["max_concurrent_runs"] = settings.concurrent_runs
    if settings.storage_url:
        config["storage"] = {"postgres": {"postgres_url": settings.storage_url}}
    if settings.broker_url:
        config["run_launcher"] = {"module": "liftflow.orchestration.celery_launcher",
                                  "class": "LiftFlowCeleryRunLauncher", "config": celery_config(settings)}
        # a dead worker is seen after two looks (celery_launcher): look every 5 s
        config.setdefault("run_monitoring", {})["poll_interval_seconds"] = 5
    return config


def prepare_dagster_home(settings: Settings | None = None) -> Path:
    """Create DAGSTER_HOME with this data folder's dagster.yaml and point the environment at it."""
    settings = settings or get_settings()
    home = settings.dagster_home
    if settings.external_dagster_home is not None:  # LIFTFLOW_DAGSTER_HOME: configured elsewhere
        if not (home / "dagster.yaml").is_file():
            raise ConfigError(f"LIFTFLOW_DAGSTER_HOME={home} has no dagster.yaml")
        set_environment(DAGSTER_HOME=str(home))
        return home
    home.mkdir(parents=True, exist_ok=True)
    text = HEADER.format(src=PROJECT_ROOT / "dagster.yaml") + yaml.safe_dump(instance_config(settings),
                                                                             sort_keys=False)
    dst = home / "dagster.yaml"
    if not dst.exists() or dst.read_text() != text:
        tmp = dst.with_name(f".dagster.yaml.{os.getpid()}")
        # the storage URL may carry a password: only the owner reads the file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, dst)
    set_environment(DAGSTER_HOME=str(home))
    return home


@lru_cache(maxsize=4)
def _instance_for(home: str):
    from dagster import DagsterInstance

    return DagsterInstance.from_config(home)


def get_instance(settings: Settings | None = None):
    """The (cached) DagsterInstance of this data folder."""
    home = prepare_dagster_home(settings)
    return _instance_for(str(home))
