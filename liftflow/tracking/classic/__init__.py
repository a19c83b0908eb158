"""The default plate tracker: pure OpenCV/NumPy, no weights.

Per frame, at a working resolution where the plate radius is about ``WORK_RADIUS`` px:

1. Coarse: appearance matching (``cv2.matchTemplate`` on a chroma-weighted YCrCb image) of
   the seed plate and of the last confidently tracked plate, in a window around a
   constant-velocity prediction whose size grows with the speed. Template matching keeps
   its peak on a motion-blurred plate where edges alone are ambiguous.
2. Fine: ~120 rays from each candidate centre; on each ray the outward transition from
   "plate colour" to "not plate colour" near the expected radius is located with
   sub-pixel precision (centroid of the edge ramp: the mid-exposure rim under blur).
   A robust (Tukey) geometric circle fit on those rim points gives centre and radius; an
   ellipse is fitted on the inliers for the outline of oblique views.
3. Decision: candidates are scored by rim support, appearance and motion plausibility.
   A plate whose rim is not supported well enough, or that is mostly outside the frame,
   is reported LOST (no position invented); while lost the search widens until the plate
   is found again with strict acceptance.

Partial plates are followed on the arc in view, down to 7 % of the rim inside the frame, with
the confidence multiplied by that share (a plate partly behind another one has less rim
support, so less confidence, already). A template cut by the frame edge is completed by the
point reflection of its part inside. Where a side edge cuts the rim, only the arc opposite
the cut pins the centre's x: the part of the template inside the frame is matched there, a
narrow rim fit started from the match, and the match gives x (``Engine._match_at_edge``).

Frames before ``seed.frame`` are tracked backwards from the seed, decoded in chunks at
the working resolution (bounded memory). Nothing holds the whole video.

Modules: ``features`` (the colour map), ``rim`` (rays, the rim fitter, the circle fit),
``appearance`` (templates, blur, correlation), ``engine`` (one frame at a time),
``tracker`` (``ClassicTracker``: the walks from the seed). Each tuning constant lives in the
module that reads it (re-exported here to read; to change one, patch it in that module).
"""

from liftflow.tracking.classic.appearance import (centred, cut_template, local_maxima, motion_blur,
                                                  overlap_ncc)
from liftflow.tracking.classic.engine import (BLUR_FRAC, MIN_INLIERS, MIN_VISIBLE_ACQUIRE,
                                              MIN_VISIBLE_TRACK, REACQUIRE_MAX_R, STATIC_NCC,
                                              USE_SHAPE, Engine, SeedSnapshot, TrackState)
from liftflow.tracking.classic.features import CHROMA_WEIGHT, FeatureBuffers, feature_map
from liftflow.tracking.classic.rim import (MAX_RATIO, MIN_VISIBLE_FIT, N_RAYS, Rays, RimFit,
                                           RimFitter, fit_circle, plate_colour, rim_shape,
                                           sample_rays)
from liftflow.tracking.classic.tracker import (BACKWARD_BUDGET_BYTES, DESCRIPTION, MIN_SEED_RADIUS,
                                               POLY_POINTS, PREFETCH_DEPTH, WORK_RADIUS,
                                               ClassicTracker, availability, create)

__all__ = [
    # the backend (what the registry reads)
    "DESCRIPTION", "ClassicTracker", "availability", "create",
    # building blocks (automatic plate detection uses the rim fitter)
    "Engine", "FeatureBuffers", "Rays", "RimFit", "RimFitter", "SeedSnapshot", "TrackState",
    "centred", "cut_template", "feature_map", "fit_circle", "local_maxima", "motion_blur",
    "overlap_ncc", "plate_colour", "rim_shape", "sample_rays",
    # tuning constants
    "BACKWARD_BUDGET_BYTES", "BLUR_FRAC", "CHROMA_WEIGHT", "MAX_RATIO", "MIN_INLIERS",
    "MIN_SEED_RADIUS", "MIN_VISIBLE_ACQUIRE", "MIN_VISIBLE_FIT", "MIN_VISIBLE_TRACK", "N_RAYS",
    "POLY_POINTS", "PREFETCH_DEPTH", "REACQUIRE_MAX_R", "STATIC_NCC", "USE_SHAPE", "WORK_RADIUS",
]
