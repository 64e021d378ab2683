"""The alarm engine, rule by rule, under a simulated clock and the clinic's real protocol file."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from nursestation.core.alarms import (
    AlarmEngine,
    AlarmKind,
    AlarmState,
    ChangeKind,
)
from nursestation.core.protocol import load_protocol
from nursestation.core.readings import Reading
from nursestation.core.vocabulary import Code, Quality
from nursestation.paths import resource_path

CFG = load_protocol(resource_path("protocols", "ketamine-iv.toml")).alarms
MON = "monitor-1"


def rd(code, value, *, dev=MON, quality=(), device_time=None, chair="C1"):
    return Reading(code, value, quality=frozenset(quality), chair=chair, device_id=dev,
                   device_time=device_time)


def hold(eng, clock, code, value, seconds, *, every=1.0, **kw):
    """Send ``value`` now and every ``every`` s until ``seconds`` have passed; update each time.

    Returns every change seen. The clock ends ``seconds`` after it started.
    """
    changes = []
    elapsed = 0.0
    while True:
        eng.ingest([rd(code, value, **kw)])
        changes += eng.update()
        if elapsed + every > seconds + 1e-9:
            return changes
        clock.advance(every)
        elapsed += every


def wait(eng, clock, seconds, step=1.0):
    changes = []
    elapsed = 0.0
    while elapsed + step <= seconds + 1e-9:
        clock.advance(step)
        elapsed += step
        changes += eng.update()
    return changes


def kinds(changes):
    return [(c.kind, c.alarm.rule if c.alarm else None) for c in changes]


def raised(changes):
    return [c.alarm for c in changes if c.kind is ChangeKind.RAISED]


def nbp(eng, sys=None, dia=None, *, at_s, clock):
    """One NIBP measurement, stamped with the device's own measurement time."""
    t = clock.now() + timedelta(seconds=at_s)
    batch = []
    if sys is not None:
        batch.append(rd(Code.NBP_SYS, sys, device_time=t))
    if dia is not None:
        batch.append(rd(Code.NBP_DIA, dia, device_time=t))
    eng.ingest(batch)
    return eng.update()


def raise_desaturation(eng, clock):
    changes = hold(eng, clock, Code.SPO2, 88, 15)
    (alarm,) = raised(changes)
    return alarm


# --------------------------------------------------------------------------- onset delay


def test_spo2_below_90_for_14_s_is_not_an_alarm_but_15_s_is_high(eng, clock):
    start_wall = clock.now()
    assert hold(eng, clock, Code.SPO2, 88, 14) == []
    assert eng.active() == [] and eng.audio_state().pattern is None

    clock.advance(1)
    eng.ingest([rd(Code.SPO2, 88)])
    (change,) = eng.update()
    a = change.alarm
    assert change.kind is ChangeKind.RAISED
    assert (a.code, a.kind, a.priority, a.state) == ("SPO2", AlarmKind.PHYSIOLOGICAL, "high",
                                                      AlarmState.ACTIVE)
    assert a.rule == "SPO2 < 90" and "[SpO2-dly]" in a.source and a.delay_s == 15
    assert a.values["value"] == 88 and a.values["threshold"] == 90
    assert change.values["value"] == 88
    assert a.condition_since_wall == start_wall
    assert a.onset_wall == start_wall + timedelta(seconds=15)
    assert a.device_id == MON and a.chair == "C1" and a.label == "*** SPO2 < 90"
    assert eng.highest() == a
    assert eng.audio_state().pattern == "high"


def test_the_onset_delay_runs_on_the_clock_between_readings(eng, clock):
    eng.ingest([rd(Code.SPO2, 88)])
    assert eng.update() == []
    clock.advance(14.9)
    assert eng.update() == []
    clock.advance(0.1)
    assert [a.rule for a in raised(eng.update())] == ["SPO2 < 90"]


def test_a_blip_shorter_than_the_delay_never_alarms(eng, clock):
    changes = hold(eng, clock, Code.SPO2, 86, 12)
    clock.advance(1)
    changes += hold(eng, clock, Code.SPO2, 96, 0)  # one good reading restarts the wait
    clock.advance(1)
    changes += hold(eng, clock, Code.SPO2, 86, 12)
    changes += wait(eng, clock, 0)
    assert changes == [] and eng.active() == []


