"""A chair tile, driven by scenario readings through the LiveStore: what a nurse sees."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from nursestation.core.clock import FakeClock
from nursestation.core.livestate import LiveStore, scenario_readings
from nursestation.core.readings import Reading
from nursestation.core.scenarios import get_scenario
from nursestation.core.vocabulary import Code, Quality
from nursestation.ui import style
from nursestation.ui.tiles import AlarmSummary, ChairTile, TileContext

CHAIR = "Chair 4"
T = 1300.0  # scenario time: infusing, NBP done, no artefact


@pytest.fixture
def live(qtbot):
    clock = FakeClock()
    store = LiveStore(clock)
    store.register_chair(CHAIR, {"mon": "Monitor", "pump": "Pump"})
    sc = get_scenario("ketamine-visit", seed=2)
    store.ingest(scenario_readings(sc, CHAIR, T - 8, T, mono0=clock.monotonic() - 8,
                                   wall0=clock.now() - timedelta(seconds=8), monitor="mon",
                                   pump="pump"))
    tile = ChairTile(CHAIR, clock=clock)
    qtbot.addWidget(tile)
    tile.resize(520, 340)
    tile.show()
    qtbot.waitExposed(tile)
    tile.refresh(store)
    return clock, store, tile, sc.state(T)


def colour_of(label) -> QColor:
    return label.palette().color(label.foregroundRole())


def test_numerics_show_the_devices_values_in_monitor_colours(live):
    _clock, _store, tile, s = live
    assert tile.hr.value.text() == f"{s.hr:.0f}"
    assert tile.spo2.value.text() == f"{s.spo2:.0f}"
    assert tile.rr.value.text() == f"{s.rr:.0f}"
    assert tile.etco2.value.text() == f"{s.etco2:.0f}"
    assert tile.pump.value.text() == f"{s.pump_rate:.0f}"
    assert f"VI {s.pump_vi:.1f}" in tile.pump.sub.text()
    assert s.pump_state.upper() in tile.pump.title.text()
    assert colour_of(tile.hr.value) == QColor(style.GREEN)
    assert colour_of(tile.spo2.value) == QColor(style.CYAN)
    assert colour_of(tile.rr.value) == QColor(style.YELLOW)


def test_nbp_shows_with_the_age_of_its_measurement(live):
    clock, store, tile, s = live
    assert tile.nbp.value.text() == f"{s.nbp_sys:.0f}/{s.nbp_dia:.0f}"
    assert f"({s.nbp_mean:.0f})" in tile.nbp.sub.text()
    age_min = int((T - s.nbp_time) // 60)
    assert (f"{age_min} min ago" if age_min else "<1 min ago") in tile.nbp.sub.text()
    clock.advance(600)  # ten minutes later, nothing new from the cuff: older, still shown
    store.ingest([Reading(Code.HR, 75.0, chair=CHAIR, device_id="mon",
                          recv_mono=clock.monotonic())])
    tile.refresh(store)
    assert f"{age_min + 10} min ago" in tile.nbp.sub.text()
    assert f"last BP {age_min + 10} min ago" in tile.timers_label.text()


def test_offline_device_never_leaves_a_live_looking_number(live):
    clock, store, tile, s = live
    clock.advance(0.5)
    store.ingest([Reading(Code.DEVICE_OFFLINE, "cable unplugged", chair=CHAIR, device_id="mon",
                          recv_mono=clock.monotonic(), extra={"health": "offline"})])
    tile.refresh(store)  # one redraw
    for box in (tile.hr, tile.spo2, tile.rr, tile.etco2, tile.nbp):
        assert box.value.text().startswith("OFF"), box.code
        assert box.value.text() != f"{s.hr:.0f}"
    assert tile.offline_banner.isVisible()
    assert "MONITOR OFFLINE" in tile.offline_banner.text()
    assert "cable unplugged" in tile.offline_banner.text()
    ecg_x, _ = tile.waves.curves[Code.ECG].getData()
    assert ecg_x is None or len(ecg_x) == 0  # no frozen trace either
    assert tile.pump.value.text() == f"{s.pump_rate:.0f}"  # the pump is still online


def test_numbers_without_updates_turn_stale(live):
    clock, store, tile, _s = live
    clock.advance(11)
    store.ingest([Reading(Code.DEVICE_ONLINE, "", chair=CHAIR, device_id="mon",
                          recv_mono=clock.monotonic())])
    tile.refresh(store)
    assert tile.hr.value.text() == "---"
    assert "no update" in tile.hr.sub.text()


def test_questionable_and_unusable_values_are_marked(live):
    clock, store, tile, _s = live
    store.ingest([
        Reading(Code.SPO2, 93.0, "%", frozenset({Quality.QUESTIONABLE, Quality.LOW_PERFUSION}),
                chair=CHAIR, device_id="mon", recv_mono=clock.monotonic()),
        Reading(Code.RR, None, quality=frozenset({Quality.UNAVAILABLE}), chair=CHAIR,
                device_id="mon", recv_mono=clock.monotonic()),
    ])
    tile.refresh(store)
    assert tile.spo2.value.text() == "93?"
    assert colour_of(tile.spo2.value) != QColor(style.CYAN)
    assert "low perfusion" in tile.spo2.sub.text()
    assert tile.rr.value.text() == "-?-"


def test_waves_are_drawn_from_the_rings(live):
    _clock, _store, tile, _s = live
    for code in (Code.ECG, Code.PLETH):
        x, y = tile.waves.curves[code].getData()
        assert x is not None and len(x) > 100
        assert np.isfinite(y).sum() > 100
        lo, hi = tile.waves.band(code)
        fin = y[np.isfinite(y)]
        assert fin.min() >= lo - 0.1 and fin.max() <= hi + 0.1  # stays in its own band
        assert x.max() <= 10.0


def test_context_shows_patient_phase_and_timers(live, qtbot):
    clock, _store, tile, _s = live
    tile.set_context(TileContext(
        patient_name="Jane Q Doe", mrn="A1234", phase="infusing",
        phase_started=clock.now() - timedelta(minutes=12, seconds=5),
        infusion_started=clock.now() - timedelta(minutes=12, seconds=5), course="3 of 6",
        pending=("pump change to confirm", "BP check overdue")))
    assert tile.patient_label.full_text == "Jane Q Doe  MRN A1234  #3 of 6"
    assert tile.phase_label.text() == "INFUSING"
    assert "infusion 12:05" in tile.timers_label.text()
    assert "BP check overdue" in tile.pending_label.full_text
    assert tile.pending_label.isVisible()
    tile.patient_display = "initials"
    tile.set_context(TileContext(patient_name="Jane Q Doe", mrn="A1234"))
    assert tile.patient_label.full_text.startswith("J.Q.D.")


def _observe_lit(qtbot, label, ms=1500):
    seen = set()
    for _ in range(ms // 50):
        qtbot.wait(50)
        seen.add(label.lit)
    return seen


def test_high_alarm_shows_priority_in_text_and_flashes(live, qtbot):
    _clock, _store, tile, _s = live
    tile.set_alarm(AlarmSummary("high", "SpO2 85 < 90"))
    assert tile.alarm_label.text().startswith("***")
    assert "SpO2 85 < 90" in tile.alarm_label.text()
    assert _observe_lit(qtbot, tile.alarm_label, 1200) == {True, False}


def test_low_alarm_is_steady(live, qtbot):
    _clock, _store, tile, _s = live
    tile.set_alarm(AlarmSummary("low", "pump near end"))
    assert tile.alarm_label.text().startswith("* pump")
    assert _observe_lit(qtbot, tile.alarm_label, 800) == {True}
    tile.set_alarm(None)
    assert tile.alarm_label.text() == ""


def test_enter_and_double_click_open_the_chair(live, qtbot):
    _clock, _store, tile, _s = live
    tile.setFocus()
    assert tile.focusPolicy() & Qt.FocusPolicy.TabFocus
    with qtbot.waitSignal(tile.activated, timeout=1000) as sig:
        qtbot.keyClick(tile, Qt.Key.Key_Return)
    assert sig.args == [CHAIR]
    with qtbot.waitSignal(tile.activated, timeout=1000) as sig:
        qtbot.mouseDClick(tile, Qt.MouseButton.LeftButton)
    assert sig.args == [CHAIR]


def test_pleth_stays_in_its_band_from_the_first_partial_beat_on(qtbot):
    """The demo's devices start mid-beat and deliver ~40 ms batches: the first samples the
    tile sees are a fraction of an upstroke. A gain fitted to that made the whole pulse
    several bands tall, over the ECG, until a refit 60 frames later. Each wave must stay in
    its band, and the pleth fill it once whole beats arrived."""
    clock = FakeClock()
    store = LiveStore(clock)
    store.register_chair(CHAIR, {"mon": "Monitor"})
    sc = get_scenario("ketamine-visit", seed=6)
    starts = np.arange(T, T + 2, 0.01)  # start where the first 0.4 s hold least of a beat
    t0 = starts[np.argmin([np.ptp(sc.pleth(t, 50, 125.0)) for t in starts])]
    tile = ChairTile(CHAIR, clock=clock)
    qtbot.addWidget(tile)
    tile.resize(520, 340)
    tile.show()
    qtbot.waitExposed(tile)
    step = 0.04
    for i in range(100):  # 4 s
        t = t0 + i * step
        store.ingest(scenario_readings(sc, CHAIR, t, t + step, mono0=clock.monotonic(),
                                       monitor="mon", pump=None, block_s=step))
        clock.advance(step)
        tile.refresh(store)
        for code in (Code.ECG, Code.PLETH):
            _x, y = tile.waves.curves[code].getData()
            lo, hi = tile.waves.band(code)
            fin = y[np.isfinite(y)] if y is not None else np.empty(0)
            assert fin.size == 0 or (fin.min() >= lo - 1e-6 and fin.max() <= hi + 1e-6), \
                f"{code} drawn outside its band {i * step:.2f} s after the first samples"
            if code == Code.PLETH and fin.size:  # nor cut flat at the band's edge
                assert fin.max() < hi - 0.02, f"pleth clipped {i * step:.2f} s in"
    _x, y = tile.waves.curves[Code.PLETH].getData()
    assert np.ptp(y[np.isfinite(y)]) > 0.7  # whole beats fill most of the band


@pytest.mark.parametrize("size", [(520, 340), (270, 190)])  # 6 and 32 chairs
def test_pending_work_is_highlighted_near_the_top_by_text_and_colour(live, qtbot, size):
    """'BP check overdue' was a small amber line at the bottom of the tile, hidden entirely
    on tiles under 200 px tall (32 chairs). Now: a chip in the status row, amber when due,
    red and bold with '⚠' when overdue or waiting for a confirmation."""
    _clock, _store, tile, _s = live
    tile.resize(*size)
    chip = tile.pending_label

    def show(*pending, alarm=None):
        tile.set_context(TileContext(patient_name="Jane Doe", phase="infusing",
                                     pending=pending, alarm=alarm))
        qtbot.wait(10)

    show("BP check due in 2 min")
    assert chip.isVisibleTo(tile) and chip.geometry().bottom() < tile.waves.geometry().top()
    assert chip.text() == "BP check due in 2 min" and not chip.font().bold()
    assert colour_of(chip) == QColor(style.ALARM_YELLOW)
    for urgent in ("BP check overdue", "1 pump change(s) to confirm"):
        show(urgent)
        assert chip.isVisibleTo(tile) and chip.font().bold()
        assert chip.full_text == f"⚠ {urgent}"
        assert chip.text() == chip.full_text or chip.text().endswith("…")
        assert colour_of(chip) == QColor(style.PENDING_URGENT)
    show("BP check due in 2 min", "1 pump change(s) to confirm")
    assert chip.font().bold() and "BP check due in 2 min\n1 pump change(s) to confirm" == \
        chip.toolTip()
    # next to an alarm both stay readable: the alarm keeps at least half the row
    show("BP check overdue", alarm=AlarmSummary("high", "SpO2 85 < 90"))
    assert tile.alarm_label.isVisibleTo(tile) and chip.isVisibleTo(tile)
    assert tile.alarm_label.width() >= chip.width()
    show()
    assert not chip.isVisibleTo(tile)
