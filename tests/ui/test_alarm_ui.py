"""The alarm presenter and dialogs driven by real alarm engines on a controlled clock: the
station sounds the highest pattern of all chairs, shows who paused which chair's audio and for how
long, why a chair alarms (rule, source, values) and the chair's recorded alarm history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from nursestation.config import ChairConfig, Config
from nursestation.core.alarms import AlarmEngine, AudioState
from nursestation.core.clock import FakeClock, SystemClock, utcnow
from nursestation.core.protocol import load_protocol
from nursestation.core.readings import Reading
from nursestation.db import repo
from nursestation.ui.alarmui import (
    ActiveAlarmsDialog,
    AlarmHistoryDialog,
    AlarmPresenter,
    highest_pattern,
    values_text,
)
from nursestation.ui.context import AppContext

CHAIRS = ("Chair 1", "Chair 2", "Chair 3")


@pytest.fixture
def protocol():
    return load_protocol(Config().protocol_file)


class FakeCtx:
    """Reads answer nothing (the history's own test uses a real database)."""

    clock = SystemClock()

    def read(self, fn, *args, **kw):
        return []


class FakeRuntime:
    def __init__(self, engines):
        self.engines = engines


class Window(QMainWindow):
    """What the presenter needs from the main window: a status bar, menus, the focused chair."""

    def __init__(self):
        super().__init__()
        self.menuBar().addMenu("&Alarms")
        self.chair = "Chair 1"

    def current_chair(self):
        return self.chair


@pytest.fixture
def station(qtbot, protocol):
    clock = FakeClock()
    engines = {c: AlarmEngine(protocol.alarms, clock, c) for c in CHAIRS}
    window = Window()
    qtbot.addWidget(window)
    presenter = AlarmPresenter(FakeCtx(), FakeRuntime(engines), window)
    return clock, engines, window, presenter


def spo2(engine, value, dev="masimo-1"):
    engine.ingest([Reading("SPO2", value, "%", chair=engine.chair, device_id=dev)])


def hr(engine, value, dev="intellivue-1"):
    engine.ingest([Reading("HR", value, "bpm", chair=engine.chair, device_id=dev)])


def test_highest_pattern_across_chairs():
    def st(p):
        return AudioState(p, False, None, None, None)

    assert highest_pattern([st(None), st("low"), st("medium")]) == "medium"
    assert highest_pattern([st("low"), st("high"), st(None)]) == "high"
    assert highest_pattern([st(None)]) is None
    assert highest_pattern([]) is None


def test_station_sounds_the_highest_pattern_any_chair_wants(station):
    clock, engines, _window, presenter = station
    presenter.update()
    assert presenter.player.current is None
    hr(engines["Chair 1"], 130)  # HR > 120: medium after 15 s
    spo2(engines["Chair 2"], 85)  # SpO2 < 90: high after 15 s (and < 94 medium after 30 s)
    clock.advance(16)
    for e in engines.values():
        e.update()
    presenter.update()
    assert engines["Chair 1"].audio_state().pattern == "medium"
    assert presenter.player.current == "high"
    engines["Chair 2"].acknowledge(None, "nurse1")
    presenter.update()
    assert presenter.player.current == "medium"  # Chair 1 still wants its pattern
    engines["Chair 1"].acknowledge(None, "nurse1")
    presenter.update()
    assert presenter.player.current is None


def test_audio_paused_indicator_names_chair_user_and_time_left(station):
    clock, engines, window, presenter = station
    spo2(engines["Chair 3"], 85)
    clock.advance(16)
    engines["Chair 3"].update()
    presenter.update()
    assert presenter.player.current == "high"
    assert not presenter.paused_label.isVisibleTo(window)
    engines["Chair 3"].pause_audio("nurse1")
    clock.advance(13)
    presenter.update()
    assert presenter.player.current is None
    assert presenter.paused_label.text() == "Audio paused 1:47 by nurse1 — Chair 3"
    assert presenter.paused_label.isVisibleTo(window)
    # the visual stays: the alarm is still active and unacknowledged
    assert engines["Chair 3"].highest().unacknowledged
    clock.advance(120 - 13)
    engines["Chair 3"].update()
    presenter.update()
    assert presenter.player.current == "high"
    assert not presenter.paused_label.isVisibleTo(window)


def test_muted_sound_is_said_in_the_status_bar(station):
    _clock, _engines, _window, presenter = station
    presenter.update()
    assert presenter.player.muted
    assert presenter.sound_label.text().startswith(
        "Alarm sound OFF — sound turned off in this station's setup")
    assert "visual only" in presenter.sound_label.text()
    assert "NURSESTATION_MUTE" in presenter.sound_label.toolTip()  # IT finds the setting


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_why_dialog_shows_rule_source_values_and_state(station, qtbot):
    clock, engines, window, presenter = station
    spo2(engines["Chair 1"], 86)
    clock.advance(16)
    engines["Chair 1"].update()
    spo2(engines["Chair 1"], 84)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F4)
    dialogs = [d for d in presenter.dialogs if isinstance(d, ActiveAlarmsDialog)]
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert dialog.chair == "Chair 1"
    (row,) = dialog.rows()
    prio, rule, state, _since, raised_on, latest, source = row
    assert prio == "*** high" and rule == "SpO\u2082 84 % — below 90" and state == "active"
    assert raised_on == "value 86, threshold 90, device masimo-1"
    assert latest == "value 84, threshold 90, device masimo-1"
    assert "15 s delay" in source and source.startswith("rule SPO2 < 90")
    assert dialog.table.item(0, 1).text() == "SpO\u2082 84 % — below 90"
    assert "1 active alarm" in dialog.summary.text()
    # the sound is muted in tests: the dialog never claims a pattern is sounding
    assert "NOT audible" in dialog.summary.text() and "sounding the" not in dialog.summary.text()
    # acknowledged by whom shows up live
    engines["Chair 1"].acknowledge(None, "nurse1")
    presenter.update()
    assert dialog.rows()[0][2].startswith("acknowledged by nurse1")
    dialog.close()
    assert dialog not in presenter.dialogs


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_menu_actions_open_the_focused_chairs_dialogs(station):
    _clock, _engines, window, presenter = station
    window.chair = "Chair 2"
    presenter.history_action.trigger()
    assert [d.chair for d in presenter.dialogs if isinstance(d, AlarmHistoryDialog)] == [
        "Chair 2"]
    presenter.why_action.trigger()
    assert [d.chair for d in presenter.dialogs if isinstance(d, ActiveAlarmsDialog)] == ["Chair 2"]
    menu_texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert any("Why is this chair" in t for t in menu_texts)
    assert any("history" in t for t in menu_texts)


