"""The request guard: a pure ASGI middleware that judges a request from its headers before
any byte of its body is read, and watches the body while it streams.

From the headers alone (nothing read, nothing spooled to disk):

- API keys (when ``LIFTFLOW_API_KEYS`` / ``LIFTFLOW_API_KEYS_FILE`` name some): every route
  but the open ones (``/``, ``/health``, ``/docs``, ``/redoc``, ``/openapi.json``) needs a valid
  ``X-API-Key`` header: 401 otherwise. A signed page token (``?token=``, ``liftflow_api.links``)
  stands in for the key on GET/HEAD of its own job's page and media only. CORS preflights
  are answered by the CORS middleware outside this one and need no key.
- Size: a ``Content-Length`` above the upload limit (``LIFTFLOW_MAX_UPLOAD_MB`` plus
  ``MULTIPART_ALLOWANCE`` for the form's other fields and boundaries) is a 413.

While the body streams (what the app's ``receive`` returns is counted):

- more bytes than the limit (a chunked upload has no Content-Length): 413 at once;
- more bytes than the declared Content-Length: 400;
- no byte for ``LIFTFLOW_BODY_TIMEOUT_S`` while the body is incomplete (a client that
  declared more than it sends and idles; uvicorn has no such timeout): 408.

Refusals answer ``{"detail": ...}`` with ``Connection: close`` (the rest of the body is never
read; uvicorn closes the connection after the answer). A refusal in the middle of the body
stops the app: its later answer (FastAPI turns the aborted read into a 400) is dropped.
The exact per-file limit stays with ``services.uploads.save_upload`` (413).
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Callable, Optional
from urllib.parse import parse_qs

from liftflow.config import Settings, get_settings
from liftflow_api.links import TOKEN_PARAM, token_job, token_valid

API_KEY_HEADER = "X-API-Key"
OPEN_PATHS = frozenset({"/", "/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
MULTIPART_ALLOWANCE = 1024 * 1024  # the form's fields (tags up to 16 KB) and multipart boundaries
MIB = 1024 * 1024


class _BodyRefused(Exception):
    """Raised into the app from ``receive`` once the guard has answered."""


def key_valid(settings: Settings, key: Optional[str]) -> bool:
    """``key`` is one of the configured API keys (constant-time comparison)."""
    return bool(key) and any(hmac.compare_digest(key.encode(), k.encode()) for k in settings.api_keys)


def body_limit(settings: Settings) -> int:
    """The most bytes a request body may have."""
    return settings.max_upload_mb * MIB + MULTIPART_ALLOWANCE


def _header(scope, name: bytes) -> Optional[str]:
    for k, v in scope.get("headers") or ():
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def _authorised(settings: Settings, scope) -> bool:
    if not settings.api_keys or scope["path"] in OPEN_PATHS or scope["method"] == "OPTIONS":
        return True
    if key_valid(settings, _header(scope, b"x-api-key")):
        return True
    job = token_job(scope["path"]) if scope["method"] in ("GET", "HEAD") else None
    if job is None:
        return False
    tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(TOKEN_PARAM) or []
    return len(tokens) == 1 and token_valid(settings, job, tokens[0])


async def _answer(send, status: int, detail: str, headers: tuple = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class RequestGuard:
    """``RequestGuard(app)``: the API-key check and the body limits in front of ``app``."""

    def __init__(self, app, settings: Callable[[], Settings] = get_settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        s = self.settings()
        if not _authorised(s, scope):
            return await _answer(send, 401, f"missing or invalid API key (send it in the {API_KEY_HEADER} header)",
                                 ((b"www-authenticate", API_KEY_HEADER.encode()),))
        limit = body_limit(s)
        too_large = f"The request exceeds the upload limit of {s.max_upload_mb} MB"
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return await _answer(send, 400, "invalid Content-Length")
            declared = int(declared)
            if declared > limit:
                return await _answer(send, 413, too_large)
        await _Body(self.app, s, limit, declared, too_large)(scope, receive, send)


class _Body:
    """One request's body, counted while the app reads it."""

    def __init__(self, app, settings: Settings, limit: int, declared: Optional[int], too_large: str):
        self.app, self.limit, self.declared, self.too_large = app, limit, declared, too_large
        self.timeout = settings.body_timeout_s
        self.received = 0
        self.complete = False  # the last body message arrived
        self.started = False   # the app began its answer
        self.refused = False   # the guard answered

    async def __call__(self, scope, receive, send):
        async def guarded_send(message):
            if self.refused:
                return
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        async def refuse(status: int, detail: str):
            if not self.started and not self.refused:
                self.refused = True
                await _answer(send, status, detail)
            raise _BodyRefused(detail)

        async def guarded_receive():
            if self.complete:  # the body is read: what is left is the disconnect, however late
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except asyncio.TimeoutError:
                await refuse(408, f"the request body stopped arriving (nothing for {self.timeout:g} s)")
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                self.complete = not message.get("more_body", False)
                if self.declared is not None and self.received > self.declared:
                    await refuse(400, "the request body is longer than its Content-Length")
                if self.received > self.limit:
                    await refuse(413, self.too_large)
            else:
                self.complete = True
            return message

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except _BodyRefused:
            if not self.refused:
                raise
