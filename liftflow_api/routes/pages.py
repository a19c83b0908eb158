"""GET /jobs/{id}: a small results page (overlay, plots, summary, reps); no build step.

With API keys on, the page is opened with a signed link (``?token=``, ``liftflow_api.links``:
``links.results_page`` of /status); its media URLs carry a fresh token of the same job, so
the browser can play and show them. The result.json link is left out then: a token never
opens a JSON route. The page is served with a Content-Security-Policy that lets only its own
script run.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from liftflow.jobstore import OVERLAY, PLOTS_DIR, POSTER, RESULT, JobFolder, read_json
from liftflow.orchestration.service import COMPLETED
from liftflow.render import PLOT_NAMES, results_page_html
from liftflow.render.page import PAGE_CSP
from liftflow_api.deps import Job, Service
from liftflow_api.links import media_suffix

router = APIRouter(tags=["pages"])


@router.get("/jobs/{video_id}", response_class=HTMLResponse, responses={404: {"description": "Unknown job"}},
            summary="Results page of a job (HTML); with API keys on, open it with links.results_page of /status")
def results_page(view: Job, svc: Service):
    video_id = view.video_id
    settings = svc.settings
    folder = JobFolder.for_job(settings.results_dir, video_id)
    result = read_json(folder.file(RESULT)) if view.status == COMPLETED else None
    meta = view.meta or {}
    status = {**view.status_response(), "source": meta.get("source"), "benchmark": meta.get("benchmark")}
    suffix = media_suffix(settings, video_id)
    base = f"/api/v1/videos/{video_id}"
    artefacts = {} if settings.api_keys else {"result": f"{base}/results"}
    if folder.file(OVERLAY).is_file():
        artefacts["overlay"] = f"{base}/overlay{suffix}"
    if folder.file(POSTER).is_file():
        artefacts["poster"] = f"{base}/poster{suffix}"
    for name in PLOT_NAMES:
        if folder.file(f"{PLOTS_DIR}/{name}.png").is_file():
            artefacts[f"plot:{name}"] = f"{base}/plots/{name}{suffix}"
    return HTMLResponse(results_page_html(video_id, result, status, artefacts),
                        headers={"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
