"""LiftFlow's one Dagster entry point, merged from one ``Definitions`` per concept:

- ``analysis_defs`` (``orchestration/analysis.py``): the ``lift_analysis`` job (one run per
  submission: decode -> track_disc -> estimate_pose -> compute_metrics -> assemble_contract),
  its per-run request resource and the filesystem IO manager;
- the benchmark sweep (``orchestration/sweep.py``): ``benchmark_sweep`` and ``sweep_report``,
  ``sweep_report_sensor``, ``benchmark_sweep_schedule``.

Run it: ``liftflow up`` starts a code server on it
(``dagster code-server start -m liftflow.orchestration.definitions``), which the webserver
and the daemon reach through ``workspace.yaml``; ``dagster dev -m
liftflow.orchestration.definitions`` also works for a quick look.

Environment variables it reads (through ``liftflow.config``; the README's table has all):
``LIFTFLOW_DATA_DIR`` (job folders, Dagster home), ``LIFTFLOW_MODELS_DIR`` and the weights
names, ``LIFTFLOW_DEVICE``, ``LIFTFLOW_MAX_DURATION_S``, ``LIFTFLOW_MAX_PIXELS``,
``LIFTFLOW_FAST_DECODE``, ``DATASETS_ROOT``, ``LIFTFLOW_SWEEP_CRON``,
``LIFTFLOW_SWEEP_DATASET``, ``LIFTFLOW_SWEEP_SENSOR_INTERVAL_S``, ``LIFTFLOW_UI_PORT`` (the
sweep queues its case runs through the webserver).

Heavy libraries (torch, cv2, ultralytics, cutie) are imported inside the steps, so the
long-lived code server stays small and each run starts fast.
"""

from __future__ import annotations

import warnings

from dagster import BetaWarning, Definitions

# Dagster's own sensor decorator passes a beta parameter (owners) internally; the notice
# is about Dagster's code, not ours, and would otherwise print on every CLI command.
warnings.filterwarnings("ignore", category=BetaWarning)

from liftflow.orchestration import analysis, sweep  # noqa: E402

# Dagster loads the one Definitions object at module scope: the pieces are merged, not bound here
defs = Definitions.merge(
    analysis.analysis_defs,
    Definitions(jobs=sweep.SWEEP_JOBS, sensors=sweep.SWEEP_SENSORS, schedules=sweep.SWEEP_SCHEDULES),
)
