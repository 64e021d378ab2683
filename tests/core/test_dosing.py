from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nursestation
from nursestation.core.dosing import (
    ChargeOverride,
    EventKind,
    InfusionEvent,
    Severity,
    authorise,
    check_change_reason,
    check_dose,
    check_rate,
    check_weight,
    compare_with_pump,
    delivered_dose,
    mg_kg_h_to_ml_h,
    ml_h_to_mg_kg_h,
    plan_infusion,
    resolve,
    target_dose_mg,
)
from nursestation.core.protocol import load_protocol

PROTOCOL = load_protocol(
    Path(nursestation.__file__).parent / "resources" / "protocols" / "ketamine-iv.toml")
D = PROTOCOL.dosing
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- calculations -----------------------------------------------------------------------------

def test_target_dose_and_plan_from_the_protocol():
    assert target_dose_mg(70, 0.5) == pytest.approx(35.0)
    plan = plan_infusion(D, 70)
    assert plan.dose_mg == pytest.approx(35.0)
    assert plan.concentration_mg_per_ml == pytest.approx(0.35)  # 35 mg in 100 mL
    assert plan.rate_ml_h == pytest.approx(150.0)  # 100 mL over 40 min
    assert plan.rate_mg_kg_h == pytest.approx(0.75)
    assert "150.0 mL/h" in plan.describe()


def test_plan_with_a_different_bag_and_duration():
    plan = plan_infusion(D, 80, dose_mg_per_kg=0.6, duration_min=60, bag_volume_ml=250)
    assert plan.dose_mg == pytest.approx(48.0)
    assert plan.concentration_mg_per_ml == pytest.approx(0.192)
    assert plan.rate_ml_h == pytest.approx(250.0)


def test_rate_conversions_round_trip():
    assert ml_h_to_mg_kg_h(150, 0.35, 70) == pytest.approx(0.75)
    assert mg_kg_h_to_ml_h(0.75, 0.35, 70) == pytest.approx(150)
    with pytest.raises(ValueError):
        target_dose_mg(0, 0.5)


# --- weight -----------------------------------------------------------------------------------

def test_weight_at_the_limit_is_ok_above_needs_confirmation():
    assert check_weight(150, D).severity is Severity.OK
    dec = check_weight(151, D)
    assert dec.severity is Severity.SOFT
    assert "151 kg exceeds the protocol's 150 kg: confirm" in dec.messages[0]
    assert check_weight(0, D).severity is Severity.REFUSED


# --- dose limits ------------------------------------------------------------------------------

def test_dose_exactly_at_the_soft_max_is_ok():
    assert check_dose(52.5, 70, D).severity is Severity.OK  # 0.75 mg/kg


def test_dose_above_soft_max_asks_for_a_reason():
    dec = check_dose(56, 70, D)  # 0.8 mg/kg
    assert dec.severity is Severity.SOFT
    (f,) = dec.worst()
    assert f.key == "dosing.soft_max_mg_per_kg" and f.limit == 0.75 and f.value == 0.8
    assert "0.8 mg/kg" in f.message and "soft limit 0.75" in f.message
    assert not resolve(dec).allowed
    assert resolve(dec).needs == "reason"
    assert resolve(dec, reason="prescriber order, titrating").allowed


def test_dose_below_soft_min_asks_for_a_reason():
    dec = check_dose(3.5, 70, D)  # 0.05 mg/kg
    assert dec.severity is Severity.SOFT
    assert dec.worst()[0].key == "dosing.soft_min_mg_per_kg"
    assert check_dose(7, 70, D).severity is Severity.OK  # exactly 0.1


def test_dose_exactly_at_hard_max_is_soft_above_is_refused_with_no_override():
    assert check_dose(70, 70, D).severity is Severity.SOFT  # 1.0 mg/kg, above soft only
    dec = check_dose(77, 70, D)  # 1.1 mg/kg
    assert dec.severity is Severity.REFUSED
    assert "1.1 mg/kg" in dec.messages[-1]
    assert "hard limit 1 mg/kg, a hard limit with no override:" in dec.messages[-1]
    assert "dosing." not in dec.messages[-1]  # no setting keys in what a nurse reads
    # no reason and no charge nurse can carry a hard limit
    assert not resolve(dec, reason="MD order").allowed
    assert not resolve(dec, override=ChargeOverride("RN Cole", "MD order", True)).allowed
    assert resolve(dec).needs == "correction"


