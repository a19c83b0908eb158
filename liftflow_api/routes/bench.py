"""/api/v1/info, /api/v1/bench/run_one, /api/v1/assets (BENCHMARK_API.md section C)."""

from __future__ import annotations

import platform
import socket
from datetime import datetime, timezone
from typing import Optional

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from liftflow.config import SUPPORTED_FORMATS, get_settings, git_sha
from liftflow.contract import API_VERSION, RESULTS_CONTRACT_VERSION
from liftflow.pose import pose_backends
from liftflow.tracking import all_backends
from liftflow_api import deps, model_config
from liftflow.orchestration.service import JobNotFound
from liftflow_api.assets import list_assets, require_root, resolve_asset
from liftflow_api.submit import check_pose, check_seed, enqueue, parse_tags, resolve_backend
from liftflow_api.uploads import receive_into_new_job

router = APIRouter(prefix="/api/v1", tags=["benchmark"])


def server_build() -> dict:
    return {
        "git_sha": git_sha(),
        "build_time": get_settings().build_time,
        "hostname": socket.gethostname(),
        "python_version": platform.python_version(),
        "platform": platform.system(),
    }


@router.get("/info", summary="Server capabilities handshake")
def get_info():
    svc = deps.service()
    s = svc.settings
    cfg = model_config.load(s)
    backends = all_backends(s)
    return {
        "api_version": API_VERSION,
        "results_contract_version": RESULTS_CONTRACT_VERSION,
        "supports_video_source": ["upload", "local_asset"],
        "bench_endpoints": ["/api/v1/bench/run_one", "/api/v1/bench/run_batch", "/api/v1/bench/compare"],
        "available_backends": [b.name for b in backends if b.available],
        "current_default_backend": cfg.tracking_backend,
        "active_optional_models": {
            "person_detection": cfg.enable_person_detection,
            "pose_estimation": cfg.enable_pose_estimation,
        },
        "limits": {
            "max_upload_mb": s.max_upload_mb,
            "supported_formats": sorted(SUPPORTED_FORMATS),
            "max_duration_sec": s.max_duration_s,
            "max_concurrent_jobs": 1,
            "max_pixels": s.max_pixels,
        },
        "assets": {"root": str(s.datasets_root), "available": s.datasets_root.is_dir()},
        "server_build": server_build(),
        "timestamp": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(),
        "backends": {b.name: b.to_dict() for b in backends},
        "pose_backends": {b["name"]: b for b in pose_backends(s)},
        "optional_models": {
            "pose_backend": cfg.pose_backend,
            "pose_backend_available": any(b["name"] == cfg.pose_backend and b["available"]
                                          for b in pose_backends(s)),
        },
        "auth": {"enabled": bool(s.api_keys), "header": "X-API-Key"},
        "models_dir": str(s.models_dir),
    }


@router.post("/bench/run_one", responses={
    400: {"description": "Invalid file extension"}, 404: {"description": "asset_id not found in DATASETS_ROOT"},
    413: {"description": "File exceeds the upload limit"}, 422: {"description": "Missing required field or invalid tags JSON"},
    503: {"description": "DATASETS_ROOT not configured/does not exist, or the queue is not reachable"}}, summary="Submit one benchmark case (upload or local_asset)")
async def bench_run_one(
    video_source_type: str = Form(..., description='"upload" or "local_asset"'),
    file: Optional[UploadFile] = File(None),
    asset_id: Optional[str] = Form(None),
    asset_path: Optional[str] = Form(None),
    disc_center_x: Optional[float] = Form(None),
    disc_center_y: Optional[float] = Form(None),
    disc_radius: Optional[float] = Form(None),
    seed_frame: Optional[int] = Form(0),
    case_id: Optional[str] = Form(None, max_length=256),
    client_run_id: Optional[str] = Form(None, max_length=256),
    tags: Optional[str] = Form(None, max_length=16384),
    backend: Optional[str] = Form(None),
    lift_type: Optional[str] = Form(None),
    render: bool = Form(True),
    pose: Optional[str] = Form(None, description="off | mediapipe | yolo (this job only; default: saved config)"),
    pose_stride: Optional[int] = Form(None, description="Run pose on every Nth frame (default 1)"),
):
    svc = deps.service()
    if video_source_type not in ("upload", "local_asset"):
        raise HTTPException(422, detail='video_source_type must be "upload" or "local_asset"')
    tag_dict = parse_tags(tags)
    seed = check_seed(disc_center_x, disc_center_y, disc_radius, seed_frame)
    chosen = resolve_backend(svc, backend)
    check_pose(pose, pose_stride)
    benchmark = {"case_id": case_id, "client_run_id": client_run_id, "tags": tag_dict}
    if video_source_type == "upload":
        if file is None or not file.filename:
            raise HTTPException(422, detail="video_source_type=upload needs a file")
        folder, dest = await receive_into_new_job(svc, file)
        source = {"type": "upload", "original_filename": file.filename, "asset_id": None}
    else:
        dest = resolve_asset(svc.settings.datasets_root, asset_id, asset_path)
        folder = svc.new_job()
        source = {"type": "local_asset", "original_filename": dest.name, "asset_id": asset_id or dest.stem}
    # Launching is a blocking GraphQL call: keep it off the event loop so pollers are served.
    await run_in_threadpool(enqueue, svc, folder, video_path=dest, seed=seed, backend=chosen, source=source,
            benchmark=benchmark, lift_type=lift_type, render=render, pose=pose, pose_stride=pose_stride)
    jid = folder.job_id
    return {
        "job_id": jid,
        "case_id": case_id,
        "client_run_id": client_run_id,
        "source_type": video_source_type,
        "status": "pending",
        "message": f"Benchmark case queued. source={video_source_type}, case_id={case_id}",
        "links": {
            "status": f"/api/v1/videos/{jid}/status",
            "results": f"/api/v1/videos/{jid}/results",
            "delete": f"/api/v1/videos/{jid}",
        },
    }