def test_a_value_at_the_limit_is_not_beyond_it(eng, clock):
    changes = hold(eng, clock, Code.SPO2, 90, 60)
    assert [a.rule for a in raised(changes)] == ["SPO2 < 94"]  # only the medium limit


# --------------------------------------------------------------------------- hysteresis


def test_hysteresis_spo2_90_5_does_not_end_a_below_90_alarm_but_91_does(eng, clock):
    alarm = raise_desaturation(eng, clock)
    clock.advance(1)
    eng.ingest([rd(Code.SPO2, 90.5)])
    assert eng.update() == []
    (a,) = [x for x in eng.active() if x.id == alarm.id]
    assert a.state is AlarmState.ACTIVE and a.condition_present

    clock.advance(1)
    eng.ingest([rd(Code.SPO2, 91)])
    (change,) = eng.update()
    assert change.kind is ChangeKind.LATCHED and change.values["value"] == 91
    assert change.alarm.state is AlarmState.LATCHED and not change.alarm.condition_present


def test_medium_alarm_clears_itself_after_hysteresis(eng, clock):
    (a,) = raised(hold(eng, clock, Code.HR, 125, 15))
    assert (a.rule, a.priority) == ("HR > 120", "medium")
    clock.advance(1)
    assert hold(eng, clock, Code.HR, 117, 0) == []  # inside the 5 bpm hysteresis band
    clock.advance(1)
    (change,) = hold(eng, clock, Code.HR, 115, 0)
    assert change.kind is ChangeKind.CLEARED and change.alarm.id == a.id
    assert change.alarm.state is AlarmState.CLEARED and change.values["value"] == 115
    assert eng.active() == [] and eng.audio_state().pattern is None


# --------------------------------------------------------------------------- latching, ack


def test_high_alarm_latches_and_keeps_sounding_until_acknowledged(eng, clock):
    alarm = raise_desaturation(eng, clock)
    clock.advance(1)
    hold(eng, clock, Code.SPO2, 97, 60)
    (a,) = eng.active()
    assert a.id == alarm.id and a.state is AlarmState.LATCHED
    assert eng.audio_state().pattern == "high"

    clock.advance(1)
    (acked,) = eng.acknowledge(alarm.id, "nurse.ana")
    assert acked.acknowledged_by == "nurse.ana" and acked.acknowledged_at == clock.now()
    changes = eng.update()
    assert [c.kind for c in changes] == [ChangeKind.ACKNOWLEDGED, ChangeKind.CLEARED]
    assert all(c.user == "nurse.ana" for c in changes)
    assert eng.active() == [] and eng.audio_state().pattern is None


def test_latched_alarm_whose_condition_returns_is_active_again(eng, clock):
    alarm = raise_desaturation(eng, clock)
    clock.advance(1)
    hold(eng, clock, Code.SPO2, 97, 5)
    clock.advance(1)
    changes = hold(eng, clock, Code.SPO2, 87, 0)
    assert [c.kind for c in changes] == [ChangeKind.REACTIVATED]
    (a,) = eng.active()
    assert a.id == alarm.id and a.state is AlarmState.ACTIVE and a.last_values["value"] == 87


def test_acknowledged_alarm_stays_visible_silent_then_clears_with_its_condition(eng, clock):
    alarm = raise_desaturation(eng, clock)
    eng.acknowledge(alarm.id, "nurse.ana")
    (change,) = eng.update()
    assert change.kind is ChangeKind.ACKNOWLEDGED and change.user == "nurse.ana"
    assert change.values["value"] == 88
    (a,) = eng.active()
    assert a.state is AlarmState.ACKNOWLEDGED and eng.audio_state().pattern is None

    clock.advance(1)
    (change,) = hold(eng, clock, Code.SPO2, 95, 0)
    assert change.kind is ChangeKind.CLEARED and eng.active() == []

    # the same condition later is a new alarm, after the delay again
    clock.advance(1)
    again = raised(hold(eng, clock, Code.SPO2, 88, 15))
    assert len(again) == 1 and again[0].id != alarm.id


