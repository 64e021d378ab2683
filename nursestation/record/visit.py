"""The one read model of a visit: what every view says about it.

``read_visit(session, visit_id, protocol, now)`` returns a :class:`VisitView`; ``read_visits``
does the same for several visits with one query per kind of record (the tiles and the overview
read every chair each refresh). The chair's dose panel and charting dialogs, the discharge gate
(``record.gate``), the charge nurse's overview (``record.overview``), the station's tiles
(``record.chairs``), the printed summary (``report.build``) and the HL7 export all read it, so
two of them can never disagree about a visit. Before it, the screen said 35.0 mg (0.5 mg/kg)
delivered and the paper 52.5 mg (0.75 mg/kg) for the same visit: the screen stopped counting at
the bag's VTBI and the paper did not, and the two picked the patient's weight by different rules.

The rules themselves are core's, once each; this module only reads the rows and asks:

- **weight**: ``core.dosing.visit_weight`` (this visit's latest charted weight, so a correction
  replaces what it corrects; else the latest before check-in, flagged);
- **concentration**: ``core.dosing.visit_concentration`` (the latest charted with an infusion
  entry; else the protocol's plan for the weight);
- **pump state and delivered dose**: ``core.dosing.pump_course`` / ``delivered_dose`` over the
  charted (current, not voided) infusion events, up to ``now``, stopped at the VTBI (the
  protocol's ``dosing.bag_volume_ml``: the bag the visit hangs) and at the visit's recorded end
  of the infusion (it moved to recovery);
- **the pump's own counter**: the latest usable ``PUMP_VI`` at or before ``now``, compared with
  ``core.dosing.compare_with_pump``.

No Qt. Reads on the caller's (reader) session; the result is plain frozen data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursestation.core import dosing
from nursestation.core.checks import PhaseTimes
from nursestation.core.discharge import ActiveAlarm
from nursestation.core.medications import GivenDose, split_allergies
from nursestation.core.protocol import TreatmentProtocol
from nursestation.core.vocabulary import UNUSABLE
from nursestation.db import repo
from nursestation.db.models import (
    AlarmEvent,
    Chair,
    InfusionEvent,
    MedicationAdministration,
    Patient,
    PatientWeight,
    Visit,
    Vital,
)
from nursestation.db.types import as_utc
from nursestation.record import convert

_PHASE_TIME = {
    "check_in": "checkin_at",
    "baseline": "baseline_at",
    "infusing": "infusion_start_at",
    "recovery": "recovery_at",
    "discharged": "discharge_at",
    "cancelled": "cancelled_at",
}


# ------------------------------------------------------------------------------ one way to say it


def fmt_kg(kg: float | None) -> str:
    return "-" if kg is None else f"{kg:.1f} kg"


def fmt_mg(mg: float | None) -> str:
    return "-" if mg is None else f"{mg:.1f} mg"


def fmt_mg_per_kg(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} mg/kg"


@dataclass(frozen=True)
class PumpVolume:
    """The pump's own volume-infused counter (its latest usable reading)."""

    ml: float
    at: datetime


