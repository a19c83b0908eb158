"""The Dagster instance of a LiftFlow data folder (DAGSTER_HOME = <data>/dagster_home)."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

from liftflow.config import PROJECT_ROOT, Settings, get_settings, set_environment


def prepare_dagster_home(settings: Settings | None = None) -> Path:
    """Create DAGSTER_HOME with the project's dagster.yaml and point the environment at it."""
    settings = settings or get_settings()
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    src = PROJECT_ROOT / "dagster.yaml"
    dst = home / "dagster.yaml"
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)
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
