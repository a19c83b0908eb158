"""RunLauncher's retry of calls that met a stale storage connection (the webserver's pooled
Postgres connections after a Postgres restart)."""

import pytest

from liftflow.orchestration import launcher as lau


def _flaky(errors):
    calls = []

    def call():
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "run-id"
    return call, calls


def test_a_stale_connection_is_tried_again(monkeypatch):
    monkeypatch.setattr(lau.time, "sleep", lambda s: None)
    call, calls = _flaky([RuntimeError("server closed the connection unexpectedly")] * 2)
    assert lau.retry_stale_connections(call) == "run-id" and len(calls) == 3


def test_any_other_error_is_raised_at_once(monkeypatch):
    monkeypatch.setattr(lau.time, "sleep", lambda s: None)
    call, calls = _flaky([RuntimeError("Invalid run config")])
    with pytest.raises(RuntimeError, match="Invalid run config"):
        lau.retry_stale_connections(call)
    assert len(calls) == 1


def test_it_gives_up_after_the_last_attempt(monkeypatch):
    monkeypatch.setattr(lau.time, "sleep", lambda s: None)
    call, calls = _flaky([RuntimeError("connection already closed")] * 10)
    with pytest.raises(RuntimeError):
        lau.retry_stale_connections(call)
    assert len(calls) == lau.ATTEMPTS


def test_a_reexecution_the_webserver_could_not_store_is_an_error():
    with pytest.raises(lau.LaunchError, match="server closed"):
        lau._raise_python_error({"launchRunReexecution": {"__typename": "PythonError",
                                                          "message": "server closed the connection unexpectedly"}})
    ok = {"launchRunReexecution": {"__typename": "LaunchRunSuccess", "run": {"runId": "x"}}}
    assert lau._raise_python_error(ok) is ok


def test_a_retry_never_makes_a_second_run(monkeypatch):
    """The webserver stored the run, then its connection broke: the failed call is not made
    again; what it made is the answer."""
    monkeypatch.setattr(lau.time, "sleep", lambda s: None)
    call, calls = _flaky([RuntimeError("server closed the connection unexpectedly")])
    assert lau.retry_stale_connections(call, already_made=lambda: "stored-run") == "stored-run"
    assert len(calls) == 1


def test_a_retry_calls_again_when_nothing_was_made(monkeypatch):
    monkeypatch.setattr(lau.time, "sleep", lambda s: None)
    call, calls = _flaky([RuntimeError("server closed the connection unexpectedly")])
    assert lau.retry_stale_connections(call, already_made=lambda: None) == "run-id" and len(calls) == 2


def test_a_look_that_meets_the_outage_looks_again_before_calling(monkeypatch):
    monkeypatch.setattr(lau.time, "sleep", lambda s: None)
    call, calls = _flaky([RuntimeError("server closed the connection unexpectedly")])
    looks = [RuntimeError("connection already closed"), "stored-run"]

    def look():
        v = looks.pop(0)
        if isinstance(v, Exception):
            raise v
        return v
    assert lau.retry_stale_connections(call, already_made=look) == "stored-run" and len(calls) == 1