def test_acknowledge_chair_wide_and_stale_ids(eng, clock):
    raise_desaturation(eng, clock)
    eng.ingest([rd(Code.DEVICE_OFFLINE, None, dev="pump-1")])
    eng.update()
    assert eng.acknowledge("no-such-alarm", "nurse.ana") == []
    acked = eng.acknowledge(None, "nurse.ana")
    assert sorted(a.code for a in acked) == ["DEVICE_OFFLINE", "SPO2"]
    assert all(a.state is AlarmState.ACKNOWLEDGED for a in eng.active())
    assert eng.acknowledge(None, "nurse.ana") == []  # nothing left to acknowledge
    with pytest.raises(ValueError):
        eng.acknowledge(None, " ")


def test_without_latching_a_high_alarm_clears_itself(clock):
    eng = AlarmEngine(dataclasses.replace(CFG, latch_high=False), clock, "C1")
    alarm = raise_desaturation(eng, clock)
    clock.advance(1)
    (change,) = hold(eng, clock, Code.SPO2, 96, 0)
    assert change.kind is ChangeKind.CLEARED and change.alarm.id == alarm.id


# --------------------------------------------------------------------------- audio pause


def test_audio_pause_silences_for_120_s_and_sound_returns_if_still_active(eng, clock):
    (a,) = raised(hold(eng, clock, Code.HR, 125, 15))
    until = eng.pause_audio("nurse.ana")
    (change,) = eng.update()
    assert change.kind is ChangeKind.AUDIO_PAUSED and change.user == "nurse.ana"
    assert until == clock.monotonic() + 120 == eng.paused_until
    state = eng.audio_state()
    assert state.pattern is None and state.paused and state.paused_by == "nurse.ana"
    assert state.paused_until_wall == clock.now() + timedelta(seconds=120)
    assert [x.id for x in eng.active()] == [a.id]  # the visual signal stays

    changes = hold(eng, clock, Code.HR, 125, 119)
    assert changes == [] and eng.audio_state().pattern is None
    clock.advance(1)
    assert eng.audio_state().pattern == "medium"  # live, even before update()
    (change,) = eng.update()
    assert change.kind is ChangeKind.AUDIO_RESUMED and eng.paused_until is None


def test_audio_stays_silent_after_a_pause_when_everything_was_acknowledged(eng, clock):
    raised(hold(eng, clock, Code.HR, 125, 15))
    eng.pause_audio("nurse.ana")
    eng.acknowledge(None, "nurse.ana")
    wait(eng, clock, 121)
    assert eng.audio_state().pattern is None and eng.active()


def test_a_new_high_alarm_ends_the_pause_a_new_medium_does_not(eng, clock):
    eng.ingest([rd(Code.DEVICE_OFFLINE, None, dev="pump-1")])
    eng.update()
    eng.pause_audio("nurse.ana")
    eng.update()

    (change,) = hold(eng, clock, Code.HR, 125, 15)  # new medium: stays silent
    assert change.kind is ChangeKind.RAISED and eng.audio_state().paused
    assert eng.audio_state().pattern is None

    changes = hold(eng, clock, Code.SPO2, 88, 15, dev="oxi-1")
    assert [c.kind for c in changes] == [ChangeKind.RAISED, ChangeKind.AUDIO_RESUMED]
    assert not eng.audio_state().paused and eng.audio_state().pattern == "high"


def test_resume_audio_early(eng, clock):
    raised(hold(eng, clock, Code.HR, 125, 15))
    eng.pause_audio("nurse.ana")
    clock.advance(5)
    eng.resume_audio("nurse.ana")
    assert [c.kind for c in eng.update()] == [ChangeKind.AUDIO_PAUSED, ChangeKind.AUDIO_RESUMED]
    assert eng.audio_state().pattern == "medium"


# --------------------------------------------------------------------------- escalation


