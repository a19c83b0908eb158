"""The persisted model configuration behind /api/v1/config/* (survives restarts).

``apply_update`` applies what it can of an update: a refused backend (tracking or pose;
unknown, or unavailable here: no weights, no package) leaves the saved backend as it was,
and the other fields still apply. The original
server's control panel sends ``{"tracking_backend": "cutie", "enable_person_detection": ...,
"enable_pose_estimation": ...}`` on every toggle and ignores the answer; refusing the whole
update would leave its switches without effect on a server without Cutie's weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

from liftflow.config import Settings
from liftflow.errors import BackendUnavailable, InputError
from liftflow.jobstore import atomic_write_json, read_json
from liftflow_api.schemas import ModelConfig
from liftflow_api.services.backends import POSE_BACKENDS, check_pose_backend, check_tracking_backend

log = logging.getLogger("liftflow_api")

FLAGS = ("enable_person_detection", "enable_pose_estimation")


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


@dataclass
class UpdateOutcome:
    """What an update did: the configuration now saved, the fields applied, the ones refused
    (``{field: {"value", "reason"}}``, the reason without server paths)."""

    config: ModelConfig
    applied: dict[str, Any] = field(default_factory=dict)
    refused: dict[str, dict] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return not self.refused

    def message(self) -> str:
        applied = ", ".join(f"{k}={v}" for k, v in self.applied.items())
        if self.success:
            return f"Applied: {applied}" if applied else "Nothing to change"
        refused = "; ".join(f"{k} {r['value']!r} not applied: {r['reason']}" for k, r in self.refused.items())
        return f"{refused}. " + (f"Applied: {applied}" if applied else "Nothing else was applied")

    def answer(self) -> dict:
        return {"success": self.success, "message": self.message(), "applied": self.applied,
                "refused": self.refused}


def _check_pose_backend(name: str, settings: Settings) -> str:
    """``name`` when it is a known pose backend that can run here (InputError, PoseUnavailable)."""
    if name not in POSE_BACKENDS:
        raise InputError(f"unknown pose backend {name!r}; known: {', '.join(POSE_BACKENDS)}")
    check_pose_backend(name, False, settings)
    return name


def apply_update(settings: Settings, changes: dict[str, Optional[Any]]) -> UpdateOutcome:
    """Apply the fields of ``changes`` that are not None (``tracking_backend``, ``pose_backend``,
    the two flags) to the saved configuration and save it; a backend that is unknown or cannot
    run here is refused and the rest still applies."""
    cfg = load(settings)
    out = UpdateOutcome(cfg)
    checks = {"tracking_backend": lambda v: check_tracking_backend(v, settings),
              "pose_backend": lambda v: _check_pose_backend(v, settings)}
    for name, check in checks.items():
        value = changes.get(name)
        if value is None:
            continue
        try:
            setattr(cfg, name, check(value))
            out.applied[name] = value
        except (InputError, BackendUnavailable) as exc:
            public = exc.public
            log.warning("config: %s %r refused: %s", name, value, exc)  # the full reason, paths included
            out.refused[name] = {"value": value, "reason": public}
    for name in FLAGS:
        value = changes.get(name)
        if value is not None:
            setattr(cfg, name, bool(value))
            out.applied[name] = bool(value)
    if out.applied:
        save(settings, cfg)
    return out
