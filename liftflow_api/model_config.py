"""The persisted model configuration behind /api/v1/config/* (survives restarts)."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel

from liftflow.config import Settings
from liftflow.jobstore import atomic_write_json, read_json
from liftflow.tracking import DEFAULT_BACKEND

POSE_BACKENDS = ("mediapipe", "yolo")


class ModelConfig(BaseModel):
    tracking_backend: str = DEFAULT_BACKEND
    enable_person_detection: bool = False
    enable_pose_estimation: bool = False
    pose_backend: str = "mediapipe"


class ModelConfigUpdate(BaseModel):
    tracking_backend: Optional[str] = None
    enable_person_detection: Optional[bool] = None
    enable_pose_estimation: Optional[bool] = None
    pose_backend: Optional[str] = None


class BackendUpdate(BaseModel):
    backend: str


def load(settings: Settings) -> ModelConfig:
    data = read_json(settings.config_file)
    if not data:
        return ModelConfig()
    try:
        return ModelConfig(**data)
    except Exception:
        return ModelConfig()


def save(settings: Settings, cfg: ModelConfig) -> None:
    atomic_write_json(settings.config_file, cfg.model_dump())
