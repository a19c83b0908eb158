"""Benchmark sweeps in Dagster: a launchable job, a report job, a sensor that joins them, a schedule.

- ``benchmark_sweep``: reads the dataset manifest and submits one ``lift_analysis`` run per
  case through the webserver's GraphQL API, with a job folder made exactly as the API makes
  it (tags ``sweep_id``, ``case_id``, ``liftflow/sweep=1``), then finishes: the single run
  slot is free, and the analyses run one after another.
- ``sweep_report_sensor`` (running by default): when every run of a finished sweep is
  finished, requests one ``sweep_report`` run (run key = sweep id).
- ``sweep_report``: scores each case's result.json against ground truth, checks the absolute
  limits (every sweep, the first one included), compares with the previous passing sweep on
  the same dataset, writes ``<data>/bench/sweeps/<id>/`` (report.json, report.csv, report.md,
  PNG plots), records the ``benchmark_report`` asset materialization (the per-case table, the
  limits and thresholds as tables, the report as markdown with the plots embedded), and fails
  with a readable reason when a limit or a threshold is exceeded.
- ``benchmark_sweep_schedule`` (stopped by default; cron from ``LIFTFLOW_SWEEP_CRON``,
  default ``0 3 * * *`` UTC; ``LIFTFLOW_SWEEP_DATASET`` overrides the dataset root).

Only dagster, the standard library, the Dagster names and the default tracking backend's
name are imported here; the rest inside the functions.
"""


import json
from pathlib import Path
from typing import Optional

from dagster import (
    AssetMaterialization,
    Config,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Failure,
    MetadataValue,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    TableColumn,
    TableRecord,
    TableSchema,
    in_process_executor,
    job,
    op,
    schedule,
    sensor,
)
from pydantic import Field

from liftflow.orchestration.names import (ANALYSIS_JOB, PRIORITY_TAG, REPORT_JOB, REPORT_TAG,
                                          SWEEP_CASES_TAG, SWEEP_ID_TAG, SWEEP_JOB, SWEEP_PRIORITY,
                                          SWEEP_TAG)
from liftflow.tracking.registry import DEFAULT_BACKEND

REPORT_ASSET = "benchmark_report"
_L_DESC = "Absolute limit, on every sweep (unset = built-in default, negative = off)"
_T_DESC = "Largest allowed worsening against the baseline sweep (unset = built-in default, negative = off)"


def sweeps_dir(settings=None) -> Path:
    from liftflow.config import get_settings

    return (settings or get_settings()).data_dir / "bench" / "sweeps"


def _sweep_cron() -> str:
    from liftflow.config import get_settings

    return get_settings().sweep_cron


class _Thresholds(Config):
    """liftflow.bench.report.Thresholds as op config (its defaults are the built-in ones)."""

    max_case_rep_error: Optional[float] = Field(default=None, description=_L_DESC + ": |reps found - expected| "
                                                "of each case; default 0")
    max_case_median_pct: Optional[float] = Field(default=None, description=_L_DESC + ": median centre error of "
                                                 "each case, % of the plate radius; default 3")
    max_case_p95_pct: Optional[float] = Field(default=None, description=_L_DESC + ": p95 centre error of each "
                                              "case, % of the plate radius; default 10")
    max_case_median_px: Optional[float] = Field(default=None, description=_L_DESC + ": median centre error of "
                                                "each case, px; default off")
    max_case_p95_px: Optional[float] = Field(default=None, description=_L_DESC + ": p95 centre error of each "
                                             "case, px; default off")
    max_case_lost_keyframes_pct: Optional[float] = Field(default=None, description=_L_DESC + ": lost keyframes "
                                                         "of each case, % of those with the plate in view; "
                                                         "default 0")
    max_case_velocity_error_m_s: Optional[float] = Field(default=None, description=_L_DESC + ": velocity error "
                                                         "of each case with a reference, m/s; default 0.05")
    max_failed_cases: Optional[float] = Field(default=None, description=_L_DESC + ": failed cases; default 0")
    max_median_pct_increase: Optional[float] = Field(default=None, description=_T_DESC + "; default 1.0 % points")
    max_p95_pct_increase: Optional[float] = Field(default=None, description=_T_DESC + "; default 5.0 % points")
    max_case_median_pct_increase: Optional[float] = Field(default=None, description=_T_DESC + "; default 5.0")
    max_lost_keyframes_increase: Optional[float] = Field(default=None, description=_T_DESC + "; default 0")
    max_rep_error_increase: Optional[float] = Field(default=None, description=_T_DESC + "; default 0")
    max_failed_cases_increase: Optional[float] = Field(default=None, description=_T_DESC + "; default 0")
    max_velocity_error_increase: Optional[float] = Field(default=None, description=_T_DESC + "; default 0.05 m/s")

    def given(self) -> dict:
        return {k: getattr(self, k) for k in THRESHOLD_FIELDS if getattr(self, k) is not None}


