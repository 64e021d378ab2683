"""The record boundary: every clinical write through its command, on a real database, and every
case the record used to accept because only a form refused it."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from nursestation.core.dosing import ChargeOverride, authorise, check_rate
from nursestation.core.protocol import load_protocol
from nursestation.core.screening import ScreeningAnswers
from nursestation.db import repo
from nursestation.db.models import (
    Assessment,
    DischargeDecision,
    InfusionEvent,
    MedicationAdministration,
    Note,
    Patient,
    RideArrangement,
    Visit,
)
from nursestation.record import commands as rc
from nursestation.record.errors import Refused
from nursestation.record.gate import read_start_gate
from tests.db.helpers import setup_visit

PROTOCOL = load_protocol(Path(__file__).resolve().parents[2] / "resources" / "protocols"
                         / "ketamine-iv.toml")
#: A clinic whose protocol lets a charge nurse override the hard dose limits (the default file
#: does not: a hard limit is hard).
OVERRIDABLE = replace(PROTOCOL, dosing=replace(PROTOCOL.dosing, hard_limits_overridable=True))
NAN, INF = math.nan, math.inf
#: A clinic whose protocol file lets a charge nurse override the minimum observation time and
#: the ride as well (the default file does not: issue 15.5), for tests that need a visit
#: discharged minutes after its infusion.
LENIENT = replace(PROTOCOL, discharge=replace(
    PROTOCOL.discharge, charge_may_override=(*PROTOCOL.discharge.charge_may_override,
                                             "Observation after infusion",
                                             "Ride home confirmed")))


@pytest.fixture
def db_url(tmp_path):
    """The commands on SQLite (the repository underneath is tested on both backends)."""
    return f"sqlite:///{tmp_path / 'record.sqlite3'}"


def run(database, fn, *args, **kw):
    return database.writer.submit(fn, *args, **kw).result()


def refused(database, fn, *args, **kw) -> Refused:
    with pytest.raises(Refused) as info:
        run(database, fn, *args, **kw)
    return info.value


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def passing_screening(t: datetime) -> ScreeningAnswers:
    return ScreeningAnswers(last_solids_at=t - timedelta(hours=8),
                            last_clear_liquids_at=t - timedelta(hours=3),
                            denies_recent_alcohol=True,
                            answers={q: True for q in PROTOCOL.screening.questions})


def checked_in(database, nurse, weight=70.0):
    """A visit (patient Sam Rivera) checked in through the commands."""
    patient, chair, visit = setup_visit(database, nurse)
    run(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL, weight_kg=weight,
        answers=passing_screening(now()), medications="none")
    return patient, chair, visit


BASELINE = {"NBP_SYS": 124, "NBP_DIA": 80, "HR": 72, "SPO2": 98, "RR": 14}


def infusing(database, nurse, **kw):
    patient, chair, visit = checked_in(database, nurse, **kw)
    run(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
        values=BASELINE)
    run(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL)
    return patient, chair, visit


def discharged(database, nurse, charge):
    patient, chair, visit = infusing(database, nurse)
    run(database, rc.stop_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
        reason_code="patient request")
    gate, _ = run(database, rc.evaluate_gate, visit.id, protocol=PROTOCOL, now=now())
    ov = authorise(gate.decision(), by=charge.display_name, reason="prescriber reviewed",
                   pin_verified=True, by_id=charge.id)
    run(database, rc.discharge, visit.id, user=nurse.id, protocol=LENIENT,
        instructions_given=True, override=ov)
    return patient, chair, visit


def rows(database, model, visit_id):
    return database.writer.submit(repo.current_entries, model, visit_id).result()


# ------------------------------------------------------------------------------ a whole visit


def test_a_whole_visit_through_the_commands(database, nurse, charge_nurse):
    patient, chair, _ = setup_visit(database, nurse, mrn="OTHER", chair="Chair 2")
    chair1 = run(database, repo.chair_by_name, "Chair 1")
    made = run(database, rc.assign_patient, chair1.id, user=nurse.id, protocol=PROTOCOL,
               new_patient=rc.NewPatient("MRN-9", "Doe", "Jane", date(1980, 4, 2), "NKDA"))
    assert made.kinds == {"visit", "patient"} and made.phase == "check_in"
    vid = made.visit_id
    # Chair 2 is taken now (setup_visit's visit): the busy chair is refused by name
    err = refused(database, rc.assign_patient, chair.id, user=nurse.id, protocol=PROTOCOL,
                  patient_id=patient.id)
    assert err.rule == "visit" and "already has an active visit" in err.message

    c = run(database, rc.check_in, vid, user=nurse.id, protocol=PROTOCOL, weight_kg=72.5,
            answers=passing_screening(now()), medications="sertraline",
            ride=rc.RideDetails(driver_name="John Doe", relationship="husband",
                                phone="555 0100"))
    assert c.kinds == {"screening", "weight", "ride"}
    c = run(database, rc.record_baseline, vid, user=nurse.id, protocol=PROTOCOL,
            values=BASELINE, sources={"HR": "monitor"}, cadss6=[0, 0, 0, 0, 0, 0])
    assert c.phase == "baseline" and len(c.entries) == 2
    c = run(database, rc.start_infusion, vid, user=nurse.id, protocol=PROTOCOL)
    assert c.phase == "infusing" and c.entry.rate_ml_h == pytest.approx(150.0)
    assert c.entry.concentration_mg_ml == pytest.approx(0.3625)
    run(database, rc.change_rate, vid, user=nurse.id, protocol=PROTOCOL, rate_ml_h=100,
        reason_code="dissociation distressing")
    run(database, rc.pause_infusion, vid, user=nurse.id, protocol=PROTOCOL,
        reason_code="nausea")
    err = refused(database, rc.pause_infusion, vid, user=nurse.id, protocol=PROTOCOL,
                  reason_code="nausea")
    assert err.rule == "pump_state" and "paused, not running" in err.message
    c = run(database, rc.resume_infusion, vid, user=nurse.id, protocol=PROTOCOL,
            reason_code="nausea", reason_text="settled")
    assert c.entry.rate_ml_h == 100  # the last charted rate
    run(database, rc.give_medication, vid, user=nurse.id, protocol=PROTOCOL,
        drug="ondansetron", dose=4, route="IV", indication="nausea")
    run(database, rc.record_assessments, vid, user=nurse.id, protocol=PROTOCOL,
        cadss6=[1, 0, 0, 0, 0, 0], moaas=5, nausea="mild", note="floaty")
    c = run(database, rc.stop_infusion, vid, user=nurse.id, protocol=PROTOCOL,
            reason_code="nausea")
    assert c.phase == "recovery"
    assert [e.kind for e in rows(database, InfusionEvent, vid)] == [
        "start", "rate_change", "pause", "resume", "stop"]
    run(database, rc.save_ride, vid, user=nurse.id, protocol=PROTOCOL,
        details=rc.RideDetails(driver_name="John Doe", relationship="husband",
                               phone="555 010 2233",
                               expected_arrival=now() + timedelta(minutes=20)),
        confirm_method="phone_call")
    # the infusion ended just now: the gate is not met; the charge nurse overrides what she saw
    gate, _ = run(database, rc.evaluate_gate, vid, protocol=PROTOCOL, now=now())
    assert not gate.passed
    ov = authorise(gate.decision(), by="Carla Charge", reason="prescriber reviewed",
                   pin_verified=True, by_id=charge_nurse.id)
    # the protocol file's default: nobody may override the minimum observation time (15.5)
    err = refused(database, rc.discharge, vid, user=nurse.id, protocol=PROTOCOL,
                  instructions_given=True, override=ov)
    assert err.rule == "discharge_not_overridable"
    assert err.message.startswith("Not overridable: Observation after infusion: ")
    # a clinic whose protocol file lets the charge nurse override it
    lenient = LENIENT
    err = refused(database, rc.discharge, vid, user=nurse.id, protocol=lenient,
                  instructions_given=True)
    assert err.needs == "charge_override" and "Observation after infusion" in err.message
    c = run(database, rc.discharge, vid, user=nurse.id, protocol=lenient,
            instructions_given=True, override=ov)
    assert c.phase == "discharged" and c.kinds == {"discharge", "visit"}
    (d,) = rows(database, DischargeDecision, vid)
    assert d.override and d.override_by_id == charge_nurse.id and not d.all_met
    assert any(x["name"] == "Observation after infusion" and not x["met"] for x in d.criteria)


# ---------------------------------------------- "the record accepts what only a form refuses"


def test_discharge_straight_from_check_in_is_refused(database, nurse, charge_nurse):
    _, _, visit = setup_visit(database, nurse)
    ov = ChargeOverride("Carla Charge", "go", True, by_id=charge_nurse.id)
    err = refused(database, rc.discharge, visit.id, user=nurse.id, protocol=PROTOCOL,
                  instructions_given=True, override=ov)
    assert err.rule == "visit_phase"
    assert err.message == ("cannot discharge: the patient is still being checked in (that is "
                           "done in recovery, after the infusion stops)")
    assert rows(database, DischargeDecision, visit.id) == []
    assert run(database, repo.get_visit, visit.id).phase == "check_in"


def test_an_unknown_discharge_result_is_refused(database, nurse):
    _, _, visit = infusing(database, nurse)
    run(database, rc.stop_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
        reason_code="patient request")
    err = refused(database, rc.discharge, visit.id, user=nurse.id, protocol=PROTOCOL,
                  instructions_given=True, result="abducted")
    assert err.rule == "discharge_result" and err.value == "abducted"
    assert "discharge result 'abducted' is not one of: discharged" in err.message
    assert run(database, repo.get_visit, visit.id).phase == "recovery"


def test_a_note_after_discharge_is_a_flagged_late_entry_never_a_silent_write(
        database, nurse, charge_nurse):
    _, _, visit = discharged(database, nurse, charge_nurse)
    err = refused(database, rc.add_note, visit.id, user=nurse.id, text="called patient: well")
    assert err.rule == "late_entry" and err.needs == "late_reason"
    assert "the visit was discharged: a note charted now is a late entry" in err.message
    assert rows(database, Note, visit.id) == []
    c = run(database, rc.add_note, visit.id, user=nurse.id, text="called patient: well",
            late_reason="follow-up call after discharge")
    assert c.flags == ("late entry: follow-up call after discharge",)
    (n,) = rows(database, Note, visit.id)
    assert n.late_reason == "follow-up call after discharge"


def test_a_medication_after_discharge_is_a_late_entry_with_its_reason(database, nurse,
                                                                      charge_nurse):
    _, _, visit = discharged(database, nurse, charge_nurse)
    kw = {"user": nurse.id, "protocol": PROTOCOL, "drug": "ondansetron", "dose": 4, "route": "IV"}
    err = refused(database, rc.give_medication, visit.id, **kw)
    assert err.rule == "late_entry"
    run(database, rc.give_medication, visit.id, late_reason="given at the door, charted now",
        **kw)
    (m,) = rows(database, MedicationAdministration, visit.id)
    assert m.late_entry and m.late_reason == "given at the door, charted now"


def test_an_infusion_cannot_start_on_a_discharged_visit(database, nurse, charge_nurse):
    _, _, visit = discharged(database, nurse, charge_nurse)
    before = [e.id for e in rows(database, InfusionEvent, visit.id)]
    err = refused(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL)
    assert err.rule == "visit_phase"
    assert err.message == "an infusion cannot start on a discharged visit"
    assert [e.id for e in rows(database, InfusionEvent, visit.id)] == before


def test_an_absurd_rate_is_refused_as_not_a_pump_rate(database, nurse):
    _, _, visit = infusing(database, nurse)
    err = refused(database, rc.change_rate, visit.id, user=nurse.id, protocol=PROTOCOL,
                  rate_ml_h=1e6, reason_code="patient request")
    assert err.rule == "rate" and err.value == 1e6
    assert err.message == "rate 1e+06 mL/h is not plausible: at most 2000 mL/h"


def test_a_negative_rate_and_a_negative_dose_rate_are_refused(database, nurse):
    _, _, visit = infusing(database, nurse)
    err = refused(database, rc.change_rate, visit.id, user=nurse.id, protocol=PROTOCOL,
                  rate_ml_h=-5, reason_code="patient request")
    assert err.message == "rate -5 mL/h is negative"
    (start,) = rows(database, InfusionEvent, visit.id)
    err = refused(database, rc.amend_entry, "infusion_events", start.id, user=nurse.id,
                  protocol=PROTOCOL, changes={"dose_mg_kg_h": -0.75}, reason="typo")
    assert err.rule == "dose_rate" and err.message == "dose rate -0.75 mg/kg/h is negative"


def test_concentration_zero_is_refused(database, nurse):
    _, _, visit = infusing(database, nurse)
    (start,) = rows(database, InfusionEvent, visit.id)
    err = refused(database, rc.amend_entry, "infusion_events", start.id, user=nurse.id,
                  protocol=PROTOCOL, changes={"concentration_mg_ml": 0}, reason="typo")
    assert err.rule == "concentration"
    assert err.message == "concentration 0 mg/mL is not valid: it must be above 0 mg/mL"


def test_a_zero_dose_plan_is_refused(database, nurse):
    _, _, visit = checked_in(database, nurse)
    run(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
        values=BASELINE)
    err = refused(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
                  dose_mg_per_kg=0)
    assert err.message == "dose 0 mg/kg is not valid: it must be above 0 mg/kg"


@pytest.mark.parametrize(("kw", "rule", "words"), [
    ({"dose": 1e6}, "dose",
     "ondansetron 1e+06 mg is not a plausible dose (more than 10 × the maximum per dose"),
    ({"drug": "unobtainium"}, "formulary", "'unobtainium' is not in the protocol formulary"),
    ({"unit": "bananas"}, "unit", "ondansetron is charted in mg"),
    ({"route": "XYZ"}, "route", "route 'XYZ' is not a route the record knows"),
])
def test_medication_plausibility_formulary_unit_and_route(database, nurse, kw, rule, words):
    _, _, visit = infusing(database, nurse)
    args = {"user": nurse.id, "protocol": PROTOCOL, "drug": "ondansetron", "dose": 4, "route": "IV"}
    err = refused(database, rc.give_medication, visit.id, **{**args, **kw})
    assert err.rule == rule and words in err.message
    assert err.message.startswith("Cannot be recorded: ")
    assert rows(database, MedicationAdministration, visit.id) == []


def test_a_hard_rate_limit_is_refused_even_with_a_charge_nurse(database, nurse, charge_nurse):
    """Issue 15.5: the default protocol's hard limits offer no override at all."""
    _, _, visit = infusing(database, nurse)
    dec = check_rate(320, 0.35, 70, PROTOCOL.dosing)
    ov = authorise(dec, by=charge_nurse.display_name, reason="ordered 320", pin_verified=True,
                   by_id=charge_nurse.id)
    err = refused(database, rc.change_rate, visit.id, user=nurse.id, protocol=PROTOCOL,
                  rate_ml_h=320, reason_code="patient request", override=ov)
    assert err.rule == "rate" and err.needs == "correction"
    assert "a hard limit with no override" in err.message
    assert len(rows(database, InfusionEvent, visit.id)) == 1


