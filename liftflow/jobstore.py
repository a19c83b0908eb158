"""The job folder: ``<data>/api/results/<job_id>/`` and the files every job produces.

The folder holds products (result.json and results.json, the same file under the original
server's name; job_meta.json, pipeline.log, pipeline_config.yaml,
metrics_calculator_output.json) and a small progress file; the Dagster run storage holds
the truth about state. Beside the folders lies ``jobs.json``, the original server's job index
(written by ``liftflow.orchestration.job_index``). Every JSON write is write-then-rename, so
a crash or a full disk never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

JOB_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}$")

RESULT = "result.json"
# the original server's name for result.json (its operator panel and desktop viewer read it):
# a hard link to it, or a copy where the file system refuses links; the same bytes
RESULT_ALIAS = "results.json"
# <results_dir>/jobs.json: the original server's job index (liftflow.orchestration.job_index)
JOB_INDEX = "jobs.json"
META = "job_meta.json"
LOG = "pipeline.log"
CONFIG = "pipeline_config.yaml"
METRICS = "metrics_calculator_output.json"
PROGRESS = "progress.json"
OVERLAY = "overlay.mp4"  # the overlay video (H.264)
POSTER = "overlay_poster.jpg"  # its poster frame
PLOTS_DIR = "plots"  # the PNG plots (liftflow.render.plots.PLOT_NAMES)
# scratch: small overlay frames kept by tracking's decode for the overlay pass (large;
# removed once rendered, or when the job fails)
FRAME_SPOOL = ".overlay-frames.i420"
META_SCHEMA_VERSION = "1.0"


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def new_job_id() -> str:
    h = secrets.token_hex(6)
    return f"{h[:8]}-{h[8:12]}"


def is_valid_job_id(job_id: str) -> bool:
    return bool(JOB_ID_RE.match(job_id or ""))


def _atomic_write(path: Path, body: Callable[[Any], None], buffering: int = -1,
                  binary: bool = False) -> None:
    """Write a file through ``body(f)`` to a temporary name beside it, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with (os.fdopen(fd, "wb", buffering=buffering) if binary
              else os.fdopen(fd, "w", encoding="utf-8", buffering=buffering)) as f:
            body(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: Path, text: str) -> None:
    _atomic_write(path, lambda f: f.write(text))


def _arrays_as_lists(obj: Any) -> Any:
    """JSON for numpy arrays (a result's per-frame outlines): their ``tolist()``; for other
    mappings (a result's ``DiscFrames``): the dict of their items."""
    if isinstance(obj, Mapping):
        return dict(obj.items())
    tolist = getattr(obj, "tolist", None)
    if tolist is None or isinstance(obj, (str, bytes)):
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
    return tolist()


# the C encoder; numpy arrays become lists on the way out, one at a time
_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_arrays_as_lists).encode


def _write_compact(obj: Any, write, depth: int = 0) -> None:
    """Compact JSON of ``obj`` through ``write``, piece by piece: containers of containers
    (a result's tracks, frames, metrics) are walked, everything else (one frame's entry, one
    series) goes through the C encoder. Same text as ``json.dumps(obj, separators=(",", ":"))``
    without ever holding all of it (a 120 s result is ~8 MB of text; json.dump would use
    the pure-Python encoder, ~5x slower)."""
    if depth >= 6:
        write(_COMPACT(obj))
    elif isinstance(obj, dict):
        if all(type(k) is str for k in obj) and any(
                isinstance(v, (dict, list, tuple)) or _is_mapping(v) for v in obj.values()):
            _write_items(obj.items(), write, depth)
        else:
            write(_COMPACT(obj))
    elif isinstance(obj, (list, tuple)):
        head = obj[:4]
        if any(isinstance(v, dict) or _is_mapping(v) for v in head) or (  # records: tracks
                len(obj) > 64 and any(isinstance(v, (list, tuple)) for v in head)):
            write("[")
            for i, v in enumerate(obj):
                if i:
                    write(",")
                _write_compact(v, write, depth + 1)
            write("]")
        else:
            write(_COMPACT(obj))
    elif _is_mapping(obj):  # built item by item (a result's DiscFrames): never held whole
        _write_items(obj.items(), write, depth, whole_entries=True)
    else:
        write(_COMPACT(obj))


def _is_mapping(obj: Any) -> bool:
    return not isinstance(obj, (str, bytes, int, float, list, tuple, type(None))) and isinstance(obj, Mapping)


def _write_items(items, write, depth: int, whole_entries: bool = False) -> None:
    """``{"k":v,...}``; ``whole_entries``: each value through the C encoder in one call
    (the entries of a mapping built on read: small, and 1800 of them for 30 s)."""
    write("{")
    first = True
    for k, v in items:
        if type(k) is not str:
            raise TypeError(f"keys must be str, not {type(k).__name__}")
        write(("" if first else ",") + _COMPACT(k) + ":")
        if whole_entries:
            write(_COMPACT(v))
        else:
            _write_compact(v, write, depth + 1)
        first = False
    write("}")


