"""Sweep reports: per-case table, absolute limits, aggregates by tag, comparison with a baseline, plots.

A report is a plain dict (written as report.json) with ``rows`` (one per case, see
scoring.py, plus its ``verdict`` and ``limits_exceeded``), ``aggregates`` (by tag),
``limits`` (each absolute limit: the worst case's value, the cases over it, a verdict),
``failures`` (readable reasons an absolute limit is exceeded), ``comparison`` (against the
previous passing sweep on the same dataset, with one ``checks`` entry per threshold) and
``regressions`` (readable reasons a threshold against that baseline is exceeded).
``status`` is ``failed`` when an absolute limit is exceeded (the first sweep on a dataset
too: it has no baseline), else ``regression`` when a threshold against the baseline is,
else ``ok``. ``write_report`` writes report.json, report.csv, report.md and PNG plots.
"""

from __future__ import annotations

import base64
import csv
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Union

from liftflow.bench.scoring import aggregate
from liftflow.bench.tracking import MEDIAN_PCT_MAX, P95_PCT_MAX

REPORT_SCHEMA = "liftflow.bench.report/1"
# One row per case: (key, type, description); report.csv and the Dagster table have these columns.
CASE_COLUMNS = (
    ("case_id", "string", "case id of the manifest"),
    ("lift_type", "string", "lift of the case"),
    ("status", "string", "ok: analysed and scored; failed: the analysis or its scoring failed (see error)"),
    ("verdict", "string", "FAILED when the case failed or exceeds an absolute limit, else ok"),
    ("limits_exceeded", "string", "the absolute limits the case exceeds"),
    ("median_px", "float", "median centre error over the keyframes, px"),
    ("p95_px", "float", "p95 centre error, px"),
    ("max_px", "float", "largest centre error, px"),
    ("median_pct", "float", "median centre error, % of the plate radius"),
    ("p95_pct", "float", "p95 centre error, % of the plate radius"),
    ("max_pct", "float", "largest centre error, % of the plate radius"),
    ("keyframes", "int", "ground-truth keyframes"),
    ("scored", "int", "keyframes scored (plate in view and tracked)"),
    ("lost_keyframes", "int", "keyframes with the plate in view but no tracked position"),
    ("off_keyframes", "int", "keyframes with a centre error above one radius"),
    ("frames_lost", "int", "frames of the video without a tracked position"),
    ("rep_count", "int", "reps found"),
    ("expected_reps", "string", "reps expected: n, or a range lo-hi"),
    ("rep_error", "int", "reps found minus expected (0 inside an expected range)"),
    ("velocity_error_m_s", "float", "velocity error against the reference (per-frame RMSE or mean "
                                    "concentric velocity error), m/s"),
    ("duration_s", "float", "analysis time, s"),
    ("cpu_s", "float", "analysis CPU time, s"),
    ("peak_rss_mb", "float", "analysis peak memory, MB"),
    ("job_id", "string", "the analysis job (data/api/results/<job_id>/)"),
    ("error", "string", "why the case failed"),
)
TABLE_COLS = tuple(k for k, _, _ in CASE_COLUMNS)
LIMIT_COLUMNS = (
    ("limit", "string", "op config name"),
    ("check", "string", "what is limited"),
    ("unit", "string", ""),
    ("allowed", "float", "the limit (empty: off)"),
    ("worst", "float", "the largest value of this sweep"),
    ("worst_case", "string", "the case with the largest value"),
    ("cases_over", "string", "the cases over the limit"),
    ("verdict", "string", "ok, FAILED, off (no limit) or n/a (nothing to check)"),
)
THRESHOLD_COLUMNS = (
    ("threshold", "string", "op config name"),
    ("check", "string", "what is compared, on the cases both sweeps have"),
    ("before", "float", "the baseline sweep's value"),
    ("after", "float", "this sweep's value"),
    ("change", "float", "after minus before"),
    ("allowed", "float", "the largest allowed increase (empty: off)"),
    ("verdict", "string", "ok, FAILED, off (no threshold) or n/a (nothing to compare)"),
)
# Metrics compared case by case: (key, lower is better, tolerance below which it is "same").
COMPARED = (("median_pct", 0.25), ("p95_pct", 0.5), ("lost_keyframes", 0), ("frames_lost", 0),
            ("rep_abs_error", 0), ("velocity_error_m_s", 0.005))