def test_an_override_naming_nobody_is_refused(database, nurse, charge_nurse):
    _, _, visit = infusing(database, nurse)
    dec = check_rate(320, 0.35, 70, OVERRIDABLE.dosing)
    covers = authorise(dec, by="x", reason="x", pin_verified=True).covers
    kw = {"user": nurse.id, "protocol": OVERRIDABLE, "rate_ml_h": 320,
          "reason_code": "patient request"}
    nobody = ChargeOverride("", "ordered 320", True, covers=covers, by_id=None)
    err = refused(database, rc.change_rate, visit.id, override=nobody, **kw)
    assert err.rule == "override" and "names no charge nurse" in err.message
    a_nurse = ChargeOverride("Nora Nurse", "ordered 320", True, covers=covers, by_id=nurse.id)
    err = refused(database, rc.change_rate, visit.id, override=a_nurse, **kw)
    assert err.message == "Nora Nurse is not a charge nurse; an override needs one"
    no_reason = ChargeOverride("Carla", " ", True, covers=covers, by_id=charge_nurse.id)
    err = refused(database, rc.change_rate, visit.id, override=no_reason, **kw)
    assert err.message == "override reason is empty"
    assert len(rows(database, InfusionEvent, visit.id)) == 1


def test_override_given_at_320_does_not_cover_2000_ml_h(database, nurse, charge_nurse):
    """The dose-change dialog's bug: a charge nurse authorised 320 mL/h over the hard limit, the
    rate was then changed to 2000 mL/h (10 mg/kg/h) and saved under the same override."""
    _, _, visit = infusing(database, nurse)  # 70 kg, 0.35 mg/mL
    shown = check_rate(320, 0.35, 70, OVERRIDABLE.dosing)
    ov = authorise(shown, by=charge_nurse.display_name, reason="ordered 320",
                   pin_verified=True, by_id=charge_nurse.id)
    kw = {"user": nurse.id, "protocol": OVERRIDABLE, "reason_code": "patient request",
          "override": ov}
    err = refused(database, rc.change_rate, visit.id, rate_ml_h=2000, **kw)
    assert err.needs == "charge_override" and err.rule == "rate"
    assert "covered only what it was shown (1.6 mg/kg/h exceeds the hard limit" in err.message
    assert "the entry now says: 10 mg/kg/h exceeds the hard limit 1.5 mg/kg/h" in err.message
    assert len(rows(database, InfusionEvent, visit.id)) == 1
    c = run(database, rc.change_rate, visit.id, rate_ml_h=320, **kw)
    assert c.entry.override_by_id == charge_nurse.id and c.entry.override_reason == "ordered 320"


