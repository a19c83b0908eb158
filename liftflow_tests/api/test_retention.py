"""Retention: finished jobs past the cut-off are deleted with everything they made."""

from datetime import datetime, timedelta, timezone

from liftflow.config import get_settings
from liftflow.orchestration.service import JobService
from liftflow.jobstore import JobFolder, new_meta


class _NoLauncher:
    def terminate(self, run_id):  # finished jobs have nothing to cancel
        raise AssertionError("retention must not cancel anything")


def _job(settings, job_id, status, created_at):
    f = JobFolder.for_job(settings.results_dir, job_id)
    f.create()
    meta = new_meta(job_id, source={"type": "upload", "original_filename": "a.mp4", "asset_id": None},
                    benchmark={}, model_config={})
    meta["status"] = status
    meta["timestamps"]["created_at"] = created_at.replace(tzinfo=None).isoformat()
    f.write_meta(meta)
    up = settings.uploads_dir / job_id
    up.mkdir(parents=True, exist_ok=True)
    (up / "input.mp4").write_bytes(b"x")
    return f


def test_purge_removes_only_old_finished_jobs(dagster_instance):
    """On SQLite and on Postgres (the conftest's dagster_instance)."""
    s = get_settings()
    now = datetime.now(timezone.utc)
    old_done = _job(s, "aaaaaaaa-0001", "completed", now - timedelta(days=10))
    old_failed = _job(s, "aaaaaaaa-0002", "failed", now - timedelta(days=10))
    old_pending = _job(s, "aaaaaaaa-0003", "pending", now - timedelta(days=10))
    recent = _job(s, "aaaaaaaa-0004", "completed", now - timedelta(hours=1))
    svc = JobService(s, dagster_instance, _NoLauncher())
    removed = svc.purge_finished_before(now - timedelta(days=7))
    assert sorted(removed) == ["aaaaaaaa-0001", "aaaaaaaa-0002"]
    assert not old_done.path.exists() and not old_failed.path.exists()
    assert not (s.uploads_dir / "aaaaaaaa-0001").exists()
    assert old_pending.exists() and recent.exists() and (s.uploads_dir / "aaaaaaaa-0004").exists()
