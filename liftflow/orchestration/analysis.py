"""The lift_analysis job: one run per submission, its five ops in one process."""

from __future__ import annotations

from dagster import Definitions, FilesystemIOManager, in_process_executor, job

from liftflow.orchestration.names import ANALYSIS_JOB
from liftflow.orchestration.ops import (
    assemble_contract,
    compute_metrics,
    decode,
    estimate_pose,
    mark_job_failed,
    track_disc,
)
from liftflow.orchestration.resources import LiftRequest

__all__ = ["analysis_defs", "lift_analysis"]


@job(
    name=ANALYSIS_JOB,
    # one process for all five ops: no per-op start-up (~1 s each with a process per op)
    executor_def=in_process_executor,
    hooks={mark_job_failed},
    description="One submission: decode -> track_disc -> estimate_pose -> compute_metrics -> assemble_contract",
)
def lift_analysis():
    info = decode()
    track = track_disc(info)
    pose = estimate_pose(info, track)
    physics = compute_metrics(info, track, pose)
    assemble_contract(info, track, pose, physics)


analysis_defs = Definitions(
    jobs=[lift_analysis],
    resources={
        "lift": LiftRequest.configure_at_launch(),
        # Outputs are pickled under DAGSTER_HOME/storage/<run_id>/, so "re-execute from
        # failure" reuses the steps that succeeded.
        "io_manager": FilesystemIOManager(),
    },
)
