"""Overlay video, plots and results page (liftflow.render).

Inputs are built from a small synthetic clip (320x240): a result dict made by hand from
the clip's exact truth (so the outline position is known to the pixel) and one from the
real pipeline steps (decode -> track -> metrics -> assemble).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from liftflow.render import PLOT_NAMES, render_overlay, render_plots, results_page_html

# --------------------------------------------------------------------------- inputs


def result_from_truth(truth, person: bool = False) -> dict:
    """A ResultsContract-shaped dict whose disc track is the synthetic clip's truth."""
    frames = {}
    ang = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    for i, x, y, r, vis in zip(truth.frames, truth.x, truth.y, truth.r, truth.visibility):
        if vis != "visible":
            continue
        poly = [[round(x + r * math.cos(a), 1), round(y + r * math.sin(a), 1)] for a in ang]
        frames[str(i)] = {"mask": poly, "bbox": {"x1": x - r, "y1": y - r, "x2": x + r, "y2": y + r},
                          "confidence": 1.0, "center": [x, y], "radius": r}
    n = len(truth.frames)
    zeros = [0.0] * n
    metrics = {
        "frames": list(truth.frames), "time_s": list(truth.t_s), "x_m": list(truth.x_m),
        "y_m": list(truth.h_m), "height_m": list(truth.h_m), "vx_m_s": list(truth.vx_m_s),
        "vy_m_s": list(truth.vy_m_s),
        "speed_m_s": [math.hypot(a, b) for a, b in zip(truth.vx_m_s, truth.vy_m_s)],
        "accel_m_s2": zeros, "kinetic_energy_j": zeros, "potential_energy_j": zeros,
        "total_energy_j": zeros, "power_w": [60 * 9.81 * v for v in truth.vy_m_s],
    }
    reps = [dict(r, rep=k + 1, order="eccentric_first") for k, r in enumerate(truth.reps)]
    tracks = [{"track_id": 1, "class_name": "frisbee", "frames": frames,
               "trajectory": [v["center"] for v in frames.values()]}]
    if person:
        kp = {}
        for i, x, y in zip(truth.frames, truth.x, truth.y):
            # a stick figure hanging off the bar: 17 COCO points
            pts = [[x + 30, y - 40 + 8 * j, 0.9] for j in range(17)]
            kp[str(i)] = {"keypoints": pts, "confidence": 0.9, "bbox": None}
        tracks.append({"track_id": 2, "class_name": "person", "frames": kp, "trajectory": []})
    duration = round(truth.t_s[-1] + 1 / truth.fps, 4)
    return {
        "video_id": "synth-<job>",
        "status": "completed",
        "metadata": {"fps": truth.fps, "width": truth.width, "height": truth.height,
                     "duration_s": duration, "total_frames": n},
        "tracks": tracks,
        "metrics": metrics,
        "reps": reps,
        "phases": None,
        # v2.0.0 keys with the original meanings (every frame, the video), then the lift's
        "summary": {"peak_speed_m_s": max(metrics["speed_m_s"]),
                    "peak_power_w": max(abs(p) for p in metrics["power_w"]),
                    "max_height_m": max(truth.h_m), "min_height_m": min(truth.h_m),
                    "lift_duration_s": duration, "total_frames": n, "rep_count": len(reps),
                    "peak_vertical_velocity_m_s": truth.peak_vertical_velocity_m_s,
                    "peak_speed_lift_m_s": max(metrics["speed_m_s"]), "peak_power_lift_w": max(metrics["power_w"]),
                    "moving_duration_s": 5.0},
    }


@pytest.fixture(scope="module")
def truth_result(synth_clip):
    _, truth = synth_clip
    return result_from_truth(truth, person=True)


@pytest.fixture(scope="module")
def pipeline_result(synth_clip, tmp_path_factory):
    from liftflow.pipeline import AnalysisRequest, StepRun, steps

    path, truth = synth_clip
    req = AnalysisRequest(video_path=str(path), disc_center_x=truth.x[0], disc_center_y=truth.y[0],
                          disc_radius=truth.r[0], lift_type="squat", render=False)
    run = StepRun.in_folder(tmp_path_factory.mktemp("pipeline"), req, job_id="synth-job")
    info, _ = steps.decode(run)
    track, _ = steps.track_disc(run, info)
    pose, _ = steps.estimate_pose(run, info, track)
    kin, _ = steps.compute_metrics(run, info, track, pose)
    return steps.build_contract("synth-job", info, track, pose, kin)


