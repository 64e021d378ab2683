"""Clinical entries are append-only: corrections amend, the history stays."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nursestation.db import repo
from nursestation.db.models import (
    AuditLog,
    MedicationAdministration,
    Note,
    PumpChangeItem,
    RideArrangement,
)
from tests.db.helpers import setup_visit


def test_amendment_gives_current_view_and_full_history(database, nurse, charge_nurse):
    w = database.writer
    _, _, visit = setup_visit(database, nurse)
    med = w.submit(repo.record_medication, visit.id, "ondansetron", 8, "mg", "IV",
                   user=nurse).result()
    other = w.submit(repo.record_medication, visit.id, "ondansetron", 4, "mg", "ODT",
                     user=nurse).result()
    fixed = w.submit(repo.amend, med, {"dose": 4.0}, "dose mis-keyed, 4 mg given",
                     user=charge_nurse).result()
    resp = w.submit(repo.record_medication_response, fixed, "nausea settled",
                    user=nurse).result()

    with database.session_scope() as s:
        current = repo.current_entries(s, MedicationAdministration, visit.id)
        assert sorted((m.id, m.dose, m.route) for m in current) == sorted(
            [(resp.id, 4.0, "IV"), (other.id, 4.0, "ODT")])
        history = repo.entry_history(s, MedicationAdministration, resp.id)
        assert [(h.id, h.dose, h.response) for h in history] == [
            (med.id, 8.0, None), (fixed.id, 4.0, None), (resp.id, 4.0, "nausea settled")]
        # the earlier versions are unchanged, and each correction says who, when and why
        assert history[1].amends_id == med.id and history[1].root_id == med.id
        assert history[1].recorded_by_id == charge_nurse.id
        assert history[1].amend_reason == "dose mis-keyed, 4 mg given"
        assert history[2].amends_id == fixed.id and history[2].root_id == med.id
        assert repo.visit_record(s, visit.id).amended == {("medication_administrations",
                                                           med.id)}
        actions = s.scalars(select(AuditLog.action).where(
            AuditLog.entity_type == "medication_administrations").order_by(AuditLog.id)).all()
        assert actions == ["create", "create", "amend", "amend"]


def test_an_entry_can_be_amended_only_once(database, nurse):
    """Amending a superseded version would fork the chain; it is refused."""
    w = database.writer
    _, _, visit = setup_visit(database, nurse)
    note = w.submit(repo.add_note, visit.id, "first", user=nurse).result()
    w.submit(repo.amend, note, {"text": "second"}, "clarified", user=nurse).result()
    with pytest.raises(repo.AlreadyAmended, match="already amended"):
        w.submit(repo.amend, note, {"text": "third"}, "again", user=nurse).result()
    with database.session_scope() as s:
        assert [n.text for n in repo.current_entries(s, Note, visit.id)] == ["second"]
        assert s.scalar(select(func.count(Note.id))) == 2


def test_amend_requires_reason_and_protects_bookkeeping(database, nurse):
    w = database.writer
    _, _, visit = setup_visit(database, nurse)
    note = w.submit(repo.add_note, visit.id, "x", user=nurse).result()
    with pytest.raises(repo.RecordError, match="reason"):
        w.submit(repo.amend, note, {"text": "y"}, "  ", user=nurse).result()
    with pytest.raises(repo.RecordError, match="cannot amend"):
        w.submit(repo.amend, note, {"recorded_by_id": 99}, "why", user=nurse).result()


def test_voided_entry_leaves_current_view_but_stays_in_history(database, nurse):
    w = database.writer
    _, _, visit = setup_visit(database, nurse)
    note = w.submit(repo.add_note, visit.id, "wrong patient", user=nurse).result()
    w.submit(repo.void_entry, note, "charted on the wrong chair", user=nurse).result()
    with database.session_scope() as s:
        assert repo.current_entries(s, Note, visit.id) == []
        assert len(repo.current_entries(s, Note, visit.id, include_voided=True)) == 1
        assert [n.voided for n in repo.entry_history(s, Note, note.id)] == [False, True]


def test_ride_confirmation_and_change(database, nurse):
    w = database.writer
    _, _, visit = setup_visit(database, nurse)
    ride = w.submit(repo.save_ride, visit.id, user=nurse, driver_name="Alex",
                    relationship="friend", phone="555").result()
    confirmed = w.submit(repo.confirm_ride, ride.id, "phone", user=nurse).result()
    assert confirmed.confirmed and confirmed.confirmed_by_id == nurse.id
    changed = w.submit(repo.save_ride, visit.id, user=nurse, kind="car_service",
                       company="City Cars", booking_ref="B-42").result()
    with database.session_scope() as s:
        current = repo.current_entries(s, RideArrangement, visit.id)
        assert [(r.id, r.kind, r.confirmed) for r in current] == [(changed.id, "car_service",
                                                                   False)]
        assert len(repo.entry_history(s, RideArrangement, ride.id)) == 3


def test_pump_change_pending_until_resolved(database, nurse):
    w = database.writer
    _, chair, visit = setup_visit(database, nurse)
    item = w.submit(repo.record_pump_change, visit.id, chair.id, "rate_change",
                    {"PUMP_RATE": 30.0}, user=nurse).result()
    with database.session_scope() as s:
        assert [p.id for p in repo.pending_pump_changes(s, chair_id=chair.id)] == [item.id]
    w.submit(repo.resolve_pump_change, item, "confirmed", "lowered for BP rise",
             user=nurse).result()
    with database.session_scope() as s:
        assert repo.pending_pump_changes(s, chair_id=chair.id) == []
        (cur,) = repo.current_entries(s, PumpChangeItem, visit.id)
        assert (cur.status, cur.resolution_reason) == ("confirmed", "lowered for BP rise")
