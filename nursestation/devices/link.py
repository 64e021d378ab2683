"""The serial link: one port as a channel of the I/O reactor, reconnect with backoff, health.

A ``DeviceLink`` opens any pyserial URL (``/dev/ttyUSB0``, ``COM3``, ``socket://host:port``,
``rfc2217://...``, ``loop://``), feeds what it reads to the protocol *session*, writes what the
session queues, and hands the readings — stamped with chair, device id and receive times — to
``sink`` in batches: everything decoded from one read of the port, which takes all the port
holds (never one call per sample). Between reads it sleeps until data arrives, the session's
next timer (``DeviceSession.next_tick``) or the next health deadline.

What drives it is chosen by the URL (``reactor_can_serve``): ports that can be waited on through
a descriptor (posix serial devices, ``socket://``) are channels of one reactor thread for the
whole station (``reactor.py``: epoll on Linux); the rest (Windows COM ports, ``loop://``,
``spy://``, ``rfc2217://``) get a thread each that reads through pyserial. ``sink`` is called
from that thread; it must not block (on the reactor it holds up every other port).

Health: ``connecting`` → ``online`` (first valid frame) → ``silent`` (no valid frame for the
session's ``silent_after``) → ``offline`` (after a further ``offline_after``, or at once on an I/O
error / unplug). Changes reach the sink as DEVICE_ONLINE / DEVICE_OFFLINE readings whose value
is the reason, with ``extra["health"]`` naming the new state.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
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
from nursestation.devices.reactor import Reactor, default_reactor

log = logging.getLogger(__name__)

#: s: the longest a link's own thread sleeps in one read through pyserial. Data ends a read at
#: once; otherwise the wait follows the session's ``next_tick`` and the health deadlines, so a
#: link wakes for data and for its own timers only (waking every 90 ms cost 96 idle links ~5 %
#: of a core; make bench). The bound keeps ``stop`` prompt on ports that cannot cancel a read;
#: on the reactor the deadlines alone decide.
MAX_WAIT = 1.0
#: s: the shortest wait (a deadline already past must not spin the thread)
MIN_WAIT = 0.01
JOIN_TIMEOUT = 2.0
#: s: how long bytes for the device may wait for the port to take them (pyserial's
#: ``write_timeout`` on the threaded ports); longer counts as a lost connection
WRITE_TIMEOUT = 1.0
#: s: how often a missing device path is looked for during the backoff (a replug is noticed)
PATH_POLL = 0.1


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
    """One device on one port: a channel of the I/O reactor (``reactor.Reactor``) when its port
    can be waited on through a descriptor (posix serial ports, ``socket://``), else driven by a
    thread of its own (Windows COM ports, where ``select`` takes sockets only, and pyserial URLs
    such as ``loop://``, ``spy://``, ``rfc2217://`` whose reads go through pyserial). Both
    drivers run the same steps below (open, serve, lose, back off, finish) on one thread at a
    time, so the link's state needs no locks; ``health`` and ``stop`` are safe from any thread.
    """

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
        reactor: Reactor | None = None,
    ) -> None:
        self.url = url
        self.session = session
        self.sink = sink
        self.chair = chair
        self.device_id = device_id or url
        self.name = f"{chair or ''}-{self.device_id}"
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
        self._done = threading.Event()  # the driver has let go: port closed, "stopped" sent
        self._started = False
        self._stop_requested = False
        self._reactor = reactor
        self._on_reactor = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # health, stop
        self._write_lock = threading.Lock()  # the port (threaded driver: stop's cancel_read)
        self._port: serial.SerialBase | None = None
        self._reader: _Reader | None = None  # threaded driver: how it reads the open port
        self._health = Health.CONNECTING
        self._stats = LinkStats()
        self._pending: list[Reading] = []
        self._ever_opened = False
        self._was_online_since_open = False
        self._last_reported: Health | None = None  # health of the last status reading sent
        # the driver's state (one thread at a time)
        self._attempt = 0
        self._backoff_until = 0.0
        self._path = _local_path(url)
        self._path_existed = False
        self._last_valid = 0.0
        self._opening = False  # reactor: a blocking open is under way on a helper thread
        self._fd = -1  # reactor: the open port's descriptor
        self._out = bytearray()  # reactor: bytes the port has not taken yet
        self._out_since: float | None = None
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
        """A snapshot, safe from any thread. Only the driving thread writes the counters (so it
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
        return self._started and not self._done.is_set()

    @property
    def driver(self) -> str:
        """``reactor`` or ``thread``: what serves this link (known once started)."""
        return "reactor" if self._on_reactor else "thread"

    def start(self) -> DeviceLink:
        if self._started:
            raise RuntimeError("link already started")
        self._started = True
        if reactor_can_serve(self.url):
            self._on_reactor = True
            if self._reactor is None:
                self._reactor = default_reactor()
            self._reactor.add(self)
        else:
            self._thread = threading.Thread(target=self._run_thread, name=f"link-{self.name}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = JOIN_TIMEOUT) -> bool:
        """Stop: release the device, close the port. True once that is done (False if it did
        not finish within ``timeout``, or when called from the sink: the link then stops after
        the current batch)."""
        self._stop.set()
        with self._lock:
            first = not self._stop_requested
            self._stop_requested = True
        if not self._started:
            return True
        if self._on_reactor:
            reactor = self._reactor
            assert reactor is not None
            if first and not self._done.is_set():
                done = reactor.remove(self, timeout)
            elif reactor.in_reactor():
                return self._done.is_set()
            else:
                done = self._done.wait(timeout)
            if not done and not reactor.in_reactor():
                log.warning("link %s: did not stop within %.1f s", self.url, timeout)
            return done
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
            return False  # called from the sink: the thread ends after this batch
        thread.join(timeout)
        if thread.is_alive():
            log.warning("link %s: reader thread did not stop within %.1f s", self.url, timeout)
            return False
        return True

    def __enter__(self) -> DeviceLink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the steps both drivers take -------------------------------------------------------------
    def _open_port(self) -> serial.SerialBase:
        """Open the port (blocking: a TCP connect may take seconds)."""
        return serial.serial_for_url(
            self.url, baudrate=self.session.baudrate, timeout=MIN_WAIT, write_timeout=1.0,
        )

    def _open_failed(self, exc: BaseException, now: float) -> None:
        self._stats.open_failures += 1
        if self._health != Health.OFFLINE:
            self._set_health(Health.OFFLINE, f"cannot open {self.url}: {exc}")
            self._flush()
        self._begin_backoff(now)

    def _opened(self, port: serial.SerialBase, now: float) -> bool:
        """Take an opened port into service; False (port closed) if the link is stopping."""
        with self._write_lock:
            if self._stop.is_set():
                _close_port(port)
                return False
            self._port = port
        if self._ever_opened:
            self._stats.reconnects += 1
        self._ever_opened = True
        self._rx_window.clear()
        self._rx_window_bytes = 0
        self._flooding = False
        self._was_online_since_open = False
        self._out.clear()
        self._out_since = None
        if self._health != Health.CONNECTING:
            self._set_health(Health.CONNECTING, f"port {self.url} opened")
        self._last_valid = now
        self.session.connected(now)
        return True

    def _serve(self, data: bytes | None, now: float) -> float:
        """What one wake does with an open port: decode ``data``, tick the session, write what
        it queued, judge health (``_Lost`` when the device has been quiet too long) and hand
        the readings on. Returns when the link must next wake without data."""
        session = self.session
        if data:
            decoded = session.stats
            accepted_before = decoded.frames_accepted
            readings = self._receive(data, now)
            stats = self._stats
            stats.bytes_in += len(data)
            stats.readings += len(readings)
            if decoded.frames_accepted != accepted_before:
                self._last_valid = now
                if self._health != Health.ONLINE:
                    self._was_online_since_open = True
                    self._set_health(Health.ONLINE, "receiving data")
            if readings:
                wall = self.clock.now()
                for r in readings:
                    r.chair = self.chair
                    r.device_id = self.device_id
                    r.recv_mono = now
                    r.recv_wall = wall
                self._pending.extend(readings)
        session.tick(now)
        self._write_out(now)
        last_valid = self._last_valid
        silent_after = session.silent_after
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
        # Each read hands on what it decoded: it took everything the port held, so there is
        # nothing to wait for (a flood still arrives in reads of many frames).
        self._flush()
        due = session.next_tick(now)
        if self._out_since is not None:
            check = min(check, self._out_since + WRITE_TIMEOUT)
        return check if due is None else min(due, check)

    def _lose(self, reason: str, now: float) -> None:
        """The port failed or the device went quiet: tell the nurse, close, back off."""
        # Tell the nurse first: closing a port may take a moment.
        self._set_health(Health.OFFLINE, reason)
        self._flush()
        port = self._port
        if port is not None:
            self._close(port, releasing=False)
        self.session.disconnected()
        if self._was_online_since_open:
            self._attempt = 0
        self._begin_backoff(now)

    def _finish(self) -> None:
        """Stopping: release the device, close the port, say "stopped"."""
        port = self._port
        if port is not None:
            self._close(port, releasing=True)
        self._set_health(Health.STOPPED, "link stopped")
        self._flush()

    def _begin_backoff(self, now: float) -> None:
        delay = self.backoff[min(self._attempt, len(self.backoff) - 1)]
        self._attempt += 1
        self._backoff_until = now + delay
        self._path_existed = self._path is not None and os.path.exists(self._path)

    def _backoff_over(self, now: float) -> bool:
        """Time to try the port again? A device path that (re)appears - a USB adapter plugged
        back in - is tried at once, without waiting out the backoff."""
        if now >= self._backoff_until:
            return True
        if self._path is None:
            return False
        exists = os.path.exists(self._path)
        appeared = exists and not self._path_existed
        self._path_existed = exists
        return appeared

    def _backoff_due(self, now: float) -> float:
        if self._path is None:
            return self._backoff_until
        return min(self._backoff_until, now + PATH_POLL)

    def _close(self, port: serial.SerialBase, *, releasing: bool) -> None:
        with self._write_lock:
            if releasing:
                try:
                    self.session.closing()
                    out = bytes(self._out) + self.session.outgoing()
                    if out:
                        self._write_final(port, out)
                except Exception as exc:  # noqa: BLE001 - the port may be gone already
                    log.debug("link %s: could not send release: %s", self.url, exc)
            if self._fd >= 0 and self._reactor is not None:
                self._reactor.unwatch(self)
            self._fd = -1
            self._out.clear()
            self._out_since = None
            self._port = None
            _close_port(port)

    def _write_final(self, port: serial.SerialBase, out: bytes) -> None:
        if self._fd < 0:
            port.write(out)
            port.flush()
            return
        n = os.write(self._fd, out)  # a release is small: the port's buffer takes it
        if n < len(out):
            log.debug("link %s: release cut short (%d of %d bytes)", self.url, n, len(out))
        if not isinstance(port, protocol_socket.Serial):
            port.flush()  # drain the line before closing

    def _write_out(self, now: float) -> None:
        out = self.session.outgoing()
        if self._fd < 0:
            if out:
                port = self._port
                assert port is not None
                with self._write_lock:
                    port.write(out)
                self._stats.bytes_out += len(out)
            return
        if out:
            self._out += out
        if not self._out:
            return
        try:
            n = os.write(self._fd, self._out)
        except BlockingIOError:
            n = 0
        self._stats.bytes_out += n
        del self._out[:n]
        if self._out:
            # The port takes no more for now: wait until it does, as pyserial's write waits
            # up to its write_timeout.
            if self._out_since is None:
                self._out_since = now
            elif now - self._out_since > WRITE_TIMEOUT:
                raise serial.SerialTimeoutException("write timeout")
            assert self._reactor is not None
            self._reactor.watch(self, self._fd, read=True, write=True)
        elif self._out_since is not None:
            self._out_since = None
            assert self._reactor is not None
            self._reactor.watch(self, self._fd, read=True, write=False)

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

    def _internal_error(self) -> None:
        log.exception("link %s: internal error", self.url)
        self._set_health(Health.OFFLINE, "internal error in the link (see log)")
        self._flush()

    # -- the reactor's channel -------------------------------------------------------------------
    def reactor_start(self, reactor: Reactor, now: float) -> None:
        self._reactor = reactor
        self._try_open(self.clock.monotonic())

    def reactor_timer(self, now: float) -> None:
        self._step(None)

    def reactor_event(self, readable: bool, writable: bool, now: float) -> None:
        if self._fd < 0:
            return
        data = None
        if readable:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                data = None
            except OSError as exc:
                self._fail(exc)
                return
            if data == b"":  # what pyserial says in the same case
                self._fail(serial.SerialException(
                    "socket disconnected" if isinstance(self._port, protocol_socket.Serial)
                    else "device reports readiness to read but returned no data "
                         "(device disconnected or multiple access on port?)"))
                return
        elif not writable:
            return
        self._step(data)

    def reactor_stop(self) -> bool:
        try:
            if self._opening:
                return False  # the open's result closes the port and finishes
            self._finish()
        finally:
            if not self._opening:
                self._done.set()
        return True

    def _step(self, data: bytes | None) -> None:
        """One wake on the reactor: serve the open port, or see whether to open it again."""
        now = self.clock.monotonic()
        try:
            if self._port is None:
                if self._opening:
                    return
                if self._backoff_over(now):
                    self._try_open(now)
                else:
                    self._call_at(self._backoff_due(now), now)
                return
            self._call_at(self._serve(data, now), now)
        except _Lost as exc:
            self._lose(str(exc), now)
            self._call_at(self._backoff_due(now), now)
        except (serial.SerialException, OSError) as exc:
            self._fail(exc)
        except Exception:  # noqa: BLE001 - a bug must not kill the other ports' thread
            self._internal_error()
            self._stop.set()
            assert self._reactor is not None
            self._reactor.remove(self)

    def _fail(self, exc: BaseException) -> None:
        now = self.clock.monotonic()
        self._stats.io_errors += 1
        self._lose(f"connection lost: {exc}", now)
        self._call_at(self._backoff_due(now), now)

    def _try_open(self, now: float) -> None:
        reactor = self._reactor
        assert reactor is not None
        if self._path is None:
            # A network port: its connect may take seconds, which would stall every port.
            self._opening = True
            reactor.blocking(self._open_port, self._open_done, name=f"link-open-{self.name}")
            return
        try:
            port = self._open_port()
        except (serial.SerialException, OSError, ValueError) as exc:
            self._open_failed(exc, now)
            self._call_at(self._backoff_due(now), now)
            return
        self._take(port, now)

    def _open_done(self, port: object, error: BaseException | None) -> None:
        self._opening = False
        now = self.clock.monotonic()
        if self._stop.is_set():  # stopped meanwhile: the removal waits for this
            if port is not None:
                _close_port(port)
            try:
                self._finish()
            finally:
                self._done.set()
                assert self._reactor is not None
                self._reactor.finished(self)
            return
        if error is not None or port is None:
            if not isinstance(error, (serial.SerialException, OSError, ValueError)):
                log.error("link %s: opening failed", self.url, exc_info=error)
            self._open_failed(error or RuntimeError("no port"), now)
            self._call_at(self._backoff_due(now), now)
            return
        self._take(port, now)

    def _take(self, port: serial.SerialBase, now: float) -> None:
        if not self._opened(port, now):
            return
        assert self._reactor is not None
        try:
            self._fd = port.fileno()
            self._reactor.watch(self, self._fd)
        except (OSError, ValueError) as exc:
            self._fail(exc)
            return
        self._step(None)

    def _call_at(self, due: float, now: float) -> None:
        assert self._reactor is not None
        wait = max(MIN_WAIT, due - now + 0.001)
        self._reactor.call_at(self, time.monotonic() + wait)

    # -- the thread of its own -------------------------------------------------------------------
    def _run_thread(self) -> None:
        try:
            self._thread_loop()
        except Exception:  # noqa: BLE001 - a bug must not kill the thread silently
            self._internal_error()
        finally:
            try:
                self._finish()
            finally:
                self._done.set()

    def _thread_loop(self) -> None:
        clock = self.clock
        opening_due = True  # the first open is at once
        while not self._stop.is_set():
            now = clock.monotonic()
            if self._port is None:
                if not (opening_due or self._backoff_over(now)):
                    self._stop.wait(max(0.0, self._backoff_due(now) - now))
                    continue
                opening_due = False
                try:
                    port = self._open_port()
                except (serial.SerialException, OSError, ValueError) as exc:
                    self._open_failed(exc, now)
                    continue
                if not self._opened(port, now):
                    return
                reader = _Reader(port)
                with self._write_lock:
                    self._reader = reader
                wait = 0.0
            try:
                data = reader.read(max(MIN_WAIT, min(wait, reader.max_wait)))
                now = clock.monotonic()
                due = self._serve(data, now)
                wait = due - now + 0.001
            except _Lost as exc:
                if not self._stop.is_set():
                    self._lose(str(exc), clock.monotonic())
            except (serial.SerialException, OSError) as exc:
                if not self._stop.is_set():
                    self._stats.io_errors += 1
                    self._lose(f"connection lost: {exc}", clock.monotonic())

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
        if self._on_reactor and self._reactor is not None and self._reactor.in_reactor():
            self._reactor.deliver(self.sink, batch)  # with the round's other ports
            return
        try:
            self.sink(batch)
        except Exception:
            log.exception("link %s: batch sink failed", self.url)


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


def reactor_can_serve(url: str) -> bool:
    """Whether the reactor can wait on ``url``'s port through its descriptor: a posix serial
    device (a path) or ``socket://``. Windows COM ports cannot be waited on with ``select``
    (sockets only), and other pyserial URLs read through pyserial: those get a thread."""
    if os.name != "posix" or serialposix is None:
        return False
    return _local_path(url) is not None or url.startswith("socket://")


def _close_port(port: serial.SerialBase) -> None:
    """Close a port without blocking the reactor: pyserial's socket ``close`` sleeps 0.3 s "in
    case of quick reconnects", for every port, on the one thread; the socket is shut here."""
    try:
        if isinstance(port, protocol_socket.Serial) and port.is_open:
            sock = port._socket
            port._socket = None
            port.is_open = False
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        else:
            port.close()
    except Exception as exc:  # noqa: BLE001
        log.debug("close of %s failed: %s", getattr(port, "portstr", port), exc)
    _close_spy_log(port)


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
