"""Pose benchmark: per real clip, frames with the lifter found (%), the share of those in
which the person chosen holds the tracked bar (a proxy for "the lifter, not a bystander",
see ``holds_bar_share``) and ms/frame; ms/frame on a generated 1080x1920 clip.

The disc track handed to the pose step comes from each clip's plate ground truth (keyframes
linearly interpolated, ``absent`` keyframes left lost), so the figures measure the pose step
alone, not the tracker. ``liftflow bench pose [--backend mediapipe]
[--stride N] [--clips a,b] [--render DIR] [--synth-seconds S]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

from liftflow.bench.dataset import load_ground_truth, load_real_manifest
from liftflow.config import get_settings


def real_data_dir() -> Path:
    return get_settings().real_data_dir


def track_from_gt(gt_csv: Path, timestamps: list[float]) -> dict:
    """A disc track (``observations``) from a ground-truth keyframe CSV; the radius is the
    major one as written, the plate size the pose step would see drawn."""
    import numpy as np

    rows = [(k["frame"], None if k["x"] is None else (k["x"], k["y"], k["r"]))
            for k in load_ground_truth(gt_csv, equivalent_radius=False)]
    obs = []
    n = len(timestamps)
    for i in range(n):
        prev = next((rw for rw in reversed(rows) if rw[0] <= i), None)
        nxt = next((rw for rw in rows if rw[0] >= i), None)
        c = None
        if prev and nxt and prev[1] and nxt[1]:
            if nxt[0] == prev[0]:
                c = prev[1]
            else:
                a = (i - prev[0]) / (nxt[0] - prev[0])
                c = tuple(float(np.interp(a, [0, 1], [prev[1][j], nxt[1][j]])) for j in range(3))
        obs.append({"frame": i, "t_s": timestamps[i], "state": "tracked" if c else "lost",
                    "center": [c[0], c[1]] if c else None, "radius": c[2] if c else None,
                    "confidence": 1.0 if c else 0.0})
    return {"backend": "ground_truth", "observations": obs}


def max_box_jump(pose: dict) -> float:
    """Largest move of the person box centre between consecutive frames with a person, in
    box heights (a jump to someone else shows as ~1 or more)."""
    import math

    fr = (pose.get("person_track") or {}).get("frames") or {}
    prev, worst = None, 0.0
    for k in sorted(fr, key=int):
        b = fr[k]["bbox"]
        c = ((b["x1"] + b["x2"]) / 2, (b["y1"] + b["y2"]) / 2, max(1.0, b["y2"] - b["y1"]))
        if prev is not None:
            worst = max(worst, math.hypot(c[0] - prev[0], c[1] - prev[1]) / prev[2])
        prev = c
    return worst


HOLD_CHECK_R = 2.5  # proxy: the lifter's nearest wrist is within 1.8 plate radii at the 95th
# percentile on the real clips (lifter.py); 2.5 leaves room for wrists hidden behind the plate
OVERHEAD_LIFTS = ("snatch", "clean_and_jerk")  # the bar ends overhead and is dropped from there
RELEASE_R = 1.0  # the bar still counts as held while within this many radii of its highest point


def holds_bar_share(pose: dict, track: dict, lift_type: Optional[str] = None) -> Optional[float]:
    """Share of the frames with a person chosen and the bar tracked (and held) in which the
    person holds the bar: the nearest wrist, at any confidence (a hidden wrist's guess still
    lies at the hands), within ``HOLD_CHECK_R`` plate radii of the plate centre and the plate
    centre inside the box across. None without such frames. After an overhead lift the bar
    is dropped and the lifter, rightly still chosen, no longer holds it: frames after the
    last one near the bar's highest point are left out for ``OVERHEAD_LIFTS``."""
    import math

    from liftflow.pose.pipeline import bar_by_frame

    bars = bar_by_frame(track)
    if not bars:
        return None
    last = max(bars)
    if lift_type in OVERHEAD_LIFTS:
        top = min(b[1] for b in bars.values())
        last = max(i for i, b in bars.items() if b[1] <= top + RELEASE_R * b[2])
    fr = (pose.get("person_track") or {}).get("frames") or {}
    n = held = 0
    for k, e in fr.items():
        b = bars.get(int(k))
        if b is None or int(k) > last:
            continue
        cx, cy, r = b
        kp = e.get("keypoints") or []
        d = min((math.hypot(kp[i][0] - cx, kp[i][1] - cy) for i in (9, 10) if i < len(kp)),
                default=math.inf) / max(r, 1.0)
        n += 1
        held += d <= HOLD_CHECK_R and e["bbox"]["x1"] <= cx <= e["bbox"]["x2"]
    return held / n if n else None


