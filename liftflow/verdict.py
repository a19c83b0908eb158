"""A job's verdict: can its numbers be used? One reason code from a small fixed set, and a
sentence saying why and what to change.

=========================  =========  ======================================================
code                       job        when
=========================  =========  ======================================================
``ok``                     completed  the plate was followed and the bar moved
``no_reps``                completed  the bar moved, but no repetition was recognised
``no_motion``              completed  the tracked plate (or what was tracked) hardly moved
``plate_lost``             completed  the plate was followed in under half of the frames
``too_few_tracked_frames`` failed     the plate was followed in too few frames to measure
                                      anything (a front view, plates edge-on, no plate):
                                      no velocity, or under 10 % of the frames and no rep
``plate_not_found``        failed     tracking found the plate in no frame
``no_plate_detected``      failed     automatic detection (no seed given) found no plate
=========================  =========  ======================================================

Fail or complete: a client of the original server reads ``failed`` as terminal and shows
its message, and reads nothing more; so a job whose results would be empty or next to it
(no velocity could be computed, or on under a tenth of the clip with no rep in it: nothing
to read) fails, with the verdict as its reason. A job with
numbers that are valid but partial or unremarkable completes, and says so: ``verdict`` in
result.json and /status, and the status ``message``, so that clients can still read what
was measured.

Judged once per job from the physics' figures (``judge``, in
``liftflow.physics.compute_metrics``); the pipeline fails a job whose verdict fails, and
raises ``plate_not_found`` and ``no_plate_detected`` itself where tracking finds nothing
(``liftflow.pipeline.steps``). A leaf: imports nothing of LiftFlow's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

OK = "ok"
NO_REPS = "no_reps"
NO_MOTION = "no_motion"
PLATE_LOST = "plate_lost"
TOO_FEW_TRACKED_FRAMES = "too_few_tracked_frames"
PLATE_NOT_FOUND = "plate_not_found"
NO_PLATE_DETECTED = "no_plate_detected"

# code -> (the job fails, what it means): the one list, shown in result.json's definitions
CODES: dict[str, tuple[bool, str]] = {
    OK: (False, "the plate was followed and the bar moved: the figures can be used"),
    NO_REPS: (False, "the bar moved but no repetition was recognised: summary figures only, reps empty"),
    NO_MOTION: (False, "the tracked plate hardly moved: no lift was filmed, or something static was tracked"),
    PLATE_LOST: (False, "the plate was followed in under half of the frames: the figures cover only those parts"),
    TOO_FEW_TRACKED_FRAMES: (True, "the plate was followed in too few frames to measure anything (front view, "
                                   "plates edge-on, no plate)"),
    PLATE_NOT_FOUND: (True, "tracking found the plate in no frame"),
    NO_PLATE_DETECTED: (True, "no seed circle was given and automatic detection found no plate"),
}
FAILING = frozenset(c for c, (fails, _) in CODES.items() if fails)

MIN_FOLLOWED_FRACTION = 0.10  # analysed frames below this share, and no rep: too_few_tracked_frames
LOST_FRACTION = 0.50  # below this share: plate_lost
NO_MOTION_M = 0.05  # vertical range of the tracked plate below this: no_motion
PLATE_NOT_FOUND_MESSAGE = "the plate was not found in any frame; check the seed circle"
SIDE_VIEW_HINT = ("film from the side, with the near plate facing the camera and in view for the "
                  "whole lift")


@dataclass(frozen=True)
class Verdict:
    code: str
    message: str

    def __post_init__(self):
        if self.code not in CODES:
            raise ValueError(f"unknown verdict code {self.code!r}; known: {', '.join(CODES)}")

    @property
    def fails(self) -> bool:
        """The job fails with this verdict (see the module docstring for why)."""
        return self.code in FAILING

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


def judge(total_frames: int, tracked_frames: int, analysed_frames: int,
          vertical_range_m: Optional[float], rep_count: int) -> Verdict:
    """The verdict of a job's physics: ``analysed_frames`` are the frames velocities were
    computed on (tracked, in runs long enough to differentiate), ``vertical_range_m`` the
    tracked plate's vertical range (None when nothing was analysed)."""
    total = max(int(total_frames), 1)
    share = analysed_frames / total
    followed = f"the plate was followed in {tracked_frames} of {total_frames} frames"
    if tracked_frames == 0:
        return Verdict(PLATE_NOT_FOUND, PLATE_NOT_FOUND_MESSAGE)
    # a short lift tracked in a long clip still has its reps: those are worth reading
    if analysed_frames == 0 or (share < MIN_FOLLOWED_FRACTION and rep_count == 0):
        return Verdict(TOO_FEW_TRACKED_FRAMES,
                       f"{followed} ({analysed_frames} usable for velocities): too few to measure the lift. "
                       f"A front view shows the plates edge-on; {SIDE_VIEW_HINT}")
    if share < LOST_FRACTION:
        return Verdict(PLATE_LOST, f"{followed} ({share:.0%} usable): the figures cover only those parts of "
                                   f"the clip; keep the plate in view for the whole lift")
    rng = float(vertical_range_m or 0.0)
    if rng < NO_MOTION_M:
        return Verdict(NO_MOTION, f"the tracked plate moved only {rng:.3f} m vertically: no lift was filmed, "
                                  f"or the tracker followed something that does not move (check the seed circle)")
    if rep_count == 0:
        return Verdict(NO_REPS, f"the bar moved {rng:.2f} m vertically but no repetition was recognised: "
                                f"summary figures only (is lift_type right?)")
    return Verdict(OK, f"{followed} ({share:.0%} usable); {rep_count} repetition(s)")


def definition() -> str:
    """The ``definitions`` text of ``verdict``: every code, and whether its job fails."""
    return ("one of: " + "; ".join(f"{c} ({'job fails' if f else 'job completes'}): {d}"
                                  for c, (f, d) in CODES.items())
            + f". Thresholds: too_few_tracked_frames below {MIN_FOLLOWED_FRACTION:.0%} of the frames usable for "
              f"velocities with no repetition in them (or none usable), plate_lost below {LOST_FRACTION:.0%}, "
              f"no_motion below {NO_MOTION_M} m of vertical range")
