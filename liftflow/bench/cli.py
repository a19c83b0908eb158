"""``liftflow bench run | sweep | score``: the benchmark against a server, in process, or one result.

- ``run --server URL``: the external runner of BENCHMARK_API.md section H (run_one per case,
  or ``--batch`` for run_batch), polls, fetches results, scores against the local ground truth.
- ``sweep``: the same sweep as the Dagster ``benchmark_sweep`` job, in process (each case runs
  the ``lift_analysis`` job in process), writing report.json/csv/md and plots into ``--out``.
  That needs Dagster, which bench/ does not import: ``liftflow bench`` enters through
  ``liftflow.orchestration.cases.bench_cli``, which hands its ``sweep_in_process`` in.
- ``score``: one result.json (or a job folder) against a ground-truth CSV or a manifest case.

Exit codes: 0 fine, 1 an absolute limit exceeded (the defaults of
``liftflow.bench.report.Thresholds``: a rep miscount, a failed case...) or a regression
against ``--baseline`` (or a failed case with ``--strict``), 2 bad input (the reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional

from liftflow.tracking.registry import DEFAULT_BACKEND


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="liftflow bench", description="Ground-truth benchmark of the pipeline")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--dataset", type=Path, help="dataset root with manifest.csv (default DATASETS_ROOT)")
        p.add_argument("--backend", default=DEFAULT_BACKEND)
        p.add_argument("--case", action="append", help="only this case id (repeatable)")
        p.add_argument("--seed-offset-px", type=float, default=0.0, help="shift every seed centre (drills)")
        p.add_argument("--seed-radius-scale", type=float, default=1.0, help="scale every seed radius (drills)")
        p.add_argument("--baseline", type=Path, help="a previous report.json to compare with")
        p.add_argument("--strict", action="store_true", help="exit 1 when a case failed")

    r = sub.add_parser("run", help="run the dataset against a LiftFlow server (section H)")
    common(r)
    r.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8000")
    r.add_argument("--batch", action="store_true", help="submit with POST /bench/run_batch")
    r.add_argument("--mode", choices=["auto", "local_asset", "upload"], default="auto")
    r.add_argument("--client-run-id")
    r.add_argument("--out", type=Path, help="write the rows as .csv or .json, or a folder for the report")
    s = sub.add_parser("sweep", help="the benchmark sweep in process (no server)")
    common(s)
    s.add_argument("--out", type=Path, help="report folder (default ./bench-<sweep id>)")
    s.add_argument("--no-plots", action="store_true")
    c = sub.add_parser("score", help="score one result.json against ground truth")
    c.add_argument("result", type=Path, help="result.json or a job folder")
    c.add_argument("--gt", type=Path, help="frame,x,y,r[,r_minor][,visibility] CSV")
    c.add_argument("--dataset", type=Path, help="dataset root (with --case)")
    c.add_argument("--case", help="case id of the dataset manifest")
    c.add_argument("--expected-reps")
    c.add_argument("--velocity-ref", type=Path)
    return ap


def _err(msg: str) -> int:
    print(f"liftflow bench: {msg}", file=sys.stderr)
    return 2


def _opts(a):
    from liftflow.bench.runner import RunOptions

    return RunOptions(backend=a.backend, seed_offset_px=a.seed_offset_px, seed_radius_scale=a.seed_radius_scale)


def _baseline(a) -> Optional[dict]:
    if not a.baseline:
        return None
    p = a.baseline / "report.json" if a.baseline.is_dir() else a.baseline
    return json.loads(p.read_text())


def _finish(report: dict, a) -> int:
    from liftflow.bench.report import format_table

    print(format_table(report))
    comp = report["comparison"]
    if comp.get("baseline"):
        print(f"against {comp['baseline']}: {len(comp['worse'])} worse, {len(comp['better'])} better")
        for w in comp["worse"]:
            print(f"  worse: {w}")
    for r in report["failures"]:
        print(f"LIMIT EXCEEDED: {r}")
    for r in report["regressions"]:
        print(f"REGRESSION: {r}")
    if report["status"] != "ok":
        return 1
    if a.strict and any(r.get("status") == "failed" for r in report["rows"]):
        return 1
    return 0


def bench_cli(argv: Optional[list[str]] = None, sweep_in_process: Optional[Callable[..., dict]] = None) -> int:
    """``sweep_in_process``: :func:`liftflow.orchestration.cases.sweep_in_process` (without it,
    ``sweep`` is refused as bad input)."""
    try:
        a = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    from liftflow.bench.dataset import DatasetError, load_dataset
    from liftflow.config import get_settings

    try:
        if a.cmd == "score":
            return _score(a)
        root = a.dataset or get_settings().datasets_root
        ds = load_dataset(root)
        if a.case:
            unknown = set(a.case) - {c.case_id for c in ds.cases}
            if unknown:
                return _err(f"case(s) not in the manifest: {', '.join(sorted(unknown))}")
            ds.cases = [c for c in ds.cases if c.case_id in a.case]
        baseline = _baseline(a)
    except (DatasetError, OSError, json.JSONDecodeError) as exc:
        return _err(str(exc))
    if a.cmd == "sweep":
        from liftflow.bench.runner import new_sweep_id

        if sweep_in_process is None:
            return _err("the in-process sweep runs through liftflow.orchestration.cases.bench_cli "
                        "(the `liftflow bench sweep` command)")
        sid = new_sweep_id()
        out = a.out or Path(f"bench-{sid}")
        report = sweep_in_process(ds.root, out, _opts(a), case_ids=a.case, baseline=baseline, sweep_id=sid,
                                  echo=lambda m: print(m, file=sys.stderr, flush=True), plots=not a.no_plots)
        print(f"report: {Path(out).resolve() / 'report.md'}")
        return _finish(report, a)
    # run against a server
    from liftflow.bench.report import build_report, write_report
    from liftflow.bench.runner import new_sweep_id, run_http
    from liftflow.jobstore import now_iso

    rid = a.client_run_id or new_sweep_id("run")
    started = now_iso()
    try:
        rows = run_http(a.server, ds, _opts(a), rid, mode=a.mode, batch=a.batch,
                        echo=lambda m: print(m, file=sys.stderr, flush=True))
    except Exception as exc:  # server down, refused batch
        return _err(f"{type(exc).__name__}: {exc}")
    sweep = {"sweep_id": rid, "dataset_root": ds.root, "dataset_format": ds.format,
             "manifest_sha1": ds.manifest_sha1, "settings": {**_opts(a).to_dict(), "server": a.server},
             "started_at": started}
    report = build_report(sweep, rows, baseline)
    if a.out:
        if a.out.suffix.lower() in (".csv", ".json"):
            _write_rows(report, a.out)
        else:
            write_report(report, a.out, baseline)
        print(f"wrote {a.out}")
    return _finish(report, a)


def _write_rows(report: dict, out: Path) -> None:
    from liftflow.bench.report import write_csv

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        out.write_text(json.dumps(report, indent=2, default=str))
        return
    write_csv(report, out)


def _score(a) -> int:
    from liftflow.bench.dataset import DatasetError, load_dataset, parse_expected_reps
    from liftflow.bench.scoring import compare
    from liftflow.config import get_settings

    p = a.result / "result.json" if a.result.is_dir() else a.result
    if not p.is_file():
        return _err(f"result not found: {p}")
    result = json.loads(p.read_text())
    case = None
    if a.case:
        case = load_dataset(a.dataset or get_settings().datasets_root).case(a.case)
    if a.gt is None and (case is None or not case.gt_path):
        return _err("give --gt FILE, or --case ID (with --dataset) of a case with ground truth")
    cdict = case.to_dict() if case else {"case_id": p.parent.name}
    if a.expected_reps:
        try:
            cdict["expected_reps"] = parse_expected_reps(a.expected_reps)
        except ValueError as exc:
            return _err(str(exc))
    try:
        scores = compare(result, a.gt, cdict, velocity_ref=a.velocity_ref)
    except DatasetError as exc:
        return _err(str(exc))
    scores.pop("per_keyframe_pct", None)
    print(json.dumps(scores, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(bench_cli())
