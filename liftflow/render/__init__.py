"""What people look at: the overlay video, the plots and the results page.

Three pure functions, no global state, heavy imports (cv2, av, matplotlib) inside them:

``render_overlay(video_path, result, out_path, progress=None, max_side=1080, *, codec="h264",
preset="superfast", crf=23, pose=True, threaded=None, poster=True) -> dict``
    One streaming pass over the video (``liftflow.video.iter_frames``, PyAV, threaded,
    frames decoded already downscaled to ``max_side``): draws the tracked plate outline
    (green), the bar path so far coloured by vertical velocity (blue down, grey still,
    orange/red up; a legend top right), a readout (vertical velocity, time, height), the
    rep ("Rep 2/5 UP"/"down") and phase labels, the last rep's mean concentric velocity,
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
    bar_path.png (x vs height in metres, equal scale, coloured by vertical velocity),
    height.png, velocity.png (vertical velocity, eccentric/concentric shaded, MCV per
    rep), power.png. Keys are ``PLOT_NAMES``. Works with empty metrics, NaN/None samples,
    no reps and no phases (a "no data" panel). About 1-2 s for all four.

``plots_markdown(plots, names=PLOT_NAMES) -> str``
    Markdown with those PNGs inlined (data URIs) for ``dagster.MetadataValue.md``: the
    data team sees the plots in the Dagster UI without any file server.

``results_page_html(job_id, result, status, artefacts) -> str``
    A complete HTML document (inline CSS and a few lines of JS, nothing external). Not
    done yet: status, progress bar, step, message/error; reloads every 3 s (not when
    failed). Done: the overlay in ``<video controls playsinline muted>`` with speed and
    frame-step buttons, summary figures, the per-rep table (click a row to play that
    rep), phases, warnings, the plots. All user text is escaped; only relative/http(s)
    URLs are used.

Wiring (for the integrator):

* Dagster op after ``assemble_contract`` (optional per job, on by default), in the job
  folder ``data/api/results/<job_id>/``::

      from liftflow.render import render_overlay, render_plots
      ov = render_overlay(req.video_path, result, folder / "overlay.mp4", progress=progress)
      plots = render_plots(result, folder / "plots")   # {"bar_path": Path, ...}
      context.add_output_metadata({
          "overlay": MetadataValue.path(str(ov["path"])),
          "overlay_fps": ov["fps"],
          "plots": MetadataValue.md(plots_markdown(plots, ("bar_path", "velocity"))),
      })

  A failure here should not fail the analysis: the result is already valid.
* FastAPI: ``GET /api/v1/videos/{id}/overlay`` -> ``FileResponse(folder/"overlay.mp4",
  media_type="video/mp4")`` (Starlette's FileResponse answers Range requests, which
  Safari/iOS need to play video); ``.../plots/{name}`` -> ``image/png`` for a name in
  ``PLOT_NAMES``; ``.../poster`` -> ``image/jpeg``. ``GET /jobs/{id}`` ->
  ``HTMLResponse(results_page_html(id, result_or_None, status_dict | job_meta_bits,
  {"overlay": ".../overlay", "poster": ".../poster", "result": ".../results",
  "plot:bar_path": ".../plots/bar_path", ...}))`` listing only artefacts that exist.

Measured (small-squat.mp4, 1080x1920 H.264 60 fps, 263 frames; 2 shared cores at load
average 8-14, so CPU time per frame is the figure to trust, wall fps varies 2x run to run):
decode alone (iter_frames, BGR) 7-8 ms CPU/frame (81-165 frames/s wall); render_overlay to
608x1080 with preset superfast 13.1 ms/frame (68-79 frames/s), ultrafast 11.4 ms (65-109),
veryfast 15.5 ms (37-48). The overlay pass is one more decode plus an x264 encode (drawing
< 1 ms/frame), so about 1.7x decode-alone on its own; peak RSS 120-190 MB whatever the
length. Debian's chromium 156 plays the H.264 MP4 (canPlayType "probably", plays).
"""

from liftflow.render.overlay import render_overlay
from liftflow.render.page import results_page_html
from liftflow.render.plots import PLOT_NAMES, plots_markdown, render_plots
from liftflow.video.encode import CODECS

__all__ = ["render_overlay", "render_plots", "results_page_html", "plots_markdown", "PLOT_NAMES",
           "CODECS"]