@pytest.fixture(scope="module")
def overlay(synth_clip, truth_result, tmp_path_factory):
    path, _ = synth_clip
    out = tmp_path_factory.mktemp("overlay") / "overlay.mp4"
    calls = []
    info = render_overlay(str(path), truth_result, out, progress=lambda f, m: calls.append((f, m)))
    return info, calls


def frame_at(path, index: int) -> np.ndarray:
    from liftflow.video import iter_frames

    for fr in iter_frames(path, start=index, stop=index + 1):
        return fr.image
    raise AssertionError(f"frame {index} not found in {path}")


def mp4_top_level_boxes(path) -> list[str]:
    boxes = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return boxes


# --------------------------------------------------------------------------- plots


def _check_png(p: Path) -> np.ndarray:
    import cv2

    assert p.is_file() and p.suffix == ".png"
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = cv2.imread(str(p))
    assert img is not None, f"{p} does not decode"
    assert img.shape[0] >= 200 and img.shape[1] >= 300
    return img


def test_plots_are_valid_pngs_with_content(pipeline_result, tmp_path):
    out = render_plots(pipeline_result, tmp_path / "plots")
    assert set(out) == set(PLOT_NAMES) == {"bar_path", "height", "velocity", "power"}
    for name, p in out.items():
        img = _check_png(p)
        colours = np.unique(img.reshape(-1, 3)[::7], axis=0)
        assert len(colours) > 50, f"{name}: looks empty ({len(colours)} colours)"
        assert (img < 100).any(axis=2).mean() > 0.005, f"{name}: no ink"
    # the path is coloured by vertical velocity: both up (red/orange) and down (blue) appear
    img = _check_png(out["bar_path"]).astype(int)
    b, g, r = img[..., 0], img[..., 1], img[..., 2]
    assert ((r > 200) & (b < 80) & (g < 120)).sum() > 100  # red: up fast
    assert ((b > 180) & (r < 110)).sum() > 100  # blue: down


def test_plots_robust_to_missing_data(tmp_path):
    empty = {"metrics": {k: [] for k in ("frames", "time_s", "x_m", "height_m", "vy_m_s", "power_w")},
             "reps": None, "phases": None}
    for name, p in render_plots(empty, tmp_path / "empty").items():
        _check_png(p)
    assert set(render_plots({}, tmp_path / "nothing")) == set(PLOT_NAMES)
    t = [i / 30 for i in range(60)]
    gappy = {
        "metrics": {"frames": list(range(60)), "time_s": t,
                    "x_m": [None if 20 < i < 30 else 0.01 * i for i in range(60)],
                    "height_m": [math.sin(x) for x in t],
                    "vy_m_s": [math.cos(x) if i % 7 else float("nan") for i, x in enumerate(t)],
                    "power_w": [1.0] * 50},  # ragged
        "reps": [{"rep": 1, "concentric_start_s": 0.2, "concentric_end_s": 1.0},
                 {"rep": 2, "eccentric_start_s": "bad"}],
        "phases": {"rep": 1, "method": "x", "first_pull": {"start_s": 0.1, "end_s": 0.5},
                   "catch": {"start_s": None, "end_s": 1}},
    }
    for p in render_plots(gappy, tmp_path / "gappy").values():
        _check_png(p)


# --------------------------------------------------------------------------- overlay


def test_overlay_is_browser_ready_h264(synth_clip, overlay):
    import av

    from liftflow.video import probe

    path, truth = synth_clip
    info, calls = overlay
    out = Path(info["path"])
    assert out.is_file() and not out.with_name(out.name + ".part").exists()
    v = probe(out)
    assert v.codec == "h264"
    assert v.frame_count == info["frames"] == len(truth.frames)
    assert (v.width, v.height) == (info["width"], info["height"]) == (320, 240)
    assert v.width % 2 == 0 and v.height % 2 == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
    # output timestamps are the source's
    src = probe(path)
    assert np.allclose(v.timestamps_s, src.timestamps_s, atol=1e-3)
    # faststart: the moov atom comes before the media data
    boxes = mp4_top_level_boxes(out)
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    # progress went up to 1
    assert calls and calls[-1][0] == 1.0
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    assert Path(info["poster"]).is_file()


