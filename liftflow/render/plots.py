"""PNG plots of a result: bar path (x-y), height, vertical velocity with reps shaded, power.

matplotlib is imported inside the function and used through its object API with the Agg
canvas (no pyplot, no global backend switch), so it is safe in a long-lived process and
in threads.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np

from liftflow.render.common import floats, phase_list, rep_intervals, vy_rgb, vy_scale

PLOT_NAMES = ("bar_path", "height", "velocity", "power")
_DPI = 100
_CON = "#f28e2b"  # concentric shading
_ECC = "#4e79a7"  # eccentric shading


def _figure(w_in: float, h_in: float, layout: Optional[str] = "constrained"):
    """A figure on its own Agg canvas. ``layout=None`` for fixed margins: constrained
    layout measures every text box and cost ~0.1 s per plot, a third of drawing it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w_in, h_in), dpi=_DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _no_data(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} data", ha="center", va="center", transform=ax.transAxes,
            fontsize=13, color="#777")
    ax.set_xticks([])
    ax.set_yticks([])


def _shade_reps(ax, reps: list[dict], label_y: bool = True) -> None:
    """Shade eccentric (blue) and concentric (orange) parts; label each rep with its MCV."""
    seen = set()
    for r in reps:
        if r["ecc"]:
            ax.axvspan(*r["ecc"], color=_ECC, alpha=0.12, lw=0,
                       label=None if "e" in seen else "eccentric")
            seen.add("e")
        if r["con"]:
            ax.axvspan(*r["con"], color=_CON, alpha=0.18, lw=0,
                       label=None if "c" in seen else "concentric")
            seen.add("c")
            if label_y:
                txt = f"rep {r['rep']}"
                if r["mcv"] is not None:
                    txt += f"\nMCV {r['mcv']:.2f}"
                ax.text(0.5 * (r["con"][0] + r["con"][1]), 0.98, txt, transform=ax.get_xaxis_transform(),
                        ha="center", va="top", fontsize=8, color="#7a4100")


def _time_plot(fig, t, y, ylabel: str, title: str, reps, phases, colour: str,
               zero_line: bool = False) -> None:
    ax = fig.add_subplot(1, 1, 1)
    ok = np.isfinite(t) & np.isfinite(y)
    if not ok.any():
        _no_data(ax, title.lower())
        ax.set_title(title)
        return
    _shade_reps(ax, reps)
    for label, s, e in phases:
        ax.axvline(s, color="#999", lw=0.6, ls=":")
        if e - s >= 0.05:  # name the phases long enough to hold a label
            ax.text(0.5 * (s + e), 0.03, label, transform=ax.get_xaxis_transform(), rotation=90,
                    ha="center", va="bottom", fontsize=7, color="#555")
    ax.plot(*_envelope(t[ok], y[ok]), color=colour, lw=1.6)
    if zero_line:
        ax.axhline(0, color="#444", lw=0.7)
    if reps:  # headroom for the rep labels
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.18 * (hi - lo))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if reps:
        ax.legend(loc="lower right", fontsize=8, framealpha=0.8)


MAX_PATH_SEGMENTS = 2000  # more are finer than the figure's pixels
MAX_LINE_POINTS = 4000  # a time plot is ~700 px wide


