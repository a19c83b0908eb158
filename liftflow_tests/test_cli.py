"""`liftflow analyze` runs the five steps in process (no Dagster) and writes the job files."""

import json
import subprocess
import sys

from liftflow.devstack import ROOT


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "liftflow.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_analyze_writes_the_job_files(tmp_path, synth_clip):
    path, truth = synth_clip
    out = tmp_path / "out"
    r = _run("analyze", str(path), "--disc-center-x", f"{truth.x[0]:.1f}", "--disc-center-y",
             f"{truth.y[0]:.1f}", "--disc-radius", f"{truth.r[0]:.1f}", "--lift-type", "squat",
             "--out", str(out))
    assert r.returncode == 0, r.stderr
    for name in ("result.json", "job_meta.json", "pipeline.log", "pipeline_config.yaml",
                 "metrics_calculator_output.json"):
        assert (out / name).is_file(), name
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "completed" and result["summary"]["total_frames"] == len(truth.frames)
    assert result["summary"]["rep_count"] == 2
    meta = json.loads((out / "job_meta.json").read_text())
    assert meta["status"] == "completed" and meta["source"]["type"] == "cli"


def test_analyze_bad_input_exits_nonzero_with_one_line_reason(tmp_path):
    r = _run("analyze", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "video not found" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    r = _run("analyze", str(junk), "--disc-center-x", "1", "--disc-center-y", "1", "--disc-radius", "5",
             "--out", str(tmp_path / "o2"))
    assert r.returncode == 1 and "not a readable video" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = _run("analyze", str(junk), "--disc-center-x", "1", "--out", str(tmp_path / "o3"))
    assert r.returncode == 2 and "together" in r.stderr
    for load in ("nan", "0", "-3", "1e4"):
        r = _run("analyze", str(junk), "--load-kg", load, "--out", str(tmp_path / "o4"))
        assert r.returncode == 2 and "load_kg must be a finite number" in r.stderr, r.stderr
        assert not (tmp_path / "o4").exists()


def test_analyze_runs_without_dagster_and_fails_like_the_job(tmp_path, synth_clip):
    """analyze runs the steps in process (liftflow.pipeline.run): dagster is never imported; a step
    that fails leaves the job folder as the Dagster failure hook does (status, error, no spool)
    and no plots process running.
    The tracker here fails after reading frames (so the overlay spool exists when it fails)."""
    path, truth = synth_clip
    code = (
        "import sys\n"
        "from liftflow.errors import TrackingError\n"
        "from liftflow.tracking.classic import ClassicTracker\n"
        "def failing(self, video_path, info, seed, progress=None, frame_source=None):\n"
        "    for i, _ in enumerate(frame_source(start=0)):\n"
        "        if i == 5:\n"
        "            raise TrackingError('the plate left the picture (test)')\n"
        "ClassicTracker.track = failing\n"
        "from liftflow.cli import main\n"
        f"rc = main(['analyze', {str(path)!r}, '--disc-center-x', '{truth.x[0]:.1f}', "
        f"'--disc-center-y', '{truth.y[0]:.1f}', '--disc-radius', '{truth.r[0]:.1f}', "
        f"'--out', {str(tmp_path / 'o')!r}, '--quiet'])\n"
        "assert not any(m == 'dagster' or m.startswith('dagster.') for m in sys.modules), 'dagster imported'\n"
        "import psutil\n"  # the plots process analyze started ahead is gone with the job
        "assert not psutil.Process().children(), 'a child process left running'\n"
        "sys.exit(rc)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("liftflow analyze: failed at track_disc: the plate left the picture (test)")
    assert len(r.stderr.strip().splitlines()) == 1
    meta = json.loads((tmp_path / "o" / "job_meta.json").read_text())
    assert meta["status"] == "failed" and meta["error"]["step"] == "track_disc"
    assert meta["error"]["reason"] == "the plate left the picture (test)"
    assert meta["error"]["run_id"] in meta["runs"] and set(meta["steps"]) == {"decode"}
    assert not any(p.name.startswith(".overlay-frames") for p in (tmp_path / "o").iterdir())
    assert "job failed" in (tmp_path / "o" / "pipeline.log").read_text()


def test_analyze_refuses_an_unavailable_backend_before_it_starts(tmp_path, synth_clip):
    """Like the API at submit: the reason (here with the weights path: the operator's own
    machine) and exit code 2, before any job folder exists."""
    import os

    path, truth = synth_clip
    env = {**os.environ, "LIFTFLOW_MODELS_DIR": str(tmp_path / "no-models")}
    seed = ["--disc-center-x", f"{truth.x[0]:.1f}", "--disc-center-y", f"{truth.y[0]:.1f}",
            "--disc-radius", f"{truth.r[0]:.1f}"]
    for extra, says in ((["--backend", "cutie"], "backend 'cutie' is unavailable: weights file not found: "
                         + str(tmp_path / "no-models" / "cutie-base-mega.pth")),
                        (["--pose", "yolo"], "pose backend 'yolo' is unavailable"),
                        (["--backend", "nope"], "unknown backend 'nope'")):
        r = subprocess.run([sys.executable, "-m", "liftflow.cli", "analyze", str(path), *seed, *extra,
                            "--out", str(tmp_path / "o"), "--quiet"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 2, r.stderr
        assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not (tmp_path / "o").exists()


def test_ctrl_c_marks_the_job_interrupted_and_drops_the_frame_spool(tmp_path, long_clip):
    import signal
    import time

    from liftflow.jobstore import FRAME_SPOOL

    path, truth = long_clip
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "liftflow.cli", "analyze", str(path),
                          "--disc-center-x", f"{truth.x[0]:.1f}", "--disc-center-y", f"{truth.y[0]:.1f}",
                          "--disc-radius", f"{truth.r[0]:.1f}", "--out", str(out)],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         # as from a terminal: a suite started in the background (`cmd &` in a
                         # script) inherits SIGINT ignored, and Python then keeps it ignored
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (out / FRAME_SPOOL).exists():  # tracking has started and keeps overlay frames
        assert p.poll() is None and time.monotonic() < deadline, "analyze ended before tracking"
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted during" in err
    meta = json.loads((out / "job_meta.json").read_text())
    assert meta["status"] == "failed" and meta["error"]["reason"] == "interrupted (Ctrl-C)"
    assert not (out / FRAME_SPOOL).exists()
