"""The results page: one self-contained HTML document (inline CSS and a few lines of
inline JS, no external resource, no build step).

While the job is not done it shows the status and progress and reloads itself every
3 s; when it is done it plays the overlay video and shows the summary, the per-rep table
(with a legend of its abbreviations, from the result's ``definitions`` where it has them),
with each figure's 95 % ± where the result has one (``reps[].uncertainty``, a ``*`` on a
peak velocity the frame rate does not resolve), the filming-setup verdict with what to change
(``setup_quality``), the phases, for the Olympic lifts the bar-path figures (toward/away from the lifter, the
loop, the drop under the bar, and which way the lifter is), the plots (the dropped bar
grey and off their scales), and how the plate was picked (the circle given, or chosen
automatically). Timestamps are shown in UTC, marked so. Every piece of text that comes
from a user or a file (job id, case id, file name, tags, messages, warnings, the seed's
reason) is HTML-escaped; URLs are escaped and only relative, http and https ones are used.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import urlsplit

from liftflow.render.common import drop_intervals, phase_list

PLOT_TITLES = {
    "bar_path": "Bar path",
    "velocity": "Vertical velocity",
    "height": "Height",
    "power": "Power",
}
_DONE = "completed"
_REFRESH_S = 3
OLYMPIC_LIFTS = ("snatch", "clean", "clean_and_jerk")  # the lifts with bar-path figures

# The rep table's columns: result key, header (abbreviation), unit, decimals, what it is,
# and how it is measured where the result's ``definitions`` has no ``reps.<key>``.
REP_COLUMNS = (
    ("mean_concentric_velocity_m_s", "MCV", "m/s", 2, "mean concentric velocity",
     "rise / duration of the concentric (upward) phase"),
    ("peak_concentric_velocity_m_s", "peak v", "m/s", 2, "peak concentric velocity",
     "highest upward velocity in the concentric phase"),
    ("mean_propulsive_velocity_m_s", "MPV", "m/s", 2, "mean propulsive velocity",
     "rise / duration of the propulsive part of the concentric phase (until the bar slows "
     "faster than gravity would)"),
    ("range_of_motion_m", "ROM", "m", 2, "range of motion",
     "vertical rise of the plate centre over the concentric phase"),
    ("concentric_duration_s", "up", "s", 2, "time the bar went up (concentric duration)",
     "concentric end - concentric start"),
    ("mean_concentric_power_w", "mean P", "W", 0, "mean power (P) over the concentric phase",
     "mean of the power on the bar (power_w) over the frames of the concentric phase"),
    ("peak_power_w", "peak P", "W", 0, "peak power (P) over the concentric phase",
     "max of the power on the bar (power_w) over the concentric phase"),
    ("concentric_start_s", "up at", "s", 2, "when the bar started up (concentric start), "
     "seconds into the video", "the start of the concentric phase"),
)

# The bar-path figures: result key, label, abbreviation, unit ("cm" shown from metres).
BAR_PATH_ROWS = (
    ("x_toward_lifter_to_rearmost_m", "lift-off to the rearmost point, toward the lifter", "DX1", "cm"),
    ("x_away_rearmost_to_forwardmost_m", "rearmost to the forward-most point, away from the lifter", "DX2", "cm"),
    ("loop_toward_lifter_m", "the loop: forward-most point to the catch, toward the lifter", "DXL", "cm"),
    ("catch_x_toward_lifter_m", "the catch, from the lift-off position, toward the lifter", None, "cm"),
    ("peak_height_m", "peak bar height", None, "m"),
    ("catch_height_m", "bar height at the catch", None, "m"),
    ("drop_under_bar_m", "drop under the bar: peak height - catch height", None, "cm"),
)
_BAR_PATH_HOW = {  # where the result's definitions have none of their own
    "catch_x_toward_lifter_m": "horizontal position of the bar at the catch relative to lift-off, "
                               "+ toward the lifter",
    "catch_height_m": "height of the plate centre at the catch (lowest point as the bar is received)",
}

_CSS = """
:root{--bg:#f4f5f7;--card:#fff;--ink:#1d2430;--mute:#667085;--acc:#e8590c;--ok:#2b8a3e;--bad:#c92a2a;--line:#e3e6ea}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{background:#1d2430;color:#fff;padding:12px 20px;display:flex;gap:14px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0;font-weight:600}
header .id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;opacity:.8}
.badge{display:inline-block;padding:2px 9px;border-radius:10px;font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;background:#868e96;color:#fff}
.badge.completed{background:var(--ok)}.badge.failed{background:var(--bad)}.badge.processing,.badge.pending{background:#1971c2}
main{max-width:1280px;margin:0 auto;padding:16px}
.grid{display:grid;grid-template-columns:minmax(280px,420px) minmax(0,1fr);gap:16px;align-items:start}
@media (max-width:820px){.grid{grid-template-columns:minmax(0,1fr)}}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-bottom:16px}
.card h2{font-size:15px;margin:0 0 10px;color:#344054}
video{width:100%;max-height:78vh;background:#000;border-radius:8px;display:block}
.controls{display:flex;gap:6px;flex-wrap:wrap;margin-top:8px;align-items:center;font-size:13px;color:var(--mute)}
.controls button{font:inherit;padding:3px 9px;border:1px solid var(--line);border-radius:6px;background:#fff;cursor:pointer}
.controls button.on{background:var(--ink);color:#fff}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:10px}
.kpi{border:1px solid var(--line);border-radius:8px;padding:8px 10px}
.kpi .v{font-size:21px;font-weight:650}.kpi .l{font-size:12px;color:var(--mute)}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{color:var(--mute);font-weight:600}
tr.seek{cursor:pointer}tr.seek:hover{background:#fff4e6}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(420px,100%),1fr));gap:12px}
.scroll{overflow-x:auto}
.plots figure{margin:0}.plots figure.bar_path img{max-height:640px;width:auto;max-width:100%;display:block;margin:0 auto}.plots img{width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
.plots figcaption{font-size:12px;color:var(--mute)}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0;font-size:13.5px}
dl.meta dt{color:var(--mute)}dl.meta dd{margin:0;word-break:break-word}
progress{width:100%;height:14px}
dl.legend{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0 0;font-size:12.5px;color:#475467}
dl.legend dt{font-weight:600;color:var(--ink)}dl.legend dd{margin:0}
abbr[title]{text-decoration:underline dotted;cursor:help}
.err{color:var(--bad);white-space:pre-wrap}
.warn{color:#a05a00}
.mute{color:var(--mute)}
.pm{color:var(--mute);font-size:12px}.flag{color:#a05a00;font-weight:700;text-decoration:none}
.ok{color:var(--ok)}.st.warn{color:#a05a00}.st.poor{color:var(--bad)}.st.ok{color:var(--ok)}
a{color:#1c64c8}
"""

_JS = """
(function(){
 document.querySelectorAll('time[datetime]').forEach(function(t){
  var d=new Date(t.getAttribute('datetime')); if(!isNaN(d.getTime())) t.title='your time: '+d.toLocaleString();});
 var v=document.getElementById('overlay'); if(!v) return;
 document.querySelectorAll('[data-rate]').forEach(function(b){
  b.addEventListener('click',function(){v.playbackRate=parseFloat(b.dataset.rate);
   document.querySelectorAll('[data-rate]').forEach(function(x){x.classList.toggle('on',x===b);});});});
 var fps=parseFloat(v.dataset.fps)||30;
 document.querySelectorAll('[data-step]').forEach(function(b){
  b.addEventListener('click',function(){v.pause();v.currentTime=Math.max(0,v.currentTime+parseFloat(b.dataset.step)/fps);});});
 document.querySelectorAll('tr.seek').forEach(function(r){
  r.addEventListener('click',function(){v.currentTime=parseFloat(r.dataset.t)||0;v.play();});});
})();
"""


# The page's Content-Security-Policy: no resource from elsewhere, and no script but the
# page's own (by its hash): markup that escaped escaping still could not run.
PAGE_CSP = ("default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()}'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _url(u: Any) -> Optional[str]:
    """Escaped URL, or None for anything but relative/http/https (no javascript: etc.)."""
    if not isinstance(u, str) or not u.strip():
        return None
    try:
        scheme = urlsplit(u.strip()).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("", "http", "https"):
        return None
    return html.escape(u.strip(), quote=True)


def _finite(v: Any) -> Optional[float]:
    """``v`` as a finite float, or None (missing, not a number, NaN, infinite)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _num(v: Any, nd: int = 2, unit: str = "") -> str:
    f = _finite(v)
    if f is None:
        return "–"
    return f"{f:.{nd}f}{(' ' + unit) if unit else ''}"


def _when(v: Any) -> str:
    """A timestamp as HTML: ``<time datetime="...Z">YYYY-MM-DD HH:MM:SS UTC</time>``. The
    project writes naive ISO timestamps in UTC (``jobstore.now_iso``, ``processed_at``);
    one with an offset is converted. Anything else is shown as it is, escaped."""
    if isinstance(v, datetime):
        d = v
    else:
        try:
            d = datetime.fromisoformat(str(v).strip().replace("Z", "+00:00"))
        except ValueError:
            return _e(v)
    d = d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)
    return f'<time datetime="{d:%Y-%m-%dT%H:%M:%SZ}">{d:%Y-%m-%d %H:%M:%S} UTC</time>'


def _px(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "?"
    return f"{f:.0f}" if math.isfinite(f) else "?"


def seed_origin(result: Optional[dict]) -> tuple[str, str, str]:
    """(kind, short text, detail) of how the plate was picked, from ``result["seed"]``:
    kind "user" (the circle given with the video), "auto" (chosen by LiftFlow: detail is
    its reason), "unknown" (the result does not record it) or the recorded source. Plain
    text (the caller escapes it)."""
    seed = (result or {}).get("seed")
    if not isinstance(seed, dict):
        return "unknown", "not recorded in this result", ""
    where = (f"centre ({_px(seed.get('cx'))}, {_px(seed.get('cy'))}) px, radius {_px(seed.get('r'))} px, "
             f"frame {_px(seed.get('frame'))}")
    src = seed.get("source")
    if src == "user":
        return "user", f"given: the circle submitted with the video, {where}", ""
    if src == "auto":
        return ("auto", f"picked automatically (no circle was given): {where}",
                str(seed.get("reason") or ""))
    return str(src or "unknown"), f"{src or 'source not recorded'}: {where}", str(seed.get("reason") or "")


def _first(*vals):
    for v in vals:
        if v not in (None, "", [], {}):
            return v
    return None


def _user_details(status: dict, result: Optional[dict]) -> list[tuple[str, str]]:
    """(label, escaped value) for what identifies the job; flat or job_meta-shaped keys."""
    st = status or {}
    src = st.get("source") if isinstance(st.get("source"), dict) else {}
    bm = st.get("benchmark") if isinstance(st.get("benchmark"), dict) else {}
    res = result or {}
    rows = []
    case_id = _first(st.get("case_id"), bm.get("case_id"))
    if case_id is not None:
        rows.append(("Case", _e(case_id)))
    fname = _first(st.get("original_filename"), src.get("original_filename"))
    if fname is not None:
        rows.append(("File", _e(fname)))
    lift = _lift_type(st, res)
    if lift is not None:
        rows.append(("Lift", _e(lift)))
    load = res.get("load") if isinstance(res.get("load"), dict) else {}
    if load.get("load_kg") is not None:
        given = load.get("origin") == "given"
        rows.append(("Load", _e(f"{_num(load.get('load_kg'), 1)} kg") + (
            "" if given else ' <strong>assumed</strong> <span class=mute>(not given with the video: energy and '
                             'power are those of this mass; send load_kg)</span>')))
    verdict = res.get("verdict") if isinstance(res.get("verdict"), dict) else {}
    if verdict.get("code") not in (None, "ok"):
        rows.append(("Verdict", f'<strong>{_e(verdict.get("code"))}</strong>: {_e(verdict.get("message", ""))}'))
    crid = _first(st.get("client_run_id"), bm.get("client_run_id"))
    if crid is not None:
        rows.append(("Client run", _e(crid)))
    tags = _first(st.get("tags"), bm.get("tags"))
    if isinstance(tags, dict) and tags:
        rows.append(("Tags", ", ".join(f"{_e(k)}={_e(v)}" for k, v in tags.items())))
    md = res.get("metadata") or {}
    if md:
        vfr = " (variable frame rate)" if md.get("variable_frame_rate") else ""
        rows.append(("Video", _e(f"{md.get('width')}×{md.get('height')}, {_num(md.get('fps'), 2)} fps, "
                                 f"{_num(md.get('duration_s'), 2)} s, {md.get('total_frames')} frames{vfr}")))
    tr = res.get("tracking") or {}
    if isinstance(tr, dict) and tr:
        rows.append(("Tracking", _e(f"{tr.get('backend', '?')}: {tr.get('tracked_frames', '?')} of "
                                    f"{tr.get('frames', '?')} frames tracked")))
    cal = res.get("calibration") or {}
    if isinstance(cal, dict) and cal.get("m_per_px"):
        rows.append(("Scale", _e(f"{_num(cal.get('m_per_px'), 5)} m/px ({cal.get('method', '')})")))
    if result is not None:
        kind, text, detail = seed_origin(result)
        rows.append(("Plate", _e(text) + (f'<br><span class=mute>{_e(detail)}</span>' if detail else "")))
    for key, label in (("created_at", "Submitted"), ("updated_at", "Updated"), ("processed_at", "Processed")):
        v = st.get(key) if key != "processed_at" else res.get("processed_at")
        if v:
            rows.append((label, _when(v)))
    if st.get("run_id"):
        rows.append(("Dagster run", _e(st.get("run_id"))))
    return rows


def _lift_figure(summary: dict, key: str, legacy: str):
    """A lift-only summary figure (a dropped bar excluded). Results written before it had a
    key of its own (every result since carries the key, null when unknown) held it under
    ``legacy``, which now keeps the original server's meaning (all frames, the video)."""
    return summary.get(key) if key in summary else summary.get(legacy)


def _kpis(result: dict) -> str:
    s = result.get("summary") or {}
    reps = result.get("reps") if isinstance(result.get("reps"), list) else []
    mcv = [r.get("mean_concentric_velocity_m_s") for r in reps if isinstance(r, dict)]
    mcv = [float(v) for v in mcv if isinstance(v, (int, float)) and math.isfinite(v)]
    rom = [r.get("range_of_motion_m") for r in reps if isinstance(r, dict)]
    rom = [float(v) for v in rom if isinstance(v, (int, float)) and math.isfinite(v)]
    items = [
        (str(_first(s.get("rep_count"), len(reps)) or 0), "reps"),
        (_num(sum(mcv) / len(mcv), 2, "m/s") if mcv else "–", "mean concentric velocity (avg of reps)"),
        (_num(_first(s.get("peak_vertical_velocity_m_s")), 2, "m/s"), "peak vertical velocity"),
        (_num(_lift_figure(s, "peak_speed_lift_m_s", "peak_speed_m_s"), 2, "m/s"), "peak bar speed (lift)"),
        (_num(_lift_figure(s, "peak_power_lift_w", "peak_power_w"), 0, "W"), "peak power (lift)"),
        (_num(max(rom), 2, "m") if rom else "–", "range of motion (max)"),
        (_num(_lift_figure(s, "moving_duration_s", "lift_duration_s"), 2, "s"), "time the bar moved"),
        (_num(s.get("max_height_m"), 2, "m"), "max height"),
    ]
    return "<div class=kpis>" + "".join(
        f'<div class=kpi><div class=v>{_e(v)}</div><div class=l>{_e(l)}</div></div>' for v, l in items
    ) + "</div>"


def _definition(result: dict, key: str) -> Optional[str]:
    """``definitions[key].how`` of the result, or None."""
    defs = result.get("definitions")
    d = defs.get(key) if isinstance(defs, dict) else None
    how = d.get("how") if isinstance(d, dict) else None
    return how if isinstance(how, str) and how.strip() else None


def _legend(entries) -> str:
    """A <dl class=legend> of (term, name, unit, how) entries, all escaped."""
    return "<dl class=legend>" + "".join(
        f"<dt>{_e(term)}</dt><dd><b>{_e(name)}</b>{(', ' + _e(unit)) if unit else ''}{': ' + _e(how) if how else ''}</dd>"
        for term, name, unit, how in entries) + "</dl>"


def _rep_table(result: dict) -> str:
    reps = result.get("reps") if isinstance(result.get("reps"), list) else []
    if not reps:
        return '<p class=mute>No repetitions were detected.</p>'
    cols = [(key, abbr, nd) for key, abbr, _, nd, _, _ in REP_COLUMNS]
    head = "<tr><th>Rep</th>" + "".join(
        f'<th><abbr title="{_e(name)}">{_e(abbr)}</abbr> {_e(unit)}</th>'
        for _, abbr, unit, _, name, _ in REP_COLUMNS) + "</tr>"
    rows = []
    for i, r in enumerate(reps):
        if not isinstance(r, dict):
            continue
        start = _first(r.get("eccentric_start_s") if r.get("order") != "concentric_first" else None,
                       r.get("concentric_start_s"), 0.0)
        try:
            t = max(0.0, float(start) - 0.3)
        except (TypeError, ValueError):
            t = 0.0
        unc = r.get("uncertainty") if isinstance(r.get("uncertainty"), dict) else {}
        cells = "".join(f"<td>{_with_pm(r.get(k), unc.get(k), nd)}{_peak_flag(unc, k)}</td>" for k, _, nd in cols)
        rows.append(f'<tr class=seek data-t="{t:.3f}" title="play this rep"><td>{_e(r.get("rep", i + 1))}</td>{cells}</tr>')
    has_pm = any(isinstance(r, dict) and isinstance(r.get("uncertainty"), dict) for r in reps)
    pm = ([("±", "uncertainty", "",
            "95 % range: the true value lies within the figure ± this on 19 reps in 20 (from the plate "
            "calibration, the tracking noise and confidence, and the frame rate)"),
           ("*", "peak velocity not resolved", "", "the frame rate is too low for this rep's peak velocity: "
            "the figure is an estimate between frames; film at a higher frame rate")] if has_pm else [])
    legend = _legend([("Rep", "repetition", "", "click a row to play that rep")]
                     + [(abbr, name, unit, _definition(result, f"reps.{key}") or how)
                        for key, abbr, unit, _, name, how in REP_COLUMNS] + pm)
    return (f"<div class=scroll><table>{head}{''.join(rows)}</table></div>"
            "<p class=mute>Click a rep to play it. The plots label each rep with its MCV.</p>" + legend)


def _with_pm(v: Any, half_width: Any, nd: int) -> str:
    """``0.52 ± 0.03`` (the rep's 95 % half-width, ``reps[].uncertainty``), or the figure alone."""
    shown = _num(v, nd)
    hw = _finite(half_width)
    if hw is None or _finite(v) is None:
        return shown
    return f"{shown} <span class=pm>± {max(hw, 0.5 * 10 ** -nd):.{nd}f}</span>"


def _peak_flag(unc: dict, key: str) -> str:
    """A marked ``*`` after a peak velocity the frame rate does not resolve."""
    if key != "peak_concentric_velocity_m_s" or unc.get("peak_velocity_resolved") is not False:
        return ""
    note = unc.get("peak_velocity_note") or "not resolved by the frame rate"
    return f'<abbr class=flag title="{_e(note)}">*</abbr>'


_SETUP_NAMES = {"plate_size_px": ("plate size", "px radius"), "obliqueness": ("obliqueness", "° off a side view"),
                "blur": ("motion blur", "radius inflation"), "frame_rate": ("frame rate", "fps"),
                "camera_shake": ("camera shake", "mm at rest")}


def _setup_quality(result: dict) -> str:
    """The card with the setup-quality verdict and what to change (``setup_quality``)."""
    sq = result.get("setup_quality")
    if not isinstance(sq, dict) or not isinstance(sq.get("checks"), list):
        return ""
    verdict = str(sq.get("verdict") or "unknown")
    rows = []
    for c in sq["checks"]:
        if not isinstance(c, dict):
            continue
        label, unit = _SETUP_NAMES.get(str(c.get("name")), (str(c.get("name")), ""))
        v = _finite(c.get("value"))
        val = "–" if v is None else (f"{100 * v:.0f} %" if c.get("name") == "blur" else f"{v:g}")
        st = str(c.get("status") or "unknown")
        rows.append(f"<tr><td>{_e(label)}</td><td>{_e(val)} <span class=mute>{_e(unit)}</span></td>"
                    f'<td class="st {_e(st)}">{_e(st)}</td><td style="text-align:left;white-space:normal">'
                    f"{_e(c.get('advice') or '')}</td></tr>")
    cls = {"good": "ok", "fair": "warn", "poor": "err"}.get(verdict, "mute")
    return (f'<div class="card setup-quality"><h2>Filming setup</h2><p>Setup quality: '
            f'<b class={cls}>{_e(verdict)}</b></p><div class=scroll><table><tr><th>Check</th><th>value</th>'
            f"<th>status</th><th style=\"text-align:left\">what to change</th></tr>{''.join(rows)}</table></div></div>")


def _cm_or_m(v: Any, unit: str) -> str:
    f = _finite(v)
    if f is None:
        return "–"
    return f"{f * 100:.1f} cm" if unit == "cm" else f"{f:.2f} m"


def _lift_type(status: dict, result: dict) -> Optional[str]:
    cal = result.get("calibration") if isinstance(result.get("calibration"), dict) else {}
    lt = _first((status or {}).get("lift_type"), result.get("lift_type"), cal.get("lift_type"))
    return str(lt).strip().lower().replace(" ", "_").replace("-", "_") if lt else None


def _bar_path_figures(result: dict, status: dict) -> str:
    """The Olympic lifts' bar-path figures (``result["bar_path"]``) with which way is toward
    the lifter; a note for an Olympic lift without them; "" for other lifts."""
    bp = result.get("bar_path")
    if not isinstance(bp, dict):
        if _lift_type(status, result) in OLYMPIC_LIFTS:
            return ('<p class=mute>Not computed for this lift: its phases could not be split from the '
                    'bar path (see the warnings).</p>')
        return ""
    d = bp.get("toward_lifter")
    source = str(bp.get("direction_source") or "")
    if d in ("-x", "+x"):
        side = "left" if d == "-x" else "right"
        way = (f'Toward the lifter is to the <b>{side}</b> in the video ({_e(d)} on the plots, '
               f'marked under the bar-path plot); found from: {_e(source or "not recorded")}.')
    else:
        way = "Which way is toward the lifter is not recorded in this result."
    cls = "warn" if source.startswith("unknown") or d not in ("-x", "+x") else "mute"
    pulls = []
    for key, label in (("first_pull", "first pull"), ("second_pull", "second pull")):
        p = bp.get(key) if isinstance(bp.get(key), dict) else {}
        if p:
            pulls.append(f"<tr><td>{_e(label)}</td><td>{_cm_or_m(p.get('toward_lifter_m'), 'cm')}</td>"
                         f"<td>{_cm_or_m(p.get('away_from_lifter_m'), 'cm')}</td>"
                         f"<td>{_cm_or_m(p.get('net_toward_lifter_m'), 'cm')}</td></tr>")
    pull_table = ("<div class=scroll><table><tr><th>Pull</th><th>toward the lifter</th><th>away from the lifter</th>"
                  f"<th>net toward</th></tr>{''.join(pulls)}</table></div>" if pulls else "")
    rows = []
    for key, label, abbr, unit in BAR_PATH_ROWS:
        if key not in bp:
            continue
        val = _cm_or_m(bp.get(key), unit)
        if key == "peak_height_m" and bp.get("peak_height_s") is not None:
            val += f" at {_num(bp.get('peak_height_s'), 2, 's')}"
        term = f'<abbr title="{_e(label)}">{_e(abbr)}</abbr>: {_e(label)}' if abbr else _e(label)
        rows.append(f"<tr><td>{term}</td><td>{_e(val)}</td></tr>")
    table = f"<div class=scroll><table>{''.join(rows)}</table></div>" if rows else ""
    entries = []
    if pulls:
        entries.append(("toward, away, net", "horizontal movement of the bar in the pull", "cm",
                        _definition(result, "bar_path.first_pull / second_pull")
                        or "the largest movement toward / away from the lifter from where the pull started, "
                           "and where it ended (net)"))
    for key, label, abbr, unit in BAR_PATH_ROWS:
        if abbr and key in bp:
            entries.append((abbr, label, unit, _definition(result, f"bar_path.{key}") or _BAR_PATH_HOW.get(key)))
    return f"<p class={cls}>{way}</p>{pull_table}{table}{_legend(entries)}"


def _drop_note(result: dict) -> str:
    """What the grey in the plots and the overlay is: the dropped bar, off the lift."""
    drops = drop_intervals(result)
    if not drops:
        return ""
    when = ", ".join(f"from {s:.2f} s" + (f" to {e:.2f} s" if math.isfinite(e) else "") for s, e in drops)
    return (f"<p class=mute>Grey: the dropped bar ({_e(when)}), not part of the lift: not counted in the reps "
            "or the lift's peaks, and kept off the plots' scales.</p>")


def _phase_table(result: dict) -> str:
    ph = phase_list(result.get("phases"))
    if not ph:
        return ""
    rows = "".join(
        f'<tr class=seek data-t="{s:.3f}"><td>{_e(name)}</td><td>{s:.2f}</td><td>{e:.2f}</td><td>{e - s:.2f}</td></tr>'
        for name, s, e in ph
    )
    return ("<div class=card><h2>Phases</h2><div class=scroll><table><tr><th>Phase</th><th>start s</th><th>end s</th>"
            f"<th>duration s</th></tr>{rows}</table></div></div>")


def _warnings(result: dict) -> str:
    ws = result.get("warnings")
    if not isinstance(ws, list) or not ws:
        return ""
    items = "".join(f"<li>{_e(w if isinstance(w, str) else w.get('message', w) if isinstance(w, dict) else w)}</li>"
                    for w in ws)
    return f'<div class="card warn"><h2>Warnings</h2><ul>{items}</ul></div>'


def results_page_html(job_id: str, result: Optional[dict], status: dict,
                      artefacts: dict[str, str]) -> str:
    """The results page of one job as a complete HTML document.

    ``status``: the job's status dict (``status``, ``progress`` 0..1, ``current_step``,
    ``message``, ``error``, timestamps), optionally with what identifies the job:
    ``case_id``/``original_filename``/``lift_type``/``tags`` flat or in job_meta's
    ``benchmark``/``source`` dicts. ``result``: the ResultsContract dict or None.
    ``artefacts``: name -> URL; "overlay" (MP4), optional "overlay_webm", "poster",
    "result" (JSON), and "plot:<name>" for each plot.
    """
    status = status or {}
    artefacts = artefacts or {}
    state = str(status.get("status") or (result or {}).get("status") or "unknown")
    done = state == _DONE and result is not None
    refresh = "" if done or state == "failed" else f'<meta http-equiv="refresh" content="{_REFRESH_S}">'
    parts: list[str] = []

    if not done:
        prog = status.get("progress")
        try:
            pf = min(1.0, max(0.0, float(prog)))
        except (TypeError, ValueError):
            pf = None
        bar = f'<progress max="1" value="{pf:.3f}"></progress> {pf * 100:.0f}%' if pf is not None else ""
        body = [f"<p>Status: <b>{_e(state)}</b></p>", bar]
        if status.get("current_step"):
            body.append(f"<p>Step: {_e(status.get('current_step'))}</p>")
        if status.get("message"):
            body.append(f"<p>{_e(status.get('message'))}</p>")
        if status.get("error"):
            body.append(f'<p class=err>{_e(status.get("error"))}</p>')
        if state not in ("failed",):
            body.append(f'<p class=mute>This page reloads every {_REFRESH_S} s until the results are ready.</p>')
        parts.append('<div class=card><h2>Job status</h2>' + "".join(body) + "</div>")
        details = _user_details(status, result)
        if details:
            parts.append('<div class=card><h2>Job</h2><dl class=meta>' +
                         "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in details) + "</dl></div>")
    else:
        fps = (result.get("metadata") or {}).get("fps") or 30
        try:
            fps = float(fps)
        except (TypeError, ValueError):
            fps = 30.0
        ov = _url(artefacts.get("overlay"))
        webm = _url(artefacts.get("overlay_webm"))
        poster = _url(artefacts.get("poster"))
        if ov or webm:
            srcs = ""
            if ov:
                srcs += f'<source src="{ov}" type="video/mp4">'
            if webm:
                srcs += f'<source src="{webm}" type="video/webm">'
            pattr = f' poster="{poster}"' if poster else ""
            links = " · ".join(f'<a href="{u}" download>{n}</a>' for n, u in (("MP4", ov), ("WebM", webm)) if u)
            video = (
                f'<video id=overlay controls playsinline muted loop preload="auto" data-fps="{fps:.3f}"{pattr}>'
                f"{srcs}Your browser cannot play this video; download it: {links}</video>"
                '<div class=controls>speed '
                + "".join(f'<button data-rate="{r}"{" class=on" if r == "1" else ""}>{r}×</button>'
                          for r in ("0.25", "0.5", "1"))
                + ' &nbsp;frame <button data-step="-1">◀</button><button data-step="1">▶</button>'
                + f' &nbsp;<span>download {links}</span></div>'
            )
        else:
            video = '<p class=mute>No overlay video was rendered for this job.</p>'
        details = _user_details(status, result)
        job_card = ('<div class=card><h2>Job</h2><dl class=meta>'
                    + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in details) + "</dl>"
                    + (f'<p><a href="{_url(artefacts.get("result"))}">result.json</a></p>'
                       if _url(artefacts.get("result")) else "")
                    + "</div>")
        names = [k[5:] for k in artefacts if k.startswith("plot:")]
        order = [n for n in PLOT_TITLES if n in names] + [n for n in names if n not in PLOT_TITLES]
        figs: dict[str, str] = {}
        for n in order:
            u = _url(artefacts.get(f"plot:{n}"))
            if u:
                title = PLOT_TITLES.get(n, n.replace("_", " "))
                figs[n] = (f'<figure class="{_e(n)}"><img src="{u}" alt="{_e(title)}" loading="lazy">'
                           f"<figcaption>{_e(title)}</figcaption></figure>")
        # the bar path plot sits under the video (the path on the plate, then in metres)
        bar = figs.pop("bar_path", "")
        kind, seed_text, _ = seed_origin(result)
        seed_note = (f'<p class="warn seed-auto">{_e(seed_text[:1].upper() + seed_text[1:])}. Check in the video '
                     'that the outlined plate is the one on the bar; if it is not, submit the clip again with '
                     'the plate\'s circle.</p>' if kind == "auto" else "")
        figures = _bar_path_figures(result, status)
        drop_note = _drop_note(result)
        side = (f'<div class=card><h2>Overlay</h2>{video}{seed_note}</div>'
                + (f'<div class=card><h2>Bar path</h2><div class=plots>{bar}</div>{drop_note}</div>' if bar else ""))
        plots_html = (f'<div class=card><h2>Plots</h2><div class=plots>{"".join(figs.values())}</div>'
                      f'{drop_note}</div>' if figs else "")
        mainc = (f'<div class=card><h2>Summary</h2>{_kpis(result)}</div>'
                 f'<div class=card><h2>Repetitions</h2>{_rep_table(result)}</div>'
                 + _setup_quality(result)
                 + (f'<div class="card bar-path-figures"><h2>Bar-path figures</h2>{figures}</div>' if figures else "")
                 + _phase_table(result) + _warnings(result) + plots_html + job_card)
        parts.append(f'<div class=grid><div>{side}</div><div>{mainc}</div></div>')

    title = f"LiftFlow · {job_id}"
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"{refresh}<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>LiftFlow results</h1><span class=id>{_e(job_id)}</span>'
        f'<span class="badge {_e(state)}">{_e(state)}</span></header>'
        f"<main>{''.join(parts)}</main><script>{_JS}</script></body></html>\n"
    )
