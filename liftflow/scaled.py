"""The scaled profile on one machine (``liftflow up --scaled``): Postgres, Redis and Celery
workers as children of the stack, for trying what a multi-host deployment does.

In a real deployment Postgres and Redis are the operator's (``LIFTFLOW_STORAGE_URL``,
``LIFTFLOW_BROKER_URL``) and workers run on other hosts (``liftflow worker``); here the stack
starts whichever of them is not configured, on free ports of 127.0.0.1, keeps their data under
the data folder (``<data>/postgres``, ``<data>/redis``) and writes the URLs it chose to
``<data>/run/scaled.json``, where ``liftflow worker`` on the same machine finds them.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from liftflow.config import Settings
from liftflow.errors import StackError

PG_USER = "liftflow"  # the database role and database of a trial Postgres
SCALED_FILE = "scaled.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin(name: str) -> str:
    """A PostgreSQL server binary (Debian keeps them off PATH, in /usr/lib/postgresql/N/bin)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                   reverse=True)), None)
    if not found:
        raise StackError(f"PostgreSQL's {name} is not installed (apt-get install postgresql), "
                         f"or set LIFTFLOW_STORAGE_URL to a Postgres server of yours")
    return found


def redis_bin() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise StackError("redis-server is not installed (apt-get install redis-server), "
                         "or set LIFTFLOW_BROKER_URL to a Redis server of yours")
    return found


def _as_user(name: Optional[str]) -> Optional[Callable[[], None]]:
    """preexec for a child that must not run as root (PostgreSQL refuses to)."""
    if name is None:
        return None
    pw = pwd.getpwnam(name)

    def drop():
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


def server_user() -> Optional[str]:
    """Who runs the trial Postgres: this user, or the ``postgres`` system user under root."""
    if os.getuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise StackError("running as root, PostgreSQL needs the 'postgres' system user "
                         "(apt-get install postgresql creates it)") from None
    return "postgres"


@dataclass
class TrialPostgres:
    """A Postgres cluster in ``root`` (created on first use), served on 127.0.0.1:``port``."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        return self.url_for(PG_USER)

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg2://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def prepare(self) -> None:
        user = server_user()
        self.root.mkdir(parents=True, exist_ok=True)
        if user is not None:
            pw = pwd.getpwnam(user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o700)
        if (self.root / "PG_VERSION").is_file():
            return
        out = subprocess.run([postgres_bin("initdb"), "-D", str(self.root), "-U", PG_USER,
                              "--auth=trust", "-E", "UTF8", "--no-instructions"],
                             capture_output=True, text=True, preexec_fn=_as_user(user), timeout=120)
        if out.returncode != 0:
            hint = (f" (the {user!r} user must be able to reach {self.root}: every folder above it "
                    f"needs o+x, or choose another folder with --postgres-dir)") if user else ""
            raise StackError(f"initdb failed{hint}: {(out.stderr or out.stdout).strip()[-800:]}")

    # "fast" shutdown: clients are disconnected and the server stops at once, cleanly; SIGTERM
    # ("smart") waits for every client to leave, so a server whose owner died with clients
    # still connected would live on, holding its data folder and port
    STOP_SIGNAL = signal.SIGINT

    def argv(self) -> list[str]:
        # the socket directory is the cluster's own, so no system folder is needed
        return [postgres_bin("postgres"), "-D", str(self.root), "-p", str(self.port), "-h", "127.0.0.1",
                "-k", str(self.root), "-c", "max_connections=200", "-c", "fsync=on"]

    def preexec(self) -> Optional[Callable[[], None]]:
        """Run as the server user (under root); with the stack, ``stack.Child`` also ties the
        server's life to the supervisor's."""
        return _as_user(server_user())

    def ready(self) -> bool:
        out = subprocess.run([postgres_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port),
                              "-U", PG_USER, "-d", PG_USER], capture_output=True, timeout=10)
        return out.returncode == 0

    def create_database(self, name: str = PG_USER) -> None:
        """A database (by default ``liftflow``; initdb made only the maintenance ones), unless
        it exists. ``name``: letters, digits and underscores."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain database name: {name!r}")
        psql = [postgres_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, "-d", "postgres",
                "-tAc"]
        have = subprocess.run(psql + [f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                              capture_output=True, text=True, timeout=30)
        if have.stdout.strip() != "1":
            made = subprocess.run(psql + [f'CREATE DATABASE "{name}"'], capture_output=True, text=True,
                                  timeout=60)
            if made.returncode != 0:
                raise StackError(f"cannot create the {name} database: {made.stderr.strip()}")


@dataclass
class TrialRedis:
    """Redis on 127.0.0.1:``port`` with its append-only file in ``root`` (queued runs survive a
    restart of it)."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        self.root.mkdir(parents=True, exist_ok=True)
        return [redis_bin(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
                "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "yes"]

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def worker_command(settings: Settings, name: str, concurrency: int = 1, queues: Optional[str] = None) -> list[str]:
    """A Celery worker of the instance's run launcher: ``concurrency`` runs at once (1: the
    users' one analysis at a time per worker), named ``name@host`` (each run's
    ``liftflow/worker`` tag), taking runs from ``queues`` (comma-separated; default the
    settings' worker queue). Prefork: the worker's main process answers the health check
    (``celery_launcher``) while its pool process runs the analysis."""
    return [sys.executable, "-m", "celery", "-A", "liftflow.orchestration.celery_app", "worker",
            "--pool", "prefork", "--concurrency", str(concurrency), "--prefetch-multiplier", "1",
            "-Q", queues or settings.worker_queue, "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
            "--loglevel", "INFO"]


def write_scaled_file(settings: Settings, values: dict) -> None:
    path = settings.run_dir / SCALED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(values, f, indent=2)
    os.replace(tmp, path)


def read_scaled_file(settings: Settings) -> dict:
    """The URLs a running ``liftflow up --scaled`` on this data folder chose ({} if none)."""
    try:
        return json.loads((settings.run_dir / SCALED_FILE).read_text())
    except (OSError, ValueError):
        return {}
