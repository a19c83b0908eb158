"""Turning a request's form fields into a queued job (upload and bench/run_one).

Everything is checked before a job exists: the lift type (``read_lift_type``), the load
(``read_load_kg``), the seed circle (``read_seed_lenient``: a centre
without a radius is ignored with a warning, as the original server did), the tags
(``parse_tags``), the pose fields, and that the tracking and pose backends the job will use
(given as ``backend`` or the original's ``tracking_backend``, or the saved configuration's)
are known and available here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Optional

import anyio

from liftflow.bench.dataset import parse_tags
from liftflow.config import Settings
from liftflow.errors import InputError, LaunchError
from liftflow.jobstore import JobFolder
from liftflow.orchestration.service import JobService
from liftflow.physics.params import MAX_LOAD_KG, check_load_kg, normalize_lift_type
from liftflow.tracking.seed import read_seed_lenient
from liftflow_api.services import model_config
from liftflow_api.services.backends import (
    POSE_BACKENDS, POSE_OFF, check_pose_backend, check_tracking_backend, known_tracking_backend,
)

# Launches at once: each is a GraphQL call to the webserver, which serves them one by one
# anyway; with their own threads, 50 simultaneous uploads never hold the shared thread pool
# (40 threads) that the rest of the API's sync work needs.
MAX_CONCURRENT_LAUNCHES = 4
_launch_limiter: Optional[anyio.CapacityLimiter] = None

MAX_TAGS = 50
MAX_TAG_LEN = 256
MAX_POSE_STRIDE = 60


def read_tags(tags: Optional[str]) -> dict:
    """The ``tags`` form field (a JSON object or ``k=v;k=v``); 422 with the reason."""
    try:
        return parse_tags(tags, max_tags=MAX_TAGS, max_len=MAX_TAG_LEN)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


@dataclass(frozen=True)
class SeedFields:
    """The request's seed circle, and the warning when an incomplete one was ignored."""

    fields: dict
    warning: Optional[str] = None

    @property
    def warnings(self) -> tuple[str, ...]:
        return (self.warning,) if self.warning else ()


def seed_fields(x: Optional[float], y: Optional[float], r: Optional[float], seed_frame: Optional[int]) -> SeedFields:
    """The seed circle of the request (SeedError, a 422, when it cannot be one; a centre
    without a radius is ignored, see ``read_seed_lenient``)."""
    (fx, fy, fr, frame), warning = read_seed_lenient(x, y, r, seed_frame)
    return SeedFields({"disc_center_x": fx, "disc_center_y": fy, "disc_radius": fr, "seed_frame": frame}, warning)


def backend_field(backend: Optional[str], tracking_backend: Optional[str]) -> Optional[str]:
    """The per-job tracking backend of a form: ``backend`` (LiftFlow's name) or
    ``tracking_backend`` (the original server's); both given and different is a 422."""
    backend = backend or None
    tracking_backend = tracking_backend or None
    if backend and tracking_backend and backend != tracking_backend:
        raise InputError(f"backend {backend!r} and tracking_backend {tracking_backend!r} differ; "
                         f"give one of them (they are the same field)")
    return backend or tracking_backend


def read_lift_type(lift_type: Optional[str]) -> Optional[str]:
    """The request's ``lift_type`` as one of ``LIFT_TYPES`` (``Back squat`` -> ``squat``), None
    when not given; 422 listing the known ones otherwise (not a job that fails after tracking)."""
    if lift_type is None or not str(lift_type).strip():
        return None
    try:
        return normalize_lift_type(lift_type)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


LOAD_KG_DOC = (f"Total mass on the bar, bar included (kg; > 0, at most {MAX_LOAD_KG:g}): energy and power use it. "
               "Not given: bar + plates assumed (60 kg by default), and the result says so (load.origin)")


