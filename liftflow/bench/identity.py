"""Byte-for-byte check that a change of structure left the results alone.

``run`` analyses the seven real clips and the synthetic benchmark clips with
``liftflow analyze`` (the command line, so the same script runs on any revision) and keeps
each ``result.json``; ``compare`` diffs two such folders field by field, leaving out only
the fields that record when and how fast a job ran and the job's own id.

    python -m liftflow.bench.identity run --out /tmp/before        # on the old revision
    python -m liftflow.bench.identity run --out /tmp/after         # on the new one
    python -m liftflow.bench.identity compare /tmp/before /tmp/after

The synthetic clips are generated once into ``--clips`` (default ``<out>/../identity-clips``)
and reused, so both runs read the very same files whatever the generator does.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

# the only fields of result.json left out: the job's id and when and how fast it ran
VOLATILE = {("video_id",), ("processed_at",), ("tracking", "seconds"), ("tracking", "fps")}

SYNTH = {  # the tracking benchmark's scenarios (liftflow bench tracking) and the physics lifts
    "synth-squat": dict(profile="squat", reps=2),
    "synth-clean-blur": dict(profile="clean", shutter=1.0),
    "synth-snatch-exit": dict(profile="snatch", leave_frame=True),
    "synth-deadlift-occlusion": dict(profile="deadlift", reps=2, occlusion=True),
    "synth-squat-vfr-rot90": dict(profile="squat", reps=1, vfr=True, rotation=90),
    "synth-clean-small": dict(profile="clean", width=480, height=360, plate_radius_px=24.0, seed=3),
    "synth-snatch-30fps": dict(profile="snatch", fps=30.0, width=1280, height=720, crf=30),
}
LIFT = {"squat": "squat", "clean": "clean", "snatch": "snatch", "deadlift": "deadlift"}


# beside the checkout; --real-dir elsewhere (a plain path: this script must run on any revision)
REAL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


def _cases(clips: Path, real: Path) -> list[dict]:
    cases = []
    with open(real / "manifest.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            lift = row["lift"].lower()
            lt = "snatch" if "snatch" in lift else "clean_and_jerk" if "jerk" in lift else (
                "clean" if "clean" in lift else "squat" if "squat" in lift else None)
            cases.append({"id": row["id"], "video": str(real / row["file"]), "x": row["disc_center_x"],
                          "y": row["disc_center_y"], "r": row["disc_radius"],
                          "frame": row["seed_frame"], "lift_type": lt})
    clips.mkdir(parents=True, exist_ok=True)
    for name, kw in SYNTH.items():
        video, seed_file = clips / f"{name}.mp4", clips / f"{name}.seed.json"
        if not seed_file.exists():
            from liftflow.synth import SynthSpec, generate_clip

            gt = generate_clip(video, SynthSpec(**kw))
            f = next(i for i, v in enumerate(gt.visibility) if v == "visible")
            seed_file.write_text(json.dumps({"x": gt.x[f], "y": gt.y[f], "r": gt.r[f], "frame": f}))
        s = json.loads(seed_file.read_text())
        cases.append({"id": name, "video": str(video), "x": s["x"], "y": s["y"], "r": s["r"],
                      "frame": s["frame"], "lift_type": LIFT.get(kw["profile"])})
    return cases


def run(out: Path, clips: Path, real: Path = REAL_DIR, exe: Path | None = None,
        only: list[str] | None = None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    exe = exe or Path(sys.executable).with_name("liftflow")
    bad = 0
    for c in _cases(clips, real):
        if only and c["id"] not in only:
            continue
        job = out / "jobs" / c["id"]
        shutil.rmtree(job, ignore_errors=True)
        cmd = [str(exe), "analyze", c["video"], "--disc-center-x", str(c["x"]), "--disc-center-y",
               str(c["y"]), "--disc-radius", str(c["r"]), "--seed-frame", str(c["frame"]),
               "--out", str(job), "--quiet"]
        if c["lift_type"]:
            cmd += ["--lift-type", c["lift_type"]]
        p = subprocess.run(cmd, capture_output=True, text=True)
        print(f"{c['id']:26s} rc={p.returncode} {p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ''}")
        if p.returncode != 0:
            bad += 1
            print(p.stderr[-2000:], file=sys.stderr)
        src = job / "result.json"
        if src.exists():
            shutil.copyfile(src, out / f"{c['id']}.result.json")
    return 1 if bad else 0


def _strip(obj, path=()):
    if isinstance(obj, dict):
        return {k: _strip(v, path + (k,)) for k, v in obj.items() if path + (k,) not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v, path) for v in obj]
    return obj


def _diff(a, b, path="", out=None):
    out = [] if out is None else out
    if len(out) > 20:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'after' if k not in a else 'before'}")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: {str(a)[:80]} != {str(b)[:80]}")
    return out


def differences(a: dict, b: dict) -> list[str]:
    """Where two result.json documents differ, leaving out what differs between any two runs
    (VOLATILE: ids, timestamps, timings); [] when they are the same."""
    return _diff(_strip(a), _strip(b))


def compare(before: Path, after: Path) -> int:
    names = sorted(p.name for p in before.glob("*.result.json"))
    if not names:
        print(f"no *.result.json in {before}", file=sys.stderr)
        return 2
    bad = 0
    for n in names:
        other = after / n
        if not other.exists():
            print(f"{n}: missing in {after}")
            bad += 1
            continue
        a, b = json.loads((before / n).read_text()), json.loads(other.read_text())
        d = differences(a, b)
        frames = len(((a.get("tracks") or [{}])[0]).get("frames") or {})
        print(f"{n[:-12]:26s} {'identical' if not d else 'DIFFERS'} ({frames} tracked frames, "
              f"{len(json.dumps(_strip(a)))} bytes of JSON compared)")
        for line in d:
            print("    " + line)
        bad += bool(d)
    extra = sorted({p.name for p in after.glob("*.result.json")} - set(names))
    for n in extra:
        print(f"{n}: only in {after}")
    left_out = ", ".join(".".join(k) for k in sorted(VOLATILE))
    print(f"{len(names) - bad}/{len(names)} identical (left out: {left_out})")
    return 1 if bad or extra else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--clips", type=Path, default=None)
    r.add_argument("--real-dir", type=Path, default=REAL_DIR)
    r.add_argument("--only", nargs="*", help="just these case ids")
    r.add_argument("--exe", type=Path, default=None, help="the liftflow command to run (default: beside this python)")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "run":
        return run(a.out, a.clips or a.out.parent / "identity-clips", a.real_dir, a.exe, a.only)
    return compare(a.before, a.after)


if __name__ == "__main__":
    sys.exit(main())
