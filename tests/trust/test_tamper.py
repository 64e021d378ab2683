"""Tampering by someone with database access is detected and named by ``audit verify``
(issue 16, point 2): a keyed chain, anchors outside the database, orphans both ways, vitals
covered per stored batch, and append-only enforced by the database itself."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from nursestation.core.readings import Reading
from nursestation.db import repo, verify_audit
from nursestation.db.audit import canonical_json, chain_head
from nursestation.db.models import AuditLog, Note
from tests.db.helpers import setup_visit, tamper


def _chart(database, nurse):
    w = database.writer
    _, _, visit = setup_visit(database, nurse)
    w.submit(repo.record_medication, visit.id, "ondansetron", 4, "mg", "IV", user=nurse).result()
    note = w.submit(repo.add_note, visit.id, "tolerating well", user=nurse).result()
    t0 = datetime.now(UTC) - timedelta(seconds=30)
    readings = [Reading("HR", float(70 + i), "bpm", chair="Chair 1", device_id="c1-mon",
                        recv_wall=t0 + timedelta(seconds=i)) for i in range(20)]
    readings.append(Reading("ECG", samples=np.linspace(-1, 1, 50, dtype=np.float32),
                            rate_hz=250.0, chair="Chair 1", device_id="c1-mon", recv_wall=t0))
    database.writer.record_readings(readings)
    database.writer.flush().result()
    last = w.submit(repo.add_note, visit.id, "patient resting", user=nurse).result()
    return visit, note, last


def _verify(database):
    with database.session_scope() as s:
        return verify_audit(s)


def _audit_rows(database) -> list[AuditLog]:
    with database.session_scope() as s:
        return list(s.scalars(select(AuditLog).order_by(AuditLog.id)))


def _plain_rechain(database) -> list[str]:
    """What an attacker without the key can do: recompute every hash with plain SHA-256."""
    stmts = []
    prev = "0" * 64
    for row in _audit_rows(database):
        content = canonical_json({"id": row.id, "at": row.at, "user_id": row.user_id,
                                  "username": row.username, "action": row.action,
                                  "entity_type": row.entity_type, "entity_id": row.entity_id,
                                  "detail": row.detail})
        h = hashlib.sha256((prev + content).encode()).hexdigest()
        stmts.append(f"UPDATE audit_log SET prev_hash = 'tmp{row.id}', hash = '{h}' "
                     f"WHERE id = {row.id}")
        stmts.append(f"UPDATE audit_log SET prev_hash = '{prev}' WHERE id = {row.id}")
        prev = h
    return stmts


def _last_note_audit(database, note_id: int) -> int:
    with database.session_scope() as s:
        return s.scalar(select(AuditLog.id).where(AuditLog.entity_type == "notes",
                                                  AuditLog.entity_id == note_id))


def case_delete_last_audit_row(db, visit, note, last):
    top = _audit_rows(db)[-1].id
    tamper(db.engine, f"DELETE FROM audit_log WHERE id = {top}")
    return f"audit row {top} is missing"


def case_delete_newest_entry_and_its_audit_row(db, visit, note, last):
    aid = _last_note_audit(db, last.id)
    tamper(db.engine, f"DELETE FROM audit_log WHERE id >= {aid}",
           f"DELETE FROM notes WHERE id = {last.id}")
    return f"audit row {aid} is missing"


def case_insert_clinical_row_without_audit(db, visit, note, last):
    tamper(db.engine, "INSERT INTO notes (visit_id, at, recorded_at, recorded_by_id, voided, "
                      "text) SELECT visit_id, at, recorded_at, recorded_by_id, voided, "
                      f"'forged' FROM notes WHERE id = {note.id}")
    return "has no audit row"


def case_edit_note_and_rechain_with_plain_sha256(db, visit, note, last):
    aid = _last_note_audit(db, note.id)
    tamper(db.engine,
           f"UPDATE notes SET text = 'refused treatment' WHERE id = {note.id}",
           f"UPDATE audit_log SET detail = replace(detail, 'tolerating well', "
           f"'refused treatment') WHERE id = {aid}")
    tamper(db.engine, *_plain_rechain(db))
    return "keyed hash does not match"


def case_edit_note_only(db, visit, note, last):
    tamper(db.engine, f"UPDATE notes SET text = 'refused treatment' WHERE id = {note.id}")
    return "text: recorded 'tolerating well', now 'refused treatment'"


def case_edit_audit_detail(db, visit, note, last):
    aid = _last_note_audit(db, note.id)
    tamper(db.engine, f"UPDATE audit_log SET username = 'someone' WHERE id = {aid}")
    return f"audit row {aid}: its keyed hash does not match"


def case_delete_middle_audit_row(db, visit, note, last):
    tamper(db.engine, "DELETE FROM audit_log WHERE id = 3")
    return "expected row 3 before it"


def case_delete_clinical_row_keep_audit(db, visit, note, last):
    tamper(db.engine, f"DELETE FROM notes WHERE id = {note.id}")
    return f"notes row {note.id} (audit row"


def case_append_forged_audit_row_plain_sha(db, visit, note, last):
    rows = _audit_rows(db)
    top = rows[-1]
    forged = {"id": top.id + 1, "at": top.at, "user_id": top.user_id,
              "username": top.username, "action": "create", "entity_type": "notes",
              "entity_id": 999, "detail": "{}"}
    h = hashlib.sha256((top.hash + canonical_json(forged)).encode()).hexdigest()
    tamper(db.engine, "INSERT INTO audit_log (id, at, user_id, username, action, entity_type, "
                      "entity_id, detail, prev_hash, hash) VALUES (:id, :at, :uid, :un, "
                      "'create', 'notes', 999, '{}', :prev, :h)",
           id=top.id + 1, at=top.at.replace(tzinfo=None) if db.engine.dialect.name == "sqlite"
           else top.at, uid=top.user_id, un=top.username, prev=top.hash, h=h)
    return f"audit row {top.id + 1}: its keyed hash does not match"


def case_edit_stored_vital(db, visit, note, last):
    tamper(db.engine, "UPDATE vitals SET value = 40 WHERE code = 'HR' AND value = 75")
    return "content differs from what was stored"


def case_delete_stored_vitals(db, visit, note, last):
    tamper(db.engine, "DELETE FROM vitals WHERE code = 'HR' AND value > 85")
    return "(rows removed)"


def case_insert_vitals_without_audit(db, visit, note, last):
    tamper(db.engine, "INSERT INTO vitals (chair_id, visit_id, device_key, code, value, unit, "
                      "quality, recv_time) SELECT chair_id, visit_id, device_key, code, 200, "
                      "unit, quality, recv_time FROM vitals WHERE code = 'HR' AND value = 70")
    return "vitals rows"


def case_edit_wave_chunk(db, visit, note, last):
    tamper(db.engine, "UPDATE wave_chunks SET rate_hz = 125")
    return "wave_chunks rows"


def case_restart_chain_from_genesis(db, visit, note, last):
    tamper(db.engine, "DELETE FROM audit_log WHERE id > 2")
    return "is missing"


CASES = [case_delete_last_audit_row, case_delete_newest_entry_and_its_audit_row,
         case_insert_clinical_row_without_audit, case_edit_note_and_rechain_with_plain_sha256,
         case_edit_note_only, case_edit_audit_detail, case_delete_middle_audit_row,
         case_delete_clinical_row_keep_audit, case_append_forged_audit_row_plain_sha,
         case_edit_stored_vital, case_delete_stored_vitals, case_insert_vitals_without_audit,
         case_edit_wave_chunk, case_restart_chain_from_genesis]


def test_an_untouched_record_verifies(database, nurse):
    _chart(database, nurse)
    result = _verify(database)
    assert result.ok, result.problems
    assert result.anchors >= 5  # every clinical commit anchored outside the database


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.removeprefix("case_") for c in CASES])
def test_tampering_is_detected_and_named(database, nurse, case):
    visit, note, last = _chart(database, nurse)
    assert _verify(database).ok
    expected = case(database, visit, note, last)
    result = _verify(database)
    assert not result.ok
    assert any(expected in p for p in result.problems), result.problems


@pytest.mark.parametrize("sql", [
    "UPDATE notes SET text = 'changed'",
    "DELETE FROM notes",
    "UPDATE audit_log SET username = 'x'",
    "DELETE FROM audit_log",
    "UPDATE vitals SET value = 1",
    "DELETE FROM medication_administrations",
])
def test_the_database_refuses_update_and_delete_on_append_only_tables(database, nurse, sql):
    _chart(database, nurse)
    with pytest.raises(DBAPIError, match="append-only"):
        with database.engine.begin() as conn:
            conn.execute(text(sql))
    assert _verify(database).ok


def test_a_workstation_with_another_key_refuses_to_write(database, nurse, monkeypatch):
    visit, _, _ = _chart(database, nurse)
    monkeypatch.setenv("NURSESTATION_AUDIT_KEY", "ab" * 32)
    with pytest.raises(Exception, match="not the one this database's audit chain uses"):
        database.writer.submit(repo.add_note, visit.id, "x", user=nurse).result()
    with database.session_scope() as s:
        assert [n.text for n in s.scalars(select(Note))] == ["tolerating well",
                                                             "patient resting"]


def test_the_printed_head_is_anchored(database, nurse):
    _chart(database, nurse)
    with database.session_scope() as s:
        head = chain_head(s, anchor=True)
    assert head.audit_id == _audit_rows(database)[-1].id
    assert f"row {head.audit_id}" in str(head)
    from nursestation.db.audit import anchors_path

    lines = [json.loads(x) for x in anchors_path().read_text().splitlines()]
    assert lines[-1]["event"] == "print" and lines[-1]["id"] == head.audit_id
