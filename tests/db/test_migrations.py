"""Migrations build the schema the models describe; a SQLite file is backed up first."""

from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from nursestation.db import make_engine, upgrade_database
from nursestation.db.engine import current_revision, head_revision
from nursestation.db.models import Base
from nursestation.paths import data_dir


def test_upgrade_empty_database_matches_models(db_url):
    assert upgrade_database(db_url) is None  # nothing to back up in an empty database
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()
    assert upgrade_database(db_url) is None  # at head: nothing to do


def test_sqlite_file_is_backed_up_before_migrating(tmp_path):
    path = tmp_path / "station.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE older_data (x TEXT)")
    conn.execute("INSERT INTO older_data VALUES ('keep me')")
    conn.commit()
    conn.close()

    backup = upgrade_database(f"sqlite:///{path}")

    assert backup is not None and backup.parent == data_dir() / "backups"
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("SELECT x FROM older_data").fetchall() == [("keep me",)]
        tables = {r[0] for r in copy.execute("SELECT name FROM sqlite_master")}
        assert "audit_log" not in tables  # the state before the migration
    finally:
        copy.close()
    assert upgrade_database(f"sqlite:///{path}") is None  # already current: no new backup
    assert len(list((data_dir() / "backups").iterdir())) == 1


def test_sqlite_engine_settings(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with engine.connect() as conn:
            pragma = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                      for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    finally:
        engine.dispose()
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,
                      "busy_timeout": 10000}
