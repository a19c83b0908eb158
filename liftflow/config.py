"""Settings from the environment, with embedded defaults that need nothing installed by hand.

One place for every knob an operator can turn, and the only module that reads the
environment: ``get_settings()`` builds one validated ``Settings`` per environment (a bad
value is refused with the variable's name: ``ConfigError``); ``/api/v1/info`` reports
them truthfully. The variables and their defaults are the table in the README.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from liftflow.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SUPPORTED_FORMATS = (".mp4", ".mov", ".avi", ".mkv", ".webm")


DEFAULT_SWEEP_CRON = "0 3 * * *"
RUNTIME_PER_VIDEO_S = 10  # a run may last this many seconds per second of video (plus a floor)

# Every variable get_settings() reads: its cache is keyed on their values.
ENV_VARS = (
    "LIFTFLOW_DATA_DIR", "DATASETS_ROOT", "LIFTFLOW_MODELS_DIR", "LIFTFLOW_API_HOST", "LIFTFLOW_API_PORT",
    "LIFTFLOW_UI_PORT", "LIFTFLOW_CODE_SERVER_PORT", "LIFTFLOW_MAX_UPLOAD_MB", "LIFTFLOW_MAX_DURATION_S",
    "LIFTFLOW_MAX_PIXELS", "LIFTFLOW_YOLO_DISC_WEIGHTS", "LIFTFLOW_YOLO_POSE_WEIGHTS",
    "LIFTFLOW_CUTIE_WEIGHTS", "LIFTFLOW_DEVICE", "LIFTFLOW_RETENTION_DAYS", "LIFTFLOW_API_KEYS",
    "LIFTFLOW_API_KEYS_FILE", "LIFTFLOW_CORS_ORIGINS", "LIFTFLOW_FAST_DECODE", "LIFTFLOW_SWEEP_CRON",
    "LIFTFLOW_SWEEP_DATASET", "LIFTFLOW_SWEEP_SENSOR_INTERVAL_S", "LIFTFLOW_REAL_DATA",
    "LIFTFLOW_GIT_SHA", "LIFTFLOW_BUILD_TIME", "LIFTFLOW_LINK_SECRET", "LIFTFLOW_LINK_TTL_S",
    "LIFTFLOW_BODY_TIMEOUT_S", "LIFTFLOW_RUN_RETRIES", "LIFTFLOW_MAX_RUNTIME_FLOOR_S",
    "LIFTFLOW_SWEEP_MAX_CASES", "LIFTFLOW_KEEP_ALIVE_S", "LIFTFLOW_STORAGE_URL", "LIFTFLOW_BROKER_URL",
    "LIFTFLOW_CONCURRENT_RUNS", "LIFTFLOW_WORKER_QUEUE", "LIFTFLOW_LEARNED_QUEUE", "LIFTFLOW_DAGSTER_HOME",
    "LIFTFLOW_WEBSERVER_HOST", "LIFTFLOW_WARM_RUNS", "LIFTFLOW_API_TIMING_FILE",
)


def _env_path(env: dict, name: str, default: Path) -> Path:
    v = env.get(name)
    return Path(v).expanduser().resolve() if v else default.resolve()


def _env_int(env: dict, name: str, default: int, minimum: int = 0) -> int:
    v = env.get(name)
    if v in (None, ""):
        return default
    try:
        n = int(v)
    except ValueError:
        raise ConfigError(f"{name}={v!r} is not a whole number") from None
    if n < minimum:
        raise ConfigError(f"{name}={v!r} must be at least {minimum}")
    return n


def _env_float_or_none(env: dict, name: str, default: float | None) -> float | None:
    v = env.get(name)
    if v in (None, ""):
        return default
    if v.lower() in ("none", "null", "off"):
        return None
    try:
        x = float(v)
    except ValueError:
        raise ConfigError(f"{name}={v!r} is not a number (or 'none')") from None
    if not x > 0 or x == float("inf"):
        raise ConfigError(f"{name}={v!r} must be a positive number (or 'none')")
    return x


def _sweep_cron(env: dict) -> str:
    """LIFTFLOW_SWEEP_CRON, or the default where it is not a 5-field cron: a typo must not
    take the whole code location (every job, not just the schedule) down."""
    cron = env.get("LIFTFLOW_SWEEP_CRON", "").strip() or DEFAULT_SWEEP_CRON
    parts = cron.split()
    if len(parts) != 5 or not all(all(ch in "0123456789*/,-" for ch in p) for p in parts):
        return DEFAULT_SWEEP_CRON
    return cron


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    datasets_root: Path
    models_dir: Path
    api_host: str
    api_port: int
    ui_port: int
    code_server_port: int
    max_upload_mb: int
    max_duration_s: float | None
    max_pixels: int
    yolo_disc_weights: str
    yolo_pose_weights: str
    cutie_weights: str
    device: str  # "auto" | "cpu" | "cuda"
    retention_days: float | None = None  # finished jobs older than this are deleted
    api_keys: tuple[str, ...] = ()  # empty: no authentication (local use)
    # CORS: any origin by default, as the original server (API keys travel in a header, not
    # cookies, so no credentials are allowed); LIFTFLOW_CORS_ORIGINS narrows it, "none" turns it off
    cors_origins: tuple[str, ...] = ("*",)
    # tracking's decode skips H.264's deblocking filter where the overlay shrinks the
    # picture 2x or more (~23% less decoder CPU; tracking accuracy on the real clips
    # unchanged within noise)
    fast_decode: bool = True
    sweep_cron: str = DEFAULT_SWEEP_CRON  # the benchmark sweep schedule (UTC)
    sweep_dataset: Optional[str] = None  # dataset of the scheduled sweep (default DATASETS_ROOT)
    sweep_sensor_interval_s: int = 15
    # real clips with hand-checked ground truth (tests, benchmarks); never copied into the project
    real_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data" / "real"
    git_sha: Optional[str] = None  # LIFTFLOW_GIT_SHA, else read from git by build_info()
    build_time: Optional[str] = None
    # signed results-page links (keys on): the HMAC secret (None: derived from the API keys)
    # and how long a link opens the page and its media
    link_secret: Optional[str] = None
    link_ttl_s: int = 24 * 3600
    # a request body that stops arriving for this long is cut off (408)
    body_timeout_s: float = 20.0
    # how long the API keeps an idle connection open: longer than the clients' pools keep one
    # (httpx 5 s), so a pooled connection is never closed by the server as a request goes out
    keep_alive_s: int = 75
    warm_runs: bool = True  # runs fork from a preloaded process (liftflow.orchestration.code_server)
    # automatic re-executions (from the failed step) of a run whose worker died; a run that
    # failed on its input (bad video, bad seed) is never retried
    run_retries: int = 2
    # a run longer than max(floor, RUNTIME_PER_VIDEO_S x the video's duration + floor) is failed
    max_runtime_floor_s: int = 300
    sweep_max_cases: int = 1000  # a sweep with more cases is refused (the queue stays bounded)
    # The scaled profile (README "Scaling out"). Run, event-log and schedule storage in
    # Postgres (a postgresql+psycopg2:// URL) instead of SQLite under the data folder:
    storage_url: Optional[str] = None
    # Runs as Celery tasks on `liftflow worker` processes (any host) through this broker
    # (redis://), instead of subprocesses of the code server:
    broker_url: Optional[str] = None
    # runs at once (the daemon's queue limit): 1 without a broker, else one per worker
    concurrent_runs: int = 1
    worker_queue: str = "dagster"  # the Celery queue runs go to and workers listen on
    # runs with a learned network (Cutie/YOLO tracking, YOLO pose) go to this queue instead,
    # which the GPU hosts' workers listen on (one run per GPU: a worker per GPU, concurrency 1)
    learned_queue: Optional[str] = None
    # a Dagster instance configured elsewhere (the Dagster Helm chart's, on Kubernetes): its
    # dagster.yaml is used as it is, LiftFlow writes none
    external_dagster_home: Optional[Path] = None
    # where the API reaches the Dagster webserver's GraphQL API (with LIFTFLOW_UI_PORT): another
    # host when they run apart (Kubernetes)
    webserver_host: str = "127.0.0.1"
    # benchmarks: the API appends each request's server-side time and its event loop's lag
    # to this file (liftflow_api.timing); None: off
    api_timing_file: Optional[Path] = None

    def max_runtime_s(self, video_duration_s: Optional[float] = None) -> int:
        """The longest a lift_analysis run may take: generous (the analysis runs at about
        real time on 2 cores, so 10x is a stalled step, not a slow one)."""
        d = video_duration_s if video_duration_s is not None else (self.max_duration_s or 3600.0)
        return int(self.max_runtime_floor_s + RUNTIME_PER_VIDEO_S * max(0.0, float(d)))

    @property
    def dagster_home(self) -> Path:
        return self.external_dagster_home or self.data_dir / "dagster_home"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "api" / "results"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "api" / "uploads"

    @property
    def config_file(self) -> Path:
        """Persisted model/backend configuration (``/api/v1/config/*``)."""
        return self.data_dir / "api" / "model_config.json"

    @property
    def run_dir(self) -> Path:
        """Lock file and logs of a running stack."""
        return self.data_dir / "run"


def _api_keys(env: dict) -> tuple[str, ...]:
    """Keys from LIFTFLOW_API_KEYS (comma-separated) and LIFTFLOW_API_KEYS_FILE (one per line)."""
    keys = [k.strip() for k in env.get("LIFTFLOW_API_KEYS", "").split(",")]
    path = env.get("LIFTFLOW_API_KEYS_FILE")
    if path:
        try:
            keys += [ln.strip() for ln in Path(path).read_text().splitlines()
                     if ln.strip() and not ln.strip().startswith("#")]
        except OSError as exc:
            raise ConfigError(f"LIFTFLOW_API_KEYS_FILE {path} cannot be read: {exc}") from exc
    return tuple(k for k in keys if k)


def _cors_origins(env: dict) -> tuple[str, ...]:
    """LIFTFLOW_CORS_ORIGINS: comma-separated origins; unset or empty: any ("*"); "none": off."""
    raw = env.get("LIFTFLOW_CORS_ORIGINS", "")
    if raw.strip().lower() == "none":
        return ()
    return tuple(o.strip() for o in raw.split(",") if o.strip()) or ("*",)


def _link_secret(env: dict) -> Optional[str]:
    v = env.get("LIFTFLOW_LINK_SECRET")
    if v in (None, ""):
        return None
    if len(v.strip()) < 16:
        raise ConfigError("LIFTFLOW_LINK_SECRET must be at least 16 characters")
    return v.strip()


def _storage_url(env: dict) -> Optional[str]:
    """LIFTFLOW_STORAGE_URL: a Postgres URL, with the psycopg2 driver named (SQLAlchemy 2.1
    maps a bare postgresql:// to psycopg 3, which breaks Dagster's NOTIFY-based event watch)."""
    v = (env.get("LIFTFLOW_STORAGE_URL") or "").strip()
    if not v:
        return None
    scheme, sep, rest = v.partition("://")
    if not sep or scheme not in ("postgres", "postgresql", "postgresql+psycopg2"):
        raise ConfigError("LIFTFLOW_STORAGE_URL must be a Postgres URL "
                          "(postgresql://user:password@host:port/database)")
    return f"postgresql+psycopg2://{rest}"


def _broker_url(env: dict) -> Optional[str]:
    v = (env.get("LIFTFLOW_BROKER_URL") or "").strip()
    if not v:
        return None
    if not v.startswith(("redis://", "rediss://")):
        raise ConfigError("LIFTFLOW_BROKER_URL must be a Redis URL (redis://host:port/0)")
    return v


def _queue_name(env: dict, name: str) -> Optional[str]:
    v = (env.get(name) or "").strip()
    if not v:
        return None
    if not v.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{name}={v!r} must be letters, digits, '-' or '_'")
    return v


def _choice(env: dict, name: str, default: str, allowed: tuple[str, ...]) -> str:
    v = (env.get(name) or default).strip().lower()
    if v not in allowed:
        raise ConfigError(f"{name}={env.get(name)!r} must be one of {', '.join(allowed)}")
    return v


def _flag(env: dict, name: str, default: bool) -> bool:
    v = (env.get(name) or "").strip().lower()
    if v == "":
        return default
    if v in ("0", "false", "no", "off"):
        return False
    if v in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={env.get(name)!r} must be 1 or 0")


def build_settings(env: dict) -> Settings:
    """Settings from ``env`` (a mapping of environment variables), validated."""
    data_dir = _env_path(env, "LIFTFLOW_DATA_DIR", PROJECT_ROOT / "data")
    return Settings(
        data_dir=data_dir,
        datasets_root=_env_path(env, "DATASETS_ROOT", data_dir / "bench_assets"),
        models_dir=_env_path(env, "LIFTFLOW_MODELS_DIR", data_dir / "models"),
        api_host=env.get("LIFTFLOW_API_HOST", "127.0.0.1"),
        api_port=_env_int(env, "LIFTFLOW_API_PORT", 8000),
        ui_port=_env_int(env, "LIFTFLOW_UI_PORT", 3000),
        code_server_port=_env_int(env, "LIFTFLOW_CODE_SERVER_PORT", 4266),
        max_upload_mb=_env_int(env, "LIFTFLOW_MAX_UPLOAD_MB", 100, minimum=1),
        max_duration_s=_env_float_or_none(env, "LIFTFLOW_MAX_DURATION_S", 600.0),
        max_pixels=_env_int(env, "LIFTFLOW_MAX_PIXELS", 3840 * 2160, minimum=1),
        yolo_disc_weights=env.get("LIFTFLOW_YOLO_DISC_WEIGHTS", "yolo-plate.pt"),
        yolo_pose_weights=env.get("LIFTFLOW_YOLO_POSE_WEIGHTS", "yolo11n-pose.pt"),
        cutie_weights=env.get("LIFTFLOW_CUTIE_WEIGHTS", "cutie-base-mega.pth"),
        device=_choice(env, "LIFTFLOW_DEVICE", "auto", ("auto", "cpu", "cuda")),
        retention_days=_env_float_or_none(env, "LIFTFLOW_RETENTION_DAYS", None),
        api_keys=_api_keys(env),
        cors_origins=_cors_origins(env),
        fast_decode=_flag(env, "LIFTFLOW_FAST_DECODE", True),
        sweep_cron=_sweep_cron(env),
        sweep_dataset=env.get("LIFTFLOW_SWEEP_DATASET") or None,
        sweep_sensor_interval_s=max(5, _env_int(env, "LIFTFLOW_SWEEP_SENSOR_INTERVAL_S", 15)),
        real_data_dir=_env_path(env, "LIFTFLOW_REAL_DATA", PROJECT_ROOT.parent / "shared" / "data" / "real"),
        git_sha=env.get("LIFTFLOW_GIT_SHA") or None,
        build_time=env.get("LIFTFLOW_BUILD_TIME") or None,
        link_secret=_link_secret(env),
        link_ttl_s=_env_int(env, "LIFTFLOW_LINK_TTL_S", 24 * 3600, minimum=60),
        body_timeout_s=_env_float_or_none(env, "LIFTFLOW_BODY_TIMEOUT_S", 20.0) or 20.0,
        keep_alive_s=_env_int(env, "LIFTFLOW_KEEP_ALIVE_S", 75, minimum=1),
        warm_runs=_flag(env, "LIFTFLOW_WARM_RUNS", True),
        storage_url=_storage_url(env),
        broker_url=_broker_url(env),
        concurrent_runs=_env_int(env, "LIFTFLOW_CONCURRENT_RUNS", 1, minimum=1),
        worker_queue=_queue_name(env, "LIFTFLOW_WORKER_QUEUE") or "dagster",
        learned_queue=_queue_name(env, "LIFTFLOW_LEARNED_QUEUE"),
        webserver_host=(env.get("LIFTFLOW_WEBSERVER_HOST") or "127.0.0.1").strip(),
        external_dagster_home=_env_path(env, "LIFTFLOW_DAGSTER_HOME", Path()) if env.get("LIFTFLOW_DAGSTER_HOME") else None,
        run_retries=_env_int(env, "LIFTFLOW_RUN_RETRIES", 2),
        max_runtime_floor_s=_env_int(env, "LIFTFLOW_MAX_RUNTIME_FLOOR_S", 300, minimum=30),
        sweep_max_cases=_env_int(env, "LIFTFLOW_SWEEP_MAX_CASES", 1000, minimum=1),
        api_timing_file=_env_path(env, "LIFTFLOW_API_TIMING_FILE", Path()) if env.get("LIFTFLOW_API_TIMING_FILE") else None,
    )


@lru_cache(maxsize=16)
def _settings_for(items: tuple) -> Settings:
    return build_settings(dict(items))


def get_settings() -> Settings:
    """The validated Settings of the current environment (built once per distinct environment)."""
    return _settings_for(tuple((k, os.environ[k]) for k in ENV_VARS if k in os.environ))


def environment() -> dict[str, str]:
    """A copy of this process's environment, for starting a child process (the stack's services)."""
    return dict(os.environ)


def set_environment(**values: str) -> None:
    """Export variables to this process and the children it starts (DAGSTER_HOME; library
    switches such as YOLO_OFFLINE, set where they are not set already)."""
    for k, v in values.items():
        os.environ[k] = v


def default_environment(**values: str) -> None:
    """Like ``set_environment``, but only where the variable is not set already."""
    for k, v in values.items():
        os.environ.setdefault(k, v)


@lru_cache(maxsize=1)
def git_sha() -> Optional[str]:
    """LIFTFLOW_GIT_SHA, else the checkout's HEAD (None outside a git checkout)."""
    s = get_settings()
    if s.git_sha:
        return s.git_sha
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def model_file(settings: Settings, name: str) -> Path:
    """A weights file: absolute as given, else inside the models directory."""
    p = Path(name).expanduser()
    return (p if p.is_absolute() else Path(settings.models_dir) / p).resolve()


def missing_requirement(packages: tuple[tuple[str, str], ...], weights: Path, env_var: str,
                        what: str = "the file") -> str | None:
    """Why a learned backend cannot run (a package or its weights file), or None. Cheap:
    looks packages up without importing them. ``packages`` are (module, distribution)."""
    import importlib.util

    for module, dist in packages:
        if importlib.util.find_spec(module) is None:
            return f"python package {dist!r} is not installed (module {module!r} not importable)"
    if not weights.is_file():
        return f"weights file not found: {weights} (set LIFTFLOW_MODELS_DIR or {env_var}, or place {what} there)"
    return None
