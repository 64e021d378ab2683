"""The serial link: one port, one reader thread, reconnect with backoff, device health.

A ``DeviceLink`` opens any pyserial URL (``/dev/ttyUSB0``, ``COM3``, ``socket://host:port``,
``rfc2217://...``, ``loop://``), feeds what it reads to the protocol *session* in its own thread,
writes what the session queues, and hands the readings — stamped with chair, device id and
receive times — to ``sink`` in batches every ``batch_interval`` seconds (never one call per
sample). ``sink`` is called from the reader thread.

Health: ``connecting`` → ``online`` (first valid frame) → ``silent`` (no valid frame for the
session's ``silent_after``) → ``offline`` (after a further ``offline_after``, or at once on an I/O
error / unplug). Changes reach the sink as DEVICE_ONLINE / DEVICE_OFFLINE readings whose value
is the reason, with ``extra["health"]`` naming the new state.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import serial

from nursestation.core.clock import Clock, SystemClock
from nursestation.core.readings import BatchSink, Reading
from nursestation.core.vocabulary import Code
from nursestation.devices.base import DeviceSession

log = logging.getLogger(__name__)

#: s: blocking read timeout (never 0: that spins a core). Data ends a read at once; the timeout
#: only paces an idle loop, which must still tick the session within 100 ms. (0.02 s cost 96
#: idle links ~15 % of a core in wake-ups alone; make bench.)
READ_TIMEOUT = 0.09
TICK_INTERVAL = 0.05  # s: session.tick() at least this often (contract: <= 100 ms)
JOIN_TIMEOUT = 2.0


class Health(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    SILENT = "silent"
    OFFLINE = "offline"
    STOPPED = "stopped"


@dataclass
class LinkStats:
    bytes_in: int = 0
    bytes_out: int = 0
    frames: int = 0  # valid frames / lines decoded
    frames_rejected: int = 0
    bytes_skipped: int = 0
    readings: int = 0
    batches: int = 0
    reconnects: int = 0  # port (re)opened after a loss
    io_errors: int = 0
    open_failures: int = 0
    flood_events: int = 0
    bytes_dropped: int = 0  # by the flood guard

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class _Lost(Exception):
    """The device went quiet for too long: close the port and start over."""


class DeviceLink:
    def __init__(
        self,
        url: str,
        session: DeviceSession,
        sink: BatchSink,
        *,
        chair: str | None = None,
        device_id: str | None = None,
        clock: Clock | None = None,
        batch_interval: float = 0.03,
        backoff: Sequence[float] = (1.0, 2.0, 5.0),
        offline_after: float = 10.0,
        flood_factor: float | None = 4.0,
        flood_window: float = 2.0,
    ) -> None:
        self.url = url
        self.session = session
        self.sink = sink
        self.chair = chair
        self.device_id = device_id or url
        self.clock = clock or SystemClock()
        self.batch_interval = batch_interval
        self.backoff = tuple(backoff) or (1.0,)
        self.offline_after = offline_after
        #: bytes/s above which input cannot be the device (8N1: 10 bits a byte); None: no guard
        #: (e.g. simulators running faster than real time)
        self.flood_limit = (
            None if flood_factor is None else flood_factor * session.baudrate / 10.0
        )
        self.flood_window = flood_window

        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # health, stats
        self._write_lock = threading.Lock()  # the port
        self._port: serial.SerialBase | None = None
        self._health = Health.CONNECTING
        self._stats = LinkStats()
        self._pending: list[Reading] = []
        self._last_flush = 0.0
        self._ever_opened = False
        self._was_online_since_open = False
        self._last_reported: Health | None = None  # health of the last status reading sent
        # flood guard
        self._rx_window: deque[tuple[float, int]] = deque()
        self._rx_window_bytes = 0
        self._flooding = False

    # -- public --------------------------------------------------------------------------------
    @property
    def health(self) -> Health:
        with self._lock:
            return self._health

    def stats(self) -> LinkStats:
        """A consistent snapshot (safe from any thread)."""
        with self._lock:
            return LinkStats(**asdict(self._stats))

    @property
    def port_open(self) -> bool:
        """True while the port is open (health may still be ``connecting``: no frame yet)."""
        return self._port is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> DeviceLink:
        if self._thread is not None:
            raise RuntimeError("link already started")
        self._thread = threading.Thread(
            target=self._run, name=f"link-{self.chair or ''}-{self.device_id}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = JOIN_TIMEOUT) -> bool:
        """Stop the reader: release the device, close the port. True if the thread ended."""
        self._stop.set()
        with self._write_lock:
            port = self._port
            if port is not None:
                try:
                    port.cancel_read()
                except Exception:  # noqa: BLE001 - not every URL handler can cancel
                    pass
        thread = self._thread
        if thread is None:
            return True
        if thread is threading.current_thread():
            return False  # called from the sink: the reader ends after this batch
        thread.join(timeout)
        if thread.is_alive():
            log.warning("link %s: reader thread did not stop within %.1f s", self.url, timeout)
            return False
        return True

    def __enter__(self) -> DeviceLink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- reader thread -------------------------------------------------------------------------
    def _run(self) -> None:
        attempt = 0
        try:
            while not self._stop.is_set():
                port = self._open()
                if port is None:
                    self._wait_backoff(attempt)
                    attempt += 1
                    continue
                reason = None
                try:
                    self._serve(port)
                except _Lost as exc:
                    reason = str(exc)
                except (serial.SerialException, OSError) as exc:
                    if not self._stop.is_set():
                        with self._lock:
                            self._stats.io_errors += 1
                        reason = f"connection lost: {exc}"
                except BaseException:
                    self._close(port, releasing=False)
                    raise
                stopping = self._stop.is_set()
                if not stopping:
                    # Tell the nurse first: closing a socket:// port alone takes 0.3 s.
                    self._set_health(Health.OFFLINE, reason or "connection lost")
                    self._flush(force=True)
                self._close(port, releasing=stopping)
                if stopping:
                    break
                self.session.disconnected()
                attempt = 0 if self._was_online_since_open else attempt
                self._wait_backoff(attempt)
                attempt += 1
        except Exception:  # noqa: BLE001 - a bug must not kill the thread silently
            log.exception("link %s: reader thread failed", self.url)
            self._set_health(Health.OFFLINE, "internal error in the link (see log)")
        finally:
            self._set_health(Health.STOPPED, "link stopped")
            self._flush(force=True)

    def _open(self) -> serial.SerialBase | None:
        try:
            port = serial.serial_for_url(
                self.url, baudrate=self.session.baudrate, timeout=READ_TIMEOUT,
                write_timeout=1.0,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            with self._lock:
                self._stats.open_failures += 1
            if self._health != Health.OFFLINE:
                self._set_health(Health.OFFLINE, f"cannot open {self.url}: {exc}")
                self._flush(force=True)
            return None
        with self._write_lock:
            if self._stop.is_set():
                port.close()
                return None
            self._port = port
        with self._lock:
            if self._ever_opened:
                self._stats.reconnects += 1
            self._ever_opened = True
        self._rx_window.clear()
        self._rx_window_bytes = 0
        self._flooding = False
        self._was_online_since_open = False
        if self._health != Health.CONNECTING:
            self._set_health(Health.CONNECTING, f"port {self.url} opened")
        return port

    def _close(self, port: serial.SerialBase, *, releasing: bool) -> None:
        with self._write_lock:
            if releasing:
                try:
                    self.session.closing()
                    out = self.session.outgoing()
                    if out:
                        port.write(out)
                        port.flush()
                except Exception as exc:  # noqa: BLE001 - the port may be gone already
                    log.debug("link %s: could not send release: %s", self.url, exc)
            self._port = None
            try:
                port.close()
            except Exception as exc:  # noqa: BLE001
                log.debug("link %s: close failed: %s", self.url, exc)
            _close_spy_log(port)

    def _serve(self, port: serial.SerialBase) -> None:
        clock = self.clock
        now = clock.monotonic()
        self.session.connected(now)
        self._write_out(port)
        last_valid = now
        last_tick = now
        self._last_flush = now
        silent_after = self.session.silent_after
        while not self._stop.is_set():
            data = port.read(port.in_waiting or 1)
            if len(data) == 1 and port.in_waiting:  # woke on a frame's first byte: take it all
                data += port.read(port.in_waiting)
            now = clock.monotonic()
            if data:
                accepted_before = self.session.stats.frames_accepted
                readings = self._receive(data, now)
                st = self.session.stats
                with self._lock:
                    self._stats.frames = st.frames_accepted
                    self._stats.frames_rejected = st.frames_rejected
                    self._stats.bytes_skipped = st.bytes_skipped
                    self._stats.readings += len(readings)
                if st.frames_accepted != accepted_before:
                    last_valid = now
                    if self._health != Health.ONLINE:
                        self._was_online_since_open = True
                        self._set_health(Health.ONLINE, "receiving data")
                if readings:
                    wall = clock.now()
                    for r in readings:
                        r.chair = self.chair
                        r.device_id = self.device_id
                        r.recv_mono = now
                        r.recv_wall = wall
                    self._pending.extend(readings)
            if now - last_tick >= TICK_INTERVAL:
                self.session.tick(now)
                last_tick = now
            self._write_out(port)
            quiet = now - last_valid
            if self._health == Health.ONLINE and quiet > silent_after:
                self._set_health(Health.SILENT, f"no data for {silent_after:g} s")
            elif quiet > silent_after + self.offline_after:
                raise _Lost(f"no data for {quiet:.0f} s")
            # Hold readings back for batch_interval only while more input is waiting: with the
            # port drained the next read may block for READ_TIMEOUT, far longer than a batch.
            self._flush(now=now, force=bool(self._pending) and not port.in_waiting)

    def _receive(self, data: bytes, now: float) -> list[Reading]:
        with self._lock:
            self._stats.bytes_in += len(data)
        if self.flood_limit is None:
            return self.session.receive(data, now)
        # Flood guard: more bytes than the line could carry means a wrong port, a loop or a
        # runaway device; decoding it would only burn the CPU and the other chairs with it.
        win = self._rx_window
        win.append((now, len(data)))
        self._rx_window_bytes += len(data)
        while win and now - win[0][0] > self.flood_window:
            self._rx_window_bytes -= win.popleft()[1]
        rate = self._rx_window_bytes / self.flood_window
        if rate > self.flood_limit:
            if not self._flooding:
                self._flooding = True
                with self._lock:
                    self._stats.flood_events += 1
                self._pending.append(self._stamp(Reading(
                    Code.DIAGNOSTIC,
                    f"input arrives at ~{rate:.0f} bytes/s, faster than {self.session.baudrate} "
                    "baud can carry: dropping it (wrong port, a loop, or a runaway device?)",
                    extra={"bytes_per_s": rate, "limit": self.flood_limit},
                ), now))
            with self._lock:
                self._stats.bytes_dropped += len(data)
            return []
        if self._flooding and rate < self.flood_limit / 2:
            self._flooding = False
        if self._flooding:
            with self._lock:
                self._stats.bytes_dropped += len(data)
            return []
        return self.session.receive(data, now)

    def _write_out(self, port: serial.SerialBase) -> None:
        out = self.session.outgoing()
        if out:
            with self._write_lock:
                port.write(out)
            with self._lock:
                self._stats.bytes_out += len(out)

    # -- helpers -------------------------------------------------------------------------------
    def _stamp(self, r: Reading, now: float | None = None) -> Reading:
        r.chair = self.chair
        r.device_id = self.device_id
        r.recv_mono = self.clock.monotonic() if now is None else now
        r.recv_wall = self.clock.now()
        return r

    def _set_health(self, health: Health, reason: str) -> None:
        with self._lock:
            if self._health == health:
                return
            previous = self._health
            self._health = health
        log.info("link %s (%s): %s -> %s: %s", self.device_id, self.chair, previous, health,
                 reason)
        # Tell the consumer about changes it does not know yet: "offline" once (not on every
        # failed reopen of a missing port), "stopped" only if it last heard the device live.
        last = self._last_reported
        if health == Health.ONLINE:
            code = Code.DEVICE_ONLINE
        elif health == Health.SILENT:
            code = Code.DEVICE_OFFLINE
        elif health == Health.OFFLINE and last != Health.OFFLINE:
            code = Code.DEVICE_OFFLINE
        elif health == Health.STOPPED and last in (Health.ONLINE, Health.SILENT):
            code = Code.DEVICE_OFFLINE
        else:
            return
        self._last_reported = health
        self._pending.append(self._stamp(Reading(code, reason, extra={"health": str(health)})))

    def _flush(self, *, now: float | None = None, force: bool = False) -> None:
        if not self._pending:
            return
        now = self.clock.monotonic() if now is None else now
        if not force and now - self._last_flush < self.batch_interval:
            return
        batch, self._pending = self._pending, []
        self._last_flush = now
        with self._lock:
            self._stats.batches += 1
        try:
            self.sink(batch)
        except Exception:  # noqa: BLE001 - a consumer bug must not stop the device
            log.exception("link %s: batch sink failed", self.url)

    def _wait_backoff(self, attempt: int) -> None:
        delay = self.backoff[min(attempt, len(self.backoff) - 1)]
        path = _local_path(self.url)
        if path is None:
            self._stop.wait(delay)
            return
        # A device path that (re)appears - a USB adapter plugged back in - is tried at once.
        existed = os.path.exists(path)
        deadline = self.clock.monotonic() + delay
        while not self._stop.is_set():
            left = deadline - self.clock.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(0.1, left))
            exists = os.path.exists(path)
            if exists and not existed:
                return
            existed = exists


def _close_spy_log(port: serial.SerialBase) -> None:
    """pyserial's ``spy://`` opens its log file and never closes it, so every reconnect would
    leak one: close it with the port (never standard error, its default)."""
    output = getattr(getattr(port, "formatter", None), "output", None)
    if output is not None and output not in (sys.stderr, sys.stdout):
        try:
            output.close()
        except OSError as exc:
            log.debug("could not close the spy log: %s", exc)


def _local_path(url: str) -> str | None:
    """The file system path of a local device URL, else None (socket://, loop://, COM3...)."""
    if "://" in url or not url.startswith("/"):
        return None
    return url