def test_unacknowledged_high_alarm_escalates_after_escalate_after_s(eng, clock):
    alarm = raise_desaturation(eng, clock)
    eng.pause_audio("nurse.ana")  # pausing the sound does not stop escalation
    eng.update()
    changes = hold(eng, clock, Code.SPO2, 88, 119)
    assert [a.rule for a in raised(changes)] == ["SPO2 < 94"]  # medium: never escalates
    assert not any(a.escalated for a in eng.active())
    clock.advance(1)
    resumed, change = eng.update()  # the pause and the escalation time both end now
    assert resumed.kind is ChangeKind.AUDIO_RESUMED
    assert change.kind is ChangeKind.ESCALATED and change.alarm.id == alarm.id
    assert eng.highest().escalated and eng.highest().escalated_at == clock.now()
    wait(eng, clock, 60)
    assert eng.highest().escalated  # reported once, flag kept


def test_acknowledged_or_medium_alarms_do_not_escalate(eng, clock):
    alarm = raise_desaturation(eng, clock)
    clock.advance(60)
    eng.acknowledge(alarm.id, "nurse.ana")
    eng.ingest([rd(Code.DEVICE_OFFLINE, None, dev="pump-1")])  # medium
    changes = wait(eng, clock, 600, step=10)
    assert ChangeKind.ESCALATED not in [c.kind for c in changes]
    assert not any(a.escalated for a in eng.active())


def test_latched_unacknowledged_alarm_still_escalates(eng, clock):
    raise_desaturation(eng, clock)
    clock.advance(1)
    hold(eng, clock, Code.SPO2, 97, 10)
    assert eng.highest().state is AlarmState.LATCHED
    changes = wait(eng, clock, 120)
    assert [c.kind for c in changes] == [ChangeKind.ESCALATED]


# --------------------------------------------------------------------------- baseline, NBP


def test_systolic_above_baseline_plus_40(eng, clock):
    assert {lim.describe() for lim in eng.unevaluable()} == {
        "NBP_SYS > baseline + 40", "NBP_DIA > baseline + 25"}
    assert raised(nbp(eng, 170, at_s=0, clock=clock)) == []  # no baseline, no relative limit

    eng.set_baseline({"NBP_SYS": 120, "NBP_DIA": 80})
    assert eng.unevaluable() == []
    clock.advance(600)
    (a,) = raised(nbp(eng, 165, at_s=600, clock=clock))
    assert (a.rule, a.priority) == ("NBP_SYS > baseline + 40", "medium")
    assert a.values == {"value": 165, "threshold": 160, "baseline": 120, "device": MON}
    clock.advance(600)
    (change,) = nbp(eng, 160, at_s=1200, clock=clock)
    assert change.kind is ChangeKind.CLEARED


def test_nbp_is_evaluated_once_per_measurement_and_delay_0_is_immediate(eng, clock):
    (a,) = raised(nbp(eng, 185, at_s=0, clock=clock))
    assert (a.rule, a.priority) == ("NBP_SYS > 180", "high")
    eng.acknowledge(a.id, "nurse.ana")
    eng.update()
    # the monitor repeats the same measurement on every poll: nothing new
    for _ in range(30):
        clock.advance(1)
        eng.ingest([rd(Code.NBP_SYS, 185, device_time=a.condition_since_wall)])
        eng.update()
    eng.ingest([rd(Code.NBP_SYS, 185, device_time=clock.now() - timedelta(seconds=30))])
    assert eng.update() == []
    assert eng.highest().state is AlarmState.ACKNOWLEDGED

    # the next measurement, still too high: the nurse hears it again
    clock.advance(570)
    changes = nbp(eng, 190, at_s=0, clock=clock)
    assert [c.kind for c in changes] == [ChangeKind.CLEARED, ChangeKind.RAISED]
    assert changes[1].alarm.values["value"] == 190 and eng.audio_state().pattern == "high"

    # an NBP alarm does not clear between measurements, however long
    wait(eng, clock, 300, step=30)
    assert eng.highest().condition_present
    changes = nbp(eng, 130, dia=80, at_s=0, clock=clock)
    assert [c.kind for c in changes] == [ChangeKind.LATCHED]


def test_diastolic_limits(eng, clock):
    assert [a.rule for a in raised(nbp(eng, 150, dia=115, at_s=0, clock=clock))] == [
        "NBP_DIA > 110"]


