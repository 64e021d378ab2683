"""Chair detail: live waves and numerics, and the whole-visit trend with history and events."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nursestation.core.clock import FakeClock
from nursestation.core.livestate import LiveStore
from nursestation.core.readings import Reading
from nursestation.core.vocabulary import Code
from nursestation.sim.readings import scenario_readings
from nursestation.sim.scenarios import get_scenario
from nursestation.ui.detail import ChairDetail
from nursestation.ui.tiles import AlarmSummary, TileContext
from nursestation.ui.trend import TrendEvent, merge_series

CHAIR = "Chair 3"
TN = 3700.0  # scenario "now": early recovery


@pytest.fixture
def detail(qtbot):
    clock = FakeClock()
    store = LiveStore(clock)
    sc = get_scenario("ketamine-visit", seed=4)
    now = clock.now()

    def wall(t):
        return now - timedelta(seconds=TN - t)

    store.ingest(scenario_readings(sc, CHAIR, TN - 120, TN, mono0=clock.monotonic() - 120,
                                   wall0=wall(TN - 120), monitor="mon", pump="pump"))
    calls = []
    e0 = wall(0).timestamp()

    def history(source, t0, t1):
        calls.append((source, t0, t1))
        ts = np.arange(max(t0, e0), t1, 10.0)
        hr = np.array([sc.state(t - e0).hr for t in ts])
        return {Code.HR: (ts, hr)}

    d = ChairDetail(CHAIR, clock=clock, history=history, source="visit-9", visit_start=wall(0))
    qtbot.addWidget(d)
    d.resize(1600, 1000)
    d.show()
    qtbot.waitExposed(d)
    events = [
        TrendEvent(wall(600), "dose", "Infusion started 150 mL/h", "0.5 mg/kg over 40 min"),
        TrendEvent(wall(900), "medication", "Ondansetron 4 mg IV", "for nausea, RN Lee"),
        TrendEvent(wall(1800), "alarm", "SpO2 89 < 90", "medium, resolved in 2 min"),
        TrendEvent(wall(2100), "dose", "Rate 150 → 100 mL/h", "BP rising"),
        TrendEvent(wall(3300), "assessment", "MOAA/S 5", ""),
    ]
    d.set_events(events)
    d.refresh(store, clock.monotonic())
    return d, store, clock, sc, calls, events, wall


def test_live_numerics_and_large_waves(detail):
    d, _store, _clock, sc, _calls, _events, _wall = detail
    s = sc.state(TN)
    assert d.hr.value.text() == f"{s.hr:.0f}"
    assert d.spo2.value.text() == f"{s.spo2:.0f}"
    assert d.nbp.value.text() == f"{s.nbp_sys:.0f}/{s.nbp_dia:.0f}"
    x, y = d.waves.curves[Code.ECG].getData()
    assert len(x) > 500 and np.isfinite(y).sum() > 500


def test_trend_joins_history_and_the_live_buffer(detail):
    d, store, _clock, _sc, calls, _events, wall = detail
    assert calls and calls[0][0] == "visit-9"
    assert calls[0][1] == pytest.approx(wall(0).timestamp())
    _t, _v = d.trend.lines[Code.HR].getData()  # may be clipped/downsampled to the view
    full_t, _full_v = d.trend.data[Code.HR]
    live_t, _ = store.trend(CHAIR, [Code.HR])[Code.HR]
    assert full_t[0] == pytest.approx(wall(0).timestamp())  # from the start of the visit
    assert full_t[-1] == live_t[-1]  # to the newest live sample
    assert np.all(np.diff(full_t) > 0)  # no overlap at the seam
    assert (full_t < live_t[0]).sum() > 300  # the history part
    # NBP as bars between dia and sys
    ts, sys_ = d.trend.data[Code.NBP_SYS]
    assert len(ts) >= 1 and np.isfinite(sys_).all()


def test_following_live_and_scrolling_back_through_the_visit(detail, qtbot):
    d, store, clock, _sc, _calls, _events, wall = detail
    a, b = d.trend.x_range()
    now = clock.now().timestamp()
    assert d.trend.follow and a < now <= b
    d.trend.show_whole_visit()
    a, b = d.trend.x_range()
    assert a <= wall(0).timestamp() + 1 and b >= now
    assert not d.trend.follow
    qtbot.keyClick(d.trend, Qt.Key.Key_Left)  # scroll back
    a2, _b2 = d.trend.x_range()
    assert a2 < a
    # live data keeps arriving while the nurse looks back; the view stays where it is
    clock.advance(5)
    store.ingest([Reading(Code.HR, 101.0, chair=CHAIR, device_id="mon",
                          recv_mono=clock.monotonic())])
    d.refresh(store, clock.monotonic() + 2)
    assert d.trend.x_range()[0] == pytest.approx(a2)
    assert d.trend.data[Code.HR][1][-1] == 101.0
    d.trend.live_button.click()
    assert d.trend.follow and d.trend.x_range()[1] >= clock.now().timestamp()


def test_event_markers_show_their_details_on_click(detail, qtbot):
    d, _store, _clock, _sc, _calls, events, _wall = detail
    d.trend.show_whole_visit()
    qtbot.wait(50)
    assert len(d.trend.markers.points()) == len(events)
    assert d.trend.event_list.count() == len(events)
    target = events[3]
    pos = d.trend.marker_scene_pos(target)
    qtbot.mouseClick(d.trend.glw.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: d.trend.selected == target, timeout=2000)
    assert "Rate 150 → 100 mL/h" in d.trend.detail_label.text()
    assert "BP rising" in d.trend.detail_label.text()
    assert d.trend.event_list.currentRow() == 3
    # and from the keyboard, through the list
    d.trend.event_list.setFocus()
    d.trend.event_list.setCurrentRow(1)
    assert "Ondansetron 4 mg IV" in d.trend.detail_label.text()
    # hovering shows the same text as a tooltip
    assert "for nausea" in d.trend._tip(x=0, y=0, data=events[1])


def test_context_and_alarm(detail):
    d, _store, clock, _sc, _calls, _events, _wall = detail
    d.set_context(TileContext(patient_name="Ana Pereira", mrn="77", phase="recovery",
                              phase_started=clock.now() - timedelta(minutes=11),
                              alarm=AlarmSummary("medium", "NBP 141/92")))
    assert d.phase_label.text() == "RECOVERY"
    assert "Ana Pereira" in d.patient_label.text() and "MRN 77" in d.patient_label.text()
    assert d.alarm_label.text().startswith("** MED")
    assert "in recovery 11:00" in d.timers_label.text()


def test_merge_series_keeps_history_only_before_live():
    hist = {Code.HR: (np.array([1.0, 2.0, 3.0, 4.0]), np.array([60, 61, 62, 63.0]))}
    live = {Code.HR: (np.array([3.0, 5.0]), np.array([70, 71.0]))}
    t, v = merge_series(hist, live)[Code.HR]
    assert list(t) == [1.0, 2.0, 3.0, 5.0] and list(v) == [60, 61, 70, 71]


def test_the_large_waves_sweep_repainting_only_the_strip_the_head_moved_over(detail, qtbot):
    """The detail's waves are the tiles' sweep: a frame repaints the strip the head and the
    erase bar moved over, not the whole 1600 px view, and what it leaves is the same picture
    as a full repaint (the channel names at the left edge included)."""
    from tests.ui.test_sweep import PaintLog

    d, store, clock, *_ = detail
    clock.advance(0.05)
    d.refresh(store, clock.monotonic())  # laid out at its size now
    qtbot.wait(50)
    log = PaintLog(d.waves)
    clock.advance(0.05)
    d.refresh(store, clock.monotonic())
    qtbot.waitUntil(lambda: bool(log.regions), timeout=2000)
    whole = d.waves.width() * d.waves.height()
    assert all(a < whole / 8 for a in log.areas), (log.areas, whole)
    part = d.waves.grab().toImage()
    d.waves.update()
    assert d.waves.grab().toImage() == part
