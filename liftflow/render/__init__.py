"""What people look at: the overlay video, the plots and the results page.

Three pure functions, no global state, heavy imports (cv2, av, matplotlib) inside them:

``render_overlay(video_path, result, out_path, progress=None, max_side=1080, *, codec="h264",
preset="superfast", crf=23, pose=True, threaded=None, poster=True, spool=None) -> dict``
    One streaming pass over small frames: those tracking's decode kept (``spool``, see
    ``liftflow.render.spool``) or, without them, a decode downscaled on the yuv planes to
    ``max_side`` (``liftflow.video.iter_frames``). Draws the tracked plate outline
    (green), the bar path so far coloured by vertical velocity (blue down, grey still,
    orange/red up; a legend top right), a readout (vertical velocity, time, height), the
    rep ("Rep 2/5 UP"/"down") and phase labels, the last rep's mean concentric velocity,
    a dropped bar (``summary.dropped_bar``) in grey and off the colour scale,
    and the COCO pose skeleton when the result has a person track with keypoints (and
    ``pose``). Encodes as it goes: H.264 (libx264, yuv420p, even dimensions, keyframe
    every ~1 s, ``movflags=+faststart`` so the moov atom is first) in MP4; ``codec="vp9"``
    writes WebM instead. Each output frame keeps its decoded timestamp (variable frame
    rate survives). Memory: one frame plus one path layer, whatever the length. The file
    appears at ``out_path`` only when complete; a poster JPEG (the last frame, whole path)
    is written beside it as ``<stem>_poster.jpg``. ``progress(fraction, message)`` as in
    ``liftflow.progress``. Returns {"path", "frames", "seconds", "width", "height", "fps",
    "codec", "poster"}. Raises ``liftflow.video.VideoError`` for an undecodable file.

``render_plots(result, out_dir) -> dict[str, Path]``
    bar_path.png (x vs height in metres, equal scale, coloured by vertical velocity; for
    the Olympic lifts the peak height, the catch and which way is toward the lifter),
    height.png, velocity.png (vertical velocity, eccentric/concentric shaded, MCV per
    rep), power.png; the time plots have a strip of the snatch/clean phases above them,
    labels in rows that never overlap. A dropped bar is drawn grey and kept off every
    axis scale (a note says how far it runs off). Keys are ``PLOT_NAMES``. Works with
    empty metrics, NaN/None samples, no reps and no phases (a "no data" panel). About
    0.5-1 s for all four. ``liftflow.render.plots.plot_figures`` yields the figures.

``plots_markdown(plots, names=PLOT_NAMES) -> str``
    Markdown with those PNGs inlined (data URIs) for ``dagster.MetadataValue.md``: the
    data team sees the plots in the Dagster UI without any file server.

``results_page_html(job_id, result, status, artefacts) -> str``
    A complete HTML document (inline CSS and a few lines of JS, nothing external). Not
    done yet: status, progress bar, step, message/error; reloads every 3 s (not when
    failed). Done: the overlay in ``<video controls playsinline muted>`` with speed and
    frame-step buttons, summary figures, the per-rep table (click a row to play that
    rep) with a legend of its abbreviations (the result's ``definitions`` where present),
    for the Olympic lifts the bar-path figures (toward/away from the lifter per pull,
    DX1/DX2/DXL, the drop under the bar) with the lifter's direction, phases, warnings,
    the plots, how the plate was picked (the circle given, or automatically: then a
    warning under the video), timestamps in UTC. All user text is escaped; only
    relative/http(s) URLs are used.

Wiring: ``liftflow.pipeline.steps.render`` (called by the assemble_contract op, on by
default per job) writes overlay.mp4, overlay_poster.jpg and plots/*.png into the job
folder and lists them in job_meta.json; the API serves them (``liftflow_api.routes``:
``/videos/{id}/overlay`` with Range support, ``/poster``, ``/plots/{name}``) and the
page at ``/jobs/{id}``.

Measured: see ``liftflow bench speed`` (the whole analysis against decode-alone on a
1080x1920 60 fps clip). Debian's chromium plays the H.264 MP4 (canPlayType "probably").
"""

from liftflow.render.overlay import render_overlay
from liftflow.render.page import results_page_html
from liftflow.render.plots import PLOT_NAMES, plots_markdown, render_plots
from liftflow.video.encode import CODECS

__all__ = ["render_overlay", "render_plots", "results_page_html", "plots_markdown", "PLOT_NAMES",
           "CODECS"]
