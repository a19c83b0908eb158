"""jobs.json: the original server's job index, derived from the run storage and the job folders.

``<data>/api/results/jobs.json`` is a JSON object keyed by video id, newest job first. The
original server's operator panel (job list, job detail) and its desktop viewer read it;
nothing in LiftFlow does. Each entry:

- ``video_id, status, created_at, updated_at, progress, current_step, message``: the
  JobService's view of the job (Dagster's runs are the truth about state, as for /status);
- ``original_filename, source_type, asset_id`` (job_meta.json's source), ``case_id,
  client_run_id, tags`` (its benchmark fields), ``started_at, finished_at`` (its timestamps);
- ``selection_data`` ``{"center": [x, y], "radius": r}`` (null without a seed) and
  ``tracking_backend``: the newest run's config (pipeline_config.yaml's request for a job
  whose runs are gone; job_meta.json's model_config for the backend);

null where unknown. Nothing in it is kept anywhere else: it can be deleted at any time and
is written again from the truth.

Who writes it, and when
-----------------------
``JobIndexRefresher``, a daemon thread of the stack's code server (``liftflow up``;
``liftflow.orchestration.bookkeeping``): one writer per data folder, the process holding the
bookkeeping lock. Every ``period_s`` (0.5 s) it looks at what can change a job's entry, cheaply: the
names of the job folders (one scandir), each folder's job_meta.json (and progress.json
while the job is unfinished: a stat or two a job) and the runs Dagster updated since its last
look (one query, ``RunsFilter(updated_after=...)``): ~15 ms for 500 jobs. Only the jobs
whose inputs changed are read again (and the unfinished ones when any run changed: a queued
job's "N job(s) ahead" depends on the others), and the file is rewritten only when an entry changed, by
``atomic_write_json`` (a temporary file, fsync, rename): a reader sees the old index or the
new one, never half of one. Every ``full_every_s`` it rebuilds every entry from scratch, so
anything the cheap look misses (a run deleted in the Dagster UI) is corrected within a minute.

How fast a change shows: a job submitted or deleted through the API creates or removes its
folder and writes its job_meta.json, which the next look sees, within ``period_s`` plus the
rebuild of that entry (milliseconds); a step's progress as fast as progress.json is written
(~1 Hz). A JobService in the refresher's own process nudges it at once (``on_change``).

No request waits on it: it runs in another process than the API, niced with the analysis.
Without ``liftflow up`` (uvicorn alone, the in-process tests) nothing keeps the file current:
``python -m liftflow.orchestration.job_index`` runs the refresher alone (``--once`` writes it
once).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Callable, Optional

from liftflow.errors import JobNotFound
from liftflow.jobstore import (
    CONFIG,
    JOB_INDEX,
    META,
    PROGRESS,
    JobFolder,
    atomic_write_json,
    is_valid_job_id,
)
from liftflow.orchestration.names import ANALYSIS_JOB, JOB_ID_TAG
from liftflow.orchestration.service import COMPLETED, FAILED, JobService, JobView

__all__ = ["JobIndex", "JobIndexRefresher", "build_job_index", "index_path", "job_entry",
           "write_job_index"]

# runs updated this long before the newest update seen are asked for again (timestamps of
# two updates in one instant, clocks of two writers)
RUN_OVERLAP = timedelta(seconds=2)
# more jobs than this to read again: their runs are fetched in one query
MANY = 32


def index_path(service: JobService) -> Path:
    return service.settings.results_dir / JOB_INDEX


def _request_of(record, folder: JobFolder) -> dict:
    """The run's request fields: its run config, else pipeline_config.yaml's request."""
    if record is not None:
        cfg = (((record.dagster_run.run_config or {}).get("resources") or {}).get("lift") or {}).get("config")
        if isinstance(cfg, dict):
            return cfg
    try:
        import yaml

        resolved = yaml.safe_load(folder.file(CONFIG).read_text(encoding="utf-8")) or {}
        req = resolved.get("request") if isinstance(resolved, dict) else None
        return req if isinstance(req, dict) else {}
    except (OSError, ValueError, yaml.YAMLError):
        return {}


def job_entry(view: JobView, record=None, folder: Optional[JobFolder] = None) -> dict:
    """The job's entry in jobs.json: its view, job_meta.json's fields, the run's request."""
    meta = view.meta or {}
    source = meta.get("source") or {}
    bench = meta.get("benchmark") or {}
    ts = meta.get("timestamps") or {}
    req = _request_of(record, folder) if folder is not None else {}
    x, y, r = (req.get(k) for k in ("disc_center_x", "disc_center_y", "disc_radius"))
    selection = None if None in (x, y, r) else {"center": [x, y], "radius": r}
    backend = req.get("backend") or (meta.get("model_config") or {}).get("tracking_backend")
    return {
        "video_id": view.video_id,
        "status": view.status,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "progress": view.progress,
        "current_step": view.current_step,
        "message": view.message,
        "original_filename": source.get("original_filename"),
        "selection_data": selection,
        "tracking_backend": backend,
        "case_id": bench.get("case_id"),
        "client_run_id": bench.get("client_run_id"),
        "tags": bench.get("tags"),
        "source_type": source.get("type"),
        "asset_id": source.get("asset_id"),
        "started_at": ts.get("started_at"),
        "finished_at": ts.get("finished_at"),
    }


