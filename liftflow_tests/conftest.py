from pathlib import Path

import pytest

from liftflow.config import get_settings

REAL_DATA = get_settings().real_data_dir  # LIFTFLOW_REAL_DATA, else ../shared/data/real


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real clips (never copied into the project). Missing means a broken checkout."""
    if not (REAL_DATA / "manifest.csv").is_file():
        pytest.fail(f"real test clips not found at {REAL_DATA} (set LIFTFLOW_REAL_DATA)")
    return REAL_DATA


@pytest.fixture(scope="session")
def manifest(real_data):
    import csv

    with open(real_data / "manifest.csv", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="session")
def synth_clip(tmp_path_factory):
    """A small synthetic two-rep squat with exact truth, shared by the pipeline tests. Its
    plate starts at (144, 69) px, radius 36 (truth.x[0], truth.y[0], truth.r[0])."""
    from liftflow.synth import SynthSpec, generate_clip

    d = tmp_path_factory.mktemp("synth")
    path = d / "squat.mp4"
    truth = generate_clip(path, SynthSpec(profile="squat", reps=2, width=320, height=240,
                                          plate_radius_px=36, fps=30, seed=3))
    return path, truth


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory):
    """A longer clip so a run is still in progress when a test interferes with it: ~1000
    frames, its tracking step lasts ~2 s here (with 3 reps it lasted 0.6 s once tracking
    got faster, and a test polling for that step every 0.2 s through the API missed it). Its
    plate starts at (288, 154) px, radius 60."""
    from liftflow.synth import SynthSpec, generate_clip

    d = tmp_path_factory.mktemp("synth-long")
    path = d / "long.mp4"
    truth = generate_clip(path, SynthSpec(profile="squat", reps=10, width=640, height=480,
                                          plate_radius_px=60, fps=30, seed=5))
    return path, truth


@pytest.fixture
def no_network(monkeypatch):
    """Every way to reach the network (sockets, urllib, torch.hub downloads) raises and is
    recorded; the test asserts none was tried. For the learned backends: weights are never
    downloaded."""
    import socket
    import urllib.request

    import torch.hub
    import torch.utils.model_zoo

    attempts: list[str] = []

    def blocker(name):
        def f(*args, **kwargs):
            attempts.append(f"{name}{args[:2]!r}")
            raise OSError(f"network access attempted in a test: {name}")
        return f

    monkeypatch.setattr(socket.socket, "connect", blocker("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", blocker("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", blocker("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", blocker("socket.getaddrinfo"))
    monkeypatch.setattr(urllib.request, "urlopen", blocker("urllib.request.urlopen"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", blocker("torch.hub.load_state_dict_from_url"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", blocker("torch.hub.download_url_to_file"))
    monkeypatch.setattr(torch.utils.model_zoo, "load_url", blocker("torch.utils.model_zoo.load_url"))
    yield attempts
    assert attempts == [], f"something tried to reach the network: {attempts}"


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL for the session's storage tests (the scaled profile's trial server,
    liftflow.scaled.TrialPostgres) on a free port; stopped by its pid at the end."""
    import shutil
    import subprocess
    import time

    from liftflow.devstack import shared_temp_dir
    from liftflow.scaled import TrialPostgres, free_port

    root = shared_temp_dir("liftflow-test-pg-")  # the postgres user must reach it under root
    pg = TrialPostgres(root / "cluster", free_port())
    pg.prepare()
    as_user = pg.preexec()

    def preexec():  # the server user, and the server dies with this test process
        from liftflow.stack import _die_with_parent

        if as_user is not None:
            as_user()  # first: changing credentials clears the parent-death signal
        _die_with_parent(pg.STOP_SIGNAL)
    with open(root / "postgres.log", "wb") as log:
        proc = subprocess.Popen(pg.argv(), preexec_fn=preexec, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not pg.ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL did not start: {(root / 'postgres.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield pg
    finally:
        try:
            proc.send_signal(pg.STOP_SIGNAL)
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh database of the session's PostgreSQL, as LIFTFLOW_STORAGE_URL takes it."""
    import uuid

    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres_server.create_database(name)
    return postgres_server.url_for(name)


@pytest.fixture(params=["sqlite", "postgres"])
def dagster_instance(request, tmp_path, monkeypatch):
    """The Dagster instance of a test data folder, on each storage LiftFlow supports: the
    embedded SQLite and the scaled profile's Postgres (LIFTFLOW_STORAGE_URL)."""
    from dagster import DagsterInstance

    from liftflow.orchestration.instance import prepare_dagster_home

    monkeypatch.setenv("LIFTFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))  # restored afterwards
    if request.param == "postgres":
        monkeypatch.setenv("LIFTFLOW_STORAGE_URL", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.delenv("LIFTFLOW_STORAGE_URL", raising=False)
    home = prepare_dagster_home(get_settings())
    with DagsterInstance.from_config(str(home)) as instance:
        yield instance
