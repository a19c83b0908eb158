"""The persisted model configuration behind /api/v1/config/* (survives restarts)."""

from __future__ import annotations

from liftflow.config import Settings
from liftflow.jobstore import atomic_write_json, read_json
from liftflow_api.schemas import ModelConfig


def load(settings: Settings) -> ModelConfig:
    """The saved configuration; the defaults when none is saved or it is unreadable."""
    data = read_json(settings.config_file)
    if not data:
        return ModelConfig()
    try:
        return ModelConfig(**data)
    except Exception:
        return ModelConfig()


def save(settings: Settings, cfg: ModelConfig) -> None:
    atomic_write_json(settings.config_file, cfg.model_dump())
