"""Small numeric kernels in numpy: exact decimal rounding of whole arrays.

``round_array(a, k)`` gives, element by element, the same doubles as Python's ``round(float(x),
k)`` (correctly rounded, ties to even on the exact binary value), about 20x faster for long
series: ``rint(x * 10**k) / 10**k`` is exact except where ``x * 10**k`` lies within rounding
error of a half-integer; those few elements go through Python's ``round``.
"""

from __future__ import annotations

import math

import numpy as np

_NEAR_HALF = 1e-6  # |frac(x*10^k) - 0.5| below this: decided by Python's round (exact)
_MAX_SCALED = 2.0**52  # beyond: the scaled value is an integer already; left to round()


_BLOCK = 1 << 16  # elements rounded at a time: bounds the temporaries to ~3 MB


def round_array(a, k: int) -> np.ndarray:
    """``round(float(x), k)`` for every element of ``a`` (NaN and inf pass through).

    Long inputs go ``_BLOCK`` elements at a time: the six temporaries of a whole array were
    the largest transient of building a result (a 2 min clip's outlines: 0.7 M values,
    six 5.5 MB temporaries at once)."""
    x = np.asarray(a, dtype=float)
    if not 0 <= k <= 15:
        return np.array([round(float(v), k) for v in x.ravel()]).reshape(x.shape)
    if x.size > _BLOCK:
        out = np.empty(x.shape, float)
        flat_in, flat_out = x.reshape(-1), out.reshape(-1)
        for i in range(0, x.size, _BLOCK):
            flat_out[i:i + _BLOCK] = _round_block(flat_in[i:i + _BLOCK], k)
        return out
    return _round_block(x, k)


def _round_block(x: np.ndarray, k: int) -> np.ndarray:
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


def fixed_point(x: np.ndarray, k: int) -> "np.ndarray | None":
    """The int32 ``n`` with ``n / 10**k`` the very same doubles as ``x`` (values already
    rounded to ``k`` decimals: ``round(v, k)`` is the double nearest ``n / 10**k``, and so
    is the correctly rounded division), half the memory of the doubles; None where a value
    is not such a number or does not fit (non-finite, beyond int32)."""
    scale = 10.0**k
    n = np.rint(x * scale)
    if not (np.abs(n) < 2**31 - 1).all() or not np.array_equal(n / scale, x):
        return None
    return n.astype(np.int32)


def round_list(a, k: int) -> list:
    """``[round(float(x), k) or None for non-finite x]`` as a list of Python floats."""
    x = np.asarray(a, dtype=float)
    out = round_array(x, k).tolist()
    fin = np.isfinite(x)
    if not fin.all():
        for i in np.flatnonzero(~fin):
            out[i] = None
    return out


# --- 2nd-order Butterworth low-pass, run forward and backward ----------------------------
# scipy.signal.butter/filtfilt give the same numbers (to ~1e-13 relative), but importing
# scipy.signal takes ~0.75 s (it pulls scipy.stats and every filter design module), more
# than the whole compute_metrics step on 1800 frames. These are its exact formulas for the
# one case used here.
def butter2_lowpass(wn: float) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of ``scipy.signal.butter(2, wn)``: analog prototype poles -exp(±iπ/4),
    pre-warped to ``4 tan(π wn / 2)``, bilinear transform at fs = 2."""
    warped = 4.0 * np.tan(np.pi * wn / 2.0)
    p = warped * -np.exp(1j * np.pi * np.array([-1.0, 1.0]) / 4.0)
    k = warped ** 2
    pz = (4.0 + p) / (4.0 - p)
    kz = k * np.real(1.0 / np.prod(4.0 - p))
    b = kz * np.array([1.0, 2.0, 1.0])
    a = np.real(np.array([1.0, -(pz[0] + pz[1]), pz[0] * pz[1]]))
    return b, a


def lfilter_zi2(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``scipy.signal.lfilter_zi`` for a 2nd-order section (steady state of a unit step)."""
    i_minus_a = np.array([[1.0 + a[1], -1.0], [a[2], 1.0]])
    return np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])


