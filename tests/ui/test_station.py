"""The station grid: layout for 1-32 chairs, the alarm bar, keyboard navigation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from nursestation.core.clock import FakeClock
from nursestation.core.livestate import LiveStore
from nursestation.sim.readings import scenario_readings
from nursestation.sim.scenarios import get_scenario
from nursestation.ui.station import MIN_TILE, StationView, grid_shape
from nursestation.ui.tiles import AlarmSummary, TileContext


def make_station(qtbot, n, size=(1920, 1080)):
    clock = FakeClock()
    store = LiveStore(clock)
    names = [f"Chair {i}" for i in range(1, n + 1)]
    for i, name in enumerate(names):
        sc = get_scenario("ketamine-visit", seed=i + 1, offset=600 + 97 * i)
        store.ingest(scenario_readings(sc, name, 0, 3, mono0=clock.monotonic() - 3,
                                       wall0=clock.now() - timedelta(seconds=3),
                                       monitor=f"{name}/mon", pump=f"{name}/pump"))
    view = StationView(store, names, clock=clock)
    qtbot.addWidget(view)
    view.resize(*size)
    with qtbot.waitActive(view):
        view.show()
        view.activateWindow()
    view.refresh(store, clock.monotonic())
    return view, store, names


@pytest.mark.parametrize("n", [1, 6, 16, 32])
def test_tiles_fill_the_window_without_overlap(qtbot, n):
    view, _store, names = make_station(qtbot, n)
    area = view.grid.rect()
    rects = [view.tiles[c].geometry() for c in names]
    for i, r in enumerate(rects):
        assert area.contains(r), (names[i], r, area)
        assert r.width() >= 180 and r.height() >= 130
        for other in rects[i + 1:]:
            assert not r.intersects(other)
    # reading order: left to right, then down
    assert rects[0].top() <= rects[-1].top()
    if n > 1:
        assert rects[1].left() > rects[0].left() or rects[1].top() > rects[0].top()
    # every tile shows its chair's live heart rate
    for c in names:
        assert view.tiles[c].hr.value.text().isdigit()


def test_grid_shape_prefers_large_tiles():
    assert grid_shape(1, 1920, 1050) == (1, 1)
    assert grid_shape(6, 1920, 1050) == (3, 2)
    assert grid_shape(16, 1920, 1050) == (4, 4)
    cols, rows = grid_shape(32, 1920, 1050)
    assert cols * rows >= 32 and rows <= cols


def test_alarm_bar_lists_each_chairs_highest_alarm_most_urgent_first(qtbot):
    view, _store, _names = make_station(qtbot, 6)
    view.set_alarms({
        "Chair 2": AlarmSummary("low", "pump near end"),
        "Chair 5": AlarmSummary("high", "SpO2 84 < 90"),
        "Chair 3": AlarmSummary("medium", "NBP 171/104 > 160"),
        "Chair 1": None,
    })
    texts = view.alarm_bar.texts()
    assert texts == ["Chair 5: *** HIGH SpO2 84 < 90",
                     "Chair 3: ** MED NBP 171/104 > 160",
                     "Chair 2: * LOW pump near end"]
    # the most urgent chair is the banner: larger than the others
    assert view.alarm_bar.banner.font().pixelSize() > view.alarm_bar.labels[1].font().pixelSize()
    for lab in view.alarm_bar.labels[:3]:  # really drawn, not squeezed to nothing
        assert lab.width() >= lab.fontMetrics().horizontalAdvance(lab.text()) - 2
    assert view.tiles["Chair 5"].alarm_label.text().startswith("*** HIGH")
    assert view.tiles["Chair 1"].alarm_label.text() == ""
    assert not view.alarm_bar.none_label.isVisible()
    # a context update keeps the alarm the engine reported
    view.set_context("Chair 5", TileContext(patient_name="A B", phase="infusing"))
    assert view.tiles["Chair 5"].alarm_label.text().startswith("*** HIGH")
    with qtbot.waitSignal(view.activated, timeout=1000) as sig:
        qtbot.mouseClick(view.alarm_bar.labels[0], Qt.MouseButton.LeftButton)
    assert sig.args == ["Chair 5"]
    view.set_alarms({})
    assert view.alarm_bar.texts() == []
    assert view.alarm_bar.none_label.isVisible()


def test_arrow_keys_move_between_tiles_and_enter_opens(qtbot):
    view, _store, _names = make_station(qtbot, 6)
    assert view.columns == 3
    view.focus_chair("Chair 1")
    qtbot.keyClick(view.tiles["Chair 1"], Qt.Key.Key_Right)
    assert view.focused_chair() == "Chair 2"
    qtbot.keyClick(view.tiles["Chair 2"], Qt.Key.Key_Down)
    assert view.focused_chair() == "Chair 5"
    qtbot.keyClick(view.tiles["Chair 5"], Qt.Key.Key_Left)
    assert view.focused_chair() == "Chair 4"
    qtbot.keyClick(view.tiles["Chair 4"], Qt.Key.Key_Down)  # no row below: stays
    assert view.focused_chair() == "Chair 4"
    with qtbot.waitSignal(view.activated, timeout=1000) as sig:
        qtbot.keyClick(view.tiles["Chair 4"], Qt.Key.Key_Enter)
    assert sig.args == ["Chair 4"]


def test_chairs_can_change(qtbot):
    view, _store, names = make_station(qtbot, 4)
    view.set_chairs(names[:2])
    assert list(view.tiles) == names[:2]


# -- every text readable at 32 chairs ----------------------------------------------------------

def _drawn_width(label: QLabel, text: str) -> int:
    """Pixels ``label`` needs to draw ``text`` on one line, with QLabel's implicit indent."""
    fm = label.fontMetrics()
    indent = label.indent()
    if indent < 0:
        indent = fm.horizontalAdvance("x") // 2 if label.frameWidth() > 0 else 0
    return fm.horizontalAdvance(text) + indent + 2 * label.margin()


