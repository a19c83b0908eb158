"""Synthetic lift generator: the video really shows what the ground truth says."""
from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

from liftflow.synth import GroundTruth, SynthSpec, generate_clip, synth_cli
from liftflow.synth import profiles as P
from liftflow.video.decode import iter_frames, probe

SMALL = dict(width=320, height=240, plate_radius_px=30.0, reps=1, lead_in_s=0.4, tail_s=0.3)
CLEAN = dict(SMALL, blur=False, noise=0.0, clutter=False, crf=10)
BG = np.array([178, 182, 186], np.float32)  # plain background when clutter is off


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    cache: dict = {}

    def get(name: str, **kw):
        if name not in cache:
            path = root / f"{name}.mp4"
            cache[name] = (path, generate_clip(path, SynthSpec(**kw)))
        return cache[name]

    return get


def plate_centroid(img: np.ndarray, r: float, near: tuple[float, float]):
    """Centre and equivalent radius of the plate blob on the plain background."""
    diff = np.abs(img.astype(np.float32) - BG).max(axis=2)
    mask = (diff > 40).astype(np.uint8)
    # fill the holes (the light hub and sleeve end): whatever the border cannot reach
    outside = np.pad(1 - mask, 1, constant_values=1)
    ff = np.zeros((outside.shape[0] + 2, outside.shape[1] + 2), np.uint8)
    cv2.floodFill(outside, ff, (0, 0), 2)
    mask = (outside[1:-1, 1:-1] != 2).astype(np.uint8)
    k = int(r * 0.7) | 1
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    n, lab = cv2.connectedComponents(mask)
    lx = lab[int(round(near[1])), int(round(near[0]))]
    assert lx != 0, "no plate at the ground-truth position"
    ys, xs = np.nonzero(lab == lx)
    return xs.mean(), ys.mean(), np.sqrt(len(xs) / np.pi)


def test_frames_timestamps_and_csv(clips):
    path, gt = clips("clean", **CLEAN)
    info = probe(path)
    assert info.frame_count == len(gt.frames) == len(gt.t_s)
    assert (info.width, info.height, info.rotation) == (320, 240, 0)
    assert info.codec == "h264" and not info.variable_frame_rate
    assert info.fps == pytest.approx(30.0, abs=0.01)
    assert np.allclose(info.timestamps_s, gt.t_s, atol=1e-5)
    assert gt.t_s[0] == 0.0
    assert gt.m_per_px == pytest.approx(0.45 / 60.0)
    rows = list(csv.DictReader(open(path.with_name("clean.gt.csv"))))
    assert list(rows[0].keys()) == ["frame", "x", "y", "r", "r_minor", "visibility"]
    assert len(rows) == len(gt.frames)
    assert float(rows[10]["x"]) == pytest.approx(gt.x[10], abs=1e-3)
    assert rows[10]["r_minor"] == ""
    truth = json.loads(path.with_name("clean.truth.json").read_text())
    assert truth["vy_m_s"] == gt.vy_m_s and truth["reps"] == gt.reps
    assert GroundTruth.from_json(path.with_name("clean.truth.json")).x == gt.x
    decoded = [f.t_s for f in iter_frames(path)]
    assert len(decoded) == len(gt.frames)


def test_plate_is_where_the_truth_says(clips):
    path, gt = clips("clean", **CLEAN)
    n = len(gt.frames)
    picks = set(np.linspace(0, n - 1, 12).astype(int).tolist())
    errs = []
    for f in iter_frames(path):
        if f.index in picks:
            cx, cy, req = plate_centroid(f.image, gt.r[f.index], (gt.x[f.index], gt.y[f.index]))
            errs.append(np.hypot(cx - gt.x[f.index], cy - gt.y[f.index]))
            assert req == pytest.approx(gt.r[f.index], abs=1.0)
    assert len(errs) == len(picks)
    assert max(errs) < 0.3, errs  # measured ~0.1 px
    # the plate really moves: the lift spans a large part of the frame
    assert max(gt.y) - min(gt.y) > 0.5 * 0.55 / gt.m_per_px


BLUR = dict(CLEAN, fps=15.0, shutter=1.0, blur=True)  # ~9 px of travel per exposure at speed


