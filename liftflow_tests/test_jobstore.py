import json
import os

import pytest

from liftflow.jobstore import JobFolder, atomic_write_json, is_valid_job_id, new_job_id


def test_job_ids_are_generated_and_validated():
    ids = {new_job_id() for _ in range(200)}
    assert len(ids) == 200 and all(is_valid_job_id(i) for i in ids)
    for bad in ("../etc", "abc", "ABCDEF12-3456", "abcdef12-3456/..", "", "abcdef12-345g"):
        assert not is_valid_job_id(bad)
    with pytest.raises(ValueError):
        JobFolder.for_job("/tmp", "../../etc")


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "result.json"
    atomic_write_json(p, {"v": 1})

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_json(p, {"v": 2})
    assert json.loads(p.read_text()) == {"v": 1}
    assert [x.name for x in tmp_path.iterdir()] == ["result.json"]  # no temp file left behind


def test_meta_update_merges(tmp_path):
    f = JobFolder(tmp_path / "j", "abcdef12-3456")
    f.create()
    f.write_meta({"status": "pending", "steps": {"decode": {"seconds": 1}}})
    f.update_meta(status="processing", steps={"track_disc": {"seconds": 2}})
    assert f.read_meta() == {"status": "processing",
                             "steps": {"decode": {"seconds": 1}, "track_disc": {"seconds": 2}}}
