"""The serial link: one port, one reader thread, reconnect with backoff, device health.

A ``DeviceLink`` opens any pyserial URL (``/dev/ttyUSB0``, ``COM3``, ``socket://host:port``,
``rfc2217://...``, ``loop://``), feeds what it reads to the protocol *session* in its own thread,
writes what the session queues, and hands the readings — stamped with chair, device id and
receive times — to ``sink`` in batches: everything decoded from one read of the port, which
takes all the port holds (never one call per sample). ``sink`` is called from the reader thread.
Between reads the thread sleeps until data arrives, the session's next timer
(``DeviceSession.next_tick``) or the next health deadline.

Health: ``connecting`` → ``online`` (first valid frame) → ``silent`` (no valid frame for the
session's ``silent_after``) → ``offline`` (after a further ``offline_after``, or at once on an I/O
error / unplug). Changes reach the sink as DEVICE_ONLINE / DEVICE_OFFLINE readings whose value
is the reason, with ``extra["health"]`` naming the new state.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import serial
from serial.urlhandler import protocol_socket

try:  # posix only (Windows ports are read through pyserial)
    from serial import serialposix
except ImportError:  # pragma: no cover - Windows
    serialposix = None

from nursestation.core.clock import Clock, SystemClock
from nursestation.core.readings import BatchSink, Reading
from nursestation.core.vocabulary import Code
from nursestation.devices.base import TICK_SLACK, DeviceSession

log = logging.getLogger(__name__)

#: s: the longest a reader sleeps in one read through pyserial. Data ends a read at once;
#: otherwise the wait follows the session's ``next_tick`` and the health deadlines, so a link
#: wakes for data and for its own timers only (waking every 90 ms cost 96 idle links ~5 % of a
#: core; make bench). The bound keeps ``stop`` prompt on ports that cannot cancel a read; a
#: port read through its descriptor is woken by a pipe and waits as long as its deadlines say.
MAX_WAIT = 1.0
#: s: the shortest read timeout (a deadline already past must not spin the thread)
MIN_WAIT = 0.01
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
        self._lock = threading.Lock()  # health
        self._write_lock = threading.Lock()  # the port
        self._port: serial.SerialBase | None = None
        self._reader: _Reader | None = None  # how _serve reads the open port
        self._health = Health.CONNECTING
        self._stats = LinkStats()
        self._pending: list[Reading] = []
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
        """A snapshot, safe from any thread. Only the reader thread writes the counters (so it
        takes no lock a wake for them); a snapshot taken meanwhile may be one read behind in
        some fields. The frame counts are the session's decoder's own."""
        snap = LinkStats(**asdict(self._stats))
        st = self.session.stats
        snap.frames = st.frames_accepted
        snap.frames_rejected = st.frames_rejected
        snap.bytes_skipped = st.bytes_skipped
        return snap

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
            reader = self._reader
            if reader is not None:
                reader.wake()
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
                        self._stats.io_errors += 1
                        reason = f"connection lost: {exc}"
                except BaseException:
                    self._close(port, releasing=False)
                    raise
                stopping = self._stop.is_set()
                if not stopping:
                    # Tell the nurse first: closing a socket:// port alone takes 0.3 s.
                    self._set_health(Health.OFFLINE, reason or "connection lost")
                    self._flush()
                self._close(port, releasing=stopping)
                if stopping:
                    break
                self.session.disconnected()
                attempt = 0 if self._was_online_since_open else attempt
                self._wait_backoff(attempt)
                attempt += 1
        except Exception:
            log.exception("link %s: reader thread failed", self.url)
            self._set_health(Health.OFFLINE, "internal error in the link (see log)")
        finally:
            self._set_health(Health.STOPPED, "link stopped")
            self._flush()

    def _open(self) -> serial.SerialBase | None:
        try:
            port = serial.serial_for_url(
                self.url, baudrate=self.session.baudrate, timeout=MIN_WAIT,
                write_timeout=1.0,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._stats.open_failures += 1
            if self._health != Health.OFFLINE:
                self._set_health(Health.OFFLINE, f"cannot open {self.url}: {exc}")
                self._flush()
            return None
        with self._write_lock:
            if self._stop.is_set():
                port.close()
                return None
            self._port = port
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
        session = self.session
        now = clock.monotonic()
        session.connected(now)
        self._write_out(port)
        reader = _reader_for(port)
        with self._write_lock:
            self._reader = reader
        try:
            self._serve_with(port, reader, last_valid=now)
        finally:
            with self._write_lock:
                self._reader = None
            reader.close()

    def _serve_with(self, port: serial.SerialBase, reader: _Reader, *, last_valid: float) -> None:
        clock = self.clock
        session = self.session
        silent_after = session.silent_after
        stats = self._stats
        decoded = session.stats
        wait = MIN_WAIT
        while not self._stop.is_set():
            data = reader.read(wait)
            now = clock.monotonic()
            if data:
                accepted_before = decoded.frames_accepted
                readings = self._receive(data, now)
                stats.bytes_in += len(data)
                stats.readings += len(readings)
                if decoded.frames_accepted != accepted_before:
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
            session.tick(now)
            self._write_out(port)
            quiet = now - last_valid
            if self._health == Health.ONLINE:
                if quiet > silent_after:
                    self._set_health(Health.SILENT, f"no data for {silent_after:g} s")
                    check = last_valid + silent_after + self.offline_after
                else:
                    check = last_valid + silent_after
            elif quiet > silent_after + self.offline_after:
                raise _Lost(f"no data for {quiet:.0f} s")
            else:
                check = last_valid + silent_after + self.offline_after
            # Each read hands on what it decoded: it took everything the port held, so there
            # is nothing to wait for (a flood still arrives in reads of many frames).
            self._flush()
            # Sleep until the session's next timer or the next health check, whichever first.
            due = session.next_tick(now)
            wait = min(reader.max_wait, check - now if due is None else min(due, check) - now)
            wait = max(MIN_WAIT, wait + 0.001)

    def _receive(self, data: bytes, now: float) -> list[Reading]:
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
                self._stats.flood_events += 1
                self._pending.append(self._stamp(Reading(
                    Code.DIAGNOSTIC,
                    f"input arrives at ~{rate:.0f} bytes/s, faster than {self.session.baudrate} "
                    "baud can carry: dropping it (wrong port, a loop, or a runaway device?)",
                    extra={"bytes_per_s": rate, "limit": self.flood_limit},
                ), now))
            self._stats.bytes_dropped += len(data)
            return []
        if self._flooding and rate < self.flood_limit / 2:
            self._flooding = False
        if self._flooding:
            self._stats.bytes_dropped += len(data)
            return []
        return self.session.receive(data, now)

    def _write_out(self, port: serial.SerialBase) -> None:
        out = self.session.outgoing()
        if out:
            with self._write_lock:
                port.write(out)
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

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._stats.batches += 1
        try:
            self.sink(batch)
        except Exception:
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


class _Reader:
    """Reads what the port holds, waiting up to ``wait`` seconds for the first byte: pyserial's
    own ``read``, for any URL it opens (spy://, rfc2217://, loop://, Windows COM ports)."""

    max_wait = MAX_WAIT

    def __init__(self, port: serial.SerialBase) -> None:
        self.port = port

    def read(self, wait: float) -> bytes:
        port = self.port
        # pyserial sets a timeout with a termios call: only when the wait changes much. Waking
        # early costs a loop; waking up to TICK_SLACK late is within the session's contract.
        timeout = port.timeout
        if wait < timeout - TICK_SLACK or wait > 2.0 * timeout:
            port.timeout = wait
        waiting = port.in_waiting
        data = port.read(waiting or 1)
        if not waiting and data:  # woke on a frame's first byte: take the rest with it
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
        return data

    def wake(self) -> None:
        """Another thread wants the reader back now (``stop``); pyserial's cancel_read does it
        where the port supports it."""

    def close(self) -> None:
        pass


class _FdReader(_Reader):
    """A posix serial port or a TCP socket that pyserial opened and configured, read through its
    file descriptor: one ``select`` and one ``read`` a wake. pyserial's ``read`` spends two
    selects, two reads and two ``in_waiting`` ioctls on the same frame; with 96 ports that was
    a third of the reader threads' CPU (make bench). A pipe of our own wakes it for ``stop``."""

    max_wait = 60.0  # s: deadlines decide; this only bounds a clock gone wrong

    def __init__(self, port: serial.SerialBase, fd: int, is_socket: bool) -> None:
        super().__init__(port)
        self.fd = fd
        self.is_socket = is_socket
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    def read(self, wait: float) -> bytes:
        ready, _, _ = select.select((self.fd, self._wake_r), (), (), wait)
        if self.fd not in ready:
            return b""
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return b""
        if not data:  # what pyserial says in the same case
            if self.is_socket:
                raise serial.SerialException("socket disconnected")
            raise serial.SerialException(
                "device reports readiness to read but returned no data "
                "(device disconnected or multiple access on port?)")
        return data

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except OSError:
            pass  # already closed, or the pipe is full: the reader is awake anyway

    def close(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


def _reader_for(port: serial.SerialBase) -> _Reader:
    """The cheapest correct way to read ``port``: its descriptor when pyserial's own read of
    that class is a plain select-and-read (posix serial, socket://), else pyserial's read."""
    if os.name != "posix":  # select() there takes sockets only, os.read no sockets
        return _Reader(port)
    cls = type(port)
    if serialposix is not None and cls.read is serialposix.Serial.read:
        return _FdReader(port, port.fileno(), is_socket=False)
    if cls is protocol_socket.Serial:
        return _FdReader(port, port.fileno(), is_socket=True)
    return _Reader(port)


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
