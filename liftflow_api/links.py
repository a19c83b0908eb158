"""Signed results-page links: a browser cannot send ``X-API-Key``, so with keys on the
links to ``/jobs/{id}`` carry ``?token=<expiry>.<signature>`` instead.

The signature is an HMAC-SHA256 over the job id and the expiry with the server's link
secret (``LIFTFLOW_LINK_SECRET``, else derived from the configured API keys: changing the
keys invalidates the links). A token opens, with GET or HEAD, only its own job's page and
that page's media (overlay, poster, plots): never another job, never a JSON route
(``TOKEN_ROUTES``; ``liftflow_api.guard`` checks it). It lasts ``LIFTFLOW_LINK_TTL_S``
(24 h by default).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Optional

from liftflow.config import Settings

TOKEN_PARAM = "token"
# The routes a page token opens (GET/HEAD): the page, and the media it shows.
TOKEN_ROUTES = (
    re.compile(r"^/jobs/(?P<job>[^/]+)$"),
    re.compile(r"^/api/v1/videos/(?P<job>[^/]+)/(?:overlay|poster|plots/[^/]+)$"),
)


def _secret(settings: Settings) -> bytes:
    if settings.link_secret:
        return settings.link_secret.encode()
    material = "\0".join(sorted(settings.api_keys)).encode()
    return hashlib.sha256(b"liftflow page links\0" + material).digest()


def _signature(settings: Settings, job_id: str, expires: int) -> str:
    mac = hmac.new(_secret(settings), f"jobs/{job_id}\0{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def make_token(settings: Settings, job_id: str, now: Optional[float] = None) -> str:
    expires = int((time.time() if now is None else now) + settings.link_ttl_s)
    return f"{expires}.{_signature(settings, job_id, expires)}"


def token_valid(settings: Settings, job_id: str, token: str, now: Optional[float] = None) -> bool:
    """``token`` was made by this server for ``job_id`` and has not expired."""
    expires, _, sig = (token or "").partition(".")
    if not expires.isdigit() or not sig or len(expires) > 12:
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(sig.encode(), _signature(settings, job_id, int(expires)).encode())


def token_job(path: str) -> Optional[str]:
    """The job whose page or media ``path`` is, or None for every route a token cannot open."""
    for pattern in TOKEN_ROUTES:
        m = pattern.match(path)
        if m:
            return m.group("job")
    return None


def page_link(settings: Settings, job_id: str) -> str:
    """``/jobs/{id}``, signed when API keys are on."""
    return f"/jobs/{job_id}" + (f"?{TOKEN_PARAM}={make_token(settings, job_id)}" if settings.api_keys else "")


def media_suffix(settings: Settings, job_id: str) -> str:
    """What the page appends to its media URLs: a token when API keys are on."""
    return f"?{TOKEN_PARAM}={make_token(settings, job_id)}" if settings.api_keys else ""
