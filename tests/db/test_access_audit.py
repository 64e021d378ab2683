"""Logins, failed logins and logouts are in the tamper-evident audit log."""

from __future__ import annotations

import json

from sqlalchemy import select

from nursestation.db import repo
from nursestation.db.audit import verify_audit
from nursestation.db.engine import session_scope
from nursestation.db.models import AuditLog


def test_access_events_are_audited_and_chained(database, nurse):
    w = database.writer
    w.submit(repo.record_access, "login", user=nurse, workstation="station-1").result()
    w.submit(repo.record_access, "login_failed", username="nurse9").result()
    w.submit(repo.record_access, "logout", user=nurse).result()
    with session_scope(database.engine) as s:
        rows = [r for r in s.scalars(select(AuditLog).order_by(AuditLog.id))
                if r.action in repo.ACCESS_ACTIONS]
        assert [(r.action, r.user_id) for r in rows] == [
            ("login", nurse.id), ("login_failed", None), ("logout", nurse.id)]
        assert json.loads(rows[1].detail)["username"] == "nurse9"
        assert json.loads(rows[0].detail)["workstation"] == "station-1"
        assert verify_audit(s).ok
