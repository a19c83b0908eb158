"""All five steps in this process (``liftflow analyze``): the same job folder as a Dagster run."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from liftflow.config import Settings, get_settings
from liftflow.jobstore import JobFolder
from liftflow.pipeline import steps
from liftflow.pipeline.request import AnalysisRequest
from liftflow.pipeline.steps import STEPS, StepRun, failure_reason, failure_verdict, mark_failed, step

__all__ = ["run_job"]


def run_job(folder: JobFolder, run_id: str, req: AnalysisRequest,
            settings: Optional[Settings] = None,
            on_render_error: Optional[Callable[[str], None]] = None,
            summary_into: Optional[dict] = None) -> Optional[Path]:
    """decode -> track_disc -> estimate_pose -> compute_metrics -> assemble_contract in this
    process, with the same job-folder bookkeeping as the Dagster job. Returns result.json's
    path, or None when a step failed (job_meta.json then holds ``error``: step and reason).
    ``summary_into``: filled with the result's summary and ``tracked_frames`` (so a caller
    that prints them need not parse result.json back: 0.3 s for a 2 min clip)."""
    run = StepRun(folder, run_id, req, settings or get_settings())
    name = STEPS[0]
    try:
        with step(folder, run_id, name):
            info, _ = steps.decode(run)
        name = "track_disc"
        with step(folder, run_id, name) as progress:
            track, _ = steps.track_disc(run, info, progress)
        name = "estimate_pose"
        with step(folder, run_id, name) as progress:
            pose, _ = steps.estimate_pose(run, info, track, progress)
        name = "compute_metrics"
        with step(folder, run_id, name):
            kin, _ = steps.compute_metrics(run, info, track, pose)
        name = "assemble_contract"
        # hand over the only references: assemble_contract drops the observations (every
        # frame's outline) and the physics series once the contract holds what it needs
        inputs = {"track": track, "pose": pose, "kin": kin}
        del track, pose, kin
        with step(folder, run_id, name) as progress:
            path, md = steps.assemble_contract(run, info, inputs.pop("track"), inputs.pop("pose"),
                                               inputs.pop("kin"), progress,
                                               on_render_error=on_render_error)
        if summary_into is not None:
            summary_into.update(md["summary"])
        return path
    except Exception as exc:
        mark_failed(folder, name, failure_reason(exc), run_id, failure_verdict(exc))
        return None
