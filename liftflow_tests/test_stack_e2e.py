"""End to end with the real stack: code server, Dagster webserver and daemon, API (liftflow up)."""

import json
import shutil
import time
from pathlib import Path

import pytest

from liftflow.devstack import StackProcess

pytestmark = pytest.mark.e2e

CONTRACT_METRICS = ["frames", "time_s", "x_m", "y_m", "height_m", "vx_m_s", "vy_m_s", "speed_m_s",
                    "accel_m_s2", "kinetic_energy_j", "potential_energy_j", "total_energy_j", "power_w"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = StackProcess(tmp_path_factory.mktemp("stack"), LIFTFLOW_MAX_UPLOAD_MB="8").start()
    yield s
    assert s.stop() == 0, s.tail()


def _seed(row):
    return {"disc_center_x": row["disc_center_x"], "disc_center_y": row["disc_center_y"],
            "disc_radius": row["disc_radius"], "seed_frame": row["seed_frame"]}


def test_original_client_flow_on_a_real_clip(stack, real_data, manifest):
    """upload -> poll status -> results, exactly as the original mobile/CLI clients do."""
    row = manifest["dave-clean"]
    with stack.client() as c, open(real_data / row["file"], "rb") as f:
        r = c.post("/api/v1/videos/upload", files={"file": ("DaveShort.mp4", f, "video/mp4")},
                   data=_seed(row))
        assert r.status_code == 200, r.text
        up = r.json()
        assert set(up) == {"video_id", "status", "message"} and up["status"] == "pending"
        vid = up["video_id"]
        seen_progress = []
        deadline = time.monotonic() + 180
        while True:
            st = c.get(f"/api/v1/videos/{vid}/status").json()
            assert {"video_id", "status", "progress", "current_step", "message", "created_at",
                    "updated_at"} <= set(st)
            assert 0.0 <= st["progress"] <= 1.0
            seen_progress.append(st["progress"])
            if st["status"] in ("completed", "failed"):
                break
            assert time.monotonic() < deadline, st
            time.sleep(0.3)
        assert st["status"] == "completed", st
        assert seen_progress == sorted(seen_progress), "progress must never go backwards"
        res = c.get(f"/api/v1/videos/{vid}/results")
        assert res.status_code == 200
        data = res.json()
    assert data["video_id"] == vid and data["status"] == "completed"
    assert data["metadata"]["total_frames"] == int(row["frames"])
    assert data["metadata"]["width"] == int(row["width"]) and data["metadata"]["height"] == int(row["height"])
    discs = [t for t in data["tracks"] if t["class_name"] == "frisbee"]
    assert len(discs) == 1
    disc = discs[0]
    assert len(disc["frames"]) >= 0.9 * int(row["frames"])
    for key, fr in disc["frames"].items():
        assert key.isdigit() and len(fr["mask"]) >= 3 and 0.0 <= fr["confidence"] <= 1.0
    assert len(disc["trajectory"]) == len(disc["frames"])
    lengths = {len(data["metrics"][k]) for k in CONTRACT_METRICS}
    assert len(lengths) == 1 and lengths.pop() > 0
    s = data["summary"]
    for k in ("peak_speed_m_s", "peak_power_w", "max_height_m", "min_height_m", "lift_duration_s", "total_frames",
              "peak_speed_lift_m_s", "peak_power_lift_w", "moving_duration_s"):
        assert k in s
    assert 0.5 < s["peak_speed_lift_m_s"] < 3.0  # a clean: fast, but no barbell moves above 3 m/s
    # the v2.0.0 keys keep the original meaning: every analysed frame, the video
    assert s["peak_speed_m_s"] >= s["peak_speed_lift_m_s"] and s["peak_power_w"] >= s["peak_power_lift_w"]
    assert s["lift_duration_s"] == data["metadata"]["duration_s"] > s["moving_duration_s"] > 0
    # the job folder holds every documented file
    job_dir = stack.data_dir / "api" / "results" / vid
    for name in ("result.json", "job_meta.json", "pipeline.log", "pipeline_config.yaml",
                 "metrics_calculator_output.json"):
        assert (job_dir / name).is_file(), name
    meta = json.loads((job_dir / "job_meta.json").read_text())
    assert meta["status"] == "completed" and meta["job_id"] == vid
    assert meta["source"] == {"type": "upload", "original_filename": "DaveShort.mp4", "asset_id": None}
    assert meta["video_metadata"]["total_frames"] == int(row["frames"])
    assert set(meta["steps"]) == {"decode", "track_disc", "estimate_pose", "compute_metrics", "assemble_contract"}
    assert meta["runtime"]["worker_peak_rss_mb"] > 0 and meta["runtime"]["worker_cpu_s"] > 0
    assert meta["artefacts"]["overlay"] == "overlay.mp4"
    with stack.client() as c:
        st = c.get(f"/api/v1/videos/{vid}/status").json()
        assert st["links"]["results_page"] == f"/jobs/{vid}"
        ov = c.get(st["links"]["overlay"])
        assert ov.status_code == 200 and ov.headers["content-type"] == "video/mp4" and len(ov.content) > 10_000
        part = c.get(st["links"]["overlay"], headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100  # phones need range requests
        for name, url in st["links"]["plots"].items():
            r = c.get(url)
            assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG", name
        assert c.get(f"/api/v1/videos/{vid}/plots/nope").status_code == 404
        page = c.get(f"/jobs/{vid}")
        assert page.status_code == 200 and f"/api/v1/videos/{vid}/overlay" in page.text
        assert "<video" in page.text and f"/api/v1/videos/{vid}/plots/velocity" in page.text
        assert c.get("/jobs/00000000-0000").status_code == 404
    log = (job_dir / "pipeline.log").read_text()
    for step in ("[decode]", "[track_disc]", "[estimate_pose]", "[compute_metrics]", "[assemble_contract]"):
        assert step in log


def _index_when(results, pred, timeout_s: float = 30.0) -> dict:
    """jobs.json once ``pred(index)`` holds (the supervisor rewrites it within ~0.5 s of a change)."""
    deadline = time.monotonic() + timeout_s
    while True:
        index = json.loads((results / "jobs.json").read_text())  # never half-written
        if pred(index) or time.monotonic() > deadline:
            assert pred(index), index
            return index
        time.sleep(0.1)


def test_quickstart_section_g(stack, real_data, manifest, synth_clip):
    """Every curl of BENCHMARK_API.md section G gives the documented shape."""
    path, _ = synth_clip
    assets = stack.data_dir / "bench_assets"
    shutil.copy(path, assets / "snatch_001.mp4")
    with stack.client() as c:
        info = c.get("/api/v1/info").json()
        for k in ("api_version", "results_contract_version", "supports_video_source", "available_backends",
                  "current_default_backend", "active_optional_models", "limits", "assets",
                  "server_build", "timestamp"):
            assert k in info, k
        assert info["limits"]["max_upload_mb"] == 8 and info["limits"]["max_concurrent_jobs"] == 1
        assert "classic" in info["available_backends"]
        assert set(info["server_build"]) >= {"git_sha", "build_time", "hostname", "python_version", "platform"}

        with open(path, "rb") as f:
            r = c.post("/api/v1/bench/run_one", files={"file": ("snatch_001.mp4", f, "video/mp4")}, data={
                "video_source_type": "upload", "disc_center_x": 144, "disc_center_y": 69,
                "disc_radius": 36, "seed_frame": 0, "case_id": "snatch_001",
                "client_run_id": "run_20260213", "tags": json.dumps({"env": "indoor", "disc": "black"})})
        assert r.status_code == 200, r.text
        up = r.json()
        assert set(up) == {"job_id", "case_id", "client_run_id", "source_type", "status", "message", "links"}
        assert up["links"] == {"status": f"/api/v1/videos/{up['job_id']}/status",
                               "results": f"/api/v1/videos/{up['job_id']}/results",
                               "delete": f"/api/v1/videos/{up['job_id']}"}

        r = c.post("/api/v1/bench/run_one", data={
            "video_source_type": "local_asset", "asset_id": "snatch_001", "disc_center_x": 144,
            "disc_center_y": 69, "disc_radius": 36, "seed_frame": 0, "case_id": "snatch_001",
            "client_run_id": "run_20260213"})
        assert r.status_code == 200, r.text
        local = r.json()
        assert local["source_type"] == "local_asset"

        a = c.get("/api/v1/assets").json()
        assert a["root_exists"] is True and a["count"] == 1
        assert a["assets"][0] == {"asset_id": "snatch_001", "filename": "snatch_001.mp4",
                                  "size_mb": a["assets"][0]["size_mb"]}
        assert "path" not in a["assets"][0]

    for jid in (up["job_id"], local["job_id"]):
        st = stack.wait_status(jid)
        assert st["status"] == "completed", st
        job_dir = stack.data_dir / "api" / "results" / jid
        meta = json.loads((job_dir / "job_meta.json").read_text())
        assert meta["benchmark"]["case_id"] == "snatch_001"
        assert meta["benchmark"]["client_run_id"] == "run_20260213"
    meta = json.loads((stack.data_dir / "api" / "results" / up["job_id"] / "job_meta.json").read_text())
    assert meta["benchmark"]["tags"] == {"env": "indoor", "disc": "black"}
    # the original server's files: results.json beside result.json, the job index jobs.json
    results = stack.data_dir / "api" / "results"
    for jid in (up["job_id"], local["job_id"]):
        assert (results / jid / "results.json").read_bytes() == (results / jid / "result.json").read_bytes()
    index = _index_when(results, lambda ix: all(ix.get(j, {}).get("status") == "completed"
                                                for j in (up["job_id"], local["job_id"])))
    e = index[up["job_id"]]
    assert list(e) == ["video_id", "status", "created_at", "updated_at", "progress", "current_step",
                       "message", "original_filename", "selection_data", "tracking_backend", "case_id",
                       "client_run_id", "tags", "source_type", "asset_id", "started_at", "finished_at"]
    assert e["video_id"] == up["job_id"] and e["progress"] == 1.0 and e["message"] == "Analysis complete"
    assert e["selection_data"] == {"center": [144, 69], "radius": 36} and e["tracking_backend"] == "classic"
    assert (e["case_id"], e["client_run_id"], e["tags"]) == ("snatch_001", "run_20260213",
                                                             {"env": "indoor", "disc": "black"})
    assert (e["source_type"], e["original_filename"], e["asset_id"]) == ("upload", "snatch_001.mp4", None)
    assert e["started_at"] == meta["timestamps"]["started_at"] and e["finished_at"] == meta["timestamps"]["finished_at"]
    assert (index[local["job_id"]]["source_type"], index[local["job_id"]]["asset_id"]) == ("local_asset", "snatch_001")
    with stack.client() as c:
        assert c.delete(f"/api/v1/videos/{local['job_id']}").status_code == 200
    index = _index_when(results, lambda ix: local["job_id"] not in ix)
    assert up["job_id"] in index  # a deleted job leaves the index, the others stay
    runs = stack.instance().get_runs()
    tagged = [r for r in runs if r.tags.get("job_id") == up["job_id"]]
    assert tagged and tagged[0].tags["case_id"] == "snatch_001" and tagged[0].tags["user/env"] == "indoor"
    assert tagged[0].tags["source_type"] == "upload" and tagged[0].tags["backend"] == "classic"


def test_three_jobs_run_strictly_one_after_another(stack, synth_clip):
    path, _ = synth_clip
    ids = []
    with stack.client() as c:
        for i in range(3):
            with open(path, "rb") as f:
                r = c.post("/api/v1/videos/upload", files={"file": (f"clip{i}.mp4", f, "video/mp4")},
                           data={"disc_center_x": 144, "disc_center_y": 69, "disc_radius": 36})
            assert r.status_code == 200
            ids.append(r.json()["video_id"])
        # while they wait, the queue position is told
        statuses = [c.get(f"/api/v1/videos/{j}/status").json() for j in ids]
        assert any(s["status"] == "pending" for s in statuses)
    for j in ids:
        assert stack.wait_status(j)["status"] == "completed"
    inst = stack.instance()
    spans = []
    for j in ids:
        from dagster import RunsFilter

        rec = inst.get_run_records(filters=RunsFilter(tags={"job_id": j}))[0]
        spans.append((rec.start_time, rec.end_time))
    spans.sort()
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert e1 <= s2, f"runs overlapped: {spans}"


def test_bad_requests_get_clear_4xx(stack, tmp_path, synth_clip):
    path, _ = synth_clip
    with stack.client() as c:
        def post_upload(name, content, data=None):
            return c.post("/api/v1/videos/upload", files={"file": (name, content, "video/mp4")}, data=data or {})

        assert post_upload("notes.txt", b"hello").status_code == 400
        assert post_upload("empty.mp4", b"").status_code == 400
        big = tmp_path / "big.mp4"
        big.write_bytes(b"\0" * (9 * 1024 * 1024))
        with open(big, "rb") as f:
            r = c.post("/api/v1/videos/upload", files={"file": ("big.mp4", f, "video/mp4")})
        assert r.status_code == 413 and "8 MB" in r.json()["detail"]
        r = post_upload("x.mp4", b"0000", {"disc_center_x": "abc", "disc_center_y": 1, "disc_radius": 2})
        assert r.status_code == 422
        r = post_upload("x.mp4", b"0000", {"disc_center_x": 1, "disc_center_y": 1, "disc_radius": -2})
        assert r.status_code == 422 and "positive" in r.json()["detail"]
        r = post_upload("x.mp4", b"0000", {"disc_center_x": 1})
        assert r.status_code == 422
        r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset", "asset_id": "x",
                                                  "tags": "{not json"})
        assert r.status_code == 422 and "tags" in r.json()["detail"]
        r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset", "asset_id": "x",
                                                  "tags": "[1, 2]"})
        assert r.status_code == 422
        r = c.post("/api/v1/bench/run_one", data={"asset_id": "x"})
        assert r.status_code == 422
        r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset", "asset_id": "nope"})
        assert r.status_code == 404
        for evil in ("../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc%2Fpasswd"):
            r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset", "asset_path": evil})
            assert r.status_code in (400, 404), (evil, r.status_code)
            r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset", "asset_id": evil})
            assert r.status_code == 404, evil
        outside = tmp_path / "outside.mp4"
        outside.write_bytes(b"secret")
        (stack.data_dir / "bench_assets" / "linked.mp4").symlink_to(outside)
        r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset", "asset_id": "linked"})
        assert r.status_code == 404, "a symlink pointing out of DATASETS_ROOT must not resolve"
        assert "linked" not in [a["asset_id"] for a in c.get("/api/v1/assets").json()["assets"]]
        r = c.post("/api/v1/bench/run_one", data={"video_source_type": "local_asset", "asset_path": "a\x00b.mp4"})
        assert r.status_code in (400, 404, 422)
        with open(path, "rb") as f:
            r = c.post("/api/v1/videos/upload", files={"file": ("a.mp4", f, "video/mp4")},
                       data={"pose": "telepathy"})
        assert r.status_code == 422 and "pose" in r.json()["detail"]
        r = c.post("/api/v1/videos/upload", files={"file": ("a.mp4", b"00", "video/mp4")},
                   data={"case_note": "x" * 2_000_000})
        assert r.status_code < 500
        r = c.post("/api/v1/bench/run_one", data={"video_source_type": "upload"})
        assert r.status_code == 422
        with open(path, "rb") as f:
            r = c.post("/api/v1/bench/run_one", files={"file": ("a.mp4", f, "video/mp4")},
                       data={"video_source_type": "upload", "backend": "magic"})
        assert r.status_code == 422 and "magic" in r.json()["detail"]
        assert c.get("/api/v1/videos/00000000-0000/status").status_code == 404
        assert c.get("/api/v1/videos/not-a-job/results").status_code == 404
        assert c.delete("/api/v1/videos/00000000-0000").status_code == 404
        # a file that is not a video is accepted (it has the right name) and fails fast with a reason
        r = post_upload("fake.mp4", b"this is not a video at all" * 100)
        assert r.status_code == 200
        jid = r.json()["video_id"]
    st = stack.wait_status(jid)
    assert st["status"] == "failed" and "not a readable video" in st["message"], st
    with stack.client() as c:
        r = c.get(f"/api/v1/videos/{jid}/results")
        assert r.status_code == 409 and "not a readable video" in r.json()["detail"]
    meta = json.loads((stack.data_dir / "api" / "results" / jid / "job_meta.json").read_text())
    assert meta["status"] == "failed" and meta["error"]["step"] == "decode"


