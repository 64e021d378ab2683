"""The words a nurse reads for an alarm: one function (core.alarms.alarm_message), fed by the
engine's own alarms, never an internal code such as ``NBP_SYS`` or ``SENSOR_OFF:``."""

from __future__ import annotations

from nursestation.core.alarms import AlarmEngine, alarm_message
from nursestation.core.vocabulary import Code, display_name
from tests.core.test_alarms import (
    CFG,
    MON,
    hold,
    nbp,
    raise_desaturation,
    rd,
    wait,
)


def test_a_desaturation_reads_as_value_and_limit(eng, clock):
    alarm = raise_desaturation(eng, clock)
    assert alarm_message(alarm) == "SpO\u2082 88 % — below 90"
    eng.ingest([rd(Code.SPO2, 86)])
    eng.update()
    assert alarm_message(eng.highest()) == "SpO\u2082 86 % — below 90"


def test_a_latched_alarm_says_what_it_was_and_what_it_is_now(eng, clock):
    raise_desaturation(eng, clock)
    hold(eng, clock, Code.SPO2, 95, 2)
    (alarm,) = [a for a in eng.active() if a.code == Code.SPO2]
    assert alarm_message(alarm) == "SpO\u2082 was 88 % — below 90; now 95 %"


def test_a_rise_over_baseline_names_the_baseline(clock):
    eng = AlarmEngine(CFG, clock, "C1")
    eng.set_baseline({"NBP_SYS": 120, "NBP_DIA": 80})
    nbp(eng, 171, at_s=0, clock=clock)
    texts = [alarm_message(a) for a in eng.active()]
    assert "Systolic BP 171 mmHg — above 160 (baseline 120 + 40)" in texts
    assert not any("NBP_SYS" in t or "baseline +" in t.split("(")[0] for t in texts)


def test_technical_alarms_name_the_device_by_its_label(eng, clock):
    eng.ingest([rd(Code.DEVICE_OFFLINE, "no data for 10 s")])
    changes = eng.update() + wait(eng, clock, 30)
    offline = [a for a in eng.active() if a.code == Code.DEVICE_OFFLINE]
    assert offline, changes
    assert alarm_message(offline[0], {MON: "Monitor"}) == "Monitor sends no data (no data for 10 s)"
    assert alarm_message(offline[0]).startswith(f"{MON} sends no data")


def test_every_code_has_a_display_name():
    assert display_name(Code.NBP_SYS) == "Systolic BP"
    assert display_name(Code.SPO2) == "SpO\u2082"
    assert all(display_name(c) != str(c) or str(c) in ("HR", "PI", "ECG", "VTBI")
               for c in Code)