def test_a_discharge_override_covers_the_criteria_it_was_shown_only(database, nurse,
                                                                    charge_nurse):
    _, chair, visit = infusing(database, nurse)
    run(database, rc.stop_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
        reason_code="patient request")
    gate, _ = run(database, rc.evaluate_gate, visit.id, protocol=PROTOCOL, now=now())
    ov = authorise(gate.decision(), by="Carla", reason="reviewed", pin_verified=True,
                   by_id=charge_nurse.id)
    # a high alarm raised after the override: a criterion the charge nurse never saw
    run(database, rc.record_alarm_event, chair.id, alarm_key="c1:SPO2<90", code="SPO2",
        priority="high", state="raised", message="SpO2 86 < 90", visit_id=visit.id)
    err = refused(database, rc.discharge, visit.id, user=nurse.id, protocol=LENIENT,
                  instructions_given=True, override=ov)
    assert err.needs == "charge_override" and "No active alarm" in err.message
    assert run(database, repo.get_visit, visit.id).phase == "recovery"


@pytest.mark.parametrize(("scale", "items", "score", "rule", "words"), [
    ("HAPPINESS", {"level": 3}, None, "scale", "assessment scale 'HAPPINESS' is not one"),
    ("MOAAS", {"level": 4}, -50, "score", "MOAA/S score -50 does not match its items (4)"),
    ("MOAAS", {"level": -50}, None, "moaas_level", "MOAA/S level -50 is outside 0–5"),
    ("CADSS6", {str(i): -50 for i in range(1, 7)}, None, "cadss6_item", "is outside 0–4"),
    ("NAUSEA", {"level": "apocalyptic"}, None, "nausea_level", "is not one of: none"),
    ("BASELINE_VITALS", {"HR": 70}, None, "scale", "is not one the record knows"),
])
def test_unknown_scales_and_impossible_scores_are_refused(database, nurse, scale, items, score,
                                                          rule, words):
    _, _, visit = infusing(database, nurse)
    before = len(rows(database, Assessment, visit.id))
    err = refused(database, rc.record_assessment, visit.id, user=nurse.id, protocol=PROTOCOL,
                  scale=scale, items=items, score=score)
    assert err.rule == rule and words in err.message
    assert len(rows(database, Assessment, visit.id)) == before