def test_seed_outside_frame_fails_with_reason(stack, synth_clip):
    path, _ = synth_clip
    with stack.client() as c, open(path, "rb") as f:
        r = c.post("/api/v1/videos/upload", files={"file": ("a.mp4", f, "video/mp4")},
                   data={"disc_center_x": 5000, "disc_center_y": 10, "disc_radius": 30})
    st = stack.wait_status(r.json()["video_id"])
    assert st["status"] == "failed" and "outside the 320x240 frame" in st["message"]


def test_config_endpoints_persist(stack):
    with stack.client() as c:
        assert c.get("/api/v1/config/tracking-backend").json()["backend"] == "classic"
        r = c.post("/api/v1/config/tracking-backend", json={"backend": "cutie"})
        assert r.status_code == 200 and r.json()["success"] is False, r.text  # issue #15: the original's answer
        assert "cutie-base-mega.pth" in r.json()["message"] and r.json()["backend"] == "classic"
        r = c.post("/api/v1/config/models", json={"enable_person_detection": True})
        assert r.status_code == 200 and r.json()["enable_person_detection"] is True
        assert c.get("/api/v1/info").json()["active_optional_models"]["person_detection"] is True
        r = c.post("/api/v1/config/models", json={"enable_person_detection": False})
        assert c.get("/api/v1/config/models").json()["enable_person_detection"] is False
    saved = json.loads((stack.data_dir / "api" / "model_config.json").read_text())
    assert saved["enable_person_detection"] is False and saved["tracking_backend"] == "classic"


