"""The one seed-circle check: the fields as given (any entry point), then against the video.

``read_seed`` needs only the request (the API refuses with 422 before a job exists, the
dataset reader lists it as a manifest problem); ``check_seed_fits`` needs the video's
geometry (the decode step fails the job with the reason). Both raise ``SeedError``.
"""

from __future__ import annotations

from typing import Any, Optional

from liftflow.errors import SeedError
from liftflow.numeric import finite_number

__all__ = ["SeedError", "check_seed_fits", "read_seed"]


def _num(v: Any, name: str) -> Optional[float]:
    return finite_number(v, name, SeedError)


def read_seed(x: Any, y: Any, r: Any, frame: Any) -> tuple[Optional[float], Optional[float], Optional[float], int]:
    """Seed circle fields (numbers or strings) as numbers: all three of x, y, r or none of
    them (automatic plate detection), a positive radius, a centre not negative, a whole
    ``seed_frame`` >= 0 (default 0)."""
    fx, fy, fr = _num(x, "disc_center_x"), _num(y, "disc_center_y"), _num(r, "disc_radius")
    given = [v is not None for v in (fx, fy, fr)]
    if any(given) and not all(given):
        raise SeedError("disc_center_x, disc_center_y and disc_radius must be given together "
                        "(or none of them for automatic plate detection)")
    if fr is not None and fr <= 0:
        raise SeedError(f"disc_radius must be positive (got {r!r})")
    if fx is not None and (fx < 0 or fy < 0):
        raise SeedError(f"the seed centre must not be negative (got {x!r}, {y!r})")
    sf = _num(frame, "seed_frame")
    if sf is None:
        sf = 0
    if sf < 0 or sf != int(sf):
        raise SeedError(f"seed_frame must be a whole number >= 0 (got {frame!r})")
    return fx, fy, fr, int(sf)


def check_seed_fits(x: Optional[float], y: Optional[float], r: Optional[float], frame: int,
                    width: int, height: int, frame_count: int) -> None:
    """The seed frame inside the video and, where a circle is given, the circle on the frame."""
    if not 0 <= frame < frame_count:
        raise SeedError(f"seed_frame {frame} is outside the video (frames 0..{frame_count - 1})")
    if None in (x, y, r):
        return
    if not (r > 0):
        raise SeedError(f"disc_radius must be positive (got {r})")
    if not (0 <= x < width and 0 <= y < height):
        raise SeedError(f"seed centre ({x:g}, {y:g}) lies outside the {width}x{height} frame")
    if r > max(width, height):
        raise SeedError(f"disc_radius {r:g} px is larger than the frame")
