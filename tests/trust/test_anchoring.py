"""When the audit chain's head is anchored outside the database (issue 16, point 2): every
clinical write at once; stored vitals alone at most once a VITALS_ANCHOR_EVERY_S, and at the
latest that long after their commit even when no more vitals come. Driven by a clock the test
moves, never by the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from nursestation.core.readings import Reading
from nursestation.db import repo, verify_audit
from nursestation.db.audit import chain_head, read_anchors
from nursestation.db.models import AuditLog
from nursestation.db.writer import VITALS_ANCHOR_EVERY_S, DbWriter
from tests.db.helpers import CHAIRS


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _head(database) -> int:
    with database.session_scope() as s:
        return int(s.scalar(select(func.max(AuditLog.id))) or 0)


def _anchored(database) -> list[int]:
    with database.session_scope() as s:
        db_id = chain_head(s).database_id
    return [int(a["id"]) for a in read_anchors(db_id)]


def _hr(n: int) -> list[Reading]:
    t0 = datetime.now(UTC)
    return [Reading("HR", 70.0 + k, "bpm", chair="Chair 1", device_id="c1-mon",
                    recv_wall=t0 + timedelta(seconds=k)) for k in range(n)]


def test_clinical_writes_anchor_at_once_vitals_alone_once_a_minute(database):
    clock = Clock()
    w = DbWriter(database.engine, flush_interval=3600, anchor_clock=clock, probe_idle_s=1e9)
    try:
        nurse = w.submit(repo.create_user, "nurse1", "N", "nurse", "4826").result()
        w.submit(repo.sync_chairs, CHAIRS, user=nurse).result()
        assert _anchored(database)[-1] == _head(database)  # each clinical write, at once

        w.record_readings(_hr(5))
        w.flush().result()  # the first vitals since the last anchor (a clinical one, just now)
        vitals_head = _head(database)
        assert _anchored(database)[-1] < vitals_head  # ... wait for the minute

        clock.now += VITALS_ANCHOR_EVERY_S - 1
        w.record_readings(_hr(5))
        w.flush().result()
        w.flush().result()  # a tick with nothing new
        assert _anchored(database)[-1] < _head(database)

        clock.now += 1  # a minute after the last anchor, with no more vitals coming
        w.flush().result()
        assert _anchored(database)[-1] == _head(database)
        n = len(_anchored(database))
        for _ in range(3):  # nothing new: nothing more is anchored
            clock.now += VITALS_ANCHOR_EVERY_S
            w.flush().result()
        assert len(_anchored(database)) == n

        clock.now += 5
        w.record_readings(_hr(5))
        w.flush().result()  # the first vitals after a quiet minute: at once
        assert _anchored(database)[-1] == _head(database)
        clock.now += 5
        w.record_readings(_hr(5))
        w.flush().result()
        assert _anchored(database)[-1] < _head(database)  # more: within the minute again
        w.submit(repo.record_access, "login", user=nurse.id, username="nurse1",
                 workstation="ws").result()
        assert _anchored(database)[-1] == _head(database)  # a clinical write: at once
        clock.now += VITALS_ANCHOR_EVERY_S
        w.flush().result()
        assert len(_anchored(database)) == n + 2  # the older vitals head is covered by it
    finally:
        w.close()
    with database.session_scope() as s:
        result = verify_audit(s)
    assert result.ok, result.problems
    assert result.anchors == len(_anchored(database))