def test_root_health_docs(stack):
    with stack.client() as c:
        assert c.get("/").json()["docs"] == "/docs"
        h = c.get("/health").json()
        assert h["status"] == "healthy" and set(h["jobs"]) >= {"pending", "processing", "completed", "failed", "total"}
        assert c.get("/docs").status_code == 200
        spec = c.get("/openapi.json").json()
        for p in ("/api/v1/videos/upload", "/api/v1/videos/{video_id}/status", "/api/v1/info",
                  "/api/v1/bench/run_one", "/api/v1/assets", "/api/v1/config/models",
                  "/api/v1/config/tracking-backend", "/health"):
            assert p in spec["paths"], p
        lst = c.get("/api/v1/videos").json()
        assert lst["count"] == len(lst["videos"])


def test_delete_cancels_a_queued_job_and_removes_everything(stack, synth_clip, long_clip):
    long_path, _ = long_clip
    path, _ = synth_clip
    with stack.client() as c:
        with open(long_path, "rb") as f:
            first = c.post("/api/v1/videos/upload", files={"file": ("long.mp4", f, "video/mp4")},
                           data={"disc_center_x": 288, "disc_center_y": 154, "disc_radius": 60}).json()["video_id"]
        with open(path, "rb") as f:
            queued = c.post("/api/v1/videos/upload", files={"file": ("q.mp4", f, "video/mp4")},
                            data={"disc_center_x": 144, "disc_center_y": 69, "disc_radius": 36}).json()["video_id"]
        assert c.get(f"/api/v1/videos/{queued}/status").json()["status"] == "pending"
        run_ids = [r.run_id for r in stack.instance().get_runs() if r.tags.get("job_id") == queued]
        r = c.delete(f"/api/v1/videos/{queued}")
        assert r.status_code == 200, r.text
        assert c.get(f"/api/v1/videos/{queued}/status").status_code == 404
        # the running one is cancelled too, and nothing of it is left
        r = c.delete(f"/api/v1/videos/{first}")
        assert r.status_code == 200, r.text
    inst = stack.instance()
    assert not [r for r in inst.get_runs() if r.tags.get("job_id") in (queued, first)]
    for jid in (queued, first):
        assert not (stack.data_dir / "api" / "results" / jid).exists()
        assert not (stack.data_dir / "api" / "uploads" / jid).exists()
    for rid in run_ids:
        assert not (stack.data_dir / "dagster_home" / "storage" / rid).exists()
        assert not (stack.data_dir / "dagster_home" / "history" / "runs" / f"{rid}.db").exists()


