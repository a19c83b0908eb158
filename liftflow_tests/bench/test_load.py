"""Load: 50 concurrent uploads of a real clip and 200 status pollers against the running stack.

Asserts correctness only (every accepted job processed, none lost, no 5xx, memory bounded);
the latency figures are printed for the closing note, never asserted.
"""

import pytest

from liftflow.bench.load import run_load
from liftflow.devstack import StackProcess

pytestmark = pytest.mark.e2e


def test_fifty_uploads_two_hundred_pollers(tmp_path, real_data, manifest):
    row = manifest["randy-clean"]
    seed = {"disc_center_x": row["disc_center_x"], "disc_center_y": row["disc_center_y"],
            "disc_radius": row["disc_radius"]}
    stack = StackProcess(tmp_path / "load").start()
    try:
        res = run_load(stack, real_data / row["file"], seed, uploads=50, pollers=200,
                       poll_seconds=20, finish_timeout_s=1200)
    finally:
        stack.stop()
    print("\nload figures:", res)
    assert res["upload_codes"] == {200: 50}, res
    assert res["accepted"] == 50 and res["unfinished"] == 0 and res["missing_from_list"] == 0, res
    assert res["completed"] == 50, res
    assert set(res["status_codes"]) == {200}, res
    assert res["peak_memory_mb"] < 4096, res
