"""Engines, reader sessions and migrations.

SQLite (the default, one workstation): WAL, ``synchronous=FULL`` (a commit survives power loss),
foreign keys on, a busy timeout. pysqlite's own transaction handling is switched off and SQLAlchemy
emits BEGIN itself (the approach the SQLAlchemy SQLite dialect documents), so transactions,
SAVEPOINTs and DDL behave. Connections with the execution option ``nursestation_writer`` begin
with ``BEGIN IMMEDIATE`` so a writer takes the write lock up front instead of failing later.

PostgreSQL (several workstations): ``postgresql+psycopg://user@host/db``; the password comes from
the OS keyring, else libpq's own sources (``db.password``), never from the configuration.
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from nursestation.paths import data_dir

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000
WRITER_OPTION = "nursestation_writer"
PG_CONNECT_TIMEOUT_S = 5


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs use psycopg 3."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def shown_url(url: str) -> str:
    """The database URL as it may be shown or logged: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL: show nothing of it
        return "the configured database"


def db_error_reason(exc: BaseException) -> str:
    """The driver's own first line ("connection refused", "password authentication failed")."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None (not SQLite, or in memory)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def make_engine(url: str, **kw) -> Engine:
    """An engine for ``url`` set up as described in the module docstring. Dispose it when done."""
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN (below)
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                if path is not None:
                    cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA foreign_keys=ON")
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn) -> None:
            if conn.get_execution_options().get(WRITER_OPTION):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    kw.setdefault("pool_pre_ping", True)
    if "connect_timeout" not in u.query:
        # an unreachable server is noticed in seconds (the writer then spools readings)
        kw.setdefault("connect_args", {"connect_timeout": PG_CONNECT_TIMEOUT_S})
    from nursestation.db.password import with_password

    return create_engine(with_password(url), **kw)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A short reader session (one per UI event): objects stay usable after it closes.
    Anything written in it is rolled back - writes go through the ``DbWriter``."""
    # close() (not rollback()) ends the transaction without expiring what was loaded, so the
    # returned objects stay readable, detached, for the UI.
    with Session(engine, expire_on_commit=False) as session:
        yield session


# -------------------------------------------------------------------------------------- migrations


