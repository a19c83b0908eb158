"""Test helpers: a YOLO pose checkpoint with random weights, built offline from YAML."""

from __future__ import annotations

from pathlib import Path

POSE_YAML = "yolo11n-pose.yaml"  # ultralytics ships cfg/models/11/yolo11-pose.yaml; "n" picks the scale


def write_random_yolo_pose_weights(path: Path, yaml: str = POSE_YAML, seed: int = 0,
                                   imgsz: int = 160) -> Path:
    """Write a randomly initialised YOLO pose model (one class "person", 17 COCO keypoints)
    to ``path`` as a checkpoint ``ultralytics.YOLO(path)`` loads. Nothing is downloaded.

    ``imgsz`` is recorded as the checkpoint's training size, which the yolo backend uses as
    its default inference size: 160 keeps end-to-end tests fast on a CPU (~20 ms/frame
    instead of ~350 ms at 640). Returns the path."""
    import torch

    from liftflow.pose.yolo_backend import import_ultralytics_offline

    import_ultralytics_offline()
    from ultralytics import YOLO
    from ultralytics.nn.tasks import PoseModel

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = YOLO(yaml, task="pose")
    model.model = PoseModel(yaml, nc=1, data_kpt_shape=(17, 3), verbose=False)
    model.model.names = {0: "person"}
    # YOLO(path) takes the task from the checkpoint's train_args (default "detect")
    model.model.task = "pose"
    model.ckpt = {**(model.ckpt or {}), "train_args": {"task": "pose", "imgsz": int(imgsz)}}
    model.save(path)
    return path
