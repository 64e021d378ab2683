from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import nursestation
from nursestation.core.checks import PhaseTimes
from nursestation.core.discharge import (
    ActiveAlarm,
    BaselineVitals,
    DischargeInputs,
    NauseaEntry,
    ScoreEntry,
    VitalSample,
    baseline_from_samples,
    evaluate_discharge,
    latest_value,
    modified_aldrete,
)
from nursestation.core.protocol import load_protocol
from nursestation.core.ride import RideState, RideStatus

PROTOCOL = load_protocol(
    Path(nursestation.__file__).parent / "resources" / "protocols" / "ketamine-iv.toml")
DC = PROTOCOL.discharge  # 30 min obs, 15 min window, 20 %, SBP<=160, DBP<=100, HR 50-110 ...
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # infusion start; stop at +40


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


NOW = m(80)  # 40 min after the infusion ended; window 10:05-10:20
CONFIRMED = RideStatus(RideState.CONFIRMED, ("confirmed by phone call by RN Diaz at 10:00",))


def steady_vitals(sbp=124, dbp=82, hr=72, spo2=97, rr=14) -> tuple[VitalSample, ...]:
    out = [VitalSample("NBP_SYS", 120, m(-5)), VitalSample("NBP_DIA", 80, m(-5))]
    out += [VitalSample("NBP_SYS", sbp, m(70)), VitalSample("NBP_DIA", dbp, m(70))]
    for t in range(60, 81, 2):
        out += [VitalSample("HR", hr, m(t)), VitalSample("SPO2", spo2, m(t)),
                VitalSample("RR", rr, m(t))]
    return tuple(out)


def ready(**kw) -> DischargeInputs:
    base = dict(
        phase_times=PhaseTimes(checked_in=m(-30), infusion_start=T0, infusion_stop=m(40)),
        baseline=BaselineVitals(sbp=120, dbp=80, hr=70, spo2=98, rr=14),
        vitals=steady_vitals(),
        moaas=(ScoreEntry(3, m(30)), ScoreEntry(5, m(75))),
        cadss6=(ScoreEntry(0, m(-5)), ScoreEntry(12, m(30)), ScoreEntry(1, m(75))),
        nausea=(NauseaEntry("moderate", m(35)), NauseaEntry("none", m(75))),
        alarms=(),
        ride=CONFIRMED,
    )
    base.update(kw)
    return DischargeInputs(**base)


def crit(result, name):
    return next(c for c in result.criteria if c.name == name)


def test_a_recovered_patient_passes_every_criterion():
    r = evaluate_discharge(ready(), DC, NOW)
    assert r.passed, [c.detail for c in r.unmet]
    assert len(r.criteria) == 12
    assert all(c.key.startswith("discharge.") for c in r.criteria)
    assert "SBP 124 mmHg in 1 reading since 10:05" in crit(r, "Systolic BP stable").detail


# --- observation ------------------------------------------------------------------------------

def test_observation_boundary_and_not_ended():
    assert crit(evaluate_discharge(ready(), DC, m(70)), "Observation after infusion").met
    c = crit(evaluate_discharge(ready(), DC, m(69)), "Observation after infusion")
    assert not c.met and "29 min since the infusion ended at 09:40" in c.detail
    assert "not before 10:10" in c.detail
    running = ready(phase_times=PhaseTimes(infusion_start=T0))
    c = crit(evaluate_discharge(running, DC, NOW), "Observation after infusion")
    assert c.detail == "unmet: the infusion has not ended"


def test_two_hour_observation_for_esketamine_protocols():
    r = evaluate_discharge(ready(), replace(DC, min_observation_min=120), NOW)
    assert not crit(r, "Observation after infusion").met


# --- vitals -----------------------------------------------------------------------------------

def test_every_sample_in_the_window_counts_not_just_the_latest():
    vitals = steady_vitals() + (VitalSample("HR", 115, m(68)),)
    c = crit(evaluate_discharge(ready(vitals=vitals), DC, NOW), "Heart rate stable")
    assert not c.met and "HR 115 bpm at 10:08 above 110 (discharge.hr_max)" in c.detail


def test_samples_before_the_window_do_not_count():
    vitals = steady_vitals() + (VitalSample("HR", 140, m(64)),)  # 10:04, window opens 10:05
    assert crit(evaluate_discharge(ready(vitals=vitals), DC, NOW), "Heart rate stable").met


def test_unusable_samples_are_ignored():
    vitals = steady_vitals() + (VitalSample("SPO2", 70, m(79), usable=False),)
    assert crit(evaluate_discharge(ready(vitals=vitals), DC, NOW), "SpO2 on room air").met


