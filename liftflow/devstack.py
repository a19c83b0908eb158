"""A real LiftFlow stack (`liftflow up`) as a child process: for end-to-end tests and benchmarks."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from liftflow.config import environment
from liftflow.scaled import free_port  # re-exported: the tests' and benches' ports

ROOT = Path(__file__).resolve().parents[1]


class StackProcess:
    def __init__(self, data_dir: Path, *up_args: str, **env_overrides: str):
        """``up_args``: options of ``liftflow up`` (``--scaled``, ``--workers N``, ...)."""
        self.data_dir = Path(data_dir)
        self.up_args = list(up_args)
        self.api_port, self.ui_port, self.grpc_port = free_port(), free_port(), free_port()
        self.env = environment()
        self.env.update({
            "LIFTFLOW_DATA_DIR": str(self.data_dir),
            "LIFTFLOW_API_PORT": str(self.api_port),
            "LIFTFLOW_UI_PORT": str(self.ui_port),
            "LIFTFLOW_CODE_SERVER_PORT": str(self.grpc_port),
            "PYTHONUNBUFFERED": "1",
        })
        self.env.pop("DAGSTER_HOME", None)
        self.env.update(env_overrides)
        self.proc: subprocess.Popen | None = None
        self.log = self.data_dir / "stack-test.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, timeout: float = 180.0) -> "StackProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "liftflow.cli", "up", *self.up_args], env=self.env,
                                     cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"liftflow up exited with {self.proc.returncode}:\n{self.tail()}")
            if "LiftFlow is up" in self.log.read_bytes()[offset:].decode(errors="replace"):
                return self
            time.sleep(0.5)
        raise RuntimeError(f"stack not up after {timeout} s:\n{self.tail()}")

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def tree(self) -> list[psutil.Process]:
        """The stack's live processes (supervisor first). A child that has just exited but is
        not reaped yet (a zombie) is not listed: it has no command line to ask for."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        alive = []
        for p in procs:
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.Error:  # gone meanwhile
                pass
        return alive

    def find(self, word: str) -> list[psutil.Process]:
        """Live processes of the stack whose command line contains ``word``."""
        found = []
        for p in self.tree():
            try:
                if word in " ".join(p.cmdline()):
                    found.append(p)
            except psutil.Error:  # exited (or became a zombie) between the listing and the read
                pass
        return found

    def rss_mb(self) -> float:
        """Resident memory of every process of the stack (run workers included), in MiB."""
        total = 0
        for p in self.tree():
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def pss_mb(self) -> float:
        """Proportional set size of the stack's processes, in MiB: a page shared by n of them
        (the Python runtime, numpy's and OpenCV's libraries, a fork's untouched pages) counts
        1/n in each, so the sum is what the stack takes from the machine, where RSS counts
        every shared page once per process."""
        total = 0
        for p in self.tree():
            try:
                total += p.memory_full_info().pss
            except psutil.Error:
                pass
        return total / 2**20

    def kill9_everything(self) -> None:
        """Crash the whole stack: SIGKILL every process of it at once (run worker included)."""
        procs = self.tree()
        for p in procs:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)
        self.proc.wait(10)

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9_everything()
            return -9

    def wait_status(self, job_id: str, states=("completed", "failed"), timeout: float = 240.0,
                    run_id: str | None = None) -> dict:
        """Poll the job's status until it is in ``states``; with ``run_id``, until that run is
        the one the status reports (a run launched behind the API's back, e.g. from the UI,
        shows up only once the API has seen it: until then the status is the previous run's)."""
        deadline = time.monotonic() + timeout
        last = None
        with self.client() as c:
            while time.monotonic() < deadline:
                last = c.get(f"/api/v1/videos/{job_id}/status").json()
                if last.get("status") in states and run_id in (None, last.get("run_id")):
                    return last
                time.sleep(0.5)
        raise AssertionError(f"job {job_id} not in {states} (run {run_id}) after {timeout} s; "
                             f"last {last}\n{self.tail()}")

    def wait_for_step(self, job_id: str, step: str, timeout_s: float = 120.0) -> None:
        """Poll the job's status until ``step`` runs; fails at once (not at the deadline) when
        the job got past it between two polls."""
        deadline = time.monotonic() + timeout_s
        with self.client() as c:
            while True:
                st = c.get(f"/api/v1/videos/{job_id}/status").json()
                if st.get("current_step") == step:
                    return
                assert st.get("status") in ("pending", "processing"), f"never saw {step}: {st}"
                assert time.monotonic() < deadline, f"{step} not reached in {timeout_s} s: {st}\n{self.tail()}"
                time.sleep(0.05)

    def instance(self):
        """The stack's Dagster instance (its dagster.yaml names the storage: SQLite or Postgres)."""
        from dagster import DagsterInstance

        return DagsterInstance.from_config(str(self.data_dir / "dagster_home"))


def scaled_stack(root: Path, workers: int = 2, **env_overrides: str) -> StackProcess:
    """A ``liftflow up --scaled --workers N`` (trial Postgres and Redis) with its data in
    ``root``. PostgreSQL refuses to run as root, so there its cluster belongs to the postgres
    user, which must be able to enter ``root``: make it with :func:`shared_temp_dir`, not in
    pytest's private tmp_path."""
    root = Path(root)
    return StackProcess(root / "data", "--scaled", "--workers", str(workers),
                        "--postgres-dir", str(root / "postgres"), **env_overrides)


def shared_temp_dir(prefix: str) -> Path:
    """A fresh folder of the system temp dir that other users (postgres) may enter."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d
