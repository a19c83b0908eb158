"""ObservationTable: a track's observations as columns give back exactly what was stored,
and the analysis' consumers (metrics, contract) read the same values from it."""

import math
import pickle

import numpy as np
import pytest

from liftflow.tracking.base import LOST, TRACKED, DiscObservation
from liftflow.tracking.table import ObservationTable


def _track(n=240, poly_points=48):
    obs = []
    for i in range(n):
        t = i / 60
        if i % 50 == 7:
            obs.append(DiscObservation(frame=i, t_s=t, state=LOST, confidence=0.0,
                                       extra={"reason": "occluded"}))
            continue
        cx, cy, r = 300.0 + 40 * math.sin(t), 500.0 - 120 * math.sin(2 * t), 60.0 + 0.01 * i
        th = np.linspace(0, 2 * np.pi, poly_points, endpoint=False)
        poly = np.round(np.column_stack([cx + r * np.cos(th), cy + r * np.sin(th)]), 2)
        obs.append(DiscObservation(
            frame=i, t_s=t, state=TRACKED, confidence=round(0.5 + 0.4 * math.cos(i), 4),
            center=(round(cx, 3), round(cy, 3)), radius=round(r, 3),
            ellipse=(round(r * 1.02, 3), round(r * 0.98, 3), 12.5) if i % 3 else None,
            polygon=poly if i % 11 else None))
    return obs


def _plain(d: dict) -> dict:
    p = d.get("polygon")
    return {**d, "polygon": p.tolist() if hasattr(p, "tolist") else p}


def test_rows_come_back_exactly_as_stored():
    obs = _track()
    obs[20] = DiscObservation(frame=20, t_s=1 / 3, state=TRACKED, confidence=0.7, center=(1.0, 2.0),
                              radius=3.0, polygon=[[1.5, 2.0], [0.5, 2.0], [1.0, 3.0]])  # other length
    obs[21] = DiscObservation(frame=21, t_s=0.35, state="occluded", confidence=0.0)  # another state
    table = ObservationTable.from_observations(obs)
    assert len(table) == len(obs)
    for o, got in zip(obs, table):
        assert _plain(got.to_dict()) == _plain(o.to_dict())
        assert got.tracked == o.tracked
    assert [_plain(d) for d in table.dicts()] == [_plain(o.to_dict()) for o in obs]
    assert table.dicts() == [o.to_dict() for o in obs]
    assert _plain(table[-1].to_dict()) == _plain(obs[-1].to_dict())
    assert [o.frame for o in table[3:9:2]] == [3, 5, 7]
    assert table.tracked_mask().sum() == sum(o.tracked for o in obs)
    with pytest.raises(ValueError):  # read-only views into the table
        table[1].polygon[0, 0] = 5.0
    back = pickle.loads(pickle.dumps(table.dicts()))
    assert back == [o.to_dict() for o in obs]


def test_an_unset_row_is_an_error_not_the_end_of_the_track():
    table = ObservationTable(3)
    table[0] = DiscObservation(frame=0, t_s=0.0, state=LOST, confidence=0.0)
    table[2] = DiscObservation(frame=2, t_s=0.1, state=LOST, confidence=0.0)
    assert table.is_set(0) and not table.is_set(1)
    with pytest.raises(ValueError, match="row 1"):
        list(table)
    with pytest.raises(IndexError):
        table[3]
    table.set_extra(0, "tracker_fps", 99.0)
    assert table[0].extra == {"tracker_fps": 99.0}


def test_metrics_and_contract_read_the_same_values_from_the_columns():
    from liftflow.contract.assemble import disc_track
    from liftflow.physics import PhysicsParams, compute_metrics

    obs = _track(600)
    table = ObservationTable.from_observations(obs)
    ts = [o.t_s for o in obs]
    params = PhysicsParams(lift_type="squat")
    from_table = compute_metrics(table, ts, params)
    from_list = compute_metrics(obs, ts, params)
    assert from_table["metrics"] == from_list["metrics"] and from_table["summary"] == from_list["summary"]
    assert from_table["metrics"]["frames"]  # something was measured
    a, b = disc_track(table.dicts()), disc_track([o.to_dict() for o in obs])
    assert a["frames"] == b["frames"] and a["trajectory"] == b["trajectory"]
    assert len(a["frames"]) == int(table.tracked_mask().sum())


def test_outlines_in_hundredths_are_stored_compactly_and_come_back_exactly():
    obs = _track(120)  # outlines rounded to 0.01 px, like the classic tracker's
    table = ObservationTable.from_observations(obs)
    assert table._poly.dtype == np.int32
    for o, got in zip(obs, table):
        assert _plain(got.to_dict()) == _plain(o.to_dict())
    # one outline that is not in hundredths: the table switches to doubles, nothing changes
    odd = DiscObservation(frame=119, t_s=2.0, state=TRACKED, confidence=0.5, center=(1.0, 2.0),
                          radius=3.0, polygon=np.full((48, 2), 1.0 / 3.0))
    table[119] = odd
    assert table._poly.dtype == float
    for o, got in zip(obs[:119] + [odd], table):
        assert _plain(got.to_dict()) == _plain(o.to_dict())


def test_contract_outlines_are_the_same_in_blocks_of_any_size():
    from liftflow.contract.assemble import _dense_outline_columns, disc_track

    table = ObservationTable.from_observations(_track(300))
    rows = np.flatnonzero(table.tracked_mask())
    centre, rad = table.center[rows], table.radius[rows]
    whole = _dense_outline_columns(table, rows, centre, rad, block=10**6)
    assert whole is not None
    for block in (1, 7, 64):
        part = _dense_outline_columns(table, rows, centre, rad, block=block)
        assert all(np.array_equal(a, b) for a, b in zip(part, whole))
    # the general path (outlines as one copy of doubles) gives the same track
    obs = _track(300)
    obs[5] = DiscObservation(frame=5, t_s=5 / 60, state=TRACKED, confidence=0.5, center=(1.0, 2.0),
                             radius=3.0, polygon=[[1.0, 2.0]] * 5)  # another length: no dense array
    mixed = ObservationTable.from_observations(obs)
    assert mixed.outline_size() is None
    assert disc_track(mixed.dicts())["frames"] == disc_track([o.to_dict() for o in obs])["frames"]
