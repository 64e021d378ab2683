"""Masimo ASCII 1 decoder, session and simulator."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.core.vocabulary import Code, Quality
from nursestation.devices.masimo import (
    MasimoDecoder,
    MasimoSession,
    MasimoSimulator,
    format_line,
)
from tests.devices.test_e2e_helpers import BASE_STATE, FixedScenario

FAST = settings(max_examples=200, deadline=None)

RAD8 = (b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% "
        b"SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n")
RAD5 = b"09/15/10 15:10:29 SPO2=097% BPM=064 PI=11.82% ALARM=20 EXC=800\r\n"
RAD7 = (b"02/22/16 22:47:46 SN=0000056661 SPO2=099% BPM=080 PI=02.10% PVI=027 SPCO=--.-% "
        b"SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n")


def by_code(readings):
    return {r.code: r for r in readings}


@pytest.mark.parametrize(
    "line, spo2, pr, pi",
    [(RAD8, 98, 97, 3.6), (RAD5, 97, 64, 11.82), (RAD7, 99, 80, 2.1)],
    ids=["rad8", "radical5", "radical7"],
)
def test_model_line_shapes(line, spo2, pr, pi):
    rs = by_code(MasimoDecoder().feed(line))
    assert rs[Code.SPO2].value == spo2 and rs[Code.SPO2].unit == "%"
    assert rs[Code.PR].value == pr and rs[Code.PR].unit == "bpm"
    assert rs[Code.PI].value == pytest.approx(pi)
    assert all(rs[c].usable for c in (Code.SPO2, Code.PR, Code.PI))
    assert rs[Code.DEVICE_ALARM].extra["device_alarms"] == ()  # nothing to raise


def test_device_time_is_the_oximeters_own_clock_read_in_its_zone_and_kept_in_utc():
    berlin = timezone(timedelta(hours=1))
    (r, *_) = MasimoDecoder(device_tz=berlin).feed(RAD8)
    # printed 22:47:45 on the oximeter's clock, an hour ahead of UTC
    assert r.device_time == datetime(2016, 2, 22, 21, 47, 45, tzinfo=UTC)
    (r, *_) = MasimoDecoder().feed(RAD8)  # default: the workstation's own zone
    assert r.device_time == datetime(2016, 2, 22, 22, 47, 45).astimezone().astimezone(UTC)


def test_radical7_pvi_is_kept_as_detail():
    rs = by_code(MasimoDecoder().feed(RAD7))
    assert rs[Code.SPO2].extra["pvi"] == 27


def test_dashes_are_unavailable_never_zero():
    line = RAD8.replace(b"SPO2=098%", b"SPO2=---%").replace(b"BPM=097", b"BPM=---") \
        .replace(b"PI=03.60%", b"PI=--.--%")
    rs = by_code(MasimoDecoder().feed(line))
    for code in (Code.SPO2, Code.PR, Code.PI):
        assert rs[code].value is None
        assert Quality.UNAVAILABLE in rs[code].quality
        assert not rs[code].usable


@pytest.mark.parametrize("exc, reason", [("000820", "sensor off"), ("000801", "no sensor")])
def test_sensor_off_bits(exc, reason):
    line = RAD8.replace(b"SPO2=098%", b"SPO2=---%").replace(b"EXC=000800",
                                                            b"EXC=" + exc.encode())
    rs = by_code(MasimoDecoder().feed(line))
    assert rs[Code.SENSOR_OFF].value == reason
    assert Quality.SENSOR_OFF in rs[Code.SPO2].quality
    assert not rs[Code.PR].usable  # even a number would not be used with the sensor off


def test_low_perfusion_and_pulse_search_make_values_questionable():
    rs = by_code(MasimoDecoder().feed(RAD8.replace(b"EXC=000800", b"EXC=00080C")))
    q = rs[Code.SPO2].quality
    assert {Quality.LOW_PERFUSION, Quality.PULSE_SEARCH, Quality.QUESTIONABLE} <= q
    assert rs[Code.SPO2].usable  # questionable, still a number the nurse can see


def test_alarm_bits():
    rs = by_code(MasimoDecoder().feed(RAD8.replace(b"ALARM=0000", b"ALARM=0061")))
    assert Quality.IN_ALARM in rs[Code.SPO2].quality
    assert rs[Code.SPO2].extra["alarm_silenced"] is True
    assert rs[Code.DEVICE_ALARM].value == "SpO2 high; battery low"
    kinds = {(a.text, a.kind) for a in rs[Code.DEVICE_ALARM].extra["device_alarms"]}
    assert kinds == {("SpO2 high", "physiological"),
                     ("battery low", "technical")}


def test_unreadable_output_mode_asks_for_ascii1_rate_limited():
    d = MasimoDecoder()
    ascii2 = b"\x02SPO2 098 BPM 097 PI 3.60\x03\r\n"  # not the ASCII 1 shape
    diags = []
    for _ in range(200):
        diags += [r for r in d.feed(ascii2) if r.code == Code.DIAGNOSTIC]
    assert 1 <= len(diags) <= 5
    assert "ASCII 1" in diags[0].value
    assert d.stats.frames_rejected == 200 and d.stats.frames_accepted == 0


def test_a_partial_first_line_is_not_a_wrong_mode():
    d = MasimoDecoder()
    rs = d.feed(RAD8[60:] + RAD8 + RAD8)
    assert not [r for r in rs if r.code == Code.DIAGNOSTIC]
    assert d.stats.frames_accepted == 2


def test_noise_glued_to_the_front_of_a_line_is_skipped():
    d = MasimoDecoder()
    rs = by_code(d.feed(b"\xff\x00junk" + RAD8))
    assert rs[Code.SPO2].value == 98
    assert d.stats.bytes_skipped == 6


def test_session_is_receive_only():
    s = MasimoSession()
    s.connected(0.0)
    for t in range(50):
        s.tick(t / 10)
    s.receive(RAD8, 5.0)
    s.closing()
    assert s.outgoing() == b""
    assert s.baudrate == 9600 and 3 <= s.silent_after <= 5
    assert s.stats.frames_accepted == 1


line_values = st.tuples(st.integers(50, 100), st.integers(30, 250),
                        st.floats(0.02, 20).map(lambda v: round(v, 2)))


def make_line(i: int, spo2: int, pr: int, pi: float) -> bytes:
    return format_line(datetime(2026, 1, 5, 9, 0, i), spo2, pr, pi)


@FAST
@given(st.binary(max_size=2000), st.lists(st.integers(1, 64), max_size=20))
def test_random_bytes_never_raise(data, cuts):
    d = MasimoDecoder()
    pos = 0
    for n in cuts + [len(data)]:
        d.feed(data[pos:pos + n])
        pos += n


@FAST
@given(st.lists(line_values, min_size=1, max_size=5), st.data())
def test_every_valid_line_after_garbage_is_decoded(values, data):
    stream = bytearray()
    for i, (spo2, pr, pi) in enumerate(values):
        line = make_line(i, spo2, pr, pi)
        kind = data.draw(st.sampled_from(["none", "garbage", "truncated", "glued"]))
        if kind == "garbage":  # noise that ends its own line
            stream += data.draw(st.binary(max_size=80)) + b"\r\n"
        elif kind == "truncated":  # a line cut short by a cable wiggle
            stream += line[: data.draw(st.integers(1, len(line) - 3))] + b"\r\n"
        elif kind == "glued":  # noise with no line end, stuck to the next line
            stream += data.draw(st.binary(max_size=80).filter(lambda b: b"\r" not in b
                                                              and b"\n" not in b))
        stream += line
    d = MasimoDecoder()
    out = []
    pos = 0
    while pos < len(stream):
        n = data.draw(st.integers(1, 100))
        out += d.feed(bytes(stream[pos:pos + n]))
        pos += n
    # every valid line is decoded, and nothing decoded was made up (a line cut short may still
    # be whole up to its last field; then it carries that line's own values)
    expected = {(i, v[0], v[1]) for i, v in enumerate(values)}
    spo2 = {r.device_time.second: r.value for r in out if r.code == Code.SPO2}
    pr = {r.device_time.second: r.value for r in out if r.code == Code.PR}
    assert {(i, spo2.get(i), pr.get(i)) for i in spo2} == expected


def test_simulator_prints_one_line_per_scenario_second():
    sim = MasimoSimulator(FixedScenario())
    sim.tick(0.0)
    sim.tick(0.5)
    sim.tick(9.99)
    out = sim.outgoing()
    assert out.count(b"\r\n") == 10
    rs = MasimoDecoder().feed(out)
    assert {r.value for r in rs if r.code == Code.SPO2} == {BASE_STATE.spo2}
    assert {r.value for r in rs if r.code == Code.PR} == {BASE_STATE.pr}
    assert {r.value for r in rs if r.code == Code.PI} == {BASE_STATE.pi}


def test_simulator_sensor_off_and_motion():
    def vary(t, st):
        if t < 3:
            return replace(st, sensor_off=True, spo2=None, pr=None, pi=None)
        return replace(st, motion=True)

    sim = MasimoSimulator(FixedScenario(vary=vary))
    sim.tick(5.0)
    rs = MasimoDecoder().feed(sim.outgoing())
    off = [r for r in rs if r.code == Code.SPO2 and r.value is None]
    moving = [r for r in rs if r.code == Code.SPO2 and r.value is not None]
    assert len(off) == 3 and all(Quality.SENSOR_OFF in r.quality for r in off)
    assert len([r for r in rs if r.code == Code.SENSOR_OFF]) == 3
    assert len(moving) == 3 and all(Quality.QUESTIONABLE in r.quality for r in moving)


# --- newer Radical-7 firmware; every alarm and exception bit ---------------------------------
# A line of the shape newer Radical-7 firmware prints (issue 18: PI without %, SPHB, SPOC and
# RESVD fields, a closing EXC1 word), assembled by hand.
RAD7_NEW = (b"03/14/19 10:01:02 SN=0000123456 SPO2=097% BPM=072 PI=02.10 SPCO=--.-% "
            b"SPMET=--.-% DESAT=-- PIDELTA=+-- PVI=014 SPHB=13.2 SPOC=18 RESVD=--- "
            b"ALARM=0000 EXC=000800 EXC1=00000000\r\n")


def test_newer_radical7_lines_are_decoded():
    d = MasimoDecoder()
    rs = by_code(d.feed(RAD7_NEW * 4))
    assert rs[Code.SPO2].value == 97 and rs[Code.PR].value == 72
    assert rs[Code.PI].value == pytest.approx(2.1) and rs[Code.PI].usable
    assert rs[Code.SPO2].extra["sphb"] == pytest.approx(13.2)
    assert rs[Code.SPO2].extra["exc1_bits"] == 0
    assert d.stats.frames_accepted == 4 and d.stats.frames_rejected == 0
    assert Code.DIAGNOSTIC not in rs


def test_damaged_ascii1_lines_never_ask_for_ascii1():
    d = MasimoDecoder()
    damaged = RAD7_NEW.replace(b"EXC1=00000000", b"EXC1=0000ZZ00")
    out = d.feed(damaged * 20)
    assert d.stats.frames_rejected == 20
    assert not [r for r in out if r.code == Code.DIAGNOSTIC]


@pytest.mark.parametrize(("bits", "text", "priority", "code", "direction"), [
    (0x0002, "SpO2 low", "high", Code.SPO2, "low"),
    (0x0004, "pulse rate high", "high", Code.PR, "high"),
    (0x0008, "pulse rate low", "high", Code.PR, "low"),
    (0x1000, "desaturation index", "medium", Code.SPO2, ""),
])
def test_alarm_bits_become_patient_alarms(bits, text, priority, code, direction):
    rs = by_code(MasimoDecoder().feed(RAD8.replace(b"ALARM=0000", b"ALARM=%04X" % bits)))
    (a,) = rs[Code.DEVICE_ALARM].extra["device_alarms"]
    assert (a.text, a.kind, a.priority, a.code, a.direction) == (
        text, "physiological", priority, code, direction)
    assert Quality.IN_ALARM in rs[code].quality and rs[code].usable


@pytest.mark.parametrize(("exc", "words", "flag", "raised"), [
    (0x000002, "defective sensor", Quality.INVALID, True),
    (0x000010, "interference", Quality.QUESTIONABLE, True),
    (0x000040, "ambient light", Quality.QUESTIONABLE, True),
    (0x000080, "unrecognised sensor", Quality.INVALID, True),
    (0x000400, "low signal IQ", Quality.QUESTIONABLE, True),
    (0x001000, "no cable connected", Quality.INVALID, True),
    (0x020000, "sensor initialising", Quality.CALIBRATING, False),
    (0x000004, "low perfusion", Quality.QUESTIONABLE, False),
])
def test_exception_bits_flag_values_and_raise_technical_conditions(exc, words, flag, raised):
    line = RAD8.replace(b"EXC=000800", b"EXC=%06X" % (0x800 | exc))
    rs = by_code(MasimoDecoder().feed(line))
    assert flag in rs[Code.SPO2].quality and flag in rs[Code.PR].quality
    listed = rs[Code.DEVICE_ALARM].extra["device_alarms"]
    assert [a.text for a in listed] == ([f"{words}"] if raised else [])
    assert all(a.kind == "technical" for a in listed)


def test_sensor_off_stays_the_stations_own_condition():
    rs = by_code(MasimoDecoder().feed(RAD8.replace(b"EXC=000800", b"EXC=000820")))
    assert rs[Code.SENSOR_OFF].value == "sensor off"
    assert rs[Code.DEVICE_ALARM].extra["device_alarms"] == ()


def test_the_alarm_list_is_reported_when_it_changes_not_every_line():
    d = MasimoDecoder()
    lines = [RAD8] * 3 + [RAD8.replace(b"ALARM=0000", b"ALARM=0002")] * 3 + [RAD8]
    reports = []
    for line in lines:
        reports += [r for r in d.feed(line) if r.code == Code.DEVICE_ALARM]
    assert [len(r.extra["device_alarms"]) for r in reports] == [0, 1, 0]


@FAST
@given(noise=st.binary(max_size=200), alarm=st.integers(0, 0xFFFF),
       exc=st.integers(0, 0xFFFFFF))
def test_any_bits_and_noise_never_raise_and_the_next_line_decodes(noise, alarm, exc):
    d = MasimoDecoder()
    line = RAD7_NEW.replace(b"ALARM=0000", b"ALARM=%04X" % alarm).replace(
        b"EXC=000800", b"EXC=%06X" % exc)
    d.feed(noise + b"\r\n" + line)
    rs = by_code(d.feed(RAD8))
    assert rs[Code.SPO2].value == 98
