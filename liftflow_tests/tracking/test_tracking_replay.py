"""The replay stand-in tracker gives back the track it was handed, and the shared driver's
seed checks and walks behave as every backend relies on: no video decoded here."""

import pytest

from liftflow.errors import DatasetError
from liftflow.tracking import BACKENDS, LOST, TRACKED, DiscObservation, SeedCircle, TrackingError
from liftflow.tracking.driver import backward_from_seed, check_seed, forward_from_seed
from liftflow.tracking.replay import NOT_REPLAYED, ReplayTracker
from liftflow.tracking.table import ObservationTable
from liftflow.video import Frame, VideoInfo


def _info(n=6, fps=30.0):
    return VideoInfo(path="clip.mp4", width=640, height=480, fps=fps, frame_count=n,
                     duration_s=n / fps, rotation=0, codec="h264", variable_frame_rate=False,
                     timestamps_s=[i / fps for i in range(n)])


SEED = SeedCircle(cx=100.0, cy=200.0, r=40.0, frame=0)


def _obs(i, t=0.0):
    return DiscObservation(frame=i, t_s=t, state=TRACKED, confidence=0.9, center=(100.0 + i, 200.0),
                           radius=40.0, ellipse=(41.0, 39.0, 10.0),
                           polygon=[[60.0 + i, 200.0], [100.0 + i, 160.0], [140.0 + i, 200.0]],
                           extra={"note": i})


def _never_decode(**_):
    raise AssertionError("the replay tracker must not decode frames")


def test_replay_of_observations_returns_them_at_the_probe_times():
    given = [_obs(i, t=99.0) for i in (0, 1, 2, 4)]  # frame 3 and 5 not given
    info = _info()
    out = ReplayTracker(given).track("clip.mp4", info, SEED, frame_source=_never_decode)
    assert isinstance(out, ObservationTable) and len(out) == 6
    for o in given:
        got = out[o.frame]
        assert (got.state, got.center, got.radius, got.ellipse, got.extra) == \
            (o.state, o.center, o.radius, o.ellipse, o.extra)
        assert got.polygon.tolist() == o.polygon
        assert got.t_s == info.timestamps_s[o.frame]
    for i in (3, 5):
        assert out[i].state == LOST and out[i].center is None
        assert out[i].extra == {"reason": NOT_REPLAYED}


def test_replay_of_a_table_or_dicts_is_the_same_track():
    given = [_obs(i) for i in range(6)]
    a = ReplayTracker(ObservationTable.from_observations(given)).track("v", _info(), SEED)
    b = ReplayTracker([o.to_dict() for o in given]).track("v", _info(), SEED)
    assert a.dicts() == b.dicts()


def test_replay_of_a_ground_truth_csv(tmp_path):
    p = tmp_path / "gt.csv"
    p.write_text("frame,x,y,r,r_minor,visibility\n"
                 "0,100.5,200,40,,visible\n"
                 "2,110,190,50,32,partial\n"
                 "3,,,,,absent\n")
    out = ReplayTracker(p).track("v", _info(4), SEED)
    assert out[0].state == TRACKED and out[0].center == (100.5, 200.0) and out[0].radius == 40.0
    assert out[2].radius == pytest.approx(40.0)  # sqrt(50 * 32): the equivalent circle
    assert out[1].extra == {"reason": NOT_REPLAYED}
    assert out[3].state == LOST and out[3].extra == {"reason": "absent"}
    assert [o.t_s for o in out] == _info(4).timestamps_s


def test_replay_refuses_what_does_not_fit(tmp_path):
    with pytest.raises(DatasetError, match="frame 9; the video has frames 0..5"):
        ReplayTracker([_obs(9)]).track("v", _info(), SEED)
    with pytest.raises(DatasetError, match="frame 1 twice"):
        ReplayTracker([_obs(1), _obs(1)])
    bad = tmp_path / "bad.csv"
    bad.write_text("frame,x,y,r\n0,1,2,-3\n")
    with pytest.raises(DatasetError, match="line 2: x, y and a positive r"):
        ReplayTracker(bad)


def test_replay_is_not_a_listed_backend():
    assert "replay" not in BACKENDS


def test_seed_checks_shared_by_the_backends():
    assert check_seed(_info(), SEED) == 6
    with pytest.raises(TrackingError, match="the video has no frames"):
        check_seed(_info(0), SEED)
    with pytest.raises(TrackingError, match=r"seed frame 6 is outside the video \(0..5\)"):
        check_seed(_info(), SeedCircle(1, 1, 5, frame=6))
    with pytest.raises(TrackingError, match="seed radius must be positive, got 0"):
        check_seed(_info(), SeedCircle(1, 1, 0))
    with pytest.raises(TrackingError, match="seed radius 1.5 is too small"):
        check_seed(_info(), SeedCircle(1, 1, 1.5), min_radius=2.0)
    with pytest.raises(TrackingError, match="seed frame 6 is outside"):  # the replay checks it too
        ReplayTracker([]).track("v", _info(), SeedCircle(1, 1, 5, frame=6))


def _source(n):
    calls = []

    def frames(start=0, stop=None, **decode):
        calls.append((start, stop, decode))
        for i in range(start, n if stop is None else stop):
            yield Frame(index=i, t_s=i / 30, image=None)
    return frames, calls


@pytest.mark.parametrize("prefetch_depth", [0, 2])
def test_walks_from_the_seed_cover_every_frame_once(prefetch_depth):
    frames, calls = _source(12)
    fwd = [f.index for f in forward_from_seed(frames, 5, 10, prefetch_depth=prefetch_depth,
                                              scale=0.5)]
    assert fwd == list(range(5, 10))  # stops at the probe's frame count
    bwd = [f.index for f in backward_from_seed(frames, 5, 2, scale=0.5)]
    assert bwd == [4, 3, 2, 1, 0]
    # decoded forwards, in chunks that end at the seed, each decode with the same options
    assert calls == [(5, None, {"scale": 0.5}), (3, 5, {"scale": 0.5}), (1, 3, {"scale": 0.5}),
                     (0, 1, {"scale": 0.5})]


def test_a_decode_error_in_the_prefetch_thread_reaches_the_tracker():
    def frames(start=0, stop=None, **_):
        yield Frame(index=start, t_s=0.0, image=None)
        raise RuntimeError("corrupt packet")

    with pytest.raises(RuntimeError, match="corrupt packet"):
        list(forward_from_seed(frames, 0, 10, prefetch_depth=2))
