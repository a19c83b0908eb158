"""API keys and CORS (in process: these routes launch nothing)."""

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFTFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    from liftflow_api import deps
    from liftflow_api.app import create_app

    deps.service.cache_clear()
    yield lambda: TestClient(create_app())
    deps.service.cache_clear()


def test_no_keys_configured_means_open(client, monkeypatch):
    monkeypatch.delenv("LIFTFLOW_API_KEYS", raising=False)
    c = client()
    info = c.get("/api/v1/info").json()
    assert info["auth"] == {"enabled": False, "header": "X-API-Key"}


def test_keys_from_env_and_file_guard_every_api_route(client, monkeypatch, tmp_path):
    keyfile = tmp_path / "keys.txt"
    keyfile.write_text("# team keys\nfile-key-2\n")
    monkeypatch.setenv("LIFTFLOW_API_KEYS", "env-key-1, env-key-3")
    monkeypatch.setenv("LIFTFLOW_API_KEYS_FILE", str(keyfile))
    c = client()
    for path in ("/api/v1/info", "/api/v1/videos", "/api/v1/assets", "/api/v1/config/models",
                 "/api/v1/videos/abcdef12-3456/status"):
        r = c.get(path)
        assert r.status_code == 401 and "X-API-Key" in r.json()["detail"], path
        assert c.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
    assert c.post("/api/v1/videos/upload").status_code == 401  # auth before validation
    for key in ("env-key-1", "file-key-2", "env-key-3"):
        r = c.get("/api/v1/info", headers={"X-API-Key": key})
        assert r.status_code == 200 and r.json()["auth"]["enabled"] is True
    # open: health, root, docs
    assert c.get("/health").status_code == 200
    assert c.get("/").status_code == 200
    assert c.get("/docs").status_code == 200
    assert c.get("/openapi.json").status_code == 200


def test_cors_origins(client, monkeypatch):
    monkeypatch.setenv("LIFTFLOW_CORS_ORIGINS", "https://coach.example")
    c = client()
    r = c.options("/api/v1/info", headers={"Origin": "https://coach.example",
                                           "Access-Control-Request-Method": "GET"})
    assert r.headers.get("access-control-allow-origin") == "https://coach.example"
    r = c.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