def test_blurred_plate_centre_is_mid_exposure(clips):
    path, gt = clips("blur", **BLUR)
    v_px = np.abs(np.asarray(gt.vy_m_s)) / gt.m_per_px / 15.0  # px per frame
    fast = [i for i in np.argsort(-v_px)[:40:4]]
    assert v_px[fast[0]] > 4.0  # genuinely moving frames
    errs = {}
    for f in iter_frames(path):
        if f.index in fast:
            cx, cy, _ = plate_centroid(f.image, gt.r[f.index], (gt.x[f.index], gt.y[f.index]))
            errs[f.index] = np.hypot(cx - gt.x[f.index], cy - gt.y[f.index])
    assert len(errs) == len(fast)
    assert max(errs.values()) < 0.4, errs  # measured ~0.1 px


def test_blur_really_smears(clips):
    path_s, sharp = clips("sharp15", **dict(BLUR, blur=False))
    path_b, gt = clips("blur", **BLUR)
    i = int(np.argmax(np.abs(gt.vy_m_s)))
    assert gt.t_s == sharp.t_s and gt.y == sharp.y
    img_b = next(iter_frames(path_b, start=i, stop=i + 1)).image
    img_s = next(iter_frames(path_s, start=i, stop=i + 1)).image
    x = int(round(gt.x[i]))
    yb = int(round(gt.y[i] + gt.r[i]))  # bottom edge of the plate
    prof_b = img_b[yb - 8: yb + 9, x, 1].astype(float)
    prof_s = img_s[yb - 8: yb + 9, x, 1].astype(float)
    # the sharp edge goes from plate to background in ~2 px, the blurred one ramps over more
    ramp = lambda p: int(np.sum((p > p.min() + 0.15 * np.ptp(p)) & (p < p.max() - 0.15 * np.ptp(p))))
    assert ramp(prof_b) >= ramp(prof_s) + 2


def test_velocity_is_exact_derivative(clips):
    _, gt = clips("clean", **CLEAN)
    t = np.asarray(gt.t_s)
    h = (gt.y_floor_px - np.asarray(gt.y)) * gt.m_per_px
    assert np.allclose(h, gt.h_m, atol=1e-9)
    vy = np.asarray(gt.vy_m_s)
    num = (h[2:] - h[:-2]) / (t[2:] - t[:-2])
    assert np.max(np.abs(num - vy[1:-1])) < 0.02
    assert np.max(np.abs(vy)) > 0.5
    rep = gt.reps[0]
    assert 0.5 <= rep["range_of_motion_m"] <= 0.7
    assert 0.8 <= rep["peak_concentric_velocity_m_s"] <= 1.2
    assert rep["eccentric_start_s"] < rep["concentric_start_s"] < rep["concentric_end_s"]
    assert rep["eccentric_start_s"] >= 0.4 - 1e-9  # the lead-in is static
    assert gt.peak_vertical_velocity_m_s >= vy.max() - 1e-9
    static = t < 0.39
    assert np.all(vy[static] == 0.0)


@pytest.mark.parametrize("name", P.PROFILES)
def test_profiles_smooth_and_plausible(name):
    m = P.build(name, 0.5, 3, np.random.default_rng(3))
    ts = np.linspace(0, m.end_s + 0.5, 40001)
    h, v, a = m.h(ts), m.h(ts, 1), m.h(ts, 2)
    dt = ts[1] - ts[0]
    assert np.max(np.abs(np.gradient(h, dt)[1:-1] - v[1:-1])) < 1e-3
    assert np.max(np.abs(np.gradient(v, dt)[1:-1] - a[1:-1])) < 0.05
    assert np.max(np.abs(np.diff(v))) < 0.01  # continuous velocity
    assert np.max(np.abs(a)) < 3 * P.G
    assert h.min() >= P.PLATE_RADIUS_M - 1e-6  # never through the floor
    x = m.x(ts)
    assert np.ptp(x) < 0.35
    peak = {"squat": (0.8, 1.2), "deadlift": (0.55, 0.9), "snatch": (1.75, 2.05), "clean": (1.4, 1.75)}[name]
    assert peak[0] <= v.max() <= peak[1]
    for rep in m.reps:
        c0, c1 = rep["concentric_start_s"], rep["concentric_end_s"]
        inside = (ts > c0 + 1e-3) & (ts < c1 - 1e-3)
        assert np.all(v[inside] > 0)
        assert rep["range_of_motion_m"] == pytest.approx(float(m.h(c1) - m.h(c0)))
        assert rep["mean_concentric_velocity_m_s"] == pytest.approx(rep["range_of_motion_m"] / (c1 - c0))
    if name in ("squat", "deadlift"):
        assert len(m.reps) == 3
    if name == "snatch":
        assert 0.8 < m.reps[0]["peak_height_m"] < 1.4 and h.max() > 1.8  # overhead
        assert np.ptp(x) > 0.04  # S-curve


