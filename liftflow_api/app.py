"""The FastAPI facade: launches Dagster runs and reads their outputs; keeps no job state."""

from __future__ import annotations

import logging

import hmac

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import APIKeyHeader, APIKeyQuery
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from liftflow.config import get_settings
from liftflow.contract import API_VERSION
from liftflow_api import deps
from liftflow_api.routes import bench, config, pages, videos

log = logging.getLogger("liftflow_api")
API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                        description="Required on /api/v1 routes when the server has API keys configured")


_api_key_query = APIKeyQuery(name="api_key", auto_error=False,
                             description="The same key as a query parameter (for links opened in a browser)")


def require_api_key(key: str | None = Security(_api_key),
                    key_q: str | None = Security(_api_key_query)) -> None:
    """When LIFTFLOW_API_KEYS / LIFTFLOW_API_KEYS_FILE name keys, every /api/v1 route needs one."""
    keys = get_settings().api_keys
    if not keys:
        return
    key = key or key_q
    if not key or not any(hmac.compare_digest(key.encode(), k.encode()) for k in keys):
        raise HTTPException(401, detail=f"missing or invalid API key (send it in the {API_KEY_HEADER} header)",
                            headers={"WWW-Authenticate": API_KEY_HEADER})


def create_app() -> FastAPI:
    app = FastAPI(
        responses={401: {"description": "Missing or invalid API key (only when keys are configured)"}},
        title="LiftFlow API",
        version=API_VERSION,
        description="Upload a lift video and a seed circle on a plate; poll; get the bar path and its physics.",
    )
    guarded = [Depends(require_api_key)]
    app.include_router(videos.router, dependencies=guarded)
    app.include_router(bench.router, dependencies=guarded)
    app.include_router(config.router, dependencies=guarded)
    app.include_router(pages.router, dependencies=guarded)
    origins = get_settings().cors_origins
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["*"],
                           allow_headers=["*", API_KEY_HEADER])

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [{"field": ".".join(str(p) for p in e.get("loc", [])[1:]), "message": e.get("msg")}
                  for e in exc.errors()]
        text = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return JSONResponse(status_code=422, content={"detail": text, "errors": errors})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={
            "detail": f"internal error: {type(exc).__name__}: {exc}"})

    @app.get("/", tags=["system"], summary="Root info")
    def root():
        return {"name": "LiftFlow API", "api_version": API_VERSION, "docs": "/docs", "results_page": "/jobs/{video_id}",
                "info": "/api/v1/info", "health": "/health"}

    @app.get("/health", tags=["system"], summary="Health check with job counts")
    def health():
        try:
            counts = deps.service().counts()
            return {"status": "healthy", "jobs": counts}
        except Exception as exc:
            return JSONResponse(status_code=503, content={"status": "unhealthy", "detail": str(exc)})

    return app


app = create_app()
