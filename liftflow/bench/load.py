"""`liftflow bench load`: concurrent uploads and status pollers against a running stack.

Fires N uploads at once and P pollers that hammer the status endpoint while the jobs run;
then waits until every accepted job is finished. Prints accepted/processed/lost counts,
status latency percentiles and the stack's peak memory. Used by the load test with the
same figures (correctness asserted there, timing only printed).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional


def _pct(values: list[float], p: float) -> Optional[float]:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


async def _upload(client, video: Path, seed: dict, i: int) -> tuple[int, Optional[str], float]:
    t0 = time.perf_counter()
    with open(video, "rb") as f:
        r = await client.post("/api/v1/videos/upload", files={"file": (f"load{i}{video.suffix}", f, "video/mp4")},
                              data={**seed, "render": "false"})
    jid = r.json().get("video_id") if r.status_code == 200 else None
    return r.status_code, jid, time.perf_counter() - t0


class _Connection:
    """A poller's keep-alive HTTP/1.1 connection over a real socket: GET, read the answer.

    The pollers' client, instead of httpx: 200 pollers at 1 Hz through httpx took ~5 ms of CPU
    a request in this process (more than the API serving them), on the same 2 cores as the
    stack, so the latencies measured were mostly the load generator's own. This writes the
    request line and reads the status line, the headers and a Content-Length body (what
    uvicorn sends for JSON); anything else is an error, never a guess."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: Optional[asyncio.StreamReader] = None
        self.writer: Optional[asyncio.StreamWriter] = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        if "content-length" not in headers:
            raise RuntimeError(f"GET {path}: answer without Content-Length: {head!r}")
        body = await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def _poller(url: str, ids: list[str], stop: threading.Event, lat: list[float], codes: list[int],
                  bad: list[str], interval_s: float):
    """Poll a random job's /status every ``interval_s`` (after each answer) until ``stop``;
    an answer that is not that job's status body is counted in ``bad``."""
    import json
    from urllib.parse import urlsplit

    u = urlsplit(url)
    conn = _Connection(u.hostname, u.port)
    await asyncio.sleep(random.uniform(0, interval_s))  # clients do not poll in lockstep
    try:
        while not stop.is_set():
            jid = random.choice(ids)
            t0 = time.perf_counter()
            code, body = await conn.get(f"/api/v1/videos/{jid}/status")
            lat.append(time.perf_counter() - t0)
            codes.append(code)
            if code == 200 and json.loads(body).get("video_id") != jid:
                bad.append(jid)
            await asyncio.sleep(interval_s)
    finally:
        conn.close()


def _cpu_seconds(stack) -> dict[str, float]:
    """CPU seconds (user + system) so far of each kind of the stack's processes, and of this one."""
    import psutil

    out: dict[str, float] = {}
    for p in stack.tree():
        try:
            t = p.cpu_times()
            kind = _kind(p)
        except psutil.Error:
            continue
        # a reaped child's seconds are its parent's (a run worker's, the code server's)
        out[kind] = out.get(kind, 0.0) + t.user + t.system + t.children_user + t.children_system
    me = psutil.Process().cpu_times()
    out["load generator (this process)"] = me.user + me.system
    return out


# how a stack process is named in the CPU figures: the first whose word its command line, or
# its nearest parent's that has one, contains (a run worker is the code server's fork)
_KINDS = (("api", "uvicorn"), ("code server + run workers", "code_server"),
          ("webserver", "dagster-webserver"), ("daemon", "dagster-daemon"), ("supervisor", "liftflow.cli"))


def _kind(proc) -> str:
    for p in [proc, *proc.parents()]:
        cmd = " ".join(p.cmdline())
        for kind, word in _KINDS:
            if word in cmd:
                return kind
    return "other"


async def _loop_lag(stop: threading.Event, lags: list[float], period_s: float = 0.05) -> None:
    """This process's event-loop lag (how late a short sleep wakes): the client's own delay."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(period_s)
        lags.append(time.perf_counter() - t0 - period_s)


def _run(coro):
    """``asyncio.run`` on uvloop where it is installed (as uvicorn serves): the cheaper loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _p95_max(ms: list[float]):
    return (round(_pct(ms, 95), 1), round(max(ms), 1)) if ms else None


def _p50_p95_max(ms: list[float]):
    return (round(statistics.median(ms), 1), *_p95_max(ms)) if ms else None


def timing_file(stack) -> Optional[Path]:
    """Where the stack's API writes its request timings (``LIFTFLOW_API_TIMING_FILE``), if it does."""
    name = stack.env.get("LIFTFLOW_API_TIMING_FILE")
    return Path(name) if name else None


