"""The analysis steps as plain functions: the Dagster ops and the CLI both call these.

decode -> track_disc -> estimate_pose -> compute_metrics -> assemble_contract

Each step takes and returns plain values (video info, per-frame observations, time
series: dicts, lists, numbers, and small numpy arrays for outlines; Dagster pickles them
between ops); frames never leave a step, each step that needs pixels streams the file.
Bad input raises AnalysisError with a sentence a user can act on.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from liftflow.config import Settings, get_settings
from liftflow.errors import AnalysisError
from liftflow.progress import ProgressFn, report

STEPS = ("decode", "track_disc", "estimate_pose", "compute_metrics", "assemble_contract")
STEP_TITLES = {
    "decode": "Reading video",
    "track_disc": "Tracking disc",
    "estimate_pose": "Estimating pose",
    "compute_metrics": "Computing metrics",
    "assemble_contract": "Assembling results",
}
POSE_OFF = "off"
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


@contextlib.contextmanager
def single_threaded_cv2():
    """OpenCV without its own thread pool for a step that is already parallel (decoder
    threads, a decode thread beside the tracker, an encoder thread beside the drawing):
    cv2 splitting each small resize or colour conversion over the cores costs ~30% more
    CPU for no wall-clock gain when every core is busy anyway."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


@dataclass
class AnalysisRequest:
    """Everything a run needs; also the run config the Dagster launchpad shows and edits."""

    video_path: str
    disc_center_x: Optional[float] = None
    disc_center_y: Optional[float] = None
    disc_radius: Optional[float] = None
    seed_frame: int = 0
    backend: str = "classic"
    pose_backend: str = POSE_OFF  # "off" | "mediapipe" | "yolo"
    enable_person_detection: bool = False
    lift_type: Optional[str] = None
    plate_diameter_m: float = 0.45
    bar_mass_kg: float = 20.0
    plate_mass_kg: float = 20.0
    plate_count: int = 2
    pose_stride: int = 1
    render: bool = True  # overlay video + plots beside result.json
    extra: dict = field(default_factory=dict)

    @property
    def has_seed(self) -> bool:
        return None not in (self.disc_center_x, self.disc_center_y, self.disc_radius)

    def to_dict(self) -> dict:
        return asdict(self)


# --- decode -----------------------------------------------------------------------------
def decode_step(req: AnalysisRequest, settings: Optional[Settings] = None) -> dict:
    """Probe the video (geometry, rotation, every frame's timestamp) and check the request fits it."""
    from liftflow.video import VideoError, probe

    settings = settings or get_settings()
    try:
        info = probe(req.video_path)
    except VideoError as exc:
        raise AnalysisError(str(exc)) from exc
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
    from liftflow.tracking.seed import SeedError, check_seed_fits

    try:
        check_seed_fits(req.disc_center_x, req.disc_center_y, req.disc_radius, req.seed_frame,
                        info.width, info.height, info.frame_count)
    except SeedError as exc:
        raise AnalysisError(str(exc)) from exc
    return info.to_dict(with_timestamps=True)


# --- track_disc -------------------------------------------------------------------------
def track_step(
    req: AnalysisRequest,
    video_info: dict,
    settings: Optional[Settings] = None,
    progress: Optional[ProgressFn] = None,
    job_dir: Optional[Path] = None,
) -> dict:
    """Track the plate. With ``job_dir`` and rendering on, the same decode also keeps small
    overlay frames there (``liftflow.render.spool``), so the overlay needs no second decode."""
    from liftflow.tracking import TrackerUnavailable, SeedCircle, TrackingError, create_tracker
    from liftflow.video import VideoInfo, iter_frames

    settings = settings or get_settings()
    info = VideoInfo(**video_info)
    t0 = time.perf_counter()
    try:
        tracker = create_tracker(req.backend, settings)
    except TrackerUnavailable as exc:
        raise AnalysisError(str(exc)) from exc
    if req.has_seed:
        seed = SeedCircle(float(req.disc_center_x), float(req.disc_center_y),
                          float(req.disc_radius), int(req.seed_frame))
    else:
        report(progress, 0.0, "no seed given: looking for the near plate")
        try:
            from liftflow.tracking.autodetect import detect_seed
        except ImportError as exc:  # pragma: no cover - shipped with the package
            raise AnalysisError(f"automatic plate detection is unavailable: {exc}") from exc
        try:
            seed = detect_seed(req.video_path, info)
        except TrackingError as exc:
            raise AnalysisError(str(exc)) from exc
    spool = None
    why_not = "rendering is off" if not req.render else (
        "no job folder to keep frames in" if job_dir is None else None)
    max_side = overlay_max_side(info.width, info.height)
    if req.render and job_dir is not None:
        from liftflow.render.spool import SPOOL_NAME, FrameSpool, spool_refusal

        Path(job_dir).mkdir(parents=True, exist_ok=True)
        why_not = spool_refusal(Path(job_dir), info.width, info.height, info.frame_count, max_side)
        if why_not:
            report(progress, 0.0, why_not)
        else:
            spool = FrameSpool(Path(job_dir) / SPOOL_NAME, info.frame_count, max_side)
    fast = skip_deblocking(settings, info.width, info.height)
    from liftflow.render.spool import overlay_scale

    shared_scale = overlay_scale(info.width, info.height, max_side)

    def source(start=0, stop=None, max_side=None, scale=None):
        # a tracker asking for nearly the overlay's size gets exactly it: both then share
        # one downscale of each frame (the tracker maps back with the frame's own size)
        if spool is not None and scale is not None and abs(scale / shared_scale - 1) <= 0.15:
            scale = shared_scale
        return iter_frames(req.video_path, start=start, stop=stop, max_side=max_side, scale=scale,
                           tap=spool.tap if spool else None, skip_loop_filter=fast,
                           lazy_bgr=getattr(tracker, "lazy_frames", False))

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
    from liftflow.tracking.table import ObservationTable

    if not isinstance(observations, ObservationTable):
        observations = ObservationTable.from_observations(observations)
    n_tracked = int(observations.tracked_mask().sum())
    if n_tracked == 0:
        raise AnalysisError("the plate was not found in any frame; check the seed circle")
    return {
        "backend": req.backend,
        "seed": seed.to_dict(),
        # why the overlay will decode the video again (None: it reuses tracking's decode)
        "overlay_spool_refused": why_not if spool is None else spool.problem,
        # DiscObservation.to_dict() per frame, built when read, stored as columns
        "observations": observations.dicts(),
        "stats": {
            "frames": len(observations),
            "tracked_frames": n_tracked,
            "lost_frames": len(observations) - n_tracked,
            "seconds": round(elapsed, 3),
            "fps": round(len(observations) / elapsed, 2) if elapsed > 0 else None,
        },
    }


