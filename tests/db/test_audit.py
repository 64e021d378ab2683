"""The audit log is a hash chain; altering any audit or record row is detected and named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from nursestation.db import current_change_seq, repo, verify_audit
from nursestation.db.models import AuditLog
from tests.db.helpers import setup_visit, tamper

NURSESTATION = Path(sys.executable).with_name("nursestation")


def _chart_some(database, nurse):
    w = database.writer
    _, _, visit = setup_visit(database, nurse)
    med = w.submit(repo.record_medication, visit.id, "ondansetron", 4, "mg", "IV",
                   user=nurse).result()
    note = w.submit(repo.add_note, visit.id, "tolerating well", user=nurse).result()
    return visit, med, note


def _raw(database, sql: str, **params) -> None:
    tamper(database.engine, sql, **params)


def _verify(database):
    with database.session_scope() as s:
        return verify_audit(s)


def test_every_write_is_audited_and_the_chain_verifies(database, nurse):
    visit, med, _ = _chart_some(database, nurse)
    result = _verify(database)
    assert result.ok, result.problem
    with database.session_scope() as s:
        rows = s.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        assert len(rows) == result.rows
        assert rows[0].prev_hash == "0" * 64
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
        med_row = next(r for r in rows if r.entity_type == "medication_administrations")
        assert med_row.username == "nurse1" and med_row.action == "create"
        assert med_row.entity_id == med.id
        assert json.loads(med_row.detail)["content"]["drug"] == "ondansetron"
        user_row = next(r for r in rows if r.entity_type == "users")
        assert "4826" not in user_row.detail and "$argon2" not in user_row.detail


def test_altered_audit_row_is_named(database, nurse):
    _chart_some(database, nurse)
    with database.session_scope() as s:
        target = s.scalar(select(AuditLog.id).where(
            AuditLog.entity_type == "medication_administrations"))
    _raw(database, "UPDATE audit_log SET username = 'someone_else' WHERE id = :i", i=target)
    result = _verify(database)
    assert not result.ok
    assert result.broken_row_id == target
    assert f"audit row {target}" in result.problem and "altered" in result.problem


def test_deleted_audit_row_is_named(database, nurse):
    _chart_some(database, nurse)
    _raw(database, "DELETE FROM audit_log WHERE id = 3")
    result = _verify(database)
    assert not result.ok and result.broken_row_id == 4


def test_altered_clinical_row_is_named_with_what_differs(database, nurse):
    _, med, _ = _chart_some(database, nurse)
    _raw(database, "UPDATE medication_administrations SET dose = 40 WHERE id = :i", i=med.id)
    result = _verify(database)
    assert not result.ok
    assert result.entity == f"medication_administrations #{med.id}"
    assert "dose: recorded 4.0, now 40.0" in result.problem


def test_audit_verify_command(database, nurse, db_url, tmp_path):
    _, med, note = _chart_some(database, nurse)
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "{db_url}"\n', encoding="utf-8")

    def run():
        return subprocess.run([str(NURSESTATION), "audit", "verify"], capture_output=True,
                              text=True, timeout=120,
                              env={**__import__("os").environ, "NURSESTATION_CONFIG": str(cfg)})

    ok = run()
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("audit log intact:")
    with database.session_scope() as s:
        target = s.scalar(select(AuditLog.id).where(AuditLog.entity_type == "notes"))
    _raw(database, "UPDATE audit_log SET detail = replace(detail, 'tolerating', 'refusing') "
                   "WHERE id = :i", i=target)
    bad = run()
    assert bad.returncode != 0
    assert f"audit row {target}" in bad.stdout


def test_change_seq_rises_with_every_clinical_write(database, nurse):
    with database.session_scope() as s:
        before = current_change_seq(s)
    visit, _, _ = _chart_some(database, nurse)
    with database.session_scope() as s:
        after_chart = current_change_seq(s)
    assert after_chart > before
    database.writer.submit(repo.record_alarm_event, visit.chair_id, "HR_HIGH", "HR", "medium",
                           "raised", values={"HR": 131}).result()
    with database.session_scope() as s:
        assert current_change_seq(s) == after_chart + 1