PLOT_DPI = 100
MAX_PLOT_CASES = 40  # the per-case plots show at most this many (the worst), so a big sweep stays legible
EMBED_MAX_BYTES = 300_000  # a larger PNG is linked, not embedded in the Dagster markdown


@dataclass
class Thresholds:
    """What a sweep may not exceed; None switches a check off.

    Absolute limits (``max_case_*`` on every case, ``max_failed_cases``) hold on every sweep,
    the first one on a dataset included. The ``*_increase`` thresholds are the largest allowed
    worsening against the baseline sweep. The centre-error limits default to the tracking
    acceptance (bench/tracking.py) and are in % of the plate radius: px are not comparable
    across clips (plate radii 24-191 px in the project's datasets), so the px limits are off
    unless given. Defaults and the figures behind them: README, 'Benchmark datasets and sweeps'.
    """

    # absolute, each case
    max_case_rep_error: Optional[int] = 0  # |reps found - expected|: any miscount fails
    max_case_median_pct: Optional[float] = MEDIAN_PCT_MAX  # % of the plate radius
    max_case_p95_pct: Optional[float] = P95_PCT_MAX
    max_case_median_px: Optional[float] = None
    max_case_p95_px: Optional[float] = None
    max_case_lost_keyframes_pct: Optional[float] = 0.0  # % of the keyframes with the plate in view
    max_case_velocity_error_m_s: Optional[float] = 0.05
    # absolute, the sweep
    max_failed_cases: Optional[int] = 0
    # against the baseline
    max_median_pct_increase: Optional[float] = 1.0  # pooled median centre error, % radius points
    max_p95_pct_increase: Optional[float] = 5.0  # pooled p95, points
    max_case_median_pct_increase: Optional[float] = 5.0  # any one case's median, points
    max_lost_keyframes_increase: Optional[int] = 0  # total over the dataset
    max_rep_error_increase: Optional[int] = 0  # total |rep error|
    max_failed_cases_increase: Optional[int] = 0
    max_velocity_error_increase: Optional[float] = 0.05  # mean velocity error, m/s

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "Thresholds":
        """From op-config-like values: a missing or None value keeps the default, a negative
        one switches the check off; an unknown name or a non-number is a ValueError."""
        fields = cls.__dataclass_fields__
        unknown = sorted(set(d or {}) - set(fields))
        if unknown:
            raise ValueError(f"unknown threshold(s) {', '.join(unknown)}; known: {', '.join(fields)}")
        t = cls()
        for k, v in (d or {}).items():
            if v is None:
                continue
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"threshold {k} must be a number (got {v!r})") from None
            setattr(t, k, None if v < 0 else int(v) if "int" in str(fields[k].type) else v)
        return t

    def to_dict(self) -> dict:
        return asdict(self)


