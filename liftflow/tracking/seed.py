"""The one seed-circle check: the fields as given (any entry point), then against the video.

``read_seed`` needs only the request (the API refuses with 422 before a job exists, the
dataset reader lists it as a manifest problem); ``check_seed_fits`` needs the video's
geometry (the decode step fails the job with the reason). Both raise ``SeedError``.

``read_seed_lenient`` is ``read_seed`` for the original server's upload clients: a centre
without a radius (the control panel sends no radius when it is 0) is ignored, as the
original did (the plate is then detected automatically), and the warning says so.
"""

from __future__ import annotations

from typing import Any, Optional

from liftflow.errors import IncompleteSeed, SeedError
from liftflow.numeric import finite_number

__all__ = ["IncompleteSeed", "SeedError", "check_seed_fits", "read_seed", "read_seed_lenient"]

SEED_FIELDS = ("disc_center_x", "disc_center_y", "disc_radius")
Seed = tuple[Optional[float], Optional[float], Optional[float], int]  # x, y, r (all or none), seed_frame


def _num(v: Any, name: str) -> Optional[float]:
    return finite_number(v, name, SeedError)


def read_seed(x: Any, y: Any, r: Any, frame: Any) -> Seed:
    """Seed circle fields (numbers or strings) as numbers: all three of x, y, r or none of
    them (automatic plate detection), a positive radius, a centre not negative, a whole
    ``seed_frame`` >= 0 (default 0)."""
    fx, fy, fr = (_num(v, name) for v, name in zip((x, y, r), SEED_FIELDS))
    given = [v is not None for v in (fx, fy, fr)]
    if any(given) and not all(given):
        raise IncompleteSeed("disc_center_x, disc_center_y and disc_radius must be given together "
                             "(or none of them for automatic plate detection)",
                             missing=tuple(n for n, g in zip(SEED_FIELDS, given) if not g))
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


def read_seed_lenient(x: Any, y: Any, r: Any, frame: Any) -> tuple[Seed, Optional[str]]:
    """``read_seed``, except that a centre without a radius is ignored: ``((None, None, None,
    frame), warning)`` instead of ``IncompleteSeed``. Any other problem still raises."""
    try:
        return read_seed(x, y, r, frame), None
    except IncompleteSeed as exc:
        if exc.missing != ("disc_radius",):
            raise
        seed = read_seed(None, None, None, frame)
    return seed, ("incomplete seed ignored: disc_center_x and disc_center_y were given without "
                  "disc_radius; the plate is detected automatically")


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
