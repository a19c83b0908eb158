"""``liftflow up``: the code server, Dagster webserver (UI), daemon and API as one supervised stack.

Starts the children in dependency order and waits until each is healthy, prints the URLs,
restarts a child that dies, and stops everything cleanly on Ctrl-C/SIGTERM. A lock file
refuses a second stack on the same data folder; runs left in progress by a crashed stack are
failed with a reason before the daemon starts, so the one-at-a-time queue never stays blocked.
The supervisor never imports Dagster (it stays ~30 MB): the start-up reconciliation runs in
a short-lived process, and the stack's code server keeps the books while it serves
(``liftflow.orchestration.bookkeeping``: jobs.json, the original server's job index; failed
job folders; retention).
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from liftflow.errors import StackError
from liftflow.config import PROJECT_ROOT, Settings, build_settings, environment, get_settings, set_environment
from liftflow.scaled import TrialPostgres, TrialRedis, free_port, worker_command, write_scaled_file

PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Children get ``sig`` if the supervisor dies, so no orphan holds the ports."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
    except Exception:
        pass


def _renice(n: int) -> None:
    """Add ``n`` to this process's niceness, and set its scheduling group's to ``n`` where the
    kernel groups processes by session (``/proc/self/autogroup``, sched_autogroup: on by default on
    many distributions). Every child of the stack is a session of its own, so there the
    process niceness alone ranks only the processes of one session: the analysis' session
    took as much CPU as the API's whatever its niceness, and the API's polls waited on it."""
    os.nice(n)
    for _ in range(40):
        try:
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(n))  # a fresh session's group is at 0; raising it needs no privilege
            return
        except BlockingIOError:  # unprivileged: one change per 100 ms machine-wide (EAGAIN)
            time.sleep(0.05)
        except OSError:  # no autogroups here: the process niceness is the whole story
            return


def _http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return 200 <= r.status < 300
    except Exception:
        return False


def port_owner(port: int) -> Optional[str]:
    """Who listens on 127.0.0.1/any ``port`` (``pid N: cmdline``), or None when it is free.

    A plain bind without SO_REUSEPORT is the test: gRPC's code server binds with
    SO_REUSEPORT, so a second code server on the same port would start happily and the
    kernel would hand each connection of either stack to either one."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR: the closed connections of a child that just died (TIME_WAIT) do not
        # count; a listening socket still does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return None
        except OSError:
            pass
    try:
        import psutil

        for c in psutil.net_connections(kind="tcp"):
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
                try:
                    return f"pid {c.pid}: {' '.join(psutil.Process(c.pid).cmdline())[:160]}"
                except psutil.Error:
                    return f"pid {c.pid}"
    except (ImportError, OSError, Exception):  # no permission to list sockets: say what is known
        pass
    return "another process"


def _bin(name: str) -> str:
    p = Path(sys.executable).parent / name
    return str(p) if p.exists() else name


# The analysis runs niced: the run workers (children of the code server in the embedded
# stack, of the Celery workers in the scaled one) inherit it, so on a small machine the API
# and the UI answer at once while a job takes every core (CFS weight 110 against 1024);
# alone on the machine a job still gets all of it. Its session's scheduling group is niced
# too (``_renice``): with sched_autogroup, that is what ranks it against the API's session.
ANALYSIS_NICE = 10


@dataclass
class Child:
    name: str
    argv: list[str]
    healthy: Callable[[], bool]
    proc: Optional[subprocess.Popen] = None
    restarts: list[float] = field(default_factory=list)
    log_path: Optional[Path] = None
    as_user: Optional[Callable[[], None]] = None  # drops root (PostgreSQL refuses to run as root)
    nice: int = 0  # added to the niceness of the process and everything it starts
    stop_signal: int = signal.SIGTERM  # sent on stop, and by the kernel if the supervisor dies
    log_start: int = 0  # where this start's lines begin in the (appended) log

    def start(self, env: dict, log_dir: Path) -> None:
        self.log_path = log_dir / f"{self.name}.log"
        log = open(self.log_path, "ab", buffering=0)
        self.log_start = log.tell()
        as_user, nice, stop_signal = self.as_user, self.nice, self.stop_signal

        def preexec():
            if as_user is not None:
                as_user()  # first: changing credentials clears the parent-death signal
            if nice:
                _renice(nice)  # after setsid (start_new_session): this session's own group
            _die_with_parent(stop_signal)
        self.proc = subprocess.Popen(self.argv, env=env, cwd=PROJECT_ROOT, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=preexec)
        log.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, self.stop_signal)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)

    def logged_since_start(self, text: bytes) -> bool:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_start)
                return text in f.read()
        except (OSError, TypeError):
            return False

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except Exception:
            return ""