def test_absolute_limits_exactly_at_the_limit_are_met():
    base = BaselineVitals(sbp=150, dbp=95, hr=100, spo2=98, rr=14)
    r = evaluate_discharge(ready(baseline=base,
                                 vitals=steady_vitals(sbp=160, dbp=100, hr=110, spo2=94, rr=24)),
                           DC, NOW)
    assert r.passed, [c.detail for c in r.unmet]
    r = evaluate_discharge(ready(baseline=base,
                                 vitals=steady_vitals(sbp=161, dbp=101, hr=111, spo2=93, rr=25)),
                           DC, NOW)
    assert {c.name for c in r.unmet} == {"Systolic BP stable", "Diastolic BP stable",
                                         "Heart rate stable", "SpO2 on room air",
                                         "Respiratory rate"}
    assert "SpO2 93 % at" in crit(r, "SpO2 on room air").detail
    assert "below 94 (discharge.spo2_min)" in crit(r, "SpO2 on room air").detail


def test_low_limits():
    r = evaluate_discharge(ready(baseline=BaselineVitals(sbp=120, dbp=80, hr=55),
                                 vitals=steady_vitals(hr=49, rr=9)), DC, NOW)
    assert "below 50 (discharge.hr_min)" in crit(r, "Heart rate stable").detail
    assert "below 10 (discharge.rr_min)" in crit(r, "Respiratory rate").detail


def test_deviation_from_baseline_at_and_beyond_20_percent():
    assert crit(evaluate_discharge(ready(vitals=steady_vitals(sbp=144)), DC, NOW),
                "Systolic BP stable").met  # exactly +20 %
    c = crit(evaluate_discharge(ready(vitals=steady_vitals(sbp=145)), DC, NOW),
             "Systolic BP stable")
    assert not c.met
    assert "SBP 145 mmHg at 10:10 is 21 % above baseline 120 (limit 20 %" in c.detail
    c = crit(evaluate_discharge(ready(vitals=steady_vitals(dbp=60)), DC, NOW),
             "Diastolic BP stable")
    assert not c.met and "25 % below baseline 80" in c.detail


def test_no_samples_in_the_window_is_unmet_with_the_time():
    vitals = tuple(v for v in steady_vitals() if v.code != "RR" or v.at < m(60))
    vitals += (VitalSample("RR", 15, m(50)),)
    c = crit(evaluate_discharge(ready(vitals=vitals), DC, NOW), "Respiratory rate")
    assert not c.met
    assert c.detail == "unmet: no RR measurement since 10:05 (last 15 /min at 09:50)"


def test_stale_bp_is_unmet_for_stability_and_recency():
    r = evaluate_discharge(ready(), DC, m(86))  # BP at 10:10, now 10:26
    assert crit(r, "Systolic BP stable").detail.startswith("unmet: no SBP measurement since 10:11")
    c = crit(r, "Recent blood pressure")
    assert not c.met and "at 10:10 (16 min ago); needs one within 15 min" in c.detail
    assert crit(evaluate_discharge(ready(), DC, m(85)), "Recent blood pressure").met  # exactly 15


def test_missing_baseline_is_unmet():
    r = evaluate_discharge(ready(baseline=None), DC, NOW)
    assert "no baseline SBP" in crit(r, "Systolic BP stable").detail
    assert crit(r, "SpO2 on room air").met  # absolute limit only


def test_heart_rate_falls_back_to_pulse_rate():
    vitals = tuple(VitalSample("PR", v.value, v.at) if v.code == "HR" else v
                   for v in steady_vitals())
    assert crit(evaluate_discharge(ready(vitals=vitals), DC, NOW), "Heart rate stable").met


def test_on_oxygen_fails_spo2():
    c = crit(evaluate_discharge(ready(on_oxygen=True), DC, NOW), "SpO2 on room air")
    assert not c.met and "on supplemental oxygen" in c.detail


def test_no_bp_at_all():
    vitals = tuple(v for v in steady_vitals() if not v.code.startswith("NBP"))
    c = crit(evaluate_discharge(ready(vitals=vitals), DC, NOW), "Recent blood pressure")
    assert c.detail == "unmet: no blood pressure recorded this visit"


# --- assessments ------------------------------------------------------------------------------

def test_sedation_needs_moaas_5_after_the_infusion_ended():
    r = evaluate_discharge(ready(moaas=(ScoreEntry(5, m(30)), ScoreEntry(4, m(75)))), DC, NOW)
    assert crit(r, "Sedation resolved").detail == "unmet: MOAA/S 4 at 10:15; needs 5"
    r = evaluate_discharge(ready(moaas=(ScoreEntry(5, m(35)),)), DC, NOW)  # during infusion
    assert crit(r, "Sedation resolved").detail == \
        "unmet: no MOAA/S since the infusion ended at 09:40"


