"""Launch, cancel and re-execute lift_analysis runs through the running webserver's GraphQL API.

That is Dagster's public way for an outside process (the REST facade, the bench CLI) to
start runs: they enter the queue, and the daemon runs them one at a time.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, TypeVar

from liftflow.errors import LaunchError  # re-exported
from liftflow.orchestration.names import ANALYSIS_JOB, JOB_ID_TAG, LOCATION_NAME, PARENT_RUN_TAG, REPOSITORY_NAME

_REEXECUTE = """
mutation Reexecute($parentRunId: String!, $strategy: ReexecutionStrategy!) {
  launchRunReexecution(reexecutionParams: {parentRunId: $parentRunId, strategy: $strategy}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on RunConflict { message }
    ... on PipelineNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on UnauthorizedError { message }
  }
}
"""


T = TypeVar("T")
# What the webserver answers with for a while after its Postgres restarted: its pooled
# connections died with the server.
STALE_CONNECTION = ("server closed the connection unexpectedly", "connection already closed",
                    "terminating connection due to administrator command")
ATTEMPTS = 4


def _stale(exc: Exception) -> bool:
    return any(m in str(exc) for m in STALE_CONNECTION)


def retry_stale_connections(call: Callable[[], T], already_made: Optional[Callable[[], Optional[T]]] = None,
                            pause_s: float = 0.5) -> T:
    """``call()``, again (up to ATTEMPTS tries in all) while it fails on a stale storage
    connection. A call that failed may still have stored what it made (a run, before the
    connection broke on a later write): before each new try ``already_made()`` looks, and
    what it finds is the answer, so a retry never makes a second run."""
    for attempt in range(1, ATTEMPTS + 1):
        if attempt > 1 and already_made is not None:
            try:
                made = already_made()
            except Exception as exc:
                if attempt == ATTEMPTS or not _stale(exc):
                    raise
                time.sleep(pause_s * attempt)  # storage still unreachable: look again later
                continue
            if made is not None:
                return made
        try:
            return call()
        except Exception as exc:
            if attempt == ATTEMPTS or not _stale(exc):
                raise
            time.sleep(pause_s * attempt)
    raise AssertionError("not reached")


_RUNS_WITH_TAG = """
query RunsWithTag($key: String!, $value: String!) {
  runsOrError(filter: {tags: [{key: $key, value: $value}]}) {
    __typename
    ... on Runs { results { runId } }
    ... on PythonError { message }
  }
}
"""


def _raise_python_error(data: dict) -> dict:
    """A re-execution the webserver could not store comes back as data, not an error."""
    res = data["launchRunReexecution"]
    if res["__typename"] == "PythonError":
        raise LaunchError(res.get("message") or "PythonError")
    return data


class RunLauncher:
    def __init__(self, host: str = "127.0.0.1", port: int = 3000, timeout: int = 30):
        self.host, self.port, self.timeout = host, port, timeout

    def _client(self):
        from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

        try:
            return DagsterGraphQLClient(self.host, port_number=self.port, timeout=self.timeout)
        except DagsterGraphQLClientError as exc:
            raise LaunchError(f"Dagster webserver not reachable at {self.host}:{self.port}: {exc}") from exc
        except Exception as exc:  # connection refused while fetching the schema
            raise LaunchError(f"Dagster webserver not reachable at {self.host}:{self.port}: {exc}") from exc

    def submit(self, run_config: dict, tags: dict[str, str]) -> str:
        from dagster_graphql import DagsterGraphQLClientError

        client = self._client()
        job_id = tags.get(JOB_ID_TAG)
        try:
            return retry_stale_connections(
                lambda: client.submit_job_execution(
                    ANALYSIS_JOB,
                    repository_location_name=LOCATION_NAME,
                    repository_name=REPOSITORY_NAME,
                    run_config=run_config,
                    tags=tags,
                ),
                # a job is new at submit: any run with its id is the one the failed call made
                already_made=(lambda: next(iter(self.runs_with_tag(JOB_ID_TAG, job_id)), None)) if job_id else None)
        except DagsterGraphQLClientError as exc:
            raise LaunchError(f"could not launch the analysis run: {exc}") from exc

    def runs_with_tag(self, key: str, value: str) -> list[str]:
        """Ids of the runs tagged ``key=value``, newest first."""
        data = self._client()._execute(_RUNS_WITH_TAG, {"key": key, "value": value})["runsOrError"]
        if data["__typename"] != "Runs":
            raise LaunchError(data.get("message") or data["__typename"])
        return [r["runId"] for r in data["results"]]

    def terminate(self, run_id: str) -> None:
        from dagster_graphql import DagsterGraphQLClientError

        try:
            self._client().terminate_run(run_id)
        except DagsterGraphQLClientError:
            # Already finished or not terminable: the caller checks the run's status.
            pass

    def reexecute(self, parent_run_id: str, from_failure: bool = True) -> str:
        client = self._client()
        strategy = "FROM_FAILURE" if from_failure else "ALL_STEPS"
        try:
            before = set(self.runs_with_tag(PARENT_RUN_TAG, parent_run_id))

            def made() -> Optional[dict]:
                new = [r for r in self.runs_with_tag(PARENT_RUN_TAG, parent_run_id) if r not in before]
                return {"launchRunReexecution": {"__typename": "LaunchRunSuccess", "run": {"runId": new[0]}}} \
                    if new else None
            data = retry_stale_connections(lambda: _raise_python_error(
                client._execute(_REEXECUTE, {"parentRunId": parent_run_id, "strategy": strategy})), made)
        except Exception as exc:
            raise LaunchError(f"re-execution of run {parent_run_id} failed: {exc}") from exc
        res = data["launchRunReexecution"]
        if res["__typename"] == "LaunchRunSuccess":
            return res["run"]["runId"]
        detail = res.get("message") or res.get("errors") or res
        raise LaunchError(f"re-execution of run {parent_run_id} refused ({res['__typename']}): {detail}")


def launcher_from_settings(settings=None) -> RunLauncher:
    from liftflow.config import get_settings

    s = settings or get_settings()
    return RunLauncher(s.webserver_host, s.ui_port)


def optional_tags(**kv: Optional[str]) -> dict[str, str]:
    return {k: str(v) for k, v in kv.items() if v not in (None, "")}
