"""Scoring one analysis result (result.json) against ground truth, and aggregating by tag.

Definitions (the same as ``liftflow bench tracking``):

- centre error of a keyframe: distance between the tracked plate centre of that frame
  (``tracks[0].frames[<frame>].center``) and the ground-truth centre, in px and in % of
  the ground-truth radius (sqrt(r * r_minor) for an ellipse); median and p95 are numpy's
  linear-interpolated percentiles over the scored keyframes;
- lost keyframe: the plate is ``visible``/``partial`` but the result has no position there;
  false position: a position on an ``absent`` keyframe; off keyframe: error > 1 radius;
- frames_lost: frames of the video without a tracked position (result ``tracking.lost_frames``);
- rep error: ``summary.rep_count`` minus the expected count (0 when inside an expected
  range ``[lo, hi]``, else the distance to the nearer bound, signed);
- velocity error (where a reference exists): per frame, RMSE and median |error| of
  ``metrics.vy_m_s`` and the peak vertical velocity error; per rep, mean |error| of the mean
  concentric velocity (reps matched in order).

Numbers that cannot be computed are ``None`` (JSON null), never NaN.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from liftflow.bench.dataset import DatasetError, load_ground_truth, load_velocity_ref

SCORE_KEYS = ("median_px", "p95_px", "max_px", "median_pct", "p95_pct", "max_pct")


def _q(a: list[float], p: float) -> Optional[float]:
    return round(float(np.percentile(a, p)), 4) if a else None


def _r(v: Optional[float], n: int = 4) -> Optional[float]:
    return None if v is None or not math.isfinite(v) else round(float(v), n)


def positions_from_result(result: dict) -> dict[int, tuple[float, float]]:
    """{frame: (x, y)} of the tracked plate from a ResultsContract (lost frames absent)."""
    tracks = result.get("tracks") or []
    if not tracks:
        return {}
    out = {}
    for k, e in (tracks[0].get("frames") or {}).items():
        c = e.get("center") if isinstance(e, dict) else None
        if c is None and isinstance(e, dict) and e.get("bbox"):
            b = e["bbox"]
            c = ((b["x1"] + b["x2"]) / 2.0, (b["y1"] + b["y2"]) / 2.0)
        if c is not None:
            out[int(k)] = (float(c[0]), float(c[1]))
    return out


def centre_errors(positions: dict[int, tuple[float, float]], keyframes: list[dict]) -> dict:
    """The one centre scorer (result scoring and ``liftflow bench tracking`` share it): per
    keyframe, the error of the tracked centre in px and in % of the GT radius, unrounded, and
    which keyframes are lost, false positions or off (definitions in the module docstring).

    Returns ``errs_px``/``errs_pct`` (scored keyframes, in order), ``per_keyframe``
    ``[(frame, pct or None when lost)]``, ``lost``/``false_positions``/``off`` (frame lists)
    and ``worst`` ``(frame, pct)`` or None."""
    errs_px, errs_pct, per_kf = [], [], []
    lost, false_pos, off = [], [], []
    worst = None
    for k in keyframes:
        f = k["frame"]
        p = positions.get(f)
        if k["visibility"] == "absent" or k["x"] is None:
            if p is not None:
                false_pos.append(f)
            continue
        if p is None:
            lost.append(f)
            per_kf.append((f, None))
            continue
        e = math.hypot(p[0] - k["x"], p[1] - k["y"])
        pct = 100.0 * e / k["r"]
        errs_px.append(e)
        errs_pct.append(pct)
        per_kf.append((f, pct))
        if pct > 100.0:
            off.append(f)
        if worst is None or pct > worst[1]:
            worst = (f, pct)
    return {"errs_px": errs_px, "errs_pct": errs_pct, "per_keyframe": per_kf, "lost": lost,
            "false_positions": false_pos, "off": off, "worst": worst}


def score_centres(positions: dict[int, tuple[float, float]], keyframes: list[dict]) -> dict:
    """:func:`centre_errors` as a result's JSON-safe scores (rounded, counts, None for n/a)."""
    c = centre_errors(positions, keyframes)
    errs_px, errs_pct, worst = c["errs_px"], c["errs_pct"], c["worst"]
    return {
        "keyframes": len(keyframes), "scored": len(errs_px),
        "median_px": _q(errs_px, 50), "p95_px": _q(errs_px, 95),
        "max_px": _r(max(errs_px)) if errs_px else None,
        "median_pct": _q(errs_pct, 50), "p95_pct": _q(errs_pct, 95),
        "max_pct": _r(max(errs_pct)) if errs_pct else None,
        "lost_keyframes": len(c["lost"]), "lost_keyframe_list": c["lost"],
        "false_positions": len(c["false_positions"]), "off_keyframes": len(c["off"]),
        "worst_keyframe": worst[0] if worst else None,
        "per_keyframe_pct": [[f, None if pct is None else round(pct, 4)] for f, pct in c["per_keyframe"]],
        "_errs_pct": errs_pct, "_errs_px": errs_px,
    }


