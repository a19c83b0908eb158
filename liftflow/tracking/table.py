"""A track's observations held as columns: a few arrays for the whole clip.

A tracker used to keep one ``DiscObservation`` per frame and the analysis one dict per
frame: ~2 KB of Python objects a frame (the 48-point outline, the dict, its lists and
floats), scattered through the heap between the frames' temporaries, so that a 2 min
clip's track grew the worker by 25-35 MB. ``ObservationTable`` stores the same values in
arrays sized once for the clip (~0.5 KB a frame, the outline as (n, P, 2) int32
hundredths of a pixel where it is rounded to those, else doubles) and
builds a ``DiscObservation`` (``table[i]``) or its dict (``table.dicts()[i]``) when a
frame is read. Values come back exactly as they were stored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Iterable, Optional

import numpy as np

from liftflow.numeric import fixed_point
from liftflow.tracking.base import TRACKED, DiscObservation


class ObservationTable(Sequence):
    """One row per frame index ``0 .. n-1``: ``table[i] = observation`` stores it,
    ``table[i]`` gives it back (a fresh ``DiscObservation`` whose ``polygon`` is a read-only
    (P, 2) array). ``is_set(i)`` says whether row ``i`` was stored; reading
    an unset row raises ``ValueError``. A Sequence of ``DiscObservation`` (what
    ``DiscTracker.track`` returns)."""

    def __init__(self, n: int):
        n = int(n)
        self._n = n
        self._set = np.zeros(n, bool)
        self.frame = np.zeros(n, np.int64)
        self.t_s = np.zeros(n)
        self._state = np.zeros(n, np.uint8)
        self._states: list[str] = []
        self.confidence = np.zeros(n)
        self.center = np.full((n, 2), np.nan)
        self.has_center = np.zeros(n, bool)
        self.radius = np.full(n, np.nan)
        self.has_radius = np.zeros(n, bool)
        self.ellipse = np.full((n, 3), np.nan)
        self.has_ellipse = np.zeros(n, bool)
        # outlines: dense (n, P, 2) while every one has P points; else one array per row
        self._poly: Optional[np.ndarray] = None
        self._poly_rows: Optional[list] = None
        self.has_polygon = np.zeros(n, bool)
        self._extra: list[Optional[dict]] = [None] * n
        self.center_sd = np.full(n, np.nan)  # DiscObservation.center_sd_px (NaN: none)

    @classmethod
    def from_observations(cls, observations: Iterable) -> "ObservationTable":
        """Rows 0.. from ``DiscObservation`` objects or their dicts, in order."""
        obs = list(observations)
        table = cls(len(obs))
        for i, o in enumerate(obs):
            table[i] = o if isinstance(o, DiscObservation) else DiscObservation.from_dict(o)
        return table

    # --- writing ---------------------------------------------------------------------------
    def __setitem__(self, i: int, o: DiscObservation) -> None:
        i = self._index(i)
        self.frame[i] = int(o.frame)
        self.t_s[i] = float(o.t_s)
        if o.state not in self._states:
            self._states.append(o.state)
        self._state[i] = self._states.index(o.state)
        self.confidence[i] = float(o.confidence)
        self.has_center[i] = o.center is not None
        self.center[i] = o.center if o.center is not None else (np.nan, np.nan)
        self.has_radius[i] = o.radius is not None
        self.radius[i] = np.nan if o.radius is None else float(o.radius)
        self.has_ellipse[i] = o.ellipse is not None
        self.ellipse[i] = o.ellipse if o.ellipse is not None else (np.nan, np.nan, np.nan)
        self._set_polygon(i, o.polygon)
        self._extra[i] = dict(o.extra) if o.extra else None
        sd = getattr(o, "center_sd_px", None)
        self.center_sd[i] = np.nan if sd is None else float(sd)
        self._set[i] = True

    def _set_polygon(self, i: int, poly) -> None:
        self.has_polygon[i] = poly is not None
        if poly is None:
            if self._poly_rows is not None:
                self._poly_rows[i] = None
            return
        p = np.asarray(poly, float).reshape(-1, 2)
        k = fixed_point(p, 2) if self._poly_rows is None else None
        if self._poly_rows is None and self._poly is None and len(p):
            # outlines rounded to 0.01 px (the classic tracker's) are k / 100 exactly: held
            # as the int32 k, half the memory, until one is not
            self._poly = np.zeros((self._n, len(p), 2), np.int32 if k is not None else float)
        if self._poly_rows is None and self._poly is not None and len(p) == self._poly.shape[1]:
            if self._poly.dtype == np.int32:
                if k is not None:
                    self._poly[i] = k
                    return
                self._poly = self._poly / 100.0  # from now on as doubles
            self._poly[i] = p
            return
        if self._poly_rows is None:  # a different length: one array per row from now on
            rows: list = [None] * self._n
            if self._poly is not None:
                for k in np.flatnonzero(self.has_polygon & self._set):
                    rows[k] = self._dense(k)
            self._poly_rows, self._poly = rows, None
        self._poly_rows[i] = p.copy()

    def _dense(self, i) -> np.ndarray:
        """Row(s) ``i`` of the dense outlines as doubles (a new array)."""
        return self._poly[i] / 100.0 if self._poly.dtype == np.int32 else self._poly[i].copy()

    # --- reading ---------------------------------------------------------------------------
    def _index(self, i) -> int:
        i = int(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"row {i} outside the table (0..{self._n - 1})")
        return i

    def is_set(self, i: int) -> bool:
        return bool(self._set[self._index(i)])

    def __len__(self) -> int:
        return self._n

    def state(self, i: int) -> str:
        return self._states[self._state[i]]

    def tracked_mask(self) -> np.ndarray:
        """Rows that hold a tracked plate with a centre (``DiscObservation.tracked``)."""
        if TRACKED not in self._states:
            return np.zeros(self._n, bool)
        return self._set & (self._state == self._states.index(TRACKED)) & self.has_center

    def polygon(self, i: int) -> Optional[np.ndarray]:
        if not self.has_polygon[i]:
            return None
        if self._poly_rows is not None:
            p = self._poly_rows[i]
        elif self._poly is not None:
            p = self._dense(i)
        else:  # stored empty
            p = np.zeros((0, 2))
        v = p.view()
        v.flags.writeable = False
        return v

    def outline_size(self) -> Optional[int]:
        """Points per outline when all of them have the same number (held in one array),
        else None."""
        return None if self._poly_rows is not None or self._poly is None else self._poly.shape[1]

    def outlines(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), P, 2) outlines of ``rows`` as doubles (with ``outline_size()`` P)."""
        return self._dense(np.asarray(rows))

    def outline_points(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(every outline point of ``rows`` in order as an (m, 2) array, each row's count)."""
        has = self.has_polygon[rows]
        if self._poly_rows is None:
            size = 0 if self._poly is None else self._poly.shape[1]
            lens = np.where(has, size, 0)
            pts = self._dense(rows[has]).reshape(-1, 2) if size else np.zeros((0, 2))
            return pts, lens
        polys = [self._poly_rows[i] if h else None for i, h in zip(rows.tolist(), has.tolist())]
        lens = np.array([0 if p is None else len(p) for p in polys], int)
        return np.concatenate([np.zeros((0, 2))] + [p for p in polys if p is not None and len(p)]), lens

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._n))]
        i = self._index(i)
        if not self._set[i]:  # not IndexError: that would end an iteration silently
            raise ValueError(f"row {i} of the observation table was never stored")
        return DiscObservation(
            frame=int(self.frame[i]), t_s=float(self.t_s[i]), state=self.state(i),
            confidence=float(self.confidence[i]),
            center=tuple(self.center[i].tolist()) if self.has_center[i] else None,
            radius=float(self.radius[i]) if self.has_radius[i] else None,
            ellipse=tuple(self.ellipse[i].tolist()) if self.has_ellipse[i] else None,
            polygon=self.polygon(i), extra=dict(self._extra[i] or {}),
            center_sd_px=self.center_sd_at(i))

    def center_sd_at(self, i: int) -> Optional[float]:
        """Row ``i``'s ``center_sd_px`` (None where not given, or a table pickled before
        the column existed)."""
        col = self.__dict__.get("center_sd")
        if col is None or not math.isfinite(col[i]):
            return None
        return float(col[i])

    def __iter__(self):
        return (self[i] for i in range(self._n))

    def set_extra(self, i: int, key: str, value) -> None:
        i = self._index(i)
        self._extra[i] = {**(self._extra[i] or {}), key: value}

    def dicts(self) -> "ObservationDicts":
        """The rows as ``DiscObservation.to_dict()`` dicts (what a track's ``observations``
        holds), built when read."""
        return ObservationDicts(self)

    def __repr__(self) -> str:
        return f"ObservationTable({self._n} rows, {int(self.tracked_mask().sum())} tracked)"


class ObservationDicts(Sequence):
    """A table's rows as dicts: ``track["observations"]``. ``.table`` is the table (fast
    paths read its columns)."""

    def __init__(self, table: ObservationTable):
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self.table)))]
        return self.table[i].to_dict()

    def __iter__(self):
        return (self.table[i].to_dict() for i in range(len(self.table)))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(other) == len(self) and all(_plain(a) == _plain(b) for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ObservationDicts({self.table!r})"


def _plain(d):
    if not isinstance(d, dict):
        return d
    p = d.get("polygon")
    return {**d, "polygon": p.tolist() if hasattr(p, "tolist") else p}
