"""The charge nurse's overview window through its widgets: rows, sorting, filtering, keyboard,
and - with a station writing in another process - following a change within 2 s, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from nursestation.config import ChairConfig, Config
from nursestation.core.clock import SystemClock
from nursestation.db import repo
from nursestation.ui.context import AppContext, CurrentUser
from nursestation.ui.overview import (
    C_ALARMS,
    C_CHAIR,
    C_DISCHARGE,
    C_HR,
    C_PATIENT,
    C_PHASE,
    C_PUMP,
    ESCALATED_BG,
    OverviewWindow,
)
from tests.db.helpers import CHAIRS
from tests.db.test_overview import PROTOCOL, alarm, readings, real_now, seed_ready, start_visit
from tests.plugins.db import NURSE_PIN

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")

ROOT = Path(__file__).resolve().parents[2]


def make_ctx(database, *, logged_in: bool = True) -> AppContext:
    ctx = AppContext(Config(clinic_name="Test Clinic"), PROTOCOL, database.engine,
                     database.writer, clock=SystemClock())
    if logged_in:  # the overview needs a login (its own test drives the dialog)
        u = ctx.writer.submit(repo.authenticate, "nurse1", NURSE_PIN).result().user
        ctx.set_user(CurrentUser(u.id, u.username, u.display_name, u.role))
    return ctx


def open_window(qtbot, database, **kw) -> OverviewWindow:
    win = OverviewWindow(make_ctx(database), **kw)
    qtbot.addWidget(win)
    win.resize(1600, 400)
    win.show()
    qtbot.waitExposed(win)
    return win


def shown(win: OverviewWindow, col: int) -> list[str]:
    """The column's texts as the table shows them, top to bottom."""
    m = win.table.model()
    return [m.index(r, col).data() for r in range(m.rowCount())]


def cell(win: OverviewWindow, chair: str, col: int) -> str | None:
    m = win.table.model()
    for r in range(m.rowCount()):
        if m.index(r, C_CHAIR).data() == chair:
            return m.index(r, col).data()
    return None


