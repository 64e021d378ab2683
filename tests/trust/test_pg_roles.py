"""On PostgreSQL the station's role cannot UPDATE or DELETE clinical or audit rows at all
(grants from ``nursestation db roles``), yet charts normally (issue 16, point 2)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from nursestation.db import Database, repo, verify_audit
from nursestation.db.roles import OVERVIEW_ROLE, STATION_ROLE, roles_sql
from tests.db.helpers import setup_visit

pytestmark = pytest.mark.postgres


def _as(url: str, role: str) -> str:
    return make_url(url).set(username=role).render_as_string(hide_password=False)


def test_station_role_charts_but_cannot_update_or_delete(pg_url):
    Database.open(pg_url).close()  # migrated by the owner
    owner = create_engine(pg_url)
    try:
        with owner.begin() as conn:
            conn.exec_driver_sql(roles_sql(make_url(pg_url).database))
    finally:
        owner.dispose()
    # users are created by IT as the owner; the station only logs in and charts
    with Database.open(pg_url, upgrade=False) as db:
        nurse = db.writer.submit(repo.create_user, "nurse1", "N", "nurse", "4826").result()
    station = Database.open(_as(pg_url, STATION_ROLE), upgrade=False)
    try:
        _, _, visit = setup_visit(station, nurse)
        note = station.writer.submit(repo.add_note, visit.id, "ok", user=nurse).result()
        for sql in (f"UPDATE notes SET text = 'x' WHERE id = {note.id}",
                    "DELETE FROM audit_log", "TRUNCATE notes", "DELETE FROM vitals",
                    "UPDATE users SET role = 'admin'"):
            with pytest.raises(ProgrammingError, match="permission denied"):
                with station.engine.begin() as conn:
                    conn.execute(text(sql))
        with station.session_scope() as s:
            assert verify_audit(s).ok
    finally:
        station.close()
    overview = create_engine(_as(pg_url, OVERVIEW_ROLE))
    try:
        with pytest.raises(ProgrammingError, match="permission denied"):
            with overview.begin() as conn:
                conn.execute(text("INSERT INTO notes (visit_id, at, recorded_at, "
                                  "recorded_by_id, voided, text) SELECT visit_id, at, "
                                  "recorded_at, recorded_by_id, voided, 'x' FROM notes"))
    finally:
        overview.dispose()
