"""Sweep reports: per-case table, aggregates by tag, comparison with a baseline, plots.

A report is a plain dict (written as report.json) with ``rows`` (one per case, see
scoring.py), ``aggregates`` (by tag), ``comparison`` (against the previous passing sweep
on the same dataset) and ``regressions`` (readable reasons; empty when none).
``write_report`` writes report.json, report.csv, report.md and PNG plots into a folder.
"""

from __future__ import annotations

import base64
import csv
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Union

from liftflow.bench.scoring import aggregate

REPORT_SCHEMA = "liftflow.bench.report/1"
TABLE_COLS = ("case_id", "status", "keyframes", "scored", "median_px", "p95_px", "max_px", "median_pct",
              "p95_pct", "max_pct", "lost_keyframes", "off_keyframes", "frames_lost", "rep_count",
              "expected_reps", "rep_error", "velocity_error_m_s", "duration_s", "cpu_s", "peak_rss_mb",
              "job_id", "error")
# Metrics compared case by case: (key, lower is better, tolerance below which it is "same").
COMPARED = (("median_pct", 0.25), ("p95_pct", 0.5), ("lost_keyframes", 0), ("frames_lost", 0),
            ("rep_abs_error", 0), ("velocity_error_m_s", 0.005))


@dataclass
class Thresholds:
    """Largest allowed worsening against the baseline; None switches a check off."""

    max_median_pct_increase: Optional[float] = 1.0  # pooled median centre error, % radius points
    max_p95_pct_increase: Optional[float] = 5.0  # pooled p95, points
    max_case_median_pct_increase: Optional[float] = 5.0  # any one case's median, points
    max_lost_keyframes_increase: Optional[int] = 0  # total over the dataset
    max_rep_error_increase: Optional[int] = 0  # total |rep error|
    max_failed_cases_increase: Optional[int] = 0
    max_velocity_error_increase: Optional[float] = 0.05  # mean velocity error, m/s

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "Thresholds":
        d = d or {}
        names = set(cls.__dataclass_fields__)
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown threshold(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


def _fmt(v, nd=2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def compare_reports(current: dict, previous: Optional[dict], thresholds: Thresholds) -> tuple[dict, list[str]]:
    """(comparison, regressions): per-case better/worse and the reasons a threshold is exceeded."""
    if not previous:
        return {"baseline": None, "cases": {}, "better": [], "worse": [], "new_cases": [],
                "missing_cases": []}, []
    cur = {r["case_id"]: r for r in current["rows"]}
    prev = {r["case_id"]: r for r in previous.get("rows", [])}
    cases, better, worse = {}, [], []
    for cid in sorted(set(cur) & set(prev)):
        a, b = prev[cid], cur[cid]
        d = {}
        for key, tol in COMPARED:
            va, vb = a.get(key), b.get(key)
            if va is None or vb is None:
                continue
            delta = vb - va
            verdict = "same" if abs(delta) <= tol else ("worse" if delta > 0 else "better")
            d[key] = {"before": va, "after": vb, "delta": round(delta, 4), "verdict": verdict}
            if verdict == "worse":
                worse.append(f"{cid}: {key} {_fmt(va)} -> {_fmt(vb)}")
            elif verdict == "better":
                better.append(f"{cid}: {key} {_fmt(va)} -> {_fmt(vb)}")
        if a.get("status") != b.get("status"):
            d["status"] = {"before": a.get("status"), "after": b.get("status")}
            (worse if b.get("status") == "failed" else better).append(
                f"{cid}: {a.get('status')} -> {b.get('status')}")
        cases[cid] = d
    comparison = {"baseline": previous.get("sweep_id"), "baseline_finished_at": previous.get("finished_at"),
                  "cases": cases, "better": better, "worse": worse,
                  "new_cases": sorted(set(cur) - set(prev)), "missing_cases": sorted(set(prev) - set(cur))}
    # Thresholds: compare on the cases both sweeps have, so a changed dataset is not a regression.
    common = sorted(set(cur) & set(prev))
    ga = aggregate([prev[c] for c in common])["all"] if common else None
    gb = aggregate([cur[c] for c in common])["all"] if common else None
    comparison["aggregate_before"], comparison["aggregate_after"] = ga, gb
    reasons: list[str] = []
    t = thresholds
    base = previous.get("sweep_id")

    def check(label, before, after, limit, unit=""):
        if limit is None or before is None or after is None:
            return
        if after - before > limit + 1e-9:
            reasons.append(f"{label} rose from {_fmt(before)} to {_fmt(after)}{unit} "
                           f"(+{_fmt(after - before)}, allowed +{_fmt(limit)}) against sweep {base}")

    if ga and gb:
        check("median centre error (all cases)", ga["median_pct"], gb["median_pct"], t.max_median_pct_increase,
              "% of the radius")
        check("p95 centre error (all cases)", ga["p95_pct"], gb["p95_pct"], t.max_p95_pct_increase,
              "% of the radius")
        check("lost keyframes (all cases)", ga["lost_keyframes"], gb["lost_keyframes"],
              t.max_lost_keyframes_increase)
        check("total rep-count error", ga["rep_abs_error"], gb["rep_abs_error"], t.max_rep_error_increase)
        check("failed cases", ga["failed"], gb["failed"], t.max_failed_cases_increase)
        check("mean velocity error", ga["velocity_error_m_s"], gb["velocity_error_m_s"],
              t.max_velocity_error_increase, " m/s")
    if t.max_case_median_pct_increase is not None:
        for cid in common:
            check(f"case {cid}: median centre error", prev[cid].get("median_pct"), cur[cid].get("median_pct"),
                  t.max_case_median_pct_increase, "% of the radius")
    return comparison, reasons


def find_previous_report(sweeps_dir: Union[str, Path], dataset_root: str, before: str,
                         exclude: Optional[str] = None, passing_only: bool = True) -> Optional[dict]:
    """Newest report.json under sweeps_dir on the same dataset root finished before ``before``
    (ISO time), skipping ``exclude`` and (by default) sweeps that were regressions."""
    best = None
    d = Path(sweeps_dir)
    if not d.is_dir():
        return None
    for p in d.glob("*/report.json"):
        try:
            rep = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if rep.get("sweep_id") == exclude or rep.get("dataset_root") != dataset_root:
            continue
        if passing_only and rep.get("regressions"):
            continue
        fin = rep.get("finished_at") or ""
        if fin >= before:
            continue
        if best is None or fin > best.get("finished_at", ""):
            best = rep
    return best


def build_report(sweep: dict, rows: list[dict], previous: Optional[dict] = None,
                 thresholds: Optional[Thresholds] = None, finished_at: Optional[str] = None) -> dict:
    """The report dict of one sweep. ``sweep``: sweep_id, dataset_root, backend, settings..."""
    from liftflow.jobstore import now_iso

    thresholds = thresholds or Thresholds()
    report = {
        "schema": REPORT_SCHEMA,
        "sweep_id": sweep.get("sweep_id"),
        "dataset_root": sweep.get("dataset_root"),
        "dataset_format": sweep.get("dataset_format"),
        "manifest_sha1": sweep.get("manifest_sha1"),
        "settings": sweep.get("settings") or {},
        "started_at": sweep.get("started_at"),
        "finished_at": finished_at or now_iso(),
        "thresholds": thresholds.to_dict(),
        "rows": rows,
        "aggregates": aggregate(rows),
    }
    comparison, reasons = compare_reports(report, previous, thresholds)
    report["comparison"] = comparison
    report["regressions"] = reasons
    report["status"] = "regression" if reasons else "ok"
    return report


def _clean(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def table_rows(report: dict) -> list[dict]:
    return [{k: r.get(k) for k in TABLE_COLS} for r in report["rows"]]


def format_table(report: dict) -> str:
    head = (f"{'case':24s} {'status':7s} {'kf':>4s} {'med px':>7s} {'p95 px':>7s} {'max px':>7s} {'med %':>6s} "
            f"{'p95 %':>6s} {'max %':>7s} {'kf lost':>7s} {'fr lost':>7s} {'reps':>5s} {'exp':>5s} {'vel err':>7s}")
    lines = [head]
    for r in report["rows"]:
        if r.get("status") == "failed":
            lines.append(f"{r['case_id']:24s} FAILED  {r.get('error')}")
            continue
        lines.append(
            f"{r['case_id']:24s} {r.get('status', 'ok'):7s} {r.get('keyframes') or 0:4d} {_fmt(r.get('median_px')):>7s} "
            f"{_fmt(r.get('p95_px')):>7s} {_fmt(r.get('max_px')):>7s} {_fmt(r.get('median_pct')):>6s} "
            f"{_fmt(r.get('p95_pct')):>6s} {_fmt(r.get('max_pct')):>7s} {_fmt(r.get('lost_keyframes')):>7s} "
            f"{_fmt(r.get('frames_lost')):>7s} {_fmt(r.get('rep_count')):>5s} {_fmt(r.get('expected_reps')):>5s} "
            f"{_fmt(r.get('velocity_error_m_s'), 3):>7s}")
    a = report["aggregates"]["all"]
    lines.append(f"all: {a['cases']} cases, {a['failed']} failed, pooled median {_fmt(a['median_pct'])}% / "
                 f"p95 {_fmt(a['p95_pct'])}% / max {_fmt(a['max_pct'])}% of the radius over "
                 f"{a['keyframes_scored']} keyframes, lost keyframes {a['lost_keyframes']}, "
                 f"rep error {_fmt(a['rep_abs_error'])}")
    return "\n".join(lines)


def _md_table(cols: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(_fmt(v).replace("|", "/") for v in r) + " |")
    return "\n".join(out)


def to_markdown(report: dict, plots: Optional[dict] = None, embed: bool = False) -> str:
    md = [f"# Benchmark sweep {report['sweep_id']}: {report['status'].upper()}", "",
          f"Dataset `{report['dataset_root']}` ({report.get('dataset_format')}), settings "
          f"`{json.dumps(report.get('settings') or {})}`, finished {report['finished_at']}.", ""]
    if report["regressions"]:
        md += ["## Regressions", ""] + [f"- {r}" for r in report["regressions"]] + [""]
    cols = ["case", "status", "med px", "p95 px", "max px", "med %", "p95 %", "max %", "kf lost",
            "fr lost", "reps", "expected", "vel err m/s"]
    md += ["## Cases", "", _md_table(cols, [[r["case_id"], r.get("status"), r.get("median_px"), r.get("p95_px"),
                                             r.get("max_px"), r.get("median_pct"), r.get("p95_pct"),
                                             r.get("max_pct"), r.get("lost_keyframes"), r.get("frames_lost"),
                                             r.get("rep_count"), r.get("expected_reps"),
                                             r.get("velocity_error_m_s")] for r in report["rows"]]), ""]
    fails = [r for r in report["rows"] if r.get("status") == "failed"]
    if fails:
        md += [f"- **{r['case_id']}** failed: {r.get('error')}" for r in fails] + [""]
    acols = ["group", "cases", "failed", "kf", "med %", "p95 %", "max %", "kf lost", "fr lost", "rep err",
             "vel err"]
    md += ["## Aggregates by tag", "", _md_table(acols, [
        [g, a["cases"], a["failed"], a["keyframes_scored"], a["median_pct"], a["p95_pct"], a["max_pct"],
         a["lost_keyframes"], a["frames_lost"], a["rep_abs_error"], a["velocity_error_m_s"]]
        for g, a in report["aggregates"].items()]), ""]
    comp = report["comparison"]
    md += ["## Against the previous sweep", ""]
    if not comp.get("baseline"):
        md += ["No previous passing sweep on this dataset: this one is the first baseline.", ""]
    else:
        md += [f"Baseline: sweep `{comp['baseline']}` ({comp.get('baseline_finished_at')}).", ""]
        md += ["Worse:"] + ([f"- {w}" for w in comp["worse"]] or ["- nothing"]) + [""]
        md += ["Better:"] + ([f"- {b}" for b in comp["better"]] or ["- nothing"]) + [""]
        if comp["new_cases"] or comp["missing_cases"]:
            md += [f"New cases: {', '.join(comp['new_cases']) or '-'}; missing: "
                   f"{', '.join(comp['missing_cases']) or '-'}", ""]
    if plots:
        md += ["## Plots", ""]
        for name, path in plots.items():
            if embed:
                data = base64.b64encode(Path(path).read_bytes()).decode()
                md += [f"![{name}](data:image/png;base64,{data})", ""]
            else:
                md += [f"![{name}]({Path(path).name})", ""]
            md += [f"`{path}`", ""]
    return "\n".join(md)


def make_plots(report: dict, out_dir: Path, previous: Optional[dict] = None) -> dict:
    """PNG plots: per-case median/p95 centre error (with the baseline), error over keyframes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {}
    rows = report["rows"]
    ids = [r["case_id"] for r in rows]
    prev = {r["case_id"]: r for r in (previous or {}).get("rows", [])}
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(ids) + 2), 3.2), dpi=80)
    xs = list(range(len(ids)))
    w = 0.38 if prev else 0.6
    med = [r.get("median_pct") or 0 for r in rows]
    p95 = [r.get("p95_pct") or 0 for r in rows]
    ax.bar([x - (w / 2 if prev else 0) for x in xs], med, w, label=f"median ({report['sweep_id']})")
    ax.scatter([x - (w / 2 if prev else 0) for x in xs], p95, marker="_", s=200, c="k", label="p95")
    if prev:
        ax.bar([x + w / 2 for x in xs], [(prev.get(c) or {}).get("median_pct") or 0 for c in ids], w,
               label=f"median (baseline {previous.get('sweep_id')})", alpha=0.6)
    ax.set_xticks(xs)
    ax.set_xticklabels(ids, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("centre error, % of radius")
    ax.set_title("Centre error per case", fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    p = out_dir / "centre_error_per_case.png"
    fig.savefig(p)
    plt.close(fig)
    plots["centre error per case"] = str(p)

    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=80)
    for r in rows:
        pts = [(f, e) for f, e in (r.get("per_keyframe_pct") or []) if e is not None]
        if pts:
            ax.plot([f for f, _ in pts], [e for _, e in pts], ".-", ms=3, lw=0.8, label=r["case_id"])
    ax.set_xlabel("frame")
    ax.set_ylabel("centre error, % of radius")
    ax.set_yscale("symlog", linthresh=5)
    ax.set_title("Centre error over keyframes", fontsize=9)
    if rows:
        ax.legend(fontsize=6)
    fig.tight_layout()
    p = out_dir / "centre_error_over_frames.png"
    fig.savefig(p)
    plt.close(fig)
    plots["centre error over keyframes"] = str(p)
    return plots


def write_report(report: dict, out_dir: Union[str, Path], previous: Optional[dict] = None,
                 plots: bool = True) -> dict:
    """Write report.json, report.csv, report.md (and PNG plots); returns {name: path}."""
    from liftflow.jobstore import atomic_write_json, atomic_write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    plot_paths = make_plots(report, out_dir, previous) if plots else {}
    report["plots"] = plot_paths
    atomic_write_json(out_dir / "report.json", _clean(report))
    paths["report.json"] = str(out_dir / "report.json")
    with open(out_dir / "report.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(TABLE_COLS) + ["tags"])
        w.writeheader()
        for r in report["rows"]:
            row = {k: r.get(k) for k in TABLE_COLS}
            row["tags"] = json.dumps(r.get("tags") or {}, sort_keys=True)
            w.writerow(row)
    paths["report.csv"] = str(out_dir / "report.csv")
    atomic_write_text(out_dir / "report.md", to_markdown(report, plot_paths))
    paths["report.md"] = str(out_dir / "report.md")
    paths.update(plot_paths)
    return paths
