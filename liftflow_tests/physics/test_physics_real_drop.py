"""The summary's v2.0.0 keys on a real clip with a dropped bar (competition-snatch: the
lifter drops the bar from overhead and it bounces): they keep the original server's
meaning (every analysed frame, the video), the lift's own figures ride under new keys."""

from __future__ import annotations

import pytest

from liftflow.bench.tracking import real_cases
from liftflow.physics import PhysicsParams, compute_metrics
from liftflow.tracking import create_tracker
from liftflow.video import probe


@pytest.fixture(scope="module")
def snatch(real_data):
    (case,) = [c for c in real_cases(real_data) if c["id"] == "competition-snatch"]
    info = probe(case["video"])
    obs = create_tracker("classic").track(str(case["video"]), info, case["seed"])
    res = compute_metrics(obs, list(info.timestamps_s), PhysicsParams(lift_type="snatch"),
                          video_duration_s=info.duration_s)
    return info, res


def test_dropped_bar_counts_in_the_v2_keys_not_in_the_lift_keys(snatch):
    info, res = snatch
    s, speed, power = res["summary"], res["metrics"]["speed_m_s"], res["metrics"]["power_w"]
    assert s["dropped_bar"], "the clip's drop must be detected for this test to mean anything"
    # peak_speed_m_s: max speed over every analysed frame, the fall included
    assert s["peak_speed_m_s"] == s["max_speed_all_frames_m_s"]
    assert s["peak_speed_m_s"] >= max(speed) - 1e-9 and s["peak_speed_m_s"] > 3.0
    # the lift's own peak: an Olympic pull, well under 3 m/s
    assert 1.5 < s["peak_speed_lift_m_s"] < 3.0 and s["peak_speed_lift_m_s"] < s["peak_speed_m_s"]
    # peak_power_w: max |power_w| over every frame (negative power counts by its size)
    assert s["peak_power_w"] == pytest.approx(max(abs(p) for p in power if p is not None), abs=0.011)
    assert s["peak_power_w"] >= s["peak_power_lift_w"] > 0
    # lift_duration_s: the video's duration; moving_duration_s: the lift's moving time
    assert s["lift_duration_s"] == round(info.duration_s, 4)
    assert 0 < s["moving_duration_s"] < s["lift_duration_s"]
