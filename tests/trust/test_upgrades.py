"""A station refuses, in one line naming both versions, a schema it does not know; upgrading is
a deliberate `nursestation db upgrade` with a backup first (issue 16, point 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from nursestation.db import make_engine
from nursestation.db.engine import (
    SchemaMismatch,
    alembic_config,
    current_revision,
    head_revision,
    prepare_database,
)

NURSESTATION = Path(sys.executable).with_name("nursestation")


def _run(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NURSESTATION_CONFIG": str(cfg), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([str(NURSESTATION), *args], capture_output=True, text=True,
                          timeout=120, env=env)


def _at(url: str, rev: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), rev)
    finally:
        engine.dispose()


def _sql(url: str, *stmts: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for s in stmts:
                conn.execute(text(s))
    finally:
        engine.dispose()


def test_a_new_empty_database_is_created_at_head(db_url):
    assert prepare_database(db_url) is None
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_a_newer_schema_is_refused_in_one_line_naming_both_versions(db_url, tmp_path):
    prepare_database(db_url)
    _sql(db_url, "UPDATE alembic_version SET version_num = '0099_future'",
         "UPDATE station_meta SET value = '9.9.0' WHERE key = 'schema_app_version'")
    with pytest.raises(SchemaMismatch) as err:
        prepare_database(db_url)
    msg = str(err.value)
    assert "\n" not in msg
    assert "(0099_future, NurseStation 9.9.0) is newer than this station knows" in msg
    assert head_revision() in msg
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "{db_url}"\n', encoding="utf-8")
    for args in (("--quit-after", "0.1"), ("visits",), ("audit", "verify")):
        res = _run(cfg, *args)
        assert res.returncode != 0, args
        assert "0099_future" in res.stderr and head_revision() in res.stderr, res.stderr
        assert "Traceback" not in res.stderr


def test_an_older_schema_needs_db_upgrade_which_backs_up_first(tmp_path):
    path = tmp_path / "clinic.sqlite3"
    url = f"sqlite:///{path}"
    _at(url, "0001")
    _sql(url, "INSERT INTO chairs (name, position, active) VALUES ('Chair 1', 0, 1)")
    with pytest.raises(SchemaMismatch, match="older than this station's"):
        prepare_database(url)
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    start = _run(cfg, "--quit-after", "0.1")
    assert start.returncode == 2 and "nursestation db upgrade" in start.stderr
    engine = make_engine(url)
    try:
        assert current_revision(engine) == "0001"  # starting changed nothing
    finally:
        engine.dispose()
    up = _run(cfg, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert "backed up the database to" in up.stdout
    assert prepare_database(url) is None  # at head now


def test_the_demo_may_upgrade_its_own_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    _at(url, "0001")
    _sql(url, "INSERT INTO chairs (name, position, active) VALUES ('Chair 1', 0, 1)")
    assert prepare_database(url, allow_upgrade=True) is not None  # the backup it made