def _fmt(v, nd=2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


class _Limit(NamedTuple):
    name: str  # the Thresholds field
    label: str
    unit: str  # appended to the numbers in the reasons
    value: Callable[[dict], Optional[float]]  # the case's value, None when it has none
    detail: Callable[[dict], str] = lambda r: ""
    nd: int = 2  # decimals shown


def _lost_pct(r: dict) -> Optional[float]:
    lost = r.get("lost_keyframes")
    in_view = (r.get("scored") or 0) + (lost or 0)
    return round(100.0 * lost / in_view, 2) if lost is not None and in_view else None


# The absolute limits on each case (failed cases are counted by max_failed_cases instead).
CASE_LIMITS = (
    _Limit("max_case_rep_error", "rep-count error", "", lambda r: r.get("rep_abs_error"),
           lambda r: f" ({r.get('rep_count')} reps found, {r.get('expected_reps')} expected)"),
    _Limit("max_case_median_pct", "median centre error", "% of the radius", lambda r: r.get("median_pct")),
    _Limit("max_case_p95_pct", "p95 centre error", "% of the radius", lambda r: r.get("p95_pct")),
    _Limit("max_case_median_px", "median centre error", " px", lambda r: r.get("median_px")),
    _Limit("max_case_p95_px", "p95 centre error", " px", lambda r: r.get("p95_px")),
    _Limit("max_case_lost_keyframes_pct", "lost keyframes", "%", _lost_pct,
           lambda r: f" ({r['lost_keyframes']} of the {(r.get('scored') or 0) + r['lost_keyframes']} "
                     f"keyframes with the plate in view)"),
    _Limit("max_case_velocity_error_m_s", "velocity error", " m/s", lambda r: r.get("velocity_error_m_s"), nd=3),
)


def _verdict(limit, value, over: bool) -> str:
    return "off" if limit is None else "n/a" if value is None else "FAILED" if over else "ok"


def check_limits(rows: list[dict], t: Thresholds) -> tuple[list[dict], list[str], dict[str, list[str]]]:
    """The absolute limits on one sweep, baseline or not: (one check per limit, readable
    reasons naming the cases, {case_id: the limits it exceeds})."""
    checks: list[dict] = []
    reasons: list[str] = []
    by_case: dict[str, list[str]] = {}
    scored = [r for r in rows if r.get("status") != "failed"]
    for lim in CASE_LIMITS:
        allowed = getattr(t, lim.name)
        vals = [(r, v) for r in scored if (v := lim.value(r)) is not None]
        worst = max(vals, key=lambda x: x[1], default=(None, None))
        over = [(r, v) for r, v in vals if allowed is not None and v > allowed + 1e-9]
        for r, v in over:
            reasons.append(f"case {r['case_id']}: {lim.label} {_fmt(v, lim.nd)}{lim.unit}{lim.detail(r)}, "
                           f"allowed {_fmt(allowed, lim.nd)}{lim.unit}")
            by_case.setdefault(r["case_id"], []).append(
                f"{lim.label} {_fmt(v, lim.nd)}{lim.unit} > {_fmt(allowed, lim.nd)}")
        checks.append({"limit": lim.name, "check": f"{lim.label}, each case", "unit": lim.unit.strip(),
                       "allowed": allowed, "worst": worst[1],
                       "worst_case": worst[0]["case_id"] if worst[1] else None,
                       "cases_over": [r["case_id"] for r, _ in over],
                       "verdict": _verdict(allowed, worst[1], bool(over))})
    failed = [r for r in rows if r.get("status") == "failed"]
    allowed = t.max_failed_cases
    over = allowed is not None and len(failed) > allowed
    if over:
        named = "; ".join(f"{r['case_id']} ({r.get('error')})" for r in failed[:10])
        reasons.append(f"{len(failed)} case(s) failed, allowed {allowed}: {named}"
                       + (f"; and {len(failed) - 10} more" if len(failed) > 10 else ""))
    checks.append({"limit": "max_failed_cases", "check": "failed cases", "unit": "cases", "allowed": allowed,
                   "worst": len(failed), "worst_case": None,
                   "cases_over": [r["case_id"] for r in failed] if over else [],
                   "verdict": _verdict(allowed, len(failed), over)})
    return checks, reasons, by_case


def compare_reports(current: dict, previous: Optional[dict], thresholds: Thresholds) -> tuple[dict, list[str]]:
    """(comparison, regressions): per-case better/worse, one check per threshold and the
    reasons a threshold is exceeded."""
    if not previous:
        return {"baseline": None, "cases": {}, "better": [], "worse": [], "new_cases": [],
                "missing_cases": [], "checks": []}, []
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
    checks: list[dict] = []
    base = previous.get("sweep_id")

    def check(name, label, before, after, unit="", record=True) -> bool:
        limit = getattr(thresholds, name)
        known = before is not None and after is not None
        over = known and limit is not None and after - before > limit + 1e-9
        if over:
            reasons.append(f"{label} rose from {_fmt(before)} to {_fmt(after)}{unit} "
                           f"(+{_fmt(after - before)}, allowed +{_fmt(limit)}) against sweep {base}")
        if record:
            checks.append({"threshold": name, "check": label, "before": before, "after": after,
                           "change": round(after - before, 4) if known else None, "allowed": limit,
                           "verdict": _verdict(limit, after if known else None, over)})
        return over

    if ga and gb:
        check("max_median_pct_increase", "median centre error (all cases)", ga["median_pct"], gb["median_pct"],
              "% of the radius")
        check("max_p95_pct_increase", "p95 centre error (all cases)", ga["p95_pct"], gb["p95_pct"],
              "% of the radius")
        check("max_lost_keyframes_increase", "lost keyframes (all cases)", ga["lost_keyframes"],
              gb["lost_keyframes"])
        check("max_rep_error_increase", "total rep-count error", ga["rep_abs_error"], gb["rep_abs_error"])
        check("max_failed_cases_increase", "failed cases", ga["failed"], gb["failed"])
        check("max_velocity_error_increase", "mean velocity error", ga["velocity_error_m_s"],
              gb["velocity_error_m_s"], " m/s")
    pairs = [(c, prev[c].get("median_pct"), cur[c].get("median_pct")) for c in common]
    pairs = [p for p in pairs if p[1] is not None and p[2] is not None]
    over = [check("max_case_median_pct_increase", f"case {c}: median centre error", b, a, "% of the radius",
                  record=False) for c, b, a in pairs]
    if pairs:  # one row in the table: the case whose median rose most
        c, b, a = max(pairs, key=lambda p: p[2] - p[1])
        limit = thresholds.max_case_median_pct_increase
        checks.append({"threshold": "max_case_median_pct_increase",
                       "check": f"median centre error, largest rise of one case ({c})", "before": b, "after": a,
                       "change": round(a - b, 4), "allowed": limit, "verdict": _verdict(limit, a, any(over))})
    comparison["checks"] = checks
    return comparison, reasons


def find_previous_report(sweeps_dir: Union[str, Path], dataset_root: str, before: str,
                         exclude: Optional[str] = None, passing_only: bool = True) -> Optional[dict]:
    """Newest report.json under sweeps_dir on the same dataset root finished before ``before``
    (ISO time), skipping ``exclude`` and (by default) sweeps that did not pass: a regression
    or an absolute limit exceeded."""
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
        if passing_only and (rep.get("regressions") or rep.get("failures")):
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
    rows = [dict(r) for r in rows]
    limits, failures, exceeded = check_limits(rows, thresholds)
    for r in rows:
        over = exceeded.get(r["case_id"]) or []
        r["verdict"] = "FAILED" if over or r.get("status") == "failed" else "ok"
        r["limits_exceeded"] = "; ".join(over) or None
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
        "limits": limits,
        "failures": failures,
    }
    comparison, reasons = compare_reports(report, previous, thresholds)
    report["comparison"] = comparison
    report["regressions"] = reasons
    report["status"] = "failed" if failures else "regression" if reasons else "ok"
    return report