def _stamp(folder: str, finished: bool) -> tuple:
    """What a change of the job's entry changes in its folder: job_meta.json, and while the
    job is unfinished progress.json (a re-execution rewrites job_meta.json first)."""
    out = []
    for name in ((META,) if finished else (META, PROGRESS)):
        try:
            st = os.stat(os.path.join(folder, name))
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append(None)
    return tuple(out)


class JobIndex:
    """The entries and what each was built from. ``update()`` reads again only the jobs whose
    inputs changed (all of them on the first call or with ``full``); ``write()`` rewrites the
    file when the entries differ from what it holds."""

    def __init__(self, service: JobService):
        self.service = service
        self.path = index_path(service)
        self.entries: dict[str, dict] = {}
        self._stamps: dict[str, tuple] = {}
        self._runs_since = None  # newest run update seen, minus RUN_OVERLAP; None: never looked
        self._seen_runs: dict[str, object] = {}  # run id -> update time, of the last look's runs
        self._written: Optional[dict] = None

    def _folders(self) -> dict[str, tuple]:
        try:
            with os.scandir(self.service.settings.results_dir) as it:
                return {e.name: _stamp(e.path, self._finished(e.name))
                        for e in it if is_valid_job_id(e.name) and e.is_dir()}
        except FileNotFoundError:
            return {}

    def _finished(self, jid: str) -> bool:
        e = self.entries.get(jid)
        return e is not None and e["status"] in (COMPLETED, FAILED)

    def _updated_runs(self, since) -> list:
        from dagster import RunsFilter

        return self.service.instance.get_run_records(
            filters=RunsFilter(job_name=ANALYSIS_JOB, updated_after=since))  # newest first

    def update(self, full: bool = False) -> bool:
        """Bring the entries up to date; True when any changed."""
        folders = self._folders()
        full = full or self._runs_since is None
        records = self._updated_runs(None if full else self._runs_since)
        newest = max((rec.update_timestamp for rec in records), default=None)
        seen = {rec.dagster_run.run_id: rec.update_timestamp for rec in records}
        by_job: dict[str, list] = {}
        for rec in records:
            jid = rec.dagster_run.tags.get(JOB_ID_TAG)
            # the overlap returns runs already seen: only a new update counts
            if jid and (full or self._seen_runs.get(rec.dagster_run.run_id) != rec.update_timestamp):
                by_job.setdefault(jid, []).append(rec)
        if full:
            dirty = set(folders)
        else:
            dirty = {j for j, st in folders.items() if self._stamps.get(j) != st}
            dirty |= set(by_job) & set(folders)
            if by_job:  # a queued job's place in the queue moves with the others
                dirty |= {j for j, e in self.entries.items()
                          if j in folders and e["status"] not in (COMPLETED, FAILED)}
        if not full and len(dirty) > MANY:  # a backlog: one query for every run, not one a job
            full_records = self._updated_runs(None)
        else:
            full_records = records if full else None
        newest_of: dict[str, list] = {}
        for rec in full_records or ():
            jid = rec.dagster_run.tags.get(JOB_ID_TAG)
            if jid:
                newest_of.setdefault(jid, []).append(rec)
        changed = False
        for jid in set(self.entries) - set(folders):
            del self.entries[jid]
            self._stamps.pop(jid, None)
            changed = True
        for jid in dirty:
            stamp = folders[jid]
            # every run fetched above, or the job's newest run asked for
            recs = (newest_of.get(jid, []) if full_records is not None
                    else self.service.run_records(jid, limit=1))
            folder = JobFolder.for_job(self.service.settings.results_dir, jid)
            try:
                entry = job_entry(self.service.view(jid, recs), recs[0] if recs else None, folder)
            except JobNotFound:  # no job_meta.json (yet, or any more)
                entry = None
            if entry != self.entries.get(jid):
                changed = True
                if entry is None:
                    self.entries.pop(jid, None)
                else:
                    self.entries[jid] = entry
            self._stamps[jid] = stamp
        # committed last: a look that fails half way is repeated whole
        self._seen_runs = seen
        if newest is not None:
            self._runs_since = newest - RUN_OVERLAP
        elif self._runs_since is None:
            self._runs_since = _epoch()
        return changed

    def ordered(self) -> dict[str, dict]:
        """The entries, newest job first."""
        keys = sorted(self.entries, key=lambda j: (self.entries[j]["created_at"] or "", j), reverse=True)
        return {j: self.entries[j] for j in keys}

    def write(self) -> bool:
        """Rewrite jobs.json (temp + rename) if it differs from the entries; True if written."""
        if self._written == self.entries and self.path.is_file():
            return False
        atomic_write_json(self.path, self.ordered())
        self._written = dict(self.entries)  # entries are replaced, never changed in place
        return True

    def refresh(self, full: bool = False) -> bool:
        self.update(full)
        return self.write()


