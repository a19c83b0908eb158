"""ResultsContract v2: the JSON that REST clients parse, its models and its assembly."""

from liftflow.contract.assemble import build_result
from liftflow.contract.models import API_VERSION, RESULTS_CONTRACT_VERSION, ResultsContract

__all__ = ["API_VERSION", "RESULTS_CONTRACT_VERSION", "ResultsContract", "build_result"]
