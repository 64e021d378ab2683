"""Backups of the medical record, restores, and the station's scheduled backup.

- SQLite: the online backup API (``sqlite3.Connection.backup``) - a consistent copy while the
  station keeps writing (WAL included), never a file copy.
- PostgreSQL: ``pg_dump --format=custom``; restored with ``pg_restore --clean``. The password is
  never put on a command line: it comes from the URL or the OS keyring (passed as ``PGPASSWORD``
  to the child only), ``~/.pgpass`` or the environment, as for the station.

A backup also anchors the audit chain's head it contains (event ``backup``); a restore appends a
``restore`` audit row in the restored database and anchors it (event ``restore``), so
``audit verify`` afterwards explains the anchors of rows the restore went back past instead of
reporting them as removed.
"""

from __future__ import annotations

import getpass
import glob
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from nursestation.db.engine import make_engine, normalise_url, sqlite_online_copy, sqlite_path
from nursestation.paths import data_dir

log = logging.getLogger(__name__)

SQLITE_SUFFIX = ".sqlite3"
PG_SUFFIX = ".pgdump"


class BackupError(RuntimeError):
    """A backup or restore that could not be made; the message says why."""


def default_backup_dir() -> Path:
    return data_dir() / "backups"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore: on PATH, else the newest of Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = []
    for path in glob.glob(f"/usr/lib/postgresql/*/bin/{name}"):
        m = re.search(r"/postgresql/(\d+)", path)
        candidates.append((int(m.group(1)) if m else 0, path))
    if candidates:
        return max(candidates)[1]
    raise BackupError(f"{name} not found: install the PostgreSQL client tools")


def _pg_target(url: str) -> tuple[str, dict[str, str]]:
    """(libpq URI without the password, environment with PGPASSWORD when the URL or the OS
    keyring has one)."""
    from nursestation.db.password import lookup_password

    u = make_url(normalise_url(url))
    env = dict(os.environ)
    password = lookup_password(u).password
    if password:
        env["PGPASSWORD"] = password
    uri = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: "
                          f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")


def backup_database(url: str, dest_dir: Path | None = None, *, label: str = "") -> Path:
    """Back ``url`` up into ``dest_dir`` (default ``<data dir>/backups``); returns the file."""
    dest_dir = dest_dir or default_backup_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    suffix = f"-{label}" if label else ""
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise BackupError(f"no database file {path}")
        dest = dest_dir / f"{path.stem}-{_stamp()}{suffix}{SQLITE_SUFFIX}"
        sqlite_online_copy(f"file:{path}?mode=ro", str(dest))
    elif make_url(normalise_url(url)).get_backend_name() == "postgresql":
        uri, env = _pg_target(url)
        name = make_url(normalise_url(url)).database or "nursestation"
        dest = dest_dir / f"{name}-{_stamp()}{suffix}{PG_SUFFIX}"
        _run([_pg_tool("pg_dump"), "--format=custom", "--file", str(dest), "--dbname", uri], env)
    else:
        raise BackupError("only SQLite files and PostgreSQL databases can be backed up")
    os.chmod(dest, 0o600)
    _anchor(url, "backup", dest.name)
    return dest


def restore_database(url: str, backup: Path) -> Path | None:
    """Replace the database at ``url`` with ``backup``. A SQLite file is first backed up itself
    (returned). No station may be running on it. Audited and anchored afterwards."""
    if not backup.exists():
        raise BackupError(f"no backup file {backup}")
    before: Path | None = None
    path = sqlite_path(url)
    if path is not None:
        if backup.suffix != SQLITE_SUFFIX:
            raise BackupError(f"{backup.name} is not a SQLite backup")
        check = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{backup} fails SQLite's integrity check")
        finally:
            check.close()
        if path.exists():
            before = backup_database(url, label="before-restore")
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite_online_copy(f"file:{backup}?mode=ro", str(path))
    elif make_url(normalise_url(url)).get_backend_name() == "postgresql":
        if backup.suffix != PG_SUFFIX:
            raise BackupError(f"{backup.name} is not a PostgreSQL backup (pg_dump custom format)")
        uri, env = _pg_target(url)
        _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
              "--single-transaction", "--exit-on-error", "--dbname", uri, str(backup)], env)
    else:
        raise BackupError("only SQLite files and PostgreSQL databases can be restored")
    _audit_restore(url, backup)
    return before


def _anchor(url: str, event: str, note: str) -> None:
    from nursestation.db.audit import chain_head, write_anchor

    engine = make_engine(url)
    try:
        with Session(engine) as s:
            head = chain_head(s)
        if head.audit_id:
            write_anchor(head.database_id, head.audit_id, head.hash, event=event, note=note)
    except Exception:
        log.exception("could not anchor the audit chain after the %s", event)
    finally:
        engine.dispose()


def _audit_restore(url: str, backup: Path) -> None:
    """The restored chain's head is anchored as a ``restore`` (the anchors of rows past it
    belonged to the database before), then the restore itself is audited and anchored."""
    from nursestation.db.audit import anchor_committed, append_audit, chain_head, write_anchor
    from nursestation.db.engine import WRITER_OPTION

    engine = make_engine(url)
    try:
        with Session(engine) as s:
            head = chain_head(s)
        write_anchor(head.database_id, head.audit_id, head.hash, event="restore",
                     note=backup.name)
        with Session(engine.execution_options(**{WRITER_OPTION: True})) as s:
            with s.begin():
                append_audit(s, None, "restore", None, entity_type="database",
                             at=datetime.now(UTC),
                             extra={"backup": backup.name, "by": _os_user(),
                                    "restored_head": head.audit_id})
            anchor_committed(s)
    finally:
        engine.dispose()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return ""


def prune_backups(dest_dir: Path, keep: int) -> list[Path]:
    """Keep the newest ``keep`` scheduled backups (``-auto`` ones); return those removed."""
    autos = sorted((p for p in dest_dir.glob("*-auto*") if p.is_file()),
                   key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    removed = autos[keep:] if keep > 0 else []
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


class BackupScheduler:
    """Backs the database up every ``every_h`` hours into ``dest_dir`` (label ``auto``) and
    keeps the newest ``keep``. The first run comes when the newest backup there is
    ``every_h`` old (at least ``min_delay_s`` after start, so start-up is not slowed)."""

    def __init__(self, url: str, dest_dir: Path, every_h: float, keep: int, *,
                 min_delay_s: float = 300.0) -> None:
        self.url, self.dest_dir, self.every_s, self.keep = url, dest_dir, every_h * 3600, keep
        self.min_delay_s = min_delay_s
        self.last: Path | None = None
        self.last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nursestation-backup",
                                        daemon=True)

    def first_delay(self) -> float:
        newest = max((p.stat().st_mtime for p in self.dest_dir.glob("*-auto*")), default=0.0)
        return max(self.min_delay_s, newest + self.every_s - time.time())

    def start(self) -> BackupScheduler:
        self._thread.start()
        return self

    def run_once(self) -> Path | None:
        try:
            self.last = backup_database(self.url, self.dest_dir, label="auto")
            prune_backups(self.dest_dir, self.keep)
            self.last_error = ""
            log.info("scheduled backup written to %s", self.last)
        except Exception as exc:  # noqa: BLE001 - reported, retried at the next interval
            self.last_error = str(exc)
            log.error("scheduled backup failed: %s", exc)
            return None
        return self.last

    def _run(self) -> None:
        delay = self.first_delay()
        while not self._stop.wait(delay):
            self.run_once()
            delay = self.every_s

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
