"""`liftflow bench speed`: how long `liftflow analyze` takes against decoding alone.

On generated 1080x1920 60 fps squat clips (``liftflow.synth``, exact ground truth, cached
between runs) of two kinds (``--kind``, both by default): ``high``, the textured scene with
sensor noise (~470 kb/s), and ``low``, a smooth scene without noise or clutter (~210
kb/s): the analysis must cost little beyond decoding whatever the bitrate. On each it
measures, in the same run, interleaved (decode-alone, analyze,
decode-alone, analyze, decode-alone for ``--repeat 2``, the default) so that both see the
same machine, and compares the fastest run of each (every run is printed: on a shared VM
single runs vary by about +-10%):

* decode-alone, the reference: PyAV decode of every frame to full-size BGR arrays,
  threaded, in the cheapest loop (what any consumer of the frames needs and what
  ``cv2.VideoCapture`` returns); nothing else;
* decode-only, a stricter floor printed beside it: the same decode with no conversion at
  all (the analysis itself never converts full frames: it shrinks the yuv planes);
* ``liftflow analyze`` with default settings (default tracker, pose off, overlay video and
  plots on) as a subprocess, its wall time and the peak RSS of its whole process tree
  (sampled with psutil about 10 times a second; the highest of all runs is reported),
  and the analysis process's own exact peak (VmHWM, from job_meta.json);
* the per-step seconds the job itself records in ``job_meta.json``;
* the CPU seconds of both (decode-alone in process, analyze's whole process tree): the
  ratio to trust on a busy machine, where wall times follow the neighbours' load.

It prints one table row per clip kind and length (``--seconds 30,120`` for both) and can
write the same figures as JSON (``--out``). The targets of issue #19 (analyze <= 1.3x
decode-alone, peak memory < 300 MB) are printed beside the figures; timings are never
asserted here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

TARGET_RATIO = 1.3
TARGET_PEAK_MB = 300.0
# clip kinds: SynthSpec fields set on top of clip_spec's (high: the generator's defaults)
CLIP_KINDS = {"high": {}, "low": {"noise": 0.0, "clutter": False}}
STEP_NAMES = ("decode", "track_disc", "estimate_pose", "compute_metrics", "assemble_contract")


def clip_spec(seconds: float, width: int = 1080, height: int = 1920, fps: float = 60.0,
              kind: str = "high"):
    """The benchmark clip: a portrait phone-like squat, plate radius ~ width / 9."""
    from liftflow.synth import SynthSpec

    return SynthSpec(profile="squat", fps=float(fps), width=int(width), height=int(height),
                     plate_radius_px=round(120 * width / 1080, 1), duration_s=float(seconds), seed=0,
                     **CLIP_KINDS[kind])


CLIP_VERSION = 2  # bump when the generator's output for these specs changes (2: rep speed floor)


def _spec_key(spec, kind: str) -> str:
    # only the fields this benchmark sets: new SynthSpec fields (defaults) keep the cache valid
    d = {k: getattr(spec, k) for k in ("profile", "fps", "width", "height", "plate_radius_px",
                                        "duration_s", "seed", *CLIP_KINDS[kind])}
    d["clip_version"] = CLIP_VERSION
    h = hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]
    return f"speed-{kind}-{spec.width}x{spec.height}-{spec.fps:g}fps-{spec.duration_s:g}s-{h}"


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "liftflow-bench-speed"


def ensure_clip(seconds: float, cache_dir: Path, width: int = 1080, height: int = 1920,
                fps: float = 60.0, log=print, kind: str = "high") -> tuple[Path, dict]:
    """The cached clip (generated when missing) and its seed circle {cx, cy, r}."""
    from liftflow.synth import GroundTruth, generate_clip

    spec = clip_spec(seconds, width, height, fps, kind)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / (_spec_key(spec, kind) + ".mp4")
    truth = path.with_name(path.stem + ".truth.json")
    if not (path.is_file() and truth.is_file()):
        tmp = path.with_name(path.stem + ".part.mp4")
        n_total = int(round(seconds * fps))
        log(f"generating a {seconds:g} s {width}x{height} {fps:g} fps {kind}-bitrate clip ({n_total} frames) "
            f"into {cache_dir} (slow: a few seconds per video second)")
        t0 = time.perf_counter()
        last = [t0]

        def progress(i: int, n: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= 10 or i == n:
                last[0] = now
                el = now - t0
                eta = el / i * (n - i) if i else 0.0
                log(f"  generated {i}/{n} frames ({100.0 * i / n:.0f}%), {el:.0f} s, ~{eta:.0f} s left")

        gt = generate_clip(tmp, spec, progress=progress)
        for suffix in (".gt.csv", ".truth.json"):
            os.replace(tmp.with_name(tmp.stem + suffix), path.with_name(path.stem + suffix))
        os.replace(tmp, path)
        log(f"  clip ready in {time.perf_counter() - t0:.0f} s: {path}")
    else:
        gt = GroundTruth.from_json(truth)
    i = next((k for k, v in enumerate(gt.visibility) if v == "visible"), 0)
    return path, {"cx": float(gt.x[i]), "cy": float(gt.y[i]), "r": float(gt.r[i]), "frame": int(i)}


# ---------------------------------------------------------------------------- measuring
def decode_alone(video: Path, convert: bool = True) -> dict:
    """Every frame to a full-size BGR array with PyAV (threaded), nothing else: the
    reference time. A plain loop that drops each array before decoding the next: the
    cheapest way to get the frames (a generator holding one frame while the next is
    converted makes glibc return and re-fault the 6 MB buffers, ~60% slower here).
    ``convert=False``: decode only, the pictures stay in the decoder's yuv planes."""
    from liftflow.video.decode import _open

    c0 = time.process_time()
    t0 = time.perf_counter()
    n = 0
    container = _open(video)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if convert:
                frame.to_ndarray(format="bgr24")
            n += 1
    finally:
        container.close()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {"seconds": round(wall, 3), "cpu_s": round(cpu, 3), "frames": n,
            "fps": round(n / wall, 1) if wall > 0 else None}


