"""Every model stores and loads back what was written, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest

from nursestation.db import repo
from nursestation.db.models import (
    Assessment,
    DischargeDecision,
    InfusionEvent,
    MedicationAdministration,
    Note,
    PumpChangeItem,
    RideArrangement,
    Screening,
    Visit,
)
from tests.db.helpers import setup_visit


def test_clinical_entries_round_trip(database, nurse, charge_nurse):
    w = database.writer
    patient, chair, visit = setup_visit(database, nurse)
    t0 = datetime(2026, 3, 1, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    w.submit(repo.add_weight, patient.id, 72.5, user=nurse, measured_at=t0,
             visit_id=visit.id).result()
    w.submit(repo.save_screening, visit.id, {"alcohol_24h": False, "last_solids_at":
             "2026-03-01T06:00:00Z", "medications": ["sertraline 50 mg"]}, user=nurse,
             passed=True, at=t0).result()
    w.submit(repo.record_infusion_event, visit.id, "start", user=nurse, rate_ml_h=45.3,
             dose_mg_kg_h=0.75, concentration_mg_ml=1.0, at=t0).result()
    w.submit(repo.record_infusion_event, visit.id, "rate_change", user=nurse, rate_ml_h=30.0,
             reason_code="bp_rise", reason_text="SBP 172", override_by=charge_nurse,
             override_reason="charge agreed", at=t0 + timedelta(minutes=10)).result()
    w.submit(repo.record_medication, visit.id, "ondansetron", 4, "mg", "IV", user=nurse,
             site="L antecubital", indication="nausea", given_at=t0).result()
    w.submit(repo.record_assessment, visit.id, "CADSS6", {"q1": 1, "q2": 0}, 1,
             user=nurse, note="calm", at=t0).result()
    w.submit(repo.add_note, visit.id, "Patient comfortable, lights dimmed.", user=nurse,
             at=t0).result()
    w.submit(repo.save_ride, visit.id, user=nurse, driver_name="Alex Rivera",
             relationship="spouse", phone="555-0100",
             expected_arrival=t0 + timedelta(hours=2)).result()
    w.submit(repo.record_pump_change, visit.id, chair.id, "pause", {"PUMP_STATE": "paused"},
             user=nurse, at=t0).result()
    w.submit(repo.record_alarm_event, chair.id, "SPO2_LOW", "SPO2", "high", "raised",
             values={"SPO2": 87.0, "limit": 90}, message="SpO2 87 < 90", visit_id=visit.id,
             at=t0).result()
    w.submit(repo.record_discharge, visit.id, [{"name": "ride", "met": True}], True,
             user=nurse, instructions_given=True).result()

    with database.session_scope() as s:
        rec = repo.visit_record(s, visit.id)
        assert rec.patient.mrn == "MRN-1" and rec.chair.name == "Chair 1"
        assert rec.weights[0].weight_kg == 72.5
        assert rec.weights[0].measured_at == t0
        assert rec.weights[0].measured_at.tzinfo is not None
        scr = rec.screenings[0]
        assert scr.answers["medications"] == ["sertraline 50 mg"] and scr.passed is True
        start, change = rec.infusion_events
        assert (start.kind, start.rate_ml_h, start.dose_mg_kg_h) == ("start", 45.3, 0.75)
        assert change.override_by_id == charge_nurse.id and change.reason_text == "SBP 172"
        med = rec.medications[0]
        assert (med.drug, med.dose, med.unit, med.route, med.site) == (
            "ondansetron", 4.0, "mg", "IV", "L antecubital")
        assert med.late_entry is True  # charted long after t0
        assert med.at == t0 and med.at.utcoffset() == timedelta(0)
        assert rec.assessments[0].items == {"q1": 1, "q2": 0} and rec.assessments[0].score == 1
        assert rec.notes[0].text.startswith("Patient comfortable")
        assert rec.ride is not None and rec.ride.driver_name == "Alex Rivera"
        assert rec.ride.expected_arrival == t0 + timedelta(hours=2)
        assert rec.pump_changes[0].status == "pending"
        assert rec.alarms[0].values == {"SPO2": 87.0, "limit": 90}
        d = rec.discharges[0]
        assert d.criteria == [{"name": "ride", "met": True}] and d.signer_id == nurse.id
        v = s.get(Visit, visit.id)
        assert v.phase == "discharged" and v.discharge_at is not None
        assert v.discharge_at.tzinfo == UTC
        for model in (Screening, InfusionEvent, MedicationAdministration, Assessment, Note,
                      RideArrangement, DischargeDecision, PumpChangeItem):
            for e in repo.current_entries(s, model, visit.id):
                assert e.recorded_by_id == nurse.id
                assert e.recorded_at.tzinfo == UTC


def test_naive_times_are_refused(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    with pytest.raises(repo.RecordError, match="timezone-aware"):
        database.writer.submit(repo.add_note, visit.id, "x", user=nurse,
                               at=datetime(2026, 1, 1, 9, 0)).result()


def test_future_times_cannot_be_charted(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    later = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(repo.RecordError, match="future"):
        database.writer.submit(repo.record_medication, visit.id, "ondansetron", 4, "mg", "IV",
                               user=nurse, given_at=later).result()
    with database.session_scope() as s:
        assert repo.current_entries(s, MedicationAdministration, visit.id) == []


def test_patients_users_and_weights(database, nurse):
    w = database.writer
    p = w.submit(repo.create_patient, "A-17", "O'Neil", "Dana", date(1980, 2, 29),
                 "ondansetron (rash)", user=nurse).result()
    w.submit(repo.add_weight, p.id, 80, user=nurse).result()
    w.submit(repo.add_weight, p.id, 79.4, user=nurse).result()
    with pytest.raises(repo.RecordError, match="already exists"):
        w.submit(repo.create_patient, "A-17", "X", "Y", user=nurse).result()
    auth = database.writer.submit
    assert auth(repo.authenticate, "nurse1", "4826").result().user.id == nurse.id
    assert auth(repo.authenticate, "nurse1", "4321").result().user is None
    assert auth(repo.authenticate, "nobody", "4826").result().user is None
    with database.session_scope() as s:
        found = repo.find_patient_by_mrn(s, "A-17")
        assert found is not None and found.date_of_birth == date(1980, 2, 29)
        assert found.allergies == "ondansetron (rash)"
        assert [x.mrn for x in repo.search_patients(s, "dana o")] == ["A-17"]
        assert [x.mrn for x in repo.search_patients(s, "neil")] == ["A-17"]
        assert repo.latest_weight(s, p.id).weight_kg == 79.4
        assert [x.weight_kg for x in repo.weight_history(s, p.id)] == [80.0, 79.4]
        u = repo.get_user(s, nurse.id)
        assert u.pin_hash.startswith("$argon2id$") and "4826" not in u.pin_hash


def test_wave_chunks_round_trip(database, nurse):
    from nursestation.core.readings import Reading

    _, chair, visit = setup_visit(database, nurse)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
    blocks = [np.sin(np.arange(i * 64, (i + 1) * 64) / 10).astype(np.float32) for i in range(4)]
    database.writer.record_readings([
        Reading("ECG", samples=b, rate_hz=256.0, unit="mV", chair="Chair 1",
                device_id="c1-mon", device_time=t0 + timedelta(seconds=i * 0.25))
        for i, b in enumerate(blocks)])
    database.writer.flush().result()
    with database.session_scope() as s:
        got = repo.wave_blocks(s, "ECG", visit_id=visit.id, start=t0,
                               end=t0 + timedelta(seconds=5))
    assert len(got) == 1  # consecutive blocks become one chunk
    np.testing.assert_array_equal(got[0].samples, np.concatenate(blocks))
    assert got[0].start_time == t0 and got[0].rate_hz == 256.0
