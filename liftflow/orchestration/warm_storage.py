"""Imported by the code server's fork server (``code_server.PRELOAD``): every run forked from
it opens the instance's SQLite storages without reading Dagster's migration scripts again.

Each SQLite storage Dagster opens (runs, event log, schedules) compares the database's schema
revision with the newest migration script's, and finds the latter by loading all ~90 alembic
scripts of that storage: 0.2 s of CPU in every run worker, before its first op. The scripts
are part of the installed Dagster and cannot change while the process lives, so here the
newest revision is read once per script folder (in the fork server, before any run) and
remembered; the database's own revision is still read on every open, as Dagster does. On a
Dagster without the function this wraps, nothing is changed.
"""

from __future__ import annotations

import importlib
import sys

_MODULES = (  # Dagster's SQLite storages, which import the function by name
    "dagster._core.storage.runs.sqlite.sqlite_run_storage",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log",
    "dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log",
    "dagster._core.storage.schedules.sqlite.sqlite_schedule_storage",
)


def _install() -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from dagster._core.storage import sql

    original = getattr(sql, "check_alembic_revision", None)
    lock = getattr(sql, "_alembic_lock", None)
    if original is None or lock is None:
        print("liftflow code server: this Dagster has no check_alembic_revision; runs read the "
              "migration scripts as Dagster does", file=sys.stderr, flush=True)
        return
    heads: dict[str, str] = {}

    def check_alembic_revision(alembic_config, conn):
        with lock:
            db_revision = MigrationContext.configure(conn).get_current_revision()
            location = alembic_config.get_main_option("script_location")
            if location not in heads:
                heads[location] = ScriptDirectory.from_config(alembic_config).as_revision_number("head")
        return db_revision, heads[location]

    sql.check_alembic_revision = check_alembic_revision
    for name in _MODULES:
        module = importlib.import_module(name)
        if getattr(module, "check_alembic_revision", None) is original:
            module.check_alembic_revision = check_alembic_revision
    # read the newest revision now, in the fork server, not in each run
    config = sql.get_alembic_config(sys.modules[_MODULES[0]].__file__)
    heads[config.get_main_option("script_location")] = (
        ScriptDirectory.from_config(config).as_revision_number("head"))


_install()
