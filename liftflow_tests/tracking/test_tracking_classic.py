"""The classic plate tracker and plate auto-detection against real and synthetic clips.

Real clips are read in place from ``$LIFTFLOW_REAL_DATA`` (default: ``../shared/data/real``
beside the repository); they are never copied into the project. A missing folder is a
failure, not a skip. This file covers a subset chosen for the hard cases (heavy blur,
stacked plates, bar dropped and bouncing, rotation metadata + variable frame rate + plate
leaving the frame) and runs in well under 3 minutes on 2 busy cores; the benchmark
(``python -m liftflow.bench.tracking``) covers every clip.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from liftflow.bench.tracking import (
    MEDIAN_PCT_MAX,
    P95_PCT_MAX,
    keyframes_from_synth,
    load_gt,
    real_cases,
    score_track,
)
from liftflow.tracking import LOST, TRACKED, SeedCircle, TrackingError, create_tracker
from liftflow.tracking.registry import backend_status
from liftflow.video import probe
from liftflow.config import get_settings

REAL_DIR = get_settings().real_data_dir
REAL_SUBSET = ["dave-clean", "randy-clean", "competition-snatch", "clean-and-jerk"]


def _real_dir() -> Path:
    if not (REAL_DIR / "manifest.csv").is_file():
        pytest.fail(
            f"real test clips not found: {REAL_DIR}/manifest.csv is missing. Point "
            "LIFTFLOW_REAL_DATA at the folder holding manifest.csv and the <id>.mp4 / "
            "<id>.gt.csv files (default: ../shared/data/real beside the repository)."
        )
    return REAL_DIR


def _case(clip_id: str) -> dict:
    cases = {c["id"]: c for c in real_cases(_real_dir())}
    assert clip_id in cases, f"{clip_id} is not in {REAL_DIR}/manifest.csv"
    return cases[clip_id]


_TRACKS: dict = {}


def _track(clip_id: str, seed: SeedCircle | None = None):
    key = (clip_id, seed)
    if key not in _TRACKS:
        case = _case(clip_id)
        info = probe(case["video"])
        obs = create_tracker("classic").track(str(case["video"]), info, seed or case["seed"])
        _TRACKS[key] = (info, obs)
    return _TRACKS[key]


def _assert_acceptance(row: dict, name: str):
    msg = (f"{name}: median {row['median_pct']:.2f}% p95 {row['p95_pct']:.2f}% "
           f"max {row['max_pct']:.1f}% of radius, lost keyframes {row['lost_keyframes']}, "
           f"off by > 1 radius {row['off_keyframes']}, false positions {row['false_positions']}")
    assert row["scored"] > 0, msg
    assert row["median_pct"] <= MEDIAN_PCT_MAX, msg
    assert row["p95_pct"] <= P95_PCT_MAX, msg
    assert not row["lost_keyframes"], msg
    assert not row["off_keyframes"], msg
    assert not row["false_positions"], msg


def test_real_data_folder_is_present():
    d = _real_dir()
    ids = [c["id"] for c in real_cases(d)]
    for cid in REAL_SUBSET:
        assert cid in ids


def test_classic_backend_is_available_and_registered():
    st = backend_status("classic")
    assert st.available and st.reason is None, st
    assert create_tracker("classic").name == "classic"


@pytest.mark.parametrize("clip_id", REAL_SUBSET)
def test_real_clip_meets_acceptance(clip_id):
    info, obs = _track(clip_id)
    row = score_track(obs, load_gt(_case(clip_id)["gt"]))
    _assert_acceptance(row, clip_id)


def test_observations_cover_every_frame_with_timestamps_and_outline():
    info, obs = _track("clean-and-jerk")  # rotation metadata, variable frame rate
    assert info.variable_frame_rate and info.rotation in (90, 270)
    assert [o.frame for o in obs] == list(range(info.frame_count))
    assert np.allclose([o.t_s for o in obs], info.timestamps_s)
    for o in obs:
        if o.state == TRACKED:
            assert 0.0 < o.confidence <= 1.0
            assert 32 <= len(o.polygon) <= 64
            a, b, _ = o.ellipse
            assert b <= a and abs(math.sqrt(a * b) - o.radius) < 1e-2 * o.radius + 0.01
            xs = [p[0] for p in o.polygon]
            assert abs((max(xs) + min(xs)) / 2 - o.center[0]) < 0.1 * o.radius
        else:
            assert o.state == LOST and o.center is None and o.confidence == 0.0


def test_confidence_drops_under_blur_and_edge_exit():
    """Confidence means something: lower on blurred / cut keyframes than on clear static ones."""
    info, obs = _track("clean-and-jerk")
    gt = load_gt(_case("clean-and-jerk")["gt"])
    static = [obs[k["frame"]].confidence for k in gt if k["frame"] <= 120]
    cut = [obs[k["frame"]].confidence for k in gt if k["visibility"] == "partial"]
    assert np.median(static) > np.median(cut) + 0.05, (np.median(static), np.median(cut))


def test_backward_tracking_from_a_later_seed():
    """Frames before seed.frame are tracked backwards from the seed."""
    case = _case("dave-clean")
    gt = load_gt(case["gt"])
    k = next(k for k in gt if k["frame"] == 45)
    seed = SeedCircle(cx=k["x"] + 1.5, cy=k["y"] - 1.5, r=k["r"] * 1.03, frame=45)
    info, obs = _track("dave-clean", seed)
    before = [k for k in gt if k["frame"] < 45]
    row = score_track(obs, gt)
    assert all(obs[k["frame"]].tracked for k in before), [k["frame"] for k in before
                                                          if not obs[k["frame"]].tracked]
    _assert_acceptance(row, "dave-clean seeded at frame 45")


# ---------------------------------------------------------------- synthetic clips


def _synth(tmp_path_factory, name: str, **kw):
    from liftflow.synth import SynthSpec, generate_clip

    path = tmp_path_factory.mktemp("synth") / f"{name}.mp4"
    gt = generate_clip(path, SynthSpec(**kw))
    kfs = keyframes_from_synth(gt)
    k0 = next(k for k in kfs if k["visibility"] == "visible")
    seed = SeedCircle(cx=k0["x"], cy=k0["y"], r=k0["r"], frame=k0["frame"])
    info = probe(path)
    obs = create_tracker("classic").track(str(path), info, seed)
    return kfs, obs


def test_synthetic_clean_with_blur_and_clutter(tmp_path_factory):
    kfs, obs = _synth(tmp_path_factory, "clean", profile="clean", shutter=1.0, seed=5)
    _assert_acceptance(score_track(obs, kfs), "synthetic clean")


@pytest.mark.parametrize("plate", ["black", "yellow"])
def test_synthetic_radius_is_the_outer_outline(tmp_path_factory, plate):
    """The tracked radius is the plate's outline (what the seed circle marks): every speed
    the physics reports scales with it, so 1% of radius is 1% of velocity."""
    kfs, obs = _synth(tmp_path_factory, f"rad-{plate}", profile="deadlift", reps=1, plate=plate, seed=1)
    vis = [k for k in kfs if k["visibility"] == "visible"]
    errs = [obs[k["frame"]].radius / k["r"] - 1 for k in vis if obs[k["frame"]].tracked]
    assert len(errs) == len(vis)
    assert abs(float(np.median(errs))) < 0.01 and float(np.max(np.abs(errs))) < 0.02, \
        (float(np.median(errs)), float(np.max(np.abs(errs))))


def test_synthetic_occlusion(tmp_path_factory):
    kfs, obs = _synth(tmp_path_factory, "occl", profile="deadlift", reps=1, occlusion=True, seed=2)
    _assert_acceptance(score_track(obs, kfs), "synthetic deadlift with occlusion")


def test_plate_leaving_the_frame_is_reported_lost_not_invented(tmp_path_factory):
    kfs, obs = _synth(tmp_path_factory, "exit", profile="snatch", leave_frame=True)
    absent = [k["frame"] for k in kfs if k["visibility"] == "absent"]
    assert absent, "the synthetic clip should take the plate out of the frame"
    invented = [f for f in absent if obs[f].tracked]
    assert not invented, f"positions invented while the plate is out of frame: {invented}"
    assert all(obs[f].center is None and obs[f].confidence == 0.0 for f in absent)
    row = score_track(obs, [k for k in kfs if k["visibility"] != "partial"])
    _assert_acceptance(row, "synthetic snatch leaving the frame (visible frames)")
    # still followed while partly out of frame (at least half the rim inside)
    half_in = [k["frame"] for k in kfs if k["visibility"] == "partial" and k["y"] > -0.05 * k["r"]]
    assert half_in and all(obs[f].tracked for f in half_in)
    # ... with a confidence that says how much of its rim is in the frame (issue #18 item 3)
    th = np.linspace(0.0, 2 * np.pi, 360, endpoint=False)
    by_f = {k["frame"]: k for k in kfs}
    for f in half_in:
        k = by_f[f]
        rim_in = float(np.mean(k["y"] + k["r"] * np.sin(th) >= -0.5))
        if rim_in < 0.9:
            assert obs[f].confidence <= rim_in + 0.05, (f, obs[f].confidence, rim_in)
    seen = [obs[k["frame"]].confidence for k in kfs if k["visibility"] == "visible"]
    assert max(obs[f].confidence for f in half_in) < np.median(seen)


def _rim_in_frame(k: dict, width: int, height: int) -> float:
    """Share of a keyframe's true rim inside the frame."""
    th = np.linspace(0.0, 2 * np.pi, 360, endpoint=False)
    x, y = k["x"] + k["r"] * np.cos(th), k["y"] + k["r"] * np.sin(th)
    return float(np.mean((x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)))


