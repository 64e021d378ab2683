"""What the chart says about each chair, for the station's tiles and alarm engines: patient,
phase, timers, latest assessments, pending items, scheduled checks, the patient's baseline, and
the visit's read model (weight, pump state, delivered dose: ``record.visit``).

Qt-free; read on a short session, off the GUI thread. One query per kind of record for all
chairs together: at 32 chairs, per-visit queries cost a good part of a second of the GIL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nursestation.core.checks import (
    Check,
    CheckStatus,
    PhaseTimes,
    checks_for_visit,
    next_bp_deadline,
)
from nursestation.core.medications import FollowUp
from nursestation.core.protocol import Schedule, TreatmentProtocol
from nursestation.core.vocabulary import scale_name
from nursestation.db import repo
from nursestation.db.discharge_inputs import SCALE_CADSS6, SCALE_MOAAS, SCALE_NAUSEA
from nursestation.db.engine import session_scope
from nursestation.db.models import Assessment, Patient, Vital
from nursestation.record import gate
from nursestation.record.followups import visit_follow_ups
from nursestation.record.visit import VisitView, read_visits


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
    #: The visit's read model (weight, pump state, delivered dose), when read with a protocol.
    visit: VisitView | None = None
    #: What the visit's doses still ask: responses and sedation checks (``record.followups``).
    follow_ups: tuple[FollowUp, ...] = ()
    #: Blocking screening items unmet, in words (``record.gate.unmet_blocking_screening``).
    screening_unmet: tuple[str, ...] = ()

    @property
    def charted_infusion(self) -> str:
        """What the chart says the infusion is doing (``core.pumpchanges.CHART_STATES``), from
        core's one pump state machine over the charted events (the read model); without the
        read model, from the phase."""
        if self.visit is not None:
            return _CHARTED[self.visit.pump.state]
        if self.phase in ("check_in", "baseline"):
            return "not started"
        return "infusing" if self.phase == "infusing" else "stopped"

    @property
    def charted_volume_ml(self) -> float | None:
        """The volume the charted dose amounts to (the bag's VTBI), once an infusion is
        charted: a pump that infused more than this is over-delivering."""
        if self.visit is None or self.visit.pump.state == "idle":
            return None
        return self.visit.vtbi_ml

    @property
    def attention(self) -> tuple[str, ...]:
        """Scheduled checks that need doing now, for the tile ("BP check overdue ...")."""
        return self.screening_unmet + tuple(f"{c.label} check {c.status}" for c in self.checks
                     if c.status in (CheckStatus.DUE, CheckStatus.OVERDUE)) + tuple(
            f.text() for f in self.follow_ups if f.open)


#: The pump state machine's states as the chart states them to the pump comparison.
_CHARTED = {"idle": "not started", "running": "infusing", "paused": "paused",
            "stopped": "stopped"}


def _assessment_text(entries: Iterable[Assessment]) -> str:
    latest: dict[str, Assessment] = {}
    for a in entries:
        if a.voided:
            continue
        cur = latest.get(a.scale)
        if cur is None or a.at >= cur.at:
            latest[a.scale] = a
    parts = []
    for scale in (SCALE_MOAAS, SCALE_CADSS6, SCALE_NAUSEA):
        last = latest.get(scale)
        if last is None:
            continue
        if scale == SCALE_NAUSEA:
            parts.append(f"{scale_name(scale)} {(last.items or {}).get('level', '?')}")
        elif last.score is not None:
            parts.append(f"{scale_name(scale)} {last.score:g}")
    return " · ".join(parts)


def _protocol_and_schedule(protocol: TreatmentProtocol | Schedule | None
                           ) -> tuple[TreatmentProtocol | None, Schedule | None]:
    if isinstance(protocol, TreatmentProtocol):
        return protocol, protocol.schedule
    return None, protocol


def load_chair_visits(session: Session, protocol: TreatmentProtocol | Schedule | None = None,
                      now: datetime | None = None) -> dict[str, ChairVisit]:
    """Every active visit, by chair name. Given the time and the protocol (or only its
    schedule), with its scheduled vitals checks; given the whole protocol, with the visit's read
    model too."""
    proto, schedule = _protocol_and_schedule(protocol)
    chairs = {c.id: c.name for c in repo.list_chairs(session)}
    visits = {cid: v for cid, v in repo.active_visits(session).items() if cid in chairs}
    ids = [v.id for v in visits.values()]
    views = read_visits(session, ids, proto, now) if proto is not None and now is not None \
        else {}
    patients = {p.id: p for p in session.scalars(select(Patient).where(
        Patient.id.in_([v.patient_id for v in visits.values()])))} if ids and not views else {}
    assessments = repo.current_entries_by_visit(session, Assessment, ids)
    pending: dict[int, int] = {}
    if not views:
        for item in repo.pending_pump_changes(session):
            pending[item.visit_id] = pending.get(item.visit_id, 0) + 1
    bp_times = (repo.measurement_times_by_visit(session, "NBP_SYS", ids)
                if schedule is not None and now is not None else {})
    unmet = gate.unmet_blocking_screening(session, ids, proto) if proto is not None else {}
    out: dict[str, ChairVisit] = {}
    for chair_id, v in visits.items():
        view = views.get(v.id)
        entries = assessments.get(v.id, [])
        checks: tuple[Check, ...] = ()
        deadline = None
        if schedule is not None and now is not None:
            times = PhaseTimes(v.checkin_at, v.infusion_start_at, v.infusion_stop_at, None)
            bp = bp_times.get(v.id, [])
            manual = gate.manual_check_times(entries)
            checks = tuple(checks_for_visit(schedule, times, bp, manual, now))
            deadline = next_bp_deadline(schedule, times, bp, manual, now)
        if view is not None:
            name, mrn, allergies = view.patient_name, view.mrn, view.allergies_text
            n_pending = view.pending_pump_changes
        else:
            p = patients.get(v.patient_id)
            name, mrn = (p.full_name, p.mrn) if p else ("", "")
            allergies = p.allergies if p else ""
            n_pending = pending.get(v.id, 0)
        out[chairs[chair_id]] = ChairVisit(
            chair=chairs[chair_id], chair_id=chair_id, visit_id=v.id,
            patient_name=name, mrn=mrn, allergies=allergies, phase=v.phase,
            phase_started={"check_in": v.checkin_at, "baseline": v.baseline_at,
                           "infusing": v.infusion_start_at,
                           "recovery": v.recovery_at}.get(v.phase),
            checkin_at=v.checkin_at, baseline_at=v.baseline_at,
            infusion_started=v.infusion_start_at, infusion_ended=v.infusion_stop_at,
            course_number=v.course_number, assessments=_assessment_text(entries),
            pending_pump_changes=n_pending, checks=checks, bp_deadline=deadline, visit=view,
            follow_ups=(visit_follow_ups(view, entries, proto, now)
                        if view is not None and proto is not None and now is not None else ()),
            screening_unmet=unmet.get(v.id, ()))
    return out


class BaselineVitals:
    """The recorded vitals a baseline is taken from (up to the infusion's start), kept between
    chart reads while the record holds the same rows for that window.

    The chart is reread every few seconds and every read takes the current baseline (an
    amended charted value applies at once); the recorded samples before the infusion started
    were most of that read (make bench profile: ~60 % of the chart reader's CPU at 32 chairs,
    in bursts holding the GIL the GUI thread waits for). Stored vitals are never updated or
    deleted, only added (a late batch, a spool drained after an outage), so the window's row
    count and highest id, one indexed aggregate, say whether the samples must be read again.
    Charted entries are read every time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[int, datetime], tuple[tuple, tuple]] = {}

    def get(self, session: Session, visit_id: int, start: datetime) -> tuple:
        end = start + timedelta(microseconds=1)  # as gate.gate_vitals reads them
        mark = tuple(session.execute(
            select(func.count(Vital.id), func.max(Vital.id))
            .where(Vital.visit_id == visit_id, Vital.code.in_(gate.GATE_CODES),
                   Vital.recv_time < end)).one())
        key = (visit_id, start)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == mark:
            return kept[1]
        samples = gate.gate_vitals(session, visit_id, start)
        with self._lock:
            self._kept[key] = (mark, samples)
        return samples

    def keep_only(self, visit_ids: Iterable[int]) -> None:
        """Forget the visits no longer active."""
        ids = set(visit_ids)
        with self._lock:
            for key in [k for k in self._kept if k[0] not in ids]:
                del self._kept[key]


def visit_baseline(session: Session, v: ChairVisit,
                   recorded: BaselineVitals | None = None,
                   charted: Iterable[Assessment] | None = None) -> dict[str, float]:
    """The patient's baseline for the alarm engine's relative limits (the same rule as the
    discharge gate's: charted values win, recorded ones fill the gaps). ``recorded``: reuse
    the recorded samples of an earlier read while they are unchanged; ``charted``: the
    visit's current assessments, when already read."""
    if v.infusion_started is None:
        return {}
    vitals = (recorded.get(session, v.visit_id, v.infusion_started) if recorded is not None
              else gate.gate_vitals(session, v.visit_id, v.infusion_started))
    if charted is None:
        charted = repo.current_entries(session, Assessment, v.visit_id)
    b = gate.visit_baseline(vitals, charted, v.infusion_started)
    if b is None:
        return {}
    return {code: val for code, val in (("NBP_SYS", b.sbp), ("NBP_DIA", b.dbp), ("HR", b.hr),
                                        ("SPO2", b.spo2), ("RR", b.rr)) if val is not None}


@dataclass(frozen=True)
class ChartRead:
    visits: dict[str, ChairVisit]
    baselines: dict[str, dict[str, float]]  # by chair, for visits whose baseline was asked


def read_chart(engine: Engine, protocol: TreatmentProtocol | Schedule, now: datetime,
               have_baseline: frozenset[int] = frozenset(), *,
               recorded: BaselineVitals | None = None) -> ChartRead:
    """Everything the tiles and the alarm engines need from the chart, on its own session
    (run off the GUI thread). Pass the whole protocol to have each visit's read model
    (``ChairVisit.visit``); its schedule alone still works. Baselines are read only for
    infusing visits not in ``have_baseline``; ``recorded`` keeps their recorded samples
    between reads (see :class:`BaselineVitals`)."""
    with session_scope(engine) as session:
        visits = load_chair_visits(session, protocol, now)
        asked = {chair: v for chair, v in visits.items()
                 if v.infusion_started is not None and v.visit_id not in have_baseline}
        # the charted baselines (current assessments) of all of them in one query
        charted = repo.current_entries_by_visit(session, Assessment,
                                                [v.visit_id for v in asked.values()])
        baselines = {chair: visit_baseline(session, v, recorded, charted[v.visit_id])
                     for chair, v in asked.items()}
    if recorded is not None:
        recorded.keep_only(v.visit_id for v in visits.values())
    return ChartRead(visits, baselines)


__all__ = ["BaselineVitals", "ChairVisit", "ChartRead", "load_chair_visits", "read_chart",
           "visit_baseline"]
