"""Physical parameters of one job: plate size for the scale, masses for energy and power."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Optional

G = 9.80665  # standard gravity, m/s^2

LIFT_TYPES = ("squat", "snatch", "clean", "clean_and_jerk", "deadlift", "bench")
# Lifts that start with the bar on the platform and go up first (concentric first).
CONCENTRIC_FIRST = ("snatch", "clean", "clean_and_jerk", "deadlift")
# Lifts whose bar path is split into the classic weightlifting phases.
OLYMPIC = ("snatch", "clean", "clean_and_jerk")

_LIFT_ALIASES = {"back_squat": "squat", "front_squat": "squat", "c&j": "clean_and_jerk",
                 "clean_&_jerk": "clean_and_jerk", "bench_press": "bench",
                 "power_clean": "clean", "power_snatch": "snatch"}


def normalize_lift_type(lift_type) -> str:
    """One of ``LIFT_TYPES`` from a name as people write it (``Back squat``, ``power-clean``,
    ``C&J``); ValueError listing the known ones otherwise. The one check, for the request
    (the API refuses at submit) and for the physics."""
    lt = str(lift_type).strip().lower().replace(" ", "_").replace("-", "_")
    lt = _LIFT_ALIASES.get(lt, lt)
    if lt not in LIFT_TYPES:
        raise ValueError(f"lift_type must be one of {', '.join(LIFT_TYPES)} or none, got {lift_type!r}")
    return lt


@dataclass
class PhysicsParams:
    """What the physics needs to know about the bar and the camera.

    ``plate_diameter_m``: outer diameter of the tracked plate (IWF bumper plates of 10 kg and up:
    0.45 m). ``m_per_px`` overrides the plate-based scale when the caller knows it.
    ``lift_type``: one of ``LIFT_TYPES`` or None (unknown: reps are counted, no phases).
    """

    plate_diameter_m: float = 0.45
    bar_mass_kg: float = 20.0
    plate_mass_kg: float = 20.0  # per plate
    plate_count: int = 2
    lift_type: Optional[str] = None
    m_per_px: Optional[float] = None  # explicit scale; None = from the tracked plate
    g_m_s2: float = G

    def __post_init__(self) -> None:
        if not (self.plate_diameter_m > 0) or not math.isfinite(self.plate_diameter_m):
            raise ValueError(f"plate_diameter_m must be a finite number > 0, got {self.plate_diameter_m!r}")
        if not all(math.isfinite(v) and v >= 0 for v in (self.bar_mass_kg, self.plate_mass_kg, self.plate_count)):
            raise ValueError(
                "masses and plate_count must be finite and >= 0, got "
                f"bar={self.bar_mass_kg!r} plate={self.plate_mass_kg!r} count={self.plate_count!r}"
            )
        if self.lift_type is not None:
            self.lift_type = normalize_lift_type(self.lift_type)
        if self.m_per_px is not None and not (self.m_per_px > 0 and math.isfinite(self.m_per_px)):
            raise ValueError(f"m_per_px must be > 0 when given, got {self.m_per_px!r}")

    @property
    def total_mass_kg(self) -> float:
        return float(self.bar_mass_kg + self.plate_mass_kg * self.plate_count)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["total_mass_kg"] = self.total_mass_kg
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> "PhysicsParams":
        """From a job's config (unknown keys are refused by name; ``total_mass_kg`` is derived)."""
        d = dict(d or {})
        d.pop("total_mass_kg", None)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown physics parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


MOVING_SPEED_M_S = 0.10  # bar counts as moving above this speed (summary.moving_duration_s)
