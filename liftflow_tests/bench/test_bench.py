"""Benchmark datasets, scoring, reports, the sweep's sensor and schedule (no stack needed)."""

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import pytest

from liftflow.bench.dataset import DatasetError, load_dataset, load_ground_truth, write_manifest
from liftflow.bench.report import Thresholds, build_report
from liftflow.bench.scoring import aggregate, compare, rep_error


# ------------------------------------------------------------------ datasets

def _touch(p: Path, text: str = "x") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


GT = "frame,x,y,r,r_minor,visibility\n0,10,10,5,,visible\n5,12,10,5,,partial\n10,,,,,absent\n"


def _dataset(tmp_path, rows, header="case_id,asset,seed_frame,disc_center_x,disc_center_y,disc_radius,gt"):
    root = tmp_path / "ds"
    root.mkdir()
    _touch(root / "a.mp4")
    _touch(root / "a.gt.csv", GT)
    (root / "manifest.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    return root


def test_dataset_valid_liftflow_format(tmp_path):
    root = tmp_path / "ds"
    _touch(root / "clips/a.mp4")
    _touch(root / "clips/a.gt.csv", GT)
    _touch(root / "b.mov")
    write_manifest(root, [
        {"case_id": "a", "asset": "clips/a.mp4", "disc_center_x": 10, "disc_center_y": 10, "disc_radius": 5,
         "lift_type": "squat", "expected_reps": "3-4", "tags": {"env": "indoor"}},
        {"case_id": "b", "asset": "b.mov", "tags": "env=gym;disc=black", "expected_reps": 1},
    ])
    ds = load_dataset(root)
    assert ds.format == "liftflow"
    a, b = ds.cases
    assert a.gt_path == str((root / "clips/a.gt.csv").resolve())  # found beside the asset
    assert a.expected_reps == [3, 4] and a.tags == {"env": "indoor"} and a.has_seed
    assert b.tags == {"env": "gym", "disc": "black"} and not b.has_seed and b.gt_path is None
    assert a.lift_request(seed_offset_px=2, seed_radius_scale=0.5)["disc_center_x"] == 12.0
    assert a.lift_request(seed_radius_scale=0.5)["disc_radius"] == 2.5


def test_dataset_load_kg_column(tmp_path):
    """A manifest may give each case its load (issue #18): it reaches the case's request; a
    manifest without the column (or an empty cell) leaves the load to be assumed."""
    root = tmp_path / "ds"
    _touch(root / "a.mp4")
    _touch(root / "b.mp4")
    write_manifest(root, [{"case_id": "a", "asset": "a.mp4", "load_kg": 142.5}, {"case_id": "b", "asset": "b.mp4"}])
    assert "load_kg" in (root / "manifest.csv").read_text().splitlines()[0]
    a, b = load_dataset(root).cases
    assert a.load_kg == 142.5 and a.lift_request()["load_kg"] == 142.5
    assert b.load_kg is None and "load_kg" not in b.lift_request()
    write_manifest(root, [{"case_id": "b", "asset": "b.mp4"}])
    assert "load_kg" not in (root / "manifest.csv").read_text()  # no column where none is given
    write_manifest(root, [{"case_id": "a", "asset": "a.mp4", "load_kg": -1},
                          {"case_id": "b", "asset": "b.mp4", "load_kg": "lots"}])
    with pytest.raises(DatasetError) as e:
        load_dataset(root)
    assert "line 2: case a: load_kg must be a finite number" in str(e.value)
    assert "line 3: case b: load_kg must be a number of kilograms" in str(e.value)


def test_dataset_missing_columns(tmp_path):
    root = _dataset(tmp_path, ["a,a.mp4"], header="name,video")
    with pytest.raises(DatasetError) as e:
        load_dataset(root)
    assert "missing column(s) case_id, asset (found: name, video)" in str(e.value)


def test_dataset_reports_every_bad_row_at_once(tmp_path):
    root = _dataset(tmp_path, [
        "ok,a.mp4,0,10,10,5,a.gt.csv",
        "partial-seed,a.mp4,0,10,,5,",
        "neg-radius,a.mp4,0,10,10,-3,",
        "nan-x,a.mp4,0,abc,10,5,",
        "bad-frame,a.mp4,-1,10,10,5,",
        "outside,../secret.mp4,0,10,10,5,",
        "missing,nope.mp4,0,10,10,5,",
        "gt-outside,a.mp4,0,10,10,5,/etc/passwd",
        "ok,a.mp4,0,10,10,5,",
    ])
    _touch(tmp_path / "secret.mp4")
    with pytest.raises(DatasetError) as e:
        load_dataset(root)
    msg = str(e.value)
    probs = e.value.problems
    assert len(probs) == 8, msg
    assert "line 3: case partial-seed: seed: disc_center_x, disc_center_y and disc_radius must be given together" in msg
    assert "line 4: case neg-radius: seed: disc_radius must be positive (got '-3')" in msg
    assert "line 5: case nan-x: seed: disc_center_x must be a number (got 'abc')" in msg
    assert "line 6: case bad-frame: seed: seed_frame must be a whole number >= 0" in msg
    assert "line 7: case outside: asset '../secret.mp4' resolves outside the dataset root" in msg
    assert "line 8: case missing: asset 'nope.mp4' not found" in msg
    assert "line 9: case gt-outside: gt '/etc/passwd' resolves outside the dataset root" in msg
    assert "line 10: case_id 'ok' already used on line 2" in msg


def test_dataset_bad_ground_truth_and_root(tmp_path):
    root = _dataset(tmp_path, ["a,a.mp4,0,10,10,5,bad.gt.csv"])
    _touch(root / "bad.gt.csv", "frame,x,y\n0,1,2\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(root)
    assert "missing column(s) r (found: frame, x, y" in str(e.value)
    _touch(root / "bad.gt.csv", "frame,x,y,r,visibility\n0,1,2,3,visible\n5,1,2,,visible\n7,1,2,3,hidden\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(root)
    assert "line 3: x, y and r are required where the plate is visible" in str(e.value)
    assert "line 4: visibility must be one of visible, partial, absent (got 'hidden')" in str(e.value)
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no manifest.csv in the dataset root"):
        load_dataset(tmp_path / "empty")


def test_real_clip_manifest_is_read_as_is(real_data):
    ds = load_dataset(real_data)
    assert ds.format == "real" and len(ds.cases) == 7
    c = {x.case_id: x for x in ds.cases}
    assert c["formfit-squat"].expected_reps == [3, 4] and c["formfit-squat"].lift_type == "squat"
    assert c["clean-and-jerk"].lift_type == "clean_and_jerk" and c["clean-and-jerk"].expected_reps == [1]
    assert c["dave-clean"].tags == {"lift": "clean", "view": "side"}
    assert all(x.gt_path and Path(x.gt_path).is_file() for x in ds.cases)
    kf = load_ground_truth(c["clean-and-jerk"].gt_path)
    assert kf[0]["r"] == pytest.approx(math.sqrt(81.4 * 74.6))


# ------------------------------------------------------------------ scoring

def _result(positions: dict, rep_count=3, frames=30, vy=None, pvv=None):
    return {
        "video_id": "job1",
        "tracks": [{"track_id": 1, "class_name": "frisbee",
                    "frames": {str(f): {"confidence": 1.0, "center": list(p)} for f, p in positions.items()}}],
        "tracking": {"lost_frames": frames - len(positions)},
        "summary": {"rep_count": rep_count, "total_frames": frames, "peak_vertical_velocity_m_s": pvv},
        "metrics": {"frames": list(range(len(vy or []))), "vy_m_s": vy or []},
    }


GT_ROWS = [
    {"frame": 0, "x": 100, "y": 100, "r": 20},
    {"frame": 5, "x": 100, "y": 100, "r": 20, "visibility": "visible"},
    {"frame": 10, "x": 100, "y": 100, "r": 20, "r_minor": 5},  # equivalent radius 10
    {"frame": 15, "x": 100, "y": 100, "r": 20},
    {"frame": 20, "visibility": "absent"},
    {"frame": 25, "x": 50, "y": 50, "r": 20, "visibility": "partial"},
]


def test_scoring_exact_numbers():
    pos = {0: (100, 100), 5: (103, 104), 10: (101, 100), 15: (106, 108), 20: (0, 0)}
    s = compare(_result(pos, rep_count=3, vy=[0.5, 1.0, 0.0], pvv=1.0), GT_ROWS,
                {"case_id": "c1", "expected_reps": [2], "tags": {"lift": "squat"}},
                velocity_ref=[{"frame": 0, "vy_m_s": 0.4}, {"frame": 1, "vy_m_s": 1.0}, {"frame": 2, "vy_m_s": 0.3}])
    # errors px [0, 5, 1, 10]; % of radius [0, 25, 10, 50]
    assert s["scored"] == 4 and s["keyframes"] == 6
    assert s["median_px"] == 3.0 and s["p95_px"] == 9.25 and s["max_px"] == 10.0
    assert s["median_pct"] == 17.5 and s["p95_pct"] == 46.25 and s["max_pct"] == 50.0
    assert s["lost_keyframes"] == 1 and s["lost_keyframe_list"] == [25]
    assert s["false_positions"] == 1 and s["off_keyframes"] == 0 and s["worst_keyframe"] == 15
    assert s["frames_lost"] == 25 and s["rep_count"] == 3 and s["rep_error"] == 1
    assert s["vy_rmse_m_s"] == round(math.sqrt((0.01 + 0 + 0.09) / 3), 4)
    assert s["peak_vy_err_m_s"] == 0.0 and s["velocity_error_m_s"] == s["vy_rmse_m_s"]


def test_rep_error_ranges_and_bad_input():
    assert rep_error(3, [3, 4]) == 0 and rep_error(5, [3, 4]) == 1 and rep_error(1, [3, 4]) == -2
    assert rep_error(3, None) is None and rep_error(None, [1]) is None
    with pytest.raises(DatasetError, match="row 1: frame must be a whole number"):
        compare(_result({0: (1, 1)}), [{"frame": 0, "x": 1, "y": 1, "r": 2}, {"frame": -1, "x": 1, "y": 1, "r": 2}])
    with pytest.raises(DatasetError, match="not a ResultsContract"):
        compare({"status": "failed"}, GT_ROWS)


def test_aggregate_by_tag_pools_keyframes():
    a = compare(_result({0: (100, 100), 5: (102, 100)}), GT_ROWS[:2], {"case_id": "a", "tags": {"lift": "squat"}})
    b = compare(_result({0: (104, 100)}), GT_ROWS[:1], {"case_id": "b", "tags": {"lift": "clean"}})
    agg = aggregate([a, b])
    assert agg["all"]["keyframes_scored"] == 3 and agg["all"]["median_pct"] == 10.0  # [0, 10, 20]
    assert agg["lift=squat"]["cases"] == 1 and agg["lift=squat"]["max_pct"] == 10.0
    assert agg["lift=clean"]["median_pct"] == 20.0


# ------------------------------------------------------------------ reports

def _rows(offset):
    return [compare(_result({0: (100 + offset, 100), 5: (100, 100)}), GT_ROWS[:2],
                    {"case_id": "a", "tags": {"lift": "squat"}, "expected_reps": [3]}) | {"status": "ok"},
            compare(_result({0: (100, 100)}), GT_ROWS[:1], {"case_id": "b"}) | {"status": "ok"}]


def test_report_comparison_detects_a_regression(tmp_path):
    base = build_report({"sweep_id": "s1", "dataset_root": "/d"}, _rows(0), finished_at="2026-01-01T00:00:00")
    assert base["status"] == "ok" and base["regressions"] == [] and base["comparison"]["baseline"] is None
    same = build_report({"sweep_id": "s2", "dataset_root": "/d"}, _rows(0.1), base)
    assert same["status"] == "ok" and same["comparison"]["worse"] == []
    assert {c["threshold"]: c["verdict"] for c in same["comparison"]["checks"]}["max_median_pct_increase"] == "ok"
    # the absolute limits off: a regression against the baseline only
    relative = Thresholds(max_case_median_pct=None, max_case_p95_pct=None)
    bad = build_report({"sweep_id": "s3", "dataset_root": "/d"}, _rows(4), base, relative)  # 20 % of the radius
    assert bad["status"] == "regression" and bad["failures"] == []
    assert any(r.startswith("case a: median centre error rose from 0.00 to 10.00% of the radius (+10.00, "
                            "allowed +5.00) against sweep s1") for r in bad["regressions"]), bad["regressions"]
    assert "a: median_pct 0.00 -> 10.00" in bad["comparison"]["worse"]
    checks = {c["threshold"]: c for c in bad["comparison"]["checks"]}
    assert checks["max_case_median_pct_increase"]["verdict"] == "FAILED"
    assert checks["max_case_median_pct_increase"]["check"] == "median centre error, largest rise of one case (a)"
    assert checks["max_rep_error_increase"]["verdict"] == "ok"
    # with the default absolute limits, the same report also exceeds them (errors 20 % and 0 %)
    worse = build_report({"sweep_id": "s3", "dataset_root": "/d"}, _rows(4), base)
    assert worse["status"] == "failed" and worse["regressions"] == bad["regressions"]
    assert worse["failures"] == ["case a: median centre error 10.00% of the radius, allowed 3.00% of the radius",
                                 "case a: p95 centre error 19.00% of the radius, allowed 10.00% of the radius"]
    loose = build_report({"sweep_id": "s4", "dataset_root": "/d"}, _rows(4), base,
                         Thresholds(max_case_median_pct_increase=None, max_p95_pct_increase=None,
                                    max_median_pct_increase=20, max_case_median_pct=None, max_case_p95_pct=None))
    assert loose["status"] == "ok"


# ------------------------------------------------------------------ absolute limits

def test_first_sweep_with_a_rep_miscount_fails_naming_the_case(tmp_path):
    from liftflow.bench.report import failure_reason, find_previous_report, to_markdown, write_report

    rows = _rows(0)
    rows[0] = compare(_result({0: (100, 100), 5: (100, 100)}, rep_count=2), GT_ROWS[:2],
                      {"case_id": "a", "expected_reps": [3]}) | {"status": "ok"}
    first = build_report({"sweep_id": "s1", "dataset_root": "/d"}, rows, None, finished_at="2026-01-01T00:00:00")
    assert first["comparison"]["baseline"] is None and first["regressions"] == []
    assert first["status"] == "failed"
    assert first["failures"] == ["case a: rep-count error 1 (2 reps found, 3 expected), allowed 0"]
    assert failure_reason(first) == ("benchmark sweep s1 exceeds its absolute limits: case a: rep-count error 1 "
                                     "(2 reps found, 3 expected), allowed 0")
    a, b = first["rows"]
    assert (a["verdict"], a["limits_exceeded"]) == ("FAILED", "rep-count error 1 > 0")
    assert (b["verdict"], b["limits_exceeded"]) == ("ok", None)
    rep = {c["limit"]: c for c in first["limits"]}["max_case_rep_error"]
    assert (rep["allowed"], rep["worst"], rep["worst_case"], rep["cases_over"], rep["verdict"]) == (0, 1, "a", ["a"],
                                                                                                   "FAILED")
    md = to_markdown(first)
    assert md.startswith("# Benchmark sweep s1: FAILED")
    assert "## Absolute limits exceeded\n\n- case a: rep-count error 1 (2 reps found, 3 expected), allowed 0" in md
    assert "| max_case_rep_error | rep-count error, each case | 0 | 1 | a | a | FAILED |" in md
    # a sweep that exceeds a limit is no baseline for the next one
    write_report(first, tmp_path / "s1", plots=False)
    assert find_previous_report(tmp_path, "/d", before="2027-01-01") is None
    # one rep of slack lets it pass
    assert build_report({"sweep_id": "s1", "dataset_root": "/d"}, rows, None,
                        Thresholds(max_case_rep_error=1))["status"] == "ok"


def test_absolute_limits_pass_on_a_good_report_and_fail_just_over():
    good = build_report({"sweep_id": "s1", "dataset_root": "/d"}, _rows(0.6))  # case a: errors 3 % and 0 %
    assert good["status"] == "ok" and good["failures"] == [] and [r["verdict"] for r in good["rows"]] == ["ok", "ok"]
    verdicts = {c["limit"]: c["verdict"] for c in good["limits"]}
    assert verdicts == {"max_case_rep_error": "ok", "max_case_median_pct": "ok", "max_case_p95_pct": "ok",
                        "max_case_median_px": "off", "max_case_p95_px": "off",
                        "max_case_lost_keyframes_pct": "ok", "max_case_velocity_error_m_s": "n/a",
                        "max_failed_cases": "ok"}
    median = {c["limit"]: c for c in good["limits"]}["max_case_median_pct"]
    assert (median["worst"], median["worst_case"]) == (1.5, "a")
    # at the limit passes, just over fails
    at = Thresholds(max_case_median_pct=1.5, max_case_median_px=0.3)
    assert build_report({"sweep_id": "s1"}, _rows(0.6), None, at)["status"] == "ok"
    over = build_report({"sweep_id": "s1"}, _rows(0.6), None, Thresholds(max_case_median_pct=1.49,
                                                                         max_case_median_px=0.29))
    assert over["failures"] == ["case a: median centre error 1.50% of the radius, allowed 1.49% of the radius",
                                "case a: median centre error 0.30 px, allowed 0.29 px"]


def test_absolute_limits_on_lost_keyframes_velocity_and_failed_cases():
    from liftflow.bench.report import failure_reason
    from liftflow.bench.scoring import failed_case

    lost = compare(_result({0: (100, 100)}, vy=[0.5, 1.0]), GT_ROWS[:2], {"case_id": "lost"},
                   velocity_ref=[{"frame": 0, "vy_m_s": 0.4}, {"frame": 1, "vy_m_s": 1.0}]) | {"status": "ok"}
    rows = [lost, failed_case({"case_id": "broken", "expected_reps": [1]}, "decode: not a video")]
    rep = build_report({"sweep_id": "s1"}, rows)
    assert rep["status"] == "failed"
    assert rep["failures"] == [
        "case lost: lost keyframes 50.00% (1 of the 2 keyframes with the plate in view), allowed 0.00%",
        "case lost: velocity error 0.071 m/s, allowed 0.050 m/s",
        "1 case(s) failed, allowed 0: broken (decode: not a video)"]
    assert [r["verdict"] for r in rep["rows"]] == ["FAILED", "FAILED"]
    assert rep["rows"][1]["limits_exceeded"] is None  # a failed case counts as a failed case only
    assert failure_reason(rep, most=1) == ("benchmark sweep s1 exceeds its absolute limits: case lost: lost "
                                           "keyframes 50.00% (1 of the 2 keyframes with the plate in view), "
                                           "allowed 0.00%; and 2 more (report.md)")
    off = Thresholds.from_dict({"max_case_lost_keyframes_pct": 50, "max_case_velocity_error_m_s": -1,
                                "max_failed_cases": 1.0, "max_case_rep_error": None})
    assert (off.max_case_velocity_error_m_s, off.max_failed_cases, off.max_case_rep_error) == (None, 1, 0)
    assert build_report({"sweep_id": "s1"}, rows, None, off)["status"] == "ok"
    with pytest.raises(ValueError, match="unknown threshold\\(s\\) max_reps; known: max_case_rep_error, "):
        Thresholds.from_dict({"max_reps": 1})
    with pytest.raises(ValueError, match="threshold max_failed_cases must be a number \\(got 'two'\\)"):
        Thresholds.from_dict({"max_failed_cases": "two"})


def test_op_config_lists_every_threshold_with_its_default():
    import re

    from liftflow.orchestration.sweep import THRESHOLD_FIELDS, ReportConfig

    defaults = Thresholds().to_dict()
    assert set(THRESHOLD_FIELDS) == set(defaults)
    for name in THRESHOLD_FIELDS:
        desc = ReportConfig.model_fields[name].description
        m = re.search(r"default (off|[-0-9.]+)", desc)
        assert m, (name, desc)
        assert (None if m.group(1) == "off" else float(m.group(1))) == defaults[name], (name, desc)


def test_plots_stay_legible_and_small_for_a_large_sweep(tmp_path):
    import struct

    from liftflow.bench.report import EMBED_MAX_BYTES, MAX_PLOT_CASES, make_plots

    rows = []
    for i in range(120):
        r = compare(_result({0: (100 + i / 40, 100), 5: (100, 100)}, rep_count=3 + (i == 7)), GT_ROWS[:2],
                    {"case_id": f"case-{i:03d}", "expected_reps": [3]})
        rows.append(r | {"status": "ok"})
    rep = build_report({"sweep_id": "big"}, rows)
    plots = make_plots(rep, tmp_path)
    assert set(plots) == {"centre error per case", "rep count per case", "centre error over keyframes"}
    for name, path in plots.items():
        data = Path(path).read_bytes()
        w, h = struct.unpack(">II", data[16:24])  # the PNG header's size
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < EMBED_MAX_BYTES, (name, len(data))
        assert w == 1000 and h <= 100 * (1.6 + 0.42 * MAX_PLOT_CASES) + 1, (name, w, h)


def _fake_job(d: Path, job_id: str, offset: float) -> Path:
    from liftflow.jobstore import JobFolder

    f = JobFolder(d / job_id, job_id)
    f.create()
    f.write_meta({"job_id": job_id, "status": "completed", "timestamps": {"duration_s": 1.5},
                  "runtime": {"worker_cpu_s": 1.0, "worker_peak_rss_mb": 200.0}})
    (f.path / "result.json").write_text(json.dumps(_result({0: (100 + offset, 100), 5: (100, 100)})))
    return f.path


def _sweeps_with_reports(tmp_path, monkeypatch, offsets=(("good", 0.0), ("bad", 6.0)), expected_reps=None):
    monkeypatch.setenv("LIFTFLOW_DATA_DIR", str(tmp_path / "data"))
    gt = _touch(tmp_path / "gt.csv", "frame,x,y,r\n0,100,100,20\n5,100,100,20\n")
    sweeps = tmp_path / "data" / "bench" / "sweeps"
    for sid, off in offsets:
        job = _fake_job(tmp_path / "jobs", f"{sid}0000-0000"[:8] + "-0000", off)
        _touch(sweeps / sid / "sweep.json", json.dumps({
            "sweep_id": sid, "dataset_root": "/d", "settings": {}, "thresholds": {},
            "cases": [{"case_id": "a", "asset": "a.mp4", "video_path": "/d/a.mp4", "gt_path": str(gt),
                       "tags": {"lift": "squat"}, "lift_type": "squat", "expected_reps": expected_reps,
                       "job_dir": str(job), "job_id": job.name}]}))
    return sweeps


def test_report_op_fails_with_a_readable_reason(tmp_path, monkeypatch):
    from dagster import Failure, build_op_context

    from liftflow.orchestration.sweep import ReportConfig, sweep_report_op

    sweeps = _sweeps_with_reports(tmp_path, monkeypatch)

    def run_op(**cfg):
        with build_op_context() as ctx:
            return sweep_report_op(ctx, ReportConfig(**cfg))

    run_op(sweep_id="good")
    good = json.loads((sweeps / "good" / "report.json").read_text())
    assert good["status"] == "ok" and good["rows"][0]["median_pct"] == 0.0 and good["rows"][0]["cpu_s"] == 1.0
    assert (sweeps / "good" / "report.md").is_file() and (sweeps / "good" / "centre_error_per_case.png").is_file()
    with pytest.raises(Failure) as e:
        run_op(sweep_id="bad")
    # case a: errors 30 % and 0 % of the radius: over the absolute limits, and worse than sweep good
    assert e.value.description.startswith("benchmark sweep bad exceeds its absolute limits: case a: median centre "
                                          "error 15.00% of the radius, allowed 3.00% of the radius; case a: p95 "
                                          "centre error 28.50% of the radius, allowed 10.00% of the radius. "
                                          "benchmark regression in sweep bad against good: ")
    assert "case a: median centre error rose from 0.00 to 15.00% of the radius" in e.value.description
    # thresholds that allow it (negative switches a check off) pass
    run_op(sweep_id="bad", max_case_median_pct_increase=-1, max_median_pct_increase=50, max_p95_pct_increase=50,
           max_case_median_pct=20, max_case_p95_pct=-1)
    with pytest.raises(Failure, match="no sweep 'nope'"):
        run_op(sweep_id="nope")


def test_report_materialization_has_the_table_and_the_plots(tmp_path, monkeypatch):
    import base64
    import re

    from dagster import AssetKey, DagsterInstance, TableMetadataValue

    from liftflow.bench.report import TABLE_COLS
    from liftflow.orchestration.sweep import sweep_report

    _sweeps_with_reports(tmp_path, monkeypatch, offsets=(("first", 0.0),), expected_reps=[3, 4])
    with DagsterInstance.ephemeral() as instance:  # a first sweep: 3 reps found, 3-4 expected
        res = sweep_report.execute_in_process(
            run_config={"ops": {"sweep_report_op": {"config": {"sweep_id": "first"}}}}, instance=instance)
        assert res.success
        md = instance.get_latest_materialization_event(AssetKey("benchmark_report")).asset_materialization.metadata
        table = md["case_results"]
        assert isinstance(table, TableMetadataValue)
        assert [c.name for c in table.schema.columns] == list(TABLE_COLS)
        types = {c.name: c.type for c in table.schema.columns}
        assert types["median_px"] == "float" and types["rep_count"] == "int" and types["verdict"] == "string"
        assert len(table.records) == 1
        row = table.records[0].data
        assert (row["case_id"], row["lift_type"], row["status"], row["verdict"]) == ("a", "squat", "ok", "ok")
        assert (row["median_px"], row["rep_count"], row["expected_reps"], row["rep_error"]) == (0.0, 3, "3-4", 0)
        assert row["lost_keyframes"] == 0 and row["velocity_error_m_s"] is None
        limits = {r.data["limit"]: r.data for r in md["absolute_limits"].records}
        assert limits["max_case_rep_error"]["verdict"] == "ok" and limits["max_case_median_pct"]["allowed"] == 3.0
        assert md["against_baseline"].records == [] and md["status"].value == "ok"
        images = re.findall(r"!\[([^]]+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md["report"].value)
        assert [n for n, _ in images] == ["centre error per case", "rep count per case",
                                          "centre error over keyframes"]
        assert all(base64.b64decode(data)[:4] == b"\x89PNG" for _, data in images)

        # the same sweep had it found 5 reps: the step fails, the report (and its table) is still recorded
        _touch(tmp_path / "jobs" / "first000-0000" / "result.json", json.dumps(
            _result({0: (100, 100), 5: (100, 100)}, rep_count=5)))
        res = sweep_report.execute_in_process(
            run_config={"ops": {"sweep_report_op": {"config": {"sweep_id": "first"}}}}, instance=instance,
            raise_on_error=False)
        assert not res.success
        failure = res.get_step_failure_events()[0].step_failure_data.user_failure_data
        assert failure.description == ("benchmark sweep first exceeds its absolute limits: case a: rep-count error 1 "
                                       "(5 reps found, 3-4 expected), allowed 0")
        md = instance.get_latest_materialization_event(AssetKey("benchmark_report")).asset_materialization.metadata
        assert md["status"].value == "failed" and md["case_results"].records[0].data["verdict"] == "FAILED"
        assert md["report"].value.startswith("# Benchmark sweep first: FAILED")


# ------------------------------------------------------------------ schedule and sensor

def test_schedule_requests_a_tagged_sweep(monkeypatch):
    from dagster import DefaultScheduleStatus, build_schedule_context

    from liftflow.orchestration import sweep

    assert sweep.benchmark_sweep_schedule.default_status == DefaultScheduleStatus.STOPPED
    t = datetime(2026, 1, 2, 3, 0, tzinfo=timezone.utc)
    monkeypatch.setenv("LIFTFLOW_SWEEP_DATASET", "/data/bench")
    with build_schedule_context(scheduled_execution_time=t) as ctx:
        req = sweep.benchmark_sweep_schedule.evaluate_tick(ctx).run_requests[0]
    assert req.run_key == "sweep-20260102-0300-scheduled"
    assert req.tags["sweep_id"] == "sweep-20260102-0300-scheduled"
    assert req.tags["liftflow/sweep"] == "1" and req.tags["liftflow/scheduled"] == "1"
    assert req.run_config == {"ops": {"submit_sweep_cases": {"config": {"dataset_root": "/data/bench"}}}}
    monkeypatch.setenv("LIFTFLOW_SWEEP_CRON", "30 2 * * 1")
    assert sweep._sweep_cron() == "30 2 * * 1"
    monkeypatch.setenv("LIFTFLOW_SWEEP_CRON", "every night")
    assert sweep._sweep_cron() == "0 3 * * *"


def _fake_runs(instance, name, tags_list):
    from dagster import job, op

    @op
    def noop():
        return None

    @job(name=name)
    def fake():
        noop()

    for tags in tags_list:
        assert fake.execute_in_process(instance=instance, tags=tags).success


def test_sensor_requests_the_report_exactly_once(tmp_path, monkeypatch):
    from dagster import build_sensor_context, instance_for_test

    from liftflow.orchestration.sweep import sweep_report_sensor

    monkeypatch.setenv("LIFTFLOW_DATA_DIR", str(tmp_path / "data"))
    with instance_for_test() as instance:
        _fake_runs(instance, "benchmark_sweep", [
            {"sweep_id": "s1", "liftflow/sweep": "1", "liftflow/sweep_cases": "2"},
            {"sweep_id": "s2", "liftflow/sweep": "1", "liftflow/sweep_cases": "3"},  # one case not run yet
        ])
        _fake_runs(instance, "lift_analysis", [
            {"sweep_id": "s1", "job_id": "aaaaaaaa-0001", "case_id": "a"},
            {"sweep_id": "s1", "job_id": "aaaaaaaa-0002", "case_id": "b"},
            {"sweep_id": "s2", "job_id": "bbbbbbbb-0001", "case_id": "a"},
        ])
        ctx = build_sensor_context(instance=instance)
        res = sweep_report_sensor.evaluate_tick(ctx)
        assert [r.run_key for r in res.run_requests] == ["s1"]
        req = res.run_requests[0]
        assert req.run_config == {"ops": {"sweep_report_op": {"config": {"sweep_id": "s1"}}}}
        assert req.tags["sweep_id"] == "s1"
        ctx2 = build_sensor_context(instance=instance, cursor=res.cursor)
        res2 = sweep_report_sensor.evaluate_tick(ctx2)
        assert res2.run_requests == [] and "s2" in res2.skip_message
        # without the cursor, an existing report run also prevents a second request
        _fake_runs(instance, "sweep_report", [{"sweep_id": "s1"}])
        res3 = sweep_report_sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert res3.run_requests == []


# ------------------------------------------------------------------ REST helpers

def test_batch_payload_validation_and_partial_failure(tmp_path):
    from liftflow.errors import BatchError
    from liftflow.orchestration.cases import batch_cases, compare_with_case, submit_batch

    root = _dataset(tmp_path, ["a,a.mp4,0,10,10,5,a.gt.csv"])
    assert [c.case_id for c in batch_cases({"all_cases": True}, root)] == ["a"]
    with pytest.raises(DatasetError, match="case id\\(s\\) not in the manifest: zz"):
        batch_cases({"case_ids": ["a", "zz"]}, root)
    with pytest.raises(DatasetError, match="give exactly one of"):
        batch_cases({"case_ids": ["a"], "cases": [{}]}, root)
    with pytest.raises(DatasetError) as e:
        batch_cases({"cases": [{"case_id": "x", "asset_id": "a", "disc_radius": 4},
                               {"case_id": "y", "asset_path": "../../etc/passwd"}]}, root)
    assert "cases[0]: case x: seed: disc_center_x, disc_center_y and disc_radius must be given together" in str(e.value)
    assert "cases[1]: case y: asset '../../etc/passwd' resolves outside the dataset root" in str(e.value)
    cases = batch_cases({"cases": [{"case_id": "x", "asset_id": "a"}, {"case_id": "y", "asset_path": "a.mp4"}]}, root)
    assert [c.video_path for c in cases] == [str((root / "a.mp4").resolve())] * 2

    def submit_one(c):
        if c.case_id == "y":
            raise RuntimeError("webserver down")
        return {"case_id": c.case_id, "job_id": "j1"}

    with pytest.raises(BatchError, match="case y: could not be queued: webserver down") as e:
        submit_batch(cases, submit_one)
    assert e.value.submitted == [{"case_id": "x", "job_id": "j1"}]
    s = compare_with_case(_result({0: (13, 14), 5: (12, 10)}), root, "a")
    assert s["median_px"] == 2.5 and s["lost_keyframes"] == 0 and s["false_positions"] == 0


def test_cli_score_and_bad_dataset(tmp_path, capsys):
    from liftflow.bench.cli import bench_cli

    root = _dataset(tmp_path, ["a,a.mp4,0,10,10,5,a.gt.csv"])
    res = _touch(tmp_path / "job" / "result.json", json.dumps(_result({0: (13, 14), 5: (12, 10)})))
    assert bench_cli(["score", str(res.parent), "--dataset", str(root), "--case", "a", "--expected-reps", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["median_px"] == 2.5 and out["rep_error"] == 0 and out["case_id"] == "a"
    assert bench_cli(["score", str(res), "--gt", str(tmp_path / "nope.csv")]) == 2
    assert "ground-truth file not found" in capsys.readouterr().err
    assert bench_cli(["sweep", "--dataset", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_physics_bench_coverage_of_the_plus_minus():
    """``liftflow bench physics``: the share of reps whose truth lies inside the ±, per figure."""
    from liftflow.bench.physics import UNC_FIGURES, coverage

    rows = [{"inside_plus_minus": {k: [True, True, False] for k in UNC_FIGURES},
             "plus_minus": {k: [0.01, 0.02, 0.03] for k in UNC_FIGURES}},
            {"inside_plus_minus": {k: [True] for k in UNC_FIGURES},
             "plus_minus": {k: [0.04] for k in UNC_FIGURES}}]
    cov = coverage(rows)
    for k in UNC_FIGURES:
        assert cov[k] == {"coverage": 0.75, "reps": 4, "median_half_width": 0.025}
    assert coverage([])["range_of_motion_m"] == {"coverage": None, "reps": 0, "median_half_width": None}
