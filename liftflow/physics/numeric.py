"""Small numeric kernels in numpy: exact decimal rounding of whole arrays.

``round_array(a, k)`` gives, element by element, the same doubles as Python's ``round(float(x),
k)`` (correctly rounded, ties to even on the exact binary value), about 20x faster for long
series: ``rint(x * 10**k) / 10**k`` is exact except where ``x * 10**k`` lies within rounding
error of a half-integer; those few elements go through Python's ``round``.
"""

from __future__ import annotations

import numpy as np

_NEAR_HALF = 1e-6  # |frac(x*10^k) - 0.5| below this: decided by Python's round (exact)
_MAX_SCALED = 2.0**52  # beyond: the scaled value is an integer already; left to round()


def round_array(a, k: int) -> np.ndarray:
    """``round(float(x), k)`` for every element of ``a`` (NaN and inf pass through)."""
    x = np.asarray(a, dtype=float)
    if not 0 <= k <= 15:
        return np.array([round(float(v), k) for v in x.ravel()]).reshape(x.shape)
    scale = 10.0**k  # exact for k <= 22
    with np.errstate(invalid="ignore", over="ignore"):
        y = x * scale
        r = np.rint(y)
        out = r / scale
        frac = np.abs(y - np.floor(y))
        risky = (np.abs(frac - 0.5) < _NEAR_HALF) | ~(np.abs(y) < _MAX_SCALED)
    fin = np.isfinite(x)
    out = np.where(fin, out, x)
    risky &= fin
    if risky.any():
        flat, src = out.reshape(-1), x.reshape(-1)
        for i in np.flatnonzero(risky.reshape(-1)):
            flat[i] = round(float(src[i]), k)
    return out


def round_list(a, k: int) -> list:
    """``[round(float(x), k) or None for non-finite x]`` as a list of Python floats."""
    x = np.asarray(a, dtype=float)
    out = round_array(x, k).tolist()
    fin = np.isfinite(x)
    if not fin.all():
        for i in np.flatnonzero(~fin):
            out[i] = None
    return out
