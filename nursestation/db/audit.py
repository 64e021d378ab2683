"""The audit log's keyed hash chain, its anchors outside the database, the change marker, and
their verification.

Every audited write appends one ``AuditLog`` row in the same transaction as the change. The row's
``detail`` holds the written row's full content (secrets as SHA-256 only), so ``verify_audit``
can tell both an altered audit row and an altered record row. Stored vitals and wave chunks are
covered per stored batch: one ``store`` audit row names the batch's ids and a SHA-256 digest of
their content.

Tamper evidence against someone with database access (issue 16):

- **Keyed chain.** ``hash = HMAC-SHA256(key, prev_hash + canonical content)``. The key is not in
  the database: ``NURSESTATION_AUDIT_KEY`` (hex) or the key file ``NURSESTATION_AUDIT_KEY_FILE``
  (default ``<data dir>/audit.key``, created 0600 by the first write to a new chain). Without
  it, a rewritten row cannot be given a valid hash, however the chain is recomputed. The
  database records only the key's id, so a workstation with the wrong key refuses to write.
  Rows written before migration ``0002_h16_trust`` keep their plain SHA-256 links.
- **Anchors.** After each commit that appended audit rows the writer appends the chain's head
  (database id, row id, hash) to an append-only file outside the database
  (``NURSESTATION_AUDIT_ANCHORS``, default ``<data dir>/audit-anchors.jsonl``); each printed
  session summary shows the head too. Cutting rows off the end of the chain, or rewriting it
  with the key, no longer matches the anchors.
- **Both ways.** Every row of an audited table must have its audit row, and every audit row's
  row must exist; both orphans are reported.
- **The database refuses** UPDATE and DELETE on the append-only tables (triggers; PostgreSQL
  grants, ``nursestation db roles``), so the application itself never could.

Appends are serialised: on SQLite the writer's transactions start with ``BEGIN IMMEDIATE``; on
PostgreSQL a transaction-scoped advisory lock is taken before reading the chain's last row, and
``prev_hash`` is unique so a fork would fail to commit anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import platform
import secrets
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Float, inspect, select, text, update
from sqlalchemy.orm import Session

from nursestation.db.meta import AUDIT_KEY_ID, AUDIT_KEYED_FROM, DATABASE_ID, set_meta
from nursestation.db.models import (
    CLINICAL_MODELS,
    MODELS_BY_TABLE,
    AuditLog,
    Base,
    ChangeMarker,
    StationMeta,
    User,
    Vital,
    WaveChunk,
)
from nursestation.db.types import as_utc
from nursestation.paths import data_dir

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
#: Arbitrary constant key for pg_advisory_xact_lock (ASCII "NSAUDIT").
_PG_AUDIT_LOCK = 0x4E534155444954
NOTIFY_CHANNEL = "nursestation_changes"

KEY_ENV = "NURSESTATION_AUDIT_KEY"
KEY_FILE_ENV = "NURSESTATION_AUDIT_KEY_FILE"
ANCHORS_ENV = "NURSESTATION_AUDIT_ANCHORS"
KEY_BYTES = 32

#: Tables whose every row must have an audit row naming it (``entity_type``/``entity_id``).
ENTITY_TABLES: tuple[str, ...] = (
    "users", "patients", "patient_weights", "chairs", "devices", "visits", "alarm_events",
    *(m.__tablename__ for m in CLINICAL_MODELS),
)
#: Machine records covered per stored batch: table -> (model, columns digested, meta key of
#: the first id covered).
STORED_TABLES: dict[str, tuple[type[Base], tuple[str, ...], str]] = {
    "vitals": (Vital, ("id", "chair_id", "visit_id", "device_key", "code", "value", "text",
                       "unit", "quality", "source_time", "recv_time", "site", "primary_site"),
               "vitals_covered_from"),
    "wave_chunks": (WaveChunk, ("id", "chair_id", "visit_id", "device_key", "code",
                                "start_time", "rate_hz", "n_samples", "encoding", "data",
                                "quality"), "wave_chunks_covered_from"),
}


#: Stored-table columns added after batches were digested: value they had before (vitals' site)
_LATER_DEFAULTS: dict[str, object] = {"site": "", "primary_site": True}
_NO_DEFAULT = object()


class AuditKeyError(RuntimeError):
    """The audit key is missing, unreadable, too open, or not this database's."""