def atomic_write_json(path: Path, obj: Any, compact: bool = False) -> None:
    """Write ``obj`` as JSON, write-then-rename. ``compact``: no indentation or spaces,
    streamed to the file (``_write_compact``): for the large per-frame files."""
    if not compact:
        atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")
        return

    def body(f) -> None:
        _write_compact(obj, f.write)
        f.write("\n")

    _atomic_write(path, body, buffering=1 << 20)


def write_result_json(path: Path, result: dict) -> None:
    """result.json: compact and streamed; same content as the indented form it replaced
    (2.0 instead of 7.7 MB for 1800 frames: the plate outline of every frame dominates).
    Then results.json beside it (``RESULT_ALIAS``), the same bytes, also replaced in one rename."""
    atomic_write_json(path, result, compact=True)
    link_or_copy_atomic(path, path.with_name(RESULT_ALIAS))


def link_or_copy_atomic(src: Path, dst: Path) -> None:
    """``dst``: the bytes of ``src`` under a second name, never half there: a hard link made
    under a temporary name and renamed over ``dst``; a copy (fsynced, renamed the same way)
    where the file system refuses hard links."""
    tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.link(src, tmp)
    except OSError:  # no hard links here (EPERM, EXDEV, ENOTSUP, ...): copy
        def body(f) -> None:
            with open(src, "rb") as s:
                shutil.copyfileobj(s, f, 1 << 20)

        _atomic_write(dst, body, binary=True)
        return
    try:
        os.replace(tmp, dst)
    finally:
        # rename(2) does nothing when both names are already links to one file
        if os.path.lexists(tmp):
            os.unlink(tmp)


def read_json(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class JobFolder:
    def __init__(self, path: Path, job_id: str):
        self.job_id = job_id
        self.path = Path(path)

    @classmethod
    def for_job(cls, results_dir: Path, job_id: str) -> "JobFolder":
        """The folder of ``job_id`` under the API's results dir; the id is validated first."""
        if not is_valid_job_id(job_id):
            raise ValueError(f"invalid job id {job_id!r}")
        return cls(Path(results_dir) / job_id, job_id)

    def file(self, name: str) -> Path:
        return self.path / name

    def exists(self) -> bool:
        return self.file(META).is_file()

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    # --- job_meta.json -------------------------------------------------------------
    def read_meta(self) -> Optional[dict]:
        return read_json(self.file(META))

    def write_meta(self, meta: dict) -> None:
        atomic_write_json(self.file(META), meta)

    def update_meta(self, **changes: Any) -> dict:
        """Shallow-merge top-level keys (dict values are merged one level deep)."""
        meta = self.read_meta() or {}
        for k, v in changes.items():
            if isinstance(v, dict) and isinstance(meta.get(k), dict):
                meta[k] = {**meta[k], **v}
            else:
                meta[k] = v
        self.write_meta(meta)
        return meta

    # --- progress.json ---------------------------------------------------------------
    def set_progress(self, run_id: str, step: str, fraction: float, message: str) -> None:
        atomic_write_json(
            self.file(PROGRESS),
            {"run_id": run_id, "step": step, "fraction": round(float(fraction), 4),
             "message": message, "updated_at": now_iso()},
        )

    def read_progress(self) -> Optional[dict]:
        return read_json(self.file(PROGRESS))

    # --- pipeline.log ------------------------------------------------------------------
    def log(self, step: str, message: str, level: str = "INFO") -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.file(LOG), "a", encoding="utf-8") as f:
            f.write(f"{now_iso()} {level:<7} [{step}] {message}\n")

    def drop_scratch(self) -> None:
        """Remove the overlay frame spool (hundreds of MB) if a step left one behind."""
        for name in (FRAME_SPOOL, FRAME_SPOOL + ".json"):
            try:
                (self.path / name).unlink()
            except (FileNotFoundError, NotADirectoryError):
                pass

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def new_meta(job_id: str, *, source: dict, benchmark: dict, model_config: dict) -> dict:
    """job_meta.json as documented in BENCHMARK_API.md section E, status pending."""
    return {
        "job_id": job_id,
        "schema_version": META_SCHEMA_VERSION,
        "timestamps": {"created_at": now_iso(), "started_at": None, "finished_at": None,
                       "duration_s": None},
        "source": source,
        "benchmark": benchmark,
        "model_config": model_config,
        "video_metadata": None,
        "status": "pending",
        "results_contract_version": None,
        "error": None,
        "runs": [],
        "steps": {},
    }


class ProgressThrottle:
    """Persist in-step progress at most ~1 Hz (plus the final value)."""

    def __init__(self, folder: Optional[JobFolder], run_id: str, step: str, period_s: float = 0.7):
        self.folder, self.run_id, self.step, self.period = folder, run_id, step, period_s
        self._last = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        t = time.monotonic()
        if self.folder is None or (t - self._last < self.period and fraction < 1.0):
            return
        self._last = t
        self.folder.set_progress(self.run_id, self.step, fraction, message)
