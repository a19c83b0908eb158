"""One decode for tracking and the overlay (liftflow.render.spool, video.decode.PlaneScaler).

Tracking's decode hands every picture to ``FrameSpool.tap``; the overlay pass reads those
small frames back instead of decoding the video again. These tests check that the spooled
frames are the frames a second decode would give (rotation included), that an incomplete
or mismatched spool is refused (the overlay then decodes), and that the analysis uses and
removes it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from liftflow.render.spool import FrameSpool
from liftflow.video import iter_frames, probe


def _spool(path: Path, clip: Path, max_side, **iter_kw) -> Path:
    info = probe(clip)
    sp = FrameSpool(path, info.frame_count, max_side)
    for _ in iter_frames(clip, tap=sp.tap, **iter_kw):
        pass
    sp.close()
    return path


def _rot_clip(tmp_path, rotation: int) -> Path:
    from liftflow.synth import SynthSpec, generate_clip

    clip = tmp_path / f"rot{rotation}.mp4"
    generate_clip(clip, SynthSpec(profile="squat", reps=1, width=240, height=320,
                                  plate_radius_px=30, fps=30, rotation=rotation, seed=4,
                                  duration_s=1.5))
    return clip


@pytest.mark.parametrize("rotation", [0, 90])
def test_spooled_frames_are_the_decoded_frames(tmp_path, rotation):
    clip = _rot_clip(tmp_path, rotation)
    info = probe(clip)
    max_side = 200
    # the tracker decodes at its own scale; the spool taps the same pictures
    sp = _spool(tmp_path / "s.i420", clip, max_side, scale=0.5)
    reader = FrameSpool.load(sp, max_side)
    assert reader is not None and len(reader) == info.frame_count
    direct = list(iter_frames(clip, max_side=max_side))
    assert (reader.width, reader.height) == (direct[0].image.shape[1], direct[0].image.shape[0])
    assert reader.height > reader.width  # upright portrait, whatever the stored rotation
    for (i, t, i420), fr in zip(reader.frames(), direct):
        assert i == fr.index and t == pytest.approx(fr.t_s, abs=1e-6)
        img = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
        assert np.abs(img.astype(int) - fr.image.astype(int)).mean() < 1.0


def test_incomplete_or_mismatched_spool_is_refused(tmp_path, synth_clip):
    clip, _ = synth_clip
    n = probe(clip).frame_count
    sp = _spool(tmp_path / "part.i420", clip, 1080, stop=n - 3)
    assert FrameSpool.load(sp, 1080) is None  # frames missing: the overlay decodes instead
    full = _spool(tmp_path / "full.i420", clip, 1080)
    assert FrameSpool.load(full, 1080) is not None
    assert FrameSpool.load(full, 720) is None  # made for another output size
    with open(full, "r+b") as f:
        f.truncate(full.stat().st_size - 10)
    assert FrameSpool.load(full, 1080) is None
    FrameSpool.remove(full)
    assert not full.exists() and not full.with_name(full.name + ".json").exists()


def test_analysis_renders_from_tracking_decode_and_removes_spool(tmp_path, synth_clip):
    from liftflow.jobstore import FRAME_SPOOL
    from liftflow.pipeline import AnalysisRequest, StepRun, steps

    clip, truth = synth_clip
    k = 5  # a later seed frame: frames before it come from the backward pass, out of order
    req = AnalysisRequest(video_path=str(clip), disc_center_x=truth.x[k], disc_center_y=truth.y[k],
                          disc_radius=truth.r[k], seed_frame=k, lift_type="squat")
    job = tmp_path / "job"
    run = StepRun.in_folder(job, req, job_id="j")
    info, _ = steps.decode(run)
    track, _ = steps.track_disc(run, info)
    assert (job / FRAME_SPOOL).is_file()
    pose, _ = steps.estimate_pose(run, info, track)
    result = steps.build_contract("j", info, track, pose, steps.compute_metrics(run, info, track, pose)[0])
    art = steps.render(req, result, job)
    assert art["overlay_source"] == "tracking's decode"
    assert not (job / FRAME_SPOOL).exists() and not (job / (FRAME_SPOOL + ".json")).exists()
    # the same overlay as one rendered from a second decode
    again = steps.render(req, result, tmp_path / "job2")
    assert again["overlay_source"] == "second decode"
    a = list(iter_frames(job / art["overlay"]))
    b = list(iter_frames(tmp_path / "job2" / again["overlay"]))
    assert len(a) == len(b) == info.frame_count
    for fa, fb in zip(a[::7], b[::7]):
        assert np.abs(fa.image.astype(int) - fb.image.astype(int)).mean() < 2.0


def test_no_spool_without_rendering_and_failed_job_drops_it(tmp_path, synth_clip):
    from liftflow.jobstore import FRAME_SPOOL, JobFolder
    from liftflow.pipeline import AnalysisRequest, StepRun, steps

    clip, truth = synth_clip
    req = AnalysisRequest(video_path=str(clip), disc_center_x=truth.x[0], disc_center_y=truth.y[0],
                          disc_radius=truth.r[0], render=False)
    run = StepRun.in_folder(tmp_path, req)
    info, _ = steps.decode(run)
    steps.track_disc(run, info)
    assert not (tmp_path / FRAME_SPOOL).exists()
    req.render = True
    steps.track_disc(run, info)
    assert (tmp_path / FRAME_SPOOL).exists()
    JobFolder(tmp_path, "x").drop_scratch()
    assert not (tmp_path / FRAME_SPOOL).exists()


def test_deblocking_is_skipped_only_where_the_overlay_shrinks_2x():
    from dataclasses import replace

    from liftflow.pipeline.steps import skip_deblocking
    from liftflow.config import get_settings

    st = get_settings()
    assert skip_deblocking(replace(st, fast_decode=True), 1080, 1920)  # phone portrait
    assert skip_deblocking(replace(st, fast_decode=True), 3840, 2160)
    assert not skip_deblocking(replace(st, fast_decode=True), 1280, 720)  # overlay ~ full size
    assert not skip_deblocking(replace(st, fast_decode=True), 320, 240)
    assert not skip_deblocking(replace(st, fast_decode=False), 1080, 1920)


def test_spool_refused_when_the_disk_is_short(tmp_path, monkeypatch, synth_clip):
    import shutil

    from liftflow.jobstore import FRAME_SPOOL
    from liftflow.pipeline import AnalysisRequest, StepRun, steps
    from liftflow.render import spool as spool_mod

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=1000))
    clip, truth = synth_clip
    req = AnalysisRequest(video_path=str(clip), disc_center_x=truth.x[0], disc_center_y=truth.y[0],
                          disc_radius=truth.r[0])
    run = StepRun.in_folder(tmp_path, req)
    track, _ = steps.track_disc(run, steps.decode(run)[0])
    assert "the overlay decodes the video again" in track.overlay_spool_refused
    assert not (tmp_path / FRAME_SPOOL).exists()
    assert spool_mod.spool_bytes(1080, 1920, 1800, 720) == 1800 * 404 * 720 * 3 // 2


def test_plots_are_drawn_in_process_when_the_plots_process_fails(tmp_path, monkeypatch, synth_clip):
    from liftflow.pipeline import AnalysisRequest, StepRun, steps
    from liftflow.render import plots_worker

    clip, truth = synth_clip
    req = AnalysisRequest(video_path=str(clip), disc_center_x=truth.x[0],
                          disc_center_y=truth.y[0], disc_radius=truth.r[0], render=False)
    run = StepRun.in_folder(tmp_path / "job", req, job_id="j")
    info, _ = steps.decode(run)
    track, _ = steps.track_disc(run, info)
    pose, _ = steps.estimate_pose(run, info, track)
    result = steps.build_contract("j", info, track, pose, steps.compute_metrics(run, info, track, pose)[0])

    req.render = True
    monkeypatch.setattr(plots_worker.PlotsProcess, "ARGV", ("-c", "import sys; sys.exit(3)"))
    art = steps.render(req, result, tmp_path)
    assert set(art["plots"]) == {"bar_path", "height", "velocity", "power"}
    assert all((tmp_path / v).is_file() for v in art["plots"].values())
