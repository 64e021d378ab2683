"""IntelliVue message encoding: FLOAT-Type, the guide's example messages, association blocks."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.devices.intellivue import constants as C
from nursestation.devices.intellivue.codec import (
    MdseUserInfo,
    ParseError,
    build_assoc_request,
    build_mds_create_result,
    build_poll_reply,
    build_poll_request,
    decode_abs_time,
    decode_float,
    encode_abs_time,
    encode_float,
    float_special,
    parse_assoc_user_info,
    parse_message,
)


@pytest.mark.parametrize(
    ("raw", "value"),
    [(0xFD007D00, 32.0), (0xFF000140, 32.0), (0x01000140, 3200.0), (0x02000020, 3200.0)],
)
def test_float_check_values(raw, value):
    assert decode_float(raw) == value


def test_float_special_values():
    assert math.isnan(decode_float(0x007FFFFF)) and float_special(0x007FFFFF) == "nan"
    assert math.isnan(decode_float(0x00800000)) and float_special(0x00800000) == "nres"
    assert decode_float(0x007FFFFE) == math.inf and float_special(0x007FFFFE) == "+inf"
    assert decode_float(0x00800002) == -math.inf and float_special(0x00800002) == "-inf"
    assert float_special(0xFD007D00) is None
    # the exponent does not matter for the special values
    assert float_special(0x057FFFFF) == "nan"


def test_float_negative_mantissa_and_exponent():
    assert decode_float(0xFEFFFF9C) == -1.0  # -100 * 10^-2


C_MANTISSA_MAX = 2**23 - 3


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-80000, max_value=80000, allow_nan=False), st.integers(0, 3))
def test_float_round_trip_within_resolution(value, decimals):
    step = 10.0**-decimals
    while abs(value) / step > C_MANTISSA_MAX:  # 24-bit mantissa: coarser steps for big values
        step *= 10
    assert abs(decode_float(encode_float(value, decimals)) - value) <= 0.5 * step + 1e-9


def test_float_encode_none_is_nan():
    assert float_special(encode_float(None)) == "nan"


def test_abs_time_bcd():
    raw = encode_abs_time(datetime(2026, 1, 5, 9, 30, 59))
    assert raw == bytes([0x20, 0x26, 0x01, 0x05, 0x09, 0x30, 0x59, 0x00])
    assert decode_abs_time(raw) == datetime(2026, 1, 5, 9, 30, 59)
    assert decode_abs_time(b"\xff" * 8) is None
    assert decode_abs_time(bytes([0x20, 0x26, 0x13, 0x05, 0, 0, 0, 0])) is None  # month 13


# --- the guide's example messages ---------------------------------------------------------------


def test_mds_create_result_matches_the_guide_example():
    expected = bytes.fromhex("e1000002 00020014 00010001000e 002100000000 00484700 0d06 0000"
                             .replace(" ", ""))
    assert build_mds_create_result(1, (0x21, 0, 0), current_time=4736768) == expected


def test_extended_poll_request_matches_the_guide_example():
    expected = bytes.fromhex(
        "e1000002 00010020 00010007001a 0021000000000000 0000 f13b 000c"
        " 0001 0001 0006 0000 0000 0000".replace(" ", "")
    )
    assert build_poll_request(1, 1, C.NOM_MOC_VMO_METRIC_NU) == expected


def test_single_poll_request_matches_the_guide_example():
    expected = bytes.fromhex(
        "e1000002 0001001c 000100070016 0021000000000000 0000 0c16 0008 0001 0001 0006 0000"
        .replace(" ", "")
    )
    assert build_poll_request(1, 1, C.NOM_MOC_VMO_METRIC_NU, extended=False) == expected


def test_periodic_poll_request_carries_the_period_attribute():
    msg = parse_message(build_poll_request(7, 3, C.NOM_MOC_VMO_METRIC_SA_RT, period_ticks=240000))
    assert msg.action_type == C.NOM_ACT_POLL_MDIB_DATA_EXT
    assert msg.poll_request is not None
    assert msg.poll_request.period_ticks == 240000  # 30 s
    assert msg.poll_request.obj_code == C.NOM_MOC_VMO_METRIC_SA_RT


def test_association_request_lengths_match_the_guide_example():
    info = MdseUserInfo(min_poll_period=800000, max_mtu_rx=2500, max_mtu_tx=1000,
                        options=0x60000000, poll_ext_options=C.POLL_EXT_PERIOD_NU_AVG_60SEC)
    msg = build_assoc_request(info)
    assert msg[0] == 0x0D
    assert msg[1] == 0xEC  # session header length 236
    assert msg[16:18] == bytes([0xC1, 0xDC])  # presentation header length 220
    assert msg.endswith(bytes(16))
    back = parse_assoc_user_info(msg)
    assert back.poll_ext_options == C.POLL_EXT_PERIOD_NU_AVG_60SEC
    assert back.min_poll_period == 800000


def test_association_request_puts_the_f001_extension_inside_the_optional_packages():
    info = MdseUserInfo(poll_ext_options=C.POLL_EXT_PERIOD_NU_1SEC | C.POLL_EXT_PERIOD_RTSA)
    user = info.encode()
    # supported_aprofiles: 1 attribute (0x0001), its PollProfileSupport ends with the packages
    tail = bytes.fromhex("0001000c f0010008 88000000 00000000".replace(" ", ""))
    assert user.endswith(tail)
    assert user[:8] == bytes.fromhex("8000000040000000")


def test_parse_message_rejects_truncated_data():
    msg = build_poll_reply(1, 1, 0, C.NOM_MOC_VMO_METRIC_NU, [(0, [(1, [])])])
    with pytest.raises(ParseError):
        parse_message(msg[:-3])
