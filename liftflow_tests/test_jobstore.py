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


def test_results_json_is_result_json_under_the_original_name(tmp_path):
    """results.json (what the original server's tools read): the same bytes, a hard link made
    after result.json is written, replaced in one rename, removed with the folder."""
    from liftflow.jobstore import write_result_json

    f = JobFolder(tmp_path / "j", "abcdef12-3456")
    f.create()
    write_result_json(f.file("result.json"), {"v": 1, "frames": list(range(100))})
    a, b = f.file("result.json"), f.file("results.json")
    assert a.read_bytes() == b.read_bytes() and os.path.samefile(a, b)
    write_result_json(a, {"v": 2})  # a re-execution: both names show the new result
    assert json.loads(b.read_text()) == {"v": 2} and os.path.samefile(a, b)
    assert sorted(p.name for p in f.path.iterdir()) == ["result.json", "results.json"]
    f.remove()
    assert not f.path.exists()


def test_results_json_is_a_copy_where_links_are_refused(tmp_path, monkeypatch):
    from liftflow.jobstore import write_result_json

    def no_links(*a, **k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    write_result_json(tmp_path / "result.json", {"v": 1})
    a, b = tmp_path / "result.json", tmp_path / "results.json"
    assert a.read_bytes() == b.read_bytes() and not os.path.samefile(a, b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json", "results.json"]


def test_readers_of_results_json_never_see_a_partial_file(tmp_path):
    import threading

    from liftflow.jobstore import write_result_json

    a, b = tmp_path / "result.json", tmp_path / "results.json"
    big = {"frames": [{"i": i, "mask": [[i, i + 1]] * 20} for i in range(3000)]}
    write_result_json(a, big)
    stop, bad = threading.Event(), []

    def reader():
        while not stop.is_set():
            for p in (a, b):
                try:
                    if len(json.loads(p.read_bytes())["frames"]) != 3000:
                        bad.append(p.name)
                except ValueError as exc:
                    bad.append(f"{p.name}: {exc}")

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(10):
        write_result_json(a, big)
    stop.set()
    t.join()
    assert not bad, bad[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json", "results.json"]
