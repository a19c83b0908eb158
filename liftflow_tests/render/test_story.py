"""Issue #18 item 7: the page and the plots tell the story of the lift.

The results are made by the real physics and contract (``compute_metrics`` and
``build_result``) from the synthetic generator's snatch/clean/squat bar paths, with a
dropped bar appended to the snatch (free fall from overhead, bounces, then the bar rolling
away): no video is decoded, so each result takes about a second.
"""

from __future__ import annotations

import html as htmlmod
import math
import re

import numpy as np
import pytest

from liftflow.render import render_plots, results_page_html
from liftflow.render.page import REP_COLUMNS

FPS = 30.0
PLATE_R_PX = 62.0


def lift_result(kind: str, drop: bool = False, seed_source: str = "user", seed=4) -> dict:
    from liftflow.contract import build_result
    from liftflow.physics import G, PhysicsParams, compute_metrics
    from liftflow.synth.profiles import PLATE_RADIUS_M, build
    from liftflow.tracking.base import TRACKED, DiscObservation

    m = build(kind, 0.5, 2, np.random.default_rng(seed))
    t_drop = m.end_s + 0.3
    n = int(round((t_drop + (2.2 if drop else 0.5)) * FPS))
    t = np.arange(n) / FPS
    x, h = (np.asarray(a, float).copy() for a in m.pos(t))
    if drop:  # free fall from where the lifter let go, bounces, then the bar rolls away
        hh, v, tt, x0 = float(m.h(t_drop)), 0.0, t_drop, float(m.x(t_drop))
        for i in np.flatnonzero(t > t_drop):
            dt, tt = t[i] - tt, t[i]
            v -= G * dt
            hh += v * dt
            if hh < PLATE_RADIUS_M:
                hh, v = PLATE_RADIUS_M, (-0.35 * v if abs(v) > 0.5 else 0.0)
            h[i] = hh
            x[i] = x0 + 0.3 * (t[i] - t_drop)
    ppm = PLATE_R_PX / PLATE_RADIUS_M
    cx, cy = 640 + x * ppm, 700 - (h - PLATE_RADIUS_M) * ppm
    obs = [DiscObservation(frame=i, t_s=float(t[i]), state=TRACKED, confidence=1.0,
                           center=(float(cx[i]), float(cy[i])), radius=PLATE_R_PX) for i in range(n)]
    phys = compute_metrics(obs, [float(v) for v in t], PhysicsParams(lift_type=kind), video_duration_s=n / FPS)
    info = {"fps": FPS, "width": 1280, "height": 720, "duration_s": n / FPS, "frame_count": n}
    seed_d = {"cx": float(cx[0]), "cy": float(cy[0]), "r": PLATE_R_PX, "frame": 0, "source": seed_source,
              "reason": "largest well-supported circle <b>x</b>" if seed_source == "auto" else None}
    return build_result(f"{kind}-job", info, [o.to_dict() for o in obs], phys, seed=seed_d,
                        processed_at="2026-12-03T12:38:30.776111")


@pytest.fixture(scope="module")
def snatch():
    r = lift_result("snatch", drop=True)
    assert r["summary"]["dropped_bar"] and isinstance(r["bar_path"], dict) and r["reps"]
    return r


@pytest.fixture(scope="module")
def clean():
    r = lift_result("clean", seed_source="auto")
    assert isinstance(r["bar_path"], dict) and not r["summary"]["dropped_bar"]
    return r


@pytest.fixture(scope="module")
def squat():
    r = lift_result("squat")
    assert r.get("bar_path") is None and len(r["reps"]) == 2
    return r


def page(result, **status) -> str:
    return results_page_html("job-1", result, {"status": "completed", **status},
                             {"overlay": "o.mp4", "plot:bar_path": "p/bar_path.png", "plot:velocity": "p/v.png"})


def text_of(fragment: str) -> str:
    """The visible text of an HTML fragment (tags dropped, entities decoded)."""
    return htmlmod.unescape(re.sub(r"<[^>]+>", "", fragment))


# ------------------------------------------------------------------------ the page


