"""The supervisor's children: a niced child (the analysis) is niced against the other
children's sessions too, not only inside its own session."""

import os
from pathlib import Path

import psutil

from liftflow.stack import ANALYSIS_NICE, Child


def _group(pid: int) -> str:
    return Path(f"/proc/{pid}/autogroup").read_text().strip()


def test_a_niced_child_and_its_session_group_are_niced(tmp_path):
    child = Child("probe", ["sleep", "60"], lambda: True, nice=ANALYSIS_NICE)
    child.start(dict(os.environ), tmp_path)
    try:
        assert psutil.Process(child.proc.pid).nice() == min(19, os.nice(0) + ANALYSIS_NICE)
        if Path("/proc/self/autogroup").exists():  # a kernel that schedules sessions as groups
            # its own session, so its own group: the group's niceness is what ranks it
            # against the API's session
            assert _group(child.proc.pid) != _group(os.getpid())
            assert _group(child.proc.pid).endswith(f"nice {ANALYSIS_NICE}"), _group(child.proc.pid)
    finally:
        child.stop(timeout=5)
    assert not child.alive()


def test_a_child_without_nice_keeps_its_group_at_zero(tmp_path):
    child = Child("probe", ["sleep", "60"], lambda: True)
    child.start(dict(os.environ), tmp_path)
    try:
        assert psutil.Process(child.proc.pid).nice() == os.nice(0)
        if Path("/proc/self/autogroup").exists():
            assert _group(child.proc.pid).endswith("nice 0"), _group(child.proc.pid)
    finally:
        child.stop(timeout=5)