def alembic_config(connection=None) -> AlembicConfig:
    """Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_REV = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*['\"]?([\w]+)['\"]?", re.M)


def _schema_is_current(engine: Engine) -> bool:
    """The usual start, without importing Alembic (~0.15 s of the start, make bench): a single
    line of migrations whose head the database already records. Anything else (no version
    table, branches, a revision we cannot read) says no, and Alembic decides."""
    revs: dict[str, str | None] = {}
    for f in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REV.findall(f.read_text(encoding="utf-8")))
        if "revision" not in found:
            return False
        down = found.get("down_revision")
        revs[found["revision"]] = None if down in (None, "None") else down
    heads = set(revs) - {d for d in revs.values() if d is not None}
    if len(heads) != 1:
        return False
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except Exception:  # noqa: BLE001 - no version table yet: a new or pre-Alembic database
        return False
    return [r[0] for r in rows] == list(heads)


def backup_sqlite(path: Path, label: str = "") -> Path:
    """Copy a SQLite database (consistently, WAL included) to ``data_dir()/backups``."""
    backups = data_dir() / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    suffix = f"-{label}" if label else ""
    dest = backups / f"{path.stem}-{stamp}{suffix}{path.suffix or '.sqlite3'}"
    sqlite_online_copy(str(path), str(dest))
    if not dest.exists():  # pragma: no cover - backup() always creates it
        shutil.copy2(path, dest)
    return dest


def upgrade_database(url: str) -> Path | None:
    """Bring the database to the newest schema. A SQLite file that has pending revisions and
    already holds data is first copied to ``data_dir()/backups/`` (returned; else None).
    The app calls this on start; ``nursestation db upgrade`` too."""
    engine = make_engine(url)
    backup: Path | None = None
    try:
        if _schema_is_current(engine):
            return None
        from alembic import command

        current = current_revision(engine)
        head = head_revision()
        if current == head:
            return None
        path = sqlite_path(url)
        holds_data = current is not None or bool(inspect(engine).get_table_names())
        if path is not None and holds_data:
            backup = backup_sqlite(path, label=f"before-{head}")
            log.info("backed up %s to %s before migrating", path, backup)
        elif holds_data and engine.dialect.name == "postgresql":
            from nursestation.db.backup import backup_database  # pg_dump; no backup, no upgrade

            backup = backup_database(url, label=f"before-{head}")
            log.info("backed up the database to %s before migrating", backup)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
            _record_schema_writer(conn)
        log.info("database upgraded from %s to %s", current or "empty", head)
        return backup
    finally:
        engine.dispose()


SCHEMA_APP_VERSION = "schema_app_version"


def _record_schema_writer(conn) -> None:
    """Keep which NurseStation version brought the schema to its revision (for the message
    an older station gives)."""
    from nursestation import __version__

    if "station_meta" not in inspect(conn).get_table_names():
        return
    conn.execute(text("DELETE FROM station_meta WHERE key = :k"), {"k": SCHEMA_APP_VERSION})
    conn.execute(text("INSERT INTO station_meta (key, value) VALUES (:k, :v)"),
                 {"k": SCHEMA_APP_VERSION, "v": __version__})


class SchemaMismatch(RuntimeError):
    """The database's schema is not the one this station knows; one line says both versions
    and what to do."""


def schema_state(engine: Engine) -> tuple[str, str | None]:
    """("current" | "empty" | "older" | "newer", the database's revision)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    rev = current_revision(engine)
    if rev is None:
        return ("empty" if not inspect(engine).get_table_names() else "older"), None
    script = ScriptDirectory.from_config(alembic_config())
    if rev == script.get_current_head():
        return "current", rev
    try:
        known = script.get_revision(rev) is not None
    except CommandError:
        known = False
    return ("older" if known else "newer"), rev


def _written_by(engine: Engine) -> str:
    try:
        with engine.connect() as conn:
            v = conn.execute(text("SELECT value FROM station_meta WHERE key = :k"),
                             {"k": SCHEMA_APP_VERSION}).scalar()
    except Exception:  # noqa: BLE001 - an older schema without station_meta
        return ""
    return f", NurseStation {v}" if v else ""


def prepare_database(url: str, *, allow_upgrade: bool = False) -> Path | None:
    """What a station (or a tool) does on start: a brand-new empty database is created at the
    newest schema; a database at it is used as it is; any other is refused with one line naming
    both versions - a schema upgrade is a deliberate ``nursestation db upgrade`` (backup first),
    never a side effect of starting, except where ``allow_upgrade`` (the demo's own database).
    Returns the backup made before an allowed upgrade, if any."""
    from nursestation import __version__

    engine = make_engine(url)
    try:
        if _schema_is_current(engine):
            return None
        state, rev = schema_state(engine)
        theirs = _written_by(engine)
    finally:
        engine.dispose()
    ours = f"{head_revision()}, NurseStation {__version__}"
    if state == "newer":
        raise SchemaMismatch(
            f"the database's schema ({rev}{theirs}) is newer than this station knows ({ours}): "
            f"install the newer NurseStation on this workstation; nothing was changed")
    if state == "older" and not allow_upgrade:
        raise SchemaMismatch(
            f"the database's schema ({rev or 'before migrations'}{theirs}) is older than this "
            f"station's ({ours}): when every station has this version, an administrator runs "
            f"`nursestation db upgrade` (it backs the database up first); nothing was changed")
    return upgrade_database(url) if state != "current" else None


def sqlite_online_copy(source: str, dest: str) -> None:
    """Copy a SQLite database with its online backup API (consistent while others write).
    ``source`` is a path or a ``file:`` URI (e.g. ``file:x.sqlite3?mode=ro``)."""
    src = sqlite3.connect(source, uri=source.startswith("file:"))
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
