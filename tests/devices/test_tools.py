"""`nursestation decode` and `nursestation simulate`."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import serial

from nursestation.devices import tools
from nursestation.devices.alaris import frame
from nursestation.devices.masimo import format_line
from nursestation.devices.registry import PROTOCOLS, get_protocol

NURSESTATION = Path(sys.executable).parent / "nursestation"

STATUS = b"INF^8002-51740^NONE^INFUSING^%.3f^ml/h^0^12.250^ml^50^mmHg^26^0^0"


def alaris_capture() -> tuple[bytes, list[float]]:
    rates = [10.0, 20.5, 30.25, 40.0]
    good = [frame(STATUS % r) for r in rates]
    bad = frame(STATUS % 99.0).replace(b"99.000", b"98.000")  # CRC no longer matches
    data = bytearray(b"\x00\xff line noise \r\n")
    data += good[0] + bad + good[1]
    # the third frame straddles the decoder's 1024-byte read boundary
    data += b"#" * (tools.CHUNK - len(data) - 20)
    data += good[2] + b"\x13\x11" + good[3] + frame(b"INF_VTBI^ACTIV^7.500^ml^STOP")
    return bytes(data), rates


def test_registry_knows_the_three_protocols():
    assert set(PROTOCOLS) == {"intellivue", "masimo", "alaris"}
    assert PROTOCOLS["masimo"].line_rate == 960.0
    assert PROTOCOLS["alaris"].baudrate == 38400
    for name in ("masimo", "alaris"):
        info = PROTOCOLS[name]
        assert info.make_session().baudrate == info.baudrate
        assert info.make_decoder().feed(b"") == []
    with pytest.raises(ValueError, match="known: intellivue, masimo, alaris"):
        get_protocol("nellcor")


def test_decode_alaris_capture(tmp_path, capsys):
    data, rates = alaris_capture()
    path = tmp_path / "pump.bin"
    path.write_bytes(data)
    assert tools.decode_main("alaris", str(path)) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["value"] for r in rows if r["code"] == "PUMP_RATE"] == rates
    assert [r["value"] for r in rows if r["code"] == "PUMP_VTBI"] == [7.5]
    assert {r["unit"] for r in rows if r["code"] == "PUMP_RATE"} == {"mL/h"}
    assert "frames accepted: 5" in err
    assert "frames rejected: 1" in err
    assert "bytes skipped:" in err and "bytes skipped: 0" not in err


def test_decode_masimo_from_stdin(monkeypatch, capsys):
    lines = [format_line(datetime(2026, 1, 5, 9, 0, i), 95 + i, 70 + i, 2.5) for i in range(3)]
    data = b"garbage\r\n" + lines[0] + b"\x00\x01" + lines[1] + lines[2][:30] + b"\r\n" + lines[2]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert tools.decode_main("masimo", "-") == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["value"] for r in rows if r["code"] == "SPO2"] == [95, 96, 97]
    # the oximeter's local clock, given in UTC with its offset
    local = datetime(2026, 1, 5, 9, 0, 0).astimezone()
    assert rows[0]["device_time"] == local.astimezone(UTC).isoformat()
    assert "frames accepted: 3" in err and "frames rejected: 2" in err


def test_decode_missing_file_is_a_clear_error(tmp_path, capsys):
    assert tools.decode_main("masimo", str(tmp_path / "nope.bin")) == 1
    assert "cannot read" in capsys.readouterr().err


def test_decode_command_line(tmp_path):
    data, rates = alaris_capture()
    path = tmp_path / "pump.bin"
    path.write_bytes(data)
    proc = subprocess.run([str(NURSESTATION), "decode", "--protocol", "alaris", str(path)],
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [r["value"] for r in rows if r["code"] == "PUMP_RATE"] == rates
    assert b"frames rejected: 1" in proc.stderr


def _steady_available() -> bool:
    try:
        from nursestation.sim.scenarios import get_scenario

        get_scenario("steady", 1).state(0.0)
    except Exception:  # noqa: BLE001
        return False
    return True


@pytest.mark.skipif(not _steady_available(),
                    reason="core.scenarios.get_scenario('steady', 1) does not work yet")
def test_simulate_command_prints_a_port_and_stops_on_ctrl_c():
    proc = subprocess.Popen(
        [str(NURSESTATION), "simulate", "--protocol", "masimo", "--port", "pty",
         "--scenario", "steady", "--speed", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        path = proc.stdout.readline().decode().strip()
        assert os.path.exists(path), proc.stderr.read1().decode() if not path else path
        with serial.serial_for_url(path, baudrate=9600, timeout=0.1) as port:
            buf = b""
            deadline = time.monotonic() + 5
            while buf.count(b"\r\n") < 2 and time.monotonic() < deadline:
                buf += port.read(256)
        assert b"SPO2=" in buf
        proc.send_signal(signal.SIGINT)
        # it stops; how fast is not the point (a loaded CI host can take seconds)
        assert proc.wait(timeout=60) == 0
        assert not os.path.exists(path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_simulate_refuses_a_bad_port(capsys):
    assert tools.simulate_main("masimo", "com7", "steady", 1, 1.0) == 2
    assert "cannot open com7" in capsys.readouterr().err


def test_simulate_serves_until_terminated(monkeypatch, capsys):
    """In-process, with a fixed scenario: prints the port, serves it, stops cleanly on SIGTERM."""
    import threading

    from nursestation.devices.simhost import SimulatorHost
    from nursestation.sim import scenarios
    from tests.devices.test_e2e_helpers import FixedScenario, open_fds

    monkeypatch.setattr(scenarios, "get_scenario", lambda name, seed=1: FixedScenario())
    hosts = []
    original = SimulatorHost.start

    def start(self):
        hosts.append(self)
        return original(self)

    monkeypatch.setattr(SimulatorHost, "start", start)
    got = []

    def client():
        deadline = time.monotonic() + 10
        while not hosts and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            with serial.serial_for_url(hosts[0].url, baudrate=9600, timeout=0.1) as port:
                buf = b""
                while b"EXC" not in buf and time.monotonic() < deadline:
                    buf += port.read(256)
                got.append(buf)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    before, handler = open_fds(), signal.getsignal(signal.SIGTERM)
    t = threading.Thread(target=client)
    t.start()
    assert tools.simulate_main("masimo", "pty", "steady", 1, 20.0) == 0
    t.join(5)
    out = capsys.readouterr().out
    assert out.strip() == hosts[0].url
    assert b"SPO2=097%" in got[0]
    assert not os.path.exists(hosts[0].url)
    assert open_fds() == before
    assert signal.getsignal(signal.SIGTERM) == handler  # the previous handler is back


@pytest.mark.skipif(not PROTOCOLS["intellivue"].available,
                    reason="nursestation.devices.intellivue has not landed yet")
def test_decode_intellivue_monitor_direction(tmp_path, capsys):
    """A capture of what a (simulated) monitor sent, with line noise in front, decodes."""
    from tests.devices.test_e2e_helpers import BASE_STATE, FixedScenario

    info = PROTOCOLS["intellivue"]
    sim, session = info.make_simulator(FixedScenario()), info.make_session()
    capture = bytearray(b"\x00\xc1noise\x7d")
    t = 0.0
    session.connected(t)
    while t < 5.0:
        request = session.outgoing()
        if request:
            sim.receive(request, t)
        sim.tick(t)
        data = sim.outgoing()
        capture += data
        session.receive(data, t)
        session.tick(t)
        t += 0.05
    path = tmp_path / "monitor.bin"
    path.write_bytes(bytes(capture))
    assert tools.decode_main("intellivue", str(path)) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["value"] for r in rows if r["code"] == "HR"} == {BASE_STATE.hr}
    assert any("samples" in r and r["rate_hz"] for r in rows)
    assert f"frames accepted: {session.stats.frames_accepted}" in err


def test_decode_reads_a_spy_capture_of_a_live_session(tmp_path, capsys):
    """A technician puts spy:// in front of a chair's port; decode shows what the pump sent."""
    from nursestation.devices.link import DeviceLink
    from nursestation.devices.simhost import SimulatorHost
    from nursestation.sim.scenarios import get_scenario

    log = tmp_path / "chair4-pump.spy"
    info = PROTOCOLS["alaris"]
    got = []
    with SimulatorHost(info.make_simulator(get_scenario("ketamine-visit", 1, offset=900)),
                       "pty") as host:
        link = DeviceLink(f"spy://{host.url}?file={log}", info.make_session(), got.extend,
                          chair="4", device_id="pump").start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(r.code == "PUMP_RATE" for r in got):
            time.sleep(0.1)
        assert link.stop()
    text = log.read_text()
    assert " TX " in text and " RX " in text  # both directions are in the hexdump
    assert tools.decode_main("alaris", str(log)) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    live = [r.value for r in got if r.code == "PUMP_RATE"]
    decoded = [r["value"] for r in rows if r["code"] == "PUMP_RATE"]
    assert decoded and decoded == live[: len(decoded)]
    assert decoded[0] == 150.0  # 5 min into the infusion
    assert "frames rejected: 0" in err
    # the summary says what a commissioning check needs: both directions, what was read
    assert "spy capture: host to device" in err and "both directions" not in err
    assert "PUMP_RATE x" in err
