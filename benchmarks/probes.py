"""Instruments for the latency and station benchmarks (benchmark code only; nothing in the
package depends on it).

Latency is measured from the moment a byte leaves the simulator (``os.write`` on the
simulator's side of the pseudo-terminal) to the moment the sample it completes is in the
:class:`LiveStore` *and* the GUI thread's frame has read the store:

* :class:`ProbeHost` is a ``SimulatorHost`` that logs (monotonic time just before each write,
  cumulative bytes written).
* :class:`ProbeSession` wraps a device session and tags every reading it returns with the
  cumulative number of bytes the link had read when the reading was decoded. The frame that
  produced the reading ended at or before that byte, so its write time is the write that
  carried that byte (a slight *under*-estimate when one read spans several writes; reads are
  done as soon as bytes arrive, so this is at most a few milliseconds).
* :class:`LatencyProbe` wraps the batch sink (after the live store's ``ingest`` returned, the
  readings are marked "in the store") and adds two views to the GUI's ``LiveBridge``: one at
  the head of the frame that takes the readings ingested so far (everything the frame's
  snapshots will see), one at its tail that stamps them as seen. Latency = stamp − write time.

Bytes the port discarded when it was opened (pyserial flushes input on open) shift the two
byte counts by a constant per device; :meth:`LatencyProbe.latencies` works it out after the
hosts were paused and the links drained (bytes written − bytes read). Devices whose link
reconnected during the run are left out.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from nursestation.core.readings import Reading
from nursestation.devices.simhost import SimulatorHost

TAG = "_bench_rx_bytes"


class ProbeHost(SimulatorHost):
    """A simulator host that logs when each byte was written, and can hold its output."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.write_times: list[float] = []
        self.write_ends: list[int] = []
        self.paused = False

    def _write(self) -> None:
        if self.paused or not self._backlog:
            return
        t = time.monotonic()
        before = self.bytes_sent
        super()._write()
        if self.bytes_sent != before:
            self.write_times.append(t)
            self.write_ends.append(self.bytes_sent)

    def log(self) -> WriteLog:
        return WriteLog(self.bytes_sent, self.write_times, self.write_ends)


class WriteLog:
    """When each byte a simulator host wrote went out (from :class:`ProbeHost`, maybe in
    another process)."""

    def __init__(self, sent: int, times: Sequence[float], ends: Sequence[int]) -> None:
        self.sent = sent
        self.times = list(times)
        self.ends = list(ends)

    def write_time(self, byte_end: int) -> float | None:
        """Time the write that carried byte number ``byte_end`` (1-based cumulative) began."""
        i = bisect.bisect_left(self.ends, byte_end)
        return self.times[i] if i < len(self.times) else None