THRESHOLD_FIELDS = tuple(_Thresholds.model_fields)


def resolve_thresholds(given: dict):
    """The Thresholds of config values (None: the default, negative: off); ValueError when unknown."""
    from liftflow.bench.report import Thresholds

    return Thresholds.from_dict(given)


class SweepConfig(_Thresholds):
    dataset_root: Optional[str] = Field(default=None, description="Folder with manifest.csv (default DATASETS_ROOT)")
    sweep_id: Optional[str] = Field(default=None, description="Default: the run's sweep_id tag, else a new id")
    backend: str = Field(default=DEFAULT_BACKEND, description="Tracking backend for every case")
    case_ids: list[str] = Field(default_factory=list, description="Only these cases (default: all)")
    seed_offset_px: float = Field(default=0.0, description="Shift every seed centre in x (degradation drills)")
    seed_radius_scale: float = Field(default=1.0, description="Scale every seed radius (degradation drills)")
    plate_diameter_m: Optional[float] = Field(default=None, description="Override the plate diameter")


@op(description="Read the dataset manifest and queue one lift_analysis run per case (GraphQL), tagged with the sweep id.")
def submit_sweep_cases(context: OpExecutionContext, config: SweepConfig) -> dict:
    from liftflow.bench.dataset import DatasetError, load_dataset
    from liftflow.bench.runner import RunOptions, new_sweep_id
    from liftflow.config import get_settings
    from liftflow.jobstore import atomic_write_json, now_iso
    from liftflow.orchestration.cases import submit_case
    from liftflow.orchestration.launcher import LaunchError, launcher_from_settings

    settings = get_settings()
    run_tags = context.run.tags
    sweep_id = config.sweep_id or run_tags.get(SWEEP_ID_TAG) or new_sweep_id()
    if not all(ch.isalnum() or ch in "._-" for ch in sweep_id):
        raise Failure(description=f"sweep id {sweep_id!r} may only use letters, digits, '.', '_' and '-'")
    context.instance.add_run_tags(context.run_id, {SWEEP_ID_TAG: sweep_id, SWEEP_TAG: "1"})
    root = Path(config.dataset_root).expanduser() if config.dataset_root else settings.datasets_root
    try:
        ds = load_dataset(root)
        resolve_thresholds(config.given())
    except (DatasetError, ValueError) as exc:
        raise Failure(description=f"dataset {root} is not usable: {exc}") from exc
    cases = [c for c in ds.cases if not config.case_ids or c.case_id in config.case_ids]
    unknown = sorted(set(config.case_ids) - {c.case_id for c in ds.cases})
    if unknown:
        raise Failure(description=f"case id(s) not in {root}/manifest.csv: {', '.join(unknown)}")
    if len(cases) > settings.sweep_max_cases:
        raise Failure(description=f"the sweep has {len(cases)} cases, more than LIFTFLOW_SWEEP_MAX_CASES="
                                  f"{settings.sweep_max_cases} allows; give case_ids, or raise the limit")
    opts = RunOptions(backend=config.backend, seed_offset_px=config.seed_offset_px,
                      seed_radius_scale=config.seed_radius_scale, plate_diameter_m=config.plate_diameter_m)
    out = sweeps_dir(settings) / sweep_id
    out.mkdir(parents=True, exist_ok=True)
    sweep = {"sweep_id": sweep_id, "sweep_run_id": context.run_id, "dataset_root": ds.root,
             "dataset_format": ds.format, "manifest_sha1": ds.manifest_sha1, "settings": opts.to_dict(),
             "thresholds": config.given(), "started_at": now_iso(), "state": "submitting", "cases": []}
    atomic_write_json(out / "sweep.json", sweep)
    launcher = launcher_from_settings(settings)
    for c in cases:
        try:
            sub = submit_case(settings, launcher, c, client_run_id=sweep_id, opts=opts,
                              extra_tags={SWEEP_ID_TAG: sweep_id, SWEEP_TAG: "1",
                                          PRIORITY_TAG: str(SWEEP_PRIORITY)})
        except LaunchError as exc:
            sweep["state"] = "failed"
            atomic_write_json(out / "sweep.json", sweep)
            raise Failure(description=f"case {c.case_id}: could not queue its analysis run: {exc}") from exc
        sweep["cases"].append({**c.to_dict(), **sub})
        atomic_write_json(out / "sweep.json", sweep)
        context.log.info(f"case {c.case_id}: job {sub['job_id']} queued as run {sub['run_id']}")
    sweep["state"] = "submitted"
    atomic_write_json(out / "sweep.json", sweep)
    context.instance.add_run_tags(context.run_id, {SWEEP_CASES_TAG: str(len(cases))})
    context.add_output_metadata({"sweep_id": sweep_id, "cases": len(cases), "dataset_root": MetadataValue.path(ds.root),
                                 "sweep_json": MetadataValue.path(str(out / "sweep.json")),
                                 "jobs": MetadataValue.json({x["case_id"]: x["job_id"] for x in sweep["cases"]})})
    return {"sweep_id": sweep_id, "cases": len(cases)}


