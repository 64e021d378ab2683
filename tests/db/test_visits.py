"""Visits: course numbers, phases, one visit per chair, discharge signing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nursestation.db import repo
from tests.db.helpers import setup_visit


def test_course_number_counts_earlier_visits(database, nurse):
    w = database.writer
    patient, chair, v1 = setup_visit(database, nurse)
    assert v1.course_number == 1
    w.submit(repo.advance_phase, v1.id, "cancelled", user=nurse).result()
    v2 = w.submit(repo.create_visit, patient.id, chair.id, "ketamine-iv", user=nurse).result()
    assert v2.course_number == 1  # the cancelled visit does not count
    for phase in ("baseline", "infusing", "recovery", "discharged"):
        w.submit(repo.advance_phase, v2.id, phase, user=nurse).result()
    v3 = w.submit(repo.create_visit, patient.id, chair.id, "ketamine-iv", user=nurse).result()
    assert v3.course_number == 2


def test_phases_move_forward_with_time_and_user(database, nurse, charge_nurse):
    w = database.writer
    _, chair, visit = setup_visit(database, nurse)
    t = datetime.now(UTC) - timedelta(minutes=50)
    w.submit(repo.advance_phase, visit.id, "baseline", user=nurse, at=t).result()
    w.submit(repo.advance_phase, visit.id, "infusing", user=charge_nurse,
             at=t + timedelta(minutes=5)).result()
    v = w.submit(repo.advance_phase, visit.id, "recovery", user=nurse,
                 at=t + timedelta(minutes=45)).result()
    assert v.baseline_at == t and v.baseline_by_id == nurse.id
    assert v.infusion_start_by_id == charge_nurse.id
    assert v.infusion_stop_at == v.recovery_at == t + timedelta(minutes=45)
    with pytest.raises(repo.RecordError, match="cannot go back"):
        w.submit(repo.advance_phase, visit.id, "infusing", user=nurse).result()
    with database.session_scope() as s:
        assert repo.active_visits(s)[chair.id].phase == "recovery"
        assert repo.active_visit_for_chair(s, chair.id).id == visit.id


def test_a_chair_holds_one_active_visit(database, nurse):
    w = database.writer
    _, chair, _ = setup_visit(database, nurse)
    other = w.submit(repo.create_patient, "MRN-2", "Lee", "Kim", user=nurse).result()
    with pytest.raises(repo.RecordError, match="already has an active visit"):
        w.submit(repo.create_visit, other.id, chair.id, "ketamine-iv", user=nurse).result()


def test_discharge_with_unmet_criteria_needs_charge_override(database, nurse, charge_nurse):
    w = database.writer
    _, _, visit = setup_visit(database, nurse)
    crit = [{"name": "ride confirmed", "met": False, "detail": "no ride"}]
    with pytest.raises(repo.RecordError, match="charge nurse must override"):
        w.submit(repo.record_discharge, visit.id, crit, False, user=nurse,
                 instructions_given=True).result()
    with pytest.raises(PermissionError, match="not a charge nurse"):
        w.submit(repo.record_discharge, visit.id, crit, False, user=nurse,
                 instructions_given=True, override_by=nurse, override_reason="x").result()
    d = w.submit(repo.record_discharge, visit.id, crit, False, user=nurse,
                 instructions_given=True, override_by=charge_nurse,
                 override_reason="husband waiting in lobby, phone dead").result()
    assert d.override and d.override_by_id == charge_nurse.id and d.signer_id == nurse.id
    with database.session_scope() as s:
        assert repo.get_visit(s, visit.id).phase == "discharged"
        assert repo.list_visits(s)[0].phase == "discharged"


def test_sync_chairs_from_config(database, nurse):
    from nursestation.config import ChairConfig, DeviceConfig

    w = database.writer
    setup_visit(database, nurse)
    w.submit(repo.sync_chairs, (ChairConfig("Chair 2", (DeviceConfig("masimo", "COM3",
                                                                     "c2-ox"),)),),
             user=nurse).result()
    with database.session_scope() as s:
        assert [c.name for c in repo.list_chairs(s)] == ["Chair 2"]
        assert [c.name for c in repo.list_chairs(s, active_only=False)] == ["Chair 1",
                                                                             "Chair 2"]
