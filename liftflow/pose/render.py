"""Draw a pose result on frames (for eyes: checking keypoints lie on the body)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from liftflow.pose.keypoints import COCO_SKELETON


def draw_person(img: np.ndarray, entry: dict, bar: Optional[tuple] = None, min_conf: float = 0.3) -> np.ndarray:
    """Box, COCO skeleton (left side blue, right side red) and any extra keypoints (yellow)."""
    import cv2

    out = img.copy()
    b = entry["bbox"]
    cv2.rectangle(out, (int(b["x1"]), int(b["y1"])), (int(b["x2"]), int(b["y2"])), (0, 255, 0), 2)
    k = np.asarray(entry.get("keypoints") or [], dtype=float)
    if len(k):
        for a, c in COCO_SKELETON:
            if k[a, 2] >= min_conf and k[c, 2] >= min_conf:
                left = a % 2 == 1 and c % 2 == 1
                col = (255, 128, 0) if left else (0, 0, 255) if (a % 2 == 0 and c % 2 == 0 and a) else (0, 200, 255)
                cv2.line(out, (int(k[a, 0]), int(k[a, 1])), (int(k[c, 0]), int(k[c, 1])), col, 2)
        for i, (x, y, cf) in enumerate(k):
            if cf >= min_conf:
                col = (0, 255, 255) if i >= 17 else (255, 255, 255)
                cv2.circle(out, (int(x), int(y)), 3, col, -1)
    if bar is not None:
        cv2.circle(out, (int(bar[0]), int(bar[1])), int(bar[2]), (255, 0, 255), 2)
    return out


def render_frames(video_path: str, pose: dict, frames: Iterable[int], out_dir: Path,
                  bars: Optional[dict] = None, max_side: int = 720, prefix: str = "pose",
                  crop: bool = True) -> list[Path]:
    """Write the chosen frames with the lifter drawn as PNGs (``crop``: cut to the lifter's
    box with a margin, so the keypoints can be judged); returns the paths."""
    import cv2

    from liftflow.video import iter_frames

    want = set(int(f) for f in frames)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    track = (pose.get("person_track") or {}).get("frames", {})
    last = max(want) if want else -1
    for fr in iter_frames(video_path):
        if fr.index > last:
            break
        if fr.index not in want:
            continue
        img = fr.image
        e = track.get(str(fr.index))
        if e is not None:
            img = draw_person(img, e, (bars or {}).get(fr.index))
            if crop:
                b = e["bbox"]
                m = 0.25 * max(b["x2"] - b["x1"], b["y2"] - b["y1"])
                h, w = img.shape[:2]
                x1, y1 = max(0, int(b["x1"] - m)), max(0, int(b["y1"] - m))
                x2, y2 = min(w, int(b["x2"] + m)), min(h, int(b["y2"] + m))
                img = img[y1:y2, x1:x2]
        else:
            cv2.putText(img, "no lifter", (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 255), 2)
        s = min(1.0, max_side / max(img.shape[:2]))
        if s < 1.0:
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        p = out_dir / f"{prefix}_{fr.index:05d}.png"
        cv2.imwrite(str(p), img)
        paths.append(p)
    return paths