@dataclass(frozen=True)
class VisitView:
    """Everything a view says about one visit, as of ``as_of``."""

    visit_id: int
    chair_id: int
    chair: str
    patient_id: int
    patient_name: str
    mrn: str
    date_of_birth: date | None
    allergies_text: str
    phase: str
    phase_started: datetime | None
    course_number: int
    protocol_name: str
    times: PhaseTimes
    baseline_at: datetime | None
    recovery_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    as_of: datetime
    weight: dosing.VisitWeight
    concentration: dosing.VisitConcentration
    #: The charted pump history (current versions, voided ones left out), in time order.
    events: tuple[dosing.InfusionEvent, ...]
    #: The pump's course from that history: volume, state (one state machine), VTBI.
    pump: dosing.PumpCourse
    vtbi_ml: float
    #: None when the weight or the concentration is unknown (no dose can be worked out).
    delivered: dosing.DeliveredDose | None
    pump_volume: PumpVolume | None
    pump_comparison: dosing.VolumeComparison | None
    #: Medications given (current versions, voided ones left out): the rows, read-only.
    medications: tuple[MedicationAdministration, ...]
    #: Alarms whose latest logged state is not ``cleared`` (a process without the live engine).
    logged_alarms: tuple[ActiveAlarm, ...]
    pending_pump_changes: int

    # ------------------------------------------------------------------ plain answers

    @property
    def active(self) -> bool:
        return self.phase in ("check_in", "baseline", "infusing", "recovery")

    @property
    def allergies(self) -> tuple[str, ...]:
        return split_allergies(self.allergies_text)

    @property
    def weight_kg(self) -> float | None:
        return self.weight.weight_kg

    @property
    def concentration_mg_ml(self) -> float | None:
        return self.concentration.mg_per_ml

    @property
    def concentration_source(self) -> str:
        return self.concentration.describe(_local_tz())

    @property
    def pump_state(self) -> str:
        """idle / running / paused / stopped: core's one pump state machine over the chart
        (stopped once the bag reached its VTBI)."""
        return self.pump.state

    @property
    def current_rate(self) -> float | None:
        """The last charted rate (mL/h)."""
        return self.pump.rate_ml_h

    @property
    def planned_dose_mg(self) -> float | None:
        """The dose the bag holds (VTBI × concentration): what "completed as planned" means
        when the infusion is stopped."""
        c = self.concentration.mg_per_ml
        return self.vtbi_ml * c if c else None

    @property
    def delivered_mg(self) -> float:
        return self.delivered.dose_mg if self.delivered is not None else 0.0

    @property
    def given_doses(self) -> tuple[GivenDose, ...]:
        return tuple(convert.given_dose(m) for m in self.medications)

    def core_events(self) -> list[dosing.InfusionEvent]:
        return list(self.events)

    # ------------------------------------------------------------------ the dose, in words

    def weight_text(self, tz: tzinfo | None = None) -> str:
        return self.weight.describe(tz or _local_tz())

    def pump_state_text(self, tz: tzinfo | None = None) -> str:
        p = self.pump
        if p.bag_empty and p.state == "stopped":
            assert p.vtbi_reached_at is not None
            return (f"stopped: bag empty (VTBI {self.vtbi_ml:g} mL reached "
                    f"{p.vtbi_reached_at.astimezone(tz or _local_tz()):%H:%M})")
        if p.state in ("running", "paused") and p.rate_ml_h is not None:
            return f"{p.state} at {p.rate_ml_h:g} mL/h"
        return p.state

    def dose_text(self) -> str:
        """The delivered dose, as every view shows it."""
        d = self.delivered
        if d is None:
            why = "no weight recorded" if self.weight_kg is None else "no concentration"
            return f"Delivered: unknown ({why}); {self.pump.volume_ml:.1f} mL charted"
        return (f"Delivered: {fmt_mg(d.dose_mg)} ({fmt_mg_per_kg(d.dose_mg_per_kg)}) = "
                f"{d.volume_ml:.1f} mL × {self.concentration_mg_ml:.3g} mg/mL, for "
                f"{fmt_kg(self.weight_kg)}; {d.infusing_min:.1f} min infusing")

    def dose_lines(self, tz: tzinfo | None = None) -> list[str]:
        """The dose panel's lines (also the discharge dialog's and the HL7 note's)."""
        tz = tz or _local_tz()
        lines = [self.dose_text(),
                 f"Weight: {self.weight_text(tz)}",
                 f"Pump: {self.pump_state_text(tz)}"]
        if self.pump.notes:
            lines.append("Chart notes: " + "; ".join(self.pump.notes))
        if self.pump_volume is None:
            lines.append("Pump: no volume-infused reading")
        elif self.pump_comparison is not None:
            mark = "✓" if self.pump_comparison.within_tolerance else "!"
            lines.append(f"{mark} Pump ({self.pump_volume.at.astimezone(tz):%H:%M}): "
                         f"{self.pump_comparison.message}")
        return lines


