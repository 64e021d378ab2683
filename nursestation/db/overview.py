"""What the charge nurse's overview shows for every chair, read from the shared database (no Qt).

``overview_rows(session, protocol, now)`` gives one ``OverviewRow`` per active chair, in position
order: patient, phase and time in phase, the latest vitals (with their age; stale ones marked),
alarms (latest logged state per alarm key; active = not cleared), overdue checks
(``core.checks``: overdue and still open - a BP now would count - apart from the missed ones
whose window a later check has taken over), pending pump changes, ride status (``core.ride``) and, in recovery, discharge
readiness (``core.discharge.evaluate_discharge`` on inputs read from the record).

The overview is another process, often on another machine: it has no live alarm engine and no
device links, so everything here comes from what the station recorded. Vitals are shown only
when they belong to the chair's active visit, so a previous patient's numbers never appear next
to the next patient's name.

``ChangeWatcher(engine).poll()`` says cheaply whether anything changed since the last poll:
the change marker (``audit.current_change_seq``, raised by every clinical, visit or alarm write)
plus the newest stored vitals row (device readings do not raise the marker). On PostgreSQL the
clinical changes arrive by LISTEN on ``nursestation_changes`` on a dedicated connection, with the
marker read as a fallback every ``fallback_s`` and whenever that connection is down.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from nursestation.core import discharge as gate
from nursestation.core.checks import Check, CheckStatus, checks_for_visit
from nursestation.core.livestate import STALE_AFTER_S
from nursestation.core.protocol import TreatmentProtocol
from nursestation.core.ride import RideState
from nursestation.core.vocabulary import UNUSABLE
from nursestation.db import discharge_inputs as din
from nursestation.db import repo
from nursestation.db.audit import NOTIFY_CHANNEL, current_change_seq
from nursestation.db.models import AlarmEvent, Assessment, Patient, Visit, Vital

log = logging.getLogger(__name__)

PRIORITY_RANK = {"high": 3, "medium": 2, "low": 1}
#: Shown next to an alarm so priority never depends on colour alone.
PRIORITY_MARK = {"high": "***", "medium": "**", "low": "*"}
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
    due_checks: tuple[str, ...] = ()
    missed_checks: tuple[str, ...] = ()  # overdue, window closed (a later check took over)
    pending_pump_changes: int = 0
    next_check: str = ""  # the next scheduled check and when: "infusing +20 min at 10:42"
    pump_rate: VitalCell | None = None
    pump_state: str = ""  # infusing / paused / stopped / alarm, as the pump last said
    ride: RideState | None = None
    ride_detail: str = ""
    readiness: Readiness | None = None  # only in recovery

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
        return (10 if self.escalated else 0) + PRIORITY_RANK.get(top.priority, 0)

    @property
    def ready(self) -> bool:
        return self.readiness is not None and self.readiness.ready


# ---------------------------------------------------------------------------- reading them


_PHASE_TIME = {
    "check_in": "checkin_at",
    "baseline": "baseline_at",
    "infusing": "infusion_start_at",
    "recovery": "recovery_at",
}
_NUMERIC_CODES = ("HR", "PR", "SPO2", "RR")


def _phase_started(v: Visit) -> datetime | None:
    attr = _PHASE_TIME.get(v.phase)
    return getattr(v, attr) if attr else None


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
    keep.sort(key=lambda a: (not a.escalated, -PRIORITY_RANK.get(a.priority, 0), a.since))
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
                       Vital.recv_time <= start + timedelta(minutes=1), Vital.value.is_not(None))
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
    patients = {p.id: p for p in session.scalars(select(Patient).where(
        Patient.id.in_([v.patient_id for v in visits.values()])))} if visits else {}
    latest = repo.latest_vitals(session)
    alarms_by_chair = _latest_alarms(session)
    pending: dict[int, int] = defaultdict(int)
    for item in repo.pending_pump_changes(session):
        pending[item.visit_id] += 1
    bp_within_s = protocol.discharge.bp_within_min * 60.0

    rows: list[OverviewRow] = []
    for chair in chairs:
        visit = visits.get(chair.id)
        alarms = _alarms_for(session, alarms_by_chair.get(chair.id, ()), visit, now)
        if visit is None:
            rows.append(OverviewRow(chair.name, chair.id, chair.position, alarms=alarms))
            continue
        p = patients.get(visit.patient_id)
        mine = {code: s for code, s in latest.get(chair.id, {}).items()
                if s.visit_id == visit.id}
        nbp = _cell(mine.get("NBP_SYS"), now, bp_within_s, measured=True)
        nbp_dia = _cell(mine.get("NBP_DIA"), now, bp_within_s, measured=True)
        started = _phase_started(visit)

        bp_times = [s.time for s in repo.vitals_in_range(session, visit_id=visit.id,
                                                         codes=("NBP_SYS",))
                    if s.value is not None and not (s.quality & UNUSABLE)]
        manual = din.manual_check_times(repo.current_entries(session, Assessment, visit.id))
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
            p.full_name if p else "", p.mrn if p else "", visit.phase, started,
            max(0.0, (now - started).total_seconds()) if started else None,
            hr=_cell(mine.get("HR") or mine.get("PR"), now, stale_after_s),
            spo2=_cell(mine.get("SPO2"), now, stale_after_s), nbp_sys=nbp, nbp_dia=nbp_dia,
            rr=_cell(mine.get("RR"), now, stale_after_s), alarms=alarms,
            overdue_checks=tuple(c.label for c in checks
                                 if c.status is CheckStatus.OVERDUE and _open(c, now)),
            due_checks=tuple(c.label for c in checks if c.status is CheckStatus.DUE),
            missed_checks=tuple(c.label for c in checks
                                if c.status is CheckStatus.OVERDUE and not _open(c, now)),
            pending_pump_changes=pending.get(visit.id, 0),
            next_check=next((f"{c.label} at {c.due_at.astimezone(display_tz):%H:%M}"
                             for c in checks if c.status is CheckStatus.PENDING), ""),
            pump_rate=_cell(mine.get("PUMP_RATE"), now, stale_after_s),
            pump_state=(mine["PUMP_STATE"].text or "") if "PUMP_STATE" in mine else "",
            ride=ride.state, ride_detail="; ".join(ride.reasons), readiness=readiness))
    if cache is not None:
        cache.keep_only({v.id for v in visits.values()})
    return rows


# --------------------------------------------------------------------------------- changes


def database_label(engine: Engine) -> str:
    """Where the overview reads from, for its status line: the SQLite file or host/database."""
    u = engine.url
    if u.get_backend_name() == "sqlite":
        return f"SQLite {u.database or ':memory:'}"
    host = u.host or u.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    port = u.port or u.query.get("port")
    if isinstance(port, tuple):
        port = port[0]
    return f"PostgreSQL {host}{f':{port}' if port else ''}/{u.database}"


class ChangeWatcher:
    """Tells whether the shared database changed since the last ``poll()``, cheaply."""

    def __init__(self, engine: Engine, *, listen: bool = True, fallback_s: float = 2.0,
                 reconnect_s: float = 5.0) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.fallback_s = fallback_s
        self.reconnect_s = reconnect_s
        self.error: str | None = None  # the last failure to read the database, if any
        self._listen = listen and self.postgres
        self._conn: Any = None  # the LISTEN connection (psycopg)
        self._next_connect = 0.0
        self._seq: int | None = None
        self._seq_read = 0.0
        self._vitals: int | None = None
        if self._listen:
            self._connect()

    @property
    def listening(self) -> bool:
        return self._conn is not None

    # ------------------------------------------------------------------------------- LISTEN

    def _connect(self) -> None:
        import psycopg

        self._next_connect = time.monotonic() + self.reconnect_s
        try:
            cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
            conn = psycopg.connect(*cargs, **cparams, autocommit=True)
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception as exc:  # noqa: BLE001 - fall back to polling the marker
            log.warning("overview: cannot LISTEN for changes (%s); polling instead", exc)
            self._conn = None
            return
        self._conn = conn
        self._seq = None  # anything may have happened while we were not listening

    def _drain_notifies(self) -> bool:
        """True when a notification arrived (never blocks)."""
        if self._conn is None:
            if self._listen and time.monotonic() >= self._next_connect:
                self._connect()
            return False
        pg = self._conn.pgconn
        try:
            pg.consume_input()
            got = False
            while pg.notifies() is not None:
                got = True
            if pg.status != 0:  # not CONNECTION_OK
                raise ConnectionError("LISTEN connection lost")
            return got
        except Exception as exc:  # noqa: BLE001
            log.warning("overview: LISTEN connection lost (%s); polling until it is back", exc)
            self._drop()
            self._next_connect = time.monotonic() + self.reconnect_s
            return True  # we may have missed one: refresh

    # ------------------------------------------------------------------------------ markers

    def poll(self) -> bool:
        notified = self._drain_notifies()
        now = time.monotonic()
        read_seq = self._conn is None or self._seq is None or notified or \
            now - self._seq_read >= self.fallback_s
        try:
            with Session(self.engine) as s:
                vitals = s.scalar(select(func.max(Vital.id))) or 0
                seq = current_change_seq(s) if read_seq else self._seq
        except SQLAlchemyError as exc:
            if self.error is None:
                log.warning("overview: cannot read the database: %s", exc)
            self.error = str(exc).splitlines()[0]
            return False
        recovered = self.error is not None
        self.error = None
        if read_seq:
            self._seq_read = now
        changed = notified or recovered or seq != self._seq or vitals != self._vitals
        self._seq, self._vitals = seq, vitals
        return changed

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - it is gone either way
                pass

    def close(self) -> None:
        """Stop listening for good (the window closes)."""
        self._listen = False
        self._drop()


__all__ = [
    "PRIORITY_MARK",
    "AlarmInfo",
    "ChangeWatcher",
    "OverviewRow",
    "Readiness",
    "ReadinessCache",
    "VitalCell",
    "database_label",
    "overview_rows",
]
