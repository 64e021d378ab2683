"""A made-up but realistic visit summary: for tests, the benchmark and the docs page image.

A 3-hour visit: check-in, baseline, 0.5 mg/kg ketamine started at 0.75 mg/kg/h, lowered for
distressing dissociation, paused for nausea, ondansetron given (its route charted wrongly and
amended), CADSS-6 / MOAA/S / nausea assessments, a high-priority SpO2 alarm, discharge with a ride.
Every name, number and MRN here is fictitious.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

from nursestation.report.model import (
    AlarmRecord,
    AlarmSummary,
    Amendment,
    AssessmentEntry,
    Criterion,
    Discharge,
    Dose,
    DoseEvent,
    MarEntry,
    NoteEntry,
    Patient,
    Ride,
    Screening,
    ScreeningAnswer,
    Signature,
    TimepointVitals,
    VisitSummary,
    VitalSample,
)

NURSE = "Dana Whitfield, RN"
NURSE2 = "Samuel Okafor, RN"
CHARGE = "Priya Raman, RN (charge)"

CADSS6_ITEMS = (
    "Slow motion", "Unreal, as in a dream", "Disconnected from body",
    "Sense of body changed", "Things look different", "World through a fog",
)


def _rate_history_mg(events: list[DoseEvent], conc_mg_ml: float) -> tuple[float, float]:
    """Delivered mg and mL by integrating the charted rates (for this sample only)."""
    mg = ml = 0.0
    rate = 0.0
    last: datetime | None = None
    for ev in events:
        if last is not None:
            h = (ev.at - last).total_seconds() / 3600
            ml += rate * h
            mg += rate * h * conc_mg_ml
        if ev.event in ("start", "rate_change", "resume"):
            rate = ev.rate_ml_h or 0.0
        elif ev.event in ("pause", "stop"):
            rate = 0.0
        last = ev.at
    return mg, ml


def sample_summary(duration_s: float = 3 * 3600, *, override: bool = False,
                   seed: int = 7) -> VisitSummary:
    """A visit of ``duration_s`` seconds from check-in to discharge (default 3 hours).

    ``override=True`` gives the variant where one discharge criterion was not met and the charge
    nurse overrode the gate with a reason.
    """
    rnd = random.Random(seed)
    t0 = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)  # 13:00 in New York
    end = t0 + timedelta(seconds=duration_s)

    def m(minutes: float) -> datetime:
        return t0 + timedelta(minutes=minutes)

    weight = 72.0
    conc = 0.36  # 36 mg in 100 mL
    start, stop = m(25), m(72)

    # ---- dose timeline
    timeline = [
        DoseEvent(start, "start", 150.0, 0.75, "protocol start", NURSE),
        DoseEvent(m(41), "rate_change", 100.0, 0.5, "dissociation distressing", NURSE),
        DoseEvent(m(50), "pause", None, None, "nausea", NURSE),
        DoseEvent(m(54), "resume", 100.0, 0.5, "nausea settled after ondansetron", NURSE),
        DoseEvent(stop, "stop", None, None, "prescribed volume delivered", NURSE),
    ]
    delivered_mg, delivered_ml = _rate_history_mg(timeline, conc)

    # ---- vitals: 1 Hz HR and SpO2, RR every 5 s, NBP on the protocol schedule
    vitals: list[VitalSample] = []
    n = int(duration_s)
    hr, spo2, rr = 72.0, 98.0, 14.0
    for s in range(0, n, 1):
        at = t0 + timedelta(seconds=s)
        minute = s / 60
        infusing = 25 <= minute <= 72
        target_hr = 74 + (14 if infusing else 0) * math.sin(min(1, max(0, (minute - 25) / 20)) * 1.5)
        hr += 0.05 * (target_hr - hr) + rnd.gauss(0, 0.8)
        dip = -9 if 47.5 <= minute <= 48.3 else 0  # a brief desaturation
        spo2 += 0.2 * (min(100, 97.5 + dip) - spo2) + rnd.gauss(0, 0.25)
        vitals.append(VitalSample(at, "HR", round(hr)))
        vitals.append(VitalSample(at, "SPO2", round(min(100.0, spo2))))
        if s % 5 == 0:
            rr += 0.1 * ((13 if infusing else 15) - rr) + rnd.gauss(0, 0.5)
            vitals.append(VitalSample(at, "RR", round(rr)))
    bp_minutes = [20] + list(range(30, 73, 10)) + [65] + list(range(87, int(duration_s / 60), 15))
    bp_minutes = sorted(set(bp_minutes))
    for bm in bp_minutes:
        rise = 16 if 25 <= bm <= 75 else max(0, 16 - (bm - 75) / 3)
        if bm < 25:
            rise = 0
        sys_ = round(122 + rise + rnd.gauss(0, 3))
        dia = round(78 + rise * 0.65 + rnd.gauss(0, 2))
        vitals.append(VitalSample(m(bm), "NBP_SYS", sys_))
        vitals.append(VitalSample(m(bm), "NBP_DIA", dia))

    def nearest(code: str, at: datetime) -> tuple[float | None, datetime | None]:
        best = None
        for v in vitals:
            if v.code == code and (best is None or abs(v.at - at) < abs(best.at - at)):
                best = v
        return (best.value, best.at) if best else (None, None)

    discharge_at = end - timedelta(minutes=3)
    timepoints = []
    for label, due in (("Baseline", m(20)), ("40 min", start + timedelta(minutes=40)),
                       ("Infusion end", stop), ("Discharge", discharge_at)):
        vals, times = {}, {}
        for code in ("NBP_SYS", "NBP_DIA", "HR", "SPO2", "RR"):
            vals[code], times[code] = nearest(code, due)
        timepoints.append(TimepointVitals(label, due, vals, times))

    # ---- MAR: ondansetron, first charted as ODT, corrected to IV
    mar = [
        MarEntry(
            drug="ondansetron", dose=4, unit="mg", route="IV", given_at=m(51), given_by=NURSE,
            site="L antecubital (existing IV)", indication="nausea (moderate)",
            response="nausea mild at 15 min, none at 45 min", response_at=m(66),
            recorded_at=m(53),
            amendments=(Amendment(
                original="ondansetron 4 mg ODT", original_at=m(51), original_by=NURSE,
                at=m(58), by=NURSE, reason="route charted wrongly; given IV push over 30 s"),),
        ),
        MarEntry(
            drug="acetaminophen", dose=500, unit="mg", route="PO", given_at=m(110),
            given_by=NURSE2, indication="headache (mild)", response="headache resolved",
            response_at=m(150), late_entry=True, recorded_at=m(135),
        ),
    ]

    # ---- assessments
    def cadss(at, scores, by=NURSE, note=""):
        return AssessmentEntry(at, "CADSS-6", sum(scores), by,
                               tuple(zip(CADSS6_ITEMS, (str(s) for s in scores), strict=True)),
                               note)

    assessments = [
        cadss(m(21), (0, 0, 0, 0, 0, 0), note="baseline"),
        AssessmentEntry(m(21), "MOAA/S", 5, NURSE, note="baseline"),
        cadss(m(40), (3, 3, 2, 2, 2, 1), note="distressed by the 'floating' feeling; rate lowered"),
        AssessmentEntry(m(40), "MOAA/S", 4, NURSE),
        AssessmentEntry(m(49), "Nausea", "moderate", NURSE, note="retching, no emesis"),
        AssessmentEntry(m(66), "Nausea", "mild", NURSE),
        cadss(m(90), (1, 1, 1, 0, 0, 0)),
        AssessmentEntry(m(90), "MOAA/S", 5, NURSE),
        cadss(m(160), (0, 0, 0, 0, 0, 0)),
        AssessmentEntry(m(160), "MOAA/S", 5, NURSE),
        AssessmentEntry(m(160), "Nausea", "none", NURSE),
        AssessmentEntry(m(165), "Aldrete", 10, NURSE),
    ]

    notes = [
        NoteEntry(m(3), "Patient reports a good week; PHQ-9 done at the front desk. "
                  "Last solids 06:30, clear liquids 10:00.", NURSE),
        NoteEntry(m(46), "Patient anxious during dissociation; reassured, music on, lights "
                  "dimmed. Tolerating the lower rate.", NURSE),
        NoteEntry(m(112), "Mild headache, acetaminophen given (charted late: entered at "
                  "the desk after the round).", NURSE2),
    ]

    high = AlarmRecord(m(47.75), "high", "SPO2", "SpO2 < 90 % for 15 s (lowest 88 %)",
                       acknowledged_by=NURSE, acknowledged_at=m(48.0), cleared_at=m(48.6))
    medium = AlarmRecord(m(50), "medium", "NBP_SYS", "NBP systolic > baseline + 40 mmHg",
                         acknowledged_by=NURSE, acknowledged_at=m(50.5), cleared_at=m(60))
    alarms = AlarmSummary(counts={"high": 1, "medium": 1, "low": 2}, high=(high,),
                          markers=(high, medium))

    criteria = [
        Criterion("Observation after infusion end >= 30 min",
                  True, f"{(discharge_at - stop).total_seconds() / 60:.0f} min"),
        Criterion("Vitals within 20 % of baseline over 15 min", not override,
                  "SBP 131 vs baseline 121 (+8 %)" if not override
                  else "SBP 148 vs baseline 121 (+22 %)"),
        Criterion("Absolute limits (SBP <= 160, DBP <= 100, HR 50-110, SpO2 >= 94, RR 10-24)",
                  True, "SBP 131, DBP 82, HR 76, SpO2 98, RR 15"),
        Criterion("BP taken within 15 min", True, "last NBP 7 min ago"),
        Criterion("MOAA/S = 5 (sedation resolved)", True, "5 at 15:40"),
        Criterion("CADSS-6 <= 2 (dissociation resolved)", True, "0 at 15:40"),
        Criterion("Nausea no worse than mild", True, "none at 15:40"),
        Criterion("No active high/medium alarm", True, "none"),
        Criterion("Responsible adult or car service confirmed", True,
                  "Maria Alvarez (spouse), arrived 15:50"),
    ]
    discharge = Discharge(
        outcome="discharged", at=discharge_at, all_met=not override, criteria=tuple(criteria),
        override=override,
        override_reason=("SBP 148 is the patient's usual pressure on her home log; "
                         "asymptomatic, ride present; discussed with Dr. Chen" if override else ""),
        override_by=CHARGE if override else "", signed_by=NURSE, instructions_given=True,
        instructions=(
            "No driving or operating machinery until the next day after a restful sleep.",
            "No important or legal decisions until the next day.",
            "No alcohol for 24 hours.",
        ),
    )
    ride = Ride(kind="driver", driver_name="Maria Alvarez", relationship="spouse",
                phone="(555) 014-2211", expected_arrival=m(170), confirmed_by=NURSE,
                confirmed_at=m(170), confirmation_method="arrival")

    signatures = [
        Signature(NURSE, "RN", m(2), "check-in and screening verified"),
        Signature(NURSE, "RN", start, "infusion started as prescribed"),
        Signature(NURSE, "RN", m(51), "administered ondansetron 4 mg IV"),
        Signature(NURSE2, "RN", m(135), "administered acetaminophen 500 mg PO (late entry)"),
    ]
    if override:
        signatures.append(Signature(CHARGE, "Charge nurse", discharge_at,
                                    "override of the discharge gate"))
    signatures.append(Signature(NURSE, "RN", discharge_at, "discharge decision"))

    screening = Screening(
        answers=(
            ScreeningAnswer("Fasted >= 6 h solids", "last solids 06:30 (6.5 h)", True),
            ScreeningAnswer("Fasted >= 2 h clear liquids", "last liquids 10:00 (3 h)", True),
            ScreeningAnswer("No alcohol in 24 h", "none", True),
            ScreeningAnswer("Consent signed for this course", "yes (2026-02-24)", True),
            ScreeningAnswer("Current medications reviewed", "sertraline 100 mg daily; "
                            "no benzodiazepines, stimulants or MAOIs", True),
            ScreeningAnswer("Ride home arranged with a responsible adult", "spouse", True),
        ),
        passed=True, at=m(2), by=NURSE,
    )

    dose = Dose(
        protocol_name="Ketamine IV 0.5 mg/kg over 40 min", protocol_version="2026.1",
        drug="ketamine", target_mg_per_kg=0.5, target_mg=0.5 * weight,
        planned_duration_min=40, concentration_mg_ml=conc,
        delivered_mg=delivered_mg, delivered_mg_per_kg=delivered_mg / weight,
        pump_volume_ml=round(delivered_ml + 0.4, 1), infusion_start=start, infusion_end=stop,
    )

    return VisitSummary(
        clinic="Riverside Ketamine Clinic", visit_id=1042,
        patient=Patient("Elena Alvarez", "RKC-004417", date(1984, 5, 2),
                        allergies="penicillin (rash)", weight_kg=weight),
        visit_date=date(2026, 3, 10), course_number=3, course_length=6, chair="Chair 4",
        nurses=(NURSE, NURSE2), phase="discharged", checkin_at=t0, discharge_at=discharge_at,
        screening=screening, dose=dose, vitals=tuple(vitals), timepoints=tuple(timepoints),
        dose_timeline=tuple(timeline), mar=tuple(mar), assessments=tuple(assessments),
        notes=tuple(notes), alarms=alarms, discharge=discharge, ride=ride,
        signatures=tuple(signatures), protocol_sha256="3f9a" + "0" * 60,
    )