@job(name=SWEEP_JOB, executor_def=in_process_executor, tags={SWEEP_TAG: "1"},
     description="Run every case of a benchmark dataset through lift_analysis (one queued run per case); "
                 "sweep_report_sensor then builds the report.")
def benchmark_sweep():
    submit_sweep_cases()


class ReportConfig(_Thresholds):
    sweep_id: str = Field(description="The sweep to report on (<data>/bench/sweeps/<sweep_id>/sweep.json)")
    baseline_sweep_id: Optional[str] = Field(default=None, description="Compare with this sweep (default: the "
                                             "previous passing sweep on the same dataset)")
    fail_on_regression: bool = Field(default=True, description="Fail the step when an absolute limit or a "
                                     "threshold against the baseline is exceeded (the report is written anyway)")


def build_sweep_report(sweep_id: str, thresholds_given: Optional[dict] = None,
                       baseline_sweep_id: Optional[str] = None, settings=None) -> tuple[dict, dict, Optional[dict]]:
    """(report, written paths, baseline) of a sweep whose runs are finished: the op's body."""
    from liftflow.bench.dataset import Case
    from liftflow.bench.report import build_report, find_previous_report, write_report
    from liftflow.bench.scoring import score_job_folder
    from liftflow.jobstore import now_iso, read_json

    d = sweeps_dir(settings)
    sweep = read_json(d / sweep_id / "sweep.json")
    if sweep is None:
        raise FileNotFoundError(f"no sweep {sweep_id!r}: {d / sweep_id / 'sweep.json'} is missing")
    given = {**(sweep.get("thresholds") or {}), **(thresholds_given or {})}
    thresholds = resolve_thresholds(given)
    rows = [score_job_folder(c["job_dir"], Case.from_dict(c)) for c in sweep["cases"]]
    finished = now_iso()
    if baseline_sweep_id:
        baseline = read_json(d / baseline_sweep_id / "report.json")
        if baseline is None:
            raise FileNotFoundError(f"baseline sweep {baseline_sweep_id!r} has no report.json")
    else:
        baseline = find_previous_report(d, sweep["dataset_root"], before=finished, exclude=sweep_id)
    report = build_report(sweep, rows, baseline, thresholds, finished_at=finished)
    paths = write_report(report, d / sweep_id, baseline)
    return report, paths, baseline


