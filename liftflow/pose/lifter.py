"""Choosing the lifter among the people in view: the one holding the tracked bar.

Per frame, a person *holds the bar* when one of their wrists lies within ``hold_r`` plate
radii of the plate centre (in a side view the hands are on the bar, and the plate sits on
the bar's end; on the real clips the lifter's nearest wrist is at a median 0.4-1.0 and a
95th percentile 1.4-1.8 radii, wrists hidden behind the plate aside) and the plate centre
lies within their box across (``reaches_bar``: a big plate passing in front of a seated
person puts it near their hands, but beside their body; see ``reaches_bar``). The lifter is

1. among the holders, the one closest to the bar, preferring one that continues the
   previous lifter so a spotter's hand near the bar does not steal the track;
2. when nobody holds the bar (the bar dropped, the plate lost, wrists hidden), the person
   that continues the previous lifter, if any and not older than ``max_gap`` frames;
3. otherwise nobody: the track never starts on, or jumps to, someone who has not been seen
   holding the bar.

*Continues* means both: the boxes overlap (IoU >= ``keep_iou``) and the body joints
(shoulders to ankles) moved on average less than ``keep_pose`` of the previous box height.
Box overlap alone is not enough: a bystander seated right behind a crouching lifter has an
overlapping box but a different skeleton.

Holding must last: a *segment* (a run of frames started by a holder and carried on by
continuation) whose person held the bar in fewer than ``min_holds`` frames, or in under
``min_hold_share`` of its frames where the bar was tracked, is someone the bar merely
passed by (a seated bystander's hands while the bar flies up in front of them). Frames
where the person's wrists are not seen (behind the plate) count neither way. Online,
such a segment stops being continued once it is ``min_hold_share`` short over at least
``judge_after`` frames; afterwards ``accepted_segments`` tells which segments to keep.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from liftflow.pose.base import PersonPose
from liftflow.pose.keypoints import COCO_INDEX

WRISTS = (COCO_INDEX["left_wrist"], COCO_INDEX["right_wrist"])


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


BODY = tuple(range(5, 17))


def pose_distance(a: np.ndarray, b: np.ndarray, scale: float, min_conf: float = 0.3) -> float:
    """Mean distance of the body joints confident in both poses, in units of ``scale``."""
    a, b = np.asarray(a)[list(BODY)], np.asarray(b)[list(BODY)]
    ok = (a[:, 2] >= min_conf) & (b[:, 2] >= min_conf)
    if ok.sum() < 4:
        return math.inf
    return float(np.mean(np.hypot(a[ok, 0] - b[ok, 0], a[ok, 1] - b[ok, 1]))) / max(scale, 1.0)


def hand_to_bar(p: PersonPose, bar: tuple[float, float, float], min_conf: float = 0.2) -> float:
    """Distance from the nearest confident wrist to the plate centre, in plate radii."""
    cx, cy, r = bar
    k = np.asarray(p.keypoints)
    d = [math.hypot(k[i, 0] - cx, k[i, 1] - cy) for i in WRISTS if k[i, 2] >= min_conf]
    return min(d) / max(r, 1.0) if d else math.inf


def reaches_bar(p: PersonPose, bar: tuple[float, float, float]) -> bool:
    """Whether the plate centre lies within the person's box across (x). On the real clips it
    lies at least 0.33 plate radii inside the lifter's box on every frame the bar is held;
    the seated person right behind the competition-snatch lifter, whose hands the plate
    passes during the pull, has it 0.06-0.47 radii outside."""
    return p.box[0] <= bar[0] <= p.box[2]


class LifterSelector:
    def __init__(self, hold_r: float = 2.0, keep_iou: float = 0.3, keep_pose: float = 0.25,
                 max_gap: int = 30, min_holds: int = 3, min_hold_share: float = 0.4,
                 judge_after: int = 10):
        self.min_holds = min_holds
        self.min_hold_share = min_hold_share
        self.judge_after = judge_after
        self.segment = 0  # id of the current segment (0: none yet)
        # id -> [holds, frames with the bar tracked and the wrists seen, frames]
        self.seg_stats: dict[int, list[int]] = {}
        self.hold_r = hold_r
        self.keep_iou = keep_iou
        self.keep_pose = keep_pose
        self.max_gap = max_gap
        self.prev_box: Optional[tuple] = None
        self.prev_kps: Optional[np.ndarray] = None
        self.prev_frame: Optional[int] = None

    def continues(self, p: PersonPose, frame: Optional[int] = None) -> bool:
        """Whether ``p`` is the previous lifter moved on (box overlap and a similar skeleton)."""
        if self.prev_box is None:
            return False
        if frame is not None and self.prev_frame is not None and frame - self.prev_frame > self.max_gap:
            return False
        if iou(p.box, self.prev_box) < self.keep_iou:
            return False
        h = self.prev_box[3] - self.prev_box[1]
        return pose_distance(p.keypoints, self.prev_kps, h) <= self.keep_pose

    def choose(self, frame: int, people: list[PersonPose],
               bar: Optional[tuple[float, float, float]]) -> tuple[Optional[PersonPose], str]:
        """(the lifter or None, how it was chosen: "holds_bar" | "continues" | reason)."""
        prev = self.prev_box
        if prev is not None and self.prev_frame is not None and frame - self.prev_frame > self.max_gap:
            prev = None
        ious = [iou(p.box, prev) if prev is not None else 0.0 for p in people]
        cont = [i for i in range(len(people)) if prev is not None and self.continues(people[i], frame)]
        chosen, how = None, "nobody holds the bar"
        if bar is not None:
            d = [hand_to_bar(p, bar) for p in people]
            holders = [i for i in range(len(people)) if d[i] <= self.hold_r and reaches_bar(people[i], bar)]
            if holders:
                pool = [i for i in holders if i in cont] or holders
                if cont and not any(i in cont for i in holders):
                    # someone new holds the bar while the lifter is still in view: keep the lifter
                    pool = []
                if pool:
                    best = min(pool, key=lambda i: d[i] - ious[i])
                    chosen, how = people[best], "holds_bar"
        if chosen is None and cont:
            best = max(cont, key=lambda i: ious[i])
            chosen, how = people[best], "continues"
            judged = bar is not None and math.isfinite(hand_to_bar(chosen, bar))
            if judged and self._doubtful(self.segment, extra_bar=1):
                # carried on for a while without ever really holding the bar: not the lifter
                self.prev_box = self.prev_kps = self.prev_frame = None
                return None, "continued someone who does not hold the bar"
        if chosen is not None:
            if how == "holds_bar" and not (self.prev_box is not None and self.continues(chosen, frame)):
                self.segment += 1
                self.seg_stats[self.segment] = [0, 0, 0]
            st = self.seg_stats[self.segment]
            st[0] += how == "holds_bar"
            st[1] += bar is not None and math.isfinite(hand_to_bar(chosen, bar))
            st[2] += 1
            self.prev_box, self.prev_frame = tuple(chosen.box), frame
            self.prev_kps = np.asarray(chosen.keypoints, dtype=float)
        elif not people:
            how = "nobody in view"
        return chosen, how

    def _doubtful(self, seg: int, extra_bar: int = 0) -> bool:
        holds, nbar, _ = self.seg_stats.get(seg, [0, 0, 0])
        nbar += extra_bar
        return nbar >= self.judge_after and holds < self.min_hold_share * nbar

    def accepted(self, seg: int) -> bool:
        """Whether a finished segment is the lifter (held the bar long enough)."""
        holds, nbar, _ = self.seg_stats.get(seg, [0, 0, 0])
        return holds >= self.min_holds and holds >= self.min_hold_share * nbar
