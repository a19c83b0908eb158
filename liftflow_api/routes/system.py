"""/, /health (open) and /api/v1/info (the capabilities handshake, BENCHMARK_API.md section C).

/api/v1/info is the operators' view: each backend's availability with its exact reason,
server paths included (the submit-time refusals show the reason without paths); with API
keys on it needs one, as every /api/v1 route.
"""

from __future__ import annotations

import platform
import socket
from datetime import datetime, timezone

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from liftflow.config import SUPPORTED_FORMATS, Settings, git_sha
from liftflow.contract import API_VERSION, RESULTS_CONTRACT_VERSION
from liftflow.errors import public_message
from liftflow.pose import pose_backends
from liftflow.tracking import all_backends
from liftflow_api.deps import API_KEY_HEADER, LazyService, Service
from liftflow_api.services import model_config

open_router = APIRouter(tags=["system"])  # no API key
API_PREFIX = "/api/v1"
router = APIRouter(prefix=API_PREFIX, tags=["benchmark"])


@open_router.get("/", summary="Root info")
def root():
    # version and api: the original server's keys (its API version, the prefix of its routes)
    return {"name": "LiftFlow API", "version": API_VERSION, "api": API_PREFIX, "api_version": API_VERSION,
            "docs": "/docs", "results_page": "/jobs/{video_id}", "info": f"{API_PREFIX}/info", "health": "/health"}


@open_router.get("/health", summary="Health check with job counts")
def health(svc: LazyService):
    try:
        return {"status": "healthy", "jobs": svc().counts()}
    except Exception as exc:
        # /health is open: the reason without server paths
        return JSONResponse(status_code=503, content={"status": "unhealthy", "detail": public_message(str(exc))})


def server_build(s: Settings) -> dict:
    return {
        "git_sha": git_sha(),
        "build_time": s.build_time,
        "hostname": socket.gethostname(),
        "python_version": platform.python_version(),
        "platform": platform.system(),
    }


@router.get("/info", summary="Server capabilities handshake")
def get_info(svc: Service):
    s = svc.settings
    cfg = model_config.load(s)
    backends = all_backends(s)
    poses = pose_backends(s)
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
            "max_concurrent_jobs": s.concurrent_runs,
            "max_pixels": s.max_pixels,
        },
        "assets": {"root": str(s.datasets_root), "available": s.datasets_root.is_dir()},
        "server_build": server_build(s),
        "timestamp": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(),
        "backends": {b.name: b.to_dict() for b in backends},
        "pose_backends": {b["name"]: b for b in poses},
        "optional_models": {
            "pose_backend": cfg.pose_backend,
            "pose_backend_available": any(b["name"] == cfg.pose_backend and b["available"] for b in poses),
        },
        "auth": {"enabled": bool(s.api_keys), "header": API_KEY_HEADER},
        "models_dir": str(s.models_dir),
        "deployment": deployment(s),
    }


def deployment(s: Settings) -> dict:
    """Which profile runs the jobs (README "Scaling out"); no URL (they may carry passwords)."""
    return {"profile": "scaled" if s.broker_url or s.storage_url else "embedded",
            "storage": "postgres" if s.storage_url else "sqlite",
            "run_launcher": "celery" if s.broker_url else "code-server subprocess",
            "concurrent_runs": s.concurrent_runs,
            "worker_queue": s.worker_queue if s.broker_url else None,
            "learned_queue": s.learned_queue if s.broker_url else None}
