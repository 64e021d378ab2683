"""The station controller, without Qt: the heartbeat runs with no one logged in.

A real database (SQLite; PostgreSQL too when its server binaries are present), the real
runtime and alarm engines on a fake clock, readings handed to the runtime as a reader thread
would, and the chart read by the same function the station window uses. Nothing here waits on
the wall clock: writes and chart reads are awaited through their futures and events.
"""

from __future__ import annotations

import threading
from concurrent.futures import wait
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from nursestation.config import ChairConfig, Config
from nursestation.core.alarms import ChangeKind
from nursestation.core.clock import FakeClock
from nursestation.core.livestate import LiveStore
from nursestation.core.protocol import load_protocol
from nursestation.core.readings import Reading
from nursestation.db import repo
from nursestation.db.models import PumpChangeItem
from nursestation.record.chairs import read_chart  # the chart the tiles and engines read
from nursestation.runtime import StationRuntime
from nursestation.station import StationController
from tests.db.helpers import CHAIRS, setup_visit

CHAIR = "Chair 1"


class Heartbeat:
    """A runtime and its controller on ``database``, on a fake clock that starts now."""

    def __init__(self, database) -> None:
        self.database = database
        self.clock = FakeClock(start=datetime.now(UTC))
        # the database's chairs, without links (readings are handed in directly)
        chairs = tuple(ChairConfig(c.name, tuple(replace(d, url="") for d in c.devices))
                       for c in CHAIRS)
        config = Config(chairs=chairs)
        self.protocol = load_protocol(config.protocol_file)
        self.runtime = StationRuntime(config, self.protocol, LiveStore(self.clock),
                                      clock=self.clock)
        self.runtime.start(chairs)
        self.chart_arrived = threading.Event()
        self.controller = StationController(
            self.runtime, database.writer,
            partial(read_chart, database.engine, self.protocol.schedule),
            on_chart=self.chart_arrived.set)

    def feed(self, code: str, value: float, device_id: str = "c1-mon") -> None:
        """One reading from a device of Chair 1, as its reader thread would hand it over."""
        self.runtime._on_batch([Reading(code, value, chair=CHAIR, device_id=device_id,
                                        recv_mono=self.clock.monotonic(),
                                        recv_wall=self.clock.now())])

    def read_chart(self):
        """Ask for the chart and take it, as the window does when told it arrived."""
        self.chart_arrived.clear()
        self.controller.refresh_chart()
        assert self.chart_arrived.wait(30), "the chart read never finished"
        tick = self.controller.tick()
        assert tick.chart is not None
        return tick

    def written(self) -> None:
        """Wait for every write the controller handed to the writer; none may have failed."""
        futures = list(self.controller.pending_writes)
        done, not_done = wait(futures, timeout=30)
        assert not not_done, "a write never finished"
        for f in done:
            assert f.exception() is None, f.exception()

    def close(self) -> None:
        self.controller.stop()
        self.runtime.stop()


@pytest.fixture
def heartbeat(database):
    hb = Heartbeat(database)
    try:
        yield hb
    finally:
        hb.close()


def test_alarm_raised_and_recorded_with_no_one_logged_in(heartbeat, database, nurse):
    _, chair, visit = setup_visit(database, nurse)
    heartbeat.read_chart()  # the controller knows the chair's visit
    delay = next(lim.delay_s for lim in heartbeat.protocol.alarms.limits
                 if lim.code == "SPO2" and lim.below == 90)

    heartbeat.feed("SPO2", 85, "c1-mon")
    assert [c.kind for c in heartbeat.controller.tick().changes] == []  # the delay has begun
    heartbeat.clock.advance(delay + 1)
    heartbeat.feed("SPO2", 85, "c1-mon")
    tick = heartbeat.controller.tick()

    raised = [c for c in tick.changes if c.kind == ChangeKind.RAISED]
    assert [c.alarm.rule for c in raised if c.alarm] == ["SPO2 < 90"]
    top = tick.alarms[CHAIR]
    assert top is not None and top.top.priority == "high" and top.top.rule == "SPO2 < 90"
    heartbeat.written()
    with database.session_scope() as s:
        events = repo.alarm_events(s, chair_id=chair.id)
    high = [(e.code, e.priority, e.state, e.visit_id, e.user_id) for e in events
            if e.code == "SPO2" and e.priority == "high"]
    assert high == [("SPO2", "high", "raised", visit.id, None)]
    assert next(e for e in events if e.code == "SPO2").values["value"] == 85