def _req(video: str, backend: str, stride: int, lift_type: Optional[str] = None, **extra):
    return SimpleNamespace(video_path=video, pose_backend=backend, enable_person_detection=True,
                           pose_stride=stride, lift_type=lift_type, extra=extra)


LIFT_TYPES = {"snatch": "snatch", "clean": "clean", "clean and jerk": "clean_and_jerk"}


def run_clip(video: Path, gt: Optional[Path], backend: str, stride: int, settings, lift: str = ""):
    from liftflow.pose import estimate_pose
    from liftflow.video import probe

    info = probe(video).to_dict(with_timestamps=True)
    track = track_from_gt(gt, info["timestamps_s"]) if gt else {"observations": []}
    lt = next((v for k, v in sorted(LIFT_TYPES.items(), key=lambda kv: -len(kv[0])) if lift.startswith(k)), None)
    res = estimate_pose(_req(str(video), backend, stride, lt), info, track, settings)
    res["stats"]["holds_bar_share"] = holds_bar_share(res, track, lt)
    return info, track, res


def pose_bench_cli(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="liftflow bench pose", description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="mediapipe")
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--clips", default="", help="comma-separated clip ids (default: all)")
    ap.add_argument("--render", default="", help="write a few frames with the skeleton to this folder")
    ap.add_argument("--render-count", type=int, default=5, help="frames per clip to render")
    ap.add_argument("--synth-seconds", type=float, default=3.0,
                    help="length of the generated 1080x1920 clip (0: skip)")
    try:
        a = ap.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from liftflow.pose import PoseUnavailable

    settings = get_settings()
    root = real_data_dir()
    rows = []
    try:
        rows = load_real_manifest(root)
    except FileNotFoundError:
        print(f"real clips not found: {root / 'manifest.csv'} (set LIFTFLOW_REAL_DATA)", file=sys.stderr)
    want = {c for c in a.clips.split(",") if c}
    print(f"{'clip':20s} {'frames':>7s} {'lifter found':>13s} {'holds bar':>10s} {'ms/frame':>9s} "
          f"{'max jump':>9s}  events")
    try:
        for r in rows:
            if want and r["id"] not in want:
                continue
            info, track, res = run_clip(root / r["file"], root / r["gt"], a.backend, a.stride,
                                        settings, r.get("lift", ""))
            st = res["stats"]
            pct = 100.0 * st["frames_with_person"] / max(1, st["frames_processed"])
            ev = {k: v for k, v in res["events"].items() if k.endswith("_s") or k == "facing"}
            jump = max_box_jump(res)
            hb = st["holds_bar_share"]
            hbs = "-" if hb is None else f"{100.0 * hb:.1f}%"
            print(f"{r['id']:20s} {st['frames_processed']:7d} {pct:12.1f}% {hbs:>10s} "
                  f"{st['ms_per_frame']:9.1f} {jump:9.2f}  {ev}", flush=True)
            if a.render:
                from liftflow.pose.pipeline import bar_by_frame
                from liftflow.pose.render import render_frames

                n = info["frame_count"]
                k = max(2, a.render_count)
                picks = sorted({round(j * (n - 1) / (k - 1)) for j in range(k)})
                render_frames(str(root / r["file"]), res, picks, Path(a.render), bar_by_frame(track),
                              prefix=r["id"])
        if a.synth_seconds > 0:
            from liftflow.synth import SynthSpec, generate_clip

            with tempfile.TemporaryDirectory() as td:
                t0 = time.perf_counter()
                spec = SynthSpec(profile="squat", width=1080, height=1920, plate_radius_px=120,
                                 duration_s=a.synth_seconds, blur=False)
                video = Path(td) / "synth.mp4"
                generate_clip(video, spec)
                gen_s = time.perf_counter() - t0
                info, _, res = run_clip(video, None, a.backend, a.stride, settings)
                st = res["stats"]
                print(f"{'synth 1080x1920':20s} {st['frames_processed']:7d} {'-':>13s} {'-':>10s} "
                      f"{st['ms_per_frame']:9.1f}  (model alone {st['model_ms_per_frame']} ms/frame; "
                      f"a 30 s clip at 30 fps: ~{st['ms_per_frame'] * 900 / 1000:.0f} s; "
                      f"clip generated in {gen_s:.0f} s)")
    except PoseUnavailable as exc:
        print(f"pose unavailable: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pose_bench_cli())