def test_overlay_draws_outline_where_result_says(synth_clip, truth_result, overlay):
    path, truth = synth_clip
    info, _ = overlay
    k = next(i for i in range(60, len(truth.frames)) if truth.visibility[i] == "visible")
    src = frame_at(path, k).astype(int)
    out = frame_at(info["path"], k).astype(int)
    poly = np.asarray(truth_result["tracks"][0]["frames"][str(k)]["mask"])
    xs = np.clip(np.round(poly[:, 0]).astype(int), 0, 319)
    ys = np.clip(np.round(poly[:, 1]).astype(int), 0, 239)

    def greenness(img):
        p = img[ys, xs]
        return p[:, 1] - np.maximum(p[:, 0], p[:, 2])  # G - max(B, R)

    assert np.median(greenness(out)) > 90, "plate outline is not drawn green on the polygon"
    assert np.median(greenness(src)) < 40, "the source is green there already?"
    # the outline follows the plate: not drawn where the plate was 60 frames earlier
    k0 = k - 60
    poly0 = np.asarray(truth_result["tracks"][0]["frames"][str(k0)]["mask"]) if str(k0) in truth_result["tracks"][0]["frames"] else None
    if poly0 is not None and np.hypot(truth.x[k] - truth.x[k0], truth.y[k] - truth.y[k0]) > 20:
        x0 = np.clip(np.round(poly0[:, 0]).astype(int), 0, 319)
        y0 = np.clip(np.round(poly0[:, 1]).astype(int), 0, 239)
        far = np.hypot(x0 - truth.x[k], y0 - truth.y[k]) > truth.r[k] + 6
        p = out[y0[far], x0[far]]
        assert np.median(p[:, 1] - np.maximum(p[:, 0], p[:, 2])) < 60
    # the bar path so far is drawn: the centre of a frame 20 frames back is coloured now
    # (grey-ish in the source's plate, a saturated speed colour in the overlay at a pixel
    # off the current plate)
    drawn = 0
    for j in range(max(0, k - 60), k - 5):
        cx, cy = int(round(truth.x[j])), int(round(truth.y[j]))
        if np.hypot(cx - truth.x[k], cy - truth.y[k]) < truth.r[k] + 4:
            continue
        if np.abs(out[cy, cx] - src[cy, cx]).sum() > 60:
            drawn += 1
    assert drawn >= 3, "no bar path drawn"


def test_overlay_downscaled_and_odd_size(synth_clip, truth_result, tmp_path):
    path, truth = synth_clip
    info = render_overlay(str(path), truth_result, tmp_path / "small.mp4", max_side=201, poster=False)
    assert (info["width"], info["height"]) == (200, 150)  # 201x151 cropped to even
    assert info["poster"] is None
    k = 80
    out = frame_at(info["path"], k).astype(int)
    s = 201 / 320
    poly = np.asarray(truth_result["tracks"][0]["frames"][str(k)]["mask"]) * s
    xs = np.clip(np.round(poly[:, 0]).astype(int), 0, 199)
    ys = np.clip(np.round(poly[:, 1]).astype(int), 0, 149)
    p = out[ys, xs]
    assert np.median(p[:, 1] - np.maximum(p[:, 0], p[:, 2])) > 60


def test_overlay_keeps_variable_frame_rate_timing(tmp_path):
    from liftflow.synth import SynthSpec, generate_clip
    from liftflow.video import probe

    clip = tmp_path / "vfr.mp4"
    truth = generate_clip(clip, SynthSpec(profile="squat", reps=1, width=160, height=120,
                                          plate_radius_px=18, fps=30, vfr=True, blur=False,
                                          clutter=False, seed=7, duration_s=2.5))
    src = probe(clip)
    assert src.variable_frame_rate
    info = render_overlay(str(clip), result_from_truth(truth), tmp_path / "o.mp4")
    out = probe(info["path"])
    assert out.frame_count == src.frame_count
    assert np.allclose(out.timestamps_s, src.timestamps_s, atol=1e-3)
    assert out.variable_frame_rate


def test_overlay_vp9_webm(synth_clip, truth_result, tmp_path):
    from liftflow.video import probe

    path, truth = synth_clip
    info = render_overlay(str(path), truth_result, tmp_path / "o.webm", codec="vp9", max_side=160,
                          poster=False)
    v = probe(info["path"])
    assert v.codec == "vp9" and v.frame_count == len(truth.frames)
    assert Path(info["path"]).read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML / WebM