def _local_tz() -> tzinfo | None:
    return datetime.now().astimezone().tzinfo


# --------------------------------------------------------------------------------- reading it


def infusion_end(v: Visit) -> datetime | None:
    """When the visit's record says the infusion ended: it moved to recovery (or, skipping
    recovery, was discharged or cancelled)."""
    return v.infusion_stop_at or v.discharge_at or v.cancelled_at


def _pump_volume(session: Session, visit_id: int, now: datetime) -> PumpVolume | None:
    """The latest usable PUMP_VI at or before ``now`` (a few rows back at most)."""
    rows = session.execute(
        select(Vital.value, Vital.quality, Vital.source_time, Vital.recv_time)
        .where(Vital.visit_id == visit_id, Vital.code == "PUMP_VI", Vital.value.is_not(None),
               Vital.recv_time <= now)
        .order_by(Vital.recv_time.desc(), Vital.id.desc()).limit(20))
    for value, quality, source, recv in rows:
        flags = frozenset(f for f in (quality or "").split(",") if f)
        t = as_utc(source) if source else as_utc(recv)
        if value is None or flags & UNUSABLE or t > now:
            continue
        return PumpVolume(float(value), t)
    return None


def _logged_alarms(session: Session, visit_ids: list[int]) -> dict[int, tuple[ActiveAlarm, ...]]:
    newest = (select(func.max(AlarmEvent.id)).where(AlarmEvent.visit_id.in_(visit_ids))
              .group_by(AlarmEvent.visit_id, AlarmEvent.alarm_key).scalar_subquery())
    out: dict[int, list[ActiveAlarm]] = defaultdict(list)
    for ev in session.scalars(select(AlarmEvent).where(AlarmEvent.id.in_(newest))
                              .order_by(AlarmEvent.at, AlarmEvent.id)):
        if ev.state != "cleared" and ev.visit_id is not None:
            out[ev.visit_id].append(ActiveAlarm(ev.priority, ev.message or ev.code))
    return {vid: tuple(a) for vid, a in out.items()}


def view_of(v: Visit, patient: Patient | None, chair: Chair | None,
            events: Iterable[InfusionEvent], weights: Iterable[PatientWeight],
            medications: Iterable[MedicationAdministration], protocol: TreatmentProtocol,
            now: datetime, *, pump_volume: PumpVolume | None = None,
            logged_alarms: tuple[ActiveAlarm, ...] = (),
            pending_pump_changes: int = 0) -> VisitView:
    """Assemble the view from rows already read (what ``read_visits`` does per visit)."""
    now = now.astimezone(UTC)
    rows = [e for e in events if not e.voided]
    weight = dosing.visit_weight((convert.weight_record(w) for w in weights), v.id,
                                 v.checkin_at or v.created_at)
    conc = dosing.visit_concentration(((e.at, e.concentration_mg_ml) for e in rows),
                                      weight.weight_kg, protocol.dosing)
    core_events = convert.infusion_events(rows)
    vtbi = protocol.dosing.bag_volume_ml
    course = dosing.pump_course(core_events, now, vtbi_ml=vtbi, ended_at=infusion_end(v))
    delivered = None
    if weight.weight_kg and conc.mg_per_ml:
        delivered = dosing.delivered_dose(core_events, now,
                                          concentration_mg_per_ml=conc.mg_per_ml,
                                          weight_kg=weight.weight_kg, vtbi_ml=vtbi,
                                          ended_at=infusion_end(v))
    comparison = (dosing.compare_with_pump(course.volume_ml, pump_volume.ml)
                  if pump_volume is not None else None)
    attr = _PHASE_TIME.get(v.phase)
    return VisitView(
        visit_id=v.id, chair_id=v.chair_id, chair=chair.name if chair else "",
        patient_id=v.patient_id, patient_name=patient.full_name if patient else "",
        mrn=patient.mrn if patient else "",
        date_of_birth=patient.date_of_birth if patient else None,
        allergies_text=(patient.allergies or "") if patient else "", phase=v.phase,
        phase_started=getattr(v, attr) if attr else None, course_number=v.course_number,
        protocol_name=v.protocol_name,
        times=PhaseTimes(checked_in=v.checkin_at, infusion_start=v.infusion_start_at,
                         infusion_stop=v.infusion_stop_at, discharged=v.discharge_at),
        baseline_at=v.baseline_at, recovery_at=v.recovery_at, cancelled_at=v.cancelled_at,
        created_at=v.created_at, as_of=now, weight=weight, concentration=conc,
        events=core_events, pump=course, vtbi_ml=vtbi, delivered=delivered,
        pump_volume=pump_volume, pump_comparison=comparison,
        medications=tuple(m for m in medications if not m.voided),
        logged_alarms=logged_alarms, pending_pump_changes=pending_pump_changes)