def test_plate_cut_by_the_side_edge_is_followed(tmp_path_factory):
    """Issue #18 item 3: a squat walked out of the rack into the right edge of the frame,
    seeded where the edge already cuts the plate (no whole template of it exists), the far
    plate peeking out beside the arc in view. Followed on every frame with at least 40 % of
    its rim in view, within 3 % of the radius (measured: worst 2.1 %), with a confidence
    no higher than that share and falling with it; never placed off the plate elsewhere."""
    kfs, obs = _synth(tmp_path_factory, "side-edge", profile="squat", reps=2, include_unrack=True,
                      bar_x_frac=0.958)
    share = {k["frame"]: _rim_in_frame(k, 640, 480) for k in kfs}
    assert max(share.values()) < 0.7, "the edge should cut the plate on every frame"
    held = [k for k in kfs if share[k["frame"]] >= 0.4]
    assert len(held) > 0.6 * len(kfs)
    lost = [k["frame"] for k in held if not obs[k["frame"]].tracked]
    assert not lost, f"plate dropped with at least 40 % of its rim in view: {lost}"

    def err_pct(k):
        o = obs[k["frame"]]
        return 100.0 * math.hypot(o.center[0] - k["x"], o.center[1] - k["y"]) / k["r"]

    errs = [err_pct(k) for k in held]
    assert max(errs) <= 3.0 and float(np.median(errs)) <= 1.5, (float(np.median(errs)), max(errs))
    rest = [k for k in kfs if share[k["frame"]] < 0.4 and obs[k["frame"]].tracked]
    assert all(err_pct(k) <= 10.0 for k in rest), max(err_pct(k) for k in rest)
    # the confidence says how much of the rim it stands on
    tracked = [k for k in kfs if obs[k["frame"]].tracked]
    assert all(obs[k["frame"]].confidence <= share[k["frame"]] + 0.05 for k in tracked)
    low = [obs[k["frame"]].confidence for k in tracked if 0.4 <= share[k["frame"]] < 0.55]
    high = [obs[k["frame"]].confidence for k in tracked if share[k["frame"]] >= 0.6]
    assert low and high and np.median(low) < np.median(high) - 0.05, (np.median(low), np.median(high))