# ------------------------------------------------------------------------------------ the key


def audit_key_path() -> Path:
    override = os.environ.get(KEY_FILE_ENV)
    return Path(override) if override else data_dir() / "audit.key"


def load_audit_key(*, create: bool = False) -> bytes | None:
    """The audit key: ``NURSESTATION_AUDIT_KEY`` (hex), else the key file; ``create`` makes a
    new random key file (0600) when there is none. None when there is none."""
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        try:
            key = bytes.fromhex(env)
        except ValueError:
            raise AuditKeyError(f"{KEY_ENV} is not hexadecimal") from None
        if len(key) < KEY_BYTES:
            raise AuditKeyError(f"{KEY_ENV} is {len(key)} bytes; at least {KEY_BYTES}")
        return key
    path = audit_key_path()
    if path.exists():
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise AuditKeyError(f"the audit key file {path} can be read by other users "
                                f"(mode {stat.S_IMODE(path.stat().st_mode):o}); "
                                f"run: chmod 600 {path}")
        try:
            key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except (OSError, ValueError) as exc:
            raise AuditKeyError(f"cannot read the audit key file {path}: {exc}") from None
        if len(key) < KEY_BYTES:
            raise AuditKeyError(f"the audit key file {path} holds {len(key)} bytes; at least "
                                f"{KEY_BYTES}")
        return key
    if not create:
        return None
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (key.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("created the audit key file %s (keep a copy with the backups, apart from them)",
             path)
    return key


def key_id(key: bytes) -> str:
    """A short public name of the key (stored in the database; reveals nothing of the key)."""
    return hashlib.sha256(b"nursestation audit key id:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class _Chain:
    database_id: str
    keyed_from: int
    key: bytes | None


def _meta(session: Session) -> dict[str, str]:
    return {k: v for k, v in session.execute(select(StationMeta.key, StationMeta.value))}


def _chain(session: Session) -> _Chain:
    """The chain's facts for this transaction (the key checked against the database's)."""
    cached = session.info.get("_audit_chain")
    if cached is not None:
        return cached
    meta = _meta(session)
    stored = meta.get(AUDIT_KEY_ID)
    key = load_audit_key(create=stored is None)
    assert key is not None or stored is not None
    if stored is None:
        assert key is not None
        set_meta(session, AUDIT_KEY_ID, key_id(key))
    elif key is None:
        raise AuditKeyError(
            f"this database's audit chain is keyed (key id {stored}) but this workstation has "
            f"no audit key ({KEY_ENV}, or the file {audit_key_path()}): copy the key file from "
            f"the workstation that holds it; nothing was written")
    elif key_id(key) != stored:
        raise AuditKeyError(
            f"this workstation's audit key (id {key_id(key)}) is not the one this database's "
            f"audit chain uses (id {stored}); nothing was written")
    chain = _Chain(meta.get(DATABASE_ID, ""), int(meta.get(AUDIT_KEYED_FROM, "1")), key)
    session.info["_audit_chain"] = chain
    return chain


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    raise TypeError(f"cannot put {type(value).__name__} into the audit trail")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTC ISO times."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_json_default, allow_nan=False)


def row_content(obj: Base) -> dict[str, Any]:
    """The row's column values as plain JSON-able data (as the audit trail records them)."""
    mapper = inspect(type(obj))
    out: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        value = getattr(obj, attr.key)
        if value is not None:
            column_type = attr.columns[0].type
            if isinstance(column_type, Float):
                value = float(value)
            elif isinstance(column_type, Boolean):
                value = bool(value)
        if attr.key in obj.audit_redact and value is not None:
            value = "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()
        # Round-trip through canonical JSON so the stored form and a recomputation agree.
        out[attr.key] = json.loads(canonical_json(value))
    return out


def _row_hash(prev_hash: str, row: AuditLog, key: bytes | None) -> str:
    content = canonical_json({
        "id": row.id,
        "at": row.at,
        "user_id": row.user_id,
        "username": row.username,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "detail": row.detail,
    })
    message = (prev_hash + content).encode()
    if key is None:  # rows from before the keyed chain (see the module docstring)
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})


