"""User administration from the command line, every action audited (issue 16, point 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from nursestation.core.pinpolicy import PinPolicy
from nursestation.db import Database, repo, verify_audit
from nursestation.db.models import AuditLog

NURSESTATION = Path(sys.executable).with_name("nursestation")


def test_list_unlock_reset_disable_all_audited(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    env = {**os.environ, "NURSESTATION_CONFIG": str(cfg)}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([str(NURSESTATION), "user", *args], capture_output=True,
                              text=True, input=stdin, env=env, timeout=120)

    assert run("add", "nurse1", "--name", "Nora", "--pin-stdin", stdin="4826\n").returncode == 0
    with Database.open(url, upgrade=False) as db:
        for _ in range(5):
            db.writer.submit(repo.authenticate, "nurse1", "1357",
                             policy=PinPolicy(delay_seconds=0)).result()
    listed = run("list")
    assert listed.returncode == 0
    line = next(x for x in listed.stdout.splitlines() if x.startswith("nurse1"))
    assert "LOCKED" in line and line.rstrip().endswith("5")

    ok = run("unlock", "nurse1")
    assert ok.returncode == 0 and "unlocked" in ok.stdout
    assert "active" in run("list").stdout
    weak = run("reset-pin", "nurse1", "--pin-stdin", stdin="1111\n")
    assert weak.returncode == 1 and "one digit repeated" in weak.stderr
    assert run("reset-pin", "nurse1", "--pin-stdin", stdin="7391\n").returncode == 0
    assert run("disable", "nurse1").returncode == 0
    again = run("disable", "nurse1")
    assert again.returncode == 1 and "already disabled" in again.stderr
    assert "disabled" in run("list").stdout
    assert run("unlock", "nobody").returncode == 1

    with Database.open(url, upgrade=False) as db:
        assert db.writer.submit(repo.authenticate, "nurse1", "7391").result().user is None
        db.writer.submit(repo.set_user_active, "nurse1", True, by="it").result()
        assert db.writer.submit(repo.authenticate, "nurse1", "7391").result().user is not None
        with db.session_scope() as s:
            rows = {r.action: json.loads(r.detail) for r in s.scalars(
                select(AuditLog).where(AuditLog.action.in_(
                    ("unlock", "pin_reset", "disable", "enable"))))}
            assert set(rows) == {"unlock", "pin_reset", "disable", "enable"}
            assert rows["unlock"]["by"] and rows["unlock"]["failures_cleared"] == 5
            assert verify_audit(s).ok
