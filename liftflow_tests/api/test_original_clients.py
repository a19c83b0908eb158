"""Issue #15: the original server's clients (CLI end-to-end test, control panel and web
dashboard, mobile app) work unchanged. In process, with the stub launcher of
test_api_routes; test_original_clients_e2e drives the same requests through the real stack."""

from __future__ import annotations

import json

import pytest

from liftflow.orchestration.service import JobView
from test_api_routes import api, job_dirs, no_server_path, run_one, save_config, upload  # noqa: F401  (api: fixture)

STATUS_KEYS = {"video_id", "status", "progress", "current_step", "message", "created_at", "updated_at"}
PANEL = {"tracking_backend": "cutie", "enable_person_detection": True, "enable_pose_estimation": True}


def lift_request(api, index: int = -1) -> dict:
    """The LiftRequest of a submitted run (the run config's only resource)."""
    run_config, _ = api.launcher.submitted[index]
    [res] = run_config["resources"].values()
    return res["config"]


# ------------------------------------------------------------------ 1. results while not ready

def test_results_of_a_pending_job_is_202_with_its_status(api):
    vid = upload(api).json()["video_id"]
    r = api.client.get(f"/api/v1/videos/{vid}/results")
    assert r.status_code == 202, r.text
    body = r.json()
    assert STATUS_KEYS <= set(body) and body["video_id"] == vid and body["status"] == "pending"
    st = api.client.get(f"/api/v1/videos/{vid}/status").json()
    assert {k: body[k] for k in STATUS_KEYS} == {k: st[k] for k in STATUS_KEYS}
    assert body["links"]["status"] == f"/api/v1/videos/{vid}/status"  # an addition


@pytest.mark.parametrize("status, code", [("processing", 202), ("failed", 409)])
def test_results_of_a_processing_or_failed_job(api, monkeypatch, status, code):
    vid = upload(api).json()["video_id"]
    view = JobView(vid, status, 0.45, "track_disc", "Tracking disc (3/5)", "2026-02-13T12:00:00",
                   "2026-02-13T12:00:05", error="decode: not a readable video" if status == "failed" else None)
    monkeypatch.setattr(type(api.svc), "result", lambda self, job_id: (view, None))
    r = api.client.get(f"/api/v1/videos/{vid}/results")
    assert r.status_code == code, r.text
    body = r.json()
    if status == "processing":
        assert body["status"] == "processing" and body["progress"] == 0.45
        assert body["current_step"] == "track_disc" and STATUS_KEYS <= set(body)
    else:  # the original answered 500; LiftFlow keeps a 4xx with the reason
        assert body["status"] == "failed" and "not a readable video" in body["detail"]
        assert body["error"] == "decode: not a readable video"


# ------------------------------------------------------------------ 2, 3. config endpoints

def test_tracking_backend_get_and_post_keep_the_original_keys(api):
    from liftflow.tracking.registry import DEFAULT_BACKEND

    r = api.client.get("/api/v1/config/tracking-backend")
    assert r.status_code == 200
    assert r.json()["tracking_backend"] == r.json()["backend"] == DEFAULT_BACKEND
    for body in ({"tracking_backend": DEFAULT_BACKEND}, {"backend": DEFAULT_BACKEND},
                 {"backend": DEFAULT_BACKEND, "tracking_backend": DEFAULT_BACKEND}):
        r = api.client.post("/api/v1/config/tracking-backend", json=body)
        assert r.status_code == 200 and r.json()["success"] is True, r.text
        assert r.json()["message"] == f"Tracking backend set to {DEFAULT_BACKEND}"
        assert r.json()["tracking_backend"] == DEFAULT_BACKEND
    r = api.client.post("/api/v1/config/tracking-backend", json={"tracking_backend": "magic"})
    assert r.status_code == 200 and r.json()["success"] is False
    assert "unknown backend 'magic'" in r.json()["message"] and r.json()["tracking_backend"] == DEFAULT_BACKEND
    r = api.client.post("/api/v1/config/tracking-backend", json={"backend": "classic", "tracking_backend": "yolo"})
    assert r.status_code == 422 and "differ" in r.json()["detail"]
    r = api.client.post("/api/v1/config/tracking-backend", json={})
    assert r.status_code == 422 and "give the backend" in r.json()["detail"]
    r = api.client.post("/api/v1/config/models", json={"enable_person_detection": False})
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["message"]