def test_second_stack_on_same_data_folder_is_refused(stack):
    other = StackProcess(stack.data_dir)
    other.start_timeout = 30
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "liftflow.cli", "up"], env=other.env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "already running on this data folder" in out.stderr


def _steps_started(inst, run_id: str) -> set:
    from dagster import DagsterEventType

    return {e.step_key for e in inst.all_logs(run_id, of_type=DagsterEventType.STEP_START)}


def test_kill9_of_whole_stack_mid_run_heals_itself_after_restart(tmp_path, synth_clip, long_clip):
    """kill -9 of every process mid-run: at restart the orphaned run is failed with a reason,
    and Dagster's run retries re-execute it from the failed step by themselves; the queued job
    runs too. No operator needed."""
    from dagster import RunsFilter

    long_path, _ = long_clip
    path, _ = synth_clip
    s = StackProcess(tmp_path / "crash").start()
    try:
        with s.client() as c:
            with open(long_path, "rb") as f:
                killed = c.post("/api/v1/videos/upload", files={"file": ("long.mp4", f, "video/mp4")},
                                data={"disc_center_x": 288, "disc_center_y": 154, "disc_radius": 60}).json()["video_id"]
            with open(path, "rb") as f:
                queued = c.post("/api/v1/videos/upload", files={"file": ("q.mp4", f, "video/mp4")},
                                data={"disc_center_x": 144, "disc_center_y": 69, "disc_radius": 36}).json()["video_id"]
            s.wait_for_step(killed, "track_disc")
        s.kill9_everything()
        assert not s.tree()
        s.start()
        st = s.wait_status(killed, states=("completed",), timeout=300)
        assert st["status"] == "completed", st
        assert s.wait_status(queued)["status"] == "completed"
        runs = s.instance().get_runs(filters=RunsFilter(tags={"job_id": killed}))  # newest first
        assert len(runs) == 2, [(r.run_id, r.status) for r in runs]
        retry, crashed = runs
        assert retry.tags.get("dagster/retry_number") == "1" and retry.tags.get("dagster/parent_run_id") == crashed.run_id
        assert "worker is gone" in (s.data_dir / "api" / "results" / killed / "pipeline.log").read_text()
        # from the failed step: decode's output is reused
        assert _steps_started(s.instance(), retry.run_id) == {"track_disc", "estimate_pose", "compute_metrics",
                                                               "assemble_contract"}
        meta = json.loads((s.data_dir / "api" / "results" / killed / "job_meta.json").read_text())
        assert meta["status"] == "completed" and meta["runs"] == [crashed.run_id, retry.run_id]
    finally:
        s.stop()


