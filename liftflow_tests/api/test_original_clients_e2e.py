"""Issue #15 on the real stack (liftflow up): the original server's clients, unchanged.

Exactly their requests and what they read: the CLI end-to-end test (upload, then poll
/results: 202 while the job runs, 200 with the results), the operator control panel and web
dashboard (config sync with a backend that cannot run here, a centre without a radius, a
cross-origin preflight), the mobile app and benchmark runner (both names of the backend field,
an asset id with its extension, a 422 body whose ``detail`` is iterated, ``GET /``). One stack
for the module (test_stack_e2e's fixture); in-process twins: test_original_clients.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from test_stack_e2e import _seed, stack  # noqa: F401  (stack: the module-scoped fixture)

pytestmark = pytest.mark.e2e

STATUS_KEYS = {"video_id", "status", "progress", "current_step", "message", "created_at", "updated_at"}
PANEL = {"tracking_backend": "cutie", "enable_person_detection": True, "enable_pose_estimation": False}


def _synth_seed(truth) -> dict:
    return {"disc_center_x": truth.x[0], "disc_center_y": truth.y[0], "disc_radius": truth.r[0]}


def _meta(stack, job_id: str) -> dict:
    return json.loads((stack.data_dir / "api" / "results" / job_id / "job_meta.json").read_text())


def test_cli_polls_results_202_until_200(stack, synth_clip):
    """The CLI's loop: upload, then GET /results until it is not 202."""
    path, truth = synth_clip
    with stack.client() as c:
        with open(path, "rb") as f:
            r = c.post("/api/v1/videos/upload", files={"file": ("squat.mp4", f, "video/mp4")},
                       data=_synth_seed(truth))
        assert r.status_code == 200, r.text
        vid = r.json()["video_id"]
        codes, bodies = [], []
        deadline = time.monotonic() + 180
        while True:
            res = c.get(f"/api/v1/videos/{vid}/results")
            codes.append(res.status_code)
            if res.status_code != 202:
                break
            body = res.json()
            assert STATUS_KEYS <= set(body) and body["video_id"] == vid, body
            assert body["status"] in ("pending", "processing") and 0.0 <= body["progress"] <= 1.0
            bodies.append(body)
            assert time.monotonic() < deadline, stack.tail()
            time.sleep(0.2)
    assert codes[0] == 202 and codes[-1] == 200 and set(codes[:-1]) == {202}, codes
    assert bodies[0]["status"] == "pending"
    data = res.json()
    assert data["video_id"] == vid and data["status"] == "completed" and data["tracks"]


def test_panel_config_sync_applies_its_flags_without_cutie(stack):
    """The panel sends its whole state on every toggle and ignores the answer."""
    with stack.client() as c:
        try:
            r = c.post("/api/v1/config/models", json=PANEL)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["success"] is False and body["applied"] == {
                "enable_person_detection": True, "enable_pose_estimation": False}
            assert body["refused"]["tracking_backend"]["value"] == "cutie"
            assert "cutie-base-mega.pth" in body["message"]
            # what was refused and why, without server paths (``backends`` is the operators' view, as in /info)
            assert str(stack.data_dir) not in json.dumps([body["message"], body["refused"]])
            models = c.get("/api/v1/config/models").json()
            assert models["enable_person_detection"] is True and models["tracking_backend"] == "classic"
            assert c.get("/api/v1/info").json()["active_optional_models"]["person_detection"] is True
            tb = c.get("/api/v1/config/tracking-backend").json()
            assert tb["tracking_backend"] == tb["backend"] == "classic"
            r = c.post("/api/v1/config/tracking-backend", json={"backend": "nope"})
            assert r.status_code == 200 and r.json()["success"] is False and "nope" in r.json()["message"]
            r = c.post("/api/v1/config/tracking-backend", json={"backend": "classic"})
            assert r.status_code == 200 and r.json()["success"] is True and r.json()["message"]
        finally:
            r = c.post("/api/v1/config/models", json={**PANEL, "enable_person_detection": False})
        assert r.status_code == 200 and r.json()["enable_person_detection"] is False