def failure_reason(report: dict, most: int = 10) -> Optional[str]:
    """Why a sweep did not pass, in one paragraph (None when it did): the absolute limits
    exceeded, then the regressions against the baseline; at most ``most`` reasons of each,
    the rest counted (report.md lists them all)."""
    def some(reasons: list[str]) -> str:
        more = len(reasons) - most
        return "; ".join(reasons[:most]) + (f"; and {more} more (report.md)" if more > 0 else "")

    parts = []
    if report.get("failures"):
        parts.append(f"benchmark sweep {report['sweep_id']} exceeds its absolute limits: {some(report['failures'])}")
    if report.get("regressions"):
        parts.append(f"benchmark regression in sweep {report['sweep_id']} against "
                     f"{report['comparison'].get('baseline')}: {some(report['regressions'])}")
    return ". ".join(parts) or None


def _clean(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def _typed(v, kind: str):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) or None
    return int(v) if kind == "int" else float(v) if kind == "float" else str(v)


def typed_table(report: dict, name: str) -> tuple[tuple, list[dict]]:
    """(columns, records) of one of the report's tables, ``cases``, ``limits`` or ``thresholds``
    (the comparison's checks): each value of a column's type (int, float, string) or None."""
    columns, items = {"cases": (CASE_COLUMNS, report["rows"]),
                      "limits": (LIMIT_COLUMNS, report.get("limits") or []),
                      "thresholds": (THRESHOLD_COLUMNS, report["comparison"].get("checks") or [])}[name]
    return columns, [{k: _typed(it.get(k), kind) for k, kind, _ in columns} for it in items]


def write_csv(report: dict, path: Union[str, Path]) -> None:
    """report.csv: one row per case, CASE_COLUMNS and the tags (JSON)."""
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(TABLE_COLS) + ["tags"])
        w.writeheader()
        for r in report["rows"]:
            w.writerow({**{k: r.get(k) for k in TABLE_COLS}, "tags": json.dumps(r.get("tags") or {}, sort_keys=True)})


