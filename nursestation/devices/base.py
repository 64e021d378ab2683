"""The contracts between the link layer, the protocol sessions and the simulators.

A *session* is the host side of one device protocol: it decodes what the device sends (pure,
incremental, never raising on bad bytes) and says what the host must send (association, polls,
keep-alives, answers). The link layer (``link.py``) owns the port and the thread and calls it.

A *simulator* is the device side of the same wire, driven by a physiology scenario.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from nursestation.core.readings import Reading

#: s: how late a session's ``tick`` may come after its ``next_tick``
TICK_SLACK = 0.1


@dataclass
class DecoderStats:
    frames_accepted: int = 0
    frames_rejected: int = 0
    bytes_skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "frames_accepted": self.frames_accepted,
            "frames_rejected": self.frames_rejected,
            "bytes_skipped": self.bytes_skipped,
        }


class Decoder(ABC):
    """Bytes in, readings out. Incremental: a frame may arrive split across any number of feeds."""

    def __init__(self) -> None:
        self.stats = DecoderStats()

    @abstractmethod
    def feed(self, data: bytes) -> list[Reading]:
        """Consume bytes; return every reading completed by them. Never raises on bad input."""


class DeviceSession(ABC):
    """Host side of one device protocol, driven by the link layer's reader thread."""

    #: protocol name as used in the config and on the command line
    protocol: str = ""
    #: serial settings the device expects
    baudrate: int = 9600
    #: seconds without a valid frame before the device counts as silent, then offline
    silent_after: float = 5.0

    def __init__(self) -> None:
        self._out = bytearray()

    @property
    @abstractmethod
    def stats(self) -> DecoderStats: ...

    def connected(self, now: float) -> None:
        """The port has just been opened (or reopened). Queue whatever opens the dialog."""

    @abstractmethod
    def receive(self, data: bytes, now: float) -> list[Reading]:
        """Bytes from the device. Returns readings; may queue answers with ``send``."""

    def tick(self, now: float) -> None:
        """Timers for polls and keep-alives. Called whenever data arrived and otherwise by
        ``next_tick(now)``, at most ``TICK_SLACK`` late."""

    def next_tick(self, now: float) -> float | None:
        """When ``tick`` must next run (monotonic seconds), ``None`` if it never needs to
        without new data. The link sleeps until then instead of waking to ask: 96 idle reader
        threads waking every 90 ms cost ~5 % of a core (make bench). The default keeps the old
        contract, a tick at least every 100 ms, for sessions that do not say."""
        return now + 0.1

    def disconnected(self) -> None:
        """The port was lost; reset the dialog state (the decoder resynchronises by itself)."""

    def closing(self) -> None:
        """The link is being stopped on purpose: queue a release if the protocol has one."""

    def send(self, data: bytes) -> None:
        self._out += data

    def outgoing(self) -> bytes:
        """Drain the bytes queued for the device."""
        if not self._out:
            return b""
        data = bytes(self._out)
        self._out.clear()
        return data


class Simulator(ABC):
    """Device side of one protocol: answers the host and produces data from a scenario."""

    protocol: str = ""
    baudrate: int = 9600

    def __init__(self) -> None:
        self._out = bytearray()

    @abstractmethod
    def receive(self, data: bytes, t: float) -> None:
        """Bytes from the host at scenario time ``t`` (seconds since the scenario started)."""

    @abstractmethod
    def tick(self, t: float) -> None:
        """Advance to scenario time ``t``; queue what the device sends by then."""

    def reset(self) -> None:
        """The cable was unplugged: forget the association / pending requests."""

    def send(self, data: bytes) -> None:
        self._out += data

    def outgoing(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data
