"""The per-run request as a Dagster resource: the launchpad shows and edits it as run config.

Its fields are ``liftflow.pipeline.request.AnalysisRequest``'s (the one field list) plus
where the job's files go; the class is built from that list, so the two never drift apart.
"""

from __future__ import annotations

from dataclasses import MISSING

from dagster import ConfigurableResource
from pydantic import Field

from liftflow.jobstore import JobFolder
from liftflow.pipeline.request import AnalysisRequest, request_fields

__all__ = ["LiftRequest", "run_config_for"]


class _LiftRequestBase(ConfigurableResource):
    def analysis_request(self) -> AnalysisRequest:
        return AnalysisRequest(**{name: getattr(self, name) for name, *_ in request_fields()})

    def folder(self) -> JobFolder:
        return JobFolder(self.job_dir, self.job_id)


def _lift_request_class() -> type:
    annotations = {"job_id": str, "job_dir": str}
    namespace = {
        "job_id": Field(description="LiftFlow job id; results land in job_dir"),
        "job_dir": Field(description="Folder for result.json, job_meta.json, pipeline.log, ..."),
    }
    for name, tp, default, doc in request_fields():
        annotations[name] = tp
        kw = {"description": doc} if doc else {}
        namespace[name] = Field(**kw) if default is MISSING else Field(default=default, **kw)
    namespace.update(__annotations__=annotations, __module__=__name__,
                     __qualname__="LiftRequest",
                     __doc__="One submission: which video, which seed, which backends, where results go.")
    return type("LiftRequest", (_LiftRequestBase,), namespace)


LiftRequest = _lift_request_class()


def run_config_for(request: dict) -> dict:
    """The run config of a lift_analysis run from LiftRequest fields."""
    return {"resources": {"lift": {"config": {k: v for k, v in request.items() if v is not None}}}}