def _epoch():
    from datetime import datetime, timezone

    return datetime(1970, 1, 1, tzinfo=timezone.utc)


def build_job_index(service: JobService) -> dict[str, dict]:
    """Every job's entry, newest first, built from scratch."""
    index = JobIndex(service)
    index.update(full=True)
    return index.ordered()


def write_job_index(service: JobService) -> Path:
    """Build the index from scratch and write jobs.json (atomically); its path."""
    index = JobIndex(service)
    index.update(full=True)
    atomic_write_json(index.path, index.ordered())
    return index.path


class JobIndexRefresher:
    """A daemon thread keeping jobs.json current (see the module's docstring): a cheap look
    every ``period_s``, a rebuild from scratch every ``full_every_s``; ``nudge()`` looks now.
    It registers ``nudge`` with its JobService, so that service's submits, re-executions and
    deletes show at once. A failing look is reported (once until one succeeds) and retried."""

    def __init__(self, service: JobService, period_s: float = 0.5, full_every_s: float = 60.0,
                 echo: Callable[[str], None] = print):
        self.service = service
        self.period_s, self.full_every_s, self.echo = period_s, full_every_s, echo
        self.index = JobIndex(service)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None
        service.on_change(self.nudge)

    def start(self) -> "JobIndexRefresher":
        self._thread = threading.Thread(target=self._loop, name="liftflow-job-index", daemon=True)
        self._thread.start()
        return self

    def nudge(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        next_full = 0.0
        failing = False
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                full = time.monotonic() >= next_full
                self.index.refresh(full=full)
                if full:
                    next_full = time.monotonic() + self.full_every_s
                failing = False
            except Exception as exc:  # never let bookkeeping take the supervisor down
                if not failing:
                    self.echo(f"job index (jobs.json) refresh failed: {type(exc).__name__}: {exc}")
                failing = True
            self._wake.wait(self.period_s)


def main(argv: Optional[list[str]] = None) -> int:
    """Keep jobs.json current without ``liftflow up`` (``--once``: write it once)."""
    from liftflow.config import get_settings
    from liftflow.orchestration.instance import get_instance
    from liftflow.orchestration.launcher import launcher_from_settings

    ap = argparse.ArgumentParser(prog="python -m liftflow.orchestration.job_index", description=main.__doc__)
    ap.add_argument("--once", action="store_true", help="write jobs.json once and exit")
    args = ap.parse_args(argv)
    settings = get_settings()
    service = JobService(settings, get_instance(settings), launcher_from_settings(settings))
    if args.once:
        print(write_job_index(service))
        return 0
    refresher = JobIndexRefresher(service).start()
    print(f"keeping {index_path(service)} current; Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        refresher.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