class ProbeSession:
    """Delegates to a device session; tags readings with the link's cumulative bytes read."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.rx_bytes = 0
        self.connects = 0
        # what the link calls on every read, bound directly: the probe's own cost lands in the
        # reader threads' CPU, which the station run reports as ingest
        self.tick = inner.tick
        self.next_tick = inner.next_tick
        self.outgoing = inner.outgoing
        self.silent_after = inner.silent_after
        self.baudrate = inner.baudrate

    @property
    def stats(self):
        return self._inner.stats

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def connected(self, now: float) -> None:
        self.connects += 1
        self._inner.connected(now)

    #: tag readings (off while a station run measures CPU: the probe is apparatus, not product)
    tagging = True

    def receive(self, data: bytes, now: float) -> list[Reading]:
        self.rx_bytes += len(data)
        out = self._inner.receive(data, now)
        if ProbeSession.tagging:
            for r in out:
                r.extra[TAG] = self.rx_bytes
        return out


class ProbeProtocol:
    """Stands in for a ``ProtocolInfo`` whose sessions are wrapped in :class:`ProbeSession`."""

    def __init__(self, info, sessions: dict[int, ProbeSession]) -> None:
        self._info = info
        self._sessions = sessions

    def __getattr__(self, name):
        return getattr(self._info, name)

    def make_session(self):
        s = ProbeSession(self._info.make_session())
        self._sessions[id(s)] = s
        return s


class LatencyProbe:
    """Collects, per device, (byte count, time seen by a GUI frame) for every reading."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ingested: list[tuple[str, int, float]] = []
        self._frame: list[tuple[str, int, float]] = []
        self._frame_start = 0.0
        #: (device, byte count, in the store, frame began, frame ended)
        self.seen: list[tuple[str, int, float, float, float]] = []
        self.recording = False
        self.frames = 0

    # reader threads, after the store's ingest returned
    def after_ingest(self, batch: Sequence[Reading]) -> None:
        if not self.recording:
            return
        t = time.monotonic()
        marks = [(r.device_id, r.extra[TAG], t) for r in batch
                 if TAG in r.extra and r.device_id]
        if marks:
            with self._lock:
                self._ingested.extend(marks)

    def wrap_sink(self, sink: Callable[[Sequence[Reading]], None]
                  ) -> Callable[[Sequence[Reading]], None]:
        def probed(batch: Sequence[Reading]) -> None:
            sink(batch)
            self.after_ingest(batch)
        return probed

    # GUI thread: the bridge calls refresh(store, now) on every attached view, in order
    class _Head:
        def __init__(self, probe: LatencyProbe) -> None:
            self.probe = probe

        def refresh(self, store, now) -> None:
            p = self.probe
            p._frame_start = time.monotonic()
            with p._lock:
                p._frame, p._ingested = p._ingested, []

    class _Tail:
        def __init__(self, probe: LatencyProbe) -> None:
            self.probe = probe

        def refresh(self, store, now) -> None:
            p = self.probe
            t = time.monotonic()
            p.frames += 1
            t0 = p._frame_start
            p.seen.extend((dev, n, ti, t0, t) for dev, n, ti in p._frame)
            p._frame = []

    def attach(self, bridge) -> None:
        """Bracket the bridge's frame: head first, tail last."""
        bridge._views.insert(0, LatencyProbe._Head(self))
        bridge._views.append(LatencyProbe._Tail(self))

    def latencies(self, logs: dict[str, WriteLog], rx: dict[str, ProbeSession]) -> np.ndarray:
        """Seconds from write to seen by a GUI frame, for every reading of every device with a
        steady link. Call after the hosts were paused and the links caught up."""
        return self.latency_parts(logs, rx)["frame"]

    def latency_parts(self, logs: dict[str, WriteLog], rx: dict[str, ProbeSession]
                      ) -> dict[str, np.ndarray]:
        """Per reading, seconds from the write to: ``store`` — the sample is in the live store's
        ring buffer (what issue 9 asks for); ``frame`` — the end of the first GUI frame that read
        it; and the parts of the difference: ``wait`` (in the store → that frame began) and
        ``draw`` (that frame's own duration)."""
        rows = []
        for dev, host in logs.items():
            sess = rx.get(dev)
            if sess is None or sess.connects != 1:
                continue
            shift = host.sent - sess.rx_bytes  # discarded when the port was opened
            if shift < 0:
                continue
            for d, n, ti, t0, t1 in self.seen:
                if d != dev:
                    continue
                tw = host.write_time(n + shift)
                if tw is not None:
                    rows.append((ti - tw, t1 - tw, t0 - ti, t1 - t0))
        a = np.asarray(rows, dtype=float).reshape(-1, 4)
        return {"store": a[:, 0], "frame": a[:, 1], "wait": a[:, 2], "draw": a[:, 3]}


@contextlib.contextmanager
def probed_demo() -> Iterator[tuple[dict[int, ProbeSession], LatencyProbe]]:
    """Within this block the demo's simulators run on :class:`ProbeHost` and the station
    runtime's sessions are :class:`ProbeSession` (module attributes patched, then restored)."""
    import nursestation.demo as demo_mod
    import nursestation.runtime as runtime_mod

    sessions: dict[int, ProbeSession] = {}
    orig_protocols = runtime_mod.PROTOCOLS
    orig_host = demo_mod.SimulatorHost
    runtime_mod.PROTOCOLS = {k: ProbeProtocol(v, sessions) for k, v in orig_protocols.items()}
    demo_mod.SimulatorHost = ProbeHost
    try:
        yield sessions, LatencyProbe()
    finally:
        runtime_mod.PROTOCOLS = orig_protocols
        demo_mod.SimulatorHost = orig_host


def percentiles(values: np.ndarray, qs=(50, 99)) -> list[float | None]:
    if values.size == 0:
        return [None for _ in qs]
    return [float(np.percentile(values, q)) for q in qs]
