"""The five ops of lift_analysis. Each is thin: read inputs, call the library, log, attach metadata.

Every op writes the job folder's progress file and pipeline.log, and records its timing in
job_meta.json. A bad input raises ``dagster.Failure`` whose description is the readable
reason; the failure hook copies it into job_meta.json.
"""


import contextlib
import os
import resource
import socket
import sys
import time

import yaml
from dagster import (
    Failure,
    HookContext,
    MetadataValue,
    OpExecutionContext,
    failure_hook,
    op,
)

from liftflow import analysis
from liftflow.analysis import STEP_TITLES, STEPS, AnalysisError
from liftflow.config import get_settings
from liftflow.jobstore import (
    CONFIG,
    METRICS,
    RESULT,
    ProgressThrottle,
    atomic_write_json,
    atomic_write_text,
    now_iso,
)
from liftflow.orchestration.resources import LiftRequest

WORKER_PID_TAG = "liftflow/worker_pid"
WORKER_HOST_TAG = "liftflow/worker_host"


@contextlib.contextmanager
def _step(context: OpExecutionContext, lift: LiftRequest, name: str):
    """Bookkeeping around one step: progress, log, timing, readable failure."""
    folder = lift.folder()
    run_id = context.run_id
    idx = STEPS.index(name) + 1
    title = f"{STEP_TITLES[name]} ({idx}/{len(STEPS)})"
    # The worker's pid lets start-up reconciliation tell a live run from a dead one.
    worker = {WORKER_PID_TAG: str(os.getpid()), WORKER_HOST_TAG: socket.gethostname()}
    if any(context.run.tags.get(k) != v for k, v in worker.items()):
        context.instance.add_run_tags(run_id, worker)
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
    context.log.info(f"{title} started")
    progress = ProgressThrottle(folder, run_id, name)
    t0 = time.perf_counter()
    try:
        yield progress
    except AnalysisError as exc:
        folder.log(name, f"failed: {exc}", level="ERROR")
        raise Failure(description=str(exc), metadata={"step": name, "reason": str(exc)}) from exc
    except Exception as exc:
        folder.log(name, f"failed with an internal error: {type(exc).__name__}: {exc}", "ERROR")
        raise
    seconds = round(time.perf_counter() - t0, 3)
    folder.update_meta(steps={name: {"seconds": seconds, "run_id": run_id, "finished_at": now_iso()}})
    folder.set_progress(run_id, name, 1.0, f"{title} done")
    folder.log(name, f"done in {seconds:.2f} s")


