"""Tracking accuracy benchmark: real clips with hand-checked keyframes, synthetic clips.

For each clip the tracker runs from the seed (manifest for real clips, the generator's
ground truth for synthetic ones) and every ground-truth keyframe is scored:

- centre error in px and in % of the plate radius (the GT radius is sqrt(r * r_minor)
  where the GT gives an ellipse);
- a keyframe is *lost* when the plate is visible (``visible``/``partial``) but the tracker
  reports LOST there; a tracked position on an ``absent`` keyframe is a *false position*;
- a keyframe is *off* when its centre error exceeds one plate radius.

The scorer is :func:`liftflow.bench.scoring.centre_errors`, the one a result's scores use.

Acceptance (the issue): median <= 3 %, p95 <= 10 %, no keyframe lost or off, on every
clip. ``tracking_fps`` includes decoding.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

from liftflow.bench.dataset import load_ground_truth, load_real_manifest
from liftflow.bench.scoring import centre_errors
from liftflow.config import get_settings
try:
    from liftflow.synth import PHONE_30FPS_HARD
except Exception:  # liftflow.synth not importable: synth_specs skips every scenario anyway
    PHONE_30FPS_HARD = {}
from liftflow.tracking.registry import DEFAULT_BACKEND

MEDIAN_PCT_MAX = 3.0
P95_PCT_MAX = 10.0

load_gt = load_ground_truth  # the tracking tests' name for the one keyframe reader


def score_track(obs: list, keyframes: list[dict]) -> dict:
    """Compare observations (DiscObservation list, index = frame) with GT keyframes: the
    figures of :func:`liftflow.bench.scoring.centre_errors`, unrounded, with frame lists."""
    positions = {i: o.center for i, o in enumerate(obs) if o.tracked}
    c = centre_errors(positions, keyframes)
    errs_px, errs_pct, worst = c["errs_px"], c["errs_pct"], c["worst"]
    n_lost_frames = sum(1 for o in obs if not o.tracked)

    def q(a, p):
        return float(np.percentile(a, p)) if a else float("nan")

    return {
        "keyframes": len(keyframes),
        "scored": len(errs_px),
        "median_px": q(errs_px, 50), "p95_px": q(errs_px, 95),
        "max_px": max(errs_px) if errs_px else float("nan"),
        "median_pct": q(errs_pct, 50), "p95_pct": q(errs_pct, 95),
        "max_pct": max(errs_pct) if errs_pct else float("nan"),
        "lost_keyframes": c["lost"], "false_positions": c["false_positions"], "off_keyframes": c["off"],
        "frames_lost": n_lost_frames, "frames": len(obs),
        "worst_keyframe": worst[0] if worst else None,
        "worst_pct": worst[1] if worst else float("nan"),
    }


def passes(row: dict) -> bool:
    return (
        row.get("error") is None
        and row["median_pct"] <= MEDIAN_PCT_MAX
        and row["p95_pct"] <= P95_PCT_MAX
        and not row["lost_keyframes"]
        and not row["off_keyframes"]
        and not row["false_positions"]
    )


def run_clip(video: Path, seed, keyframes: list[dict], backend: str = DEFAULT_BACKEND,
             tracker=None) -> tuple[dict, list]:
    from liftflow.tracking import create_tracker
    from liftflow.video import probe

    t0 = time.perf_counter()
    info = probe(video)
    tracker = tracker or create_tracker(backend)
    obs = tracker.track(str(video), info, seed)
    dt = time.perf_counter() - t0
    row = score_track(obs, keyframes)
    row.update(fps=info.frame_count / max(dt, 1e-9), seconds=dt, video_fps=info.fps,
               size=f"{info.width}x{info.height}")
    return row, obs


def real_cases(real_dir: Path) -> list[dict]:
    from liftflow.tracking import SeedCircle

    cases = []
    for m in load_real_manifest(real_dir):
        seed = SeedCircle(cx=float(m["disc_center_x"]), cy=float(m["disc_center_y"]),
                          r=float(m["disc_radius"]), frame=int(m.get("seed_frame") or 0))
        cases.append({"id": m["id"], "video": Path(real_dir) / m["file"], "seed": seed,
                      "gt": Path(real_dir) / m["gt"]})
    return cases


# The project's synthetic scenarios: each exercises one of the issue's hard cases.
SYNTH_SCENARIOS: dict[str, dict] = {
    "synth-squat": dict(profile="squat", reps=2),
    "synth-clean-blur": dict(profile="clean", shutter=1.0),
    "synth-snatch-exit": dict(profile="snatch", leave_frame=True),
    "synth-deadlift-occlusion": dict(profile="deadlift", reps=2, occlusion=True),
    "synth-squat-vfr-rot90": dict(profile="squat", reps=1, vfr=True, rotation=90),
    "synth-clean-small": dict(profile="clean", width=480, height=360, plate_radius_px=24.0,
                              seed=3),
    # issue #18 item 1: Olympic lifts filmed by a phone indoors at 30 fps (liftflow.synth)
    "synth-snatch-30fps-phone": dict(profile="snatch", seed=1, **PHONE_30FPS_HARD),
    "synth-clean-30fps-phone": dict(profile="clean", seed=2, **PHONE_30FPS_HARD),
    # issue #18 item 3: the plate cut by the right edge of the frame for the whole lift (a
    # third of its rim outside, the far plate peeking out beside the arc in view), seeded
    # there: no whole template of it exists
    "synth-squat-right-edge": dict(profile="squat", reps=2, bar_x_frac=0.958),
    "synth-clean-right-edge": dict(profile="clean", height=720, bar_x_frac=0.95),
}


def synth_specs(names: Optional[list[str]] = None) -> list:
    """[(name, SynthSpec)] for the scenarios; [] when liftflow.synth is not importable."""
    try:
        from liftflow.synth import SynthSpec
    except Exception:
        return []
    return [(n, SynthSpec(**kw)) for n, kw in SYNTH_SCENARIOS.items()
            if names is None or n in names]


def keyframes_from_synth(gt) -> list[dict]:
    """Every frame of a liftflow.synth GroundTruth as a keyframe."""
    rows = []
    for f, x, y, r, vis in zip(gt.frames, gt.x, gt.y, gt.r, gt.visibility):
        if vis == "absent":
            rows.append({"frame": int(f), "visibility": "absent", "x": None, "y": None, "r": None})
        else:
            rows.append({"frame": int(f), "visibility": vis, "x": float(x), "y": float(y),
                         "r": float(r)})
    return rows


def synth_cases(workdir: Path, names: Optional[list[str]] = None) -> list[dict]:
    from liftflow.tracking import SeedCircle

    cases = []
    try:
        from liftflow.synth import generate_clip
    except Exception as exc:
        print(f"synthetic clips skipped: liftflow.synth not importable ({exc})", file=sys.stderr)
        return cases
    for name, spec in synth_specs(names):
        path = Path(workdir) / f"{name}.mp4"
        gt = generate_clip(path, spec)
        kfs = keyframes_from_synth(gt)
        k0 = next(k for k in kfs if k["x"] is not None and k["visibility"] == "visible")
        seed = SeedCircle(cx=k0["x"], cy=k0["y"], r=k0["r"], frame=k0["frame"])
        cases.append({"id": name, "video": path, "seed": seed, "keyframes": kfs})
    return cases


HEADER = (f"{'clip':22s} {'kf':>4s} {'med px':>7s} {'p95 px':>7s} {'max px':>7s} "
          f"{'med %':>6s} {'p95 %':>6s} {'max %':>7s} {'kf lost':>7s} {'fr lost':>7s} "
          f"{'worst':>6s} {'fps':>6s} ok")


def format_row(row: dict) -> str:
    if row.get("error"):
        return f"{row['clip']:22s} ERROR {row['error']}"
    return (f"{row['clip']:22s} {row['keyframes']:4d} {row['median_px']:7.2f} {row['p95_px']:7.2f} "
            f"{row['max_px']:7.2f} {row['median_pct']:6.2f} {row['p95_pct']:6.2f} "
            f"{row['max_pct']:7.2f} {len(row['lost_keyframes']):7d} {row['frames_lost']:7d} "
            f"{str(row['worst_keyframe']):>6s} {row['fps']:6.1f} {'yes' if passes(row) else 'NO'}")


def run_tracking_benchmark(backend: str = DEFAULT_BACKEND, real_dir: Optional[Path] = None,
                           synth: bool = True, out: Optional[Path] = None,
                           clips: Optional[list[str]] = None, echo: bool = True) -> list[dict]:
    """Score every clip; ``real_dir`` None skips the real clips (the CLI defaults it to the
    settings' ``real_data_dir``)."""
    rows: list[dict] = []

    def one(case, kfs, kind):
        try:
            row, _ = run_clip(case["video"], case["seed"], kfs, backend)
            row.update(clip=case["id"], kind=kind, error=None)
        except Exception as exc:  # report, keep benchmarking the rest
            row = {"clip": case["id"], "kind": kind, "error": f"{type(exc).__name__}: {exc}"}
        row["pass"] = passes(row)
        rows.append(row)
        if echo:
            print(format_row(row), flush=True)

    if echo:
        print(HEADER)
    if real_dir is not None:
        for case in real_cases(Path(real_dir)):
            if clips and case["id"] not in clips:
                continue
            one(case, load_ground_truth(case["gt"]), "real")
    if synth:
        with tempfile.TemporaryDirectory(prefix="liftflow-synth-") as tmp:
            names = [c for c in clips if c in SYNTH_SCENARIOS] if clips else None
            if clips and not names:
                names = []
            for case in (synth_cases(Path(tmp), names) if names != [] else []):
                one(case, case["keyframes"], "synth")
    if out is not None:
        write_rows(rows, Path(out))
    return rows


def write_rows(rows: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        out.write_text(json.dumps(rows, indent=2, default=str))
        return
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (";".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.items()})


def tracking_bench_cli(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="liftflow bench tracking",
                                 description="Plate-tracking accuracy on real and synthetic clips")
    ap.add_argument("--backend", default=DEFAULT_BACKEND)
    ap.add_argument("--real-dir", type=Path, default=None,
                    help="folder with manifest.csv and <id>.gt.csv (default: the settings' "
                         "real_data_dir; 'none' to skip)")
    ap.add_argument("--no-synth", action="store_true", help="skip the synthetic clips")
    ap.add_argument("--clip", action="append", help="only these clip ids (repeatable)")
    ap.add_argument("--out", type=Path, help="write the rows as CSV or JSON (by suffix)")
    a = ap.parse_args(argv)
    real = a.real_dir or get_settings().real_data_dir
    real = None if str(real).lower() == "none" else real
    rows = run_tracking_benchmark(a.backend, real, not a.no_synth, a.out, clips=a.clip)
    ok = all(r["pass"] for r in rows)
    print(f"{sum(r['pass'] for r in rows)}/{len(rows)} clips meet the acceptance thresholds")
    return 0 if ok and rows else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(tracking_bench_cli())
