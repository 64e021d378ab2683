"""End to end: simulator → real pty / TCP → DeviceLink → session → batches of readings."""

from __future__ import annotations

import math
import time
from datetime import UTC

import pytest

from nursestation.core.vocabulary import Code
from nursestation.devices.link import DeviceLink, Health
from nursestation.devices.registry import PROTOCOLS
from nursestation.devices.simhost import SimulatorHost
from tests.devices.test_e2e_helpers import (
    Collector,
    FrozenScenario,
    open_fds,
    steady,
    thread_names,
    wait_for,
)

INTELLIVUE = pytest.param(
    "intellivue",
    marks=pytest.mark.skipif(not PROTOCOLS["intellivue"].available,
                             reason="nursestation.devices.intellivue has not landed yet"),
)
ALL = ["masimo", "alaris", INTELLIVUE]
SPEED = {"masimo": 4.0, "alaris": 1.0, "intellivue": 1.0}


def run(protocol: str, scenario, *, port: str = "pty", **link_kw):
    info = PROTOCOLS[protocol]
    host = SimulatorHost(info.make_simulator(scenario), port, speed=SPEED[protocol]).start()
    sink = Collector()
    link = DeviceLink(host.url, info.make_session(), sink, chair="7", device_id=protocol,
                      **link_kw).start()
    return host, link, sink


def close(host, link):
    try:
        assert link.stop()
    finally:
        host.stop()


def test_masimo_numerics_equal_the_scenario():
    scen = steady()
    host, link, sink = run("masimo", scen)
    try:
        assert wait_for(lambda: len(sink.codes(Code.SPO2)) >= 4, 10)
    finally:
        close(host, link)
    start = host.simulator.start.astimezone().astimezone(UTC)  # the oximeter's clock, local
    for r in sink.readings:
        if r.code not in (Code.SPO2, Code.PR, Code.PI):
            continue
        st = scen.state((r.device_time - start).total_seconds())
        want = {Code.SPO2: st.spo2, Code.PR: st.pr, Code.PI: st.pi}[r.code]
        if want is None:
            assert r.value is None
        elif r.code == Code.PI:
            assert r.value == pytest.approx(want, abs=0.0051)  # printed with 2 decimals
        else:
            assert r.value == round(want)  # printed as whole numbers
        assert r.chair == "7" and r.device_id == "masimo"


def test_alaris_numerics_equal_the_scenario():
    scen = FrozenScenario(steady(), at=600.0)
    st = scen.state(0)
    host, link, sink = run("alaris", scen)
    try:
        assert wait_for(lambda: sink.codes(Code.PUMP_VTBI) and sink.codes(Code.PUMP_RATE), 10)
    finally:
        close(host, link)
    assert {r.value for r in sink.codes(Code.PUMP_RATE)} == {round(st.pump_rate, 3)}
    assert {r.value for r in sink.codes(Code.PUMP_VI)} == {round(st.pump_vi, 3)}
    assert {r.value for r in sink.codes(Code.PUMP_VTBI)} == {round(st.pump_vtbi, 3)}
    assert {r.value for r in sink.codes(Code.PUMP_STATE)} == {st.pump_state}
    # the pump was only ever asked read-only questions
    assert set(host.simulator.received) <= {b"INF", b"INF_VTBI", b"ALARM", b"INST_SERIALNO",
                                            b"COMMS_RESPONSE_MAX", b"COMMS_PROTOCOL"}


@pytest.mark.skipif(not PROTOCOLS["intellivue"].available,
                    reason="nursestation.devices.intellivue has not landed yet")
def test_intellivue_numerics_equal_the_scenario():
    scen = FrozenScenario(steady(), at=600.0)
    st = scen.state(0)
    host, link, sink = run("intellivue", scen)
    try:
        assert wait_for(lambda: sink.codes(Code.HR) and sink.codes(Code.SPO2), 15)
    finally:
        close(host, link)
    want = {Code.HR: st.hr, Code.SPO2: st.spo2, Code.PR: st.pr, Code.RR: st.rr,
            Code.ETCO2: st.etco2, Code.TEMP: st.temp, Code.PI: st.pi, Code.NBP_SYS: st.nbp_sys,
            Code.NBP_DIA: st.nbp_dia, Code.NBP_MEAN: st.nbp_mean}
    # the monitor sends whole numbers, except temperature (0.1) and perfusion index (0.01)
    resolution = {Code.TEMP: 0.1, Code.PI: 0.01}
    checked = set()
    for r in sink.readings:
        if r.code in want and want[r.code] is not None and r.usable:
            tol = resolution.get(r.code, 1.0) / 2 + 1e-6
            assert r.value == pytest.approx(want[r.code], abs=tol), r.code
            checked.add(r.code)
    assert {Code.HR, Code.SPO2} <= checked
    waves = [r for r in sink.readings if r.is_wave]
    assert all(r.rate_hz and len(r.samples) and all(map(math.isfinite, r.samples))
               for r in waves)


@pytest.mark.parametrize("protocol", ALL)
def test_unplug_goes_offline_and_replug_comes_back_with_the_real_backoff(protocol):
    host, link, sink = run(protocol, steady())  # default backoff: 1 s, 2 s, 5 s
    try:
        assert wait_for(lambda: link.health == Health.ONLINE, 10)
        host.unplug()
        assert wait_for(lambda: link.health == Health.OFFLINE, 5)
        assert wait_for(lambda: [r for r in sink.codes(Code.DEVICE_OFFLINE)
                                 if r.extra["health"] == "offline"], 1)
        n_online = len(sink.codes(Code.DEVICE_ONLINE))
        time.sleep(0.3)
        host.replug()
        assert wait_for(lambda: link.health == Health.ONLINE, 2)
        assert wait_for(lambda: len(sink.codes(Code.DEVICE_ONLINE)) == n_online + 1, 1)
        assert link.stats().reconnects == 1
    finally:
        close(host, link)


def test_replug_after_a_long_absence_is_noticed_without_waiting_out_the_backoff():
    host, link, sink = run("alaris", steady())
    try:
        assert wait_for(lambda: link.health == Health.ONLINE, 10)
        host.unplug()
        assert wait_for(lambda: link.stats().open_failures >= 2, 6)  # now in the 5 s wait
        host.replug()
        assert wait_for(lambda: link.health == Health.ONLINE, 2)
    finally:
        close(host, link)


def test_tcp_unplug_and_replug():
    host, link, sink = run("alaris", steady(), port="tcp://127.0.0.1:0", backoff=(0.2,))
    try:
        assert wait_for(lambda: link.health == Health.ONLINE, 10)
        host.unplug()
        assert wait_for(lambda: link.health == Health.OFFLINE, 5)
        host.replug()
        assert wait_for(lambda: link.health == Health.ONLINE, 3)
    finally:
        close(host, link)


@pytest.mark.slow
def test_a_hundred_unplug_replug_cycles_leak_nothing():
    before_fds, before_threads = open_fds(), thread_names()
    host, link, sink = run("alaris", steady(), backoff=(0.01,))
    try:
        assert wait_for(lambda: link.health == Health.ONLINE, 10)
        running_fds, running_threads = open_fds(), thread_names()
        for _ in range(100):
            host.unplug()
            assert wait_for(lambda: link.health == Health.OFFLINE, 5)
            host.replug()
            assert wait_for(lambda: link.health == Health.ONLINE, 5)
        assert open_fds() == running_fds
        assert thread_names() == running_threads
        assert link.stats().reconnects == 100
    finally:
        close(host, link)
    assert wait_for(lambda: thread_names() == before_threads, 2)
    assert open_fds() == before_fds
