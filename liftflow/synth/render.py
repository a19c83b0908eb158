"""Draw and encode synthetic lift clips, frame by frame (never more than one frame held).

Layers, back to front: static background (precomputed once: wall texture, floor, a rack
with plates), a stylised lifter, the far plate, the bar, the near plate, an occluding arm.
The plate layers are premultiplied BGRA sprites drawn once at 4x and box-downsampled, so
a sprite pixel is exact area coverage; each frame places them with a sub-pixel affine
warp (bilinear keeps the centroid exact). Motion blur averages ``blur_samples`` such
placements across the shutter, only inside the region the moving layers cover.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from liftflow.video.encode import VideoWriter

SS = 4  # supersampling factor for sprites
SHIFT = 4  # cv2 fractional bits


def _fx(v: float) -> int:
    return int(round(v * (1 << SHIFT)))


# ---------------------------------------------------------------- sprites

@dataclass
class Sprite:
    img: np.ndarray  # float32 HxWx4, premultiplied BGR + alpha, 0..1
    c: float  # sprite pixel coordinate of the centre (same for x and y)


# Bumper plates as they look on a platform: a moulded disc of one colour out to the outer
# edge (IWF colours by weight, or black), white or coloured markings, a steel hub. The only
# rim detail is a thin rounded lip (~1.5% of the radius) a shade off the body, and a faint
# moulded groove well inside it: real plates show no wide light ring, and their outline is
# the body-to-background edge (what a user clicks and what the ground truth calls ``r``).
PLATE_STYLES = {
    # name: (body BGR, marking BGR, label)
    "red": ((44, 38, 172), (235, 235, 235), "25 KG"),
    "blue": ((160, 84, 34), (235, 235, 235), "20 KG"),
    "yellow": ((38, 172, 212), (40, 40, 40), "15 KG"),
    "green": ((58, 132, 56), (235, 235, 235), "10 KG"),
    "black": ((38, 36, 40), (225, 225, 228), "20 KG"),
}
LIP_FRAC = 0.015  # width of the rounded lip, fraction of the radius


def plate_style(name: str, rng: np.random.Generator) -> dict:
    """Colours of one plate of style ``name`` (a key of PLATE_STYLES or "black-<colour>" for a
    black plate with coloured markings), with a little per-clip variation in shade."""
    base = name.split("-")[0]
    body, mark, label = PLATE_STYLES[base]
    if "-" in name:
        mark = PLATE_STYLES[name.split("-", 1)[1]][0]
    k = float(rng.uniform(0.9, 1.1))
    body = tuple(int(np.clip(v * k, 0, 255)) for v in body)
    return {"body": body, "mark": mark, "label": label}


def _shade(colour, k: float, add: float = 0.0) -> tuple:
    return tuple(int(np.clip(v * k + add, 0, 255)) for v in colour)


def plate_sprite(r: float, rng: np.random.Generator, body=(38, 36, 40), rim=None,
                 label: str = "20 KG", mark=(225, 225, 228), shade: float = 1.0) -> Sprite:
    """A bumper plate of colour ``body`` out to its outer edge: thin lip (colour ``rim``,
    default a shade lighter than the body), faint moulded rings, markings, steel hub.
    ``shade`` darkens the whole plate (the far plate, in the bar's shadow)."""
    body = _shade(body, shade)
    mark = _shade(mark, shade)
    rim = _shade(body, 1.12, 6.0) if rim is None else _shade(rim, shade)
    half = int(math.ceil(r)) + 3
    size = 2 * half + 1
    c = float(half)
    H = size * SS
    hc = (c + 0.5) * SS - 0.5  # centre in the supersampled grid
    col = np.zeros((H, H, 3), np.uint8)
    R = r * SS
    ctr = (_fx(hc), _fx(hc))

    def disc(rad, colour, thick=-1, img=col):
        cv2.circle(img, ctr, _fx(rad), colour, thick if thick < 0 else max(1, int(round(thick))), cv2.LINE_AA, SHIFT)

    # coverage of the outline, exact to ~1e-4 of the area (cv2's anti-aliased disc is ~0.2%
    # wider in radius than asked): a linear ramp across each supersampled pixel's edge
    yy, xx = np.mgrid[0:H, 0:H].astype(np.float32)
    dist = np.sqrt((xx - hc) ** 2 + (yy - hc) ** 2)
    alpha = np.rint(np.clip(R - dist + 0.5, 0.0, 1.0) * 255.0).astype(np.uint8)
    del yy, xx, dist
    disc(R, rim)
    disc(R * (1.0 - LIP_FRAC), body)
    # moulded groove inside the lip and faint rings
    disc(R * 0.88, _shade(body, 0.8), thick=R * 0.012)
    disc(R * 0.80, _shade(body, 1.1, 4.0), thick=R * 0.02)
    disc(R * 0.45, _shade(body, 1.15, 6.0), thick=R * 0.03)
    # markings: text around the disc, a few bars
    fs = R / 95.0
    for ang, txt in ((-35, label), (150, "IWF"), (60, "450")):
        a = math.radians(ang)
        tx = hc + R * 0.62 * math.cos(a)
        ty = hc + R * 0.62 * math.sin(a)
        f = fs
        while True:  # keep the marks inside the moulded ring, clear of the rim
            (tw, th), _ = cv2.getTextSize(txt, cv2.FONT_HERSHEY_SIMPLEX, f, max(1, int(f * 2)))
            far = max(math.hypot(tx + sx * tw / 2 - hc, ty + sy * th / 2 - hc) for sx in (-1, 1) for sy in (-1, 1))
            if far <= R * 0.86 or f < 0.2:
                break
            f *= 0.9
        cv2.putText(col, txt, (int(tx - tw / 2), int(ty + th / 2)), cv2.FONT_HERSHEY_SIMPLEX, f,
                    mark, max(1, int(f * 2)), cv2.LINE_AA)
    for k in range(6):
        a = rng.uniform(0, 2 * math.pi)
        p0 = (hc + R * 0.50 * math.cos(a), hc + R * 0.50 * math.sin(a))
        p1 = (hc + R * 0.58 * math.cos(a), hc + R * 0.58 * math.sin(a))
        cv2.line(col, (_fx(p0[0]), _fx(p0[1])), (_fx(p1[0]), _fx(p1[1])), _shade(body, 0.75),
                 max(1, int(R * 0.02)), cv2.LINE_AA, SHIFT)
    # hub, collar hole and sleeve end
    disc(R * 0.24, _shade((175, 178, 182), shade))
    disc(R * 0.24, _shade((110, 110, 115), shade), thick=R * 0.02)
    disc(R * 0.15, _shade((60, 60, 62), shade))
    disc(R * 0.125, _shade((205, 208, 212), shade))
    disc(R * 0.125, _shade((140, 140, 145), shade), thick=R * 0.015)
    # keep the colour inside the outline only (putText and rings are clipped by alpha)
    small_c = cv2.resize(col, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    small_a = cv2.resize(alpha, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    # colour was drawn opaque over a full-coverage disc: premultiply by coverage
    inside = cv2.resize((alpha == 255).astype(np.uint8) * 255, (size, size), interpolation=cv2.INTER_AREA)
    # at the anti-aliased edge the colour is the lip's; use it for partial pixels
    rim_f = np.array(rim, np.float32) / 255.0
    edge = (inside < 255)[..., None]
    small_c = np.where(edge, rim_f, small_c)
    img = np.dstack([small_c * small_a[..., None], small_a]).astype(np.float32)
    return Sprite(img=img, c=c)


EDGE_ON_FRACTION = 0.07  # a plate seen from the front: its thickness (~3 cm of 45 cm) over its diameter


def edge_on(sprite: Sprite, fraction: float = EDGE_ON_FRACTION) -> Sprite:
    """``sprite`` squeezed horizontally to ``fraction`` of its width about its centre: the
    plate as a camera in front of the lifter sees it (edge-on, a thin upright bar)."""
    img = sprite.img
    h, w = img.shape[:2]
    nw = max(2, int(round(w * fraction)))
    narrow = cv2.resize(img, (nw, h), interpolation=cv2.INTER_AREA)
    out = np.zeros_like(img)
    x0 = int(round(sprite.c - (nw - 1) / 2))
    out[:, x0:x0 + nw] = narrow
    return Sprite(img=out, c=sprite.c)


def place(dst: np.ndarray, sprite: Sprite, cx: float, cy: float, x0: int, y0: int,
          opaque_base: bool = False) -> None:
    """Composite premultiplied ``sprite`` centred at frame (cx, cy) over ``dst`` (BGR or BGRA
    float32 whose pixel (0, 0) is frame (x0, y0)), touching only the sprite's footprint."""
    h, w = dst.shape[:2]
    sh, sw = sprite.img.shape[:2]
    px, py = cx - x0 - sprite.c, cy - y0 - sprite.c  # sprite origin in dst coordinates
    bx0, by0 = max(0, int(math.floor(px)) - 1), max(0, int(math.floor(py)) - 1)
    bx1, by1 = min(w, int(math.ceil(px)) + sw + 1), min(h, int(math.ceil(py)) + sh + 1)
    if bx1 <= bx0 or by1 <= by0:
        return
    M = np.array([[1.0, 0.0, px - bx0], [0.0, 1.0, py - by0]], dtype=np.float64)
    warped = cv2.warpAffine(sprite.img, M, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    sub = dst[by0:by1, bx0:bx1]
    if dst.shape[2] == 4:
        sub *= 1.0 - warped[..., 3:4]
        sub += warped
    else:
        sub *= 1.0 - warped[..., 3:4]
        sub += warped[..., :3]


# ---------------------------------------------------------------- background

def make_background(w: int, h: int, y_floor: float, clutter: bool, rng: np.random.Generator,
                    keep_out: tuple[float, float, float, float]) -> np.ndarray:
    """Static BGR uint8 background. ``keep_out`` = x0, y0, x1, y1 the plate path covers."""
    if not clutter:
        return np.full((h, w, 3), (178, 182, 186), np.uint8)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    base = np.array([150, 160, 168], np.float32)
    shade = 0.85 + 0.25 * (1 - yy) * (0.7 + 0.3 * xx)
    img = base[None, None, :] * shade[..., None]
    # low-frequency blotches + fine grain texture (concrete / painted wall)
    small = rng.normal(0, 1, (max(2, h // 24), max(2, w // 24), 1)).astype(np.float32)
    low = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img += 10.0 * low[..., None] if low.ndim == 2 else 10.0 * low
    grain = rng.normal(0, 4.0, (h, w)).astype(np.float32)
    img += cv2.GaussianBlur(grain, (0, 0), 0.8)[..., None]
    # wall panel seams
    step = max(40, w // 6)
    for x in range(int(rng.uniform(0, step)), w, step):
        img[:, x:x + 2] *= 0.85
    img = np.clip(img, 0, 255).astype(np.uint8)
    # floor (platform boards) below the floor line
    yf = int(round(y_floor))
    if yf < h:
        fl = img[max(0, yf):]
        fl[:] = (np.array([70, 95, 120], np.float32) * (0.9 + 0.2 * rng.random((fl.shape[0], 1, 1)))).astype(np.uint8)
        for x in range(int(rng.uniform(0, 90)), w, 90):
            cv2.line(img, (x, max(0, yf)), (x - 40, h), (55, 75, 95), 2, cv2.LINE_AA)
        cv2.line(img, (0, max(0, yf)), (w, max(0, yf)), (40, 50, 60), 2, cv2.LINE_AA)
    # a rack with stored plates, away from the lift path
    kx0, ky0, kx1, ky1 = keep_out
    scale = max(20.0, min(w, h) / 10)
    sides = []
    if kx0 > w * 0.22:
        sides.append((0.02 * w, kx0 - 0.06 * w))
    if kx1 < w * 0.78:
        sides.append((kx1 + 0.06 * w, 0.98 * w))
    for sx0, sx1 in sides:
        if sx1 - sx0 < scale:
            continue
        # uprights and a storage pin
        ux = int(sx0 + 0.2 * (sx1 - sx0))
        cv2.rectangle(img, (ux, int(h * 0.1)), (ux + max(3, int(scale * 0.25)), min(h, yf)), (50, 52, 58), -1)
        pin_y = min(h - 5, yf - int(scale * 2.2)) if yf < h else int(h * 0.7)
        px = sx0 + 0.55 * (sx1 - sx0)
        for k in range(int(rng.integers(2, 5))):
            rr = scale * rng.uniform(1.0, 2.0)
            colour = [(40, 40, 160), (150, 70, 30), (40, 150, 200), (60, 130, 60), (35, 35, 38)][int(rng.integers(0, 5))]
            cx = px + k * scale * 0.25
            cv2.circle(img, (_fx(cx), _fx(pin_y)), _fx(rr), colour, -1, cv2.LINE_AA, SHIFT)
            cv2.circle(img, (_fx(cx), _fx(pin_y)), _fx(rr * 0.2), (170, 170, 175), -1, cv2.LINE_AA, SHIFT)
    return img


def draw_rack_upright(img: np.ndarray, bar_x: float, bar_y: float, r: float, y_floor: float) -> None:
    """A squat-rack upright behind the bar's start position, with the J-hook it rests in."""
    h, w = img.shape[:2]
    pw = max(3.0, 0.32 * r)
    px = bar_x + 0.15 * r
    top = bar_y - 2.2 * r
    cv2.rectangle(img, (_fx(px - pw / 2), _fx(top)), (_fx(px + pw / 2), _fx(min(h + 1.0, y_floor))),
                  (58, 58, 64), -1, cv2.LINE_AA, SHIFT)
    for k in range(int((min(h, y_floor) - top) // (0.35 * r)) + 1):  # the row of holes
        yy = top + 0.2 * r + k * 0.35 * r
        cv2.circle(img, (_fx(px), _fx(yy)), _fx(max(1.0, 0.06 * r)), (25, 25, 28), -1, cv2.LINE_AA, SHIFT)
    hook_y = bar_y + 0.12 * r  # the bar sits in the hook
    pts = np.array([[px - pw / 2 - 0.25 * r, hook_y - 0.25 * r], [px - pw / 2 - 0.25 * r, hook_y + 0.15 * r],
                    [px + pw / 2, hook_y + 0.15 * r], [px + pw / 2, hook_y - 0.05 * r]])
    cv2.fillPoly(img, [np.round(pts * (1 << SHIFT)).astype(np.int32)], (40, 40, 140), cv2.LINE_AA, SHIFT)


# ---------------------------------------------------------------- lifter

def draw_lifter(img: np.ndarray, bar_xy: tuple[float, float], foot_x: float, y_floor: float,
                px_per_m: float, arm_off_m: float, standing_h: float, h_m: float,
                facing: int = 1) -> None:
    """A stylised lifter (thick limbs), posed from the bar height. Drawn in place."""
    bx, by = bar_xy
    s = px_per_m
    sh_x = bx - facing * 0.05 * s
    sh_y = by - arm_off_m * s if arm_off_m >= 0 else by - arm_off_m * s  # shoulder
    if arm_off_m < 0:  # bar overhead: shoulders below the bar
        sh_y = by + (-arm_off_m) * s
    if arm_off_m == 0.0:
        sh_y = by + 0.05 * s
    shoulder_h = (y_floor - sh_y) / s
    depth = float(np.clip((1.45 - shoulder_h) / 0.75, 0.0, 1.0))
    lean = 0.20 + 0.75 * depth
    torso = 0.52 * s
    hip = (sh_x - facing * torso * math.sin(lean), sh_y + torso * math.cos(lean))
    ankle = (foot_x, y_floor - 0.08 * s)
    leg = 0.44 * s
    dx, dy = hip[0] - ankle[0], hip[1] - ankle[1]
    d = math.hypot(dx, dy)
    d = min(d, 2 * leg - 1e-3)
    mx, my = (hip[0] + ankle[0]) / 2, (hip[1] + ankle[1]) / 2
    off = math.sqrt(max(0.0, leg**2 - (d / 2) ** 2))
    nx, ny = (-dy / max(d, 1e-6), dx / max(d, 1e-6))
    knee = (mx + facing * abs(nx) * off, my - abs(ny) * off * 0.2)
    cloth = (70, 55, 45)
    skin = (120, 150, 190)
    lw = max(2, int(0.11 * s))

    def seg(p, q, colour, wdt):
        cv2.line(img, (_fx(p[0]), _fx(p[1])), (_fx(q[0]), _fx(q[1])), colour, wdt, cv2.LINE_AA, SHIFT)

    seg(ankle, (ankle[0] + facing * 0.2 * s, ankle[1] + 0.06 * s), (30, 30, 30), max(2, int(0.07 * s)))
    seg(ankle, knee, cloth, lw)
    seg(knee, hip, cloth, int(lw * 1.2))
    seg(hip, (sh_x, sh_y), cloth, int(lw * 1.6))
    head = (sh_x + facing * 0.04 * s, sh_y - 0.2 * s)
    cv2.circle(img, (_fx(head[0]), _fx(head[1])), _fx(0.11 * s), skin, -1, cv2.LINE_AA, SHIFT)
    # arm: to the bar (pulls / overhead) or to the bar on the back
    if arm_off_m > 0.0 or arm_off_m < 0.0:
        seg((sh_x, sh_y), (bx - facing * 0.02 * s, by), skin, max(2, int(0.06 * s)))
    else:
        elbow = (sh_x - facing * 0.1 * s, sh_y + 0.22 * s)
        seg((sh_x, sh_y), elbow, skin, max(2, int(0.06 * s)))
        seg(elbow, (bx + facing * 0.08 * s, by), skin, max(2, int(0.05 * s)))


# ---------------------------------------------------------------- encoder

def Encoder(path: Path, width: int, height: int, fps: float, crf: int, rotation: int,
            preset: str = "veryfast", threaded: bool | None = None) -> VideoWriter:
    """The synthetic clips' encoder: libx264 yuv420p, exact per-frame pts, rotation metadata.
    mb-tree rate control makes libx264 output vary from run to run: off, so a seed gives
    the same bytes every time. Threaded encoding only pays where x264 leaves cores idle."""
    if threaded is None:
        import os

        threaded = (os.cpu_count() or 1) > 4
    return VideoWriter(path, width, height, fps, crf=crf, preset=preset, x264_params="no-mbtree=1",
                       rotation=rotation, threaded=threaded)


def store_rotated(img: np.ndarray, rotation: int) -> np.ndarray:
    """Upright frame -> stored frame that a decoder rotating ``rotation`` deg CW shows upright."""
    if rotation == 0:
        return img
    code = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}[rotation]
    return cv2.rotate(img, code)
