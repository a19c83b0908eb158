"""The analysis pipeline: one request, five steps, a typed result per step.

::

    AnalysisRequest (request.py: the one field list; also the Dagster run config)
        |
    decode ----------> VideoInfo      probe, limits, seed fits the video
    track_disc ------> TrackResult    plate per frame (ObservationTable); overlay frames spooled
    estimate_pose ---> PoseResult     person box / keypoints, or disabled
    compute_metrics -> Kinematics     calibration, filtering, kinematics, reps, phases
    assemble_contract  result.json    ResultsContract v2, then overlay video and plots
        (steps.py: each step = the library call + its job-folder bookkeeping)

Two runners call ``steps`` and nothing else: the Dagster ops
(``liftflow.orchestration.ops``, one op per step) and ``run.run_job`` (``liftflow analyze``,
in process). ``memory.py`` holds the between-step housekeeping (heap trimming, gc freezing).
The domain packages it calls (video, tracking, pose, physics, contract, render) know nothing
of it; nothing here imports Dagster.
"""

from liftflow.pipeline.request import POSE_OFF, AnalysisRequest
from liftflow.pipeline.stages import Kinematics, PoseResult, TrackResult
from liftflow.pipeline.steps import STEP_TITLES, STEPS, StepRun, overall_progress, step_title

__all__ = ["POSE_OFF", "STEPS", "STEP_TITLES", "AnalysisRequest", "Kinematics", "PoseResult",
           "StepRun", "TrackResult", "overall_progress", "step_title"]