def unreadable_texts(widget: QWidget) -> list[str]:
    """Labels whose text is cut: wider or taller than drawn, or shortened to "…" with no
    tooltip to read the rest. Big numbers must fit whole (never "…")."""
    problems = []
    for lab in widget.findChildren(QLabel):
        text = lab.text()
        if not text or not lab.isVisibleTo(widget) or lab.wordWrap():
            continue
        fm = lab.fontMetrics()
        room = lab.contentsRect()
        where = f"{type(lab).__name__} {text!r} in {room.width()}x{room.height()}"
        if text.endswith("…"):
            tip = lab.toolTip()
            if not tip or tip == text or not tip.startswith(text[:-1].split("  ")[0][:3]):
                problems.append(f"elided without its full text in the tooltip: {where}")
            if lab is getattr(lab.parent(), "value", None):
                problems.append(f"number elided: {where}")
        if _drawn_width(lab, text) > room.width() + 1:
            problems.append(f"cut at the side: {where}")
        ink = fm.tightBoundingRect(text)
        baseline = (room.height() - fm.ascent() - fm.descent()) / 2 + fm.ascent()
        if lab.alignment() & Qt.AlignmentFlag.AlignVCenter and (
                baseline + ink.top() < -1 or baseline + ink.bottom() > room.height() + 1):
            problems.append(f"cut at top or bottom: {where}")
    return problems


@pytest.mark.parametrize("size", [(1920, 1009), (1700, 1000), (1920, 900)])
def test_every_tile_text_is_readable_or_elided_with_a_tooltip_at_32_chairs(qtbot, size):
    """At 32 chairs a tile is ~270 x 190 px: 'Pump STOPPED' lost half its last letter
    ('Pump STOPPEI'), timers and NBP ages were cut mid-letter, numbers could lose their top."""
    view, store, names = make_station(qtbot, 32, size)
    long_alarm = AlarmSummary("high", "SpO2 86 < 90 for 15 s on the oximeter", count=3,
                              acknowledged=True)
    view.set_alarms({names[1]: long_alarm, names[4]: AlarmSummary("low", "Pump near end")})
    now = view.clock.now()
    for i, name in enumerate(names):
        view.set_context(name, TileContext(
            patient_name="Anna-Maria Rodriguez-Villanueva", mrn="100200300", phase="recovery",
            phase_started=now - timedelta(minutes=52, seconds=46),
            infusion_started=now - timedelta(minutes=92), infusion_ended=now - timedelta(
                minutes=52), course="3 of 6",
            pending=("BP check overdue", "1 pump change(s) to confirm") if i % 3 == 0 else (),
            assessments="MOAA/S 5 · CADSS-6 8 · Nausea none"))
    view.tile(names[2]).set_audio_paused(now + timedelta(seconds=107), "alex")
    qtbot.wait(30)
    store.clock.advance(0.6)
    view.refresh(store, store.clock.monotonic())
    qtbot.wait(30)
    problems = {n: unreadable_texts(view.tile(n)) for n in names}
    assert not {n: p for n, p in problems.items() if p}
    assert "STOP" in view.tile(names[0]).pump.title.text() or \
        "INFUS" in view.tile(names[0]).pump.title.text()


def test_alarm_bar_texts_are_readable(qtbot):
    view, _store, names = make_station(qtbot, 32)
    view.set_alarms({n: AlarmSummary("medium", "NBP 168/102 > 160/100") for n in names[:9]})
    qtbot.wait(30)
    assert not unreadable_texts(view.alarm_bar)