def rep_error(rep_count: Optional[int], expected: Optional[list[int]]) -> Optional[int]:
    if rep_count is None or not expected:
        return None
    lo, hi = (expected[0], expected[0]) if len(expected) == 1 else (expected[0], expected[1])
    if rep_count < lo:
        return int(rep_count - lo)
    if rep_count > hi:
        return int(rep_count - hi)
    return 0


def score_velocity(result: dict, ref: dict) -> dict:
    out: dict[str, Any] = {"velocity_ref": ref["kind"]}
    if ref["kind"] == "frames":
        m = result.get("metrics") or {}
        frames, vy = m.get("frames") or [], m.get("vy_m_s") or []
        by_frame = {int(f): v for f, v in zip(frames, vy) if v is not None}
        errs = [by_frame[f] - r for f, r in zip(ref["frames"], ref["vy"]) if f in by_frame]
        out["velocity_frames_compared"] = len(errs)
        if errs:
            a = np.abs(np.asarray(errs, float))
            out["vy_rmse_m_s"] = _r(float(np.sqrt(np.mean(a ** 2))))
            out["vy_median_abs_err_m_s"] = _r(float(np.median(a)))
        else:
            out["vy_rmse_m_s"] = out["vy_median_abs_err_m_s"] = None
        pvv = (result.get("summary") or {}).get("peak_vertical_velocity_m_s")
        out["peak_vy_err_m_s"] = _r(pvv - max(ref["vy"])) if pvv is not None and ref["vy"] else None
        out["velocity_error_m_s"] = out["vy_rmse_m_s"]
    else:
        reps = result.get("reps") or []
        errs_mean, errs_peak = [], []
        for i, r in enumerate(ref["reps"]):
            if i >= len(reps):
                break
            got = reps[i]
            if r["mean"] is not None and got.get("mean_concentric_velocity_m_s") is not None:
                errs_mean.append(got["mean_concentric_velocity_m_s"] - r["mean"])
            if r["peak"] is not None and got.get("peak_concentric_velocity_m_s") is not None:
                errs_peak.append(got["peak_concentric_velocity_m_s"] - r["peak"])
        out["reps_compared"] = min(len(reps), len(ref["reps"]))
        out["mcv_mean_abs_err_m_s"] = _r(float(np.mean(np.abs(errs_mean)))) if errs_mean else None
        out["pcv_mean_abs_err_m_s"] = _r(float(np.mean(np.abs(errs_peak)))) if errs_peak else None
        out["velocity_error_m_s"] = out["mcv_mean_abs_err_m_s"]
    return out


def _case_dict(case: Any) -> dict:
    if case is None:
        return {}
    if isinstance(case, dict):
        return case
    return case.to_dict()


def compare(job_result: dict, ground_truth: Union[list[dict], str, Path, None], case: Any = None,
            velocity_ref: Union[list[dict], str, Path, None] = None) -> dict:
    """Scores of one result against ground truth (the core of POST /api/v1/bench/compare).

    - ``job_result``: the ResultsContract (result.json) of a completed job.
    - ``ground_truth``: keyframe rows ``[{frame, x, y, r[, r_minor][, visibility]}]`` or a CSV
      path; ``None`` to use ``case["gt_path"]`` (centre errors are skipped when neither exists).
    - ``case``: optional dict (or ``Case``) with ``case_id``, ``tags``, ``lift_type``,
      ``expected_reps`` ([n] or [lo, hi]), ``velocity_ref_path``.
    - ``velocity_ref``: optional reference velocities (rows or CSV path), overriding the case's.

    Raises ``DatasetError`` (a ValueError; its ``problems`` list the reasons) on bad ground
    truth or a result without a track. Returns a flat dict of numbers (JSON-safe).
    """
    c = _case_dict(case)
    if not isinstance(job_result, dict) or "tracks" not in job_result:
        raise DatasetError("the job result is not a ResultsContract (no 'tracks'); is the job completed?")
    gt_src = ground_truth if ground_truth is not None else c.get("gt_path")
    out: dict[str, Any] = {"case_id": c.get("case_id"), "tags": dict(c.get("tags") or {}),
                           "lift_type": c.get("lift_type"), "job_id": job_result.get("video_id")}
    if gt_src is not None:
        keyframes = load_ground_truth(gt_src)
        s = score_centres(positions_from_result(job_result), keyframes)
        out.update({k: v for k, v in s.items() if not k.startswith("_")})
        out["has_gt"] = True
    else:
        out.update({k: None for k in SCORE_KEYS})
        out.update(keyframes=0, scored=0, lost_keyframes=None, false_positions=None, off_keyframes=None,
                   has_gt=False, per_keyframe_pct=[])
    tr = job_result.get("tracking") or {}
    summ = job_result.get("summary") or {}
    frames = summ.get("total_frames") or (job_result.get("metadata") or {}).get("total_frames")
    out["frames"] = frames
    if tr.get("lost_frames") is not None:
        out["frames_lost"] = int(tr["lost_frames"])
    elif frames is not None:
        out["frames_lost"] = int(frames) - len(positions_from_result(job_result))
    else:
        out["frames_lost"] = None
    out["rep_count"] = summ.get("rep_count")
    exp = c.get("expected_reps")
    out["expected_reps"] = "-".join(map(str, exp)) if exp else None
    err = rep_error(out["rep_count"], exp)
    out["rep_error"] = err
    out["rep_abs_error"] = abs(err) if err is not None else None
    vsrc = velocity_ref if velocity_ref is not None else c.get("velocity_ref_path")
    if vsrc is not None:
        out.update(score_velocity(job_result, load_velocity_ref(vsrc)))
    else:
        out["velocity_error_m_s"] = None
    out["peak_vertical_velocity_m_s"] = summ.get("peak_vertical_velocity_m_s")
    return out