def test_tenfold_dose_is_refused_outright():
    dec = check_dose(350, 70, D)  # 5 mg/kg
    assert dec.severity is Severity.REFUSED
    assert not resolve(dec, override=ChargeOverride("RN Cole", "typo", True)).allowed


def test_hard_limit_needs_a_verified_charge_nurse_override_with_reason_when_overridable():
    from dataclasses import replace

    dec = check_dose(77, 70, replace(D, hard_limits_overridable=True))
    assert dec.severity is Severity.HARD
    assert not resolve(dec, reason="I am sure").allowed
    assert resolve(dec).needs == "charge_override"
    assert not resolve(dec, override=ChargeOverride("RN Cole", "MD order", False)).allowed
    assert not resolve(dec, override=ChargeOverride("RN Cole", "  ", True)).allowed
    # an override that was shown nothing covers nothing
    assert not resolve(dec, override=ChargeOverride("RN Cole", "MD order 1.1 mg/kg", True)).allowed
    res = resolve(dec, override=authorise(dec, by="RN Cole", reason="MD order 1.1 mg/kg",
                                          pin_verified=True))
    assert res.allowed and "RN Cole" in res.detail


def test_an_override_covers_exactly_the_findings_it_was_shown():
    """The dose-change dialog's bug: authorised at 320 mL/h, saved at 2000 mL/h (a clinic whose
    protocol lets a charge nurse override the hard rate limit)."""
    dosing = replace(D, hard_limits_overridable=True)
    shown = check_rate(320, 0.35, 70, dosing)  # 1.6 mg/kg/h, above the hard 1.5
    ov = authorise(shown, by="Carla Charge", reason="ordered 320", pin_verified=True)
    assert [(c.rule, c.key, c.value) for c in ov.covers] == [
        ("rate", "dosing.hard_max_rate_mg_per_kg_h", 1.6)]
    assert resolve(shown, override=ov).allowed
    later = check_rate(2000, 0.35, 70, dosing)  # 10 mg/kg/h
    res = resolve(later, override=ov)
    assert not res.allowed and res.needs == "charge_override"
    assert "covered only what it was shown" in res.detail and "10 mg/kg/h" in res.detail
    # nor does a rate override cover a dose
    assert not resolve(check_dose(77, 70, dosing), override=ov).allowed


def test_dose_with_an_unusual_weight_carries_both_findings():
    dec = check_dose(80, 160, D)
    assert dec.severity is Severity.SOFT
    assert [f.rule for f in dec.findings] == ["weight", "dose"]


# --- rate limits ------------------------------------------------------------------------------

def test_rate_limits_in_mg_per_kg_per_hour():
    # 70 kg, 0.35 mg/mL: 150 mL/h = 0.75 mg/kg/h
    assert check_rate(150, 0.35, 70, D).severity is Severity.OK
    assert check_rate(225, 0.35, 70, D).severity is Severity.OK  # exactly 1.125
    soft = check_rate(240, 0.35, 70, D)  # 1.2
    assert soft.severity is Severity.SOFT
    assert "1.2 mg/kg/h exceeds the soft limit 1.125" in soft.messages[0]
    assert check_rate(300, 0.35, 70, D).severity is Severity.SOFT  # exactly 1.5: not hard
    hard = check_rate(320, 0.35, 70, D)
    assert hard.severity is Severity.REFUSED
    assert "exceeds the hard limit 1.5 mg/kg/h, a hard limit with no override:" \
        in hard.messages[0]
    assert check_rate(-5, 0.35, 70, D).severity is Severity.REFUSED


def test_change_reasons_come_from_the_protocol_and_other_needs_text():
    assert check_change_reason("BP rise", "", D).ok
    assert check_change_reason("bored", "", D).severity is Severity.REFUSED
    assert check_change_reason("other", " ", D).severity is Severity.REFUSED
    assert check_change_reason("other", "IV site sore", D).ok


# --- delivered dose ---------------------------------------------------------------------------

