"""The plots drawn in a process of their own, started ahead of time and fed later.

The analysis draws the plots while the overlay pass runs; matplotlib in the same process
would hold the GIL the overlay's drawing needs (render step 3.1-3.6 s with a thread
against 2.7-3.2 s one after the other). Starting Python and importing matplotlib costs
about 0.5 s of CPU, so it is started ahead (``prestart``) on a core that would idle:
``liftflow analyze`` starts it before its own imports, the metrics step otherwise (a
Dagster run's worker has its imports done); the contract step hands it its inputs
(``take`` + ``PlotsProcess.feed``).

Protocol: the worker imports matplotlib, then reads one JSON line ``[inputs_json, out_dir]``
from stdin, draws with ``liftflow.render.plots.render_plots`` and prints ``{name: path}``
as JSON. End of input without a line (the parent is gone, or discarded it): it exits.
``python -m liftflow.render.plots_worker``.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

from liftflow.render.plots import PLOT_SERIES

PLOT_INPUTS = ("metrics", "reps", "phases", "summary", "bar_path")  # the result keys render_plots reads

log = logging.getLogger(__name__)


class PlotsProcess:
    """One worker process: ``feed(result, out_dir)`` once, then ``finish()``."""

    ARGV = ("-m", "liftflow.render.plots_worker")

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, *self.ARGV], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.tmp: Optional[str] = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def feed(self, result: dict, out_dir: Path) -> None:
        """Start drawing: only what the plots read goes over (not every frame's outline)."""
        from liftflow.jobstore import atomic_write_json

        fd, self.tmp = tempfile.mkstemp(prefix="liftflow-plots-", suffix=".json")
        os.close(fd)
        inputs = {k: result.get(k) for k in PLOT_INPUTS}
        metrics = inputs.get("metrics")
        if isinstance(metrics, dict):  # the series drawn, not all thirteen
            inputs["metrics"] = {k: metrics[k] for k in PLOT_SERIES if k in metrics}
        atomic_write_json(Path(self.tmp), inputs, compact=True)
        try:
            self.proc.stdin.write(json.dumps([self.tmp, str(out_dir)]) + "\n")
            self.proc.stdin.flush()  # left open: communicate() in finish() closes it
        except (BrokenPipeError, OSError, ValueError):
            pass  # it died: finish() reports it and the plots are drawn in process

    def finish(self, kill: bool = False, timeout_s: float = 300) -> Optional[dict[str, Path]]:
        """{name: path} of the plots, or None when the process failed (or ``kill``)."""
        try:
            if kill:
                self.proc.kill()
            out, err = self.proc.communicate(timeout=timeout_s)
            if kill:
                return None
            if self.proc.returncode != 0:
                log.warning("plots process failed (%s): %s", self.proc.returncode, err.strip()[-500:])
                return None
            return {k: Path(v) for k, v in json.loads(out).items()}
        except Exception:  # hung or garbled: the caller draws the plots itself
            self.proc.kill()
            self.proc.communicate()
            return None
        finally:
            if self.tmp:
                Path(self.tmp).unlink(missing_ok=True)
                self.tmp = None


_ready: Optional[PlotsProcess] = None  # started by prestart(), not fed yet


def prestart() -> None:
    """Start a worker now (its start-up overlaps the step that calls this)."""
    global _ready
    if _ready is None or not _ready.alive():
        _ready = PlotsProcess()


def take() -> PlotsProcess:
    """The prestarted worker when there is a live one, else a new one."""
    global _ready
    w, _ready = _ready, None
    return w if w is not None and w.alive() else PlotsProcess()


def discard() -> None:
    """Stop a prestarted worker nobody will feed (the job failed before its plots)."""
    global _ready
    w, _ready = _ready, None
    if w is not None:
        w.finish(kill=True, timeout_s=10)


atexit.register(discard)


def main() -> int:
    import matplotlib.backends.backend_agg
    import matplotlib.figure

    from liftflow.render.plots import render_plots

    del matplotlib  # imported for the warm-up only: render_plots imports what it uses

    line = sys.stdin.readline()
    if not line.strip():
        return 0  # discarded
    src, out_dir = json.loads(line)
    result = json.loads(Path(src).read_text(encoding="utf-8"))
    out = render_plots(result, Path(out_dir))
    print(json.dumps({k: str(v) for k, v in out.items()}))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through the analysis
    raise SystemExit(main())
