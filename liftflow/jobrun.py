"""The five analysis steps with their job-folder bookkeeping, without Dagster.

Both runners use this module: the Dagster ops (``liftflow.orchestration.ops``, which add
Dagster metadata and turn a readable failure into ``dagster.Failure``) and ``liftflow
analyze`` (``run_job``: the steps in process, no orchestrator start-up, no pickled
outputs between steps). Whatever a step writes into the job folder (progress.json,
pipeline.log, job_meta.json, pipeline_config.yaml, metrics_calculator_output.json,
result.json, overlay, plots) is written here, so the two runners produce the same folder.

Each ``*_step`` function returns ``(value, metadata)``: the step's output and a plain dict
of figures for the runner to display (the ops attach it as Dagster output metadata).
Nothing here imports dagster.
"""

from __future__ import annotations

import contextlib
import gc
import resource
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, Optional

from liftflow import analysis
from liftflow.analysis import STEP_TITLES, STEPS, AnalysisError, AnalysisRequest
from liftflow.config import Settings, get_settings
from liftflow.jobstore import (
    CONFIG,
    METRICS,
    RESULT,
    JobFolder,
    ProgressThrottle,
    atomic_write_json,
    atomic_write_text,
    now_iso,
    write_result_json,
)
from liftflow.render import plots_worker
from liftflow.render.common import render_view


def step_title(name: str) -> str:
    return f"{STEP_TITLES[name]} ({STEPS.index(name) + 1}/{len(STEPS)})"


@contextlib.contextmanager
def step(folder: JobFolder, run_id: str, name: str) -> Iterator[ProgressThrottle]:
    """Bookkeeping around one step: status, progress, log, timing, readable failure.

    Marks the job ``processing`` (first step of a run), writes progress 0 and 1, logs start,
    end and duration, records ``steps.<name>`` in job_meta.json. A failure is logged
    (``AnalysisError``: its readable message; anything else as an internal error) and
    re-raised for the runner to mark the job failed (``mark_failed``).
    """
    title = step_title(name)
    meta = folder.read_meta() or {}
    if meta.get("status") != "processing":
        ts = dict(meta.get("timestamps") or {})
        ts.setdefault("created_at", now_iso())
        ts["started_at"] = ts.get("started_at") or now_iso()
        ts["finished_at"] = None
        ts["duration_s"] = None
        runs = list(meta.get("runs") or [])
        if run_id not in runs:
            runs.append(run_id)
        folder.update_meta(status="processing", timestamps=ts, error=None, runs=runs)
    folder.set_progress(run_id, name, 0.0, title)
    folder.log(name, f"start (run {run_id})")
    progress = ProgressThrottle(folder, run_id, name)
    t0 = time.perf_counter()
    try:
        yield progress
    except AnalysisError as exc:
        folder.log(name, f"failed: {exc}", level="ERROR")
        raise
    except Exception as exc:
        folder.log(name, f"failed with an internal error: {type(exc).__name__}: {exc}", "ERROR")
        raise
    seconds = round(time.perf_counter() - t0, 3)
    folder.update_meta(steps={name: {"seconds": seconds, "run_id": run_id, "finished_at": now_iso()}})
    folder.set_progress(run_id, name, 1.0, f"{title} done")
    folder.log(name, f"done in {seconds:.2f} s")