def test_vfr_timestamps(clips):
    path, gt = clips("vfr", **dict(SMALL, vfr=True, noise=0.0, blur=False))
    info = probe(path)
    assert info.variable_frame_rate
    assert info.frame_count == len(gt.frames)
    assert np.allclose(info.timestamps_s, gt.t_s, atol=1e-5)
    dts = np.diff(gt.t_s)
    assert dts.min() > 0 and dts.std() > 0.15 / 30.0
    assert dts.max() > 1.7 / 30.0  # dropped frames
    # positions follow the jittered clock: truth at each actual timestamp
    h = (gt.y_floor_px - np.asarray(gt.y)) * gt.m_per_px
    t = np.asarray(gt.t_s)
    num = (h[2:] - h[:-2]) / (t[2:] - t[:-2])
    vy = np.asarray(gt.vy_m_s)[1:-1]
    assert np.max(np.abs(num - vy)) < 0.1
    # against the nominal clock the positions would not match the velocities
    tn = np.arange(len(t)) / 30.0
    num_n = (h[2:] - h[:-2]) / (tn[2:] - tn[:-2])
    assert np.max(np.abs(num_n - vy)) > 3 * np.max(np.abs(num - vy))


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_metadata_round_trip(clips, rotation):
    path, gt = clips(f"rot{rotation}", **dict(CLEAN, rotation=rotation))
    _, ref = clips("clean", **CLEAN)
    info = probe(path)
    assert info.rotation == rotation
    assert (info.width, info.height) == (320, 240)  # presented upright
    import av

    with av.open(str(path)) as c:
        st = c.streams.video[0]
        stored = (240, 320) if rotation in (90, 270) else (320, 240)
        assert (st.codec_context.width, st.codec_context.height) == stored  # stored rotated
    assert gt.x == ref.x and gt.y == ref.y
    i = len(gt.frames) // 2
    f = next(iter_frames(path, start=i, stop=i + 1))
    assert f.image.shape == (240, 320, 3)
    cx, cy, _ = plate_centroid(f.image, gt.r[i], (gt.x[i], gt.y[i]))
    assert np.hypot(cx - gt.x[i], cy - gt.y[i]) < 0.3


def test_deterministic_with_seed(tmp_path):
    kw = dict(SMALL, reps=1, lead_in_s=0.2, tail_s=0.1, profile="deadlift", vfr=True, occlusion=True)
    a = generate_clip(tmp_path / "a.mp4", SynthSpec(seed=5, **kw))
    b = generate_clip(tmp_path / "b.mp4", SynthSpec(seed=5, **kw))
    c = generate_clip(tmp_path / "c.mp4", SynthSpec(seed=6, **kw))
    assert a.to_dict() == b.to_dict()
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert (tmp_path / "a.gt.csv").read_bytes() == (tmp_path / "b.gt.csv").read_bytes()
    assert a.t_s != c.t_s and a.vy_m_s != c.vy_m_s
    fa = [f.image for f in iter_frames(tmp_path / "a.mp4", stop=30)]
    fb = [f.image for f in iter_frames(tmp_path / "b.mp4", stop=30)]
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb))


def test_noise_and_clutter(clips):
    path_n, gt = clips("noisy", **dict(SMALL, noise=6.0, blur=False, crf=12))
    path_c, _ = clips("clean", **CLEAN)
    img_n = next(iter_frames(path_n)).image.astype(float)
    img_c = next(iter_frames(path_c)).image.astype(float)
    # frame 0 and 1 are static (lead-in): their difference is sensor noise only
    img_n1 = next(iter_frames(path_n, start=1, stop=2)).image.astype(float)
    d = (img_n - img_n1)[:, :, 1]
    assert 2.0 < d.std() < 12.0
    # clutter: textured background, unlike the plain one
    corner_c = img_c[:40, :40, 1]
    corner_n = img_n[:40, :40, 1]
    assert corner_c.std() < 2.0 and corner_n.std() > 3.0


