"""The API's pydantic models, by direction: request bodies, then the persisted record.

Multipart forms (upload, bench/run_one) are declared as ``Form`` parameters on their
routes; the responses are plain dicts shaped by the functions at the end (the OpenAPI
document shows them as objects).
"""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field

from liftflow.config import Settings
from liftflow.render.plots import PLOT_NAMES
from liftflow.tracking.registry import DEFAULT_BACKEND
from liftflow_api.links import page_link

# --------------------------------------------------------------------------- requests


class ModelConfigUpdate(BaseModel):
    """POST /api/v1/config/models: any of the fields; the others keep their saved value. A
    backend that is refused (unknown, unavailable here) does not stop the others applying."""

    tracking_backend: Optional[str] = None
    enable_person_detection: Optional[bool] = None
    enable_pose_estimation: Optional[bool] = None
    pose_backend: Optional[str] = None


class BackendUpdate(BaseModel):
    """POST /api/v1/config/tracking-backend: ``backend`` or ``tracking_backend`` (the same field)."""

    backend: Optional[str] = None
    tracking_backend: Optional[str] = None


class CompareRequest(BaseModel):
    """POST /api/v1/bench/compare."""

    job_id: str = Field(description="A completed job")
    ground_truth: Optional[list[dict]] = Field(
        None, description="Keyframes [{frame, x, y, r[, r_minor][, visibility]}] (visibility: visible|partial|absent)")
    case_id: Optional[str] = Field(None, description="Or: a case of DATASETS_ROOT/manifest.csv with ground truth")
    expected_reps: Optional[list[int]] = Field(None, description="[n] or [lo, hi]")
    velocity_ref: Optional[list[dict]] = Field(None, description="Reference velocities [{time_s, vy_m_s}] or per rep")


class BatchRequest(BaseModel):
    """POST /api/v1/bench/run_batch."""

    case_ids: Optional[list[str]] = Field(None, description="Cases of DATASETS_ROOT/manifest.csv")
    all_cases: Optional[bool] = Field(None, description="Every case of the manifest")
    cases: Optional[list[dict]] = Field(
        None, description="Ad-hoc cases: {case_id, asset_id | asset_path, disc_center_x, disc_center_y, "
                          "disc_radius, seed_frame, lift_type, load_kg, expected_reps, tags}")
    client_run_id: Optional[str] = Field(None, max_length=256)
    backend: Optional[str] = None


# --------------------------------------------------------------------------- records


class ModelConfig(BaseModel):
    """The saved model configuration (``data/api/model_config.json``, survives restarts)."""

    tracking_backend: str = DEFAULT_BACKEND
    enable_person_detection: bool = False
    enable_pose_estimation: bool = False
    pose_backend: str = "mediapipe"


# --------------------------------------------------------------------------- responses


def job_links(job_id: str) -> dict:
    """The links of a job just queued (bench/run_one, bench/run_batch)."""
    base = f"/api/v1/videos/{job_id}"
    return {"status": f"{base}/status", "results": f"{base}/results", "delete": base}


def status_links(settings: Settings, video_id: str, done: bool) -> dict:
    """The links of GET /videos/{id}/status: results and artefacts once completed. With API
    keys on, ``results_page`` carries a signed token (a browser sends no X-API-Key)."""
    base = f"/api/v1/videos/{video_id}"
    d = {"status": f"{base}/status", "results_page": page_link(settings, video_id)}
    if done:
        d.update({"results": f"{base}/results", "overlay": f"{base}/overlay",
                  "plots": {n: f"{base}/plots/{n}" for n in PLOT_NAMES}})
    return d
