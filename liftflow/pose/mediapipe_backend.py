"""MediaPipe Pose (BlazePose GHUM, "full" landmark model), shipped inside the mediapipe wheel.

mediapipe 0.10.14 carries ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` in its
wheel, so this backend needs no download (later mediapipe versions fetch the models at run
time, which LiftFlow never does: model_complexity is fixed at 1, the shipped model).
Single person: the caller passes a region of interest around the bar so the person found is
the lifter; 33 landmarks come back, mapped to the 17 COCO keypoints first (see keypoints.py).
Confidence per keypoint is MediaPipe's ``visibility``.

Install (the wheel's declared dependencies would downgrade protobuf and add
opencv-contrib-python and jax, none of which this backend uses)::

    pip install --no-deps mediapipe==0.10.14
    pip install absl-py attrs flatbuffers
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional

import numpy as np

from liftflow.config import Settings
from liftflow.pose.base import PersonPose, PoseUnavailable
from liftflow.pose.keypoints import (
    MEDIAPIPE_KEYPOINT_NAMES, MEDIAPIPE_MIRROR, box_from_keypoints, mediapipe_to_coco,
)

DESCRIPTION = ("MediaPipe Pose (BlazePose, model shipped in the mediapipe 0.10.14 wheel; no "
               "download): one person, 33 landmarks mapped to the 17 COCO keypoints first")
REQUIRED_VERSION = "0.10.14"
MODEL_FILES = ("modules/pose_detection/pose_detection.tflite",
               "modules/pose_landmark/pose_landmark_full.tflite",
               "modules/pose_landmark/pose_landmark_cpu.binarypb")
INSTALL_HINT = "pip install --no-deps mediapipe==0.10.14 && pip install absl-py attrs flatbuffers"

DEFAULTS = {
    "min_detection_confidence": 0.3,
    "min_tracking_confidence": 0.5,
    "smooth_landmarks": True,
    # the one-off second looks (estimate_static) only run where the tracked view found no
    # lifter, and whoever they find must still hold the bar: a lower bar to a detection
    # there finds the crouched lifter of a snatch setup that 0.3 misses (competition-snatch)
    "redetect_min_detection_confidence": 0.1,
}


def _package_dir() -> Optional[Path]:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def availability(settings: Settings) -> Optional[str]:
    """None when the backend can run; otherwise the exact reason. Cheap: no heavy import."""
    pkg = _package_dir()
    if pkg is None:
        return f"python package 'mediapipe' is not installed (module 'mediapipe' not importable; {INSTALL_HINT})"
    for mod, dist in (("cv2", "opencv-python"), ("absl", "absl-py"), ("attr", "attrs"),
                      ("flatbuffers", "flatbuffers"), ("google.protobuf", "protobuf")):
        try:
            found = importlib.util.find_spec(mod) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"python package {dist!r} is not installed (needed by mediapipe; module {mod!r} not importable)"
    for rel in MODEL_FILES:
        p = pkg / rel
        if not p.is_file():
            try:
                from importlib.metadata import version

                ver = version("mediapipe")
            except Exception:
                ver = "unknown"
            return (f"the installed mediapipe ({ver}) lacks its bundled pose model file {p.resolve()} "
                    f"(only mediapipe {REQUIRED_VERSION} ships it inside the wheel; later versions "
                    f"download it at run time, which LiftFlow never does; {INSTALL_HINT})")
    return None


def create(settings: Settings, **options) -> "MediaPipePose":
    reason = availability(settings)
    if reason is not None:
        raise PoseUnavailable(f"pose backend 'mediapipe' is unavailable: {reason}")
    return MediaPipePose(**options)


class MediaPipePose:
    name = "mediapipe"
    multi_person = False

    def __init__(self, **options):
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise PoseUnavailable(f"unknown mediapipe option(s): {', '.join(sorted(unknown))}")
        self.opts = {**DEFAULTS, **options}

        from liftflow.config import default_environment

        default_environment(GLOG_minloglevel="2")  # mediapipe's C++ info/warning chatter
        import mediapipe as mp

        from liftflow.pose._mediapipe_compat import patch_mediapipe

        patch_mediapipe()
        self._mp = mp
        self._pose = None
        self._static = None
        self.model_info = {
            "name": "mediapipe-pose-landmark-full",
            "backend": "mediapipe",
            "version": getattr(mp, "__version__", REQUIRED_VERSION),
            "keypoint_format": "coco17+mediapipe16",
            "keypoint_names": list(MEDIAPIPE_KEYPOINT_NAMES),
            "keypoint_confidence": "mediapipe landmark visibility",
        }
        self.reset()

    def _build(self, static: bool):
        o = self.opts
        det = o["redetect_min_detection_confidence"] if static else o["min_detection_confidence"]
        return self._mp.solutions.pose.Pose(
            static_image_mode=static,
            model_complexity=1,  # the model shipped in the wheel; 0 and 2 would be downloaded
            smooth_landmarks=bool(o["smooth_landmarks"]),
            enable_segmentation=False,
            min_detection_confidence=float(det),
            min_tracking_confidence=float(o["min_tracking_confidence"]),
        )

    def reset(self) -> None:
        if self._pose is not None:
            try:
                self._pose.close()
            except Exception:
                pass
        self._pose = self._build(static=False)

    def estimate(self, image: np.ndarray, roi=None) -> list[PersonPose]:
        return self._run(self._pose, image, roi)

    def estimate_static(self, image: np.ndarray, roi=None, mirror: bool = False) -> list[PersonPose]:
        """One-off look (no tracking state touched, detection threshold
        ``redetect_min_detection_confidence``) at a region, e.g. around the bar when the
        tracked view found no lifter. ``mirror``: the region is looked at flipped left to
        right and the pose mapped back (see ``_run``)."""
        if self._static is None:
            self._static = self._build(static=True)
        return self._run(self._static, image, roi, mirror)

    def _run(self, pose, image: np.ndarray, roi=None, mirror: bool = False) -> list[PersonPose]:
        import cv2

        h, w = image.shape[:2]
        x1, y1, x2, y2 = 0, 0, w, h
        if roi is not None:
            x1, y1 = max(0, int(roi[0])), max(0, int(roi[1]))
            x2, y2 = min(w, int(np.ceil(roi[2]))), min(h, int(np.ceil(roi[3])))
            if x2 - x1 < 16 or y2 - y1 < 16:
                x1, y1, x2, y2 = 0, 0, w, h
        crop = image[y1:y2, x1:x2]
        if mirror:
            # BlazePose's detector is not mirror-symmetric: on competition-snatch it finds the
            # crouched lifter of the setup and first pull in the flipped view on frames where
            # the view as filmed finds nobody at any crop or threshold
            crop = crop[:, ::-1]
        rgb = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_BGR2RGB)
        res = pose.process(rgb)
        if res.pose_landmarks is None:
            return []
        cw, ch = x2 - x1, y2 - y1
        lm = np.array([[p.x * cw, p.y * ch + y1, p.visibility]
                       for p in res.pose_landmarks.landmark], dtype=float)
        if mirror:  # back to the view as filmed: x flipped, the person's left is their left again
            lm[:, 0] = cw - lm[:, 0]
            lm = lm[list(MEDIAPIPE_MIRROR)]
        lm[:, 0] += x1
        kps = mediapipe_to_coco(lm, keep_all=True)
        kps[:, 2] = np.clip(kps[:, 2], 0.0, 1.0)
        box = box_from_keypoints(kps, min_conf=0.3) or box_from_keypoints(kps, min_conf=0.0)
        score = float(np.mean(kps[:17, 2]))
        return [PersonPose(kps, box, score)]

    def close(self) -> None:
        for attr in ("_pose", "_static"):
            p = getattr(self, attr, None)
            if p is not None:
                try:
                    p.close()
                except Exception:
                    pass
                setattr(self, attr, None)