@op(description="Probe the video: geometry, rotation, per-frame timestamps; validate the request.")
def decode(context: OpExecutionContext, lift: LiftRequest) -> dict:
    with _step(context, lift, "decode"):
        req = lift.analysis_request()
        settings = get_settings()
        info = analysis.decode_step(req, settings)
        folder = lift.folder()
        resolved = {
            "job_id": lift.job_id,
            "run_id": context.run_id,
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
    context.add_output_metadata({
        "frames": info["frame_count"], "fps": info["fps"],
        "resolution": f"{info['width']}x{info['height']}", "duration_s": info["duration_s"],
        "rotation": info["rotation"], "variable_frame_rate": info["variable_frame_rate"],
        "video_path": MetadataValue.path(req.video_path),
    })
    return info


@op(description="Track the plate through every frame from the seed circle (or an automatic one).")
def track_disc(context: OpExecutionContext, lift: LiftRequest, video_info: dict) -> dict:
    with _step(context, lift, "track_disc") as progress:
        req = lift.analysis_request()
        track = analysis.track_step(req, video_info, get_settings(), progress,
                                     job_dir=lift.folder().path)
        s = track["stats"]
        seed = track["seed"]
        lift.folder().log("track_disc", f"backend {track['backend']}: {s['tracked_frames']}/{s['frames']} "
                          f"frames tracked at {s['fps']} fps; seed {seed}")
    context.add_output_metadata({
        "backend": track["backend"], "tracked_frames": s["tracked_frames"],
        "lost_frames": s["lost_frames"], "tracking_fps": s["fps"] or 0.0,
        "seed": MetadataValue.json(seed),
    })
    return track


@op(description="Person box and pose keypoints when enabled; a fast no-op otherwise.")
def estimate_pose(context: OpExecutionContext, lift: LiftRequest, video_info: dict, track: dict) -> dict:
    with _step(context, lift, "estimate_pose") as progress:
        req = lift.analysis_request()
        pose = analysis.pose_step(req, video_info, track, get_settings(), progress)
        lift.folder().log("estimate_pose", "pose off" if not pose.get("enabled")
                          else f"pose {req.pose_backend}: {pose.get('stats', {})}")
    context.add_output_metadata({"enabled": bool(pose.get("enabled")),
                                 "pose_backend": lift.pose_backend})
    return pose


@op(description="Calibrate from the plate, filter the path, compute kinematics, energy, power, reps.")
def compute_metrics(context: OpExecutionContext, lift: LiftRequest, video_info: dict,
                    track: dict, pose: dict) -> dict:
    with _step(context, lift, "compute_metrics"):
        physics = analysis.metrics_step(lift.analysis_request(), video_info, track, pose)
        atomic_write_json(lift.folder().file(METRICS), physics)
        summary = physics.get("summary", {})
        lift.folder().log("compute_metrics", f"summary {summary}")
    context.add_output_metadata({
        k: v for k, v in summary.items() if isinstance(v, (int, float)) and v is not None
    })
    return physics


@op(description="Build the ResultsContract and write result.json and the final job_meta.json.")
def assemble_contract(context: OpExecutionContext, lift: LiftRequest, video_info: dict,
                      track: dict, pose: dict, physics: dict) -> str:
    extra_meta = {}
    with _step(context, lift, "assemble_contract") as progress:
        folder = lift.folder()
        result = analysis.assemble_step(lift.job_id, video_info, track, pose, physics)
        atomic_write_json(folder.file(RESULT), result)
        artefacts = {}
        if lift.render:
            # The result is already valid: a rendering problem is reported, not fatal.
            try:
                artefacts = analysis.render_step(lift.analysis_request(), result, folder.path, progress)
                from liftflow.render import plots_markdown

                plots = {k: folder.path / v for k, v in artefacts["plots"].items()}
                extra_meta["plots"] = MetadataValue.md(plots_markdown(plots))
                extra_meta["overlay"] = MetadataValue.path(str(folder.file(artefacts["overlay"])))
                folder.log("assemble_contract", f"rendered overlay ({artefacts.get('overlay_fps')} fps) and plots")
            except Exception as exc:
                artefacts = {"error": f"{type(exc).__name__}: {exc}"}
                folder.log("assemble_contract", f"rendering failed (results are complete): {exc}", "WARNING")
                context.log.warning(f"rendering failed: {exc}")
        meta = folder.read_meta() or {}
        ts = dict(meta.get("timestamps") or {})
        finished = now_iso()
        ts["finished_at"] = finished
        if ts.get("started_at"):
            from datetime import datetime

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
            results_contract_version=result["results_contract_version"],
            runtime={"worker_peak_rss_mb": round(usage.ru_maxrss / 1024.0, 1),
                     "worker_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                     "gpu": gpu,
                     "run_id": context.run_id},
        )
    context.add_output_metadata({"result_json": MetadataValue.path(str(folder.file(RESULT))),
                                 "job_dir": MetadataValue.path(str(folder.path)), **extra_meta})
    return str(folder.file(RESULT))


@failure_hook(required_resource_keys={"lift"})
def mark_job_failed(context: HookContext) -> None:
    """Copy the readable reason of a failed step into job_meta.json and pipeline.log."""
    lift: LiftRequest = context.resources.lift
    exc = context.op_exception
    reason = exc.description if isinstance(exc, Failure) and exc.description else (
        f"{type(exc).__name__}: {exc}" if exc is not None else "step failed")
    folder = lift.folder()
    meta = folder.read_meta() or {}
    ts = dict(meta.get("timestamps") or {})
    ts["finished_at"] = now_iso()
    folder.drop_scratch()  # a re-execution decodes the video again for the overlay
    folder.update_meta(status="failed", timestamps=ts,
                       error={"step": context.op.name, "reason": reason, "run_id": context.run_id})
    folder.log(context.op.name, f"job failed: {reason}", level="ERROR")