def test_values_text():
    assert values_text({"value": 85.0, "threshold": 90.0, "device": "m"}) == (
        "value 85, threshold 90, device m")
    assert values_text({"pause_s": 120, "codes": ["SPO2", "PR"]}) == "pause s 120, codes SPO2/PR"
    assert values_text({}) == ""


def test_history_dialog_lists_the_chairs_recorded_events(database, nurse, protocol, qtbot):
    chairs = database.writer.submit(
        repo.sync_chairs, [ChairConfig("Chair 1"), ChairConfig("Chair 2")]).result()
    c1, c2 = chairs["Chair 1"].id, chairs["Chair 2"].id
    # recent times: the record refuses entries in the future
    t0 = utcnow() - timedelta(minutes=5)

    def rec(chair_id, state, at, **kw):
        database.writer.submit(repo.record_alarm_event, chair_id, "a-1", kw.pop("code", "SPO2"),
                               kw.pop("priority", "high"), state, at=at, **kw).result()

    rec(c1, "raised", t0, values={"value": 85, "threshold": 90, "device": "masimo-1"},
        message="SPO2 < 90")
    rec(c1, "paused", t0 + timedelta(seconds=20), code="AUDIO", priority="low",
        values={"pause_s": 120}, message="", user=nurse.id)
    rec(c1, "acknowledged", t0 + timedelta(seconds=40), values={"value": 86, "threshold": 90},
        message="SPO2 < 90", user=nurse.id)
    rec(c2, "raised", t0, priority="medium", values={"value": 92}, message="SPO2 < 94")
    ctx = AppContext(Config(), protocol, database.engine, database.writer, clock=SystemClock())
    dialog = AlarmHistoryDialog(ctx, "Chair 1")
    qtbot.addWidget(dialog)
    rows = dialog.rows()
    assert [r[3] for r in rows] == ["acknowledged", "paused", "raised"]  # newest first
    ack, paused, raised = rows
    assert raised[1:] == ("*** high", "SPO2 < 90", "raised",
                          "value 85, threshold 90, device masimo-1", "")
    assert ack[1:] == ("*** high", "SPO2 < 90", "acknowledged", "value 86, threshold 90",
                       "nurse1")
    assert paused[1] == "" and paused[2] == "AUDIO" and paused[5] == "nurse1"
    assert raised[0].endswith(t0.astimezone().strftime("%H:%M:%S"))
    assert dialog.table.rowCount() == 3
    assert "3 recorded alarm events" in dialog.summary.text()
    # "All" period reloads the same (all recent)
    dialog.period.setCurrentIndex(2)
    assert len(dialog.rows()) == 3
    # another chair's events stay there
    other = AlarmHistoryDialog(ctx, "Chair 2")
    qtbot.addWidget(other)
    assert [r[2] for r in other.rows()] == ["SPO2 < 94"]
    assert other.rows()[0][1] == "** medium"


