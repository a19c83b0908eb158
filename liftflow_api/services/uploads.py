"""Receiving video files: extension check, size limit, streamed to disk in chunks."""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException, UploadFile

from liftflow.config import SUPPORTED_FORMATS

CHUNK = 1024 * 1024


def check_extension(filename: str | None) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        raise HTTPException(
            status_code=400,
            detail=f"Invalid file extension {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED_FORMATS)}",
        )
    return suffix


def too_large(max_mb: int) -> HTTPException:
    return HTTPException(status_code=413, detail=f"File exceeds the upload limit of {max_mb} MB")


async def save_upload(upload: UploadFile, dest: Path, max_mb: int) -> int:
    """Copy the upload to ``dest`` chunk by chunk; 413 (and nothing left on disk) when over the limit."""
    limit = max_mb * 1024 * 1024
    size = 0
    try:
        with open(dest, "wb") as out:
            while True:
                chunk = await upload.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise too_large(max_mb)
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    if size == 0:
        dest.unlink(missing_ok=True)
        raise HTTPException(status_code=400, detail="The uploaded file is empty (0 bytes)")
    return size


async def receive_into_new_job(svc, upload: UploadFile):
    """A new job folder with the upload stored under a generated name; nothing is left
    behind when the upload is refused (413, empty) or the client goes away."""
    suffix = check_extension(upload.filename)
    folder = svc.new_job()
    dest = svc.upload_path(folder.job_id, suffix)
    try:
        await save_upload(upload, dest, svc.settings.max_upload_mb)
    except BaseException:
        svc.remove_files(folder.job_id)
        raise
    return folder, dest
