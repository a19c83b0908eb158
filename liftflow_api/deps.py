"""The API's dependencies: settings, the JobService, the job of a path id (and the API key's
OpenAPI declaration; the key is checked by ``liftflow_api.guard``).

Routes take them as ``Annotated`` parameters (``svc: Service``, ``view: Job``); tests swap
them with ``app.dependency_overrides[deps.job_service]`` (a JobService on an ephemeral
Dagster instance with a stub launcher) and ``[deps.app_settings]``.

An unknown or malformed job id raises ``JobNotFound`` here, and ``liftflow_api.errors``
turns it into the 404 (an HTML page for /jobs/{id}).
"""

from __future__ import annotations

import gc
from functools import lru_cache
from typing import Annotated, Callable, Optional

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader

from liftflow.config import Settings, get_settings
from liftflow.errors import JobNotFound
from liftflow.jobstore import JobFolder, is_valid_job_id
from liftflow.orchestration.instance import get_instance
from liftflow.orchestration.launcher import launcher_from_settings
from liftflow.orchestration.service import JobService, JobView
from liftflow_api.guard import API_KEY_HEADER



# The cheap dependencies are coroutines: a sync one costs a hop through the thread pool on
# every request, and the pollers of many jobs are this API's hot path.
async def app_settings() -> Settings:
    """The process's settings (read from the environment by liftflow.config)."""
    return get_settings()


@lru_cache(maxsize=1)
def service() -> JobService:
    """The process's JobService (one Dagster instance, one launcher). Built once, on the
    first request that needs it; then everything loaded so far (Dagster: ~200,000 objects)
    is moved out of the garbage collector's sight (``gc.freeze``): a full collection of that
    heap stopped the event loop, every poll with it, for ~150 ms (more under CPU load), and
    polling traffic set one off every few seconds. It lives as long as the process anyway."""
    settings = get_settings()
    svc = JobService(settings, get_instance(settings), launcher_from_settings(settings))
    gc.freeze()
    return svc


async def job_service() -> JobService:
    return service()


async def lazy_job_service(request: Request) -> Callable[[], JobService]:
    """``job_service`` (or its override) not yet called: for /health, which reports a
    service that cannot even be built as unhealthy (503) instead of failing."""
    return request.app.dependency_overrides.get(job_service, service)


AppSettings = Annotated[Settings, Depends(app_settings)]
Service = Annotated[JobService, Depends(job_service)]
LazyService = Annotated[Callable[[], JobService], Depends(lazy_job_service)]


async def job_view(video_id: str, svc: Service) -> JobView:
    """The job of the path's ``video_id`` now; JobNotFound (404) if there is none. A view the
    service holds fresh is served on the event loop; one that needs the run storage is read
    in a worker thread (a query must not stall every other request)."""
    view = svc.cached_view(video_id)
    if view is not None:
        return view
    return await run_in_threadpool(svc.view, video_id)


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
                        description="Required on /api/v1 routes and the results pages when the server has API "
                                    "keys configured (a results-page link carries a signed token instead)")


async def api_key_scheme(key: Optional[str] = Security(_api_key)) -> None:
    """Declares the X-API-Key header in the OpenAPI document (Swagger's Authorize button).
    The check itself is ``liftflow_api.guard.RequestGuard``'s: from the headers, before any
    byte of the body is read. A coroutine: as a plain function it cost every request of the
    guarded routers (every poll) a hop through the thread pool."""
