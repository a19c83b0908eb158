"""PNG plots of a result: bar path (x-y), height, vertical velocity with reps shaded, power.

What they show, so that a coach reads the lift and nothing else:

- the lift in colour; the dropped bar (``summary.dropped_bar``: the fall and the bounces,
  and the bar left lying after the last drop, see ``common.drop_intervals``) in grey,
  drawn but kept off the axis scales (and off the bar path's colour scale): a note says
  how far it runs off them;
- the time plots: each rep's eccentric/concentric part shaded and labelled with its mean
  concentric velocity (MCV), labels in rows so that none overlaps another; above the plot a
  strip of the snatch/clean phases and the drop, one labelled bar each, in as many rows as
  it takes for no label to overlap another (measured, not guessed);
- the bar path: equal scale in x and height, coloured by vertical velocity, the start and
  the end of the lift, and for the Olympic lifts (``bar_path`` in the result) the peak
  height, the catch and which way is toward the lifter (``bar_path.toward_lifter``).

matplotlib is imported inside the functions and used through its object API with the Agg
canvas (no pyplot, no global backend switch), so it is safe in a long-lived process and
in threads. ``plot_figures(result)`` yields the figures (the tests read their axes and
texts); ``render_plots`` saves them one at a time.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from liftflow.render.common import (DROP_RGB, drop_intervals, floats, in_intervals, phase_list,
                                    rep_intervals, vy_rgb, vy_scale)

PLOT_NAMES = ("bar_path", "height", "velocity", "power")
_DPI = 100
_CON = "#f28e2b"  # concentric shading
_ECC = "#4e79a7"  # eccentric shading
_DROP = "#%02x%02x%02x" % DROP_RGB  # the dropped bar
DROP_LABEL = "dropped bar"
_PHASE_COLOURS = {"first pull": "#4e79a7", "transition": "#b07aa1", "second pull": "#e15759",
                  "turnover": "#f28e2b", "catch": "#59a14f", "recovery": "#76b7b2"}
# a time plot's layout in inches: fixed margins (constrained layout measures every text box
# and cost ~0.1 s per plot, a third of drawing it); the phase strip adds a row per level
_W, _LEFT, _RIGHT = 8.0, 0.8, 0.12
_TOP, _BOTTOM, _MAIN_H = 0.42, 0.5, 2.6
_ROW_H, _STRIP_GAP = 0.2, 0.05
_LABEL_PAD_PX = 4.0  # clear space between two labels of a row


def _figure(w_in: float, h_in: float, layout: Optional[str] = "constrained"):
    """A figure on its own Agg canvas. ``layout=None`` for fixed margins."""
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


def _phase_colour(label: str) -> str:
    base = label.split(" (rep ")[0]
    return _DROP if base == DROP_LABEL else _PHASE_COLOURS.get(base, "#8c8c8c")


def _rows(spans: list[tuple[float, float]]) -> list[int]:
    """A row for each (left, right) pixel span, in order: the first row where it overlaps
    no span already placed (greedy interval colouring)."""
    rows: list[list[tuple[float, float]]] = []
    out = []
    for left, right in spans:
        for k, placed in enumerate(rows):
            if all(right <= a or left >= b for a, b in placed):
                placed.append((left, right))
                out.append(k)
                break
        else:
            rows.append([(left, right)])
            out.append(len(rows) - 1)
    return out


def _label_left(cx: float, w: float, x0: float, x1: float) -> float:
    """Left edge (px) of a label of width ``w`` centred on ``cx``, kept inside [x0, x1]."""
    left = cx - w / 2
    if left + w > x1:
        left = x1 - w
    return max(x0, left)


def _phase_strip(ax, items, renderer) -> int:
    """One labelled bar per (label, start, end, colour) on the strip axes ``ax`` (x shared
    with the plot), in rows: a label sits above its bar, and no two labels or bars of a row
    come closer than a few pixels. Returns the number of rows."""
    from matplotlib.patches import Rectangle

    x0, x1 = ax.bbox.x0, ax.bbox.x1
    to_px = ax.transData.transform
    to_data = ax.transData.inverted().transform
    placed, spans = [], []
    for label, s, e, colour in items:
        txt = ax.text(s, 0, label, ha="left", va="bottom", fontsize=7.5, color="#333", gid="phase-label")
        w = txt.get_window_extent(renderer).width
        ps, pe = to_px((s, 0))[0], to_px((e, 0))[0]
        left = _label_left(0.5 * (ps + pe), w, x0, x1)
        spans.append((min(left, ps) - _LABEL_PAD_PX / 2, max(left + w, pe) + _LABEL_PAD_PX / 2))
        placed.append((txt, left, s, e, ps, colour))
    rows = _rows(spans)
    n = max(rows) + 1 if rows else 0
    min_w = to_data((x0 + 2.0, 0))[0] - to_data((x0, 0))[0]  # a bar is at least 2 px wide
    for (txt, left, s, e, ps, colour), row in zip(placed, rows):
        y = n - 1 - row  # row 0 on top
        ax.add_patch(Rectangle((s, y + 0.1), max(e - s, min_w), 0.22, color=colour, lw=0))
        txt.set_position((to_data((left, 0))[0], y + 0.36))
    ax.set_ylim(0, max(n, 1))
    ax.set_yticks([])
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    return n


def _rep_labels(ax, reps: list[dict], renderer, axes_h_px: float) -> int:
    """Label each rep (number and MCV) at the top of its concentric part, in rows so that
    none overlaps another; with more than two rows needed, the rep numbers only. Returns
    the pixels of headroom the labels take (0 without any)."""
    items = [r for r in reps if r["con"]]
    if not items:
        return 0
    trans = ax.get_xaxis_transform()
    x0, x1 = ax.bbox.x0, ax.bbox.x1
    to_px = ax.transData.transform
    to_data = ax.transData.inverted().transform

    def lay(full: bool):
        texts, spans = [], []
        for r in items:
            txt = f"rep {r['rep']}"
            if full and r["mcv"] is not None:
                txt += f"\nMCV {r['mcv']:.2f} m/s"
            cx = to_px((0.5 * (r["con"][0] + r["con"][1]), 0))[0]
            t = ax.text(0, 1, txt if full else str(r["rep"]), transform=trans, ha="left", va="top",
                        fontsize=8, color="#7a4100", gid="rep-label", linespacing=1.1)
            ext = t.get_window_extent(renderer)
            left = _label_left(cx, ext.width, x0, x1)
            texts.append((t, left, ext.height))
            spans.append((left - _LABEL_PAD_PX / 2, left + ext.width + _LABEL_PAD_PX / 2))
        return texts, _rows(spans)

    texts, rows = lay(True)
    if max(rows) + 1 > 2:
        for t, _, _ in texts:
            t.remove()
        texts, rows = lay(False)
    line_h = max(h for _, _, h in texts) + 3.0
    for (t, left, _), row in zip(texts, rows):
        t.set_position((to_data((left, 0))[0], 1 - (3.0 + row * line_h) / axes_h_px))
    return int(math.ceil((max(rows) + 1) * line_h + 4.0))  # pixels of headroom


def _time_layout(fig, main, strip, rows: int) -> tuple[float, float]:
    """Size the figure for ``rows`` strip rows and place the axes; (height in, main px)."""
    strip_h = rows * _ROW_H + _STRIP_GAP if strip is not None and rows else 0.0
    h = _TOP + strip_h + _MAIN_H + _BOTTOM
    fig.set_size_inches(_W, h)
    width = (_W - _LEFT - _RIGHT) / _W
    main.set_position([_LEFT / _W, _BOTTOM / h, width, _MAIN_H / h])
    if strip is not None:
        strip.set_position([_LEFT / _W, (_BOTTOM + _MAIN_H + _STRIP_GAP) / h, width,
                            max(rows * _ROW_H, 0.01) / h])
    return h, _MAIN_H * _DPI


def _fmt(v: float, nd: int) -> str:
    return f"{v:.{nd}f}".replace("-", "\u2212")


def _time_plot(fig, t, y, ylabel: str, title: str, reps, phases, colour: str,
               zero_line: bool = False, drops=(), unit: str = "", nd: int = 2,
               min_span: float = 0.0) -> None:
    """A series against time: the lift in ``colour``, the drop in grey, the y-axis scaled to
    the lift (``drops`` off it) and at least ``min_span`` tall (a bar that hardly moves is
    not blown up into noise), reps shaded and labelled, phases in a strip above."""
    from matplotlib.patches import Patch

    ok = np.isfinite(t) & np.isfinite(y)
    main = fig.add_axes([0.1, 0.15, 0.85, 0.7], gid="data")
    if not ok.any():
        _time_layout(fig, main, None, 0)
        _no_data(main, title.lower())
        fig.text(_LEFT / _W, 1 - 0.08 / fig.get_figheight(), title, ha="left", va="top", fontsize=12)
        return
    tt = t[ok]
    t_lo, t_hi = float(tt.min()), float(tt.max())
    drops = [(s, min(e, t_hi)) for s, e in drops if s <= t_hi]
    items = [(label, s, e, _phase_colour(label)) for label, s, e in phases]
    items += [(DROP_LABEL, s, e, _DROP) for s, e in drops]
    items.sort(key=lambda it: it[1])
    strip = fig.add_axes([0.1, 0.9, 0.85, 0.05], sharex=main, gid="phases") if items else None
    _time_layout(fig, main, strip, 1)  # the final width: x pixels are right from here on
    tpad = 0.01 * max(t_hi - t_lo, 0.1)
    main.set_xlim(t_lo - tpad, t_hi + tpad)
    renderer = fig.canvas.get_renderer()
    rows = _phase_strip(strip, items, renderer) if strip is not None else 0
    _, main_px = _time_layout(fig, main, strip, rows)

    handles = []
    seen = set()
    for r in reps:
        if r["ecc"]:
            main.axvspan(*r["ecc"], color=_ECC, alpha=0.12, lw=0)
            seen.add("e")
        if r["con"]:
            main.axvspan(*r["con"], color=_CON, alpha=0.18, lw=0)
            seen.add("c")
    if "e" in seen:
        handles.append(Patch(color=_ECC, alpha=0.25, lw=0, label="eccentric (down)"))
    if "c" in seen:
        handles.append(Patch(color=_CON, alpha=0.35, lw=0, label="concentric (up)"))
    for s, e in drops:
        main.axvspan(s, e, color=_DROP, alpha=0.14, lw=0)
    if drops:
        handles.append(Patch(color=_DROP, alpha=0.5, lw=0, label="dropped bar (not the lift)"))
    for label, s, e in phases:
        main.axvline(s, color="#999", lw=0.6, ls=":")
    if phases:
        main.axvline(max(e for _, _, e in phases), color="#999", lw=0.6, ls=":")

    # the lift in colour, the drop in grey (joined to the lift where it starts)
    yy = y[ok]
    lift = ~in_intervals(tt, drops)
    keep = _envelope_index(yy)
    te, ye, le = (tt, yy, lift) if keep is None else (tt[keep], yy[keep], lift[keep])
    main.plot(te, np.where(le, ye, np.nan), color=colour, lw=1.6)
    if not le.all():
        grey = ~le
        grey = grey | np.r_[grey[1:], False] | np.r_[False, grey[:-1]]
        main.plot(te, np.where(grey, ye, np.nan), color=_DROP, lw=1.2)
    if zero_line:
        main.axhline(0, color="#444", lw=0.7)

    # the scale: the lift's samples (all of them when there is nothing but the drop)
    ys = yy[lift] if lift.any() else yy
    lo, hi = float(ys.min()), float(ys.max())
    if zero_line:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < min_span:
        mid = 0.5 * (hi + lo)
        lo, hi = mid - 0.5 * min_span, mid + 0.5 * min_span
        if zero_line and lo > 0:
            lo, hi = 0.0, min_span
        elif zero_line and hi < 0:
            lo, hi = -min_span, 0.0
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.1
    lo, hi = lo - 0.06 * span, hi + 0.06 * span
    head_px = _rep_labels(main, reps, renderer, main_px)
    if head_px:
        f = min(0.6, head_px / main_px)
        hi = hi + (hi - lo) * f / (1 - f)
    main.set_ylim(lo, hi)
    for s, e in drops:  # how far the drop runs off the scale
        d = yy[(tt >= s) & (tt <= e)]
        if d.size and (d.min() < lo or d.max() > hi):
            parts = [f"{k} {_fmt(v, nd)} {unit}".strip()
                     for k, v, off in (("min", float(d.min()), d.min() < lo), ("max", float(d.max()), d.max() > hi))
                     if off]
            note = "off the scale: " + ", ".join(parts)
            txt = main.text(s, 0.03, note, transform=main.get_xaxis_transform(), ha="left",
                            va="bottom", fontsize=7.5, color="#444", style="italic", gid="drop-note",
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})
            w = txt.get_window_extent(renderer).width + 6.0  # the box's padding too
            cx = main.transData.transform((0.5 * (s + e), 0))[0]
            left = _label_left(cx, w, main.bbox.x0, main.bbox.x1) + 3.0
            txt.set_x(main.transData.inverted().transform((left, 0))[0])
    main.set_xlabel("time (s)")
    main.set_ylabel(ylabel)
    main.grid(alpha=0.3)
    h = fig.get_figheight()
    fig.text(_LEFT / _W, 1 - 0.08 / h, title, ha="left", va="top", fontsize=12, gid="title")
    if handles:
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(1 - _RIGHT / _W, 1 - 0.06 / h),
                   ncols=len(handles), fontsize=8, frameon=False, handlelength=1.2, columnspacing=1.2)


MAX_PATH_SEGMENTS = 2000  # more are finer than the figure's pixels
MAX_LINE_POINTS = 4000  # a time plot is ~700 px wide


def _envelope_index(y: np.ndarray, max_points: int = MAX_LINE_POINTS) -> Optional[np.ndarray]:
    """Indices of a long series' lowest and highest sample of each of ``max_points / 2``
    runs of consecutive samples (and both ends), in order; None for a short series."""
    n = y.size
    if n <= max_points:
        return None
    buckets = max_points // 2
    k = -(-n // buckets)
    pad = np.pad(y, (0, buckets * k - n), mode="edge").reshape(buckets, k)
    base = np.arange(buckets) * k
    return np.unique(np.minimum(np.concatenate([base + pad.argmin(axis=1), base + pad.argmax(axis=1),
                                                [0, n - 1]]), n - 1))


def _envelope(t: np.ndarray, y: np.ndarray, max_points: int = MAX_LINE_POINTS):
    """(t, y) of a long series reduced to the lowest and highest sample of each of
    ``max_points / 2`` runs of consecutive samples, in order: the line drawn looks the
    same (each run is narrower than a pixel) and its size no longer grows with the clip
    (a 2 min clip's three 7200-point lines were ~2 MB of matplotlib paths). Short series
    come back as they are."""
    keep = _envelope_index(y, max_points)
    return (t, y) if keep is None else (t[keep], y[keep])


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


def toward_lifter(bar_path) -> Optional[tuple[int, str]]:
    """(+1 or -1: the image direction of "toward the lifter" on the x axis, how it was
    found) from ``bar_path.toward_lifter`` ("+x"/"-x"), or None."""
    if not isinstance(bar_path, dict):
        return None
    d = bar_path.get("toward_lifter")
    if d not in ("+x", "-x"):
        return None
    return (1 if d == "+x" else -1), str(bar_path.get("direction_source") or "")


def _catch_s(phases) -> Optional[float]:
    """When the bar is received (the catch phase's end, first rep), or None."""
    block = phases[0] if isinstance(phases, list) and phases else phases
    if not isinstance(block, dict):
        return None
    b = block.get("boundaries_s")
    v = b.get("catch_end") if isinstance(b, dict) else None
    if v is None and isinstance(block.get("catch"), dict):
        v = block["catch"].get("end_s")
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _bar_path(fig, x, h, vy, t=None, drops=(), bar_path=None, phases=None) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    from liftflow.render.common import VY_STOPS

    ax = fig.add_subplot(1, 1, 1, gid="data")
    ax.set_title("Bar path (plate centre)\ncoloured by vertical velocity", fontsize=11)
    ok = np.isfinite(x) & np.isfinite(h)
    if ok.sum() < 2:
        _no_data(ax, "bar path")
        return
    t = np.arange(x.size, dtype=float) if t is None else t
    drop = in_intervals(t, drops) if drops else np.zeros(x.size, bool)
    lift = ok & ~drop
    if lift.sum() < 2:
        lift = ok
    vmax = vy_scale(vy[lift])
    cmap = LinearSegmentedColormap.from_list(
        "vy", [((p + 1) / 2, tuple(c / 255 for c in rgb)) for p, rgb in VY_STOPS])
    idx = np.flatnonzero(ok)
    a, b = _path_segments(idx)
    grey = drop[a] | drop[b]
    pts_a, pts_b = np.column_stack([x[a], h[a]]), np.column_stack([x[b], h[b]])
    segs = np.stack([pts_a, pts_b], axis=1)
    cols = vy_rgb(vy[b], vmax) / 255.0  # one call for all segments, same colours
    if grey.any():
        ax.add_collection(LineCollection(segs[grey], colors=[tuple(c / 255 for c in DROP_RGB)],
                                         linewidths=1.4, alpha=0.7, zorder=1.5, label=DROP_LABEL,
                                         gid="drop"))
    ax.add_collection(LineCollection(segs[~grey], colors=cols[~grey], linewidths=2.5, zorder=2,
                                     gid="lift"))
    li = np.flatnonzero(lift)
    ax.plot(x[li[0]], h[li[0]], "o", color="#2a9d3a", ms=7, label="start", zorder=3)
    ax.plot(x[li[-1]], h[li[-1]], "s", color="#222", ms=6, label="end of lift" if drop.any() else "end",
            zorder=3)

    def at(ts) -> Optional[int]:
        if ts is None or not li.size:
            return None
        try:
            ts = float(ts)
        except (TypeError, ValueError):
            return None
        k = li[int(np.argmin(np.abs(t[li] - ts)))]
        return k if abs(t[k] - ts) <= 0.1 else None

    direction = toward_lifter(bar_path)
    if direction is not None:
        k = at(bar_path.get("peak_height_s"))
        if k is not None:
            ax.plot(x[k], h[k], "^", color="#c0392b", ms=7, mec="white", mew=0.8, label="peak height", zorder=3)
        k = at(_catch_s(phases))
        if k is not None:
            ax.plot(x[k], h[k], "D", color="#6a3d9a", ms=6, mec="white", mew=0.8, label="catch", zorder=3)
    xs, hs = x[lift], h[lift]
    span = max(float(xs.max() - xs.min()), float(hs.max() - hs.min()), 0.05)
    cx, ch = 0.5 * (xs.max() + xs.min()), 0.5 * (hs.max() + hs.min())
    # equal scale in x and height so the path's shape is true; x gets at least a third
    # of the height's span so a vertical path is not a hair; the drop is off the scale
    half_x = max(0.5 * float(xs.max() - xs.min()), span / 6) * 1.15 + 0.01
    half_h = 0.5 * span * 1.08 + 0.01
    ax.set_xlim(cx - half_x, cx + half_x)
    ax.set_ylim(ch - half_h, ch + half_h)
    ax.set_aspect("equal", adjustable="box")
    xlabel = "horizontal position (m)"
    if direction is not None:
        sign, source = direction
        way = "\u2190 toward the lifter" if sign < 0 else "toward the lifter \u2192"
        xlabel += "\n" + way + (" (assumed)" if source.startswith("unknown") else "")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("height (m)")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] == DROP_LABEL)  # the drop last
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside lower center",
               ncols=3, fontsize=8, frameon=False)
    sm = ScalarMappable(norm=Normalize(-vmax, vmax), cmap=cmap)
    fig.colorbar(sm, ax=ax, label="vertical velocity (m/s, up +)", shrink=0.8)


