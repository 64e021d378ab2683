"""What one wake of a reader thread costs: the same reads, decoded back to back and one at a time.

A station's reader threads do little work per wake (one IntelliVue wave block, one pump answer),
about 250 times a second for 32 chairs, each after the thread slept. How much a wake costs then
depends on the machine as much as on the code: a thread that slept finds its code and data gone
from the CPU's caches (other threads, other processes, or on a virtual machine other guests ran
there). This benchmark separates the two. It replays each protocol's recorded reads through the
path a link takes - the session decodes, the link stamps, the live store takes the batch - in one
thread, timing every read with the thread's CPU clock:

* back to back: the reads one after another, caches warm (what the code costs);
* paced: the thread sleeps ``pause`` seconds before every read, as a reader thread does between
  its device's messages (what the code costs on this machine after a wake).

From the reads per second each device makes, it estimates the ingest of ``chairs`` chairs both
ways. Neither counts the wait for the port itself (``select`` and ``read``, and the pump's timer
wakes to send a query); the station benchmark measures all of it.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from benchmarks.decoders import device_reads
from nursestation.core.livestate import LiveStore
from nursestation.devices.registry import PROTOCOLS

#: s the paced replay sleeps before each read (a station's threads wake every ~4 ms in turn)
PAUSE_S = 0.005
#: s of device output replayed per protocol
DEVICE_SECONDS = 30.0


def _replay(protocol: str, reads: list[tuple[float, bytes]], pause: float
            ) -> tuple[list[float], int]:
    """Thread CPU seconds of each read (decode, stamp, hand to a live store), and how many
    readings the reads gave."""
    info = PROTOCOLS[protocol]
    session = info.make_session()
    store = LiveStore()
    store.register_chair("Chair 1", {protocol: protocol})
    session.connected(0.0)
    session.outgoing()
    clock = time.thread_time
    costs: list[float] = []
    count = 0
    for t, data in reads:
        if pause:
            time.sleep(pause)
        t0 = clock()
        readings = session.receive(data, t)
        wall = datetime.now(UTC)
        for r in readings:
            r.chair, r.device_id, r.recv_mono, r.recv_wall = "Chair 1", protocol, t, wall
        store.ingest(readings)
        session.tick(t)
        session.outgoing()
        costs.append(clock() - t0)
        count += len(readings)
    return costs, count


def bench_wakes(chairs: int = 32, *, pause: float = PAUSE_S,
                device_seconds: float = DEVICE_SECONDS) -> dict:
    """Mean thread CPU per read of each protocol, back to back and paced by ``pause``, and the
    ingest of ``chairs`` chairs (one device of each protocol) those would make."""
    per_protocol = []
    warm_total = paced_total = 0.0
    for protocol in PROTOCOLS:
        reads = device_reads(protocol, device_seconds)
        skip = len(reads) // 10  # the association and first polls are not the steady state
        _replay(protocol, reads, 0.0)  # imports, first-use caches
        warm_costs, readings = _replay(protocol, reads, 0.0)
        warm = statistics.fmean(warm_costs[skip:])
        paced = statistics.fmean(_replay(protocol, reads, pause)[0][skip:])
        rate = len(reads) / device_seconds
        warm_total += warm * rate * chairs
        paced_total += paced * rate * chairs
        per_protocol.append({"protocol": protocol, "reads_per_s": rate, "readings": readings,
                             "warm_us": warm * 1e6, "paced_us": paced * 1e6})
    return {"chairs": chairs, "pause_ms": pause * 1000, "protocols": per_protocol,
            "warm_ingest_pct": 100 * warm_total, "paced_ingest_pct": 100 * paced_total}
