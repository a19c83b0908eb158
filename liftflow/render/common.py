"""Small helpers shared by the overlay, the plots and the page (no heavy imports)."""

from __future__ import annotations

import math
from typing import Any, Iterable, Optional

import numpy as np

# Vertical-speed colour scale, shared by the overlay and the bar-path plot so that the two
# read the same: down = blue, still = pale grey, up = orange -> red. (RGB, 0..255)
VY_STOPS = (
    (-1.0, (40, 90, 230)),
    (-0.5, (80, 170, 250)),
    (0.0, (225, 225, 225)),
    (0.5, (255, 190, 40)),
    (1.0, (235, 30, 30)),
)
NO_DATA_RGB = (150, 150, 150)
# The dropped bar (its fall, the bounces, the bar left lying after it): drawn in this grey,
# apart from the lift, by the overlay and the plots.
DROP_RGB = (125, 125, 125)

# Keys of a phases dict that are not phases.
_PHASE_META = {"rep", "method", "pose_events_used", "boundaries_s", "warnings", "notes"}


def floats(values: Optional[Iterable[Any]]) -> np.ndarray:
    """A list that may hold None/NaN/strings -> float array with NaN for the gaps."""
    if values is None:
        return np.zeros(0, dtype=float)
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = math.nan
        out.append(f)
    return np.asarray(out, dtype=float)


def vy_scale(vy: np.ndarray) -> float:
    """Symmetric colour range in m/s: the 98th percentile of |vy|, at least 0.5 m/s."""
    finite = np.abs(vy[np.isfinite(vy)])
    if finite.size == 0:
        return 1.0
    return float(max(0.5, np.percentile(finite, 98)))


def vy_rgb(vy: np.ndarray, vmax: float) -> np.ndarray:
    """Nx3 uint8 RGB for vertical speeds (NaN -> grey)."""
    vy = np.asarray(vy, dtype=float)
    pos = np.array([s[0] for s in VY_STOPS])
    cols = np.array([s[1] for s in VY_STOPS], dtype=float)
    u = np.clip(np.nan_to_num(vy / vmax, nan=0.0), -1.0, 1.0)
    rgb = np.stack([np.interp(u, pos, cols[:, k]) for k in range(3)], axis=-1)
    rgb[~np.isfinite(vy)] = NO_DATA_RGB
    return np.round(rgb).astype(np.uint8)


class FrameSeries:
    """result["metrics"] as arrays indexed by frame number: ``t`` (s), ``vy`` (m/s), ``h``
    (m), NaN where a frame has no metrics, and ``has``. Three floats and a flag a frame, for
    whole clips (the overlay reads it every frame; a dict per frame held ~0.4 KB each)."""

    def __init__(self, result: dict, min_frames: int = 0):
        m = result.get("metrics") or {}
        frames = []
        for i, f in enumerate(m.get("frames") or []):
            try:
                fi = int(f)
            except (TypeError, ValueError):
                continue
            if fi >= 0:
                frames.append((i, fi))
        pos = np.array([p for p, _ in frames], int)
        at = np.array([f for _, f in frames], int)
        n = max(int(min_frames), int(at.max()) + 1 if at.size else 0)
        self.has = np.zeros(n, bool)
        self.has[at] = True

        def column(key: str) -> np.ndarray:
            vals = floats(m.get(key))
            out = np.full(n, math.nan)
            ok = pos < vals.size
            out[at[ok]] = vals[pos[ok]]
            return out

        self.t, self.vy, self.h = column("time_s"), column("vy_m_s"), column("height_m")
        self.vy_all = self.vy[self.has]  # every frame's, for the colour scale

    def __len__(self) -> int:
        return self.has.size


# the metrics series the overlay and the plots read (liftflow.render.plots.PLOT_SERIES too)
RENDER_SERIES = ("frames", "time_s", "x_m", "height_m", "vy_m_s", "power_w")
# the other result keys they read (summary: dropped_bar; bar_path: the lifter's direction)
RENDER_KEYS = ("metadata", "tracks", "reps", "phases", "summary", "bar_path")


def render_view(result: dict) -> dict:
    """The part of a result the overlay and the plots read (``RENDER_KEYS`` and six of the
    metrics series): rendering from it frees the rest of the result's per-frame series
    (thirteen metrics, metrics_raw) for the overlay pass."""
    view = {k: result[k] for k in RENDER_KEYS if k in result}
    m = result.get("metrics")
    if isinstance(m, dict):
        view["metrics"] = {k: m[k] for k in RENDER_SERIES if k in m}
    return view


