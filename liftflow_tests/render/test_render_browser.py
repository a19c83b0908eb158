"""The results page in a real headless browser (Debian's chromium).

Renders the overlay, plots and page for a small synthetic clip, opens the page in headless
Chromium, and checks that the H.264 overlay really loads and plays (readyState, duration,
size, currentTime advancing), that the plot images load, and that a screenshot shows the
plate outline. Chromium missing is a failure, not a skip: the page is only known to work
where it has been played.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
]

PROBE = """
<pre id=probe>{}</pre>
<script>
(function(){
 var v=document.getElementById('overlay'), r={t:0,updates:0};
 function rep(){document.getElementById('probe').textContent=JSON.stringify(r);}
 r.canH264=v.canPlayType('video/mp4; codecs="avc1.64001e"');
 function state(){r.ready=v.readyState;r.duration=v.duration;r.w=v.videoWidth;r.h=v.videoHeight;
   r.src=v.currentSrc.split('/').pop();}
 v.addEventListener('loadeddata',function(){state();rep();});
 v.addEventListener('error',function(){r.error=v.error?v.error.code+' '+v.error.message:'?';rep();},true);
 v.querySelectorAll('source').forEach(function(s){s.addEventListener('error',function(){
   r.source_error=(r.source_error||'')+s.src.split('/').pop()+' ';rep();});});
 v.addEventListener('timeupdate',function(){r.updates++;r.t=Math.max(r.t,v.currentTime);state();rep();});
 v.play().then(function(){r.play='ok';rep();}).catch(function(e){r.play=String(e);rep();});
 window.addEventListener('load',function(){
   r.images=Array.prototype.map.call(document.images,function(i){return [i.getAttribute('src'),i.naturalWidth];});
   rep();});
 rep();
})();
</script>
"""


def _load_test_render():
    spec = importlib.util.spec_from_file_location("_test_render_helpers",
                                                  Path(__file__).with_name("test_render.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _chromium(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as prof:
        return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={prof}", *args],
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "HOME": prof})


@pytest.fixture(scope="module")
def site(synth_clip, tmp_path_factory):
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail("headless browser check needs Chromium at /usr/bin/chromium: "
                    "install the Debian package with `apt-get install -y chromium`")
    from liftflow.render import render_overlay, render_plots, results_page_html

    path, truth = synth_clip
    result = _load_test_render().result_from_truth(truth)
    d = tmp_path_factory.mktemp("site")
    ov = render_overlay(str(path), result, d / "overlay.mp4")
    plots = render_plots(result, d / "plots")
    art = {"overlay": "overlay.mp4", "poster": Path(ov["poster"]).name}
    art.update({f"plot:{k}": f"plots/{p.name}" for k, p in plots.items()})
    status = {"status": "completed", "progress": 1.0, "case_id": "browser <case>"}
    html = results_page_html("browser-job", result, status, art)
    (d / "page.html").write_text(html)
    (d / "probe.html").write_text(html.replace("</body>", PROBE + "</body>"))
    return d, ov, truth


def test_overlay_plays_in_headless_chromium(site):
    d, ov, truth = site
    proc = _chromium(["--virtual-time-budget=4000", "--window-size=1200,4000", "--dump-dom",
                      (d / "probe.html").as_uri()])
    m = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"no probe output; chromium rc={proc.returncode} stderr={proc.stderr[-1500:]}"
    r = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert "error" not in r and "source_error" not in r, r
    assert r.get("canH264") in ("probably", "maybe"), f"this Chromium cannot play H.264: {r}"
    assert r.get("src") == "overlay.mp4", r
    assert r.get("ready", 0) >= 2, r  # HAVE_CURRENT_DATA or better
    assert (r.get("w"), r.get("h")) == (ov["width"], ov["height"]), r
    expected = truth.t_s[-1] + 1 / truth.fps
    assert abs(r.get("duration", 0) - expected) < 0.1, r
    assert r.get("play") == "ok" and r["t"] >= 1.0 and r["updates"] >= 3, f"did not play: {r}"
    images = r.get("images") or []
    assert len(images) == 4 and all(w > 0 for _, w in images), f"plots not loaded: {images}"


def test_page_screenshot_shows_plate_outline(site):
    import cv2

    d, ov, truth = site
    shot = d / "page.png"
    proc = _chromium(["--virtual-time-budget=2000", "--window-size=1200,1600",
                      f"--screenshot={shot}", (d / "page.html").as_uri()])
    assert shot.is_file(), f"no screenshot; rc={proc.returncode} stderr={proc.stderr[-1500:]}"
    img = cv2.imread(str(shot)).astype(int)
    assert img.shape[:2] == (1600, 1200)
    b, g, r = img[..., 0], img[..., 1], img[..., 2]
    green = (g > 180) & (r < 100) & (b < 100)  # the overlay's plate outline (poster frame)
    assert green.sum() > 200, f"no plate outline visible in {shot}"
    ys, xs = np.nonzero(green)
    assert xs.mean() < 600, "the outline should be in the video column on the left"
    assert len(np.unique(img.reshape(-1, 3)[::11], axis=0)) > 500, "screenshot looks blank"
