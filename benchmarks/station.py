"""The station under load: the real demo stack and the real main window, offscreen.

``run_station(chairs, seconds)`` builds what ``nursestation --demo --chairs N`` builds — a fresh
demo database, one simulator per device on its own pseudo-terminal (``DemoDevices``), the
``StationRuntime`` with its links (one reactor thread for every port) feeding the ``LiveStore``, the database
writer and the alarm engines, and the ``MainWindow`` at 1920×1080 with its 60 Hz frame timer,
alarm timer and chart timer — lets it settle, then measures for ``seconds``:

* frames drawn: paint events of every tile's wave panel, per second,
  median over tiles, and the bridge's frame ticks per second;
* CPU of the whole process and per thread group (``psutil`` thread times): the GUI thread,
  the links' threads (ingest: read, decode, store), the database writer and the rest.
  The simulators run in a separate process (``benchmarks.simproc``): in a clinic they are the
  devices, not part of the station; their CPU is reported on its own;
* latency from simulator write to a GUI frame having read the sample (see ``probes``), in a
  second window of half as long (at least 5 s) after the first: the probe tags every reading
  and notes every batch, work that is measurement, not station, and is kept out of the CPU
  figures.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.probes import LatencyProbe, ProbeProtocol, ProbeSession, WriteLog, percentiles
from benchmarks.simproc import SimProcess

WINDOW_SIZE = (1920, 1080)


def _qt_app():
    from nursestation.ui.app import _application

    return _application()


def pump_events(seconds: float) -> None:
    """Run the Qt event loop for ``seconds`` (the GUI works as it would in the app)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(max(0, round(seconds * 1000)), loop.quit)
    loop.exec()


def thread_group(name: str) -> str:
    if name.startswith("link-"):
        return "ingest"
    if name.startswith("sim-"):
        return "simulators"
    if name == "nursestation-db-writer":
        return "db_writer"
    if name == "MainThread":
        return "gui"
    return "other"


def _thread_cpu(proc) -> dict[int, float]:
    """CPU seconds per thread, by native id. Python's threads are read from their own CPU-time
    clocks (nanoseconds): /proc counts per-thread time in 10 ms ticks, coarse next to what one
    of 96 reader threads uses in a run. Threads Python did not start (Qt's) come from psutil."""
    out = {t.id: t.user_time + t.system_time for t in proc.threads()}
    for t in threading.enumerate():
        if t.ident is None or t.native_id is None:
            continue
        try:
            out[t.native_id] = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        except (AttributeError, OSError):  # not on this platform, or the thread just ended
            pass
    return out


