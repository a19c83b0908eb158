"""The athlete: person detection and pose estimation, joint angles, pose events.

``estimate_pose(req, video_info, track, settings, progress)`` is the pipeline's pose step;
``pose_backends(settings)`` reports each backend's availability and exact reason for
``/api/v1/info``. Backends (registry.py): ``mediapipe`` (model shipped in the mediapipe
0.10.14 wheel, no download) and ``yolo`` (an ultralytics pose checkpoint in the models dir).
Heavy packages are imported only when a backend is built.
"""

from liftflow.pose.base import PersonPose, PoseEstimator, PoseUnavailable
from liftflow.pose.keypoints import COCO_KEYPOINTS, MEDIAPIPE_TO_COCO, mediapipe_to_coco
from liftflow.pose.pipeline import estimate_pose
from liftflow.pose.registry import BACKENDS, create_estimator, pose_backends

__all__ = [
    "BACKENDS", "COCO_KEYPOINTS", "MEDIAPIPE_TO_COCO", "PersonPose", "PoseEstimator",
    "PoseUnavailable", "create_estimator", "estimate_pose", "mediapipe_to_coco", "pose_backends",
]
