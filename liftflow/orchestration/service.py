"""Jobs: folders for products, Dagster runs for the truth about state (used by the API, sweeps, housekeeping).

No job state is kept in this process. A job is "all runs tagged job_id=<id>, newest is
current"; its folder under data/api/results/<id>/ holds job_meta.json and the products.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from liftflow.pipeline.steps import STEP_TITLES, STEPS, overall_progress
from liftflow.config import Settings
from liftflow.errors import JobConflict, JobNotFound, public_message
from liftflow.jobstore import META, RESULT, JobFolder, is_valid_job_id, new_job_id, new_meta, read_json
from liftflow.orchestration.names import (ANALYSIS_JOB, CELERY_QUEUE_TAG, JOB_ID_TAG, MAX_RETRIES_TAG,
                                          MAX_RUNTIME_TAG, PRIORITY_TAG, RETRY_NUMBER_TAG, RETRY_STRATEGY_TAG,
                                          AUTO_RETRY_RUN_TAG, WILL_RETRY_TAG)
from liftflow.orchestration.launcher import LaunchError, RunLauncher, optional_tags
from liftflow.orchestration.resources import run_config_for
from liftflow.pipeline.request import runs_a_network
from liftflow.verdict import OK

PENDING, PROCESSING, COMPLETED, FAILED = "pending", "processing", "completed", "failed"
# How long one query of the unfinished runs, and a running job's view, serve every poller:
# also how late a run launched behind the API's back (from the UI) shows in a job's status.
ACTIVE_TTL_S = 0.5
# A poll that finds the shared query older than ACTIVE_TTL_S minus this has it asked again in
# a thread while the fresh one still serves: polls never queue behind the query.
REFRESH_AHEAD_S = 0.2
# Dagster tags a failed run will_retry just after the failure: a failure younger than this
# without the tag yet is judged by Dagster's retry rule (JobService._will_retry)
TAG_WINDOW_S = 60.0


def queue_tags(settings: Settings, request: dict) -> dict[str, str]:
    """Scaled profile: a run with a learned network goes to LIFTFLOW_LEARNED_QUEUE (the GPU
    workers' queue) when one is set; every other run to the workers' default queue."""
    if (settings.broker_url and settings.learned_queue
            and runs_a_network(request.get("backend"), request.get("pose_backend"))):
        return {CELERY_QUEUE_TAG: settings.learned_queue}
    return {}


@dataclass
class JobView:
    video_id: str
    status: str
    progress: float
    current_step: Optional[str]
    message: str
    created_at: Optional[str]
    updated_at: Optional[str]
    error: Optional[str] = None
    run_id: Optional[str] = None
    meta: Optional[dict] = None
    verdict: Optional[dict] = None  # {code, message} of a finished job (liftflow.verdict)

    @property
    def public_error(self) -> Optional[str]:
        """``error`` as API clients see it: no server paths, no ``[Errno N]`` (job_meta.json
        and pipeline.log keep the full text)."""
        return public_message(self.error) if self.error else self.error

    def status_response(self) -> dict:
        """The status body the API serves (``message`` and ``error`` in their public form)."""
        d = {
            "video_id": self.video_id,
            "status": self.status,
            "progress": self.progress,
            "current_step": self.current_step,
            "message": public_message(self.message) if self.message else self.message,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.error:
            d["error"] = self.public_error
        if self.run_id:
            d["run_id"] = self.run_id
        if self.verdict:
            d["verdict"] = {"code": self.verdict.get("code"),
                            "message": public_message(self.verdict.get("message") or "")}
        return d


def _verdict_of(meta: dict, run_id: str, failed: bool) -> Optional[dict]:
    """The verdict job_meta.json holds for this run: a failed run's only when its error is
    this run's (a verdict of an earlier run says nothing of this one)."""
    verdict = (meta or {}).get("verdict")
    if not isinstance(verdict, dict) or not verdict.get("code"):
        return None
    if failed and ((meta or {}).get("error") or {}).get("run_id") != run_id:
        return None
    return verdict


def _retry_note(tags) -> str:
    """`` (automatic retry N of M ...)`` for a run Dagster's run retries started after its
    worker died, else ''."""
    n = tags.get(RETRY_NUMBER_TAG)
    if not n:
        return ""
    total = tags.get(MAX_RETRIES_TAG)
    return (f" (automatic retry {n}{f' of {total}' if total else ''} after the analysis worker "
            f"stopped; it goes on from the failed step)")


def _iso(ts: Optional[float]) -> Optional[str]:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).replace(tzinfo=None).isoformat()