def test_far_plate_partly_behind_the_near_plate_is_followed(tmp_path):
    """Issue #18 item 3: seeded on the far plate, of which the near plate hides about 40 % of
    the rim, the tracker follows that plate (not the near one) on every frame, with a
    confidence within 0.1 of the share of its rim in view (measured: centre error median
    0.26 %, worst 0.75 % of its radius; confidence at most 0.07 above the share),
    well below the near plate's."""
    from liftflow.synth import SynthSpec, generate_clip

    path = tmp_path / "far.mp4"
    gt = generate_clip(path, SynthSpec(profile="squat", reps=2))
    info = probe(path)
    th = np.linspace(0.0, 2 * np.pi, 360, endpoint=False)

    def in_view(i):  # share of the far rim neither behind the near plate nor outside the frame
        x, y = gt.far_x[i] + gt.far_r * np.cos(th), gt.far_y[i] + gt.far_r * np.sin(th)
        return float(np.mean((np.hypot(x - gt.x[i], y - gt.y[i]) > gt.r[i])
                             & (x >= -0.5) & (x <= gt.width - 0.5) & (y >= -0.5) & (y <= gt.height - 0.5)))

    share = [in_view(i) for i in gt.frames]
    assert 0.4 < min(share) and max(share) < 0.7
    far = create_tracker("classic").track(str(path), info, SeedCircle(
        cx=gt.far_x[0], cy=gt.far_y[0], r=gt.far_r, frame=0))
    near = create_tracker("classic").track(str(path), info, SeedCircle(
        cx=gt.x[0], cy=gt.y[0], r=gt.r[0], frame=0))
    assert all(far[i].tracked for i in gt.frames)
    errs = [100.0 * math.hypot(far[i].center[0] - gt.far_x[i], far[i].center[1] - gt.far_y[i]) / gt.far_r
            for i in gt.frames]
    assert max(errs) <= 3.0 and float(np.median(errs)) <= 1.0, (float(np.median(errs)), max(errs))
    # (the hidden share is not known to the tracker: its confidence follows the share of rim
    # rays that found the plate's edge, which counts a few where the near plate's outline runs
    # close to the far one's)
    over = [(i, far[i].confidence, round(share[i], 3)) for i in gt.frames
            if far[i].confidence > share[i] + 0.1]
    assert not over, over[:10]
    assert np.median([far[i].confidence for i in gt.frames]) < \
        np.median([near[i].confidence for i in gt.frames]) - 0.3


