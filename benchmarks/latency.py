"""End-to-end latency, one chair on an otherwise idle station: simulator write → GUI frame.

The chair's three simulators (IntelliVue monitor, Masimo oximeter, Alaris pump) run in their
own process on pseudo-terminals (``benchmarks.simproc``); this process runs what the station
runs between the wire and the screen — a ``StationRuntime`` (one ``DeviceLink`` reader thread
per port, the protocol sessions, the ``LiveStore``) and a ``LiveBridge`` frame timer at 60 Hz
on the Qt event loop — with a view that takes every chair's snapshot and wave copies on each
frame, as the tiles do. See ``benchmarks.probes`` for how each reading is timed. The
32-chair figure comes from the station run (``benchmarks.station``), under the full GUI load.
"""

from __future__ import annotations

import time

from benchmarks.probes import LatencyProbe, ProbeProtocol, WriteLog, percentiles
from benchmarks.simproc import SimProcess


class _SnapshotView:
    """What a tile reads on a frame, without drawing it."""

    def __init__(self, chairs: list[str]) -> None:
        self.chairs = chairs
        self.versions: dict[tuple[str, str], int] = {}

    def refresh(self, store, now) -> None:
        for chair in self.chairs:
            store.snapshot(chair, now)
            for code in ("ECG", "PLETH"):
                w = store.wave(chair, code, self.versions.get((chair, code), -1), now)
                if w is not None:
                    self.versions[(chair, code)] = w.version


def bench_latency(seconds: float = 20.0, *, chairs: int = 1, warmup: float = 4.0) -> dict:
    import nursestation.runtime as runtime_mod
    from benchmarks.station import pump_events
    from nursestation.config import Config, demo_chairs
    from nursestation.core.clock import SystemClock
    from nursestation.core.livestate import LiveStore
    from nursestation.core.protocol import load_protocol
    from nursestation.ui.app import _application
    from nursestation.ui.bridge import LiveBridge

    _application()
    sims = SimProcess(chairs)
    orig = runtime_mod.PROTOCOLS
    runtime_mod.PROTOCOLS = {k: ProbeProtocol(v, {}) for k, v in orig.items()}
    runtime = None
    bridge = None
    try:
        from dataclasses import replace

        chair_cfgs = tuple(replace(c, devices=tuple(replace(d, url=sims.urls[d.id])
                                                    for d in c.devices))
                           for c in demo_chairs(chairs))
        config = Config(chairs=chair_cfgs, demo=True)
        protocol = load_protocol(config.protocol_file)
        clock = SystemClock()
        store = LiveStore(clock)
        runtime = runtime_mod.StationRuntime(config, protocol, store, clock=clock)
        probe = LatencyProbe()
        runtime._on_batch = probe.wrap_sink(runtime._on_batch)
        bridge = LiveBridge(store, fps=60.0)
        bridge.attach(_SnapshotView([c.name for c in chair_cfgs]))
        probe.attach(bridge)
        runtime.start()
        bridge.start()
        pump_events(warmup)
        probe.recording = True
        t0 = time.monotonic()
        pump_events(seconds)
        dt = time.monotonic() - t0
        probe.recording = False
        logs = {dev: WriteLog(v["sent"], v["times"], v["ends"])
                for dev, v in sims.pause().items()}
        pump_events(0.5)
        rx = {dev: link.session for dev, link in runtime.links.items()}
        lat = probe.latencies(logs, rx)
    finally:
        if bridge is not None:
            bridge.stop()
        if runtime is not None:
            runtime.stop()
        runtime_mod.PROTOCOLS = orig
        sims.stop()
    p50, p99 = percentiles(lat)
    return {
        "chairs": chairs,
        "seconds": dt,
        "samples": int(lat.size),
        "p50_ms": None if p50 is None else p50 * 1000,
        "p99_ms": None if p99 is None else p99 * 1000,
        "max_ms": float(lat.max() * 1000) if lat.size else None,
    }
