"""Facts a database keeps about itself (``station_meta``): its id, the audit chain's key id and
start, and the demo marker.

The demo marker is why ``--demo`` can never harm a clinic's record: the demo writes it when it
creates its database, and checks it - reading the file read-only, before any migration, write
or delete - whenever it finds a database already there. A database without it is refused.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursestation.db.models import StationMeta

DATABASE_ID = "database_id"
AUDIT_KEY_ID = "audit_key_id"
AUDIT_KEYED_FROM = "audit_keyed_from"
DEMO_MARKER = "demo_created_at"


class NotADemoDatabase(RuntimeError):
    """The demo found a database it did not create; the message says which and what to do."""


def get_meta(session: Session, key: str) -> str | None:
    return session.scalar(select(StationMeta.value).where(StationMeta.key == key))


def set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(StationMeta, key)
    if row is None:
        session.add(StationMeta(key=key, value=value))
    else:
        row.value = value
    session.flush()


def mark_demo(session: Session) -> None:
    """Mark this database as the demo's own (inside the transaction that creates it)."""
    if get_meta(session, DEMO_MARKER) is None:
        set_meta(session, DEMO_MARKER, datetime.now(UTC).isoformat(timespec="seconds"))


def has_demo_marker(path: Path) -> bool:
    """Does the SQLite file at ``path`` carry the demo marker? Read-only: nothing is created,
    migrated or written, whatever the file is."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute("SELECT value FROM station_meta WHERE key = ?",
                           (DEMO_MARKER,)).fetchone()
    except sqlite3.Error:  # no such table, not a database, locked: not ours
        return False
    finally:
        conn.close()
    return row is not None


def check_demo_database(path: Path) -> None:
    """Raise :class:`NotADemoDatabase` unless ``path`` is absent or the demo's own."""
    if not path.exists() or has_demo_marker(path):
        return
    raise NotADemoDatabase(
        f"{path} was not created by the demo (it has no demo marker); the demo never opens, "
        f"changes or deletes a database it did not create. Nothing was changed. If it is an "
        f"old demo database you no longer need, remove it yourself.")


def create_demo_database(path: Path) -> None:
    """Create the demo's database at ``path`` (absent): built and marked under a temporary
    name, then moved into place, so a file at ``path`` always carries the marker."""
    from nursestation.db.engine import make_engine, upgrade_database

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".creating")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{tmp}"
    upgrade_database(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            mark_demo(session)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    tmp.replace(path)
