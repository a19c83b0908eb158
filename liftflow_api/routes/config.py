"""/api/v1/config/*: the default tracking backend and optional models, persisted on disk."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from liftflow.pose import pose_backends
from liftflow.tracking import BACKENDS, all_backends, backend_status
from liftflow_api import deps, model_config
from liftflow_api.model_config import POSE_BACKENDS, BackendUpdate, ModelConfigUpdate

router = APIRouter(prefix="/api/v1/config", tags=["config"])


def _check_backend(name: str) -> None:
    if name not in BACKENDS:
        raise HTTPException(422, detail=f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    st = backend_status(name, deps.service().settings)
    if not st.available:
        raise HTTPException(422, detail=f"backend {name!r} is unavailable: {st.reason}")


def _models_view(cfg: model_config.ModelConfig) -> dict:
    s = deps.service().settings
    return {**cfg.model_dump(),
            "available_backends": [b.name for b in all_backends(s) if b.available],
            "backends": {b.name: b.to_dict() for b in all_backends(s)},
            "pose_backends": {b["name"]: b for b in pose_backends(s)}}


@router.get("/models", summary="Current model configuration")
def get_models():
    return _models_view(model_config.load(deps.service().settings))


@router.post("/models", responses={422: {"description": "Unknown or unavailable backend"}}, summary="Set the tracking backend and optional models")
def set_models(update: ModelConfigUpdate):
    s = deps.service().settings
    cfg = model_config.load(s)
    if update.tracking_backend is not None:
        _check_backend(update.tracking_backend)
        cfg.tracking_backend = update.tracking_backend
    if update.pose_backend is not None:
        if update.pose_backend not in POSE_BACKENDS:
            raise HTTPException(422, detail=f"unknown pose backend {update.pose_backend!r}; known: {', '.join(POSE_BACKENDS)}")
        cfg.pose_backend = update.pose_backend
    if update.enable_person_detection is not None:
        cfg.enable_person_detection = update.enable_person_detection
    if update.enable_pose_estimation is not None:
        cfg.enable_pose_estimation = update.enable_pose_estimation
    model_config.save(s, cfg)
    return _models_view(cfg)


@router.get("/tracking-backend", summary="The default tracking backend")
def get_tracking_backend():
    s = deps.service().settings
    cfg = model_config.load(s)
    return {"backend": cfg.tracking_backend,
            "available_backends": [b.name for b in all_backends(s) if b.available]}


@router.post("/tracking-backend", responses={422: {"description": "Unknown or unavailable backend"}}, summary="Change the default tracking backend")
def set_tracking_backend(update: BackendUpdate):
    s = deps.service().settings
    _check_backend(update.backend)
    cfg = model_config.load(s)
    cfg.tracking_backend = update.backend
    model_config.save(s, cfg)
    return {"backend": cfg.tracking_backend, "message": f"Tracking backend set to {cfg.tracking_backend}"}