@pytest.mark.parametrize("name", ["Sam Rivera", "rivera, sam", "  SAM   RIVERA "])
def test_the_patient_named_as_the_driver_is_refused(database, nurse, name):
    _, _, visit = setup_visit(database, nurse)  # Sam Rivera
    err = refused(database, rc.save_ride, visit.id, user=nurse.id, protocol=PROTOCOL,
                  details=rc.RideDetails(driver_name=name, relationship="friend",
                                         phone="555 010 2233",
                                         expected_arrival=now() + timedelta(minutes=30)))
    assert err.rule == "ride" and "is the patient" in err.message
    assert "the patient may not drive" in err.message
    assert rows(database, RideArrangement, visit.id) == []
    # the quick entry at check-in says the same
    err = refused(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL,
                  weight_kg=70, answers=passing_screening(now()),
                  ride=rc.RideDetails(driver_name=name, relationship="friend"))
    assert err.rule == "ride" and "is the patient" in err.message


def test_a_patient_born_in_2100_is_refused(database, nurse):
    _, _chair, _ = setup_visit(database, nurse, chair="Chair 2")
    chair1 = run(database, repo.chair_by_name, "Chair 1")
    err = refused(database, rc.assign_patient, chair1.id, user=nurse.id, protocol=PROTOCOL,
                  new_patient=rc.NewPatient("MRN-2100", "Future", "Fay", date(2100, 1, 1)))
    assert err.rule == "date_of_birth"
    assert err.message == "date of birth 2100-01-01 is in the future"
    assert run(database, repo.find_patient_by_mrn, "MRN-2100") is None
    err = refused(database, rc.assign_patient, chair1.id, user=nurse.id, protocol=PROTOCOL,
                  new_patient=rc.NewPatient("MRN-1800", "Past", "Pat", date(1850, 1, 1)))
    assert "before 1900" in err.message