def test_leave_frame_and_occlusion(clips):
    path, gt = clips("leave", **dict(SMALL, leave_frame=True, occlusion=True, noise=0.0))
    vis = gt.visibility
    assert "absent" in vis and "visible" in vis and "partial" in vis
    i = vis.index("absent")
    assert gt.y[i] + gt.r[i] < 0  # above the top edge
    rows = list(csv.DictReader(open(path.with_name("leave.gt.csv"))))
    assert rows[i]["x"] == "" and rows[i]["visibility"] == "absent"
    inframe = [k for k, v in enumerate(vis) if v != "absent" and gt.y[k] - gt.r[k] > 2]
    assert any(vis[k] == "partial" for k in inframe)  # occluded while fully in frame


def test_front_view_and_no_plate(clips):
    """The clips a verdict must refuse (issue #18): a front view shows the plate edge-on (a
    thin upright bar: partial throughout); a clip without a plate says absent throughout."""
    path, gt = clips("front", **dict(CLEAN, view="front"))
    assert set(gt.visibility) == {"partial"}
    img = next(iter_frames(path)).image
    diff = np.abs(img.astype(np.float32) - BG).max(axis=2) > 40
    ys, xs = np.nonzero(diff)
    r = gt.r[0]
    assert np.ptp(ys) > 1.6 * r and np.ptp(xs) < 0.5 * r  # tall and thin around the centre
    assert abs(np.median(xs) - gt.x[0]) < 2 and abs(np.median(ys) - gt.y[0]) < 0.3 * r
    path, gt = clips("no-plate", **dict(CLEAN, view="no_plate"))
    assert set(gt.visibility) == {"absent"}
    img = next(iter_frames(path)).image
    x, y = int(round(gt.x[0])), int(round(gt.y[0]))
    assert np.abs(img[y - 5:y + 5, x - 25:x - 10].astype(np.float32) - BG).max() < 12  # background there
    with pytest.raises(ValueError, match="unknown view"):
        SynthSpec(view="top").validate()


