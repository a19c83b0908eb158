"""Synthetic side-view lift videos with exact ground truth.

``generate_clip(path, SynthSpec(...))`` writes an H.264 .mp4 plus ``<stem>.gt.csv``
(same format as the real clips' ground truth) and ``<stem>.truth.json`` beside it, and
returns the :class:`GroundTruth`. Frames are rendered and encoded one at a time.

Conventions: frame pixels x right, y down, pixel centres at integers, in the upright
(presented) frame; positions are the plate centre at each frame's timestamp, which is
the middle of its exposure. Bar velocities are metres per second with y up, exact
derivatives of the closed-form path (``profiles.py``). ``far_x``/``far_y``/``far_r`` give the far
plate's centre and radius too (where the clip has one), partly behind the near plate: a
seed for following a partly hidden plate. A ``bar_x_frac`` near 1 cuts the near plate by the
right edge, with the far plate peeking out beside the arc in view.

Framing: m_per_px = 0.45 / (2 * plate_radius_px). The camera is placed so the whole
plate path fits the frame when it can; a snatch or clean (floor to overhead / front
rack, ~1.3-1.8 m) does not fit a 480 px high frame at the default 60 px radius, so its
top is cut and ``visibility`` says ``partial``/``absent`` there (use a portrait frame or
a smaller radius to keep it in). ``leave_frame=True`` frames it so the plate is fully
above the top edge at its highest point. Visibility follows the real clips' rule:
``visible`` when >= 75% of the disc is in frame, no more than 10% is covered by the
occluders (the arm, the lifter's thigh) and the blur streak is under half a radius; ``absent`` when no part of the
disc is in frame; ``partial`` otherwise. ``view="front"`` draws the near plate edge-on (a
camera in front of the lifter: ``partial`` throughout) and ``view="no_plate"`` no plate at
all (``absent``): the clips on which no plate can be followed.

Motion blur averages sub-frame renders (about 1 px apart, at most ``blur_samples``)
across the exposure (``shutter`` x the nominal frame interval) centred on each frame's
timestamp; the near plate follows its exact path, the far plate and bar move rigidly
with it during one exposure, the lifter and the occluders (an arm, ``occlusion``; the lifter's thigh in front of the plate
from the second pull through the catch, ``body_occlusion``) are drawn unblurred.
The plates look like real bumper plates: one colour out to the outline (IWF red, blue,
yellow, green, or black with white or coloured markings), a thin lip, a steel hub; the seed
picks the look unless ``plate`` names one, and the outline is exactly the truth radius.
Everything is seeded: the same spec gives byte-identical files on the same machine.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from . import profiles as _profiles
from .profiles import PLATE_DIAMETER_M, PROFILES
from . import render as _render

__all__ = ["SynthSpec", "GroundTruth", "generate_clip", "synth_cli", "PHONE_30FPS_HARD", "PROFILES", "VIEWS"]

# where the camera stands: side (the plates face it), front (the plates edge-on), or a clip
# with no plate at all (the bar alone): the last two make the clips a verdict must refuse
VIEWS = ("side", "front", "no_plate")

OCC_RAMP_S = 0.25  # an occluder eases in over the plate (and out again) over this long
ARM_COLOURS = ((105, 140, 185), (125, 160, 205))  # skin (BGR) and its highlight
BODY_COLOURS = ((70, 55, 45), (86, 70, 60))  # the lifter's clothing (draw_lifter's) and a fold

# a phone filming an Olympic lift indoors at 30 fps (issue #18 item 1): landscape 720p, strong
# compression, a small plate, an exposure as long as the frame interval, an arm and the
# lifter's thigh crossing the plate; the benchmarks' hard snatch and clean cases
PHONE_30FPS_HARD = dict(fps=30.0, width=1280, height=720, plate_radius_px=28.0, shutter=1.0, crf=30,
                        occlusion=True, body_occlusion=True)

# plate looks a seed chooses from: IWF bumper colours, black bumpers with white or coloured
# markings (as in the real clips: green, black, black with coloured marks)
PLATE_LOOKS = ("black", "red", "blue", "yellow", "green", "black-red", "black-green")


def plate_style_for(spec: "SynthSpec") -> str:
    """The plate look of ``spec``: its ``plate`` field, or for "auto" one chosen by the seed."""
    if spec.plate != "auto":
        return spec.plate
    rng = np.random.default_rng([abs(int(spec.seed)), 0x97A7])
    return PLATE_LOOKS[int(rng.integers(len(PLATE_LOOKS)))]


@dataclass
class SynthSpec:
    profile: str = "squat"  # squat | snatch | clean | deadlift
    reps: int = 3  # squat / deadlift
    fps: float = 30.0
    width: int = 640  # upright (presented) frame size; must be even
    height: int = 480
    plate_radius_px: float = 60.0  # near plate; m_per_px = 0.45 / (2 r)
    blur: bool = True  # true motion blur over the exposure
    noise: float = 3.0  # gaussian sensor noise sigma in grey levels (0 = none)
    clutter: bool = True  # textured background, far plate, rack plates, lifter body
    occlusion: bool = False  # an arm crosses part of the near plate for a while
    body_occlusion: bool = False  # the lifter's thigh passes in front of the plate in the pull and catch
    bar_x_frac: float = 0.45  # where the bar stands across the frame (near 1: the plate cut by the right edge)
    leave_frame: bool = False  # plate leaves through the top edge at the high point
    vfr: bool = False  # jittered per-frame timestamps (and a few dropped frames)
    rotation: int = 0  # 0/90/180/270: stored rotated, display matrix says how to present
    crf: int = 23  # libx264 quality, yuv420p
    seed: int = 0
    lead_in_s: float = 0.7  # static before the lift
    tail_s: float = 0.7  # static after the lift
    include_unrack: bool = False  # squat: lift out of the hooks and walk out first (not a rep)
    duration_s: float | None = None  # exact clip length; squat/deadlift fit as many reps as fit
    shutter: float = 0.5  # exposure as a fraction of the nominal frame interval
    blur_samples: int = 16  # most sub-frame renders averaged per frame when blur is on (~1 px apart)
    preset: str = "veryfast"  # libx264 preset
    plate: str = "auto"  # plate look: auto (chosen by seed) or a PLATE_STYLES name ("black-red": red marks)
    view: str = "side"  # side | front (plates edge-on, no far plate) | no_plate (bar and lifter only)

    def validate(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; choose one of {', '.join(PROFILES)}")
        if plate_style_for(self) not in PLATE_LOOKS:
            raise ValueError(f"unknown plate {self.plate!r}; choose auto or one of {', '.join(PLATE_LOOKS)}")
        if self.view not in VIEWS:
            raise ValueError(f"unknown view {self.view!r}; choose one of {', '.join(VIEWS)}")
        if self.rotation % 360 not in (0, 90, 180, 270):
            raise ValueError("rotation must be 0, 90, 180 or 270")
        if self.width % 2 or self.height % 2 or self.width < 32 or self.height < 32:
            raise ValueError("width and height must be even and at least 32 (yuv420p)")
        if not self.fps > 0:
            raise ValueError("fps must be positive")
        if not self.plate_radius_px >= 4:
            raise ValueError("plate_radius_px must be at least 4")
        if self.reps < 1:
            raise ValueError("reps must be at least 1")


@dataclass
class GroundTruth:
    frames: list[int]
    t_s: list[float]
    x: list[float]  # plate centre, upright frame pixels (also given when out of frame)
    y: list[float]
    r: list[float]
    visibility: list[str]  # visible | partial | absent
    m_per_px: float
    vy_m_s: list[float]  # true vertical bar velocity, y up
    reps: list[dict]
    peak_vertical_velocity_m_s: float
    spec: dict
    vx_m_s: list[float] = field(default_factory=list)  # true horizontal velocity, x right
    h_m: list[float] = field(default_factory=list)  # bar height above the floor
    x_m: list[float] = field(default_factory=list)
    fps: float = 0.0  # nominal
    width: int = 0  # upright
    height: int = 0
    rotation: int = 0
    y_floor_px: float = 0.0  # image row of the floor (h = 0)
    x_origin_px: float = 0.0  # image column of x_m = 0
    # the far plate (partly behind the near one), where the clip has one: centre and radius
    far_x: list[float] = field(default_factory=list)
    far_y: list[float] = field(default_factory=list)
    far_r: float = 0.0

    def to_csv(self, path) -> None:
        """frame,x,y,r,r_minor,visibility — one row per frame; x,y,r empty when absent."""
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["frame", "x", "y", "r", "r_minor", "visibility"])
            for i, x, y, r, v in zip(self.frames, self.x, self.y, self.r, self.visibility):
                if v == "absent":
                    w.writerow([i, "", "", "", "", v])
                else:
                    w.writerow([i, f"{x:.3f}", f"{y:.3f}", f"{r:.3f}", "", v])

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_json(cls, path) -> "GroundTruth":
        d = json.loads(Path(path).read_text())
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def position_m(self, i: int) -> tuple[float, float]:
        """(x, h) in metres of frame i."""
        return self.x_m[i], self.h_m[i]


# ------------------------------------------------------------------ scene

class _Scene:
    """Everything static about a clip, and per-time geometry of the moving parts."""

    FAR_K = 0.78  # far plate scale (perspective: farther from the camera)
    FAR_SHADE = 0.75  # far plate brightness (in the shadow of the bar and the lifter)

    def __init__(self, spec: SynthSpec):
        self.spec = spec
        rng = np.random.default_rng(spec.seed)
        self.rng_motion = np.random.default_rng(rng.integers(1 << 62))
        self.rng_scene = np.random.default_rng(rng.integers(1 << 62))
        self.rng_time = np.random.default_rng(rng.integers(1 << 62))
        self.rng_noise = np.random.default_rng(rng.integers(1 << 62))
        W, H, r = spec.width, spec.height, float(spec.plate_radius_px)
        self.W, self.H, self.r = W, H, r
        self.mpp = PLATE_DIAMETER_M / (2 * r)
        self.s = 1.0 / self.mpp  # px per metre
        t0 = float(spec.lead_in_s)
        reps = spec.reps
        if spec.duration_s is not None and spec.profile in ("squat", "deadlift"):
            avail = spec.duration_s - spec.lead_in_s - spec.tail_s - (4.5 if spec.include_unrack else 0.0)
            reps = max(1, int(avail // _profiles.rep_duration_estimate(spec.profile)))
        motion_seed = int(self.rng_motion.integers(1 << 62))
        while True:
            m = _profiles.build(spec.profile, t0, reps, np.random.default_rng(motion_seed), spec.include_unrack)
            if spec.duration_s is None or reps == 1 or m.end_s + spec.tail_s <= spec.duration_s:
                break
            reps -= 1
        self.motion = m
        self.reps = reps
        self.duration = float(spec.duration_s) if spec.duration_s is not None else m.end_s + spec.tail_s
        # camera placement: bar x = 0 at bar_x_frac of the width (lifter faces right)
        self.x_origin = W * spec.bar_x_frac
        hmin, hmax = m.h_range(self.duration)
        margin = max(4.0, 0.05 * H)
        span = (hmax - hmin) * self.s
        if spec.leave_frame:
            # highest plate position fully above the top edge
            y_top = -1.15 * r
            y_floor = y_top + hmax * self.s
            if y_floor - hmin * self.s + r > H - margin:  # cannot keep the low point in: keep it
                y_floor = H - margin - r + hmin * self.s
        elif span + 2 * r + 2 * margin <= H:
            y_mid = H / 2.0
            y_floor = y_mid + 0.5 * (hmin + hmax) * self.s
        else:  # the path does not fit: keep the low part, the top gets cut (visibility says so)
            y_floor = H - margin - r + hmin * self.s
        self.y_floor = float(y_floor)
        # far plate offset (slightly oblique camera) and perspective centre
        self.far_off = np.array([0.7 * r, -0.12 * r])
        self.c0 = np.array([W / 2.0, H / 2.0])
        # the plates' colours come from their own stream, so the rest of the scene is the same
        # whatever plate a seed loads; the far plate is the same plate, in the bar's shadow
        self.plate = plate_style_for(spec)
        st = _render.plate_style(self.plate, np.random.default_rng([abs(int(spec.seed)), 0x9A7E]))
        self.near = _render.plate_sprite(r, self.rng_scene, body=st["body"], mark=st["mark"], label=st["label"])
        self.far = _render.plate_sprite(r * self.FAR_K, self.rng_scene, body=st["body"], mark=st["mark"],
                                        label=st["label"], shade=self.FAR_SHADE) \
            if spec.clutter else None
        if spec.view == "front":  # edge-on; the far plate (another edge at the bar's far end) left out
            self.near, self.far = _render.edge_on(self.near), None
        elif spec.view == "no_plate":
            self.near, self.far = _render.Sprite(np.zeros_like(self.near.img), self.near.c), None
        # path bounding box (for keeping the rack away from it)
        ts = np.linspace(0, self.duration, 600)
        px, py = self.to_px(*m.pos(ts))
        keep = (px.min() - 2.5 * r, py.min() - r, px.max() + 2.5 * r, py.max() + r)
        self.background = _render.make_background(W, H, self.y_floor, spec.clutter, self.rng_scene, keep)
        if spec.include_unrack and spec.profile == "squat":
            # the squat rack the bar is walked out of: an upright and its J-hook behind the plate
            k0 = m.h.knots[0]
            hx, hy = self.to_px(m.x.knots[0].p, k0.p)
            _render.draw_rack_upright(self.background, float(hx), float(hy), r, self.y_floor)
        self.bar_colour = np.array([168, 170, 174], np.float32) / 255.0
        # occluding arm: during the middle of the lift
        self.occ = None
        if spec.occlusion:
            if m.reps:
                rep = m.reps[len(m.reps) // 2]
                a = rep["concentric_start_s"] - 0.3
            else:
                a = t0 + 0.5
            self.occ = (a, a + 1.2)
        # the lifter's thigh in front of the plate: from the second pull (the bar brushing the
        # thighs, ~0.5 s into the pull) through the catch (~0.5 s after the bar's highest point)
        self.body_occ = None
        if spec.body_occlusion:
            if m.reps:
                rep = m.reps[len(m.reps) // 2]
                self.body_occ = (rep["concentric_start_s"] + 0.5, rep["concentric_end_s"] + 0.5)
            else:
                self.body_occ = (t0 + 0.5, t0 + 1.5)
        # unit-disc sample points for visibility fractions
        g = (np.arange(24) + 0.5) / 24 * 2 - 1
        gx, gy = np.meshgrid(g, g)
        keep_d = gx**2 + gy**2 <= 1
        self.disc_pts = np.stack([gx[keep_d], gy[keep_d]], 1)
        self._layer_cache = None
        # noise bank
        self.noise_pad = 32
        if spec.noise > 0:
            nb = []
            for _ in range(2):
                n = np.rint(self.rng_noise.normal(0.0, spec.noise, (H + self.noise_pad, W + self.noise_pad, 3)))
                n = np.clip(n, -255, 255).astype(np.int16)
                nb.append((np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8)))
            self.noise_bank = nb

    # geometry
    def to_px(self, x_m, h_m):
        return self.x_origin + np.asarray(x_m) * self.s, self.y_floor - np.asarray(h_m) * self.s

    def near_px(self, t):
        return self.to_px(*self.motion.pos(t))

    def far_px(self, nx, ny):
        k = self.FAR_K
        return (self.c0[0] + k * (nx - self.c0[0]) + self.far_off[0],
                self.c0[1] + k * (ny - self.c0[1]) + self.far_off[1])

    @staticmethod
    def _sweep(t: float, window) -> float | None:
        """How far an occluder has moved in over the plate at t: 0 (out) to 1 (in), eased in
        and out over OCC_RAMP_S at the ends of its ``window``; None outside the window."""
        if window is None:
            return None
        a, b = window
        if not a <= t <= b:
            return None
        f = min(1.0, (t - a) / OCC_RAMP_S, (b - t) / OCC_RAMP_S)
        return 0.5 - 0.5 * math.cos(math.pi * max(0.0, f))

    def occluders(self, t: float, nx: float, ny: float) -> list:
        """What is in front of the near plate at t: (start, end, half width, colours) segments,
        the lifter's thigh first, then the arm."""
        out = []
        f = self._sweep(t, self.body_occ)
        if f is not None:
            r = self.r
            # the thigh's end (the knee, rounded) comes in from the lower left over the plate's
            # lower back quarter: ~15 % of the disc when fully in; a thigh ~20 cm thick
            tip_in = np.array([nx - 0.55 * r, ny + 0.45 * r])
            tip_out = np.array([nx - 2.6 * r, ny + 1.3 * r])
            tip = tip_out + f * (tip_in - tip_out)
            out.append((tip + np.array([-5.0 * r, 2.5 * r]), tip, 0.45 * r, BODY_COLOURS))
        seg = self.arm_segment(t, nx, ny)
        if seg is not None:
            out.append((*seg, ARM_COLOURS))
        return out

    def arm_segment(self, t: float, nx: float, ny: float):
        """Occluding arm (start point, hand point, half width) or None."""
        f = self._sweep(t, self.occ)
        if f is None:
            return None
        r = self.r
        hand_in = np.array([nx + 0.25 * r, ny + 0.2 * r])
        hand_out = np.array([nx - 2.8 * r, ny + 0.5 * r])
        hand = hand_out + f * (hand_in - hand_out)
        start = hand + np.array([-6.0 * r, 1.5 * r])
        return start, hand, 0.24 * r  # a forearm ~11 cm thick against a 45 cm plate

    def visibility(self, t: float, nx: float, ny: float, blur_px: float) -> tuple[str, float, float]:
        if self.spec.view == "no_plate":
            return "absent", 0.0, 0.0
        r = self.r
        pts = self.disc_pts * r + (nx, ny)
        inside = (pts[:, 0] >= -0.5) & (pts[:, 0] <= self.W - 0.5) & (pts[:, 1] >= -0.5) & (pts[:, 1] <= self.H - 0.5)
        in_frac = float(inside.mean())
        occ_frac = 0.0
        covered = None
        for p0, p1, hw, _ in self.occluders(t, nx, ny):
            d = p1 - p0
            u = np.clip(((pts - p0) @ d) / (d @ d), 0, 1)
            dist = np.hypot(*(pts - (p0 + u[:, None] * d)).T)
            covered = (dist <= hw) if covered is None else covered | (dist <= hw)
        if covered is not None:
            occ_frac = float((covered & inside).mean())
        if in_frac <= 0.0:
            return "absent", in_frac, occ_frac
        seen = in_frac - occ_frac
        if self.spec.view == "front":  # only the plate's edge is seen, never its face
            return "partial", in_frac, occ_frac
        if in_frac >= 0.75 and occ_frac <= 0.1 and seen >= 0.75 and blur_px <= 0.5 * r:
            return "visible", in_frac, occ_frac
        return "partial", in_frac, occ_frac

    # timestamps
    def timestamps(self) -> list[int]:
        tb = _render.VideoWriter.TB
        fps = self.spec.fps
        pts = []
        if not self.spec.vfr:
            n = max(1, int(math.floor(self.duration * fps + 1e-9)))
            return [int(round(i / fps / tb)) for i in range(n)]
        t = 0.0
        rng = self.rng_time
        while t < self.duration - 1e-9:
            pts.append(int(round(t / tb)))
            dt = (1.0 / fps) * (1.0 + rng.uniform(-0.3, 0.3))
            if rng.random() < 0.06:
                dt += 1.0 / fps  # a dropped frame
            t += dt
        return pts

    # rendering
    def _moving_layer(self, nx: float, ny: float):
        """Premultiplied BGRA layer of far plate + bar + near plate with the near plate centre
        on an integer pixel. Returns (layer, (ix, iy) near centre in layer coordinates,
        near's integer frame position)."""
        r = self.r
        ix, iy = int(math.floor(nx + 0.5)), int(math.floor(ny + 0.5))
        fx_, fy_ = self.far_px(nx, ny)
        # geometry relative to the integer near centre (sub-pixel parts kept for the far parts)
        dx, dy = nx - ix, ny - iy
        if self.far is not None:
            bx, by = fx_ - dx, fy_ - dy
        else:
            bx, by = ix + 2.2 * r, float(iy)
        pad = self.near.c + 2
        fr = (self.far.c + 2) if self.far is not None else 0
        x0 = int(math.floor(min(ix - pad, bx - fr, bx - 0.2 * r)))
        y0 = int(math.floor(min(iy - pad, by - fr, by - 0.2 * r)))
        x1 = int(math.ceil(max(ix + pad, bx + fr, bx + 0.2 * r))) + 1
        y1 = int(math.ceil(max(iy + pad, by + fr, by + 0.2 * r))) + 1
        L = np.zeros((y1 - y0, x1 - x0, 4), np.float32)
        if self.far is not None:
            _render.place(L, self.far, bx, by, x0, y0, opaque_base=True)
        # the bar, composited only inside its own bounding box
        bw = max(1, int(round(0.2 * r)))
        qx0 = max(0, int(math.floor(min(ix, bx) - x0 - bw)))
        qy0 = max(0, int(math.floor(min(iy, by) - y0 - bw)))
        qx1 = min(L.shape[1], int(math.ceil(max(ix, bx) - x0 + bw)) + 1)
        qy1 = min(L.shape[0], int(math.ceil(max(iy, by) - y0 + bw)) + 1)
        mask = np.zeros((qy1 - qy0, qx1 - qx0), np.uint8)
        cv = _render.cv2
        cv.line(mask, (_render._fx(ix - x0 - qx0), _render._fx(iy - y0 - qy0)),
                (_render._fx(bx - x0 - qx0), _render._fx(by - y0 - qy0)), 255, bw, cv.LINE_AA, _render.SHIFT)
        a = mask.astype(np.float32)[..., None] * (1.0 / 255.0)
        sub = L[qy0:qy1, qx0:qx1]
        sub *= 1.0 - a
        sub[..., :3] += a * self.bar_colour
        sub[..., 3:] += a
        # near plate: integer placement, no resampling
        S = self.near.img
        c = int(self.near.c)
        sy0, sx0 = iy - c - y0, ix - c - x0
        sub = L[sy0:sy0 + S.shape[0], sx0:sx0 + S.shape[1]]
        sub *= 1.0 - S[..., 3:4]
        sub += S
        return L, x0, y0, ix, iy

    def render(self, t: float) -> tuple[np.ndarray, float, int]:
        """Frame at time t (mid-exposure), the blur travel in px and the number of sub-frames."""
        spec = self.spec
        W, H = self.W, self.H
        img = self.background.copy()
        nx, ny = self.near_px(t)
        nx, ny = float(nx), float(ny)
        m = self.motion
        if spec.clutter:
            _render.draw_lifter(img, (nx, ny), float(self.to_px(m.x(t) - 0.02, 0)[0]), self.y_floor, self.s,
                                m.arm_offset(t), m.standing_h, float(m.h(t)))
        exp = spec.shutter / spec.fps
        ends_x, ends_y = self.near_px(np.array([t - exp / 2, t + exp / 2]))
        blur_px = float(math.hypot(ends_x[1] - ends_x[0], ends_y[1] - ends_y[0]))
        if spec.blur and blur_px > 0.05:
            # sub-frames at most ~1 px apart so the smear is continuous, not ghosted copies
            K = int(min(max(2, spec.blur_samples), math.ceil(blur_px / 1.0) + 1))
            ts = t + exp * ((np.arange(K) + 0.5) / K - 0.5)
        else:
            K, ts = 1, np.array([t])
        sx, sy = self.near_px(ts)
        key = (nx, ny)
        if self._layer_cache is not None and self._layer_cache[0] == key:
            L, lx0, ly0, ix, iy = self._layer_cache[1]  # static bar: same layer as last frame
        else:
            L, lx0, ly0, ix, iy = self._moving_layer(nx, ny)
            self._layer_cache = (key, (L, lx0, ly0, ix, iy))
        # the whole moving layer follows the near plate across the exposure (the far plate,
        # 0.78x as fast, is smeared a little too much: it is clutter, the near plate is exact)
        offx, offy = sx - ix, sy - iy
        lh, lw = L.shape[:2]
        x0 = max(0, int(math.floor(lx0 + offx.min())) - 1)
        y0 = max(0, int(math.floor(ly0 + offy.min())) - 1)
        x1 = min(W, int(math.ceil(lx0 + lw + offx.max())) + 1)
        y1 = min(H, int(math.ceil(ly0 + lh + offy.max())) + 1)
        if x1 > x0 and y1 > y0:
            acc = None
            for k in range(K):
                M = np.array([[1.0, 0.0, lx0 + offx[k] - x0], [0.0, 1.0, ly0 + offy[k] - y0]])
                w = _render.cv2.warpAffine(L, M, (x1 - x0, y1 - y0), flags=_render.cv2.INTER_LINEAR,
                                           borderMode=_render.cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
                if acc is None:
                    acc = w
                else:
                    acc += w
            if K > 1:
                acc *= 1.0 / K
            base = img[y0:y1, x0:x1].astype(np.float32)
            base *= 1.0 - acc[..., 3:4]
            base += acc[..., :3] * 255.0
            img[y0:y1, x0:x1] = np.clip(base + 0.5, 0, 255).astype(np.uint8)
        for p0, p1, hw, (base_c, light_c) in self.occluders(t, nx, ny):
            cv = _render.cv2
            cv.line(img, (_render._fx(p0[0]), _render._fx(p0[1])), (_render._fx(p1[0]), _render._fx(p1[1])),
                    base_c, max(1, int(round(2 * hw))), cv.LINE_AA, _render.SHIFT)
            cv.line(img, (_render._fx(p0[0]), _render._fx(p0[1] - 0.6 * hw)),
                    (_render._fx(p1[0]), _render._fx(p1[1] - 0.6 * hw)), light_c,
                    max(1, int(round(0.4 * hw))), cv.LINE_AA, _render.SHIFT)
            cv.circle(img, (_render._fx(p1[0]), _render._fx(p1[1])), _render._fx(1.1 * hw), base_c,
                      -1, cv.LINE_AA, _render.SHIFT)
        if spec.noise > 0:
            pos, neg = self.noise_bank[int(self.rng_noise.integers(len(self.noise_bank)))]
            oy, ox = (int(v) for v in self.rng_noise.integers(0, self.noise_pad, 2))
            cv = _render.cv2
            img = cv.subtract(cv.add(img, pos[oy:oy + H, ox:ox + W]), neg[oy:oy + H, ox:ox + W])
        return img, blur_px, K


def generate_clip(path: str | Path, spec: SynthSpec | None = None, progress=None) -> GroundTruth:
    """Render ``spec`` to ``path`` (.mp4), write ``<stem>.gt.csv`` and ``<stem>.truth.json``.

    ``progress(i, n)`` is called after each frame when given.
    """
    spec = spec or SynthSpec()
    spec.validate()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scene = _Scene(spec)
    rot = spec.rotation % 360
    pts = scene.timestamps()
    tb = float(_render.VideoWriter.TB)
    sw, sh = (spec.height, spec.width) if rot in (90, 270) else (spec.width, spec.height)
    enc = _render.Encoder(path, sw, sh, spec.fps, spec.crf, rot, spec.preset)
    m = scene.motion
    out = dict(frames=[], t_s=[], x=[], y=[], r=[], visibility=[], vy=[], vx=[], h=[], xm=[], fx=[], fy=[])
    try:
        for i, p in enumerate(pts):
            t = p * tb
            img, blur_px, _ = scene.render(t)
            enc.write(_render.store_rotated(img, rot), p)
            nx, ny = scene.near_px(t)
            vis, _, _ = scene.visibility(t, float(nx), float(ny), blur_px)
            out["frames"].append(i)
            out["t_s"].append(round(t, 9))
            out["x"].append(float(nx))
            out["y"].append(float(ny))
            out["r"].append(float(scene.r))
            out["visibility"].append(vis)
            out["vy"].append(float(m.h(t, 1)))
            out["vx"].append(float(m.x(t, 1)))
            out["h"].append(float(m.h(t)))
            out["xm"].append(float(m.x(t)))
            if scene.far is not None:
                fx, fy = scene.far_px(float(nx), float(ny))
                out["fx"].append(float(fx))
                out["fy"].append(float(fy))
            if progress is not None:
                progress(i + 1, len(pts))
    finally:
        enc.close()
    dense = np.linspace(0.0, scene.duration, max(2000, int(scene.duration * 2000)))
    spec_d = asdict(spec)
    spec_d["reps_generated"] = len(m.reps)
    spec_d["plate_look"] = scene.plate  # the look "auto" resolved to
    gt = GroundTruth(
        frames=out["frames"], t_s=out["t_s"], x=out["x"], y=out["y"], r=out["r"],
        visibility=out["visibility"], m_per_px=scene.mpp, vy_m_s=out["vy"], reps=m.reps,
        peak_vertical_velocity_m_s=float(np.max(m.h(dense, 1))), spec=spec_d,
        vx_m_s=out["vx"], h_m=out["h"], x_m=out["xm"], fps=float(spec.fps),
        width=spec.width, height=spec.height, rotation=rot,
        y_floor_px=scene.y_floor, x_origin_px=scene.x_origin,
        far_x=out["fx"], far_y=out["fy"], far_r=scene.r * scene.FAR_K if scene.far is not None else 0.0,
    )
    gt.to_csv(path.with_name(path.stem + ".gt.csv"))
    gt.to_json(path.with_name(path.stem + ".truth.json"))
    return gt


# ------------------------------------------------------------------ CLI

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liftflow synth", description="Write a synthetic lift video with exact ground truth.")
    d = SynthSpec()
    p.add_argument("--profile", choices=PROFILES, default=d.profile)
    p.add_argument("--out", default="synth.mp4", help="output .mp4 (ground truth written beside it)")
    p.add_argument("--fps", type=float, default=d.fps)
    p.add_argument("--width", type=int, default=d.width)
    p.add_argument("--height", type=int, default=d.height)
    p.add_argument("--plate-radius", type=float, default=d.plate_radius_px, dest="plate_radius_px")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--duration", type=float, default=None, help="clip length in seconds")
    g.add_argument("--reps", type=int, default=None, help="reps (squat, deadlift)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--plate", default=d.plate, help="plate look: auto (by seed) or " + ", ".join(PLATE_LOOKS))
    p.add_argument("--view", choices=VIEWS, default=d.view,
                   help="side (default), front (plates edge-on) or no_plate (a clip no verdict can pass)")
    p.add_argument("--crf", type=int, default=d.crf)
    p.add_argument("--preset", default=d.preset)
    p.add_argument("--blur", action=argparse.BooleanOptionalAction, default=d.blur)
    p.add_argument("--noise", type=float, default=d.noise, help="sensor noise sigma (0 = none)")
    p.add_argument("--clutter", action=argparse.BooleanOptionalAction, default=d.clutter)
    p.add_argument("--occlusion", action=argparse.BooleanOptionalAction, default=d.occlusion)
    p.add_argument("--body-occlusion", action=argparse.BooleanOptionalAction, default=d.body_occlusion,
                   help="the lifter's thigh passes in front of the plate in the pull and catch")
    p.add_argument("--leave-frame", action=argparse.BooleanOptionalAction, default=d.leave_frame)
    p.add_argument("--vfr", action=argparse.BooleanOptionalAction, default=d.vfr)
    p.add_argument("--unrack", action=argparse.BooleanOptionalAction, default=d.include_unrack, dest="include_unrack")
    p.add_argument("--rotation", type=int, choices=(0, 90, 180, 270), default=d.rotation)
    p.add_argument("--lead-in", type=float, default=d.lead_in_s, dest="lead_in_s")
    p.add_argument("--tail", type=float, default=d.tail_s, dest="tail_s")
    p.add_argument("--quiet", action="store_true")
    return p


def synth_cli(argv: list[str]) -> int:
    """``liftflow synth ...``: parse ``argv``, write the clip and its truth, print where."""
    try:
        a = _parser().parse_args(argv)
    except SystemExit as exc:  # --help or a usage error (argparse already printed why)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    spec = SynthSpec(
        profile=a.profile, fps=a.fps, width=a.width, height=a.height, plate_radius_px=a.plate_radius_px,
        blur=a.blur, noise=a.noise, clutter=a.clutter, occlusion=a.occlusion,
        body_occlusion=a.body_occlusion, leave_frame=a.leave_frame,
        vfr=a.vfr, rotation=a.rotation, crf=a.crf, seed=a.seed, lead_in_s=a.lead_in_s, tail_s=a.tail_s,
        include_unrack=a.include_unrack, duration_s=a.duration, preset=a.preset, plate=a.plate,
        view=a.view,
    )
    if a.reps is not None:
        spec.reps = a.reps
    try:
        spec.validate()
    except ValueError as exc:
        print(f"liftflow synth: {exc}")
        return 2
    out = Path(a.out)
    t0 = time.perf_counter()
    gt = generate_clip(out, spec)
    dt = time.perf_counter() - t0
    if not a.quiet:
        print(f"wrote {out} ({len(gt.frames)} frames, {spec.width}x{spec.height}, {spec.profile}, "
              f"{len(gt.reps)} rep(s), {dt:.1f} s)")
        print(f"ground truth: {out.with_name(out.stem + '.gt.csv')} and {out.with_name(out.stem + '.truth.json')}")
    return 0
