"""`liftflow bench throughput`: jobs per minute of the embedded stack and of the scaled profile
with 1, 2, ... workers, all measured in the same run on this machine.

Each configuration is a fresh stack (``liftflow up``, or ``liftflow up --scaled --workers N``
with its trial Postgres and Redis); the same N uploads of one clip go in at once through the
API, and the clock runs from the first upload to the last job completed. The ratio column is
against the embedded stack of the same run. On one machine the workers share its cores, so
the figures show the scale-out machinery's overhead and how much of the machine one analysis
leaves idle; on separate hosts each worker brings its own cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path
from typing import Optional


def run_throughput(video: Path, seed: dict, jobs: int, workers: Optional[int], render: bool = False,
                   timeout_s: float = 1800.0) -> dict:
    """One configuration: ``workers`` None is the embedded stack. Returns its figures."""
    import httpx

    from liftflow.devstack import StackProcess, scaled_stack, shared_temp_dir

    root = shared_temp_dir("liftflow-throughput-")
    stack = StackProcess(root / "data") if workers is None else scaled_stack(root, workers)
    try:
        stack.start()
        with httpx.Client(base_url=stack.url, timeout=120) as c:
            t0 = time.perf_counter()
            ids = []
            for i in range(jobs):
                with open(video, "rb") as f:
                    r = c.post("/api/v1/videos/upload", files={"file": (f"t{i}{video.suffix}", f, "video/mp4")},
                               data={**seed, "render": str(render).lower()})
                r.raise_for_status()
                ids.append(r.json()["video_id"])
            pending, states = set(ids), {}
            deadline = time.monotonic() + timeout_s
            while pending and time.monotonic() < deadline:
                for jid in list(pending):
                    st = c.get(f"/api/v1/videos/{jid}/status").json()["status"]
                    if st in ("completed", "failed"):
                        states[jid] = st
                        pending.discard(jid)
                time.sleep(0.2)
            wall = time.perf_counter() - t0
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    done = sum(1 for s in states.values() if s == "completed")
    return {"config": "embedded" if workers is None else f"scaled, {workers} worker{'s' * (workers > 1)}",
            "jobs": jobs, "completed": done, "failed": len(states) - done, "unfinished": len(pending),
            "wall_s": round(wall, 1), "jobs_per_min": round(60.0 * done / wall, 2) if wall > 0 else None}


def throughput_bench_cli(argv: list[str]) -> int:
    from liftflow.config import get_settings

    p = argparse.ArgumentParser(prog="liftflow bench throughput", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=8, help="uploads per configuration (default 8)")
    p.add_argument("--workers", default="1,2", help="worker counts of the scaled profile (default 1,2)")
    p.add_argument("--no-embedded", action="store_true", help="skip the embedded stack's baseline")
    p.add_argument("--render", action="store_true", help="render overlays and plots too")
    p.add_argument("--video", type=Path, default=None,
                   help="the clip (default small-squat.mp4 in the settings' real_data_dir)")
    p.add_argument("--seed", default="499,530,191", help="disc_center_x,disc_center_y,disc_radius")
    a = p.parse_args(argv)
    video = a.video or get_settings().real_data_dir / "small-squat.mp4"
    if not video.is_file():
        print(f"liftflow bench throughput: video not found: {video}")
        return 2
    x, y, r = (float(v) for v in a.seed.split(","))
    seed = {"disc_center_x": x, "disc_center_y": y, "disc_radius": r}
    configs: list[Optional[int]] = ([] if a.no_embedded else [None]) + [int(w) for w in a.workers.split(",")]
    print(f"{a.jobs} uploads of {video.name} per configuration, {os.cpu_count()} CPU cores")
    rows = []
    for w in configs:
        rows.append(run_throughput(video, seed, a.jobs, w, a.render))
        print(f"  {rows[-1]}")
    base = rows[0]["jobs_per_min"] if rows and not a.no_embedded else None
    print(f"\n{'configuration':<22}{'completed':>10}{'wall s':>9}{'jobs/min':>10}{'ratio':>8}")
    for row in rows:
        ratio = f"{row['jobs_per_min'] / base:.2f}" if base and row["jobs_per_min"] else "-"
        print(f"{row['config']:<22}{row['completed']:>7}/{row['jobs']:<2}{row['wall_s']:>9}"
              f"{row['jobs_per_min']:>10}{ratio:>8}")
    return 0 if all(r["completed"] == r["jobs"] for r in rows) else 1