def drop_intervals(result: dict) -> list[tuple[float, float]]:
    """(start_s, end_s) of each stretch that is not the lift: the dropped bar, from
    ``summary.dropped_bar`` (its fall and bounces until the bar rests, what physics leaves
    out of the reps and the lift's peaks). The last drop runs on to the end of the clip
    (``end_s`` = inf) when no rep starts after it: the bar left lying, or rolling away,
    after the lift is not part of it either. [] for a result without drops (or written
    before ``dropped_bar`` existed)."""
    drops = (result.get("summary") or {}).get("dropped_bar") if isinstance(result.get("summary"), dict) else None
    if not isinstance(drops, list):
        return []
    out = []
    for d in drops:
        if not isinstance(d, dict):
            continue
        try:
            s, e = float(d.get("start_s")), float(d.get("end_s"))
        except (TypeError, ValueError):
            continue
        if math.isfinite(s) and math.isfinite(e) and e >= s:
            out.append((s, e))
    if not out:
        return []
    out.sort()
    last_s, last_e = out[-1]
    starts = []
    for r in rep_intervals(result.get("reps")):
        for part in (r["ecc"], r["con"]):
            if part:
                starts.append(part[0])
    if not any(st > last_e for st in starts):
        out[-1] = (last_s, math.inf)
    return out


def in_intervals(t: np.ndarray, intervals: list[tuple[float, float]]) -> np.ndarray:
    """Mask of the times ``t`` inside any of the (start, end) ``intervals`` (ends included)."""
    t = np.asarray(t, dtype=float)
    out = np.zeros(t.shape, bool)
    for s, e in intervals:
        out |= (t >= s) & (t <= e)
    return out


def disc_track(result: dict) -> dict:
    """The disc track (tracks[0] by contract; anything not a person as a fallback)."""
    tracks = result.get("tracks") or []
    for tr in tracks:
        if tr.get("class_name") != "person":
            return tr
    return {"frames": {}}


def person_track(result: dict) -> Optional[dict]:
    for tr in result.get("tracks") or []:
        if tr.get("class_name") == "person":
            return tr
    return None


def phase_list(phases: Any) -> list[tuple[str, float, float]]:
    """Flatten result["phases"] (dict of name -> {start_s, end_s}, a list of such dicts,
    or None) into [(label, start_s, end_s)] sorted by start."""
    if not phases:
        return []
    items = phases if isinstance(phases, list) else [phases]
    out = []
    multi = len(items) > 1
    for block in items:
        if not isinstance(block, dict):
            continue
        rep = block.get("rep")
        for name, v in block.items():
            if name in _PHASE_META or not isinstance(v, dict):
                continue
            try:
                s, e = float(v["start_s"]), float(v["end_s"])
            except (KeyError, TypeError, ValueError):
                continue
            if not (math.isfinite(s) and math.isfinite(e)) or e < s:
                continue
            label = name.replace("_", " ")
            if multi and rep is not None:
                label = f"{label} (rep {rep})"
            out.append((label, s, e))
    out.sort(key=lambda x: x[1])
    return out


def rep_intervals(reps: Any) -> list[dict]:
    """Per rep: {"rep", "ecc": (s, e) | None, "con": (s, e) | None, "mcv"} in seconds."""
    out = []
    if not isinstance(reps, list):
        return out
    for i, r in enumerate(reps):
        if not isinstance(r, dict):
            continue

        def g(k):
            try:
                v = float(r.get(k))
                return v if math.isfinite(v) else None
            except (TypeError, ValueError):
                return None

        es, cs, ce = g("eccentric_start_s"), g("concentric_start_s"), g("concentric_end_s")
        con = (cs, ce) if cs is not None and ce is not None and ce > cs else None
        ecc = None
        if es is not None and cs is not None and cs > es:
            ecc = (es, cs)  # eccentric first (squat, bench)
        out.append({
            "rep": r.get("rep", i + 1),
            "ecc": ecc,
            "con": con,
            "mcv": g("mean_concentric_velocity_m_s"),
            "pcv": g("peak_concentric_velocity_m_s"),
        })
    return out