def test_overlay_bad_input_leaves_nothing(tmp_path, truth_result):
    from liftflow.video import VideoError

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    out = tmp_path / "o" / "overlay.mp4"
    with pytest.raises(VideoError):
        render_overlay(str(bad), truth_result, out)
    assert not out.exists() and not out.with_name(out.name + ".part").exists()
    with pytest.raises(ValueError):
        render_overlay(str(bad), truth_result, out, codec="gif")


def test_overlay_without_tracks_or_metrics(synth_clip, tmp_path):
    path, truth = synth_clip
    info = render_overlay(str(path), {"metadata": {}, "tracks": [], "metrics": {}}, tmp_path / "o.mp4",
                          max_side=160)
    assert info["frames"] == len(truth.frames)


# --------------------------------------------------------------------------- page

ART = {
    "overlay": "/api/v1/videos/abc/overlay",
    "poster": "/api/v1/videos/abc/poster",
    "result": "/api/v1/videos/abc/results",
    "plot:bar_path": "/api/v1/videos/abc/plots/bar_path",
    "plot:velocity": "/api/v1/videos/abc/plots/velocity",
    "plot:height": "/api/v1/videos/abc/plots/height",
    "plot:power": "/api/v1/videos/abc/plots/power",
}


def test_page_completed_shows_video_plots_and_reps(truth_result):
    status = {"status": "completed", "progress": 1.0,
              "benchmark": {"case_id": "<script>alert('case')</script>", "tags": {"a&b": "<i>"}},
              "source": {"original_filename": "squat \"1\".mp4"}}
    html = results_page_html("job<1>&", truth_result, status, ART)
    assert html.startswith("<!doctype html>")
    assert '<video id=overlay controls playsinline muted' in html
    assert 'src="/api/v1/videos/abc/overlay" type="video/mp4"' in html
    assert 'poster="/api/v1/videos/abc/poster"' in html
    for name in PLOT_NAMES:
        assert f'src="/api/v1/videos/abc/plots/{name}"' in html
    # per-rep table: one row per rep with its MCV
    assert html.count("<tr class=seek") == len(truth_result["reps"])
    assert f"{truth_result['reps'][0]['mean_concentric_velocity_m_s']:.2f}" in html
    # user text escaped
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;case&#x27;)&lt;/script&gt;" in html
    assert "job&lt;1&gt;&amp;" in html and "job<1>" not in html
    assert "squat &quot;1&quot;.mp4" in html
    assert "a&amp;b=&lt;i&gt;" in html
    # self-contained: nothing fetched from elsewhere, no refresh once done
    assert "<link" not in html and "<script src" not in html and "http-equiv" not in html
    assert "http://" not in html and "https://" not in html


def test_page_shows_the_plus_minus_and_the_setup_verdict(truth_result):
    """Each rep figure with its 95 % ± (reps[].uncertainty), a peak the frame rate does not
    resolve marked, and the setup-quality verdict with its advice (setup_quality)."""
    res = dict(truth_result)
    reps = [dict(r) for r in truth_result["reps"]]
    reps[0]["mean_concentric_velocity_m_s"] = 0.523
    reps[0]["uncertainty"] = {"mean_concentric_velocity_m_s": 0.031, "peak_concentric_velocity_m_s": 0.04,
                              "range_of_motion_m": 0.012, "peak_velocity_resolved": False,
                              "peak_velocity_note": "the peak is 1.8 frames wide <b>"}
    res["reps"] = reps
    res["setup_quality"] = {"verdict": "poor", "checks": [
        {"name": "plate_size_px", "value": 15.0, "status": "poor", "advice": "move the camera closer <now>"},
        {"name": "frame_rate", "value": 30.0, "status": "ok", "advice": None}]}
    html = results_page_html("j", res, {"status": "completed"}, ART)
    assert "0.52 <span class=pm>± 0.03</span>" in html
    assert "± 0.01</span>" in html  # ROM 0.012 m
    assert 'title="the peak is 1.8 frames wide &lt;b&gt;">*</abbr>' in html
    assert "Setup quality: <b class=err>poor</b>" in html
    assert "move the camera closer &lt;now&gt;" in html and "<now>" not in html
    # a result without the new keys: the figures alone, no setup card
    plain = results_page_html("j", truth_result, {"status": "completed"}, ART)
    assert "class=pm" not in plain and "Setup quality" not in plain


