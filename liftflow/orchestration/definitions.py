"""Dagster Definitions loaded by the code server (``-m liftflow.orchestration.definitions``).

Heavy libraries (torch, cv2, ultralytics, cutie) are imported inside the steps, so the
long-lived code server stays small and each run starts fast.
"""

from __future__ import annotations

import warnings

from dagster import BetaWarning, Definitions, FilesystemIOManager, in_process_executor, job

# Dagster's own sensor decorator passes a beta parameter (owners) internally; the notice
# is about Dagster's code, not ours, and would otherwise print on every CLI command.
warnings.filterwarnings("ignore", category=BetaWarning)

from liftflow.orchestration.ops import (
    assemble_contract,
    compute_metrics,
    decode,
    estimate_pose,
    mark_job_failed,
    track_disc,
)
from liftflow.orchestration.resources import LiftRequest
from liftflow.orchestration.sweep import SWEEP_JOBS, SWEEP_SCHEDULES, SWEEP_SENSORS

from liftflow.orchestration.names import ANALYSIS_JOB as JOB_NAME


@job(
    name=JOB_NAME,
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


defs = Definitions(
    jobs=[lift_analysis, *SWEEP_JOBS],
    sensors=SWEEP_SENSORS,
    schedules=SWEEP_SCHEDULES,
    resources={
        "lift": LiftRequest.configure_at_launch(),
        # Outputs are pickled under DAGSTER_HOME/storage/<run_id>/, so "re-execute from
        # failure" reuses the steps that succeeded.
        "io_manager": FilesystemIOManager(),
    },
)
