"""Progress reporting shared by long-running library functions.

A step reports ``progress(fraction, message)`` with ``fraction`` in [0, 1] for that step
alone; the orchestration maps it into the job's overall progress. Callers throttle
nothing: the receiver decides how often to persist.
"""

from __future__ import annotations

from typing import Callable, Optional

ProgressFn = Callable[[float, str], None]


def noop_progress(fraction: float, message: str) -> None:  # pragma: no cover - trivial
    return None


def report(progress: Optional[ProgressFn], fraction: float, message: str) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)
