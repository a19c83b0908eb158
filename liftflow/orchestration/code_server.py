"""The stack's code server: ``dagster api grpc``, with each run forked from a warm process.

Dagster's gRPC server starts every run in a fresh ``spawn`` process (DefaultRunLauncher ->
``StartRun``), which imports Dagster and the job's code again before the first op: about
1.5 s of CPU on a 2-core machine, every run. Here the server's multiprocessing context is
``forkserver`` with Dagster and the definitions preloaded: the fork server (single-threaded,
started once, beside the server) imports them once and each run is a fork of it, ready in
milliseconds. Everything else is Dagster's own: the same command line and options, the same
``start_run_in_subprocess`` target, the same termination events and run monitoring.

``python -m liftflow.orchestration.code_server <dagster api grpc options>``;
``LIFTFLOW_WARM_RUNS=0`` serves runs as Dagster does (a spawned process each). It also
keeps the stack's books (jobs.json, failed job folders, retention). On a Dagster
whose server no longer has the ``_mp_ctx`` attribute this relies on (checked at start), it
says so on stderr and serves with Dagster's spawned runs: slower, never broken.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading

# What every run imports before its first op, measured with py-spy on a run's start: Dagster
# and the job (1.5 s of CPU), the instance's storage (SQLAlchemy, Alembic: 1.2 s; +36 MB in
# the fork server). OpenCV and PyAV (0.4 s, +44 MB) and the learned backends' torch,
# ultralytics and mediapipe stay out: the steps import them as they run. A module that fails
# to import here is skipped (the run imports it as it would have). warm_storage: the storages'
# migration check without re-reading alembic's scripts in every run (0.2 s of CPU).
PRELOAD = [
    "dagster",
    "dagster._core.instance.factory",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.local_compute_log_manager",
    "alembic.command",
    "liftflow.orchestration.warm_storage",
    "liftflow.orchestration.definitions",
    "liftflow.pipeline.steps",
]


def warm_context():
    """The forkserver context with PRELOAD (the fork server starts on first use)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def install(ctx) -> None:
    """Make Dagster's gRPC servers start runs from ``ctx``; a server without the attribute
    this sets says so and keeps Dagster's own spawned runs."""
    from dagster._grpc import server as grpc_server

    init = grpc_server.DagsterApiServer.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if not hasattr(self, "_mp_ctx"):
            print("liftflow code server: this Dagster's gRPC server has no _mp_ctx; runs are "
                  "spawned as Dagster does by default", file=sys.stderr, flush=True)
            return
        self._mp_ctx = ctx
        # start the fork server now, so the first run does not pay for its imports
        from multiprocessing import forkserver

        threading.Thread(target=forkserver.ensure_running, name="warm-forkserver", daemon=True).start()

    grpc_server.DagsterApiServer.__init__ = __init__


def start_bookkeeping(settings) -> None:
    """The stack's books (``liftflow.orchestration.bookkeeping``) in a thread of this niced
    process: it holds Dagster already (no ~100 MB process of its own), and its work stays
    out of the process that answers the API's polls."""
    from liftflow.orchestration.bookkeeping import Bookkeeping
    from liftflow.orchestration.instance import get_instance
    from liftflow.orchestration.launcher import launcher_from_settings
    from liftflow.orchestration.service import JobService

    def run():
        svc = JobService(settings, get_instance(settings), launcher_from_settings(settings))
        if not Bookkeeping(svc).start():
            print("liftflow code server: another process keeps this data folder's books",
                  file=sys.stderr, flush=True)
    threading.Thread(target=run, name="liftflow-bookkeeping-start", daemon=True).start()


def main(argv: list[str]) -> None:
    from dagster._cli import main as dagster_main

    from liftflow.config import get_settings

    settings = get_settings()
    if settings.warm_runs:
        install(warm_context())
    start_bookkeeping(settings)
    sys.argv = ["dagster", "api", "grpc", *argv]
    dagster_main()


if __name__ == "__main__":
    main(sys.argv[1:])
