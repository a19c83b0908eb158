"""The learned tracking backends (cutie, yolo): real networks with random weights, offline.

Random weights cannot track, so the end-to-end tests check the contract and that the real
loading and inference code ran; the association logic of the yolo backend is tested for
correctness on synthetic detection lists.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from liftflow.config import PROJECT_ROOT, get_settings
from liftflow.tracking import (
    LOST,
    TRACKED,
    TrackerUnavailable,
    SeedCircle,
    TrackingError,
    backend_status,
    create_tracker,
)
from liftflow.video.decode import probe

W, H, N = 160, 120, 10
R = 18.0


def plate_centre(i: int) -> tuple[float, float]:
    return 40.0 + 6.0 * i, 70.0 - 2.0 * i


def make_clip(path: Path, n: int = N) -> Path:
    """A small H.264 clip: a red plate with a light hub moving over a textured background."""
    import av
    import cv2

    rng = np.random.default_rng(0)
    bg = cv2.GaussianBlur(rng.integers(80, 150, (H, W, 3), dtype=np.uint8), (5, 5), 0)
    out = av.open(str(path), "w")
    st = out.add_stream("libx264", rate=30)
    st.width, st.height, st.pix_fmt = W, H, "yuv420p"
    for i in range(n):
        img = bg.copy()
        cx, cy = plate_centre(i)
        cv2.circle(img, (int(round(cx)), int(round(cy))), int(R), (40, 40, 170), -1, cv2.LINE_AA)
        cv2.circle(img, (int(round(cx)), int(round(cy))), 4, (210, 210, 210), -1, cv2.LINE_AA)
        for p in st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
            out.mux(p)
    for p in st.encode():
        out.mux(p)
    out.close()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "lift.mp4")


def settings_with(models_dir: Path, **kw):
    return dataclasses.replace(get_settings(), models_dir=models_dir.resolve(), device="cpu", **kw)


def check_contract(obs, info, seed):
    assert len(obs) == info.frame_count == N
    assert [o.frame for o in obs] == list(range(N))
    for o, t in zip(obs, info.timestamps_s):
        assert o.state in (TRACKED, LOST)
        assert 0.0 <= o.confidence <= 1.0
        assert o.t_s == pytest.approx(t)
        if o.state == LOST:
            assert o.center is None and o.confidence == 0.0
        else:
            assert o.radius > 0 and o.polygon and len(o.polygon) >= 3
            for x, y in o.polygon:
                assert 0.0 <= x <= info.width - 1 and 0.0 <= y <= info.height - 1
        o.to_dict()  # serialisable
    s = obs[seed.frame]
    assert s.state == TRACKED


# ----------------------------------------------------------------------------- module hygiene


def test_backend_modules_import_nothing_heavy():
    code = (
        "import sys\n"
        "import liftflow.tracking.cutie as c, liftflow.tracking.yolo as y\n"
        "from liftflow.config import get_settings\n"
        "s = get_settings(); c.availability(s); y.availability(s)\n"
        "heavy = [m for m in ('torch', 'ultralytics', 'cutie', 'cv2') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT, timeout=60)


@pytest.mark.parametrize(
    "backend,env,attr,default_name",
    [
        ("cutie", "LIFTFLOW_CUTIE_WEIGHTS", "cutie_weights", "cutie-base-mega.pth"),
        ("yolo", "LIFTFLOW_YOLO_DISC_WEIGHTS", "yolo_disc_weights", "yolo-plate.pt"),
    ],
)
def test_missing_weights_name_the_full_path(tmp_path, monkeypatch, no_network, backend, env, attr,
                                            default_name):
    monkeypatch.setenv("LIFTFLOW_MODELS_DIR", str(tmp_path))
    monkeypatch.delenv(env, raising=False)
    settings = get_settings()
    assert getattr(settings, attr) == default_name
    expected = str((tmp_path / default_name).resolve())
    st = backend_status(backend, settings)
    assert not st.available
    assert "weights file not found" in st.reason and expected in st.reason
    with pytest.raises(TrackerUnavailable) as ei:
        create_tracker(backend, settings)
    assert expected in str(ei.value)
    # the file name is configurable
    monkeypatch.setenv(env, "other-name.pt")
    st = backend_status(backend, get_settings())
    assert str((tmp_path / "other-name.pt").resolve()) in st.reason


# ----------------------------------------------------------------------------- cutie


def test_cutie_mask_to_disc_maps_back_to_full_resolution():
    from liftflow.tracking.cutie import mask_to_disc

    s = 0.5  # working / full
    cx, cy, r = 101.3, 57.8, 30.0  # full-res pixels
    h, w = 60, 80
    yy, xx = np.mgrid[0:h, 0:w]
    prob = (((xx - ((cx + 0.5) * s - 0.5)) ** 2 + (yy - ((cy + 0.5) * s - 0.5)) ** 2)
            <= (r * s) ** 2).astype(np.float32) * 0.9
    prob[0:3, 0:3] = 0.95  # a speck elsewhere: not the largest component
    geo = mask_to_disc(prob, s, s, 160, 120, seed_area_w=math.pi * (r * s) ** 2)
    assert geo["center"] == pytest.approx((cx, cy), abs=0.3)
    assert geo["radius"] == pytest.approx(r, rel=0.03)
    assert geo["confidence"] == pytest.approx(0.9)
    xs = [p[0] for p in geo["polygon"]]
    assert min(xs) == pytest.approx(cx - r, abs=2.5) and max(xs) <= 159
    # a mask far bigger than the seed is not a plate
    assert mask_to_disc(prob, s, s, 160, 120, seed_area_w=10.0)["rejected"]
    assert mask_to_disc(np.zeros((h, w), np.float32), s, s, 160, 120, 100.0) is None


def test_cutie_end_to_end_with_random_weights(tmp_path, clip, no_network):
    import torch

    from liftflow.tracking import cutie as cutie_backend

    # the real Cutie network (base, as cutie-base-mega.pth), random init, no ImageNet fetch
    net = cutie_backend.build_network("base")
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    torch.save(state, tmp_path / "cutie-base-mega.pth")
    del net

    settings = settings_with(tmp_path)
    assert backend_status("cutie", settings).reason is None
    # small memory caps, a memory frame every frame: the long-term consolidation runs
    caps = dict(mem_every=1, long_term_max_mem_frames=3, long_term_min_mem_frames=2,
                num_prototypes=8, max_num_tokens=40, buffer_tokens=8)
    tracker = create_tracker("cutie", settings, max_side=96, backward_chunk=2, cpu_threads=1,
                             **caps)
    assert tracker.name == "cutie"
    # the checkpoint was really read into the network
    loaded = tracker.network.state_dict()["pix_feat_proj.weight"]
    assert torch.equal(loaded, state["pix_feat_proj.weight"].float())

    info = probe(clip)
    cx, cy = plate_centre(3)
    seed = SeedCircle(cx, cy, R, frame=3)
    calls = []
    obs = tracker.track(str(clip), info, seed, progress=lambda f, m: calls.append(f))
    check_contract(obs, info, seed)
    # the seed frame is the seed mask, measured back from Cutie's output at full resolution
    s = obs[seed.frame]
    assert s.center == pytest.approx((cx, cy), abs=1.0)
    assert s.radius == pytest.approx(R, rel=0.06)
    assert s.confidence > 0.9
    # every frame went through the network: forwards from the seed, then backwards
    assert tracker.last_timing["frames"] == N + 1
    assert tracker.last_timing["working_scale"] == pytest.approx(96 / W)
    assert calls and calls[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in calls)
    # bounded memory: permanent seed frame + at most max_mem_frames-1 working frames
    timing = tracker.last_timing
    hw = timing["memory_tokens_per_frame"]
    assert hw == math.ceil(72 / 16) * (96 // 16)  # padded to multiples of 16, stride 16
    assert 0 < timing["peak_work_memory_tokens"] <= 3 * hw
    assert 0 < timing["peak_long_term_memory_tokens"] <= caps["max_num_tokens"]


def test_cutie_rejects_a_checkpoint_that_is_not_cutie(tmp_path, no_network):
    import torch

    torch.save({"conv.weight": torch.zeros(3, 3)}, tmp_path / "cutie-base-mega.pth")
    with pytest.raises(TrackingError, match="not a Cutie checkpoint"):
        create_tracker("cutie", settings_with(tmp_path))


# ----------------------------------------------------------------------------- yolo association


def _det(cx, cy, r=20.0, conf=0.9):
    from liftflow.tracking.yolo import Detection

    return Detection.from_circle(cx, cy, r, conf)


def _is(d, x, y, tol=0.01):
    return d is not None and abs(d.cx - x) < tol and abs(d.cy - y) < tol


def test_association_keeps_the_seeded_plate_when_two_plates_cross():
    from liftflow.tracking.yolo import associate

    n = 15
    # they pass within 4 px of each other: after the crossing the other plate is nearer to
    # where ours was last seen, only the motion model tells them apart
    a = [(42.0 + 8 * i, 100.0) for i in range(n)]  # seeded plate, moving right
    b = [(158.0 - 8 * i, 102.0) for i in range(n)]  # another plate, moving left
    dets = [[_det(*b[i]), _det(*a[i])] for i in range(n)]  # order must not matter
    out = associate(dets, SeedCircle(a[0][0], a[0][1], 20.0, frame=0))
    assert all(_is(out[i], *a[i]) for i in range(n)), [(o.cx, o.cy) for o in out]
    # seeded after the crossing: followed backwards through it
    out = associate(dets, SeedCircle(a[-1][0], a[-1][1], 20.0, frame=n - 1))
    assert all(_is(out[i], *a[i]) for i in range(n))
    # and the other plate, when that one is seeded
    out = associate(dets, SeedCircle(b[3][0], b[3][1], 20.0, frame=3))
    assert all(_is(out[i], *b[i]) for i in range(n))


def test_association_marks_missed_detections_lost_and_reacquires():
    from liftflow.tracking.yolo import associate, observations_from_association
    from liftflow.video import VideoInfo

    n = 14
    a = [(30.0 + 5 * i, 60.0 + 2 * i) for i in range(n)]
    dets = [[] if i in (5, 6) else [_det(*a[i])] for i in range(n)]
    seed = SeedCircle(a[0][0], a[0][1], 20.0, frame=0)
    out = associate(dets, seed)
    assert out[5] is None and out[6] is None
    assert all(_is(out[i], *a[i]) for i in range(n) if i not in (5, 6))

    info = VideoInfo("x.mp4", 320, 240, 30.0, n, n / 30, 0, "h264", False,
                     [i / 30 for i in range(n)])
    obs = observations_from_association(out, dets, seed, info)
    assert [o.state for o in obs[4:8]] == [TRACKED, LOST, LOST, TRACKED]
    # bridging short gaps is opt-in, interpolates between real fixes and says so
    obs = observations_from_association(out, dets, seed, info, bridge_gap=2)
    assert obs[5].state == TRACKED and obs[5].extra["predicted"] and obs[5].confidence < 0.3
    assert obs[5].center == pytest.approx(a[5]) and obs[6].center == pytest.approx(a[6])
    obs = observations_from_association(out, dets, seed, info, bridge_gap=1)
    assert obs[5].state == LOST and obs[6].state == LOST  # gap longer than allowed


def test_association_never_jumps_to_a_distractor():
    from liftflow.tracking.yolo import associate

    n = 18
    a = [(40.0 + 3 * i, 80.0) for i in range(n)]
    other = (100.0, 130.0)  # another plate, same size, always detected, ~3 radii away
    dets = []
    for i in range(n):
        d = [_det(*other)]
        if i not in range(8, 12):  # the seeded plate is not detected in 8..11
            d.append(_det(*a[i]))
        if i == 9:  # something small right where the plate should be
            d.append(_det(a[i][0], a[i][1], r=6.0, conf=0.99))
        if i == 10:  # a same-size plate appearing 6 radii away while ours is unseen
            d.append(_det(a[i][0] + 120.0, a[i][1], conf=0.99))
        dets.append(d)
    out = associate(dets, SeedCircle(a[0][0], a[0][1], 20.0, frame=0))
    assert all(out[i] is None for i in range(8, 12)), [out[i] for i in range(8, 12)]
    assert all(_is(out[i], *a[i]) for i in range(n) if i not in range(8, 12))


def test_association_reacquires_after_a_bounce_it_could_not_predict():
    from liftflow.tracking.yolo import associate

    # a dropped plate falls fast, bounces, settles: the bounce is outside the motion gate
    ys = [40.0 + 16 * i for i in range(10)]  # falling 0.8 radius per frame
    ys += [ys[-1] - 14, ys[-1] - 20, ys[-1] - 22] + [ys[-1] - 22] * 9
    n = len(ys)
    dets = [[_det(200.0, y), _det(60.0, 60.0)] for y in ys]  # plus a plate on a rack
    out = associate(dets, SeedCircle(200.0, ys[0], 20.0, frame=0))
    lost = [i for i in range(n) if out[i] is None]
    assert len(lost) <= 2 and all(10 <= i <= 12 for i in lost), lost
    assert all(_is(out[i], 200.0, ys[i]) for i in range(n) if i not in lost)


def test_circle_from_box_uses_the_uncut_side_at_the_border():
    from liftflow.tracking.yolo import circle_from_box

    cx, cy, r, cut = circle_from_box(40, 20, 80, 60, 200, 100)  # inside: mean half-side
    assert (cx, cy, r, cut) == (59.5, 39.5, 20.0, False)
    cx, cy, r, cut = circle_from_box(0, 20, 25, 60, 200, 100)  # cut by the left border
    assert cut and r == 20.0 and cx == pytest.approx(25 - 20 - 0.5) and cy == 39.5


# ----------------------------------------------------------------------------- yolo end to end


def test_yolo_end_to_end_with_random_weights(tmp_path, clip, no_network):
    from liftflow.tracking.yolo import import_ultralytics_offline

    import_ultralytics_offline()
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    # a one-class plate detector built from ultralytics' own yaml, saved as a checkpoint
    model = YOLO("yolo11n.yaml")
    model.model = DetectionModel("yolo11n.yaml", nc=1, verbose=False)
    model.model.names = {0: "plate"}
    model.save(tmp_path / "my-plates.pt")

    settings = settings_with(tmp_path, yolo_disc_weights="my-plates.pt")
    assert backend_status("yolo", settings).reason is None
    assert "yolo-plate.pt" in backend_status("yolo", settings_with(tmp_path)).reason
    tracker = create_tracker("yolo", settings, imgsz=160, max_side=160, conf=0.001, batch=4,
                             cpu_threads=1)
    assert tracker.name == "yolo" and tracker.class_ids == [0]

    info = probe(clip)
    cx, cy = plate_centre(2)
    seed = SeedCircle(cx, cy, R, frame=2)
    obs = tracker.track(str(clip), info, seed)
    check_contract(obs, info, seed)
    assert tracker.decoded_frames == N
    s = obs[seed.frame]
    assert math.hypot(s.center[0] - cx, s.center[1] - cy) <= 0.6 * R  # the seed or its match
    if s.extra["source"] == "seed":
        assert s.center == (cx, cy) and s.radius == R

    # the detector really ran: boxes come back in full-resolution pixels
    dets = tracker.detect_all(str(clip), info)
    assert len(dets) == N and any(dets)
    for frame_dets in dets:
        for d in frame_dets:
            x1, y1, x2, y2 = d.box
            assert -1 <= x1 < x2 <= W + 1 and -1 <= y1 < y2 <= H + 1
            assert 0.0 <= d.conf <= 1.0 and d.r > 0
