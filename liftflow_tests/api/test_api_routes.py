"""The API in process: a JobService on an ephemeral Dagster instance with a stub launcher
(``app.dependency_overrides``), no stack. What is checked before a job exists (files,
seed, tags, backends and their availability), the error mapping, and what reaches the
launcher. The real stack is exercised by test_stack_e2e / test_bench_e2e."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from dagster import DagsterInstance
from fastapi.testclient import TestClient

from liftflow.errors import LaunchError

JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}$")
ABSOLUTE_PATH = re.compile(r"(?<![\w.])/[\w.@+-]+/")


class StubLauncher:
    """The RunLauncher interface (liftflow.orchestration.launcher), recording every call.
    ``fail_from``: the submit with that index (0-based) and later ones raise LaunchError."""

    def __init__(self, fail_from: int | None = None):
        self.fail_from = fail_from
        self.submitted: list[tuple[dict, dict]] = []
        self.terminated: list[str] = []
        self.reexecuted: list[tuple[str, bool]] = []

    def submit(self, run_config: dict, tags: dict) -> str:
        if self.fail_from is not None and len(self.submitted) >= self.fail_from:
            raise LaunchError("Dagster webserver not reachable at 127.0.0.1:3000: connection refused")
        self.submitted.append((run_config, tags))
        return f"stub-run-{len(self.submitted)}"

    def terminate(self, run_id: str) -> None:
        self.terminated.append(run_id)

    def reexecute(self, parent_run_id: str, from_failure: bool = True) -> str:
        self.reexecuted.append((parent_run_id, from_failure))
        return f"stub-rerun-{len(self.reexecuted)}"


@pytest.fixture
def api(tmp_path, monkeypatch):
    """``api.client`` on an app whose JobService has ``api.launcher``; models dir empty (the
    learned backends are unavailable); DATASETS_ROOT holds ``clip.mp4``."""
    for name in ("LIFTFLOW_API_KEYS", "LIFTFLOW_API_KEYS_FILE", "LIFTFLOW_CORS_ORIGINS", "DATASETS_ROOT",
                 "LIFTFLOW_CUTIE_WEIGHTS", "LIFTFLOW_YOLO_DISC_WEIGHTS", "LIFTFLOW_YOLO_POSE_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LIFTFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LIFTFLOW_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LIFTFLOW_MAX_UPLOAD_MB", "1")
    from liftflow.config import get_settings
    from liftflow.orchestration.service import JobService
    from liftflow_api import deps
    from liftflow_api.main import create_app

    settings = get_settings()
    (tmp_path / "models").mkdir()
    settings.datasets_root.mkdir(parents=True)
    (settings.datasets_root / "clip.mp4").write_bytes(b"not decoded at submit")
    launcher = StubLauncher()
    with DagsterInstance.ephemeral(tempdir=str(tmp_path / "dagster")) as instance:
        svc = JobService(settings, instance, launcher)
        app = create_app()
        app.dependency_overrides[deps.job_service] = lambda: svc
        app.dependency_overrides[deps.app_settings] = lambda: settings
        with TestClient(app, raise_server_exceptions=False) as client:
            yield SimpleNamespace(client=client, app=app, svc=svc, launcher=launcher, settings=settings,
                                  tmp=tmp_path)


def upload(api, name="a.mp4", content=b"\0" * 2048, **data):
    return api.client.post("/api/v1/videos/upload", files={"file": (name, content, "video/mp4")}, data=data)


def run_one(api, **data):
    data.setdefault("video_source_type", "local_asset")
    data.setdefault("asset_id", "clip")
    return api.client.post("/api/v1/bench/run_one", data=data)


def job_dirs(api) -> list[str]:
    d = api.settings.results_dir
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def no_server_path(text: str, api) -> None:
    assert str(api.tmp) not in text and not ABSOLUTE_PATH.search(text), text


def save_config(api, **cfg):
    api.settings.config_file.parent.mkdir(parents=True, exist_ok=True)
    api.settings.config_file.write_text(json.dumps(cfg))


# ----------------------------------------------------------------------------- upload

def test_upload_queues_one_run_with_the_seed_and_default_backend(api):
    from liftflow.tracking.registry import DEFAULT_BACKEND

    r = upload(api, disc_center_x="160", disc_center_y="120", disc_radius="30", seed_frame="2", lift_type="squat")
    assert r.status_code == 200, r.text
    vid = r.json()["video_id"]
    assert JOB_ID.match(vid) and r.json()["status"] == "pending"
    [(run_config, tags)] = api.launcher.submitted
    assert tags["job_id"] == vid and tags["backend"] == DEFAULT_BACKEND and tags["source_type"] == "upload"
    lift = json.dumps(run_config)
    for v in ('"disc_radius": 30.0', '"seed_frame": 2', '"lift_type": "squat"', '"pose_backend": "off"'):
        assert v in lift, lift
    meta = json.loads((api.settings.results_dir / vid / "job_meta.json").read_text())
    assert meta["source"]["original_filename"] == "a.mp4" and meta["runs"] == ["stub-run-1"]
    assert meta["model_config"]["tracking_backend"] == DEFAULT_BACKEND
    st = api.client.get(f"/api/v1/videos/{vid}/status")
    assert st.status_code == 200 and st.json()["video_id"] == vid and st.json()["status"] == "pending"
    assert st.json()["links"]["results_page"] == f"/jobs/{vid}"
    listed = api.client.get("/api/v1/videos").json()
    assert listed["count"] == 1 and listed["videos"][0]["original_filename"] == "a.mp4"
    r = api.client.get(f"/api/v1/videos/{vid}/results")
    assert r.status_code == 202 and r.json()["status"] == "pending" and "not ready" in r.json()["detail"]
    r = api.client.get(f"/api/v1/videos/{vid}/overlay")
    assert r.status_code == 404 and "overlay.mp4 does not exist" in r.json()["detail"]
    assert api.client.get(f"/jobs/{vid}").status_code == 200


@pytest.mark.parametrize("name, content, status, words", [
    ("notes.txt", b"hello", 400, "Invalid file extension '.txt'"),
    ("noext", b"hello", 400, "'(none)'"),
    ("empty.mp4", b"", 400, "empty"),
    ("big.mp4", b"\0" * (1024 * 1024 + 1), 413, "1 MB"),
])
def test_upload_refuses_bad_files_and_leaves_nothing(api, name, content, status, words):
    r = upload(api, name=name, content=content)
    assert r.status_code == status and words in r.json()["detail"], r.text
    assert api.launcher.submitted == [] and job_dirs(api) == []
    assert not api.settings.uploads_dir.is_dir() or not any(api.settings.uploads_dir.iterdir())


@pytest.mark.parametrize("fields, words", [
    ({"disc_center_x": "1", "disc_center_y": "1", "disc_radius": "-2"}, "disc_radius must be positive"),
    ({"disc_center_x": "1"}, "must be given together"),
    ({"disc_center_x": "1", "disc_radius": "3"}, "must be given together"),
    ({"disc_center_y": "1", "disc_radius": "3"}, "must be given together"),
    ({"disc_center_x": "nan", "disc_center_y": "1", "disc_radius": "3"}, "finite"),
    ({"disc_center_x": "-5", "disc_center_y": "1", "disc_radius": "3"}, "must not be negative"),
    ({"seed_frame": "-1"}, "seed_frame must be a whole number >= 0"),
    ({"pose": "telepathy"}, "unknown pose backend 'telepathy'"),
    ({"pose_stride": "0"}, "pose_stride must be between 1 and 60"),
    ({"backend": "magic"}, "unknown backend 'magic'"),
])
def test_upload_refuses_bad_fields_with_422(api, fields, words):
    r = upload(api, **fields)
    assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert api.launcher.submitted == [] and job_dirs(api) == []


def test_form_validation_errors_are_422_with_fields(api):
    r = api.client.post("/api/v1/videos/upload", data={"disc_radius": "abc"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"file", "disc_radius"} <= fields and "file" in r.json()["message"]


def test_queue_unreachable_is_503_and_the_job_is_undone(api):
    api.launcher.fail_from = 0
    r = upload(api)
    assert r.status_code == 503
    assert r.json()["detail"].startswith("the analysis queue is not reachable: Dagster webserver not reachable")
    assert job_dirs(api) == []
    r = run_one(api)
    assert r.status_code == 503 and job_dirs(api) == []


# --------------------------------------------------- unavailable backends (issue #14)

@pytest.mark.parametrize("backend", ["cutie", "yolo"])
def test_unavailable_tracking_backend_is_refused_at_every_entry_point(api, backend):
    r = upload(api, backend=backend)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(f"backend {backend!r} is unavailable: ")
    no_server_path(detail, api)
    r1 = run_one(api, backend=backend)
    r2 = run_one(api, video_source_type="upload", asset_id="", backend=backend)
    r3 = api.client.post("/api/v1/bench/run_batch", json={"cases": [{"case_id": "c", "asset_id": "clip"}],
                                                          "backend": backend})
    r4 = upload(api, tracking_backend=backend)  # the original server's field name
    r5 = run_one(api, tracking_backend=backend)
    for res in (r1, r2, r3, r4, r5):
        assert res.status_code == 422 and res.json()["detail"] == detail, res.text
    # the config endpoints answer 200 with success false and the same reason (issue #15)
    for res in (api.client.post("/api/v1/config/tracking-backend", json={"backend": backend}),
                api.client.post("/api/v1/config/models", json={"tracking_backend": backend})):
        assert res.status_code == 200 and res.json()["success"] is False, res.text
        assert res.json()["refused"]["tracking_backend"] == {"value": backend, "reason": detail}
        assert detail in res.json()["message"]
    assert api.launcher.submitted == [] and job_dirs(api) == []
    # the operators' view keeps the exact reason, paths included
    reason = api.client.get("/api/v1/info").json()["backends"][backend]["reason"]
    assert reason and public_of(reason) in detail
    if "weights file not found" in reason:
        assert str(api.tmp / "models") in reason and str(api.tmp) not in detail


def public_of(reason: str) -> str:
    from liftflow.errors import public_message

    return public_message(reason)


def test_saved_default_backend_that_became_unavailable_is_refused(api):
    save_config(api, tracking_backend="cutie")
    for r in (upload(api), run_one(api),
              api.client.post("/api/v1/bench/run_batch", json={"cases": [{"case_id": "c", "asset_id": "clip"}]})):
        assert r.status_code == 422 and "backend 'cutie' is unavailable" in r.json()["detail"], r.text
        no_server_path(r.json()["detail"], api)
    assert api.launcher.submitted == []
    # an explicit backend that can run still goes through
    from liftflow.tracking.registry import DEFAULT_BACKEND

    assert upload(api, backend=DEFAULT_BACKEND).status_code == 200


def test_unavailable_pose_backend_is_refused_per_job_and_from_the_saved_config(api):
    r = upload(api, pose="yolo")
    assert r.status_code == 422 and r.json()["detail"].startswith("pose backend 'yolo' is unavailable: ")
    no_server_path(r.json()["detail"], api)
    assert run_one(api, pose="yolo").json()["detail"] == r.json()["detail"]
    save_config(api, enable_pose_estimation=True, pose_backend="yolo")
    assert upload(api).status_code == 422 and run_one(api).status_code == 422
    assert upload(api, pose="off").status_code == 200  # the per-job choice wins
    assert api.launcher.submitted and "yolo" not in json.dumps(api.launcher.submitted[-1][0])


def test_person_detection_needs_some_pose_backend(api, monkeypatch):
    import liftflow.pose.mediapipe_backend as mp

    monkeypatch.setattr(mp, "availability", lambda settings: "model file missing: /opt/secret/pose_landmark.tflite")
    save_config(api, enable_person_detection=True)
    r = upload(api)
    assert r.status_code == 422 and "person detection needs a pose backend" in r.json()["detail"], r.text
    assert "pose_landmark.tflite" in r.json()["detail"]
    no_server_path(r.json()["detail"], api)
    assert "/opt/secret" not in r.json()["detail"]
    assert api.launcher.submitted == []


# ----------------------------------------------------------------------------- unknown jobs

@pytest.mark.parametrize("jid", ["abcdef12-3456", "not-a-job", "ABCDEF12-3456", "a" * 300])
def test_unknown_or_malformed_job_ids_are_404(api, jid):
    c = api.client
    for r in (c.get(f"/api/v1/videos/{jid}/status"), c.get(f"/api/v1/videos/{jid}/results"),
              c.delete(f"/api/v1/videos/{jid}"), c.post(f"/api/v1/videos/{jid}/retry"),
              c.get(f"/api/v1/videos/{jid}/overlay"), c.get(f"/api/v1/videos/{jid}/poster"),
              c.get(f"/api/v1/videos/{jid}/plots/velocity")):
        assert r.status_code == 404, (r.request.url, r.text)
        assert r.json()["detail"].startswith("Video job '") and r.json()["detail"].endswith("' not found")
    assert c.get("/api/v1/videos/abcdef12-3456/status").json()["detail"] == "Video job 'abcdef12-3456' not found"
    page = c.get(f"/jobs/{jid}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "No job" in page.text
    r = c.post("/api/v1/bench/compare", json={"job_id": "abcdef12-3456", "case_id": "x"})
    assert r.status_code == 404 and r.json()["detail"] == "Video job 'abcdef12-3456' not found"


def test_page_of_unknown_job_escapes_the_id(api):
    page = api.client.get("/jobs/<script>x")
    assert page.status_code == 404 and "<script>" not in page.text


def test_retry_of_a_pending_job_is_409_and_delete_removes_it(api):
    vid = upload(api).json()["video_id"]
    r = api.client.post(f"/api/v1/videos/{vid}/retry")
    assert r.status_code == 409 and "only a failed job can be re-executed" in r.json()["detail"]
    assert api.launcher.reexecuted == []
    r = api.client.post("/api/v1/bench/compare", json={"job_id": vid, "case_id": "x"})
    assert r.status_code == 409 and "only a completed job can be compared" in r.json()["detail"]
    r = api.client.delete(f"/api/v1/videos/{vid}")
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert job_dirs(api) == [] and api.client.get(f"/api/v1/videos/{vid}/status").status_code == 404


# ----------------------------------------------------------------------------- bench

def test_run_one_local_asset_with_tags(api):
    r = run_one(api, case_id="c1", client_run_id="nightly", tags="env=indoor;disc=black")
    assert r.status_code == 200, r.text
    body = r.json()
    jid = body["job_id"]
    assert body["source_type"] == "local_asset" and body["links"]["status"] == f"/api/v1/videos/{jid}/status"
    [(_, tags)] = api.launcher.submitted
    assert tags["case_id"] == "c1" and tags["client_run_id"] == "nightly" and tags["user/env"] == "indoor"
    meta = json.loads((api.settings.results_dir / jid / "job_meta.json").read_text())
    assert meta["benchmark"]["tags"] == {"env": "indoor", "disc": "black"}
    assert meta["source"] == {"type": "local_asset", "original_filename": "clip.mp4", "asset_id": "clip"}
    r = run_one(api, tags='{"env": "outdoor", "reps": 3}')
    assert r.status_code == 200
    assert api.launcher.submitted[-1][1]["user/reps"] == "3"


@pytest.mark.parametrize("fields, status, words", [
    ({"video_source_type": "telepathy"}, 422, 'video_source_type must be "upload" or "local_asset"'),
    ({"tags": "{not json"}, 422, "tags: invalid JSON object"),
    ({"tags": "[1, 2]"}, 422, "tags"),
    ({"tags": '{"a": [1]}'}, 422, "must be a string or number"),
    ({"tags": json.dumps({"k": "v" * 257})}, 422, "limited to 256 characters"),
    ({"tags": json.dumps({f"k{i}": i for i in range(51)})}, 422, "at most 50 tags"),
    ({"video_source_type": "upload", "asset_id": ""}, 422, "video_source_type=upload needs a file"),
    ({"asset_id": "nope"}, 404, "asset_id 'nope' not found in DATASETS_ROOT"),
    ({"asset_id": "../../etc/passwd"}, 404, "not found"),
    ({"asset_id": "", "asset_path": "../../etc/passwd"}, 404, "asset_path not found"),
    ({"asset_id": ""}, 422, "local_asset needs asset_id (or asset_path)"),
])
def test_run_one_validation(api, fields, status, words):
    r = run_one(api, **fields)
    assert r.status_code == status and words in r.json()["detail"], r.text
    assert api.launcher.submitted == [] and job_dirs(api) == []


def test_run_one_without_datasets_root_is_503(api):
    (api.settings.datasets_root / "clip.mp4").unlink()
    api.settings.datasets_root.rmdir()
    r = run_one(api)
    assert r.status_code == 503 and "DATASETS_ROOT" in r.json()["detail"]
    r = api.client.post("/api/v1/bench/run_batch", json={"all_cases": True})
    assert r.status_code == 503


def test_run_batch_submits_one_run_per_case(api):
    from liftflow.bench.dataset import write_manifest

    (api.settings.datasets_root / "clip2.mp4").write_bytes(b"x")
    write_manifest(api.settings.datasets_root, [
        {"case_id": "a", "asset": "clip.mp4", "tags": "env=indoor"},
        {"case_id": "b", "asset": "clip2.mp4", "disc_center_x": 10, "disc_center_y": 10, "disc_radius": 5}])
    r = api.client.post("/api/v1/bench/run_batch", json={"case_ids": ["a", "b"], "client_run_id": "n1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 2 and [j["case_id"] for j in body["jobs"]] == ["a", "b"]
    assert [t["case_id"] for _, t in api.launcher.submitted] == ["a", "b"]
    assert all(t["client_run_id"] == "n1" for _, t in api.launcher.submitted)
    assert sorted(job_dirs(api)) == sorted(j["job_id"] for j in body["jobs"])


@pytest.mark.parametrize("body, words", [
    ({}, "give exactly one of case_ids"),
    ({"case_ids": ["a"], "all_cases": True}, "give exactly one of case_ids"),
    ({"cases": [{"case_id": "x", "asset_path": "../../etc/passwd"}]}, "outside the dataset root"),
    ({"cases": [{"case_id": "x", "asset_id": "clip", "disc_radius": -1}]}, "seed:"),
    ({"cases": [{"case_id": "x", "asset_id": "clip", "tags": "nokv"}]}, "is not key=value"),
    ({"cases": [{"case_id": "x", "asset_id": "clip"}], "backend": "magic"}, "unknown backend 'magic'"),
])
def test_run_batch_validation(api, body, words):
    r = api.client.post("/api/v1/bench/run_batch", json=body)
    assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert api.launcher.submitted == []


def test_run_batch_stopped_part_way_is_503_with_the_jobs_created(api):
    api.launcher.fail_from = 1
    r = api.client.post("/api/v1/bench/run_batch", json={"cases": [
        {"case_id": "a", "asset_id": "clip"}, {"case_id": "b", "asset_id": "clip"}]})
    assert r.status_code == 503, r.text
    detail = r.json()["detail"]
    assert detail["message"].startswith("case b: could not be queued")
    assert [j["case_id"] for j in detail["submitted"]] == ["a"] and JOB_ID.match(detail["submitted"][0]["job_id"])


def test_compare_needs_exactly_one_source_of_truth(api, monkeypatch):
    vid = upload(api).json()["video_id"]
    monkeypatch.setattr(type(api.svc), "result", lambda self, job_id: (self.view(job_id), {"tracks": []}))
    r = api.client.post("/api/v1/bench/compare", json={"job_id": vid})
    assert r.status_code == 422 and "give exactly one of ground_truth" in r.json()["detail"]


# ----------------------------------------------------------------------------- system

def test_config_round_trip_and_info(api):
    from liftflow.tracking.registry import DEFAULT_BACKEND

    r = api.client.post("/api/v1/config/models", json={"pose_backend": "telepathy"})
    assert r.status_code == 200 and r.json()["success"] is False
    assert "unknown pose backend 'telepathy'; known: mediapipe, yolo" in r.json()["message"]
    r = api.client.post("/api/v1/config/tracking-backend", json={"backend": "magic"})
    assert r.status_code == 200 and r.json()["success"] is False
    assert r.json()["message"].startswith("tracking_backend 'magic' not applied: unknown backend 'magic'; known: ")
    r = api.client.post("/api/v1/config/tracking-backend", json={"backend": DEFAULT_BACKEND})
    assert r.status_code == 200 and r.json()["backend"] == DEFAULT_BACKEND and r.json()["success"] is True
    r = api.client.post("/api/v1/config/models", json={"enable_person_detection": True})
    assert r.status_code == 200 and r.json()["enable_person_detection"] is True
    info = api.client.get("/api/v1/info").json()
    assert info["active_optional_models"]["person_detection"] is True
    assert info["current_default_backend"] == DEFAULT_BACKEND and DEFAULT_BACKEND in info["available_backends"]
    assert info["auth"] == {"enabled": False, "header": "X-API-Key"}
    assert api.client.get("/api/v1/assets").json()["assets"] == [
        {"asset_id": "clip", "filename": "clip.mp4", "size_mb": 0.0}]


def test_health_and_unexpected_errors(api, monkeypatch):
    from liftflow_api import deps

    h = api.client.get("/health")
    assert h.status_code == 200 and h.json()["jobs"]["total"] == 0

    def broken():
        raise RuntimeError("run storage unreadable")

    api.app.dependency_overrides[deps.job_service] = broken
    h = api.client.get("/health")
    assert h.status_code == 503 and h.json() == {"status": "unhealthy", "detail": "run storage unreadable"}
    r = api.client.get("/api/v1/videos")
    assert r.status_code == 500 and r.json()["detail"] == "internal error: RuntimeError: run storage unreadable"


def test_every_liftflow_error_has_one_status():
    from liftflow import errors as E
    from liftflow_api.errors import status_for

    expected = {E.InputError: 422, E.VideoError: 422, E.SeedError: 422, E.AnalysisError: 422,
                E.BackendUnavailable: 422, E.TrackerUnavailable: 422, E.PoseUnavailable: 422,
                E.JobNotFound: 404, E.JobConflict: 409, E.LaunchError: 503, E.ConfigError: 500,
                E.TrackingError: None, E.StackError: None}
    for cls, status in expected.items():
        assert status_for(cls("x")) == status, cls
    assert status_for(E.DatasetError(["a", "b"])) == 422
    assert status_for(E.BatchError("x", [])) == 503


# ----------------------------------------------------------------------------- tags

def test_parse_tags_one_syntax_for_manifests_and_the_api():
    from liftflow.bench.dataset import parse_tags

    assert parse_tags(None) == {} and parse_tags("") == {} and parse_tags("  ") == {}
    assert parse_tags('{"env": "indoor", "n": 3}') == {"env": "indoor", "n": "3"}
    assert parse_tags("env=indoor; disc=black|x=1") == {"env": "indoor", "disc": "black", "x": "1"}
    assert parse_tags({"a": 1}) == {"a": "1"}
    for bad, words in (("{oops", "invalid JSON object"), ('["a"]', "not key=value"), ('{"a": {}}', "string or number"),
                       ("novalue", "not key=value"), ('"quoted"', "not key=value")):
        with pytest.raises(ValueError, match=re.escape(words)):
            parse_tags(bad)
    with pytest.raises(ValueError, match="at most 2 tags"):
        parse_tags("a=1;b=2;c=3", max_tags=2)
    with pytest.raises(ValueError, match="limited to 4 characters"):
        parse_tags("a=12345", max_len=4)


# ----------------------------------------------------------------------------- the load (issue #18)

def _lift(api, index: int = -1) -> dict:
    [res] = api.launcher.submitted[index][0]["resources"].values()
    return res["config"]


@pytest.mark.parametrize("value, words", [
    ("0", "load_kg must be a finite number of kilograms > 0 and at most 600"),
    ("-20", "load_kg must be a finite number"),
    ("nan", "load_kg must be a finite number"),
    ("inf", "load_kg must be a finite number"),
    ("-inf", "load_kg must be a finite number"),
    ("600.5", "at most 600"),
])
def test_a_load_that_cannot_be_is_422_at_every_entry_point(api, value, words):
    for r in (upload(api, load_kg=value), run_one(api, load_kg=value),
              run_one(api, video_source_type="upload", asset_id="", load_kg=value)):
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    number = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(value, value)  # as JSON spells them
    r = api.client.post("/api/v1/bench/run_batch", headers={"content-type": "application/json"},
                        content='{"cases": [{"case_id": "c", "asset_id": "clip", "load_kg": %s}]}' % number)
    assert r.status_code == 422, r.text
    if number == value:
        assert "cases[0]" in r.json()["detail"] and "load_kg must be" in r.json()["detail"]
    assert api.launcher.submitted == [] and job_dirs(api) == []


def test_a_load_that_is_not_a_number_is_422_in_fastapis_shape(api):
    r = upload(api, load_kg="heavy")
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"load_kg"}
    assert api.launcher.submitted == []


def test_the_load_reaches_the_run_and_is_left_out_when_not_given(api):
    assert upload(api, load_kg="102.5").status_code == 200
    assert _lift(api)["load_kg"] == 102.5
    assert run_one(api, load_kg="80").status_code == 200 and _lift(api)["load_kg"] == 80.0
    r = api.client.post("/api/v1/bench/run_batch", json={"cases": [
        {"case_id": "a", "asset_id": "clip", "load_kg": 140}, {"case_id": "b", "asset_id": "clip"}]})
    assert r.status_code == 200, r.text
    assert _lift(api, -2)["load_kg"] == 140.0 and "load_kg" not in _lift(api, -1)
    # not given: the run config is what it was before the field existed (the physics assumes)
    assert upload(api).status_code == 200 and "load_kg" not in _lift(api)


def test_status_shows_a_verdict_as_new_fields_only(api, monkeypatch):
    from liftflow.orchestration.service import JobView

    vid = upload(api).json()["video_id"]
    verdict = {"code": "plate_lost", "message": "the plate was followed in 51 of 202 frames"}
    view = JobView(vid, "completed", 1.0, "completed", f"Analysis complete: {verdict['message']}",
                   "2026-02-13T12:00:00", "2026-02-13T12:00:05", run_id="r1", verdict=verdict)
    monkeypatch.setattr(type(api.svc), "view", lambda self, job_id, records=None: view)
    monkeypatch.setattr(type(api.svc), "cached_view", lambda self, job_id: None)  # always ask view
    st = api.client.get(f"/api/v1/videos/{vid}/status").json()
    assert st["status"] == "completed" and st["progress"] == 1.0 and st["verdict"] == verdict
    assert st["message"].startswith("Analysis complete")
    plain = JobView(vid, "pending", 0.0, "queued", "Queued", None, None)
    monkeypatch.setattr(type(api.svc), "view", lambda self, job_id, records=None: plain)
    assert "verdict" not in api.client.get(f"/api/v1/videos/{vid}/status").json()