class _TreeSampler:
    """Peak RSS (and the last CPU seconds) of a process and all its children, ~10 Hz."""

    def __init__(self, pid: int, interval: float = 0.1):
        import psutil

        self._psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0
        self.cpu_s = 0.0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> "_TreeSampler":
        self._th.start()
        return self

    def _sample(self) -> None:
        psutil = self._psutil
        try:
            procs = [self.root] + self.root.children(recursive=True)
        except psutil.Error:
            return
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
                t = p.cpu_times()
                self._cpu[p.pid] = t.user + t.system
            except psutil.Error:
                continue
        self.samples += 1
        self.peak_bytes = max(self.peak_bytes, total)
        self.cpu_s = sum(self._cpu.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._th.join()


def analyze_once(video: Path, seed: dict, out_dir: Path, log=print, timeout_s: float = 3600) -> dict:
    """`liftflow analyze` with default settings in a subprocess: wall time, peak tree RSS, steps."""
    cmd = [sys.executable, "-m", "liftflow.cli", "analyze", str(video),
           "--disc-center-x", f"{seed['cx']:.3f}", "--disc-center-y", f"{seed['cy']:.3f}",
           "--disc-radius", f"{seed['r']:.3f}", "--out", str(out_dir), "--quiet"]
    if seed.get("frame"):
        cmd += ["--seed-frame", str(int(seed["frame"]))]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = _TreeSampler(proc.pid).start()
    out_chunks: list[str] = []
    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    last = t0
    try:
        while proc.poll() is None:
            time.sleep(0.2)
            now = time.perf_counter()
            if now - t0 > timeout_s:
                proc.kill()
                raise RuntimeError(f"liftflow analyze ran over {timeout_s:.0f} s")
            if now - last >= 10:
                last = now
                log(f"  analyze running {now - t0:.0f} s, {_progress_text(out_dir)}, "
                    f"tree RSS peak {sampler.peak_bytes / 2**20:.0f} MB")
    finally:
        wall = time.perf_counter() - t0
        sampler.stop()
        reader.join(timeout=5)
    output = "".join(out_chunks)
    if proc.returncode != 0:
        raise RuntimeError(f"liftflow analyze failed (exit {proc.returncode}): {output.strip()[-800:]}")
    meta = _read_json(out_dir / "job_meta.json")
    steps = {k: (v or {}).get("seconds") for k, v in (meta.get("steps") or {}).items()}
    art = meta.get("artefacts") or {}
    result = _read_json(out_dir / "result.json")
    return {
        "seconds": round(wall, 3),
        "cpu_s": round(sampler.cpu_s, 3),
        "peak_rss_mb": round(sampler.peak_bytes / 2**20, 1),
        "rss_samples": sampler.samples,
        "worker_peak_rss_mb": (meta.get("runtime") or {}).get("worker_peak_rss_mb"),
        "steps": steps,
        "overlay_seconds": art.get("overlay_seconds"),
        "overlay_source": art.get("overlay_source"),
        "overlay": bool(art.get("overlay")) and (out_dir / art["overlay"]).is_file(),
        "plots": sorted((art.get("plots") or {}).keys()),
        "tracked_frames": (result.get("tracking") or {}).get("tracked_frames"),
        "frames": (result.get("summary") or {}).get("total_frames"),
        "render_error": art.get("error"),
    }


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _progress_text(job_dir: Path) -> str:
    for name in ("progress.json", ".progress.json"):
        p = _read_json(Path(job_dir) / name)
        if p:
            return f"{p.get('step', '?')} {100.0 * float(p.get('fraction') or 0):.0f}%"
    return "starting"


def bench_clip(seconds: float, cache_dir: Path, work_dir: Path, width: int = 1080, height: int = 1920,
               fps: float = 60.0, log=print, repeat: int = 2, kind: str = "high") -> dict:
    """One clip kind and length: decode-alone and analyze ``repeat`` times, interleaved (decode,
    analyze, decode, analyze, ..., decode), so both see the same machine; the fastest run
    of each is compared (all runs are in ``runs_s``). Peak memory: the highest of all
    analyze runs."""
    video, seed = ensure_clip(seconds, cache_dir, width, height, fps, log=log, kind=kind)
    repeat = max(1, int(repeat))
    decodes: list[dict] = []
    analyses: list[dict] = []
    for k in range(repeat):
        log(f"decode-alone ({seconds:g} s {kind} clip, run {k + 1}/{repeat + 1}) ...")
        decodes.append(decode_alone(video))
        d = decodes[-1]
        log(f"  {d['frames']} frames in {d['seconds']:.2f} s ({d['fps']} fps); "
            f"liftflow analyze (default settings, run {k + 1}/{repeat}) ...")
        out_dir = Path(work_dir) / f"analyze-{kind}-{seconds:g}s-{k + 1}"
        if out_dir.exists():
            shutil.rmtree(out_dir)
        analyses.append(analyze_once(video, seed, out_dir, log=log))
        an = analyses[-1]
        an["out_dir"] = str(out_dir)
        log(f"  analyze {an['seconds']:.2f} s, peak {an['peak_rss_mb']:.0f} MB")
    log(f"decode-alone ({seconds:g} s {kind} clip, run {repeat + 1}/{repeat + 1}) ...")
    decodes.append(decode_alone(video))
    raw = decode_alone(video, convert=False)
    # the fastest run of each: what the machine can do when nothing else disturbs it
    dec = min(decodes, key=lambda d: d["seconds"])
    an = dict(min(analyses, key=lambda a: a["seconds"]))
    an["runs_s"] = [a["seconds"] for a in analyses]
    peak = max(a["peak_rss_mb"] for a in analyses)
    dec_s = dec["seconds"]
    dec_cpu = min(d["cpu_s"] for d in decodes)
    row = {
        "kind": kind,
        "clip_seconds": seconds,
        "bitrate_kbps": round(video.stat().st_size * 8 / seconds / 1000.0, 1),
        "video": str(video),
        "width": width, "height": height, "fps": fps,
        "frames": dec["frames"],
        "repeat": repeat,
        "decode_alone": {"seconds": round(dec_s, 3), "runs_s": [d["seconds"] for d in decodes],
                         "cpu_s": round(dec_cpu, 3), "frames": dec["frames"],
                         "fps": round(dec["frames"] / dec_s, 1) if dec_s else None},
        "decode_only": raw,
        "analyze": an,
        "ratio": round(an["seconds"] / dec_s, 3) if dec_s else None,
        "ratio_decode_only": round(an["seconds"] / raw["seconds"], 3) if raw["seconds"] else None,
        # analyze's CPU: the fastest run's, against the least of decode-alone's
        "cpu_ratio": round(an["cpu_s"] / dec_cpu, 3) if dec_cpu else None,
        "peak_rss_mb": peak,
        # the analysis process alone, its exact peak (VmHWM), highest of all runs
        "worker_peak_rss_mb": max((a.get("worker_peak_rss_mb") or 0.0) for a in analyses) or None,
        "out_dir": an["out_dir"],
    }
    row["meets_ratio"] = row["ratio"] is not None and row["ratio"] <= TARGET_RATIO
    row["meets_memory"] = peak < TARGET_PEAK_MB
    return row


def _runs(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def format_table(rows: list[dict]) -> str:
    head = (f"{'kind':>4} {'kb/s':>5} {'clip':>6} {'frames':>6} {'decode s':>9} {'dec fps':>8} {'analyze s':>10} {'ratio':>6} "
            f"{'cpu ratio':>9} {'raw dec s':>9} {'ratio raw':>9} {'peak MB':>8}  per-step s ("
            + ", ".join(STEP_NAMES) + "; overlay)")
    lines = [head, "-" * len(head)]
    for r in rows:
        an = r["analyze"]
        st = an.get("steps") or {}
        steps = " ".join(f"{(st.get(k) or 0):.2f}" for k in STEP_NAMES)
        ov = an.get("overlay_seconds")
        lines.append(
            f"{r.get('kind', 'high'):>4} {r.get('bitrate_kbps') or 0:>5.0f} {r['clip_seconds']:>5g}s {r['frames']:>6d} {r['decode_alone']['seconds']:>9.2f} "
            f"{r['decode_alone']['fps'] or 0:>8.1f} {an['seconds']:>10.2f} {r['ratio'] or 0:>6.2f} "
            f"{r['cpu_ratio'] or 0:>9.2f} {r['decode_only']['seconds']:>9.2f} "
            f"{r['ratio_decode_only'] or 0:>9.2f} {r['peak_rss_mb']:>8.0f}  {steps}; "
            f"{ov if ov is not None else '-'}" + (f" ({an['overlay_source']})" if an.get("overlay_source") else ""))
        if r.get("repeat", 1) > 1:
            lines.append(f"{'':>18}runs: decode-alone {_runs(r['decode_alone']['runs_s'])} s, "
                         f"analyze {_runs(an.get('runs_s') or [an['seconds']])} s (fastest of each compared)")
    verdicts = []
    for r in rows:
        verdicts.append(f"{r.get('kind', 'high')} {r['clip_seconds']:g} s: ratio {r['ratio']:.2f} "
                        f"({'meets' if r['meets_ratio'] else 'misses'} <= {TARGET_RATIO}x; "
                        f"CPU {r['cpu_ratio'] or 0:.2f}), "
                        f"peak {r['peak_rss_mb']:.0f} MB "
                        f"({'meets' if r['meets_memory'] else 'misses'} < {TARGET_PEAK_MB:.0f} MB)")
    same_kind = [r for r in rows if r.get("kind", "high") == rows[0].get("kind", "high")]
    if len(same_kind) >= 2:
        a = min(same_kind, key=lambda r: r["clip_seconds"])
        b = max(same_kind, key=lambda r: r["clip_seconds"])
        if b["clip_seconds"] > a["clip_seconds"]:
            verdicts.append(f"memory {a['clip_seconds']:g} s -> {b['clip_seconds']:g} s: "
                            f"{a['peak_rss_mb']:.0f} -> {b['peak_rss_mb']:.0f} MB "
                            f"({b['peak_rss_mb'] / max(a['peak_rss_mb'], 1):.2f}x for "
                            f"{b['clip_seconds'] / a['clip_seconds']:.0f}x the length)"
                            + (f", analysis process alone (exact peak) {a['worker_peak_rss_mb']:.0f} -> "
                               f"{b['worker_peak_rss_mb']:.0f} MB"
                               if a.get("worker_peak_rss_mb") and b.get("worker_peak_rss_mb") else ""))
    return "\n".join(lines + ["targets: " + "; ".join(verdicts)])


def run(seconds: list[float], cache_dir: Optional[Path] = None, keep: bool = False,
        width: int = 1080, height: int = 1920, fps: float = 60.0, log=print, repeat: int = 2,
        kinds: tuple[str, ...] = ("high",)) -> dict:
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    work = Path(tempfile.mkdtemp(prefix="liftflow-bench-speed-"))
    rows = []
    try:
        for kind in kinds:
            for s in seconds:
                rows.append(bench_clip(s, cache_dir, work, width, height, fps, log=log,
                                       repeat=repeat, kind=kind))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "benchmark": "speed",
        "host": {"cpus": os.cpu_count(), "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "targets": {"ratio_max": TARGET_RATIO, "peak_rss_mb_max": TARGET_PEAK_MB},
        "rows": rows,
        "work_dir": str(work) if keep else None,
        "cache_dir": str(cache_dir),
    }


def _seconds_list(values: list[str]) -> list[float]:
    out: list[float] = []
    for v in values:
        for part in str(v).split(","):
            part = part.strip()
            if part:
                x = float(part)
                if not x > 0:
                    raise argparse.ArgumentTypeError(f"clip length must be positive: {part}")
                out.append(x)
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="liftflow bench speed",
        description="Wall time, CPU time and peak memory of `liftflow analyze` (default settings) "
                    "against PyAV decode-alone, on generated 1080x1920 60 fps clips of high and low bitrate.")
    p.add_argument("--seconds", action="append", default=None,
                   help="clip length(s) in seconds; repeat or give a list like 30,120 (default 30)")
    p.add_argument("--kind", default="high,low",
                   help="clip kinds, a list of " + ", ".join(CLIP_KINDS) + " (default both)")
    p.add_argument("--cache", default=None, help=f"where generated clips are kept (default {default_cache_dir()})")
    p.add_argument("--repeat", type=int, default=2,
                   help="runs of analyze per clip, interleaved with decode-alone; the fastest of "
                        "each is compared (default 2)")
    p.add_argument("--keep", action="store_true", help="keep the analyze output folders")
    p.add_argument("--out", default=None, help="also write the figures to this JSON file")
    p.add_argument("--width", type=int, default=1080, help=argparse.SUPPRESS)
    p.add_argument("--height", type=int, default=1920, help=argparse.SUPPRESS)
    p.add_argument("--fps", type=float, default=60.0, help=argparse.SUPPRESS)
    return p


def speed_bench_cli(argv: Optional[list[str]] = None) -> int:
    """``liftflow bench speed [--seconds 30,120] [--kind high,low] [--repeat N] [--cache DIR] [--keep] [--out JSON]``."""
    try:
        a = _parser().parse_args(list(argv or []))
        seconds = _seconds_list(a.seconds or ["30"])
        kinds = tuple(k.strip() for k in a.kind.split(",") if k.strip())
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except (ValueError, argparse.ArgumentTypeError) as exc:
        print(f"liftflow bench speed: bad --seconds: {exc}", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(msg, flush=True)

    try:
        if a.repeat < 1:
            print("liftflow bench speed: --repeat must be at least 1", file=sys.stderr)
            return 2
        if not kinds or any(k not in CLIP_KINDS for k in kinds):
            print(f"liftflow bench speed: --kind takes {', '.join(CLIP_KINDS)}", file=sys.stderr)
            return 2
        res = run(seconds, a.cache, a.keep, a.width, a.height, a.fps, log=log, repeat=a.repeat,
                  kinds=kinds)
    except RuntimeError as exc:
        print(f"liftflow bench speed: {exc}", file=sys.stderr)
        return 1
    print()
    print(format_table(res["rows"]))
    if res.get("work_dir"):
        print(f"analyze outputs kept in {res['work_dir']}")
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=2))
        print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(speed_bench_cli(sys.argv[1:]))
