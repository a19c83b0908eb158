"""The classic tracker's colour space: a chroma-weighted YCrCb map of a BGR region.

Every stage (rim edges, templates, the plate colour) works on distances between colours
in this map, so it is computed once per search region and shared.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CHROMA_WEIGHT", "FeatureBuffers", "feature_map"]

CHROMA_WEIGHT = 1.6

# 8-bit YCrCb -> (luma 0..100, CHROMA_WEIGHT * Cr, CHROMA_WEIGHT * Cb), chroma centred on 0
_FEATURE_AFFINE = np.array([[100.0 / 255.0, 0.0, 0.0, 0.0],
                            [0.0, CHROMA_WEIGHT, 0.0, -128.0 * CHROMA_WEIGHT],
                            [0.0, 0.0, CHROMA_WEIGHT, -128.0 * CHROMA_WEIGHT]], np.float64)


def feature_map(img_bgr: np.ndarray) -> np.ndarray:
    """Chroma-weighted YCrCb (luma scaled to 0..100 like L*), float32, lightly smoothed.

    YCrCb rather than Lab: a tenth of the conversion cost (0.04 vs 0.38 ms on a 230x230
    search region) with the same accuracy on the real and synthetic clips (`liftflow
    bench tracking`: medians within -0.5..+0.1 points of radius, 13/13 pass, no keyframe
    lost); edges and template scores only need distances between colours, which both
    spaces give on a similar scale."""
    import cv2

    ycc = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2YCrCb)
    # The per-channel affine map commutes with the (normalised, linear) blur: blur the
    # raw values, then map them in one pass.
    blur = cv2.GaussianBlur(ycc.astype(np.float32), (3, 3), 0.8)
    return cv2.transform(blur, _FEATURE_AFFINE)


class FeatureBuffers:
    """``feature_map`` into buffers kept from frame to frame: fresh arrays of this size per
    frame cost more in page faults than the conversion itself. The result is overwritten
    by the next call."""

    def __init__(self):
        self.cap = 0

    def __call__(self, img_bgr: np.ndarray) -> np.ndarray:
        import cv2

        h, w = img_bgr.shape[:2]
        n = h * w * 3
        if n > self.cap:
            self.cap = int(n * 1.25) + 4096
            self.raw = np.empty(self.cap, np.uint8)
            self.f0 = np.empty(self.cap, np.float32)
            self.f1 = np.empty(self.cap, np.float32)
        raw = self.raw[:n].reshape(h, w, 3)
        f0 = self.f0[:n].reshape(h, w, 3)
        f1 = self.f1[:n].reshape(h, w, 3)
        cv2.cvtColor(img_bgr, cv2.COLOR_BGR2YCrCb, dst=raw)
        np.copyto(f0, raw)
        cv2.GaussianBlur(f0, (3, 3), 0.8, dst=f1)
        cv2.transform(f1, _FEATURE_AFFINE, dst=f0)
        return f0
