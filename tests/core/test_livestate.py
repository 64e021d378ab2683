"""LiveStore: what may be shown as live, and the wave rings and trends behind the displays."""

from __future__ import annotations

import threading
from datetime import timedelta

import numpy as np

from nursestation.core.clock import FakeClock
from nursestation.core.livestate import (
    DeviceState,
    LiveStore,
    Shown,
)
from nursestation.core.readings import Reading
from nursestation.core.vocabulary import Code, Quality
from nursestation.sim.readings import scenario_readings
from nursestation.sim.scenarios import get_scenario

CHAIR = "Chair 1"


def r(code, value=None, dev="mon", clock=None, **kw) -> Reading:
    return Reading(code, value, chair=CHAIR, device_id=dev,
                   recv_mono=clock.monotonic() if clock else 0.0, **kw)


def test_numerics_equal_the_scenario_values():
    clock = FakeClock()
    store = LiveStore(clock)
    sc = get_scenario("ketamine-visit", seed=3)
    store.ingest(scenario_readings(sc, CHAIR, 1200, 1205, mono0=clock.monotonic() - 5,
                                   wall0=clock.now() - timedelta(seconds=5)))
    s = sc.state(1205)
    snap = store.snapshot(CHAIR)
    assert snap.numeric(Code.HR).value == s.hr
    assert snap.numeric(Code.HR).shown == Shown.LIVE
    assert snap.numeric(Code.SPO2).value == s.spo2
    assert snap.numeric(Code.RR).value == s.rr
    assert snap.nbp.sys == s.nbp_sys and snap.nbp.dia == s.nbp_dia
    # the cuff measurement time, not the time the number was last repeated
    assert abs(snap.nbp.age_s - (1205 - s.nbp_time)) < 1.0
    assert snap.numeric(Code.PUMP_RATE).value == s.pump_rate
    assert snap.pump_state.value == s.pump_state


def test_device_offline_blanks_its_numerics_and_waves_but_not_other_devices():
    clock = FakeClock()
    store = LiveStore(clock)
    store.register_chair(CHAIR, {"mon": "Monitor", "pump": "Pump"})
    sc = get_scenario("ketamine-visit")
    store.ingest(scenario_readings(sc, CHAIR, 1200, 1203, mono0=clock.monotonic() - 3,
                                   monitor="mon"))
    assert store.snapshot(CHAIR).numeric(Code.HR).shown == Shown.LIVE
    store.ingest([r(Code.DEVICE_OFFLINE, "link lost", clock=clock,
                    extra={"health": "offline"})])
    snap = store.snapshot(CHAIR)
    hr = snap.numeric(Code.HR)
    assert hr.shown == Shown.OFFLINE and hr.value is None
    assert "Monitor" in hr.reason and "link lost" in hr.reason
    assert snap.nbp.shown == Shown.OFFLINE and snap.nbp.sys is None
    assert snap.wave_status[Code.ECG][0] == Shown.OFFLINE
    assert snap.devices["mon"].state == DeviceState.OFFLINE
    assert snap.numeric(Code.PUMP_RATE).shown == Shown.LIVE  # the pump is still online
    # back online only when the link says so and data flows
    store.ingest([r(Code.DEVICE_ONLINE, "", clock=clock), r(Code.HR, 70.0, clock=clock)])
    assert store.snapshot(CHAIR).numeric(Code.HR).value == 70.0


def test_numerics_go_stale_without_updates_whatever_the_protocol():
    clock = FakeClock()
    store = LiveStore(clock, stale_after=10.0, silent_after=60.0)
    store.ingest([r(Code.HR, 72.0, clock=clock)])
    clock.advance(9.0)
    assert store.snapshot(CHAIR).numeric(Code.HR).shown == Shown.LIVE
    clock.advance(2.0)
    hr = store.snapshot(CHAIR).numeric(Code.HR)
    assert hr.shown == Shown.STALE and hr.value is None and hr.last_value == 72.0


def test_silent_device_counts_as_offline():
    clock = FakeClock()
    store = LiveStore(clock, stale_after=30.0, silent_after=5.0)
    store.ingest([r(Code.HR, 72.0, clock=clock)])
    clock.advance(6.0)
    snap = store.snapshot(CHAIR)
    assert snap.devices["mon"].state == DeviceState.SILENT
    assert snap.numeric(Code.HR).shown == Shown.OFFLINE


def test_quality_flags_are_kept_apart_from_live_values():
    clock = FakeClock()
    store = LiveStore(clock)
    store.ingest([
        r(Code.SPO2, 91.0, "ox", clock, quality=frozenset({Quality.QUESTIONABLE,
                                                          Quality.LOW_PERFUSION})),
        r(Code.PR, 80.0, "ox", clock, quality=frozenset({Quality.SENSOR_OFF})),
        r(Code.HR, None, clock=clock, quality=frozenset({Quality.UNAVAILABLE})),
    ])
    snap = store.snapshot(CHAIR)
    spo2 = snap.numeric(Code.SPO2)
    assert spo2.shown == Shown.QUESTIONABLE and spo2.value == 91.0
    assert "low perfusion" in spo2.reason
    pr = snap.numeric(Code.PR)
    assert pr.shown == Shown.UNUSABLE and pr.value is None and "sensor off" in pr.reason
    assert snap.numeric(Code.HR).shown == Shown.UNUSABLE
    # unusable values are gaps in the trend, never numbers
    _t, v = store.trend(CHAIR, [Code.PR])[Code.PR]
    assert np.isnan(v[-1])


def test_wave_ring_wraps_and_marks_gaps():
    clock = FakeClock()
    store = LiveStore(clock, wave_seconds=2.0)
    rate = 100.0
    for k in range(3):  # 3 x 1 s into a 2 s ring
        store.ingest([r(Code.ECG, clock=clock, samples=np.full(100, k, np.float32),
                        rate_hz=rate)])
        clock.advance(1.0)
    w = store.wave(CHAIR, Code.ECG)
    assert w.samples.size == 200 and w.write_index == 100
    assert (w.samples[:100] == 2).all() and (w.samples[100:] == 1).all()
    assert store.wave(CHAIR, Code.ECG, since_version=w.version) is None  # unchanged: no copy
    clock.advance(1.5)  # a 1.5 s hole in the stream
    store.ingest([r(Code.ECG, clock=clock, samples=np.ones(10, np.float32), rate_hz=rate)])
    w2 = store.wave(CHAIR, Code.ECG)
    assert np.isnan(w2.samples).sum() >= 100


def test_concurrent_ingest_from_reader_threads():
    clock = FakeClock()
    store = LiveStore(clock)
    sc = get_scenario("ketamine-visit")
    batches = [scenario_readings(sc, f"Chair {i}", 0, 2, mono0=clock.monotonic() - 2,
                                 monitor=f"m{i}", pump=None) for i in range(4)]

    def feed(b):
        for k in range(0, len(b), 5):
            store.ingest(b[k:k + 5])

    threads = [threading.Thread(target=feed, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    for i in range(4):
        assert store.snapshot(f"Chair {i}").numeric(Code.HR).shown == Shown.LIVE
        assert np.isfinite(store.wave(f"Chair {i}", Code.ECG).samples).sum() == 1000