def _kpi_values(html: str) -> dict:
    """{label: shown value} of the page's summary figures."""
    import re

    return {lab: v for v, lab in re.findall(r"<div class=kpi><div class=v>(.*?)</div><div class=l>(.*?)</div>", html)}


def test_page_shows_the_lift_figures_not_the_whole_clip_ones():
    """A dropped bar: the v2.0.0 keys (every frame, the video) hold the fall and the
    video's length; the page shows the lift's peak speed, peak power and moving time, each
    labelled so; a result written before those keys existed shows its old keys (which
    then held the lift figures)."""
    s = {"peak_speed_m_s": 5.24, "peak_power_w": 21000.0, "lift_duration_s": 6.2333,
         "peak_speed_lift_m_s": 1.9, "peak_power_lift_w": 3827.0, "moving_duration_s": 2.1,
         "max_height_m": 1.47, "rep_count": 1}
    res = {"status": "completed", "reps": [], "phases": None, "summary": s}
    kpis = _kpi_values(results_page_html("j", res, {"status": "completed"}, {}))
    assert kpis["peak bar speed (lift)"] == "1.90 m/s"
    assert kpis["peak power (lift)"] == "3827 W"
    assert kpis["time the bar moved"] == "2.10 s"
    assert "5.24 m/s" not in kpis.values() and "6.23 s" not in kpis.values()
    # the lift keys present but unknown (no physics): shown as unknown, never the video's length
    res["summary"] = {**s, "peak_speed_lift_m_s": None, "peak_power_lift_w": None, "moving_duration_s": None}
    kpis = _kpi_values(results_page_html("j", res, {"status": "completed"}, {}))
    assert kpis["time the bar moved"] == kpis["peak bar speed (lift)"] == kpis["peak power (lift)"] == "–"
    # an older result: the old keys held the lift figures
    res["summary"] = {"peak_speed_m_s": 1.9, "peak_power_w": 3827.0, "lift_duration_s": 2.1, "rep_count": 1}
    kpis = _kpi_values(results_page_html("j", res, {"status": "completed"}, {}))
    assert (kpis["peak bar speed (lift)"], kpis["peak power (lift)"], kpis["time the bar moved"]) == \
        ("1.90 m/s", "3827 W", "2.10 s")


def test_page_while_running_and_failed():
    running = results_page_html("j1", None, {"status": "processing", "progress": 0.42,
                                             "current_step": "track_disc",
                                             "message": "Tracking <b>disc</b>"}, {})
    assert 'http-equiv="refresh"' in running and "42%" in running and "<video" not in running
    assert "Tracking &lt;b&gt;disc&lt;/b&gt;" in running
    failed = results_page_html("j1", None, {"status": "failed", "error": "plate <lost>"}, {})
    assert "http-equiv" not in failed and "plate &lt;lost&gt;" in failed
    # completed status but no result yet (results file not written): still a status page
    assert "<video" not in results_page_html("j1", None, {"status": "completed"}, ART)


def test_page_rejects_script_urls_and_handles_sparse_results():
    html = results_page_html("j", {"status": "completed", "summary": {}, "reps": [], "phases": None},
                             {"status": "completed"},
                             {"overlay": "javascript:alert(1)", "plot:bar_path": "data:image/png;base64,xx"})
    assert "javascript:" not in html and "data:image" not in html
    assert "No overlay video" in html and "No repetitions" in html
    # phases as a dict with meta keys, and as a list per rep
    res = {"status": "completed", "reps": [], "summary": {},
           "phases": [{"rep": 1, "method": "bar_path", "first_pull": {"start_s": 0.1, "end_s": 0.6}},
                      {"rep": 2, "catch": {"start_s": 1.0, "end_s": 1.4}}]}
    html = results_page_html("j", res, {"status": "completed"}, {"overlay": "o.mp4"})
    assert "first pull (rep 1)" in html and "catch (rep 2)" in html and "method" not in html