class StackLock:
    """An flock on <data>/run/stack.lock: one stack per data folder."""

    def __init__(self, run_dir: Path):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / "stack.lock"
        self.fd: Optional[int] = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StackError(f"another LiftFlow stack (pid {other}) is already running on this "
                             f"data folder ({self.path.parent.parent}); stop it first or set "
                             f"LIFTFLOW_DATA_DIR to another folder")
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def api_command(s: Settings) -> list[str]:
    """The API's uvicorn command line (the stack's child, and the tests' own servers)."""
    return [sys.executable, "-m", "uvicorn", "liftflow_api.app:app", "--host", s.api_host,
            "--port", str(s.api_port), "--log-level", "warning",
            "--timeout-keep-alive", str(s.keep_alive_s)]


@dataclass
class Scaled:
    """``liftflow up --scaled``: N workers, and the trial Postgres/Redis that are not configured."""

    workers: int = 2
    postgres: Optional[TrialPostgres] = None
    redis: Optional[TrialRedis] = None

    @classmethod
    def for_settings(cls, settings: Settings, workers: int, postgres_dir: Optional[Path] = None) -> "Scaled":
        return cls(workers=workers,
                   postgres=None if settings.storage_url else TrialPostgres(
                       Path(postgres_dir or settings.data_dir / "postgres").resolve(), free_port()),
                   redis=None if settings.broker_url else TrialRedis(settings.data_dir / "redis", free_port()))

    def overrides(self, settings: Settings) -> dict[str, str]:
        """The settings the scaled stack runs with: the trial servers' URLs, a run per worker."""
        out = {"LIFTFLOW_CONCURRENT_RUNS": str(max(settings.concurrent_runs, self.workers))}
        if self.postgres is not None:
            out["LIFTFLOW_STORAGE_URL"] = self.postgres.url
        if self.redis is not None:
            out["LIFTFLOW_BROKER_URL"] = self.redis.url
        return out


