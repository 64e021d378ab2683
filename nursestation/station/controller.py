"""The station controller: the clinical heartbeat of a station, without Qt.

Mu's ``Editor(view)`` pattern: this object decides, the window only renders what it returns.
It runs whether or not anyone is logged in — a locked screen must not stop alarms from being
raised and recorded, nor a pump's unexplained change from becoming a pending item.

One call drives it: :meth:`StationController.tick`, on one thread (the GUI's alarm timer at 4 Hz,
or any loop without a GUI). A tick

* feeds what the devices delivered since the last tick to the chairs' alarm engines and runs
  their timers (:meth:`StationRuntime.process`);
* records every alarm state change through the one writer, tied to the chair's visit and, for an
  acknowledgement or audio pause, to the person who did it;
* takes a freshly read chart, when one arrived, and gives each chair's engine its patient's
  baseline (relative limits such as "SBP > baseline + 40") and the schedule's next blood-pressure
  deadline (the "no BP within schedule" technical alarm);
* starts the chart's periodic reread (every ``chart_interval_s``, on the controller's own reader
  thread, never the caller's) and the pump-change scan (every ``pump_scan_interval_s`` for every
  infusing or recovering visit: a pending item for each pump change no nurse entry explains);
* returns a :class:`Tick`: the changes, each chair's highest alarm, and the chart if a new one
  arrived.

Times come from the runtime's clock (a ``FakeClock`` in tests), so nothing here waits on the wall.
The chart itself is read by the function given as ``read_chart`` — the application's visit read
model — so the controller knows nothing of how a visit is shown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from nursestation.core.alarms import Alarm, AlarmChange
from nursestation.core.livestate import wall_to_mono
from nursestation.runtime import StationRuntime
from nursestation.station import jobs

log = logging.getLogger(__name__)

#: Phases in which a pump change no nurse charted matters: every active one. A pump started
#: while the chart still says check-in or baseline is as much a pending item as a rate change
#: while infusing (a pump ran at 150 mL/h while the chart said baseline, and "Confirm pump
#: change" said there was nothing pending).
SCANNED_PHASES = frozenset({"check_in", "baseline", "infusing", "recovery"})


class ChairVisitFacts(Protocol):
    """What the heartbeat needs to know about a chair's active visit."""

    @property
    def visit_id(self) -> int: ...
    @property
    def phase(self) -> str: ...
    @property
    def bp_deadline(self) -> datetime | None: ...
    @property
    def mrn(self) -> str: ...
    @property
    def charted_infusion(self) -> str: ...
    @property
    def charted_volume_ml(self) -> float | None: ...


class Chart(Protocol):
    """A read of the chart: every chair's active visit, and the baselines asked for."""

    @property
    def visits(self) -> Mapping[str, ChairVisitFacts]: ...
    @property
    def baselines(self) -> Mapping[str, Mapping[str, float]]: ...


C = TypeVar("C", bound=Chart)

#: ``read_chart(now, have_baseline)``: the chart at ``now``; baselines only for infusing visits
#: whose id is not in ``have_baseline``.
ChartReader = Callable[[datetime, frozenset[int]], C]