# --------------------------------------------------------------------------- technical


def test_device_offline_is_a_technical_alarm_cleared_when_it_is_back(eng, clock):
    eng.ingest([rd(Code.DEVICE_OFFLINE, "no data for 5 s", dev="pump-1")])
    (change,) = eng.update()
    a = change.alarm
    assert (a.kind, a.code, a.priority) == (AlarmKind.TECHNICAL, "DEVICE_OFFLINE", "medium")
    assert "pump-1" in a.rule and a.values["detail"] == "no data for 5 s"
    assert "device_offline" in a.source
    clock.advance(30)
    eng.ingest([rd(Code.DEVICE_ONLINE, None, dev="pump-1")])
    (change,) = eng.update()
    assert change.kind is ChangeKind.CLEARED and eng.active() == []


def test_a_link_stopped_on_purpose_is_not_an_alarm(eng, clock):
    hold(eng, clock, Code.SPO2, 88, 10)
    r = rd(Code.DEVICE_OFFLINE, "stopped", dev=MON)
    r.extra["health"] = "stopped"
    eng.ingest([r])
    assert wait(eng, clock, 60) == [] and eng.active() == []


def test_sensor_off_alarms_after_its_delay(eng, clock):
    def frame(off):
        q = {Quality.SENSOR_OFF, Quality.UNAVAILABLE} if off else set()
        batch = [rd(Code.SPO2, None if off else 97, dev="oxi-1", quality=q),
                 rd(Code.PR, None if off else 70, dev="oxi-1", quality=q)]
        if off:
            batch.append(rd(Code.SENSOR_OFF, "sensor off", dev="oxi-1",
                            quality={Quality.SENSOR_OFF}))
            batch.append(rd(Code.DEVICE_ALARM, "oximeter battery low", dev="oxi-1"))
        eng.ingest(batch)
        return eng.update()

    changes = []
    for _ in range(9):  # repositioning the probe for 9 s: no alarm
        changes += frame(True)
        clock.advance(1)
    changes += frame(False)
    assert changes == []

    for _ in range(10):
        changes += frame(True)
        clock.advance(1)
    changes += frame(True)
    (a,) = raised(changes)
    assert (a.code, a.priority, a.kind) == ("SENSOR_OFF", "medium", AlarmKind.TECHNICAL)
    assert a.values["detail"] == "sensor off" and a.delay_s == 10
    clock.advance(1)
    (change,) = frame(False)
    assert change.kind is ChangeKind.CLEARED


def test_pump_alarm(eng, clock):
    eng.ingest([rd(Code.PUMP_RATE, 30.0, dev="pump-1"),
                rd(Code.PUMP_STATE, "alarm", dev="pump-1"),
                rd(Code.PUMP_ALARM, "OCCLUSION", dev="pump-1")])
    (a,) = raised(eng.update())
    assert (a.code, a.priority) == ("PUMP_ALARM", "medium")
    assert a.values["pump_alarm"] == "OCCLUSION" and a.values["pump_state"] == "alarm"
    clock.advance(5)
    # an unavailable state says nothing: the alarm stays
    eng.ingest([rd(Code.PUMP_STATE, None, dev="pump-1", quality={Quality.UNAVAILABLE})])
    assert eng.update() == []
    eng.ingest([rd(Code.PUMP_STATE, "infusing", dev="pump-1"),
                rd(Code.PUMP_ALARM, None, dev="pump-1")])
    (change,) = eng.update()
    assert change.kind is ChangeKind.CLEARED


def test_no_blood_pressure_within_the_schedule(eng, clock):
    eng.set_bp_due(clock.monotonic() + 600)
    assert wait(eng, clock, 599) == []
    clock.advance(1)
    (a,) = raised(eng.update())
    assert (a.code, a.priority, a.kind) == ("NO_BP", "low", AlarmKind.TECHNICAL)
    assert a.values["due_at"] == clock.now()
    assert eng.audio_state().pattern == "low"
    clock.advance(60)
    eng.ingest([rd(Code.NBP_SYS, 120, device_time=clock.now())])
    (change,) = eng.update()
    assert change.kind is ChangeKind.CLEARED

    # a measurement before the deadline: no alarm; no schedule: no alarm
    eng.set_bp_due(clock.monotonic() + 600)
    clock.advance(300)
    nbp(eng, 125, at_s=0, clock=clock)
    assert wait(eng, clock, 900, step=30) == []
    eng.set_bp_due(None)
    assert wait(eng, clock, 900, step=30) == []


