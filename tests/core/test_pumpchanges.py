"""Pump changes no nurse entry explains: detection from readings and matching with the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nursestation.core.pumpchanges import (
    DEFAULT_MATCH_WINDOW_S,
    ChartedEvent,
    PumpChange,
    PumpReading,
    not_yet_recorded,
    pump_changes,
    unexplained_changes,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def state(m: float, s: str) -> PumpReading:
    return PumpReading("PUMP_STATE", s, at(m))


def rate(m: float, r: float) -> PumpReading:
    return PumpReading("PUMP_RATE", r, at(m))


RUN = [state(0, "stopped"), rate(0, 150), state(1, "infusing")]


def kinds(changes):
    return [(c.kind, c.at) for c in changes]


def test_first_reading_only_sets_the_scene():
    assert pump_changes([state(0, "infusing"), rate(0, 150)]) == []


def test_start_rate_change_pause_resume_stop():
    rs = [*RUN, rate(10, 100), state(20, "paused"), rate(20, 0), state(25, "infusing"),
          rate(25, 100), state(40, "stopped")]
    ch = pump_changes(rs)
    assert kinds(ch) == [("start", at(1)), ("rate_change", at(10)), ("pause", at(20)),
                         ("resume", at(25)), ("stop", at(40))]
    assert ch[0].rate_after == 150
    assert (ch[1].rate_before, ch[1].rate_after) == (150, 100)
    assert ch[3].rate_after == 100  # the rate coming back from 0 belongs to the resume


def test_small_jitter_alarm_state_and_rate_while_paused_are_not_changes():
    rs = [*RUN, rate(5, 150.3), state(6, "alarm"), state(7, "infusing"),
          state(10, "paused"), rate(11, 80)]
    ch = pump_changes(rs)
    assert kinds(ch) == [("start", at(1)), ("pause", at(10))]


def test_a_charted_entry_within_the_window_explains_the_change():
    ch = pump_changes([*RUN, rate(10, 100)])
    charted = [ChartedEvent("start", at(1), 150), ChartedEvent("rate_change", at(11.5), 100)]
    assert unexplained_changes(ch, charted, at(30)) == []


def test_an_entry_outside_the_window_or_of_another_rate_does_not():
    ch = pump_changes([*RUN, rate(10, 100)])
    late = [ChartedEvent("start", at(1), 150), ChartedEvent("rate_change", at(12.5), 100)]
    assert kinds(unexplained_changes(ch, late, at(30))) == [("rate_change", at(10))]
    other_rate = [ChartedEvent("start", at(1), 150), ChartedEvent("rate_change", at(10), 120)]
    assert kinds(unexplained_changes(ch, other_rate, at(30))) == [("rate_change", at(10))]


def test_exactly_at_the_window_edge_is_explained():
    ch = pump_changes([*RUN, state(10, "paused")])
    edge = at(10) + timedelta(seconds=DEFAULT_MATCH_WINDOW_S)
    charted = [ChartedEvent("start", at(1), 150), ChartedEvent("pause", edge)]
    assert unexplained_changes(ch, charted, at(30)) == []


def test_a_pause_is_not_explained_by_a_stop_and_one_entry_explains_one_change():
    ch = pump_changes([*RUN, state(10, "paused"), state(10.5, "infusing"), state(11, "paused")])
    charted = [ChartedEvent("start", at(1), 150), ChartedEvent("stop", at(10)),
               ChartedEvent("pause", at(10.2)), ChartedEvent("resume", at(10.5))]
    assert kinds(unexplained_changes(ch, charted, at(30))) == [("pause", at(11))]


def test_a_change_younger_than_the_window_is_not_reported_yet():
    ch = pump_changes([*RUN, state(10, "stopped")])
    charted = [ChartedEvent("start", at(1), 150)]
    assert unexplained_changes(ch, charted, at(11)) == []
    assert kinds(unexplained_changes(ch, charted, at(12))) == [("stop", at(10))]


def test_values_round_trip_and_already_recorded_changes_are_skipped():
    ch = pump_changes([*RUN, rate(10, 100)])
    back = [PumpChange.from_values(c.to_values()) for c in ch]
    assert back == ch
    assert not_yet_recorded(ch, back[:1]) == ch[1:]
    assert "150 → 100 mL/h" in ch[1].describe()
    assert "started at 150 mL/h" in ch[0].describe()
