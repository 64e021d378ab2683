"""Command-line tools for the record: ``visits``, ``db upgrade``, ``audit verify``, ``user add``.

Each returns the process exit status and prints for a clinic's IT person, not a traceback.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from nursestation.db import repo
from nursestation.db.audit import anchors_path, verify_audit
from nursestation.db.engine import (
    SchemaMismatch,
    db_error_reason,
    head_revision,
    make_engine,
    prepare_database,
    schema_state,
    shown_url,
    upgrade_database,
)
from nursestation.db.writer import Database

if TYPE_CHECKING:
    from nursestation.config import Config


def _err(msg: str) -> None:
    print(f"nursestation: {msg}", file=sys.stderr)


def _open_checked(config: Config) -> Database | None:
    """Open the database for reading and writing, without migrating: a tool never changes
    the schema behind the IT person's back (``db upgrade`` does that)."""
    engine = make_engine(config.database_url)
    try:
        state, rev = schema_state(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        from nursestation.db.password import explain_login_failure

        _err(f"cannot open the database {shown_url(config.database_url)}: "
             f"{explain_login_failure(config.database_url, db_error_reason(exc))}")
        return None
    if state != "current":
        engine.dispose()
        if state == "empty":
            demo = "" if config.demo else " (the demo keeps its own database: add --demo)"
            _err(f"the database is empty; run `nursestation db upgrade` first{demo}")
            return None
        try:
            prepare_database(config.database_url)
        except SchemaMismatch as exc:
            _err(str(exc))
        return None
    from nursestation.db.writer import DbWriter

    return Database(engine, DbWriter(engine), config.database_url)


def cmd_visits(config: Config, as_json: bool = False) -> int:
    db = _open_checked(config)
    if db is None:
        return 1
    try:
        with db.session_scope() as s:
            visits = repo.list_visits(s)
    finally:
        db.close()
    if as_json:
        print(json.dumps([{
            "id": v.id, "mrn": v.mrn, "patient": v.patient, "chair": v.chair,
            "date": v.started.isoformat(), "phase": v.phase, "course_number": v.course_number,
        } for v in visits], indent=2))
        return 0
    if not visits:
        print("no visits")
        return 0
    rows = [("ID", "PATIENT", "MRN", "CHAIR", "DATE (local)", "PHASE")]
    rows += [(str(v.id), v.patient, v.mrn, v.chair,
              v.started.astimezone().strftime("%Y-%m-%d %H:%M"), v.phase) for v in visits]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def cmd_db_upgrade(config: Config) -> int:
    try:
        backup = upgrade_database(config.database_url)
    except SQLAlchemyError as exc:
        _err(f"upgrade failed for {config.database_url}: {exc}")
        return 1
    if backup is not None:
        print(f"backed up the database to {backup}")
    print(f"database is at revision {head_revision()}")
    return 0


def cmd_db_backup(config: Config, out: str | None) -> int:
    from pathlib import Path

    from nursestation.db.backup import BackupError, backup_database

    try:
        path = backup_database(config.database_url,
                               Path(out) if out else config.backup_dir)
    except BackupError as exc:
        _err(str(exc))
        return 1
    print(f"backed up {shown_url(config.database_url)} to {path}")
    return 0


def cmd_db_restore(config: Config, file: str, yes: bool) -> int:
    from pathlib import Path

    from nursestation.db.backup import BackupError, restore_database

    target = shown_url(config.database_url)
    if not yes:
        if not sys.stdin.isatty():
            _err("restoring replaces the whole database: add --yes to confirm")
            return 1
        answer = input(f"Replace {target} with {file}? Stop every station first. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing was changed")
            return 1
    try:
        before = restore_database(config.database_url, Path(file))
    except BackupError as exc:
        _err(str(exc))
        return 1
    if before is not None:
        print(f"the database as it was is kept in {before}")
    print(f"restored {target} from {file}; run `nursestation audit verify`")
    return 0


def cmd_db_roles(config: Config) -> int:
    from sqlalchemy.engine import make_url

    from nursestation.db.roles import roles_sql

    u = make_url(config.database_url)
    if u.get_backend_name() != "postgresql":
        _err("roles are for PostgreSQL; on SQLite the database's triggers refuse UPDATE and "
             "DELETE on the clinical and audit tables, and the file's permissions decide who "
             "may open it")
        return 1
    print(roles_sql(u.database or "nursestation"), end="")
    return 0


def cmd_db_set_password(config: Config, from_stdin: bool = False) -> int:
    """Keep the PostgreSQL password in this account's OS keyring, then try it."""
    from nursestation.db.password import KeyringUnavailable, keyring_account, store_password

    if keyring_account(config.database_url) is None:
        _err("the database is a SQLite file: it has no password")
        return 1
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {shown_url(config.database_url)}: ")
        if getpass.getpass("Password again: ") != password:
            _err("the two passwords differ; nothing was stored")
            return 1
    if not password:
        _err("an empty password; nothing was stored (`db clear-password` removes one)")
        return 1
    try:
        account = store_password(config.database_url, password)
    except KeyringUnavailable as exc:
        _err(f"{exc}. Nothing was stored: use ~/.pgpass (mode 0600) or PGPASSWORD in the "
             f"station's environment instead (README, 'For IT')")
        return 1
    print(f"stored in the OS keyring (service nursestation, account {account}) of "
          f"{_os_user()}; run this as the account the station runs as")
    engine = make_engine(config.database_url)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        print(f"warning: connecting with it failed: {db_error_reason(exc)}")
        return 1
    finally:
        engine.dispose()
    print(f"connected to {shown_url(config.database_url)} with it")
    return 0


def cmd_db_clear_password(config: Config) -> int:
    from nursestation.db.password import KeyringUnavailable, clear_password

    try:
        account, had = clear_password(config.database_url)
    except KeyringUnavailable as exc:
        _err(str(exc))
        return 1
    print(f"removed the password of {account} from the OS keyring" if had
          else f"the OS keyring held no password for {account}")
    return 0


def cmd_audit_verify(config: Config) -> int:
    db = _open_checked(config)
    if db is None:
        return 1
    try:
        with db.session_scope() as s:
            result = verify_audit(s)
    finally:
        db.close()
    for note in result.notes:
        print(f"note: {note}")
    if result.ok:
        print(f"audit log intact: {result.rows} rows, {result.anchors} anchors from "
              f"{anchors_path()} match, every row accounted for")
        return 0
    where = f" at audit row {result.broken_row_id}" if result.broken_row_id else ""
    print(f"AUDIT LOG BROKEN{where}: {result.problem}")
    for problem in result.problems[1:]:
        print(f"  also: {problem}")
    return 3


def _read_pin(pin_stdin: bool) -> str | None:
    if pin_stdin:
        return sys.stdin.readline().strip()
    first = getpass.getpass("PIN (at least 4 digits): ")
    second = getpass.getpass("PIN again: ")
    if first != second:
        _err("the two PINs differ; nothing was saved")
        return None
    return first


def cmd_user_add(config: Config, username: str, display_name: str | None, role: str,
                 pin_stdin: bool = False) -> int:
    pin = _read_pin(pin_stdin)
    if pin is None:
        return 1
    try:
        repo.check_pin_format(pin, role, config.pin_policy)
    except repo.RecordError as exc:
        _err(f"{exc}; nothing was saved")
        return 1
    # Creating the first user is usually the first thing done on a new install: a new empty
    # database is created the way the app does on start; an older one needs `db upgrade`.
    try:
        prepare_database(config.database_url)
    except SchemaMismatch as exc:
        _err(str(exc))
        return 1
    except SQLAlchemyError as exc:
        _err(f"cannot prepare the database {shown_url(config.database_url)}: "
             f"{db_error_reason(exc)}")
        return 1
    db = _open_checked(config)
    if db is None:
        return 1
    try:
        user = db.writer.submit(repo.create_user, username, display_name or username, role,
                                pin, policy=config.pin_policy).result()
    except repo.RecordError as exc:
        _err(str(exc))
        return 1
    finally:
        db.close()
    print(f"created {user.role} {user.username!r} ({user.display_name})")
    return 0


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a service): say so in the audit row
        return "unknown OS user"