def test_template_of_a_plate_cut_by_the_frame_edge():
    """A template square a frame edge cuts is completed by the point reflection of its part
    inside through the plate's centre; None where the reflection is outside too."""
    from liftflow.tracking.classic import cut_template

    feat = np.random.default_rng(0).normal(size=(60, 80, 3)).astype(np.float32)
    whole = cut_template(feat, 30.2, 29.7, 20.0)
    assert np.array_equal(whole, feat[13:48, 13:48])  # half = round(0.85 * 20) = 17
    t = cut_template(feat, 70.0, 30.0, 20.0)  # columns 53..87: 80..87 are outside
    assert t.shape == (35, 35, 3)
    assert np.array_equal(t[:, :27], feat[13:48, 53:80])
    for row in range(35):
        for col in range(27, 35):
            assert np.array_equal(t[row, col], feat[2 * 30 - (13 + row), 2 * 70 - (53 + col)])
    assert cut_template(feat[:, :30], 15.0, 30.0, 20.0) is None  # cut on both sides
    assert cut_template(feat, 81.0, 30.0, 20.0) is None  # centre outside


# ---------------------------------------------------------------- auto-detection


@pytest.mark.parametrize("clip_id", ["small-squat", "risevbt-squat", "randy-clean"])
def test_autodetect_finds_the_near_plate(clip_id):
    from liftflow.tracking.autodetect import detect_seed

    case = _case(clip_id)
    info = probe(case["video"])
    seed = detect_seed(str(case["video"]), info)
    gt = {k["frame"]: k for k in load_gt(case["gt"])}
    ref = gt.get(seed.frame) or case["seed"]
    x, y, r = (ref["x"], ref["y"], ref["r"]) if isinstance(ref, dict) else (ref.cx, ref.cy, ref.r)
    assert seed.source == "auto" and seed.reason and "radius" in seed.reason
    assert math.hypot(seed.cx - x, seed.cy - y) < 0.1 * r, (seed, x, y, r)
    assert abs(seed.r / r - 1) < 0.1, (seed.r, r)


def test_autodetect_reports_no_plate(tmp_path):
    import av

    from liftflow.tracking.autodetect import detect_seed

    path = tmp_path / "noplate.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        base = np.zeros((240, 320, 3), np.uint8)
        base[:, :160] = (40, 120, 200)  # two flat regions: a straight edge, no circle
        base[:, 160:] = (200, 190, 180)
        for _ in range(12):
            img = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(TrackingError, match="no weight plate found in the first"):
        detect_seed(str(path), probe(path))


