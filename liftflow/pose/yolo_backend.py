"""YOLO-pose (ultralytics) from a weights file in the models directory.

``settings.models_dir / settings.yolo_pose_weights`` (default ``yolo11n-pose.pt``,
``LIFTFLOW_YOLO_POSE_WEIGHTS``; an absolute path is used as is). Multi-person: every person
is returned with its box and 17 COCO keypoints; the lifter is chosen by the caller. Nothing is
downloaded: ``YOLO_OFFLINE`` is set before ultralytics is imported and its telemetry is
disabled; predictions are never plotted (plotting would fetch a font).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from liftflow.config import Settings, missing_requirement, model_file
from liftflow.pose.base import PersonPose, PoseUnavailable
from liftflow.pose.keypoints import COCO_KEYPOINTS

DESCRIPTION = ("YOLO-pose (ultralytics) from the models directory: every person with a box and "
               "the 17 COCO keypoints")

DEFAULTS = {
    "imgsz": None,  # None: the checkpoint's training size (640 for the released models)
    "conf": 0.25,  # person box confidence
    "iou": 0.6,
    "cpu_threads": None,
}


def weights_path(settings: Settings) -> Path:
    return model_file(settings, settings.yolo_pose_weights)


def availability(settings: Settings) -> Optional[str]:
    """None when the backend can run; otherwise the exact reason (cheap: no heavy import)."""
    return missing_requirement((("ultralytics", "ultralytics"), ("torch", "torch"), ("cv2", "opencv-python")), weights_path(settings), "LIFTFLOW_YOLO_POSE_WEIGHTS", "a YOLO pose checkpoint")


def create(settings: Settings, **options) -> "YoloPose":
    reason = availability(settings)
    if reason is not None:
        raise PoseUnavailable(f"pose backend 'yolo' is unavailable: {reason}")
    return YoloPose(weights_path(settings), device=settings.device, **options)


def import_ultralytics_offline():
    """Import ultralytics so that it never reaches the network (no downloads, no telemetry)."""
    from liftflow.config import default_environment

    default_environment(YOLO_OFFLINE="1")  # read at import: ultralytics.utils.ONLINE
    import ultralytics

    try:
        from ultralytics.utils import events as _events

        _events.events.enabled = False
    except (ImportError, AttributeError):  # pragma: no cover - other ultralytics versions
        pass
    return ultralytics


def _resolve_device(device: str) -> str:
    if device in ("", "auto", None):
        try:
            import torch

            return "cuda:0" if torch.cuda.is_available() else "cpu"
        except Exception:
            return "cpu"
    return device


class YoloPose:
    name = "yolo"
    multi_person = True

    def __init__(self, weights: Path, device: str = "auto", **options):
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise PoseUnavailable(f"unknown yolo pose option(s): {', '.join(sorted(unknown))}")
        self.opts = {**DEFAULTS, **options}
        self.weights = Path(weights)
        self.device = _resolve_device(device)
        import_ultralytics_offline()
        from ultralytics import YOLO

        try:
            self.model = YOLO(str(self.weights), task="pose")
        except Exception as exc:
            raise PoseUnavailable(f"cannot load YOLO pose weights {self.weights}: {exc}") from exc
        task = getattr(self.model, "task", None)
        if task != "pose":
            raise PoseUnavailable(f"{self.weights} is a {task!r} model; a pose model is needed")
        kpt_shape = list(getattr(self.model.model, "kpt_shape", None) or
                         getattr(getattr(self.model.model, "yaml", {}), "get", lambda *_: None)("kpt_shape") or [])
        if kpt_shape and kpt_shape[0] != 17:
            raise PoseUnavailable(f"{self.weights} predicts {kpt_shape[0]} keypoints; 17 COCO keypoints are needed")
        if self.opts["imgsz"] is None:
            ck = (getattr(self.model, "overrides", None) or {}).get("imgsz")
            self.opts["imgsz"] = int(ck) if isinstance(ck, (int, float)) and ck > 0 else 640
        names = getattr(self.model, "names", {}) or {}
        self.person_classes = [i for i, n in names.items() if str(n).lower() == "person"] or None
        self.model_info = {
            "name": self.weights.name,
            "backend": "yolo",
            "weights": str(self.weights),
            "keypoint_format": "coco17",
            "keypoint_names": list(COCO_KEYPOINTS),
            "keypoint_confidence": "yolo keypoint confidence",
            "imgsz": int(self.opts["imgsz"]),
        }

    def reset(self) -> None:
        pass

    def estimate(self, image: np.ndarray, roi=None) -> list[PersonPose]:
        threads = self.opts["cpu_threads"]
        old = None
        if threads and self.device == "cpu":
            import torch

            old = torch.get_num_threads()
            torch.set_num_threads(int(threads))
        try:
            res = self.model.predict(image, imgsz=int(self.opts["imgsz"]), conf=float(self.opts["conf"]),
                                     iou=float(self.opts["iou"]), device=self.device, verbose=False,
                                     classes=self.person_classes)[0]
        finally:
            if old is not None:
                import torch

                torch.set_num_threads(old)
        if res.boxes is None or res.keypoints is None or len(res.boxes) == 0:
            return []
        boxes = res.boxes.xyxy.cpu().numpy().astype(float)
        confs = res.boxes.conf.cpu().numpy().astype(float)
        kd = res.keypoints.data.cpu().numpy().astype(float)  # (N, 17, 3) or (N, 17, 2)
        out = []
        for b, c, k in zip(boxes, confs, kd):
            if k.shape[1] == 2:
                k = np.concatenate([k, np.ones((k.shape[0], 1))], axis=1)
            k = k.copy()
            k[:, 2] = np.clip(k[:, 2], 0.0, 1.0)
            out.append(PersonPose(k, (float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                                  float(np.clip(c, 0.0, 1.0))))
        return out

    def close(self) -> None:
        pass
