"""The MLLP listener on loopback: many beds over one connection, partial frames, malformed
messages, reconnects, ACKs with reasons, and a chair going offline when its messages stop."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.config import ChairConfig, DeviceConfig, load_config
from nursestation.core.livestate import LiveStore
from nursestation.core.protocol import load_protocol
from nursestation.core.vocabulary import Code
from nursestation.hl7.inbound import Listener, Route
from nursestation.hl7.mllp import MllpFramer, frame
from nursestation.hl7.pcd01 import parse_ack
from nursestation.runtime import StationRuntime
from tests.hl7.messages import cuff_style, ge_style, philips_style

WAIT = 10.0


class Sink:
    def __init__(self) -> None:
        self.readings: list = []
        self.cond = threading.Condition()

    def __call__(self, batch) -> None:
        with self.cond:
            self.readings.extend(batch)
            self.cond.notify_all()

    def wait_for(self, pred, timeout: float = WAIT):
        with self.cond:
            assert self.cond.wait_for(lambda: pred(self.readings), timeout), self.readings
        return self.readings


class Gateway:
    """A gateway's side of the connection: send frames, read ACKs."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.framer = MllpFramer()
        self.acks: list = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_acks(self, n: int) -> list:
        while len(self.acks) < n:
            data = self.sock.recv(65536)
            assert data, "listener closed the connection"
            self.acks += [parse_ack(a) for a in self.framer.feed(data)]
        return self.acks

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener():
    sink = Sink()
    routes = [Route("Chair 4", "c4-gw", bed="C4"), Route("Chair 2", "c2-gw", bed="C2"),
              Route("Chair 9", "c9-gw", equipment="0011223344556677"),
              Route("Chair 7", "c7-gw", bed="INFUSION^^C7", offline_after=0.5)]
    lst = Listener("127.0.0.1", 0, routes, sink).start()
    assert lst.wait_listening()
    yield lst, sink
    lst.stop()


def test_many_beds_over_one_connection_reach_their_chairs(listener):
    lst, sink = listener
    gw = Gateway(lst.bound_port)
    try:
        gw.send(frame(ge_style("M1")) + frame(philips_style("M2")) + frame(ge_style("M3", hr="90")))
        acks = gw.read_acks(3)
    finally:
        gw.close()
    assert [(a.code, a.control_id) for a in acks] == [("AA", "M1"), ("AA", "M2"), ("AA", "M3")]
    got = sink.wait_for(lambda rs: sum(r.code == Code.HR for r in rs) == 3)
    hr = [(r.chair, r.device_id, r.value) for r in got if r.code == Code.HR]
    assert hr == [("Chair 4", "c4-gw", 72), ("Chair 2", "c2-gw", 64), ("Chair 4", "c4-gw", 90)]
    first = [r for r in got if r.chair == "Chair 4"][0]
    assert first.code == Code.DEVICE_ONLINE  # online with its first message
    assert all(r.recv_wall is not None and r.recv_mono > 0 for r in got)


def test_partial_frames_junk_and_a_malformed_message_never_stop_the_listener(listener):
    lst, sink = listener
    gw = Gateway(lst.bound_port)
    try:
        data = (b"\x00\x01junk" + frame(b"this is not hl7") + frame(ge_style("M5"))
                + frame(ge_style("M6").replace("|72|", "|7x2|")))
        for i in range(0, len(data), 7):  # a few bytes at a time
            gw.send(data[i:i + 7])
        acks = gw.read_acks(3)
    finally:
        gw.close()
    assert acks[0].code == "AR" and "MSH" in acks[0].text
    assert (acks[1].code, acks[1].control_id) == ("AA", "M5")
    assert acks[2].code == "AE" and "not a number" in acks[2].text
    got = sink.wait_for(lambda rs: sum(r.code == Code.SPO2 for r in rs) == 2)
    assert [r.value for r in got if r.code == Code.HR] == [72]  # M6's HR refused, rest taken
    assert lst.stats.bytes_skipped == 6


def test_reconnects_and_a_connection_per_message(listener):
    lst, sink = listener
    for n in range(3):
        gw = Gateway(lst.bound_port)
        try:
            gw.send(frame(philips_style(f"R{n}")))
            assert gw.read_acks(1)[0].code == "AA"
        finally:
            gw.close()
    sink.wait_for(lambda rs: sum(r.code == Code.HR for r in rs) == 3)
    assert lst.stats.connections == 3


def test_device_id_routes_when_the_bed_is_unknown(listener):
    lst, sink = listener
    gw = Gateway(lst.bound_port)
    try:
        gw.send(frame(cuff_style("B1")))  # bed HOME^^1 is nobody's; the device is Chair 9's
        ack = gw.read_acks(1)[0]
    finally:
        gw.close()
    got = sink.wait_for(lambda rs: any(r.code == Code.NBP_SYS for r in rs))
    # OBX-18 is on the device row (OBX-4 "1"); the metrics below it (1.0.1.x) inherit it
    assert ack.code == "AA"
    nbp = [(r.chair, r.device_id, r.value) for r in got if r.code in
           (Code.NBP_SYS, Code.NBP_DIA)]
    assert nbp == [("Chair 9", "c9-gw", 141), ("Chair 9", "c9-gw", 92)]


def test_unknown_bed_is_answered_with_the_reason(listener):
    lst, sink = listener
    gw = Gateway(lst.bound_port)
    try:
        gw.send(frame(ge_style("U1", bed="ICU^^B12")))
        ack = gw.read_acks(1)[0]
    finally:
        gw.close()
    assert ack.code == "AE" and "ICU^^B12" in ack.text and "not assigned to a chair" in ack.text
    assert not [r for r in sink.readings if r.code == Code.HR]