def _table(report: dict, name: str) -> MetadataValue:
    """One of the report's tables (liftflow.bench.report.typed_table) as Dagster table metadata."""
    from liftflow.bench.report import typed_table

    columns, records = typed_table(report, name)
    return MetadataValue.table([TableRecord(r) for r in records],
                               TableSchema([TableColumn(n, kind, description=d or None) for n, kind, d in columns]))


def report_metadata(report: dict, paths: dict) -> dict:
    """The benchmark_report materialization's metadata: the per-case table (the asset's overview
    shows it), the absolute limits and the thresholds against the baseline as tables, the
    report as markdown with the plots embedded, the files, the sweep's aggregates as numbers."""
    from liftflow.bench.report import to_markdown

    a = report["aggregates"]["all"]
    meta = {
        "status": report["status"], "sweep_id": report["sweep_id"],
        "baseline_sweep_id": str(report["comparison"].get("baseline")),
        "case_results": _table(report, "cases"),
        "absolute_limits": _table(report, "limits"),
        "against_baseline": _table(report, "thresholds"),
        "report": MetadataValue.md(to_markdown(report, report.get("plots"), embed=True)),
        "report_json": MetadataValue.path(paths["report.json"]),
        "report_csv": MetadataValue.path(paths["report.csv"]),
        "report_md": MetadataValue.path(paths["report.md"]),
        "report_dir": MetadataValue.path(str(Path(paths["report.json"]).parent)),
        "cases": a["cases"], "failed_cases": a["failed"], "limits_exceeded": len(report["failures"]),
        "regressions": len(report["regressions"]),
        "worse": len(report["comparison"]["worse"]), "better": len(report["comparison"]["better"]),
    }
    for k in ("median_pct", "p95_pct", "max_pct", "lost_keyframes", "frames_lost", "rep_abs_error",
              "velocity_error_m_s", "keyframes_scored"):
        if a.get(k) is not None:
            meta[k] = float(a[k]) if isinstance(a[k], float) else a[k]
    for name, p in (report.get("plots") or {}).items():
        meta[f"plot: {name}"] = MetadataValue.path(p)
    return meta


@op(description="Score every case of a finished sweep against ground truth, check the absolute limits, compare "
                "with the previous sweep, write the report and fail when a limit or a threshold is exceeded.")
def sweep_report_op(context: OpExecutionContext, config: ReportConfig) -> None:
    from liftflow.bench.report import failure_reason

    try:
        report, paths, baseline = build_sweep_report(config.sweep_id, config.given(), config.baseline_sweep_id)
    except (FileNotFoundError, ValueError) as exc:
        raise Failure(description=str(exc)) from exc
    a = report["aggregates"]["all"]
    context.log_event(AssetMaterialization(
        asset_key=REPORT_ASSET, description=f"benchmark sweep {report['sweep_id']}: {report['status']}",
        metadata=report_metadata(report, paths), tags={SWEEP_ID_TAG: report["sweep_id"]}))
    context.log.info(f"sweep {report['sweep_id']}: {report['status']}, {a['cases']} cases, median {a['median_pct']}% "
                     f"p95 {a['p95_pct']}% of the radius, lost keyframes {a['lost_keyframes']}, "
                     f"report {paths['report.md']}")
    reason = failure_reason(report)
    if reason and config.fail_on_regression:
        raise Failure(description=reason, metadata={"limits_exceeded": MetadataValue.json(report["failures"]),
                                                    "regressions": MetadataValue.json(report["regressions"]),
                                                    "report_md": MetadataValue.path(paths["report.md"])})


@job(name=REPORT_JOB, executor_def=in_process_executor, tags={REPORT_TAG: "1"},
     description="The report of one benchmark sweep (requested by sweep_report_sensor)")
