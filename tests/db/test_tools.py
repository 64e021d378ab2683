"""The record's command-line tools, run as the IT person would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nursestation.db import Database, repo
from tests.db.helpers import setup_visit

NURSESTATION = Path(sys.executable).with_name("nursestation")


def _run(cfg: Path, *args: str, stdin: str | None = None):
    return subprocess.run([str(NURSESTATION), *args], input=stdin, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "NURSESTATION_CONFIG": str(cfg)})


def _config(tmp_path: Path, db_url: str) -> Path:
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "{db_url}"\n', encoding="utf-8")
    return cfg


def test_user_add_upgrade_and_visits(db_url, tmp_path):
    cfg = _config(tmp_path, db_url)
    r = _run(cfg, "visits")
    assert r.returncode != 0 and "db upgrade" in r.stderr
    assert _run(cfg, "db", "upgrade").returncode == 0

    bad = _run(cfg, "user", "add", "jdoe", "--pin-stdin", stdin="12\n")
    assert bad.returncode != 0 and "at least 4 digits" in bad.stderr
    ok = _run(cfg, "user", "add", "--role", "charge", "--name", "Jo Doe", "jdoe",
              "--pin-stdin", stdin="246810\n")
    assert ok.returncode == 0, ok.stderr
    dup = _run(cfg, "user", "add", "jdoe", "--pin-stdin", stdin="7359\n")
    assert dup.returncode != 0 and "already exists" in dup.stderr

    db = Database.open(db_url, upgrade=False)
    try:
        user = db.writer.submit(repo.authenticate, "jdoe", "246810").result().user
        assert user is not None and user.role == "charge" and user.display_name == "Jo Doe"
        _, _, visit = setup_visit(db, user)
    finally:
        db.close()

    listed = _run(cfg, "visits", "--json")
    assert listed.returncode == 0, listed.stderr
    (v,) = json.loads(listed.stdout)
    assert (v["id"], v["patient"], v["chair"], v["phase"]) == (visit.id, "Sam Rivera",
                                                              "Chair 1", "check_in")
    table = _run(cfg, "visits")
    assert "Sam Rivera" in table.stdout and "check_in" in table.stdout
    assert _run(cfg, "audit", "verify").stdout.startswith("audit log intact:")