def test_acknowledgement_is_recorded_with_the_nurse_who_gave_it(heartbeat, database, nurse):
    _, chair, visit = setup_visit(database, nurse)
    heartbeat.read_chart()
    heartbeat.feed("NBP_SYS", 190, "c1-mon")  # > 180: high, no onset delay
    assert heartbeat.controller.tick().alarms[CHAIR] is not None
    heartbeat.controller.acknowledge(CHAIR, nurse.id, nurse.username)
    heartbeat.written()
    with database.session_scope() as s:
        acks = [(e.state, e.user_id, e.visit_id) for e in repo.alarm_events(s, chair_id=chair.id)
                if e.state == "acknowledged"]
    assert acks == [("acknowledged", nurse.id, visit.id)]


def test_baseline_change_reaches_the_alarm_engine(heartbeat, database, nurse):
    """The patient's baseline SBP (recorded before the infusion) gives the engine its
    "SBP > baseline + 40" limit; a new visit's baseline replaces it."""
    _, _, visit = setup_visit(database, nurse)
    now = heartbeat.clock.now()
    w = database.writer
    w.submit(repo.advance_phase, visit.id, "baseline", user=nurse,
             at=now - timedelta(minutes=20)).result()
    w.record_readings([Reading("NBP_SYS", 120.0, "mmHg", chair=CHAIR, device_id="c1-mon",
                               recv_wall=now - timedelta(minutes=15))])
    w.flush().result()
    engine = heartbeat.runtime.engines[CHAIR]
    relative = [lim for lim in engine.unevaluable() if lim.code == "NBP_SYS"]
    assert relative, "the protocol has an SBP limit relative to baseline"

    heartbeat.read_chart()  # at baseline: not infusing yet, no baseline for the engine
    assert relative[0] in engine.unevaluable()

    w.submit(repo.advance_phase, visit.id, "infusing", user=nurse,
             at=now - timedelta(minutes=5)).result()
    heartbeat.read_chart()
    assert relative[0] not in engine.unevaluable()

    # 165 is under the absolute 180 but more than 40 over this patient's 120
    heartbeat.feed("NBP_SYS", 165, "c1-mon")
    tick = heartbeat.controller.tick()
    raised = [(c.alarm.code, c.alarm.priority) for c in tick.changes
              if c.kind == ChangeKind.RAISED and c.alarm]
    assert raised == [("NBP_SYS", relative[0].priority)]


def pending(database, visit_id: int) -> list[PumpChangeItem]:
    with database.session_scope() as s:
        return repo.pending_pump_changes(s, visit_id=visit_id)


def _pump(database, now, *readings) -> None:
    database.writer.record_readings([
        Reading(code, value, "mL/h" if code == "PUMP_RATE" else "", chair=CHAIR,
                device_id="c1-pump", recv_wall=now - timedelta(minutes=ago))
        for ago, code, value in readings])
    database.writer.flush().result()


