"""/api/v1/videos/*: upload, status, results, delete, list (the original clients' endpoints)."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from liftflow.analysis import OVERLAY, PLOTS_DIR, POSTER
from liftflow.jobstore import JobFolder, is_valid_job_id
from liftflow.orchestration.launcher import LaunchError
from liftflow.render.plots import PLOT_NAMES
from liftflow_api import deps
from liftflow.orchestration.service import COMPLETED, FAILED, JobConflict, JobNotFound
from liftflow_api.submit import check_pose, check_seed, enqueue, resolve_backend
from liftflow_api.uploads import check_extension, receive_into_new_job

router = APIRouter(prefix="/api/v1/videos", tags=["videos"])

E = {400: {"description": "Invalid file extension or empty file"},
     404: {"description": "Unknown job id"},
     409: {"description": "The job is not in a state that allows this (results not ready, failed, still stopping)"},
     413: {"description": "File exceeds the upload limit"},
     422: {"description": "Missing or invalid field"},
     503: {"description": "The analysis queue (Dagster webserver) is not reachable"}}


def _errors(*codes: int) -> dict:
    return {c: E[c] for c in codes}


def _not_found(video_id: str) -> HTTPException:
    return HTTPException(404, detail=f"Video job {video_id!r} not found")


@router.post("/upload", responses=_errors(400, 413, 422, 503), summary="Upload a video and a seed circle; returns the job id")
async def upload_video(
    file: UploadFile = File(..., description="Video file (mp4/mov/avi/mkv/webm)"),
    disc_center_x: Optional[float] = Form(None),
    disc_center_y: Optional[float] = Form(None),
    disc_radius: Optional[float] = Form(None),
    seed_frame: Optional[int] = Form(0),
    backend: Optional[str] = Form(None, description="Override the tracking backend for this job"),
    lift_type: Optional[str] = Form(None, description="squat, snatch, clean, clean_and_jerk, deadlift"),
    render: bool = Form(True, description="Render the overlay video and plots"),
    pose: Optional[str] = Form(None, description="off | mediapipe | yolo (this job only; default: saved config)"),
    pose_stride: Optional[int] = Form(None, description="Run pose on every Nth frame (default 1)"),
):
    svc = deps.service()
    check_extension(file.filename)
    seed = check_seed(disc_center_x, disc_center_y, disc_radius, seed_frame)
    chosen = resolve_backend(svc, backend)
    check_pose(pose, pose_stride)
    folder, dest = await receive_into_new_job(svc, file)
    # Launching is a blocking GraphQL call: keep it off the event loop so pollers are served.
    await run_in_threadpool(enqueue, svc, folder, video_path=dest, seed=seed, backend=chosen,
            source={"type": "upload", "original_filename": file.filename, "asset_id": None},
            benchmark={"case_id": None, "client_run_id": None, "tags": {}}, lift_type=lift_type,
            render=render, pose=pose, pose_stride=pose_stride)
    return {"video_id": folder.job_id, "status": "pending",
            "message": "Video uploaded; analysis queued"}


@router.get("/{video_id}/status", responses=_errors(404), summary="Poll a job's status and progress")
def video_status(video_id: str):
    try:
        view = deps.service().view(video_id)
    except JobNotFound:
        raise _not_found(video_id)
    out = view.status_response()
    out["links"] = links(video_id, view.status == COMPLETED)
    return out


def links(video_id: str, done: bool) -> dict:
    base = f"/api/v1/videos/{video_id}"
    d = {"status": f"{base}/status", "results_page": f"/jobs/{video_id}"}
    if done:
        d.update({"results": f"{base}/results", "overlay": f"{base}/overlay",
                  "plots": {n: f"{base}/plots/{n}" for n in PLOT_NAMES}})
    return d


def _artefact(video_id: str, relative: str, media_type: str) -> FileResponse:
    if not is_valid_job_id(video_id):
        raise _not_found(video_id)
    folder = JobFolder.for_job(deps.service().settings.results_dir, video_id)
    if not folder.exists():
        raise _not_found(video_id)
    path = folder.file(relative)
    if not path.is_file():
        raise HTTPException(404, detail=f"{relative} does not exist for job {video_id} "
                                        f"(not finished, or rendering was off or failed)")
    return FileResponse(path, media_type=media_type)


@router.get("/{video_id}/overlay", responses=_errors(404), summary="The overlay video (H.264 MP4)",
            response_class=FileResponse)
def video_overlay(video_id: str):
    return _artefact(video_id, OVERLAY, "video/mp4")


@router.get("/{video_id}/poster", responses=_errors(404), summary="The overlay's poster image (JPEG)",
            response_class=FileResponse)
def video_poster(video_id: str):
    return _artefact(video_id, POSTER, "image/jpeg")


@router.get("/{video_id}/plots/{name}", responses=_errors(404), response_class=FileResponse,
            summary="A plot: bar_path, height, velocity or power (PNG)")
def video_plot(video_id: str, name: str):
    if name not in PLOT_NAMES:
        raise HTTPException(404, detail=f"unknown plot {name!r}; plots: {', '.join(PLOT_NAMES)}")
    return _artefact(video_id, f"{PLOTS_DIR}/{name}.png", "image/png")


@router.get("/{video_id}/results", responses=_errors(404, 409), summary="The ResultsContract of a completed job")
def video_results(video_id: str):
    try:
        view, data = deps.service().result(video_id)
    except JobNotFound:
        raise _not_found(video_id)
    if view.status == COMPLETED and data is not None:
        return JSONResponse(data)
    if view.status == FAILED:
        return JSONResponse(status_code=409, content={
            "detail": f"Job {video_id} failed: {view.error}", "status": view.status,
            "error": view.error})
    return JSONResponse(status_code=409, content={
        "detail": f"Results not ready: job {video_id} is {view.status} ({view.message})",
        "status": view.status, "progress": view.progress})


@router.delete("/{video_id}", responses=_errors(404, 409), summary="Cancel a job if queued or running and delete everything it created")
def delete_video(video_id: str):
    svc = deps.service()
    try:
        svc.delete(video_id)
    except JobNotFound:
        raise _not_found(video_id)
    except JobConflict as exc:
        raise HTTPException(409, detail=str(exc))
    return {"video_id": video_id, "deleted": True, "message": f"Job {video_id} and its files were deleted"}


@router.post("/{video_id}/retry", responses=_errors(404, 409, 503), summary="Re-execute a failed job from the failed step")
def retry_video(video_id: str):
    svc = deps.service()
    try:
        run_id = svc.retry(video_id)
    except JobNotFound:
        raise _not_found(video_id)
    except JobConflict as exc:
        raise HTTPException(409, detail=str(exc))
    except LaunchError as exc:
        raise HTTPException(503, detail=str(exc))
    return {"video_id": video_id, "status": "pending", "run_id": run_id,
            "message": "Re-execution from the failed step queued"}


@router.get("", summary="List all jobs")
def list_videos():
    views = deps.service().list()
    items = []
    for v in views:
        d = v.status_response()
        meta = v.meta or {}
        d["source_type"] = (meta.get("source") or {}).get("type")
        d["original_filename"] = (meta.get("source") or {}).get("original_filename")
        d["case_id"] = (meta.get("benchmark") or {}).get("case_id")
        items.append(d)
    return {"count": len(items), "videos": items}
