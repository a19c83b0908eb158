"""/api/v1/config/*: the default tracking backend and optional models, persisted on disk."""

from __future__ import annotations

from fastapi import APIRouter

from liftflow.config import Settings
from liftflow.errors import InputError
from liftflow.pose import pose_backends
from liftflow.tracking import all_backends
from liftflow_api.deps import Service
from liftflow_api.schemas import BackendUpdate, ModelConfig, ModelConfigUpdate
from liftflow_api.services import model_config
from liftflow_api.services.backends import POSE_BACKENDS, check_tracking_backend

router = APIRouter(prefix="/api/v1/config", tags=["config"])

UNUSABLE = {422: {"description": "Unknown or unavailable backend"}}


def _available(s: Settings) -> list[str]:
    return [b.name for b in all_backends(s) if b.available]


def _models_view(s: Settings, cfg: ModelConfig) -> dict:
    return {**cfg.model_dump(),
            "available_backends": _available(s),
            "backends": {b.name: b.to_dict() for b in all_backends(s)},
            "pose_backends": {b["name"]: b for b in pose_backends(s)}}


@router.get("/models", summary="Current model configuration")
def get_models(svc: Service):
    return _models_view(svc.settings, model_config.load(svc.settings))


@router.post("/models", responses=UNUSABLE, summary="Set the tracking backend and optional models")
def set_models(update: ModelConfigUpdate, svc: Service):
    s = svc.settings
    cfg = model_config.load(s)
    if update.tracking_backend is not None:
        cfg.tracking_backend = check_tracking_backend(update.tracking_backend, s)
    if update.pose_backend is not None:
        if update.pose_backend not in POSE_BACKENDS:
            raise InputError(f"unknown pose backend {update.pose_backend!r}; known: {', '.join(POSE_BACKENDS)}")
        cfg.pose_backend = update.pose_backend
    if update.enable_person_detection is not None:
        cfg.enable_person_detection = update.enable_person_detection
    if update.enable_pose_estimation is not None:
        cfg.enable_pose_estimation = update.enable_pose_estimation
    model_config.save(s, cfg)
    return _models_view(s, cfg)


@router.get("/tracking-backend", summary="The default tracking backend")
def get_tracking_backend(svc: Service):
    cfg = model_config.load(svc.settings)
    return {"backend": cfg.tracking_backend, "available_backends": _available(svc.settings)}


@router.post("/tracking-backend", responses=UNUSABLE, summary="Change the default tracking backend")
def set_tracking_backend(update: BackendUpdate, svc: Service):
    s = svc.settings
    check_tracking_backend(update.backend, s)
    cfg = model_config.load(s)
    cfg.tracking_backend = update.backend
    model_config.save(s, cfg)
    return {"backend": cfg.tracking_backend, "message": f"Tracking backend set to {cfg.tracking_backend}"}