def sweep_report():
    sweep_report_op()


def report_run_request(sweep_id: str, thresholds: Optional[dict] = None) -> RunRequest:
    cfg = {"sweep_id": sweep_id, **{k: v for k, v in (thresholds or {}).items() if k in THRESHOLD_FIELDS}}
    return RunRequest(run_key=sweep_id, run_config={"ops": {"sweep_report_op": {"config": cfg}}},
                      tags={SWEEP_ID_TAG: sweep_id, REPORT_TAG: "1"})


def _sensor_interval() -> int:
    from liftflow.config import get_settings

    return get_settings().sweep_sensor_interval_s


@sensor(name="sweep_report_sensor", job=sweep_report, minimum_interval_seconds=_sensor_interval(),
        default_status=DefaultSensorStatus.RUNNING,
        description="Requests the sweep_report run of a benchmark sweep once all its analysis runs are finished")
def sweep_report_sensor(context: SensorEvaluationContext):
    instance = context.instance
    done: list[str] = json.loads(context.cursor) if context.cursor else []
    done_set = set(done)
    requests = []
    waiting = []
    sweeps = instance.get_run_records(
        filters=RunsFilter(job_name=SWEEP_JOB, statuses=[_status().SUCCESS]), limit=25)
    for rec in sweeps:
        tags = rec.dagster_run.tags
        sid = tags.get(SWEEP_ID_TAG)
        if not sid or sid in done_set:
            continue
        if instance.get_runs_count(RunsFilter(job_name=REPORT_JOB, tags={SWEEP_ID_TAG: sid})):
            done.append(sid)
            done_set.add(sid)
            continue
        expected = int(tags.get(SWEEP_CASES_TAG, "-1"))
        runs = instance.get_runs(RunsFilter(job_name=ANALYSIS_JOB, tags={SWEEP_ID_TAG: sid}))
        latest: dict[str, object] = {}
        for r in runs:  # newest first: the first run of a job id is its current state
            latest.setdefault(r.tags.get("job_id", r.run_id), r)
        if len(latest) < expected or not all(r.is_finished for r in latest.values()):
            waiting.append(sid)
            continue
        thresholds = {}
        try:
            from liftflow.jobstore import read_json

            thresholds = (read_json(sweeps_dir() / sid / "sweep.json") or {}).get("thresholds") or {}
        except Exception:
            pass
        requests.append(report_run_request(sid, thresholds))
        done.append(sid)
        done_set.add(sid)
    context.update_cursor(json.dumps(done[-200:]))
    if requests:
        return requests
    return SkipReason(f"sweeps still running: {', '.join(waiting)}" if waiting else "no finished sweep to report")


def _status():
    from dagster import DagsterRunStatus

    return DagsterRunStatus


@schedule(name="benchmark_sweep_schedule", job=benchmark_sweep, cron_schedule=_sweep_cron(),
          execution_timezone="UTC", default_status=DefaultScheduleStatus.STOPPED,
          description="A full-dataset benchmark sweep (cron from LIFTFLOW_SWEEP_CRON, default 0 3 * * * UTC)")
def benchmark_sweep_schedule(context: ScheduleEvaluationContext):
    from datetime import datetime, timezone

    t = context.scheduled_execution_time or datetime.now(timezone.utc)
    sid = f"sweep-{t.strftime('%Y%m%d-%H%M')}-scheduled"
    cfg = {}
    from liftflow.config import get_settings

    if get_settings().sweep_dataset:
        cfg["dataset_root"] = get_settings().sweep_dataset
    run_config = {"ops": {"submit_sweep_cases": {"config": cfg}}} if cfg else {}
    return RunRequest(run_key=sid, run_config=run_config,
                      tags={SWEEP_ID_TAG: sid, SWEEP_TAG: "1", "liftflow/scheduled": "1"})


SWEEP_JOBS = [benchmark_sweep, sweep_report]
SWEEP_SENSORS = [sweep_report_sensor]
SWEEP_SCHEDULES = [benchmark_sweep_schedule]