def append_audit(session: Session, user: User | None, action: str, entity: Base | None = None,
                 *, entity_type: str | None = None, entity_id: int | None = None,
                 at: datetime, extra: dict[str, Any] | None = None) -> AuditLog:
    """Append one chained audit row for ``entity`` (flushed first so it has its id)."""
    _lock_chain(session)
    chain = _chain(session)
    detail: dict[str, Any] = dict(extra or {})
    if entity is not None:
        session.flush()
        entity_type = type(entity).__tablename__
        entity_id = entity.id  # type: ignore[attr-defined]
        detail["content"] = row_content(entity)
    last = session.execute(
        select(AuditLog.id, AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)
    ).first()
    prev = last.hash if last else GENESIS_HASH
    row = AuditLog(
        id=(last.id + 1) if last else 1,
        at=at,
        user_id=user.id if user is not None else None,
        username=user.username if user is not None else "",
        action=action,
        entity_type=entity_type or "",
        entity_id=entity_id,
        detail=canonical_json(detail),
        prev_hash=prev,
        hash="",
    )
    row.hash = _row_hash(prev, row, chain.key if row.id >= chain.keyed_from else None)
    session.add(row)
    session.flush()
    session.info["audit_head"] = (chain.database_id, row.id, row.hash)
    return row


def bump_change(session: Session) -> int:
    """Raise the change marker (and NOTIFY on PostgreSQL); both commit with the transaction."""
    result = session.execute(
        update(ChangeMarker).where(ChangeMarker.id == 1).values(seq=ChangeMarker.seq + 1)
        .returning(ChangeMarker.seq)
    ).first()
    if result is None:
        session.add(ChangeMarker(id=1, seq=1))
        session.flush()
        seq = 1
    else:
        seq = int(result[0])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": str(seq)})
    return seq


def current_change_seq(session: Session) -> int:
    """The change marker: poll it; a different number means something clinical changed."""
    seq = session.scalar(select(ChangeMarker.seq).where(ChangeMarker.id == 1))
    return int(seq or 0)


# ------------------------------------------------------------------------- stored vitals batches