def test_dissociation_resolved_by_threshold_or_baseline():
    assert crit(evaluate_discharge(ready(cadss6=(ScoreEntry(2, m(75)),)), DC, NOW),
                "Dissociation resolved").met  # exactly 2
    c = crit(evaluate_discharge(ready(cadss6=(ScoreEntry(0, m(-5)), ScoreEntry(3, m(75)))),
                                DC, NOW), "Dissociation resolved")
    assert not c.met
    assert c.detail == ("unmet: CADSS-6 3 at 10:15; needs ≤ 2 or ≤ the pre-infusion 0 at 08:55")
    # a patient who scores 4 at baseline is back to baseline at 4
    assert crit(evaluate_discharge(ready(cadss6=(ScoreEntry(4, m(-5)), ScoreEntry(4, m(75)))),
                                   DC, NOW), "Dissociation resolved").met
    assert not crit(evaluate_discharge(ready(cadss6=(ScoreEntry(0, m(-5)),)), DC, NOW),
                    "Dissociation resolved").met


def test_nausea_at_most_mild():
    assert crit(evaluate_discharge(ready(nausea=(NauseaEntry("mild", m(75)),)), DC, NOW),
                "Nausea controlled").met
    c = crit(evaluate_discharge(ready(nausea=(NauseaEntry("moderate", m(75)),)), DC, NOW),
             "Nausea controlled")
    assert c.detail == "unmet: nausea moderate at 10:15; at most mild"
    c = crit(evaluate_discharge(ready(nausea=()), DC, NOW), "Nausea controlled")
    assert "no nausea assessment since the infusion ended" in c.detail


def test_assessments_after_now_do_not_count():
    r = evaluate_discharge(ready(moaas=(ScoreEntry(5, m(90)),)), DC, NOW)
    assert not crit(r, "Sedation resolved").met


# --- alarms and ride --------------------------------------------------------------------------

def test_blocking_alarms():
    low = ActiveAlarm("low", "no BP within schedule")
    assert evaluate_discharge(ready(alarms=(low,)), DC, NOW).passed
    r = evaluate_discharge(ready(alarms=(low, ActiveAlarm("medium", "SpO2 < 94"))), DC, NOW)
    assert crit(r, "No active alarm").detail == "unmet: active alarm (medium: SpO2 < 94)"


def test_ride_must_be_confirmed():
    arranged = RideStatus(RideState.ARRANGED, ("arranged: Sam Lee; not yet confirmed",))
    c = crit(evaluate_discharge(ready(ride=arranged), DC, NOW), "Ride home confirmed")
    assert c.detail == "unmet: arranged: Sam Lee; not yet confirmed"
    # no state names ("ride none: ...", issue 17.7): the reason as the ride check words it
    none = RideStatus(RideState.NONE, ("no ride home recorded",))
    assert crit(evaluate_discharge(ready(ride=none), DC, NOW), "Ride home confirmed").detail \
        == "unmet: no ride home recorded"
    assert not crit(evaluate_discharge(ready(ride=None), DC, NOW), "Ride home confirmed").met
    r = evaluate_discharge(ready(ride=None), replace(DC, ride_required=False), NOW)
    assert r.passed


def test_display_time_zone_only_changes_the_text():
    from datetime import timezone
    est = timezone(timedelta(hours=-5))
    r = evaluate_discharge(ready(), DC, m(69), display_tz=est)
    assert "ended at 04:40" in crit(r, "Observation after infusion").detail


# --- helpers ----------------------------------------------------------------------------------

def test_baseline_and_latest_value_helpers():
    b = baseline_from_samples(steady_vitals(), T0)
    assert (b.sbp, b.dbp, b.hr) == (120, 80, None)
    assert latest_value(steady_vitals(), "SPO2", NOW, 15).at == m(80)
    assert latest_value(steady_vitals(), "NBP_SYS", m(90), 15) is None


# --- Modified Aldrete -------------------------------------------------------------------------

def aldrete(**kw):
    base = dict(activity=2, respiration=2, consciousness=2, on_oxygen=False, spo2=97, sbp=125,
                baseline_sbp=120)
    base.update(kw)
    return modified_aldrete(**base)


def test_aldrete_full_score():
    a = aldrete()
    assert a.total == 10 and a.meets_minimum
    assert a.describe() == "Modified Aldrete 10/10 (expected ≥ 9)"


@pytest.mark.parametrize(("sbp", "score"), [(140, 2), (100, 2), (141, 1), (169, 1), (170, 0),
                                            (70, 0)])
def test_aldrete_circulation_bands(sbp, score):
    item = next(i for i in aldrete(sbp=sbp).items if i.name == "circulation")
    assert item.score == score


@pytest.mark.parametrize(("spo2", "o2", "score"), [(93, False, 2), (92, False, 1), (95, True, 1),
                                                   (91, True, 1), (90, True, 0), (85, False, 0)])
def test_aldrete_spo2(spo2, o2, score):
    item = next(i for i in aldrete(spo2=spo2, on_oxygen=o2).items if i.name == "SpO2")
    assert item.score == score


def test_aldrete_incomplete_and_invalid():
    a = aldrete(consciousness=None, spo2=None)
    assert a.total is None and a.partial_total == 6 and not a.meets_minimum
    assert "missing consciousness, SpO2" in a.describe()
    with pytest.raises(ValueError):
        aldrete(activity=3)
    assert aldrete(activity=1, respiration=1).total == 8