def test_moving_the_bp_deadline_later_clears_the_alarm(eng, clock):
    eng.set_bp_due(clock.monotonic())
    assert raised(eng.update())
    eng.set_bp_due(clock.monotonic() + 300)
    assert [c.kind for c in eng.update()] == [ChangeKind.CLEARED]


# --------------------------------------------------------------------------- unusable values


@pytest.mark.parametrize("quality", [Quality.INVALID, Quality.UNAVAILABLE, Quality.CALIBRATING,
                                     Quality.TEST_DATA, Quality.SENSOR_OFF])
def test_unusable_values_never_raise_a_physiological_alarm(eng, clock, quality):
    changes = hold(eng, clock, Code.SPO2, 40, 120, quality={quality})
    changes += hold(eng, clock, Code.HR, 200, 120, quality={quality})
    changes += nbp(eng, None, at_s=0, clock=clock)
    eng.ingest([rd(Code.NBP_SYS, 250, quality={quality})])
    changes += eng.update()
    assert not [c for c in changes if c.alarm and c.alarm.kind is AlarmKind.PHYSIOLOGICAL]


def test_questionable_values_still_count(eng, clock):
    assert raised(hold(eng, clock, Code.SPO2, 85, 15, quality={Quality.QUESTIONABLE}))


def test_absent_or_non_finite_values_never_alarm(eng, clock):
    changes = hold(eng, clock, Code.SPO2, None, 60)
    changes += hold(eng, clock, Code.SPO2, float("nan"), 60)
    changes += hold(eng, clock, Code.HR, float("inf"), 60)
    changes += hold(eng, clock, Code.SPO2, "88", 60)
    assert changes == []


def test_unusable_values_interrupt_the_onset_delay(eng, clock):
    changes = hold(eng, clock, Code.SPO2, 88, 10)
    clock.advance(1)
    changes += hold(eng, clock, Code.SPO2, 88, 0, quality={Quality.INVALID})
    clock.advance(1)
    changes += hold(eng, clock, Code.SPO2, 88, 10)
    assert changes == []


def test_unusable_or_absent_values_do_not_clear_a_raised_alarm(eng, clock):
    alarm = raise_desaturation(eng, clock)
    clock.advance(1)
    assert hold(eng, clock, Code.SPO2, 99, 30, quality={Quality.INVALID}) == []
    assert hold(eng, clock, Code.SPO2, None, 30) == []
    eng.ingest([rd(Code.DEVICE_OFFLINE, None)])
    changes = eng.update()
    assert [a.code for a in raised(changes)] == ["DEVICE_OFFLINE"]
    wait(eng, clock, 30)
    a = next(x for x in eng.active() if x.id == alarm.id)
    assert a.state is AlarmState.ACTIVE and a.condition_present


def test_a_device_going_offline_stops_an_onset_in_progress(eng, clock):
    hold(eng, clock, Code.SPO2, 88, 10)
    eng.ingest([rd(Code.DEVICE_OFFLINE, None)])
    eng.update()
    changes = wait(eng, clock, 60)
    assert [a.code for a in eng.active()] == ["DEVICE_OFFLINE"] and changes == []


# --------------------------------------------------------------------------- several limits


def test_several_limits_on_one_code_coexist_and_the_highest_is_shown_first(eng, clock):
    changes = hold(eng, clock, Code.SPO2, 85, 30)
    assert [(a.rule, a.priority) for a in raised(changes)] == [
        ("SPO2 < 90", "high"), ("SPO2 < 94", "medium")]
    assert eng.highest().rule == "SPO2 < 90"

    clock.advance(1)
    changes = hold(eng, clock, Code.SPO2, 92, 0)
    assert kinds(changes) == [(ChangeKind.LATCHED, "SPO2 < 90")]
    eng.acknowledge(eng.highest().id, "nurse.ana")
    eng.update()
    assert [a.rule for a in eng.active()] == ["SPO2 < 94"]
    assert eng.audio_state().pattern == "medium"