def test_panel_sync_applies_the_flags_when_its_backend_is_refused(api):
    from liftflow.tracking.registry import DEFAULT_BACKEND

    r = api.client.post("/api/v1/config/models", json=PANEL)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is False
    assert body["applied"] == {"enable_person_detection": True, "enable_pose_estimation": True}
    refused = body["refused"]["tracking_backend"]
    assert refused["value"] == "cutie" and refused["reason"].startswith("backend 'cutie' is unavailable: ")
    assert "cutie" in body["message"] and "Applied: enable_person_detection=True" in body["message"]
    no_server_path(json.dumps({k: body[k] for k in ("message", "refused", "applied")}), api)
    assert body["tracking_backend"] == DEFAULT_BACKEND and body["enable_person_detection"] is True
    saved = json.loads(api.settings.config_file.read_text())
    assert saved["tracking_backend"] == DEFAULT_BACKEND and saved["enable_pose_estimation"] is True
    info = api.client.get("/api/v1/info").json()
    assert info["active_optional_models"] == {"person_detection": True, "pose_estimation": True}
    assert info["current_default_backend"] == DEFAULT_BACKEND
    # the next toggle turns them off again, still without Cutie
    r = api.client.post("/api/v1/config/models", json={**PANEL, "enable_person_detection": False,
                                                       "enable_pose_estimation": False})
    assert r.status_code == 200 and r.json()["enable_person_detection"] is False
    assert api.client.get("/api/v1/config/models").json()["enable_pose_estimation"] is False


def test_a_malformed_config_update_changes_nothing(api):
    r = api.client.post("/api/v1/config/models", json={"tracking_backend": "classic",
                                                       "enable_person_detection": "maybe"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "enable_person_detection"]
    assert not api.settings.config_file.exists()


# ------------------------------------------------------------------ 4, 5. backend field names

@pytest.mark.parametrize("submit", [upload, run_one])
def test_both_backend_field_names_are_read(api, submit):
    from liftflow.tracking.registry import DEFAULT_BACKEND

    for fields in ({"tracking_backend": DEFAULT_BACKEND}, {"backend": DEFAULT_BACKEND},
                   {"backend": DEFAULT_BACKEND, "tracking_backend": DEFAULT_BACKEND}):
        assert submit(api, **fields).status_code == 200
        assert lift_request(api)["backend"] == DEFAULT_BACKEND
        assert api.launcher.submitted[-1][1]["backend"] == DEFAULT_BACKEND
    before = job_dirs(api)
    r = submit(api, backend=DEFAULT_BACKEND, tracking_backend="yolo")
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == (f"backend {DEFAULT_BACKEND!r} and tracking_backend 'yolo' differ; "
                                  f"give one of them (they are the same field)")
    r = submit(api, tracking_backend="magic")
    assert r.status_code == 422 and "unknown backend 'magic'" in r.json()["detail"]
    r = submit(api, tracking_backend="cutie")
    assert r.status_code == 422 and r.json()["detail"].startswith("backend 'cutie' is unavailable: ")
    no_server_path(r.json()["detail"], api)
    assert job_dirs(api) == before and len(api.launcher.submitted) == 3


# ------------------------------------------------------------------ 6. asset with extension

def test_asset_id_with_its_extension_resolves(api):
    r = run_one(api, asset_id="clip.mp4")
    assert r.status_code == 200, r.text
    assert lift_request(api)["video_path"] == str((api.settings.datasets_root / "clip.mp4").resolve())
    (api.settings.datasets_root / "take.mov").write_bytes(b"x")
    assert run_one(api, asset_id="take.mov").status_code == 200
    assert run_one(api, asset_id="take").status_code == 200
    for bad in ("nope.mp4", "clip.txt", "../clip.mp4", ".mp4"):
        assert run_one(api, asset_id=bad).status_code == 404, bad


# ------------------------------------------------------------------ 7. centre without radius

@pytest.mark.parametrize("submit", [upload, run_one])
def test_centre_without_radius_is_accepted_and_ignored_with_a_warning(api, submit):
    r = submit(api, disc_center_x="320", disc_center_y="400", seed_frame="3")
    assert r.status_code == 200, r.text
    body = r.json()
    jid = body.get("video_id") or body["job_id"]
    assert "incomplete seed ignored" in body["message"]
    lift = lift_request(api)
    assert [lift.get(k) for k in ("disc_center_x", "disc_center_y", "disc_radius")] == [None, None, None]
    assert lift["seed_frame"] == 3
    folder = api.settings.results_dir / jid
    meta = json.loads((folder / "job_meta.json").read_text())
    assert meta["warnings"] == ["incomplete seed ignored: disc_center_x and disc_center_y were given without "
                                "disc_radius; the plate is detected automatically"]
    assert "WARNING [api] incomplete seed ignored" in (folder / "pipeline.log").read_text()
    # a whole seed has no warning; any other incomplete seed is still refused
    r = submit(api, disc_center_x="320", disc_center_y="400", disc_radius="40")
    assert r.status_code == 200 and "ignored" not in r.json()["message"]
    jid = r.json().get("video_id") or r.json()["job_id"]
    assert "warnings" not in json.loads((api.settings.results_dir / jid / "job_meta.json").read_text())
    for fields in ({"disc_center_x": "320", "disc_radius": "40"}, {"disc_radius": "40"},
                   {"disc_center_x": "320", "disc_center_y": "400", "seed_frame": "-1"}):
        r = submit(api, **fields)
        assert r.status_code == 422, (fields, r.text)


def test_read_seed_lenient_is_read_seed_but_for_a_missing_radius():
    from liftflow.tracking.seed import IncompleteSeed, SeedError, read_seed, read_seed_lenient

    assert read_seed_lenient(1, 2, 3, 4) == ((1.0, 2.0, 3.0, 4), None)
    assert read_seed_lenient(None, None, None, None) == ((None, None, None, 0), None)
    seed, warning = read_seed_lenient("1", "2", None, "5")
    assert seed == (None, None, None, 5) and "incomplete seed ignored" in warning
    with pytest.raises(IncompleteSeed) as e:
        read_seed(1, None, 3, 0)
    assert e.value.missing == ("disc_center_y",)
    for args in ((1, None, 3, 0), (None, None, 3, 0), ("nan", 2, None, 0), (1, 2, None, 1.5)):
        with pytest.raises(SeedError):
            read_seed_lenient(*args)


# ------------------------------------------------------------------ 8. validation error shape

def test_validation_errors_have_fastapis_list_shape(api):
    r = api.client.post("/api/v1/videos/upload", data={"disc_radius": "abc"})
    assert r.status_code == 422
    body = r.json()
    assert isinstance(body["detail"], list)
    for e in body["detail"]:
        assert {"type", "loc", "msg", "input"} <= set(e), e
    by_loc = {tuple(e["loc"]): e for e in body["detail"]}
    assert by_loc[("body", "file")]["type"] == "missing"
    assert by_loc[("body", "disc_radius")]["input"] == "abc"
    assert "disc_radius" in body["message"]  # LiftFlow's one-line addition
    # a file where a number is expected, bytes that are not UTF-8: still a 422, never a 500
    r = api.client.post("/api/v1/videos/upload", files={"file": ("a.mp4", b"\0" * 10, "video/mp4"),
                                                        "disc_radius": ("r.bin", b"\xff\xfe", "application/x")})
    assert r.status_code == 422 and isinstance(r.json()["detail"], list), r.text
    # errors LiftFlow raises itself keep a string detail (as FastAPI's HTTPException)
    r = upload(api, disc_radius="-3", disc_center_x="1", disc_center_y="1")
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)


