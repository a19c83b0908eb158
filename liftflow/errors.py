"""Every error LiftFlow raises on purpose, in one tree.

::

    LiftFlowError                      message = a sentence the user can act on
    ├── ConfigError (ValueError)       an environment variable has a bad value (named in the message)
    ├── InputError (ValueError)        the request or its file cannot be analysed
    │   ├── VideoError                 not a decodable video, over a limit, too short
    │   ├── SeedError                  the seed circle does not fit the video
    │   │   └── IncompleteSeed         some of x, y, r given, not all (``missing`` names the rest)
    │   ├── DatasetError               a benchmark dataset, manifest or ground truth is unusable
    │   └── AnalysisError              a step cannot go on (bad input found while running;
    │                                  ``verdict``: the reason code when no plate can be followed)
    ├── TrackingError (RuntimeError)   tracking could not produce a usable track
    ├── BackendUnavailable (RuntimeError)
    │   │                              a backend cannot run here: ``str()`` is the operator's
    │   │                              reason (package, weights path); ``public`` has no path
    │   ├── TrackerUnavailable         ... a tracking backend (also a TrackingError)
    │   └── PoseUnavailable            ... a pose backend
    ├── JobNotFound (LookupError)      no job with that id
    ├── JobConflict (RuntimeError)     the job is not in a state that allows the request
    ├── LaunchError (RuntimeError)     a Dagster run could not be launched (webserver down, ...)
    ├── BatchError (RuntimeError)      some runs of a batch could not be launched
    └── StackError (RuntimeError)      the stack cannot start (port taken, data folder in use)

Mapped once to HTTP status codes (``liftflow_api.errors``) and once to ``dagster.Failure``
(``liftflow.orchestration.ops``). The domain packages raise these and import nothing else
of LiftFlow's for it.
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = [
    "AnalysisError", "BackendUnavailable", "BatchError", "ConfigError", "DatasetError", "IncompleteSeed",
    "InputError", "JobConflict", "JobNotFound", "LaunchError", "LiftFlowError", "PoseUnavailable", "SeedError", "StackError",
    "TrackerUnavailable", "TrackingError", "VideoError", "public_launch_message", "public_message",
]


class LiftFlowError(Exception):
    """Root of every error LiftFlow raises on purpose; the message is the readable reason.

    ``public`` is what API clients are shown: the message without server paths and errno
    prefixes (``public_message``), or the text a subclass was given for them."""

    _public: Optional[str] = None

    @property
    def public(self) -> str:
        return self._public or public_message(str(self))


class ConfigError(LiftFlowError, ValueError):
    """A setting (environment variable) has a value LiftFlow refuses; the message names it."""


class InputError(LiftFlowError, ValueError):
    """The request or its file cannot be analysed."""


class VideoError(InputError):
    """The file is not a decodable video, or it is over a limit (readable reason in the message)."""


class SeedError(InputError):
    """The seed circle does not fit the video (outside the frame, radius not positive, ...)."""


class IncompleteSeed(SeedError):
    """Some of disc_center_x, disc_center_y, disc_radius were given but not all; ``missing``
    names the fields that were not."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()):
        super().__init__(message)
        self.missing = tuple(missing)


class DatasetError(InputError):
    """The dataset (or one ground-truth file) is not usable; ``problems`` lists why, one per line."""

    def __init__(self, problems, where: str = ""):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        head = f"{where}: " if where else ""
        if len(self.problems) == 1:
            msg = head + self.problems[0]
        else:
            msg = head + f"{len(self.problems)} problems:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(msg)


class AnalysisError(InputError):
    """A step of the analysis cannot go on; the message is the readable reason shown to the user.
    ``verdict``: the reason code (``liftflow.verdict``) when the plate could not be followed."""

    def __init__(self, message: str, verdict: Optional[str] = None):
        super().__init__(message)
        self.verdict = verdict


class TrackingError(LiftFlowError, RuntimeError):
    """Tracking could not run or could not produce a usable track (readable reason)."""


_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)*[\w.@+-]+")
_ERRNO = re.compile(r"\[(?:Errno|WinError) -?\d+\]\s*")


def public_message(text: str) -> str:
    """``text`` without absolute server paths (each becomes its last part) and without
    ``[Errno N]`` prefixes (ffmpeg's are AVERROR tags such as 1094995529), for API clients:
    ``[Errno 1094995529] Invalid data found when processing input: '/srv/x/input.mp4'`` ->
    ``Invalid data found when processing input: 'input.mp4'``."""
    return _PATH.sub(lambda m: m.group(0).rsplit("/", 1)[-1], _ERRNO.sub("", str(text)))


_QUERY = re.compile(r"\s*(?:occured|occurred) during execution of query.*|\s*(?:and message|with variables).*",
                    re.IGNORECASE | re.DOTALL)


def public_launch_message(text: str, limit: int = 300) -> str:
    """A launch failure's reason for API clients: its first line, without the GraphQL query
    or mutation text and variables the Dagster client puts in its errors, without paths."""
    head = _QUERY.sub("", str(text).strip()).splitlines()[0] if str(text).strip() else ""
    head = public_message(head).strip().rstrip(":").strip()
    return (head[:limit] + "...") if len(head) > limit else head


class BackendUnavailable(LiftFlowError, RuntimeError):
    """A backend cannot run here: the message says exactly why (package, weights file path).

    ``public`` is the same reason without server paths, for API clients."""

    def __init__(self, message: str, public: Optional[str] = None):
        super().__init__(message)
        self._public = public


class TrackerUnavailable(BackendUnavailable, TrackingError):
    """A tracking backend cannot run here."""


class PoseUnavailable(BackendUnavailable):
    """A pose backend cannot run here."""


class JobNotFound(LiftFlowError, LookupError):
    """No job with that id."""


class JobConflict(LiftFlowError, RuntimeError):
    """The job's state does not allow the request (not failed, still stopping, ...)."""


class LaunchError(LiftFlowError, RuntimeError):
    """The run could not be launched (webserver down, config invalid, ...). ``str()`` is the
    full reason (the Dagster client's, with its GraphQL text: logged); ``public`` its first
    line without the query, variables or paths."""

    def __init__(self, message: str, public: Optional[str] = None):
        super().__init__(message)
        self._public = public or public_launch_message(message) or "the run could not be launched"


class BatchError(LiftFlowError, RuntimeError):
    """Launching stopped part-way; ``submitted`` lists the jobs created before the failure."""

    def __init__(self, message: str, submitted: list, public: Optional[str] = None):
        super().__init__(message)
        self.submitted = submitted
        self._public = public or public_launch_message(message)


class StackError(LiftFlowError, RuntimeError):
    """The stack cannot start or is already running on this data folder."""