def read_visits(session: Session, visit_ids: Iterable[int], protocol: TreatmentProtocol,
                now: datetime) -> dict[int, VisitView]:
    """The read model of several visits, by visit id, with one query per kind of record (plus
    one short one per visit for the pump's counter). Unknown ids are left out."""
    ids = list(dict.fromkeys(visit_ids))
    if not ids:
        return {}
    visits = {v.id: v for v in session.scalars(select(Visit).where(Visit.id.in_(ids)))}
    patient_ids = {v.patient_id for v in visits.values()}
    patients = {p.id: p for p in session.scalars(select(Patient).where(
        Patient.id.in_(patient_ids)))}
    chairs = {c.id: c for c in session.scalars(select(Chair).where(
        Chair.id.in_({v.chair_id for v in visits.values()})))}
    weights: dict[int, list[PatientWeight]] = defaultdict(list)
    for w in session.scalars(select(PatientWeight).where(
            PatientWeight.patient_id.in_(patient_ids))):
        weights[w.patient_id].append(w)
    found = list(visits)
    events = repo.current_entries_by_visit(session, InfusionEvent, found)
    meds = repo.current_entries_by_visit(session, MedicationAdministration, found)
    alarms = _logged_alarms(session, found)
    pending: dict[int, int] = defaultdict(int)
    for item in repo.pending_pump_changes(session):
        pending[item.visit_id] += 1
    out: dict[int, VisitView] = {}
    for vid in ids:
        v = visits.get(vid)
        if v is None:
            continue
        out[vid] = view_of(v, patients.get(v.patient_id), chairs.get(v.chair_id),
                           events.get(vid, ()), weights.get(v.patient_id, ()),
                           meds.get(vid, ()), protocol, now,
                           pump_volume=_pump_volume(session, vid, now),
                           logged_alarms=alarms.get(vid, ()),
                           pending_pump_changes=pending.get(vid, 0))
    return out


def read_visit(session: Session, visit_id: int, protocol: TreatmentProtocol,
               now: datetime) -> VisitView:
    """The read model of one visit as of ``now`` (aware). Raises ``LookupError`` for an unknown
    visit. The entry point for every view: the dose panel, the dialogs, the discharge gate, the
    overview, the printed summary and the HL7 export."""
    views = read_visits(session, [visit_id], protocol, now)
    if visit_id not in views:
        raise LookupError(f"no visit #{visit_id}")
    return views[visit_id]


__all__ = [
    "PumpVolume",
    "VisitView",
    "fmt_kg",
    "fmt_mg",
    "fmt_mg_per_kg",
    "infusion_end",
    "read_visit",
    "read_visits",
    "split_allergies",
    "view_of",
]