def test_a_chair_goes_offline_when_its_messages_stop_and_online_when_they_return(listener):
    lst, sink = listener
    gw = Gateway(lst.bound_port)
    try:
        gw.send(frame(ge_style("O1", bed="INFUSION^^C7")))
        gw.read_acks(1)
        got = sink.wait_for(lambda rs: any(r.chair == "Chair 7" and r.code == Code.DEVICE_OFFLINE
                                           for r in rs))
        off = [r for r in got if r.chair == "Chair 7" and r.code == Code.DEVICE_OFFLINE][0]
        assert off.device_id == "c7-gw" and "no HL7 message" in off.value
        assert off.extra["health"] == "offline"
        gw.send(frame(ge_style("O2", bed="INFUSION^^C7")))
        gw.read_acks(2)
        sink.wait_for(lambda rs: [r.code for r in rs if r.chair == "Chair 7"
                                  and r.code in (Code.DEVICE_ONLINE, Code.DEVICE_OFFLINE)]
                      [-1] == Code.DEVICE_ONLINE)
    finally:
        gw.close()


def test_a_port_in_use_shows_offline_and_the_listener_stops_cleanly():
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    sink = Sink()
    lst = Listener("127.0.0.1", port, [Route("Chair 1", "c1-gw", bed="C1")], sink).start()
    try:
        got = sink.wait_for(lambda rs: any(r.code == Code.DEVICE_OFFLINE for r in rs))
        assert "cannot listen on port" in got[0].value
        assert lst.bound_port is None
    finally:
        assert lst.stop()
        blocker.close()


def test_the_station_runtime_feeds_gateway_readings_to_the_live_store(tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    cfg = tmp_path / "station.toml"
    cfg.write_text(f"""
[[chairs]]
name = "Chair 4"
devices = [{{ protocol = "hl7", url = "mllp://127.0.0.1:{port}", bed = "C4" }}]
""", encoding="utf-8")
    config = load_config(cfg)
    live = LiveStore()
    rt = StationRuntime(config, load_protocol(config.protocol_file), live)
    rt.start()
    try:
        assert rt.links == {} and len(rt.listeners) == 1
        assert rt.listeners[0].wait_listening()
        gw = Gateway(port)
        try:
            gw.send(frame(ge_style("S1")))
            assert gw.read_acks(1)[0].code == "AA"
        finally:
            gw.close()
        deadline = time.monotonic() + WAIT
        while live.snapshot("Chair 4").numeric(Code.HR).value != 72:
            assert time.monotonic() < deadline, "HR never reached the live store"
            time.sleep(0.02)
        changes = rt.process()  # the alarm engines see gateway numerics like a device's
        assert isinstance(changes, list)
    finally:
        rt.stop()
    assert rt.listeners == []


def test_config_for_a_gateway_chair(tmp_path):
    cfg = tmp_path / "station.toml"
    cfg.write_text("""
[[chairs]]
name = "Chair 1"
devices = [{ protocol = "hl7", url = "mllp://0.0.0.0:2575", bed = "CLINIC^^CH1", \
equipment = "00A0C8FFFE1234AB", offline_after = 90 }]
""", encoding="utf-8")
    dev = load_config(cfg).chairs[0].devices[0]
    assert (dev.protocol, dev.bed, dev.equipment, dev.offline_after) == (
        "hl7", "CLINIC^^CH1", "00A0C8FFFE1234AB", 90.0)
    assert ChairConfig("x", (DeviceConfig("hl7", "mllp://:1", "d", bed="b"),)).devices[0].bed == "b"


@pytest.mark.parametrize("device,why", [
    ('{ protocol = "hl7", url = "mllp://0.0.0.0:2575" }', "needs 'bed'"),
    ('{ protocol = "hl7", url = "http://x:1", bed = "B" }', "mllp://"),
    ('{ protocol = "hl7", url = "mllp://0.0.0.0:2575", bed = "B", offline_after = 1 }',
     "offline_after"),
    ('{ protocol = "hl7", url = "mllp://0.0.0.0:2575", bed = "B", baud = 9600 }', "baud"),
])
def test_bad_gateway_config_is_refused_with_the_key(tmp_path, device, why):
    from nursestation.config import ConfigError

    cfg = tmp_path / "station.toml"
    cfg.write_text(f'[[chairs]]\nname = "Chair 1"\ndevices = [{device}]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    assert why in str(exc.value) and "chairs[1].devices[1]" in str(exc.value)


_GOOD = ge_style("F1").encode()


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=500), st.lists(
    st.tuples(st.integers(0, len(_GOOD) - 1), st.sampled_from(
        [b"|", b"^", b"\r", b"", b"X", b"\xff", b"\x0b", b"\x1c"])), max_size=6).map(
    lambda edits: _mutate(_GOOD, edits))))
def test_any_message_gets_an_ack_and_never_breaks_the_listener(raw):
    sink = Sink()
    lst = Listener("127.0.0.1", 0, [Route("Chair 4", "c4-gw", bed="C4")], sink)
    ack = parse_ack(lst._handle(raw))  # the listener's own path for one framed message
    assert ack.code in ("AA", "AE", "AR")
    assert all(r.chair == "Chair 4" for r in sink.readings)
    # the next good message is still taken
    assert parse_ack(lst._handle(_GOOD)).code == "AA"


def _mutate(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for pos, repl in edits:
        if pos < len(out):
            out[pos:pos + 1] = repl
    return bytes(out)


def test_stop_right_after_start_ends_the_listener_thread():
    for _ in range(5):
        lst = Listener("127.0.0.1", 0, [Route("Chair 1", "c1-gw", bed="C1")], Sink()).start()
        assert lst.stop(timeout=5)
        assert not lst.running
