"""The bridge: reader threads write the store, the GUI redraws on its own timer."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from nursestation.core.clock import SystemClock
from nursestation.core.livestate import LiveStore
from nursestation.core.readings import Reading
from nursestation.core.vocabulary import Code
from nursestation.sim.readings import scenario_readings
from nursestation.sim.scenarios import get_scenario
from nursestation.ui.bridge import LiveBridge
from nursestation.ui.station import StationView


def test_timer_is_precise_and_at_least_30_hz(qtbot):
    bridge = LiveBridge(LiveStore())
    assert bridge._timer.timerType() == Qt.TimerType.PreciseTimer
    assert bridge.interval_ms <= 34
    with pytest.raises(ValueError):
        LiveBridge(LiveStore(), fps=10)


def test_batches_from_a_reader_thread_reach_the_tiles_on_the_frame_timer(qtbot):
    clock = SystemClock()
    store = LiveStore(clock)
    bridge = LiveBridge(store)
    view = StationView(store, ["Chair 1", "Chair 2"], clock=clock)
    qtbot.addWidget(view)
    view.resize(1000, 500)
    view.show()
    bridge.attach(view)
    bridge.start()
    sc = get_scenario("ketamine-visit", seed=5)
    state = sc.state(900.0)
    readings = scenario_readings(sc, "Chair 2", 897.0, 900.0, mono0=clock.monotonic() - 3,
                                 monitor="mon", pump="pump")
    stop = threading.Event()

    def reader():  # like the link layer: batches every ~30 ms from its own thread
        for k in range(0, len(readings), 8):
            bridge.sink(readings[k:k + 8])
            if stop.wait(0.005):
                return

    t = threading.Thread(target=reader)
    t.start()
    tile = view.tiles["Chair 2"]
    qtbot.waitUntil(lambda: tile.hr.value.text() == f"{state.hr:.0f}", timeout=3000)
    t.join(5)
    qtbot.waitUntil(lambda: tile.waves.curves[Code.ECG].getData()[0] is not None, timeout=2000)
    frames = bridge.frames
    qtbot.wait(200)
    assert bridge.frames > frames  # keeps drawing by itself, not on data arrival
    # an unplug reaches the tile within a frame or two
    bridge.sink([Reading(Code.DEVICE_OFFLINE, "no data for 5 s", chair="Chair 2",
                         device_id="mon", recv_mono=clock.monotonic(),
                         extra={"health": "offline"})])
    qtbot.waitUntil(lambda: tile.hr.value.text().startswith("OFF"), timeout=500)
    assert view.tiles["Chair 1"].hr.value.text() == "--"  # never had data
    stop.set()
    bridge.stop()
    assert not bridge.running


def test_a_long_run_of_signals_and_void_calls_does_not_abort(qtbot):
    """PySide6 6.12.0 on CPython 3.11 drops a reference to True per emit and to None per void
    call; a station makes millions. nursestation.ui guards against it at import."""
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLabel

    class Pinger(QObject):
        ping = Signal()

    p, label = Pinger(), QLabel()
    qtbot.addWidget(label)
    got = []
    p.ping.connect(lambda: got.append(1))
    for i in range(60_000):
        p.ping.emit()
        label.setText(str(i % 10))
    assert len(got) == 60_000