def test_a_child_that_dies_is_restarted_and_nothing_is_lost(stack):
    import psutil

    with stack.client() as c:
        before = c.get("/api/v1/videos").json()
    api = stack.find("uvicorn")
    assert len(api) == 1
    api[0].kill()
    deadline = time.monotonic() + 60
    while True:
        try:
            with stack.client() as c:
                if c.get("/health").status_code == 200:
                    after = c.get("/api/v1/videos").json()
                    break
        except Exception:
            pass
        assert time.monotonic() < deadline, stack.tail()
        time.sleep(0.5)
    assert "api exited" in stack.tail() and "restarting" in stack.tail()
    assert after["count"] == before["count"]  # the facade keeps no job state: nothing lost
    assert not psutil.pid_exists(api[0].pid) or api[0].status() == psutil.STATUS_ZOMBIE


def test_failed_pose_step_is_reexecuted_from_failure(stack, synth_clip):
    """Pose weights that vanish after the job was accepted (an unavailable backend is refused at
    submit): the job fails at estimate_pose with the exact path; once the file is back,
    re-execution from failure runs only that step and later ones, reusing decode and
    track_disc, and the job serves its results."""
    from dagster import DagsterEventType, RunsFilter

    from liftflow.pose.testing import write_random_yolo_pose_weights

    path, truth = synth_clip
    models = stack.data_dir / "models"
    weights = models / "yolo11n-pose.pt"
    write_random_yolo_pose_weights(weights)
    with stack.client() as c:
        r = c.post("/api/v1/config/models", json={"enable_pose_estimation": True, "pose_backend": "yolo"})
        assert r.status_code == 200, r.text
        try:
            with open(path, "rb") as f:
                r = c.post("/api/v1/videos/upload", files={"file": ("p.mp4", f, "video/mp4")},
                           data={"disc_center_x": truth.x[0], "disc_center_y": truth.y[0],
                                 "disc_radius": truth.r[0]})
            assert r.status_code == 200, r.text
            jid = r.json()["video_id"]
            # the run worker starts seconds later and reaches the pose step after tracking
            weights.unlink()
        finally:
            c.post("/api/v1/config/models", json={"enable_pose_estimation": False})
    st = stack.wait_status(jid)
    assert st["status"] == "failed" and st["current_step"] == "estimate_pose", st
    # clients get the reason without the server path; operators have it in job_meta.json
    assert "weights file not found: yolo11n-pose.pt" in st["message"] and str(models) not in st["message"], st
    meta = json.loads((stack.data_dir / "api" / "results" / jid / "job_meta.json").read_text())
    assert str(weights) in meta["error"]["reason"], meta["error"]
    write_random_yolo_pose_weights(weights)
    with stack.client() as c:
        r = c.post(f"/api/v1/videos/{jid}/retry")
        assert r.status_code == 200, r.text
        new_run = r.json()["run_id"]
    st = stack.wait_status(jid)
    assert st["status"] == "completed" and st["run_id"] == new_run, st
    inst = stack.instance()
    runs = inst.get_runs(filters=RunsFilter(tags={"job_id": jid}))
    assert len(runs) == 2
    started = {e.step_key for e in inst.all_logs(new_run, of_type=DagsterEventType.STEP_START)}
    assert started == {"estimate_pose", "compute_metrics", "assemble_contract"}
    with stack.client() as c:
        res = c.get(f"/api/v1/videos/{jid}/results").json()
    assert [t["class_name"] for t in res["tracks"]][0] == "frisbee"
    meta = json.loads((stack.data_dir / "api" / "results" / jid / "job_meta.json").read_text())
    assert meta["status"] == "completed" and meta["runs"][-1] == new_run


