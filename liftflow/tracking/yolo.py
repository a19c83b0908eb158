"""Disc tracking with an ultralytics YOLO plate detector plus data association.

A plate detector (``settings.models_dir / settings.yolo_disc_weights``, default
``yolo-plate.pt``, any ultralytics detect checkpoint with a plate class) runs on every frame
at a working resolution. Detections are associated over time SORT-style: every plate in
view is a track with a constant-velocity Kalman filter (``cv2.KalmanFilter``), each frame's
detections are assigned to the tracks' predictions with the Hungarian method
(``scipy.optimize.linear_sum_assignment``) on a gated Mahalanobis cost, and the track born
from the seed circle is the output. Other plates keep their own tracks, so when two plates
cross each keeps its detection. Frames before ``seed.frame`` are associated backwards from
the seed (the per-frame detections are small, only they are kept).

A frame where the seeded plate has no associated detection is LOST. Only if asked
(``bridge_gap`` > 0) are short gaps closed afterwards, by interpolating between the two
detections that bound them; such frames are marked ``extra["predicted"]`` with a low
confidence. Nothing is downloaded: ``YOLO_OFFLINE`` is set before ultralytics is imported
and its telemetry is switched off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from liftflow.config import Settings, missing_requirement, model_file
from liftflow.progress import ProgressFn, report
from liftflow.tracking.base import (
    LOST,
    TRACKED,
    TrackerUnavailable,
    DiscObservation,
    FrameSource,
    SeedCircle,
    TrackingError,
)
from liftflow.tracking.driver import check_seed, check_seed_frame
from liftflow.video import VideoInfo

DESCRIPTION = (
    "YOLO plate detector (ultralytics) with Kalman + Hungarian association to the seeded "
    "plate; frames without a detection are LOST. Needs the detector weights in the models "
    "directory."
)

PLATE_CLASS_NAMES = ("plate", "weight plate", "weight_plate", "disc", "disk", "bumper plate")

DEFAULTS: dict[str, Any] = {
    "imgsz": 640,  # detector input size
    "max_side": 640,  # frames are decoded at this longest side (None: full resolution)
    "conf": 0.15,  # detections below this confidence are ignored
    "iou": 0.5,  # NMS IoU
    "max_det": 30,
    "batch": 8,  # frames per detector call
    "half": True,  # fp16 on CUDA (ignored on CPU)
    "plate_class": None,  # class name or id; None: the class named like a plate, or the only one
    "bridge_gap": 0,  # close gaps up to this many frames by interpolation (0: never)
    # association
    "gate_chi2": 16.27,  # Mahalanobis gate (3 dof, p=0.999)
    "max_jump_r": 1.5,  # centre may move at most this many radii per frame ...
    "max_reacquire_r": 4.0,  # ... and, after misses, at most this many radii from the last fix
    "radius_ratio": 1.5,  # detection radius within [r/ratio, r*ratio] of the track's
    "accel_r": 0.3,  # process noise: acceleration in radii per frame^2
    "meas_r": 0.06,  # measurement noise: in radii
    "max_age": 5,  # other plates' tracks are dropped after this many missed frames
    "min_hits": 3,  # a track is confirmed (matched before younger ones) after this many hits
    "seed_match_r": 0.6,  # a detection within this many radii of the seed is the seeded plate
    "polygon_points": 36,
    "cpu_threads": None,  # torch CPU threads while detecting (None: torch's default)
}


# ----------------------------------------------------------------------------- availability


def weights_path(settings: Settings) -> Path:
    return model_file(settings, settings.yolo_disc_weights)


def availability(settings: Settings) -> Optional[str]:
    """None when the backend can run; otherwise the exact reason (cheap: no heavy import)."""
    return missing_requirement((("ultralytics", "ultralytics"), ("scipy", "scipy"), ("cv2", "opencv-python")), weights_path(settings), "LIFTFLOW_YOLO_DISC_WEIGHTS", "the file")


def create(settings: Settings, **options) -> "YoloTracker":
    reason = availability(settings)
    if reason is not None:
        raise TrackerUnavailable(f"tracking backend 'yolo' is unavailable: {reason}")
    return YoloTracker(weights_path(settings), device=settings.device, **options)


def import_ultralytics_offline():
    """Import ultralytics so that it never reaches the network (no downloads, no telemetry)."""
    from liftflow.config import default_environment

    default_environment(YOLO_OFFLINE="1")  # read at import: ultralytics.utils.ONLINE
    import ultralytics
    from ultralytics.utils import events as _events

    try:
        _events.events.enabled = False  # in case ultralytics was imported before, online
    except AttributeError:  # pragma: no cover - other ultralytics versions
        pass
    return ultralytics


# ----------------------------------------------------------------------------- association


@dataclass
class Detection:
    """A plate detection in full-resolution pixels (pixel-centre convention)."""

    cx: float
    cy: float
    r: float
    conf: float
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x1, y1, x2, y2 (edges)
    truncated: bool = False
    source: str = "detector"  # "detector" | "seed"

    @classmethod
    def from_circle(cls, cx: float, cy: float, r: float, conf: float = 1.0,
                    source: str = "detector") -> "Detection":
        return cls(cx, cy, r, conf, (cx + 0.5 - r, cy + 0.5 - r, cx + 0.5 + r, cy + 0.5 + r),
                   False, source)


def circle_from_box(
    x1: float, y1: float, x2: float, y2: float, width: int, height: int, margin: float = 1.0
) -> tuple[float, float, float, bool]:
    """Box (pixel-edge coordinates) -> (cx, cy, r, truncated) in pixel-centre coordinates.

    r is the mean half-side. Where the box is cut by the image border on one axis only, the
    other axis gives the radius and the centre is placed that far from the uncut edge.
    """
    w, h = x2 - x1, y2 - y1
    cut_x = (x1 <= margin) or (x2 >= width - margin)
    cut_y = (y1 <= margin) or (y2 >= height - margin)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    r = (w + h) / 4.0
    truncated = False
    if cut_x and not cut_y and h > w:
        r = h / 2.0
        cx = (x2 - r) if x1 <= margin else (x1 + r)
        truncated = True
    elif cut_y and not cut_x and w > h:
        r = w / 2.0
        cy = (y2 - r) if y1 <= margin else (y1 + r)
        truncated = True
    return cx - 0.5, cy - 0.5, r, truncated


class _Track:
    """A constant-velocity Kalman filter on (cx, cy, r): state [cx, cy, vx, vy, r]."""

    def __init__(self, det: Detection, tid: int, opts: dict):
        import cv2

        self.id = tid
        self.opts = opts
        self.kf = cv2.KalmanFilter(5, 3, 0, cv2.CV_64F)
        self.kf.measurementMatrix = np.array(
            [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 1]], np.float64
        )
        r = max(det.r, 1.0)
        self.kf.statePost = np.array([[det.cx], [det.cy], [0.0], [0.0], [det.r]], np.float64)
        self.kf.errorCovPost = np.diag(
            [(0.1 * r) ** 2, (0.1 * r) ** 2, (1.0 * r) ** 2, (1.0 * r) ** 2, (0.1 * r) ** 2]
        ).astype(np.float64)
        self.misses = 0
        self.since_fix = 0.0  # frames since the last associated detection
        self.hits = 1
        self.last = det  # last associated detection
        self.last_pos = (det.cx, det.cy)

    @property
    def r(self) -> float:
        return float(max(self.kf.statePost[4, 0], 1.0))

    def predict(self, dt: float = 1.0) -> None:
        self.since_fix += dt
        r = self.r
        F = np.eye(5, dtype=np.float64)
        F[0, 2] = F[1, 3] = dt
        self.kf.transitionMatrix = F
        q = (self.opts["accel_r"] * r) ** 2
        # white-acceleration model for (x, vx) and (y, vy); radius random walk
        g = np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]]) * q
        Q = np.zeros((5, 5))
        Q[np.ix_([0, 2], [0, 2])] = g
        Q[np.ix_([1, 3], [1, 3])] = g
        Q[4, 4] = (0.02 * r) ** 2 * dt
        self.kf.processNoiseCov = Q
        mr = self.opts["meas_r"] * r
        self.kf.measurementNoiseCov = np.diag([mr**2, mr**2, mr**2]).astype(np.float64)
        self.kf.predict()
        # cv2.KalmanFilter.predict leaves statePost/errorCovPost at the old values: carry
        # the prediction so that a frame without a measurement keeps it
        self.kf.statePost = self.kf.statePre.copy()
        self.kf.errorCovPost = self.kf.errorCovPre.copy()

    def within_reach(self, det: Detection) -> bool:
        """Plausibly this plate, by size and by how far it can have moved since its last fix."""
        o = self.opts
        r = self.r
        if not (1.0 / o["radius_ratio"] <= det.r / r <= o["radius_ratio"]):
            return False
        reach = min(o["max_jump_r"] * max(self.since_fix, 1.0), o["max_reacquire_r"]) * r
        return math.hypot(det.cx - self.last_pos[0], det.cy - self.last_pos[1]) <= reach

    def cost(self, det: Detection) -> float:
        """Mahalanobis distance^2 of a detection to the prediction; inf outside the gates."""
        o = self.opts
        x = self.kf.statePost[:, 0]
        if not self.within_reach(det):  # physical gates: size, distance from the last fix
            return math.inf
        H = self.kf.measurementMatrix
        S = H @ self.kf.errorCovPost @ H.T + self.kf.measurementNoiseCov
        y = np.array([det.cx - x[0], det.cy - x[1], det.r - x[4]])
        d2 = float(y @ np.linalg.solve(S, y))
        return d2 if d2 <= o["gate_chi2"] else math.inf

    def update(self, det: Detection) -> None:
        self.kf.correct(np.array([[det.cx], [det.cy], [det.r]], np.float64))
        self.misses = 0
        self.since_fix = 0.0
        self.hits += 1
        self.last = det
        self.last_pos = (det.cx, det.cy)

    def miss(self) -> None:
        self.misses += 1


def _match_seed(seed: Detection, dets: Sequence[Detection], opts: dict) -> Optional[int]:
    best, best_d = None, math.inf
    for j, d in enumerate(dets):
        dist = math.hypot(d.cx - seed.cx, d.cy - seed.cy) / max(seed.r, 1.0)
        ratio = d.r / max(seed.r, 1e-6)
        if dist <= opts["seed_match_r"] and 1 / opts["radius_ratio"] <= ratio <= opts["radius_ratio"]:
            if dist < best_d:
                best, best_d = j, dist
    return best


def associate_pass(
    dets_seq: Sequence[Sequence[Detection]],
    seed: Detection,
    dts: Optional[Sequence[float]] = None,
    **options,
) -> list[Optional[Detection]]:
    """Follow the seeded plate through a sequence of per-frame detection lists.

    ``dets_seq[0]`` is the seed frame; ``dts[k]`` is the time step (in frames) from element
    k-1 to k (default 1). Returns, per element, the detection associated to the seeded plate
    or None (no detection of it in that frame). Element 0 is the detection matching the
    seed, or the seed itself when none does.
    """
    from scipy.optimize import linear_sum_assignment

    opts = {**DEFAULTS, **options}
    out: list[Optional[Detection]] = [None] * len(dets_seq)
    if not dets_seq:
        return out
    first = list(dets_seq[0])
    j0 = _match_seed(seed, first, opts)
    seeded = _Track(first[j0] if j0 is not None else seed, 0, opts)
    out[0] = first[j0] if j0 is not None else seed
    tracks: list[_Track] = [seeded]
    next_id = 1
    for j, d in enumerate(first):
        if j != j0:
            tracks.append(_Track(d, next_id, opts))
            next_id += 1

    for k in range(1, len(dets_seq)):
        dets = list(dets_seq[k])
        dt = float(dts[k]) if dts is not None else 1.0
        for t in tracks:
            t.predict(dt)
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        if dets and tracks:
            cost = np.array([[t.cost(d) for d in dets] for t in tracks], dtype=np.float64)
            big = 1e9
            # matching cascade: the seeded plate and confirmed tracks pick first, tracks
            # younger than min_hits only get what is left (a track born from our own plate
            # while it was briefly unmatched must not steal it)
            confirmed = [i for i, t in enumerate(tracks)
                         if t is seeded or t.hits >= opts["min_hits"]]
            tentative = [i for i in range(len(tracks)) if i not in set(confirmed)]
            for group in (confirmed, tentative):
                free = [j for j in range(len(dets)) if j not in matched_dets]
                if not group or not free:
                    continue
                sub = cost[np.ix_(group, free)]
                sub = np.where(np.isfinite(sub), sub, big)
                rows, cols = linear_sum_assignment(sub)
                for a, b in zip(rows, cols):
                    if sub[a, b] < big:
                        i, j = group[a], free[b]
                        tracks[i].update(dets[j])
                        matched_tracks.add(i)
                        matched_dets.add(j)
                        if tracks[i] is seeded:
                            out[k] = dets[j]
        for i, t in enumerate(tracks):
            if i not in matched_tracks:
                t.miss()
        # drop stale tracks of other plates, start tracks for new ones -- but not from a
        # detection where the unseen seeded plate may be: that one is left for it
        tracks = [t for t in tracks if t is seeded or t.misses <= opts["max_age"]]
        for j, d in enumerate(dets):
            if j not in matched_dets and not (seeded.misses > 0 and seeded.within_reach(d)):
                tracks.append(_Track(d, next_id, opts))
                next_id += 1
        if seeded.misses > 0:
            # while the seeded plate is unseen, damp its velocity: the prediction (the centre
            # of the gate) must not run away from where the plate was last seen
            sp = seeded.kf.statePost.copy()
            sp[2:4, 0] *= 0.5
            seeded.kf.statePost = sp
    return out


def associate(
    dets_by_frame: Sequence[Sequence[Detection]],
    seed: SeedCircle,
    timestamps: Optional[Sequence[float]] = None,
    **options,
) -> list[Optional[Detection]]:
    """Per frame of the video: the seeded plate's detection or None. Frames after the seed
    are followed forwards, frames before it backwards, both starting at the seed."""
    n = len(dets_by_frame)
    check_seed_frame(seed, n)
    seed_det = Detection.from_circle(seed.cx, seed.cy, seed.r, 1.0, source="seed")

    def dts_for(order: list[int]) -> Optional[list[float]]:
        if timestamps is None or len(timestamps) < n or n < 2:
            return None
        step = float(np.median(np.diff(np.asarray(timestamps, float)))) or 1.0
        d = [1.0]
        for a, b in zip(order, order[1:]):
            d.append(max(abs(float(timestamps[b]) - float(timestamps[a])) / step, 1e-3))
        return d

    fwd = list(range(seed.frame, n))
    bwd = list(range(seed.frame, -1, -1))
    res_f = associate_pass([dets_by_frame[i] for i in fwd], seed_det, dts_for(fwd), **options)
    res_b = associate_pass([dets_by_frame[i] for i in bwd], seed_det, dts_for(bwd), **options)
    out: list[Optional[Detection]] = [None] * n
    for i, d in zip(fwd, res_f):
        out[i] = d
    for i, d in zip(bwd[1:], res_b[1:]):
        out[i] = d
    return out


# ----------------------------------------------------------------------------- tracker


def _circle_polygon(cx, cy, r, width, height, n=36) -> list[list[float]]:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    xs = np.clip(cx + r * np.cos(a), 0.0, width - 1.0)
    ys = np.clip(cy + r * np.sin(a), 0.0, height - 1.0)
    return [[round(float(x), 2), round(float(y), 2)] for x, y in zip(xs, ys)]


def _resolve_device(requested: str) -> str:
    import torch

    requested = (requested or "auto").lower()
    if requested == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise TrackerUnavailable(f"LIFTFLOW_DEVICE={requested} but CUDA is not available here")
    return "cuda:0" if requested == "cuda" else requested


class YoloTracker:
    name = "yolo"

    def __init__(self, weights: Path, device: str = "auto", **options):
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise TrackingError(f"unknown yolo option(s): {', '.join(sorted(unknown))}")
        self.opts = {**DEFAULTS, **options}
        self.weights = Path(weights)
        self.device = _resolve_device(device)
        import_ultralytics_offline()
        from ultralytics import YOLO

        try:
            self.model = YOLO(str(self.weights))
        except Exception as exc:
            raise TrackingError(f"cannot load YOLO weights {self.weights}: {exc}") from exc
        if getattr(self.model, "task", "detect") not in ("detect", "segment", "obb"):
            raise TrackingError(
                f"{self.weights.name} is a {self.model.task!r} model; a detection model is needed"
            )
        self.class_ids = self._plate_classes(self.model.names)

    def _plate_classes(self, names: dict) -> list[int]:
        want = self.opts["plate_class"]
        if want is not None:
            if isinstance(want, int) or (isinstance(want, str) and want.isdigit()):
                cid = int(want)
                if cid not in names:
                    raise TrackingError(f"plate_class {cid} not in the model's classes {names}")
                return [cid]
            ids = [i for i, n in names.items() if str(n).lower() == str(want).lower()]
            if not ids:
                raise TrackingError(f"plate_class {want!r} not in the model's classes {names}")
            return ids
        ids = [i for i, n in names.items() if str(n).lower() in PLATE_CLASS_NAMES]
        if ids:
            return ids
        if len(names) == 1:
            return list(names)
        raise TrackingError(
            f"{self.weights.name} has no plate class (classes: {list(names.values())[:10]}...); "
            f"set the option plate_class"
        )

    def _detect(self, images: list[np.ndarray], info: VideoInfo) -> list[list[Detection]]:
        o = self.opts
        results = self.model.predict(
            images, imgsz=o["imgsz"], conf=o["conf"], iou=o["iou"], max_det=o["max_det"],
            classes=self.class_ids, device=self.device, verbose=False,
            half=bool(o["half"]) and self.device.startswith("cuda"),
        )
        out = []
        for img, res in zip(images, results):
            h, w = img.shape[:2]
            sx, sy = w / info.width, h / info.height
            dets = []
            boxes = res.boxes
            if boxes is not None and len(boxes):
                xyxy = boxes.xyxy.float().cpu().numpy()
                conf = boxes.conf.float().cpu().numpy()
                for (x1, y1, x2, y2), c in zip(xyxy, conf):
                    X1, Y1, X2, Y2 = x1 / sx, y1 / sy, x2 / sx, y2 / sy  # edges scale exactly
                    if X2 - X1 < 1 or Y2 - Y1 < 1:
                        continue
                    cx, cy, r, cut = circle_from_box(
                        X1, Y1, X2, Y2, info.width, info.height, margin=1.0 / min(sx, sy)
                    )
                    dets.append(Detection(cx, cy, r, float(np.clip(c, 0, 1)),
                                          (float(X1), float(Y1), float(X2), float(Y2)), cut))
            out.append(dets)
        return out

    def detect_all(self, video_path: str, info: VideoInfo, progress=None,
                   frame_source: Optional[FrameSource] = None) -> list[list[Detection]]:
        from functools import partial

        from liftflow.video.decode import iter_frames

        frames = frame_source or partial(iter_frames, video_path)

        n = int(info.frame_count)
        dets: list[list[Detection]] = [[] for _ in range(n)]
        batch, idxs = [], []
        done = 0

        def flush():
            nonlocal done
            if batch:
                for i, d in zip(idxs, self._detect(batch, info)):
                    dets[i] = d
                done += len(batch)
                report(progress, 0.95 * done / n, f"yolo: detected {done}/{n} frames")
                batch.clear()
                idxs.clear()

        for fr in frames(max_side=self.opts["max_side"]):
            if fr.index >= n:
                break
            batch.append(fr.image)
            idxs.append(fr.index)
            if len(batch) >= max(1, int(self.opts["batch"])):
                flush()
        flush()
        self.decoded_frames = done
        return dets

    def track(
        self,
        video_path: str,
        info: VideoInfo,
        seed: SeedCircle,
        progress: Optional[ProgressFn] = None,
        frame_source: Optional[FrameSource] = None,
    ) -> list[DiscObservation]:
        n = check_seed(info, seed)
        report(progress, 0.0, f"yolo: detecting plates in {n} frames on {self.device}")
        from liftflow.tracking.cutie import _cpu_threads

        with _cpu_threads(self.opts["cpu_threads"] if self.device == "cpu" else None):
            dets = self.detect_all(video_path, info, progress, frame_source)
        ts = list(info.timestamps_s)
        assoc = associate(dets, seed, ts if len(ts) == n else None, **self._assoc_opts())
        obs = self.observations(assoc, dets, seed, info)
        report(progress, 1.0, "yolo: done")
        return obs

    def _assoc_opts(self) -> dict:
        keys = ("gate_chi2", "max_jump_r", "max_reacquire_r", "radius_ratio", "accel_r",
                "meas_r", "max_age", "seed_match_r")
        return {k: self.opts[k] for k in keys}

    def observations(self, assoc, dets, seed: SeedCircle, info: VideoInfo) -> list[DiscObservation]:
        return observations_from_association(
            assoc, dets, seed, info, bridge_gap=int(self.opts["bridge_gap"]),
            polygon_points=int(self.opts["polygon_points"]),
        )


def observations_from_association(
    assoc: Sequence[Optional[Detection]],
    dets: Sequence[Sequence[Detection]],
    seed: SeedCircle,
    info: VideoInfo,
    bridge_gap: int = 0,
    polygon_points: int = 36,
) -> list[DiscObservation]:
    n = len(assoc)
    ts = list(info.timestamps_s)
    W, H = info.width, info.height
    obs: list[DiscObservation] = []
    for i, d in enumerate(assoc):
        t = float(ts[i]) if i < len(ts) else i / (info.fps or 30.0)
        if d is None:
            reason = "no detection" if not dets[i] else "no detection of the seeded plate"
            obs.append(DiscObservation(i, t, LOST, 0.0, extra={"reason": reason}))
            continue
        obs.append(DiscObservation(
            frame=i, t_s=t, state=TRACKED, confidence=float(np.clip(d.conf, 0.0, 1.0)),
            center=(float(d.cx), float(d.cy)), radius=float(d.r),
            polygon=_circle_polygon(d.cx, d.cy, d.r, W, H, polygon_points),
            extra={"source": d.source,
                   "box": [round(v, 2) for v in d.box], "truncated": d.truncated},
        ))
    if bridge_gap > 0:
        i = 0
        while i < n:
            if obs[i].state == LOST:
                j = i
                while j < n and obs[j].state == LOST:
                    j += 1
                if i > 0 and j < n and (j - i) <= bridge_gap:
                    a, b = obs[i - 1], obs[j]
                    for k in range(i, j):
                        f = (k - (i - 1)) / (j - (i - 1))
                        cx = a.center[0] + f * (b.center[0] - a.center[0])
                        cy = a.center[1] + f * (b.center[1] - a.center[1])
                        r = a.radius + f * (b.radius - a.radius)
                        obs[k] = DiscObservation(
                            frame=k, t_s=obs[k].t_s, state=TRACKED,
                            confidence=0.25 * min(a.confidence, b.confidence),
                            center=(cx, cy), radius=r,
                            polygon=_circle_polygon(cx, cy, r, W, H, polygon_points),
                            extra={"predicted": True, "source": "interpolated"},
                        )
                i = j
            else:
                i += 1
    return obs