def test_the_page_shows_the_bar_path_figures_for_olympic_lifts_only(snatch, clean, squat):
    for res in (snatch, clean):
        html = page(res)
        assert "Bar-path figures" in html
        bp = res["bar_path"]
        card = html.split('class="card bar-path-figures"')[1].split("</div></div>")[0]
        shown = text_of(card)
        # which way the lifter is, and how that was found
        side = "left" if bp["toward_lifter"] == "-x" else "right"
        assert f"Toward the lifter is to the {side} in the video ({bp['toward_lifter']}" in shown
        assert bp["direction_source"] in shown
        for key in ("x_toward_lifter_to_rearmost_m", "x_away_rearmost_to_forwardmost_m", "loop_toward_lifter_m",
                    "catch_x_toward_lifter_m", "drop_under_bar_m"):
            assert f"{bp[key] * 100:.1f} cm" in shown, key
        assert f"{bp['peak_height_m']:.2f} m at {bp['peak_height_s']:.2f} s" in shown
        for pull in ("first_pull", "second_pull"):
            assert f"{bp[pull]['toward_lifter_m'] * 100:.1f} cm" in shown
            assert f"{bp[pull]['net_toward_lifter_m'] * 100:.1f} cm" in shown
    assert "Bar-path figures" not in page(squat)
    # an Olympic lift whose phases could not be split says so (the lift type from the status,
    # or from result.json's own lift_type, contract 2.3.0)
    bare = {**snatch, "bar_path": None, "lift_type": None}
    html = page(bare, lift_type="snatch")
    assert "Bar-path figures" in html and "Not computed" in html
    html = page({**bare, "lift_type": "snatch"})
    assert "Bar-path figures" in html and "Not computed" in html
    assert "Bar-path figures" not in page(bare)


def test_a_legend_explains_every_abbreviation_of_the_rep_table(snatch, squat):
    for res in (snatch, squat):
        html = page(res)
        table = html.split("<table>")[1].split("</table>")[0]
        head = table.split("</tr>")[0]
        abbrs = re.findall(r"<th><abbr title=\"[^\"]+\">(.*?)</abbr>", head)
        assert len(abbrs) == len(REP_COLUMNS) == head.count("<th>") - 1  # every column but "Rep"
        legend = html.split("<dl class=legend>")[1].split("</dl>")[0]
        terms = [htmlmod.unescape(t) for t in re.findall(r"<dt>(.*?)</dt>", legend)]
        for a in abbrs:
            assert htmlmod.unescape(a) in terms, a
        # the result's own definitions where it has them
        defs = res["definitions"]
        for key in ("mean_concentric_velocity_m_s", "mean_propulsive_velocity_m_s", "range_of_motion_m"):
            assert htmlmod.escape(defs[f"reps.{key}"]["how"]) in legend, key
        assert "MCV" in terms and "MPV" in terms and "up" in terms
    # the bar-path figures' abbreviations too
    legend = page(snatch).split('class="card bar-path-figures"')[1].split("</dl>")[0]
    for abbr in ("DX1", "DX2", "DXL"):
        assert f"<dt>{abbr}</dt>" in legend
    assert htmlmod.escape(snatch["definitions"]["bar_path.loop_toward_lifter_m"]["how"]) in legend


def test_the_page_says_how_the_plate_was_picked(snatch, clean):
    html = page(snatch)
    assert "given: the circle submitted with the video" in html and "picked automatically" not in html
    html = page(clean)  # an automatic seed: said in the job details and under the video
    assert "picked automatically (no circle was given)" in html
    assert 'class="warn seed-auto"' in html and "Check in the video" in html
    assert "largest well-supported circle &lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "not recorded in this result" in page({k: v for k, v in snatch.items() if k != "seed"})
    hostile = {**snatch, "seed": {"source": "<script>alert(1)</script>", "cx": "<img src=x>", "reason": "<svg onload=1>"}}
    html = page(hostile)
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html


def test_timestamps_carry_their_timezone(snatch):
    html = page(snatch, created_at="2026-12-03T12:38:26.257763", updated_at="2026-12-03T14:38:31+02:00")
    assert '<time datetime="2026-12-03T12:38:26Z">2026-12-03 12:38:26 UTC</time>' in html
    assert '<time datetime="2026-12-03T12:38:31Z">2026-12-03 12:38:31 UTC</time>' in html  # converted
    assert "2026-12-03 12:38:30 UTC" in html  # processed_at of the result
    assert "2026-12-03T12:38:26.257763" not in html
    # the running page too; and what is not a timestamp is shown escaped, as it is
    running = results_page_html("j", None, {"status": "processing", "created_at": "2026-01-02T03:04:05"}, {})
    assert "2026-01-02 03:04:05 UTC" in running
    odd = page({**snatch, "processed_at": "<b>yesterday</b>"})
    assert "&lt;b&gt;yesterday&lt;/b&gt;" in odd and "<b>yesterday" not in odd


def test_the_page_says_what_the_grey_is(snatch, squat):
    html = page(snatch)
    s = snatch["summary"]["dropped_bar"][0]["start_s"]
    assert f"Grey: the dropped bar (from {s:.2f} s)" in html
    assert "Grey: the dropped bar" not in page(squat)


