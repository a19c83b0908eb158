"""LiftFlow's error tree (``liftflow.errors``) mapped to HTTP status codes, once.

::

    InputError (VideoError, SeedError, DatasetError, ...)   422  its ``.public`` message
    BackendUnavailable (TrackerUnavailable, PoseUnavailable) 422  ``.public`` (no server path;
                                                                  the full reason goes to the log)
    JobNotFound                                             404  "Video job '<id>' not found"
                                                                  (an HTML page outside /api/)
    JobConflict                                             409  its message
    LaunchError                                             503  ``.public``: its first line, without the
                                                                  GraphQL query/variables (logged in full)
    BatchError                                              503  {"message", "submitted": [{case_id, job_id}]}
    ConfigError                                             500  its message (names the variable)
    any other exception                                     500  "internal error: <type>: <message>"

What a client sees is always the error's ``.public`` form (``liftflow.errors.public_message``:
no server paths, no ``[Errno N]`` prefixes); the log keeps the full text.

Routes raise these errors (or let the core's propagate) and never translate them
themselves; ``register`` installs the handlers on the app. HTTPException stays for what
only the API knows (400 extension, 413 size, 404 asset, 503 DATASETS_ROOT); those and the
LiftFlow errors answer ``{"detail": "<a sentence>"}``, as FastAPI's HTTPException does.

Request validation errors (a field missing or of the wrong type) are 422 in FastAPI's shape,
which the original server's clients iterate: ``detail`` is the list ``[{type, loc, msg,
input}]``; LiftFlow adds ``message`` (one readable line) and ``errors`` (``[{field, message}]``).
"""

from __future__ import annotations

import json
import logging
from html import escape

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from liftflow.errors import (
    BackendUnavailable, BatchError, ConfigError, InputError, JobConflict, JobNotFound, LaunchError,
    LiftFlowError, public_message,
)

log = logging.getLogger("liftflow_api")

# Most specific first is not needed: the exception's MRO is walked, the first class found wins.
STATUS: dict[type[LiftFlowError], int] = {
    InputError: 422,
    BackendUnavailable: 422,
    JobNotFound: 404,
    JobConflict: 409,
    LaunchError: 503,
    BatchError: 503,
    ConfigError: 500,
}


def status_for(exc: BaseException) -> int | None:
    """The HTTP status of a LiftFlow error, or None when it is not mapped (a 500)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return None


def detail_for(exc: LiftFlowError):
    """What the client sees as ``detail``."""
    if isinstance(exc, JobNotFound):
        # JobService raises JobNotFound(job_id): the message is the id.
        return f"Video job {job_id_of(exc)!r} not found"
    if isinstance(exc, BatchError):
        return {"message": exc.public, "submitted": [
            {"case_id": j["case_id"], "job_id": j["job_id"]} for j in exc.submitted]}
    return exc.public  # no server paths, no [Errno N], no GraphQL text (the log has the full one)


def job_id_of(exc: JobNotFound) -> str:
    return str(exc.args[0]) if exc.args else "?"


def _is_page(request: Request) -> bool:
    """The HTML pages live outside /api/ (and / and /health never raise JobNotFound)."""
    return not request.url.path.startswith("/api/")


def _unexpected_response(request: Request, exc: BaseException) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500,
                        content={"detail": public_message(f"internal error: {type(exc).__name__}: {exc}")})


async def liftflow_error(request: Request, exc: LiftFlowError):
    status = status_for(exc)
    if status is None:
        return _unexpected_response(request, exc)
    if isinstance(exc, BackendUnavailable):
        log.warning("refused %s %s: %s", request.method, request.url.path, exc)  # with paths
    elif status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)  # the full text
    if isinstance(exc, JobNotFound) and _is_page(request):
        return HTMLResponse(f"<!doctype html><title>Not found</title><p>No job {escape(repr(job_id_of(exc)), quote=True)}.</p>",
                            status_code=404)
    return JSONResponse(status_code=status, content={"detail": detail_for(exc)})


def _json_safe(value):
    """``value`` as FastAPI encodes it, or its text when it has no JSON form (bytes that are not
    UTF-8, an uploaded file where a number was expected): a bad request never becomes a 500."""
    try:
        out = jsonable_encoder(value)
        json.dumps(out, allow_nan=False)  # as the response will be: Infinity/NaN are not JSON
        return out
    except Exception:
        return str(value)


async def validation_error(request: Request, exc: RequestValidationError):
    raw = exc.errors()
    detail = [{k: _json_safe(v) for k, v in e.items() if k != "url"} for e in raw]
    errors = [{"field": ".".join(str(p) for p in e.get("loc", [])[1:]), "message": e.get("msg")} for e in raw]
    text = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return JSONResponse(status_code=422, content={"detail": detail, "message": text, "errors": errors})


async def unexpected_error(request: Request, exc: Exception):
    return _unexpected_response(request, exc)


def register(app: FastAPI) -> None:
    """Install the handlers: LiftFlow errors, request validation, anything else (500)."""
    app.add_exception_handler(LiftFlowError, liftflow_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