def failure_reason(exc: Optional[BaseException]) -> str:
    """The readable reason of a failed step (an AnalysisError's message is already one)."""
    if isinstance(exc, AnalysisError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if exc is not None else "step failed"


def mark_failed(folder: JobFolder, step_name: str, reason: str, run_id: str) -> None:
    """Job failed at ``step_name``: drop the scratch spool, record the reason in job_meta.json
    and pipeline.log."""
    meta = folder.read_meta() or {}
    ts = dict(meta.get("timestamps") or {})
    ts["finished_at"] = now_iso()
    folder.drop_scratch()  # a re-execution decodes the video again for the overlay
    plots_worker.discard()
    folder.update_meta(status="failed", timestamps=ts,
                       error={"step": step_name, "reason": reason, "run_id": run_id})
    folder.log(step_name, f"job failed: {reason}", level="ERROR")


def peak_rss_mb(usage=None) -> float:
    """This process's peak resident memory in MB: VmHWM where Linux gives it (the peak of
    this program only), else getrusage's ru_maxrss, which Linux carries over from the
    parent across fork and exec (a worker started by a 190 MB benchmark process reported
    190 MB while its own peak was 150)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        pass
    usage = usage or resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_maxrss / 1024.0, 1)


def release_free_memory() -> None:
    """Hand the heap that freed objects left behind back to the OS (glibc's malloc_trim).

    A step's temporaries (tracking's per-frame arrays, the contract's rounding) are freed
    but glibc keeps most of that memory mapped, so the next step's peak stacked on the
    previous step's leftovers: after tracking a 2 min clip the worker held ~15 MB more than
    after a 30 s one, all of it free heap (the same after malloc_trim). No-op where there
    is no glibc."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


@contextlib.contextmanager
def _gc_frozen():
    """Keep the cyclic garbage collector off the objects that exist already (the per-frame
    observations: ~100 000 containers for 1800 frames) while a step allocates many more:
    every collection would walk them again. Building the contract took 0.22 s of CPU with
    them walked, 0.10 s frozen. Refcounting still frees everything; unfrozen afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# --- the steps' job-folder writes ------------------------------------------------------
def decode_step(folder: JobFolder, run_id: str, req: AnalysisRequest,
                settings: Optional[Settings] = None) -> tuple[dict, dict]:
    settings = settings or get_settings()
    info = analysis.decode_step(req, settings)
    import yaml

    resolved = {
        "job_id": folder.job_id,
        "run_id": run_id,
        "request": req.to_dict(),
        "settings": {
            "models_dir": str(settings.models_dir),
            "max_duration_s": settings.max_duration_s,
            "max_pixels": settings.max_pixels,
            "device": settings.device,
        },
        "video": {k: v for k, v in info.items() if k != "timestamps_s"},
    }
    atomic_write_text(folder.file(CONFIG), yaml.safe_dump(resolved, sort_keys=False))
    video_meta = {
        "fps": info["fps"], "width": info["width"], "height": info["height"],
        "duration_s": info["duration_s"], "total_frames": info["frame_count"],
        "rotation": info["rotation"], "codec": info["codec"],
        "variable_frame_rate": info["variable_frame_rate"],
    }
    folder.update_meta(video_metadata=video_meta)
    folder.log("decode", f"{info['width']}x{info['height']} {info['codec']}, "
                         f"{info['frame_count']} frames, {info['fps']} fps, rotation {info['rotation']}")
    md = {
        "frames": info["frame_count"], "fps": info["fps"],
        "resolution": f"{info['width']}x{info['height']}", "duration_s": info["duration_s"],
        "rotation": info["rotation"], "variable_frame_rate": info["variable_frame_rate"],
        "video_path": req.video_path,
    }
    return info, md


def track_step(folder: JobFolder, req: AnalysisRequest, video_info: dict,
               progress: Optional[Callable] = None,
               settings: Optional[Settings] = None) -> tuple[dict, dict]:
    # job_dir: tracking's decode also keeps the overlay frames for the render step
    track = analysis.track_step(req, video_info, settings or get_settings(), progress,
                                job_dir=folder.path)
    release_free_memory()
    s = track["stats"]
    seed = track["seed"]
    folder.log("track_disc", f"backend {track['backend']}: {s['tracked_frames']}/{s['frames']} "
                             f"frames tracked at {s['fps']} fps; seed {seed}")
    if req.render and track.get("overlay_spool_refused"):
        folder.log("track_disc", f"overlay frames not kept: {track['overlay_spool_refused']}",
                   "WARNING")
    md = {"backend": track["backend"], "tracked_frames": s["tracked_frames"],
          "lost_frames": s["lost_frames"], "tracking_fps": s["fps"] or 0.0, "seed": seed}
    return track, md


def pose_step(folder: JobFolder, req: AnalysisRequest, video_info: dict, track: dict,
              progress: Optional[Callable] = None,
              settings: Optional[Settings] = None) -> tuple[dict, dict]:
    pose = analysis.pose_step(req, video_info, track, settings or get_settings(), progress)
    folder.log("estimate_pose", "pose off" if not pose.get("enabled")
               else f"pose {req.pose_backend}: {pose.get('stats', {})}")
    return pose, {"enabled": bool(pose.get("enabled")), "pose_backend": req.pose_backend}


def metrics_step(folder: JobFolder, req: AnalysisRequest, video_info: dict, track: dict,
                 pose: Optional[dict]) -> tuple[dict, dict]:
    if req.render:  # its start-up runs on the core this step leaves idle
        plots_worker.prestart()
    with _gc_frozen():
        physics = analysis.metrics_step(req, video_info, track, pose)
        atomic_write_json(folder.file(METRICS), physics, compact=True)
    release_free_memory()  # the filters' and splines' temporaries
    summary = physics.get("summary", {})
    folder.log("compute_metrics", f"summary {summary}")
    md = {k: v for k, v in summary.items() if isinstance(v, (int, float)) and v is not None}
    return physics, md


def assemble_step(folder: JobFolder, run_id: str, req: AnalysisRequest, video_info: dict,
                  track: dict, pose: Optional[dict], physics: dict,
                  progress: Optional[Callable] = None,
                  on_render_error: Optional[Callable[[str], None]] = None) -> tuple[Path, dict]:
    """result.json, then (``req.render``) overlay and plots, then the final job_meta.json.

    Returns (path of result.json, metadata); metadata holds ``result_json`` and ``job_dir``
    and, when rendered, ``plots`` ({name: path}) and ``overlay`` (path). ``track``,
    ``pose`` and ``physics`` are released once the contract is built: a caller that hands
    over its only references (``run_job``) frees the per-frame observations before the
    overlay renders."""
    plots = None
    with _gc_frozen():
        result = analysis.assemble_step(folder.job_id, video_info, track, pose, physics)
        del track, pose, physics
        contract_version = result["results_contract_version"]
        summary = {**(result.get("summary") or {}),
                   "tracked_frames": (result.get("tracking") or {}).get("tracked_frames")}
        if req.render:  # the plots process draws while result.json is written
            plots = plots_worker.take()
            plots.feed(result, folder.path / analysis.PLOTS_DIR)
        try:
            write_result_json(folder.file(RESULT), result)
        except BaseException:
            if plots is not None:
                plots.finish(kill=True)
            raise
        # the overlay and the plots read a few of the per-frame series: the others (and
        # metrics_raw) are freed for the overlay pass when the caller handed them over
        view = render_view(result) if req.render else None
        del result
    release_free_memory()  # the observations and the contract's temporaries, before the overlay
    md: dict = {}
    artefacts: dict = {}
    if req.render:
        # The result is already valid: a rendering problem is reported, not fatal.
        try:
            artefacts = analysis.render_step(req, view, folder.path, progress, plots=plots)
            md["plots"] = {k: folder.path / v for k, v in artefacts["plots"].items()}
            md["overlay"] = folder.file(artefacts["overlay"])
            folder.log("assemble_contract", f"rendered overlay ({artefacts.get('overlay_fps')} fps) and plots")
        except Exception as exc:
            artefacts = {"error": f"{type(exc).__name__}: {exc}"}
            folder.log("assemble_contract", f"rendering failed (results are complete): {exc}", "WARNING")
            if on_render_error is not None:
                on_render_error(f"rendering failed: {exc}")
    del view
    meta = folder.read_meta() or {}
    ts = dict(meta.get("timestamps") or {})
    finished = now_iso()
    ts["finished_at"] = finished
    if ts.get("started_at"):
        ts["duration_s"] = round(
            (datetime.fromisoformat(finished) - datetime.fromisoformat(ts["started_at"])).total_seconds(), 3)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    torch = sys.modules.get("torch")  # only if a step used it; never imported here
    gpu = None
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        gpu = {"name": torch.cuda.get_device_name(0),
               "peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}
    folder.update_meta(
        status="completed",
        timestamps=ts,
        artefacts=artefacts,
        results_contract_version=contract_version,
        runtime={"worker_peak_rss_mb": peak_rss_mb(usage),
                 "worker_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                 "gpu": gpu,
                 "run_id": run_id},
    )
    md["result_json"] = folder.file(RESULT)
    md["job_dir"] = folder.path
    md["summary"] = summary
    return folder.file(RESULT), md


# --- all five in process (``liftflow analyze``) ------------------------------------------
def run_job(folder: JobFolder, run_id: str, req: AnalysisRequest,
            settings: Optional[Settings] = None,
            on_render_error: Optional[Callable[[str], None]] = None,
            summary_into: Optional[dict] = None) -> Optional[Path]:
    """decode -> track_disc -> estimate_pose -> compute_metrics -> assemble_contract in this
    process, with the same job-folder bookkeeping as the Dagster job. Returns result.json's
    path, or None when a step failed (job_meta.json then holds ``error``: step and reason).
    ``summary_into``: filled with the result's summary and ``tracked_frames`` (so a caller
    that prints them need not parse result.json back: 0.3 s for a 2 min clip)."""
    settings = settings or get_settings()
    name = STEPS[0]
    try:
        with step(folder, run_id, name):
            info, _ = decode_step(folder, run_id, req, settings)
        name = "track_disc"
        with step(folder, run_id, name) as progress:
            track, _ = track_step(folder, req, info, progress, settings)
        name = "estimate_pose"
        with step(folder, run_id, name) as progress:
            pose, _ = pose_step(folder, req, info, track, progress, settings)
        name = "compute_metrics"
        with step(folder, run_id, name):
            physics, _ = metrics_step(folder, req, info, track, pose)
        name = "assemble_contract"
        # hand over the only references: assemble_step drops the observations (every frame's
        # outline) and the physics series once the contract holds what it needs of them
        inputs = {"track": track, "pose": pose, "physics": physics}
        del track, pose, physics
        with step(folder, run_id, name) as progress:
            path, md = assemble_step(folder, run_id, req, info, inputs.pop("track"),
                                     inputs.pop("pose"), inputs.pop("physics"), progress,
                                     on_render_error=on_render_error)
        if summary_into is not None:
            summary_into.update(md["summary"])
        return path
    except Exception as exc:
        mark_failed(folder, name, failure_reason(exc), run_id)
        return None
