"""Issue #16 (API): escaping, non-finite numbers, what clients see of failures, lift types,
pose backends in config, signed page links. In process, with the stub launcher of
test_api_routes; the request guard's body limits are in test_api_guard.py."""

from __future__ import annotations

import json
import time

import pytest

from liftflow.errors import LaunchError, public_launch_message, public_message
from liftflow.orchestration.service import JobView
from test_api_routes import api, job_dirs, no_server_path, run_one, save_config, upload  # noqa: F401  (api: fixture)

HOSTILE = ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', "'><svg onload=alert(1)>"]
RAW = ("<img src=x", "<script>alert", "<svg onload")


def no_raw_markup(html: str) -> None:
    for raw in RAW:
        assert raw not in html, raw


# ------------------------------------------------------------------------------ 1. XSS

def test_hostile_ids_on_the_page_routes_are_escaped(api):
    for bad in HOSTILE:
        r = api.client.get("/jobs/" + bad)
        assert r.status_code == 404, r.text
        no_raw_markup(r.text)


def test_the_results_page_escapes_every_user_value(api, monkeypatch):
    name = HOSTILE[0] + ".mp4"
    r = upload(api, name=name)
    assert r.status_code == 200, r.text
    vid = r.json()["video_id"]
    r2 = run_one(api, case_id=HOSTILE[1], tags=json.dumps({HOSTILE[2]: HOSTILE[0]}), client_run_id=HOSTILE[1])
    assert r2.status_code == 200, r2.text
    for jid in (vid, r2.json()["job_id"]):
        page = api.client.get(f"/jobs/{jid}")
        assert page.status_code == 200 and "&lt;" in page.text
        no_raw_markup(page.text)
        assert "script-src 'sha256-" in page.headers["content-security-policy"]
    # a failed job whose reason echoes user data
    view = JobView(vid, "failed", 0.1, "decode", f"Analysis failed: decode: {HOSTILE[1]}", None, None,
                   error=f"decode: {HOSTILE[0]}", meta={"source": {"original_filename": name}})
    monkeypatch.setattr(type(api.svc), "view", lambda self, job_id, records=None: view)
    monkeypatch.setattr(type(api.svc), "cached_view", lambda self, job_id: None)  # always ask view
    page = api.client.get(f"/jobs/{vid}")
    assert page.status_code == 200
    no_raw_markup(page.text)


def test_the_completed_page_escapes_result_values():
    from liftflow.render import results_page_html

    result = {"status": "completed", "metadata": {"fps": 30, "width": 2, "height": 2},
              "tracking": {"backend": HOSTILE[0], "frames": HOSTILE[1]},
              "warnings": [HOSTILE[1], {"message": HOSTILE[2]}],
              "calibration": {"lift_type": HOSTILE[0], "m_per_px": 0.001, "method": HOSTILE[2]},
              "reps": [{"rep": HOSTILE[0]}], "summary": {"rep_count": HOSTILE[1]}, "processed_at": HOSTILE[2]}
    status = {"status": "completed", "case_id": HOSTILE[0], "original_filename": HOSTILE[1],
              "tags": {HOSTILE[2]: HOSTILE[0]}, "client_run_id": HOSTILE[1], "run_id": HOSTILE[2]}
    html = results_page_html(HOSTILE[1], result, status, {
        "overlay": 'javascript:alert(1)', "poster": '"><script>alert(1)</script>', "plot:" + HOSTILE[0]: "/x.png"})
    no_raw_markup(html)
    assert "javascript:" not in html


# ------------------------------------------------------------------ 3. non-finite numbers

@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "1e400"])
@pytest.mark.parametrize("field", ["disc_center_x", "disc_center_y", "disc_radius", "seed_frame", "pose_stride"])
def test_upload_and_run_one_refuse_non_finite_numbers(api, field, value):
    seed = {"disc_center_x": "10", "disc_center_y": "10", "disc_radius": "5"}
    for send in (upload, run_one):
        r = send(api, **{**seed, field: value})
        assert r.status_code == 422, (send.__name__, field, value, r.text)
    assert api.launcher.submitted == [] and job_dirs(api) == []


