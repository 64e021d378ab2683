"""Alaris pump protocol: CRC check values, decoder, the read-only session, the simulator."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.core.vocabulary import Code, Quality
from nursestation.devices.alaris import (
    ALLOWED_FRAMES,
    QUERY_STATUS,
    QUERY_VTBI,
    AlarisDecoder,
    AlarisSession,
    AlarisSimulator,
    frame,
)
from nursestation.devices.crc import crc16_ccitt_false, crc16_x25, crc16_xmodem
from tests.devices.test_e2e_helpers import BASE_STATE, FixedScenario

FAST = settings(max_examples=200, deadline=None)

STATUS = b"INF^8002-51740^NONE^INFUSING^52.500^ml/h^0^12.250^ml^50^mmHg^26^0^0"
VTBI = b"INF_VTBI^ACTIV^11.000^ml^STOP"


# --- CRC check values (protocols/alaris.md, protocols/intellivue.md) ---------------------------
@pytest.mark.parametrize(
    "body, crc",
    [(b"INF", 0x4961), (b"INF_START", 0x38F3), (VTBI, 0x4433), (b"INF_VTBI", 0x8456),
     (b"8002-51740", 0x3CC1), (b"123456789", 0x29B1)],
)
def test_ccitt_false_check_values(body, crc):
    assert crc16_ccitt_false(body) == crc


def test_x25_check_values():
    assert crc16_x25(b"123456789") == 0x906E
    assert crc16_x25(bytes([0x3A, 0x71])).to_bytes(2, "little") == bytes([0x9B, 0x26])
    assert crc16_x25(bytes([0x3A, 0x91])).to_bytes(2, "little") == bytes([0x95, 0xC1])


def test_xmodem_check_value():
    assert crc16_xmodem(b"[DEV?]").to_bytes(2, "big") == bytes([0x8B, 0x1C])


def test_frame_builds_the_documented_wire_bytes():
    assert frame(b"INF") == b"!INF|4961\r"
    assert frame(VTBI) == b"!" + VTBI + b"|4433\r"


# --- decoder -----------------------------------------------------------------------------------
def by_code(readings):
    return {r.code: r for r in readings}


def test_status_reply_maps_to_pump_readings():
    rs = by_code(AlarisDecoder().feed(frame(STATUS)))
    assert rs[Code.PUMP_RATE].value == 52.5 and rs[Code.PUMP_RATE].unit == "mL/h"
    assert rs[Code.PUMP_VI].value == 12.25 and rs[Code.PUMP_VI].unit == "mL"
    assert rs[Code.PUMP_STATE].value == "infusing"
    assert rs[Code.PUMP_ALARM].value is None
    assert all(r.usable for r in (rs[Code.PUMP_RATE], rs[Code.PUMP_VI]))


def test_vtbi_reply_is_the_third_field():
    (r,) = AlarisDecoder().feed(frame(VTBI))
    assert r.code == Code.PUMP_VTBI and r.value == 11.0 and r.unit == "mL"


@pytest.mark.parametrize(
    "mode, alarm, state, alarm_text",
    [(b"ON_HOLD", b"NONE", "paused", None), (b"STOPPED", b"NONE", "stopped", None),
     (b"INFUSING", b"OCCLUSION", "alarm", "OCCLUSION"), (b"ALARM", b"NONE", "alarm", None)],
)
def test_states_and_alarms(mode, alarm, state, alarm_text):
    body = STATUS.replace(b"INFUSING", mode).replace(b"^NONE^", b"^" + alarm + b"^")
    rs = by_code(AlarisDecoder().feed(frame(body)))
    assert rs[Code.PUMP_STATE].value == state
    assert rs[Code.PUMP_ALARM].value == alarm_text


def test_unknown_mode_is_unavailable_not_guessed():
    rs = by_code(AlarisDecoder().feed(frame(STATUS.replace(b"INFUSING", b"WIBBLE"))))
    assert rs[Code.PUMP_STATE].value is None
    assert Quality.UNAVAILABLE in rs[Code.PUMP_STATE].quality


def test_bad_crc_is_rejected_and_next_frame_still_decoded():
    good = frame(STATUS)
    bad = good.replace(b"52.500", b"92.500")  # a flipped digit: the CRC no longer matches
    d = AlarisDecoder()
    rs = d.feed(b"\x00noise" + bad + good)
    assert [r.value for r in rs if r.code == Code.PUMP_RATE] == [52.5]
    assert d.stats.frames_rejected == 1 and d.stats.frames_accepted == 1
    assert d.stats.bytes_skipped > 0


def test_lowercase_crc_is_still_checked_and_short_records_are_rejected():
    d = AlarisDecoder()
    crc = b"%04x" % crc16_ccitt_false(STATUS)
    assert crc != crc.upper()
    assert len(d.feed(b"!" + STATUS + b"|" + crc + b"\r")) == 4
    assert d.feed(frame(b"INF^123^NONE")) == []
    assert d.stats.frames_rejected == 1


def test_query_frames_in_a_two_way_capture_are_valid_but_carry_no_data():
    d = AlarisDecoder()
    assert d.feed(QUERY_STATUS + QUERY_VTBI) == []
    assert d.stats.frames_accepted == 2 and d.stats.frames_rejected == 0


def test_frame_split_byte_by_byte():
    d = AlarisDecoder()
    out = []
    for b in frame(STATUS):
        out += d.feed(bytes([b]))
    assert by_code(out)[Code.PUMP_VI].value == 12.25


valid_frames = st.lists(
    st.tuples(st.floats(0, 1200).map(lambda v: round(v, 3)),
              st.floats(0, 500).map(lambda v: round(v, 3))),
    min_size=1, max_size=4,
)


@FAST
@given(st.binary(max_size=2000), st.lists(st.integers(1, 64), max_size=20))
def test_random_bytes_never_raise(data, cuts):
    d = AlarisDecoder()
    pos = 0
    for n in cuts + [len(data)]:
        d.feed(data[pos:pos + n])
        pos += n
    assert d.stats.frames_accepted >= 0


@FAST
@given(st.binary(max_size=200), valid_frames, st.data())
def test_every_valid_frame_after_garbage_is_decoded(garbage, values, data):
    frames = [frame(STATUS.replace(b"52.500", b"%.3f" % r).replace(b"12.250", b"%.3f" % v))
              for r, v in values]
    # each valid frame may be preceded by garbage, a truncated frame or a corrupted one
    stream = bytearray(garbage)
    for f in frames:
        kind = data.draw(st.sampled_from(["none", "garbage", "truncated", "badcrc"]))
        if kind == "garbage":
            stream += data.draw(st.binary(max_size=50))
        elif kind == "truncated":
            stream += f[: data.draw(st.integers(1, len(f) - 1))]
        elif kind == "badcrc":
            stream += f[:-2] + (b"0" if f[-2:-1] != b"0" else b"1") + b"\r"
        stream += f
    d = AlarisDecoder()
    out = []
    pos = 0
    while pos < len(stream):
        n = data.draw(st.integers(1, 80))
        out += d.feed(bytes(stream[pos:pos + n]))
        pos += n
    got = [(r.value) for r in out if r.code == Code.PUMP_RATE]
    assert got[-len(values):] == [r for r, _ in values]


# --- session: read only, by construction -------------------------------------------------------
def test_session_refuses_anything_but_the_allow_listed_queries():
    s = AlarisSession()
    for cmd in (b"!INF_START|38F3\r", frame(b"INF_RATE^10.000^ml/h"),
                frame(b"REMOTE_CTRL^ENABLED^3CC1"), b"!INF|4961", b"!INF|4961\r!INF|4961\r"):
        with pytest.raises(ValueError):
            s.send(cmd)
    assert s.outgoing() == b""


def test_session_polls_status_every_1_5_s_and_vtbi_less_often():
    s = AlarisSession()
    sent = []
    s.connected(0.0)
    t = 0.0
    while t <= 30.0:
        s.tick(t)
        out = s.outgoing()
        if out:
            sent.append((round(t, 1), out))
            s.receive(frame(STATUS) if out == QUERY_STATUS else frame(VTBI), t)
        t += 0.1
    status_times = [t for t, o in sent if o == QUERY_STATUS]
    vtbi_times = [t for t, o in sent if o == QUERY_VTBI]
    gaps = [b - a for a, b in pairwise(status_times)]
    assert 18 <= len(status_times) <= 21 and all(1.4 <= g <= 1.7 for g in gaps)
    assert 2 <= len(vtbi_times) <= 4


def test_session_ticked_only_when_it_asks_still_polls_every_1_5_s():
    # The link sleeps until next_tick (or a reply); the polls must keep their rhythm.
    s = AlarisSession()
    s.connected(0.0)
    sent, wakes, t = [], 0, 0.0
    replied = False
    while t <= 30.0:
        due = s.next_tick(t)
        if replied or (due is not None and t >= due):
            wakes += 1
            s.tick(t)
        replied = False
        out = s.outgoing()
        if out:
            sent.append((t, out))
            s.receive(frame(STATUS) if out == QUERY_STATUS else frame(VTBI), t)
            replied = True
        t = round(t + 0.01, 6)
    status_times = [t for t, o in sent if o == QUERY_STATUS]
    gaps = [b - a for a, b in pairwise(status_times)]
    assert 18 <= len(status_times) <= 21 and all(1.4 <= g <= 1.7 for g in gaps), gaps
    assert wakes <= 2 * (len(sent) + 1)  # a wake to ask and one for the answer, no idle ones


def test_session_does_not_pile_up_queries_on_a_silent_pump():
    s = AlarisSession()
    s.connected(0.0)
    out = s.outgoing()
    for i in range(1, 101):
        s.tick(i * 0.1)
        out += s.outgoing()
    assert out.count(b"!") <= 10 / 1.0 + 1


@FAST
@given(st.lists(st.tuples(st.floats(0, 5), st.sampled_from(["tick", "reply", "junk", "drop",
                                                             "conn"]),
                          st.binary(max_size=40)), max_size=80))
def test_session_only_ever_emits_allow_listed_queries(events):
    s = AlarisSession()
    now = 0.0
    wire = b""
    s.connected(now)
    for dt, kind, junk in events:
        now += dt
        if kind == "tick":
            s.tick(now)
        elif kind == "reply":
            s.receive(frame(STATUS), now)
        elif kind == "junk":
            s.receive(junk, now)
        elif kind == "drop":
            s.disconnected()
        else:
            s.connected(now)
        s.closing()
        wire += s.outgoing()
    frames = [f + b"\r" for f in wire.split(b"\r")[:-1]]
    assert wire == b"".join(frames)
    assert set(frames) <= ALLOWED_FRAMES


# --- simulator ---------------------------------------------------------------------------------
def test_simulator_answers_from_the_scenario():
    sim = AlarisSimulator(FixedScenario())
    sim.receive(QUERY_STATUS + QUERY_VTBI, 5.0)
    rs = by_code(AlarisDecoder().feed(sim.outgoing()))
    assert rs[Code.PUMP_RATE].value == BASE_STATE.pump_rate
    assert rs[Code.PUMP_VI].value == BASE_STATE.pump_vi
    assert rs[Code.PUMP_VTBI].value == BASE_STATE.pump_vtbi
    assert rs[Code.PUMP_STATE].value == "infusing"


def test_simulator_ignores_bad_crc_and_commands():
    sim = AlarisSimulator(FixedScenario())
    sim.receive(b"!INF|4962\r" + b"!INF_START|38F3\r" + b"garbage\r", 1.0)
    assert sim.outgoing() == b""
    assert sim.ignored == 2


def test_simulator_reports_an_alarm():
    from dataclasses import replace

    sim = AlarisSimulator(FixedScenario(replace(BASE_STATE, pump_state="alarm",
                                                pump_alarm="occlusion")))
    sim.receive(QUERY_STATUS, 0.0)
    rs = by_code(AlarisDecoder().feed(sim.outgoing()))
    assert rs[Code.PUMP_STATE].value == "alarm"
    assert rs[Code.PUMP_ALARM].value == "OCCLUSION"


# --- what a real pump needs: identity queries, its response time, alarms, every mode ----------
def run_against_simulator(seconds: float, scenario=None, step: float = 0.05):
    sim = AlarisSimulator(scenario or FixedScenario(BASE_STATE))
    ses = AlarisSession()
    wire: list[bytes] = []
    got = []
    t = 0.0
    ses.connected(t)
    while t < seconds:
        ses.tick(t)
        out = ses.outgoing()
        wire += [f + b"\r" for f in out.split(b"\r")[:-1]]
        sim.receive(out, t)
        got += ses.receive(sim.outgoing(), t)
        t = round(t + step, 6)
    return ses, sim, wire, got


def test_connecting_asks_identity_and_response_time_first_and_never_unlocks_control():
    ses, sim, wire, _ = run_against_simulator(12.0)
    assert wire[:3] == [b"!INST_SERIALNO|457D\r", frame(b"COMMS_RESPONSE_MAX"),
                        b"!COMMS_PROTOCOL|E8DA\r"]
    assert {frame(b"INF"), frame(b"ALARM"), frame(b"INF_VTBI")} <= set(wire)
    assert not [w for w in wire if b"REMOTE" in w or b"_START" in w or b"_RATE" in w]
    assert set(wire) <= ALLOWED_FRAMES and sim.ignored == 0
    assert ses.decoder.serial == "8002-51740" and ses.decoder.response_max_s == 4.0


def test_the_pumps_maximum_response_time_is_honoured():
    s = AlarisSession()
    s.connected(0.0)
    assert s.outgoing() == frame(b"INST_SERIALNO")
    s.tick(3.9)
    assert s.outgoing() == b""  # a real pump may take 4000 ms: no second query before that
    s.tick(4.0)
    assert s.outgoing() == frame(b"COMMS_RESPONSE_MAX")
    s.receive(frame(b"COMMS_RESPONSE_MAX^1500"), 4.1)
    assert s.reply_timeout == 1.5
    s.tick(4.1)
    s.outgoing()
    s.tick(5.5)
    assert s.outgoing() == b""
    s.tick(5.7)
    assert s.outgoing() != b""


@pytest.mark.parametrize(("mode", "state"), [
    ("SET", "stopped"), ("PRIMING", "infusing"), ("KVO", "infusing"), ("ON_HOLD", "paused"),
    ("DELAYED_START", "paused"), ("VTBI_COMPLETE", "stopped"), ("CALLBACK", "alarm"),
])
def test_every_mode_maps_to_a_state(mode, state):
    body = STATUS.replace(b"^INFUSING^", b"^" + mode.encode() + b"^")
    rs = by_code(AlarisDecoder().feed(frame(body)))
    assert rs[Code.PUMP_STATE].value == state and rs[Code.PUMP_STATE].usable is False


def test_alarm_query_lists_the_pumps_alarm_codes_when_they_change():
    d = AlarisDecoder()
    (r,) = d.feed(frame(b"ALARM^OCCLUSION^NEAR_END"))
    assert r.code == Code.DEVICE_ALARM and r.value == "pump: occlusion; pump: near end"
    assert [a.kind for a in r.extra["device_alarms"]] == ["technical", "technical"]
    assert d.feed(frame(b"ALARM^OCCLUSION^NEAR_END")) == []  # unchanged: not repeated
    (r,) = d.feed(frame(b"ALARM^NONE"))
    assert r.extra["device_alarms"] == () and r.value is None


def test_a_pump_that_never_gives_its_status_gets_a_diagnostic_not_an_unlock():
    s = AlarisSession()
    s.connected(0.0)
    wire, diags, t = b"", [], 0.0
    while t < 40.0:
        s.tick(t)
        out = s.outgoing()
        wire += out
        if out:  # the pump answers every query, but the status with an error record
            reply = frame(b"ERROR^NOT_PERMITTED") if out == QUERY_STATUS else frame(VTBI)
            diags += [r for r in s.receive(reply, t + 0.01) if r.code == Code.DIAGNOSTIC]
        t = round(t + 0.1, 6)
    assert len(diags) == 1 and "does not unlock remote control" in diags[0].value
    assert b"REMOTE" not in wire
