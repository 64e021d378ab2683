"""Decoder throughput: a realistic byte stream from each protocol's simulator, decoded in chunks.

The stream is what the device sends to the host during ``device_seconds`` of a ketamine-visit
scenario. It is made by running the simulator against the protocol's own host session (so the
IntelliVue monitor is associated and polled for numerics and waves, the Alaris pump answers its
INF polls), the way the link layer drives it, without a port in between. Only the device → host
bytes are kept; they are then fed to a fresh ``make_decoder()`` in serial-read-sized chunks,
repeatedly for at least ``min_time`` seconds.
"""

from __future__ import annotations

import statistics
import time

from nursestation.devices.registry import PROTOCOLS
from nursestation.sim.scenarios import get_scenario

#: Scenario time where the streams start: the infusion (waves, NBP, pump running).
STREAM_OFFSET_S = 900.0
#: Bytes per feed(): about what one read() returns from a busy serial port.
CHUNK = 256


def device_reads(protocol: str, device_seconds: float = 300.0, *, step: float = 0.01,
                 seed: int = 3) -> list[tuple[float, bytes]]:
    """What the ``protocol`` device sends in ``device_seconds`` of scenario time, as (scenario
    time, bytes) for each of its writes: what one read of an otherwise idle port returns."""
    info = PROTOCOLS[protocol]
    sim = info.make_simulator(get_scenario("ketamine-visit", seed, offset=STREAM_OFFSET_S))
    session = info.make_session()
    session.connected(0.0)
    reads: list[tuple[float, bytes]] = []
    t = 0.0
    n = round(device_seconds / step)
    for i in range(n + 1):
        t = i * step
        to_device = session.outgoing()
        if to_device:
            sim.receive(to_device, t)
        sim.tick(t)
        data = sim.outgoing()
        if data:
            reads.append((t, data))
            session.receive(data, t)
        session.tick(t)
    return reads


def device_stream(protocol: str, device_seconds: float = 300.0, *, step: float = 0.01,
                  seed: int = 3) -> bytes:
    """What the ``protocol`` device sends in ``device_seconds`` of scenario time."""
    return b"".join(data for _, data in device_reads(protocol, device_seconds, step=step,
                                                      seed=seed))


def bench_decoder(protocol: str, device_seconds: float = 300.0, *, min_time: float = 3.0,
                  chunk: int = CHUNK, chairs: int = 32) -> dict:
    """Throughput of ``make_decoder()`` for ``protocol`` on its simulator's stream.

    Returns MB/s (median over passes), the multiple of ``chairs`` devices' line rate, and the
    multiple of ``chairs`` devices' *actual* data rate (what the stream averages per second)."""
    info = PROTOCOLS[protocol]
    stream = device_stream(protocol, device_seconds)
    chunks = [stream[i:i + chunk] for i in range(0, len(stream), chunk)]
    rates: list[float] = []
    readings = 0
    accepted = rejected = 0
    t_start = time.perf_counter()
    while True:
        decoder = info.make_decoder()
        n = 0
        t0 = time.perf_counter()
        for c in chunks:
            n += len(decoder.feed(c))
        dt = time.perf_counter() - t0
        rates.append(len(stream) / dt)
        readings, accepted = n, decoder.stats.frames_accepted
        rejected = decoder.stats.frames_rejected
        if time.perf_counter() - t_start >= min_time and len(rates) >= 3:
            break
    bps = statistics.median(rates)
    line = info.line_rate * chairs
    actual = len(stream) / device_seconds
    return {
        "protocol": protocol,
        "stream_bytes": len(stream),
        "device_seconds": device_seconds,
        "frames": accepted,
        "frames_rejected": rejected,
        "readings": readings,
        "passes": len(rates),
        "mb_per_s": bps / 1e6,
        "line_rate_bps": info.line_rate,
        "x_line_rate": bps / line,
        "stream_bps": actual,
        "x_actual_rate": bps / (actual * chairs),
        "chairs": chairs,
    }


def bench_decoders(device_seconds: float = 300.0, *, min_time: float = 3.0) -> list[dict]:
    return [bench_decoder(p, device_seconds, min_time=min_time) for p in PROTOCOLS]