def test_overlay_of_rotated_phone_clip_is_upright(tmp_path):
    from liftflow.synth import SynthSpec, generate_clip
    from liftflow.video import probe

    clip = tmp_path / "rot.mp4"
    truth = generate_clip(clip, SynthSpec(profile="squat", reps=1, width=120, height=160,
                                          plate_radius_px=20, fps=30, rotation=90, blur=False,
                                          seed=11, duration_s=2.0))
    result = result_from_truth(truth)
    info = render_overlay(str(clip), result, tmp_path / "o.mp4", poster=False)
    v = probe(info["path"])
    assert (v.width, v.height, v.rotation) == (120, 160, 0)
    k = next(i for i, vis in enumerate(truth.visibility) if vis == "visible")
    out = frame_at(info["path"], k).astype(int)
    poly = np.asarray(result["tracks"][0]["frames"][str(k)]["mask"])
    xs = np.clip(np.round(poly[:, 0]).astype(int), 0, 119)
    ys = np.clip(np.round(poly[:, 1]).astype(int), 0, 159)
    p = out[ys, xs]
    assert np.median(p[:, 1] - np.maximum(p[:, 0], p[:, 2])) > 60


def test_plots_markdown_inlines_pngs(tmp_path):
    import base64

    from liftflow.render import plots_markdown

    plots = render_plots({}, tmp_path)
    md = plots_markdown(plots, ("bar_path", "velocity"))
    assert md.count("](data:image/png;base64,") == 2
    b64 = md.split("base64,")[1].split(")")[0]
    assert base64.b64decode(b64)[:4] == b"\x89PNG"
    assert plots_markdown({}) == "_no plots_"


def test_bar_path_segments_never_cross_a_gap_and_stay_few_for_long_clips():
    from liftflow.render.plots import _path_segments

    rng = np.random.default_rng(5)
    idx = np.flatnonzero(rng.random(9000) > 0.02)  # valid samples, with short and long gaps
    idx = idx[(idx < 3000) | (idx > 3100)]
    # short clips: exactly the consecutive pairs within 3 frames
    a, b = _path_segments(idx[:1500])
    near = np.diff(idx[:1500]) <= 3
    assert np.array_equal(a, idx[:1499][near]) and np.array_equal(b, idx[1:1500][near])
    # long clips: few segments, none across a gap, each run still drawn end to end
    a, b = _path_segments(idx, max_segments=1000)
    assert len(a) <= 1000 + 2 * int((np.diff(idx) > 3).sum())
    pos = {v: i for i, v in enumerate(idx.tolist())}
    for s, e in zip(a.tolist(), b.tolist()):
        assert (np.diff(idx[pos[s]:pos[e] + 1]) <= 3).all()
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 3) + 1)
    for run in runs:
        if len(run) > 1:
            assert run[0] in a and run[-1] in b


def test_render_view_draws_the_same_overlay_and_plots(synth_clip, pipeline_result, tmp_path):
    """The analysis renders from render_view(result) (so the other per-frame series can be
    freed first): the overlay's frames and the plots are those of the whole result."""
    from liftflow.render.common import RENDER_SERIES, render_view
    from liftflow.render.plots import PLOT_SERIES
    from liftflow.video import iter_frames

    assert set(PLOT_SERIES) <= set(RENDER_SERIES)
    path, _ = synth_clip
    view = render_view(pipeline_result)
    assert set(view["metrics"]) == set(RENDER_SERIES) and "metrics_raw" not in view
    a = render_overlay(str(path), pipeline_result, tmp_path / "a.mp4", max_side=200, poster=False)
    b = render_overlay(str(path), view, tmp_path / "b.mp4", max_side=200, poster=False)
    assert a["frames"] == b["frames"] > 0
    for fa, fb in zip(iter_frames(tmp_path / "a.mp4"), iter_frames(tmp_path / "b.mp4")):
        assert np.array_equal(fa.image, fb.image)
    pa, pb = render_plots(pipeline_result, tmp_path / "pa"), render_plots(view, tmp_path / "pb")
    for name in pa:
        assert pa[name].read_bytes() == pb[name].read_bytes()


def test_long_time_series_are_drawn_as_their_envelope():
    from liftflow.render.plots import _envelope

    t = np.arange(1000) / 60.0
    y = np.sin(t * 3)
    assert _envelope(t, y)[0] is t  # short: as it is
    t = np.arange(20000) / 60.0
    y = np.sin(t * 3) + (np.arange(20000) == 12345) * 5.0  # one spike
    te, ye = _envelope(t, y, max_points=1000)
    assert len(te) <= 1002 and np.all(np.diff(te) > 0)
    assert te[0] == t[0] and te[-1] == t[-1] and ye.max() == y.max() and ye.min() == y.min()
    assert t[12345] in te  # the spike stays
    # every run of 40 samples keeps its extremes
    for i in range(0, 20000, 40):
        run = y[i:i + 40]
        assert run.max() in ye and run.min() in ye