# ------------------------------------------------------------------ 9. root

def test_root_has_version_and_api(api):
    from liftflow.contract import API_VERSION

    r = api.client.get("/").json()
    assert r["version"] == API_VERSION == "2.0.0" and r["api"] == "/api/v1"
    assert r["docs"] == "/docs" and r["api_version"] == API_VERSION


# ------------------------------------------------------------------ 10. CORS

def _preflight(client, origin="https://panel.example"):
    return client.options("/api/v1/config/models", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-api-key"})


def test_cors_allows_any_origin_by_default_without_credentials(api):
    r = _preflight(api.client)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    assert "x-api-key" in r.headers["access-control-allow-headers"].lower()
    r = api.client.get("/api/v1/info", headers={"Origin": "https://dashboard.example"})
    assert r.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("value, origin, allowed", [
    ("https://panel.example", "https://panel.example", "https://panel.example"),
    ("https://panel.example, https://app.example", "https://evil.example", None),
    ("none", "https://panel.example", None),
])
def test_cors_origins_narrow_it(api, monkeypatch, value, origin, allowed):
    from fastapi.testclient import TestClient

    from liftflow_api import deps
    from liftflow_api.main import create_app

    monkeypatch.setenv("LIFTFLOW_CORS_ORIGINS", value)
    app = create_app()
    app.dependency_overrides[deps.job_service] = lambda: api.svc
    with TestClient(app) as c:
        r = _preflight(c, origin)
        assert r.headers.get("access-control-allow-origin") == allowed
        if value == "none":
            assert r.status_code == 405


def test_preflight_needs_no_api_key(api, monkeypatch):
    from fastapi.testclient import TestClient

    from liftflow_api import deps
    from liftflow_api.main import create_app

    monkeypatch.setenv("LIFTFLOW_API_KEYS", "k1")
    app = create_app()
    app.dependency_overrides[deps.job_service] = lambda: api.svc
    with TestClient(app) as c:
        r = _preflight(c)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
        assert c.get("/api/v1/info").status_code == 401
