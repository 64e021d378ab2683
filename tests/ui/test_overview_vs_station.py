"""The overview shows the same facts as the station's tiles (issue 17, point 5), and only to
someone logged in. The station and the overview run on the same demo database here; each
column is compared with the tile of the same chair."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from nursestation.db import repo
from nursestation.ui.context import CurrentUser
from nursestation.ui.overview import (
    C_CHAIR,
    C_CHECKS,
    C_HR,
    C_NBP,
    C_PATIENT,
    C_PHASE,
    C_PUMP,
    OverviewWindow,
)
from tests.ui.test_mainwindow import demo_station_window

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def row_texts(win: OverviewWindow, chair: str) -> dict[int, str]:
    m = win.table.model()
    for r in range(m.rowCount()):
        if m.index(r, C_CHAIR).data() == chair:
            return {c: m.index(r, c).data() or "" for c in range(m.columnCount())}
    raise AssertionError(f"{chair} not in the overview")


def minutes(text: str) -> int:
    """ "<1 min ago" -> 0, "13 min" -> 13, "1 h 05" -> 65."""
    if "<1 min" in text:
        return 0
    h = re.search(r"(\d+) h (\d+)", text)
    if h:
        return int(h.group(1)) * 60 + int(h.group(2))
    return int(re.search(r"(\d+) min", text).group(1))


@pytest.fixture
def station_and_overview(qtbot):
    station, window = demo_station_window(qtbot, chairs=6)
    station.start_devices()
    window.start()
    qtbot.waitUntil(lambda: bool(window.visits), timeout=15000)
    ctx = window.ctx
    try:
        overview = OverviewWindow(ctx)
        qtbot.addWidget(overview)
        overview.resize(1600, 500)
        overview.show()
        yield station, window, overview
    finally:
        window.stop()
        station.shutdown()


def test_the_overview_needs_a_login_and_then_shows_the_chairs(station_and_overview, qtbot):
    _station, window, overview = station_and_overview
    ctx = window.ctx
    assert ctx.user is None
    assert overview.table.isHidden() and overview.gate.isVisible()
    assert overview.model.rowCount() == 0  # nothing about a patient before a login
    dlg = overview.login
    assert dlg is not None and dlg.isVisible()
    qtbot.keyClicks(dlg.username, "nurse1")
    qtbot.keyClicks(dlg.pin, "4826")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    assert ctx.user is not None and ctx.user.role == "nurse"  # a nurse is enough: it only reads
    assert overview.table.isVisible() and overview.model.rowCount() == 6


def test_each_column_says_what_the_chairs_tile_says(station_and_overview, qtbot):
    _station, window, overview = station_and_overview
    ctx = window.ctx
    u = ctx.writer.submit(repo.authenticate, "nurse1", "4826").result().user
    ctx.set_user(CurrentUser(u.id, u.username, u.display_name, u.role))
    # Chair 3 is infusing at 150 mL/h, Chair 4 further in at a lower rate (demo plan)
    for chair in ("Chair 3", "Chair 4"):
        tile = window.view.tile(chair)
        qtbot.waitUntil(lambda t=tile: "/" in t.nbp.value.text()
                        and t.pump.value.text().isdigit() and t.hr.value.text().isdigit(),
                        timeout=20000)
    qtbot.wait(1500)  # the recorder commits what the tiles show
    overview.refresh()
    for chair in ("Chair 3", "Chair 4"):
        tile = window.view.tile(chair)
        row = row_texts(overview, chair)
        visit = window.visits[chair]
        assert row[C_PATIENT] == visit.patient_name
        assert tile.patient_label.full_text.startswith(visit.patient_name)
        assert row[C_PHASE] == tile.phase_label.text().lower()
        # NBP: the same measurement, the same age (the overview said "0 min" for every one)
        assert row[C_NBP].split()[0].strip("()") == tile.nbp.value.text()
        assert abs(minutes(row[C_NBP]) - minutes(tile.nbp.sub.full_text)) <= 1
        # pump: the rate the tile shows, and its state
        assert row[C_PUMP].startswith(f"{tile.pump.value.text()} mL/h")
        assert tile.pump.title.full_text.lower().removeprefix("pump ") in row[C_PUMP]
        assert abs(int(row[C_HR].strip("()?")) - int(tile.hr.value.text())) <= 5
        # checks: never empty for a visit under a schedule (due, overdue or the next one)
        assert row[C_CHECKS]
