"""Turning a request's form fields into a queued job (shared by upload and bench/run_one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from fastapi import HTTPException

from liftflow.orchestration.launcher import LaunchError
from liftflow.tracking import BACKENDS
from liftflow_api import model_config
from liftflow_api.model_config import POSE_BACKENDS
from liftflow.orchestration.service import JobService

MAX_TAGS = 50
MAX_TAG_LEN = 256


def parse_tags(tags: Optional[str]) -> dict:
    if tags in (None, ""):
        return {}
    try:
        value = json.loads(tags)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, detail=f"tags must be a JSON object like {{\"env\": \"indoor\"}}: {exc.msg}")
    if not isinstance(value, dict):
        raise HTTPException(422, detail="tags must be a JSON object (a dict of key: value)")
    if len(value) > MAX_TAGS:
        raise HTTPException(422, detail=f"at most {MAX_TAGS} tags are allowed")
    out = {}
    for k, v in value.items():
        if isinstance(v, (dict, list)):
            raise HTTPException(422, detail=f"tag {k!r}: values must be strings, numbers or booleans")
        if len(str(k)) > MAX_TAG_LEN or len(str(v)) > MAX_TAG_LEN:
            raise HTTPException(422, detail=f"tag {str(k)[:40]!r}: keys and values are limited to {MAX_TAG_LEN} characters")
        out[str(k)] = v
    return out


def check_seed(x: Optional[float], y: Optional[float], r: Optional[float], seed_frame: Optional[int]) -> dict:
    given = [v is not None for v in (x, y, r)]
    if any(given) and not all(given):
        raise HTTPException(422, detail="disc_center_x, disc_center_y and disc_radius must be given together (or none of them for automatic plate detection)")
    if r is not None and not r > 0:
        raise HTTPException(422, detail=f"disc_radius must be positive (got {r})")
    for name, v in (("disc_center_x", x), ("disc_center_y", y), ("disc_radius", r)):
        if v is not None and v != v:  # NaN
            raise HTTPException(422, detail=f"{name} must be a number")
    if seed_frame is not None and seed_frame < 0:
        raise HTTPException(422, detail=f"seed_frame must be >= 0 (got {seed_frame})")
    return {"disc_center_x": x, "disc_center_y": y, "disc_radius": r, "seed_frame": seed_frame or 0}


def check_pose(pose: Optional[str], stride: Optional[int]) -> None:
    if pose is not None and pose not in ("off", *POSE_BACKENDS):
        raise HTTPException(422, detail=f"unknown pose backend {pose!r}; use off, {', '.join(POSE_BACKENDS)}")
    if stride is not None and not 1 <= stride <= 60:
        raise HTTPException(422, detail=f"pose_stride must be between 1 and 60 (got {stride})")


def resolve_backend(svc: JobService, backend: Optional[str]) -> str:
    if backend in (None, ""):
        return model_config.load(svc.settings).tracking_backend
    if backend not in BACKENDS:
        raise HTTPException(422, detail=f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    return backend


def enqueue(svc: JobService, folder, *, video_path: Path, seed: dict, backend: str, source: dict,
            benchmark: dict, lift_type: Optional[str] = None, render: bool = True,
            pose: Optional[str] = None, pose_stride: Optional[int] = None) -> str:
    """Queue one job. ``pose`` overrides the saved model config for this job only."""
    cfg = model_config.load(svc.settings)
    pose_backend = pose if pose is not None else (cfg.pose_backend if cfg.enable_pose_estimation else "off")
    request = {
        **seed,
        "backend": backend,
        "pose_backend": pose_backend,
        "pose_stride": pose_stride or 1,
        "enable_person_detection": cfg.enable_person_detection,
        "lift_type": lift_type,
        "render": bool(render),
    }
    model = {
        "tracking_backend": backend,
        "enable_person_detection": cfg.enable_person_detection,
        "enable_pose_estimation": pose_backend != "off",
    }
    try:
        return svc.submit(folder, video_path=video_path, request=request, source=source,
                          benchmark=benchmark, model_config=model)
    except LaunchError as exc:
        raise HTTPException(503, detail=f"the analysis queue is not reachable: {exc}")