def format_table(report: dict) -> str:
    head = (f"{'case':24s} {'verdict':7s} {'kf':>4s} {'med px':>7s} {'p95 px':>7s} {'max px':>7s} {'med %':>6s} "
            f"{'p95 %':>6s} {'max %':>7s} {'kf lost':>7s} {'fr lost':>7s} {'reps':>5s} {'exp':>5s} {'vel err':>7s}")
    lines = [head]
    for r in report["rows"]:
        if r.get("status") == "failed":
            lines.append(f"{r['case_id']:24s} FAILED  {r.get('error')}")
            continue
        lines.append(
            f"{r['case_id']:24s} {r.get('verdict', 'ok'):7s} {r.get('keyframes') or 0:4d} "
            f"{_fmt(r.get('median_px')):>7s} "
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


def _allowed(v, unit: str = "") -> str:
    return "off" if v is None else f"{_fmt(v, 3 if unit == 'm/s' else 2)} {unit}".strip()


def to_markdown(report: dict, plots: Optional[dict] = None, embed: bool = False) -> str:
    """report.md; ``embed``: the plots as data URIs (the Dagster UI shows no linked image),
    each up to EMBED_MAX_BYTES."""
    md = [f"# Benchmark sweep {report['sweep_id']}: {report['status'].upper()}", "",
          f"Dataset `{report['dataset_root']}` ({report.get('dataset_format')}), settings "
          f"`{json.dumps(report.get('settings') or {})}`, finished {report['finished_at']}.", ""]
    if report.get("failures"):
        md += ["## Absolute limits exceeded", ""] + [f"- {r}" for r in report["failures"]] + [""]
    if report["regressions"]:
        md += ["## Regressions", ""] + [f"- {r}" for r in report["regressions"]] + [""]
    if report.get("limits"):
        md += ["## Absolute limits (every sweep)", "",
               _md_table(["limit", "check", "allowed", "worst", "worst case", "cases over", "verdict"],
                         [[c["limit"], c["check"], _allowed(c["allowed"], c["unit"]),
                           _fmt(c["worst"], 3 if c["unit"] == "m/s" else 2), c["worst_case"],
                           ", ".join(c["cases_over"]) or "-", c["verdict"]] for c in report["limits"]]), ""]
    cols = ["case", "lift", "verdict", "med px", "p95 px", "max px", "med %", "p95 %", "max %", "kf lost",
            "fr lost", "reps", "expected", "vel err m/s", "limits exceeded"]
    md += ["## Cases", "", _md_table(cols, [[r["case_id"], r.get("lift_type"), r.get("verdict"), r.get("median_px"),
                                             r.get("p95_px"), r.get("max_px"), r.get("median_pct"), r.get("p95_pct"),
                                             r.get("max_pct"), r.get("lost_keyframes"), r.get("frames_lost"),
                                             r.get("rep_count"), r.get("expected_reps"),
                                             _fmt(r.get("velocity_error_m_s"), 3), r.get("limits_exceeded")]
                                            for r in report["rows"]]), ""]
    fails = [r for r in report["rows"] if r.get("status") == "failed"]
    if fails:
        md += [f"- **{r['case_id']}** failed: {r.get('error')}" for r in fails] + [""]
    acols = ["group", "cases", "failed", "kf", "med %", "p95 %", "max %", "kf lost", "fr lost", "rep err",
             "vel err"]
    md += ["## Aggregates by tag", "", _md_table(acols, [
        [g, a["cases"], a["failed"], a["keyframes_scored"], a["median_pct"], a["p95_pct"], a["max_pct"],
         a["lost_keyframes"], a["frames_lost"], a["rep_abs_error"], _fmt(a["velocity_error_m_s"], 3)]
        for g, a in report["aggregates"].items()]), ""]
    comp = report["comparison"]
    md += ["## Against the previous sweep", ""]
    if not comp.get("baseline"):
        md += ["No previous passing sweep on this dataset: nothing to compare with (the absolute limits "
               "above still apply).", ""]
    else:
        md += [f"Baseline: sweep `{comp['baseline']}` ({comp.get('baseline_finished_at')}).", ""]
        if comp.get("checks"):
            md += [_md_table(["threshold", "check", "before", "after", "change", "allowed rise", "verdict"],
                             [[c["threshold"], c["check"], c["before"], c["after"], c["change"],
                               _allowed(c["allowed"]), c["verdict"]] for c in comp["checks"]]), ""]
        md += ["Worse:"] + ([f"- {w}" for w in comp["worse"]] or ["- nothing"]) + [""]
        md += ["Better:"] + ([f"- {b}" for b in comp["better"]] or ["- nothing"]) + [""]
        if comp["new_cases"] or comp["missing_cases"]:
            md += [f"New cases: {', '.join(comp['new_cases']) or '-'}; missing: "
                   f"{', '.join(comp['missing_cases']) or '-'}", ""]
    if plots:
        md += ["## Plots", ""]
        for name, path in plots.items():
            size = Path(path).stat().st_size
            if embed and size <= EMBED_MAX_BYTES:
                data = base64.b64encode(Path(path).read_bytes()).decode()
                md += [f"![{name}](data:image/png;base64,{data})", ""]
            elif embed:
                md += [f"{name}: {size // 1000} KB, too large to embed here", ""]
            else:
                md += [f"![{name}]({Path(path).name})", ""]
            md += [f"`{path}`", ""]
    return "\n".join(md)


def _worst(rows: list[dict], key: Callable[[dict], float], n: int = MAX_PLOT_CASES) -> tuple[list[dict], str]:
    """All rows when there are at most n, else the n with the largest key, in report order, and
    a note for the title."""
    if len(rows) <= n:
        return rows, ""
    keep = {id(r) for r in sorted(rows, key=key, reverse=True)[:n]}
    return [r for r in rows if id(r) in keep], f" (the {n} worst of {len(rows)})"


def _legend_outside(ax) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def _plot_centre_per_case(plt, report: dict, previous: Optional[dict]):
    rows = [r for r in report["rows"] if r.get("median_pct") is not None or r.get("status") == "failed"]
    if not any(r.get("median_pct") is not None for r in rows):
        return None
    rows, note = _worst(rows, lambda r: math.inf if r.get("status") == "failed" else r.get("p95_pct") or 0)
    prev = {r["case_id"]: r for r in (previous or {}).get("rows", [])}
    t = report.get("thresholds") or {}
    ys = list(range(len(rows)))
    h = 0.4 if prev else 0.6
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.42 * len(rows)), layout="constrained")
    y_cur = [y - h / 2 if prev else y for y in ys]
    ax.barh(y_cur, [r.get("median_pct") or 0 for r in rows], h, color="C0", label="median, this sweep")
    p95 = [math.nan if r.get("status") == "failed" or r.get("p95_pct") is None else r["p95_pct"] for r in rows]
    ax.scatter(p95, y_cur, marker="D", s=30, color="k", zorder=3, label="p95, this sweep")
    if prev:
        ax.barh([y + h / 2 for y in ys], [(prev.get(r["case_id"]) or {}).get("median_pct") or 0 for r in rows], h,
                color="C7", alpha=0.6, label=f"median, baseline {previous.get('sweep_id')}")
    for y, r in zip(y_cur, rows):
        if r.get("status") == "failed":
            ax.text(0, y, "  analysis failed", va="center", color="C3", fontweight="bold")
    for key, style, what in (("max_case_median_pct", dict(color="C1", ls="--"), "median"),
                             ("max_case_p95_pct", dict(color="C3", ls=":"), "p95")):
        if t.get(key) is not None:
            ax.axvline(t[key], lw=1.5, label=f"{what} limit {t[key]:g} %", **style)
    ax.set_yticks(ys, [r["case_id"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("centre error, % of the plate radius")
    ax.set_title(f"Centre error per case{note}")
    ax.grid(axis="x", alpha=0.3)
    _legend_outside(ax)
    return fig


def _expected_range(r: dict) -> Optional[tuple[int, int]]:
    e = r.get("expected_reps")
    if not e:
        return None
    lo, _, hi = str(e).partition("-")
    return int(lo), int(hi or lo)


def _plot_reps(plt, report: dict, previous: Optional[dict]):
    from matplotlib.ticker import MaxNLocator

    rows = [r for r in report["rows"] if _expected_range(r) or r.get("rep_count") is not None]
    if not rows:
        return None
    rows, note = _worst(rows, lambda r: math.inf if r.get("rep_count") is None else r.get("rep_abs_error") or 0)
    ys = list(range(len(rows)))
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.42 * len(rows)), layout="constrained")
    for i, (y, r) in enumerate(zip(ys, rows)):
        e = _expected_range(r)
        if e:
            ax.barh(y, e[1] - e[0] + 0.6, 0.6, left=e[0] - 0.3, color="C7", alpha=0.4,
                    label="expected (range)" if i == 0 else None)
    ok = [(y, r["rep_count"]) for y, r in zip(ys, rows)
          if r.get("rep_count") is not None and not r.get("rep_abs_error")]
    bad = [(y, r["rep_count"]) for y, r in zip(ys, rows) if r.get("rep_abs_error")]
    if ok:
        ax.scatter([c for _, c in ok], [y for y, _ in ok], s=60, color="C2", zorder=3, label="found, as expected")
    if bad:
        ax.scatter([c for _, c in bad], [y for y, _ in bad], s=80, marker="X", color="C3", zorder=3,
                   label="found, miscounted")
    for y, r in zip(ys, rows):
        if r.get("rep_count") is None:
            ax.text(0, y, "  no count (analysis failed)", va="center", color="C3")
    ax.set_yticks(ys, [r["case_id"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(left=-0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("reps")
    ax.set_title(f"Rep count per case: found against expected{note}")
    ax.grid(axis="x", alpha=0.3)
    _legend_outside(ax)
    return fig


def _plot_over_frames(plt, report: dict, previous: Optional[dict], most: int = 6):
    from matplotlib.ticker import FuncFormatter

    rows = [r for r in report["rows"] if any(e is not None for _, e in r.get("per_keyframe_pct") or [])]
    if not rows:
        return None
    shown = sorted(rows, key=lambda r: r.get("max_pct") or 0, reverse=True)[:most]
    floor = 0.01  # a log axis: an exact 0 is drawn at the floor
    fig, ax = plt.subplots(figsize=(10, 4.6), layout="constrained")
    for i, r in enumerate(shown):
        pts = [(f, max(e, floor)) for f, e in r["per_keyframe_pct"] if e is not None]
        ax.plot([f for f, _ in pts], [e for _, e in pts], ".-", ms=6, lw=1.2, color=f"C{i}", label=r["case_id"])
        lost = [f for f, e in r["per_keyframe_pct"] if e is None]
        if lost:
            ax.plot(lost, [floor] * len(lost), "x", ms=8, color=f"C{i}", label=f"{r['case_id']}: lost")
    p95 = (report.get("thresholds") or {}).get("max_case_p95_pct")
    if p95 is not None:
        ax.axhline(p95, color="C3", ls=":", lw=1.5, label=f"p95 limit {p95:g} %")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("frame of the clip")
    ax.set_ylabel("centre error, % of the plate radius")
    more = f" (the {len(shown)} cases with the largest error of {len(rows)})" if len(rows) > len(shown) else ""
    ax.set_title(f"Centre error at each keyframe{more}")
    ax.grid(alpha=0.3, which="both")
    _legend_outside(ax)
    return fig


PLOTS = (("centre error per case", "centre_error_per_case.png", _plot_centre_per_case),
         ("rep count per case", "rep_count_per_case.png", _plot_reps),
         ("centre error over keyframes", "centre_error_over_frames.png", _plot_over_frames))


def make_plots(report: dict, out_dir: Path, previous: Optional[dict] = None) -> dict:
    """The PNG plots with something to show ({name: path}): centre error per case (median,
    p95, the baseline's median, the absolute limits), rep count per case (found against
    expected), centre error at each keyframe of the worst cases. Sized to read at 100 % in
    the Dagster UI (10 in wide at PLOT_DPI, 10-12 pt text)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {}
    style = {"font.size": 11, "axes.titlesize": 13, "axes.labelsize": 11, "legend.fontsize": 10,
             "xtick.labelsize": 10, "ytick.labelsize": 10, "savefig.dpi": PLOT_DPI}
    with plt.rc_context(style):
        for name, fname, draw in PLOTS:
            fig = draw(plt, report, previous)
            if fig is None:
                continue
            p = out_dir / fname
            fig.savefig(p)
            plt.close(fig)
            plots[name] = str(p)
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
    write_csv(report, out_dir / "report.csv")
    paths["report.csv"] = str(out_dir / "report.csv")
    atomic_write_text(out_dir / "report.md", to_markdown(report, plot_paths))
    paths["report.md"] = str(out_dir / "report.md")
    paths.update(plot_paths)
    return paths
