"""LIFTFLOW_API_TIMING_FILE (benchmarks): the API writes each request's server-side time and
its event loop's lag; without the setting it writes nothing and answers the same."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from liftflow_api.timing import FLUSH_EVERY_S, read_timing


def _app(monkeypatch, tmp_path, timing: str | None):
    monkeypatch.setenv("LIFTFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LIFTFLOW_API_KEYS", raising=False)
    if timing:
        monkeypatch.setenv("LIFTFLOW_API_TIMING_FILE", timing)
    else:
        monkeypatch.delenv("LIFTFLOW_API_TIMING_FILE", raising=False)
    from liftflow_api.main import create_app

    return create_app()


def test_requests_and_loop_lag_are_written(monkeypatch, tmp_path):
    path = tmp_path / "t" / "timing.log"
    with TestClient(_app(monkeypatch, tmp_path, str(path))) as c:
        t0 = time.monotonic()
        assert c.get("/health").status_code in (200, 503)
        assert c.get("/api/v1/videos/00000000-0000/status").status_code == 404
        time.sleep(FLUSH_EVERY_S + 0.5)  # the probe flushes every second
        t1 = time.monotonic()
        reqs, lags = read_timing(path)
    assert [(status, p) for _, _, status, p in reqs][-1] == (404, "/api/v1/videos/00000000-0000/status")
    assert "/health" in [p for *_, p in reqs]
    assert all(t0 <= start <= t1 and ms >= 0 for start, ms, _, _ in reqs), reqs
    assert len(lags) >= 5 and all(ms > -1 for _, ms in lags)  # a 50 ms sleep wakes at or after time


def test_off_by_default(monkeypatch, tmp_path):
    with TestClient(_app(monkeypatch, tmp_path, None)) as c:
        assert c.get("/api/v1/videos/00000000-0000/status").status_code == 404
    assert not list(tmp_path.rglob("*timing*"))