# -- a laptop's 1366 x 768 (issue 17) ----------------------------------------------------------

def _tile_numbers(tile):
    return {"HR": tile.hr, "SpO2": tile.spo2, "NBP": tile.nbp, "RR": tile.rr, "Pump": tile.pump}


def test_at_32_chairs_on_1366_x_768_every_tile_shows_its_numbers_large(qtbot):
    """32 tiles of ~190 x 130 px: the units and ages under the numbers took a third of each
    box, so HR and SpO2 were 13 px and the blood pressure 9 px. Now the numbers come first."""
    view, store, names = make_station(qtbot, 32, (1366, 686))
    view.set_alarms({names[26]: AlarmSummary("high", "SpO\u2082 84 % — below 90")})
    for name in names:
        view.set_context(name, TileContext(patient_name="Bora Yilmaz", phase="infusing"))
    store.clock.advance(0.6)
    view.refresh(store, store.clock.monotonic())
    qtbot.wait(30)
    rects = [view.tiles[c].geometry() for c in names]
    for i, r in enumerate(rects):
        assert view.grid.rect().contains(r)
        assert not any(r.intersects(o) for o in rects[i + 1:])
    assert view.scroll.verticalScrollBar().maximum() == 0  # all 32 on one screen
    for name in names:
        tile = view.tile(name)
        for what, box in _tile_numbers(tile).items():
            text = box.value.text()
            assert text not in ("", "--") and "…" not in text, (name, what, text)
            floor = 18 if what in ("HR", "SpO2") else 15
            assert box.value.font().pixelSize() >= floor, (name, what, box.value.font())
        # the pump's state is a whole word beside its rate
        assert tile.pump.title.text() in ("INFUSING", "STOPPED", "PAUSED", "Pump INFUSING",
                                          "Pump STOPPED", "Pump PAUSED"), tile.pump.title.text()
        assert tile.patient_label.text() in ("Bora Yilmaz", "B. Yilmaz", "B.Y."), name
        assert tile.name_label.font().pixelSize() >= 11
        assert not unreadable_texts(tile), (name, unreadable_texts(tile))
    alarmed = view.tile(names[26])
    # the value in words, whole (the limit follows when there is room; the banner has it)
    assert alarmed.alarm_label.text() in ("*** HIGH SpO\u2082 84 % — below 90",
                                          "*** HIGH SpO\u2082 84 %")
    assert alarmed.alarm_label.font().pixelSize() >= 10
    # the NBP's age moved beside its name rather than under its number
    assert "min" in view.tile(names[0]).nbp.corner.text()


def test_64_chairs_on_1366_x_768_scroll_rather_than_overlap(qtbot):
    view, _store, names = make_station(qtbot, 64, (1366, 686))
    rects = [view.tiles[c].geometry() for c in names]
    for i, r in enumerate(rects):
        assert r.width() >= MIN_TILE[0] and r.height() >= MIN_TILE[1], (names[i], r)
        assert view.grid.rect().contains(r)
        assert not any(r.intersects(o) for o in rects[i + 1:]), names[i]
    bar = view.scroll.verticalScrollBar()
    assert bar.maximum() > 0
    # moving down with the arrow keys brings the chair into view
    view.focus_chair("Chair 1")
    for _ in range(8):
        qtbot.keyClick(view.tiles[view.focused_chair()], Qt.Key.Key_Down)
    chair = view.focused_chair()
    assert chair != "Chair 1" and bar.value() > 0
    shown = view.scroll.viewport().rect()
    tile = view.tiles[chair]
    assert shown.contains(tile.geometry().translated(view.grid.pos()))


def test_the_banner_keeps_the_most_urgent_message_whole_at_1366(qtbot):
    """Five medium chips took the whole bar at 1366 px and squeezed the high alarm to a red
    stub; now the other chips shorten to their chair and priority first."""
    view, _store, names = make_station(qtbot, 32, (1366, 686))
    alarms = {names[26]: AlarmSummary("high", "SpO\u2082 84 % — below 90", count=2)}
    alarms.update({n: AlarmSummary("medium", "SpO\u2082 90 % — below 94") for n in names[2:30:7]})
    view.set_alarms(alarms)
    qtbot.wait(30)
    bar = view.alarm_bar
    assert bar.banner.text() in ("Chair 27: *** HIGH SpO\u2082 84 % — below 90 (+1 more)",
                                 "Chair 27: *** HIGH SpO\u2082 84 % — below 90")
    assert bar.banner.width() > bar.width() // 3
    chips = [lab.text() for lab in bar.labels[1:] if lab.isVisibleTo(bar)]
    assert chips and all(c.startswith("Chair ") and "** MED" in c for c in chips), chips
    assert not unreadable_texts(bar)
