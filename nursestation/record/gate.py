"""What the discharge gate needs, read from the record: ``DischargeInputs`` for one visit, and
the visit's read model beside it (the gate shows the delivered dose and weight every other view
shows: they come from the same ``record.visit.read_visit``).

No Qt. Reads on a reader session; the gate itself (``core.discharge.evaluate_discharge``) stays
pure. Nothing here decides anything: it only translates rows into the core's types (through
``record.convert``).

Assessment rows: scale ``MOAAS`` (score 0-5), ``CADSS6`` (score = total of the six items),
``NAUSEA`` (``items["level"]`` one of the protocol's nausea levels); the scale names are the
record's (``db.discharge_inputs``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.orm import Session

from nursestation.core.checks import PhaseTimes
from nursestation.core.discharge import (
    ActiveAlarm,
    BaselineVitals,
    DischargeInputs,
    NauseaEntry,
    ScoreEntry,
    VitalSample,
    baseline_from_samples,
)
from nursestation.core.dosing import Decision
from nursestation.core.protocol import DischargeCriteria, TreatmentProtocol
from nursestation.core.ride import RideStatus, ride_status
from nursestation.core.screening import (
    PredoseBP,
    ScreeningItem,
    ScreeningResult,
    blocking_failures,
    start_gate,
)
from nursestation.db import repo
from nursestation.db.discharge_inputs import (
    SCALE_BASELINE_VITALS,
    SCALE_CADSS6,
    SCALE_MOAAS,
    SCALE_NAUSEA,
    SCALE_VITALS_CHECK,
)
from nursestation.db.models import Assessment, RideArrangement, Screening, Visit
from nursestation.record import convert
from nursestation.record.history import Users
from nursestation.record.visit import VisitView, read_visit

GATE_CODES = ("NBP_SYS", "NBP_DIA", "HR", "PR", "SPO2", "RR")


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def charted_baseline(assessments: Iterable[Assessment]) -> dict[str, float]:
    """The baseline vitals the nurse charted at the baseline step (the latest such entry)."""
    entries = [a for a in assessments if a.scale == SCALE_BASELINE_VITALS and not a.voided]
    if not entries:
        return {}
    items = max(entries, key=lambda a: a.at).items or {}
    return {k: float(v) for k, v in items.items() if k in GATE_CODES and _number(v)}


def visit_baseline(vitals: Sequence[VitalSample], assessments: Iterable[Assessment],
                   infusion_start: datetime | None) -> BaselineVitals | None:
    """The patient's baseline: what the nurse charted at the baseline step wins, and the last
    usable values recorded before the infusion fill the gaps. None before the infusion."""
    if infusion_start is None:
        return None
    recorded = baseline_from_samples(vitals, infusion_start)
    charted = charted_baseline(assessments)
    return BaselineVitals(
        sbp=charted.get("NBP_SYS", recorded.sbp), dbp=charted.get("NBP_DIA", recorded.dbp),
        hr=charted.get("HR", recorded.hr), spo2=charted.get("SPO2", recorded.spo2),
        rr=charted.get("RR", recorded.rr))


def assessment_scores(assessments: Iterable[Assessment]
                      ) -> tuple[tuple[ScoreEntry, ...], tuple[ScoreEntry, ...],
                                 tuple[NauseaEntry, ...]]:
    """MOAA/S scores, CADSS-6 totals and nausea levels, as the gate reads them."""
    moaas: list[ScoreEntry] = []
    cadss: list[ScoreEntry] = []
    nausea: list[NauseaEntry] = []
    for a in assessments:
        if a.scale == SCALE_MOAAS and a.score is not None:
            moaas.append(ScoreEntry(int(a.score), a.at))
        elif a.scale == SCALE_CADSS6 and a.score is not None:
            cadss.append(ScoreEntry(int(a.score), a.at))
        elif a.scale == SCALE_NAUSEA and (a.items or {}).get("level"):
            nausea.append(NauseaEntry(str(a.items["level"]), a.at))
    return tuple(moaas), tuple(cadss), tuple(nausea)


def manual_vitals(assessments: Iterable[Assessment], now: datetime) -> list[VitalSample]:
    """Values from manual vitals checks, as samples the gate reads like the monitor's."""
    return [VitalSample(code, float(v), a.at)
            for a in assessments
            if a.scale == SCALE_VITALS_CHECK and not a.voided and a.at <= now
            for code, v in (a.items or {}).items() if code in GATE_CODES and _number(v)]