def cmd_user_list(config: Config) -> int:
    db = _open_checked(config)
    if db is None:
        return 1
    try:
        with db.session_scope() as s:
            users = repo.list_users(s, active_only=False)
    finally:
        db.close()
    rows = [("USERNAME", "NAME", "ROLE", "STATE", "WRONG PINS")]
    for u in users:
        state = ("disabled" if not u.active else "LOCKED" if u.locked_at is not None
                 else "active")
        rows.append((u.username, u.display_name, u.role, state, str(u.failed_pins or 0)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def cmd_user_admin(config: Config, action: str, username: str, pin_stdin: bool = False) -> int:
    """disable / enable / unlock / reset-pin: audited with the OS account that ran it."""
    pin = None
    if action == "reset-pin":
        pin = _read_pin(pin_stdin)
        if pin is None:
            return 1
    db = _open_checked(config)
    if db is None:
        return 1
    by = _os_user()
    try:
        if action == "unlock":
            u = db.writer.submit(repo.unlock_user, username, by=by).result()
            done = "unlocked"
        elif action in ("disable", "enable"):
            u = db.writer.submit(repo.set_user_active, username, action == "enable",
                                 by=by).result()
            done = f"{action}d"
        else:
            u = db.writer.submit(repo.reset_pin, username, pin, by=by,
                                 policy=config.pin_policy).result()
            done = "given a new PIN (and unlocked)"
    except repo.RecordError as exc:
        _err(f"{exc}; nothing was changed")
        return 1
    finally:
        db.close()
    print(f"{u.username} ({u.display_name}) {done}; recorded in the audit log as done by {by}")
    return 0
