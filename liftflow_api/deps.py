"""Shared objects of the API process (settings, Dagster instance, launcher, job service)."""

from __future__ import annotations

from functools import lru_cache

from liftflow.config import get_settings
from liftflow.orchestration.instance import get_instance
from liftflow.orchestration.launcher import launcher_from_settings
from liftflow.orchestration.service import JobService


@lru_cache(maxsize=1)
def service() -> JobService:
    settings = get_settings()
    return JobService(settings, get_instance(settings), launcher_from_settings(settings))
