"""Probing and streaming decode of lift videos (PyAV).

Frames are delivered in presentation order with the container's rotation applied, and
each carries its own timestamp from the container (phones record variable frame rate),
so nothing downstream ever computes time as ``index / fps``.
"""

from liftflow.video.decode import Frame, VideoError, VideoInfo, iter_frames, probe

__all__ = ["Frame", "VideoError", "VideoInfo", "iter_frames", "probe"]