def failed_case(case: Any, reason: str, job_id: Optional[str] = None) -> dict:
    c = _case_dict(case)
    out = {"case_id": c.get("case_id"), "tags": dict(c.get("tags") or {}), "lift_type": c.get("lift_type"),
           "job_id": job_id, "status": "failed", "error": reason, "has_gt": bool(c.get("gt_path"))}
    out.update({k: None for k in SCORE_KEYS})
    exp = c.get("expected_reps")
    out.update(keyframes=0, scored=0, lost_keyframes=None, false_positions=None, off_keyframes=None,
               frames=None, frames_lost=None, rep_count=None,
               expected_reps="-".join(map(str, exp)) if exp else None, rep_error=None,
               rep_abs_error=None, velocity_error_m_s=None, per_keyframe_pct=[])
    return out


def score_job_folder(job_dir: Union[str, Path], case: Any) -> dict:
    """Score the job in ``job_dir`` (result.json + job_meta.json) for ``case``; a failed or
    missing result gives a row with status 'failed' and the reason."""
    from liftflow.jobstore import META, RESULT, read_json

    job_dir = Path(job_dir)
    meta = read_json(job_dir / META) or {}
    result = read_json(job_dir / RESULT)
    job_id = meta.get("job_id") or job_dir.name
    if meta.get("status") == "failed" or result is None:
        err = meta.get("error") or {}
        reason = (f"{err.get('step')}: {err.get('reason')}" if err.get("reason")
                  else f"no result.json (job status {meta.get('status') or 'unknown'})")
        row = failed_case(case, reason, job_id)
    else:
        try:
            row = compare(result, None, case)
            row["status"] = "ok"
            row["error"] = None
        except DatasetError as exc:
            row = failed_case(case, f"scoring: {exc}", job_id)
    rt = meta.get("runtime") or {}
    ts = meta.get("timestamps") or {}
    row["job_id"] = job_id
    row["duration_s"] = ts.get("duration_s")
    row["cpu_s"] = rt.get("worker_cpu_s", rt.get("cpu_s"))
    row["peak_rss_mb"] = rt.get("worker_peak_rss_mb", rt.get("peak_rss_mb"))
    return row


def aggregate(rows: list[dict]) -> dict:
    """{"all": {...}, "lift=squat": {...}, ...}: pooled keyframe errors and sums per group."""
    groups: dict[str, list[dict]] = {"all": list(rows)}
    for r in rows:
        for k, v in sorted((r.get("tags") or {}).items()):
            groups.setdefault(f"{k}={v}", []).append(r)
    out = {}
    for name, rs in groups.items():
        pct = [e for r in rs for _, e in (r.get("per_keyframe_pct") or []) if e is not None]
        scored = [r for r in rs if r.get("status") != "failed" and r.get("has_gt")]
        px_med = [r["median_px"] for r in scored if r.get("median_px") is not None]
        vel = [r["velocity_error_m_s"] for r in rs if r.get("velocity_error_m_s") is not None]
        reps = [r["rep_abs_error"] for r in rs if r.get("rep_abs_error") is not None]
        out[name] = {
            "cases": len(rs),
            "failed": sum(1 for r in rs if r.get("status") == "failed"),
            "keyframes_scored": len(pct),
            "median_pct": _q(pct, 50), "p95_pct": _q(pct, 95),
            "max_pct": _r(max(pct)) if pct else None,
            "median_of_case_median_px": _q(px_med, 50),
            "lost_keyframes": sum(int(r.get("lost_keyframes") or 0) for r in rs),
            "off_keyframes": sum(int(r.get("off_keyframes") or 0) for r in rs),
            "frames_lost": sum(int(r.get("frames_lost") or 0) for r in rs),
            "rep_abs_error": sum(reps) if reps else None,
            "rep_cases": len(reps),
            "velocity_error_m_s": _r(float(np.mean(vel))) if vel else None,
        }
    return out
