"""Every clinical write, one function each: the record boundary.

A command takes a SQLAlchemy session (it runs on the one database writer: ``AppContext.write``
or ``DbWriter.submit``), plain arguments and the acting user (a user id). It checks everything
itself — types and ranges (NaN and infinity included), plausibility and limits from the
protocol file through ``core``, the visit's phase and the pump's state, who may do it — asks
``core`` for the decision, writes through ``db.repo`` in the caller's transaction and returns
:class:`~nursestation.record.changes.Changes`. It refuses with
:class:`~nursestation.record.errors.Refused` (the rule, the value, a sentence) and writes
nothing. A dialog may check early for convenience; the command is the check, whoever calls it:
a dialog, a second station, an HL7 feed or a script.

"A nurse can always chart what happened": a note, a medication or an assessment on a visit
that was already discharged is taken as a *late entry* with its reason (flagged in the record),
never silently, and never refused outright; a plan (starting an infusion, a rate) on a discharged
visit is refused.

Times: ``now`` is the station's clock (default the system clock); clinical times (``at``,
``given_at``) are timezone-aware and never ahead of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from nursestation.core import dosing as core_dosing
from nursestation.core import medications as core_meds
from nursestation.core import pumpchanges as core_pump
from nursestation.core.discharge import (
    ActiveAlarm,
    AldreteScore,
    DischargeResult,
    evaluate_discharge,
    latest_value,
    modified_aldrete,
    override_decision,
    override_scope,
)
from nursestation.core.dosing import ChargeOverride, Decision, Severity, resolve
from nursestation.core.protocol import TreatmentProtocol
from nursestation.core.ride import (
    ConfirmMethod,
    RideKind,
    driver_problems,
    validate_ride,
)
from nursestation.core.ride import RideArrangement as CoreRide
from nursestation.core.screening import ScreeningAnswers, may_proceed, screen
from nursestation.core.vocabulary import PHASE_SITUATION, PHASE_WHEN
from nursestation.db import repo
from nursestation.db.discharge_inputs import (
    SCALE_BASELINE_VITALS,
    SCALE_CADSS6,
    SCALE_MOAAS,
    SCALE_NAUSEA,
    SCALE_VITALS_CHECK,
)
from nursestation.db.models import (
    ALARM_PRIORITIES,
    ALARM_STATES,
    INFUSION_KINDS,
    Assessment,
    ClinicalEntry,
    DischargeDecision,
    InfusionEvent,
    MedicationAdministration,
    Note,
    Patient,
    PumpChangeItem,
    RideArrangement,
    Screening,
    User,
    Visit,
)
from nursestation.record import changes as ch
from nursestation.record import convert
from nursestation.record.changes import Changes
from nursestation.record.errors import (
    NEEDS_LATE_REASON,
    NEEDS_OVERRIDE,
    NEEDS_REASON,
    Refused,
)
from nursestation.record.gate import discharge_inputs, read_start_gate
from nursestation.record.scales import check_scale
from nursestation.record.validation import (
    MAX_ALLERGY_CHARS,
    MAX_MRN_CHARS,
    MAX_NAME_CHARS,
    MAX_NOTE_CHARS,
    MAX_PHONE_CHARS,
    aware_time,
    choice,
    date_of_birth,
    integer,
    number,
    optional_number,
)
from nursestation.record.validation import text as clean_text
from nursestation.record.validation import (
    weight as validated_weight,
)
from nursestation.record.visit import read_visit

UserRef = int | Any  # a user id, or anything with an ``id`` (a User row, the GUI's CurrentUser)

#: The highest pump rate the record takes: above it the number is a typing slip, not a pump
#: setting (the dose-change form offers up to this; large-volume pumps stop near 1000 mL/h).
MAX_PUMP_RATE_ML_H = 2000.0
#: The most concentrated ketamine there is (100 mg/mL vials); above it, a typing slip.
MAX_CONCENTRATION_MG_ML = 100.0
#: A planned dose per kg above this is a typing slip (the hard limit is far below). Refused.
MAX_PLANNED_MG_PER_KG = 10.0
#: What a stop without another reason says.
COMPLETED = "completed as planned"
#: Discharge decisions the record takes (the visit ends with the patient leaving).
DISCHARGE_RESULTS = ("discharged",)
#: Every kind of clinical entry that may be amended, with the fields a correction may change
#: (the rest stay as they were; ``voided`` marks "entered in error").
AMEND_FIELDS: dict[type[ClinicalEntry], tuple[str, ...]] = {
    InfusionEvent: ("at", "kind", "rate_ml_h", "dose_mg_kg_h", "concentration_mg_ml",
                    "reason_code", "reason_text"),
    MedicationAdministration: ("at", "drug", "dose", "unit", "route", "site", "indication",
                               "response"),
    Assessment: ("at", "scale", "items", "score", "note"),
    Note: ("at", "text"),
    RideArrangement: ("driver_name", "relationship", "phone", "expected_arrival", "company",
                      "booking_ref"),
    Screening: ("at", "answers", "passed"),
    DischargeDecision: ("at",),
    PumpChangeItem: ("resolution_reason",),
}
AMENDABLE_TABLES = {m.__tablename__: m for m in AMEND_FIELDS}

# =========================================================================================
# Shared checks


def _clock(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise Refused("clock", "the station clock must be timezone-aware", now)
    return now.astimezone(UTC)


def _id(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(f"{what}_id", f"{what} must be given by its number, not {value!r}", value)
    return value


def _acting(session: Session, user: UserRef) -> User:
    """The acting user: known and active. Every command names one."""
    uid = _id("user", user if isinstance(user, int) and not isinstance(user, bool)
              else getattr(user, "id", user))
    u = session.get(User, uid)
    if u is None or not u.active:
        raise Refused("user", f"user #{uid} does not exist or is not active; log in again", uid)
    return u


def _visit(session: Session, visit_id: Any) -> Visit:
    v = session.get(Visit, _id("visit", visit_id))
    if v is None:
        raise Refused("visit", f"there is no visit #{visit_id}", visit_id)
    return v


def _patient(session: Session, visit: Visit) -> Patient:
    p = session.get(Patient, visit.patient_id)
    assert p is not None  # a foreign key
    return p


def _phase(visit: Visit, phases: tuple[str, ...], doing: str) -> None:
    """Refuse an action the visit's phase does not allow, saying where the visit stands and
    when the action is done (in a nurse's words, not the phase codes)."""
    if visit.phase not in phases:
        when = " or ".join(PHASE_WHEN[p] for p in phases)
        raise Refused("visit_phase", f"cannot {doing}: {PHASE_SITUATION[visit.phase]} "
                      f"(that is done {when})", visit.phase)


def _late(visit: Visit, late_reason: str, what: str) -> str | None:
    """None for an entry on an open visit (or the reason, when the nurse gave one anyway); on a
    discharged or cancelled visit, the late-entry reason, which is then required."""
    reason = clean_text("late-entry reason", late_reason, rule="late_entry")
    if visit.active:
        return reason or None
    if not reason:
        raise Refused("late_entry", f"the visit was {visit.phase}: a {what} charted now is a "
                      "late entry; give the reason it is charted late", visit.phase,
                      needs=NEEDS_LATE_REASON)
    return reason


def _charge_override(session: Session, override: ChargeOverride | None) -> User | None:
    """The charge nurse behind an override: named, known, active, a charge nurse, PIN verified,
    with a reason. An override that names nobody is refused, not recorded."""
    if override is None:
        return None
    if not isinstance(override, ChargeOverride):
        raise Refused("override", f"an override must come from a charge nurse's authorisation, "
                      f"not {override!r}", override, needs=NEEDS_OVERRIDE)
    if override.by_id is None:
        raise Refused("override", "the override names no charge nurse: a charge nurse must "
                      "authorise it with their own PIN", override.by, needs=NEEDS_OVERRIDE)
    u = session.get(User, _id("charge nurse", override.by_id))
    if u is None or not u.active:
        raise Refused("override", f"the overriding user #{override.by_id} does not exist or is "
                      "not active", override.by_id, needs=NEEDS_OVERRIDE)
    if not u.is_charge:
        raise Refused("override", f"{u.display_name} is not a charge nurse; an override needs "
                      "one", u.username, needs=NEEDS_OVERRIDE)
    if not override.pin_verified:
        raise Refused("override", f"{u.display_name}'s PIN was not verified", u.username,
                      needs=NEEDS_OVERRIDE)
    clean_text("override reason", override.reason, required=True, rule="override")
    return u


def _decide(dec: Decision, *, reason: str = "", override: ChargeOverride | None = None) -> None:
    """core's resolution, or a refusal naming the deciding finding and its value."""
    res = resolve(dec, reason=reason, override=override)
    if res.allowed:
        return
    worst = dec.worst()
    f = worst[0] if worst else None
    needs = {"reason": NEEDS_REASON, "charge_override": NEEDS_OVERRIDE}.get(res.needs,
                                                                           res.needs)
    raise Refused(f.rule if f else "decision", res.detail[:1].upper() + res.detail[1:],
                  f.value if f else None, needs=needs)


def _clinical_time(what: str, at: datetime | None, now: datetime) -> datetime:
    return now if at is None else aware_time(what, at, now)


@dataclass(frozen=True)
class InfusionFacts:
    """What the infusion commands need from the record: the weight, the concentration charted
    (or the protocol plan's for this weight), the charted events and the pump state they end in
    (core's one state machine, ``core.dosing.delivered_dose``)."""

    weight_kg: float | None
    concentration_mg_ml: float | None
    events: tuple[InfusionEvent, ...]
    state: str
    rate_ml_h: float | None


def infusion_facts(session: Session, visit: Visit, protocol: TreatmentProtocol,
                   now: datetime) -> InfusionFacts:
    """The visit read model's answers (``record.visit``: one weight rule, one concentration rule,
    core's one pump state machine) as the infusion commands need them."""
    view = read_visit(session, visit.id, protocol, now)
    return InfusionFacts(view.weight.weight_kg, view.concentration.mg_per_ml,
                         tuple(repo.current_entries(session, InfusionEvent, visit.id)),
                         view.pump.state, view.pump.rate_ml_h)


def visit_infusion_facts(session: Session, visit_id: int, protocol: TreatmentProtocol,
                         now: datetime) -> InfusionFacts:
    """:func:`infusion_facts` for a visit id (what the dose-change form shows)."""
    return infusion_facts(session, _visit(session, visit_id), protocol, _clock(now))


def _reason(protocol: TreatmentProtocol, reason_code: Any, reason_text: Any) -> tuple[str, str]:
    code = reason_code if isinstance(reason_code, str) else ""
    details = clean_text("details", reason_text)
    if not code:
        raise Refused("reason", "choose the reason for the change "
                      f"({', '.join(protocol.dosing.rate_change_reasons)})", reason_code,
                      needs=NEEDS_REASON)
    _decide(core_dosing.check_change_reason(code, details, protocol.dosing))
    return code, details


def _rate(value: Any) -> float:
    return number("rate", value, lo=0, hi=MAX_PUMP_RATE_ML_H, unit="mL/h", rule="rate")


# =========================================================================================
# Assign, check in, baseline


@dataclass(frozen=True)
class NewPatient:
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: Any = None  # a date, or None when not known
    allergies: str = ""


def assign_patient(session: Session, chair_id: int, *, user: UserRef,
                   protocol: TreatmentProtocol, patient_id: int | None = None,
                   new_patient: NewPatient | None = None, now: datetime | None = None
                   ) -> Changes:
    """Start a visit at the chair for a known patient, or for a patient registered here."""
    actor = _acting(session, user)
    now = _clock(now)
    _id("chair", chair_id)
    if (patient_id is None) == (new_patient is None):
        raise Refused("patient", "give either the patient or the new patient's details")
    kinds: tuple[str, ...] = (ch.VISIT,)
    if new_patient is not None:
        mrn = clean_text("MRN", new_patient.mrn, max_chars=MAX_MRN_CHARS, required=True, rule="mrn")
        family = clean_text("family name", new_patient.family_name, max_chars=MAX_NAME_CHARS,
                            required=True)
        given = clean_text("given name", new_patient.given_name, max_chars=MAX_NAME_CHARS,
                           required=True)
        dob = date_of_birth(new_patient.date_of_birth, now.date())
        allergies = clean_text("allergies", new_patient.allergies, max_chars=MAX_ALLERGY_CHARS)
        problem = core_meds.allergies_problem(allergies)
        if problem is not None:
            raise Refused("allergies", problem, new_patient.allergies)
        if repo.find_patient_by_mrn(session, mrn) is not None:
            raise Refused("mrn", f"a patient with MRN {mrn} already exists: find them instead",
                          mrn)
        p = repo.create_patient(session, mrn, family, given, dob, allergies, user=actor)
        session.flush()
        patient_id = p.id
        kinds += (ch.PATIENT,)
    else:
        patient_id = _id("patient", patient_id)
        if session.get(Patient, patient_id) is None:
            raise Refused("patient", f"there is no patient #{patient_id}", patient_id)
    try:
        v = repo.create_visit(session, patient_id, chair_id, protocol.name, user=actor,
                              protocol_version=protocol.version, protocol_hash=protocol.sha256)
    except repo.RecordError as exc:  # a busy chair, a patient already in one: the repo's words
        raise Refused("visit", str(exc), chair_id) from None
    session.flush()
    return ch.changes(v, kinds, v)


@dataclass(frozen=True)
class RideDetails:
    """Who takes the patient home. ``kind``: driver / car_service (/ patient_drives, refused)."""

    kind: str = "driver"
    driver_name: str = ""
    relationship: str = ""
    phone: str = ""
    expected_arrival: datetime | None = None
    company: str = ""
    booking_ref: str = ""


def _screening_answers(answers: Any, protocol: TreatmentProtocol, now: datetime
                       ) -> ScreeningAnswers:
    if not isinstance(answers, ScreeningAnswers):
        raise Refused("screening", f"screening answers expected, not {answers!r}", answers)
    for what, t in (("last solid food", answers.last_solids_at),
                    ("last clear liquids", answers.last_clear_liquids_at),
                    ("last alcohol", answers.last_alcohol_at)):
        if t is not None:
            aware_time(what, t, now, rule="screening_time")
    questions = protocol.screening.questions
    for q, a in answers.answers.items():
        if q not in questions:
            raise Refused("screening_question", f"{q!r} is not a question of this protocol",
                          q)
        if not isinstance(a, bool):
            raise Refused("screening_question", f"{q!r} is answered yes or no, not {a!r}", a)
    if not isinstance(answers.denies_recent_alcohol, bool):
        raise Refused("screening", "\"no alcohol\" is yes or no", answers.denies_recent_alcohol)
    return answers


def check_in(session: Session, visit_id: int, *, user: UserRef, protocol: TreatmentProtocol,
             weight_kg: Any, answers: ScreeningAnswers, medications: str = "",
             acknowledgement: str = "", ride: RideDetails | None = None,
             now: datetime | None = None, display_tz: tzinfo | None = None) -> Changes:
    """Today's weight and the screening, checked by core against the protocol; failed items and
    an unusual weight need the nurse's acknowledgement with a reason. An optional quick ride
    entry (the full one comes at discharge)."""
    actor = _acting(session, user)
    now = _clock(now)
    v = _visit(session, visit_id)
    _phase(v, ("check_in",), "check in")
    if repo.current_entries(session, Screening, v.id):
        raise Refused("check_in", "the patient is already checked in; amend the screening to "
                      "correct it", v.id)
    # the protocol file's plausible weights ([plausibility] WEIGHT: "-70" is refused, not made
    # 70), then the dosing rule's heavy-weight confirmation (dosing.max_weight_kg)
    kg = validated_weight(weight_kg, protocol.plausibility,
                          confirmed=bool(str(acknowledgement).strip()))
    weight_dec = core_dosing.check_weight(kg, protocol.dosing)
    _decide(weight_dec, reason=acknowledgement)
    ans = _screening_answers(answers, protocol, now)
    meds = clean_text("current medications", medications)
    ack = clean_text("acknowledgement", acknowledgement)
    result = screen(ans, protocol.screening, now, display_tz=display_tz)
    if not may_proceed(result, ack):
        failed = "; ".join(i.detail for i in result.failed)
        raise Refused("screening", f"acknowledge with a reason, or correct: {failed}",
                      [i.key for i in result.failed], needs=NEEDS_REASON)
    quick: dict[str, str] | None = None
    if ride is not None:
        quick = {"driver_name": clean_text("driver's name", ride.driver_name,
                                           max_chars=MAX_NAME_CHARS, required=True, rule="ride"),
                 "relationship": clean_text("relationship", ride.relationship,
                                            max_chars=MAX_NAME_CHARS, rule="ride"),
                 "phone": clean_text("phone", ride.phone, max_chars=MAX_PHONE_CHARS, rule="ride")}
        problems = driver_problems(quick["driver_name"], quick["relationship"],
                                   _patient(session, v).full_name)
        if problems:
            raise Refused("ride", _sentence(problems), quick["driver_name"])

    def iso(t: datetime | None) -> str | None:
        return t.astimezone(display_tz).isoformat() if t else None

    stored: dict[str, Any] = {
        "items": [{"name": i.name, "passed": i.passed, "detail": i.detail, "key": i.key}
                  for i in result.items],
        "last_solids_at": iso(ans.last_solids_at),
        "last_clear_liquids_at": iso(ans.last_clear_liquids_at),
        "last_alcohol_at": iso(ans.last_alcohol_at),
        "denies_recent_alcohol": ans.denies_recent_alcohol,
        "medications": meds,
        "questions": dict(ans.answers),
    }
    if weight_dec.severity is not Severity.OK:
        stored["weight_check"] = list(weight_dec.messages)
    if ack and (not result.passed or weight_dec.severity is Severity.SOFT):
        stored["acknowledgement"] = ack
    w = repo.add_weight(session, v.patient_id, kg, user=actor, visit_id=v.id)
    sc = repo.save_screening(session, v.id, stored, user=actor, passed=result.passed)
    rows: list[Any] = [sc, w]
    if quick is not None:
        rows.append(repo.save_ride(session, v.id, user=actor, kind="driver",
                                   driver_name=quick["driver_name"],
                                   relationship=quick["relationship"], phone=quick["phone"]))
    session.flush()
    return ch.changes(v, (ch.SCREENING, ch.WEIGHT) + ((ch.RIDE,) if quick else ()), rows)


#: The vital signs of a baseline, in the order a form asks for them.
BASELINE_CODES = ("NBP_SYS", "NBP_DIA", "HR", "SPO2", "RR")


def record_baseline(session: Session, visit_id: int, *, user: UserRef,
                    protocol: TreatmentProtocol, values: Mapping[str, Any],
                    sources: Mapping[str, str] | None = None, note: str = "",
                    cadss6: Sequence[int] | None = None, confirm_unusual: bool = False,
                    now: datetime | None = None) -> Changes:
    """Vitals before dosing (from the monitor or by hand), each plausible by the protocol file
    (an unusual one only with ``confirm_unusual``: the baseline drives alarms and the discharge
    gate); a missing value needs a note where the protocol wants a full baseline; an optional
    CADSS-6 baseline. Moves the visit on to baseline."""
    actor = _acting(session, user)
    now = _clock(now)
    v = _visit(session, visit_id)
    _phase(v, ("check_in",), "record the baseline")
    if not repo.current_entries(session, Screening, v.id):
        raise Refused("check_in", "check the patient in (weight and screening) before the "
                      "baseline", v.id)
    unknown = set(values) - set(BASELINE_CODES)
    if unknown:
        raise Refused("vital_code", f"{', '.join(sorted(unknown))} is not a baseline vital "
                      f"sign ({', '.join(BASELINE_CODES)})", sorted(unknown))
    full = {c: values.get(c) for c in BASELINE_CODES}
    items, _score = check_scale(SCALE_BASELINE_VITALS,
                                {**full, "source": dict(sources or {})}, None,
                                protocol, direct=False, confirmed=confirm_unusual)
    note = clean_text("note", note)
    missing = [c for c in BASELINE_CODES if items.get(c) is None]
    if missing and protocol.schedule.baseline_required and not note:
        raise Refused("baseline_required", f"the protocol asks for a full baseline; missing: "
                      f"{', '.join(missing)}. Enter them, or say why in the note", missing,
                      needs=NEEDS_REASON)
    cadss_items = None
    if cadss6 is not None:
        cadss_items, cadss_score = check_scale(
            SCALE_CADSS6, {str(i): s for i, s in enumerate(cadss6, 1)}, None, protocol)
        if cadss_score is None:
            raise Refused("cadss6_items", "score every CADSS-6 item, or leave CADSS-6 out")
    repo.advance_phase(session, v.id, "baseline", user=actor, at=now)
    rows: list[Any] = [repo.record_assessment(session, v.id, SCALE_BASELINE_VITALS, items, None,
                                              user=actor, note=note, at=now)]
    if cadss_items is not None:
        rows.append(repo.record_assessment(session, v.id, SCALE_CADSS6, cadss_items,
                                           float(sum(cadss_items.values())), user=actor,
                                           note="baseline", at=now))
    session.flush()
    return ch.changes(v, (ch.BASELINE, ch.ASSESSMENT, ch.VISIT), rows)


# =========================================================================================
# The infusion


def start_infusion(session: Session, visit_id: int, *, user: UserRef,
                   protocol: TreatmentProtocol, dose_mg_per_kg: Any = None,
                   duration_min: Any = None, bag_volume_ml: Any = None, rate_ml_h: Any = None,
                   reason: str = "", override: ChargeOverride | None = None,
                   at: datetime | None = None, now: datetime | None = None) -> Changes:
    """The one start-infusion command. The plan is core's (``plan_infusion``: the protocol's
    target for the weight, or the dose, duration and bag given); the pump rate is the plan's
    unless ``rate_ml_h`` is given. Core checks the dose and the rate: soft → the nurse's reason,
    hard → a charge nurse's override that covers exactly these findings. Charts the start and
    moves the visit to infusing."""
    actor = _acting(session, user)
    now = _clock(now)
    v = _visit(session, visit_id)
    if v.phase in ("discharged", "cancelled"):
        raise Refused("visit_phase", f"an infusion cannot start on a {v.phase} visit",
                      v.phase)
    allowed = ("baseline", "infusing") if protocol.schedule.baseline_required else (
        "check_in", "baseline", "infusing")
    _phase(v, allowed, "start the infusion")
    if v.phase == "check_in" and not repo.current_entries(session, Screening, v.id):
        raise Refused("check_in", "check the patient in before starting the infusion", v.id)
    t = _clinical_time("start time", at, now)
    facts = infusion_facts(session, v, protocol, now)
    if facts.state != "idle":
        raise Refused("pump_state", f"the infusion was already started (pump {facts.state}); "
                      "change the rate, or resume", facts.state)
    if not facts.weight_kg:
        raise Refused("weight", "no weight recorded: weigh the patient at check-in")
    d = protocol.dosing
    mgkg = number("dose", d.dose_mg_per_kg if dose_mg_per_kg is None else dose_mg_per_kg,
                  lo=0, lo_open=True, hi=MAX_PLANNED_MG_PER_KG, unit="mg/kg")
    dur = number("duration", d.duration_min if duration_min is None else duration_min,
                  lo=1, hi=600, unit="min")
    bag = number("bag volume", d.bag_volume_ml if bag_volume_ml is None else bag_volume_ml,
                  lo=1, hi=1000, unit="mL")
    plan = core_dosing.plan_infusion(d, facts.weight_kg, dose_mg_per_kg=mgkg, duration_min=dur,
                                     bag_volume_ml=bag)
    rate = plan.rate_ml_h if rate_ml_h is None else _rate(rate_ml_h)
    conc = number("concentration", plan.concentration_mg_per_ml, lo=0, lo_open=True,
                  hi=MAX_CONCENTRATION_MG_ML, unit="mg/mL")
    # the dose and rate, then what must hold before dosing: the protocol's blocking screening
    # items and a recent pre-dose blood pressure (core.screening.start_gate, record.gate)
    dec = (core_dosing.check_dose(plan.dose_mg, facts.weight_kg, d)
           + core_dosing.check_rate(rate, conc, facts.weight_kg, d)
           + read_start_gate(session, v.id, protocol, now))
    why = clean_text("reason", reason)
    charge = _charge_override(session, override) if dec.severity is Severity.HARD else None
    _decide(dec, reason=why, override=override)
    ev = repo.record_infusion_event(
        session, v.id, "start", user=actor, rate_ml_h=rate,
        dose_mg_kg_h=core_dosing.ml_h_to_mg_kg_h(rate, conc, facts.weight_kg),
        concentration_mg_ml=conc, reason_text=f"plan: {plan.describe()}",
        limit_confirmation=(why or None) if dec.severity is not Severity.OK else None,
        override_by=charge.id if charge else None,
        override_reason=override.reason.strip() if charge and override else None, at=t)
    if v.phase != "infusing":
        repo.advance_phase(session, v.id, "infusing", user=actor, at=t)
    session.flush()
    return ch.changes(v, (ch.INFUSION, ch.VISIT), ev,
                   flags=tuple(m for m in dec.messages if dec.severity is not Severity.OK))


def _rate_event(session: Session, v: Visit, kind: str, *, actor: User,
                protocol: TreatmentProtocol, facts: InfusionFacts, rate_ml_h: float | None,
                reason_code: str, reason_text: str, confirmation: str,
                override: ChargeOverride | None, t: datetime) -> Changes:
    dec = core_dosing.check_change_reason(reason_code, reason_text, protocol.dosing)
    if rate_ml_h is not None:
        if not facts.weight_kg or not facts.concentration_mg_ml:
            raise Refused("weight", "no weight recorded for this patient: the dose rate cannot "
                          "be checked")
        dec = dec + core_dosing.check_rate(rate_ml_h, facts.concentration_mg_ml,
                                           facts.weight_kg, protocol.dosing)
    confirm = clean_text("limit confirmation", confirmation)
    charge = _charge_override(session, override) if dec.severity is Severity.HARD else None
    _decide(dec, reason=confirm, override=override)
    soft = any(f.severity is Severity.SOFT for f in dec.findings)
    ev = repo.record_infusion_event(
        session, v.id, kind, user=actor, rate_ml_h=rate_ml_h,
        dose_mg_kg_h=(core_dosing.ml_h_to_mg_kg_h(rate_ml_h, facts.concentration_mg_ml,
                                                  facts.weight_kg)
                      if rate_ml_h is not None and facts.weight_kg
                      and facts.concentration_mg_ml else None),
        concentration_mg_ml=facts.concentration_mg_ml if rate_ml_h is not None else None,
        reason_code=reason_code, reason_text=reason_text,
        limit_confirmation=confirm if soft and confirm else None,
        override_by=charge.id if charge else None,
        override_reason=override.reason.strip() if charge and override else None, at=t)
    session.flush()
    return ch.changes(v, ch.INFUSION, ev,
                   flags=tuple(m for m in dec.messages if dec.severity is not Severity.OK))


def _pump_step(session: Session, visit_id: int, user: UserRef, protocol: TreatmentProtocol,
               action: str, at: datetime | None, now: datetime | None
               ) -> tuple[User, Visit, datetime, InfusionFacts]:
    """What every step of a running infusion checks first: who acts, that the visit is infusing,
    the step's clinical time, and the pump state as charted so far."""
    actor = _acting(session, user)
    now = _clock(now)
    v = _visit(session, visit_id)
    _phase(v, ("infusing",), action)
    t = _clinical_time("time", at, now)
    return actor, v, t, infusion_facts(session, v, protocol, now)


def change_rate(session: Session, visit_id: int, *, user: UserRef, protocol: TreatmentProtocol,
                rate_ml_h: Any, reason_code: str, reason_text: str = "",
                confirmation: str = "", override: ChargeOverride | None = None,
                at: datetime | None = None, now: datetime | None = None) -> Changes:
    """A new pump rate with its reason; the rate's dose against the limits (soft → confirmation,
    hard → a charge nurse's override covering exactly this rate). While paused, the new rate
    applies on resume."""
    rate = _rate(rate_ml_h)
    actor, v, t, facts = _pump_step(session, visit_id, user, protocol, "change the rate", at, now)
    if facts.state not in ("running", "paused"):
        raise Refused("pump_state", f"the pump is {facts.state}: "
                      + ("start the infusion first" if facts.state == "idle"
                         else "a stopped infusion has no rate to change"), facts.state)
    code, details = _reason(protocol, reason_code, reason_text)
    return _rate_event(session, v, "rate_change", actor=actor, protocol=protocol, facts=facts,
                       rate_ml_h=rate, reason_code=code, reason_text=details,
                       confirmation=confirmation, override=override, t=t)


def pause_infusion(session: Session, visit_id: int, *, user: UserRef,
                   protocol: TreatmentProtocol, reason_code: str, reason_text: str = "",
                   at: datetime | None = None, now: datetime | None = None) -> Changes:
    actor, v, t, facts = _pump_step(session, visit_id, user, protocol, "pause the infusion",
                                    at, now)
    if facts.state != "running":
        raise Refused("pump_state", f"the pump is {facts.state}, not running: nothing to pause",
                      facts.state)
    code, details = _reason(protocol, reason_code, reason_text)
    return _rate_event(session, v, "pause", actor=actor, protocol=protocol, facts=facts,
                       rate_ml_h=None, reason_code=code, reason_text=details, confirmation="",
                       override=None, t=t)


def resume_infusion(session: Session, visit_id: int, *, user: UserRef,
                    protocol: TreatmentProtocol, reason_code: str, reason_text: str = "",
                    rate_ml_h: Any = None, confirmation: str = "",
                    override: ChargeOverride | None = None, at: datetime | None = None,
                    now: datetime | None = None) -> Changes:
    """Resume a paused infusion, at ``rate_ml_h`` or (None) the last charted rate; the rate is
    checked like a rate change."""
    actor, v, t, facts = _pump_step(session, visit_id, user, protocol, "resume the infusion",
                                    at, now)
    if facts.state != "paused":
        raise Refused("pump_state", f"the pump is {facts.state}, not paused: nothing to resume",
                      facts.state)
    rate = facts.rate_ml_h if rate_ml_h is None else _rate(rate_ml_h)
    if rate is None:
        raise Refused("rate", "no rate was charted before the pause: give the rate")
    code, details = _reason(protocol, reason_code, reason_text)
    return _rate_event(session, v, "resume", actor=actor, protocol=protocol, facts=facts,
                       rate_ml_h=rate, reason_code=code, reason_text=details,
                       confirmation=confirmation, override=override, t=t)


def stop_infusion(session: Session, visit_id: int, *, user: UserRef,
                  protocol: TreatmentProtocol, reason_code: str | None = None,
                  reason_text: str = "", at: datetime | None = None,
                  now: datetime | None = None) -> Changes:
    """The one stop command: charts the stop (``reason_code`` None: completed as planned) and
    moves the visit into recovery at the stop time. When the pump's own stop was already charted
    (a confirmed pump change), only the phase moves."""
    actor = _acting(session, user)
    now = _clock(now)
    v = _visit(session, visit_id)
    _phase(v, ("infusing",), "stop the infusion")
    t = _clinical_time("stop time", at, now)
    if v.infusion_start_at is not None and t < v.infusion_start_at:
        raise Refused("stop_time", "the stop time is before the infusion started", t)
    facts = infusion_facts(session, v, protocol, now)
    if facts.state == "idle":
        raise Refused("pump_state", "no infusion start is charted: chart the start first",
                      facts.state)
    # well short of the plan, the stop needs its reason (core.dosing.check_stop), and the
    # record says the infusion ended early (a 3-minute run of a 40-minute plan is not
    # "completed as planned")
    view = read_visit(session, v.id, protocol, t)
    planned = view.planned_dose_mg
    stop = None if not planned else core_dosing.check_stop(
        view.delivered_mg, planned, reason_code or "", clean_text("details", reason_text),
        protocol.dosing)
    flags: tuple[str, ...] = ()
    if stop is not None and stop.severity is Severity.REFUSED:
        f = stop.worst()[0]
        raise Refused("stop_reason", f.message[:1].upper() + f.message[1:], f.value,
                      needs=NEEDS_REASON)
    if stop is not None and stop.severity is Severity.NOTE:
        code, details = str(reason_code), clean_text("details", reason_text)
        flags = stop.messages
    elif reason_code is None:
        code, details = None, clean_text("details", reason_text) or COMPLETED
    elif reason_code in protocol.dosing.stopped_short_reasons and reason_code != "other":
        code, details = str(reason_code), clean_text("details", reason_text)
    else:
        code, details = _reason(protocol, reason_code, reason_text)
    rows: list[Any] = []
    if facts.state in ("running", "paused"):
        rows.append(repo.record_infusion_event(session, v.id, "stop", user=actor,
                                               reason_code=code, reason_text=details, at=t))
    repo.advance_phase(session, v.id, "recovery", user=actor, at=t)
    session.flush()
    return ch.changes(v, (ch.INFUSION, ch.VISIT), rows, entry=rows[0] if rows else v,
                      flags=flags)


# =========================================================================================
# Medications


def give_medication(session: Session, visit_id: int, *, user: UserRef,
                    protocol: TreatmentProtocol, drug: str, dose: Any, route: str,
                    unit: str = "", given_at: datetime | None = None, site: str = "",
                    indication: str = "", other_drug_name: str = "", other_reason: str = "",
                    reason: str = "", override: ChargeOverride | None = None,
                    late_reason: str = "", now: datetime | None = None,
                    display_tz: tzinfo | None = None) -> Changes:
    """A MAR entry, checked by core (formulary, unit, route, dose per dose and per visit,
    interval, allergies, time given). A soft or blocking finding needs the nurse's reason, which
    is recorded with the nurse named as the one who overrode. After discharge: a late entry with
    its reason."""
    actor = _acting(session, user)
    now = _clock(now)
    v = _visit(session, visit_id)
    late = _late(v, late_reason, "medication")
    given = _clinical_time("time given", given_at, now)
    amount = number("dose", dose, lo=0, lo_open=True)
    drug = clean_text("drug", drug, max_chars=100, required=True)
    unit = clean_text("unit", unit, max_chars=16)
    route = clean_text("route", route, max_chars=32, required=True)
    site = clean_text("site", site, max_chars=100)
    indication = clean_text("indication", indication, max_chars=100)
    other_name = clean_text("drug given", other_drug_name, max_chars=100)
    other_why = clean_text("off-formulary reason", other_reason)
    why = clean_text("reason", reason)
    patient = _patient(session, v)
    so_far = [core_meds.GivenDose(m.drug, m.dose, m.at)
              for m in repo.current_entries(session, MedicationAdministration, v.id)]
    proposed = core_meds.ProposedAdministration(drug, amount, route, given, other_name,
                                                other_why, unit)
    dec = core_meds.check_administration(
        proposed, protocol.formulary, so_far, core_meds.split_allergies(patient.allergies), now,
        late_after_min=repo.LATE_ENTRY_AFTER.total_seconds() / 60.0, display_tz=display_tz)
    charge = _charge_override(session, override) if dec.severity is Severity.HARD else None
    _decide(dec, reason=why, override=override)
    other = drug.lower() == core_meds.OTHER_DRUG
    override_reason = why if dec.severity in (Severity.SOFT, Severity.BLOCK) else None
    if other:
        off = f"off formulary: {other_why}"
        override_reason = f"{off}; {override_reason}" if override_reason else off
    d = protocol.drug_named(drug)
    by = charge.id if charge else (actor.id if override_reason else None)
    med = repo.record_medication(
        session, v.id, other_name if other else (d.name if d else drug), amount,
        (unit or "mg") if other or d is None else d.unit, route, user=actor, given_at=given,
        site=site, indication=indication, override_by=by, override_reason=override_reason,
        late_reason=late)
    session.flush()
    flags = tuple(m for m in dec.messages) + ((f"late entry: {late}",) if late else ())
    return ch.changes(v, ch.MEDICATION, med, flags=flags)


def record_medication_response(session: Session, medication_id: int, *, user: UserRef,
                               response: str, at: datetime | None = None,
                               now: datetime | None = None) -> Changes:
    """The response to a dose, charted later: an amendment of the MAR entry."""
    actor = _acting(session, user)
    now = _clock(now)
    med = session.get(MedicationAdministration, _id("medication", medication_id))
    if med is None:
        raise Refused("medication", f"there is no medication entry #{medication_id}",
                      medication_id)
    words = clean_text("response", response, required=True)
    t = _clinical_time("response time", at, now)
    if t < med.at:
        raise Refused("response_time", "the response time is before the dose was given", t)
    v = _visit(session, med.visit_id)
    try:
        new = repo.record_medication_response(session, med, words, user=actor, at=t)
    except repo.AlreadyAmended as exc:
        raise Refused("amended", str(exc), medication_id) from None
    session.flush()
    return ch.changes(v, (ch.MEDICATION, ch.AMENDMENT), new)


# =========================================================================================
# Assessments, vitals checks, notes


def record_assessment(session: Session, visit_id: int, *, user: UserRef,
                      protocol: TreatmentProtocol, scale: str, items: Mapping[str, Any],
                      score: Any = None, note: str = "", at: datetime | None = None,
                      late_reason: str = "", now: datetime | None = None) -> Changes:
    """One assessment on a scale the record knows (``record.scales``); the score is the
    scale's, computed from the items (a given score must agree)."""
    return record_assessments(session, visit_id, user=user, protocol=protocol,
                              entries=((scale, items, score),), note=note, at=at,
                              late_reason=late_reason, now=now)


def record_assessments(session: Session, visit_id: int, *, user: UserRef,
                       protocol: TreatmentProtocol,
                       entries: Sequence[tuple[str, Mapping[str, Any], Any]] = (),
                       cadss6: Sequence[int] | None = None, moaas: int | None = None,
                       nausea: str | None = None, note: str = "",
                       at: datetime | None = None, late_reason: str = "",
                       confirm_unusual: bool = False, now: datetime | None = None) -> Changes:
    """One sitting's assessments in one transaction: CADSS-6 (the six items), MOAA/S, nausea
    (only the parts given), with the dissociation note on the CADSS-6 entry (a note alone is a
    note-only CADSS-6 entry); or ``entries`` of (scale, items, score). Vital signs in them are
    held against the protocol file's plausibility (an unusual one with ``confirm_unusual``)."""
    actor = _acting(session, user)
    now = _clock(now)
    v = _visit(session, visit_id)
    late = _late(v, late_reason, "assessment")
    t = _clinical_time("time", at, now)
    note = clean_text("note", note, max_chars=MAX_NOTE_CHARS)
    todo: list[tuple[str, Mapping[str, Any], Any, str]] = [
        (s, i, sc, note) for s, i, sc in entries]
    if cadss6 is not None:
        if isinstance(cadss6, Mapping | str) or not isinstance(cadss6, Sequence):
            raise Refused("cadss6_items", f"CADSS-6 items must be six scores, not {cadss6!r}",
                          cadss6)
        todo.append((SCALE_CADSS6, {str(i): s for i, s in enumerate(cadss6, 1)}, None, note))
    elif note and not entries:
        todo.append((SCALE_CADSS6, {}, None, note))
    if moaas is not None:
        todo.append((SCALE_MOAAS, {"level": moaas}, None, ""))
    if nausea is not None:
        todo.append((SCALE_NAUSEA, {"level": nausea}, None, ""))
    if not todo:
        raise Refused("assessment", "nothing was assessed: score at least one part")
    checked = [(scale, *check_scale(scale, items, score, protocol, confirmed=confirm_unusual), n)
               for scale, items, score, n in todo]
    if any(scale == SCALE_CADSS6 and not items and not n for scale, items, _s, n in checked):
        raise Refused("cadss6_items", "CADSS-6 needs its six items (or a dissociation note)")
    rows = [repo.record_assessment(session, v.id, scale, items, score, user=actor, note=n,
                                   at=t, late_reason=late)
            for scale, items, score, n in checked]
    session.flush()
    return ch.changes(v, ch.ASSESSMENT, rows, entry=rows if len(rows) > 1 else rows[0],
                   flags=(f"late entry: {late}",) if late else ())


def record_vitals_check(session: Session, visit_id: int, *, user: UserRef,
                        protocol: TreatmentProtocol, values: Mapping[str, Any],
                        at: datetime | None = None, late_reason: str = "",
                        confirm_unusual: bool = False, now: datetime | None = None) -> Changes:
    """The nurse's own measurement (manual cuff, counted respirations): each value plausible,
    a blood pressure with both numbers. It fulfils a scheduled check like an NIBP reading."""
    return record_assessments(session, visit_id, user=user, protocol=protocol,
                              entries=((SCALE_VITALS_CHECK,
                                        {k: v for k, v in values.items() if v is not None},
                                        None),),
                              note="manual vitals check", at=at, late_reason=late_reason,
                              confirm_unusual=confirm_unusual, now=now)


def add_note(session: Session, visit_id: int, *, user: UserRef, text: str,
             at: datetime | None = None, late_reason: str = "", now: datetime | None = None
             ) -> Changes:
    """A free-text note (at most ``MAX_NOTE_CHARS``). After discharge: a late entry with its
    reason."""
    actor = _acting(session, user)
    now = _clock(now)
    body = text
    v = _visit(session, visit_id)
    late = _late(v, late_reason, "note")
    words = clean_text("the note", body, max_chars=MAX_NOTE_CHARS, required=True, rule="note")
    t = _clinical_time("time", at, now)
    n = repo.add_note(session, v.id, words, user=actor, at=t, late_reason=late)
    session.flush()
    return ch.changes(v, ch.NOTE, n, flags=(f"late entry: {late}",) if late else ())


# =========================================================================================
# Amendments


def _amended_value(model: type[ClinicalEntry], name: str, value: Any, now: datetime,
                   protocol: TreatmentProtocol, patient_name: str) -> Any:
    """One corrected field, checked like the entry it corrects."""
    if name in ("at", "expected_arrival"):
        return None if value is None and name != "at" else aware_time(
            name.replace("_", " "), value, now, allow_future=name == "expected_arrival")
    if name == "rate_ml_h":
        return None if value is None else _rate(value)
    if name == "dose_mg_kg_h":
        return optional_number("dose rate", value, lo=0, unit="mg/kg/h", rule="dose_rate")
    if name == "concentration_mg_ml":
        return optional_number("concentration", value, lo=0, lo_open=True,
                               hi=MAX_CONCENTRATION_MG_ML, unit="mg/mL", rule="concentration")
    if name == "kind":
        return choice("infusion action", value, INFUSION_KINDS, rule="kind")
    if name == "dose":
        return number("dose", value, lo=0, lo_open=True)
    if name == "route":
        return choice("route", value, core_meds.KNOWN_ROUTES)
    if name == "unit":
        return choice("unit", value, core_meds.KNOWN_UNITS)
    if name == "passed":
        if not isinstance(value, bool):
            raise Refused("passed", f"passed is yes or no, not {value!r}", value)
        return value
    if name in ("items", "answers"):
        if not isinstance(value, Mapping):
            raise Refused(name, f"{name} must be a table, not {value!r}", value)
        return dict(value)
    if name == "score":
        return optional_number("score", value)
    if name == "scale":
        return clean_text("scale", value, max_chars=32, required=True)
    limit = MAX_NOTE_CHARS if name in ("text", "note") else (
        MAX_NAME_CHARS if name in ("driver_name", "relationship", "company", "drug",
                                   "site", "indication", "booking_ref") else 1000)
    return clean_text(name.replace("_", " "), value, max_chars=limit,
                      required=name in ("text", "drug"))


def amend_entry(session: Session, entry_type: str, entry_id: int, *, user: UserRef,
                protocol: TreatmentProtocol, changes: Mapping[str, Any], reason: str,
                confirm_unusual: bool = False, now: datetime | None = None) -> Changes:
    """Correct a clinical entry: a new version with the changed fields (each checked as when
    it was charted, unusual vitals with ``confirm_unusual``) and the reason; the original stays
    in the history. ``{"voided": True}`` marks it entered in error."""
    actor = _acting(session, user)
    now = _clock(now)
    fields = changes
    model = AMENDABLE_TABLES.get(entry_type) if isinstance(entry_type, str) else None
    if model is None:
        raise Refused("entry_type", f"{entry_type!r} is not a kind of clinical entry that can be "
                      "amended", entry_type)
    old = session.get(model, _id("entry", entry_id))
    if old is None:
        raise Refused("entry", f"there is no {model.__tablename__} entry #{entry_id}", entry_id)
    why = clean_text("amendment reason", reason, required=True, rule="amend_reason")
    if not isinstance(fields, Mapping) or not fields:
        raise Refused("amend", "nothing was changed", fields)
    allowed = set(AMEND_FIELDS[model]) | {"voided"}
    bad = sorted(set(fields) - allowed)
    if bad:
        raise Refused("amend", f"{', '.join(bad)} cannot be amended on a "
                      f"{model.__tablename__} entry", bad)
    v = _visit(session, old.visit_id)
    patient_name = _patient(session, v).full_name
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "voided":
            if value is not True:
                raise Refused("voided", "an entry is voided (entered in error) or left as is",
                              value)
            clean[name] = True
        else:
            clean[name] = _amended_value(model, name, value, now, protocol, patient_name)
    merged = {k: clean.get(k, getattr(old, k)) for k in AMEND_FIELDS[model]}
    if model is Assessment and {"scale", "items", "score"} & set(clean):
        # a corrected score must agree with the items; corrected items give their own score
        items, score = check_scale(merged["scale"], merged["items"], clean.get("score"),
                                   protocol, direct=merged["scale"] != SCALE_BASELINE_VITALS,
                                   confirmed=confirm_unusual)
        clean["items"], clean["score"] = items, score
    flags: tuple[str, ...] = ()
    if model is MedicationAdministration and {"drug", "dose", "unit", "route", "at"} & set(clean):
        flags = _corrected_dose(session, old, merged, clean.get("at", old.at), protocol, why,
                                now)
    if isinstance(old, RideArrangement):
        # the ride rules hold for a correction too; what the original already lacked (a quick
        # entry at check-in has no phone yet) is no reason to refuse correcting something else
        def problems_of(values: dict[str, Any]) -> set[str]:
            ride = CoreRide(RideKind(old.kind), driver_name=values["driver_name"],
                            relationship=values["relationship"], phone=values["phone"],
                            expected_arrival=values["expected_arrival"],
                            company=values["company"], booking_reference=values["booking_ref"])
            return set(validate_ride(ride, protocol.discharge, patient_name=patient_name))
        before = {k: getattr(old, k) for k in AMEND_FIELDS[RideArrangement]}
        problems = sorted(problems_of(merged) - problems_of(before))
        if problems:
            raise Refused("ride", _sentence(problems), merged["driver_name"])
    try:
        new = repo.amend(session, old, clean, why, user=actor)
    except repo.AlreadyAmended as exc:
        raise Refused("amended", str(exc), entry_id) from None
    session.flush()
    return ch.changes(v, (ch.AMENDMENT, _KIND_OF.get(model, ch.AMENDMENT)), new, flags=flags)


def _corrected_dose(session: Session, old: Any, merged: Mapping[str, Any], given_at: datetime,
                    protocol: TreatmentProtocol, why: str, now: datetime) -> tuple[str, ...]:
    """A corrected MAR entry is held against the formulary as when it was charted (the other
    doses of the visit, the allergies): it records what was given, so a limit it exceeds is
    charted as given in error and flagged; what cannot be a dose at all is refused."""
    v = _visit(session, old.visit_id)
    d = protocol.drug_named(str(merged["drug"]))
    others = [core_meds.GivenDose(m.drug, m.dose, m.at)
              for m in repo.current_entries(session, MedicationAdministration, v.id)
              if m.chain_id != old.chain_id]
    proposed = core_meds.ProposedAdministration(
        drug=d.name if d else core_meds.OTHER_DRUG, dose_mg=float(merged["dose"]),
        route=str(merged["route"]), given_at=given_at,
        other_drug_name="" if d else str(merged["drug"]),
        other_reason="" if d else f"as charted ({why})",
        unit="" if d else str(merged["unit"]), given_in_error=True, error_reason=why)
    dec = core_meds.check_administration(
        proposed, protocol.formulary, others,
        core_meds.split_allergies(_patient(session, v).allergies), now,
        late_after_min=float("inf"))
    refused = [f for f in dec.findings if f.severity is Severity.REFUSED]
    if refused:
        raise Refused(refused[0].rule, refused[0].message[:1].upper() + refused[0].message[1:],
                      refused[0].value)
    return tuple(f.message for f in dec.findings if f.severity is not Severity.OK)


_KIND_OF: dict[type[ClinicalEntry], str] = {
    InfusionEvent: ch.INFUSION, MedicationAdministration: ch.MEDICATION,
    Assessment: ch.ASSESSMENT, Note: ch.NOTE, RideArrangement: ch.RIDE,
    Screening: ch.SCREENING, DischargeDecision: ch.DISCHARGE, PumpChangeItem: ch.PUMP_CHANGE,
}


# =========================================================================================
# Pump changes


def _pending_item(session: Session, item_id: int) -> PumpChangeItem:
    item = session.get(PumpChangeItem, _id("pump change", item_id))
    if item is None:
        raise Refused("pump_change", f"there is no pump-change item #{item_id}", item_id)
    current = next((i for i in repo.pending_pump_changes(session, visit_id=item.visit_id)
                    if i.chain_id == item.chain_id), None)
    if current is None:
        raise Refused("pump_change", "this pump change was already resolved", item_id)
    return current


def confirm_pump_change(session: Session, item_id: int, *, user: UserRef,
                        protocol: TreatmentProtocol, reason_code: str, reason_text: str = "",
                        now: datetime | None = None) -> Changes:
    """Chart the pump's change as it happened (at the pump's time, with the nurse's reason) and
    mark the item confirmed, in one transaction. What happened is charted as it was: the limits
    are flagged, not enforced."""
    actor = _acting(session, user)
    now = _clock(now)
    item = _pending_item(session, item_id)
    v = _visit(session, item.visit_id)
    code, details = _reason(protocol, reason_code, reason_text)
    change = core_pump.PumpChange.from_values(item.pump_values)
    facts = infusion_facts(session, v, protocol, now)
    rate = change.rate_after if change.kind in ("start", "rate_change", "resume") else None
    flags: tuple[str, ...] = ()
    if rate is not None and facts.weight_kg and facts.concentration_mg_ml:
        dec = core_dosing.check_rate(rate, facts.concentration_mg_ml, facts.weight_kg,
                                     protocol.dosing)
        flags = tuple(f.message for f in dec.findings if f.severity is not Severity.OK)
    ev = repo.record_infusion_event(
        session, v.id, change.kind, user=actor, rate_ml_h=rate,
        dose_mg_kg_h=(core_dosing.ml_h_to_mg_kg_h(rate, facts.concentration_mg_ml,
                                                  facts.weight_kg)
                      if rate is not None and facts.weight_kg and facts.concentration_mg_ml
                      else None),
        concentration_mg_ml=facts.concentration_mg_ml if rate is not None else None,
        reason_code=code, reason_text=details, at=change.at)
    why = code + (f": {details}" if details else "")
    resolved = repo.resolve_pump_change(session, item.id, "confirmed",
                                        f"charted as {change.kind}: {why}", user=actor)
    session.flush()
    return ch.changes(v, (ch.PUMP_CHANGE, ch.INFUSION), [ev, resolved], flags=flags)


def dismiss_pump_change(session: Session, item_id: int, *, user: UserRef, reason: str,
                        now: datetime | None = None) -> Changes:
    """"Not a real change", with the reason."""
    actor = _acting(session, user)
    _clock(now)
    item = _pending_item(session, item_id)
    why = clean_text("reason", reason, required=True, rule="dismiss_reason")
    resolved = repo.resolve_pump_change(session, item.id, "dismissed", why, user=actor)
    session.flush()
    return ch.changes(_visit(session, item.visit_id), ch.PUMP_CHANGE, resolved)


def pump_readings(session: Session, visit_id: int) -> list[core_pump.PumpReading]:
    """The pump's recorded rate and state for the visit, oldest first."""
    samples = repo.vitals_in_range(session, visit_id=visit_id, codes=("PUMP_RATE", "PUMP_STATE"))
    return [r for r in map(convert.pump_reading, samples) if r is not None]


def scan_pump_changes(session: Session, visit_id: int, now: datetime, *,
                      user: UserRef | None = None,
                      window_s: float = core_pump.DEFAULT_MATCH_WINDOW_S) -> Changes:
    """The pump-change scan (the station runs it every ~30 s for every active visit, whether or
    not anyone is logged in): a pending item for every pump change no charted entry explains
    and no item records yet (``Changes.entry``: the new items). ``user`` None: the item is the
    station's own observation; the nurse who resolves it signs the resolution."""
    actor = _acting(session, user) if user is not None else None
    visit = session.get(Visit, visit_id)
    if visit is None or not visit.active:
        return Changes(visit_id=visit_id, entry=[])
    found = core_pump.pump_changes(pump_readings(session, visit_id))
    charted = [convert.charted_event(e)
               for e in repo.current_entries(session, InfusionEvent, visit_id)]
    unexplained = core_pump.unexplained_changes(found, charted, now, window_s=window_s)
    recorded = [core_pump.PumpChange.from_values(i.pump_values)
                for i in repo.current_entries(session, PumpChangeItem, visit_id,
                                              include_voided=True)
                if "at" in i.pump_values]
    rows = [repo.record_pump_change(session, visit_id, visit.chair_id, c.kind, c.to_values(),
                                    user=actor, at=c.at)
            for c in core_pump.not_yet_recorded(unexplained, recorded)]
    session.flush()
    if not rows:
        return Changes(visit_id=visit.id, chair_id=visit.chair_id, phase=visit.phase, entry=[])
    return ch.changes(visit, ch.PUMP_CHANGE, rows, entry=rows)


# =========================================================================================
# Ride home and discharge


def _sentence(problems: Sequence[str]) -> str:
    """Problems joined as one sentence, names left as they were written."""
    text = "; ".join(problems)
    return text[:1].upper() + text[1:]


def save_ride(session: Session, visit_id: int, *, user: UserRef, protocol: TreatmentProtocol,
              details: RideDetails | None = None, confirm_method: str | None = None,
              confirmed_at: datetime | None = None, now: datetime | None = None) -> Changes:
    """Record (or amend) the ride details when given, then the confirmation when given, in one
    transaction. Core's ride rules: never the patient driving, by choice, by relationship or by
    name; a car service only where the protocol allows it."""
    actor = _acting(session, user)
    now = _clock(now)
    v = _visit(session, visit_id)
    if not v.active:
        raise Refused("visit_phase", f"the visit was {v.phase}: the ride home can no longer be "
                      "changed", v.phase)
    rows: list[Any] = []
    ride: RideArrangement | None = None
    if details is not None:
        if not isinstance(details, RideDetails):
            raise Refused("ride", f"ride details expected, not {details!r}", details)
        kind = choice("ride", details.kind, tuple(RideKind))
        values = {
            "driver_name": clean_text("driver's name", details.driver_name,
                                      max_chars=MAX_NAME_CHARS),
            "relationship": clean_text("relationship", details.relationship,
                                       max_chars=MAX_NAME_CHARS),
            "phone": clean_text("phone", details.phone, max_chars=MAX_PHONE_CHARS),
            "company": clean_text("company", details.company, max_chars=MAX_NAME_CHARS),
            "booking_ref": clean_text("booking reference", details.booking_ref, max_chars=100),
        }
        eta = details.expected_arrival
        if eta is not None:
            eta = aware_time("expected arrival", eta, now, allow_future=True)
        problems = validate_ride(
            CoreRide(RideKind(kind), driver_name=values["driver_name"],
                     relationship=values["relationship"], phone=values["phone"],
                     expected_arrival=eta, company=values["company"],
                     booking_reference=values["booking_ref"]),
            protocol.discharge, patient_name=_patient(session, v).full_name)
        if problems:
            raise Refused("ride", "Not acceptable: " + "; ".join(problems), kind)
        if kind == RideKind.CAR_SERVICE:
            values.update(driver_name="", relationship="", phone="")
            eta = None
        else:
            values.update(company="", booking_ref="")
        ride = repo.save_ride(session, v.id, user=actor, kind=kind, expected_arrival=eta,
                              **values)
        session.flush()
        rows.append(ride)
    else:
        current = repo.current_entries(session, RideArrangement, v.id)
        ride = current[-1] if current else None
    if confirm_method:
        method = choice("confirmation", confirm_method, tuple(ConfirmMethod))
        if ride is None:
            raise Refused("ride", "record the ride details first")
        t = _clinical_time("confirmation time", confirmed_at, now)
        ride = repo.confirm_ride(session, ride, method, user=actor, at=t)
        rows.append(ride)
    if not rows:
        raise Refused("ride", "nothing changed")
    session.flush()
    return ch.changes(v, ch.RIDE, rows, entry=ride)


def criteria_snapshot(result: DischargeResult, aldrete: AldreteScore | None
                      ) -> list[dict[str, Any]]:
    """What the gate showed at signing, for the record."""
    out: list[dict[str, Any]] = [
        {"name": c.name, "met": c.met, "detail": c.detail, "key": c.key}
        for c in result.criteria]
    if aldrete is not None:
        out.append({"name": "Modified Aldrete", "met": aldrete.meets_minimum,
                    "detail": aldrete.describe(), "key": "discharge.aldrete_min",
                    "gating": False,
                    "items": {i.name: i.score for i in aldrete.items}})
    out.append({"name": "evaluated_at", "met": True, "detail": result.evaluated_at.isoformat(),
                "key": "", "gating": False})
    return out


@dataclass(frozen=True)
class AldreteAnswers:
    """The nurse's part of the Modified Aldrete (0–2 each, None: not assessed)."""

    activity: int | None = None
    respiration: int | None = None
    consciousness: int | None = None


def evaluate_gate(session: Session, visit_id: int, *, protocol: TreatmentProtocol,
                  now: datetime, active_alarms: Sequence[ActiveAlarm] | None = None,
                  on_oxygen: bool = False, aldrete: AldreteAnswers | None = None,
                  display_tz: tzinfo | None = None
                  ) -> tuple[DischargeResult, AldreteScore | None]:
    """The discharge gate for the visit at ``now`` (core's ``evaluate_discharge`` on the
    record's inputs; ``active_alarms`` from the live engine, None: the alarm log) and the
    Modified Aldrete (shown, not gating)."""
    crit = protocol.discharge
    inputs = discharge_inputs(session, visit_id, now, active_alarms, criteria=crit,
                              on_oxygen=on_oxygen, display_tz=display_tz)
    result = evaluate_discharge(inputs, crit, now,
                                nausea_levels=protocol.assessments.nausea_levels,
                                display_tz=display_tz)
    score = None
    if aldrete is not None:
        sbp = latest_value(inputs.vitals, "NBP_SYS", now, crit.bp_within_min)
        spo2 = latest_value(inputs.vitals, "SPO2", now, crit.stability_window_min)
        score = modified_aldrete(
            activity=aldrete.activity, respiration=aldrete.respiration,
            consciousness=aldrete.consciousness, on_oxygen=inputs.on_oxygen,
            spo2=spo2.value if spo2 else None, sbp=sbp.value if sbp else None,
            baseline_sbp=inputs.baseline.sbp if inputs.baseline else None,
            aldrete_min=crit.aldrete_min)
    return result, score


def discharge(session: Session, visit_id: int, *, user: UserRef, protocol: TreatmentProtocol,
              instructions_given: bool, override: ChargeOverride | None = None,
              result: str = "discharged", aldrete: AldreteAnswers | None = None,
              on_oxygen: bool = False, active_alarms: Sequence[ActiveAlarm] | None = None,
              now: datetime | None = None, display_tz: tzinfo | None = None) -> Changes:
    """Sign the discharge. The gate is evaluated here, on the record, at ``now`` — never taken
    from the caller — and recorded with its criteria snapshot; unmet criteria need a charge
    nurse's override that was shown exactly those criteria. The visit becomes discharged and
    the chair is free."""
    actor = _acting(session, user)
    now = _clock(now)
    v = _visit(session, visit_id)
    outcome = choice("discharge result", result, DISCHARGE_RESULTS, rule="discharge_result")
    _phase(v, ("recovery",), "discharge")
    if instructions_given is not True and outcome == "discharged":
        raise Refused("instructions", "confirm the discharge instructions were given to the "
                      "patient and escort", instructions_given)
    if not isinstance(on_oxygen, bool):
        raise Refused("on_oxygen", f"on oxygen is yes or no, not {on_oxygen!r}", on_oxygen)
    if aldrete is not None:
        for name in ("activity", "respiration", "consciousness"):
            value = getattr(aldrete, name)
            if value is not None:
                integer(f"Aldrete {name}", value, lo=0, hi=2, rule="aldrete")
    gate, score = evaluate_gate(session, v.id, protocol=protocol, now=now,
                                active_alarms=active_alarms, on_oxygen=on_oxygen,
                                aldrete=aldrete, display_tz=display_tz)
    charge = None
    if outcome == "discharged" and not gate.passed:
        _may, never = override_scope(gate, protocol.discharge)
        if never:  # the ride home, the minimum observation time: no override covers them
            raise Refused("discharge_not_overridable",
                          "Not overridable: " + "; ".join(f"{c.name}: {c.detail}" for c in never)
                          + ". A charge nurse cannot release the patient until it is met",
                          tuple(c.name for c in never))
        dec = override_decision(gate, protocol.discharge)
        charge = _charge_override(session, override)
        _decide(dec, override=override)
    d = repo.record_discharge(
        session, v.id, criteria_snapshot(gate, score), gate.passed, user=actor,
        instructions_given=True, override_by=charge.id if charge else None,
        override_reason=override.reason.strip() if charge and override else None,
        result=outcome, at=now)
    session.flush()
    return ch.changes(v, (ch.DISCHARGE, ch.VISIT), d,
                   flags=tuple(f"overridden: {c.name}: {c.detail}" for c in gate.unmet)
                   if charge else ())


# =========================================================================================
# Alarms

#: Alarm states a person causes (and must be named for); the rest are the engine's.
PERSON_ALARM_STATES = ("acknowledged", "paused", "resumed")


def record_alarm_event(session: Session, chair_id: int, *, alarm_key: str, code: str,
                       priority: str, state: str, values: Mapping[str, Any] | None = None,
                       message: str = "", visit_id: int | None = None,
                       user: UserRef | None = None, at: datetime | None = None,
                       now: datetime | None = None) -> Changes:
    """One alarm state change, as the alarm engine or a nurse made it. Acknowledging, pausing
    and resuming the audio name the person; the engine's own changes name nobody."""
    now = _clock(now)
    _id("chair", chair_id)
    st = choice("alarm state", state, ALARM_STATES, rule="alarm_state")
    prio = choice("alarm priority", priority, ALARM_PRIORITIES, rule="alarm_priority")
    actor = _acting(session, user) if user is not None else None
    if st in PERSON_ALARM_STATES and actor is None:
        raise Refused("alarm_user", f"an alarm is {st} by someone: name the user", st)
    key = clean_text("alarm key", alarm_key, max_chars=100, required=True, rule="alarm_key")
    what = clean_text("alarm code", code, max_chars=32, required=True, rule="alarm_code")
    words = clean_text("alarm message", message, max_chars=MAX_NOTE_CHARS, rule="alarm_message")
    clean: dict[str, Any] = {}
    for k, x in (values or {}).items():
        if isinstance(x, int | float) and not isinstance(x, bool):
            clean[str(k)] = number(f"alarm value {k}", x, rule="alarm_value")
        elif x is None or isinstance(x, str | bool):
            clean[str(k)] = x
        else:
            clean[str(k)] = str(x)
    t = _clinical_time("alarm time", at, now)
    visit = _visit(session, visit_id) if visit_id is not None else None
    ev = repo.record_alarm_event(session, chair_id, key, what, prio, st, values=clean,
                                 message=words, visit_id=visit.id if visit else None,
                                 user=actor, at=t)
    session.flush()
    return Changes(visit_id=visit.id if visit else None, chair_id=chair_id,
                   kinds=frozenset({ch.ALARM}), entries=(ch.EntryRef("alarm_events", ev.id),),
                   phase=visit.phase if visit else None, entry=ev)


def acknowledge_alarm(session: Session, chair_id: int, *, user: UserRef, alarm_key: str,
                      code: str, priority: str, message: str = "",
                      values: Mapping[str, Any] | None = None, visit_id: int | None = None,
                      at: datetime | None = None, now: datetime | None = None) -> Changes:
    """A nurse acknowledged an alarm (recorded with who and when)."""
    return record_alarm_event(session, chair_id, alarm_key=alarm_key, code=code,
                              priority=priority, state="acknowledged", values=values,
                              message=message, visit_id=visit_id, user=user, at=at, now=now)


__all__ = [
    "AMENDABLE_TABLES",
    "AMEND_FIELDS",
    "BASELINE_CODES",
    "COMPLETED",
    "DISCHARGE_RESULTS",
    "MAX_CONCENTRATION_MG_ML",
    "MAX_PLANNED_MG_PER_KG",
    "MAX_PUMP_RATE_ML_H",
    "PERSON_ALARM_STATES",
    "AldreteAnswers",
    "InfusionFacts",
    "NewPatient",
    "RideDetails",
    "acknowledge_alarm",
    "add_note",
    "amend_entry",
    "assign_patient",
    "change_rate",
    "check_in",
    "confirm_pump_change",
    "criteria_snapshot",
    "discharge",
    "dismiss_pump_change",
    "evaluate_gate",
    "give_medication",
    "infusion_facts",
    "pause_infusion",
    "pump_readings",
    "record_alarm_event",
    "record_assessment",
    "record_assessments",
    "record_baseline",
    "record_medication_response",
    "record_vitals_check",
    "resume_infusion",
    "save_ride",
    "scan_pump_changes",
    "start_infusion",
    "stop_infusion",
    "visit_infusion_facts",
]
