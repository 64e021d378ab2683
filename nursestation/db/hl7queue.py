"""The HL7 outbound queue in the database: messages for the EHR and their delivery attempts.

Both tables are append-only. A message row is written once, with the exact bytes to send and
its control id (MSH-10); every attempt to deliver it appends an attempt row. A message's state
follows from its attempts: ``sent`` (one was accepted), ``failing`` (tried, not accepted yet),
``waiting`` (not tried yet). Queueing a message and its acceptance are audited like any write
(the payload appears in the audit trail as its SHA-256); failed attempts are machine log rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursestation.db.audit import append_audit
from nursestation.db.models import Hl7Attempt, Hl7Outbound, User
from nursestation.db.types import as_utc


@dataclass(frozen=True)
class QueueEntry:
    id: int
    control_id: str
    kind: str
    visit_id: int
    destination: str
    created_at: datetime
    covers_from: datetime | None
    covers_until: datetime | None
    state: str  # sent / waiting / failing
    attempts: int
    sent_at: datetime | None
    failing_since: datetime | None  # first failed attempt (while not sent)
    last_attempt_at: datetime | None
    last_error: str


@dataclass(frozen=True)
class QueueOverview:
    """What the charge nurse needs to know about the EHR feed, in one line."""

    waiting: int
    failing: int
    failing_since: datetime | None
    last_error: str
    last_sent_at: datetime | None

    @property
    def ok(self) -> bool:
        return self.failing == 0


def enqueue(session: Session, *, kind: str, visit_id: int, destination: str, payload: bytes,
            control_id: str, now: datetime, covers_from: datetime | None = None,
            covers_until: datetime | None = None, user: User | None = None) -> Hl7Outbound:
    row = Hl7Outbound(kind=kind, visit_id=visit_id, destination=destination, payload=payload,
                      control_id=control_id, covers_from=covers_from, covers_until=covers_until,
                      created_at=now, created_by_id=user.id if user is not None else None)
    session.add(row)
    append_audit(session, user, "hl7_queue", row, at=now)
    return row


def record_attempt(session: Session, message_id: int, *, outcome: str, now: datetime,
                   ack_code: str = "", detail: str = "") -> Hl7Attempt:
    if session.get(Hl7Outbound, message_id) is None:
        raise LookupError(f"no HL7 message #{message_id}")
    if outcome == "accepted" and is_sent(session, message_id):
        raise ValueError(f"HL7 message #{message_id} was already accepted")
    row = Hl7Attempt(message_id=message_id, at=now, outcome=outcome, ack_code=ack_code[:4],
                     detail=detail[:2000])
    session.add(row)
    if outcome == "accepted":
        append_audit(session, None, "hl7_sent", row, at=now)
    else:
        session.flush()
    return row


def is_sent(session: Session, message_id: int) -> bool:
    return (session.scalar(select(func.count()).select_from(Hl7Attempt).where(
        Hl7Attempt.message_id == message_id, Hl7Attempt.outcome == "accepted")) or 0) > 0


def _unsent_query(destination: str | None = None):
    accepted = select(Hl7Attempt.message_id).where(Hl7Attempt.outcome == "accepted")
    q = select(Hl7Outbound).where(Hl7Outbound.id.not_in(accepted)).order_by(Hl7Outbound.id)
    if destination is not None:
        q = q.where(Hl7Outbound.destination == destination)
    return q


def unsent(session: Session, destination: str | None = None, *,
           limit: int | None = None) -> list[Hl7Outbound]:
    """Messages not accepted yet, oldest first (delivered in this order)."""
    q = _unsent_query(destination)
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q))


def next_unsent(session: Session, destination: str) -> Hl7Outbound | None:
    """The message to deliver next to ``destination`` (the oldest not accepted)."""
    return session.scalars(_unsent_query(destination).limit(1)).first()


def attempts(session: Session, message_id: int) -> list[Hl7Attempt]:
    return list(session.scalars(select(Hl7Attempt).where(Hl7Attempt.message_id == message_id)
                                .order_by(Hl7Attempt.id)))


def last_vitals_cover(session: Session, visit_id: int) -> datetime | None:
    """Up to when this visit's vitals have been queued (the latest ``covers_until``)."""
    t = session.scalar(select(func.max(Hl7Outbound.covers_until)).where(
        Hl7Outbound.visit_id == visit_id, Hl7Outbound.kind == "vitals"))
    return as_utc(t) if t is not None else None


