"""Dagster's run queue (``QueuedRunCoordinator``) with a dequeue interval under a second.

Every submission waits in the queue until the daemon's next look at it. Dagster's own
``dequeue_interval_seconds`` is a whole number of seconds, and its daemon loop sleeps in
0.5 s steps, so the shortest look-to-look period it can be given is ~1 s: half a second of
every job's start on average. This coordinator takes the interval as a float (LiftFlow's
``dagster.yaml``: 0.5, a look every ~0.5 s plus the look itself); everything else (the
priority order, ``concurrency: runs: max_concurrent_runs``, the daemon that launches) is
Dagster's own, unchanged. A look is one indexed query of the queued runs.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from dagster import Field, Float
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator


class LiftFlowRunCoordinator(QueuedRunCoordinator):
    def __init__(self, dequeue_interval_seconds: Optional[float] = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._interval_s = float(dequeue_interval_seconds if dequeue_interval_seconds is not None else 1.0)
        if self._interval_s <= 0:
            raise ValueError(f"dequeue_interval_seconds must be > 0, got {self._interval_s}")

    @property
    def dequeue_interval_seconds(self) -> float:  # type: ignore[override]  # Dagster's is an int
        return self._interval_s

    @classmethod
    def config_type(cls):
        schema = dict(super().config_type())
        schema["dequeue_interval_seconds"] = Field(
            Float, is_required=False,
            description="Seconds between the daemon's looks at the queue (may be under 1; the "
                        "daemon's loop sleeps in 0.5 s steps).")
        return schema

    @classmethod
    def from_config_value(cls, inst_data, config_value: Mapping[str, Any]):
        return cls(inst_data=inst_data, **config_value)