def manual_check_times(assessments: Iterable[Assessment]) -> list[datetime]:
    """When the nurse charted a blood pressure by hand: such an entry fulfils a scheduled
    check as an NIBP reading does."""
    return [a.at for a in assessments
            if a.scale in (SCALE_BASELINE_VITALS, SCALE_VITALS_CHECK) and not a.voided
            and isinstance((a.items or {}).get("NBP_SYS"), int | float)]


def phase_times(visit: Visit) -> PhaseTimes:
    return PhaseTimes(checked_in=visit.checkin_at, infusion_start=visit.infusion_start_at,
                      infusion_stop=visit.infusion_stop_at, discharged=visit.discharge_at)


def gate_vitals(session: Session, visit_id: int, now: datetime) -> tuple[VitalSample, ...]:
    """The visit's numeric vitals up to ``now`` (the device's time when it gave one)."""
    out = []
    for s in repo.vitals_in_range(session, visit_id=visit_id, codes=GATE_CODES,
                                  end=now + timedelta(microseconds=1)):
        v = convert.vital_sample(s)
        if v is not None and v.at <= now:
            out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class RideView:
    """The visit's current ride arrangement as the ride form shows it (plain data)."""

    kind: str
    driver_name: str
    relationship: str
    phone: str
    expected_arrival: datetime | None
    company: str
    booking_ref: str
    confirmation_method: str | None
    confirmed_at: datetime | None


def current_ride(session: Session, visit_id: int) -> RideView | None:
    """The ride arrangement in force for *visit_id* (its current version), or None."""
    rides = repo.current_entries(session, RideArrangement, visit_id)
    if not rides:
        return None
    r = rides[-1]
    return RideView(r.kind, r.driver_name, r.relationship, r.phone, r.expected_arrival,
                    r.company, r.booking_ref, r.confirmation_method, r.confirmed_at)


def visit_ride_status(session: Session, visit_id: int, criteria: DischargeCriteria,
                      now: datetime, *, display_tz: tzinfo | None = None) -> RideStatus:
    rides = repo.current_entries(session, RideArrangement, visit_id)
    if not rides:
        return ride_status(None, None, criteria, now, display_tz=display_tz)
    row = rides[-1]
    conf = convert.ride_confirmation(row, Users(session).name(row.confirmed_by_id)
                                     if row.confirmed_by_id else "")
    return ride_status(convert.ride(row), conf, criteria, now, display_tz=display_tz)


def discharge_inputs(session: Session, visit_id: int, now: datetime,
                     active_alarms: Sequence[ActiveAlarm] | None = None, *,
                     criteria: DischargeCriteria, on_oxygen: bool = False,
                     display_tz: tzinfo | None = None,
                     logged_alarms: Sequence[ActiveAlarm] | None = None) -> DischargeInputs:
    """The gate's inputs for ``visit_id`` at ``now``. ``active_alarms``: the live alarm engine's
    alarms; None reads them from the alarm log (``logged_alarms`` when the caller has them)."""
    visit = repo.get_visit(session, visit_id)
    if visit is None:
        raise LookupError(f"no visit #{visit_id}")
    times = phase_times(visit)
    assessments = repo.current_entries(session, Assessment, visit_id)
    vitals = tuple(sorted(gate_vitals(session, visit_id, now)
                          + tuple(manual_vitals(assessments, now)), key=lambda v: v.at))
    baseline = visit_baseline(vitals, assessments, times.infusion_start)
    moaas, cadss, nausea = assessment_scores(assessments)
    if active_alarms is not None:
        alarms = tuple(active_alarms)
    elif logged_alarms is not None:
        alarms = tuple(logged_alarms)
    else:
        alarms = logged_active_alarms(session, visit_id)
    return DischargeInputs(
        phase_times=times, baseline=baseline, vitals=vitals, moaas=moaas, cadss6=cadss,
        nausea=nausea, alarms=alarms,
        ride=visit_ride_status(session, visit_id, criteria, now, display_tz=display_tz),
        on_oxygen=on_oxygen)


def logged_active_alarms(session: Session, visit_id: int) -> tuple[ActiveAlarm, ...]:
    """Alarms whose latest logged state is not ``cleared`` (for a process that has no live
    alarm engine, e.g. the overview)."""
    latest: dict[str, object] = {}
    for ev in repo.alarm_events(session, visit_id=visit_id):
        latest[ev.alarm_key] = ev
    return tuple(ActiveAlarm(ev.priority, ev.message or ev.code)  # type: ignore[attr-defined]
                 for ev in latest.values() if ev.state != "cleared")  # type: ignore[attr-defined]


