"""Bar physics: calibration from the plate, filtering, kinematics, energy and power, reps, phases.

Example::

    from liftflow.physics import PhysicsParams, compute_metrics
    result = compute_metrics(observations, info.timestamps_s, PhysicsParams(lift_type="squat"))
    result["summary"]["rep_count"], result["reps"][0]["mean_concentric_velocity_m_s"]

``result`` keys: metrics (ResultsContract v2 series, SI, y up), metrics_raw (unsmoothed),
summary, reps, phases, bar_path, calibration, filter, definitions, warnings, params.
"""

from liftflow.physics.kinematics import CONTRACT_METRIC_KEYS, compute_metrics
from liftflow.physics.params import CONCENTRIC_FIRST, G, LIFT_TYPES, OLYMPIC, PhysicsParams

__all__ = ["CONCENTRIC_FIRST", "CONTRACT_METRIC_KEYS", "G", "LIFT_TYPES", "OLYMPIC",
           "PhysicsParams", "compute_metrics"]