# --- estimate_pose ----------------------------------------------------------------------
def pose_step(
    req: AnalysisRequest,
    video_info: dict,
    track: dict,
    settings: Optional[Settings] = None,
    progress: Optional[ProgressFn] = None,
) -> dict:
    """Person box and pose keypoints; a no-op when both are off."""
    if req.pose_backend in (None, "", POSE_OFF) and not req.enable_person_detection:
        return {"enabled": False}
    from liftflow.pose import PoseUnavailable, estimate_pose

    try:
        return estimate_pose(req, video_info, track, settings or get_settings(), progress)
    except PoseUnavailable as exc:
        raise AnalysisError(str(exc)) from exc


# --- compute_metrics --------------------------------------------------------------------
def metrics_step(req: AnalysisRequest, video_info: dict, track: dict, pose: Optional[dict]) -> dict:
    from liftflow.physics import PhysicsParams, compute_metrics
    from liftflow.tracking import DiscObservation

    params = PhysicsParams(
        plate_diameter_m=req.plate_diameter_m,
        bar_mass_kg=req.bar_mass_kg,
        plate_mass_kg=req.plate_mass_kg,
        plate_count=req.plate_count,
        lift_type=req.lift_type,
    )
    observations = track["observations"]
    table = getattr(observations, "table", None)  # ObservationDicts: its columns
    observations = table if table is not None else [DiscObservation.from_dict(o) for o in observations]
    pose_events = (pose or {}).get("events") if pose else None
    return compute_metrics(observations, video_info["timestamps_s"], params, pose_events=pose_events)


# --- assemble_contract ------------------------------------------------------------------
def assemble_step(job_id: str, video_info: dict, track: dict, pose: Optional[dict],
                  physics: dict) -> dict:
    from liftflow.contract import build_result

    tracking = {"backend": track["backend"], **track.get("stats", {})}
    return build_result(
        job_id,
        video_info,
        track["observations"],
        physics,
        seed=track.get("seed"),
        pose=pose if pose and pose.get("enabled") else None,
        tracking=tracking,
    )


OVERLAY = "overlay.mp4"


def skip_deblocking(settings: Settings, width: int, height: int) -> bool:
    """Decode without H.264's deblocking filter (LIFTFLOW_FAST_DECODE) only where the
    overlay shrinks the picture at least 2x: block edges then vanish; at full size they
    would show in the overlay."""
    return settings.fast_decode and overlay_max_side(width, height) <= 0.5 * max(width, height)


def overlay_max_side(width: int, height: int) -> int:
    """The overlay's longer side: 720 px for portrait phone clips (404x720 from 1080x1920:
    lines and labels stay crisp on a phone), 1080 px otherwise."""
    return 720 if height > width else 1080

POSTER = "overlay_poster.jpg"
PLOTS_DIR = "plots"


def render_step(req: AnalysisRequest, result: dict, job_dir: Path,
                progress: Optional[ProgressFn] = None, plots=None) -> dict:
    """Overlay video and PNG plots into the job folder; returns {name: file relative to job_dir}.

    The plots are drawn by a ``liftflow.render.plots_worker.PlotsProcess`` beside the
    overlay pass: ``plots``, one already fed with this result, or one taken here."""
    from liftflow.render import plots_worker, render_overlay, render_plots
    from liftflow.render.spool import SPOOL_NAME, FrameSpool

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


def video_suffix_ok(name: str) -> bool:
    from liftflow.config import SUPPORTED_FORMATS

    return Path(name).suffix.lower() in SUPPORTED_FORMATS
