"""IntelliVue decoder, monitor → host. Messages here are assembled by hand from the layout in
intellivue.md (struct.pack), not with the package's own builders, so a shared mistake in the
builder and the parser cannot hide."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.core.vocabulary import Quality
from nursestation.devices.intellivue import IntelliVueDecoder, make_decoder
from nursestation.devices.intellivue.decoder import (
    AssociationAborted,
    AssociationAccepted,
    AssociationRefused,
    MdsCreated,
    PollResult,
)
from nursestation.devices.intellivue.framing import encode_frame

H = ">H"
T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
REL0 = 1_000_000  # monitor RelativeTime at T0


def p16(*values: int) -> bytes:
    return b"".join(struct.pack(H, v) for v in values)


def p32(v: int) -> bytes:
    return struct.pack(">I", v)


def ava(attr_id: int, value: bytes) -> bytes:
    return p16(attr_id, len(value)) + value


def attr_list(*avas: bytes) -> bytes:
    body = b"".join(avas)
    return p16(len(avas), len(body)) + body


def nu(physio: int, state: int, unit: int, raw_float: int) -> bytes:
    return p16(physio, state, unit) + p32(raw_float)


def compound(*values: bytes) -> bytes:
    body = b"".join(values)
    return p16(len(values), len(body)) + body


def poll_reply(obj_code: int, observations: list[tuple[int, bytes]], *, rel_time: int = REL0,
               invoke: int = 5, linked: tuple[int, int] | None = None, seq: int = 0) -> bytes:
    obs = b"".join(p16(handle) + attrs for handle, attrs in observations)
    poll_info = p16(1, 6 + len(obs)) + p16(0, len(observations), len(obs)) + obs
    reply = (p16(1, seq) + p32(rel_time) + b"\xff" * 8 + p16(1, obj_code, 0) + poll_info)
    action_result = p16(0x21, 0, 0, 0xF13B, len(reply)) + reply
    apdu = p16(invoke, 7, len(action_result)) + action_result
    if linked is None:
        return p16(0xE100, 2, 2, len(apdu)) + apdu
    apdu = bytes(linked) + apdu
    return p16(0xE100, 2, 5, len(apdu)) + apdu


def mds_create(invoke: int = 9, wall: datetime = T0, rel: int = REL0) -> bytes:
    bcd = bytes(int(str(v), 16) for v in (wall.year // 100, wall.year % 100, wall.month,
                                           wall.day, wall.hour, wall.minute, wall.second, 0))
    info = p16(0x21, 0, 0) + attr_list(ava(0x0987, bcd), ava(0x098F, p32(rel)))
    arg = p16(0x21, 0, 0) + p32(rel) + p16(0x0D06, len(info)) + info
    apdu = p16(invoke, 1, len(arg)) + arg
    return p16(0xE100, 2, 1, len(apdu)) + apdu


def decoder_with_clock() -> IntelliVueDecoder:
    d = IntelliVueDecoder()
    assert d.feed(encode_frame(mds_create())) == []
    return d


def by_code(readings):
    return {r.code: r for r in readings}


# --- association answers and the MDS create event ---------------------------------------------


def test_association_answers_become_events():
    d = make_decoder()
    d.feed(encode_frame(bytes.fromhex("0c03320100")))
    d.feed(encode_frame(bytes.fromhex("192e110103") + bytes(43)))
    d.feed(encode_frame(bytes([0x0E, 0x03, 0, 0, 0])))  # accepted, user data not parseable
    events = d.take_events()
    assert isinstance(events[0], AssociationRefused)
    assert isinstance(events[1], AssociationAborted)
    assert isinstance(events[2], AssociationAccepted) and events[2].info is None


def test_mds_create_event_sets_the_device_clock():
    d = IntelliVueDecoder()
    d.feed(encode_frame(mds_create(invoke=0x1234)))
    (ev,) = d.take_events()
    assert isinstance(ev, MdsCreated)
    assert ev.invoke_id == 0x1234 and ev.managed_object == (0x21, 0, 0)
    assert d.device_time(REL0 + 8000 * 90) == T0 + timedelta(seconds=90)


def test_device_clock_in_another_time_zone_becomes_utc():
    d = IntelliVueDecoder(device_tz=timezone(timedelta(hours=-5)))
    d.feed(encode_frame(mds_create(wall=datetime(2026, 1, 5, 4, 0, 0))))
    assert d.device_time(REL0) == T0


def test_relative_time_wraps_around():
    d = IntelliVueDecoder()
    d.feed(encode_frame(mds_create(rel=2**32 - 8000)))
    assert d.device_time(8000) == T0 + timedelta(seconds=2)


# --- numerics -----------------------------------------------------------------------------------


def test_numerics_values_units_and_device_time():
    d = decoder_with_clock()
    reply = poll_reply(0x0006, [
        (0x10, attr_list(ava(0x0950, nu(0x4182, 0, 0x0AA0, 0x00000048)))),  # HR 72
        (0x11, attr_list(ava(0x0950, nu(0x4BB8, 0, 0x0220, 0xFF0003D5)))),  # SpO2 98.1
        (0x12, attr_list(ava(0x0950, nu(0x4B48, 0, 0x17A0, 0xFF00016F)))),  # TEMP 36.7 °C
        (0x13, attr_list(ava(0x0950, nu(0x500A, 0, 0x0AE0, 0x0000000E)))),  # RR 14
        (0x14, attr_list(ava(0x0950, nu(0x4BB0, 0, 0x0200, 0xFE0000EB)))),  # PI 2.35
    ], rel_time=REL0 + 8000 * 5)
    got = by_code(d.feed(encode_frame(reply)))
    assert got["HR"].value == 72 and got["HR"].unit == "bpm"
    assert got["SPO2"].value == pytest.approx(98.1) and got["SPO2"].unit == "%"
    assert got["TEMP"].value == pytest.approx(36.7) and got["TEMP"].unit == "°C"
    assert got["RR"].value == 14
    assert got["PI"].value == pytest.approx(2.35)
    assert all(r.quality == frozenset() and r.usable for r in got.values())
    assert got["HR"].device_time == T0 + timedelta(seconds=5)
    assert d.stats.frames_accepted == 2 and d.stats.frames_rejected == 0


def test_nbp_compound_arrives_as_three_codes_with_the_measurement_time():
    d = decoder_with_clock()
    measured = bytes([0x20, 0x26, 0x01, 0x05, 0x08, 0x58, 0x30, 0x00])  # 08:58:30
    nbp = compound(nu(0x4A05, 0, 0x0F20, 0x0000007B), nu(0x4A06, 0, 0x0F20, 0x0000004F),
                   nu(0x4A07, 0, 0x0F20, 0x0000005D))
    reply = poll_reply(0x0006, [(0x17, attr_list(ava(0x094B, nbp), ava(0x0990, measured)))])
    got = by_code(d.feed(encode_frame(reply)))
    assert {k: v.value for k, v in got.items()} == {"NBP_SYS": 123, "NBP_DIA": 79, "NBP_MEAN": 93}
    assert all(r.unit == "mmHg" for r in got.values())
    assert got["NBP_SYS"].device_time == datetime(2026, 1, 5, 8, 58, 30, tzinfo=UTC)


def test_nbp_mean_only():
    d = decoder_with_clock()
    nbp = compound(nu(0x4A07, 0, 0x0F20, 0x0000005D))
    got = d.feed(encode_frame(poll_reply(0x0006, [(0x17, attr_list(ava(0x094B, nbp)))])))
    assert [(r.code, r.value) for r in got] == [("NBP_MEAN", 93)]


def test_etco2_compound_in_kpa_is_converted_to_mmhg():
    d = decoder_with_clock()
    co2 = compound(nu(0x50B0, 0, 0x0F03, 0xFF000033), nu(0x50BA, 0, 0x0F03, 0x00000000))
    got = d.feed(encode_frame(poll_reply(0x0006, [(0x15, attr_list(ava(0x094B, co2)))])))
    assert [r.code for r in got] == ["ETCO2"]  # imCO2 has no code of ours: skipped
    assert got[0].value == pytest.approx(5.1 * 7.500617, abs=0.05) and got[0].unit == "mmHg"


def test_etco2_in_percent_is_not_usable_and_says_why():
    d = decoder_with_clock()
    co2 = compound(nu(0x50B0, 0, 0x0220, 0xFF000032))  # 5.0 %
    (r,) = d.feed(encode_frame(poll_reply(0x0006, [(0x15, attr_list(ava(0x094B, co2)))])))
    assert r.code == "ETCO2" and r.value is None and not r.usable
    assert Quality.UNAVAILABLE in r.quality
    assert r.extra["raw_value"] == 5.0 and r.extra["raw_unit"] == "%"


def test_temperature_in_fahrenheit_is_converted():
    d = decoder_with_clock()
    reply = poll_reply(0x0006, [(0x12, attr_list(ava(0x0950, nu(0x4B48, 0, 0x1140, 0xFF0003DA))))])
    (r,) = d.feed(encode_frame(reply))  # 98.6 °F
    assert r.value == pytest.approx(37.0, abs=0.01) and r.unit == "°C"


@pytest.mark.parametrize(
    ("raw", "flag", "special"),
    [(0x007FFFFF, Quality.UNAVAILABLE, "nan"), (0x00800000, Quality.INVALID, "nres"),
     (0x007FFFFE, Quality.INVALID, "+inf"), (0x00800002, Quality.INVALID, "-inf")],
)
def test_special_float_values_give_no_value(raw, flag, special):
    d = decoder_with_clock()
    reply = poll_reply(0x0006, [(0x10, attr_list(ava(0x0950, nu(0x4182, 0, 0x0AA0, raw))))])
    (r,) = d.feed(encode_frame(reply))
    assert r.value is None and flag in r.quality and not r.usable
    assert r.extra["special"] == special


@pytest.mark.parametrize(
    ("state", "flags", "usable"),
    [
        (0x0000, set(), True),
        (0x8000, {Quality.INVALID}, False),
        (0x4000, {Quality.QUESTIONABLE}, True),
        (0x2000, {Quality.UNAVAILABLE}, False),
        (0x1000, {Quality.CALIBRATING}, False),
        (0x0800, {Quality.TEST_DATA}, False),
        (0x0400, {Quality.DEMO_DATA}, True),
        (0x0002, {Quality.IN_ALARM}, True),
        (0x0001, {Quality.ALARMS_OFF}, True),
        (0x0080 | 0x0020, set(), True),  # validated / measurement ongoing: low byte, still valid
        (0x8000 | 0x0002, {Quality.INVALID, Quality.IN_ALARM}, False),
    ],
)
def test_measurement_state_becomes_quality(state, flags, usable):
    d = decoder_with_clock()
    reply = poll_reply(0x0006, [(0x10, attr_list(ava(0x0950, nu(0x4182, state, 0x0AA0, 60))))])
    (r,) = d.feed(encode_frame(reply))
    assert r.quality == frozenset(flags)
    assert r.usable is usable


def test_unknown_physio_ids_and_attributes_are_skipped_without_error():
    d = decoder_with_clock()
    reply = poll_reply(0x0006, [
        (0x30, attr_list(ava(0x0950, nu(0xF0E5, 0, 0x0AA0, 70)), ava(0x0924, p32(0x1234)))),
        (0x10, attr_list(ava(0x0950, nu(0x4182, 0, 0x0AA0, 70)))),
    ])
    assert [r.code for r in d.feed(encode_frame(reply))] == ["HR"]
    assert d.stats.frames_rejected == 0


def test_pulse_rate_fallback_only_without_pleth_pulse_rate():
    d = decoder_with_clock()
    fallback = (0x31, attr_list(ava(0x0950, nu(0x480A, 0, 0x0AA0, 70))))
    assert [r.value for r in d.feed(encode_frame(poll_reply(6, [fallback])))] == [70]
    pleth = (0x11, attr_list(ava(0x0950, nu(0x4822, 0, 0x0AA0, 71))))
    got = d.feed(encode_frame(poll_reply(6, [pleth, fallback])))
    assert [(r.code, r.value) for r in got] == [("PR", 71)]


def test_linked_results_are_decoded_part_by_part():
    d = decoder_with_clock()
    hr = (0x10, attr_list(ava(0x0950, nu(0x4182, 0, 0x0AA0, 72))))
    spo2 = (0x11, attr_list(ava(0x0950, nu(0x4BB8, 0, 0x0220, 97))))
    first = d.feed(encode_frame(poll_reply(6, [hr], linked=(1, 1))))
    assert [(r.code, r.value) for r in first] == [("HR", 72)]
    second = d.feed(encode_frame(poll_reply(6, [spo2], linked=(3, 2))))
    assert [(r.code, r.value) for r in second] == [("SPO2", 97)]
    # the terminating RORS with an empty poll info list
    empty = p16(1, 0) + p32(REL0) + b"\xff" * 8 + p16(1, 6, 0) + p16(0, 0)
    action = p16(0x21, 0, 0, 0xF13B, len(empty)) + empty
    apdu = p16(5, 7, len(action)) + action
    assert d.feed(encode_frame(p16(0xE100, 2, 2, len(apdu)) + apdu)) == []
    polls = [e for e in d.take_events() if isinstance(e, PollResult)]
    assert [p.linked for p in polls] == [(1, 1), (3, 2), None]
    assert d.stats.frames_rejected == 0


def test_malformed_message_in_a_good_frame_is_rejected_not_raised():
    d = decoder_with_clock()
    good = poll_reply(6, [(0x10, attr_list(ava(0x0950, nu(0x4182, 0, 0x0AA0, 72))))])
    broken = bytearray(good)
    broken[6:8] = p16(len(good))  # ROapdus length runs past the end
    assert d.feed(encode_frame(bytes(broken)) + encode_frame(good))[0].value == 72
    assert d.stats.frames_rejected == 1
    assert d.stats.frames_accepted == 2  # the MDS event and the good reply
    assert d.feed(encode_frame(b"\x42\x00")) == []  # unknown message type
    assert d.stats.frames_rejected == 2


# --- waves --------------------------------------------------------------------------------------


def wave_context(physio: int, period_ticks: int, lo_abs: int, hi_abs: int, lo: int, hi: int,
                 unit: int = 0x10B2, bits: int = 12, flags: int = 0x1000) -> list[bytes]:
    return [
        ava(0x092F, p16(2, physio)),
        ava(0x096D, p16(128) + bytes([16, bits]) + p16(flags)),
        ava(0x098D, p32(period_ticks)),
        ava(0x0996, p16(unit)),
        ava(0x096F, p32(lo_abs) + p32(hi_abs) + p16(lo, hi)),
    ]


def sa_obs(physio: int, samples: list[int], state: int = 0) -> bytes:
    raw = b"".join(struct.pack(">H", s) for s in samples)
    return ava(0x096E, p16(physio, state, len(raw)) + raw)


def test_ecg_wave_scaled_to_mv_at_500_hz():
    d = decoder_with_clock()
    # scaled 0..4000 <-> -2.000..+2.000 mV (FLOAT -2000e-3 and 2000e-3)
    ctx = wave_context(0x0102, 16, 0xFDFFF830, 0xFD0007D0, 0, 4000)
    samples = [0, 1000, 2000, 3000, 4000, 0xF000 | 2000]  # the top bits are masked off
    reply = poll_reply(9, [(0x0101, attr_list(*ctx, sa_obs(0x0102, samples)))],
                       rel_time=REL0 + 8000)
    (r,) = d.feed(encode_frame(reply))
    assert r.code == "ECG" and r.unit == "mV" and r.rate_hz == 500.0
    assert r.samples.dtype == np.float32
    np.testing.assert_allclose(r.samples, [-2, -1, 0, 1, 2, 0], atol=1e-6)
    assert r.device_time == T0 + timedelta(seconds=1)


def test_pleth_wave_without_absolute_values_is_0_to_1_at_125_hz():
    d = decoder_with_clock()
    ctx = wave_context(0x4BB4, 64, 0x007FFFFF, 0x007FFFFF, 0, 4095, unit=0x0200)
    reply = poll_reply(9, [(0x0102, attr_list(*ctx, sa_obs(0x4BB4, [0, 4095, 2047])))])
    (r,) = d.feed(encode_frame(reply))
    assert r.code == "PLETH" and r.rate_hz == 125.0
    np.testing.assert_allclose(r.samples, [0.0, 1.0, 2047 / 4095], atol=1e-6)


def test_wave_context_is_remembered_between_replies():
    d = decoder_with_clock()
    ctx = wave_context(0x0102, 16, 0xFDFFF830, 0xFD0007D0, 0, 4000)
    assert d.feed(encode_frame(poll_reply(9, [(0x0101, attr_list(*ctx))]))) == []
    (r,) = d.feed(encode_frame(poll_reply(9, [(0x0101, attr_list(sa_obs(0x0102, [3000])))])))
    np.testing.assert_allclose(r.samples, [1.0], atol=1e-6)


def test_wave_without_scaling_yet_is_held_back_not_guessed():
    d = decoder_with_clock()
    assert d.feed(encode_frame(poll_reply(9, [(0x0101, attr_list(sa_obs(0x0102, [1, 2])))]))) == []
    assert d.stats.frames_rejected == 0


def test_wave_state_becomes_quality():
    d = decoder_with_clock()
    ctx = wave_context(0x4BB4, 64, 0x007FFFFF, 0x007FFFFF, 0, 4095, unit=0x0200)
    reply = poll_reply(9, [(0x0102, attr_list(*ctx, sa_obs(0x4BB4, [1], state=0x8000)))])
    (r,) = d.feed(encode_frame(reply))
    assert r.quality == frozenset({Quality.INVALID})


# --- properties ---------------------------------------------------------------------------------

_GOOD = [
    mds_create(),
    poll_reply(6, [(0x10, attr_list(ava(0x0950, nu(0x4182, 0, 0x0AA0, 72))))]),
    poll_reply(9, [(0x0101, attr_list(*wave_context(0x0102, 16, 0xFDFFF830, 0xFD0007D0, 0, 4000),
                                      sa_obs(0x0102, [1, 2, 3])))]),
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_GOOD), st.data())
def test_mutated_messages_in_good_frames_never_raise(message, data):
    msg = bytearray(message)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(msg) - 1))
        msg[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(msg)))
    d = IntelliVueDecoder()
    d.feed(encode_frame(bytes(msg[:cut])))
    assert d.stats.frames_accepted + d.stats.frames_rejected == 1
    # and the decoder still reads the next good message
    hr = d.feed(encode_frame(_GOOD[1]))
    assert [r.code for r in hr] == ["HR"]