def lfilter2(b: np.ndarray, a: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """``scipy.signal.lfilter(b, a, x, zi=zi)[0]`` for a 2nd-order IIR section with complex
    poles (any Butterworth low-pass), vectorised: the first two outputs directly, the rest
    as 2 Re(c u) with u[n] = p u[n-1] + w[n] (w the FIR part, p a pole), solved in chunks as
    p^j * cumsum(p^-j w) (chunks short enough that p^-j stays far from overflow; the error
    is that of the plain recursion, eps * |w| / (1 - |p|))."""
    x = np.asarray(x, float)
    n = len(x)
    b0, b1, b2 = (float(v) for v in b)
    a1, a2 = float(a[1]), float(a[2])
    y = np.empty(n)
    if n == 0:
        return y
    y[0] = b0 * x[0] + zi[0]
    if n == 1:
        return y
    y[1] = b0 * x[1] + b1 * x[0] - a1 * y[0] + zi[1]
    if n == 2:
        return y
    disc = 4.0 * a2 - a1 * a1
    if not disc > 0:  # real poles: not a Butterworth low-pass; plain recursion
        for i in range(2, n):
            y[i] = b0 * x[i] + b1 * x[i - 1] + b2 * x[i - 2] - a1 * y[i - 1] - a2 * y[i - 2]
        return y
    p = complex(-a1 / 2.0, np.sqrt(disc) / 2.0)
    c = p / complex(0.0, 2.0 * p.imag)  # p / (p - conj(p))
    w = b0 * x[2:] + b1 * x[1:-1] + b2 * x[:-2]
    # u[1] such that y[1] = 2 Re(c u[1]) and y[2] - w[2] = 2 Re(c p u[1])
    zr = y[1] / 2.0
    r = (-a1 * y[1] - a2 * y[0]) / 2.0
    z = complex(zr, (p.real * zr - r) / p.imag)
    carry = z / c
    m = len(w)
    lg = -np.log10(abs(p))
    # |p|^-chunk times the data stays far below the float range (1e308)
    # and short enough that exp(j log p) stays exact to ~j * 1e-16
    chunk = int(min(m, 256, max(8, 250.0 / lg if lg > 0 else m)))
    jl = np.arange(chunk) * np.log(p)
    pw = np.exp(jl)  # p**j; exp is ~7x faster than complex power, same to 1e-15
    pinv = np.exp(-jl)
    u = np.empty(m, complex)
    for s in range(0, m, chunk):
        e = min(m, s + chunk)
        k = e - s
        u[s:e] = pw[:k] * (np.cumsum(w[s:e] * pinv[:k]) + p * carry)
        carry = u[e - 1]
    y[2:] = 2.0 * (c * u).real
    return y


def filtfilt_odd(b: np.ndarray, a: np.ndarray, x: np.ndarray, padlen: int) -> np.ndarray:
    """``scipy.signal.filtfilt(b, a, x, padtype="odd", padlen=padlen)`` for ``lfilter2``'s
    2nd-order sections."""
    x = np.asarray(x, float)
    edge = int(padlen)
    if edge >= len(x):
        raise ValueError(f"padlen {edge} must be less than the series' length {len(x)}")
    if edge > 0:
        ext = np.concatenate((2 * x[0] - x[edge:0:-1], x, 2 * x[-1] - x[-2:-(edge + 2):-1]))
    else:
        ext = x
    # filtered about the first value: the same up to rounding (the filter is linear and its
    # steady state passes a constant), with the rounding of the distance from it, not of
    # the absolute pixel position
    x0 = ext[0]
    ext = ext - x0
    zi = lfilter_zi2(b, a)
    y = lfilter2(b, a, ext, zi * ext[0])
    y = lfilter2(b, a, y[::-1], zi * y[-1])[::-1]
    return (y[edge:-edge] if edge > 0 else y) + x0


# --- not-a-knot cubic spline --------------------------------------------------------------
# scipy.interpolate.CubicSpline(x, y, bc_type="not-a-knot") for 1-D data, in numpy: importing
# scipy.interpolate took ~0.3 s, three quarters of the compute_metrics step on 1800 frames.
# Same system (scipy's slope equations and end conditions), solved by the Thomas algorithm
# instead of LAPACK's banded LU; same values to ~1e-12 relative (test_physics).
class CubicSplineNAK:
    """The interpolating cubic spline with not-a-knot ends through (x, y), x strictly
    increasing, at least 4 points. ``spline(xq, nu=0)``: values (``nu=1``: first
    derivative), extrapolating with the end pieces like scipy's."""

    def __init__(self, x, y):
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        n = len(x)
        if n < 4 or len(y) != n:
            raise ValueError("a not-a-knot spline needs at least 4 points and one y per x")
        dx = np.diff(x)
        if not np.all(dx > 0):
            raise ValueError("x must be strictly increasing")
        slope = np.diff(y) / dx
        # row i: lower[i] s[i-1] + diag[i] s[i] + upper[i] s[i+1] = rhs[i]
        lower = np.zeros(n)
        diag = np.empty(n)
        upper = np.zeros(n)
        rhs = np.empty(n)
        diag[1:-1] = 2.0 * (dx[:-1] + dx[1:])
        lower[1:-1] = dx[1:]
        upper[1:-1] = dx[:-1]
        rhs[1:-1] = 3.0 * (dx[1:] * slope[:-1] + dx[:-1] * slope[1:])
        d = x[2] - x[0]
        diag[0], upper[0] = dx[1], d
        rhs[0] = ((dx[0] + 2.0 * d) * dx[1] * slope[0] + dx[0] ** 2 * slope[1]) / d
        d = x[-1] - x[-3]
        diag[-1], lower[-1] = dx[-2], d
        rhs[-1] = (dx[-1] ** 2 * slope[-2] + (2.0 * d + dx[-1]) * dx[-2] * slope[-1]) / d
        s = _thomas(lower, diag, upper, rhs)
        t = (s[:-1] + s[1:] - 2.0 * slope) / dx
        self.x = x
        self.c = np.stack([t / dx, (slope - s[:-1]) / dx - t, s[:-1], y[:-1]])

    def __call__(self, xq, nu: int = 0) -> np.ndarray:
        xq = np.asarray(xq, float)
        k = np.clip(np.searchsorted(self.x, xq, side="right") - 1, 0, len(self.x) - 2)
        h = xq - self.x[k]
        c3, c2, c1, c0 = self.c[:, k]
        if nu == 0:
            return ((c3 * h + c2) * h + c1) * h + c0
        if nu == 1:
            return (3.0 * c3 * h + 2.0 * c2) * h + c1
        raise ValueError("nu must be 0 or 1")


def _thomas(lower, diag, upper, rhs) -> np.ndarray:
    """Solve a tridiagonal system (Python floats: ~1 µs per row, no LAPACK import)."""
    a, b, c, d = lower.tolist(), diag.tolist(), upper.tolist(), rhs.tolist()
    n = len(b)
    cp = [0.0] * n
    dp = [0.0] * n
    cp[0] = c[0] / b[0]
    dp[0] = d[0] / b[0]
    for i in range(1, n):
        m = b[i] - a[i] * cp[i - 1]
        cp[i] = c[i] / m
        dp[i] = (d[i] - a[i] * dp[i - 1]) / m
    out = [0.0] * n
    out[-1] = dp[-1]
    for i in range(n - 2, -1, -1):
        out[i] = dp[i] - cp[i] * out[i + 1]
    return np.array(out)


def smoothing_spline(x, y, w, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """The weighted cubic smoothing spline (natural ends) through (x, y): minimises
    ``sum w_i (y_i - g(x_i))^2 + lam * integral g''(x)^2 dx`` (as scipy's
    ``make_smoothing_spline``; Green & Silverman 1994, Reinsch's algorithm). Returns
    (g at x, g' at x). x strictly increasing, at least 3 points, w > 0.

    A pentadiagonal solve in Python floats (~2 us a row), no scipy import (~0.35 s)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    w = np.asarray(w, float)
    n = len(x)
    if n < 3 or len(y) != n or len(w) != n:
        raise ValueError("a smoothing spline needs at least 3 points, one y and one w per x")
    h = np.diff(x)
    if not np.all(h > 0):
        raise ValueError("x must be strictly increasing")
    if not np.all(w > 0):
        raise ValueError("weights must be positive")
    ih = 1.0 / h
    # Q (n x m, m = n-2): column j has ih[j], -(ih[j] + ih[j+1]), ih[j+1] in rows j, j+1, j+2
    q0, q1, q2 = ih[:-1], -(ih[:-1] + ih[1:]), ih[1:]
    dw = 1.0 / w
    # A = R + lam Q^T W^-1 Q, symmetric pentadiagonal: diagonal a0, first and second off-diagonals
    a0 = (h[:-1] + h[1:]) / 3.0 + lam * (q0 * q0 * dw[:-2] + q1 * q1 * dw[1:-1] + q2 * q2 * dw[2:])
    a1 = h[1:-1] / 6.0 + lam * (q1[:-1] * q0[1:] * dw[1:-2] + q2[:-1] * q1[1:] * dw[2:-1])
    a2 = lam * q2[:-2] * q0[2:] * dw[2:-2]
    rhs = q0 * y[:-2] + q1 * y[1:-1] + q2 * y[2:]
    gam = _solve_penta_spd(a0, a1, a2, rhs)
    # g = y - lam W^-1 Q gamma
    qg = np.zeros(n)
    qg[:-2] += q0 * gam
    qg[1:-1] += q1 * gam
    qg[2:] += q2 * gam
    g = y - lam * dw * qg
    # second derivatives at the knots (natural: 0 at both ends), then the slopes
    c = np.zeros(n)
    c[1:-1] = gam
    d = np.empty(n)
    d[:-1] = (g[1:] - g[:-1]) * ih - h * (2.0 * c[:-1] + c[1:]) / 6.0
    d[-1] = (g[-1] - g[-2]) * ih[-1] + h[-1] * (c[-2] + 2.0 * c[-1]) / 6.0
    return g, d


def _solve_penta_spd(a0, a1, a2, rhs) -> np.ndarray:
    """Solve a symmetric positive definite pentadiagonal system (diagonal ``a0``, first and
    second off-diagonals ``a1``, ``a2``) by LDL^T in Python floats."""
    m = len(a0)
    d0, e1, e2, b = a0.tolist(), a1.tolist() + [0.0, 0.0], a2.tolist() + [0.0, 0.0], rhs.tolist()
    D = [0.0] * m
    L1 = [0.0] * m  # L[i+1, i]
    L2 = [0.0] * m  # L[i+2, i]
    for i in range(m):
        di = d0[i]
        if i >= 1:
            di -= L1[i - 1] * L1[i - 1] * D[i - 1]
        if i >= 2:
            di -= L2[i - 2] * L2[i - 2] * D[i - 2]
        D[i] = di
        u = e1[i]
        if i >= 1:
            u -= L2[i - 1] * L1[i - 1] * D[i - 1]
        L1[i] = u / di
        L2[i] = e2[i] / di
    z = [0.0] * m
    for i in range(m):
        v = b[i]
        if i >= 1:
            v -= L1[i - 1] * z[i - 1]
        if i >= 2:
            v -= L2[i - 2] * z[i - 2]
        z[i] = v
    out = [0.0] * m
    for i in range(m - 1, -1, -1):
        v = z[i] / D[i]
        if i + 1 < m:
            v -= L1[i] * out[i + 1]
        if i + 2 < m:
            v -= L2[i] * out[i + 2]
        out[i] = v
    return np.array(out)


def finite_number(v, name: str, error: type = ValueError):
    """A field given as a number or a string, as a finite float; None when empty or missing.
    ``error`` (with ``name`` and the value in its message) otherwise."""
    if v is None or (isinstance(v, str) and v.strip() == ""):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise error(f"{name} must be a number (got {v!r})") from None
    if not math.isfinite(x):
        raise error(f"{name} must be a finite number (got {v!r})")
    return x