def test_kill9_of_the_run_worker_is_retried_from_the_failed_step(stack, long_clip, synth_clip):
    """The worker dies mid-step: run monitoring fails the run with a reason, the daemon
    re-executes it from the failed step (at most LIFTFLOW_RUN_RETRIES times), the status says
    so while it waits, and the queue goes on."""
    import psutil
    from dagster import RunsFilter

    long_path, truth = long_clip
    path, small = synth_clip
    with stack.client() as c:
        with open(long_path, "rb") as f:
            victim = c.post("/api/v1/videos/upload", files={"file": ("long.mp4", f, "video/mp4")},
                            data={"disc_center_x": truth.x[0], "disc_center_y": truth.y[0],
                                  "disc_radius": truth.r[0]}).json()["video_id"]
        with open(path, "rb") as f:
            nxt = c.post("/api/v1/videos/upload", files={"file": ("n.mp4", f, "video/mp4")},
                         data={"disc_center_x": small.x[0], "disc_center_y": small.y[0],
                               "disc_radius": small.r[0]}).json()["video_id"]
        stack.wait_for_step(victim, "track_disc")
    first = [r for r in stack.instance().get_runs() if r.tags.get("job_id") == victim][0]
    assert first.tags["dagster/max_retries"] == "2" and first.tags["dagster/retry_strategy"] == "FROM_FAILURE"
    worker = psutil.Process(int(first.tags["liftflow/worker_pid"]))
    # the analysis runs niced below the API, whose polls must answer while a job takes the cores
    api = [p.nice() for p in stack.find("uvicorn")]
    assert len(api) == 1 and worker.nice() == min(19, api[0] + 10), (api, worker.nice())
    if Path("/proc/self/autogroup").exists():  # sessions scheduled as groups: so is the worker's
        group = Path(f"/proc/{worker.pid}/autogroup").read_text()
        assert group.strip().endswith("nice 10"), group
    worker.kill()
    notes = set()
    deadline = time.monotonic() + 300
    with stack.client() as c:
        while True:
            st = c.get(f"/api/v1/videos/{victim}/status").json()
            if "automatic retry" in st["message"]:
                notes.add(st["status"])
            if st["status"] == "completed":
                break
            assert time.monotonic() < deadline, (st, stack.tail())
            time.sleep(0.3)
    assert notes & {"pending", "processing"}, "the status never said the job was being retried"
    assert stack.wait_status(nxt)["status"] == "completed"
    runs = stack.instance().get_runs(filters=RunsFilter(tags={"job_id": victim}))
    assert [r.run_id for r in runs][1:] == [first.run_id] and runs[0].tags["dagster/retry_number"] == "1"
    assert stack.instance().get_run_by_id(first.run_id).tags.get("dagster/failure_reason") != "STEP_FAILURE"
    # from the failed step: decode's output is reused
    assert _steps_started(stack.instance(), runs[0].run_id) == {"track_disc", "estimate_pose",
                                                                "compute_metrics", "assemble_contract"}
    log = (stack.data_dir / "api" / "results" / victim / "pipeline.log").read_text()
    assert f"start (run {runs[0].run_id})" in log, log[-2000:]


