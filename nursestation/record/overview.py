"""What the charge nurse's overview shows for every chair, read from the shared database (no Qt).

``overview_rows(session, protocol, now)`` gives one ``OverviewRow`` per active chair, in position
order: patient, phase and time in phase, the visit's weight and delivered dose (from the one
visit read model, ``record.visit``: the same figures as the chair's dose panel and the printed
summary), the latest vitals (with their age; stale ones marked), alarms (latest logged state per
alarm key; active = not cleared), overdue checks (``core.checks``: overdue and still open - a BP
now would count - apart from the missed ones whose window a later check has taken over), pending
pump changes, ride status (``core.ride``) and, in recovery, discharge readiness
(``core.discharge.evaluate_discharge`` on inputs read by ``record.gate``).

The overview is another process, often on another machine: it has no live alarm engine and no
device links, so everything here comes from what the station recorded. Vitals are shown only
when they belong to the chair's active visit, so a previous patient's numbers never appear next
to the next patient's name. ``db.overview.ChangeWatcher`` says when to read the rows again.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursestation.core import discharge as gate
from nursestation.core.alarms import PRIORITY_MARK, priority_urgency
from nursestation.core.checks import Check, CheckStatus, checks_for_visit
from nursestation.core.livestate import STALE_AFTER_S
from nursestation.core.protocol import TreatmentProtocol
from nursestation.core.ride import RideState
from nursestation.core.vocabulary import UNUSABLE
from nursestation.db import repo
from nursestation.db.audit import current_change_seq
from nursestation.db.models import AlarmEvent, Assessment, Visit, Vital
from nursestation.record import gate as din
from nursestation.record.followups import visit_follow_ups
from nursestation.record.visit import VisitView, read_visits

#: An alarm of a chair without an active visit (a device left on) is shown for this long.
EMPTY_CHAIR_ALARMS_FOR = timedelta(hours=12)
#: Discharge readiness is re-evaluated at least this often while nothing clinical changes
#: (vitals enter and leave the stability window).
READINESS_MAX_AGE_S = 5.0


# ------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class VitalCell:
    code: str
    value: float | None
    at: datetime  # the device's time when it gave one, else when received
    age_s: float
    stale: bool  # too old to be a current value (numerics) / older than discharge.bp_within_min
    unusable: bool  # the device flagged it invalid / unavailable

    def text(self) -> str:
        if self.value is None:
            return "?"
        return f"{self.value:.0f}"


@dataclass(frozen=True)
class AlarmInfo:
    key: str
    code: str
    priority: str
    state: str
    message: str
    since: datetime  # when it was (last) raised
    escalated: bool

    @property
    def mark(self) -> str:
        return PRIORITY_MARK.get(self.priority, "")


@dataclass(frozen=True)
class Readiness:
    ready: bool
    unmet: tuple[tuple[str, str], ...]  # (criterion name, detail)
    evaluated_at: datetime


@dataclass(frozen=True)
class OverviewRow:
    chair: str
    chair_id: int
    position: int
    visit_id: int | None = None
    patient_name: str = ""
    mrn: str = ""
    phase: str | None = None
    phase_started: datetime | None = None
    time_in_phase_s: float | None = None
    hr: VitalCell | None = None  # HR, or PR when the chair has no HR
    spo2: VitalCell | None = None
    nbp_sys: VitalCell | None = None
    nbp_dia: VitalCell | None = None
    rr: VitalCell | None = None
    alarms: tuple[AlarmInfo, ...] = ()  # active ones, most important first
    overdue_checks: tuple[str, ...] = ()  # overdue and still open: a BP now would count
    #: blocking screening items unmet, in words (``record.gate.unmet_blocking_screening``)
    screening_unmet: tuple[str, ...] = ()
    due_checks: tuple[str, ...] = ()
    missed_checks: tuple[str, ...] = ()  # overdue, window closed (a later check took over)
    pending_pump_changes: int = 0
    next_check: str = ""  # the next scheduled check and when: "infusing +20 min at 10:42"
    pump_rate: VitalCell | None = None
    pump_state: str = ""  # infusing / paused / stopped / alarm, as the pump last said
    ride: RideState | None = None
    ride_detail: str = ""
    readiness: Readiness | None = None  # only in recovery
    #: The visit as every view reads it (``record.visit``): weight, pump state, delivered dose.
    visit: VisitView | None = None

    @property
    def weight_kg(self) -> float | None:
        return self.visit.weight_kg if self.visit is not None else None

    @property
    def delivered_mg(self) -> float | None:
        d = self.visit.delivered if self.visit is not None else None
        return d.dose_mg if d is not None else None

    @property
    def delivered_mg_per_kg(self) -> float | None:
        d = self.visit.delivered if self.visit is not None else None
        return d.dose_mg_per_kg if d is not None else None

    @property
    def dose_text(self) -> str:
        """The delivered dose and weight in the words every view uses ("" without a visit)."""
        return self.visit.dose_text() if self.visit is not None else ""

    @property
    def occupied(self) -> bool:
        return self.visit_id is not None

    @property
    def top_alarm(self) -> AlarmInfo | None:
        return self.alarms[0] if self.alarms else None

    @property
    def escalated(self) -> bool:
        return any(a.escalated for a in self.alarms)

    @property
    def alarm_rank(self) -> int:
        """For sorting: escalated first, then by priority, then by count."""
        top = self.top_alarm
        if top is None:
            return 0
        return (10 if self.escalated else 0) + priority_urgency(top.priority)

    @property
    def ready(self) -> bool:
        return self.readiness is not None and self.readiness.ready


# ---------------------------------------------------------------------------- reading them


_NUMERIC_CODES = ("HR", "PR", "SPO2", "RR")


def _cell(s: repo.VitalSample | None, now: datetime, stale_after_s: float, *,
          measured: bool = False) -> VitalCell | None:
    """``measured``: an intermittent measurement (NBP) is as old as its measurement time, not
    as its latest repeat from the device (every NBP showed "0 min" while the tiles said 13)."""
    if s is None:
        return None
    age = max(0.0, (now - (s.time if measured else s.recv_time)).total_seconds())
    return VitalCell(s.code, s.value, s.time, age, age > stale_after_s,
                     bool(s.quality & UNUSABLE) or s.value is None)


def _latest_alarms(session: Session) -> dict[int, list[AlarmEvent]]:
    """The latest event of every (chair, alarm key) whose state is not ``cleared``."""
    newest = (select(func.max(AlarmEvent.id))
              .group_by(AlarmEvent.chair_id, AlarmEvent.alarm_key).scalar_subquery())
    out: dict[int, list[AlarmEvent]] = defaultdict(list)
    for ev in session.scalars(select(AlarmEvent).where(AlarmEvent.id.in_(newest),
                                                       AlarmEvent.state != "cleared")):
        out[ev.chair_id].append(ev)
    return out


def _raised_at(session: Session, ev: AlarmEvent) -> datetime:
    """When the current episode of this alarm began (its last ``raised``)."""
    t = session.scalar(select(func.max(AlarmEvent.at)).where(
        AlarmEvent.chair_id == ev.chair_id, AlarmEvent.alarm_key == ev.alarm_key,
        AlarmEvent.state == "raised", AlarmEvent.id <= ev.id))
    return t or ev.at


def _alarms_for(session: Session, events: Sequence[AlarmEvent], visit: Visit | None,
                now: datetime) -> tuple[AlarmInfo, ...]:
    keep: list[AlarmInfo] = []
    for ev in events:
        if visit is not None:
            if ev.visit_id not in (visit.id, None):
                continue  # a previous visit's alarm the station never cleared
            if ev.visit_id is None and ev.at < (visit.checkin_at or visit.created_at):
                continue
        elif ev.at < now - EMPTY_CHAIR_ALARMS_FOR:
            continue
        keep.append(AlarmInfo(ev.alarm_key, ev.code, ev.priority, ev.state,
                              ev.message or ev.code, _raised_at(session, ev),
                              ev.state == "escalated"))
    keep.sort(key=lambda a: (not a.escalated, -priority_urgency(a.priority), a.since))
    return tuple(keep)


@dataclass
class _Cached:
    seq: int
    computed: float  # monotonic
    readiness: Readiness


@dataclass
class ReadinessCache:
    """Discharge readiness per visit, recomputed when anything clinical changed (the change
    marker moved) or after ``max_age_s``. Reading a visit's vitals for the gate is the costly
    part of a refresh; vitals arrive every second, clinical changes rarely."""

    max_age_s: float = READINESS_MAX_AGE_S
    _by_visit: dict[int, _Cached] = field(default_factory=dict)

    def get(self, visit_id: int, seq: int) -> Readiness | None:
        c = self._by_visit.get(visit_id)
        if c is None or c.seq != seq or time.monotonic() - c.computed > self.max_age_s:
            return None
        return c.readiness

    def put(self, visit_id: int, seq: int, readiness: Readiness) -> None:
        self._by_visit[visit_id] = _Cached(seq, time.monotonic(), readiness)

    def keep_only(self, visit_ids: set[int]) -> None:
        for vid in list(self._by_visit):
            if vid not in visit_ids:
                del self._by_visit[vid]


def _gate_vitals(session: Session, visit: Visit, protocol: TreatmentProtocol,
                 now: datetime) -> tuple[gate.VitalSample, ...]:
    """The samples the gate looks at, not the whole visit: the baseline (the last of each code
    before the infusion started), the stability window, and every BP (intermittent, few)."""
    crit = protocol.discharge
    window_start = now - timedelta(minutes=max(crit.stability_window_min, crit.bp_within_min))
    out: list[gate.VitalSample] = []

    def add(samples: Sequence[repo.VitalSample]) -> None:
        for s in samples:
            if s.value is not None and s.time <= now:
                out.append(gate.VitalSample(s.code, float(s.value), s.time,
                                            usable=not (s.quality & UNUSABLE)))

    start = visit.infusion_start_at
    if start is not None:
        for code in ("HR", "PR", "SPO2", "RR"):
            row = session.execute(
                select(Vital.chair_id, Vital.visit_id, Vital.code, Vital.value, Vital.text,
                       Vital.unit, Vital.quality, Vital.source_time, Vital.recv_time,
                       Vital.device_key)
                .where(Vital.visit_id == visit.id, Vital.code == code,
                       Vital.recv_time <= start + timedelta(minutes=1), Vital.value.is_not(None),
                       Vital.primary_site.is_(True))
                .order_by(Vital.recv_time.desc(), Vital.id.desc()).limit(30)).all()
            add([repo._sample(r) for r in row])
    add(repo.vitals_in_range(session, visit_id=visit.id, codes=("NBP_SYS", "NBP_DIA"),
                             end=now + timedelta(microseconds=1)))
    add(repo.vitals_in_range(session, visit_id=visit.id, codes=("HR", "PR", "SPO2", "RR"),
                             start=window_start - timedelta(minutes=1),
                             end=now + timedelta(microseconds=1)))
    return tuple(out)


def _readiness(session: Session, visit: Visit, alarms: Sequence[AlarmInfo],
               protocol: TreatmentProtocol, now: datetime, tz: tzinfo | None) -> Readiness:
    crit = protocol.discharge
    vitals = _gate_vitals(session, visit, protocol, now)
    times = din.phase_times(visit)
    assessments = repo.current_entries(session, Assessment, visit.id)
    vitals = tuple(sorted(vitals + tuple(din.manual_vitals(assessments, now)),
                          key=lambda v: v.at))
    baseline = din.visit_baseline(vitals, assessments, times.infusion_start)
    moaas, cadss, nausea = din.assessment_scores(assessments)
    inputs = gate.DischargeInputs(
        phase_times=times, baseline=baseline, vitals=vitals, moaas=moaas, cadss6=cadss,
        nausea=nausea,
        alarms=tuple(gate.ActiveAlarm(a.priority, a.message) for a in alarms),
        ride=din.visit_ride_status(session, visit.id, crit, now, display_tz=tz))
    result = gate.evaluate_discharge(inputs, crit, now,
                                     nausea_levels=protocol.assessments.nausea_levels,
                                     display_tz=tz)
    return Readiness(result.passed, tuple((c.name, c.detail) for c in result.unmet), now)


def _open(check: Check, now: datetime) -> bool:
    """A BP taken now would still fulfil the check."""
    return check.window_end is None or now < check.window_end


def overview_rows(session: Session, protocol: TreatmentProtocol, now: datetime, *,
                  display_tz: tzinfo | None = None, cache: ReadinessCache | None = None,
                  stale_after_s: float = STALE_AFTER_S) -> list[OverviewRow]:
    """Every active chair, in position order, as the charge nurse's overview shows it."""
    seq = current_change_seq(session)
    chairs = repo.list_chairs(session)
    visits = repo.active_visits(session)
    latest = repo.latest_vitals(session)
    alarms_by_chair = _latest_alarms(session)
    views = read_visits(session, [v.id for v in visits.values()], protocol, now)
    unmet = din.unmet_blocking_screening(session, list(views), protocol)
    bp_within_s = protocol.discharge.bp_within_min * 60.0

    rows: list[OverviewRow] = []
    for chair in chairs:
        visit = visits.get(chair.id)
        alarms = _alarms_for(session, alarms_by_chair.get(chair.id, ()), visit, now)
        if visit is None:
            rows.append(OverviewRow(chair.name, chair.id, chair.position, alarms=alarms))
            continue
        view = views[visit.id]
        mine = {code: s for code, s in latest.get(chair.id, {}).items()
                if s.visit_id == visit.id}
        nbp = _cell(mine.get("NBP_SYS"), now, bp_within_s, measured=True)
        nbp_dia = _cell(mine.get("NBP_DIA"), now, bp_within_s, measured=True)
        started = view.phase_started

        bp_times = [s.time for s in repo.vitals_in_range(session, visit_id=visit.id,
                                                         codes=("NBP_SYS",))
                    if s.value is not None and not (s.quality & UNUSABLE)]
        assessments = repo.current_entries(session, Assessment, visit.id)
        manual = din.manual_check_times(assessments)
        doses = visit_follow_ups(view, assessments, protocol, now)
        checks = checks_for_visit(protocol.schedule, din.phase_times(visit), bp_times, manual,
                                  now, display_tz=display_tz)
        ride = din.visit_ride_status(session, visit.id, protocol.discharge, now,
                                     display_tz=display_tz)

        readiness = None
        if visit.phase == "recovery":
            readiness = cache.get(visit.id, seq) if cache is not None else None
            if readiness is None:
                readiness = _readiness(session, visit, alarms, protocol, now, display_tz)
                if cache is not None:
                    cache.put(visit.id, seq, readiness)

        rows.append(OverviewRow(
            chair.name, chair.id, chair.position, visit.id,
            view.patient_name, view.mrn, visit.phase, started,
            max(0.0, (now - started).total_seconds()) if started else None,
            hr=_cell(mine.get("HR") or mine.get("PR"), now, stale_after_s),
            spo2=_cell(mine.get("SPO2"), now, stale_after_s), nbp_sys=nbp, nbp_dia=nbp_dia,
            rr=_cell(mine.get("RR"), now, stale_after_s), alarms=alarms,
            overdue_checks=tuple(c.label for c in checks
                                 if c.status is CheckStatus.OVERDUE and _open(c, now))
            + tuple(f.label for f in doses if f.status == "overdue"),
            screening_unmet=unmet.get(visit.id, ()),
            due_checks=tuple(c.label for c in checks if c.status is CheckStatus.DUE)
            + tuple(f.label for f in doses if f.status == "due"),
            missed_checks=tuple(c.label for c in checks
                                if c.status is CheckStatus.OVERDUE and not _open(c, now)),
            pending_pump_changes=view.pending_pump_changes,
            next_check=next((f"{c.label} at {c.due_at.astimezone(display_tz):%H:%M}"
                             for c in checks if c.status is CheckStatus.PENDING), ""),
            pump_rate=_cell(mine.get("PUMP_RATE"), now, stale_after_s),
            pump_state=(mine["PUMP_STATE"].text or "") if "PUMP_STATE" in mine else "",
            ride=ride.state, ride_detail="; ".join(ride.reasons), readiness=readiness,
            visit=view))
    if cache is not None:
        cache.keep_only({v.id for v in visits.values()})
    return rows


__all__ = [
    "PRIORITY_MARK",
    "AlarmInfo",
    "OverviewRow",
    "Readiness",
    "ReadinessCache",
    "VitalCell",
    "overview_rows",
]