def _ts(record, name: str) -> Optional[float]:
    v = getattr(record, name, None)
    if isinstance(v, datetime):
        return v.replace(tzinfo=timezone.utc).timestamp() if v.tzinfo is None else v.timestamp()
    return v


class JobService:
    def __init__(self, settings: Settings, instance, launcher: RunLauncher):
        self.settings = settings
        self.instance = instance
        self.launcher = launcher
        self._active_lock = threading.Lock()
        self._active = None
        self._refreshing = False  # a refresh ahead is under way
        self._views: dict[str, tuple[int, float, JobView]] = {}
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each submit, re-execution and delete of this service (the
        job index's refresher looks again at once). It must not block: it runs in the caller."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                pass

    # --- creating ------------------------------------------------------------------
    def new_job(self) -> JobFolder:
        folder = JobFolder.for_job(self.settings.results_dir, new_job_id())
        folder.create()
        return folder

    def upload_path(self, job_id: str, suffix: str) -> Path:
        d = self.settings.uploads_dir / job_id
        d.mkdir(parents=True, exist_ok=True)
        return d / f"input{suffix.lower()}"

    def submit(self, folder: JobFolder, *, video_path: Path, request: dict, source: dict,
               benchmark: dict, model_config: dict, warnings: tuple[str, ...] = ()) -> str:
        """Write job_meta.json (pending) and launch the run; undo everything if launching fails.
        ``warnings``: what the request had that was ignored (job_meta ``warnings``, pipeline.log)."""
        meta = new_meta(folder.job_id, source=source, benchmark=benchmark, model_config=model_config)
        if warnings:
            meta["warnings"] = list(warnings)
        folder.write_meta(meta)
        folder.log("api", f"job created: source={source.get('type')} "
                          f"file={source.get('original_filename') or source.get('asset_id')}")
        for w in warnings:
            folder.log("api", w, level="WARNING")
        lift = {"job_id": folder.job_id, "job_dir": str(folder.path),
                "video_path": str(video_path), **request}
        tags = optional_tags(
            job_id=folder.job_id,
            case_id=benchmark.get("case_id"),
            client_run_id=benchmark.get("client_run_id"),
            backend=request.get("backend"),
            source_type=source.get("type"),
        )
        for k, v in (benchmark.get("tags") or {}).items():
            tags[f"user/{k}"] = str(v)
        tags.update(self.guard_rail_tags())
        tags.update(queue_tags(self.settings, request))
        try:
            run_id = self.launcher.submit(run_config_for(lift), tags)
        except LaunchError:
            self.remove_files(folder.job_id)
            raise
        folder.update_meta(runs=[run_id])
        folder.log("api", f"run {run_id} queued")
        self._changed()
        return run_id

    def guard_rail_tags(self) -> dict[str, str]:
        """Dagster's own guard rails, as run tags the UI shows: queue priority (a sweep case
        lowers it), the longest the run may take (the decode step narrows it to the video's
        duration), and automatic retries from the failed step when the worker dies."""
        s = self.settings
        return {PRIORITY_TAG: "0", MAX_RUNTIME_TAG: str(s.max_runtime_s()),
                MAX_RETRIES_TAG: str(s.run_retries), RETRY_STRATEGY_TAG: "FROM_FAILURE"}

    # --- reading -------------------------------------------------------------------
    def run_records(self, job_id: Optional[str] = None, limit: Optional[int] = None):
        """The lift_analysis run records (of ``job_id``), newest first."""
        return self._records(job_id, limit)

    def _records(self, job_id: Optional[str] = None, limit: Optional[int] = None):
        from dagster import RunsFilter

        f = RunsFilter(job_name=ANALYSIS_JOB, tags={JOB_ID_TAG: job_id}) if job_id else RunsFilter(job_name=ANALYSIS_JOB)
        return self.instance.get_run_records(filters=f, limit=limit)  # newest first

    def _active_runs(self, again: bool = False) -> dict[str, object]:
        """Newest unfinished run record per job (queued, starting, running, cancelling), one
        query shared by every poller for half a second: pollers of unfinished jobs are the
        hot path, and these records only change when the daemon dequeues or a run ends.
        ``again``: query now, however fresh the last one (the refresh ahead)."""
        from dagster import DagsterRunStatus as S
        from dagster import RunsFilter

        with self._active_lock:
            now = time.monotonic()  # taken before the query: its age counts from the ask
            if not again and self._active is not None and now - self._active[0] < ACTIVE_TTL_S:
                return self._active[1]
            by_job: dict[str, object] = {}
            for rec in self.instance.get_run_records(filters=RunsFilter(
                    job_name=ANALYSIS_JOB, statuses=[S.QUEUED, S.NOT_STARTED, S.STARTING, S.STARTED,
                                                 S.CANCELING])):
                jid = rec.dagster_run.tags.get(JOB_ID_TAG)
                if jid and jid not in by_job:  # newest first
                    by_job[jid] = rec
            self._active = (now, by_job)
            return by_job

    def _queued_ahead(self, record, active: dict) -> int:
        from dagster import DagsterRunStatus as S

        mine = _ts(record, "create_timestamp") or 0
        ahead = 0
        for rec in active.values():
            st = rec.dagster_run.status
            if st in (S.STARTING, S.STARTED) or (
                    st == S.QUEUED and (_ts(rec, "create_timestamp") or 0) < mine):
                ahead += 1
        return ahead

    def _will_retry(self, record) -> bool:
        """Dagster's run retries will re-execute this failed run. Its ``dagster/will_retry`` tag
        says so, but Dagster writes the tag in a second write after the failure itself: a poll
        in between read "failed" for a run about to be retried (seen once with Postgres). Until
        the tag exists, for a run that failed moments ago, Dagster's own rule is asked; an old
        failure without the tag (one from before run retries were switched on) is not retried."""
        run = record.dagster_run
        tag = run.tags.get(WILL_RETRY_TAG)
        if tag is not None:
            return tag == "true"
        failed_at = _ts(record, "update_timestamp")
        if not self.instance.run_retries_enabled or failed_at is None or time.time() - failed_at > TAG_WINDOW_S:
            return False
        from dagster._core.events import RunFailureReason
        from dagster._core.execution.retries import auto_reexecution_should_retry_run
        from dagster._core.storage.tags import RUN_FAILURE_REASON_TAG

        try:
            reason = run.tags.get(RUN_FAILURE_REASON_TAG)
            return bool(auto_reexecution_should_retry_run(
                self.instance, run, RunFailureReason(reason) if reason else None))
        except Exception:  # a Dagster without this rule: the tag, once written, decides
            return False

    def _failure_reason(self, run_id: str, meta: dict) -> str:
        err = (meta or {}).get("error") or {}
        if err.get("reason") and err.get("run_id") == run_id:
            return f"{err.get('step')}: {err['reason']}"
        from dagster import DagsterEventType

        try:
            records = self.instance.get_records_for_run(
                run_id, of_type={DagsterEventType.RUN_FAILURE, DagsterEventType.STEP_FAILURE}).records
            msgs = []
            for rec in records:
                entry = rec.event_log_entry
                ev = entry.dagster_event
                text = entry.user_message or (ev.message if ev else "") or ""
                if ev is not None and ev.event_type == DagsterEventType.STEP_FAILURE:
                    data = ev.step_failure_data
                    if data and data.user_failure_data and data.user_failure_data.description:
                        text = data.user_failure_data.description
                    elif data and data.error:
                        text = f"{data.error.cls_name}: {data.error.message.strip()}"
                if text:
                    msgs.append(text)
            if msgs and all("marked as failed from outside" in m for m in msgs):
                from liftflow.orchestration.reconcile import WORKER_DIED

                job_id = (meta or {}).get("job_id") or "<job_id>"
                progress = (JobFolder.for_job(self.settings.results_dir, job_id).read_progress()
                            if meta and meta.get("job_id") else None) or {}
                return WORKER_DIED.format(step=progress.get("step", "?"), job_id=job_id)
            if msgs:
                return msgs[0] if len(msgs) == 1 else "; ".join(dict.fromkeys(msgs))
        except Exception:
            pass
        return "the analysis run failed (see pipeline.log)"

    def _cache_hit(self, folder: JobFolder, mtime: int, active: dict) -> Optional[JobView]:
        """The cached view of ``folder``'s job if it still holds: its job_meta.json is the
        one it was made from, and it is finished with no newer run of the job among
        ``active`` (a re-execution from the UI, an automatic retry) or at most ACTIVE_TTL_S
        old; a running one with its progress file's step."""
        hit = self._views.get(folder.job_id)
        if hit is None:
            return None
        cached_mtime, at, view = hit
        finished = view.status in (COMPLETED, FAILED) and folder.job_id not in active
        if cached_mtime != mtime or not (finished or time.monotonic() - at < ACTIVE_TTL_S):
            return None
        return self._with_progress(folder, view) if view.status == PROCESSING else view

    def cached_view(self, job_id: str) -> Optional[JobView]:
        """The job's view when ``view`` would make it without querying the run storage: from
        its cache (a stat and, while it runs, its progress file), or, for a job with an
        unfinished run in the fresh shared query, from that run's record (its job_meta.json
        and progress file read again, as ``view`` would); None when ``view`` would have to
        ask. The API serves hot polls with it on the event loop, off the thread pool: pollers
        of unfinished jobs are most of them, and each such view lasts only ACTIVE_TTL_S."""
        active = self._active
        age = time.monotonic() - active[0] if active is not None else ACTIVE_TTL_S
        if age >= ACTIVE_TTL_S or not is_valid_job_id(job_id):
            return None
        if age >= ACTIVE_TTL_S - REFRESH_AHEAD_S and not self._refreshing:
            self._refreshing = True
            threading.Thread(target=self._refresh_ahead, name="liftflow-active-runs", daemon=True).start()
        folder = JobFolder.for_job(self.settings.results_dir, job_id)
        try:
            mtime = folder.file(META).stat().st_mtime_ns
        except FileNotFoundError:
            return None
        view = self._cache_hit(folder, mtime, active[1])
        if view is None and job_id in active[1]:
            view = self._view(job_id, folder, [active[1][job_id]], active[1])
            self._remember(job_id, mtime, view)
        return view

    def _refresh_ahead(self) -> None:
        try:
            self._active_runs(again=True)
        except Exception:  # the next poll that needs it asks in its own thread, and says why
            pass
        finally:
            self._refreshing = False

    def view(self, job_id: str, records=None) -> JobView:
        """The job's state now. Run storage is the truth; a finished job's view is reused
        while its job_meta.json is unchanged (a retry or a delete changes it), and a running
        job's run record for half a second, so hundreds of pollers stay cheap."""
        if not is_valid_job_id(job_id):
            raise JobNotFound(job_id)
        folder = JobFolder.for_job(self.settings.results_dir, job_id)
        try:
            mtime = folder.file(META).stat().st_mtime_ns
        except FileNotFoundError:
            self._views.pop(job_id, None)
            raise JobNotFound(job_id)
        if records is None:
            # the active runs: one query shared by all pollers
            view = self._cache_hit(folder, mtime, self._active_runs())
            if view is not None:
                return view
        view = self._view(job_id, folder, records)
        if records is None:
            self._remember(job_id, mtime, view)
        return view

    def _remember(self, job_id: str, mtime: int, view: JobView) -> None:
        if len(self._views) > 10_000:
            self._views.clear()
        self._views[job_id] = (mtime, time.monotonic(), view)

    def _with_progress(self, folder: JobFolder, view: JobView) -> JobView:
        prog = folder.read_progress() or {}
        if prog.get("run_id") != view.run_id or prog.get("step") not in STEPS:
            return view
        return replace(view, current_step=prog["step"],
                       progress=overall_progress(prog["step"], prog.get("fraction", 0.0)),
                       message=prog.get("message") or STEP_TITLES[prog["step"]],
                       updated_at=prog.get("updated_at") or view.updated_at)

    def _view(self, job_id: str, folder: JobFolder, records, active: Optional[dict] = None) -> JobView:
        """``records``: the job's runs, newest first (None: its unfinished one in ``active``,
        the shared query's newest unfinished run per job, else its newest run asked for)."""
        meta = folder.read_meta()
        if meta is None:
            raise JobNotFound(job_id)
        if records is None:
            active = self._active_runs() if active is None else active
            rec = active.get(job_id)
            records = [rec] if rec is not None else self._records(job_id, limit=1)
        created = (meta.get("timestamps") or {}).get("created_at")
        if not records:
            status = meta.get("status") or PENDING
            return JobView(job_id, status, 1.0 if status == COMPLETED else 0.0, None,
                           "No analysis run found for this job", created, created, meta=meta)
        from dagster import DagsterRunStatus as S

        rec = records[0]
        run = rec.dagster_run
        updated = _iso(_ts(rec, "update_timestamp"))
        st = run.status
        retry = _retry_note(run.tags)
        if st in (S.QUEUED, S.NOT_STARTED, S.STARTING, S.MANAGED):
            ahead = self._queued_ahead(rec, self._active_runs() if active is None else active) if st == S.QUEUED else 0
            msg = (f"Queued: {ahead} job(s) ahead" if ahead else "Queued: starting shortly") + retry
            return JobView(job_id, PENDING, 0.0, "queued", msg, created, updated, run_id=run.run_id, meta=meta)
        if st == S.SUCCESS:
            verdict = _verdict_of(meta, run.run_id, failed=False)
            msg = "Analysis complete"
            if verdict and verdict["code"] != OK:  # the original's clients show only the message
                msg += f": {verdict['message']}"
            return JobView(job_id, COMPLETED, 1.0, "completed", msg, created,
                           updated, run_id=run.run_id, meta=meta, verdict=verdict)
        if st == S.FAILURE and not run.tags.get(AUTO_RETRY_RUN_TAG) and self._will_retry(rec):
            # Dagster's run retries will re-execute it: between the failure and the new run a
            # poller must not stop at "failed"
            n = int(run.tags.get(RETRY_NUMBER_TAG) or 0) + 1
            total = run.tags.get(MAX_RETRIES_TAG)
            msg = (f"Queued: automatic retry {n}{f' of {total}' if total else ''} after the analysis "
                   f"worker stopped; it goes on from the failed step")
            return JobView(job_id, PENDING, 0.0, "queued", msg, created, updated, run_id=run.run_id, meta=meta)
        if st in (S.FAILURE, S.CANCELED, S.CANCELING):
            reason = ("the job was cancelled" if st != S.FAILURE
                      else self._failure_reason(run.run_id, meta))
            prog = folder.read_progress() or {}
            return JobView(job_id, FAILED, float(overall_progress(prog.get("step", "decode"), prog.get("fraction", 0)))
                           if prog.get("run_id") == run.run_id else 0.0,
                           prog.get("step") if prog.get("run_id") == run.run_id else None,
                           f"Analysis failed: {reason}", created, updated, error=reason,
                           run_id=run.run_id, meta=meta,
                           verdict=_verdict_of(meta, run.run_id, failed=True) if st == S.FAILURE else None)
        # STARTED: the progress file of this run tells where it is.
        prog = folder.read_progress() or {}
        if prog.get("run_id") == run.run_id and prog.get("step") in STEPS:
            step = prog["step"]
            p = overall_progress(step, prog.get("fraction", 0.0))
            msg = prog.get("message") or STEP_TITLES[step]
            updated = prog.get("updated_at") or updated
        else:
            step, p, msg = "starting", 0.0, "Starting the analysis worker"
        return JobView(job_id, PROCESSING, p, step, msg + retry, created, updated, run_id=run.run_id,
                       meta=meta)

    def result(self, job_id: str) -> tuple[JobView, Optional[dict]]:
        v = self.view(job_id)
        if v.status != COMPLETED:
            return v, None
        data = read_json(JobFolder.for_job(self.settings.results_dir, job_id).file(RESULT))
        return v, data

    def list(self) -> list[JobView]:
        root = self.settings.results_dir
        if not root.is_dir():
            return []
        by_job: dict[str, list] = {}
        for rec in self._records():
            jid = rec.dagster_run.tags.get(JOB_ID_TAG)
            if jid:
                by_job.setdefault(jid, []).append(rec)
        views = []
        for d in sorted(root.iterdir()):
            if not is_valid_job_id(d.name):
                continue
            try:
                views.append(self.view(d.name, by_job.get(d.name, [])))
            except JobNotFound:
                continue
        views.sort(key=lambda v: v.created_at or "", reverse=True)
        return views

    # --- re-executing ----------------------------------------------------------------
    def retry(self, job_id: str) -> str:
        v = self.view(job_id)
        if v.status != FAILED or not v.run_id:
            raise JobConflict(f"job {job_id} is {v.status}; only a failed job can be re-executed")
        run_id = self.launcher.reexecute(v.run_id, from_failure=True)
        folder = JobFolder.for_job(self.settings.results_dir, job_id)
        meta = folder.read_meta() or {}
        folder.update_meta(runs=list(meta.get("runs") or []) + [run_id], status=PENDING)
        folder.log("api", f"re-execution from failure queued as run {run_id}")
        self._changed()
        return run_id

    # --- deleting ------------------------------------------------------------------
    def delete(self, job_id: str, wait_s: float = 30.0) -> None:
        self.view(job_id)  # raises JobNotFound
        records = self._records(job_id)
        live = [r.dagster_run.run_id for r in records if not r.dagster_run.is_finished]
        for run_id in live:
            self.launcher.terminate(run_id)
        deadline = time.monotonic() + wait_s
        next_ask = time.monotonic() + 3.0
        while live and time.monotonic() < deadline:
            live = [rid for rid in live
                    if (run := self.instance.get_run_by_id(rid)) is not None and not run.is_finished]
            if live and time.monotonic() > next_ask:
                # A run caught while its worker was still starting misses the first request.
                for run_id in live:
                    self.launcher.terminate(run_id)
                next_ask = time.monotonic() + 3.0
            if live:
                time.sleep(0.25)
        if live:
            raise JobConflict(f"cancellation of job {job_id} was requested but its run is still "
                              f"stopping; retry the delete in a few seconds")
        for rec in records:
            self._delete_run(rec.dagster_run.run_id)
        self.remove_files(job_id)
        self._changed()

    def _delete_run(self, run_id: str) -> None:
        self.instance.delete_run(run_id)
        home = self.settings.dagster_home
        # delete_run leaves per-run files behind: IO manager outputs, compute logs, event db.
        for p in (home / "storage" / run_id, home / "history" / "runs" / f"{run_id}.db",
                  home / "logs" / run_id):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            elif p.exists():
                p.unlink(missing_ok=True)

    def remove_files(self, job_id: str) -> None:
        JobFolder.for_job(self.settings.results_dir, job_id).remove()
        shutil.rmtree(self.settings.uploads_dir / job_id, ignore_errors=True)

    def purge_finished_before(self, cutoff: datetime) -> list[str]:
        """Delete completed and failed jobs created before ``cutoff`` (UTC): folder, upload,
        runs and Dagster's per-run files. Queued and running jobs are never touched."""
        removed = []
        for v in self.list():
            if v.status not in (COMPLETED, FAILED) or not v.created_at:
                continue
            if datetime.fromisoformat(v.created_at) < cutoff.replace(tzinfo=None):
                try:
                    self.delete(v.video_id, wait_s=0)
                    removed.append(v.video_id)
                except (JobNotFound, JobConflict):
                    continue
        return removed

    def counts(self) -> dict:
        counts = {PENDING: 0, PROCESSING: 0, COMPLETED: 0, FAILED: 0}
        for v in self.list():
            counts[v.status] = counts.get(v.status, 0) + 1
        counts["total"] = sum(counts.values())
        return counts
