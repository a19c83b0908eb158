"""Pydantic models of ResultsContract v2 (see shared spec RESULTS_CONTRACT.md).

The v2.0.0 fields are frozen: names, types and nesting. Minor versions only add keys
(documented in docs/API.md); ``extra="allow"`` keeps richer sections (reps, phases,
definitions, ...) flowing through without each being a breaking change here.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from liftflow.physics.params import LIFT_TYPES, LOAD_ASSUMED, LOAD_GIVEN
from liftflow.verdict import CODES

API_VERSION = "2.0.0"
# 2.1.0 = 2.0.0 + per-frame `center`/`radius`, `seed`, `metrics_raw`, `reps`, `phases`,
# `bar_path`, `calibration`, `definitions`, `warnings`, summary.peak_vertical_velocity_m_s,
# summary.rep_count.
# 2.2.0 = 2.1.0 + the lift-only summary.peak_speed_lift_m_s, peak_power_lift_w and
# moving_duration_s (the v2.0.0 keys peak_speed_m_s, peak_power_w, lift_duration_s mean what
# they meant in 2.0.0 again).
# 2.3.0 = 2.2.0 + `load` (the mass energy and power use, given or assumed), `verdict` (can the
# numbers be used: a reason code and a message), per rep `velocity_loss_pct`, and
# summary.velocity_loss_pct / velocity_loss_reference_rep (velocity loss within the set), and
# `lift_type` (the lift the request named, null when unknown).
# 2.4.0 = 2.3.0 + per rep `uncertainty` (95 % ± on MCV, peak velocity and ROM, the
# peak-velocity flag) and `setup_quality` (verdict, checks, advice).
# Nothing of 2.0.0 is removed, renamed or given another meaning.
RESULTS_CONTRACT_VERSION = "2.4.0"

JobStatus = Literal["pending", "processing", "completed", "failed"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class BBox(BaseModel):
    x1: float
    y1: float
    x2: float
    y2: float


class FrameEntry(_Open):
    mask: Optional[list[list[float]]] = None
    bbox: Optional[BBox] = None
    confidence: float = Field(ge=0.0, le=1.0)


class Track(_Open):
    track_id: int
    class_name: str
    frames: dict[str, FrameEntry]
    trajectory: list[list[float]]


class VideoMetadata(_Open):
    fps: float
    width: int
    height: int
    duration_s: float
    total_frames: int


class MetricsSeries(_Open):
    frames: list[int]
    time_s: list[float]
    x_m: list[float]
    y_m: list[float]
    height_m: list[float]
    vx_m_s: list[float]
    vy_m_s: list[float]
    speed_m_s: list[float]
    accel_m_s2: list[float]
    kinetic_energy_j: list[float]
    potential_energy_j: list[float]
    total_energy_j: list[float]
    power_w: list[float]


class Summary(_Open):
    """The v2.0.0 keys with the original server's meaning (every analysed frame, the
    video): peak_speed_m_s (max speed), peak_power_w (max |power|), lift_duration_s (the
    video's duration). The lift-only figures are the 2.2.0 keys below (drops excluded)."""

    peak_speed_m_s: Optional[float]
    peak_power_w: Optional[float]
    max_height_m: Optional[float]
    min_height_m: Optional[float]
    lift_duration_s: Optional[float]
    total_frames: int
    peak_speed_lift_m_s: Optional[float] = None
    peak_power_lift_w: Optional[float] = None
    moving_duration_s: Optional[float] = None
    velocity_loss_pct: Optional[float] = None
    velocity_loss_reference_rep: Optional[int] = None


class Load(_Open):
    """2.3.0: the mass energy and power use, and whether the request gave it."""

    load_kg: float = Field(gt=0)
    origin: Literal[LOAD_GIVEN, LOAD_ASSUMED]


class Verdict(_Open):
    """2.3.0: can the numbers be used (``liftflow.verdict``)."""

    code: Literal[tuple(CODES)]
    message: str


class ResultsContract(_Open):
    video_id: str
    status: JobStatus
    metadata: VideoMetadata
    tracks: list[Track]
    metrics: MetricsSeries
    summary: Summary
    processed_at: str
    results_contract_version: str = RESULTS_CONTRACT_VERSION
    load: Optional[Load] = None
    verdict: Optional[Verdict] = None
    lift_type: Optional[Literal[tuple(LIFT_TYPES)]] = None
