"""GET /jobs/{id}: a small results page (overlay, plots, summary, reps); no build step."""

from __future__ import annotations

from typing import Optional
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from liftflow.jobstore import OVERLAY, PLOTS_DIR, POSTER, RESULT, JobFolder, read_json
from liftflow.orchestration.service import COMPLETED
from liftflow.render import PLOT_NAMES, results_page_html
from liftflow_api.deps import Job, Service

router = APIRouter(tags=["pages"])


@router.get("/jobs/{video_id}", response_class=HTMLResponse, responses={404: {"description": "Unknown job"}},
            summary="Results page of a job (HTML)")
def results_page(view: Job, svc: Service, api_key: Optional[str] = Query(None, include_in_schema=False)):
    video_id = view.video_id
    folder = JobFolder.for_job(svc.settings.results_dir, video_id)
    result = read_json(folder.file(RESULT)) if view.status == COMPLETED else None
    meta = view.meta or {}
    status = {**view.status_response(), "source": meta.get("source"), "benchmark": meta.get("benchmark")}
    suffix = f"?api_key={quote(api_key)}" if api_key else ""
    base = f"/api/v1/videos/{video_id}"
    artefacts = {"result": f"{base}/results{suffix}"}
    if folder.file(OVERLAY).is_file():
        artefacts["overlay"] = f"{base}/overlay{suffix}"
    if folder.file(POSTER).is_file():
        artefacts["poster"] = f"{base}/poster{suffix}"
    for name in PLOT_NAMES:
        if folder.file(f"{PLOTS_DIR}/{name}.png").is_file():
            artefacts[f"plot:{name}"] = f"{base}/plots/{name}{suffix}"
    return HTMLResponse(results_page_html(video_id, result, status, artefacts))
