"""Small builders for db tests."""

from __future__ import annotations

from nursestation.config import ChairConfig, DeviceConfig
from nursestation.db import repo

CHAIRS = (
    ChairConfig("Chair 1", (DeviceConfig("intellivue", "loop://", "c1-mon"),
                            DeviceConfig("alaris", "loop://", "c1-pump"))),
    ChairConfig("Chair 2", (DeviceConfig("masimo", "loop://", "c2-ox"),)),
)


def setup_visit(db, user, mrn: str = "MRN-1", chair: str = "Chair 1"):
    """Chairs from CHAIRS, a patient and an active visit; returns (patient, chair, visit)."""
    w = db.writer
    chairs = w.submit(repo.sync_chairs, CHAIRS, user=user).result()
    patient = w.submit(repo.create_patient, mrn, "Rivera", "Sam", None, "", user=user).result()
    visit = w.submit(repo.create_visit, patient.id, chairs[chair].id, "ketamine-iv",
                     user=user, protocol_version="1").result()
    return patient, chairs[chair], visit


def tamper(engine, *statements: str, **params) -> None:
    """Run SQL as someone with direct access to the database who first switches off its
    append-only triggers (on PostgreSQL: session_replication_role, a superuser's power)."""
    from sqlalchemy import text

    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            names = [r[0] for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'append_only_%'")]
            for name in names:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for sql in statements:
            conn.execute(text(sql), params)
