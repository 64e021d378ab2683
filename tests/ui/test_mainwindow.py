"""The real station window on the real demo stack: simulators on pseudo-terminals, the link
layer, the live store, the recorder and the alarm engines (issue 4, "Done when")."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from nursestation.config import load_config
from nursestation.core.protocol import load_protocol
from nursestation.db import repo
from nursestation.db.engine import session_scope
from nursestation.ui.app import Station
from nursestation.ui.context import AppContext
from nursestation.ui.mainwindow import MainWindow

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def demo_station_window(qtbot, chairs: int = 3) -> tuple[Station, MainWindow]:
    """The demo station and its window, shown; devices not started yet."""
    config = load_config(demo=True, chairs=chairs)
    protocol = load_protocol(config.protocol_file)
    station = Station(config, protocol)
    ctx = AppContext(config, protocol, station.engine, station.writer, live=station.live,
                     clock=station.clock)
    window = MainWindow(ctx, station)
    qtbot.addWidget(window)
    window.resize(1600, 900)
    window.show()
    return station, window


@pytest.fixture
def demo_window(qtbot):
    station, window = demo_station_window(qtbot)
    station.start_devices()
    window.start()
    qtbot.waitUntil(lambda: bool(window.visits), timeout=10000)  # read off the GUI thread
    try:
        yield station, window
    finally:
        window.stop()
        station.shutdown()


def _scenario_now(station, device_id):
    host = station.demo_devices.hosts[device_id]
    return host.simulator.scenario.state(host.scenario_time())


def test_demo_chairs_show_the_simulators_numerics(demo_window, qtbot):
    station, window = demo_window
    tile = window.view.tile("Chair 3")
    # Chair 3's patient is 12 min into the infusion; its pump runs at 150 mL/h.
    qtbot.waitUntil(lambda: tile.hr.value.text().isdigit() and tile.pump.value.text() == "150",
                    timeout=15000)
    state = _scenario_now(station, "chair3-intellivue")
    assert abs(int(tile.hr.value.text()) - state.hr) <= 2
    assert abs(int(tile.spo2.value.text()) - _scenario_now(station, "chair3-masimo").spo2) <= 1.5
    assert abs(int(tile.rr.value.text()) - state.rr) <= 2
    assert tile.pump.value.text() == f"{_scenario_now(station, 'chair3-alaris').pump_rate:.0f}"
    # what the tiles show is what the chart says about the chair
    assert "Schmidt" in tile.patient_label.toolTip() + tile.patient_label.text()
    assert "INFUSING" in tile.phase_label.text().upper()


def test_unplugged_device_shows_offline_within_5_s_and_recovers(demo_window, qtbot):
    station, window = demo_window
    tile = window.view.tile("Chair 1")
    qtbot.waitUntil(lambda: tile.hr.value.text().isdigit(), timeout=15000)
    station.demo_devices.hosts["chair1-intellivue"].unplug()
    qtbot.waitUntil(lambda: tile.hr.value.text().startswith("OFF"), timeout=5000)
    assert "MONITOR OFFLINE" in tile.offline_banner.text()
    station.demo_devices.hosts["chair1-intellivue"].replug()
    qtbot.waitUntil(lambda: tile.hr.value.text().isdigit(), timeout=10000)


def test_readings_and_alarms_reach_the_record(demo_window, qtbot):
    station, window = demo_window
    qtbot.waitUntil(lambda: station.writer.readings_written > 50, timeout=15000)
    with session_scope(station.engine) as s:
        chair = repo.chair_by_name(s, "Chair 2")
        latest = repo.latest_vitals(s, chair.id)[chair.id]
    assert {"HR", "SPO2", "PUMP_RATE"} <= set(latest)


def test_enter_opens_the_chair_detail_and_escape_returns(demo_window, qtbot):
    station, window = demo_window
    window.view.focus_chair("Chair 2")
    qtbot.keyClick(window.view.tile("Chair 2"), "\r")
    assert window.stack.currentWidget() is window.detail_page
    assert window.detail.chair == "Chair 2"
    # the charted dose against the pump: Chair 2 is at baseline, nothing infused yet
    assert window.dose_panel is not None and window.dose_panel.label.text()
    qtbot.keyClick(window.detail, "\x1b")
    assert window.stack.currentWidget() is window.view


def _login(station, window, username="nurse1", pin="4826"):
    from nursestation.ui.context import CurrentUser

    user = window.ctx.writer.submit(repo.authenticate, username, pin).result().user
    window.ctx.set_user(CurrentUser(user.id, user.username, user.display_name, user.role))


def test_next_step_opens_the_dialog_for_the_chairs_phase(demo_window, qtbot):
    from nursestation.ui.visitflow import BaselineDialog, StartInfusionDialog

    station, window = demo_window
    _login(station, window)
    window.view.focus_chair("Chair 1")  # checked in and screened: the baseline is next
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: any(isinstance(w, BaselineDialog) and w.isVisible()
                                for w in window.findChildren(BaselineDialog)), timeout=3000)
    for w in window.findChildren(BaselineDialog):
        w.reject()
    window.view.focus_chair("Chair 2")  # baseline taken: starting the infusion is next
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: any(w.isVisible()
                                for w in window.findChildren(StartInfusionDialog)), timeout=3000)


def test_charting_shortcuts_open_the_dialog_for_the_focused_chairs_visit(demo_window, qtbot):
    from nursestation.ui.charting import MedicationDialog

    station, window = demo_window
    _login(station, window)
    window.view.focus_chair("Chair 3")
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    dialogs = [w for w in window.findChildren(MedicationDialog) if w.isVisible()]
    assert len(dialogs) == 1
    assert dialogs[0].visit_id == window.visits["Chair 3"].visit_id


def test_without_a_user_nothing_opens_but_the_login(demo_window, qtbot):
    from nursestation.ui.charting import MedicationDialog

    station, window = demo_window
    window.ctx.set_user(None)
    window.view.focus_chair("Chair 3")
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert not [w for w in window.findChildren(MedicationDialog) if w.isVisible()]
    assert window.lock.locked or window.findChildren(QDialog)


def test_manual_vitals_check_is_charted_and_fulfils_the_schedule(demo_window, qtbot):
    from nursestation.db.models import Assessment
    from nursestation.record.chairs import load_chair_visits
    from nursestation.ui.vitalscheck import VitalsCheckDialog

    station, window = demo_window
    _login(station, window)

    def baseline_check():
        visits = window.ctx.read(load_chair_visits, window.ctx.protocol.schedule,
                                 window.ctx.clock.now())
        return next(c for c in visits["Chair 1"].checks if c.phase == "baseline")

    # Chair 1 is checked in; its monitor has not taken a blood pressure yet.
    assert baseline_check().status != "done"
    window.view.focus_chair("Chair 1")
    qtbot.keyClick(window, Qt.Key.Key_V,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)

    def opened():
        return [w for w in window.findChildren(VitalsCheckDialog) if w.isVisible()]

    qtbot.waitUntil(lambda: len(opened()) == 1, timeout=3000)
    (dlg,) = opened()
    qtbot.keyClicks(dlg.fields["NBP_SYS"], "380")
    qtbot.keyClicks(dlg.fields["NBP_DIA"], "80")
    qtbot.keyClick(dlg, Qt.Key.Key_Return)
    assert "outside" in dlg.message.text()  # a typing slip is caught, nothing saved
    dlg.fields["NBP_SYS"].clear()
    qtbot.keyClicks(dlg.fields["NBP_SYS"], "128")
    qtbot.keyClicks(dlg.fields["HR"], "74")
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        qtbot.keyClick(dlg, Qt.Key.Key_Return)
    visit_id = window.visits["Chair 1"].visit_id
    with session_scope(station.engine) as s:
        (entry,) = [a for a in repo.current_entries(s, Assessment, visit_id)
                    if a.scale == "VITALS_CHECK"]
    assert entry.items == {"NBP_SYS": 128.0, "NBP_DIA": 80.0, "HR": 74.0}
    assert entry.recorded_by_id == window.ctx.user.id
    check = baseline_check()
    assert check.status == "done" and check.done_by == "manual entry"


def test_a_restarted_demo_resumes_each_patient_where_the_chart_is(qtbot):
    """Simulated devices and the stored demo chart agree after a restart: the pump of a patient
    who was infusing is still infusing, not back at the start of the visit."""
    from datetime import timedelta

    from nursestation.db.models import Patient
    from nursestation.demo import RESUME_AT_MOST_S, resume_plan

    config = load_config(demo=True, chairs=3)
    protocol = load_protocol(config.protocol_file)
    first = Station(config, protocol)
    offsets = [dc.offset for dc in first.demo_plan]
    first.shutdown()
    again = Station(config, protocol)
    try:
        resumed = [dc.offset for dc in again.demo_plan]
        # the same patients, a little further into their visits
        assert all(0 <= b - a < 30 for a, b in zip(offsets, resumed, strict=True))
        with session_scope(again.engine) as s:
            assert len(repo.list_visits(s)) == 3  # nothing seeded twice
            # hours later the stored visits no longer fit the scenarios: start afresh
            later = again.clock.now() + timedelta(seconds=RESUME_AT_MOST_S + 600)
            assert resume_plan(s, again.demo_plan, later) is None
            # a demo stored with other MRNs than its monitors now admit: start afresh too
            stored = s.get(Patient, repo.active_visits(s)[repo.chair_by_name(s, "Chair 1").id]
                           .patient_id)
            stored.mrn = "MRN-" + stored.mrn
            s.flush()
            assert resume_plan(s, again.demo_plan, again.clock.now()) is None
            s.rollback()
    finally:
        again.shutdown()


def test_an_entry_charted_at_the_chair_appears_on_the_detail_trend(demo_window, qtbot):
    from nursestation.ui.charting import NoteDialog

    station, window = demo_window
    _login(station, window)
    window.open_detail("Chair 3")
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any(w.isVisible() for w in window.findChildren(NoteDialog)),
                    timeout=3000)
    (dlg,) = [w for w in window.findChildren(NoteDialog) if w.isVisible()]
    qtbot.keyClicks(dlg.text, "feels floaty, calm; reassured")
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        dlg.save_button.click()
    trend = window.detail.trend
    qtbot.waitUntil(lambda: any("floaty" in e.detail for e in trend.events), timeout=10000)
    items = [trend.event_list.item(i).text() for i in range(trend.event_list.count())]
    assert any("note" in text for text in items)


def test_a_detail_opened_before_the_chart_is_read_gets_its_visit_when_it_arrives(qtbot):
    # --chair NAME (or a quick double click) opens a chair before the first chart read
    station, window = demo_station_window(qtbot)
    try:
        window.open_detail("Chair 3")
        assert not window.visits and window.detail.trend.history is None
        window.start()
        qtbot.waitUntil(lambda: window.detail.trend.history is not None, timeout=10000)
        visit = window.visits["Chair 3"]
        assert window.detail.trend.source == visit.visit_id
        assert window.dose_panel is not None and window.dose_panel.isVisible()
        assert any(e.kind == "dose" for e in window.detail.trend.events)
    finally:
        window.stop()
        station.shutdown()


def test_every_chart_menu_opens_its_dialog_for_the_chairs_visit(demo_window, qtbot):
    from nursestation.ui.mainwindow import ChartDialog, _chart_dialogs

    station, window = demo_window
    _login(station, window)
    window.open_detail("Chair 3")
    visit_id = window.visits["Chair 3"].visit_id
    classes = _chart_dialogs()
    assert set(classes) == set(ChartDialog)  # every menu entry has its dialog
    for which in ChartDialog:
        window._visit_dialog(which)
        opened = [w for w in window.findChildren(QDialog)
                  if type(w) is classes[which] and w.isVisible()]
        assert len(opened) == 1, which
        assert opened[0].visit_id == visit_id
        opened[0].reject()
