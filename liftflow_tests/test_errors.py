"""The error tree: one root, the old bases kept, readable public reasons without server paths."""

import pytest

from liftflow import errors


def test_every_error_has_the_one_root_and_keeps_its_python_base():
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.LiftFlowError), name
    assert issubclass(errors.VideoError, ValueError) and issubclass(errors.SeedError, ValueError)
    assert issubclass(errors.JobNotFound, LookupError)
    assert issubclass(errors.TrackerUnavailable, errors.TrackingError)
    assert issubclass(errors.PoseUnavailable, errors.BackendUnavailable)


def test_the_public_reason_has_no_server_path():
    exc = errors.TrackerUnavailable(
        "tracking backend 'cutie' is unavailable: weights file not found: "
        "/srv/liftflow/data/models/cutie-base-mega.pth (set LIFTFLOW_MODELS_DIR or LIFTFLOW_CUTIE_WEIGHTS)")
    assert "/srv/liftflow/data/models/cutie-base-mega.pth" in str(exc)
    assert "/srv" not in exc.public and "cutie-base-mega.pth" in exc.public
    assert errors.public_message("see ./relative/file.txt and 1/2") == "see ./relative/file.txt and 1/2"


def test_dataset_error_lists_its_problems():
    e = errors.DatasetError(["a is missing", "b is bad"], where="manifest.csv")
    assert e.problems == ["a is missing", "b is bad"]
    assert str(e).startswith("manifest.csv: 2 problems:")
    with pytest.raises(ValueError):
        raise errors.DatasetError("one")