@pytest.mark.parametrize("case", [
    {"disc_center_x": float("inf"), "disc_center_y": 1, "disc_radius": 3},
    {"disc_center_x": 1, "disc_center_y": 1, "disc_radius": float("nan")},
    {"seed_frame": float("inf")},
    {"expected_reps": float("inf")},
    {"expected_reps": [float("-inf")]},
    {"expected_reps": float("nan")},
])
def test_run_batch_refuses_non_finite_numbers(api, case):
    body = json.dumps({"cases": [{"case_id": "c1", "asset_id": "clip", **case}]})  # Infinity/NaN literals
    r = api.client.post("/api/v1/bench/run_batch", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert api.launcher.submitted == []


def test_compare_refuses_non_finite_ground_truth(api):
    body = '{"job_id": "abcdef12-3456", "expected_reps": [Infinity]}'
    r = api.client.post("/api/v1/bench/compare", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text


def test_physics_params_refuse_non_finite_values():
    from liftflow.physics import PhysicsParams

    for kw in ({"plate_diameter_m": float("inf")}, {"plate_diameter_m": float("nan")},
               {"bar_mass_kg": float("nan")}, {"plate_mass_kg": float("inf")}, {"m_per_px": float("inf")}):
        with pytest.raises(ValueError):
            PhysicsParams(**kw)


GRAPHQL_ERROR = ("could not launch the analysis run: Server error with code 400\nand message 400 Client Error: "
                 "Bad Request for url: http://127.0.0.1:3000/graphql\noccured during execution of query \n"
                 "mutation($executionParams: ExecutionParams!) { launchPipelineExecution(...) }\n with variables \n"
                 "{'executionParams': {'runConfigData': {'video_path': '/srv/data/api/uploads/x/input.mp4'}}}\n")


def test_a_launch_error_never_shows_the_graphql_text_or_paths(api, monkeypatch):
    def boom(run_config, tags):
        raise LaunchError(GRAPHQL_ERROR)

    monkeypatch.setattr(api.launcher, "submit", boom)
    for r in (upload(api), run_one(api),
              api.client.post("/api/v1/bench/run_batch", json={"cases": [{"case_id": "c1", "asset_id": "clip"}]})):
        assert r.status_code == 503, r.text
        text = json.dumps(r.json())
        assert "mutation" not in text and "query" not in text and "variables" not in text, text
        assert "/srv" not in text and "Server error with code 400" in text, text
        no_server_path(text, api)


def test_public_messages():
    ffmpeg = "decode: [Errno 1094995529] Invalid data found when processing input: '/srv/data/api/uploads/ab/input.mp4'"
    assert public_message(ffmpeg) == "decode: Invalid data found when processing input: 'input.mp4'"
    assert public_message("[Errno 2] No such file or directory: '/a/b.txt'") == "No such file or directory: 'b.txt'"
    assert public_message("nothing to hide: 3/4 reps") == "nothing to hide: 3/4 reps"
    assert public_launch_message(GRAPHQL_ERROR) == "could not launch the analysis run: Server error with code 400"
    assert LaunchError("webserver down").public == "webserver down"


# ------------------------------------------------------------- 4. failures without paths

FFMPEG_FAILURE = ("decode: [Errno 1094995529] Invalid data found when processing input: "
                  "'/srv/liftflow/data/api/uploads/abcdef12-3456/input.mp4'")


def test_failure_reasons_are_served_without_paths_or_errno(api, monkeypatch):
    vid = upload(api).json()["video_id"]
    view = JobView(vid, "failed", 0.0, "decode", f"Analysis failed: {FFMPEG_FAILURE}", None, None,
                   error=FFMPEG_FAILURE, run_id="r1", meta={})
    monkeypatch.setattr(type(api.svc), "view", lambda self, job_id, records=None: view)
    monkeypatch.setattr(type(api.svc), "cached_view", lambda self, job_id: None)  # always ask view
    monkeypatch.setattr(type(api.svc), "result", lambda self, job_id: (view, None))
    monkeypatch.setattr(type(api.svc), "list", lambda self: [view])
    bodies = [api.client.get(f"/api/v1/videos/{vid}/status"), api.client.get(f"/api/v1/videos/{vid}/results"),
              api.client.get("/api/v1/videos"), api.client.get(f"/jobs/{vid}")]
    for r in bodies:
        assert "Invalid data found when processing input" in r.text, r.text
        assert "Errno" not in r.text and "/srv" not in r.text and "uploads/" not in r.text, r.text
    assert bodies[0].json()["error"] == "decode: Invalid data found when processing input: 'input.mp4'"
    assert view.error == FFMPEG_FAILURE  # the full text stays for job_meta.json / pipeline.log


def test_dataset_errors_and_missing_root_show_no_paths(api):
    r = api.client.post("/api/v1/bench/compare", json={"job_id": "abcdef12-3456", "ground_truth": [{"frame": "x"}]})
    no_server_path(r.text, api)
    r = api.client.post("/api/v1/bench/run_batch", json={"cases": [{"case_id": "c1", "asset": "nope.mp4"}]})
    assert r.status_code == 422 and "nope.mp4" in r.text
    no_server_path(r.text, api)
    assets = api.client.get("/api/v1/assets").json()
    assert assets["assets_root"] == api.settings.datasets_root.name and assets["count"] == 1
    no_server_path(json.dumps(assets), api)
    import shutil

    shutil.rmtree(api.settings.datasets_root)
    for r in (run_one(api), api.client.post("/api/v1/bench/run_batch", json={"all_cases": True})):
        assert r.status_code == 503 and "DATASETS_ROOT" in r.json()["detail"], r.text
        no_server_path(r.json()["detail"], api)


# ------------------------------------------------------------------------- 5. lift types

def test_unknown_lift_type_is_refused_at_submit(api):
    for send in (upload, run_one):
        r = send(api, lift_type="curl")
        assert r.status_code == 422, r.text
        assert "curl" in r.json()["detail"] and "squat" in r.json()["detail"] and "snatch" in r.json()["detail"]
    assert api.launcher.submitted == [] and job_dirs(api) == []
    assert upload(api, lift_type="Back squat").status_code == 200
    [(run_config, _)] = api.launcher.submitted
    assert '"lift_type": "squat"' in json.dumps(run_config)


def test_config_refuses_an_unavailable_pose_backend_and_applies_the_rest(api):
    r = api.client.post("/api/v1/config/models", json={"pose_backend": "yolo", "enable_person_detection": True})
    body = r.json()
    assert r.status_code == 200 and body["success"] is False, body
    assert "pose_backend" in body["refused"] and body["applied"] == {"enable_person_detection": True}
    assert body["pose_backend"] != "yolo" and body["enable_person_detection"] is True
    no_server_path(json.dumps(body["refused"]), api)
    assert json.loads(api.settings.config_file.read_text())["pose_backend"] != "yolo"


# -------------------------------------------------------------------- 6. signed page links

@pytest.fixture
def keyed(api, monkeypatch):
    """``api`` with keys on (the guard reads the environment's settings per request; the
    routes use the JobService's)."""
    import dataclasses

    monkeypatch.setenv("LIFTFLOW_API_KEYS", "k-1")
    api.settings = api.svc.settings = dataclasses.replace(api.settings, api_keys=("k-1",))
    view = type(api.svc).view
    monkeypatch.setattr(type(api.svc), "view", lambda self, job_id, records=None: dataclasses.replace(
        view(self, job_id), status="completed"))  # the page shows the video, plots and result
    monkeypatch.setattr(type(api.svc), "cached_view", lambda self, job_id: None)  # always ask view
    return api


def _completed_job(api) -> str:
    vid = api.client.post("/api/v1/videos/upload", files={"file": ("a.mp4", b"\0" * 100)},
                          headers={"X-API-Key": "k-1"}).json()["video_id"]
    folder = api.settings.results_dir / vid
    (folder / "result.json").write_text('{"status": "completed"}')
    (folder / "overlay.mp4").write_bytes(b"mp4")
    (folder / "overlay_poster.jpg").write_bytes(b"jpg")
    (folder / "plots").mkdir(exist_ok=True)
    (folder / "plots" / "velocity.png").write_bytes(b"png")
    return vid


def test_page_links_are_signed_and_open_only_the_page_and_its_media(keyed):
    api = keyed
    vid = _completed_job(api)
    other = _completed_job(api)
    st = api.client.get(f"/api/v1/videos/{vid}/status", headers={"X-API-Key": "k-1"}).json()
    link = st["links"]["results_page"]
    assert link.startswith(f"/jobs/{vid}?token=")
    token = link.split("token=", 1)[1]
    page = api.client.get(link)
    assert page.status_code == 200 and "LiftFlow results" in page.text
    assert "?api_key" not in page.text and "result.json" not in page.text
    for media in ("overlay", "poster", "plots/velocity"):
        url = f"/api/v1/videos/{vid}/{media}?token={token}"
        assert api.client.get(url).status_code == 200, url
        assert f"/api/v1/videos/{vid}/{media}?token=" in page.text, media
    # never another job, never a JSON route, never another method, never forged or expired
    for url in (f"/jobs/{other}?token={token}", f"/api/v1/videos/{other}/overlay?token={token}",
                f"/api/v1/videos/{vid}/status?token={token}", f"/api/v1/videos/{vid}/results?token={token}",
                f"/api/v1/videos?token={token}", f"/api/v1/info?token={token}",
                f"/jobs/{vid}?token={token[:-2]}xx", f"/jobs/{vid}?token=9999999999.forged",
                f"/jobs/{vid}", f"/jobs/{vid}?api_key=k-1"):
        assert api.client.get(url).status_code == 401, url
    assert api.client.delete(f"/api/v1/videos/{vid}?token={token}").status_code == 401
    from liftflow_api.links import make_token

    expired = make_token(api.settings, vid, now=time.time() - api.settings.link_ttl_s - 10)
    assert api.client.get(f"/jobs/{vid}?token={expired}").status_code == 401
    # the key still opens the page (curl), and its media links carry a token
    page = api.client.get(f"/jobs/{vid}", headers={"X-API-Key": "k-1"})
    assert page.status_code == 200 and f"/api/v1/videos/{vid}/overlay?token=" in page.text


def test_link_secret_setting():
    from liftflow.config import build_settings
    from liftflow.errors import ConfigError
    from liftflow_api.links import make_token, token_valid

    with pytest.raises(ConfigError, match="LIFTFLOW_LINK_SECRET"):
        build_settings({"LIFTFLOW_LINK_SECRET": "short"})
    with pytest.raises(ConfigError, match="LIFTFLOW_LINK_TTL_S"):
        build_settings({"LIFTFLOW_LINK_TTL_S": "5"})
    a = build_settings({"LIFTFLOW_API_KEYS": "k", "LIFTFLOW_LINK_SECRET": "s" * 20, "LIFTFLOW_LINK_TTL_S": "120"})
    b = build_settings({"LIFTFLOW_API_KEYS": "k", "LIFTFLOW_LINK_SECRET": "t" * 20})
    t = make_token(a, "abcdef12-3456")
    assert token_valid(a, "abcdef12-3456", t) and not token_valid(b, "abcdef12-3456", t)
    assert not token_valid(a, "abcdef12-3456", t, now=time.time() + 121)
    c = build_settings({"LIFTFLOW_API_KEYS": "other"})
    assert not token_valid(c, "abcdef12-3456", make_token(build_settings({"LIFTFLOW_API_KEYS": "k"}), "abcdef12-3456"))