@router.get("/assets", summary="Videos available as local assets in DATASETS_ROOT")
def get_assets():
    root = deps.service().settings.datasets_root
    assets = list_assets(root)
    return {"assets_root": str(root), "root_exists": root.is_dir(), "count": len(assets), "assets": assets}


class CompareRequest(BaseModel):
    job_id: str = Field(description="A completed job")
    ground_truth: Optional[list[dict]] = Field(
        None, description="Keyframes [{frame, x, y, r[, r_minor][, visibility]}] (visibility: visible|partial|absent)")
    case_id: Optional[str] = Field(None, description="Or: a case of DATASETS_ROOT/manifest.csv with ground truth")
    expected_reps: Optional[list[int]] = Field(None, description="[n] or [lo, hi]")
    velocity_ref: Optional[list[dict]] = Field(None, description="Reference velocities [{time_s, vy_m_s}] or per rep")


@router.post("/bench/compare", summary="Score a job against ground truth (centre error, lost frames, reps, velocity)",
             responses={404: {"description": "Unknown job"}, 409: {"description": "Job not completed"},
                        422: {"description": "Invalid ground truth or case"},
                        503: {"description": "DATASETS_ROOT missing (with case_id)"}})
def bench_compare(body: CompareRequest):
    from liftflow.bench.dataset import DatasetError
    from liftflow.bench.runner import compare_with_case
    from liftflow.bench.scoring import compare

    svc = deps.service()
    try:
        view, result = svc.result(body.job_id)
    except JobNotFound:
        raise HTTPException(404, detail=f"Video job {body.job_id!r} not found")
    if result is None:
        raise HTTPException(409, detail=f"job {body.job_id} is {view.status}; only a completed job can be compared")
    if (body.ground_truth is None) == (body.case_id is None):
        raise HTTPException(422, detail="give exactly one of ground_truth (keyframe rows) or case_id")
    try:
        if body.case_id is not None:
            require_root(svc.settings.datasets_root)
            scores = compare_with_case(result, svc.settings.datasets_root, body.case_id)
        else:
            case = {"case_id": (view.meta or {}).get("benchmark", {}).get("case_id"),
                    "expected_reps": body.expected_reps}
            scores = compare(result, body.ground_truth, case, velocity_ref=body.velocity_ref)
    except DatasetError as exc:
        raise HTTPException(422, detail=str(exc))
    return {"job_id": body.job_id, "scores": scores}


class BatchRequest(BaseModel):
    case_ids: Optional[list[str]] = Field(None, description="Cases of DATASETS_ROOT/manifest.csv")
    all_cases: Optional[bool] = Field(None, description="Every case of the manifest")
    cases: Optional[list[dict]] = Field(
        None, description="Ad-hoc cases: {case_id, asset_id | asset_path, disc_center_x, disc_center_y, "
                          "disc_radius, seed_frame, lift_type, expected_reps, tags}")
    client_run_id: Optional[str] = Field(None, max_length=256)
    backend: Optional[str] = None


@router.post("/bench/run_batch", summary="Submit several benchmark cases at once; one job (one run) per case",
             responses={422: {"description": "Invalid cases (every problem listed)"},
                        503: {"description": "DATASETS_ROOT missing, or the queue is not reachable"}})
def bench_run_batch(body: BatchRequest):
    from liftflow.bench.dataset import DatasetError
    from liftflow.bench.runner import BatchError, RunOptions, batch_cases, submit_batch, submit_case

    svc = deps.service()
    root = require_root(svc.settings.datasets_root)
    backend = resolve_backend(svc, body.backend)
    try:
        cases = batch_cases(body.model_dump(exclude_none=True), root)
    except DatasetError as exc:
        raise HTTPException(422, detail=str(exc))
    opts = RunOptions(backend=backend)
    try:
        jobs = submit_batch(cases, lambda c: submit_case(svc.settings, svc.launcher, c,
                                                         client_run_id=body.client_run_id, opts=opts))
    except BatchError as exc:
        raise HTTPException(503, detail={"message": str(exc), "submitted": [
            {"case_id": j["case_id"], "job_id": j["job_id"]} for j in exc.submitted]})
    return {
        "count": len(jobs),
        "client_run_id": body.client_run_id,
        "jobs": [{"case_id": j["case_id"], "job_id": j["job_id"], "status": "pending",
                  "links": {"status": f"/api/v1/videos/{j['job_id']}/status",
                            "results": f"/api/v1/videos/{j['job_id']}/results",
                            "delete": f"/api/v1/videos/{j['job_id']}"}} for j in jobs],
    }
