"""Settings from the environment, with embedded defaults that need nothing installed by hand.

One place for every knob an operator can turn; ``/api/v1/info`` reports them truthfully.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SUPPORTED_FORMATS = (".mp4", ".mov", ".avi", ".mkv", ".webm")


def _env_path(name: str, default: Path) -> Path:
    v = os.environ.get(name)
    return Path(v).expanduser().resolve() if v else default.resolve()


def _env_int(name: str, default: int) -> int:
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else default


def _env_float_or_none(name: str, default: float | None) -> float | None:
    v = os.environ.get(name)
    if v in (None, ""):
        return default
    return None if v.lower() in ("none", "null", "off") else float(v)


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
    cors_origins: tuple[str, ...] = ()
    # tracking's decode skips H.264's deblocking filter where the overlay shrinks the
    # picture 2x or more (~23% less decoder CPU; tracking accuracy on the real clips
    # unchanged within noise)
    fast_decode: bool = True

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

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


def _api_keys() -> tuple[str, ...]:
    """Keys from LIFTFLOW_API_KEYS (comma-separated) and LIFTFLOW_API_KEYS_FILE (one per line)."""
    keys = [k.strip() for k in os.environ.get("LIFTFLOW_API_KEYS", "").split(",")]
    path = os.environ.get("LIFTFLOW_API_KEYS_FILE")
    if path:
        try:
            keys += [ln.strip() for ln in Path(path).read_text().splitlines()
                     if ln.strip() and not ln.strip().startswith("#")]
        except OSError as exc:
            raise RuntimeError(f"LIFTFLOW_API_KEYS_FILE {path} cannot be read: {exc}") from exc
    return tuple(k for k in keys if k)


def get_settings() -> Settings:
    data_dir = _env_path("LIFTFLOW_DATA_DIR", PROJECT_ROOT / "data")
    return Settings(
        data_dir=data_dir,
        datasets_root=_env_path("DATASETS_ROOT", data_dir / "bench_assets"),
        models_dir=_env_path("LIFTFLOW_MODELS_DIR", data_dir / "models"),
        api_host=os.environ.get("LIFTFLOW_API_HOST", "127.0.0.1"),
        api_port=_env_int("LIFTFLOW_API_PORT", 8000),
        ui_port=_env_int("LIFTFLOW_UI_PORT", 3000),
        code_server_port=_env_int("LIFTFLOW_CODE_SERVER_PORT", 4266),
        max_upload_mb=_env_int("LIFTFLOW_MAX_UPLOAD_MB", 100),
        max_duration_s=_env_float_or_none("LIFTFLOW_MAX_DURATION_S", 600.0),
        max_pixels=_env_int("LIFTFLOW_MAX_PIXELS", 3840 * 2160),
        yolo_disc_weights=os.environ.get("LIFTFLOW_YOLO_DISC_WEIGHTS", "yolo-plate.pt"),
        yolo_pose_weights=os.environ.get("LIFTFLOW_YOLO_POSE_WEIGHTS", "yolo11n-pose.pt"),
        cutie_weights=os.environ.get("LIFTFLOW_CUTIE_WEIGHTS", "cutie-base-mega.pth"),
        device=os.environ.get("LIFTFLOW_DEVICE", "auto"),
        retention_days=_env_float_or_none("LIFTFLOW_RETENTION_DAYS", None),
        api_keys=_api_keys(),
        cors_origins=tuple(o.strip() for o in os.environ.get("LIFTFLOW_CORS_ORIGINS", "").split(",")
                           if o.strip()),
        fast_decode=os.environ.get("LIFTFLOW_FAST_DECODE", "1").strip().lower()
        not in ("0", "false", "no", "off"),
    )


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