def test_plate_hidden_then_back_is_lost_then_reacquired(tmp_path):
    """Frames where the plate cannot be seen are LOST; it is picked up again on return."""
    import av

    from liftflow.synth import SynthSpec, generate_clip
    from liftflow.video import iter_frames

    src = tmp_path / "squat.mp4"
    gt = generate_clip(src, SynthSpec(profile="squat", reps=1, seed=7))
    kfs = keyframes_from_synth(gt)
    a, b = 35, 60  # the view is blanked (lens covered) while the bar moves
    dst = tmp_path / "covered.mp4"
    with av.open(str(dst), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = gt.width, gt.height, "yuv420p"
        for f in iter_frames(src):
            img = np.full_like(f.image, 90) if a <= f.index < b else f.image
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    for k in kfs:
        if a <= k["frame"] < b:
            k.update(visibility="absent", x=None, y=None, r=None)
    k0 = kfs[0]
    obs = create_tracker("classic").track(str(dst), probe(dst),
                                          SeedCircle(k0["x"], k0["y"], k0["r"], 0))
    hidden = [o.frame for o in obs[a:b] if o.tracked]
    assert not hidden, f"positions invented while the plate was hidden: {hidden}"
    moved = math.hypot(kfs[b]["x"] - kfs[a - 1]["x"], kfs[b]["y"] - kfs[a - 1]["y"])
    assert moved > 0.3 * k0["r"], "the plate should have moved while hidden"
    back = next(o.frame for o in obs[b:] if o.tracked)
    assert back <= b + 2, f"plate picked up again only at frame {back}"
    _assert_acceptance(score_track(obs, kfs), "synthetic squat hidden for 25 frames")


@pytest.mark.parametrize("dx,dy,rs", [(0.12, -0.1, 1.12), (-0.1, 0.1, 0.88)])
def test_rough_click_is_refined_to_the_rim(dx, dy, rs):
    """A coach's click is rough: 10-12% off in centre and radius still tracks the plate."""
    case = _case("risevbt-squat")  # plate with hand holes: inner edges near the rim
    k = case["seed"]
    seed = SeedCircle(k.cx + dx * k.r, k.cy + dy * k.r, k.r * rs, k.frame)
    info, obs = _track("risevbt-squat", seed)
    _assert_acceptance(score_track(obs, load_gt(case["gt"])), f"risevbt-squat rough seed {seed}")


def test_portrait_1080x1920_60fps_is_tracked_faster_than_real_time_on_2_cores():
    """small-squat: 1080x1920 at 60 fps, oblique view (ellipse).

    Wall-clock fps on a shared test machine says little, so the check is on CPU time,
    decode included: the whole process must need less than 2 cores x the clip's duration
    (with 25% to spare), and the serial part (the tracking thread) less than real time.
    """
    import resource
    import time

    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    case = _case("small-squat")
    info = probe(case["video"])
    assert (info.width, info.height) == (1080, 1920) and round(info.fps) == 60
    c0, t0 = cpu(), time.thread_time()
    obs = create_tracker("classic").track(str(case["video"]), info, case["seed"])
    cpu_per_frame = (cpu() - c0) / info.frame_count
    main_per_frame = (time.thread_time() - t0) / info.frame_count
    frame_s = 1.0 / info.fps
    assert cpu_per_frame < 0.75 * 2 * frame_s, f"{1000 * cpu_per_frame:.1f} ms CPU per frame"
    assert main_per_frame < 0.75 * frame_s, f"{1000 * main_per_frame:.1f} ms per frame serial"
    _assert_acceptance(score_track(obs, load_gt(case["gt"])), "small-squat")


def test_backward_tracking_in_small_chunks_gives_the_same_track(monkeypatch):
    """Bounded memory: the segment before the seed is decoded in chunks; chunking must not
    change the result."""
    from liftflow.tracking.classic import tracker as classic_tracker

    case = _case("dave-clean")
    k = next(k for k in load_gt(case["gt"]) if k["frame"] == 45)
    seed = SeedCircle(cx=k["x"] + 1.5, cy=k["y"] - 1.5, r=k["r"] * 1.03, frame=45)
    info, whole = _track("dave-clean", seed)
    monkeypatch.setattr(classic_tracker, "BACKWARD_BUDGET_BYTES", 1)  # chunks of 8 frames
    chunked = create_tracker("classic").track(str(case["video"]), info, seed)
    assert [(o.state, o.center) for o in chunked] == [(o.state, o.center) for o in whole]


def test_center_sd_says_which_frames_are_less_certain(tmp_path_factory):
    """The classic tracker's per-frame centre sd (its rim fit's residual over the rim points'
    count; the physics weights positions by it): on a 30 fps phone snatch whose plate the
    lifter's arm and thigh cross, the frames it calls least certain are the worst tracked."""
    from liftflow.synth import PHONE_30FPS_HARD

    kfs, obs = _synth(tmp_path_factory, "phone-snatch", profile="snatch", reps=1, seed=3,
                      **PHONE_30FPS_HARD)
    pairs = [(obs[k["frame"]].center_sd_px, math.hypot(obs[k["frame"]].center[0] - k["x"],
                                                       obs[k["frame"]].center[1] - k["y"]))
             for k in kfs if obs[k["frame"]].tracked]
    sd = np.array([p[0] for p in pairs], float)
    err = np.array([p[1] for p in pairs], float)
    assert len(pairs) > 100 and np.all(np.isfinite(sd)) and np.all(sd > 0)
    lo, hi = np.quantile(sd, [0.25, 0.75])
    # (measured: median 0.24 px on the least certain quarter, 0.02 px on the most certain)
    assert np.median(err[sd >= hi]) > 3.0 * np.median(err[sd <= lo]), \
        (float(np.median(err[sd >= hi])), float(np.median(err[sd <= lo])))
