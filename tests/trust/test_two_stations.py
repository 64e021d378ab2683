"""Two stations on one database: each owns the chairs of its own config, never changes
another's, refuses to start on a chair a running workstation owns, and the overview shows
every workstation's chairs (issue 16, point 5/8). Real station processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from nursestation.db import Database, repo
from nursestation.db.models import Chair, Device, Workstation

NURSESTATION = Path(sys.executable).with_name("nursestation")


def _config(tmp_path: Path, name: str, url: str, chairs: dict[str, str]) -> Path:
    lines = [f'database_url = "{url}"', f'workstation_id = "{name}"',
             "backup_every_hours = 0"]
    for chair, dev in chairs.items():
        lines += ["[[chairs]]", f'name = "{chair}"',
                  f'devices = [{{ protocol = "masimo", url = "loop://", id = "{dev}" }}]']
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _station(cfg: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([str(NURSESTATION), "--config", str(cfg), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _live(db: Database, ws: str) -> bool:
    with db.session_scope() as s:
        w = s.get(Workstation, ws)
        return w is not None and w.heartbeat_at is not None


def test_two_station_processes_share_a_database(db_url, tmp_path):
    Database.open(db_url).close()
    a = _station(_config(tmp_path, "ws-a", db_url, {"Chair 1": "a1-ox", "Chair 2": "a2-ox"}),
                 "--quit-after", "120")
    db = Database.open(db_url, upgrade=False)
    try:
        deadline = time.monotonic() + 90  # a bounded wait for the other process to start
        while not _live(db, "ws-a"):
            assert a.poll() is None, a.communicate()[1]
            assert time.monotonic() < deadline, "station A did not start"
            time.sleep(0.2)

        clash = _station(_config(tmp_path, "ws-b", db_url, {"Chair 2": "b2-ox",
                                                             "Chair 3": "b3-ox"}),
                         "--quit-after", "0.5")
        _, err = clash.communicate(timeout=120)
        assert clash.returncode == 2
        assert "Chair 2 (workstation ws-a)" in err and "Traceback" not in err

        b = _station(_config(tmp_path, "ws-b2", db_url, {"Chair 3": "b3-ox"}),
                     "--quit-after", "0.5")
        _, err = b.communicate(timeout=120)
        assert b.returncode == 0, err

        with db.session_scope() as s:
            chairs = {c.name: (c.workstation, c.active) for c in s.scalars(select(Chair))}
            assert chairs == {"Chair 1": ("ws-a", True), "Chair 2": ("ws-a", True),
                              "Chair 3": ("ws-b2", True)}
            devs = {d.device_key: d.chair_id for d in s.scalars(select(Device))}
            assert "b2-ox" not in devs  # the refused start changed nothing
            # the overview's chair list: every workstation's chairs
            assert [c.name for c in repo.list_chairs(s)] == ["Chair 1", "Chair 2", "Chair 3"]

        a.send_signal(signal.SIGKILL)  # station A dies without saying so
        a.communicate(timeout=30)
        with db.engine.begin() as conn:  # ...and its heartbeat goes stale
            conn.execute(text("UPDATE workstations SET heartbeat_at = :t WHERE id = 'ws-a'"),
                         {"t": (datetime.now(UTC) - timedelta(minutes=10)).replace(
                             tzinfo=None if db.engine.dialect.name == "sqlite" else UTC)})
        b = _station(_config(tmp_path, "ws-b2", db_url, {"Chair 2": "b2-ox",
                                                         "Chair 3": "b3-ox"}),
                     "--quit-after", "0.5")
        _, err = b.communicate(timeout=120)
        assert b.returncode == 0, err
        with db.session_scope() as s:
            chairs = {c.name: (c.workstation, c.active) for c in s.scalars(select(Chair))}
            assert chairs["Chair 2"] == ("ws-b2", True) and chairs["Chair 1"] == ("ws-a", True)
            assert s.get(Workstation, "ws-b2").heartbeat_at is None  # stopped cleanly
    finally:
        if a.returncode is None:
            a.kill()
            a.communicate(timeout=30)
        db.close()