def test_pump_change_scan_creates_a_pending_item_with_no_one_logged_in(heartbeat, database,
                                                                       nurse):
    _, _, visit = setup_visit(database, nurse)
    now = heartbeat.clock.now()
    w = database.writer
    w.submit(repo.advance_phase, visit.id, "baseline", user=nurse,
             at=now - timedelta(minutes=40)).result()
    w.submit(repo.advance_phase, visit.id, "infusing", user=nurse,
             at=now - timedelta(minutes=30)).result()
    w.submit(repo.record_infusion_event, visit.id, "start", user=nurse, rate_ml_h=150,
             concentration_mg_ml=0.35, at=now - timedelta(minutes=30)).result()
    _pump(database, now, (31, "PUMP_STATE", "stopped"), (31, "PUMP_RATE", 150.0),
          (30, "PUMP_STATE", "infusing"),  # the charted start explains this
          (12, "PUMP_RATE", 100.0))  # nobody charted this
    heartbeat.read_chart()
    interval = heartbeat.controller.pump_scan_interval_s

    heartbeat.clock.advance(interval - 1)
    heartbeat.controller.tick()
    heartbeat.written()
    assert pending(database, visit.id) == []  # not yet due

    heartbeat.clock.advance(1)
    heartbeat.controller.tick()  # the scan is due
    heartbeat.written()
    [item] = pending(database, visit.id)
    assert item.kind == "rate_change" and item.pump_values["rate_after"] == 100.0
    assert item.recorded_by_id is None  # the station's observation: no one was logged in
    # a chart reread follows the item, so the tile shows it (a periodic read may come first)
    for _ in range(3):
        assert heartbeat.chart_arrived.wait(30), "no chart read after the scan"
        heartbeat.chart_arrived.clear()
        heartbeat.controller.tick()
        if heartbeat.controller.chart.visits[CHAIR].pending_pump_changes == 1:
            break
    assert heartbeat.controller.chart.visits[CHAIR].pending_pump_changes == 1

    # the next scan finds nothing new
    heartbeat.clock.advance(interval)
    heartbeat.controller.tick()
    heartbeat.written()
    with database.session_scope() as s:
        assert len(repo.current_entries(s, PumpChangeItem, visit.id)) == 1


def test_two_patients_in_one_chair_alarms_belong_to_each_visit(heartbeat, database, nurse):
    """Issue 15.1 through the record: a typo baseline (5/900) raises "NBP_SYS > baseline + 40";
    its amendment ends it at once; discharge ends the visit's alarms; the next patient in the same
    chair gets none of them, and every alarm record carries its visit."""
    from nursestation.db.discharge_inputs import SCALE_BASELINE_VITALS

    _, chair, visit = setup_visit(database, nurse)
    now = heartbeat.clock.now()
    w = database.writer
    w.submit(repo.advance_phase, visit.id, "baseline", user=nurse,
             at=now - timedelta(minutes=20)).result()
    typo = w.submit(repo.record_assessment, visit.id, SCALE_BASELINE_VITALS,
                    {"NBP_SYS": 5, "NBP_DIA": 900}, None, user=nurse,
                    at=now - timedelta(minutes=15)).result()
    w.submit(repo.advance_phase, visit.id, "infusing", user=nurse,
             at=now - timedelta(minutes=5)).result()
    engine = heartbeat.runtime.engines[CHAIR]
    heartbeat.read_chart()
    assert engine.visit_id == visit.id

    heartbeat.feed("NBP_SYS", 130, "c1-mon")
    raised = [c.alarm.rule for c in heartbeat.controller.tick().changes
              if c.kind == ChangeKind.RAISED and c.alarm]
    assert raised == ["NBP_SYS > baseline + 40"]

    # the nurse corrects the baseline: the alarm ends at the next chart read
    w.submit(repo.amend, typo, {"items": {"NBP_SYS": 120, "NBP_DIA": 80}}, "typo",
             user=nurse).result()
    heartbeat.read_chart()
    tick = heartbeat.controller.tick()
    assert tick.alarms[CHAIR] is None

    # discharge: the visit's alarms end with it
    heartbeat.feed("NBP_SYS", 190, "c1-mon")  # > 180: high, latched
    assert heartbeat.controller.tick().alarms[CHAIR] is not None
    w.submit(repo.advance_phase, visit.id, "discharged", user=nurse, at=now).result()
    heartbeat.read_chart()
    heartbeat.controller.tick()
    assert engine.visit_id is None and heartbeat.controller.alarms()[CHAIR] is None

    # the next patient in the same chair starts clean
    p2 = w.submit(repo.create_patient, "MRN-2", "Okafor", "Ada", None, "", user=nurse).result()
    v2 = w.submit(repo.create_visit, p2.id, chair.id, "ketamine-iv", user=nurse,
                  protocol_version="1").result()
    heartbeat.read_chart()
    assert engine.visit_id == v2.id
    heartbeat.feed("NBP_SYS", 150, "c1-mon")
    assert heartbeat.controller.tick().alarms[CHAIR] is None  # no baseline carried over
    heartbeat.written()
    with database.session_scope() as s:
        events = repo.alarm_events(s, chair_id=chair.id)
    assert events and all(e.visit_id == visit.id for e in events
                          if e.code in ("NBP_SYS", "NBP_DIA"))
    assert not [e for e in events if e.visit_id == v2.id]
    ended = [e for e in events if e.state == "cleared" and e.code == "NBP_SYS"]
    assert any("baseline changed" in e.message for e in ended)
    assert any("visit ended" in e.message for e in ended)


