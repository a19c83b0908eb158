"""Server-side timing for benchmarks (``LIFTFLOW_API_TIMING_FILE``; off by default).

When the setting names a file, ``RequestTiming`` (pure ASGI, outermost) appends a line per
HTTP request and a loop-lag sample every ``LAG_PERIOD_S``, so a benchmark can tell the
server's share of a latency from the client's and the network's:

- ``req <start> <ms> <status> <path>``: from the moment the app got the parsed request to
  its last body byte handed to the server (what time the request spent inside the app);
- ``lag <at> <ms>``: how late a ``LAG_PERIOD_S`` sleep of the event loop woke: the time any
  ready request waited for the loop (a blocked loop, the GIL held by a thread, no CPU).

``<start>``/``<at>`` are ``time.monotonic()`` seconds (one clock for every process of the
machine). Lines are buffered and flushed by the probe every ``LAG_PERIOD_S``: a few bytes
per request, never a disk write on the request's path. ``read_timing`` parses the file.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Optional

LAG_PERIOD_S = 0.05
FLUSH_EVERY_S = 1.0


class RequestTiming:
    def __init__(self, app, path: Path):
        self.app = app
        self.path = Path(path)
        self._out = None
        self._probe: Optional[asyncio.Task] = None

    def _start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = open(self.path, "a", buffering=1 << 16)
        self._probe = asyncio.get_running_loop().create_task(self._lag_probe())

    async def _lag_probe(self) -> None:
        loop = asyncio.get_running_loop()
        next_flush = loop.time() + FLUSH_EVERY_S
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(LAG_PERIOD_S)
            now = time.monotonic()
            self._out.write(f"lag {now:.4f} {1000 * (now - t0 - LAG_PERIOD_S):.2f}\n")
            if now >= next_flush:
                self._out.flush()
                next_flush = now + FLUSH_EVERY_S

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self._out is None:
            self._start()
        t0 = time.monotonic()
        status = [0]

        async def timed_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self._out.write(f"req {t0:.4f} {1000 * (time.monotonic() - t0):.2f} {status[0]} "
                                f"{scope.get('path', '')}\n")

        await self.app(scope, receive, timed_send)


def read_timing(path: Path) -> tuple[list[tuple[float, float, int, str]], list[tuple[float, float]]]:
    """The file's ``(start, ms, status, path)`` requests and ``(at, ms)`` lag samples."""
    reqs, lags = [], []
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return reqs, lags
    for line in text.splitlines():
        parts = line.split(" ", 4)
        try:
            if parts[0] == "req" and len(parts) == 5:
                reqs.append((float(parts[1]), float(parts[2]), int(parts[3]), parts[4]))
            elif parts[0] == "lag" and len(parts) == 3:
                lags.append((float(parts[1]), float(parts[2])))
        except ValueError:  # a line cut short by a kill
            continue
    return reqs, lags
