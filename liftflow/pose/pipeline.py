"""estimate_pose: stream the video, find the lifter per frame, keypoints, joint angles, events.

Frames are decoded one at a time (``liftflow.video.iter_frames``, downscaled to
``max_side`` during colour conversion) and pose runs on every ``pose_stride``-th frame;
only per-frame keypoints are kept, so memory is bounded by the keypoint arrays (a few KB
per frame), never by the pixels.

Modes: ``pose_backend`` "mediapipe" | "yolo" gives the person track with keypoints, joint
angles and (snatch, clean, clean and jerk) pull events, whether or not
``enable_person_detection`` is set (keypoints ride with the person track). ``pose_backend``
"off" with ``enable_person_detection``: person boxes only, from the first available of
mediapipe (no weights needed), yolo. Options ride in ``req.extra``: ``pose_max_side``
(decode size, default 720 for mediapipe, 960 for yolo) and ``pose_options`` (backend
options, e.g. ``{"imgsz": 320, "conf": 0.3}`` for yolo).
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from liftflow.pose.angles import (
    bar_pull_window, choose_side, facing, joint_angles, pull_events,
)
from liftflow.pose.base import PersonPose
from liftflow.pose.keypoints import COCO_SKELETON, head_box
from liftflow.pose.lifter import LifterSelector, hand_to_bar
from liftflow.pose.registry import create_estimator, person_only_backend
from liftflow.progress import ProgressFn, report

POSE_OFF = "off"
OLYMPIC = ("snatch", "clean", "clean_and_jerk")
DEFAULT_MAX_SIDE = {"mediapipe": 720, "yolo": 960}
ROI_MARGIN_R = 6.0  # the lifter stands within this many plate radii of the bar's path (x)


def _r(v: float, nd: int = 2) -> float:
    return round(float(v), nd)


def bar_by_frame(track: Optional[dict]) -> dict[int, tuple[float, float, float]]:
    out = {}
    for o in (track or {}).get("observations", []) or []:
        if o.get("state") == "tracked" and o.get("center") is not None and o.get("radius"):
            out[int(o["frame"])] = (float(o["center"][0]), float(o["center"][1]), float(o["radius"]))
    return out


def lifter_roi(bars: dict, width: int, height: int, margin_r: float = ROI_MARGIN_R):
    """A fixed region (full-res pixels) around the bar's horizontal path, full height; None
    without a tracked bar. Fixed for the whole clip so a tracking backend keeps its ROI."""
    if not bars:
        return None
    xs = np.array([b[0] for b in bars.values()])
    r = float(np.median([b[2] for b in bars.values()]))
    x1 = max(0.0, float(np.percentile(xs, 2)) - margin_r * r)
    x2 = min(float(width), float(np.percentile(xs, 98)) + margin_r * r)
    return (x1, 0.0, x2, float(height))


MAX_RETRIES = 3  # per frame: people hidden one after the other until the lifter shows
AVOID_S = 2.0  # how long a rejected person's head stays hidden from a single-person backend
# Second looks of a single-person backend on a frame where the tracked view gave no lifter,
# tried in order until one finds someone holding (or continuing) the bar: a fresh detection
# of the whole region with no head hidden (the tracker may have lost the lifter after a fast
# move, or a hidden head was the lifter's), the same region mirrored (BlazePose's detector
# is not mirror-symmetric: on competition-snatch it finds the crouched lifter of the first
# pull there, frames 12-19, where nothing else does), then body-sized crops around the bar, in plate
# radii (left, right, up, down): the body below a bar overhead (catch, jerk) and the body
# above and beside a low bar (setup, first pull). On competition-snatch (seated people right
# behind the lifter) the fresh look finds the lifter in most of the catch and the
# overhead squat, the crops in part of the setup; MediaPipe's detector misses a lifter that
# is small in a wide view (its input is 224 px), so a tighter crop is a different look.
BAR_CROPS_R = ((3.0, 3.0, 3.0, 7.0), (4.0, 4.0, 6.0, 2.0))


def _masked(img: np.ndarray, boxes: list, s: float) -> np.ndarray:
    """A copy of ``img`` with each full-res box (scaled by ``s``) filled with flat grey."""
    out = img.copy()
    h, w = out.shape[:2]
    for b in boxes:
        x1, y1 = max(0, int(b[0] * s)), max(0, int(b[1] * s))
        x2, y2 = min(w, int(np.ceil(b[2] * s))), min(h, int(np.ceil(b[3] * s)))
        if x2 > x1 and y2 > y1:
            out[y1:y2, x1:x2] = 128
    return out


def _overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _second_look(est, image: np.ndarray, s: float, roi, bar, size: tuple[int, int],
                 selector: LifterSelector, frame: int):
    """(person, how, look name) from the one-off looks of ``BAR_CROPS_R`` (see there); (None,
    reason, "") when none finds the lifter. Full-view look first: it costs one detection and
    finds most; the crops need the bar."""
    W, H = size
    looks = [("redetect", roi, False), ("redetect_mirrored", roi, True)]
    if bar is not None:
        cx, cy, r = bar
        for a, b, u, d in BAR_CROPS_R:
            crop = (max(0.0, cx - a * r), max(0.0, cy - u * r), min(float(W), cx + b * r), min(float(H), cy + d * r))
            looks.append((f"bar_crop_{a:g}_{b:g}_{u:g}_{d:g}", tuple(v * s for v in crop), False))
    how = "nobody in view"
    for name, region, mirror in looks:
        found = est.estimate_static(image, region, mirror=True) if mirror else est.estimate_static(image, region)
        cand = [p.scaled(s) for p in found]
        person, how = selector.choose(frame, cand, bar)
        if person is not None:
            return person, f"{how}_{name}", name
    return None, how, ""


def resolve_backend(req, settings) -> tuple[str, bool]:
    """(backend name, keypoints wanted). pose_backend "off" + person detection: boxes only
    from the first available of mediapipe, yolo."""
    name = (req.pose_backend or POSE_OFF).lower()
    if name == POSE_OFF:
        return person_only_backend(settings), False
    return name, True


def _entry(p: PersonPose, with_keypoints: bool, how: str) -> dict:
    x1, y1, x2, y2 = p.box
    e = {"bbox": {"x1": _r(x1), "y1": _r(y1), "x2": _r(x2), "y2": _r(y2)},
         "confidence": _r(min(1.0, max(0.0, p.score)), 3), "selected_by": how}
    if with_keypoints:
        e["keypoints"] = [[_r(k[0], 1), _r(k[1], 1), _r(min(1.0, max(0.0, k[2])), 3)]
                          for k in np.asarray(p.keypoints)]
    return e


def estimate_pose(req, video_info: dict, track: dict, settings, progress: Optional[ProgressFn] = None) -> dict:
    from liftflow.video import iter_frames

    t_start = time.perf_counter()
    name, want_kps = resolve_backend(req, settings)
    extra = dict(getattr(req, "extra", None) or {})
    options = dict(extra.get("pose_options") or {})
    est = create_estimator(name, settings, **options)
    stride = max(1, int(getattr(req, "pose_stride", 1) or 1))
    max_side = int(extra.get("pose_max_side") or DEFAULT_MAX_SIDE.get(name, 960))
    W, H = int(video_info["width"]), int(video_info["height"])
    n = int(video_info["frame_count"])
    ts = list(video_info.get("timestamps_s") or [])
    bars = bar_by_frame(track)
    roi_full = lifter_roi(bars, W, H)
    selector = LifterSelector()
    frames: dict[str, dict] = {}
    trajectory: list[list[float]] = []
    kept_frames: list[int] = []
    kept_kps: list[np.ndarray] = []
    processed: list[int] = []
    with_person = 0
    avoid: list[tuple[tuple, int]] = []  # (full-res head box, last frame it stays hidden)
    avoid_frames = int(round(AVOID_S * float(video_info.get("fps") or 30.0)))
    retries = 0
    second_hits: dict[str, int] = {}  # second look -> frames it found the lifter
    kept_seg: list[int] = []
    t_model = 0.0
    report(progress, 0.0, f"pose ({name}) on every {'' if stride == 1 else f'{stride}th '}frame")
    try:
        for fr in iter_frames(req.video_path, max_side=max_side):
            if fr.index % stride:
                continue
            processed.append(fr.index)
            s = fr.scale
            roi = None if roi_full is None else tuple(v * s for v in roi_full)
            bar = bars.get(fr.index)
            t0 = time.perf_counter()
            avoid = [a for a in avoid if a[1] >= fr.index]
            img = _masked(fr.image, [a[0] for a in avoid], s) if avoid else fr.image
            people = [p.scaled(s) for p in est.estimate(img, roi)]
            person, how = selector.choose(fr.index, people, bar)
            tries = 0
            while (person is None and not est.multi_person and bar is not None and people
                   and tries < MAX_RETRIES
                   and selector.hold_r < hand_to_bar(people[0], bar) < float("inf")
                   and not selector.continues(people[0], fr.index)):
                # a single-person model found someone who is not the lifter (a bystander's
                # face is easier to see): hide that head for a while, forget the tracked
                # region and look again
                avoid.append((head_box(people[0].keypoints, people[0].box), fr.index + avoid_frames))
                retries += 1
                tries += 1
                est.reset()
                img = _masked(fr.image, [a[0] for a in avoid], s)
                people = [p.scaled(s) for p in est.estimate(img, roi)]
                person, how = selector.choose(fr.index, people, bar)
            if person is None and tries:
                est.reset()  # do not let the tracker lock onto someone else
            if person is None and bars and not est.multi_person and hasattr(est, "estimate_static"):
                person, how, look = _second_look(est, fr.image, s, roi, bar, (W, H), selector, fr.index)
                if person is not None:
                    second_hits[look] = second_hits.get(look, 0) + 1
            if person is None and not bars and people:
                # no plate tracked anywhere in the clip: nobody can be seen holding the bar;
                # take the largest person (documented fallback, marked as such)
                person = max(people, key=lambda p: (p.box[2] - p.box[0]) * (p.box[3] - p.box[1]))
                how = "largest_person_no_bar"
            if person is not None and avoid:
                hb = head_box(person.keypoints, person.box)
                avoid = [a for a in avoid if not _overlaps(a[0], hb)]
            t_model += time.perf_counter() - t0
            if person is not None:
                frames[str(fr.index)] = _entry(person, want_kps, how)
                kept_frames.append(fr.index)
                kept_kps.append(np.asarray(person.keypoints, dtype=float))
                kept_seg.append(selector.segment if how.startswith(("holds_bar", "continues")) else -1)
                with_person += 1
            if len(processed) % 10 == 0:
                report(progress, min(0.99, (fr.index + 1) / max(1, n)),
                       f"pose: frame {fr.index + 1}/{n}, lifter found in {with_person}/{len(processed)}")
    finally:
        est.close()
    # drop the segments whose person never really held the bar (see lifter.py)
    rejected = sorted({g for g in kept_seg if g >= 0 and not selector.accepted(g)})
    if rejected:
        keep = [j for j, g in enumerate(kept_seg) if g not in rejected]
        for j, i in enumerate(kept_frames):
            if kept_seg[j] in rejected:
                frames.pop(str(i), None)
        kept_frames = [kept_frames[j] for j in keep]
        kept_kps = [kept_kps[j] for j in keep]
        with_person = len(kept_frames)
    for i in kept_frames:
        b = frames[str(i)]["bbox"]
        trajectory.append([_r((b["x1"] + b["x2"]) / 2), _r((b["y1"] + b["y2"]) / 2)])
    elapsed = time.perf_counter() - t_start
    person_track = None
    if frames:
        person_track = {"track_id": 2, "frames": frames, "trajectory": trajectory}

    def t_of(i: int) -> float:
        return float(ts[i]) if i < len(ts) else i / float(video_info.get("fps") or 30.0)

    side = choose_side(kept_kps)
    angles = {"frames": [], "time_s": [], "knee_deg": [], "hip_deg": [], "elbow_deg": [],
              "trunk_deg": [], "side": side}
    by_frame = dict(zip(kept_frames, kept_kps))
    for i in processed:
        angles["frames"].append(i)
        angles["time_s"].append(_r(t_of(i), 4))
        a = joint_angles(by_frame[i], side) if i in by_frame else {}
        for key in ("knee_deg", "hip_deg", "elbow_deg", "trunk_deg"):
            v = a.get(key)
            angles[key].append(None if v is None else _r(v, 1))
    face = facing(kept_kps)
    angles["facing"] = face
    angles["units"] = "degrees"
    angles["definitions"] = {
        "knee_deg": "interior angle hip-knee-ankle, 180 = straight",
        "hip_deg": "interior angle shoulder-hip-knee, 180 = fully extended",
        "elbow_deg": "interior angle shoulder-elbow-wrist, 180 = straight",
        "trunk_deg": "hip->shoulder line from vertical, 0 = upright",
    }
    events: dict = {}
    lift_type = getattr(req, "lift_type", None)
    if lift_type in OLYMPIC and kept_frames:
        window = bar_pull_window((track or {}).get("observations") or [])
        if window is not None:
            tt = [t_of(i) for i in kept_frames]
            kn = [joint_angles(k, side).get("knee_deg") for k in kept_kps]
            hp = [joint_angles(k, side).get("hip_deg") for k in kept_kps]
            events = pull_events(tt, kn, hp, window)
        if face:
            events["facing"] = face
    model_info = dict(est.model_info)
    model_info.update({
        "keypoints": want_kps,
        "coordinates": "full-resolution image pixels of the upright frame; [x, y, confidence]",
        "skeleton": [list(e) for e in COCO_SKELETON],
        "stride": stride,
        "max_side": max_side,
        "lifter_selection": "the person whose wrist is nearest the tracked plate centre "
                            "(within 2 plate radii, the plate centre inside their box across), "
                            "continued by box overlap; never a person not seen holding the bar",
    })
    if not want_kps:
        model_info["purpose"] = "person boxes only (pose_backend off)"
    n_proc = len(processed)
    out = {
        "enabled": True,
        "backend": name,
        "person_track": person_track,
        "joint_angles": angles,
        "events": events,
        "stats": {
            "frames_processed": n_proc,
            "frames_with_person": with_person,
            "person_found_fraction": _r(with_person / n_proc, 4) if n_proc else 0.0,
            "seconds": _r(elapsed, 3),
            "ms_per_frame": _r(1000.0 * elapsed / n_proc, 1) if n_proc else None,
            "model_ms_per_frame": _r(1000.0 * t_model / n_proc, 1) if n_proc else None,
            "stride": stride,
            "bystander_retries": retries,
            "segments_rejected": len(rejected),
            "found_in_second_look": second_hits,
        },
        "pose_model": model_info,
    }
    if not want_kps:  # person boxes only: no keypoints, so no angles and no pose events
        out.pop("joint_angles")
        out["events"] = {}
    return out