def test_delivered_dose_through_changes_pause_and_vtbi():
    events = [
        InfusionEvent(EventKind.START, at(0), 150),
        InfusionEvent(EventKind.RATE_CHANGE, at(25), 100),
        InfusionEvent(EventKind.PAUSE, at(30)),
        InfusionEvent(EventKind.RESUME, at(32)),
    ]
    d = delivered_dose(events, at(60), concentration_mg_per_ml=0.35, weight_kg=70, vtbi_ml=100)
    # 62.5 mL + 8.333 mL, then 29.167 mL at 100 mL/h = 17.5 min, VTBI reached at 49.5 min
    assert d.volume_ml == pytest.approx(100.0)
    assert d.dose_mg == pytest.approx(35.0)
    assert d.dose_mg_per_kg == pytest.approx(0.5)
    assert d.paused_min == pytest.approx(2.0)
    assert d.infusing_min == pytest.approx(47.5)
    assert d.vtbi_reached_at == at(49.5)
    assert d.notes == ()


def test_delivered_dose_part_way():
    events = [InfusionEvent(EventKind.START, at(0), 150),
              InfusionEvent(EventKind.RATE_CHANGE, at(25), 100)]
    d = delivered_dose(events, at(30), concentration_mg_per_ml=0.35, weight_kg=70, vtbi_ml=100)
    assert d.volume_ml == pytest.approx(62.5 + 100 * 5 / 60)
    assert d.vtbi_reached_at is None


def test_paused_and_stopped_infusions_deliver_nothing_more():
    events = [InfusionEvent(EventKind.START, at(0), 120),
              InfusionEvent(EventKind.PAUSE, at(10)),
              InfusionEvent(EventKind.RATE_CHANGE, at(12), 60),  # applies on resume
              InfusionEvent(EventKind.RESUME, at(20)),
              InfusionEvent(EventKind.STOP, at(30))]
    d = delivered_dose(events, at(90), concentration_mg_per_ml=0.5, weight_kg=50)
    assert d.volume_ml == pytest.approx(20 + 10)
    assert d.paused_min == pytest.approx(10)
    assert d.dose_mg == pytest.approx(15)


def test_events_after_until_are_ignored_and_odd_history_is_noted():
    events = [InfusionEvent(EventKind.RESUME, at(1)),
              InfusionEvent(EventKind.START, at(0), 60),
              InfusionEvent(EventKind.STOP, at(100))]
    d = delivered_dose(events, at(10), concentration_mg_per_ml=1, weight_kg=60)
    assert d.volume_ml == pytest.approx(10)
    assert any("resume" in n for n in d.notes)


def test_comparison_with_the_pump():
    c = compare_with_pump(62.5, 64.0)
    assert c.difference_ml == pytest.approx(1.5)
    assert c.difference_pct == pytest.approx(2.4)
    assert not c.within_tolerance
    assert "+1.5 mL" in c.message and "+2.4 %" in c.message
    assert compare_with_pump(62.5, 63.5).within_tolerance  # exactly 1 mL
    assert compare_with_pump(0, 0.4).difference_pct is None
    # a difference that rounds to nothing is shown as +0.0, never -0.0
    c = compare_with_pump(79.34, 79.3)
    assert "difference +0.0 mL" in c.message and "-0.0" not in c.message


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 600), st.floats(0, 400)), min_size=1, max_size=8),
       st.floats(10, 500))
def test_delivered_volume_is_the_rate_integral_and_never_exceeds_the_vtbi(steps, vtbi):
    """A run of rate changes: volume = sum(rate × time), capped at the VTBI."""
    events, t, expected = [], 0, 0.0
    for i, (secs, rate) in enumerate(steps):
        kind = EventKind.START if i == 0 else EventKind.RATE_CHANGE
        events.append(InfusionEvent(kind, T0 + timedelta(seconds=t), rate))
        expected += rate * secs / 3600
        t += secs
    until = T0 + timedelta(seconds=t)
    free = delivered_dose(events, until, concentration_mg_per_ml=1, weight_kg=70)
    assert free.volume_ml == pytest.approx(expected, rel=1e-9, abs=1e-9)
    capped = delivered_dose(events, until, concentration_mg_per_ml=1, weight_kg=70, vtbi_ml=vtbi)
    assert capped.volume_ml <= vtbi + 1e-9
    assert capped.volume_ml == pytest.approx(min(expected, vtbi), rel=1e-9, abs=1e-9)
