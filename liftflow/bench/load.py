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


async def _poller(client, ids: list[str], stop: threading.Event, lat: list[float], codes: list[int],
                  interval_s: float):
    await asyncio.sleep(random.uniform(0, interval_s))  # clients do not poll in lockstep
    while not stop.is_set():
        jid = random.choice(ids)
        t0 = time.perf_counter()
        r = await client.get(f"/api/v1/videos/{jid}/status")
        lat.append(time.perf_counter() - t0)
        codes.append(r.status_code)
        await asyncio.sleep(interval_s)


def run_load(stack, video: Path, seed: dict, uploads: int = 50, pollers: int = 200,
             poll_seconds: float = 30.0, finish_timeout_s: float = 900.0,
             poll_interval_s: float = 1.0) -> dict:
    """Against a started ``liftflow.devstack.StackProcess``; returns the figures."""
    import httpx

    peak = {"mb": 0.0}
    stop_mem = threading.Event()

    def sample_memory():
        while not stop_mem.is_set():
            peak["mb"] = max(peak["mb"], stack.rss_mb())
            time.sleep(0.25)

    mem_thread = threading.Thread(target=sample_memory, daemon=True)
    mem_thread.start()

    async def main():
        limits = httpx.Limits(max_connections=pollers + uploads)
        async with httpx.AsyncClient(base_url=stack.url, timeout=120, limits=limits) as c:
            t0 = time.perf_counter()
            ups = await asyncio.gather(*[_upload(c, video, seed, i) for i in range(uploads)])
            upload_wall = time.perf_counter() - t0
            ids = [jid for code, jid, _ in ups if jid]
            lat: list[float] = []
            codes: list[int] = []
            stop = threading.Event()
            if ids:
                tasks = [asyncio.create_task(_poller(c, ids, stop, lat, codes, poll_interval_s))
                         for _ in range(pollers)]
                await asyncio.sleep(poll_seconds)
                stop.set()
                await asyncio.gather(*tasks)
            return ups, upload_wall, ids, lat, codes

    ups, upload_wall, ids, lat, codes = asyncio.run(main())
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
        "status_requests": len(lat), "status_codes": status_codes,
        "status_p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "status_p95_ms": round(1000 * _pct(lat, 95), 1) if lat else None,
        "status_max_ms": round(1000 * max(lat), 1) if lat else None,
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
        stack = StackProcess(Path(tmp) / "data").start()
        try:
            res = run_load(stack, video, {"disc_center_x": x, "disc_center_y": y, "disc_radius": r},
                           a.uploads, a.pollers, a.poll_seconds, poll_interval_s=a.poll_interval)
        finally:
            stack.stop()
    for k, v in res.items():
        print(f"{k:<20} {v}")
    return 0 if res["unfinished"] == 0 and res["accepted"] == res["uploads"] else 1