# ------------------------------------------------------------------------ the plots


def figures(result) -> dict:
    from liftflow.render.plots import plot_figures

    figs = dict(plot_figures(result))
    for fig in figs.values():
        fig.canvas.draw()
    return figs


def data_axes(fig):
    return next(ax for ax in fig.axes if ax.get_gid() == "data")


def series(result, key):
    return np.asarray(result["metrics"][key], float)


def drop_mask(result):
    from liftflow.render.common import drop_intervals, in_intervals

    return in_intervals(series(result, "time_s"), drop_intervals(result))


def test_the_drop_is_kept_off_the_scales(snatch):
    from liftflow.render.common import vy_scale

    figs = figures(snatch)
    drop = drop_mask(snatch)
    assert drop.any() and (~drop).any()
    for name, key in (("velocity", "vy_m_s"), ("power", "power_w"), ("height", "height_m")):
        ax = data_axes(figs[name])
        lo, hi = ax.get_ylim()
        y = series(snatch, key)
        lift = y[~drop]
        span = lift.max() - lift.min()
        assert lo <= lift.min() and hi >= lift.max(), name  # the whole lift is on the scale
        assert lo >= lift.min() - 0.1 * span - 1e-9, (name, lo)  # ... and no more below it
        assert hi <= lift.max() + 0.5 * span, (name, hi)  # (headroom for the rep labels)
    # the drop's fall (about -5 m/s) runs off the velocity scale, and a note says how far
    vy = series(snatch, "vy_m_s")
    ax = data_axes(figs["velocity"])
    assert vy[drop].min() < -4.0 and ax.get_ylim()[0] > -3.0
    notes = [t.get_text() for t in ax.texts if t.get_gid() == "drop-note"]
    assert len(notes) == 1 and f"min {vy[drop].min():.2f}".replace("-", "\u2212") in notes[0]
    # the bar path: scaled to the lift (the bar rolled 0.6 m away after the drop), the drop
    # drawn apart in grey, the colour scale the lift's
    ax = data_axes(figs["bar_path"])
    x, h = series(snatch, "x_m"), series(snatch, "height_m")
    x0, x1 = ax.get_xlim()
    assert x[drop].max() - x[~drop].max() > 0.4
    assert x0 <= x[~drop].min() and x1 >= x[~drop].max() and x1 < x[drop].max() - 0.2
    y0, y1 = ax.get_ylim()
    assert y0 <= h[~drop].min() and y1 >= h[~drop].max()
    grey = [c for c in ax.collections if c.get_gid() == "drop"]
    assert len(grey) == 1 and len(grey[0].get_segments()) > 10
    cbar = figs["bar_path"].axes[-1]
    assert max(abs(v) for v in cbar.get_ylim()) == pytest.approx(vy_scale(vy[~drop]))
    assert vy_scale(vy[~drop]) < vy_scale(vy) - 0.5


def test_the_bar_path_plot_marks_the_lifters_direction_and_the_catch(snatch, squat):
    ax = data_axes(figures(snatch)["bar_path"])
    arrow = "\u2190 toward the lifter" if snatch["bar_path"]["toward_lifter"] == "-x" else "toward the lifter \u2192"
    assert arrow in ax.get_xlabel()
    labels = set(ax.get_legend_handles_labels()[1])
    assert {"start", "end of lift", "peak height", "catch", "dropped bar"} <= labels
    ax = data_axes(figures(squat)["bar_path"])
    assert "toward the lifter" not in ax.get_xlabel()
    assert set(ax.get_legend_handles_labels()[1]) == {"start", "end"}


def _boxes(fig, gids):
    r = fig.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(r)) for ax in fig.axes for t in ax.texts if t.get_gid() in gids]


def _no_overlaps(boxes, what):
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            assert not a.overlaps(b), f"{what}: {ta!r} overlaps {tb!r}"