def test_both_backend_field_names(stack, synth_clip):
    path, truth = synth_clip
    shutil.copy(path, stack.data_dir / "bench_assets" / "names_squat.mp4")
    jobs = []
    with stack.client() as c:
        for field in ("tracking_backend", "backend"):
            with open(path, "rb") as f:
                r = c.post("/api/v1/videos/upload", files={"file": ("a.mp4", f, "video/mp4")},
                           data={**_synth_seed(truth), field: "classic"})
            assert r.status_code == 200, r.text
            jobs.append(r.json()["video_id"])
            r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset", "asset_id": "names_squat",
                                                       **_synth_seed(truth), field: "classic"})
            assert r.status_code == 200, r.text
            jobs.append(r.json()["job_id"])
        r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset", "asset_id": "names_squat",
                                                   "backend": "classic", "tracking_backend": "yolo"})
        assert r.status_code == 422 and "differ" in r.json()["detail"]
        with open(path, "rb") as f:
            r = c.post("/api/v1/videos/upload", files={"file": ("a.mp4", f, "video/mp4")},
                       data={"tracking_backend": "cutie"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith("backend 'cutie' is unavailable: ")
        assert "cutie-base-mega.pth" in r.json()["detail"] and str(stack.data_dir) not in r.text
    runs = {r.tags.get("job_id"): r for r in stack.instance().get_runs()}
    for jid in jobs:
        assert runs[jid].tags["backend"] == "classic"
        assert stack.wait_status(jid)["status"] == "completed"


def test_asset_id_with_its_extension(stack, real_data, manifest):
    row = manifest["risevbt-squat"]
    shutil.copy(real_data / row["file"], stack.data_dir / "bench_assets" / "risevbt_squat.mp4")
    with stack.client() as c:
        r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset",
                                                   "asset_id": "risevbt_squat.mp4", **_seed(row)})
        assert r.status_code == 200, r.text
        jid = r.json()["job_id"]
    assert stack.wait_status(jid)["status"] == "completed"
    assert _meta(stack, jid)["source"]["original_filename"] == "risevbt_squat.mp4"


def test_centre_without_radius_is_ignored_and_the_plate_detected(stack, synth_clip):
    """The panel sends no radius when it is 0."""
    path, truth = synth_clip
    with stack.client() as c, open(path, "rb") as f:
        r = c.post("/api/v1/videos/upload", files={"file": ("panel.mp4", f, "video/mp4")},
                   data={"disc_center_x": truth.x[0], "disc_center_y": truth.y[0]})
    assert r.status_code == 200, r.text
    assert "incomplete seed ignored" in r.json()["message"]
    vid = r.json()["video_id"]
    assert stack.wait_status(vid)["status"] == "completed"
    with stack.client() as c:
        result = c.get(f"/api/v1/videos/{vid}/results").json()
    assert result["seed"]["source"] == "auto"
    assert any("incomplete seed ignored" in w for w in _meta(stack, vid)["warnings"])
    assert "incomplete seed ignored" in (stack.data_dir / "api" / "results" / vid / "pipeline.log").read_text()


def test_a_422_body_is_a_list_the_clients_iterate(stack):
    with stack.client() as c:
        r = c.post("/api/v1/videos/upload", data={"disc_center_x": "abc"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    msgs = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in detail]  # what the clients print
    assert any(m.startswith("body.file") for m in msgs) and any("disc_center_x" in m for m in msgs)
    assert all({"type", "loc", "msg", "input"} <= set(e) for e in detail)


def test_root_and_a_cross_origin_preflight(stack):
    with stack.client() as c:
        root = c.get("/").json()
        assert root["version"] == "2.0.0" and root["api"] == "/api/v1"
        r = c.options("/api/v1/videos/upload", headers={
            "Origin": "http://192.168.1.20:5173", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key"})
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == "*"
        assert "POST" in r.headers["access-control-allow-methods"]
        r = c.get("/api/v1/videos", headers={"Origin": "http://192.168.1.20:5173"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
