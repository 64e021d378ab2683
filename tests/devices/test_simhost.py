"""The simulator host: a simulated device at the far end of a real pty or TCP socket."""

from __future__ import annotations

import os
import socket
import time

import pytest
import serial

from nursestation.devices.masimo import MasimoSimulator
from nursestation.devices.simhost import SimulatorHost
from tests.devices.test_e2e_helpers import FixedScenario, open_fds, thread_names, wait_for


class EchoSim(MasimoSimulator):
    """Echoes what it receives (upper-cased), to see the wire is raw both ways."""

    def __init__(self) -> None:
        super().__init__(FixedScenario())
        self.resets = 0

    def receive(self, data: bytes, t: float) -> None:
        self.send(data.upper())

    def tick(self, t: float) -> None:
        pass

    def reset(self) -> None:
        self.resets += 1


def read_until(port, needle: bytes, timeout: float = 3.0) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        buf += port.read(port.in_waiting or 1)
    return buf


def test_pty_path_is_a_stable_symlink_and_the_wire_is_raw():
    with SimulatorHost(EchoSim(), "pty") as host:
        assert os.path.islink(host.url)
        assert os.readlink(host.url).startswith("/dev/pts/")
        with serial.serial_for_url(host.url, baudrate=9600, timeout=0.05) as port:
            payload = bytes(range(256))  # every byte value, CR/LF and control chars included
            port.write(payload.lower())
            got = read_until(port, payload.lower().upper()[-10:])
            assert got == payload.lower().upper()  # no echo, no CR/LF translation
        path = host.url
    assert not os.path.exists(os.path.dirname(path))  # temp dir removed on stop


def test_pty_unplug_and_replug_behave_like_a_usb_cable():
    sim = EchoSim()
    with SimulatorHost(sim, "pty") as host:
        port = serial.serial_for_url(host.url, baudrate=9600, timeout=0.05)
        try:
            host.unplug()
            assert not os.path.exists(host.url)
            assert not host.plugged and sim.resets == 1
            with pytest.raises(serial.SerialException):
                for _ in range(20):
                    port.read(1)
        finally:
            port.close()
        host.replug()
        assert host.plugged and os.path.exists(host.url)
        with serial.serial_for_url(host.url, baudrate=9600, timeout=0.05) as port:
            port.write(b"again")
            assert read_until(port, b"AGAIN") == b"AGAIN"


def test_simulator_speaks_at_scenario_speed_on_the_pty():
    with SimulatorHost(MasimoSimulator(FixedScenario()), "pty", speed=20) as host:
        with serial.serial_for_url(host.url, baudrate=9600, timeout=0.05) as port:
            buf = read_until(port, b"\r\n" * 1, timeout=3)
            buf += read_until(port, b"EXC", timeout=3)
            assert b"SPO2=097%" in buf


def test_tcp_serves_one_connection_and_unplug_closes_it():
    sim = EchoSim()
    with SimulatorHost(sim, "tcp://127.0.0.1:0") as host:
        assert host.url.startswith("socket://127.0.0.1:")
        port_no = int(host.url.rsplit(":", 1)[1])
        assert port_no > 0
        with serial.serial_for_url(host.url, timeout=0.05) as port:
            port.write(b"hello")
            assert read_until(port, b"HELLO") == b"HELLO"
            host.unplug()
            with pytest.raises(serial.SerialException):
                for _ in range(50):
                    port.read(1)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port_no), timeout=1).close()
        host.replug()
        assert host.url.endswith(f":{port_no}")  # the same port again
        with serial.serial_for_url(host.url, timeout=0.05) as port:
            port.write(b"back")
            assert read_until(port, b"BACK") == b"BACK"


def test_bad_port_spec_is_refused():
    with pytest.raises(ValueError):
        SimulatorHost(EchoSim(), "com3")
    with pytest.raises(ValueError):
        SimulatorHost(EchoSim(), "tcp://nohost")


def test_start_stop_leaves_no_fds_or_threads():
    before_fds, before_threads = open_fds(), thread_names()
    for kind in ("pty", "tcp://127.0.0.1:0") * 5:
        host = SimulatorHost(EchoSim(), kind).start()
        host.unplug()
        host.replug()
        host.stop()
    assert wait_for(lambda: thread_names() == before_threads, 2)
    assert open_fds() == before_fds
