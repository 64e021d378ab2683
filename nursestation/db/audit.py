"""The audit log's hash chain, the change marker, and their verification.

Every audited write appends one ``AuditLog`` row in the same transaction as the change. The row's
``detail`` holds the written row's full content (secrets as SHA-256 only), so ``verify_audit``
can tell both an altered audit row (its hash no longer matches) and an altered record row (its
content no longer matches what the audit trail saw written last).

Appends are serialised: on SQLite the writer's transactions start with ``BEGIN IMMEDIATE``; on
PostgreSQL a transaction-scoped advisory lock is taken before reading the chain's last row, and
``prev_hash`` is unique so a fork would fail to commit anyway.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Float, inspect, select, text, update
from sqlalchemy.orm import Session

from nursestation.db.models import MODELS_BY_TABLE, AuditLog, Base, ChangeMarker, User
from nursestation.db.types import as_utc

GENESIS_HASH = "0" * 64
#: Arbitrary constant key for pg_advisory_xact_lock (ASCII "NSAUDIT").
_PG_AUDIT_LOCK = 0x4E534155444954
NOTIFY_CHANNEL = "nursestation_changes"


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


def _row_hash(prev_hash: str, row: AuditLog) -> str:
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
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})


def append_audit(session: Session, user: User | None, action: str, entity: Base | None = None,
                 *, entity_type: str | None = None, entity_id: int | None = None,
                 at: datetime, extra: dict[str, Any] | None = None) -> AuditLog:
    """Append one chained audit row for ``entity`` (flushed first so it has its id)."""
    _lock_chain(session)
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
    row.hash = _row_hash(prev, row)
    session.add(row)
    session.flush()
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


# -------------------------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class AuditVerifyResult:
    ok: bool
    rows: int  # audit rows checked
    broken_row_id: int | None = None  # first audit row that fails
    entity: str | None = None  # "table #id" when a record row no longer matches
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact: {self.rows} rows"
        return self.problem


def verify_audit(session: Session, *, batch: int = 2000) -> AuditVerifyResult:
    """Check the chain (each row's hash and link) and that every audited record row still has
    the content its latest audit row recorded. Returns the first problem found, in audit order."""
    prev = GENESIS_HASH
    expected_id: int | None = None
    count = 0
    latest: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            count += 1
            if expected_id is not None and row.id != expected_id:
                return AuditVerifyResult(
                    False, count, row.id,
                    problem=f"audit row {row.id}: expected row {expected_id} before it "
                            f"(rows missing)")
            if row.prev_hash != prev:
                return AuditVerifyResult(
                    False, count, row.id,
                    problem=f"audit row {row.id}: prev_hash does not match the hash of the "
                            f"row before it (rows removed, reordered or rewritten)")
            recomputed = _row_hash(prev, row)
            if recomputed != row.hash:
                return AuditVerifyResult(
                    False, count, row.id,
                    problem=f"audit row {row.id}: content does not match its hash "
                            f"({row.action} {row.entity_type} #{row.entity_id} by "
                            f"{row.username or 'system'} at {row.at.isoformat()}) - the row "
                            f"was altered")
            try:
                detail = json.loads(row.detail)
            except ValueError:
                detail = {}
            if isinstance(detail, dict) and "content" in detail and row.entity_id is not None:
                latest[(row.entity_type, row.entity_id)] = (row.id, detail["content"])
            prev = row.hash
            expected_id = row.id + 1
        last_id = rows[-1].id
        session.expunge_all()

    # Record rows: compare with what the audit trail saw written last, in audit order.
    for (table, entity_id), (audit_id, content) in sorted(latest.items(), key=lambda kv: kv[1][0]):
        model = MODELS_BY_TABLE.get(table)
        if model is None:
            continue
        obj = session.get(model, entity_id)
        if obj is None:
            return AuditVerifyResult(
                False, count, audit_id, f"{table} #{entity_id}",
                problem=f"{table} row {entity_id} (audit row {audit_id}): the row is missing")
        now = row_content(obj)
        if now != content:
            diffs = [f"{k}: recorded {content.get(k)!r}, now {now.get(k)!r}"
                     for k in sorted(set(now) | set(content)) if now.get(k) != content.get(k)]
            return AuditVerifyResult(
                False, count, audit_id, f"{table} #{entity_id}",
                problem=f"{table} row {entity_id} (audit row {audit_id}): changed outside the "
                        f"application - " + "; ".join(diffs))
        session.expunge(obj)
    return AuditVerifyResult(True, count)
