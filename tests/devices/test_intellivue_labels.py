"""IntelliVue numerics keyed on the object's label, sites and leads. Vectors are assembled by
hand from the Data Export guide's label and physiological-id tables (TextIds and NOM_ ids),
not from the package's tables."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.devices.intellivue.framing import encode_frame
from tests.devices.test_intellivue_decoder import (
    attr_list,
    ava,
    decoder_with_clock,
    nu,
    p16,
    p32,
    poll_reply,
    sa_obs,
    wave_context,
)

BPM, PCT, DEGC = 0x0AA0, 0x0220, 0x17A0
LABEL = 0x0924


def obj(label: int | None, *values: bytes) -> bytes:
    avas = [ava(0x0950, v) for v in values]
    if label is not None:
        avas.insert(0, ava(LABEL, p32(label)))
    return attr_list(*avas)


def decode(d, observations):
    return d.feed(encode_frame(poll_reply(0x0006, observations)))


def test_two_pulses_under_one_physio_id_are_told_apart_by_label():
    # the example: pulse 88 (main SpO2) and 131 (right-hand SpO2), both id 0x4822
    d = decoder_with_clock()
    got = decode(d, [
        (0x20, obj(0x00024822, nu(0x4822, 0, BPM, 88))),   # NLS_NOM_PULS_OXIM_PULS_RATE
        (0x21, obj(0x80155402, nu(0x4822, 0, BPM, 131))),  # ..._PULS_RATE_RIGHT
        (0x22, obj(0x00024BCC, nu(0x4BCC, 0, PCT, 95))),   # SpO2 r
    ])
    assert [(r.code, r.site, r.value) for r in got] == [
        ("PR", "", 88), ("PR", "right", 131), ("SPO2", "right", 95)]


def test_a_temperature_setting_is_not_a_temperature():
    d = decoder_with_clock()
    got = decode(d, [
        (0x30, obj(0x04024B48, nu(0x4B48, 0, DEGC, 0xFF00016D))),  # sTemp 36.5 (a setting)
        (0x31, obj(0x00024B60, nu(0x4B60, 0, DEGC, 0xFF000172))),  # Tcore 37.0
    ])
    assert [(r.code, r.site, r.value) for r in got] == [("TEMP", "core", pytest.approx(37.0))]


@pytest.mark.parametrize(("label", "physio", "site"), [
    (0x00024B48, 0x4B48, ""), (0x00024B60, 0x4B60, "core"), (0x0002E004, 0xE004, "rectal"),
    (0x00024B74, 0x4B74, "skin"), (0x00024B64, 0x4B64, "esophageal"),
    (0x00024B6C, 0x4B6C, "nasopharyngeal"), (0x00024B78, 0x4B78, "tympanic"),
    (0x00024B50, 0x4B50, "arterial"), (0x00024B7C, 0x4B7C, "venous"),
    (0x0002E014, 0xE014, "blood"), (0x0002F0C4, 0xF0C4, "bladder"),
    (0x00024B54, 0x4B54, "airway"), (0x0002F0C7, 0xF0C7, "T1"),
])
def test_every_temperature_site_maps_with_and_without_a_label(label, physio, site):
    d = decoder_with_clock()
    (r,) = decode(d, [(0x40, obj(label, nu(physio, 0, DEGC, 0xFF000171)))])
    assert (r.code, r.site, r.value) == ("TEMP", site, pytest.approx(36.9))
    # a monitor that never sent the label: the site-specific physio id still says it
    (r,) = decode(decoder_with_clock(), [(0x40, obj(None, nu(physio, 0, DEGC, 0xFF000171)))])
    assert (r.code, r.site) == ("TEMP", site)


@pytest.mark.parametrize(("label", "physio", "code", "site"), [
    (0x00024BC8, 0x4BC8, "SPO2", "left"), (0x0002F1C0, 0xF1C0, "SPO2", "preductal"),
    (0x0002F1D4, 0xF1D4, "SPO2", "postductal"), (0x80155401, 0x4822, "PR", "left"),
    (0x8015543D, 0x4822, "PR", "preductal"), (0x80155440, 0x4822, "PR", "postductal"),
    (0x0002F08A, 0xF08A, "PI", "left"), (0x0002F22C, 0xF22C, "PI", "preductal"),
])
def test_spo2_variants(label, physio, code, site):
    (r,) = decode(decoder_with_clock(), [(0x50, obj(label, nu(physio, 0, PCT, 97)))])
    assert (r.code, r.site) == (code, site)


def test_label_is_kept_per_handle_between_replies():
    d = decoder_with_clock()
    decode(d, [(0x21, obj(0x80155402, nu(0x4822, 0, BPM, 131)))])
    (r,) = decode(d, [(0x21, obj(None, nu(0x4822, 0, BPM, 130)))])  # dynamic attributes only
    assert (r.code, r.site, r.value) == ("PR", "right", 130)


def test_pulse_from_an_arterial_line_is_not_the_pleth_pulse():
    # NLS_PRESS_NAMES_PULSE_FROM_ABP carries NOM_PULS_RATE, like the generic pulse
    assert decode(decoder_with_clock(), [(0x60, obj(0x80035402, nu(0x480A, 0, BPM, 70)))]) == []


def test_nbp_compound_by_label_keeps_its_parts():
    d = decoder_with_clock()
    body = p16(3, 30) + nu(0x4A05, 0, 0x0F20, 120) + nu(0x4A06, 0, 0x0F20, 80) \
        + nu(0x4A07, 0, 0x0F20, 93)
    got = d.feed(encode_frame(poll_reply(0x0006, [
        (0x70, attr_list(ava(LABEL, p32(0x00024A04)), ava(0x094B, body)))])))
    assert [(r.code, r.value) for r in got] == [("NBP_SYS", 120), ("NBP_DIA", 80),
                                                 ("NBP_MEAN", 93)]


@pytest.mark.parametrize(("physio", "lead"), [
    (0x0100, ""), (0x0101, "I"), (0x0102, "II"), (0x013D, "III"), (0x013E, "aVR"),
    (0x013F, "aVL"), (0x0140, "aVF"), (0x0103, "V1"), (0x0108, "V6"), (0x0143, "V"),
    (0x014B, "MCL"),
])
def test_every_ecg_lead_is_accepted_and_named(physio, lead):
    d = decoder_with_clock()
    ctx = wave_context(physio, 16, 0xFDFFF830, 0xFD0007D0, 0, 4000)
    (r,) = d.feed(encode_frame(poll_reply(9, [(0x0101, attr_list(*ctx, sa_obs(physio, [2000])))])))
    assert (r.code, r.site) == ("ECG", lead)
    np.testing.assert_allclose(r.samples, [0.0], atol=1e-6)


def test_external_ecg_lead_named_by_its_label():
    d = decoder_with_clock()
    ctx = wave_context(0x0100, 16, 0xFDFFF830, 0xFD0007D0, 0, 4000)
    (r,) = d.feed(encode_frame(poll_reply(9, [(0x0101, attr_list(
        ava(LABEL, p32(0x04010764)), *ctx, sa_obs(0x0100, [2000])))])))  # NLS_NOM_EMFC_L_V1
    assert (r.code, r.site) == ("ECG", "V1")


@settings(max_examples=150, deadline=None)
@given(labels=st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=6),
       physios=st.lists(st.integers(0, 0xFFFF), min_size=6, max_size=6))
def test_any_labels_never_raise_and_a_following_valid_reply_decodes(labels, physios):
    d = decoder_with_clock()
    obs = [(0x100 + i, obj(label, nu(physios[i], 0, BPM, 60))) for i, label in enumerate(labels)]
    d.feed(encode_frame(poll_reply(0x0006, obs)))
    got = decode(d, [(0x999, obj(0x00024182, nu(0x4182, 0, BPM, 61)))])
    assert [(r.code, r.value) for r in got] == [("HR", 61)]


def test_simulated_monitor_with_a_second_spo2_site_a_site_temperature_and_a_setting():
    from tests.devices.test_intellivue_session import Loop, SmallScenario

    loop = Loop(SmallScenario(pr=88.0, temp=37.2), second_spo2=True, temp_label=0x00024B60,
                ecg_lead="aVF")
    got = loop.run(4.0)
    pulses = {(r.site, r.value) for r in got if r.code == "PR"}
    assert pulses == {("", 88.0), ("right", 90.0)}  # two pulses, never both as the main PR
    temps = {(r.site, round(r.value, 1)) for r in got if r.code == "TEMP"}
    assert temps == {("core", 37.2)}  # Tcore; the 36.5 sTemp setting is not one
    assert {r.site for r in got if r.code == "ECG"} == {"aVF"}
    # the labels came once, at the start of the association, and were kept per handle
    later = [r for r in got if r.code == "PR" and r.site == "right"]
    assert len(later) >= 3