def test_active_is_ordered_by_priority_unacknowledged_first_then_onset(eng, clock):
    eng.ingest([rd(Code.DEVICE_OFFLINE, None, dev="pump-1")])  # medium, first
    eng.update()
    clock.advance(1)
    (spo2,) = raised(hold(eng, clock, Code.SPO2, 88, 15, dev="oxi-1"))
    eng.acknowledge(spo2.id, "nurse.ana")
    clock.advance(1)
    hold(eng, clock, Code.HR, 160, 10)  # high, later, unacknowledged
    assert [(a.code, a.priority) for a in eng.active()] == [
        ("HR", "high"), ("SPO2", "high"), ("DEVICE_OFFLINE", "medium")]


def test_readings_for_another_chair_are_ignored(eng, clock):
    assert hold(eng, clock, Code.SPO2, 80, 60, chair="C2") == []


# --- alarms belong to the visit ---------------------------------------------------------------

def test_two_patients_in_one_chair_alarms_follow_the_patient(eng, clock):
    """Issue 15.1: a typo baseline (5/900) raised 'NBP_SYS > baseline + 40'; the amendment must end
    it at once; discharge ends the visit's alarms; the next patient starts clean."""
    eng.begin_visit(101, {"NBP_SYS": 5, "NBP_DIA": 900})
    (a,) = raised(nbp(eng, 130, at_s=0, clock=clock))
    assert a.rule == "NBP_SYS > baseline + 40" and a.visit_id == 101
    # the amendment corrects the baseline: the alarm caused by the typo clears now
    eng.set_baseline({"NBP_SYS": 120, "NBP_DIA": 80})
    cleared = [c for c in eng.update() if c.kind is ChangeKind.CLEARED]
    assert [c.alarm.rule for c in cleared] == ["NBP_SYS > baseline + 40"]
    assert cleared[0].visit_id == 101 and "baseline changed" in cleared[0].reason
    # a real rise during the visit, then discharge: the visit's alarms end with it
    clock.advance(600)
    (b,) = raised(nbp(eng, 165, at_s=600, clock=clock))
    assert b.visit_id == 101
    eng.end_visit("discharged")
    ended = [c for c in eng.update() if c.kind is ChangeKind.CLEARED]
    assert [(c.alarm.rule, c.visit_id, c.reason) for c in ended] == [
        ("NBP_SYS > baseline + 40", 101, "discharged")]
    assert eng.active() == [] and eng.visit_id is None
    # next patient in the same chair: no baseline carried over, no alarm from the last one
    eng.begin_visit(102, {"NBP_SYS": 130, "NBP_DIA": 85})
    clock.advance(600)
    assert raised(nbp(eng, 165, at_s=1200, clock=clock)) == []  # 165 < 130 + 40
    clock.advance(600)
    (c,) = raised(nbp(eng, 175, at_s=1800, clock=clock))
    assert c.visit_id == 102 and c.values["baseline"] == 130


def test_device_conditions_carry_on_as_no_patient_after_discharge(eng, clock):
    eng.begin_visit(7)
    eng.ingest([Reading(Code.DEVICE_OFFLINE, "silent", chair="C1", device_id=MON)])
    (a,) = raised(eng.update())
    assert a.code == Code.DEVICE_OFFLINE and a.visit_id == 7
    eng.end_visit("discharged")
    assert [c.kind for c in eng.update()] == []  # a device alarm does not end with the visit
    (still,) = eng.active()
    assert still.code == Code.DEVICE_OFFLINE and still.visit_id is None


def test_a_latched_alarm_ends_with_the_visit(eng, clock):
    eng.begin_visit(5)
    hold(eng, clock, Code.SPO2, 85, 20)
    hold(eng, clock, Code.SPO2, 97, 3)
    assert any(a.state == "latched" for a in eng.active())
    eng.end_visit("discharged")
    eng.update()
    assert eng.active() == []