class _PaintCounter:
    """Counts paint events per watched widget (an event filter; never consumes events)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QEvent, QObject

        paint = QEvent.Type.Paint
        counts: dict[int, int] = defaultdict(int)

        class Filter(QObject):
            def eventFilter(self, obj, ev):
                if ev.type() == paint:
                    counts[id(obj)] += 1
                return False

        self.filter = Filter()
        self.counts = counts
        self.widgets: list = []

    def watch(self, widget) -> None:
        widget.installEventFilter(self.filter)
        self.widgets.append(widget)

    def snapshot(self) -> list[int]:
        return [self.counts[id(w)] for w in self.widgets]

    def remove(self) -> None:
        for w in self.widgets:
            w.removeEventFilter(self.filter)


def _external_demo_station(urls: dict[str, str]):
    """A ``Station`` whose demo chairs are served by the simulator process."""
    from dataclasses import replace

    from nursestation.ui.app import Station

    class ExternalDemoStation(Station):
        def _start_demo(self, **_kw):
            from nursestation.demo import plan_demo, seed_demo_database

            plan = plan_demo(self.config.chairs)
            self.writer.submit(seed_demo_database, plan, self.protocol,
                               self.clock.now()).result()
            return tuple(replace(dc.config, devices=tuple(replace(d, url=urls[d.id])
                                                          for d in dc.config.devices))
                         for dc in plan)

    return ExternalDemoStation


class _ForceRedraw:
    """Head of the frame: make every tile copy its rings again and repaint its waves whole on
    this frame, as if every chair's gain had changed at once (the station's capacity, not its
    usual load: the sweep repaints only the strip its head moved over)."""

    def __init__(self, view) -> None:
        self.view = view

    def refresh(self, store, now) -> None:
        for tile in self.view.tiles.values():
            waves = tile.waves
            for trace in waves._traces.values():
                trace.version = -1  # copied again
                trace.head = None  # and drawn whole
            waves.update()


def run_station(chairs: int = 32, seconds: float = 30.0, *, warmup: float = 5.0,
                size: tuple[int, int] = WINDOW_SIZE, force_fps: float | None = None) -> dict:
    """Measure the station; with ``force_fps`` the frame timer runs at that rate and every tile
    redraws its waves on every frame (capacity), instead of when new samples arrived."""
    import psutil

    import nursestation.runtime as runtime_mod
    from nursestation.config import load_config
    from nursestation.core.protocol import load_protocol

    app = _qt_app()
    proc = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="nursestation-bench-") as tmp:
        old_env = {k: os.environ.get(k) for k in ("NURSESTATION_DATA_DIR", "NURSESTATION_CONFIG")}
        os.environ["NURSESTATION_DATA_DIR"] = tmp
        os.environ["NURSESTATION_CONFIG"] = str(Path(tmp) / "absent.toml")
        sims = SimProcess(chairs)
        orig_protocols = runtime_mod.PROTOCOLS
        runtime_mod.PROTOCOLS = {k: ProbeProtocol(v, {}) for k, v in orig_protocols.items()}
        try:
            config = load_config(None, demo=True, chairs=chairs)
            protocol = load_protocol(config.protocol_file)
            return _measure(app, proc, sims, config, protocol, chairs, seconds, warmup, size,
                            force_fps)
        finally:
            runtime_mod.PROTOCOLS = orig_protocols
            sims.stop()
            for k, v in old_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _measure(app, proc, sims, config, protocol, chairs, seconds, warmup, size,
             force_fps) -> dict:
    from nursestation.ui.context import AppContext
    from nursestation.ui.mainwindow import MainWindow

    probe = LatencyProbe()
    station = _external_demo_station(sims.urls)(config, protocol)
    window = None
    counter = _PaintCounter()
    try:
        ctx = AppContext(config, protocol, station.engine, station.writer, live=station.live,
                         clock=station.clock)
        window = MainWindow(ctx, station)
        window.resize(*size)
        window.show()
        runtime = station.runtime
        runtime._on_batch = probe.wrap_sink(runtime._on_batch)  # the links get the probed sink
        probe.attach(window.bridge)
        if force_fps:
            window.bridge._timer.setInterval(max(1, round(1000.0 / force_fps)))
            window.bridge._views.insert(0, _ForceRedraw(window.view))
        station.start_devices()
        window.start()
        for tile in window.view.tiles.values():
            counter.watch(tile.waves.viewport())
        pump_events(warmup)

        # -- measure: CPU and frames first, with the latency probe idle -------------------
        names = {t.native_id: t.name for t in threading.enumerate()}
        ProbeSession.tagging = False
        paints0 = counter.snapshot()
        frames0 = window.bridge.frames
        threads0 = _thread_cpu(proc)
        cpu0 = proc.cpu_times()
        sim0 = sims.cpu_seconds()
        written0 = station.writer.readings_written
        t0 = time.monotonic()
        pump_events(seconds)
        dt = time.monotonic() - t0
        cpu1 = proc.cpu_times()
        threads1 = _thread_cpu(proc)
        sim1 = sims.cpu_seconds()
        frames1 = window.bridge.frames
        paints1 = counter.snapshot()
        written1 = station.writer.readings_written
        names.update({t.native_id: t.name for t in threading.enumerate()})

        # -- then latency, in a window of its own (its probe costs the reader threads and
        # the GUI a little: kept out of the CPU figures above)
        ProbeSession.tagging = True
        probe.recording = True
        pump_events(max(5.0, seconds / 2))
        probe.recording = False

        logs = {dev: WriteLog(v["sent"], v["times"], v["ends"])
                for dev, v in sims.pause().items()}
        pump_events(0.5)  # the links read what was in flight
        rx = {dev: link.session for dev, link in runtime.links.items()}
        parts = probe.latency_parts(logs, rx)
        lat = parts["frame"]
        online = sum(1 for link in runtime.links.values() if link.health == "online")
        n_devices = len(runtime.links)
    finally:
        ProbeSession.tagging = True
        counter.remove()
        if window is not None:
            window.stop()
        station.shutdown()
        if window is not None:
            window.close()
            window.deleteLater()
        pump_events(0.05)

    groups: dict[str, float] = defaultdict(float)
    for tid, t1 in threads1.items():
        used = t1 - threads0.get(tid, 0.0)
        groups[thread_group(names.get(tid, ""))] += used
    process = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    pct = {k: 100.0 * v / dt for k, v in groups.items()}
    fps_tiles = [(b - a) / dt for a, b in zip(paints0, paints1, strict=True)]
    p50, p99 = percentiles(lat)
    s50, s99 = percentiles(parts["store"])
    w99, d99 = percentiles(parts["wait"], (99,))[0], percentiles(parts["draw"], (99,))[0]
    return {
        "chairs": chairs,
        "forced_fps": force_fps,
        "seconds": dt,
        "devices": n_devices,
        "devices_online": online,
        "fps_drawn": float(np.median(fps_tiles)) if fps_tiles else 0.0,
        "fps_drawn_min": float(min(fps_tiles)) if fps_tiles else 0.0,
        "fps_ticks": (frames1 - frames0) / dt,
        "cpu_process_pct": 100.0 * process / dt,
        "cpu_gui_pct": pct.get("gui", 0.0),
        # GUI-thread CPU per frame tick (drawing included): 1000 / this = the frame rate the GUI
        # thread could keep with a core to itself
        "gui_ms_per_frame": (1000.0 * groups.get("gui", 0.0) / (frames1 - frames0)
                             if frames1 > frames0 else None),
        "cpu_ingest_pct": pct.get("ingest", 0.0),
        "cpu_writer_pct": pct.get("db_writer", 0.0),
        "cpu_other_pct": pct.get("other", 0.0),
        "cpu_simulators_pct": 100.0 * (sim1 - sim0) / dt,
        "readings_written_per_s": (written1 - written0) / dt,
        "latency_p50_ms": None if p50 is None else p50 * 1000,
        "latency_p99_ms": None if p99 is None else p99 * 1000,
        "latency_samples": int(lat.size),
        # write -> the sample in the live store's ring buffer (issue 9's definition)
        "latency_store_p50_ms": None if s50 is None else s50 * 1000,
        "latency_store_p99_ms": None if s99 is None else s99 * 1000,
        # the rest of the way to a drawn frame: in the store -> frame began; the frame itself
        "latency_wait_p99_ms": None if w99 is None else w99 * 1000,
        "latency_draw_p99_ms": None if d99 is None else d99 * 1000,
    }


def run_gui_only(chairs: int = 32, seconds: float = 10.0, *, fps: float = 60.0,
                 size: tuple[int, int] = WINDOW_SIZE) -> dict:
    """Drawing alone: a ``StationView`` of ``chairs`` tiles over a store filled from scenario
    readings (``nursestation.ui.preview``), no devices, threads or database, every tile's waves
    redrawn on every frame at ``fps``. Compared with the capacity run of :func:`run_station`, it
    shows what the rest of the process (reader threads, writer, chart) costs the GUI thread."""
    import psutil

    from nursestation.core.clock import FakeClock
    from nursestation.ui.bridge import LiveBridge
    from nursestation.ui.preview import station_view

    _qt_app()
    clock = FakeClock()
    store, view = station_view(chairs, clock, size)
    bridge = LiveBridge(store, fps=fps)
    bridge.attach(_ForceRedraw(view))
    bridge.attach(view)
    counter = _PaintCounter()
    for tile in view.tiles.values():
        counter.watch(tile.waves.viewport())
    try:
        bridge.start()
        pump_events(1.0)
        proc = psutil.Process()
        main = threading.main_thread().native_id
        paints0, f0 = counter.snapshot(), bridge.frames
        c0 = _thread_cpu(proc).get(main, 0.0)
        t0 = time.monotonic()
        pump_events(seconds)
        dt = time.monotonic() - t0
        c1 = _thread_cpu(proc).get(main, 0.0)
        frames = bridge.frames - f0
        paints1 = counter.snapshot()
    finally:
        bridge.stop()
        counter.remove()
        view.close()
        view.deleteLater()
        pump_events(0.05)
    fps_tiles = [(b - a) / dt for a, b in zip(paints0, paints1, strict=True)]
    return {
        "chairs": chairs,
        "seconds": dt,
        "fps_ticks": frames / dt,
        "fps_drawn": float(np.median(fps_tiles)) if fps_tiles else 0.0,
        "cpu_gui_pct": 100.0 * (c1 - c0) / dt,
        "gui_ms_per_frame": 1000.0 * (c1 - c0) / frames if frames else None,
    }
