"""The ``liftflow`` command: up | worker | analyze | synth | bench."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Optional

from liftflow.config import get_settings
from liftflow.errors import ConfigError
from liftflow.tracking.registry import DEFAULT_BACKEND


def _analyze(args: argparse.Namespace) -> int:
    """The five steps in this process (``liftflow.pipeline.run.run_job``): the same job folder
    as the Dagster job writes, without Dagster's start-up (~2.4 s) or its pickled outputs."""
    import uuid

    video = Path(args.video).expanduser().resolve()
    if not video.is_file():
        print(f"liftflow analyze: video not found: {video}", file=sys.stderr)
        return 2
    from liftflow.render import plots_worker

    # the plots process imports matplotlib (~0.6 s CPU) on the core this process's own
    # imports and probe leave idle, not beside the overlay pass (discarded if the job fails)
    plots_worker.prestart()
    from liftflow.errors import BackendUnavailable, InputError
    from liftflow.jobstore import LOG, META, RESULT, JobFolder, new_job_id, new_meta, read_json
    from liftflow.pipeline import AnalysisRequest, overall_progress
    from liftflow.pipeline.request import check_backends_available
    from liftflow.pipeline.run import run_job
    from liftflow.pipeline.steps import mark_failed
    from liftflow.physics.params import check_load_kg
    from liftflow.tracking.seed import SeedError, read_seed

    try:
        read_seed(args.disc_center_x, args.disc_center_y, args.disc_radius, args.seed_frame)
        load_kg = check_load_kg(args.load_kg)
        check_backends_available(args.backend, args.pose, False, get_settings())
    except (SeedError, InputError, BackendUnavailable, ValueError) as exc:
        plots_worker.discard()
        print(f"liftflow analyze: {exc}", file=sys.stderr)
        return 2
    job_id = new_job_id()
    out = Path(args.out or f"liftflow-{video.stem}-{job_id}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    folder = JobFolder(out, job_id)
    folder.write_meta(new_meta(job_id, source={"type": "cli", "original_filename": video.name,
                                               "asset_id": None},
                               benchmark={"case_id": None, "client_run_id": None, "tags": {}},
                               model_config={"tracking_backend": args.backend,
                                             "enable_person_detection": False,
                                             "enable_pose_estimation": args.pose != "off"}))
    request = AnalysisRequest(
        video_path=str(video), disc_center_x=args.disc_center_x, disc_center_y=args.disc_center_y,
        disc_radius=args.disc_radius, seed_frame=args.seed_frame, backend=args.backend,
        pose_backend=args.pose, lift_type=args.lift_type, load_kg=load_kg,
    )
    run_id = str(uuid.uuid4())
    outcome: dict = {}
    summary: dict = {}

    def _run() -> None:
        outcome["result"] = run_job(folder, run_id, request, summary_into=summary)

    worker = threading.Thread(target=_run, daemon=True)
    worker.start()
    bar = _ProgressBar(enabled=not args.quiet and sys.stderr.isatty())
    try:
        while worker.is_alive():
            worker.join(0.2)
            p = folder.read_progress()
            if p:
                bar.show(overall_progress(p["step"], p["fraction"]), p.get("message", ""))
    except KeyboardInterrupt:
        bar.close()
        step = (folder.read_progress() or {}).get("step", "?")
        # the worker thread dies with the process: record why and drop the frame spool
        mark_failed(folder, step, "interrupted (Ctrl-C)", run_id)
        print(f"liftflow analyze: interrupted during {step}; partial output in {out}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # not a normal exit: interpreter shutdown under a running decoder thread aborts
        os._exit(130)
    bar.close()
    if args.verbose and folder.file(LOG).is_file():
        sys.stderr.write(folder.file(LOG).read_text(encoding="utf-8"))
    meta = read_json(folder.file(META)) or {}
    if outcome.get("result") is None:
        err = meta.get("error") or {}
        print(f"liftflow analyze: failed at {err.get('step', '?')}: {err.get('reason', 'see pipeline.log')}",
              file=sys.stderr)
        return 1
    s = summary
    print(f"done: {out / RESULT}")
    print(f"  frames {s.get('total_frames')}, tracked {s.get('tracked_frames')}, "
          f"peak speed {s.get('peak_speed_lift_m_s')} m/s (lift), reps {s.get('rep_count')}, "
          f"load {s.get('mass_kg')} kg ({'given' if load_kg is not None else 'assumed'})")
    verdict = meta.get("verdict") or {}
    if verdict.get("code") not in (None, "ok"):
        print(f"  verdict {verdict['code']}: {verdict.get('message')}")
    return 0


class _ProgressBar:
    def __init__(self, enabled: bool, width: int = 30):
        self.enabled, self.width, self._last = enabled, width, ""

    def show(self, fraction: float, message: str) -> None:
        if not self.enabled:
            return
        n = int(round(fraction * self.width))
        line = f"\r[{'#' * n}{'.' * (self.width - n)}] {fraction * 100:5.1f}%  {message[:60]:<60}"
        if line != self._last:
            sys.stderr.write(line)
            sys.stderr.flush()
            self._last = line

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _up(args: argparse.Namespace) -> int:
    from liftflow.stack import up

    workers = args.workers if args.workers is not None else (2 if args.scaled else 0)
    if workers and not args.scaled:
        print("liftflow up: --workers needs --scaled", file=sys.stderr)
        return 2
    return up(get_settings(), workers=workers, postgres_dir=args.postgres_dir)


def _worker(args: argparse.Namespace) -> int:
    """One more Celery worker of the scaled profile (this host or another)."""
    import socket

    from liftflow.config import build_settings, environment, set_environment
    from liftflow.scaled import read_scaled_file, worker_command

    settings = get_settings()
    if not settings.broker_url or not settings.storage_url:
        # the same machine as a `liftflow up --scaled` on this data folder: its URLs
        found = read_scaled_file(settings)
        extra = {k: v for k, v in (("LIFTFLOW_STORAGE_URL", found.get("storage_url")),
                                   ("LIFTFLOW_BROKER_URL", found.get("broker_url")))
                 if v and not environment().get(k)}
        set_environment(**extra)
        settings = build_settings(environment())
    if not settings.broker_url or not settings.storage_url:
        print("liftflow worker: set LIFTFLOW_BROKER_URL and LIFTFLOW_STORAGE_URL (and LIFTFLOW_DATA_DIR "
              "to the folder the stack uses), or start `liftflow up --scaled` on this data folder first",
              file=sys.stderr)
        return 2
    name = args.name or f"w-{socket.gethostname()}-{os.getpid()}"
    argv = worker_command(settings, name, args.concurrency, args.queue)
    os.execve(argv[0], argv, environment())
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liftflow", description="LiftFlow: bar-path analysis of lift videos")
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up", help="start the whole stack (code server, Dagster UI, daemon, API)")
    u.add_argument("--scaled", action="store_true",
                   help="the scaled profile on this machine: Postgres, Redis (unless LIFTFLOW_STORAGE_URL / "
                        "LIFTFLOW_BROKER_URL name yours) and Celery workers (README 'Scaling out')")
    u.add_argument("--workers", type=int, default=None, help="with --scaled: how many workers (default 2)")
    u.add_argument("--postgres-dir", type=Path, default=None,
                   help="with --scaled: the trial Postgres cluster's folder (default <data>/postgres)")
    w = sub.add_parser("worker", help="start one Celery worker of the scaled profile (README 'Scaling out')")
    w.add_argument("--name", help="worker name (default w-<host>-<pid>)")
    w.add_argument("--concurrency", type=int, default=1, help="runs at once on this worker (default 1)")
    w.add_argument("--queue", help="Celery queues to take runs from, comma-separated (default LIFTFLOW_WORKER_QUEUE, "
                                   "'dagster'; a GPU host: LIFTFLOW_LEARNED_QUEUE's, e.g. 'gpu,dagster')")
    a = sub.add_parser("analyze", help="analyse one video in process and write the job files")
    a.add_argument("video")
    a.add_argument("--disc-center-x", type=float)
    a.add_argument("--disc-center-y", type=float)
    a.add_argument("--disc-radius", type=float)
    a.add_argument("--seed-frame", type=int, default=0)
    a.add_argument("--backend", default=DEFAULT_BACKEND)
    a.add_argument("--pose", default="off", help="off | mediapipe | yolo")
    a.add_argument("--lift-type", default=None, help="squat, snatch, clean, clean_and_jerk, deadlift")
    a.add_argument("--load-kg", type=float, default=None,
                   help="total mass on the bar, bar included (kg); default: 60 kg assumed (the result says so)")
    a.add_argument("--out", help="output folder (default ./liftflow-<video>-<job id>)")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    a.add_argument("--verbose", action="store_true", help="print pipeline.log (steps, timings, warnings) at the end")
    sub.add_parser("synth", help="make a synthetic lift clip with exact ground truth", add_help=False)
    b = sub.add_parser("bench", help="benchmarks: run | sweep | score | tracking | physics | pose | stack | load | "
                                     "speed | throughput")
    b.add_argument("what", choices=["run", "sweep", "score", "tracking", "physics", "pose", "stack", "load",
                                    "speed", "throughput"])
    return p


def main(argv: Optional[list[str]] = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except ConfigError as exc:  # a bad environment variable: its name and why, no traceback
        print(f"liftflow: {exc}", file=sys.stderr)
        return 2


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "synth":
        from liftflow.synth import synth_cli

        return synth_cli(argv[1:])
    if len(argv) >= 2 and argv[0] == "bench":
        if argv[1] == "tracking":
            from liftflow.bench.tracking import tracking_bench_cli

            return tracking_bench_cli(argv[2:])
        if argv[1] in ("run", "sweep", "score"):
            from liftflow.orchestration.cases import bench_cli

            return bench_cli(argv[1:])
        if argv[1] == "speed":
            from liftflow.bench.speed import speed_bench_cli

            return speed_bench_cli(argv[2:])
        if argv[1] == "load":
            from liftflow.bench.load import load_bench_cli

            return load_bench_cli(argv[2:])
        if argv[1] == "throughput":
            from liftflow.bench.throughput import throughput_bench_cli

            return throughput_bench_cli(argv[2:])
        if argv[1] == "stack":
            from liftflow.bench.overhead import stack_bench_cli

            return stack_bench_cli(argv[2:])
        if argv[1] == "physics":
            from liftflow.bench.physics import physics_bench_cli

            return physics_bench_cli(argv[2:])
        if argv[1] == "pose":
            from liftflow.bench.pose import pose_bench_cli

            return pose_bench_cli(argv[2:])
    args = build_parser().parse_args(argv)
    if args.cmd == "up":
        return _up(args)
    if args.cmd == "analyze":
        return _analyze(args)
    if args.cmd == "worker":
        return _worker(args)
    build_parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
