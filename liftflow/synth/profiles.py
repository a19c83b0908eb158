"""Bar motion for synthetic lifts: exact, smooth, physically plausible.

Heights ``h`` are metres above the floor of the bar (= near plate) centre, y up.
``x`` is metres, positive toward the lifter's front (to the right in the image).

Every path is a chain of quintic Hermite segments between knots that fix position,
velocity and acceleration, so position, velocity and acceleration are continuous (C2)
and the velocity is the exact derivative of the closed form (never a finite difference).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PLATE_DIAMETER_M = 0.45  # IWF competition plate
PLATE_RADIUS_M = PLATE_DIAMETER_M / 2
G = 9.81

PROFILES = ("squat", "snatch", "clean", "deadlift")


@dataclass
class Knot:
    t: float
    p: float
    v: float = 0.0
    a: float = 0.0


class Quintic:
    """Piecewise quintic Hermite curve through knots (t, p, v, a); constant outside."""

    def __init__(self, knots: list[Knot]):
        ks = list(knots)  # in time order: a knot out of order is a profile bug, not sorted away
        for k0, k1 in zip(ks, ks[1:]):
            if not k1.t > k0.t:
                raise ValueError(f"knot times must increase: {k0.t} then {k1.t}")
        self.knots = ks
        self.t = np.array([k.t for k in ks], dtype=float)
        coefs = []
        for k0, k1 in zip(ks, ks[1:]):
            T = k1.t - k0.t
            dp = k1.p - k0.p
            c0, c1, c2 = k0.p, k0.v, k0.a / 2.0
            c3 = (20 * dp - (8 * k1.v + 12 * k0.v) * T - (3 * k0.a - k1.a) * T**2) / (2 * T**3)
            c4 = (-30 * dp + (14 * k1.v + 16 * k0.v) * T + (3 * k0.a - 2 * k1.a) * T**2) / (2 * T**4)
            c5 = (12 * dp - 6 * (k1.v + k0.v) * T - (k0.a - k1.a) * T**2) / (2 * T**5)
            coefs.append((c0, c1, c2, c3, c4, c5))
        self.c = np.array(coefs, dtype=float).reshape(-1, 6)

    def _locate(self, t):
        t = np.asarray(t, dtype=float)
        if len(self.knots) == 1:
            return t, None, None
        i = np.clip(np.searchsorted(self.t, t, side="right") - 1, 0, len(self.c) - 1)
        u = np.clip(t, self.t[0], self.t[-1]) - self.t[i]
        return t, i, u

    def __call__(self, t, d: int = 0):
        """Value (d=0), velocity (d=1) or acceleration (d=2) at t (scalar or array)."""
        t, i, u = self._locate(t)
        if i is None:
            return np.full(t.shape, self.knots[0].p if d == 0 else 0.0)
        c = self.c[i]
        if d == 0:
            out = c[..., 0] + u * (c[..., 1] + u * (c[..., 2] + u * (c[..., 3] + u * (c[..., 4] + u * c[..., 5]))))
            out = np.where(t < self.t[0], self.knots[0].p, out)
            return np.where(t > self.t[-1], self.knots[-1].p, out)
        if d == 1:
            out = c[..., 1] + u * (2 * c[..., 2] + u * (3 * c[..., 3] + u * (4 * c[..., 4] + u * 5 * c[..., 5])))
        elif d == 2:
            out = 2 * c[..., 2] + u * (6 * c[..., 3] + u * (12 * c[..., 4] + u * 20 * c[..., 5]))
        else:
            raise ValueError("d must be 0, 1 or 2")
        return np.where((t < self.t[0]) | (t > self.t[-1]), 0.0, out)

    @property
    def end(self) -> float:
        return float(self.t[-1])


@dataclass
class Motion:
    """Bar path of one clip: h(t), x(t) in metres, reps and phase annotations."""

    profile: str
    h: Quintic
    x: Quintic
    reps: list[dict] = field(default_factory=list)
    end_s: float = 0.0  # time the last movement ends
    # arm offset (m) from bar to shoulder for the stylised body: + = shoulder above bar
    arm: list[tuple[float, float]] = field(default_factory=list)  # (t_from, offset)
    standing_h: float = 1.40

    def pos(self, t):
        return self.x(t), self.h(t)

    def vel(self, t):
        return self.x(t, 1), self.h(t, 1)

    def arm_offset(self, t: float) -> float:
        off = 0.0
        for t0, o in self.arm:
            if t >= t0:
                off = o
        return off

    def h_range(self, t_end: float) -> tuple[float, float]:
        ts = np.linspace(0.0, max(t_end, self.end_s), 4000)
        hs = self.h(ts)
        return float(hs.min()), float(hs.max())


def _peak(q: Quintic, t0: float, t1: float, sign: float = 1.0) -> float:
    ts = np.linspace(t0, t1, max(50, int((t1 - t0) * 20000)))
    v = q(ts, 1) * sign
    return float(v.max() * sign)


def _rep_dict(h: Quintic, ecc_start, con_start, con_end, kind: str) -> dict:
    rom = float(h(con_end) - h(con_start))
    return {
        "kind": kind,
        "eccentric_start_s": None if ecc_start is None else round(float(ecc_start), 6),
        "concentric_start_s": round(float(con_start), 6),
        "concentric_end_s": round(float(con_end), 6),
        "mean_concentric_velocity_m_s": rom / (con_end - con_start),
        "peak_concentric_velocity_m_s": _peak(h, con_start, con_end),
        "range_of_motion_m": rom,
    }


FATIGUE_FLOOR = 0.5  # the slowest rep's speed, as a share of the first's


def _fatigue(rep: int, per_rep: float) -> float:
    """Speed of rep ``rep`` (0-based) relative to the first: ``per_rep`` slower each rep,
    never below FATIGUE_FLOOR. (Without the floor a long clip's 17th squat rep had zero or
    negative speed: its knots went back in time and the generated plate jumped.)"""
    return max(FATIGUE_FLOOR, 1.0 - per_rep * rep)


def squat(t0: float, reps: int, rng: np.random.Generator, include_unrack: bool = False) -> Motion:
    """Back squat: (optional walk-out) then reps of eccentric down, pause, concentric up."""
    h_top = 1.40 + rng.uniform(-0.05, 0.05)
    x0 = 0.0
    hk = [Knot(t0, h_top)]
    xk = [Knot(t0, x0)]
    t = t0
    if include_unrack:
        # bar starts in the hooks a few cm low, is lifted out, then three walk-out steps back
        h_hook = h_top - rng.uniform(0.03, 0.05)
        x_rack = x0 + rng.uniform(0.22, 0.30)
        hk = [Knot(t0, h_hook)]
        xk = [Knot(t0, x_rack)]
        t += 0.6
        hk.append(Knot(t, h_top))
        xk.append(Knot(t, x_rack))
        steps = 3
        for s in range(steps):
            x_to = x_rack + (x0 - x_rack) * (s + 1) / steps
            bob = rng.uniform(0.008, 0.015)
            hk.append(Knot(t + 0.25, h_top - bob))
            t += 0.5
            hk.append(Knot(t, h_top))
            xk.append(Knot(t, x_to))
            t += 0.15
            xk.append(Knot(t, x_to))
            hk.append(Knot(t, h_top))
        t += 0.6
        hk.append(Knot(t, h_top))
        xk.append(Knot(t, x0))
    reps_out = []
    v_first = rng.uniform(0.9, 1.1)
    for r in range(max(1, reps)):
        rom = rng.uniform(0.55, 0.65)
        h_bot = h_top - rom
        t_ecc = rng.uniform(0.9, 1.2)
        pause = rng.uniform(0.10, 0.25)
        v_peak = v_first * _fatigue(r, 0.06)  # each rep a bit slower
        t_con = 1.875 * rom / v_peak  # minimum-jerk peak = 1.875 * mean
        drift = rng.uniform(0.01, 0.04)
        e0 = t
        hk.append(Knot(t + t_ecc, h_bot))
        xk.append(Knot(t + t_ecc, x0 + drift))
        t += t_ecc
        hk.append(Knot(t + pause, h_bot))
        xk.append(Knot(t + pause, x0 + drift))
        t += pause
        c0 = t
        t += t_con
        xr = x0 + rng.uniform(-0.01, 0.01)
        hk.append(Knot(t, h_top))
        xk.append(Knot(t, xr))
        c1 = t
        reps_out.append((e0, c0, c1))
        if r < reps - 1:
            t += rng.uniform(0.5, 0.8)  # breath at the top
            hk.append(Knot(t, h_top))
            xk.append(Knot(t, xr))
    h = Quintic(hk)
    m = Motion("squat", h, Quintic(xk), end_s=t, standing_h=h_top)
    m.reps = [_rep_dict(h, e0, c0, c1, "squat") for e0, c0, c1 in reps_out]
    m.arm = [(0.0, 0.0)]
    return m


def deadlift(t0: float, reps: int, rng: np.random.Generator) -> Motion:
    """Conventional deadlift from the floor: concentric pull, lockout, lower, reset."""
    h0 = PLATE_RADIUS_M
    hk = [Knot(t0, h0)]
    xk = [Knot(t0, 0.0)]
    t = t0
    reps_out = []
    v_first = rng.uniform(0.65, 0.8)
    for r in range(max(1, reps)):
        rom = rng.uniform(0.50, 0.56)
        v_peak = v_first * _fatigue(r, 0.05)
        t_con = 1.875 * rom / v_peak
        c0 = t
        t += t_con
        hk.append(Knot(t, h0 + rom))
        xk.append(Knot(t, -rng.uniform(0.02, 0.04)))  # bar travels back toward the hips
        c1 = t
        t += rng.uniform(0.3, 0.5)  # lockout hold
        hk.append(Knot(t, h0 + rom))
        xk.append(Knot(t, float(xk[-1].p)))
        e0 = t
        t += rng.uniform(0.7, 0.9)
        hk.append(Knot(t, h0))
        xk.append(Knot(t, 0.0))
        reps_out.append((c0, c1, e0))
        if r < reps - 1:
            t += rng.uniform(0.5, 0.8)
            hk.append(Knot(t, h0))
            xk.append(Knot(t, 0.0))
    h = Quintic(hk)
    m = Motion("deadlift", h, Quintic(xk), end_s=t, standing_h=h0 + 0.53)
    m.reps = []
    for c0, c1, e0 in reps_out:
        d = _rep_dict(h, None, c0, c1, "deadlift")
        d["eccentric_start_s"] = round(float(e0), 6)  # the eccentric follows the concentric
        m.reps.append(d)
    m.arm = [(0.0, 0.62)]
    return m


def _olympic(t0: float, rng: np.random.Generator, kind: str) -> Motion:
    """Snatch or clean: first pull, second pull, turnover, catch drop, recovery."""
    h0 = PLATE_RADIUS_M
    if kind == "snatch":
        v_pk = rng.uniform(1.8, 2.0)
        h_knee = 0.50
        t_knee, t_pow = 0.50, 0.78
        h_catch_drop = rng.uniform(0.10, 0.14)  # bar drop from peak to the catch
        h_bottom_below_catch = 0.06
        h_stand = rng.uniform(1.95, 2.05)  # overhead, standing
        x_curve = (-0.04, 0.03, -0.03)
        arm_pull, arm_catch = 0.62, -0.60
    else:
        v_pk = rng.uniform(1.45, 1.65)
        h_knee = 0.50
        t_knee, t_pow = 0.50, 0.80
        h_catch_drop = rng.uniform(0.08, 0.12)
        h_bottom_below_catch = 0.10
        h_stand = rng.uniform(1.42, 1.50)  # front rack, standing
        x_curve = (-0.04, 0.025, -0.02)
        arm_pull, arm_catch = 0.62, 0.0
    t = t0
    v_knee = rng.uniform(0.85, 1.0)
    v_pow = 0.5 * (v_knee + v_pk) + 0.1
    t_vpk = t_pow + 0.12
    # heights follow the velocities (trapezoid rule) so no segment overshoots
    h_pow = h_knee + (t_pow - t_knee) * 0.5 * (v_knee + v_pow)
    h_vpk = h_pow + (t_vpk - t_pow) * 0.5 * (v_pow + v_pk) + 0.01
    t_top = t_vpk + v_pk / G  # roughly ballistic after the peak
    h_top = h_vpk + v_pk**2 / (2 * G)
    t_catch = t_top + 0.22
    h_catch = h_top - h_catch_drop
    t_bot = t_catch + 0.30
    h_bot = h_catch - h_bottom_below_catch
    t_rec0 = t_bot + rng.uniform(0.4, 0.7)
    t_rec1 = t_rec0 + rng.uniform(1.2, 1.5)
    t_end = t_rec1 + 0.8
    hk = [
        Knot(t, h0),
        Knot(t + t_knee, h_knee, v_knee, 0.0),
        Knot(t + t_pow, h_pow, v_pow, 4.0),
        Knot(t + t_vpk, h_vpk, v_pk, 0.0),
        Knot(t + t_top, h_top, 0.0, -G),
        Knot(t + t_catch, h_catch, -0.5, 4.0),
        Knot(t + t_bot, h_bot, 0.0, 0.0),
        Knot(t + t_rec0, h_bot),
        Knot(t + t_rec1, h_stand),
        Knot(t + t_end, h_stand),
    ]
    xa, xb, xc = x_curve
    xk = [
        Knot(t, 0.0),
        Knot(t + t_knee, xa, 0.0, 0.0),  # swept back toward the lifter in the first pull
        Knot(t + t_vpk, xb, 0.0, 0.0),  # pushed away by the hips in the second pull
        Knot(t + t_catch, xc, 0.0, 0.0),  # looped back into the catch
        Knot(t + t_rec1, xc + 0.01),
        Knot(t + t_end, xc + 0.01),
    ]
    h = Quintic(hk)
    m = Motion(kind, h, Quintic(xk), end_s=t + t_end, standing_h=h_stand)
    pull = _rep_dict(h, None, t, t + t_top, kind)
    pull["catch_s"] = round(t + t_catch, 6)
    pull["recovery_end_s"] = round(t + t_rec1, 6)
    pull["peak_height_m"] = float(h_top)
    m.reps = [pull]
    m.arm = [(0.0, arm_pull), (t + t_top, arm_catch)]
    return m


def snatch(t0: float, rng: np.random.Generator) -> Motion:
    return _olympic(t0, rng, "snatch")


def clean(t0: float, rng: np.random.Generator) -> Motion:
    return _olympic(t0, rng, "clean")


def build(profile: str, t0: float, reps: int, rng: np.random.Generator, include_unrack: bool = False) -> Motion:
    if profile == "squat":
        return squat(t0, reps, rng, include_unrack)
    if profile == "deadlift":
        return deadlift(t0, reps, rng)
    if profile == "snatch":
        return snatch(t0, rng)
    if profile == "clean":
        return clean(t0, rng)
    raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")


def frame_times(end_s: float, fps: float, rng: np.random.Generator, vfr: bool = False) -> np.ndarray:
    """Frame times of a clip ``end_s`` long, to sample a motion at without rendering video:
    every ``1/fps``; with ``vfr``, each interval jittered by up to 30 % and about one in 16
    frames dropped (a phone's variable frame rate, as the generator's ``vfr`` clips)."""
    if not vfr:
        return np.arange(0.0, end_s, 1 / fps)
    dts = (1 / fps) * (1 + rng.uniform(-0.3, 0.3, int(end_s * fps * 1.6)))
    dts[rng.random(len(dts)) < 0.06] += 1 / fps  # dropped frames
    t = np.concatenate([[0.0], np.cumsum(dts)])
    return t[t < end_s]


def rep_duration_estimate(profile: str) -> float:
    """Rough seconds per rep (to fit reps into a requested duration)."""
    return {"squat": 3.1, "deadlift": 2.9}.get(profile, 4.5)