PLOT_SERIES = ("time_s", "x_m", "height_m", "vy_m_s", "power_w")  # the metrics drawn


def plot_figures(result: dict) -> Iterator[tuple[str, object]]:
    """(name, matplotlib Figure) for each of ``PLOT_NAMES``, one at a time (a figure is
    dropped once the caller moves on). Empty or missing metrics, NaN/None samples, no reps
    and no phases all give a figure (a "no data" panel where there is nothing to draw)."""
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
    drops = drop_intervals(result)

    fig = _figure(5.2, 7.0)
    _bar_path(fig, x, h, vy, t, drops, result.get("bar_path"), result.get("phases"))
    yield "bar_path", fig

    specs = (  # name, series, y label, title, colour, zero line, unit, decimals, least y span
        ("height", h, "height (m)", "Bar height", "#2a6f97", False, "m", 2, 0.2),
        ("velocity", vy, "vertical velocity (m/s)", "Vertical velocity", "#c0392b", True, "m/s", 2, 1.0),
        ("power", p, "power (W)", "Power", "#6a3d9a", True, "W", 0, 200.0),
    )
    for name, y, ylabel, title, colour, zero, unit, nd, least in specs:
        fig = _figure(_W, 3.6, layout=None)
        _time_plot(fig, t, y, ylabel, title, reps, phases, colour, zero_line=zero, drops=drops,
                   unit=unit, nd=nd, min_span=least)
        yield name, fig


def render_plots(result: dict, out_dir: Path) -> dict[str, Path]:
    """Write bar_path.png, height.png, velocity.png and power.png into ``out_dir``.

    Returns {"bar_path": path, "height": ..., "velocity": ..., "power": ...}. Empty or
    missing metrics, NaN/None samples, no reps and no phases all give valid PNGs (a
    "no data" panel where there is nothing to draw).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for name, fig in plot_figures(result):
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
