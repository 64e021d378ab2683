"""What the chart says about each chair, for the tiles: patient, phase, timers, latest
assessments, pending items. Read from the database on a short session (Qt-free)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nursestation.core.checks import (
    Check,
    CheckStatus,
    PhaseTimes,
    checks_for_visit,
    next_bp_deadline,
)
from nursestation.core.protocol import Schedule
from nursestation.db import discharge_inputs as din
from nursestation.db import repo
from nursestation.db.discharge_inputs import (
    SCALE_CADSS6,
    SCALE_MOAAS,
    SCALE_NAUSEA,
    manual_check_times,
)
from nursestation.db.engine import session_scope
from nursestation.db.models import Assessment, Patient, Visit

PHASE_LABELS = {
    "check_in": "check-in",
    "baseline": "baseline",
    "infusing": "infusing",
    "recovery": "recovery",
}


@dataclass(frozen=True)
class ChairVisit:
    """The active visit of one chair, as the station needs it."""

    chair: str
    chair_id: int
    visit_id: int
    patient_name: str
    mrn: str
    allergies: str
    phase: str
    phase_started: datetime | None
    checkin_at: datetime | None
    baseline_at: datetime | None
    infusion_started: datetime | None
    infusion_ended: datetime | None
    course_number: int
    assessments: str
    pending_pump_changes: int
    checks: tuple[Check, ...] = ()
    bp_deadline: datetime | None = None

    @property
    def attention(self) -> tuple[str, ...]:
        """Scheduled checks that need doing now, for the tile ("BP check overdue ...")."""
        return tuple(f"{c.label} check {c.status}" for c in self.checks
                     if c.status in (CheckStatus.DUE, CheckStatus.OVERDUE))


def _phase_started(v: Visit) -> datetime | None:
    return {
        "check_in": v.checkin_at,
        "baseline": v.baseline_at,
        "infusing": v.infusion_start_at,
        "recovery": v.recovery_at,
    }.get(v.phase)


def _assessment_text(entries: Iterable[Assessment]) -> str:
    latest: dict[str, Assessment] = {}
    for a in entries:
        if a.voided:
            continue
        cur = latest.get(a.scale)
        if cur is None or a.at >= cur.at:
            latest[a.scale] = a
    parts = []
    for scale, label in ((SCALE_MOAAS, "MOAA/S"), (SCALE_CADSS6, "CADSS"),
                         (SCALE_NAUSEA, "nausea")):
        a = latest.get(scale)
        if a is None:
            continue
        if scale == SCALE_NAUSEA:
            parts.append(f"nausea {(a.items or {}).get('level', '?')}")
        elif a.score is not None:
            parts.append(f"{label} {a.score:g}")
    return " · ".join(parts)


def load_chair_visits(session: Session, schedule: Schedule | None = None,
                      now: datetime | None = None) -> dict[str, ChairVisit]:
    """Every active visit, by chair name (with its scheduled vitals checks when given the
    protocol's schedule and the time). One query per kind of record for all chairs together:
    at 32 chairs, per-visit queries cost a good part of a second of the GIL."""
    chairs = {c.id: c.name for c in repo.list_chairs(session)}
    visits = {cid: v for cid, v in repo.active_visits(session).items() if cid in chairs}
    ids = [v.id for v in visits.values()]
    patients = ({p.id: p for p in session.scalars(select(Patient).where(
        Patient.id.in_([v.patient_id for v in visits.values()])))} if visits else {})
    assessments = repo.current_entries_by_visit(session, Assessment, ids)
    pending: dict[int, int] = {}
    for item in repo.pending_pump_changes(session):
        pending[item.visit_id] = pending.get(item.visit_id, 0) + 1
    bp_times = (repo.measurement_times_by_visit(session, "NBP_SYS", ids)
                if schedule is not None and now is not None else {})
    out: dict[str, ChairVisit] = {}
    for chair_id, v in visits.items():
        p = patients.get(v.patient_id)
        entries = assessments.get(v.id, [])
        checks: tuple[Check, ...] = ()
        deadline = None
        if schedule is not None and now is not None:
            times = PhaseTimes(v.checkin_at, v.infusion_start_at, v.infusion_stop_at, None)
            bp = bp_times.get(v.id, [])
            manual = manual_check_times(entries)
            checks = tuple(checks_for_visit(schedule, times, bp, manual, now))
            deadline = next_bp_deadline(schedule, times, bp, manual, now)
        out[chairs[chair_id]] = ChairVisit(
            chair=chairs[chair_id], chair_id=chair_id, visit_id=v.id,
            patient_name=p.full_name if p else "", mrn=p.mrn if p else "",
            allergies=p.allergies if p else "", phase=v.phase,
            phase_started=_phase_started(v), checkin_at=v.checkin_at,
            baseline_at=v.baseline_at, infusion_started=v.infusion_start_at,
            infusion_ended=v.infusion_stop_at, course_number=v.course_number,
            assessments=_assessment_text(entries), pending_pump_changes=pending.get(v.id, 0),
            checks=checks, bp_deadline=deadline,
        )
    return out


def visit_baseline(session: Session, v: ChairVisit) -> dict[str, float]:
    """The patient's baseline for the alarm engine's relative limits (the same rule as the
    discharge gate's: charted values win, recorded ones fill the gaps)."""
    if v.infusion_started is None:
        return {}
    b = din.visit_baseline(din.gate_vitals(session, v.visit_id, v.infusion_started),
                           repo.current_entries(session, Assessment, v.visit_id),
                           v.infusion_started)
    return {code: val for code, val in (("NBP_SYS", b.sbp), ("NBP_DIA", b.dbp), ("HR", b.hr),
                                        ("SPO2", b.spo2), ("RR", b.rr)) if val is not None}


@dataclass(frozen=True)
class ChartRead:
    visits: dict[str, ChairVisit]
    baselines: dict[str, dict[str, float]]  # by chair, for visits whose baseline was asked


def read_chart(engine: Engine, schedule: Schedule, now: datetime,
               have_baseline: frozenset[int] = frozenset()) -> ChartRead:
    """Everything the tiles and the alarm engines need from the chart, on its own session
    (run off the GUI thread). Baselines are read only for infusing visits not in
    ``have_baseline``."""
    with session_scope(engine) as session:
        visits = load_chair_visits(session, schedule, now)
        baselines = {chair: visit_baseline(session, v) for chair, v in visits.items()
                     if v.infusion_started is not None and v.visit_id not in have_baseline}
    return ChartRead(visits, baselines)
