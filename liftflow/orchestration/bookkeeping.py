"""What a stack does beside serving requests and running jobs, in a thread of its code server.

- ``jobs.json``, the original server's job index (``JobIndexRefresher``, every 0.5 s);
- job folders of runs failed from outside their worker (run monitoring, a killed worker)
  get the failed status and a readable reason (``sync_failed_job_folders``, every 5 s);
- ``LIFTFLOW_RETENTION_DAYS``: finished jobs past it are deleted with everything they made
  (hourly).

Where: a thread of the stack's code server (``liftflow.orchestration.code_server``). It
holds Dagster anyway, where a process of its own (or the supervisor, as before) costs ~100 MB
more at idle for a few milliseconds of work every half second; it runs niced with the
analysis, below the API. One writer per data folder: the process that holds ``<run>/bookkeeping.lock`` (an
flock, released when the process dies, so a restarted code server takes it again) does it;
another that cannot take it skips it. Reports go to that process's log (``logs/code-server.log``
under ``liftflow up``). Without ``liftflow up``, ``python -m liftflow.orchestration.job_index``
keeps jobs.json current.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

LOCK_FILE = "bookkeeping.lock"
SYNC_EVERY_S = 5.0  # a failed-from-outside run's folder says so within this
PURGE_EVERY_S = 3600.0


def _stderr(msg: str) -> None:
    print(f"liftflow bookkeeping: {msg}", file=sys.stderr, flush=True)


class Bookkeeping:
    """Start with ``start()`` (False: another process holds the lock, nothing started);
    ``stop()`` ends the threads and releases the lock."""

    def __init__(self, service, echo: Callable[[str], None] = _stderr):
        self.service = service
        self.echo = echo
        self.refresher = None
        self._lock_fd: Optional[int] = None
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> bool:
        from liftflow.orchestration.job_index import JobIndexRefresher

        run_dir = self.service.settings.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        self.refresher = JobIndexRefresher(self.service, echo=self.echo).start()
        self._thread = threading.Thread(target=self._loop, name="liftflow-bookkeeping", daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self.refresher is not None:
            self.refresher.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def sync_job_folders(self) -> None:
        from liftflow.orchestration.reconcile import sync_failed_job_folders

        try:
            sync_failed_job_folders(self.service.instance, since=time.time() - 600)
        except Exception as exc:  # never let bookkeeping take the code server down
            self.echo(f"job folder sync failed: {exc}")

    def purge_expired(self) -> None:
        days = self.service.settings.retention_days
        try:
            cutoff = datetime.now(timezone.utc) - timedelta(days=days)
            removed = self.service.purge_finished_before(cutoff)  # its deletes nudge the index
            if removed:
                self.echo(f"retention: deleted {len(removed)} job(s) older than {days:g} days")
        except Exception as exc:
            self.echo(f"retention clean-up failed: {exc}")

    def _loop(self) -> None:
        next_sync = next_purge = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_sync:
                self.sync_job_folders()
                next_sync = time.monotonic() + SYNC_EVERY_S
            if self.service.settings.retention_days is not None and now >= next_purge:
                self.purge_expired()
                next_purge = time.monotonic() + PURGE_EVERY_S
            self._stopping.wait(1.0)
