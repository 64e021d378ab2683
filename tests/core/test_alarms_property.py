"""Property tests: whatever readings, time steps and nurse actions arrive, the engine never
raises, and never leaves a high-priority alarm unacknowledged yet silent without a pause."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nursestation.core.alarms import PRIORITY_RANK, AlarmEngine, AlarmKind, AlarmState, ChangeKind
from nursestation.core.clock import FakeClock
from nursestation.core.protocol import load_protocol
from nursestation.core.readings import Reading
from nursestation.core.vocabulary import UNUSABLE, Code, Quality
from nursestation.paths import resource_path

CFG = load_protocol(resource_path("protocols", "ketamine-iv.toml")).alarms
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

codes = st.sampled_from([*Code, "BOGUS"])
values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-1000, 1000),
    st.floats(0, 250),
    st.sampled_from(["alarm", "infusing", "ALARM", "", "OCCLUSION", "sensor off"]),
    st.booleans(),
)
qualities = st.frozensets(st.sampled_from(list(Quality)), max_size=3)
devices = st.sampled_from([None, "monitor-1", "oxi-1", "pump-1"])
readings = st.builds(
    lambda code, value, quality, dev, chair: Reading(code, value, quality=quality,
                                                     device_id=dev, chair=chair),
    codes, values, qualities, devices, st.sampled_from(["C1", "C1", None, "C2"]),
)
# mostly clean vital signs near the protocol's limits, so alarms really rise, latch and clear
vitals = st.builds(
    lambda code, value, quality, dev: Reading(code, value, quality=quality, device_id=dev,
                                              chair="C1"),
    st.sampled_from(["SPO2", "SPO2", "HR", "RR", "NBP_SYS", "NBP_DIA"]),
    st.one_of(st.sampled_from([85.0, 89.0, 90.5, 92.0, 97.0, 45.0, 130.0, 160.0, 8.0, 35.0,
                               115.0, 185.0, 70.0]), st.floats(0, 250)),
    st.one_of(st.just(frozenset()), st.just(frozenset()), qualities),
    st.sampled_from(["monitor-1", "oxi-1"]),
)
technical = st.builds(
    lambda code, value, quality, dev: Reading(code, value, quality=quality, device_id=dev,
                                              chair="C1"),
    st.sampled_from([Code.DEVICE_OFFLINE, Code.DEVICE_ONLINE, Code.SENSOR_OFF, Code.PUMP_STATE,
                     Code.PUMP_ALARM]),
    st.sampled_from([None, "alarm", "infusing", "OCCLUSION", "sensor off"]),
    st.one_of(st.just(frozenset()), qualities),
    devices,
)
ops = st.one_of(
    st.tuples(st.just("read"), st.lists(vitals, min_size=1, max_size=4)),
    st.tuples(st.just("read"), st.lists(vitals, min_size=1, max_size=4)),
    st.tuples(st.just("read"), st.lists(technical, min_size=1, max_size=3)),
    st.tuples(st.just("read"), st.lists(readings, max_size=6)),
    st.tuples(st.just("advance"), st.sampled_from([1.0, 5.0, 15.0, 30.0, 120.0])),
    st.tuples(st.just("advance"), st.floats(0, 200)),
    st.tuples(st.just("ack"), st.one_of(st.none(), st.integers(0, 5))),
    st.tuples(st.just("ack"), st.integers(0, 2)),
    st.tuples(st.just("pause"), st.none()),
    st.tuples(st.just("resume"), st.none()),
    st.tuples(st.just("bp_due"), st.one_of(st.none(), st.floats(-100, 900))),
    st.tuples(st.just("baseline"), st.dictionaries(
        st.sampled_from(["NBP_SYS", "NBP_DIA", "HR"]),
        st.one_of(st.floats(allow_nan=True), st.integers(0, 250)), max_size=3)),
    st.tuples(st.just("no_update"), st.none()),
)


def check(eng):
    shown = eng.active()
    audio = eng.audio_state()
    assert all(a.state is not AlarmState.CLEARED for a in shown)
    assert len({a.id for a in shown}) == len(shown)
    assert shown == sorted(shown, key=lambda a: (PRIORITY_RANK[a.priority], not a.unacknowledged,
                                                 a.onset_mono, a.seq))
    loud = [a for a in shown if a.unacknowledged]
    if audio.paused:
        assert audio.pattern is None and eng.paused_until is not None
    else:
        assert audio.pattern == (loud[0].priority if loud else None)
    # the safety property: an unacknowledged high alarm is heard unless audio is paused
    if any(a.priority == "high" for a in loud):
        assert audio.paused or audio.pattern == "high"
    assert eng.highest() == (shown[0] if shown else None)


def run(ops_list, eng, clock):
    changes = []
    for op, arg in ops_list:
        if op == "read":
            eng.ingest(arg)
        elif op == "advance":
            clock.advance(arg)
        elif op == "ack":
            shown = eng.active()
            target = None if arg is None else (shown[arg].id if arg < len(shown) else "gone")
            eng.acknowledge(target, "nurse.ana")
        elif op == "pause":
            eng.pause_audio("nurse.ana")
        elif op == "resume":
            eng.resume_audio("nurse.ana")
        elif op == "bp_due":
            eng.set_bp_due(None if arg is None else clock.monotonic() + arg)
        elif op == "baseline":
            eng.set_baseline(arg)
        check(eng)
        if op != "no_update":
            changes += eng.update()
            check(eng)
    return changes


@SETTINGS
@given(st.lists(ops, max_size=40))
def test_any_sequence_never_raises_and_high_alarms_are_never_silently_unacknowledged(ops_list):
    clock = FakeClock()
    eng = AlarmEngine(CFG, clock, "C1")
    changes = run(ops_list, eng, clock)
    raised_ids = [c.alarm.id for c in changes if c.kind is ChangeKind.RAISED]
    assert len(set(raised_ids)) == len(raised_ids)
    assert all(c.chair == "C1" for c in changes)
    assert all(c.alarm.priority == "high" for c in changes if c.kind is ChangeKind.ESCALATED)
    assert all(c.user for c in changes
               if c.kind in (ChangeKind.ACKNOWLEDGED, ChangeKind.AUDIO_PAUSED))


unusable_physiological = st.builds(
    lambda code, value, bad, dev: Reading(code, value, quality=bad, device_id=dev),
    st.sampled_from(sorted({lim.code for lim in CFG.limits})),
    st.floats(-1000, 1000),
    st.frozensets(st.sampled_from(sorted(UNUSABLE)), min_size=1),
    devices,
)


@SETTINGS
@given(st.lists(st.one_of(
    st.tuples(st.just("read"), st.lists(unusable_physiological, max_size=6)),
    st.tuples(st.just("advance"), st.floats(0, 60)),
), max_size=40))
def test_unusable_values_never_raise_a_physiological_alarm(ops_list):
    clock = FakeClock()
    eng = AlarmEngine(CFG, clock, "C1")
    eng.set_baseline({"NBP_SYS": 120, "NBP_DIA": 80})
    changes = run(ops_list, eng, clock)
    assert not [c for c in changes if c.alarm and c.alarm.kind is AlarmKind.PHYSIOLOGICAL]