class Writer(Protocol):
    def submit(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Future[Any]: ...


@dataclass(frozen=True)
class ChairAlarms:
    """A chair's active alarms, highest first (``AlarmEngine.active()``): never empty."""

    active: tuple[Alarm, ...]

    @property
    def top(self) -> Alarm:
        return self.active[0]

    @property
    def count(self) -> int:
        return len(self.active)


@dataclass(frozen=True)
class Tick(Generic[C]):
    """What one tick changed, for the view to render."""

    changes: tuple[AlarmChange, ...] = ()
    alarms: Mapping[str, ChairAlarms | None] = field(default_factory=dict)
    chart: C | None = None  # a chart read that arrived since the last tick


class StationController(Generic[C]):
    def __init__(self, runtime: StationRuntime, writer: Writer, read_chart: ChartReader[C], *,
                 chart_interval_s: float = 5.0, pump_scan_interval_s: float = 30.0,
                 on_chart: Callable[[], None] | None = None) -> None:
        """``on_chart``: called (on the reader thread) when a chart read finished, so a view
        may take it at once (:meth:`take_chart`) rather than at the next tick."""
        self.runtime = runtime
        self.clock = runtime.clock
        self.writer = writer
        self.read_chart = read_chart
        self.chart_interval_s = chart_interval_s
        self.pump_scan_interval_s = pump_scan_interval_s
        self.on_chart = on_chart
        self.chart: C | None = None
        self._bp_deadlines: dict[str, datetime | None] = {}
        self._user_ids: dict[str, int] = {}  # username -> id, of who acknowledged or paused
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart-reader")
        self._lock = threading.Lock()  # guards the read's hand-over between the two threads
        self._reading = False
        self._again = False
        self._arrived: C | None = None
        self._chart_due: float | None = None  # the first read is asked for (refresh_chart)
        self._scan_due: float | None = None
        self._stopped = False
        self.pending_writes: set[Future[Any]] = set()

    # -- lifecycle -----------------------------------------------------------------------------
    def stop(self) -> None:
        """No more reads or scans; waits for a read under way (bounded by the read)."""
        self._stopped = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- the tick ------------------------------------------------------------------------------
    def tick(self) -> Tick[C]:
        now = self.clock.monotonic()
        chart = self.take_chart()
        if self._chart_due is not None and now >= self._chart_due:
            self.refresh_chart()
        changes = self.runtime.process()
        self._record(changes)
        if self._scan_due is None:
            self._scan_due = now + self.pump_scan_interval_s
        elif now >= self._scan_due:
            self._scan_due = now + self.pump_scan_interval_s
            self.scan_pump_changes()
        return Tick(tuple(changes), self.alarms(), chart)

    def alarms(self) -> dict[str, ChairAlarms | None]:
        """Each chair's highest active alarm and the number active (None: no alarm)."""
        out: dict[str, ChairAlarms | None] = {}
        for chair, engine in self.runtime.engines.items():
            active = engine.active()
            out[chair] = ChairAlarms(tuple(active)) if active else None
        return out

    # -- alarms: the nurse's actions -----------------------------------------------------------
    def acknowledge(self, chair: str, user_id: int | None, username: str) -> list[AlarmChange]:
        """Acknowledge every unacknowledged alarm of ``chair``; recorded with the user."""
        engine = self.runtime.engines.get(chair)
        if engine is None:
            return []
        self._remember(user_id, username)
        engine.acknowledge(None, username)
        return self._act()

    def pause_audio(self, chair: str, user_id: int | None, username: str) -> list[AlarmChange]:
        """Silence ``chair`` for the protocol's audio pause; recorded with the user."""
        engine = self.runtime.engines.get(chair)
        if engine is None:
            return []
        self._remember(user_id, username)
        engine.pause_audio(username)
        return self._act()

    def _remember(self, user_id: int | None, username: str) -> None:
        if user_id is None:
            self._user_ids.pop(username, None)
        else:
            self._user_ids[username] = user_id

    def _act(self) -> list[AlarmChange]:
        changes = self.runtime.process()
        self._record(changes)
        return changes

    def _record(self, changes: list[AlarmChange]) -> None:
        """Every change is recorded with the visit its engine says it belongs to (an alarm
        belongs to the patient, not the chair: a change after discharge is "no patient")."""
        for ch in changes:
            if ch.kind not in jobs.RECORDED_STATE:
                continue
            user = self._user_ids.get(ch.user) if ch.user else None
            self._write(f"alarm {ch.kind} on {ch.chair}", jobs.record_alarm_change, ch,
                        visit_id=ch.visit_id, user=user)

    # -- the pump-change scan ------------------------------------------------------------------
    def scan_pump_changes(self) -> None:
        """Look for unexplained pump changes of every active visit (one writer job each); a chart
        reread follows when one was found, so its pending item shows."""
        if self.chart is None or self._stopped:
            return
        now = self.clock.now()
        for v in self.chart.visits.values():
            if v.phase in SCANNED_PHASES:
                fut = self._write(f"pump-change scan of visit {v.visit_id}",
                                  jobs.scan_pump_changes, v.visit_id, now)
                fut.add_done_callback(self._scanned)

    def _scanned(self, fut: Future[Any]) -> None:
        if not fut.cancelled() and fut.exception() is None and fut.result():
            self.refresh_chart()

    def _write(self, what: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Future[Any]:
        fut = self.writer.submit(fn, *args, **kw)
        self.pending_writes.add(fut)

        def done(f: Future[Any]) -> None:
            self.pending_writes.discard(f)
            if not f.cancelled() and f.exception() is not None:
                log.error("%s not recorded: %s", what, f.exception())

        fut.add_done_callback(done)
        return fut

    # -- the chart -----------------------------------------------------------------------------
    def refresh_chart(self) -> None:
        """Reread the chart on the reader thread (one read at a time; asked for during a read,
        another follows it). Safe from any thread."""
        with self._lock:
            if self._stopped:
                return
            if self._reading:
                self._again = True
                return
            self._reading = True
            self._again = False
            # every read takes the current charted baseline: an amendment applies at once
            have: frozenset[int] = frozenset()
        try:
            fut = self._pool.submit(self.read_chart, self.clock.now(), have)
        except RuntimeError:  # stopped meanwhile
            return
        fut.add_done_callback(self._read_done)

    def _read_done(self, fut: Future[C]) -> None:
        again = False
        with self._lock:
            self._reading = False
            if fut.cancelled():
                return
            exc = fut.exception()
            if exc is None:
                self._arrived = fut.result()
            again = self._again
        if exc is not None:  # the database may be briefly unreachable (PostgreSQL over the LAN)
            log.error("could not read the chart: %s", exc)
        if again:
            self.refresh_chart()
        elif exc is None and self.on_chart is not None:
            self.on_chart()

    def take_chart(self) -> C | None:
        """The chart read that arrived since the last call, if any, now given to the alarm
        engines (baselines, BP deadlines). Call it on the ticking thread."""
        with self._lock:
            chart, self._arrived = self._arrived, None
        if chart is None:
            return None
        self.chart = chart
        self._chart_due = self.clock.monotonic() + self.chart_interval_s
        self._update_visits(chart)
        self._update_baselines(chart)
        self._update_bp_deadlines(chart)
        return chart

    def _update_visits(self, chart: C) -> None:
        """Each chair's alarm engine follows the chair's patient: a visit that ended (discharge)
        ends its alarms; a new visit starts with none of the last patient's alarms or baseline.
        The changes this makes are recorded at the next tick, with the visit they belong to."""
        for chair, engine in self.runtime.engines.items():
            v = chart.visits.get(chair)
            if v is None:
                if engine.visit_id is not None:
                    engine.end_visit("the visit ended")
                continue
            if engine.visit_id != v.visit_id:
                engine.begin_visit(v.visit_id)
            # a monitor with another patient admitted than this visit's is an alarm
            engine.set_patient([v.mrn] if v.mrn else None)
            # the pump is held against what the chart says (a technical alarm when they differ)
            engine.set_chart(v.charted_infusion, v.charted_volume_ml)

    def _update_baselines(self, chart: C) -> None:
        """Give each chair's alarm engine its patient's baseline once the infusion started."""
        for chair, values in chart.baselines.items():
            v = chart.visits.get(chair)
            engine = self.runtime.engines.get(chair)
            if v is not None and engine is not None and values:
                engine.set_baseline(values)

    def _update_bp_deadlines(self, chart: C) -> None:
        """Tell each chair's alarm engine when the schedule's next blood pressure is overdue."""
        for chair, engine in self.runtime.engines.items():
            v = chart.visits.get(chair)
            deadline = v.bp_deadline if v is not None else None
            if chair in self._bp_deadlines and self._bp_deadlines[chair] == deadline:
                continue  # unchanged: keep the engine's own record of a measurement since
            self._bp_deadlines[chair] = deadline
            engine.set_bp_due(None if deadline is None else wall_to_mono(self.clock, deadline))