def test_a_failure_on_the_input_is_never_retried(stack, synth_clip):
    """A deterministic failure (a seed frame past the end) fails once and stays failed."""
    from dagster import RunsFilter

    path, truth = synth_clip
    with stack.client() as c, open(path, "rb") as f:
        jid = c.post("/api/v1/videos/upload", files={"file": ("s.mp4", f, "video/mp4")},
                     data={"disc_center_x": truth.x[0], "disc_center_y": truth.y[0],
                           "disc_radius": truth.r[0], "seed_frame": 10_000}).json()["video_id"]
    st = stack.wait_status(jid)
    assert st["status"] == "failed" and "seed_frame 10000" in st["message"], st
    time.sleep(8)  # longer than the daemon's retry pass
    runs = stack.instance().get_runs(filters=RunsFilter(tags={"job_id": jid}))
    assert len(runs) == 1 and runs[0].tags.get("dagster/failure_reason") == "STEP_FAILURE", runs[0].tags
    assert stack.wait_status(jid)["status"] == "failed"


def test_bench_run_batch_and_compare_through_the_api(stack, synth_clip):
    import shutil as _sh

    from liftflow.bench.dataset import write_manifest

    path, truth = synth_clip
    root = stack.data_dir / "bench_assets"
    _sh.copy(path, root / "squat_a.mp4")
    truth.to_csv(root / "squat_a.gt.csv")
    write_manifest(root, [{"case_id": "squat_a", "asset": "squat_a.mp4", "disc_center_x": truth.x[0],
                           "disc_center_y": truth.y[0], "disc_radius": truth.r[0], "lift_type": "squat",
                           "expected_reps": 2, "tags": {"env": "synthetic"}, "gt": "squat_a.gt.csv"}])
    with stack.client() as c:
        assert "/api/v1/bench/compare" in c.get("/api/v1/info").json()["bench_endpoints"]
        for bad in ({}, {"case_ids": ["nope"]}, {"case_ids": ["squat_a"], "all_cases": True},
                    {"cases": [{"case_id": "x", "asset_path": "../../etc/passwd"}]}):
            r = c.post("/api/v1/bench/run_batch", json=bad)
            assert r.status_code == 422, (bad, r.text)
        r = c.post("/api/v1/bench/run_batch", json={"case_ids": ["squat_a"], "client_run_id": "nightly"})
        assert r.status_code == 200, r.text
        jobs = r.json()["jobs"]
        assert [j["case_id"] for j in jobs] == ["squat_a"]
        jid = jobs[0]["job_id"]
        r = c.post("/api/v1/bench/compare", json={"job_id": jid, "case_id": "squat_a"})
        assert r.status_code in (200, 409)  # 409 while it is still running
    assert stack.wait_status(jid)["status"] == "completed"
    with stack.client() as c:
        r = c.post("/api/v1/bench/compare", json={"job_id": jid, "case_id": "squat_a"})
        assert r.status_code == 200, r.text
        s = r.json()["scores"]
        assert s["case_id"] == "squat_a" and s["lost_keyframes"] == 0 and s["rep_error"] == 0
        assert s["median_pct"] < 3.0
        rows = [{"frame": f, "x": x, "y": y, "r": rr} for f, x, y, rr in
                zip(truth.frames[::5], truth.x[::5], truth.y[::5], truth.r[::5])]
        r2 = c.post("/api/v1/bench/compare", json={"job_id": jid, "ground_truth": rows})
        assert r2.status_code == 200 and r2.json()["scores"]["scored"] == len(rows)
        assert c.post("/api/v1/bench/compare", json={"job_id": "00000000-0000", "case_id": "x"}).status_code == 404
        assert c.post("/api/v1/bench/compare", json={"job_id": jid}).status_code == 422
        bad_rows = c.post("/api/v1/bench/compare", json={"job_id": jid, "ground_truth": [{"frame": "a"}]})
        assert bad_rows.status_code == 422
    meta = json.loads((stack.data_dir / "api" / "results" / jid / "job_meta.json").read_text())
    assert meta["benchmark"]["client_run_id"] == "nightly" and meta["benchmark"]["case_id"] == "squat_a"
