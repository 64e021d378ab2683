"""Backups and the restore drill: back up, lose data, restore, and `audit verify` passes
(issue 16, point 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from nursestation.db import Database, repo, verify_audit
from nursestation.db.backup import BackupScheduler, backup_database, restore_database
from nursestation.db.models import AuditLog, Note
from tests.db.helpers import setup_visit, tamper

NURSESTATION = Path(sys.executable).with_name("nursestation")


def test_restore_drill_ends_with_audit_verify_passing(db_url, tmp_path):
    db = Database.open(db_url)
    nurse = db.writer.submit(repo.create_user, "nurse1", "N", "nurse", "4826").result()
    _, _, visit = setup_visit(db, nurse)
    db.writer.submit(repo.add_note, visit.id, "before the backup", user=nurse).result()
    backup = backup_database(db_url, tmp_path / "backups")
    db.writer.submit(repo.add_note, visit.id, "after the backup", user=nurse).result()
    tamper(db.engine, "DELETE FROM notes")  # the disaster
    with db.session_scope() as s:
        assert not verify_audit(s).ok
    db.close()

    restore_database(db_url, backup)

    db = Database.open(db_url, upgrade=False)
    try:
        with db.session_scope() as s:
            assert [n.text for n in s.scalars(select(Note))] == ["before the backup"]
            result = verify_audit(s)
            assert result.ok, result.problems
            assert any("restore" in n for n in result.notes)
            restore = s.scalars(select(AuditLog).where(AuditLog.action == "restore")).one()
            assert backup.name in restore.detail
        # the restored station charts on; the chain and its anchors carry on from there
        db.writer.submit(repo.add_note, visit.id, "after the restore", user=nurse).result()
        with db.session_scope() as s:
            assert verify_audit(s).ok
    finally:
        db.close()


def test_backup_and_restore_commands(tmp_path):
    path = tmp_path / "clinic.sqlite3"
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "sqlite:///{path}"\nbackup_dir = "kept"\n', encoding="utf-8")
    env = {**os.environ, "NURSESTATION_CONFIG": str(cfg)}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([str(NURSESTATION), *args], capture_output=True, text=True,
                              input=stdin, env=env, timeout=120)

    assert run("user", "add", "nurse1", "--pin-stdin", stdin="4826\n").returncode == 0
    out = run("db", "backup")
    assert out.returncode == 0, out.stderr
    made = sorted((tmp_path / "kept").glob("*.sqlite3"))
    assert len(made) == 1 and str(made[0]) in out.stdout
    refused = run("db", "restore", str(made[0]))  # not a terminal: needs --yes
    assert refused.returncode == 1 and "--yes" in refused.stderr
    ok = run("db", "restore", str(made[0]), "--yes")
    assert ok.returncode == 0, ok.stderr
    assert run("audit", "verify").returncode == 0


def test_scheduled_backups_keep_the_newest(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    Database.open(url).close()
    sched = BackupScheduler(url, tmp_path / "auto", every_h=24, keep=2, min_delay_s=300)
    assert sched.first_delay() >= 300  # never during start-up
    made = [sched.run_once() for _ in range(3)]
    assert all(made) and sched.last_error == ""
    left = sorted(p.name for p in (tmp_path / "auto").iterdir())
    assert left == sorted(p.name for p in made[1:])
    assert sched.first_delay() > 23 * 3600  # the newest is fresh: next one a day later