def _id_ranges(ids: Iterable[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in sorted(ids):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def _batch_digest(session: Session, table: str, ranges: Sequence[Sequence[int]]
                  ) -> tuple[int, str, list[int]]:
    """(rows found, SHA-256 of their canonical content in id order, their ids)."""
    model, columns, _ = STORED_TABLES[table]
    cols = [getattr(model, c) for c in columns]
    digest = hashlib.sha256()
    found: list[int] = []
    for a, b in ranges:
        for row in session.execute(select(*cols).where(model.id.between(a, b))  # type: ignore[attr-defined]
                                   .order_by(model.id)):  # type: ignore[attr-defined]
            values = list(row)
            for k, c in enumerate(columns):
                v = values[k]
                if isinstance(v, datetime):
                    values[k] = as_utc(v)
                elif c in ("value", "rate_hz") and v is not None:
                    values[k] = float(v)
            # columns added later are digested only when not at their default, so batches
            # stored before them keep their digest
            values = [v for c, v in zip(columns, values, strict=True)
                      if _LATER_DEFAULTS.get(c, _NO_DEFAULT) != v]
            digest.update(canonical_json(values).encode())
            digest.update(b"\n")
            found.append(int(values[0]))
    return len(found), digest.hexdigest(), found


def audit_stored_batch(session: Session, table: str, ids: Sequence[int], *, at: datetime,
                       batch: str = "") -> AuditLog | None:
    """Cover just-inserted ``vitals`` or ``wave_chunks`` rows (in this transaction) with one
    ``store`` audit row: their ids and a digest of their content. ``batch`` names a spooled
    batch so it is never stored twice."""
    if not ids:
        return None
    ranges = _id_ranges(ids)
    count, digest, _ = _batch_digest(session, table, ranges)
    extra: dict[str, Any] = {"ids": ranges, "count": count, "digest": digest}
    if batch:
        extra["batch"] = batch
    return append_audit(session, None, "store", entity_type=table, at=at, extra=extra)


# ------------------------------------------------------------------------------------ anchors


def anchors_path() -> Path:
    override = os.environ.get(ANCHORS_ENV)
    return Path(override) if override else data_dir() / "audit-anchors.jsonl"


def write_anchor(database_id: str, audit_id: int, hash_: str, *, event: str = "head",
                 note: str = "") -> None:
    """Append one anchor line (O_APPEND, fsync) to the anchor file outside the database."""
    line: dict[str, Any] = {"db": database_id, "id": audit_id, "hash": hash_,
                            "at": datetime.now(UTC), "host": platform.node(), "event": event}
    if note:
        line["note"] = note
    path = anchors_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (canonical_json(line) + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # a line cut short by a crash stays on its own line
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def anchor_committed(session: Session) -> bool:
    """After COMMIT: anchor the head the transaction appended, if any. Never raises (the
    entry is committed; a full disk must not make it look failed) - it logs."""
    head = session.info.pop("audit_head", None)
    session.info.pop("_audit_chain", None)
    if head is None:
        return False
    try:
        write_anchor(*head)
    except OSError:
        log.exception("could not write the audit anchor to %s", anchors_path())
        return False
    return True


@dataclass(frozen=True)
class ChainHead:
    database_id: str
    audit_id: int
    hash: str

    def __str__(self) -> str:
        if not self.audit_id:
            return "audit chain empty"
        return f"audit chain head: row {self.audit_id}, {self.hash[:16]}"


def chain_head(session: Session, *, anchor: bool = False, event: str = "print") -> ChainHead:
    """The chain's newest row; ``anchor`` also writes it to the anchor file (a printed summary
    shows and anchors the head it printed)."""
    last = session.execute(select(AuditLog.id, AuditLog.hash).order_by(AuditLog.id.desc())
                           .limit(1)).first()
    db_id = _meta(session).get(DATABASE_ID, "")
    head = ChainHead(db_id, int(last.id) if last else 0, last.hash if last else GENESIS_HASH)
    if anchor and head.audit_id:
        try:
            write_anchor(head.database_id, head.audit_id, head.hash, event=event)
        except OSError:
            log.exception("could not write the audit anchor to %s", anchors_path())
    return head


def read_anchors(database_id: str, path: Path | None = None) -> list[dict[str, Any]]:
    """This database's anchors, in the order written (lines of other databases skipped)."""
    path = path or anchors_path()
    if not path.exists():
        return []
    out = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            out.append({"db": database_id, "damaged": f"line {n} of {path} is not a whole "
                                                      f"anchor (a write cut short by a crash?)"})
            continue
        if isinstance(line, dict) and line.get("db") == database_id:
            out.append(line)
    return out


# -------------------------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class AuditVerifyResult:
    ok: bool
    rows: int  # audit rows checked
    broken_row_id: int | None = None  # first audit row that fails
    entity: str | None = None  # "table #id" when a record row no longer matches
    problem: str = ""  # the first problem
    problems: tuple[str, ...] = ()  # every problem found (at most MAX_PROBLEMS)
    notes: tuple[str, ...] = ()  # facts that are not failures (anchors lost to a restore ...)
    anchors: int = 0  # anchors checked

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact: {self.rows} rows, {self.anchors} anchors"
        return self.problem


MAX_PROBLEMS = 50


@dataclass
class _Findings:
    problems: list[str] = field(default_factory=list)
    first_row: int | None = None
    entity: str | None = None

    def add(self, problem: str, row: int | None = None, entity: str | None = None) -> None:
        if not self.problems:
            self.first_row, self.entity = row, entity
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def verify_audit(session: Session, *, batch: int = 2000,
                 anchors_file: Path | None = None) -> AuditVerifyResult:
    """Check the chain (each row's keyed hash and link), the anchors kept outside the database,
    that every audited record row still has the content its latest audit row recorded, that
    stored vitals and wave chunks match their batch digests, and orphans both ways. Every
    problem is named; ``problem`` is the first, in audit order."""
    f = _Findings()
    meta = _meta(session)
    database_id = meta.get(DATABASE_ID, "")
    keyed_from = int(meta.get(AUDIT_KEYED_FROM, "1"))
    stored_key_id = meta.get(AUDIT_KEY_ID)
    key = load_audit_key(create=False)
    if stored_key_id is not None and key is None:
        f.add(f"no audit key on this workstation ({KEY_ENV} or {audit_key_path()}): the keyed "
              f"rows (from audit row {keyed_from}, key id {stored_key_id}) cannot be checked")
    elif stored_key_id is not None and key is not None and key_id(key) != stored_key_id:
        f.add(f"this workstation's audit key (id {key_id(key)}) is not this database's "
              f"(id {stored_key_id}): the keyed rows cannot be checked")
        key = None
    prev = GENESIS_HASH
    expected_id: int | None = None
    count = 0
    hashes: dict[int, str] = {}
    latest: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}
    audited: dict[str, set[int]] = {t: set() for t in ENTITY_TABLES}
    stores: list[tuple[int, str, dict[str, Any]]] = []
    last_id = 0
    chain_ok = True
    while True:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            count += 1
            hashes[row.id] = row.hash
            if chain_ok:
                if expected_id is not None and row.id != expected_id:
                    f.add(f"audit row {row.id}: expected row {expected_id} before it "
                          f"(rows missing)", row.id)
                    chain_ok = False
                elif row.prev_hash != prev:
                    f.add(f"audit row {row.id}: prev_hash does not match the hash of the row "
                          f"before it (rows removed, reordered or rewritten)", row.id)
                    chain_ok = False
                elif row.id < keyed_from or key is not None:
                    k = key if row.id >= keyed_from else None
                    if _row_hash(prev, row, k) != row.hash:
                        how = ("its keyed hash does not match: the row was altered, or the "
                               "chain recomputed without the key" if k is not None
                               else "content does not match its hash")
                        f.add(f"audit row {row.id}: {how} ({row.action} {row.entity_type} "
                              f"#{row.entity_id} by {row.username or 'system'} at "
                              f"{row.at.isoformat()}) - the row was altered", row.id)
                        chain_ok = False
            try:
                detail = json.loads(row.detail)
            except ValueError:
                detail = {}
            if isinstance(detail, dict):
                if "content" in detail and row.entity_id is not None:
                    latest[(row.entity_type, row.entity_id)] = (row.id, detail["content"])
                if row.action == "store" and row.entity_type in STORED_TABLES:
                    stores.append((row.id, row.entity_type, detail))
            if row.entity_type in audited and row.entity_id is not None:
                audited[row.entity_type].add(int(row.entity_id))
            prev = row.hash
            expected_id = row.id + 1
        last_id = rows[-1].id
        session.expunge_all()

    # Anchors kept outside the database: each must still be in the chain, unchanged.
    anchors = read_anchors(database_id, anchors_file)
    notes: list[str] = []
    live: list[dict[str, Any]] = []
    for a in anchors:
        if "damaged" in a:
            notes.append(a["damaged"])
            continue
        if a.get("event") == "restore":
            lost = [x for x in live if int(x["id"]) > int(a["id"])]
            if lost:
                notes.append(f"restore at {a.get('at')} on {a.get('host')} went back to audit "
                             f"row {a['id']}; anchors up to row {max(int(x['id']) for x in lost)}"
                             f" were for the database before it")
            live = [x for x in live if int(x["id"]) <= int(a["id"])]
        live.append(a)
    for a in live:
        aid, ahash = int(a["id"]), str(a["hash"])
        if aid not in hashes:
            f.add(f"audit row {aid} is missing: the anchor written at {a.get('at')} on "
                  f"{a.get('host')} says the chain reached row {aid}, the database's chain ends "
                  f"at row {max(hashes, default=0)} (rows removed from the end)", aid)
        elif hashes[aid] != ahash:
            f.add(f"audit row {aid}: its hash is not the one anchored at {a.get('at')} on "
                  f"{a.get('host')} (the chain was rewritten)", aid)

    # Record rows: compare with what the audit trail saw written last, in audit order.
    for (table, entity_id), (audit_id, content) in sorted(latest.items(), key=lambda kv: kv[1][0]):
        model = MODELS_BY_TABLE.get(table)
        if model is None:
            continue
        obj = session.get(model, entity_id)
        if obj is None:
            f.add(f"{table} row {entity_id} (audit row {audit_id}): the row is missing",
                  audit_id, f"{table} #{entity_id}")
            continue
        now = row_content(obj)
        # a column a later migration added is not in what older audit rows recorded
        diffs = [f"{k}: recorded {content.get(k)!r}, now {now.get(k)!r}"
                 for k in sorted(content) if now.get(k) != content.get(k)]
        if diffs:
            f.add(f"{table} row {entity_id} (audit row {audit_id}): changed outside the "
                  f"application - " + "; ".join(diffs), audit_id, f"{table} #{entity_id}")
        session.expunge(obj)

    # Rows with no audit row (inserted outside the application).
    for table in ENTITY_TABLES:
        model = MODELS_BY_TABLE[table]
        present = set(session.scalars(select(model.id)))  # type: ignore[attr-defined]
        for orphan in sorted(present - audited[table])[:MAX_PROBLEMS]:
            f.add(f"{table} row {orphan} has no audit row (inserted outside the application)",
                  None, f"{table} #{orphan}")

    # Stored vitals and wave chunks: each batch as stored, and nothing stored without one.
    for table, (model, _cols, covered_key) in STORED_TABLES.items():
        covered: set[int] = set()
        for audit_id, t, detail in stores:
            if t != table:
                continue
            ranges = detail.get("ids") or []
            n, digest, ids = _batch_digest(session, table, ranges)
            covered.update(ids)
            span = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in ranges)
            if n != detail.get("count"):
                f.add(f"{table} rows {span} (audit row {audit_id}): {detail.get('count')} "
                      f"stored, {n} there now (rows removed)", audit_id, table)
            elif digest != detail.get("digest"):
                f.add(f"{table} rows {span} (audit row {audit_id}): content differs from what "
                      f"was stored", audit_id, table)
        start = int(meta.get(covered_key, "1"))
        stored = set(session.scalars(
            select(model.id).where(model.id >= start)))  # type: ignore[attr-defined]
        stray = _id_ranges(stored - covered)
        if stray:
            span = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in stray[:10])
            f.add(f"{table} rows {span} have no audit row (inserted outside the application)",
                  None, table)

    if f.problems:
        return AuditVerifyResult(False, count, f.first_row, f.entity, f.problems[0],
                                 tuple(f.problems), tuple(notes), len(live))
    return AuditVerifyResult(True, count, notes=tuple(notes), anchors=len(live))
