"""The FastAPI facade: launches Dagster runs and reads their outputs; keeps no job state.

``create_app()`` builds the app: one router per resource (``routes/``), the API-key guard
on every /api/v1 route, CORS (any origin unless LIFTFLOW_CORS_ORIGINS narrows it; no
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
from liftflow_api.deps import API_KEY_HEADER, require_api_key
from liftflow_api.routes import bench, config, pages, system, videos


def create_app() -> FastAPI:
    app = FastAPI(
        responses={401: {"description": "Missing or invalid API key (only when keys are configured)"}},
        title="LiftFlow API",
        version=API_VERSION,
        description="Upload a lift video and a seed circle on a plate; poll; get the bar path and its physics.",
    )
    guarded = [Depends(require_api_key)]
    app.include_router(videos.router, dependencies=guarded)
    app.include_router(system.router, dependencies=guarded)
    app.include_router(bench.router, dependencies=guarded)
    app.include_router(config.router, dependencies=guarded)
    app.include_router(pages.router, dependencies=guarded)
    app.include_router(system.open_router)
    origins = get_settings().cors_origins
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_credentials=False,
                           allow_methods=["*"], allow_headers=["*", API_KEY_HEADER])
    errors.register(app)
    return app


app = create_app()
