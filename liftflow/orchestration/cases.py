"""Benchmark cases through the orchestration: queued as lift_analysis runs like the API queues
them, or run in process (``liftflow bench sweep``).

The bench package stays free of Dagster; what needs the JobService, a launcher or the
lift_analysis job is here (the job from ``orchestration.analysis``, not the merged
Definitions, which import the sweep that imports this module). The API's bench routes take their whole surface from this module:

- :func:`submit_case` (one case, one job, one run; the sweep's op queues its cases with it)
  and :func:`submit_batch` (several, in order);
- :func:`batch_cases` (a run_batch body validated into cases) and :func:`compare_with_case`
  (scores against a manifest case), both dataset-only, from :mod:`liftflow.bench.runner`;
- :func:`sweep_in_process` / :func:`run_case_in_process`: the sweep without a server.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional, Union

from liftflow.bench.dataset import Case, load_dataset
from liftflow.bench.runner import (  # noqa: F401 (RunOptions, batch_cases, compare_with_case: re-exported)
    CASE_TAG,
    RunOptions,
    batch_cases,
    case_request,
    compare_with_case,
    new_sweep_id,
)
from liftflow.errors import BatchError, LiftFlowError, public_launch_message
from liftflow.orchestration.names import ANALYSIS_JOB

__all__ = ["RunOptions", "batch_cases", "bench_cli", "compare_with_case", "run_case_in_process", "submit_batch",
           "submit_case", "sweep_in_process"]


class _TaggingLauncher:
    """A RunLauncher that adds fixed tags (sweep id, ...) to every run it submits."""

    def __init__(self, inner, extra_tags: dict):
        self.inner, self.extra = inner, {k: str(v) for k, v in extra_tags.items()}

    def submit(self, run_config: dict, tags: dict) -> str:
        return self.inner.submit(run_config, {**tags, **self.extra})


def submit_case(settings, launcher, case: Case, *, client_run_id: Optional[str] = None,
                opts: Optional[RunOptions] = None, extra_tags: Optional[dict] = None) -> dict:
    """Create a job folder and launch one lift_analysis run for ``case``, exactly like
    POST /bench/run_one with local_asset does (JobService.submit). Returns {case_id, job_id,
    run_id, job_dir}. Raises LaunchError when the queue is not reachable."""
    from liftflow.orchestration.service import JobService

    opts = opts or RunOptions()
    svc = JobService(settings, None, _TaggingLauncher(launcher, {CASE_TAG: case.case_id, **(extra_tags or {})}))
    folder = svc.new_job()
    req = case_request(case, opts)
    source = {"type": "local_asset", "original_filename": Path(case.video_path).name,
              "asset_id": Path(case.video_path).stem}
    benchmark = {"case_id": case.case_id, "client_run_id": client_run_id, "tags": dict(case.tags)}
    model = {"tracking_backend": req["backend"], "enable_person_detection": False,
             "enable_pose_estimation": req.get("pose_backend", "off") != "off"}
    run_id = svc.submit(folder, video_path=Path(case.video_path), request=req, source=source,
                        benchmark=benchmark, model_config=model)
    return {"case_id": case.case_id, "job_id": folder.job_id, "run_id": run_id, "job_dir": str(folder.path)}


def submit_batch(cases: list[Case], submit_one: Callable[[Case], dict]) -> list[dict]:
    """Submit each case (one job, one run) in order; returns [{case_id, job_id, ...}].
    ``submit_one`` is e.g. ``lambda c: submit_case(settings, launcher, c, client_run_id=...)``.
    BatchError carries the cases already queued when one cannot be."""
    out = []
    for c in cases:
        try:
            out.append(submit_one(c))
        except Exception as exc:
            public = exc.public if isinstance(exc, LiftFlowError) else public_launch_message(str(exc))
            raise BatchError(f"case {c.case_id}: could not be queued: {exc}", out,
                             public=f"case {c.case_id}: could not be queued: {public}") from exc
    return out


# ----------------------------------------------------------------- in process

def run_case_in_process(case: Case, jobs_dir: Path, opts: Optional[RunOptions] = None,
                        quiet: bool = True) -> Path:
    """Run lift_analysis in process for ``case`` (like ``liftflow analyze``); returns the job folder."""
    import logging
    import tempfile

    from dagster import DagsterInstance

    from liftflow.jobstore import JobFolder, new_job_id, new_meta
    from liftflow.orchestration.analysis import analysis_defs
    from liftflow.orchestration.resources import run_config_for

    opts = opts or RunOptions()
    job_id = new_job_id()
    folder = JobFolder(Path(jobs_dir) / job_id, job_id)
    folder.create()
    req = case_request(case, opts)
    folder.write_meta(new_meta(job_id, source={"type": "local_asset",
                                               "original_filename": Path(case.video_path).name,
                                               "asset_id": Path(case.video_path).stem},
                               benchmark={"case_id": case.case_id, "client_run_id": None, "tags": case.tags},
                               model_config={"tracking_backend": req["backend"],
                                             "enable_person_detection": False,
                                             "enable_pose_estimation": False}))
    request = {"job_id": job_id, "job_dir": str(folder.path), "video_path": case.video_path, **req}
    if quiet:
        logging.getLogger("dagster").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="liftflow-bench-") as tmp:
        with DagsterInstance.ephemeral(tempdir=tmp) as instance:
            rc = run_config_for(request)
            rc["loggers"] = {"console": {"config": {"log_level": "CRITICAL" if quiet else "INFO"}}}
            analysis_defs.resolve_job_def(ANALYSIS_JOB).execute_in_process(
                run_config=rc, instance=instance, tags={"job_id": job_id, CASE_TAG: case.case_id},
                raise_on_error=False)
    return folder.path


def sweep_in_process(dataset_root: Union[str, Path], out_dir: Union[str, Path],
                     opts: Optional[RunOptions] = None, case_ids: Optional[list[str]] = None,
                     baseline: Optional[dict] = None, thresholds=None, sweep_id: Optional[str] = None,
                     echo: Optional[Callable[[str], None]] = None, plots: bool = True) -> dict:
    """The sweep without a server: every case in process, scored, reported into out_dir."""
    from liftflow.bench.report import build_report, write_report
    from liftflow.bench.scoring import score_job_folder
    from liftflow.jobstore import now_iso

    opts = opts or RunOptions()
    ds = load_dataset(dataset_root)
    cases = [c for c in ds.cases if not case_ids or c.case_id in case_ids]
    out_dir = Path(out_dir)
    sweep_id = sweep_id or new_sweep_id()
    sweep = {"sweep_id": sweep_id, "dataset_root": ds.root, "dataset_format": ds.format,
             "manifest_sha1": ds.manifest_sha1, "settings": opts.to_dict(), "started_at": now_iso()}
    rows = []
    for c in cases:
        t0 = time.perf_counter()
        job_dir = run_case_in_process(c, out_dir / "jobs", opts)
        row = score_job_folder(job_dir, c)
        rows.append(row)
        if echo:
            echo(f"{c.case_id}: {row.get('status')} median {row.get('median_pct')}% p95 {row.get('p95_pct')}% "
                 f"lost kf {row.get('lost_keyframes')} reps {row.get('rep_count')}/{row.get('expected_reps')} "
                 f"({time.perf_counter() - t0:.1f} s)")
    report = build_report(sweep, rows, baseline, thresholds)
    write_report(report, out_dir, baseline, plots=plots)
    return report


def bench_cli(argv: Optional[list[str]] = None) -> int:
    """``liftflow bench run | sweep | score`` (:func:`liftflow.bench.cli.bench_cli`) with the
    in-process sweep plugged in, which bench/ cannot import itself."""
    from liftflow.bench.cli import bench_cli as dataset_bench_cli

    return dataset_bench_cli(argv, sweep_in_process=sweep_in_process)