def test_snatch_clip_and_cli(tmp_path, capsys):
    out = tmp_path / "sn.mp4"
    rc = synth_cli(["--profile", "snatch", "--out", str(out), "--width", "240", "--height", "320",
                    "--plate-radius", "18", "--fps", "25", "--no-blur", "--noise", "0", "--seed", "2",
                    "--lead-in", "0.2", "--tail", "0.2"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "gt.csv" in printed
    gt = GroundTruth.from_json(tmp_path / "sn.truth.json")
    info = probe(out)
    assert info.frame_count == len(gt.frames) and info.fps == pytest.approx(25.0, abs=0.01)
    assert 1.75 <= gt.peak_vertical_velocity_m_s <= 2.05
    assert gt.spec["profile"] == "snatch" and len(gt.reps) == 1
    from liftflow.synth import plate_style_for

    assert gt.spec["plate"] == "auto" and gt.spec["plate_look"] == plate_style_for(SynthSpec(seed=2))
    assert all(v == "visible" for v in gt.visibility)  # fits a portrait frame
    assert synth_cli(["--profile", "nope"]) == 2
    assert synth_cli(["--width", "321", "--out", str(tmp_path / "odd.mp4")]) == 2
    assert not (tmp_path / "odd.mp4").exists()
    assert synth_cli(["--help"]) == 0


def test_duration_unrack_and_reps(tmp_path):
    spec = SynthSpec(**dict(SMALL, duration_s=9.0, include_unrack=True, blur=False, noise=0.0, fps=20.0))
    gt = generate_clip(tmp_path / "u.mp4", spec)
    assert len(gt.frames) == 180 and probe(tmp_path / "u.mp4").frame_count == 180
    assert gt.t_s[-1] == pytest.approx(179 / 20.0)
    assert len(gt.reps) == gt.spec["reps_generated"] >= 1
    first = gt.reps[0]["eccentric_start_s"]
    t = np.asarray(gt.t_s)
    pre = t < first
    # the walk-out happens before the first rep: the bar moves sideways and rises a few cm
    assert np.ptp(np.asarray(gt.x_m)[pre]) > 0.15
    assert 0.02 < np.ptp(np.asarray(gt.h_m)[pre]) < 0.08
    assert gt.reps[-1]["concentric_end_s"] <= 9.0 - spec.tail_s + 1e-6


def test_bad_specs_are_refused(tmp_path):
    for bad in (dict(profile="bench"), dict(width=321), dict(rotation=45), dict(fps=0)):
        with pytest.raises(ValueError):
            generate_clip(tmp_path / "x.mp4", SynthSpec(**bad))


def test_plate_looks_like_a_real_bumper(tmp_path):
    """Real bumper plates are one colour out to the outline (IWF colours or black) with at
    most a thin lip: no wide light rim ring whose inner edge a tracker would take for the
    outline (that made tracked radii ~6.5% small). Seeds vary the look."""
    from liftflow.synth import PLATE_LOOKS, plate_style_for
    from liftflow.synth import render as R

    looks = {plate_style_for(SynthSpec(seed=s)) for s in range(30)}
    assert len(looks) >= 5 and "black" in looks and looks <= set(PLATE_LOOKS)
    assert plate_style_for(SynthSpec(seed=3, plate="green")) == "green"
    with pytest.raises(ValueError):
        generate_clip(tmp_path / "x.mp4", SynthSpec(plate="pink"))
    r = 60.0
    for look in ("black", "red", "blue", "yellow", "green"):
        st = R.plate_style(look, np.random.default_rng(0))
        sp = R.plate_sprite(r, np.random.default_rng(0), body=st["body"], mark=st["mark"], label=st["label"])
        a = sp.img[..., 3]
        col = sp.img[..., :3] / np.maximum(a, 1e-6)[..., None] * 255.0
        th = np.linspace(0, 2 * np.pi, 90, endpoint=False)
        body = np.array(st["body"], np.float32)
        for rho in (0.91, 0.93, 0.96):  # the old ring spanned 0.93..1.0 R
            xs = np.rint(sp.c + rho * r * np.cos(th)).astype(int)
            ys = np.rint(sp.c + rho * r * np.sin(th)).astype(int)
            assert np.all(a[ys, xs] > 0.999)
            assert np.abs(col[ys, xs] - body).max() < 10.0, (look, rho)  # the old ring: ~85
        # the outline is the truth radius: the coverage integrates to the disc's area
        assert a.sum() == pytest.approx(np.pi * r * r, rel=1e-4)


def test_long_clips_keep_every_rep_moving_forward_in_time():
    """A 120 s squat clip has ~40 reps: the fatigue model slows each rep but never to a
    standstill (it once reached zero speed at rep 17: knots went back in time and the
    plate jumped hundreds of pixels between frames)."""
    import numpy as np

    from liftflow.synth import profiles

    for prof in ("squat", "deadlift"):
        m = profiles.build(prof, 0.5, 40, np.random.default_rng(0))
        assert len(m.reps) == 40
        t = np.arange(0.0, m.end_s, 1 / 60)
        h = m.h(t)
        assert np.max(np.abs(np.diff(h))) < 0.05  # m per frame at 60 fps: no jumps
        assert all(r["concentric_end_s"] > r["concentric_start_s"] for r in m.reps)
    with pytest.raises(ValueError):
        profiles.Quintic([profiles.Knot(1.0, 0.0), profiles.Knot(0.5, 1.0)])


def test_body_occlusion_covers_the_plate_in_the_pull_and_catch(tmp_path):
    """The lifter's thigh in front of the plate (issue #18 item 1): frames of the pull and
    catch whose plate is wholly in frame turn ``partial``; the rest of the clip is unchanged."""
    kw = dict(profile="clean", width=480, height=360, plate_radius_px=24.0, noise=0.0, seed=3)
    plain = generate_clip(tmp_path / "plain.mp4", SynthSpec(**kw))
    body = generate_clip(tmp_path / "body.mp4", SynthSpec(**kw, body_occlusion=True))
    assert body.y == plain.y and body.t_s == plain.t_s
    changed = [i for i, (a, b) in enumerate(zip(plain.visibility, body.visibility)) if a != b]
    assert changed and all(plain.visibility[i] == "visible" and body.visibility[i] == "partial"
                           for i in changed)
    rep = body.reps[0]
    assert all(rep["concentric_start_s"] + 0.5 <= body.t_s[i] <= rep["concentric_end_s"] + 0.5
               for i in changed)