def test_phase_and_rep_labels_never_overlap(snatch, squat):
    from liftflow.render.common import phase_list

    for res in (snatch, squat):
        for name, fig in figures(res).items():
            if name == "bar_path":
                continue
            labels = _boxes(fig, {"phase-label", "rep-label", "drop-note"})
            title = [t for t in fig.texts if t.get_gid() == "title"]
            r = fig.canvas.get_renderer()
            extra = [(t.get_text(), t.get_window_extent(r)) for t in title]
            extra += [("legend", lg.get_window_extent(r)) for lg in fig.legends]
            _no_overlaps(labels + extra, name)
            W, H = fig.bbox.width, fig.bbox.height
            for text, b in labels + extra:
                assert b.x0 >= 0 and b.x1 <= W + 0.5 and b.y0 >= 0 and b.y1 <= H + 0.5, (name, text)
            shown = [t for t, _ in labels]
            for label, _, _ in phase_list(res.get("phases")):
                assert label in shown, label
            if res is snatch:
                assert "dropped bar" in shown
    # a crowded clip: 12 reps in 14 s and phases a few frames long, per rep
    t = [i / 30 for i in range(420)]
    reps = [{"rep": k + 1, "eccentric_start_s": 0.2 + 1.1 * k, "concentric_start_s": 0.7 + 1.1 * k,
             "concentric_end_s": 1.2 + 1.1 * k, "mean_concentric_velocity_m_s": 0.5} for k in range(12)]
    phases = [{"rep": k + 1, **{p: {"start_s": 0.7 + 1.1 * k + 0.05 * j, "end_s": 0.75 + 1.1 * k + 0.05 * j}
                                for j, p in enumerate(("first_pull", "transition", "second_pull", "turnover"))}}
              for k in range(3)]
    res = {"metrics": {"time_s": t, "x_m": [0.0] * 420, "height_m": [math.sin(v) for v in t],
                       "vy_m_s": [math.cos(v) for v in t], "power_w": [100 * math.cos(v) for v in t]},
           "reps": reps, "phases": phases}
    for name, fig in figures(res).items():
        if name != "bar_path":
            boxes = _boxes(fig, {"phase-label", "rep-label", "drop-note"})
            assert len([b for b in boxes if b[0].endswith(")")]) == 12  # "first pull (rep 1)" ...
            _no_overlaps(boxes, name)


def test_what_renders_from_the_render_view_is_the_same(snatch, tmp_path):
    """The analysis draws from render_view(result) and feeds the plots process only
    PLOT_INPUTS: both carry what the drop and the direction are read from."""
    from liftflow.render.common import render_view
    from liftflow.render.plots_worker import PLOT_INPUTS

    assert {"summary", "bar_path"} <= set(PLOT_INPUTS)
    from liftflow.render.plots_worker import PlotsProcess

    view = render_view(snatch)
    inputs = {k: snatch.get(k) for k in PLOT_INPUTS}
    a = render_plots(snatch, tmp_path / "a")
    for other, d in ((view, "b"), (inputs, "c")):
        b = render_plots(other, tmp_path / d)
        for name in a:
            assert a[name].read_bytes() == b[name].read_bytes(), (d, name)
    worker = PlotsProcess()  # what the analysis runs: the result fed to a process of its own
    worker.feed(snatch, tmp_path / "w")
    drawn = worker.finish(timeout_s=120)
    assert drawn is not None and set(drawn) == set(a)
    for name in a:
        assert drawn[name].read_bytes() == a[name].read_bytes(), ("worker", name)


def test_the_overlay_draws_the_drop_grey_and_off_its_colour_scale(snatch):
    from liftflow.render.common import DROP_RGB, render_view, vy_scale
    from liftflow.render.overlay import _Scene

    scene = _Scene(render_view(snatch), 1.0, 1280, 720, pose=False)
    frames = np.asarray(snatch["metrics"]["frames"])
    drop = drop_mask(snatch)
    assert (scene.colour[frames[drop]] == np.array(DROP_RGB[::-1], np.uint8)).all()
    assert not (scene.colour[frames[~drop]] == np.array(DROP_RGB[::-1], np.uint8)).all(axis=1).any()
    vy = series(snatch, "vy_m_s")
    assert scene.vmax == pytest.approx(vy_scale(vy[~drop]))
    t_drop = float(series(snatch, "time_s")[drop][3])
    assert scene.labels(t_drop)[2] == "dropped bar"


def test_the_page_says_when_the_load_was_assumed_and_what_the_verdict_is(squat):
    assumed = {**squat, "load": {"load_kg": 60.0, "origin": "assumed", "assumed_from": "bar + plates"}}
    shown = text_of(page(assumed))
    assert "60.0 kg assumed" in shown and "send load_kg" in shown
    given = text_of(page({**squat, "load": {"load_kg": 102.5, "origin": "given"}}))
    assert "102.5 kg" in given and "assumed" not in given.split("102.5 kg")[1][:20]
    assert "Verdict" not in text_of(page({**squat, "verdict": {"code": "ok", "message": "fine"}}))
    hostile = "<script>alert(1)</script>"
    html = page({**squat, "verdict": {"code": "plate_lost", "message": f"lost on most frames {hostile}"}})
    assert "plate_lost" in text_of(html) and "lost on most frames" in text_of(html)
    assert hostile not in html  # escaped
