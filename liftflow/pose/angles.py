"""Joint angles from COCO keypoints, and pull events from their time series.

Angles are in degrees, on the side of the body facing the camera (side view):

- ``knee_deg``: interior angle hip-knee-ankle (180 = straight leg, smaller = more bent);
- ``hip_deg``: interior angle shoulder-hip-knee (180 = fully extended, ~45 in a deep squat);
- ``elbow_deg``: interior angle shoulder-elbow-wrist (180 = straight arm);
- ``trunk_deg``: inclination of the hip->shoulder line from vertical (0 = upright, 90 =
  horizontal), independent of the facing direction.

Pull events (snatch, clean), after the weightlifting literature's phase definitions
(first pull: lift-off to the first maximum of knee extension; transition / double knee
bend: knees re-bend under the bar; second pull: to maximal hip (and knee) extension):

- ``knee_extension_max_s`` (= ``first_pull_end_s``): first clear peak of the knee angle
  after lift-off (covering at least half the pull's knee extension) before the bar's peak
  upward speed; absent when the knees extend without a visible re-bend;
- ``knee_rebend_max_s`` (= ``second_pull_start_s``): the smallest knee angle between that
  peak and the bar's peak upward speed (the knees' re-bend, "double knee bend");
- ``hip_extension_max_s``: largest hip angle after the re-bend, up to the bar's first peak;
- ``catch_s``: smallest knee angle after the bar's peak (bottom of the receiving squat);
- ``recovery_end_s``: the knee angle back above 160 degrees after the catch.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from liftflow.pose.keypoints import COCO_INDEX

MIN_CONF = 0.3
SIDES = ("left", "right")
_JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def angle_at(a: Sequence[float], b: Sequence[float], c: Sequence[float]) -> Optional[float]:
    """Interior angle ABC in degrees (0..180); None if a segment has zero length."""
    v1 = (a[0] - b[0], a[1] - b[1])
    v2 = (c[0] - b[0], c[1] - b[1])
    n1, n2 = math.hypot(*v1), math.hypot(*v2)
    if n1 < 1e-9 or n2 < 1e-9:
        return None
    cosang = (v1[0] * v2[0] + v1[1] * v2[1]) / (n1 * n2)
    return math.degrees(math.acos(max(-1.0, min(1.0, cosang))))


def inclination_from_vertical(lower: Sequence[float], upper: Sequence[float]) -> Optional[float]:
    """Angle of the segment lower->upper from the image vertical (y down), 0..180 degrees."""
    dx, dy = upper[0] - lower[0], lower[1] - upper[1]  # dy > 0: upper is above lower
    if math.hypot(dx, dy) < 1e-9:
        return None
    return math.degrees(math.atan2(abs(dx), dy))


def _pt(k: np.ndarray, side: str, joint: str, min_conf: float):
    row = k[COCO_INDEX[f"{side}_{joint}"]]
    return (float(row[0]), float(row[1])) if row[2] >= min_conf else None


def side_confidence(k: np.ndarray, side: str) -> float:
    return float(np.mean([k[COCO_INDEX[f"{side}_{j}"], 2] for j in _JOINTS]))


def choose_side(keypoint_frames: list[np.ndarray]) -> str:
    """The body side seen best over the clip (the near side in a side view)."""
    if not keypoint_frames:
        return "left"
    score = {s: float(np.mean([side_confidence(k, s) for k in keypoint_frames])) for s in SIDES}
    return max(SIDES, key=lambda s: score[s])


def joint_angles(k: np.ndarray, side: str, min_conf: float = MIN_CONF) -> dict[str, Optional[float]]:
    """Knee, hip, elbow and trunk angles (degrees) of one pose on ``side``; None where a
    needed keypoint is below ``min_conf``."""
    k = np.asarray(k, dtype=float)
    p = {j: _pt(k, side, j, min_conf) for j in _JOINTS}

    def ang(a, b, c):
        return angle_at(p[a], p[b], p[c]) if p[a] and p[b] and p[c] else None

    trunk = inclination_from_vertical(p["hip"], p["shoulder"]) if p["hip"] and p["shoulder"] else None
    return {
        "knee_deg": ang("hip", "knee", "ankle"),
        "hip_deg": ang("shoulder", "hip", "knee"),
        "elbow_deg": ang("shoulder", "elbow", "wrist"),
        "trunk_deg": trunk,
    }


def facing(keypoint_frames: list[np.ndarray], min_conf: float = MIN_CONF) -> Optional[str]:
    """Where the lifter faces in the image ("left"/"right"): the nose lies in front of the
    ears (and the toes in front of the ankles) in a side view. None when undecidable."""
    votes = []
    for k in keypoint_frames:
        nose = k[COCO_INDEX["nose"]]
        for ear in ("left_ear", "right_ear"):
            e = k[COCO_INDEX[ear]]
            if nose[2] >= min_conf and e[2] >= min_conf:
                votes.append(np.sign(nose[0] - e[0]))
        if k.shape[0] >= 33:  # MediaPipe extras: foot index (toes) vs heel
            from liftflow.pose.keypoints import MEDIAPIPE_KEYPOINT_NAMES as names

            for s in SIDES:
                toe, heel = k[names.index(f"{s}_foot_index")], k[names.index(f"{s}_heel")]
                if toe[2] >= min_conf and heel[2] >= min_conf:
                    votes.append(np.sign(toe[0] - heel[0]))
    if not votes:
        return None
    m = float(np.mean(votes))
    if abs(m) < 0.2:
        return None
    return "right" if m > 0 else "left"


def _fill(t: np.ndarray, v: Sequence[Optional[float]]) -> Optional[np.ndarray]:
    """Interpolate missing samples, then a 3-tap median + 3-tap mean to tame keypoint jitter."""
    a = np.array([np.nan if x is None else float(x) for x in v])
    ok = ~np.isnan(a)
    if ok.sum() < 3:
        return None
    a = np.interp(t, t[ok], a[ok])
    if len(a) >= 3:
        from scipy.ndimage import median_filter, uniform_filter1d

        a = uniform_filter1d(median_filter(a, size=3, mode="nearest"), size=3, mode="nearest")
    return a


def bar_pull_window(track_obs: list[dict], min_rise_px: Optional[float] = None
                    ) -> Optional[tuple[float, float, float]]:
    """(lift-off, peak upward bar speed, first peak height) of the bar in seconds, from the
    disc track: the bar starts rising from its floor level, accelerates, and reaches its
    first height maximum (for a clean and jerk: the clean's, not the jerk's). None when the
    bar never rises clearly."""
    pts = [(o["t_s"], o["center"][1], o.get("radius") or 0.0) for o in track_obs
           if o.get("state") == "tracked" and o.get("center") is not None]
    if len(pts) < 5:
        return None
    t = np.array([p[0] for p in pts])
    h = -np.array([p[1] for p in pts])  # height grows upwards
    r = float(np.median([p[2] for p in pts])) or 1.0
    rise = min_rise_px if min_rise_px is not None else 1.5 * r
    start_h = float(np.median(h[: max(3, len(h) // 20)]))
    above = np.where(h > start_h + rise)[0]
    if not len(above):
        return None
    i_up = int(above[0])
    i0 = i_up
    while i0 > 0 and h[i0 - 1] > start_h + 0.1 * r:
        i0 -= 1
    i0 = max(0, i0 - 1)
    # first peak: climb while the height keeps rising (dips under 0.5 r tolerated)
    i_pk, best = i_up, h[i_up]
    for i in range(i_up, len(h)):
        if h[i] > best:
            i_pk, best = i, h[i]
        elif best - h[i] > 0.5 * r:
            break
    from scipy.ndimage import uniform_filter1d

    hs = uniform_filter1d(h, size=5, mode="nearest") if len(h) >= 5 else h
    v = np.gradient(hs, t) if len(np.unique(t)) == len(t) else np.gradient(hs)
    i_v = i0 + int(np.argmax(v[i0:i_pk + 1])) if i_pk > i0 else i_pk
    return float(t[i0]), float(t[i_v]), float(t[i_pk])


def pull_events(time_s: Sequence[float], knee: Sequence[Optional[float]], hip: Sequence[Optional[float]],
                window: tuple[float, float]) -> dict:
    """Pose events of one pull (see the module doc) on the video clock; missing ones absent."""
    t = np.asarray(time_s, dtype=float)
    ev: dict = {}
    if len(t) < 5:
        return ev
    kn, hp = _fill(t, knee), _fill(t, hip)
    if kn is None or hp is None:
        return ev
    t0, t_vpk, t_pk = window
    # the first pull and the transition happen before the bar's peak upward speed (the
    # second pull's end); a knee bend after it is the lifter pulling under the bar
    pull = np.where((t >= t0) & (t <= t_vpk + 0.04))[0]
    if len(pull) < 4:
        return ev
    from scipy.signal import find_peaks

    seg = kn[pull]
    k_start, k_max = float(seg[0]), float(np.max(seg))
    if k_max - k_start >= 15.0:
        # first knee-extension maximum: the first clear peak of the knee angle after
        # lift-off covering at least half of the knees' extension (keypoint jitter of a few
        # degrees while the legs hide behind the plate is not a peak), followed by a re-bend
        need = k_start + 0.5 * (k_max - k_start)
        peaks, _ = find_peaks(seg, prominence=4.0)
        peaks = [int(p) for p in peaks if seg[p] >= need]
        if peaks:
            i_ke = int(pull[peaks[0]])
            ev["knee_extension_max_s"] = round(float(t[i_ke]), 4)
            ev["first_pull_end_s"] = ev["knee_extension_max_s"]
            i_lo = i_ke
            mid = pull[pull > i_ke]
            if len(mid) >= 2:
                j = int(np.argmin(kn[mid]))
                i_rb = int(mid[j])
                # a real re-bend: the knees extend again after it (not the window's end)
                if j < len(mid) - 1 and kn[i_ke] - kn[i_rb] >= 3.0:
                    ev["knee_rebend_max_s"] = round(float(t[i_rb]), 4)
                    ev["second_pull_start_s"] = ev["knee_rebend_max_s"]
                    i_lo = i_rb
    # maximal hip extension: after the re-bend (or lift-off), up to the bar's first peak
    if "knee_extension_max_s" not in ev:
        i_lo = int(pull[0])
    ext = np.where((np.arange(len(t)) > i_lo) & (t <= t_pk + 0.04))[0]
    if len(ext) >= 2:
        i_hx = int(ext[np.argmax(hp[ext])])
        ev["hip_extension_max_s"] = round(float(t[i_hx]), 4)
    post = np.where((t > t_pk) & (t <= t_pk + 2.0))[0]
    if len(post) >= 3:
        i_c = int(post[np.argmin(kn[post])])
        ev["catch_s"] = round(float(t[i_c]), 4)
        rec = np.where((t > t[i_c]) & (kn >= 160.0))[0]
        if len(rec):
            ev["recovery_end_s"] = round(float(t[int(rec[0])]), 4)
    return ev
