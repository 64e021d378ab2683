"""The link layer on real pseudo-terminals driven directly by the test."""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from datetime import UTC, datetime

import pytest

from nursestation.core.clock import FakeClock
from nursestation.core.vocabulary import Code
from nursestation.devices.link import DeviceLink, Health
from nursestation.devices.masimo import MasimoSession, format_line
from tests.devices.test_e2e_helpers import Collector, open_fds, wait_for


def line(i: int = 0, spo2: int = 97) -> bytes:
    return format_line(datetime(2026, 1, 5, 9, 0, i % 60), spo2, 70, 3.0)


class RawPty:
    """A pseudo-terminal whose device end the test writes to."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_available(self, timeout: float = 0.5) -> bytes:
        out = b""
        poll = select.poll()
        poll.register(self.master, select.POLLIN)
        while poll.poll(timeout * 1000):
            out += os.read(self.master, 4096)
            timeout = 0.05
        return out

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def pty():
    p = RawPty()
    yield p
    p.close()


class QuickMasimo(MasimoSession):
    silent_after = 0.3


class ReleasingSession(MasimoSession):
    def closing(self) -> None:
        self.send(b"BYE\r\n")


def test_readings_arrive_stamped_in_batches(pty):
    sink = Collector()
    link = DeviceLink(pty.path, MasimoSession(), sink, chair="3", device_id="ox-3").start()
    try:
        assert wait_for(lambda: link.port_open, 3)  # opening a port discards older input
        blob = b"".join(line(i) for i in range(40))
        pty.write(blob)
        assert wait_for(lambda: len(sink.codes(Code.SPO2)) == 40, 5)
    finally:
        assert link.stop()
    spo2 = sink.codes(Code.SPO2)
    assert all(r.chair == "3" and r.device_id == "ox-3" for r in spo2)
    assert all(r.recv_wall.tzinfo is UTC and r.recv_mono > 0 for r in spo2)
    # 40 lines at once are delivered in a handful of batches, not one call per reading
    data_batches = [b for b in sink.batches if any(r.code == Code.SPO2 for r in b)]
    assert len(data_batches) < 10
    stats = link.stats()
    assert stats.frames == 40 and stats.bytes_in == len(blob)


def test_health_online_silent_offline_and_back(pty):
    sink = Collector()
    link = DeviceLink(pty.path, QuickMasimo(), sink, offline_after=0.5, backoff=(0.05,))
    assert link.health == Health.CONNECTING
    link.start()
    try:
        assert wait_for(lambda: link.port_open, 3)
        pty.write(line(1))
        assert wait_for(lambda: link.health == Health.ONLINE, 3)
        assert wait_for(lambda: link.health == Health.SILENT, 3)
        assert wait_for(lambda: link.health in (Health.OFFLINE, Health.CONNECTING)
                        and len(sink.codes(Code.DEVICE_OFFLINE)) >= 2, 5)
        # the device speaks again: online again
        assert wait_for(lambda: link.health == Health.CONNECTING and link.port_open, 3)
        pty.write(line(2))
        assert wait_for(lambda: link.health == Health.ONLINE, 3)
    finally:
        link.stop()
    events = [(r.code, r.extra["health"]) for r in sink.readings
              if r.code in (Code.DEVICE_ONLINE, Code.DEVICE_OFFLINE)]
    assert events[:4] == [(Code.DEVICE_ONLINE, "online"), (Code.DEVICE_OFFLINE, "silent"),
                          (Code.DEVICE_OFFLINE, "offline"), (Code.DEVICE_ONLINE, "online")]
    offline = [r for r in sink.codes(Code.DEVICE_OFFLINE) if r.extra["health"] == "offline"]
    assert "no data" in offline[0].value


def test_device_online_precedes_its_first_readings(pty):
    sink = Collector()
    link = DeviceLink(pty.path, MasimoSession(), sink).start()
    try:
        assert wait_for(lambda: link.port_open, 3)
        pty.write(line(1))
        assert wait_for(lambda: sink.codes(Code.SPO2), 3)
    finally:
        link.stop()
    codes = [r.code for r in sink.readings]
    assert codes.index(Code.DEVICE_ONLINE) < codes.index(Code.SPO2)


def test_flood_guard_drops_input_and_says_so(pty):
    sink = Collector()
    link = DeviceLink(pty.path, MasimoSession(), sink, flood_window=0.5).start()
    stop = threading.Event()

    def flood():
        chunk = line(5) * 30  # ~4 KB of valid-looking lines, far above 9600 baud
        while not stop.is_set():
            try:
                os.write(pty.master, chunk)
            except BlockingIOError:
                pass
            time.sleep(0.01)

    os.set_blocking(pty.master, False)
    writer = threading.Thread(target=flood)
    writer.start()
    try:
        assert wait_for(lambda: link.stats().flood_events >= 1, 5)
        assert wait_for(lambda: link.stats().bytes_dropped > 10_000, 5)
    finally:
        stop.set()
        writer.join(2)
        link.stop()
    diags = sink.codes(Code.DIAGNOSTIC)
    assert len(diags) == link.stats().flood_events  # once per episode, not per chunk
    assert "9600" in diags[0].value
    # most of the flood never reached the decoder
    assert link.stats().frames < link.stats().bytes_in / len(line(5)) / 2


def test_stop_releases_the_device_and_closes_the_port(pty):
    sink = Collector()
    before = open_fds()
    link = DeviceLink(pty.path, ReleasingSession(), sink).start()
    assert wait_for(lambda: link.port_open, 3)
    pty.write(line(1))
    assert wait_for(lambda: link.health == Health.ONLINE, 3)
    assert link.stop(timeout=2.0)
    assert not link.running
    assert pty.read_available() == b"BYE\r\n"
    assert open_fds() == before
    assert sink.readings[-1].code == Code.DEVICE_OFFLINE
    assert sink.readings[-1].value == "link stopped"
    assert link.health == Health.STOPPED


def test_missing_port_is_offline_with_the_reason_and_stops_cleanly(tmp_path):
    sink = Collector()
    link = DeviceLink(str(tmp_path / "ttyUSB9"), MasimoSession(), sink,
                      backoff=(0.05,)).start()
    try:
        assert wait_for(lambda: link.stats().open_failures >= 3, 3)
        assert link.health == Health.OFFLINE
    finally:
        assert link.stop()
    offline = sink.codes(Code.DEVICE_OFFLINE)
    assert len(offline) == 1  # said once, not on every retry
    assert "cannot open" in offline[0].value and "ttyUSB9" in offline[0].value


def test_a_failing_sink_does_not_stop_the_device(pty):
    calls = []

    def sink(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("consumer bug")

    link = DeviceLink(pty.path, MasimoSession(), sink).start()
    try:
        assert wait_for(lambda: link.port_open, 3)
        pty.write(line(1))
        assert wait_for(lambda: len(calls) >= 1, 3)
        time.sleep(0.05)
        pty.write(line(2))
        assert wait_for(lambda: len(calls) >= 2, 3)
    finally:
        link.stop()


def test_loop_url_opens_and_stops():
    sink = Collector()
    link = DeviceLink("loop://", MasimoSession(), sink).start()
    try:
        assert wait_for(lambda: link.running, 1)
        time.sleep(0.1)
        assert link.health == Health.CONNECTING
    finally:
        assert link.stop()


def test_a_device_that_never_speaks_is_reported_offline_once(pty):
    sink = Collector()
    link = DeviceLink(pty.path, QuickMasimo(), sink, offline_after=0.1,
                      backoff=(0.05,)).start()
    try:
        # the port is reopened again and again, hoping the device wakes up ...
        assert wait_for(lambda: link.stats().reconnects >= 3, 5)
    finally:
        link.stop()
    # ... but the nurse is told once, and not again when the link is stopped
    assert [r.code for r in sink.readings] == [Code.DEVICE_OFFLINE]
    assert "no data" in sink.readings[0].value


def test_stop_from_inside_the_sink_does_not_deadlock(pty):
    holder = {}

    def sink(batch):
        holder["link"].stop()

    link = DeviceLink(pty.path, MasimoSession(), sink)
    holder["link"] = link
    link.start()
    assert wait_for(lambda: link.port_open, 3)
    pty.write(line(1))
    assert wait_for(lambda: not link.running, 3)
    assert link.health == Health.STOPPED


class TimedSession(MasimoSession):
    """A session with one timer: it wants a tick every ``period`` s. It counts every wake the
    link gives it (``tick`` is called once a wake) and records the ticks that were due."""

    silent_after = 30.0

    def __init__(self, period: float) -> None:
        super().__init__()
        self.period = period
        self.ticks: list[float] = []
        self.wakes = 0
        self._due: float | None = None

    def connected(self, now: float) -> None:
        self._due = now + self.period

    def tick(self, now: float) -> None:
        self.wakes += 1
        if self._due is not None and now >= self._due:
            self.ticks.append(now)
            self._due = now + self.period

    def next_tick(self, now: float) -> float | None:
        return self._due


def test_an_idle_link_wakes_for_its_session_timer_and_only_then(pty):
    """No data and no health deadline for 30 s: only the session's timer can wake the link,
    and it should wake for it rather than poll. Counted in wakes, not measured in time."""
    session = TimedSession(0.2)
    link = DeviceLink(pty.path, session, Collector()).start()
    try:
        assert wait_for(lambda: len(session.ticks) >= 4, 10), "the timer never woke the link"
    finally:
        assert link.stop()
    assert not link.stats().bytes_in  # nothing but the timer woke it
    # every wake but the first (the link's first look after opening) and one a tick for a
    # wake that came a little early (a read timeout rounds) was a due tick: no polling
    assert session.wakes <= 2 * len(session.ticks) + 2, (session.wakes, len(session.ticks))


def test_a_link_sleeping_on_a_long_timer_still_stops_at_once(pty):
    session = TimedSession(30.0)
    link = DeviceLink(pty.path, session, Collector()).start()
    assert wait_for(lambda: link.port_open and session.wakes >= 1, 3)
    # asleep in its read now, with half a minute to go: stop wakes it (the join would give up
    # long before the timer, and stop() would say so)
    assert link.stop()
    assert not link.running and link.health == Health.STOPPED
    assert session.ticks == []  # it did not wait for the timer


class CountingMasimo(MasimoSession):
    """The oximeter session (no timers of its own) with a short silence, counting wakes."""

    silent_after = 0.3

    def __init__(self) -> None:
        super().__init__()
        self.wakes = 0

    def tick(self, now: float) -> None:
        self.wakes += 1
        super().tick(now)


def test_a_silent_device_is_reported_by_the_health_deadline_although_nothing_wakes_the_link(pty):
    """The oximeter session has no timers: only the health deadline wakes the reader. On a
    fake clock the device stays online however long it really is quiet, and is reported silent
    at the first wake once the clock passed the deadline."""
    clock = FakeClock()
    session = CountingMasimo()
    sink = Collector()
    link = DeviceLink(pty.path, session, sink, clock=clock, offline_after=0.5).start()
    try:
        assert wait_for(lambda: link.port_open, 3)
        pty.write(line(1))
        assert wait_for(lambda: link.health == Health.ONLINE, 3)
        # with the clock standing still the deadline never passes, but the link keeps waking
        # for it (nothing else would wake it: no data, no session timer)
        woken = session.wakes
        assert wait_for(lambda: session.wakes >= woken + 3, 10), "the deadline never woke it"
        assert link.health == Health.ONLINE
        clock.advance(session.silent_after + 0.01)
        assert wait_for(lambda: link.health == Health.SILENT, 10)
        # and the station is told why
        assert wait_for(lambda: any(r.code == Code.DEVICE_OFFLINE for r in sink.readings), 3)
        told = [r.value for r in sink.readings if r.code == Code.DEVICE_OFFLINE]
        assert told == [f"no data for {session.silent_after:g} s"]
    finally:
        link.stop()