def _envelope(t: np.ndarray, y: np.ndarray, max_points: int = MAX_LINE_POINTS):
    """(t, y) of a long series reduced to the lowest and highest sample of each of
    ``max_points / 2`` runs of consecutive samples, in order: the line drawn looks the
    same (each run is narrower than a pixel) and its size no longer grows with the clip
    (a 2 min clip's three 7200-point lines were ~2 MB of matplotlib paths). Short series
    come back as they are."""
    n = t.size
    if n <= max_points:
        return t, y
    buckets = max_points // 2
    k = -(-n // buckets)
    pad = np.pad(y, (0, buckets * k - n), mode="edge").reshape(buckets, k)
    base = np.arange(buckets) * k
    keep = np.unique(np.minimum(np.concatenate([base + pad.argmin(axis=1), base + pad.argmax(axis=1),
                                                [0, n - 1]]), n - 1))
    return t[keep], y[keep]


def _path_segments(idx: np.ndarray, max_segments: int = MAX_PATH_SEGMENTS):
    """(start, end) sample indices of the bar path's segments: between consecutive valid
    samples ``idx``, none across a gap of more than 3 frames. A long clip keeps every
    ``step``-th sample (and both ends of every gap) so that there are at most about
    ``max_segments``: a 2 min clip's 7200 one-sample segments were each a matplotlib Path
    (~1 KB) and lie within a pixel of each other on a 600 px figure."""
    if idx.size < 2:
        return idx[:0], idx[:0]
    gap_after = np.diff(idx) > 3
    step = max(1, -(-idx.size // max_segments))
    keep = np.zeros(idx.size, bool)
    keep[::step] = True
    keep[-1] = True
    keep[:-1] |= gap_after  # the ends of every run stay
    keep[1:] |= gap_after
    k = np.flatnonzero(keep)
    gaps_before = np.concatenate([[0], np.cumsum(gap_after)])
    joined = gaps_before[k[1:]] == gaps_before[k[:-1]]
    return idx[k[:-1]][joined], idx[k[1:]][joined]


def _bar_path(fig, x, h, vy) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.cm import ScalarMappable

    from liftflow.render.common import VY_STOPS

    ax = fig.add_subplot(1, 1, 1)
    ax.set_title("Bar path (plate centre)\ncoloured by vertical velocity", fontsize=11)
    ok = np.isfinite(x) & np.isfinite(h)
    if ok.sum() < 2:
        _no_data(ax, "bar path")
        return
    vmax = vy_scale(vy)
    cmap = LinearSegmentedColormap.from_list(
        "vy", [((p + 1) / 2, tuple(c / 255 for c in rgb)) for p, rgb in VY_STOPS])
    idx = np.flatnonzero(ok)
    a, b = _path_segments(idx)
    segs = np.stack([np.column_stack([x[a], h[a]]), np.column_stack([x[b], h[b]])], axis=1)
    cols = vy_rgb(vy[b], vmax) / 255.0  # one call for all segments, same colours
    ax.add_collection(LineCollection(segs, colors=cols, linewidths=2.5))
    ax.plot(x[idx[0]], h[idx[0]], "o", color="#2a9d3a", ms=7, label="start")
    ax.plot(x[idx[-1]], h[idx[-1]], "s", color="#222", ms=6, label="end")
    xs, hs = x[ok], h[ok]
    span = max(float(xs.max() - xs.min()), float(hs.max() - hs.min()), 0.05)
    cx, ch = 0.5 * (xs.max() + xs.min()), 0.5 * (hs.max() + hs.min())
    # equal scale in x and height so the path's shape is true; x gets at least a third
    # of the height's span so a vertical path is not a hair
    half_x = max(0.5 * float(xs.max() - xs.min()), span / 6) * 1.15 + 0.01
    half_h = 0.5 * span * 1.08 + 0.01
    ax.set_xlim(cx - half_x, cx + half_x)
    ax.set_ylim(ch - half_h, ch + half_h)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("horizontal position (m)")
    ax.set_ylabel("height (m)")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    sm = ScalarMappable(norm=Normalize(-vmax, vmax), cmap=cmap)
    fig.colorbar(sm, ax=ax, label="vertical velocity (m/s, up +)", shrink=0.8)


PLOT_SERIES = ("time_s", "x_m", "height_m", "vy_m_s", "power_w")  # the metrics drawn


def render_plots(result: dict, out_dir: Path) -> dict[str, Path]:
    """Write bar_path.png, height.png, velocity.png and power.png into ``out_dir``.

    Returns {"bar_path": path, "height": ..., "velocity": ..., "power": ...}. Empty or
    missing metrics, NaN/None samples, no reps and no phases all give valid PNGs (a
    "no data" panel where there is nothing to draw).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    m = result.get("metrics") or {}
    t = floats(m.get(PLOT_SERIES[0]))
    n = t.size

    def col(name: str) -> np.ndarray:
        a = floats(m.get(name))
        if a.size != n:  # ragged arrays: pad/cut to the time axis
            b = np.full(n, math.nan)
            b[: min(n, a.size)] = a[: min(n, a.size)]
            a = b
        return a

    x, h, vy, p = (col(k) for k in PLOT_SERIES[1:])
    reps = rep_intervals(result.get("reps"))
    phases = phase_list(result.get("phases"))
    out: dict[str, Path] = {}

    fig = _figure(6.0, 7.0)
    _bar_path(fig, x, h, vy)
    out["bar_path"] = out_dir / "bar_path.png"
    fig.savefig(out["bar_path"])

    specs = (
        ("height", h, "height (m)", "Bar height", "#2a6f97", False),
        ("velocity", vy, "vertical velocity (m/s)", "Vertical velocity", "#c0392b", True),
        ("power", p, "power (W)", "Power", "#6a3d9a", True),
    )
    for name, y, ylabel, title, colour, zero in specs:
        fig = _figure(8.0, 3.6, layout=None)
        fig.subplots_adjust(left=0.1, right=0.985, bottom=0.145, top=0.9)
        _time_plot(fig, t, y, ylabel, title, reps, phases, colour, zero_line=zero)
        out[name] = out_dir / f"{name}.png"
        fig.savefig(out[name])
    return out


def plots_markdown(plots: dict[str, Path], names=PLOT_NAMES) -> str:
    """Markdown with the PNGs inlined as data URIs, for Dagster's ``MetadataValue.md`` so
    the data team sees the plots in the run's event log (about 35-75 KB per plot)."""
    import base64

    parts = []
    for name in names:
        p = plots.get(name)
        if p is None or not Path(p).is_file():
            continue
        b64 = base64.b64encode(Path(p).read_bytes()).decode("ascii")
        parts.append(f"**{name.replace('_', ' ')}**\n\n![{name}](data:image/png;base64,{b64})")
    return "\n\n".join(parts) if parts else "_no plots_"
