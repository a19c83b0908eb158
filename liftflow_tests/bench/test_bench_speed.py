"""`liftflow bench speed` machinery on a tiny clip: structure only, never timings."""

import json

from liftflow.bench.speed import (STEP_NAMES, _seconds_list, _spec_key, clip_spec, format_table, run,
                                  speed_bench_cli)


def test_seconds_accepts_lists_and_repeats():
    assert _seconds_list(["30,120"]) == [30.0, 120.0]
    assert _seconds_list(["30", "120"]) == [30.0, 120.0]


def test_speed_bench_on_a_tiny_clip(tmp_path, capsys):
    out = tmp_path / "speed.json"
    rc = speed_bench_cli(["--seconds", "2", "--kind", "high", "--width", "320", "--height", "240", "--fps", "30",
                          "--cache", str(tmp_path / "cache"), "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "generating a 2 s 320x240" in printed  # progress while the clip is made
    assert "decode s" in printed and "analyze s" in printed and "peak MB" in printed
    assert "targets:" in printed
    res = json.loads(out.read_text())
    (row,) = res["rows"]
    assert row["clip_seconds"] == 2 and row["frames"] == 60
    assert row["decode_alone"]["frames"] == 60 and row["decode_alone"]["seconds"] > 0
    an = row["analyze"]
    assert an["seconds"] > 0 and an["peak_rss_mb"] > 0 and an["rss_samples"] > 0
    assert set(STEP_NAMES) <= set(an["steps"]) and all(v is not None for v in an["steps"].values())
    assert an["overlay"] and an["plots"] and an["frames"] == 60 and an["tracked_frames"] > 0
    assert row["decode_only"]["frames"] == 60 and row["ratio_decode_only"] > 0
    # tracking's decode fed the overlay: the video was decoded once, not twice
    assert an["overlay_source"] == "tracking's decode"
    assert row["ratio"] > 0 and isinstance(row["meets_ratio"], bool) and isinstance(row["meets_memory"], bool)
    # interleaved runs (default 2 of analyze, 3 of decode-alone); the fastest of each compared
    assert len(an["runs_s"]) == 2 and an["seconds"] == min(an["runs_s"])
    assert len(row["decode_alone"]["runs_s"]) == 3
    assert row["decode_alone"]["seconds"] == min(row["decode_alone"]["runs_s"])
    assert "fastest of each compared" in printed
    # the cached clip is reused: no second generation
    res2 = run([2], cache_dir=tmp_path / "cache", width=320, height=240, fps=30, log=lambda m: None,
               repeat=1)
    assert res2["rows"][0]["video"] == row["video"]
    table = format_table(res["rows"] + res2["rows"])
    assert table.count("\n") >= 3


def test_low_bitrate_kind_is_a_smooth_scene_cached_apart():
    hi, lo = clip_spec(30), clip_spec(30, kind="low")
    assert (lo.noise, lo.clutter) == (0.0, False) and (hi.noise, hi.clutter) != (0.0, False)
    assert _spec_key(hi, "high") != _spec_key(lo, "low")


def test_unknown_kind_is_refused(capsys):
    assert speed_bench_cli(["--kind", "medium"]) == 2
    assert "--kind takes high, low" in capsys.readouterr().err
