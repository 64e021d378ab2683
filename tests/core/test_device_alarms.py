"""The devices' own alarms in the chair's alarm engine: raised, cleared, de-duplicated."""

from __future__ import annotations

from nursestation.core.alarms import AlarmEngine, AlarmKind, ChangeKind
from nursestation.core.clock import FakeClock
from nursestation.core.protocol import load_protocol
from nursestation.core.readings import DeviceAlarm, Reading
from nursestation.core.vocabulary import Code
from nursestation.paths import resource_path

CFG = load_protocol(resource_path("protocols", "ketamine-iv.toml")).alarms
MON = "monitor-1"
DESAT = DeviceAlarm("0x4bb8:62", "SpO2 LOW", "physiological", "high", Code.SPO2, "low")
NONPULS = DeviceAlarm("0x4bb8:74", "SpO2 NON-PULSATILE", "technical", "medium", Code.SPO2)


def listing(*alarms, dev=MON):
    return Reading(Code.DEVICE_ALARM, "; ".join(a.text for a in alarms) or None, chair="C1",
                   device_id=dev, extra={"device_alarms": tuple(alarms)})


def test_a_device_inop_is_raised_with_its_wording_and_cleared_when_no_longer_listed(eng, clock):
    eng.ingest([listing(NONPULS)])
    (ch,) = [c for c in eng.update() if c.kind is ChangeKind.RAISED]
    assert ch.alarm.kind is AlarmKind.TECHNICAL and ch.alarm.priority == "medium"
    assert "SpO2 NON-PULSATILE" in ch.alarm.rule and ch.alarm.device_id == MON
    clock.advance(1)
    eng.ingest([listing(NONPULS)])
    assert [c for c in eng.update() if c.kind is ChangeKind.RAISED] == []  # still the same one
    eng.ingest([listing()])
    assert [c.kind for c in eng.update()] == [ChangeKind.CLEARED]
    assert eng.active() == []


def test_device_alarms_end_when_the_device_goes_offline(eng):
    eng.ingest([listing(NONPULS)])
    eng.update()
    eng.ingest([Reading(Code.DEVICE_OFFLINE, "link lost", chair="C1", device_id=MON)])
    assert not [a for a in eng.active() if a.code == Code.SPO2]


def test_a_device_desaturation_is_left_to_our_own_spo2_rule(eng, clock):
    # the monitor's "SpO2 LOW" comes at once; our SPO2 < 90 limit, with the protocol's delay,
    # judges the same condition: one alarm, ours
    eng.ingest([listing(DESAT)])
    assert [c for c in eng.update() if c.kind is ChangeKind.RAISED] == []
    for _ in range(40):
        eng.ingest([Reading(Code.SPO2, 80.0, chair="C1", device_id=MON), listing(DESAT)])
        eng.update()
        clock.advance(1)
    active = [a for a in eng.active() if a.kind is AlarmKind.PHYSIOLOGICAL]
    assert active and all(a.rule.startswith("SPO2 <") for a in active)


def test_a_device_patient_alarm_our_rules_do_not_cover_is_raised(eng):
    # the protocol has no pulse-rate limit: the oximeter's "pulse rate high" reaches the nurse
    pr_high = DeviceAlarm("alarm:0x0004", "pulse rate high", "physiological", "high",
                          Code.PR, "high")
    eng.ingest([listing(pr_high)])
    (ch,) = [c for c in eng.update() if c.kind is ChangeKind.RAISED]
    assert ch.alarm.kind is AlarmKind.PHYSIOLOGICAL and ch.alarm.priority == "high"
    assert ch.alarm.code == Code.PR


def patient(pid, dev=MON):
    return Reading(Code.DEVICE_PATIENT, pid, chair="C1", device_id=dev)


def test_a_monitor_with_another_patient_admitted_raises_a_warning(eng):
    eng.set_patient(["MRN-00042"])
    eng.ingest([patient("mrn 00042".replace(" ", "-"))])  # same ID, other case
    assert [c for c in eng.update() if c.kind is ChangeKind.RAISED] == []
    eng.ingest([patient("MRN-00099")])
    (ch,) = [c for c in eng.update() if c.kind is ChangeKind.RAISED]
    assert ch.alarm.code == "PATIENT_MISMATCH" and ch.alarm.values["device_patient"] == "MRN-00099"
    eng.set_patient(["MRN-00099"])  # the visit was the other patient after all
    assert [c.kind for c in eng.update()] == [ChangeKind.CLEARED]


def test_no_patient_admitted_or_no_visit_raises_nothing(eng):
    eng.set_patient(["MRN-1"])
    eng.ingest([patient(None)])  # nobody admitted at the monitor
    eng.set_patient(None)  # no visit in the chair
    eng.ingest([patient("MRN-2")])
    assert [c for c in eng.update() if c.kind is ChangeKind.RAISED] == []


def test_a_device_alarm_reads_in_the_devices_words():
    from nursestation.core.alarms import alarm_message

    eng = AlarmEngine(CFG, FakeClock(), "C1")
    eng.ingest([listing(NONPULS)])
    (first,) = [c.alarm for c in eng.update() if c.kind is ChangeKind.RAISED]
    assert alarm_message(first, {MON: "Monitor"}) == "Monitor: SpO2 NON-PULSATILE"
