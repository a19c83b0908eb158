"""/api/v1/config/*: the default tracking backend and optional models, persisted on disk.

The POSTs answer 200 with ``success`` and ``message`` (the original server's keys) also when a
backend is refused (unknown, or unavailable here): ``success: false``, the reason in
``message`` and ``refused``, and the update's other fields applied and saved (``applied``).
A 4xx would tell a client that nothing changed; the control panel, which ignores the answer,
works either way. Malformed bodies (wrong types) are still 422 and change nothing.
"""

from __future__ import annotations

from fastapi import APIRouter

from liftflow.config import Settings
from liftflow.errors import InputError
from liftflow.pose import pose_backends
from liftflow.tracking import all_backends
from liftflow_api.deps import Service
from liftflow_api.schemas import BackendUpdate, ModelConfig, ModelConfigUpdate
from liftflow_api.services import model_config
from liftflow_api.services.submit import backend_field

router = APIRouter(prefix="/api/v1/config", tags=["config"])

ANSWERS = {200: {"description": "`success: false` with the reason when a backend was refused (unknown or "
                                "unavailable here); the other fields of the update are applied anyway"},
           422: {"description": "Malformed body (nothing applied)"}}


def _available(s: Settings) -> list[str]:
    return [b.name for b in all_backends(s) if b.available]


def _models_view(s: Settings, cfg: ModelConfig) -> dict:
    return {**cfg.model_dump(),
            "available_backends": _available(s),
            "backends": {b.name: b.to_dict() for b in all_backends(s)},
            "pose_backends": {b["name"]: b for b in pose_backends(s)}}


def _backend_view(s: Settings, cfg: ModelConfig) -> dict:
    return {"tracking_backend": cfg.tracking_backend, "backend": cfg.tracking_backend,
            "available_backends": _available(s)}


@router.get("/models", summary="Current model configuration")
def get_models(svc: Service):
    return _models_view(svc.settings, model_config.load(svc.settings))


@router.post("/models", responses=ANSWERS, summary="Set the tracking backend and optional models")
def set_models(update: ModelConfigUpdate, svc: Service):
    out = model_config.apply_update(svc.settings, update.model_dump())
    return {**_models_view(svc.settings, out.config), **out.answer()}


@router.get("/tracking-backend", summary="The default tracking backend")
def get_tracking_backend(svc: Service):
    return _backend_view(svc.settings, model_config.load(svc.settings))


@router.post("/tracking-backend", responses=ANSWERS, summary="Change the default tracking backend")
def set_tracking_backend(update: BackendUpdate, svc: Service):
    name = backend_field(update.backend, update.tracking_backend)
    if name is None:
        raise InputError("give the backend: {\"tracking_backend\": \"classic\"} (or \"backend\")")
    out = model_config.apply_update(svc.settings, {"tracking_backend": name})
    answer = out.answer()
    if out.success:
        answer["message"] = f"Tracking backend set to {name}"
    return {**_backend_view(svc.settings, out.config), **answer}