def test_pump_running_while_charted_baseline_is_an_alarm_and_a_pending_item(heartbeat, database,
                                                                             nurse):
    """Issue 15.3: a pump ran at 150 mL/h while the chart still said baseline; nothing was
    raised and "Confirm pump change" said there was nothing pending."""
    _, chair, visit = setup_visit(database, nurse)
    now = heartbeat.clock.now()
    w = database.writer
    w.submit(repo.advance_phase, visit.id, "baseline", user=nurse,
             at=now - timedelta(minutes=10)).result()
    heartbeat.controller.read_chart = partial(read_chart, database.engine, heartbeat.protocol)
    heartbeat.read_chart()
    engine = heartbeat.runtime.engines[CHAIR]
    assert heartbeat.controller.chart.visits[CHAIR].charted_infusion == "not started"

    # the pump starts; nobody charts it
    heartbeat.runtime._on_batch([
        Reading("PUMP_STATE", "infusing", chair=CHAIR, device_id="c1-pump",
                recv_mono=heartbeat.clock.monotonic(), recv_wall=now),
        Reading("PUMP_RATE", 150.0, "mL/h", chair=CHAIR, device_id="c1-pump",
                recv_mono=heartbeat.clock.monotonic(), recv_wall=now)])
    assert not [c for c in heartbeat.controller.tick().changes if c.kind == ChangeKind.RAISED]
    delay = heartbeat.protocol.alarms.technical.pump_chart_mismatch_delay_s
    heartbeat.clock.advance(delay)
    raised = [c.alarm for c in heartbeat.controller.tick().changes
              if c.kind == ChangeKind.RAISED and c.alarm]
    assert [(a.code, a.priority, a.visit_id) for a in raised] == [
        ("PUMP_CHART", heartbeat.protocol.alarms.technical.pump_chart_mismatch, visit.id)]
    assert "pump infusing while the chart says not started" in raised[0].values["detail"]
    assert engine.active()[0].code == "PUMP_CHART"

    # the scan turns it into a pending item the nurse resolves
    _pump(database, now, (5, "PUMP_STATE", "stopped"),
          (4.5, "PUMP_STATE", "infusing"), (4.5, "PUMP_RATE", 150.0))
    heartbeat.clock.advance(heartbeat.controller.pump_scan_interval_s)
    heartbeat.controller.tick()
    heartbeat.written()
    [item] = pending(database, visit.id)
    assert item.kind == "start" and item.recorded_by_id is None
    heartbeat.written()
    with database.session_scope() as s:
        recorded = [(e.code, e.state, e.visit_id) for e in repo.alarm_events(s, chair_id=chair.id)
                    if e.code == "PUMP_CHART"]
    assert recorded == [("PUMP_CHART", "raised", visit.id)]
