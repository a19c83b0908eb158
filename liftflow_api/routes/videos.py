"""/api/v1/videos/*: upload, status, results, delete, list (the original clients' endpoints)."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from liftflow.jobstore import OVERLAY, PLOTS_DIR, POSTER, JobFolder
from liftflow.orchestration.service import COMPLETED, FAILED
from liftflow.render.plots import PLOT_NAMES
from liftflow_api.deps import Job, JobFiles, Service
from liftflow_api.schemas import status_links
from liftflow_api.services.submit import (
    LOAD_KG_DOC, backend_field, enqueue_off_loop, job_options, queued_message, read_lift_type, read_load_kg, seed_fields,
)
from liftflow_api.services.uploads import check_extension, receive_into_new_job

router = APIRouter(prefix="/api/v1/videos", tags=["videos"])

E = {400: {"description": "Invalid file extension or empty file"},
     404: {"description": "Unknown job id"},
     409: {"description": "The job is not in a state that allows this (failed, still stopping)"},
     413: {"description": "File exceeds the upload limit"},
     422: {"description": "Missing or invalid field, or a backend that is unknown or unavailable here"},
     503: {"description": "The analysis queue (Dagster webserver) is not reachable"}}


def _errors(*codes: int) -> dict:
    return {c: E[c] for c in codes}


@router.post("/upload", responses=_errors(400, 413, 422, 503), summary="Upload a video and a seed circle; returns the job id")
async def upload_video(
    svc: Service,
    file: UploadFile = File(..., description="Video file (mp4/mov/avi/mkv/webm)"),
    disc_center_x: Optional[float] = Form(None),
    disc_center_y: Optional[float] = Form(None),
    disc_radius: Optional[float] = Form(None),
    seed_frame: Optional[int] = Form(0),
    backend: Optional[str] = Form(None, description="Override the tracking backend for this job"),
    tracking_backend: Optional[str] = Form(None, description="The original server's name for `backend` "
                                                             "(give either; both and different: 422)"),
    lift_type: Optional[str] = Form(None, description="squat, snatch, clean, clean_and_jerk, deadlift, bench "
                                                      "(another name: 422)"),
    load_kg: Optional[float] = Form(None, description=LOAD_KG_DOC),
    render: bool = Form(True, description="Render the overlay video and plots"),
    pose: Optional[str] = Form(None, description="off | mediapipe | yolo (this job only; default: saved config)"),
    pose_stride: Optional[int] = Form(None, description="Run pose on every Nth frame (default 1)"),
):
    check_extension(file.filename)
    seed = seed_fields(disc_center_x, disc_center_y, disc_radius, seed_frame)
    lift_type = read_lift_type(lift_type)
    load_kg = read_load_kg(load_kg)
    options = job_options(svc.settings, backend=backend_field(backend, tracking_backend), pose=pose,
                          pose_stride=pose_stride)
    folder, dest = await receive_into_new_job(svc, file)
    await enqueue_off_loop(svc, folder, video_path=dest, seed=seed, options=options,
            source={"type": "upload", "original_filename": file.filename, "asset_id": None},
            benchmark={"case_id": None, "client_run_id": None, "tags": {}}, lift_type=lift_type,
            render=render, load_kg=load_kg)
    return {"video_id": folder.job_id, "status": "pending",
            "message": queued_message("Video uploaded; analysis queued", seed)}


@router.get("/{video_id}/status", responses=_errors(404), summary="Poll a job's status and progress")
async def video_status(view: Job, svc: Service):  # the pollers' hot path: no thread hop
    out = view.status_response()
    out["links"] = status_links(svc.settings, view.video_id, view.status == COMPLETED)
    return out


def _artefact(folder: JobFolder, relative: str, media_type: str) -> FileResponse:
    path = folder.file(relative)
    if not path.is_file():
        raise HTTPException(404, detail=f"{relative} does not exist for job {folder.job_id} "
                                        f"(not finished, or rendering was off or failed)")
    return FileResponse(path, media_type=media_type)


@router.get("/{video_id}/overlay", responses=_errors(404), summary="The overlay video (H.264 MP4)",
            response_class=FileResponse)
def video_overlay(folder: JobFiles):
    return _artefact(folder, OVERLAY, "video/mp4")


@router.get("/{video_id}/poster", responses=_errors(404), summary="The overlay's poster image (JPEG)",
            response_class=FileResponse)
def video_poster(folder: JobFiles):
    return _artefact(folder, POSTER, "image/jpeg")


@router.get("/{video_id}/plots/{name}", responses=_errors(404), response_class=FileResponse,
            summary="A plot: bar_path, height, velocity or power (PNG)")
def video_plot(folder: JobFiles, name: str):
    if name not in PLOT_NAMES:
        raise HTTPException(404, detail=f"unknown plot {name!r}; plots: {', '.join(PLOT_NAMES)}")
    return _artefact(folder, f"{PLOTS_DIR}/{name}.png", "image/png")


@router.get("/{video_id}/results", summary="The ResultsContract of a completed job", responses={
    202: {"description": "Not ready yet (pending or processing): the status body, as /status"},
    **_errors(404), 409: {"description": "The job failed (`detail` and `error` say why); the original "
                                         "server answered 500"}})
def video_results(video_id: str, svc: Service):
    view, data = svc.result(video_id)
    if view.status == COMPLETED and data is not None:
        return JSONResponse(data)
    if view.status == FAILED:
        return JSONResponse(status_code=409, content={
            "detail": f"Job {video_id} failed: {view.public_error}", "status": view.status,
            "error": view.public_error})
    if view.status == COMPLETED:  # result.json gone or unreadable: polling would never end
        return JSONResponse(status_code=409, content={
            "detail": f"Job {video_id} is completed but its results cannot be read", "status": view.status})
    # The original's answer while a job runs: 202 with its status; clients poll on it.
    body = view.status_response()
    body["detail"] = f"Results not ready: job {video_id} is {view.status} ({body['message']})"
    body["links"] = status_links(svc.settings, video_id, False)
    return JSONResponse(status_code=202, content=body)


@router.delete("/{video_id}", responses=_errors(404, 409), summary="Cancel a job if queued or running and delete everything it created")
def delete_video(video_id: str, svc: Service):
    svc.delete(video_id)
    return {"video_id": video_id, "deleted": True, "message": f"Job {video_id} and its files were deleted"}


@router.post("/{video_id}/retry", responses=_errors(404, 409, 503), summary="Re-execute a failed job from the failed step")
def retry_video(video_id: str, svc: Service):
    run_id = svc.retry(video_id)
    return {"video_id": video_id, "status": "pending", "run_id": run_id,
            "message": "Re-execution from the failed step queued"}


@router.get("", summary="List all jobs")
def list_videos(svc: Service):
    items = []
    for v in svc.list():
        d = v.status_response()
        meta = v.meta or {}
        d["source_type"] = (meta.get("source") or {}).get("type")
        d["original_filename"] = (meta.get("source") or {}).get("original_filename")
        d["case_id"] = (meta.get("benchmark") or {}).get("case_id")
        items.append(d)
    return {"count": len(items), "videos": items}
