"""Keypoint layouts: the 17 COCO keypoints clients expect, and MediaPipe's 33 landmarks.

Every person in LiftFlow carries keypoints as ``[[x, y, confidence], ...]`` in full-resolution
image pixels with the 17 COCO keypoints first (YOLO-pose's order, the original system's
format). Backends with more points (MediaPipe's 33) append the rest after the 17, in their
own order, so nothing is lost; ``keypoint_names(backend)`` names every row.
"""

from __future__ import annotations

import numpy as np

COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO_INDEX = {n: i for i, n in enumerate(COCO_KEYPOINTS)}

# Limbs for drawing, COCO indices.
COCO_SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
    (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

MEDIAPIPE_LANDMARKS = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
# For each COCO keypoint, the MediaPipe landmark with the same anatomical meaning (by name).
MEDIAPIPE_TO_COCO = tuple(MEDIAPIPE_LANDMARKS.index(n) for n in COCO_KEYPOINTS)
# The MediaPipe landmarks COCO has no slot for, appended after the 17 in MediaPipe order.
MEDIAPIPE_EXTRA = tuple(i for i in range(len(MEDIAPIPE_LANDMARKS)) if i not in MEDIAPIPE_TO_COCO)
MEDIAPIPE_KEYPOINT_NAMES = COCO_KEYPOINTS + tuple(MEDIAPIPE_LANDMARKS[i] for i in MEDIAPIPE_EXTRA)
# For each MediaPipe landmark, its left/right counterpart (itself for the nose): a pose found
# in a mirrored image names the person's left what is their right in the image as filmed.
MEDIAPIPE_MIRROR = tuple(
    MEDIAPIPE_LANDMARKS.index(n.replace("left", "@").replace("right", "left").replace("@", "right"))
    for n in MEDIAPIPE_LANDMARKS)


def mediapipe_to_coco(landmarks: np.ndarray, keep_all: bool = True) -> np.ndarray:
    """(33, 3) MediaPipe landmarks ``[x, y, confidence]`` -> (17, 3) COCO, or (33, 3) with the
    17 COCO keypoints first and the 16 other landmarks after them (``keep_all``)."""
    lm = np.asarray(landmarks, dtype=float)
    if lm.shape[0] != len(MEDIAPIPE_LANDMARKS) or lm.ndim != 2 or lm.shape[1] < 3:
        raise ValueError(f"expected ({len(MEDIAPIPE_LANDMARKS)}, 3) landmarks, got {lm.shape}")
    order = list(MEDIAPIPE_TO_COCO) + (list(MEDIAPIPE_EXTRA) if keep_all else [])
    return lm[order, :3].copy()


def keypoint_names(n: int) -> tuple[str, ...]:
    """Names for a keypoint array of ``n`` rows (17: COCO; 33: COCO + MediaPipe extras)."""
    if n == len(COCO_KEYPOINTS):
        return COCO_KEYPOINTS
    if n == len(MEDIAPIPE_KEYPOINT_NAMES):
        return MEDIAPIPE_KEYPOINT_NAMES
    return COCO_KEYPOINTS + tuple(f"extra_{i}" for i in range(n - len(COCO_KEYPOINTS)))


def box_from_keypoints(kps: np.ndarray, min_conf: float = 0.3, margin: float = 0.08,
                       head_margin: float = 0.12) -> tuple[float, float, float, float] | None:
    """A person box from confident keypoints, widened by ``margin`` of its size each side and
    by ``head_margin`` above (keypoints stop at the eyes; the skull goes higher)."""
    k = np.asarray(kps, dtype=float)
    ok = k[:, 2] >= min_conf
    if ok.sum() < 3:
        return None
    xs, ys = k[ok, 0], k[ok, 1]
    x1, x2, y1, y2 = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
    w, h = x2 - x1, y2 - y1
    s = max(w, h, 1.0)
    return (x1 - margin * s, y1 - head_margin * s, x2 + margin * s, y2 + margin * s * 0.5)


def head_box(kps: np.ndarray, box: tuple[float, float, float, float], min_conf: float = 0.3
             ) -> tuple[float, float, float, float]:
    """A box over the head (face keypoints, or the top of the person box), generous enough
    to hide the face from a face-anchored person detector."""
    k = np.asarray(kps, dtype=float)[:5]
    x1, y1, x2, y2 = box
    s = 0.15 * max(y2 - y1, 1.0)
    ok = k[:, 2] >= min_conf
    if ok.sum() >= 2:
        cx, cy = float(np.mean(k[ok, 0])), float(np.mean(k[ok, 1]))
        s = max(s, float(np.ptp(k[ok, 0])), float(np.ptp(k[ok, 1])))
    else:
        cx, cy = (x1 + x2) / 2, y1 + s
    return (cx - 1.0 * s, cy - 1.1 * s, cx + 1.0 * s, cy + 0.9 * s)
