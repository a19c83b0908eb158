"""The five ops of lift_analysis. Each is thin: the step and its job-folder bookkeeping are
``liftflow.pipeline.steps`` (shared with ``liftflow analyze``, which runs them without
Dagster); an op adds the Dagster side: worker tags, output metadata, event log.

Every op writes the job folder's progress file and pipeline.log, and records its timing in
job_meta.json. LiftFlow's errors (``liftflow.errors.LiftFlowError``) become
``dagster.Failure`` here, in one place, with the readable reason as description; the
failure hook copies it into job_meta.json.
"""

import contextlib
import os
import socket
import sys
from typing import Optional

from dagster import (
    Failure,
    HookContext,
    MetadataValue,
    OpExecutionContext,
    failure_hook,
    op,
)

from liftflow.errors import LiftFlowError
from liftflow.orchestration.names import MAX_RUNTIME_TAG, WORKER_HOST_TAG, WORKER_NAME_TAG, WORKER_PID_TAG
from liftflow.orchestration.resources import LiftRequest
from liftflow.pipeline import steps
from liftflow.pipeline.stages import Kinematics, PoseResult, TrackResult
from liftflow.video import VideoInfo


def _run(context, lift: LiftRequest) -> steps.StepRun:
    from liftflow.config import get_settings

    return steps.StepRun(lift.folder(), context.run_id, lift.analysis_request(), get_settings())


def _celery_worker() -> Optional[str]:
    """The Celery worker (``name@host``) running this run, in the scaled profile; else None.
    A run outside Celery never imports it (0.2 s of every embedded run's start)."""
    if "celery" not in sys.modules:
        return None
    from celery import current_task

    return getattr(current_task.request, "hostname", None) if current_task else None


@contextlib.contextmanager
def _step(context: OpExecutionContext, lift: LiftRequest, name: str):
    """``steps.step`` (progress, log, timing) plus the Dagster side: worker tags, event log,
    a LiftFlow error as ``dagster.Failure``."""
    # The worker's pid lets start-up reconciliation tell a live run from a dead one.
    worker = {WORKER_PID_TAG: str(os.getpid()), WORKER_HOST_TAG: socket.gethostname()}
    if (celery_worker := _celery_worker()) is not None:
        worker[WORKER_NAME_TAG] = celery_worker
    if any(context.run.tags.get(k) != v for k, v in worker.items()):
        context.instance.add_run_tags(context.run_id, worker)
    context.log.info(f"{steps.step_title(name)} started")
    try:
        with steps.step(lift.folder(), context.run_id, name) as progress:
            yield progress
    except LiftFlowError as exc:
        reason = steps.failure_reason(exc)
        md = {"step": name, "reason": reason}
        if (verdict := steps.failure_verdict(exc)) is not None:
            md["verdict"] = verdict
        raise Failure(description=reason, metadata=md) from exc


@op(description="Probe the video: geometry, rotation, per-frame timestamps; validate the request.")
def decode(context: OpExecutionContext, lift: LiftRequest) -> VideoInfo:
    run = _run(context, lift)
    with _step(context, lift, "decode"):
        info, md = steps.decode(run)
    # run monitoring fails the run past this: now that the video's length is known
    limit = str(run.settings.max_runtime_s(info.duration_s))
    if context.run.tags.get(MAX_RUNTIME_TAG) != limit:
        context.instance.add_run_tags(context.run_id, {MAX_RUNTIME_TAG: limit})
    md["video_path"] = MetadataValue.path(md["video_path"])
    context.add_output_metadata(md)
    return info


@op(description="Track the plate through every frame from the seed circle (or an automatic one).")
def track_disc(context: OpExecutionContext, lift: LiftRequest, video_info: VideoInfo) -> TrackResult:
    with _step(context, lift, "track_disc") as progress:
        track, md = steps.track_disc(_run(context, lift), video_info, progress)
    md["seed"] = MetadataValue.json(md["seed"])
    context.add_output_metadata(md)
    return track


@op(description="Person box and pose keypoints when enabled; a fast no-op otherwise.")
def estimate_pose(context: OpExecutionContext, lift: LiftRequest, video_info: VideoInfo,
                  track: TrackResult) -> PoseResult:
    with _step(context, lift, "estimate_pose") as progress:
        pose, md = steps.estimate_pose(_run(context, lift), video_info, track, progress)
    context.add_output_metadata(md)
    return pose


@op(description="Calibrate from the plate, filter the path, compute kinematics, energy, power, reps.")
def compute_metrics(context: OpExecutionContext, lift: LiftRequest, video_info: VideoInfo,
                    track: TrackResult, pose: PoseResult) -> Kinematics:
    with _step(context, lift, "compute_metrics"):
        kin, md = steps.compute_metrics(_run(context, lift), video_info, track, pose)
    context.add_output_metadata(md)
    return kin


@op(description="Build the ResultsContract and write result.json and the final job_meta.json.")
def assemble_contract(context: OpExecutionContext, lift: LiftRequest, video_info: VideoInfo,
                      track: TrackResult, pose: PoseResult, physics: Kinematics) -> str:
    with _step(context, lift, "assemble_contract") as progress:
        path, md = steps.assemble_contract(_run(context, lift), video_info, track, pose, physics,
                                           progress, on_render_error=context.log.warning)
    extra = {}
    if "plots" in md:
        from liftflow.render import plots_markdown

        extra["plots"] = MetadataValue.md(plots_markdown(md["plots"]))
    if "overlay" in md:
        extra["overlay"] = MetadataValue.path(str(md["overlay"]))
    context.add_output_metadata({"result_json": MetadataValue.path(str(md["result_json"])),
                                 "job_dir": MetadataValue.path(str(md["job_dir"])), **extra})
    return str(path)


@failure_hook(required_resource_keys={"lift"})
def mark_job_failed(context: HookContext) -> None:
    """Copy the readable reason of a failed step into job_meta.json and pipeline.log."""
    lift: LiftRequest = context.resources.lift
    exc = context.op_exception
    reason = exc.description if isinstance(exc, Failure) and exc.description else (
        steps.failure_reason(exc))
    verdict = (exc.metadata or {}).get("verdict") if isinstance(exc, Failure) else None
    steps.mark_failed(lift.folder(), context.op.name, reason, context.run_id,
                      getattr(verdict, "value", verdict))
