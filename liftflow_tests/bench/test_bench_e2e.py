"""A benchmark sweep on the real stack: launched through GraphQL, one analysis run per case,
the report built by the sensor-requested run, equal to ``liftflow bench sweep`` in process,
recorded with its per-case table and embedded plots; a degraded setting fails the report step
with a readable reason (an absolute limit and the comparison with the previous sweep)."""

import json
import time

import pytest

from liftflow.devstack import StackProcess

pytestmark = pytest.mark.e2e

COMPARED = ("median_px", "p95_px", "max_px", "median_pct", "p95_pct", "max_pct", "lost_keyframes",
            "frames_lost", "rep_count", "rep_error", "velocity_error_m_s")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from liftflow.bench.dataset import velocity_ref_from_truth, write_manifest
    from liftflow.synth import SynthSpec, generate_clip

    root = tmp_path_factory.mktemp("bench-ds")
    cases = []
    for cid, spec in (("squat-1", SynthSpec(profile="squat", reps=1, width=320, height=240,
                                            plate_radius_px=36, seed=3)),
                      ("deadlift-1", SynthSpec(profile="deadlift", reps=1, width=320, height=240,
                                               plate_radius_px=30, seed=4))):
        gt = generate_clip(root / f"{cid}.mp4", spec)
        velocity_ref_from_truth(gt, root / f"{cid}.vel.csv")
        i = next(i for i, v in enumerate(gt.visibility) if v == "visible")
        cases.append({"case_id": cid, "asset": f"{cid}.mp4", "seed_frame": gt.frames[i],
                      "disc_center_x": round(gt.x[i], 2), "disc_center_y": round(gt.y[i], 2),
                      "disc_radius": round(gt.r[i], 2), "lift_type": spec.profile, "expected_reps": len(gt.reps),
                      "tags": {"lift": spec.profile}, "gt": f"{cid}.gt.csv", "velocity_ref": f"{cid}.vel.csv"})
    write_manifest(root, cases)
    return root


def _launch(stack, run_config, tags):
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=stack.ui_port, timeout=60)
    return client.submit_job_execution("benchmark_sweep", repository_location_name="liftflow",
                                       repository_name="__repository__", run_config=run_config, tags=tags)


def _wait_report(stack, sweep_id, timeout=240):
    from dagster import DagsterRunStatus, RunsFilter

    inst = stack.instance()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = inst.get_runs(RunsFilter(job_name="sweep_report", tags={"sweep_id": sweep_id}))
        if runs and runs[0].is_finished:
            return inst, runs[0]
        sweeps = inst.get_runs(RunsFilter(job_name="benchmark_sweep", tags={"sweep_id": sweep_id}))
        assert not sweeps or sweeps[0].status != DagsterRunStatus.FAILURE, stack.tail()
        time.sleep(1.0)
    raise AssertionError(f"no finished sweep_report run for {sweep_id} after {timeout} s\n{stack.tail()}")


def test_sweep_through_the_stack_matches_the_in_process_sweep(dataset, tmp_path):
    from dagster import AssetKey, DagsterEventType, DagsterRunStatus, RunsFilter

    from liftflow.orchestration.cases import bench_cli

    # The same sweep in process first (liftflow bench sweep).
    out = tmp_path / "inproc"
    assert bench_cli(["sweep", "--dataset", str(dataset), "--out", str(out), "--no-plots"]) == 0
    local = {r["case_id"]: r for r in json.loads((out / "report.json").read_text())["rows"]}
    assert set(local) == {"squat-1", "deadlift-1"}
    assert all(r["status"] == "ok" and r["median_pct"] < 5 for r in local.values()), local

    stack = StackProcess(tmp_path / "data", DATASETS_ROOT=str(dataset),
                         LIFTFLOW_SWEEP_SENSOR_INTERVAL_S="5").start()
    try:
        _launch(stack, {}, {"sweep_id": "e2e-good"})
        inst, rep_run = _wait_report(stack, "e2e-good")
        assert rep_run.status == DagsterRunStatus.SUCCESS, stack.tail()
        analysis = inst.get_runs(RunsFilter(job_name="lift_analysis", tags={"sweep_id": "e2e-good"}))
        assert len(analysis) == 2 and all(r.tags.get("liftflow/sweep") == "1" for r in analysis)
        assert {r.tags["case_id"] for r in analysis} == {"squat-1", "deadlift-1"}
        sweep_dir = tmp_path / "data" / "bench" / "sweeps" / "e2e-good"
        report = json.loads((sweep_dir / "report.json").read_text())
        assert report["status"] == "ok" and report["regressions"] == []
        for name in ("report.csv", "report.md", "centre_error_per_case.png", "centre_error_over_frames.png"):
            assert (sweep_dir / name).is_file(), name
        for row in report["rows"]:
            mine = local[row["case_id"]]
            assert {k: row[k] for k in COMPARED} == {k: mine[k] for k in COMPARED}, row["case_id"]
            meta = json.loads((tmp_path / "data" / "api" / "results" / row["job_id"] / "job_meta.json").read_text())
            assert meta["benchmark"]["client_run_id"] == "e2e-good" and meta["status"] == "completed"
        mat = inst.get_latest_materialization_event(AssetKey("benchmark_report"))
        md = mat.asset_materialization.metadata
        assert md["sweep_id"].value == "e2e-good" and "| squat-1 |" in md["report"].value
        assert {r.data["case_id"]: r.data["verdict"] for r in md["case_results"].records} == {
            "squat-1": "ok", "deadlift-1": "ok"}
        assert md["report"].value.count("](data:image/png;base64,") == 3

        # The external runner of section H (run_one per case, poll, results, score locally).
        csv_out = tmp_path / "http.json"
        assert bench_cli(["run", "--server", stack.url, "--dataset", str(dataset), "--case", "deadlift-1",
                          "--out", str(csv_out)]) == 0
        http_row = json.loads(csv_out.read_text())["rows"][0]
        assert {k: http_row[k] for k in COMPARED} == {k: local["deadlift-1"][k] for k in COMPARED}

        # A deliberately degraded setting (a wrong plate size scales every velocity) exceeds the absolute
        # velocity limit and is a regression against the previous sweep.
        _launch(stack, {"ops": {"submit_sweep_cases": {"config": {
            "plate_diameter_m": 0.3, "case_ids": ["deadlift-1"]}}}},
                {"sweep_id": "e2e-degraded"})
        inst, bad_run = _wait_report(stack, "e2e-degraded")
        assert bad_run.status == DagsterRunStatus.FAILURE
        fails = inst.get_records_for_run(bad_run.run_id, of_type=DagsterEventType.STEP_FAILURE).records
        desc = fails[0].event_log_entry.dagster_event.step_failure_data.user_failure_data.description
        assert desc.startswith("benchmark sweep e2e-degraded exceeds its absolute limits: case deadlift-1: "
                               "velocity error "), desc
        assert "benchmark regression in sweep e2e-degraded against e2e-good: " in desc, desc
        assert "mean velocity error rose from" in desc
        bad = json.loads((tmp_path / "data" / "bench" / "sweeps" / "e2e-degraded" / "report.json").read_text())
        assert bad["status"] == "failed" and bad["comparison"]["baseline"] == "e2e-good"
    finally:
        assert stack.stop() == 0, stack.tail()