@dataclass(frozen=True)
class GateRead:
    """The gate's inputs and the visit they belong to (its dose, weight, pump state)."""

    inputs: DischargeInputs
    visit: VisitView


def read_gate(session: Session, visit_id: int, protocol: TreatmentProtocol, now: datetime,
              active_alarms: Sequence[ActiveAlarm] | None = None, *, on_oxygen: bool = False,
              display_tz: tzinfo | None = None) -> GateRead:
    """The discharge gate's inputs at ``now`` with the visit's read model."""
    view = read_visit(session, visit_id, protocol, now)
    inputs = discharge_inputs(session, visit_id, now, active_alarms,
                              criteria=protocol.discharge, on_oxygen=on_oxygen,
                              display_tz=display_tz, logged_alarms=view.logged_alarms)
    return GateRead(inputs, view)



# ------------------------------------------------------------------------- before dosing


def _result_of(row: Screening) -> ScreeningResult:
    items = row.answers.get("items", []) if isinstance(row.answers, dict) else []
    return ScreeningResult(tuple(ScreeningItem(str(i["name"]), bool(i["passed"]),
                                               str(i.get("detail", "")), str(i.get("key", "")))
                                 for i in items if isinstance(i, dict) and "name" in i))


def screening_result(session: Session, visit_id: int) -> ScreeningResult | None:
    """The check-in screening as charted (the current entry: an amendment counts), item by
    item, or None when the patient was not checked in."""
    rows = repo.current_entries(session, Screening, visit_id)
    if not rows:
        return None
    return _result_of(rows[-1])


def unmet_blocking_screening(session: Session, visit_ids: Iterable[int],
                             protocol: TreatmentProtocol) -> dict[int, tuple[str, ...]]:
    """Each visit's unmet screening items that the protocol marks as blocking
    (``core.screening.blocking_failures``), in words with their reasons, for the tile, the
    chair detail, the overview and the summary: they stay visible after a charge nurse's
    override let the infusion start. Visits with none are left out. One query for all."""
    out: dict[int, tuple[str, ...]] = {}
    for vid, rows in repo.current_entries_by_visit(session, Screening, list(visit_ids)).items():
        if not rows:
            continue
        failed = blocking_failures(_result_of(rows[-1]), protocol.screening)
        if failed:
            out[vid] = tuple(f"screening not met: {i.name}" + (f" ({i.detail})" if i.detail
                                                                else "") for i in failed)
    return out


def predose_bp(session: Session, visit_id: int, now: datetime) -> PredoseBP | None:
    """The latest blood pressure before ``now``: the monitor's NIBP, the charted baseline or a
    manual check, whichever is newest (systolic and diastolic of one measurement)."""
    pairs: list[PredoseBP] = []
    by_time: dict[datetime, dict[str, float]] = {}
    for s in gate_vitals(session, visit_id, now):
        if s.usable and s.code in ("NBP_SYS", "NBP_DIA"):
            by_time.setdefault(s.at, {})[s.code] = s.value
    for a in repo.current_entries(session, Assessment, visit_id):
        if a.scale in (SCALE_BASELINE_VITALS, SCALE_VITALS_CHECK) and a.at <= now:
            items = a.items or {}
            if _number(items.get("NBP_SYS")) and _number(items.get("NBP_DIA")):
                by_time.setdefault(a.at, {}).update(
                    NBP_SYS=float(items["NBP_SYS"]), NBP_DIA=float(items["NBP_DIA"]))
    for at, v in by_time.items():
        if "NBP_SYS" in v and "NBP_DIA" in v:
            pairs.append(PredoseBP(v["NBP_SYS"], v["NBP_DIA"], at))
    return max(pairs, key=lambda p: p.at, default=None)


def read_start_gate(session: Session, visit_id: int, protocol: TreatmentProtocol,
                    now: datetime, *, display_tz: tzinfo | None = None) -> Decision:
    """May the infusion start (``core.screening.start_gate``)? The blocking screening items
    and the pre-dose blood pressure, as the start command and the start dialog both ask."""
    return start_gate(screening_result(session, visit_id), protocol.screening, protocol.dosing,
                      predose_bp(session, visit_id, now), now, display_tz=display_tz)


__all__ = [
    "GATE_CODES",
    "predose_bp",
    "read_start_gate",
    "screening_result",
    "unmet_blocking_screening",
    "GateRead",
    "assessment_scores",
    "charted_baseline",
    "discharge_inputs",
    "gate_vitals",
    "logged_active_alarms",
    "manual_check_times",
    "manual_vitals",
    "phase_times",
    "read_gate",
    "visit_baseline",
    "visit_ride_status",
]
