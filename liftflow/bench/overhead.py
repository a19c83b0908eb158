"""`liftflow bench stack`: what the orchestration costs around the analysis itself.

Starts a real stack on a temporary data folder and prints: start-up time, idle memory of
all its processes (RSS, and PSS: shared pages counted once, what the stack takes from the
machine), and for small jobs submitted one after another (5 by default) the latency from
submission to the first step and the per-job overhead (run wall time minus the steps' own
time), plus the total memory while a job runs. The baseline, measured in the same run on a
second fresh stack: runs as Dagster starts them (``LIFTFLOW_WARM_RUNS=0``, a spawned
process per run) against LiftFlow's default (runs forked from a preloaded process). The
issue's targets are printed beside the figures, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path


TARGETS = {"submit_to_first_step_s": 1.0, "per_job_overhead_s": 1.5, "idle_memory_mb": 600.0}


def run(jobs: int = 5, **env: str) -> dict:
    from liftflow.devstack import StackProcess
    from liftflow.jobstore import read_json
    from liftflow.synth import SynthSpec, generate_clip

    with tempfile.TemporaryDirectory(prefix="liftflow-bench-stack-") as tmp:
        tmp = Path(tmp)
        clip = tmp / "clip.mp4"
        truth = generate_clip(clip, SynthSpec(profile="squat", reps=1, width=320, height=240,
                                              plate_radius_px=36, seed=1))
        stack = StackProcess(tmp / "data", **env)
        t0 = time.monotonic()
        stack.start()
        startup_s = time.monotonic() - t0
        time.sleep(5)
        idle_mb, idle_pss_mb = stack.rss_mb(), stack.pss_mb()
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
        "idle_memory_pss_mb": round(idle_pss_mb, 1),
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
    p.add_argument("--jobs", type=int, default=5)
    p.add_argument("--no-baseline", action="store_true", help="skip the stack with Dagster's spawned runs")
    args = p.parse_args(argv)
    configs = [("warm runs (default)", {})]
    if not args.no_baseline:
        configs.append(("spawned runs (LIFTFLOW_WARM_RUNS=0)", {"LIFTFLOW_WARM_RUNS": "0"}))
    results = [(name, run(args.jobs, **env)) for name, env in configs]
    rows = [
        ("stack start-up s", lambda r: f"{r['startup_s']:.2f}", None),
        ("idle memory RSS MB", lambda r: f"{r['idle_memory_mb']:.0f}", None),
        ("idle memory PSS MB", lambda r: f"{r['idle_memory_pss_mb']:.0f}", TARGETS["idle_memory_mb"]),
        ("memory while a job runs (RSS) MB", lambda r: f"{r['memory_during_job_mb']:.0f}", None),
        ("submit -> first step s (median/max)",
         lambda r: f"{r['submit_to_first_step_s']['median']:.2f} / {r['submit_to_first_step_s']['max']:.2f}",
         TARGETS["submit_to_first_step_s"]),
        ("per-job overhead s (median/max)",
         lambda r: f"{r['per_job_overhead_s']['median']:.2f} / {r['per_job_overhead_s']['max']:.2f}",
         TARGETS["per_job_overhead_s"]),
        ("job wall s (median)", lambda r: f"{r['job_wall_s']['median']:.2f}", None),
    ]
    print(f"{'':38}" + "".join(f"{name:>40}" for name, _ in results) + f"{'target':>10}")
    for label, fmt, target in rows:
        print(f"{label:38}" + "".join(f"{fmt(r):>40}" for _, r in results)
              + (f"{'<= ' + format(target, 'g'):>10}" if target is not None else ""))
    print(f"{args.jobs} small jobs (320x240 squat, overlay and plots on) one after another per stack")
    return 0
