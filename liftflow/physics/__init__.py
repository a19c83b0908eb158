"""Bar physics: calibration from the plate, filtering, kinematics, energy and power, reps, phases.

Example::

    from liftflow.physics import PhysicsParams, compute_metrics
    result = compute_metrics(observations, info.timestamps_s, PhysicsParams(lift_type="squat"))
    result["summary"]["rep_count"], result["reps"][0]["mean_concentric_velocity_m_s"]

``result`` (JSON-serialisable) keys: ``metrics`` (ResultsContract v2 series, SI, y up, one
entry per analysed frame), ``metrics_raw`` (same keys, unsmoothed), ``summary`` (contract
keys plus ``peak_vertical_velocity_m_s``, ``rep_count`` and more), ``reps``, ``phases``
(snatch/clean/clean-and-jerk, else null), ``bar_path``, ``calibration``, ``filter``,
``definitions`` (unit and method of every figure), ``warnings``, ``params``, ``load`` (the
mass used for energy and power, ``given`` or ``assumed``) and ``verdict`` (``liftflow.verdict``:
can the numbers be used; ``{code, message}``).

How, in one paragraph (details in each module's docstring):

- scale: plate diameter / (2 × median tracked radius over the slow half of the track);
  semi-major axis and horizontal foreshortening correction when the plate is measurably an
  ellipse; warnings from 20° off a side view, "not trustworthy" from 30° (``calibration``).
- time: the video's per-frame timestamps; lost frames split the track into segments that are
  filtered separately; nothing is interpolated across a gap (``filtering``).
- filter: zero-lag 2nd-order Butterworth (filtfilt) on pixel positions, cut-off per clip and
  per coordinate from Winter's residual analysis, floored at 3 Hz (6 Hz for explosive lifts),
  capped at 12 Hz and 0.3 × frame rate; Savitzky-Golay for runs too short for filtfilt;
  derivatives from cubic splines (central differences lose 6-24% of a 3-6 Hz peak at 30 fps).
- reps: vertical swings of at least max(0.12 m, 0.4 × the lift's range), eccentric-first
  (squat, bench) or concentric-first (floor lifts); boundaries from an onset-model fit of the
  velocity near rest; dropped bars detected and excluded (``reps``).
- phases and bar-path figures from the bar path, refined by pose events (``phases``).
- velocity loss: each rep's against the fastest rep of the set, and the set's from the
  fastest rep to the last (``reps.velocity_loss``).

``liftflow bench physics`` (``liftflow/bench/physics.py``) scores all of this on synthetic
clips with exact truth and on the real clips.
"""

from liftflow.physics.kinematics import CONTRACT_METRIC_KEYS, compute_metrics
from liftflow.physics.params import CONCENTRIC_FIRST, G, LIFT_TYPES, OLYMPIC, PhysicsParams

__all__ = ["CONCENTRIC_FIRST", "CONTRACT_METRIC_KEYS", "G", "LIFT_TYPES", "OLYMPIC",
           "PhysicsParams", "compute_metrics"]
