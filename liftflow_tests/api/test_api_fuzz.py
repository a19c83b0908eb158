"""Schema-driven fuzzing of the API with schemathesis against the running stack: never a 5xx.

Runs schemathesis' own CLI (its pytest plugin does not support this pytest) over the
project's OpenAPI document with a bounded number of examples and a fixed seed.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from liftflow.devstack import StackProcess

pytestmark = pytest.mark.e2e


def test_schemathesis_finds_no_server_error(tmp_path):
    stack = StackProcess(tmp_path / "fuzz", LIFTFLOW_MAX_UPLOAD_MB="2").start()
    try:
        st = Path(sys.executable).parent / "schemathesis"
        out = subprocess.run(
            [str(st), "run", f"{stack.url}/openapi.json", "--checks", "not_a_server_error",
             "--max-examples", "15", "--seed", "20261126", "--workers", "1",
             "--request-timeout", "60", "--phases", "examples,coverage,fuzzing"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path)
    finally:
        stack.stop()
    report = out.stdout[-6000:] + out.stderr[-2000:]
    assert out.returncode == 0, report
    import re

    m = re.search(r"(\d+) generated, (\d+) passed", out.stdout)
    assert m and m.group(1) == m.group(2) and int(m.group(1)) > 100, report
