"""/api/v1/bench/run_one, run_batch, compare and /api/v1/assets (BENCHMARK_API.md section C)."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, File, Form, UploadFile

from liftflow.errors import InputError, JobConflict
from liftflow_api.deps import Service
from liftflow_api.schemas import BatchRequest, CompareRequest, job_links
from liftflow_api.services.assets import list_assets, require_root, resolve_asset
from liftflow_api.services.backends import check_tracking_backend
from liftflow_api.services.submit import (
    LOAD_KG_DOC, backend_field, enqueue_off_loop, job_options, queued_message, read_lift_type, read_load_kg, read_tags,
    resolve_backend, seed_fields,
)
from liftflow_api.services.uploads import receive_into_new_job

router = APIRouter(prefix="/api/v1", tags=["benchmark"])

SOURCE_TYPES = ("upload", "local_asset")


@router.post("/bench/run_one", responses={
    400: {"description": "Invalid file extension"}, 404: {"description": "asset_id not found in DATASETS_ROOT"},
    413: {"description": "File exceeds the upload limit"},
    422: {"description": "Missing required field, invalid tags, or a backend that is unknown or unavailable here"},
    503: {"description": "DATASETS_ROOT not configured/does not exist, or the queue is not reachable"}}, summary="Submit one benchmark case (upload or local_asset)")
async def bench_run_one(
    svc: Service,
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
    tags: Optional[str] = Form(None, max_length=16384,
                               description='A JSON object {"env": "indoor"} (or env=indoor;disc=black)'),
    backend: Optional[str] = Form(None),
    tracking_backend: Optional[str] = Form(None, description="The original server's name for `backend` "
                                                             "(give either; both and different: 422)"),
    lift_type: Optional[str] = Form(None),
    load_kg: Optional[float] = Form(None, description=LOAD_KG_DOC),
    render: bool = Form(True),
    pose: Optional[str] = Form(None, description="off | mediapipe | yolo (this job only; default: saved config)"),
    pose_stride: Optional[int] = Form(None, description="Run pose on every Nth frame (default 1)"),
):
    if video_source_type not in SOURCE_TYPES:
        raise InputError('video_source_type must be "upload" or "local_asset"')
    tag_dict = read_tags(tags)
    seed = seed_fields(disc_center_x, disc_center_y, disc_radius, seed_frame)
    lift_type = read_lift_type(lift_type)
    load_kg = read_load_kg(load_kg)
    options = job_options(svc.settings, backend=backend_field(backend, tracking_backend), pose=pose,
                          pose_stride=pose_stride)
    benchmark = {"case_id": case_id, "client_run_id": client_run_id, "tags": tag_dict}
    if video_source_type == "upload":
        if file is None or not file.filename:
            raise InputError("video_source_type=upload needs a file")
        folder, dest = await receive_into_new_job(svc, file)
        source = {"type": "upload", "original_filename": file.filename, "asset_id": None}
    else:
        dest = resolve_asset(svc.settings.datasets_root, asset_id, asset_path)
        folder = svc.new_job()
        source = {"type": "local_asset", "original_filename": dest.name, "asset_id": asset_id or dest.stem}
    await enqueue_off_loop(svc, folder, video_path=dest, seed=seed, options=options, source=source,
            benchmark=benchmark, lift_type=lift_type, render=render, load_kg=load_kg)
    jid = folder.job_id
    return {
        "job_id": jid,
        "case_id": case_id,
        "client_run_id": client_run_id,
        "source_type": video_source_type,
        "status": "pending",
        "message": queued_message(f"Benchmark case queued. source={video_source_type}, case_id={case_id}", seed),
        "links": job_links(jid),
    }


@router.get("/assets", summary="Videos available as local assets in DATASETS_ROOT")
def get_assets(svc: Service):
    root = svc.settings.datasets_root
    assets = list_assets(root)
    # assets_root: the folder's name, not its path (the original's key; /api/v1/info has the path)
    return {"assets_root": root.name, "root_exists": root.is_dir(), "count": len(assets), "assets": assets}


@router.post("/bench/compare", summary="Score a job against ground truth (centre error, lost frames, reps, velocity)",
             responses={404: {"description": "Unknown job"}, 409: {"description": "Job not completed"},
                        422: {"description": "Invalid ground truth or case"},
                        503: {"description": "DATASETS_ROOT missing (with case_id)"}})
def bench_compare(body: CompareRequest, svc: Service):
    from liftflow.bench.scoring import compare
    from liftflow.orchestration import cases

    view, result = svc.result(body.job_id)
    if result is None:
        raise JobConflict(f"job {body.job_id} is {view.status}; only a completed job can be compared")
    if (body.ground_truth is None) == (body.case_id is None):
        raise InputError("give exactly one of ground_truth (keyframe rows) or case_id")
    if body.case_id is not None:
        require_root(svc.settings.datasets_root)
        scores = cases.compare_with_case(result, svc.settings.datasets_root, body.case_id)
    else:
        case = {"case_id": (view.meta or {}).get("benchmark", {}).get("case_id"),
                "expected_reps": body.expected_reps}
        scores = compare(result, body.ground_truth, case, velocity_ref=body.velocity_ref)
    return {"job_id": body.job_id, "scores": scores}


@router.post("/bench/run_batch", summary="Submit several benchmark cases at once; one job (one run) per case",
             responses={422: {"description": "Invalid cases (every problem listed), or a backend that is "
                                             "unknown or unavailable here"},
                        503: {"description": "DATASETS_ROOT missing, or the queue is not reachable"}})
def bench_run_batch(body: BatchRequest, svc: Service):
    from liftflow.orchestration import cases

    s = svc.settings
    root = require_root(s.datasets_root)
    backend = check_tracking_backend(resolve_backend(s, body.backend), s)
    todo = cases.batch_cases(body.model_dump(exclude_none=True), root)
    opts = cases.RunOptions(backend=backend)
    jobs = cases.submit_batch(todo, lambda c: cases.submit_case(s, svc.launcher, c, client_run_id=body.client_run_id,
                                                                opts=opts))
    return {
        "count": len(jobs),
        "client_run_id": body.client_run_id,
        "jobs": [{"case_id": j["case_id"], "job_id": j["job_id"], "status": "pending",
                  "links": job_links(j["job_id"])} for j in jobs],
    }
