"""The I/O reactor: many ports on one thread, descriptors past 1024, its own lifetime, and a
channel that is not a serial port."""

from __future__ import annotations

import os
import socket
import threading
import tty
from datetime import datetime

import pytest

from nursestation.core.vocabulary import Code
from nursestation.devices.link import DeviceLink, Health, reactor_can_serve
from nursestation.devices.masimo import MasimoSession, format_line
from nursestation.devices.reactor import Reactor
from tests.devices.test_e2e_helpers import Collector, open_fds, thread_names, wait_for


def line(i: int = 0, spo2: int = 97) -> bytes:
    return format_line(datetime(2026, 1, 5, 9, 0, i % 60), spo2, 70, 3.0)


class Pty:
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def ptys():
    made: list[Pty] = []

    def make(n: int) -> list[Pty]:
        new = [Pty() for _ in range(n)]
        made.extend(new)
        return new

    yield make
    for p in made:
        p.close()


def test_many_ports_are_served_by_one_thread(ptys):
    before = thread_names()
    ports = ptys(24)
    sink = Collector()
    reactor = Reactor(name="link-reactor-test")
    links = [DeviceLink(p.path, MasimoSession(), sink, chair=str(i), device_id=f"ox-{i}",
                        reactor=reactor).start() for i, p in enumerate(ports)]
    try:
        assert wait_for(lambda: all(link.port_open for link in links), 5)
        for i, p in enumerate(ports):
            os.write(p.master, line(i, spo2=80 + i % 20))
        assert wait_for(lambda: all(link.health == Health.ONLINE for link in links), 5)
        # one new thread for all 24 ports, none per port
        new = [n for n in thread_names() if n not in before]
        assert new == ["link-reactor-test"]
        assert all(link.driver == "reactor" for link in links)
        # each reading went to its own chair, with its own value
        assert wait_for(lambda: len(sink.codes(Code.SPO2)) == 24, 5)
        by_chair = {r.chair: r.value for r in sink.codes(Code.SPO2)}
        assert by_chair == {str(i): 80 + i % 20 for i in range(24)}
    finally:
        assert all(link.stop() for link in links)
    assert reactor.thread is None


def test_ports_numbered_past_1024_are_read(ptys):
    """At 64 chairs pyserial's descriptors pass 1024, where select.select fails ("filedescriptor
    out of range in select()"): every link must still work."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if min(soft, hard) != resource.RLIM_INFINITY and min(2048, hard) < 1400:
        pytest.skip("this system does not allow 1400 open files")
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(2048, hard), hard))
    fillers: list[int] = []
    try:
        while not fillers or fillers[-1] < 1100:
            fillers.append(os.open(os.devnull, os.O_RDONLY))
        (p,) = ptys(1)
        sink = Collector()
        link = DeviceLink(p.path, MasimoSession(), sink).start()
        try:
            assert wait_for(lambda: link.port_open, 5)
            assert link._fd > 1024
            os.write(p.master, line(1))
            assert wait_for(lambda: len(sink.codes(Code.SPO2)) == 1, 5)
            assert link.health == Health.ONLINE
        finally:
            assert link.stop()
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_reactor_ends_with_its_last_link_and_leaves_nothing_open(ptys):
    before_fds, before_threads = open_fds(), thread_names()
    a, b = ptys(2)
    reactor = Reactor(name="link-reactor-test")
    la = DeviceLink(a.path, MasimoSession(), Collector(), reactor=reactor).start()
    lb = DeviceLink(b.path, MasimoSession(), Collector(), reactor=reactor).start()
    assert wait_for(lambda: la.port_open and lb.port_open, 5)
    assert la.stop()
    assert reactor.thread is not None and lb.running  # still serving the other port
    os.write(b.master, line(1))
    assert wait_for(lambda: lb.health == Health.ONLINE, 5)
    assert lb.stop()
    assert reactor.thread is None
    a.close()
    b.close()
    assert open_fds() == before_fds
    assert wait_for(lambda: thread_names() == before_threads, 2)
    # and it starts again for the next link
    (c,) = ptys(1)
    lc = DeviceLink(c.path, MasimoSession(), Collector(), reactor=reactor).start()
    assert wait_for(lambda: lc.port_open, 5)
    assert lc.stop()


def test_urls_the_reactor_cannot_wait_on_get_a_thread_of_their_own():
    assert reactor_can_serve("/dev/ttyUSB0") and reactor_can_serve("socket://10.0.0.5:4001")
    assert not reactor_can_serve("loop://") and not reactor_can_serve("spy:///dev/ttyUSB0")
    assert not reactor_can_serve("rfc2217://10.0.0.5:4001")
    link = DeviceLink("loop://", MasimoSession(), Collector()).start()
    try:
        assert wait_for(lambda: link.running, 2)
        assert link.driver == "thread"
        assert any(n.startswith("link-") and n != "link-reactor" for n in thread_names())
    finally:
        assert link.stop()


class LineChannel:
    """Not a serial port: a socket that sends one line per reading (say, a network feed),
    served by the same reactor and handing readings to the same kind of sink."""

    def __init__(self, sock: socket.socket, sink) -> None:
        self.name = "line-feed"
        self.sock = sock
        self.sink = sink
        self.stopped = threading.Event()

    def reactor_start(self, reactor: Reactor, now: float) -> None:
        self.sock.setblocking(False)
        reactor.watch(self, self.sock.fileno())

    def reactor_event(self, readable: bool, writable: bool, now: float) -> None:
        data = self.sock.recv(4096)
        self.sink([Code.HR for _ in data.splitlines()])

    def reactor_timer(self, now: float) -> None:
        pass

    def reactor_stop(self) -> bool:
        self.sock.close()
        self.stopped.set()
        return True


def test_a_channel_that_is_not_a_serial_port_shares_the_reactor(ptys):
    (p,) = ptys(1)
    reactor = Reactor(name="link-reactor-test")
    link_sink = Collector()
    link = DeviceLink(p.path, MasimoSession(), link_sink, reactor=reactor).start()
    ours, theirs = socket.socketpair()
    got = Collector()
    feed = LineChannel(ours, got)
    reactor.add(feed)
    try:
        assert wait_for(lambda: link.port_open, 5)  # opening a port discards older input
        theirs.sendall(b"a\nb\n")
        os.write(p.master, line(1))
        assert wait_for(lambda: len(got.readings) == 2, 5)
        assert wait_for(lambda: link_sink.codes(Code.SPO2), 5)
    finally:
        assert reactor.remove(feed)
        assert link.stop()
        theirs.close()
    assert feed.stopped.is_set() and reactor.thread is None