def click_header(qtbot, win: OverviewWindow, col: int) -> None:
    hh = win.table.horizontalHeader()
    x = hh.sectionViewportPosition(col) + hh.sectionSize(col) // 2
    qtbot.mouseClick(hh.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, hh.height() // 2))


#: The widget tests run on SQLite (the plugin's ``db_url``); the two-process test on both.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def board(database, nurse):
    """Chair 1 infusing with an escalated high alarm and a pending pump change; Chair 2 ready
    for discharge; Chair 3 empty."""
    now = real_now()
    seed_ready(database, nurse, now, chair="Chair 2", mrn="MRN-2")
    _, c1, v1 = start_visit(database, nurse, start_ago=25, now=now, mrn="MRN-1",
                            chair="Chair 1")
    database.writer.submit(repo.sync_chairs, (*CHAIRS, ChairConfig("Chair 3")),
                           user=nurse).result()
    readings(database, "Chair 1", {"HR": 104.0, "SPO2": 87.0}, now - timedelta(seconds=1))
    alarm(database, c1.id, "c1:SPO2_LOW", "high", "raised", visit_id=v1.id,
          message="SpO2 87 < 90", at=now - timedelta(seconds=90))
    alarm(database, c1.id, "c1:SPO2_LOW", "high", "escalated", visit_id=v1.id,
          message="SpO2 87 < 90", at=now - timedelta(seconds=30))
    database.writer.submit(repo.record_pump_change, v1.id, c1.id, "pause", {},
                           user=nurse).result()
    return now


@sqlite_only
def test_rows_for_every_chair_with_what_the_charge_nurse_needs(qtbot, database, board):
    win = open_window(qtbot, database)
    assert shown(win, C_CHAIR) == ["Chair 1", "Chair 2", "Chair 3"]
    assert shown(win, C_PATIENT) == ["Sam Rivera", "Sam Rivera", "(empty)"]
    assert shown(win, C_PHASE) == ["infusing", "recovery", ""]
    assert cell(win, "Chair 1", C_HR) == "104"
    assert cell(win, "Chair 1", C_ALARMS) == "*** ESCALATED SpO2 87 < 90"
    assert cell(win, "Chair 1", C_PUMP).endswith("1 change(s) to confirm")
    assert cell(win, "Chair 2", C_DISCHARGE) == "\u2713 READY"
    assert cell(win, "Chair 2", C_ALARMS) == ""
    m = win.table.model()
    esc = m.index(0, C_ALARMS)
    assert esc.data(Qt.ItemDataRole.BackgroundRole).name() == ESCALATED_BG
    assert "escalated" in esc.data(Qt.ItemDataRole.ToolTipRole).lower()
    assert win.db_label.text().startswith("SQLite ") and "test.sqlite3" in \
        win.db_label.text()
    assert win.update_label.text().startswith("updated ")
    assert "1 ESCALATED" in win.summary.text() and "1 ready" in win.summary.text()


@sqlite_only
def test_sorting_by_header_and_filtering(qtbot, database, board):
    win = open_window(qtbot, database)
    click_header(qtbot, win, C_DISCHARGE)  # ascending: not ready, empty, ready ...
    assert shown(win, C_CHAIR)[-1] == "Chair 2"
    click_header(qtbot, win, C_ALARMS)
    click_header(qtbot, win, C_ALARMS)  # descending: the escalated chair first
    assert shown(win, C_CHAIR)[0] == "Chair 1"
    click_header(qtbot, win, C_CHAIR)
    assert shown(win, C_CHAIR) == ["Chair 1", "Chair 2", "Chair 3"]

    qtbot.keyClicks(win.filter_edit, "mrn-2")
    assert shown(win, C_CHAIR) == ["Chair 2"]
    win.filter_edit.clear()
    qtbot.keyClicks(win.filter_edit, "escalated spo2")
    assert shown(win, C_CHAIR) == ["Chair 1"]
    win.filter_edit.clear()
    assert len(shown(win, C_CHAIR)) == 3

    win.alarms_only.setChecked(True)
    assert shown(win, C_CHAIR) == ["Chair 1"]
    win.alarms_only.setChecked(False)
    win.ready_only.setChecked(True)
    assert shown(win, C_CHAIR) == ["Chair 2"]
    assert "showing 1" in win.summary.text()
    win.ready_only.setChecked(False)
    win.overdue_only.setChecked(True)
    assert shown(win, C_CHAIR) == ["Chair 1"]  # infusing 25 min, no BP taken


@sqlite_only
def test_keyboard_navigation(qtbot, database, board):
    win = open_window(qtbot, database)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=2000)  # shortcuts need the active window
    win.table.setFocus()
    assert win.table.currentIndex().row() == 0
    qtbot.keyClick(win.table, Qt.Key.Key_Down)
    assert win.table.currentIndex().row() == 1
    qtbot.keyClick(win.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(win.filter_edit.hasFocus, timeout=1000)
    qtbot.keyClicks(win.filter_edit, "chair 3")
    assert shown(win, C_CHAIR) == ["Chair 3"]
    qtbot.keyClick(win.filter_edit, Qt.Key.Key_Escape)
    assert win.filter_edit.text() == "" and len(shown(win, C_CHAIR)) == 3
    # Alt+A toggles "alarms only"
    qtbot.keyClick(win.table, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(win.alarms_only.isChecked, timeout=1000)  # a mnemonic animates the click
    assert shown(win, C_CHAIR) == ["Chair 1"]


@sqlite_only
def test_follows_changes_in_the_same_process_and_ages_move(qtbot, database, board, nurse):
    win = open_window(qtbot, database, refresh_ms=800)
    before = win.refreshes
    with database.session_scope() as s:
        v = repo.active_visit_for_chair(s, repo.chair_by_name(s, "Chair 1").id)
    database.writer.submit(repo.advance_phase, v.id, "recovery", user=nurse).result()
    qtbot.waitUntil(lambda: cell(win, "Chair 1", C_PHASE) == "recovery", timeout=2000)
    # nothing changes: the periodic refresh still runs (times in phase, ages)
    n = win.refreshes
    qtbot.waitUntil(lambda: win.refreshes > n, timeout=3000)
    assert win.refreshes > before


# ------------------------------------------------------------------------ two processes

STATION = r"""
import sys
from datetime import UTC, datetime
from nursestation.core.readings import Reading
from nursestation.db import Database, repo

url, visit_id, user_id, chair_id = sys.argv[1], *map(int, sys.argv[2:5])
db = Database.open(url, upgrade=False)
print("ready", flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "advance":
        db.writer.submit(repo.advance_phase, visit_id, "infusing", user=user_id).result()
    elif cmd == "alarm":
        db.writer.submit(repo.record_alarm_event, chair_id, "c2:SPO2_LOW", "SPO2_LOW", "high",
                         "escalated", message="SpO2 86 < 90", visit_id=visit_id).result()
    elif cmd == "vitals":
        db.writer.record_readings([Reading("HR", 131.0, "bpm", chair="Chair 2",
                                           device_id="c1-mon", recv_wall=datetime.now(UTC))])
        db.writer.flush().result()
    else:
        break
    print("committed", cmd, flush=True)
db.close()
"""


class Station:
    """A station process writing through DbWriter + repo when told to."""

    def __init__(self, url: str, visit_id: int, user_id: int, chair_id: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", STATION, url, str(visit_id), str(user_id), str(chair_id)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout.readline().strip() == "ready"

    def do(self, cmd: str) -> None:
        """Tell the station to write; returns once it reports the commit."""
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        assert reply == f"committed {cmd}", reply

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.stdout.close()


def test_overview_follows_a_station_in_another_process_within_2_s(qtbot, db_url, database,
                                                                  nurse):
    now = real_now()
    start_visit(database, nurse, start_ago=5, now=now)  # Chair 1 infusing, for company
    # Chair 2: a patient in baseline, whom the station will start infusing
    p2 = database.writer.submit(repo.create_patient, "MRN-9", "Okafor", "Ada", None, "",
                                user=nurse).result()
    c2 = database.writer.submit(lambda s: repo.chair_by_name(s, "Chair 2")).result()
    v2 = database.writer.submit(repo.create_visit, p2.id, c2.id, "ketamine-iv",
                                user=nurse).result()
    database.writer.submit(repo.advance_phase, v2.id, "baseline", user=nurse).result()

    win = open_window(qtbot, database)
    assert cell(win, "Chair 2", C_PHASE) == "baseline"
    if database.engine.dialect.name == "postgresql":
        assert "LISTEN" in win.update_label.text()
    station = Station(db_url, v2.id, nurse.id, c2.id)
    try:
        # Each waitUntil starts right after the station reported its commit: the overview
        # must show the change within 2 s of it.
        # a phase change (a clinical write: change marker, and NOTIFY on PostgreSQL)
        station.do("advance")
        qtbot.waitUntil(lambda: cell(win, "Chair 2", C_PHASE) == "infusing", timeout=2000)

        # an alarm the station's engine escalated
        station.do("alarm")
        qtbot.waitUntil(lambda: (cell(win, "Chair 2", C_ALARMS) or "").startswith(
            "*** ESCALATED SpO2 86"), timeout=2000)

        # a device reading (no change marker: the newest vitals row tells)
        station.do("vitals")
        qtbot.waitUntil(lambda: cell(win, "Chair 2", C_HR) == "131", timeout=2000)
    finally:
        station.close()
        win.stop()