def test_presenter_ignores_a_window_without_tiles(station):
    clock, engines, _window, presenter = station
    spo2(engines["Chair 1"], 80)
    clock.advance(16)
    engines["Chair 1"].update()
    presenter.update()  # no window.view: no tooltips, no error
    assert presenter.player.current == "high"


def test_pause_label_for_two_chairs(station):
    clock, engines, _window, presenter = station
    engines["Chair 1"].pause_audio("nurse1")
    clock.advance(30)
    engines["Chair 2"].pause_audio("charge1")
    presenter.update()
    assert presenter.paused_label.text() == (
        "Audio paused 1:30 by nurse1 — Chair 1; Audio paused 2:00 by charge1 — Chair 2")


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_paused_audio_shows_on_the_chairs_own_tile(station, qtbot):
    """The status bar said which chair's audio was paused; the tile the nurse looks at did
    not. Now the paused chair's tile shows a crossed bell and the time left, counting down."""
    from nursestation.core.livestate import LiveStore
    from nursestation.ui.station import StationView

    clock, engines, window, presenter = station
    window.view = StationView(LiveStore(clock), CHAIRS, clock=clock)
    window.setCentralWidget(window.view)
    window.resize(1400, 600)
    window.show()
    qtbot.waitExposed(window)
    spo2(engines["Chair 3"], 85)
    clock.advance(16)
    engines["Chair 3"].update()
    engines["Chair 3"].pause_audio("nurse1")
    clock.advance(13)
    presenter.update()
    tile = window.view.tile("Chair 3")
    assert tile.paused_label.isVisibleTo(tile)
    assert tile.paused_label.full_text == "audio paused 1:47"
    qtbot.waitUntil(lambda: tile.paused_label.text() == "audio paused 1:47", timeout=1000)
    assert "nurse1" in tile.paused_label.toolTip() and "1:47 left" in tile.paused_label.toolTip()
    assert tile.alarm_label.isVisibleTo(tile)  # the alarm itself stays shown
    for other in ("Chair 1", "Chair 2"):
        assert not window.view.tile(other).paused_label.isVisibleTo(window.view.tile(other))
    clock.advance(10)  # the tile counts down between alarm ticks
    tile.refresh(window.view.store, clock.monotonic())
    assert tile.paused_label.full_text == "audio paused 1:37"
    clock.advance(97)
    engines["Chair 3"].update()
    presenter.update()
    assert not tile.paused_label.isVisibleTo(tile)


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_without_an_audio_backend_nothing_claims_a_sound(qtbot, protocol, monkeypatch, tmp_path):
    """No audio backend: the status bar says so from the start, and neither it nor the "why"
    dialog claims a pattern is sounding when a high alarm wants one."""
    import builtins

    from nursestation.ui.alarmsound import AlarmSoundPlayer

    real_import = builtins.__import__

    def no_multimedia(name, *args, **kw):
        if name == "PySide6.QtMultimedia":
            raise ImportError("libpulse.so.0: cannot open shared object file")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_multimedia)
    clock = FakeClock()
    engines = {c: AlarmEngine(protocol.alarms, clock, c) for c in CHAIRS}
    window = Window()
    qtbot.addWidget(window)
    player = AlarmSoundPlayer(muted=False, directory=tmp_path)
    presenter = AlarmPresenter(FakeCtx(), FakeRuntime(engines), window, player=player)
    # in a nurse's words on screen; the library error only for IT, in the tooltip
    assert presenter.sound_label.text().startswith(
        "Alarm sound OFF — this computer's sound system did not start")
    assert "libpulse" not in presenter.sound_label.text()
    assert "libpulse.so.0" in presenter.sound_label.toolTip()
    spo2(engines["Chair 1"], 84)
    clock.advance(16)
    spo2(engines["Chair 1"], 84)
    engines["Chair 1"].update()
    presenter.update()
    assert player.current == "high" and not player.sounding
    assert "would sound the high-priority pattern" in presenter.sound_label.text()
    dialog = presenter.show_active("Chair 1")
    qtbot.addWidget(dialog)
    assert "NOT audible" in dialog.summary.text()
    assert "sounding the" not in dialog.summary.text()
    dialog.close()
