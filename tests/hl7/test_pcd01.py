"""PCD-01 messages from gateways: numerics by MDC code (or Philips MDIL id) and unit, mapped
onto the canonical vocabulary, with the reason for anything refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hl7apy.parser import parse_message
from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.core.vocabulary import Code, Quality
from nursestation.hl7 import codes
from nursestation.hl7.pcd01 import (
    MessageError,
    PatientIdent,
    VitalRow,
    build_ack,
    build_oru,
    parse_ack,
    parse_pcd01,
)
from tests.hl7.messages import cuff_style, ge_style, philips_style


def by_code(msg):
    return {r.code: (r, eq) for r, eq in msg.readings}


def test_ge_style_message_gives_every_vital_with_its_unit_time_bed_and_device():
    msg = parse_pcd01(ge_style().encode())
    assert msg.control_id == "GE0001"
    assert msg.bed == "INFUSION^^C4" and msg.bed_components[2] == "C4"
    assert msg.patient_id == "PT55120" and msg.patient_name == "ANA RIVERA"
    got = by_code(msg)
    hr, device = got[Code.HR]
    assert hr.value == 72 and hr.unit == "bpm" and device == "00A0C8FFFE1234AB"
    assert hr.device_time == datetime(2026, 1, 5, 14, 14, 55, tzinfo=UTC)  # -0500 honoured
    assert got[Code.NBP_SYS][0].value == 131 and got[Code.NBP_DIA][0].value == 84
    assert got[Code.NBP_MEAN][0].value == 99
    assert got[Code.NBP_SYS][0].device_time == datetime(2026, 1, 5, 14, 12, 30, tzinfo=UTC)
    assert got[Code.SPO2][0].value == 97 and got[Code.SPO2][0].unit == "%"
    assert got[Code.PR][0].value == 71
    assert got[Code.RR][0].value == 15
    # 5.2 kPa end-tidal CO2 is 39.0 mmHg
    assert got[Code.ETCO2][0].value == pytest.approx(39.0, abs=0.05)
    assert got[Code.ETCO2][0].unit == "mmHg"
    assert got[Code.TEMP][0].value == 36.8 and got[Code.TEMP][0].site == "core"
    # the invasive arterial pressure is not ours: listed, not silently lost, not an error
    assert any("150033" in x for x in msg.ignored)
    assert msg.problems == []


def test_philips_mdil_ids_are_looked_up_not_computed():
    msg = parse_pcd01(philips_style().encode())
    got = by_code(msg)
    assert got[Code.HR][0].value == 64
    # IntelliVue's pleth pulse (0x4822) is a pulse rate by lookup; 2*65536+0x4822 is not the
    # MDC pulse-oximetry pulse code
    assert got[Code.PR][0].value == 63
    assert 2 * 65536 + 0x4822 != codes.OUTBOUND[Code.PR].mdc
    # OBX-11 X, no value: the monitor shows "?"; say so instead of keeping the last value
    spo2 = got[Code.SPO2][0]
    assert spo2.value is None and Quality.UNAVAILABLE in spo2.quality
    assert got[Code.NBP_SYS][0].value == 122
    assert got[Code.RR][0].value == 18
    assert got[Code.TEMP][0].value == pytest.approx(37.28, abs=0.01)  # 99.1 °F
    assert msg.bed == "C2"


def test_cuff_codes_are_blood_pressure_and_offsets_become_utc():
    msg = parse_pcd01(cuff_style().encode())
    got = by_code(msg)
    assert (got[Code.NBP_SYS][0].value, got[Code.NBP_DIA][0].value,
            got[Code.NBP_MEAN][0].value) == (141, 92, 108)
    assert got[Code.NBP_SYS][0].device_time == datetime(2026, 1, 5, 9, 58, tzinfo=UTC)
    assert Code.PR not in got  # a cuff's pulse is not a pleth pulse: not ours, and listed
    assert any("149546" in x for x in msg.ignored)


def test_etco2_as_a_percentage_is_converted_and_says_how():
    text = ge_style().replace("5.2|265987^MDC_DIM_KILO_PASCAL^MDC",
                              "5.0|262688^MDC_DIM_PERCENT^MDC")
    r = by_code(parse_pcd01(text))[Code.ETCO2][0]
    assert r.value == pytest.approx(38.0)
    assert r.extra["converted_from"] == "5.0 %" and r.extra["barometric_mmHg"] == 760.0


@pytest.mark.parametrize("old,new,why", [
    ("|97|262688^MDC_DIM_PERCENT^MDC", "|9x7|262688^MDC_DIM_PERCENT^MDC", "is not a number"),
    ("|97|262688^MDC_DIM_PERCENT^MDC", "|97|266016^MDC_DIM_MMHG^MDC", "does not fit SPO2"),
    ("|97|262688^MDC_DIM_PERCENT^MDC", "|97|999^MDC_DIM_FURLONG^MDC", "not one NurseStation knows"),
])
def test_a_refused_value_is_named_and_the_rest_of_the_message_is_kept(old, new, why):
    msg = parse_pcd01(ge_style().replace(old, new))
    assert len(msg.problems) == 1 and why in msg.problems[0] and "OBX 11" in msg.problems[0]
    got = by_code(msg)
    assert Code.SPO2 not in got and got[Code.HR][0].value == 72


@pytest.mark.parametrize("raw,code,why", [
    (b"", "AR", "MSH"),
    (b"hello world", "AR", "MSH"),
    (b"MSH|^~\\&|A|B|C|D|20260101||ADT^A01^ADT_A01|77|P|2.6\rPID|||1", "AR", "ADT^A01"),
    (b"MSH|", "AR", "MSH"),
])
def test_messages_we_do_not_take_are_refused_with_the_reason(raw, code, why):
    with pytest.raises(MessageError) as exc:
        parse_pcd01(raw)
    assert exc.value.ack_code == code and why in exc.value.reason


def test_ack_is_valid_hl7_for_another_parser_and_carries_the_reason():
    msg = parse_pcd01(ge_style())
    ack = build_ack("AE", msg.control_id, "OBX 11: value 'x' is not a number",
                    header=msg.header)
    other = parse_message(ack, find_groups=False)
    assert other.msa.msa_1.to_er7() == "AE" and other.msa.msa_2.to_er7() == "GE0001"
    back = parse_ack(ack)
    assert back.code == "AE" and back.control_id == "GE0001"
    assert "is not a number" in back.text and not back.accepted
    assert parse_ack(build_ack("AA", "GE0001")).accepted


def test_our_own_oru_reads_back_as_the_same_readings():
    at = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    rows = [VitalRow(at, "HR", 70), VitalRow(at, "PR", 69), VitalRow(at, "SPO2", 96.4),
            VitalRow(at, "NBP_SYS", 120), VitalRow(at, "ETCO2", 36), VitalRow(at, "TEMP", 36.6)]
    text = build_oru(rows, control_id="C1", patient=PatientIdent("M1", "O'Brien|X", "Ann"),
                     unit="Clinic", bed="Chair 1", visit_number="9", now=at,
                     sending_app="NURSESTATION", sending_facility="Clinic")
    msg = parse_pcd01(text)
    assert msg.patient_id == "M1"
    assert msg.bed == "Clinic^^Chair 1"
    assert {r.code: r.value for r, _ in msg.readings} == {
        "HR": 70, "PR": 69, "SPO2": 96.4, "NBP_SYS": 120, "ETCO2": 36, "TEMP": 36.6}
    assert "149530^MDC_PULS_OXIM_PULS_RATE^MDC" in text  # PR by lookup


_valid = ge_style().encode()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_only_ever_raise_message_error(data):
    try:
        parse_pcd01(data)
    except MessageError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_valid) - 1), st.sampled_from(
    [b"|", b"^", b"\r", b"~", b"\\", b"&", b"", b"x", b"\x00", b"\xff", b"9"])), max_size=8))
def test_mutated_messages_only_ever_raise_message_error(edits):
    data = bytearray(_valid)
    for pos, repl in edits:
        if pos < len(data):
            data[pos:pos + 1] = repl
    try:
        msg = parse_pcd01(bytes(data))
    except MessageError:
        return
    for r, _ in msg.readings:
        assert r.value is None or isinstance(r.value, float)
