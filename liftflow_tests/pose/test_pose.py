"""The pose step: registry and exact reasons, keypoint mapping, joint angles, lifter choice,
the yolo backend with random weights, and MediaPipe on a real clip.

Random YOLO weights cannot find people, so its end-to-end test checks that the real loading
and inference code ran offline and that the output has the contract's shape; lifter choice
is tested on synthetic pose lists (also through estimate_pose with a scripted estimator).
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from liftflow.config import PROJECT_ROOT, get_settings
from liftflow.pose import (
    COCO_KEYPOINTS, MEDIAPIPE_TO_COCO, PersonPose, PoseUnavailable, estimate_pose,
    mediapipe_to_coco, pose_backends,
)
from liftflow.pose.angles import (
    angle_at, bar_pull_window, choose_side, facing, inclination_from_vertical, joint_angles,
    pull_events,
)
from liftflow.pose.keypoints import COCO_INDEX, MEDIAPIPE_KEYPOINT_NAMES, MEDIAPIPE_LANDMARKS
from liftflow.pose.lifter import LifterSelector


def settings_with(models_dir: Path, **kw):
    return dataclasses.replace(get_settings(), models_dir=models_dir.resolve(), device="cpu", **kw)


def req(video="x.mp4", backend="yolo", person=True, stride=1, lift_type=None, **extra):
    return SimpleNamespace(video_path=str(video), pose_backend=backend,
                           enable_person_detection=person, pose_stride=stride,
                           lift_type=lift_type, extra=extra)


def truth_track(path, truth) -> tuple[dict, list[dict]]:
    """The clip's video info and a plate track taken from its exact truth."""
    from liftflow.video import probe

    info = probe(path).to_dict(with_timestamps=True)
    obs = [{"frame": i, "t_s": info["timestamps_s"][i], "state": "tracked",
            "center": [float(truth.x[i]), float(truth.y[i])], "radius": float(truth.r[i])}
           for i in range(info["frame_count"])]
    return info, obs


# ----------------------------------------------------------------------------- registry

