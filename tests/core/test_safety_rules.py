"""The safety rules of the protocol file that core applies: strict entry parsing and
plausibility, the gate before dosing, stopping short of the plan, which discharge criteria a
charge nurse may override, the as-needed formulary, and the pump disagreeing with the chart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nursestation
from nursestation.core.alarms import AlarmEngine, ChangeKind
from nursestation.core.clock import FakeClock
from nursestation.core.discharge import Criterion, DischargeResult, override_scope
from nursestation.core.dosing import Severity, authorise, check_stop, resolve
from nursestation.core.medications import (
    by_purpose,
    response_due_at,
    sedation_check_due_at,
)
from nursestation.core.plausibility import (
    EntryError,
    check_blood_pressure,
    check_entered_time,
    check_value,
    enter,
    parse_number,
)
from nursestation.core.protocol import (
    DISCHARGE_CRITERIA,
    ProtocolError,
    load_protocol,
    parse_protocol,
)
from nursestation.core.pumpchanges import chart_pump_mismatch
from nursestation.core.readings import Reading
from nursestation.core.screening import (
    PredoseBP,
    ScreeningAnswers,
    blocking_failures,
    screen,
    start_gate,
)

FILE = Path(nursestation.__file__).parent / "resources" / "protocols" / "ketamine-iv.toml"
P = load_protocol(FILE)
PL = P.plausibility
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


# --- strict parsing ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["abc-5", "-", "12O", "1,5", "1e3", "120 mmHg", "", "  ",
                                  "nan", "inf", "5/900", "--5", "0x10"])
def test_nothing_is_dropped_or_coerced(text):
    with pytest.raises(EntryError) as exc:
        parse_number(text, "systolic blood pressure")
    assert "systolic blood pressure" in str(exc.value)


@pytest.mark.parametrize(("text", "value"), [("120", 120), (" 36.8 ", 36.8), ("-70", -70),
                                             ("+5", 5), (".5", 0.5)])
def test_plain_numbers_parse_exactly(text, value):
    assert parse_number(text, "x") == value


@given(st.text(max_size=12))
def test_parse_number_either_parses_exactly_or_refuses(text):
    try:
        v = parse_number(text, "x")
    except EntryError:
        return
    assert float(text.strip()) == v


# --- plausibility -----------------------------------------------------------------------------

def test_typo_baseline_is_refused_with_its_range():
    dec = check_blood_pressure(5, 900, PL)
    assert dec.severity is Severity.REFUSED
    text = " ".join(dec.messages)
    assert "systolic blood pressure 5 mmHg is not plausible" in text
    assert "between 40 and 300 mmHg" in text
    assert "diastolic blood pressure 900 mmHg is not plausible" in text


def test_diastolic_above_systolic_is_refused():
    dec = check_blood_pressure(110, 120, PL)
    assert dec.severity is Severity.REFUSED
    assert "diastolic must be below the systolic" in dec.messages[-1]


def test_unusual_value_needs_confirmation_and_plausible_passes():
    assert check_value("NBP_SYS", 230, PL).severity is Severity.SOFT
    assert resolve(check_value("NBP_SYS", 230, PL), reason="re-measured").allowed
    assert check_blood_pressure(124, 82, PL).severity is Severity.OK


def test_negative_weight_is_refused_not_made_positive():
    e = enter("WEIGHT", "-70", PL)
    assert e.value == -70 and e.decision.severity is Severity.REFUSED
    assert "between 20 and 350 kg" in e.decision.messages[0]


def test_fahrenheit_typed_as_celsius_is_refused():
    assert check_value("TEMP", 98.6, PL).severity is Severity.REFUSED


def test_nan_and_infinity_are_refused_deliberately():
    for v in (float("nan"), float("inf"), float("-inf")):
        dec = check_value("HR", v, PL)
        assert dec.severity is Severity.REFUSED and "not a measurement" in dec.messages[0]


def test_entered_times_in_the_future_or_long_ago_are_refused():
    assert check_entered_time(NOW + timedelta(minutes=4), NOW, PL).severity is Severity.OK
    future = check_entered_time(NOW + timedelta(minutes=30), NOW, PL)
    assert future.severity is Severity.REFUSED and "in the future" in future.messages[0]
    assert check_entered_time(NOW - timedelta(hours=30), NOW, PL).severity is Severity.REFUSED
    before = check_entered_time(NOW - timedelta(minutes=50), NOW, PL,
                                not_before=NOW - timedelta(minutes=20))
    assert before.severity is Severity.REFUSED and "when this visit began" in before.messages[0]


def test_a_range_that_does_not_nest_is_refused_in_the_protocol_file():
    text = FILE.read_text(encoding="utf-8").replace("confirm_below = 70", "confirm_below = 20", 1)
    with pytest.raises(ProtocolError, match="refuse_below <= confirm_below"):
        parse_protocol(text, "k.toml")


# --- the gate before dosing -------------------------------------------------------------------

def _answers(**answers):
    base = dict(
        last_solids_at=NOW - timedelta(hours=8),
        last_clear_liquids_at=NOW - timedelta(hours=3),
        denies_recent_alcohol=True,
        answers={q: True for q in P.screening.questions},
    )
    base.update(answers)
    return ScreeningAnswers(**base)


GOOD_BP = PredoseBP(128, 84, NOW - timedelta(minutes=5))


def test_all_met_and_a_recent_bp_starts():
    res = screen(_answers(), P.screening, NOW)
    dec = start_gate(res, P.screening, P.dosing, GOOD_BP, NOW)
    assert dec.ok, dec.messages


def test_blocking_items_stop_the_start_until_a_charge_nurse_overrides():
    consent, meds, ride = P.screening.questions
    res = screen(_answers(answers={consent: False, meds: False, ride: False},
                          last_solids_at=NOW - timedelta(hours=2)), P.screening, NOW)
    assert {i.name for i in blocking_failures(res, P.screening)} == {
        consent, meds, ride, "last solid food"}
    dec = start_gate(res, P.screening, P.dosing, GOOD_BP, NOW)
    assert dec.severity is Severity.HARD
    # a nurse's typed reason ("pt insists") is not enough
    assert not resolve(dec, reason="pt insists").allowed
    ov = authorise(dec, by="RN Cole", reason="MD reviewed", pin_verified=True)
    assert resolve(dec, override=ov).allowed
    assert any("consent signed for this course: no" in m for m in dec.messages)


def test_non_blocking_item_is_shown_but_does_not_stop():
    screening = replace(P.screening, blocking=("last solid food",))
    consent = P.screening.questions[0]
    res = screen(_answers(answers={consent: False}), screening, NOW)
    dec = start_gate(res, screening, P.dosing, GOOD_BP, NOW)
    assert dec.ok and any("acknowledged at check-in" in m for m in dec.messages)


def test_no_recent_bp_refuses_the_start():
    res = screen(_answers(), P.screening, NOW)
    dec = start_gate(res, P.screening, P.dosing, None, NOW)
    assert dec.severity is Severity.REFUSED
    assert "take one before dosing" in dec.messages[-1]
    old = PredoseBP(128, 84, NOW - timedelta(minutes=40))
    dec = start_gate(res, P.screening, P.dosing, old, NOW)
    assert dec.severity is Severity.REFUSED and "40 min old" in dec.messages[-1]


def test_high_predose_bp_needs_the_charge_nurse():
    res = screen(_answers(), P.screening, NOW)
    dec = start_gate(res, P.screening, P.dosing, PredoseBP(190, 100, NOW), NOW)
    assert dec.severity is Severity.HARD and "above 180/110" in dec.messages[-1]


def test_blocking_names_must_exist_in_the_protocol_file():
    text = FILE.read_text(encoding="utf-8").replace(
        '  "last alcohol",\n', '  "last alcohol",\n  "no such item",\n', 1)
    with pytest.raises(ProtocolError, match="no such item"):
        parse_protocol(text, "k.toml")


# --- stopping short ---------------------------------------------------------------------------

def test_stopping_well_short_asks_why():
    dec = check_stop(1.7, 31.0, "", "", P.dosing)  # 3 min of a 40 min plan
    assert dec.severity is Severity.REFUSED
    assert "stopped early: 1.7 of 31.0 mg delivered (5 %" in dec.messages[0]
    assert "patient request" in dec.messages[0]
    ok = check_stop(1.7, 31.0, "adverse effect", "", P.dosing)
    assert ok.ok and ok.severity is Severity.NOTE and "stopped early (adverse effect)" \
        in ok.messages[0]
    assert check_stop(30.0, 31.0, "", "", P.dosing).severity is Severity.OK


# --- discharge overrides ----------------------------------------------------------------------

def test_ride_and_observation_are_never_overridable():
    unmet = (Criterion("Ride home confirmed", False, "unmet: no ride", "k"),
             Criterion("Observation after infusion", False, "unmet: 2 min", "k"),
             Criterion("Sedation resolved", False, "unmet: MOAA/S 4", "k"))
    may, never = override_scope(DischargeResult(False, unmet, NOW), P.discharge)
    assert [c.name for c in may] == ["Sedation resolved"]
    assert [c.name for c in never] == ["Ride home confirmed", "Observation after infusion"]


def test_discharge_criteria_table_matches_the_gate():
    from nursestation.core.discharge import evaluate_discharge
    from tests.core.test_discharge import NOW as DNOW
    from tests.core.test_discharge import ready

    names = tuple(c.name for c in evaluate_discharge(ready(), P.discharge, DNOW).criteria)
    assert names == DISCHARGE_CRITERIA


# --- formulary --------------------------------------------------------------------------------

def test_formulary_holds_every_purpose_with_limits_and_sources():
    groups = by_purpose(P.formulary)
    assert list(groups) == ["antiemetic", "calming", "antihypertensive"]
    assert {d.name for d in groups["calming"]} == {"midazolam", "lorazepam"}
    assert {d.name for d in groups["antihypertensive"]} == {"labetalol", "clonidine"}
    for d in P.formulary:
        assert d.source and d.max_per_dose_mg <= d.max_per_visit_mg and d.routes
    mid = P.drug_named("midazolam")
    assert mid.sedative and sedation_check_due_at(mid, NOW) == NOW + timedelta(minutes=10)
    assert sedation_check_due_at(P.drug_named("ondansetron"), NOW) is None
    assert response_due_at(P.drug_named("ondansetron"), NOW) == NOW + timedelta(minutes=30)


# --- pump against chart -----------------------------------------------------------------------

def test_chart_pump_mismatch_kinds():
    assert [m.kind for m in chart_pump_mismatch("not started", "infusing")] == [
        "running_not_charted"]
    assert [m.kind for m in chart_pump_mismatch("infusing", "stopped")] == [
        "stopped_while_charted"]
    assert [m.kind for m in chart_pump_mismatch("infusing", "paused")] == [
        "stopped_while_charted"]
    assert chart_pump_mismatch("infusing", "infusing") == ()
    assert chart_pump_mismatch("infusing", None) == ()
    over = chart_pump_mismatch("infusing", "infusing", pump_vi_ml=105, charted_volume_ml=100)
    assert [m.kind for m in over] == ["over_delivery"] and "105.0 mL" in over[0].message


def _pump(state, vi=None):
    out = [Reading(chair="C1", device_id="pump", code="PUMP_STATE", value=state)]
    if vi is not None:
        out.append(Reading(chair="C1", device_id="pump", code="PUMP_VI", value=vi))
    return out


def test_pump_running_while_charted_baseline_raises_an_alarm_after_its_delay():
    clock = FakeClock(NOW)
    eng = AlarmEngine(P.alarms, clock, "C1")
    eng.set_chart("not started", 100.0)
    eng.ingest(_pump("infusing", 22.0))
    assert not any(c.kind is ChangeKind.RAISED for c in eng.update())
    clock.advance(P.alarms.technical.pump_chart_mismatch_delay_s)
    raised = [c for c in eng.update() if c.kind is ChangeKind.RAISED]
    assert len(raised) == 1
    a = raised[0].alarm
    assert a.code == "PUMP_CHART" and a.priority == P.alarms.technical.pump_chart_mismatch
    assert "pump infusing while the chart says not started" in a.values["detail"]
    # charting the start resolves it
    eng.set_chart("infusing", 100.0)
    assert any(c.kind is ChangeKind.CLEARED for c in eng.update())


def test_no_visit_no_mismatch_alarm():
    clock = FakeClock(NOW)
    eng = AlarmEngine(P.alarms, clock, "C1")
    eng.ingest(_pump("infusing"))
    clock.advance(600)
    assert eng.update() == [] or not any(c.alarm and c.alarm.code == "PUMP_CHART"
                                         for c in eng.update())