def has_summary(session: Session, visit_id: int) -> bool:
    return (session.scalar(select(func.count()).select_from(Hl7Outbound).where(
        Hl7Outbound.visit_id == visit_id, Hl7Outbound.kind == "summary")) or 0) > 0


def _entry(msg: Hl7Outbound, tries: list[Hl7Attempt]) -> QueueEntry:
    sent_at = next((as_utc(a.at) for a in tries if a.outcome == "accepted"), None)
    failing_since = None
    last_error = ""
    if sent_at is None:
        failed = [a for a in tries if a.outcome != "accepted"]
        if failed:
            failing_since = as_utc(failed[0].at)
            last = failed[-1]
            last_error = (f"{last.ack_code}: " if last.ack_code else "") + last.detail
    state = "sent" if sent_at is not None else "failing" if tries else "waiting"
    return QueueEntry(msg.id, msg.control_id, msg.kind, msg.visit_id, msg.destination,
                      as_utc(msg.created_at),
                      as_utc(msg.covers_from) if msg.covers_from else None,
                      as_utc(msg.covers_until) if msg.covers_until else None, state, len(tries),
                      sent_at, failing_since, as_utc(tries[-1].at) if tries else None,
                      last_error)


def queue_entries(session: Session, *, limit: int = 100) -> list[QueueEntry]:
    """The messages not yet accepted (oldest first), then the latest accepted ones; ``limit``
    rows at most."""
    pending = unsent(session, limit=limit)
    pending_ids = {m.id for m in pending}
    accepted = select(Hl7Attempt.message_id).where(Hl7Attempt.outcome == "accepted")
    recent = list(session.scalars(select(Hl7Outbound).where(Hl7Outbound.id.in_(accepted))
                                  .order_by(Hl7Outbound.id.desc())
                                  .limit(max(0, limit - len(pending)))))
    rows = pending + [m for m in recent if m.id not in pending_ids]
    by_msg: dict[int, list[Hl7Attempt]] = {m.id: [] for m in rows}
    if by_msg:
        for a in session.scalars(select(Hl7Attempt).where(Hl7Attempt.message_id.in_(by_msg))
                                 .order_by(Hl7Attempt.id)):
            by_msg[a.message_id].append(a)
    return [_entry(m, by_msg[m.id]) for m in rows]


def queue_overview(session: Session) -> QueueOverview:
    """For the charge nurse's overview: how many wait, how many fail and since when, why.
    A few aggregate queries, whatever the backlog."""
    accepted = select(Hl7Attempt.message_id).where(Hl7Attempt.outcome == "accepted")
    unsent_ids = select(Hl7Outbound.id).where(Hl7Outbound.id.not_in(accepted))
    total = session.scalar(select(func.count()).select_from(unsent_ids.subquery())) or 0
    failing = session.scalar(select(func.count(func.distinct(Hl7Attempt.message_id))).where(
        Hl7Attempt.message_id.in_(unsent_ids))) or 0
    since = session.scalar(select(func.min(Hl7Attempt.at)).where(
        Hl7Attempt.message_id.in_(unsent_ids)))
    last = session.scalars(select(Hl7Attempt).where(Hl7Attempt.message_id.in_(unsent_ids))
                           .order_by(Hl7Attempt.id.desc()).limit(1)).first()
    last_sent = session.scalar(select(func.max(Hl7Attempt.at)).where(
        Hl7Attempt.outcome == "accepted"))
    return QueueOverview(
        waiting=total - failing, failing=failing,
        failing_since=as_utc(since) if since is not None else None,
        last_error=((f"{last.ack_code}: " if last.ack_code else "") + last.detail)
        if last is not None else "",
        last_sent_at=as_utc(last_sent) if last_sent is not None else None)
