"""What the code server's fork server preloads for its runs (liftflow.orchestration.warm_storage):
SQLite storages opened without re-reading alembic's migration scripts, with the same answer."""

import subprocess
import sys
import textwrap

from liftflow.config import PROJECT_ROOT

PROBE = textwrap.dedent("""
    import sys
    from alembic.script import ScriptDirectory
    from dagster._core.storage import sql
    from dagster._core.storage.runs.sqlite import sqlite_run_storage
    from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

    original = sql.check_alembic_revision
    config = sql.get_alembic_config(sqlite_run_storage.__file__)

    def revisions(folder):
        storage = SqliteRunStorage.from_local(folder)
        with storage.connect() as conn:
            return sql.check_alembic_revision(config, conn)

    expected = revisions(sys.argv[1])
    import liftflow.orchestration.warm_storage  # what the fork server imports
    assert sqlite_run_storage.check_alembic_revision is sql.check_alembic_revision is not original
    loads = []
    real = ScriptDirectory.from_config
    ScriptDirectory.from_config = classmethod(lambda cls, cfg: loads.append(cfg) or real.__func__(cls, cfg))
    assert revisions(sys.argv[1]) == expected, (revisions(sys.argv[1]), expected)
    assert not loads, f"migration scripts read again {len(loads)} times"
    assert revisions(sys.argv[2]) == expected   # a new database (alembic stamps it, as before)
    print("ok", expected)
""")


def test_a_run_opens_its_storages_without_reading_the_migration_scripts(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "a"), str(tmp_path / "b")],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    db_revision, head = eval(out.stdout.split("ok", 1)[1])
    assert db_revision == head and head