def test_pose_package_imports_nothing_heavy():
    code = ("import sys, liftflow.pose as p; p.pose_backends(); "
            "print(sorted(m for m in ('torch', 'mediapipe', 'ultralytics', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_missing_yolo_weights_name_the_absolute_path(tmp_path):
    settings = settings_with(tmp_path / "models")
    by_name = {b["name"]: b for b in pose_backends(settings)}
    assert set(by_name) == {"mediapipe", "yolo"}
    for b in by_name.values():
        assert set(b) == {"name", "available", "reason", "description"} and b["description"]
    want = str((tmp_path / "models" / "yolo11n-pose.pt").resolve())
    assert by_name["yolo"]["available"] is False
    assert want in by_name["yolo"]["reason"] and "weights file not found" in by_name["yolo"]["reason"]
    # a job that asks for it says exactly what is missing (library and pipeline step)
    with pytest.raises(PoseUnavailable, match="yolo11n-pose.pt") as ei:
        estimate_pose(req(backend="yolo"), {"width": 10, "height": 10, "frame_count": 2}, {}, settings)
    assert want in str(ei.value)
    from liftflow.errors import AnalysisError
    from liftflow.pipeline import AnalysisRequest, StepRun, TrackResult, steps
    from liftflow.tracking import SeedCircle
    from liftflow.tracking.table import ObservationTable
    from liftflow.video import VideoInfo

    r = AnalysisRequest(video_path="x.mp4", pose_backend="yolo")
    info = VideoInfo(path="x.mp4", width=10, height=10, fps=30.0, frame_count=2, duration_s=0.07,
                     rotation=0, codec="h264", variable_frame_rate=False, timestamps_s=[0.0, 1 / 30])
    track = TrackResult("replay", SeedCircle(5, 5, 2), ObservationTable(2), seconds=0.0)
    with pytest.raises(AnalysisError) as ei:
        steps.estimate_pose(StepRun.in_folder(tmp_path / "job", r, settings=settings), info, track)
    assert want in str(ei.value)
    # an absolute LIFTFLOW_YOLO_POSE_WEIGHTS is used as is
    other = tmp_path / "elsewhere" / "pose.pt"
    s2 = settings_with(tmp_path, yolo_pose_weights=str(other))
    assert str(other) in {b["name"]: b for b in pose_backends(s2)}["yolo"]["reason"]


def test_unknown_backend_is_refused():
    with pytest.raises(PoseUnavailable, match="unknown pose backend 'openpose'"):
        estimate_pose(req(backend="openpose"), {}, {}, get_settings())


def test_mediapipe_reasons(monkeypatch, tmp_path):
    import liftflow.pose.mediapipe_backend as mpb

    monkeypatch.setattr(mpb, "_package_dir", lambda: None)
    assert "python package 'mediapipe' is not installed" in mpb.availability(get_settings())
    fake = tmp_path / "mediapipe"
    fake.mkdir()
    monkeypatch.setattr(mpb, "_package_dir", lambda: fake)
    reason = mpb.availability(get_settings())
    assert str((fake / mpb.MODEL_FILES[0]).resolve()) in reason and "0.10.14" in reason


def test_person_only_prefers_mediapipe_then_yolo(monkeypatch, tmp_path):
    import liftflow.pose.mediapipe_backend as mpb
    import liftflow.pose.yolo_backend as yb
    from liftflow.pose.pipeline import resolve_backend

    monkeypatch.setattr(mpb, "availability", lambda s: None)
    assert resolve_backend(req(backend="off"), get_settings()) == ("mediapipe", False)
    assert resolve_backend(req(backend="yolo"), get_settings()) == ("yolo", True)
    monkeypatch.setattr(mpb, "availability", lambda s: "mediapipe missing")
    monkeypatch.setattr(yb, "availability", lambda s: None)
    assert resolve_backend(req(backend="off"), get_settings()) == ("yolo", False)
    monkeypatch.setattr(yb, "availability", lambda s: "weights missing at /x/y.pt")
    with pytest.raises(PoseUnavailable, match="mediapipe: mediapipe missing; yolo: weights missing at /x/y.pt"):
        resolve_backend(req(backend="off"), get_settings())


# ----------------------------------------------------------------------------- keypoints

def test_mediapipe_to_coco_order():
    lm = np.array([[i, 100 + i, i / 100.0] for i in range(33)], dtype=float)
    coco = mediapipe_to_coco(lm, keep_all=False)
    assert coco.shape == (17, 3)
    # nose, eyes (centre points, not inner/outer), ears, shoulders, elbows, wrists, hips, knees, ankles
    assert coco[:, 0].astype(int).tolist() == [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    assert np.allclose(coco[:, 1], coco[:, 0] + 100) and np.allclose(coco[:, 2], coco[:, 0] / 100)
    full = mediapipe_to_coco(lm)
    assert full.shape == (33, 3) and np.array_equal(full[:17], coco)
    assert sorted(full[:, 0].astype(int).tolist()) == list(range(33))  # nothing lost, nothing twice
    for j, name in enumerate(MEDIAPIPE_KEYPOINT_NAMES):
        assert MEDIAPIPE_LANDMARKS[int(full[j, 0])] == name
    assert MEDIAPIPE_KEYPOINT_NAMES[:17] == COCO_KEYPOINTS
    assert tuple(MEDIAPIPE_LANDMARKS[i] for i in MEDIAPIPE_TO_COCO) == COCO_KEYPOINTS
    with pytest.raises(ValueError):
        mediapipe_to_coco(np.zeros((17, 3)))


def test_mediapipe_mirror_swaps_left_and_right():
    from liftflow.pose.keypoints import MEDIAPIPE_MIRROR

    names = MEDIAPIPE_LANDMARKS
    assert all(MEDIAPIPE_MIRROR[MEDIAPIPE_MIRROR[i]] == i for i in range(len(names)))
    assert names[MEDIAPIPE_MIRROR[names.index("nose")]] == "nose"
    for i, n in enumerate(names):
        if "left" in n:
            assert names[MEDIAPIPE_MIRROR[i]] == n.replace("left", "right")


# ----------------------------------------------------------------------------- angles

def pose_from(points: dict, conf: float = 0.9, n: int = 17) -> np.ndarray:
    k = np.zeros((n, 3))
    for name, (x, y) in points.items():
        k[COCO_INDEX[name]] = (x, y, conf)
    return k


def test_angle_primitives():
    assert angle_at((0, 0), (0, 10), (10, 10)) == pytest.approx(90.0)
    assert angle_at((0, 0), (0, 10), (0, 20)) == pytest.approx(180.0)
    assert angle_at((10, 0), (0, 0), (10, 10 * math.tan(math.radians(30)))) == pytest.approx(30.0)
    assert angle_at((0, 0), (0, 0), (1, 1)) is None
    assert inclination_from_vertical((0, 0), (0, -10)) == pytest.approx(0.0)  # upright
    assert inclination_from_vertical((0, 0), (10, -10)) == pytest.approx(45.0)
    assert inclination_from_vertical((0, 0), (-10, 0)) == pytest.approx(90.0)  # horizontal


def test_joint_angles_on_hand_computed_geometry():
    # right side, image y down: a squat-like pose
    k = pose_from({
        "right_shoulder": (30, -40), "right_hip": (0, 0), "right_knee": (40, 0),
        "right_ankle": (40, 40), "right_elbow": (30, -10), "right_wrist": (60, -10),
    })
    a = joint_angles(k, "right")
    assert a["knee_deg"] == pytest.approx(90.0)  # thigh horizontal, shin vertical
    # hip: shoulder-hip-knee, vectors (30,-40) and (40,0): cos = 1200 / (50 * 40)
    assert a["hip_deg"] == pytest.approx(math.degrees(math.acos(0.6)))
    assert a["elbow_deg"] == pytest.approx(90.0)
    assert a["trunk_deg"] == pytest.approx(math.degrees(math.atan2(30, 40)))
    # left side absent: all None; a low-confidence knee blanks the angles that need it
    assert all(v is None for v in joint_angles(k, "left").values())
    k2 = k.copy()
    k2[COCO_INDEX["right_knee"], 2] = 0.1
    a2 = joint_angles(k2, "right")
    assert a2["knee_deg"] is None and a2["hip_deg"] is None and a2["elbow_deg"] == pytest.approx(90.0)
    assert choose_side([k, k]) == "right"


def test_facing_from_nose_and_ears():
    right = pose_from({"nose": (110, 0), "right_ear": (100, 0)})
    left = pose_from({"nose": (90, 0), "left_ear": (100, 0)})
    assert facing([right] * 3) == "right" and facing([left] * 3) == "left"
    assert facing([pose_from({})]) is None


def test_pull_events_on_a_double_knee_bend():
    t = np.arange(0, 2.0, 1 / 30)
    # knee: 80 deg at lift-off, extends to 150 at 0.5 s, re-bends to 130 at 0.7 s, 170 at 0.9 s,
    # then drops to 60 in the catch at 1.4 s and recovers
    knee = np.interp(t, [0, 0.5, 0.7, 0.9, 1.4, 1.9], [80, 150, 130, 170, 60, 175])
    hip = np.interp(t, [0, 0.5, 0.7, 0.9, 1.4, 1.9], [50, 110, 140, 185, 70, 175])
    ev = pull_events(t, knee, hip, (0.0, 0.95, 1.0))
    assert ev["knee_extension_max_s"] == pytest.approx(0.5, abs=0.05) == ev["first_pull_end_s"]
    assert ev["knee_rebend_max_s"] == pytest.approx(0.7, abs=0.05) == ev["second_pull_start_s"]
    assert ev["hip_extension_max_s"] == pytest.approx(0.9, abs=0.05)
    assert ev["catch_s"] == pytest.approx(1.4, abs=0.05)
    assert 1.4 < ev["recovery_end_s"] <= 1.9
    # missing samples are interpolated, not invented beyond the data
    knee_gaps = [None if i % 4 == 1 else float(v) for i, v in enumerate(knee)]
    ev2 = pull_events(t, knee_gaps, hip, (0.0, 0.95, 1.0))
    assert ev2["knee_extension_max_s"] == pytest.approx(0.5, abs=0.07)
    assert pull_events(t[:3], knee[:3], hip[:3], (0, 0.9, 1)) == {}
    # knees that extend without a re-bend before the bar's peak speed: no knee events (a bend
    # after it is the pull under the bar), the hip maximum still
    mono = np.interp(t, [0, 0.9, 1.1, 1.4, 1.9], [80, 170, 130, 60, 175])
    ev3 = pull_events(t, mono, hip, (0.0, 0.9, 1.0))
    assert "knee_extension_max_s" not in ev3 and "knee_rebend_max_s" not in ev3
    assert ev3["hip_extension_max_s"] == pytest.approx(0.9, abs=0.05)


def test_bar_pull_window_from_track():
    t = np.arange(0, 3, 1 / 30)
    # bar rests at y=500 (r=40), lifts off at 1.0 s, peaks at 1.6 s (y=300), then a second,
    # higher rise (a jerk) later must not count as the pull
    y = np.interp(t, [0, 1.0, 1.6, 2.0, 2.4, 2.9], [500, 500, 300, 340, 340, 150])
    obs = [{"frame": i, "t_s": float(tt), "state": "tracked", "center": [100.0, float(yy)], "radius": 40.0}
           for i, (tt, yy) in enumerate(zip(t, y))]
    t0, tv, tp = bar_pull_window(obs)
    assert t0 == pytest.approx(1.0, abs=0.07) and tp == pytest.approx(1.6, abs=0.05)
    assert t0 < tv < tp
    assert bar_pull_window(obs[:20]) is None  # never rises


# ----------------------------------------------------------------------------- lifter choice

def person(cx: float, wrist: tuple[float, float], w: float = 60, h: float = 160, conf: float = 0.9):
    k = np.zeros((17, 3))
    k[:, 0], k[:, 1], k[:, 2] = cx, 100, conf
    k[COCO_INDEX["left_wrist"]] = (*wrist, conf)
    k[COCO_INDEX["right_wrist"]] = (*wrist, conf)
    return PersonPose(k, (cx - w / 2, 20, cx + w / 2, 20 + h), 0.9)


def test_lifter_is_the_one_holding_the_bar_and_never_jumps():
    sel = LifterSelector()
    bar = (200.0, 100.0, 30.0)
    lifter_x, by_x = 200.0, 420.0
    chosen = []
    for f in range(60):
        lx = lifter_x + (f % 5)  # small sway
        lifter = person(lx, (bar[0] + 10, bar[1] + 5))
        bystander = person(by_x, (by_x + 20, 120))
        people = [bystander, lifter]
        b = bar
        if 10 <= f < 15:  # plate lost: continuity only
            b = None
        if 20 <= f < 25:  # a spotter reaches for the bar (wrist near it) while the lifter holds it
            bystander = person(by_x - 100, (bar[0] - 20, bar[1]))
            people = [bystander, lifter]
        if 30 <= f < 35:  # the lifter is not detected; the bystander alone must not be taken
            people = [person(by_x, (by_x + 20, 120))]
        if 40 <= f < 45:  # bar dropped: the lifter's hands leave it, the lifter stays the lifter
            lifter = person(lx, (lx, 60))
            people = [bystander, lifter]
        p, how = sel.choose(f, people, b)
        chosen.append((f, p, how))
    for f, p, how in chosen:
        if 30 <= f < 35:
            assert p is None, f
        else:
            assert p is not None and abs((p.box[0] + p.box[2]) / 2 - lifter_x) < 10, (f, how)
    assert {how for f, p, how in chosen if 10 <= f < 15} == {"continues"}


def test_lifter_not_started_on_a_bystander():
    sel = LifterSelector()
    bar = (200.0, 100.0, 30.0)
    p, how = sel.choose(0, [person(420, (440, 120))], bar)
    assert p is None and how == "nobody holds the bar"
    p, how = sel.choose(1, [person(420, (440, 120))], None)
    assert p is None
    p, how = sel.choose(2, [person(420, (440, 120)), person(200, (205, 100))], bar)
    assert how == "holds_bar" and p.box[0] == pytest.approx(170)


def test_a_person_the_plate_passes_beside_is_not_a_holder():
    """competition-snatch: a big plate rising in front of a seated person puts it near their
    hands, but beside their body; they must not start (or carry) the lifter's track."""
    sel = LifterSelector()
    bar = (200.0, 100.0, 60.0)
    seated = person(260, (235, 110), w=50)  # wrists 0.6 r from the plate centre, box 235-285
    p, how = sel.choose(0, [seated], bar)
    assert p is None and how == "nobody holds the bar"
    lifter = person(190, (205, 95))
    p, how = sel.choose(1, [seated, lifter], bar)
    assert how == "holds_bar" and p is lifter


def test_holds_bar_share_proxy():
    from liftflow.bench.pose import holds_bar_share

    def entry(x1, x2, wrist):
        k = [[0.0, 0.0, 0.0]] * 17
        k[9] = k[10] = [*wrist, 0.1]  # a hidden wrist's guess counts
        return {"bbox": {"x1": x1, "y1": 0, "x2": x2, "y2": 300}, "keypoints": k}

    # the bar rises to y=50 by frame 2 and is dropped at frame 4 (r = 20)
    ys = [250, 150, 50, 55, 200, 280]
    track = {"observations": [{"frame": i, "state": "tracked", "center": [100.0, y], "radius": 20.0}
                              for i, y in enumerate(ys)]}
    frames = {"0": entry(60, 140, (110, 250)), "1": entry(60, 140, (105, 160)),
              "2": entry(110, 200, (120, 60)),  # plate centre beside the box: not holding
              "3": entry(60, 140, (100, 130)),  # wrist 3.75 r away: not holding
              "4": entry(60, 140, (300, 300)), "5": entry(60, 140, (300, 300))}
    pose = {"person_track": {"frames": frames}}
    assert holds_bar_share(pose, track, "squat") == pytest.approx(2 / 6)
    assert holds_bar_share(pose, track, "snatch") == pytest.approx(2 / 4)  # after the drop: left out
    assert holds_bar_share({"person_track": None}, track) is None


class SingleLostEstimator:
    """A single-person backend whose tracked view has lost the lifter and whose one-off look
    (``estimate_static``) at the whole view finds nobody: only a crop around the bar (narrower
    than ``full_width``) finds the lifter, whose wrists are on the plate."""

    name, multi_person = "single", False
    model_info = {"name": "single", "keypoint_format": "coco17", "keypoint_names": list(COCO_KEYPOINTS)}

    def __init__(self, bars: dict, stride: int, full_width: float):
        self.bars, self.stride, self.full = bars, stride, full_width
        self.frame = -stride
        self.static_widths: list[float] = []
        self.mirrored: list[bool] = []

    def estimate(self, image, roi=None):
        self.frame += self.stride  # called once per processed frame, first
        return []

    def estimate_static(self, image, roi=None, mirror=False):
        w = image.shape[1] if roi is None else roi[2] - roi[0]
        self.static_widths.append(w)
        self.mirrored.append(mirror)
        if w >= self.full:
            return []
        cx, cy = self.bars[self.frame]
        return [person(cx, (cx, cy), w=0.3 * image.shape[1], h=0.8 * image.shape[0])]

    def reset(self):
        pass

    def close(self):
        pass


def test_second_look_finds_the_lifter_the_tracker_lost(monkeypatch, synth_clip):
    import liftflow.pose.pipeline as pl

    path, truth = synth_clip
    info, obs = truth_track(path, truth)
    est = SingleLostEstimator({o["frame"]: o["center"] for o in obs}, 5, 0.99 * info["width"])
    monkeypatch.setattr(pl, "create_estimator", lambda name, settings, **o: est)
    out = estimate_pose(req(path, backend="mediapipe", stride=5), info, {"observations": obs}, get_settings())
    st = out["stats"]
    assert st["frames_with_person"] == st["frames_processed"] > 0
    assert sum(st["found_in_second_look"].values()) == st["frames_processed"]
    assert not {"redetect", "redetect_mirrored"} & set(st["found_in_second_look"])
    assert all("_bar_crop_" in e["selected_by"] for e in out["person_track"]["frames"].values())
    # per frame the whole view is looked at again first, as filmed and mirrored, then a crop
    # finds the lifter
    assert est.static_widths[0] >= est.full and est.static_widths[1] >= est.full
    assert est.mirrored[:3] == [False, True, False] and est.static_widths[2] < est.full
    assert len(est.static_widths) == 3 * st["frames_processed"]


class ScriptedEstimator:
    """Two people per frame: a bystander and the lifter whose wrists follow the plate."""

    name, multi_person = "scripted", True
    model_info = {"name": "scripted", "keypoint_format": "coco17", "keypoint_names": list(COCO_KEYPOINTS)}

    def __init__(self, bars_by_shape):
        self.calls = 0

    def estimate(self, image, roi=None):
        self.calls += 1
        h, w = image.shape[:2]
        return [person(0.85 * w, (0.9 * w, 0.5 * h), w=0.1 * w, h=0.6 * h),
                person(self.cx * w, (self.cx * w, self.cy * h), w=0.3 * w, h=0.8 * h)]

    def reset(self):
        pass

    def close(self):
        self.closed = True


def test_estimate_pose_streams_strides_and_builds_the_contract(monkeypatch, synth_clip):
    from liftflow.contract import build_result
    import liftflow.pose.pipeline as pl

    path, truth = synth_clip
    info, obs = truth_track(path, truth)
    n = info["frame_count"]
    est = ScriptedEstimator(None)
    # the lifter's wrists sit on the plate centre in every frame (image fraction)
    est.cx, est.cy = float(np.median(truth.x)) / info["width"], float(np.median(truth.y)) / info["height"]
    monkeypatch.setattr(pl, "create_estimator", lambda name, settings, **o: est)
    progress = []
    out = estimate_pose(req(path, backend="yolo", stride=3), info, {"observations": obs},
                        get_settings(), lambda f, m: progress.append(f))
    st = out["stats"]
    assert st["frames_processed"] == est.calls == len(range(0, n, 3))
    assert st["frames_with_person"] == st["frames_processed"]
    track = out["person_track"]
    assert set(track["frames"]) == {str(i) for i in range(0, n, 3)}
    for e in track["frames"].values():
        assert set(e["bbox"]) == {"x1", "y1", "x2", "y2"} and 0 <= e["confidence"] <= 1
        assert len(e["keypoints"]) == 17 and all(len(k) == 3 for k in e["keypoints"])
        cx = (e["bbox"]["x1"] + e["bbox"]["x2"]) / 2
        assert abs(cx - est.cx * info["width"]) < 3  # always the lifter, never the bystander
    ja = out["joint_angles"]
    assert ja["frames"] == list(range(0, n, 3)) and len(ja["knee_deg"]) == len(ja["frames"])
    assert progress and all(0 <= f <= 1 for f in progress) and est.closed
    result = build_result("job", info, obs, None, pose=out)
    people = [t for t in result["tracks"] if t["class_name"] == "person"]
    assert len(people) == 1 and people[0]["track_id"] == 2
    assert result["joint_angles"]["side"] in ("left", "right") and result["pose_model"]["stride"] == 3
    # person boxes only (pose off): no keypoints, no angles
    out2 = estimate_pose(req(path, backend="off", stride=5), info, {"observations": obs}, get_settings())
    assert out2["person_track"] and all("keypoints" not in e for e in out2["person_track"]["frames"].values())
    assert "joint_angles" not in out2 and out2["events"] == {}
    assert "joint_angles" not in build_result("job", info, obs, None, pose=out2)
    # no plate tracked anywhere: the largest person, marked as such
    out3 = estimate_pose(req(path, backend="yolo", stride=10), info, {"observations": []}, get_settings())
    sel = {e["selected_by"] for e in out3["person_track"]["frames"].values()}
    assert sel == {"largest_person_no_bar"}
    assert out3["events"] == {}


# ----------------------------------------------------------------------------- yolo, random weights

def test_yolo_end_to_end_with_random_weights(tmp_path, synth_clip, no_network):
    from liftflow.contract import build_result
    from liftflow.pose.testing import write_random_yolo_pose_weights

    weights = write_random_yolo_pose_weights(tmp_path / "models" / "yolo11n-pose.pt")
    settings = settings_with(tmp_path / "models")
    assert {b["name"]: b for b in pose_backends(settings)}["yolo"]["available"]
    from liftflow.pose.registry import create_estimator

    # the helper records a small training size, which the backend uses by default
    assert create_estimator("yolo", settings).model_info["imgsz"] == 160
    path, truth = synth_clip
    info, obs = truth_track(path, truth)
    n = info["frame_count"]
    stride = 4
    out = estimate_pose(req(path, backend="yolo", stride=stride, lift_type="squat",
                            pose_options={"imgsz": 160, "conf": 0.001, "cpu_threads": 1}),
                        info, {"observations": obs}, settings)
    assert out["backend"] == "yolo" and out["enabled"]
    assert out["pose_model"]["keypoint_format"] == "coco17" and out["pose_model"]["weights"] == str(weights)
    st = out["stats"]
    assert st["frames_processed"] == len(range(0, n, stride)) and st["ms_per_frame"] > 0
    for e in ((out["person_track"] or {}).get("frames") or {}).values():
        assert len(e["keypoints"]) == 17 and e["bbox"]["x1"] <= e["bbox"]["x2"]
    assert len(out["joint_angles"]["time_s"]) == st["frames_processed"]
    assert out["events"] == {}  # a squat: no pull phases
    build_result("job", info, obs, None, pose=out)  # validates
    # the pipeline step with the real registry: the weights are found, the job runs
    from liftflow.pipeline import AnalysisRequest, StepRun, TrackResult, steps
    from liftflow.tracking import SeedCircle
    from liftflow.tracking.table import ObservationTable
    from liftflow.video import VideoInfo

    r = AnalysisRequest(video_path=str(path), pose_backend="yolo", pose_stride=8,
                        extra={"pose_options": {"imgsz": 128, "cpu_threads": 1}})
    track = TrackResult("replay", SeedCircle(*obs[0]["center"], obs[0]["radius"]),
                        ObservationTable.from_observations({**o, "confidence": 1.0} for o in obs),
                        seconds=0.0)
    pose, _ = steps.estimate_pose(StepRun.in_folder(tmp_path / "job", r, settings=settings),
                                  VideoInfo(**info), track)
    assert pose.data["stats"]["frames_processed"] == len(range(0, n, 8))


def test_yolo_refuses_a_detection_checkpoint(tmp_path, no_network):
    from liftflow.pose.yolo_backend import import_ultralytics_offline
    from liftflow.pose.registry import create_estimator

    import_ultralytics_offline()
    from ultralytics import YOLO

    YOLO("yolo11n.yaml").save(tmp_path / "yolo11n-pose.pt")
    with pytest.raises(PoseUnavailable, match="'detect' model; a pose model is needed"):
        create_estimator("yolo", settings_with(tmp_path))


# ----------------------------------------------------------------------------- mediapipe, real clip

def test_mediapipe_mirrored_look_maps_back_to_the_body(real_data, manifest):
    """A look at the mirrored view returns the pose in the view as filmed: the keypoints on the
    body where the look as filmed puts them (without the flip back they are a body's width
    or more away). Left and right swap: test_mediapipe_mirror_swaps_left_and_right."""
    from liftflow.pose.registry import create_estimator
    from liftflow.video import iter_frames

    video = real_data / manifest["dave-clean"]["file"]
    img = next(f.image for f in iter_frames(str(video), max_side=720) if f.index == 0)
    est = create_estimator("mediapipe", get_settings())
    try:
        plain, mirrored = est.estimate_static(img), est.estimate_static(img, mirror=True)
    finally:
        est.close()
    assert len(plain) == len(mirrored) == 1
    a, b = plain[0].keypoints, mirrored[0].keypoints
    ok = (a[:, 2] > 0.5) & (b[:, 2] > 0.5)
    assert ok.sum() >= 10
    height = plain[0].box[3] - plain[0].box[1]
    err = np.median(np.hypot(*(a[ok, :2] - b[ok, :2]).T))
    unflipped = np.median(np.abs(a[ok, 0] - (img.shape[1] - b[ok, 0])))
    assert err < 0.08 * height < unflipped, (err, height, unflipped)
    assert abs(mirrored[0].box[0] - plain[0].box[0]) < 0.1 * height

def test_mediapipe_finds_the_lifter_on_a_real_clip(real_data, manifest):
    from liftflow.contract import build_result
    from liftflow.bench.pose import track_from_gt
    from liftflow.pose.lifter import hand_to_bar
    from liftflow.video import probe

    reason = {b["name"]: b for b in pose_backends(get_settings())}["mediapipe"]["reason"]
    assert reason is None, f"mediapipe backend unavailable: {reason}"
    row = manifest["dave-clean"]
    video = real_data / row["file"]
    info = probe(video).to_dict(with_timestamps=True)
    track = track_from_gt(real_data / row["gt"], info["timestamps_s"])
    out = estimate_pose(req(video, backend="mediapipe", stride=2, lift_type="clean"), info, track,
                        get_settings())
    st = out["stats"]
    assert st["frames_with_person"] >= 0.9 * st["frames_processed"], st
    frames = out["person_track"]["frames"]
    bars = {o["frame"]: (*o["center"], o["radius"]) for o in track["observations"] if o["center"]}
    for idx, e in frames.items():
        k = np.array(e["keypoints"])
        assert k.shape == (33, 3)
        b = e["bbox"]
        good = k[k[:, 2] >= 0.5]
        inside = ((good[:, 0] >= b["x1"]) & (good[:, 0] <= b["x2"]) & (good[:, 1] >= b["y1"]) & (good[:, 1] <= b["y2"]))
        assert inside.all()
        # anatomy in image space: the nose above the hips, hips above the ankles
        assert k[COCO_INDEX["nose"], 1] < k[COCO_INDEX["left_hip"], 1] < k[COCO_INDEX["left_ankle"], 1] + 1
        if int(idx) in bars and e["selected_by"] == "holds_bar":
            assert hand_to_bar(PersonPose(k, (0, 0, 0, 0), 1.0), bars[int(idx)]) <= 2.5
    ja = out["joint_angles"]
    knee = [v for v in ja["knee_deg"] if v is not None]
    assert len(knee) >= 0.8 * len(ja["frames"]) and min(knee) < 110 and max(knee) > 150
    assert out["events"].get("facing") == "right"  # Dave faces right in the clip
    ev = out["events"]
    assert "hip_extension_max_s" in ev and "catch_s" in ev  # this clean shows no clear knee re-bend
    assert info["timestamps_s"][0] <= ev["hip_extension_max_s"] < ev["catch_s"] <= info["timestamps_s"][-1]
    result = build_result("job", info, track["observations"], None, pose=out)
    assert [t["class_name"] for t in result["tracks"]] == ["frisbee", "person"]
