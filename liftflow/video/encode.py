"""Streaming H.264 (or VP9) encoding with each frame's exact presentation time.

Shared by the synthetic clip generator and the overlay renderer. The encoder is fed
constant-rate frame numbers (x264's rate control reads timestamps, and with jittered ones
its output is not reproducible) and the packets get the real timestamps when muxed, so a
variable frame rate survives exactly. Encoding can run in a worker thread (PyAV releases
the GIL) while the caller decodes or draws the next frame.

Callers that already hold yuv420p pictures (the overlay) draw straight into frames from
``blank_frame()`` and hand them to ``write_at``: no colour conversion and no copy;
the encoder gives each frame back for reuse once x264 has taken its copy.
"""

from __future__ import annotations

import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Optional


CODECS = {
    # name: (encoder, container format, default options)
    "h264": ("libx264", "mp4", {}),
    "vp9": ("libvpx-vp9", "webm", {"deadline": "realtime", "cpu-used": "8", "row-mt": "1",
                                  "b:v": "0", "crf": "36"}),
}


class VideoWriter:
    TB = Fraction(1, 90000)

    def __init__(self, path: Path, width: int, height: int, fps: float, *, codec: str = "h264",
                 preset: str = "veryfast", crf: int = 23, x264_params: Optional[str] = None,
                 faststart: bool = False, rotation: int = 0, threaded: bool = False,
                 fast_yuv: bool = False, codec_threads: int = 0):
        """``rotation``: display rotation written to the container (decoders rotate back);
        ``fast_yuv``: convert BGR to I420 with OpenCV (about 3x faster than swscale);
        ``codec_threads``: the encoder's own threads (0 = its choice; 1 costs least CPU
        for small frames, where x264's threads add overhead without running in parallel)."""
        import av

        if codec not in CODECS:
            raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
        encoder, fmt, defaults = CODECS[codec]
        self.av = av
        self._cv2 = None
        if fast_yuv:
            import cv2

            self._cv2 = cv2
        opts = {"movflags": "+faststart"} if faststart and fmt == "mp4" else {}
        self.container = av.open(str(path), "w", format=fmt, options=opts)
        rate = Fraction(fps if fps and fps > 0 else 30.0).limit_denominator(1001)
        self.rate = rate
        st = self.container.add_stream(encoder, rate=rate)
        st.width, st.height = width, height
        st.pix_fmt = "yuv420p"
        st.time_base = self.TB
        st.codec_context.time_base = 1 / rate
        options = dict(defaults)
        if codec == "h264":
            options.update({"preset": preset, "crf": str(int(crf))})
            if x264_params:
                options["x264-params"] = x264_params
        st.options = options
        st.codec_context.thread_count = int(codec_threads)
        if rotation:
            st.set_display_rotation(-int(rotation))  # CCW degrees; decoders rotate clockwise back
        self.stream = st
        self.width, self.height = int(width), int(height)
        self._free: "queue.SimpleQueue" = queue.SimpleQueue()  # encoded frames, for reuse
        self.codec_tb = 1 / rate
        self.tick = float(1 / rate / self.TB)  # one nominal frame in TB units
        self.real: list[int] = []
        self._error: Optional[BaseException] = None
        self._thread = None
        if threaded:
            self._q: queue.Queue = queue.Queue(maxsize=3)
            self._thread = threading.Thread(target=self._work, name="video-encode", daemon=True)
            self._thread.start()

    def _real(self, k: int) -> int:
        if 0 <= k < len(self.real):
            return self.real[k]
        if k < 0:
            return self.real[0] + int(round(k * self.tick))
        return self.real[-1] + int(round((k - len(self.real) + 1) * self.tick))

    def _mux(self, packets) -> None:
        for pkt in packets:
            if pkt.pts is not None:
                pkt.pts = self._real(int(pkt.pts))
            if pkt.dts is not None:
                pkt.dts = self._real(int(pkt.dts))
            pkt.duration = 0
            pkt.time_base = self.TB
            self.container.mux(pkt)

    def _encode(self, image, k: int) -> None:
        recycle = isinstance(image, self.av.VideoFrame)
        if recycle:
            frame = image
        elif self._cv2 is not None:
            yuv = self._cv2.cvtColor(image, self._cv2.COLOR_BGR2YUV_I420)
            frame = self.av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        else:
            frame = self.av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = k
        frame.time_base = self.codec_tb
        packets = self.stream.encode(frame)  # the encoder has copied the picture now
        if recycle:
            self._free.put(frame)
        self._mux(packets)

    def blank_frame(self):
        """A yuv420p ``av.VideoFrame`` of the output size to draw into and pass to
        ``write_at``: a recycled one when the encoder is done with it (its old
        picture still in it), else a new one. At most the queue's depth plus two exist."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            return self.av.VideoFrame(self.width, self.height, "yuv420p")

    def _work(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is None:
                try:
                    self._encode(*item)
                except BaseException as exc:  # re-raised in the caller's thread
                    self._error = exc

    def write(self, bgr, pts: int) -> None:
        """Queue one BGR frame (or a filled ``blank_frame()``) at ``pts`` (units of TB,
        strictly increasing); it must not be modified afterwards."""
        if self._error is not None:
            raise self._error
        if self.real and pts <= self.real[-1]:
            raise ValueError("timestamps must increase")
        self.real.append(int(pts))
        k = len(self.real) - 1
        if self._thread is None:
            self._encode(bgr, k)
        else:
            self._q.put((bgr, k))

    def write_at(self, bgr, t_s: float) -> None:
        """Like ``write`` with a time in seconds; rounding never makes time stand still."""
        pts = int(round(t_s / float(self.TB)))
        if self.real and pts <= self.real[-1]:
            pts = self.real[-1] + 1
        self.write(bgr, pts)

    def close(self, ok: bool = True) -> None:
        """Flush and close; with ``ok=False`` (an error upstream) just close."""
        try:
            if self._thread is not None:
                self._q.put(None)
                self._thread.join()
            if self._error is not None and ok:
                raise self._error
            if ok:
                self._mux(self.stream.encode())
        finally:
            self.container.close()
