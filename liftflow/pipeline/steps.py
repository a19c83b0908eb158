"""The five steps of an analysis, each one function: the library call and its job-folder bookkeeping.

    decode -> track_disc -> estimate_pose -> compute_metrics -> assemble_contract

Both runners call these and nothing else: the Dagster ops (``liftflow.orchestration.ops``
add Dagster metadata and turn a readable failure into ``dagster.Failure``) and ``liftflow
analyze`` (``liftflow.pipeline.run.run_job``: the steps in process, no orchestrator, no
pickled outputs between steps). Whatever a step writes into the job folder (progress.json,
pipeline.log, job_meta.json, pipeline_config.yaml, metrics_calculator_output.json,
result.json, overlay, plots) is written here, so the two runners produce the same folder.

Each step returns ``(value, metadata)``: its typed output (``liftflow.pipeline.stages``) and
a plain dict of figures for the runner to display (the ops attach it as output metadata).
Bad input raises ``AnalysisError`` with a sentence a user can act on. Nothing here imports
dagster.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, Optional

from liftflow.config import Settings
from liftflow.errors import AnalysisError
from liftflow.jobstore import (
    CONFIG,
    METRICS,
    OVERLAY,
    PLOTS_DIR,
    RESULT,
    JobFolder,
    ProgressThrottle,
    atomic_write_json,
    atomic_write_text,
    now_iso,
    write_result_json,
)
from liftflow.pipeline.memory import gc_frozen, peak_rss_mb, release_free_memory, single_threaded_cv2
from liftflow.pipeline.request import AnalysisRequest
from liftflow.pipeline.stages import Kinematics, PoseResult, TrackResult
from liftflow.progress import ProgressFn, report
from liftflow.verdict import NO_PLATE_DETECTED, OK, PLATE_NOT_FOUND, PLATE_NOT_FOUND_MESSAGE
from liftflow.video import VideoInfo

STEPS = ("decode", "track_disc", "estimate_pose", "compute_metrics", "assemble_contract")
STEP_TITLES = {
    "decode": "Reading video",
    "track_disc": "Tracking disc",
    "estimate_pose": "Estimating pose",
    "compute_metrics": "Computing metrics",
    "assemble_contract": "Assembling results",
}
# Share of the job's overall progress each step takes: on a 1080x1920 60 fps clip with
# pose off, tracking (one decode for tracking and overlay) ~64% of the time, assembly
# (overlay and plots) ~30% (`liftflow bench speed`); pose, when on, is as long as tracking.
STEP_WEIGHTS = {"decode": 0.02, "track_disc": 0.58, "estimate_pose": 0.1,
                "compute_metrics": 0.04, "assemble_contract": 0.26}


def overall_progress(step: str, fraction: float) -> float:
    """Map a step's own progress (0..1) into the whole job's (0..1)."""
    done = 0.0
    for s in STEPS:
        if s == step:
            return round(min(1.0, done + STEP_WEIGHTS[s] * max(0.0, min(1.0, fraction))), 4)
        done += STEP_WEIGHTS[s]
    return 0.0


def step_title(name: str) -> str:
    return f"{STEP_TITLES[name]} ({STEPS.index(name) + 1}/{len(STEPS)})"


@dataclass
class StepRun:
    """The run a step belongs to: its job folder, run id, request and settings."""

    folder: JobFolder
    run_id: str
    request: AnalysisRequest
    settings: Settings

    @classmethod
    def in_folder(cls, path: Path, request: AnalysisRequest, run_id: str = "local",
                  settings: Optional[Settings] = None, job_id: Optional[str] = None) -> "StepRun":
        """A run writing into the folder ``path`` (created, with a fresh job_meta.json):
        for calling the steps one by one outside a runner (tests, notebooks)."""
        from liftflow.config import get_settings
        from liftflow.jobstore import new_job_id, new_meta

        folder = JobFolder(Path(path), job_id or new_job_id())
        folder.create()
        folder.write_meta(new_meta(folder.job_id, source={"type": "local"}, benchmark={},
                                   model_config={}))
        return cls(folder, run_id, request, settings or get_settings())


# --- bookkeeping ------------------------------------------------------------------------
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
        folder.update_meta(status="processing", timestamps=ts, error=None, verdict=None, runs=runs)
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


def failure_verdict(exc: Optional[BaseException]) -> Optional[str]:
    """The verdict code of a failed step (``liftflow.verdict``), None when the failure is not
    about following the plate (a corrupt video, an internal error)."""
    return getattr(exc, "verdict", None) if isinstance(exc, AnalysisError) else None


def mark_failed(folder: JobFolder, step_name: str, reason: str, run_id: str,
                verdict: Optional[str] = None) -> None:
    """Job failed at ``step_name``: drop the scratch spool, record the reason (and its verdict
    code, when it has one) in job_meta.json and pipeline.log."""
    from liftflow.render import plots_worker

    meta = folder.read_meta() or {}
    ts = dict(meta.get("timestamps") or {})
    ts["finished_at"] = now_iso()
    folder.drop_scratch()  # a re-execution decodes the video again for the overlay
    plots_worker.discard()
    folder.update_meta(status="failed", timestamps=ts,
                       error={"step": step_name, "reason": reason, "run_id": run_id},
                       verdict={"code": verdict, "message": reason} if verdict else None)
    folder.log(step_name, f"job failed: {reason}", level="ERROR")


# --- decode -----------------------------------------------------------------------------
def check_video(info: VideoInfo, req: AnalysisRequest, settings: Settings) -> None:
    """The request fits the video and the limits (AnalysisError with the reason otherwise)."""
    from liftflow.tracking.seed import SeedError, check_seed_fits

    if info.width * info.height > settings.max_pixels:
        raise AnalysisError(
            f"video resolution {info.width}x{info.height} exceeds the limit of "
            f"{settings.max_pixels} pixels per frame (LIFTFLOW_MAX_PIXELS)"
        )
    if settings.max_duration_s is not None and info.duration_s > settings.max_duration_s:
        raise AnalysisError(
            f"video lasts {info.duration_s:.1f} s, over the limit of {settings.max_duration_s:.0f} s "
            f"(LIFTFLOW_MAX_DURATION_S)"
        )
    if info.frame_count < 2:
        raise AnalysisError(f"video has {info.frame_count} frame(s); at least 2 are needed")
    try:
        check_seed_fits(req.disc_center_x, req.disc_center_y, req.disc_radius, req.seed_frame,
                        info.width, info.height, info.frame_count)
    except SeedError as exc:
        raise AnalysisError(str(exc)) from exc


def decode(run: StepRun) -> tuple[VideoInfo, dict]:
    """Probe the video (geometry, rotation, every frame's timestamp), check the request fits
    it, write pipeline_config.yaml and the video's metadata."""
    import yaml

    from liftflow.video import VideoError, probe

    folder, req, settings = run.folder, run.request, run.settings
    try:
        info = probe(req.video_path)
    except VideoError as exc:
        raise AnalysisError(str(exc)) from exc
    check_video(info, req, settings)
    resolved = {
        "job_id": folder.job_id,
        "run_id": run.run_id,
        "request": req.to_dict(),
        "settings": {
            "models_dir": str(settings.models_dir),
            "max_duration_s": settings.max_duration_s,
            "max_pixels": settings.max_pixels,
            "device": settings.device,
        },
        "video": info.to_dict(),
    }
    atomic_write_text(folder.file(CONFIG), yaml.safe_dump(resolved, sort_keys=False))
    folder.update_meta(video_metadata={
        "fps": info.fps, "width": info.width, "height": info.height,
        "duration_s": info.duration_s, "total_frames": info.frame_count,
        "rotation": info.rotation, "codec": info.codec,
        "variable_frame_rate": info.variable_frame_rate,
    })
    folder.log("decode", f"{info.width}x{info.height} {info.codec}, "
                         f"{info.frame_count} frames, {info.fps} fps, rotation {info.rotation}")
    md = {
        "frames": info.frame_count, "fps": info.fps,
        "resolution": f"{info.width}x{info.height}", "duration_s": info.duration_s,
        "rotation": info.rotation, "variable_frame_rate": info.variable_frame_rate,
        "video_path": req.video_path,
    }
    return info, md


# --- track_disc -------------------------------------------------------------------------
def skip_deblocking(settings: Settings, width: int, height: int) -> bool:
    """Decode without H.264's deblocking filter (LIFTFLOW_FAST_DECODE) only where the
    overlay shrinks the picture at least 2x: block edges then vanish; at full size they
    would show in the overlay."""
    from liftflow.render.spool import overlay_max_side

    return settings.fast_decode and overlay_max_side(width, height) <= 0.5 * max(width, height)


def _seed(req: AnalysisRequest, info: VideoInfo, progress: Optional[ProgressFn]):
    from liftflow.tracking import SeedCircle, TrackingError

    if req.has_seed:
        return SeedCircle(float(req.disc_center_x), float(req.disc_center_y),
                          float(req.disc_radius), int(req.seed_frame))
    report(progress, 0.0, "no seed given: looking for the near plate")
    from liftflow.tracking.autodetect import detect_seed

    try:
        return detect_seed(req.video_path, info)
    except TrackingError as exc:
        raise AnalysisError(str(exc), verdict=NO_PLATE_DETECTED) from exc


def _track(req: AnalysisRequest, info: VideoInfo, settings: Settings, job_dir: Path,
           progress: Optional[ProgressFn]) -> TrackResult:
    """Track the plate. With rendering on, the same decode also keeps small overlay frames
    in the job folder (``liftflow.render.spool``), so the overlay needs no second decode."""
    from liftflow.render.spool import SPOOL_NAME, FrameSpool, overlay_max_side, overlay_scale, spool_refusal
    from liftflow.tracking import TrackerUnavailable, TrackingError, create_tracker
    from liftflow.tracking.table import ObservationTable
    from liftflow.video import iter_frames

    t0 = time.perf_counter()
    try:
        tracker = create_tracker(req.backend, settings)
    except TrackerUnavailable as exc:
        raise AnalysisError(str(exc)) from exc
    seed = _seed(req, info, progress)
    spool = None
    why_not = "rendering is off" if not req.render else None
    max_side = overlay_max_side(info.width, info.height)
    if req.render:
        job_dir.mkdir(parents=True, exist_ok=True)
        why_not = spool_refusal(job_dir, info.width, info.height, info.frame_count, max_side)
        if why_not:
            report(progress, 0.0, why_not)
        else:
            spool = FrameSpool(job_dir / SPOOL_NAME, info.frame_count, max_side)
    fast = skip_deblocking(settings, info.width, info.height)
    shared_scale = overlay_scale(info.width, info.height, max_side)

    def source(start=0, stop=None, max_side=None, scale=None):
        # a tracker asking for nearly the overlay's size gets exactly it: both then share
        # one downscale of each frame (the tracker maps back with the frame's own size)
        if spool is not None and scale is not None and abs(scale / shared_scale - 1) <= 0.15:
            scale = shared_scale
        return iter_frames(req.video_path, start=start, stop=stop, max_side=max_side, scale=scale,
                           tap=spool.tap if spool else None, skip_loop_filter=fast,
                           lazy_bgr=getattr(tracker, "lazy_frames", False), decode_thread=True)

    try:
        with single_threaded_cv2():
            observations = tracker.track(req.video_path, info, seed, progress=progress,
                                         frame_source=source)
        if spool is not None:
            spool.close()
    except BaseException as exc:
        if spool is not None:
            spool.close()
            FrameSpool.remove(spool.path)
        if isinstance(exc, TrackingError):
            raise AnalysisError(str(exc)) from exc
        raise
    elapsed = time.perf_counter() - t0
    if not isinstance(observations, ObservationTable):
        observations = ObservationTable.from_observations(observations)
    track = TrackResult(backend=req.backend, seed=seed, observations=observations, seconds=elapsed,
                        overlay_spool_refused=why_not if spool is None else spool.problem)
    if track.tracked_frames == 0:
        raise AnalysisError(PLATE_NOT_FOUND_MESSAGE, verdict=PLATE_NOT_FOUND)
    return track


def track_disc(run: StepRun, info: VideoInfo,
               progress: Optional[ProgressFn] = None) -> tuple[TrackResult, dict]:
    """Track the plate through every frame from the seed circle (or an automatic one)."""
    folder, req = run.folder, run.request
    track = _track(req, info, run.settings, folder.path, progress)
    release_free_memory()
    s, seed = track.stats, track.seed.to_dict()
    folder.log("track_disc", f"backend {track.backend}: {s['tracked_frames']}/{s['frames']} "
                             f"frames tracked at {s['fps']} fps; seed {seed}")
    if req.render and track.overlay_spool_refused:
        folder.log("track_disc", f"overlay frames not kept: {track.overlay_spool_refused}",
                   "WARNING")
    md = {"backend": track.backend, "tracked_frames": s["tracked_frames"],
          "lost_frames": s["lost_frames"], "tracking_fps": s["fps"] or 0.0, "seed": seed}
    return track, md


# --- estimate_pose ----------------------------------------------------------------------
def estimate_pose(run: StepRun, info: VideoInfo, track: TrackResult,
                  progress: Optional[ProgressFn] = None) -> tuple[PoseResult, dict]:
    """Person box and pose keypoints; a no-op when both are off."""
    req = run.request
    if not req.pose_enabled:
        pose = PoseResult.disabled()
    else:
        from liftflow.pose import PoseUnavailable
        from liftflow.pose import estimate_pose as pose_of

        try:
            data = pose_of(req, info.to_dict(with_timestamps=True), track.as_pose_input(),
                           run.settings, progress)
        except PoseUnavailable as exc:
            raise AnalysisError(str(exc)) from exc
        pose = PoseResult(enabled=bool(data.get("enabled")), backend=req.pose_backend, data=data)
    run.folder.log("estimate_pose", "pose off" if not pose.enabled
                   else f"pose {req.pose_backend}: {pose.stats}")
    return pose, {"enabled": pose.enabled, "pose_backend": req.pose_backend}


# --- compute_metrics --------------------------------------------------------------------
def compute_metrics(run: StepRun, info: VideoInfo, track: TrackResult,
                    pose: PoseResult) -> tuple[Kinematics, dict]:
    """Calibrate from the plate, filter the path, compute kinematics, energy, power, reps;
    write metrics_calculator_output.json."""
    from liftflow.physics import PhysicsParams
    from liftflow.physics import compute_metrics as metrics_of
    from liftflow.render import plots_worker

    req = run.request
    if req.render:  # its start-up runs on the core this step leaves idle
        plots_worker.prestart()
    try:
        params = PhysicsParams(plate_diameter_m=req.plate_diameter_m, bar_mass_kg=req.bar_mass_kg,
                               plate_mass_kg=req.plate_mass_kg, plate_count=req.plate_count,
                               lift_type=req.lift_type, load_kg=req.load_kg)
    except ValueError as exc:  # a run config edited in the launchpad: the API checked already
        raise AnalysisError(str(exc)) from exc
    with gc_frozen():
        physics = metrics_of(track.observations, info.timestamps_s, params, pose_events=pose.events,
                             video_duration_s=info.duration_s)
        atomic_write_json(run.folder.file(METRICS), physics, compact=True)
    release_free_memory()  # the filters' and splines' temporaries
    kin = Kinematics(physics)
    run.folder.log("compute_metrics", f"summary {kin.summary}")
    verdict = kin.verdict
    if verdict.fails:  # nothing to read: a failed job says why (liftflow.verdict)
        raise AnalysisError(verdict.message, verdict=verdict.code)
    if verdict.code != OK:
        run.folder.log("compute_metrics", f"verdict {verdict.code}: {verdict.message}", "WARNING")
    md = {k: v for k, v in kin.summary.items() if isinstance(v, (int, float)) and v is not None}
    md["verdict"] = verdict.code
    return kin, md


# --- assemble_contract ------------------------------------------------------------------
def render(req: AnalysisRequest, result: dict, job_dir: Path,
           progress: Optional[ProgressFn] = None, plots=None) -> dict:
    """Overlay video and PNG plots into the job folder; returns {name: file relative to job_dir}.

    The plots are drawn by a ``liftflow.render.plots_worker.PlotsProcess`` beside the
    overlay pass: ``plots``, one already fed with this result, or one taken here."""
    from liftflow.render import plots_worker, render_overlay, render_plots
    from liftflow.render.spool import SPOOL_NAME, FrameSpool, overlay_max_side

    job_dir = Path(job_dir)
    md = result.get("metadata") or {}
    max_side = overlay_max_side(md.get("width") or 0, md.get("height") or 0)
    spool_path = job_dir / SPOOL_NAME
    spool = FrameSpool.load(spool_path, max_side)
    if plots is None:
        plots = plots_worker.take()
        plots.feed(result, job_dir / PLOTS_DIR)
    try:
        # ultrafast x264: ~0.6 ms CPU/frame at 404x720, half of superfast's
        with single_threaded_cv2():
            ov = render_overlay(req.video_path, result, job_dir / OVERLAY, progress=progress,
                                max_side=max_side, preset="ultrafast", spool=spool)
    except BaseException:
        FrameSpool.remove(spool_path)
        plots.finish(kill=True)
        raise
    # freeing the scratch file's blocks takes 0.05-0.15 s for a 30 s clip: done while the
    # plots process finishes
    remover = threading.Thread(target=FrameSpool.remove, args=(spool_path,), name="spool-remove")
    remover.start()
    try:
        drawn = plots.finish()
    finally:
        remover.join()
    if drawn is None:  # the plots process failed: draw them here (its error is in the log)
        drawn = render_plots(result, job_dir / PLOTS_DIR)
    out = {"overlay": OVERLAY, "plots": {k: f"{PLOTS_DIR}/{Path(v).name}" for k, v in drawn.items()},
           "overlay_fps": ov.get("fps"), "overlay_seconds": ov.get("seconds"),
           "overlay_source": "tracking's decode" if spool is not None else "second decode"}
    if ov.get("poster"):
        out["poster"] = Path(ov["poster"]).name
    return out


def build_contract(job_id: str, info: VideoInfo, track: TrackResult, pose: PoseResult,
                   kin: Kinematics) -> dict:
    """The ResultsContract (validated) of the stages' results."""
    from liftflow.contract import build_result

    return build_result(job_id, info.to_dict(with_timestamps=True), track.observations, kin.data,
                        seed=track.seed.to_dict(), pose=pose.data if pose.enabled else None,
                        tracking={"backend": track.backend, **track.stats})


def assemble_contract(run: StepRun, info: VideoInfo, track: TrackResult, pose: PoseResult,
                      kin: Kinematics, progress: Optional[ProgressFn] = None,
                      on_render_error: Optional[Callable[[str], None]] = None) -> tuple[Path, dict]:
    """result.json, then (``req.render``) overlay and plots, then the final job_meta.json.

    Returns (path of result.json, metadata); metadata holds ``result_json`` and ``job_dir``
    and, when rendered, ``plots`` ({name: path}) and ``overlay`` (path). ``track``,
    ``pose`` and ``kin`` are released once the contract is built: a caller that hands
    over its only references (``run_job``) frees the per-frame observations before the
    overlay renders."""
    from liftflow.render import plots_worker
    from liftflow.render.common import render_view

    folder, req = run.folder, run.request
    plots = None
    with gc_frozen():
        result = build_contract(folder.job_id, info, track, pose, kin)
        del track, pose, kin
        contract_version = result["results_contract_version"]
        verdict = result.get("verdict")
        summary = {**(result.get("summary") or {}),
                   "tracked_frames": (result.get("tracking") or {}).get("tracked_frames")}
        if req.render:  # the plots process draws while result.json is written
            plots = plots_worker.take()
            plots.feed(result, folder.path / PLOTS_DIR)
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
            artefacts = render(req, view, folder.path, progress, plots=plots)
            md["plots"] = {k: folder.path / v for k, v in artefacts["plots"].items()}
            md["overlay"] = folder.file(artefacts["overlay"])
            folder.log("assemble_contract", f"rendered overlay ({artefacts.get('overlay_fps')} fps) and plots")
        except Exception as exc:
            artefacts = {"error": f"{type(exc).__name__}: {exc}"}
            folder.log("assemble_contract", f"rendering failed (results are complete): {exc}", "WARNING")
            if on_render_error is not None:
                on_render_error(f"rendering failed: {exc}")
    del view
    _finish(run, artefacts, contract_version, verdict)
    md["result_json"] = folder.file(RESULT)
    md["job_dir"] = folder.path
    md["summary"] = summary
    return folder.file(RESULT), md


def _finish(run: StepRun, artefacts: dict, contract_version: str, verdict: Optional[dict]) -> None:
    """job_meta.json of a completed job: times, artefacts, verdict, the worker's peak memory and CPU."""
    meta = run.folder.read_meta() or {}
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
    run.folder.update_meta(
        status="completed",
        timestamps=ts,
        artefacts=artefacts,
        results_contract_version=contract_version,
        verdict=verdict,
        runtime={"worker_peak_rss_mb": peak_rss_mb(usage),
                 "worker_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                 "gpu": gpu,
                 "run_id": run.run_id},
    )