def read_load_kg(load_kg: Optional[float]) -> Optional[float]:
    """The request's ``load_kg`` (the total on the bar, bar included), None when not given
    (the physics then assumes the default and says so); 422 when it cannot be a load."""
    try:
        return check_load_kg(load_kg)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def queued_message(head: str, seed: SeedFields) -> str:
    """The answer's ``message``: what was queued, and the seed warning if there is one."""
    return f"{head} ({seed.warning})" if seed.warning else head


def resolve_backend(settings: Settings, backend: Optional[str]) -> str:
    """The tracking backend asked for, else the saved default; unknown names are refused."""
    if backend in (None, ""):
        return model_config.load(settings).tracking_backend
    return known_tracking_backend(backend)


def check_pose_fields(pose: Optional[str], stride: Optional[int]) -> None:
    if pose is not None and pose not in (POSE_OFF, *POSE_BACKENDS):
        raise InputError(f"unknown pose backend {pose!r}; use {POSE_OFF}, {', '.join(POSE_BACKENDS)}")
    if stride is not None and not 1 <= stride <= MAX_POSE_STRIDE:
        raise InputError(f"pose_stride must be between 1 and {MAX_POSE_STRIDE} (got {stride})")


@dataclass(frozen=True)
class JobOptions:
    """The models one job runs with (the request's choices over the saved configuration)."""

    backend: str
    pose_backend: str
    pose_stride: int
    person_detection: bool

    def request(self) -> dict:
        return {"backend": self.backend, "pose_backend": self.pose_backend, "pose_stride": self.pose_stride,
                "enable_person_detection": self.person_detection}

    def model_config(self) -> dict:
        return {"tracking_backend": self.backend, "enable_person_detection": self.person_detection,
                "enable_pose_estimation": self.pose_backend != POSE_OFF}


def job_options(settings: Settings, *, backend: Optional[str], pose: Optional[str] = None,
                pose_stride: Optional[int] = None) -> JobOptions:
    """Resolve and check the backends of one job: unknown names and unavailable backends are
    refused here (422), before anything is stored. ``pose`` overrides the saved config."""
    chosen = resolve_backend(settings, backend)
    check_pose_fields(pose, pose_stride)
    cfg = model_config.load(settings)
    pose_backend = pose if pose is not None else (cfg.pose_backend if cfg.enable_pose_estimation else POSE_OFF)
    check_tracking_backend(chosen, settings)
    check_pose_backend(pose_backend, cfg.enable_person_detection, settings)
    return JobOptions(chosen, pose_backend, pose_stride or 1, cfg.enable_person_detection)


def enqueue(svc: JobService, folder: JobFolder, *, video_path: Path, seed: SeedFields, options: JobOptions,
            source: dict, benchmark: dict, lift_type: Optional[str] = None, render: bool = True,
            load_kg: Optional[float] = None) -> str:
    """Queue one job (its folder exists); LaunchError (503) when the queue is not reachable.
    The seed's warning goes to job_meta.json (``warnings``) and pipeline.log."""
    request = {**seed.fields, **options.request(), "lift_type": lift_type, "render": bool(render),
               "load_kg": load_kg}
    try:
        return svc.submit(folder, video_path=video_path, request=request, source=source,
                          benchmark=benchmark, model_config=options.model_config(), warnings=seed.warnings)
    except LaunchError as exc:
        raise LaunchError(f"the analysis queue is not reachable: {exc}",
                          public=f"the analysis queue is not reachable: {exc.public}") from exc


async def enqueue_off_loop(svc: JobService, folder: JobFolder, **kwargs) -> str:
    """``enqueue`` in a launch thread (at most MAX_CONCURRENT_LAUNCHES at once): the launch
    blocks on GraphQL, and neither the event loop nor the shared thread pool may wait on it."""
    global _launch_limiter
    if _launch_limiter is None:  # created in the server's event loop
        _launch_limiter = anyio.CapacityLimiter(MAX_CONCURRENT_LAUNCHES)
    return await anyio.to_thread.run_sync(partial(enqueue, svc, folder, **kwargs), limiter=_launch_limiter)
