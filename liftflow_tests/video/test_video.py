"""PyAV probing/decoding on the real clips: counts, rotation, variable frame rate timestamps."""

import numpy as np
import pytest

from liftflow.video import VideoError, iter_frames, probe


def test_probe_matches_manifest_on_every_real_clip(real_data, manifest):
    for cid, row in manifest.items():
        info = probe(real_data / row["file"])
        assert (info.width, info.height) == (int(row["width"]), int(row["height"])), cid
        assert info.frame_count == int(row["frames"]), cid
        assert abs(info.fps - float(row["fps"])) < 0.05, cid
        assert info.timestamps_s[0] == 0.0 and np.all(np.diff(info.timestamps_s) > 0), cid


def test_rotation_and_variable_frame_rate_clip(real_data):
    info = probe(real_data / "clean-and-jerk.mp4")
    assert info.rotation in (90, 270) and (info.width, info.height) == (352, 640)
    assert info.variable_frame_rate
    frames = list(iter_frames(real_data / "clean-and-jerk.mp4", stop=5))
    assert frames[0].image.shape == (640, 352, 3)
    assert [f.t_s for f in frames] == pytest.approx(info.timestamps_s[:5], abs=1e-6)


def test_streaming_window_and_downscale(real_data):
    frames = list(iter_frames(real_data / "small-squat.mp4", start=10, stop=13, max_side=480))
    assert [f.index for f in frames] == [10, 11, 12]
    assert max(frames[0].image.shape[:2]) == 480 and frames[0].scale == pytest.approx(0.25)


def test_bad_files_raise_readable_errors(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        probe(empty)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"definitely not a video" * 50)
    with pytest.raises(VideoError, match="not a readable video"):
        probe(junk)
    with pytest.raises(VideoError, match="not found"):
        probe(tmp_path / "missing.mp4")


def test_truncated_file_is_reported_not_crashing(tmp_path, real_data):
    data = (real_data / "dave-clean.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    # A file cut short either fails with a readable error or yields fewer frames: never hangs or crashes.
    try:
        info = probe(cut)
    except VideoError as exc:
        assert str(exc)
    else:
        assert info.frame_count <= 62


def test_i420_image_regions_are_the_whole_conversion_cut(tmp_path):
    """I420Image converts only the region read; its pixels are exactly the whole frame's
    conversion there (odd bounds, empty and clipped regions included)."""
    import cv2
    import numpy as np

    from liftflow.video.decode import I420Image

    rng = np.random.default_rng(1)
    W, H = 84, 50
    buf = rng.integers(0, 256, (H * 3 // 2, W), dtype=np.uint8)
    full = cv2.cvtColor(buf, cv2.COLOR_YUV2BGR_I420)
    img = I420Image(buf, W, H)
    assert img.shape == full.shape and img.dtype == full.dtype
    assert np.array_equal(np.asarray(img), full)
    for _ in range(300):
        y0, y1 = sorted(rng.integers(-5, H + 6, 2).tolist())
        x0, x1 = sorted(rng.integers(-5, W + 6, 2).tolist())
        y0, x0 = max(0, y0), max(0, x0)
        assert np.array_equal(img[y0:y1, x0:x1], full[y0:y1, x0:x1]), (y0, y1, x0, x1)
    assert np.array_equal(img[3], full[3])  # anything else: through the whole conversion


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_lazy_frames_are_the_bgr_frames(tmp_path, rotation):
    """iter_frames(lazy_bgr=True) gives I420Images with the very pixels of the BGR frames,
    rotation included; the classic tracker tracks them to the same observations."""
    from functools import partial

    import numpy as np

    from liftflow.synth import SynthSpec, generate_clip
    from liftflow.tracking.base import SeedCircle
    from liftflow.tracking.classic import ClassicTracker
    from liftflow.video.decode import I420Image

    clip = tmp_path / f"rot{rotation}.mp4"
    gt = generate_clip(clip, SynthSpec(profile="squat", reps=1, width=240, height=320,
                                       plate_radius_px=30, fps=30, rotation=rotation, seed=4,
                                       duration_s=1.5))
    bgr = list(iter_frames(clip, scale=0.5))
    lazy = list(iter_frames(clip, scale=0.5, lazy_bgr=True))
    assert len(lazy) == len(bgr) and all(isinstance(f.image, I420Image) for f in lazy)
    for a, b in zip(lazy, bgr):
        assert a.image.shape == b.image.shape and np.array_equal(np.asarray(a.image), b.image)
    info = probe(clip)
    seed = SeedCircle(float(gt.x[0]), float(gt.y[0]), float(gt.r[0]), 0)

    def track(lazy_bgr):
        obs = ClassicTracker(work_radius=15).track(
            str(clip), info, seed, frame_source=partial(iter_frames, clip, lazy_bgr=lazy_bgr))
        return [(o.state, o.center, o.radius, o.ellipse) for o in obs]

    got = track(True)
    assert sum(s == "tracked" for s, *_ in got) > 0.9 * len(got)
    assert got == track(False)


def test_decode_thread_gives_the_very_frames_and_stops_when_closed(real_data):
    """iter_frames(decode_thread=True): the decoder in a thread of its own, one FFmpeg
    thread on two cores: the same pictures and times, windows included; a walk stopped
    early stops the decoder thread before the container closes (no thread left behind)."""
    import threading

    clip = real_data / "small-squat.mp4"
    kw = dict(start=5, stop=60, scale=0.5, skip_loop_filter=True, lazy_bgr=True)
    plain = list(iter_frames(clip, **kw))
    ahead = list(iter_frames(clip, decode_thread=True, **kw))
    assert [f.index for f in ahead] == [f.index for f in plain] == list(range(5, 60))
    assert [f.t_s for f in ahead] == [f.t_s for f in plain]
    assert all(np.array_equal(a.image.i420, b.image.i420) for a, b in zip(ahead, plain))
    before = threading.active_count()
    it = iter_frames(clip, decode_thread=True)
    next(it)
    assert threading.active_count() == before + 1  # the decoder, ahead
    it.close()
    assert threading.active_count() == before


def test_decode_threads_leave_two_cores_to_the_shrinking_and_the_tracker():
    from liftflow.video.decode import decode_threads

    assert [decode_threads(n) for n in (1, 2, 3, 4, 16)] == [1, 1, 1, 2, 14]
