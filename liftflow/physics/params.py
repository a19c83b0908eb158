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


MAX_LOAD_KG = 600.0  # above every powerlifting world record (equipped squat ~590 kg)
LOAD_GIVEN, LOAD_ASSUMED = "given", "assumed"


def check_load_kg(load_kg) -> Optional[float]:
    """The total mass on the bar (bar included) as a float, None when not given; ValueError
    with the reason otherwise. The one check, for every entry point (upload, bench/run_one,
    bench/run_batch and manifests, ``liftflow analyze``) and for the physics."""
    if load_kg is None or (isinstance(load_kg, str) and not load_kg.strip()):
        return None
    try:
        v = float(load_kg)
    except (TypeError, ValueError):
        raise ValueError(f"load_kg must be a number of kilograms (got {load_kg!r})") from None
    if isinstance(load_kg, bool) or not math.isfinite(v) or not 0 < v <= MAX_LOAD_KG:
        raise ValueError(f"load_kg must be a finite number of kilograms > 0 and at most {MAX_LOAD_KG:g} "
                         f"(the total on the bar, bar included); got {load_kg!r}")
    return v


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
    ``load_kg``: the total mass on the bar, bar included, as the lifter gave it; None: the
    mass is assumed from ``bar_mass_kg + plate_mass_kg x plate_count`` (60 kg by default)
    and the result says so (``load.origin == "assumed"``).
    """

    plate_diameter_m: float = 0.45
    bar_mass_kg: float = 20.0
    plate_mass_kg: float = 20.0  # per plate
    plate_count: int = 2
    lift_type: Optional[str] = None
    m_per_px: Optional[float] = None  # explicit scale; None = from the tracked plate
    g_m_s2: float = G
    load_kg: Optional[float] = None  # given total mass; None = assumed from bar and plates

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
        self.load_kg = check_load_kg(self.load_kg)

    @property
    def total_mass_kg(self) -> float:
        """The mass energy and power use: the load given, else bar + plates."""
        if self.load_kg is not None:
            return float(self.load_kg)
        return float(self.bar_mass_kg + self.plate_mass_kg * self.plate_count)

    @property
    def load_origin(self) -> str:
        return LOAD_GIVEN if self.load_kg is not None else LOAD_ASSUMED

    def load(self) -> dict:
        """The contract's ``load``: the mass used and where it came from."""
        d = {"load_kg": self.total_mass_kg, "origin": self.load_origin}
        if self.load_kg is None:
            d["assumed_from"] = {"bar_mass_kg": self.bar_mass_kg, "plate_mass_kg": self.plate_mass_kg,
                                 "plate_count": self.plate_count}
        return d

    def load_warning(self) -> Optional[str]:
        """The warning of an assumed load (None when it was given)."""
        if self.load_kg is not None:
            return None
        return (f"load not given: energy and power assume {self.total_mass_kg:g} kg on the bar "
                f"(bar {self.bar_mass_kg:g} kg + {self.plate_count} x {self.plate_mass_kg:g} kg plates); "
                "give load_kg (the total on the bar, bar included) for true figures")

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