def test_a_five_megabyte_note_is_refused(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    err = refused(database, rc.add_note, visit.id, user=nurse.id, text="x" * (5 * 1024 * 1024))
    assert err.rule == "note"
    assert err.message == ("the note is 5,242,880 characters long; the record takes at most "
                           "10,000")
    assert rows(database, Note, visit.id) == []


# ------------------------------------------------------------- NaN and infinity, deliberately


def _nan_cases():
    def check_in_weight(db, nurse, v, bad):
        return rc.check_in, (v.id,), {"protocol": PROTOCOL, "weight_kg": bad,
                                          "answers": passing_screening(now())}

    def rate(db, nurse, v, bad):
        return rc.change_rate, (v.id,), {"protocol": PROTOCOL, "rate_ml_h": bad,
                                             "reason_code": "patient request"}

    def planned_dose(db, nurse, v, bad):
        return rc.start_infusion, (v.id,), {"protocol": PROTOCOL, "dose_mg_per_kg": bad}

    def medication(db, nurse, v, bad):
        return rc.give_medication, (v.id,), {"protocol": PROTOCOL, "drug": "ondansetron",
                                                 "dose": bad, "route": "IV"}

    def vitals(db, nurse, v, bad):
        return rc.record_vitals_check, (v.id,), {"protocol": PROTOCOL, "values": {"HR": bad}}

    def moaas(db, nurse, v, bad):
        return rc.record_assessments, (v.id,), {"protocol": PROTOCOL, "moaas": bad}

    def alarm_value(db, nurse, v, bad):
        return rc.record_alarm_event, (v.chair_id,), {
            "alarm_key": "k", "code": "HR", "priority": "low", "state": "raised",
            "values": {"HR": bad},
            "user": None}

    def amend_rate(db, nurse, v, bad):
        start = rows(db, InfusionEvent, v.id)[0]
        return rc.amend_entry, ("infusion_events", start.id), {
            "protocol": PROTOCOL, "changes": {"rate_ml_h": bad}, "reason": "typo"}

    return [check_in_weight, rate, planned_dose, medication, vitals, moaas, alarm_value,
            amend_rate]


@pytest.mark.parametrize("bad", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("case", _nan_cases(), ids=lambda f: f.__name__)
def test_nan_and_infinity_are_refused_everywhere(database, nurse, case, bad):
    if case.__name__ == "check_in_weight":
        _, _, visit = setup_visit(database, nurse)
    elif case.__name__ == "planned_dose":
        _, _, visit = checked_in(database, nurse)
        run(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
            values=BASELINE)
    else:
        _, _, visit = infusing(database, nurse)
    fn, args, kw = case(database, nurse, visit, bad)
    kw.setdefault("user", nurse.id)
    err = refused(database, fn, *args, **kw)
    assert "NaN" in err.message or "not a finite number" in err.message, err.message


# ------------------------------------------------------------------ states and who may do it


def test_rate_changes_follow_the_pump_state(database, nurse):
    _, _, visit = checked_in(database, nurse)
    err = refused(database, rc.change_rate, visit.id, user=nurse.id, protocol=PROTOCOL,
                  rate_ml_h=100, reason_code="patient request")
    assert err.rule == "visit_phase" and "still being checked in" in err.message
    run(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
        values=BASELINE)
    err = refused(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
                  values=BASELINE)
    # in the nurse's words: where the visit stands, not the record's phase names
    assert err.message == ("cannot record the baseline: the baseline is already recorded and "
                           "the infusion has not started (that is done during check-in)")
    run(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL)
    err = refused(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL)
    assert err.rule == "pump_state" and "already started" in err.message
    err = refused(database, rc.resume_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
                  reason_code="nausea")
    assert "running, not paused" in err.message
    err = refused(database, rc.change_rate, visit.id, user=nurse.id, protocol=PROTOCOL,
                  rate_ml_h=100, reason_code="because")
    assert err.rule == "reason" and "is not in the protocol's list" in err.message


def test_an_inactive_or_unknown_user_charts_nothing(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    err = refused(database, rc.add_note, visit.id, user=9999, text="hello")
    assert err.rule == "user" and "#9999 does not exist" in err.message


def test_alarm_acknowledgement_names_the_nurse(database, nurse):
    _, chair, visit = setup_visit(database, nurse)
    err = refused(database, rc.record_alarm_event, chair.id, alarm_key="k", code="HR",
                  priority="high", state="acknowledged", visit_id=visit.id)
    assert err.rule == "alarm_user"
    err = refused(database, rc.record_alarm_event, chair.id, alarm_key="k", code="HR",
                  priority="urgent", state="raised")
    assert err.rule == "alarm_priority"
    c = run(database, rc.acknowledge_alarm, chair.id, user=nurse.id, alarm_key="k", code="HR",
            priority="high", visit_id=visit.id)
    assert c.kinds == {"alarm"} and c.entry.user_id == nurse.id


def test_check_in_twice_and_baseline_before_check_in_are_refused(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    err = refused(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
                  values=BASELINE)
    assert err.rule == "check_in"
    run(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL, weight_kg=70,
        answers=passing_screening(now()))
    err = refused(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL,
                  weight_kg=70, answers=passing_screening(now()))
    assert err.rule == "check_in" and "already checked in" in err.message


def test_a_failed_screening_needs_an_acknowledgement(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    t = now()
    ans = ScreeningAnswers(last_solids_at=t - timedelta(hours=2),
                           last_clear_liquids_at=t - timedelta(hours=3),
                           denies_recent_alcohol=True,
                           answers={q: True for q in PROTOCOL.screening.questions})
    err = refused(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL,
                  weight_kg=70, answers=ans)
    assert err.needs == "reason" and "only 2.0 h ago, needs 6 h" in err.message
    run(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL, weight_kg=70,
        answers=ans, acknowledgement="anaesthetist agreed")
    v = run(database, lambda s: s.get(Visit, visit.id))
    assert v.phase == "check_in"
    p = run(database, lambda s: s.get(Patient, v.patient_id))
    assert run(database, repo.latest_weight, p.id).weight_kg == 70


def test_a_typo_baseline_is_refused_at_the_record_boundary(database, nurse):
    """Issue 15.2 through the command: 5/900 is not a blood pressure, whoever sends it."""
    _, _, visit = checked_in(database, nurse)
    err = refused(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
                  values={**BASELINE, "NBP_SYS": 5, "NBP_DIA": 900})
    assert err.rule == "vital_range" and "between 40 and 300 mmHg" in err.message
    err = refused(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
                  values={**BASELINE, "NBP_SYS": 110, "NBP_DIA": 120})
    assert "diastolic must be below the systolic" in err.message
    err = refused(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
                  values={**BASELINE, "NBP_SYS": 230})
    assert err.rule == "vital_unusual" and err.needs == "confirm"
    run(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
        values={**BASELINE, "NBP_SYS": 230}, confirm_unusual=True)


def test_a_negative_weight_is_refused_not_made_positive(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    err = refused(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL,
                  weight_kg=-70, answers=passing_screening(now()))
    assert err.rule == "weight"


def test_one_start_command_advances_the_phase_whichever_form_calls_it(database, nurse):
    """The dose-change form starts with a pump rate, the start-infusion step with a plan: both
    are start_infusion, and both move the visit to infusing."""
    _, _, visit = checked_in(database, nurse)
    run(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
        values=BASELINE)
    c = run(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
            rate_ml_h=120)
    assert c.phase == "infusing" and c.entry.rate_ml_h == 120
    assert c.entry.concentration_mg_ml == pytest.approx(0.35)  # the protocol plan's, 70 kg
    assert c.entry.dose_mg_kg_h == pytest.approx(0.6)


def test_an_amended_assessment_is_checked_like_a_new_one(database, nurse):
    _, _, visit = infusing(database, nurse)
    c = run(database, rc.record_assessment, visit.id, user=nurse.id, protocol=PROTOCOL,
            scale="MOAAS", items={"level": 4})
    assert c.entry.score == 4
    err = refused(database, rc.amend_entry, "assessments", c.entry.id, user=nurse.id,
                  protocol=PROTOCOL, changes={"score": -50}, reason="typo")
    assert err.rule == "score"
    done = run(database, rc.amend_entry, "assessments", c.entry.id, user=nurse.id,
               protocol=PROTOCOL, changes={"items": {"level": 3}}, reason="re-assessed")
    assert done.entry.score == 3 and done.kinds == {"amendment", "assessment"}
    err = refused(database, rc.amend_entry, "assessments", c.entry.id, user=nurse.id,
                  protocol=PROTOCOL, changes={"note": "x"}, reason="again")
    assert err.rule == "amended" and "was already amended" in err.message



def test_an_amended_ride_is_checked_like_a_new_one(database, nurse):
    _, _, visit = setup_visit(database, nurse)  # Sam Rivera
    c = run(database, rc.save_ride, visit.id, user=nurse.id, protocol=PROTOCOL,
            details=rc.RideDetails(driver_name="Alex Rivera", relationship="friend",
                                   phone="555 010 2233",
                                   expected_arrival=now() + timedelta(minutes=30)))
    # a phone that is no phone, an empty relationship, the patient himself: refused in words,
    # with the names as they were written
    err = refused(database, rc.amend_entry, "ride_arrangements", c.entry.id, user=nurse.id,
                  protocol=PROTOCOL, changes={"phone": "12", "relationship": ""},
                  reason="typo")
    assert err.rule == "ride" and "'12' is not a phone number" in err.message
    assert "relationship to the patient missing" in err.message
    err = refused(database, rc.amend_entry, "ride_arrangements", c.entry.id, user=nurse.id,
                  protocol=PROTOCOL, changes={"driver_name": "Sam Rivera"}, reason="typo")
    assert "The driver named, Sam Rivera, is the patient" in err.message
    err = refused(database, rc.amend_entry, "ride_arrangements", c.entry.id, user=nurse.id,
                  protocol=PROTOCOL, changes={"relationship": "self"}, reason="typo")
    assert "the patient may not drive" in err.message
    assert [r.phone for r in rows(database, RideArrangement, visit.id)] == ["555 010 2233"]
    done = run(database, rc.amend_entry, "ride_arrangements", c.entry.id, user=nurse.id,
               protocol=PROTOCOL, changes={"driver_name": "Alex Rivero"}, reason="spelling")
    assert done.entry.driver_name == "Alex Rivero"


def test_correcting_a_quick_ride_from_check_in_needs_no_phone_yet(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    run(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL, weight_kg=70,
        answers=passing_screening(now()), medications="none",
        ride=rc.RideDetails(driver_name="Jon Doe", relationship="husband"))
    (quick,) = rows(database, RideArrangement, visit.id)
    done = run(database, rc.amend_entry, "ride_arrangements", quick.id, user=nurse.id,
               protocol=PROTOCOL, changes={"driver_name": "John Doe"}, reason="spelling")
    assert (done.entry.driver_name, done.entry.phone) == ("John Doe", "")


def test_a_stop_moves_the_visit_into_recovery_once(database, nurse):
    _, _, visit = infusing(database, nurse)
    c = run(database, rc.stop_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
            reason_code="BP rise", reason_text="SBP 170")
    assert c.phase == "recovery" and c.entry.kind == "stop"
    assert c.entry.reason_code == "BP rise"
    err = refused(database, rc.stop_infusion, visit.id, user=nurse.id, protocol=PROTOCOL)
    assert err.rule == "visit_phase" and "the patient is in recovery" in err.message


def test_failed_screening_blocks_the_start_until_a_charge_nurse_overrides(database, nurse,
                                                                         charge_nurse):
    """Issue 15.4: consent unsigned, medicines not reviewed, no ride: a nurse got past it by
    typing "pt insists", and the start screen then showed only green ticks."""
    _, _, visit = setup_visit(database, nurse)
    consent, meds, ride = PROTOCOL.screening.questions
    answers = replace(passing_screening(now()), answers={consent: False, meds: False,
                                                        ride: False})
    run(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL, weight_kg=70,
        answers=answers, acknowledgement="pt insists")
    run(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
        values=BASELINE)
    err = refused(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
                  reason="pt insists")
    assert err.needs == "charge_override" and err.rule == "screening"
    assert "consent signed for this course: no" in err.message
    with database.session_scope() as s:
        gate = read_start_gate(s, visit.id, PROTOCOL, now())
    ov = authorise(gate, by=charge_nurse.display_name, reason="prescriber reviewed consent",
                   pin_verified=True, by_id=charge_nurse.id)
    c = run(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
            override=ov)
    assert c.entry.override_by_id == charge_nurse.id


def test_no_recent_blood_pressure_refuses_the_start(database, nurse):
    """REMS: BP before dosing. A baseline an hour old is not a pre-dose BP."""
    _, _, visit = checked_in(database, nurse)
    run(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
        values=BASELINE, now=now() - timedelta(minutes=60))
    err = refused(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL)
    assert err.rule == "predose_bp" and "take one before dosing" not in err.message
    assert "a BP within 15 min is needed before dosing" in err.message


def test_stopping_well_short_of_the_plan_asks_why_and_says_so(database, nurse):
    """Issue 15.5: a 3-minute run of a 40-minute plan was accepted as "completed as planned"."""
    _, _, visit = infusing(database, nurse)
    err = refused(database, rc.stop_infusion, visit.id, user=nurse.id, protocol=PROTOCOL)
    assert err.rule == "stop_reason" and err.needs == "reason"
    assert "Stopped early" in err.message and "adverse effect" in err.message
    c = run(database, rc.stop_infusion, visit.id, user=nurse.id, protocol=PROTOCOL,
            reason_code="adverse effect", reason_text="vomiting")
    assert c.entry.reason_code == "adverse effect"
    assert any("stopped early (adverse effect)" in f for f in c.flags)


def test_a_full_run_stops_as_completed(database, nurse):
    _, _, visit = checked_in(database, nurse)
    t0 = now() - timedelta(minutes=45)
    run(database, rc.record_baseline, visit.id, user=nurse.id, protocol=PROTOCOL,
        values=BASELINE, now=t0 - timedelta(minutes=5))
    run(database, rc.start_infusion, visit.id, user=nurse.id, protocol=PROTOCOL, at=t0,
        now=t0)
    c = run(database, rc.stop_infusion, visit.id, user=nurse.id, protocol=PROTOCOL)
    assert c.phase == "recovery" and c.flags == ()  # the bag ran empty: completed
