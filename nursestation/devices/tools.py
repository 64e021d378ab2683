"""`nursestation decode` and `nursestation simulate`: tools for checking cabling and devices."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections import Counter
from typing import Any, BinaryIO, TextIO

from nursestation.core.vocabulary import site_label
from nursestation.devices.registry import get_protocol

CHUNK = 1024

#: A line of pyserial's ``spy://`` hexdump: time, direction, offset, then a 49-character hex
#: column (16 bytes, an extra space after the eighth) and the ASCII column.
_SPY_LINE = re.compile(rb"^\s*\d+\.\d{3} (RX|TX)\s+[0-9A-F]{4}  (.{1,49})")
_HEX = re.compile(rb"[0-9A-F]{2}")


def spy_bytes(capture: bytes, direction: bytes = b"RX") -> bytes | None:
    """The bytes of one direction (``RX``: device to host, ``TX``: host to device) of a
    pyserial ``spy://`` hexdump, in order; None when ``capture`` is not such a hexdump (then it
    is taken as raw bytes)."""
    lines = capture.splitlines()
    head = [ln for ln in lines[:20] if ln.strip()]
    if not head or not any(_SPY_LINE.match(ln) for ln in head):
        return None
    out = bytearray()
    for ln in lines:
        m = _SPY_LINE.match(ln)
        if m and m.group(1) == direction:
            out += bytes.fromhex(b" ".join(_HEX.findall(m.group(2))).decode())
    return bytes(out)


def spy_received_bytes(capture: bytes) -> bytes | None:
    """The device-to-host bytes (``RX``) of a pyserial ``spy://`` hexdump (see spy_bytes)."""
    return spy_bytes(capture, b"RX")


def decode_stream(protocol: str, stream: BinaryIO, out: TextIO) -> dict[str, Any]:
    """Feed ``stream`` to the protocol's decoder; write one JSON line per reading to ``out``.

    ``stream`` holds the raw device-to-host bytes, or a pyserial ``spy://`` hexdump of a
    session (then only its received bytes are decoded)."""
    decoder = get_protocol(protocol).make_decoder()
    capture = stream.read()
    received = spy_received_bytes(capture)
    data = capture if received is None else received
    seen: Counter[str] = Counter()
    for pos in range(0, len(data), CHUNK):
        for reading in decoder.feed(data[pos:pos + CHUNK]):
            seen[site_label(reading.code, reading.site)] += 1
            out.write(json.dumps(reading.to_json_dict(), ensure_ascii=False) + "\n")
    stats: dict[str, Any] = dict(decoder.stats.as_dict())
    stats["readings"] = dict(seen)
    if received is not None:
        stats["rx_bytes"] = len(received)
        stats["tx_bytes"] = len(spy_bytes(capture, b"TX") or b"")
    return stats


def decode_main(protocol: str, file: str) -> int:
    """Decode a raw capture (``-`` for stdin) to JSON Lines on stdout; a summary on stderr.

    A raw capture holds the device-to-host direction (for IntelliVue the monitor's messages,
    for Alaris the pump's replies); a ``spy://`` hexdump holds both, and only what the device
    sent is decoded.
    """
    try:
        if file == "-":
            stats = decode_stream(protocol, sys.stdin.buffer, sys.stdout)
        else:
            with open(file, "rb") as fh:
                stats = decode_stream(protocol, fh, sys.stdout)
    except OSError as exc:
        print(f"nursestation decode: cannot read {file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(f"nursestation decode: protocol {protocol!r} is not available: {exc}",
              file=sys.stderr)
        return 1
    sys.stdout.flush()
    print(
        f"frames accepted: {stats['frames_accepted']}, "
        f"frames rejected: {stats['frames_rejected']}, "
        f"bytes skipped: {stats['bytes_skipped']}",
        file=sys.stderr,
    )
    if stats["readings"]:
        print("readings: " + ", ".join(f"{k} x{n}" for k, n in sorted(stats["readings"].items())),
              file=sys.stderr)
    if "tx_bytes" in stats:
        # what a commissioning check needs to see: both directions of the cable work
        print(f"spy capture: host to device {stats['tx_bytes']} bytes, device to host "
              f"{stats['rx_bytes']} bytes"
              + ("" if stats["tx_bytes"] and stats["frames_accepted"] else
                 " — the cable does not carry both directions yet"), file=sys.stderr)
    return 0


def simulate_main(protocol: str, port: str, scenario: str, seed: int, speed: float) -> int:
    """Run one device simulator on a pseudo-terminal or TCP port until Ctrl-C."""
    from nursestation.devices.simhost import SimulatorHost, parse_port
    from nursestation.sim.scenarios import get_scenario

    info = get_protocol(protocol)
    try:
        parse_port(port)
    except ValueError as exc:
        print(f"nursestation simulate: cannot open {port}: {exc}", file=sys.stderr)
        return 2
    try:
        scen = get_scenario(scenario, seed)
    except ValueError as exc:
        print(f"nursestation simulate: {exc}", file=sys.stderr)
        return 2
    try:
        host = SimulatorHost(info.make_simulator(scen), port, speed=speed).start()
    except (ValueError, OSError) as exc:
        print(f"nursestation simulate: cannot open {port}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(host.url, flush=True)
        print(
            f"simulating {info.title}, scenario {scenario!r} (seed {seed}, speed {speed:g}x); "
            f"connect to {host.url} at {info.baudrate} baud. Ctrl-C to stop.",
            file=sys.stderr, flush=True,
        )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        host.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
