"""The API's dependencies: settings, the JobService, the job of a path id, the API key.

Routes take them as ``Annotated`` parameters (``svc: Service``, ``view: Job``); tests swap
them with ``app.dependency_overrides[deps.job_service]`` (a JobService on an ephemeral
Dagster instance with a stub launcher) and ``[deps.app_settings]``.

An unknown or malformed job id raises ``JobNotFound`` here, and ``liftflow_api.errors``
turns it into the 404 (an HTML page for /jobs/{id}).
"""

from __future__ import annotations

import hmac
from functools import lru_cache
from typing import Annotated, Callable, Optional

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery

from liftflow.config import Settings, get_settings
from liftflow.errors import JobNotFound
from liftflow.jobstore import JobFolder, is_valid_job_id
from liftflow.orchestration.instance import get_instance
from liftflow.orchestration.launcher import launcher_from_settings
from liftflow.orchestration.service import JobService, JobView

API_KEY_HEADER = "X-API-Key"


def app_settings() -> Settings:
    """The process's settings (read from the environment by liftflow.config)."""
    return get_settings()


@lru_cache(maxsize=1)
def service() -> JobService:
    """The process's JobService (one Dagster instance, one launcher)."""
    settings = get_settings()
    return JobService(settings, get_instance(settings), launcher_from_settings(settings))


def job_service() -> JobService:
    return service()


def lazy_job_service(request: Request) -> Callable[[], JobService]:
    """``job_service`` (or its override) not yet called: for /health, which reports a
    service that cannot even be built as unhealthy (503) instead of failing."""
    return request.app.dependency_overrides.get(job_service, job_service)


AppSettings = Annotated[Settings, Depends(app_settings)]
Service = Annotated[JobService, Depends(job_service)]
LazyService = Annotated[Callable[[], JobService], Depends(lazy_job_service)]


def job_view(video_id: str, svc: Service) -> JobView:
    """The job of the path's ``video_id`` now; JobNotFound (404) if there is none."""
    return svc.view(video_id)


def job_folder(video_id: str, svc: Service) -> JobFolder:
    """The folder of the path's ``video_id`` without asking Dagster (artefact downloads)."""
    if not is_valid_job_id(video_id):
        raise JobNotFound(video_id)
    folder = JobFolder.for_job(svc.settings.results_dir, video_id)
    if not folder.exists():
        raise JobNotFound(video_id)
    return folder


Job = Annotated[JobView, Depends(job_view)]
JobFiles = Annotated[JobFolder, Depends(job_folder)]

# ------------------------------------------------------------------------- API keys

_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                        description="Required on /api/v1 routes when the server has API keys configured")
_api_key_query = APIKeyQuery(name="api_key", auto_error=False,
                             description="The same key as a query parameter (for links opened in a browser)")


def require_api_key(settings: AppSettings,
                    key: Optional[str] = Security(_api_key),
                    key_q: Optional[str] = Security(_api_key_query)) -> None:
    """When LIFTFLOW_API_KEYS / LIFTFLOW_API_KEYS_FILE name keys, every /api/v1 route needs one."""
    keys = settings.api_keys
    if not keys:
        return
    key = key or key_q
    if not key or not any(hmac.compare_digest(key.encode(), k.encode()) for k in keys):
        raise HTTPException(401, detail=f"missing or invalid API key (send it in the {API_KEY_HEADER} header)",
                            headers={"WWW-Authenticate": API_KEY_HEADER})
