"""The per-run request as a Dagster resource: the launchpad shows and edits it as run config."""

from __future__ import annotations

from typing import Optional

from dagster import ConfigurableResource
from pydantic import Field

from liftflow.analysis import POSE_OFF, AnalysisRequest
from liftflow.jobstore import JobFolder


class LiftRequest(ConfigurableResource):
    """One submission: which video, which seed, which backends, where results go."""

    job_id: str = Field(description="LiftFlow job id; results land in job_dir")
    job_dir: str = Field(description="Folder for result.json, job_meta.json, pipeline.log, ...")
    video_path: str = Field(description="Absolute path of the video to analyse")
    disc_center_x: Optional[float] = Field(default=None, description="Seed circle centre x (px)")
    disc_center_y: Optional[float] = Field(default=None, description="Seed circle centre y (px)")
    disc_radius: Optional[float] = Field(default=None, description="Seed circle radius (px)")
    seed_frame: int = Field(default=0, description="Frame index of the seed circle")
    backend: str = Field(default="classic", description="Disc tracking backend")
    pose_backend: str = Field(default=POSE_OFF, description="off | mediapipe | yolo")
    enable_person_detection: bool = False
    lift_type: Optional[str] = Field(default=None, description="squat, snatch, clean, ...")
    plate_diameter_m: float = 0.45
    bar_mass_kg: float = 20.0
    plate_mass_kg: float = 20.0
    plate_count: int = 2
    pose_stride: int = 1
    render: bool = Field(default=True, description="Overlay video and plots beside result.json")

    def analysis_request(self) -> AnalysisRequest:
        return AnalysisRequest(
            video_path=self.video_path,
            disc_center_x=self.disc_center_x,
            disc_center_y=self.disc_center_y,
            disc_radius=self.disc_radius,
            seed_frame=self.seed_frame,
            backend=self.backend,
            pose_backend=self.pose_backend,
            enable_person_detection=self.enable_person_detection,
            lift_type=self.lift_type,
            plate_diameter_m=self.plate_diameter_m,
            bar_mass_kg=self.bar_mass_kg,
            plate_mass_kg=self.plate_mass_kg,
            plate_count=self.plate_count,
            pose_stride=self.pose_stride,
            render=self.render,
        )

    def folder(self) -> JobFolder:
        return JobFolder(self.job_dir, self.job_id)


def run_config_for(request: dict) -> dict:
    """The run config of a lift_analysis run from LiftRequest fields."""
    return {"resources": {"lift": {"config": {k: v for k, v in request.items() if v is not None}}}}