class Stack:
    def __init__(self, settings: Optional[Settings] = None, echo: Callable[[str], None] = print,
                 scaled: Optional[Scaled] = None):
        self.s = settings or get_settings()
        self.echo = echo
        self.stopping = False
        self.log_dir = self.s.run_dir / "logs"
        self.scaled = scaled
        py = sys.executable
        s = self.s
        self.services = self._service_children()  # started (and healthy) before the rest
        self.children = self.services + [
            # the gRPC code server itself: one process (`dagster code-server start` is a proxy
            # in front of a second process that holds the code, ~100 MB more at idle, for
            # reloading code from the UI, which a deployed stack does by restarting), whose
            # runs fork from a warm process (liftflow.orchestration.code_server)
            Child("code-server",
                  [py, "-m", "liftflow.orchestration.code_server", "-h", "127.0.0.1",
                   "-p", str(s.code_server_port), "-m", "liftflow.orchestration.definitions",
                   "--location-name", "liftflow"],
                  self._grpc_ok, nice=ANALYSIS_NICE),
            Child("webserver",
                  [_bin("dagster-webserver"), "-h", "127.0.0.1", "-p", str(s.ui_port),
                   "-w", str(PROJECT_ROOT / "workspace.yaml")],
                  lambda: _http_ok(f"http://127.0.0.1:{s.ui_port}/server_info")),
            Child("daemon",
                  [_bin("dagster-daemon"), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
                  lambda: True),
            *self._worker_children(),
            Child("api", api_command(s),
                  lambda: _http_ok(f"http://127.0.0.1:{s.api_port}/health")),
        ]

    def _service_children(self) -> list[Child]:
        if self.scaled is None:
            return []
        out = []
        if self.scaled.postgres is not None:
            pg = self.scaled.postgres
            out.append(Child("postgres", pg.argv(), pg.ready, as_user=pg.preexec(),
                             stop_signal=pg.STOP_SIGNAL))
        if self.scaled.redis is not None:
            rd = self.scaled.redis
            out.append(Child("redis", rd.argv(), rd.ready))
        return out

    def _worker_children(self) -> list[Child]:
        if self.scaled is None:
            return []
        workers = []
        for i in range(1, self.scaled.workers + 1):
            child = Child(f"worker-{i}", worker_command(self.s, f"w{i}"), lambda: True, nice=ANALYSIS_NICE)
            # ready once Celery says so ("w1@host ready."): its pool is up and it consumes runs
            child.healthy = functools.partial(child.logged_since_start, b" ready.")
            workers.append(child)
        return workers

    def _grpc_ok(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.s.code_server_port), timeout=1):
                pass
        except OSError:
            return False
        out = subprocess.run([sys.executable, "-m", "dagster", "api", "grpc-health-check",
                              "-p", str(self.s.code_server_port)], capture_output=True, timeout=20,
                             env=self.env)
        return out.returncode == 0

    @property
    def env(self) -> dict:
        env = environment()
        env.update({
            "DAGSTER_HOME": str(self.s.dagster_home),
            "LIFTFLOW_DATA_DIR": str(self.s.data_dir),
            "DATASETS_ROOT": str(self.s.datasets_root),
            "LIFTFLOW_MODELS_DIR": str(self.s.models_dir),
            "LIFTFLOW_CODE_SERVER_PORT": str(self.s.code_server_port),
            "LIFTFLOW_UI_PORT": str(self.s.ui_port),
            "LIFTFLOW_API_PORT": str(self.s.api_port),
            "PYTHONUNBUFFERED": "1",
        })
        if self.scaled is not None:
            env.update(self.scaled.overrides(self.s))
        return env

    def _wait_healthy(self, child: Child, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.alive():
                raise StackError(f"{child.name} exited during start-up (code {child.proc.returncode}); "
                                 f"last log lines ({child.log_path}):\n{child.tail()}")
            if child.healthy():
                return
            time.sleep(0.3)
        raise StackError(f"{child.name} not healthy after {timeout:.0f} s; see {child.log_path}")

    def ports(self) -> dict[str, tuple[str, int]]:
        """The ports this stack listens on: {child name: (variable, port)}."""
        ports = {"code-server": ("LIFTFLOW_CODE_SERVER_PORT", self.s.code_server_port),
                 "webserver": ("LIFTFLOW_UI_PORT", self.s.ui_port),
                 "api": ("LIFTFLOW_API_PORT", self.s.api_port)}
        if self.scaled is not None and self.scaled.postgres is not None:
            ports["postgres"] = ("the trial Postgres", self.scaled.postgres.port)
        if self.scaled is not None and self.scaled.redis is not None:
            ports["redis"] = ("the trial Redis", self.scaled.redis.port)
        return ports

    def check_port(self, child_name: str) -> None:
        """Refuse to start ``child_name`` on a port another process holds, naming both."""
        var, port = self.ports()[child_name]
        owner = port_owner(port)
        if owner is not None:
            raise StackError(f"port {port} ({var}, for the {child_name}) is already in use by {owner}; "
                             f"stop it or choose another port with {var}")

    def start(self) -> None:
        from liftflow.orchestration.instance import prepare_dagster_home

        for name in self.ports():  # before anything is started or written
            self.check_port(name)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.s.datasets_root.mkdir(parents=True, exist_ok=True)
        self.s.models_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        self._start_services()
        prepare_dagster_home(self.s)
        self._reconcile()
        workers = []
        for child in self.children[len(self.services):]:
            child.start(self.env, self.log_dir)
            if child.name.startswith("worker-"):  # they start beside the API; waited for below
                workers.append(child)
                continue
            if child.name in ("code-server", "webserver", "api"):
                self._wait_healthy(child)
            self.echo(f"  {child.name:<12} up (pid {child.proc.pid})")
        for child in workers:
            self._wait_healthy(child)
            self.echo(f"  {child.name:<12} up (pid {child.proc.pid})")
        profile = ""
        if self.scaled is not None:
            profile = (f"  storage  {_without_password(self.s.storage_url)}\n"
                       f"  broker   {self.s.broker_url}\n"
                       f"  workers  {self.scaled.workers} (add one: liftflow worker)\n")
        self.echo(f"LiftFlow is up in {time.monotonic() - t0:.1f} s\n"
                  f"  API      http://127.0.0.1:{self.s.api_port}  (docs: /docs)\n"
                  f"  Dagster  http://127.0.0.1:{self.s.ui_port}\n"
                  f"{profile}"
                  f"  data     {self.s.data_dir}\n"
                  f"  logs     {self.log_dir}\n"
                  f"Press Ctrl-C to stop.")

    def _start_services(self) -> None:
        """The trial Postgres and Redis of ``--scaled``: healthy before anything reads storage."""
        if self.scaled is None:
            return
        if self.scaled.postgres is not None:
            self.scaled.postgres.prepare()
        for child in self.services:
            child.start(self.env, self.log_dir)
            self._wait_healthy(child, timeout=60)
            self.echo(f"  {child.name:<12} up (pid {child.proc.pid})")
        if self.scaled.postgres is not None:
            self.scaled.postgres.create_database()
        write_scaled_file(self.s, {"storage_url": self.s.storage_url, "broker_url": self.s.broker_url,
                                   "stack_pid": os.getpid()})

    def _reconcile(self) -> None:
        """Fail the runs a stopped stack left in progress (``liftflow.orchestration.reconcile``),
        before the daemon starts: in a process of its own, so the supervisor never holds
        Dagster (~100 MB) for the rest of its life."""
        out = subprocess.run([sys.executable, "-m", "liftflow.orchestration.reconcile"], env=self.env,
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise StackError(f"reconciling the runs of the last stack failed:\n{out.stderr[-2000:]}")
        if out.stdout.strip():
            self.echo(out.stdout.strip())

    def supervise(self) -> None:
        while not self.stopping:
            for child in self.children:
                if self.stopping or child.alive():
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60]
                if len(child.restarts) >= 5:
                    self.echo(f"{child.name} died 5 times in a minute; stopping the stack. "
                              f"Last log lines:\n{child.tail()}")
                    self.stopping = True
                    break
                if child.name in self.ports():
                    try:
                        self.check_port(child.name)
                    except StackError as exc:  # someone took its port meanwhile: never share it
                        self.echo(f"{child.name} exited and cannot be restarted: {exc}; stopping the stack")
                        self.stopping = True
                        break
                self.echo(f"{child.name} exited (code {child.proc.returncode}); restarting")
                child.restarts.append(now)
                child.start(self.env, self.log_dir)
            time.sleep(1.0)

    def stop(self) -> None:
        self.stopping = True
        for child in reversed(self.children):
            child.stop()


def _without_password(url: Optional[str]) -> str:
    from urllib.parse import urlsplit

    if not url:
        return "-"
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def up(settings: Optional[Settings] = None, workers: int = 0, postgres_dir: Optional[Path] = None) -> int:
    """The stack; with ``workers`` > 0 the scaled profile on this machine (``--scaled``)."""
    settings = settings or get_settings()
    lock = StackLock(settings.run_dir)
    try:
        lock.acquire()
    except StackError as exc:
        print(f"liftflow up: {exc}", file=sys.stderr)
        return 1
    scaled = None
    try:
        if workers > 0:
            scaled = Scaled.for_settings(settings, workers, postgres_dir)
            overrides = scaled.overrides(settings)
            set_environment(**overrides)  # this process reads the same storage as its children
            settings = build_settings({**environment(), **overrides})
        stack = Stack(settings, scaled=scaled)
    except StackError as exc:
        print(f"liftflow up: {exc}", file=sys.stderr)
        lock.release()
        return 1

    def _on_signal(signum, frame):
        stack.stopping = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        stack.start()
        stack.supervise()
        return 0
    except StackError as exc:
        print(f"liftflow up: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping LiftFlow ...", flush=True)
        stack.stop()
        lock.release()
        print("stopped.", flush=True)
