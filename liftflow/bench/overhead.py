"""`liftflow bench stack`: what the orchestration costs around the analysis itself.

Starts a real stack on a temporary data folder and prints: start-up time, idle memory of
all its processes, and for a few small jobs submitted one after another the latency from
submission to the first step and the per-job overhead (run wall time minus the steps' own
time), plus the total memory while a job runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path


def run(jobs: int = 3) -> dict:
    from liftflow.devstack import StackProcess
    from liftflow.jobstore import read_json
    from liftflow.synth import SynthSpec, generate_clip

    with tempfile.TemporaryDirectory(prefix="liftflow-bench-stack-") as tmp:
        tmp = Path(tmp)
        clip = tmp / "clip.mp4"
        truth = generate_clip(clip, SynthSpec(profile="squat", reps=1, width=320, height=240,
                                              plate_radius_px=36, seed=1))
        stack = StackProcess(tmp / "data")
        t0 = time.monotonic()
        stack.start()
        startup_s = time.monotonic() - t0
        time.sleep(5)
        idle_mb = stack.rss_mb()
        latencies, overheads, walls, busy_mb = [], [], [], []
        try:
            with stack.client() as c:
                for _ in range(jobs):
                    with open(clip, "rb") as f:
                        r = c.post("/api/v1/videos/upload", files={"file": ("clip.mp4", f, "video/mp4")},
                                   data={"disc_center_x": truth.x[0], "disc_center_y": truth.y[0],
                                         "disc_radius": truth.r[0]})
                    r.raise_for_status()
                    jid = r.json()["video_id"]
                    peak = 0.0
                    while c.get(f"/api/v1/videos/{jid}/status").json()["status"] not in ("completed", "failed"):
                        peak = max(peak, stack.rss_mb())
                        time.sleep(0.2)
                    busy_mb.append(peak)
                    meta = read_json(stack.data_dir / "api" / "results" / jid / "job_meta.json")
                    ts = meta["timestamps"]
                    created = datetime.fromisoformat(ts["created_at"])
                    started = datetime.fromisoformat(ts["started_at"])
                    finished = datetime.fromisoformat(ts["finished_at"])
                    steps = sum(s["seconds"] for s in meta["steps"].values())
                    latencies.append((started - created).total_seconds())
                    walls.append((finished - created).total_seconds())
                    overheads.append((finished - created).total_seconds() - steps)
        finally:
            stack.stop()
    return {
        "startup_s": round(startup_s, 2),
        "idle_memory_mb": round(idle_mb, 1),
        "memory_during_job_mb": round(max(busy_mb), 1) if busy_mb else None,
        "submit_to_first_step_s": {"median": round(statistics.median(latencies), 2),
                                   "max": round(max(latencies), 2)},
        "per_job_overhead_s": {"median": round(statistics.median(overheads), 2),
                               "max": round(max(overheads), 2)},
        "job_wall_s": {"median": round(statistics.median(walls), 2)},
        "jobs": jobs,
    }


def stack_bench_cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="liftflow bench stack", description=__doc__)
    p.add_argument("--jobs", type=int, default=3)
    args = p.parse_args(argv)
    res = run(args.jobs)
    print(f"stack start-up                 {res['startup_s']:.2f} s")
    print(f"idle memory (all processes)    {res['idle_memory_mb']:.0f} MB")
    print(f"memory while a job runs        {res['memory_during_job_mb']:.0f} MB")
    print(f"submit -> first step           median {res['submit_to_first_step_s']['median']:.2f} s, "
          f"max {res['submit_to_first_step_s']['max']:.2f} s")
    print(f"per-job overhead (wall - steps) median {res['per_job_overhead_s']['median']:.2f} s, "
          f"max {res['per_job_overhead_s']['max']:.2f} s")
    print(f"job wall time (small clip)     median {res['job_wall_s']['median']:.2f} s over {res['jobs']} jobs")
    return 0
