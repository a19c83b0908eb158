"""The FastAPI facade: launches Dagster runs and reads their outputs; keeps no job state."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from liftflow.contract import API_VERSION
from liftflow_api import deps
from liftflow_api.routes import bench, config, videos

log = logging.getLogger("liftflow_api")


def create_app() -> FastAPI:
    app = FastAPI(
        title="LiftFlow API",
        version=API_VERSION,
        description="Upload a lift video and a seed circle on a plate; poll; get the bar path and its physics.",
    )
    app.include_router(videos.router)
    app.include_router(bench.router)
    app.include_router(config.router)

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
        return {"name": "LiftFlow API", "api_version": API_VERSION, "docs": "/docs",
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
