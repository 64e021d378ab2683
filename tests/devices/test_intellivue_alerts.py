"""IntelliVue alert monitor, patient demographics and wave-poll renewal. Alarm lists are built
by hand from the guide's DevAlarmList layout (struct.pack), not with the package's encoder."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.devices.intellivue import IntelliVueSession
from nursestation.devices.intellivue.codec import parse_message
from nursestation.devices.intellivue.framing import FrameReader, encode_frame
from tests.devices.test_intellivue_decoder import (
    attr_list,
    ava,
    decoder_with_clock,
    p16,
    p32,
    poll_reply,
)
from tests.devices.test_intellivue_session import Loop, SmallScenario

AL_MON = 0x0036


def utf16(text: str) -> bytes:
    data = text.encode("utf-16-be") + b"\0\0"
    return p16(len(data)) + data


def entry(source, code, al_type, state=0, handle=0x11, text=None):
    info = p16(1) + p32(0x00010000 | code) + p16(0, 0)
    info_id = 513
    if text is not None:
        info += utf16(text)
        info_id = 516
    return struct.pack(">9H", source, code, al_type, state, 6, 0, handle, info_id,
                       len(info)) + info


def alarm_list(*entries):
    body = b"".join(entries)
    return p16(len(entries), len(body)) + body


def alerts(d, patient=(), technical=()):
    reply = poll_reply(AL_MON, [(1, attr_list(ava(0x0902, alarm_list(*patient)),
                                              ava(0x0904, alarm_list(*technical))))])
    got = d.feed(encode_frame(reply))
    return [r for r in got if r.code == "DEVICE_ALARM"]


def test_patient_and_technical_alarms_with_source_code_type_and_text():
    d = decoder_with_clock()
    (r,) = alerts(d, patient=[entry(0x4BB8, 62, 0x0400, text="**SpO2 86 < 90")],
                  technical=[entry(0x4BB8, 442, 0x0002, text="SpO2 NON-PULSATILE"),
                             entry(0x4A04, 242, 0x0001)])  # NBP EQUIP MALF, codes only
    desat, nonpuls, nbp = r.extra["device_alarms"]
    assert (desat.kind, desat.priority, desat.code, desat.direction, desat.text) == (
        "physiological", "high", "SPO2", "low", "**SpO2 86 < 90")
    assert (nonpuls.kind, nonpuls.priority, nonpuls.text) == (
        "technical", "medium", "SpO2 NON-PULSATILE")
    assert (nbp.kind, nbp.priority, nbp.text) == ("technical", "low", "NBP EQUIP MALF")
    assert r.value == "**SpO2 86 < 90; SpO2 NON-PULSATILE; NBP EQUIP MALF"


def test_leads_off_from_the_ecg_source():
    d = decoder_with_clock()
    (r,) = alerts(d, technical=[entry(0x0100, 274, 0x0002)])
    (a,) = r.extra["device_alarms"]
    assert a.text == "ECG LEADS OFF" and a.code == "ECG"


def test_inhibited_or_suspended_alarms_are_not_raised():
    d = decoder_with_clock()
    (r,) = alerts(d, patient=[entry(0x4BB8, 62, 0x0400, state=0x8000),
                              entry(0x4182, 40, 0x0200, state=0x4000)])
    assert r.extra["device_alarms"] == () and r.value is None


def test_the_list_is_reported_when_it_changes():
    d = decoder_with_clock()
    first = alerts(d, technical=[entry(0x0100, 274, 0x0002)])
    assert len(first) == 1
    assert alerts(d, technical=[entry(0x0100, 274, 0x0002)]) == []  # unchanged
    (cleared,) = alerts(d)
    assert cleared.extra["device_alarms"] == ()


def test_patient_demographics():
    d = decoder_with_clock()
    attrs = attr_list(ava(0x0957, p16(2)), ava(0x095A, utf16("MRN-00042")),
                      ava(0x095D, utf16("Ana")), ava(0x095C, utf16("Lima")))
    (r,) = d.feed(encode_frame(poll_reply(0x002A, [(1, attrs)])))
    assert r.code == "DEVICE_PATIENT" and r.value == "MRN-00042"
    assert r.extra["family_name"] == "Lima"
    # discharged at the monitor: no patient
    attrs = attr_list(ava(0x0957, p16(8)), ava(0x095A, utf16("MRN-00042")))
    (r,) = d.feed(encode_frame(poll_reply(0x002A, [(1, attrs)])))
    assert r.value is None


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=120), count=st.integers(0, 5))
def test_garbage_alarm_lists_never_raise_and_a_following_list_decodes(raw, count):
    d = decoder_with_clock()
    bad = p16(count, len(raw)) + raw
    d.feed(encode_frame(poll_reply(AL_MON, [(1, attr_list(ava(0x0904, bad)))])))
    (r,) = alerts(d, technical=[entry(0x0100, 274, 0x0002, handle=0x77)])
    assert [a.text for a in r.extra["device_alarms"]] == ["ECG LEADS OFF"]


# --- with the simulated monitor -------------------------------------------------------------


def test_monitor_alarms_reach_the_host():
    loop = Loop(SmallScenario(spo2=86.0, hr=130.0), inops=True)
    got = loop.run(6.0)
    listed = [r for r in got if r.code == "DEVICE_ALARM"][-1].extra["device_alarms"]
    texts = {a.text for a in listed}
    assert "**SpO2 86 < 90" in texts and "**HR 130 > 120" in texts
    assert "LEADS OFF" in texts


def test_sensor_off_shows_as_a_monitor_inop():
    loop = Loop(SmallScenario(spo2=None, pr=None, pi=None, sensor_off=True))
    got = loop.run(4.0)
    listed = [r for r in got if r.code == "DEVICE_ALARM"][-1].extra["device_alarms"]
    assert [(a.text, a.kind) for a in listed] == [("SpO2 NON-PULSATILE", "technical")]


def test_the_monitors_admitted_patient_reaches_the_host():
    loop = Loop(patient_id="MRN-7", patient_name=("Ana", "Lima"))
    got = loop.run(3.0)
    (r,) = [r for r in got if r.code == "DEVICE_PATIENT"]
    assert r.value == "MRN-7" and r.extra["given_name"] == "Ana"


def test_renewed_wave_polls_repeat_samples_that_the_host_drops():
    loop = Loop()
    loop.run(1.0)
    got = loop.run(2 * IntelliVueSession.WAVE_RENEW_S + 3)
    assert loop.ses.decoder.wave_samples_dropped > 0  # the simulator did repeat samples
    ecg = [r for r in got if r.code == "ECG"]
    t = [(r.device_time - ecg[0].device_time).total_seconds() for r in ecg]
    for a, ta, tb in zip(ecg, t, t[1:], strict=False):
        assert tb == pytest.approx(ta + len(a.samples) / 500.0, abs=1e-3)  # no overlap, no gap


def test_silence_leads_to_an_abort_then_a_new_association():
    loop = Loop()
    loop.run(2.0)
    loop.link_up = False
    sent = []
    for _ in range(int((IntelliVueSession.REASSOCIATE_AFTER_S + 1) / 0.05)):
        loop.t = round(loop.t + 0.05, 6)
        loop.ses.tick(loop.now)
        sent += FrameReader().feed(loop.ses.outgoing())
    firsts = [m[0] for m in sent if m[0] != 0xE1]
    assert firsts[-2:] == [0x19, 0x0D]  # abort, then the association request
    assert all(parse_message(m) for m in sent if m[0] == 0xE1)
