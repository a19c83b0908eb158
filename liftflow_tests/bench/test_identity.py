"""bench.identity: the result.json comparison a renovation is proved with."""

import json

from liftflow.bench import identity


def _write(d, name, result):
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.result.json").write_text(json.dumps(result))


def test_only_the_id_and_timings_may_differ(tmp_path, capsys):
    r = {"video_id": "a", "processed_at": "t1", "tracking": {"backend": "x", "seconds": 1.0, "fps": 9.0},
         "tracks": [{"frames": {"0": {"center": [1.0, 2.0]}}}], "summary": {"rep_count": 2}}
    _write(tmp_path / "before", "clip", r)
    _write(tmp_path / "after", "clip", {**r, "video_id": "b", "processed_at": "t2",
                                        "tracking": {"backend": "x", "seconds": 2.0, "fps": 4.5}})
    assert identity.compare(tmp_path / "before", tmp_path / "after") == 0
    assert "1/1 identical" in capsys.readouterr().out


def test_a_changed_value_a_missing_key_or_a_missing_clip_is_reported(tmp_path, capsys):
    r = {"tracks": [{"frames": {"0": {"center": [1.0, 2.0]}}}], "summary": {"rep_count": 2, "peak": 1.5}}
    _write(tmp_path / "before", "clip", r)
    _write(tmp_path / "before", "other", r)
    changed = {"tracks": [{"frames": {"0": {"center": [1.0, 2.000001]}}}], "summary": {"rep_count": 2}}
    _write(tmp_path / "after", "clip", changed)
    assert identity.compare(tmp_path / "before", tmp_path / "after") == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and ".tracks[0].frames.0.center[1]" in out
    assert ".summary.peak: only in before" in out and "other.result.json: missing" in out
    # an int that became a float of the same value is a difference too (bytes change)
    _write(tmp_path / "b2", "clip", {"n": 1})
    _write(tmp_path / "a2", "clip", {"n": 1.0})
    assert identity.compare(tmp_path / "b2", tmp_path / "a2") == 1