def run_load(stack, video: Path, seed: dict, uploads: int = 50, pollers: int = 200,
             poll_seconds: float = 30.0, finish_timeout_s: float = 900.0,
             poll_interval_s: float = 1.0) -> dict:
    """Against a started ``liftflow.devstack.StackProcess``; returns the figures. Server-side
    figures come from the API's timing file when the stack was started with
    ``LIFTFLOW_API_TIMING_FILE`` (``load_bench_cli`` does; ``timing_file(stack)``)."""
    import httpx
    from liftflow_api.timing import FLUSH_EVERY_S, read_timing

    peak = {"mb": 0.0}
    stop_mem = threading.Event()

    def sample_memory():
        while not stop_mem.is_set():
            peak["mb"] = max(peak["mb"], stack.rss_mb())
            time.sleep(0.25)

    mem_thread = threading.Thread(target=sample_memory, daemon=True)
    mem_thread.start()

    async def main():
        limits = httpx.Limits(max_connections=uploads)  # the uploads; pollers have their own
        async with httpx.AsyncClient(base_url=stack.url, timeout=120, limits=limits) as c:
            t0 = time.perf_counter()
            ups = await asyncio.gather(*[_upload(c, video, seed, i) for i in range(uploads)])
            upload_wall = time.perf_counter() - t0
            ids = [jid for code, jid, _ in ups if jid]
            lat: list[float] = []
            codes: list[int] = []
            bad: list[str] = []
            stop = threading.Event()
            window["cpu0"] = _cpu_seconds(stack)
            window["t0"] = time.monotonic()
            if ids:
                lag_task = asyncio.create_task(_loop_lag(stop, client_lag))
                tasks = [asyncio.create_task(_poller(stack.url, ids, stop, lat, codes, bad, poll_interval_s))
                         for _ in range(pollers)]
                await asyncio.sleep(poll_seconds)
                stop.set()
                await asyncio.gather(*tasks, lag_task)
            window["t1"] = time.monotonic()
            window["cpu1"] = _cpu_seconds(stack)
            return ups, upload_wall, ids, lat, codes, bad

    window: dict = {}
    client_lag: list[float] = []
    ups, upload_wall, ids, lat, codes, bad = _run(main())
    time.sleep(FLUSH_EVERY_S + 0.5)  # the API's timing file is flushed every second
    reqs, lags = read_timing(timing_file(stack)) if timing_file(stack) else ([], [])
    t0, t1 = window["t0"], window["t1"]
    server = [ms for start, ms, _, path in reqs if t0 <= start <= t1 and path.endswith("/status")]
    loop_lag = [ms for at, ms in lags if t0 <= at <= t1]
    cpu = {k: round(window["cpu1"].get(k, 0.0) - v, 1) for k, v in window["cpu0"].items()}
    # every accepted job must finish
    final: dict[str, str] = {}
    deadline = time.monotonic() + finish_timeout_s
    with stack.client() as c:
        pending = list(ids)
        while pending and time.monotonic() < deadline:
            still = []
            for jid in pending:
                st = c.get(f"/api/v1/videos/{jid}/status").json().get("status")
                if st in ("completed", "failed"):
                    final[jid] = st
                else:
                    still.append(jid)
            pending = still
            if pending:
                time.sleep(1.0)
        listed = {v["video_id"] for v in c.get("/api/v1/videos").json()["videos"]}
    stop_mem.set()
    mem_thread.join(2)
    upload_codes: dict[int, int] = {}
    for code, _, _ in ups:
        upload_codes[code] = upload_codes.get(code, 0) + 1
    status_codes: dict[int, int] = {}
    for code in codes:
        status_codes[code] = status_codes.get(code, 0) + 1
    return {
        "uploads": uploads, "pollers": pollers, "poll_interval_s": poll_interval_s, "accepted": len(ids),
        "upload_codes": upload_codes, "upload_wall_s": round(upload_wall, 2),
        "upload_p95_s": round(_pct([t for _, _, t in ups], 95), 3),
        "completed": sum(1 for s in final.values() if s == "completed"),
        "failed": sum(1 for s in final.values() if s == "failed"),
        "unfinished": len(ids) - len(final),
        "missing_from_list": len(set(ids) - listed),
        "status_requests": len(lat), "status_codes": status_codes, "status_wrong_bodies": len(bad),
        "status_p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "status_p95_ms": round(1000 * _pct(lat, 95), 1) if lat else None,
        "status_max_ms": round(1000 * max(lat), 1) if lat else None,
        "client_loop_lag_p95_max_ms": _p95_max([1000 * v for v in client_lag]),
        "server_status_requests": len(server),
        "server_status_p50_p95_max_ms": _p50_p95_max(server),
        "server_loop_lag_p95_max_ms": _p95_max(loop_lag),
        "cpu_s_while_polling": {**cpu, "window_s": round(t1 - t0, 1)},
        "peak_memory_mb": round(peak["mb"], 1),
    }


def load_bench_cli(argv: list[str]) -> int:
    from liftflow.config import get_settings
    from liftflow.devstack import StackProcess

    p = argparse.ArgumentParser(prog="liftflow bench load", description=__doc__)
    p.add_argument("--uploads", type=int, default=50)
    p.add_argument("--pollers", type=int, default=200)
    p.add_argument("--poll-seconds", type=float, default=30.0, help="how long the pollers run")
    p.add_argument("--poll-interval", type=float, default=1.0, help="seconds between a poller's requests")
    p.add_argument("--video", type=Path, default=None,
                   help="the clip to upload (default: randy-clean.mp4 in the settings' real_data_dir)")
    p.add_argument("--seed", default="347,969,108", help="disc_center_x,disc_center_y,disc_radius")
    a = p.parse_args(argv)
    video = a.video or get_settings().real_data_dir / "randy-clean.mp4"
    x, y, r = (float(v) for v in a.seed.split(","))
    with tempfile.TemporaryDirectory(prefix="liftflow-load-") as tmp:
        data = Path(tmp) / "data"
        stack = StackProcess(data, LIFTFLOW_API_TIMING_FILE=str(data / "api-timing.log")).start()
        try:
            res = run_load(stack, video, {"disc_center_x": x, "disc_center_y": y, "disc_radius": r},
                           a.uploads, a.pollers, a.poll_seconds, poll_interval_s=a.poll_interval)
        finally:
            stack.stop()
    for k, v in res.items():
        print(f"{k:<20} {v}")
    return 0 if res["unfinished"] == 0 and res["accepted"] == res["uploads"] else 1
