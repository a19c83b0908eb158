"""Memory and CPU housekeeping between and inside the steps (measured reasons in each docstring)."""

from __future__ import annotations

import contextlib
import gc
import resource

__all__ = ["gc_frozen", "peak_rss_mb", "release_free_memory", "single_threaded_cv2"]


@contextlib.contextmanager
def single_threaded_cv2():
    """OpenCV without its own thread pool for a step that is already parallel (decoder
    threads, a decode thread beside the tracker, an encoder thread beside the drawing):
    cv2 splitting each small resize or colour conversion over the cores costs ~30% more
    CPU for no wall-clock gain when every core is busy anyway."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def peak_rss_mb(usage=None) -> float:
    """This process's peak resident memory in MB: VmHWM where Linux gives it (the peak of
    this program only), else getrusage's ru_maxrss, which Linux carries over from the
    parent across fork and exec (a worker started by a 190 MB benchmark process reported
    190 MB while its own peak was 150)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        pass
    usage = usage or resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_maxrss / 1024.0, 1)


_malloc_trim = None


def release_free_memory() -> None:
    """Hand the heap that freed objects left behind back to the OS (glibc's malloc_trim).

    A step's temporaries (tracking's per-frame arrays, the contract's rounding) are freed
    but glibc keeps most of that memory mapped, so the next step's peak stacked on the
    previous step's leftovers: after tracking a 2 min clip the worker held ~15 MB more than
    after a 30 s one, all of it free heap (the same after malloc_trim). No-op where there
    is no glibc."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


@contextlib.contextmanager
def gc_frozen():
    """Keep the cyclic garbage collector off the objects that exist already (the per-frame
    observations: ~100 000 containers for 1800 frames) while a step allocates many more:
    every collection would walk them again. Building the contract took 0.22 s of CPU with
    them walked, 0.10 s frozen. Refcounting still frees everything; unfrozen afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
