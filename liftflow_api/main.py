"""The FastAPI facade: launches Dagster runs and reads their outputs; keeps no job state.

``create_app()`` builds the app: one router per resource (``routes/``), the request guard
(``guard.RequestGuard``, pure ASGI: the API key and the body limits judged from the headers
before any byte of the body is read, the body counted and timed while it streams), CORS (any origin unless LIFTFLOW_CORS_ORIGINS narrows it; no
credentials: keys travel in the X-API-Key header, not cookies), and the error handlers of
``liftflow_api.errors`` (LiftFlow's errors mapped to status codes once). ``uvicorn
liftflow_api.app:app`` serves it (``liftflow up`` does).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from liftflow.config import get_settings
from liftflow.contract import API_VERSION
from liftflow_api import errors
from liftflow_api.deps import API_KEY_HEADER, api_key_scheme
from liftflow_api.guard import RequestGuard
from liftflow_api.routes import bench, config, pages, system, videos
from liftflow_api.timing import RequestTiming


def create_app() -> FastAPI:
    app = FastAPI(
        responses={401: {"description": "Missing or invalid API key (only when keys are configured)"}},
        title="LiftFlow API",
        version=API_VERSION,
        description="Upload a lift video and a seed circle on a plate; poll; get the bar path and its physics.",
    )
    guarded = [Depends(api_key_scheme)]  # documents the header; RequestGuard checks it
    app.include_router(videos.router, dependencies=guarded)
    app.include_router(system.router, dependencies=guarded)
    app.include_router(bench.router, dependencies=guarded)
    app.include_router(config.router, dependencies=guarded)
    app.include_router(pages.router, dependencies=guarded)
    app.include_router(system.open_router)
    # Added first, so CORS (added after it) is outside it: preflights are answered without a
    # key, and the guard's refusals carry the CORS headers a browser client needs to read them.
    app.add_middleware(RequestGuard)
    origins = get_settings().cors_origins
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_credentials=False,
                           allow_methods=["*"], allow_headers=["*", API_KEY_HEADER])
    settings = get_settings()
    if settings.api_timing_file is not None:  # benchmarks only; outermost, so it times everything
        app.add_middleware(RequestTiming, path=settings.api_timing_file)
    errors.register(app)
    return app


app = create_app()
