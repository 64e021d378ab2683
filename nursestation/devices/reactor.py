"""One I/O thread for every port: a ``selectors`` reactor (epoll on Linux, kqueue on BSD/macOS).

A thread per port woke for every message its device sent: 96 reader threads for 32 chairs woke
~300 times a second, and on a virtual machine a wake after a sleep costs several times the work
it does (make bench: decoding was a fifth of ingest). One thread waiting on every descriptor at
once wakes once for all the ports that are ready together, and its caches stay warm.

``select.select`` is not used anywhere: it cannot take a descriptor numbered 1024 or above,
and pyserial spends ~5 descriptors a port, so at 64 chairs reader threads died with
"filedescriptor out of range in select()". ``selectors.DefaultSelector`` has no such limit.

A *channel* is anything with a descriptor to watch and a timer: a device link
(``link.DeviceLink``), or any other source of readings (a network listener) that implements the
four ``reactor_*`` methods below. Every method of a channel is called on the reactor's thread,
one at a time, so a channel needs no locks for its own state. A channel must never block: a
blocking call (a TCP connect, pyserial's 0.3 s socket close) goes to :meth:`Reactor.blocking`,
which runs it on a short-lived helper thread and hands the result back on the reactor's thread.

The reactor's thread starts with its first channel and ends (closing its selector and wake
pipe) when its last channel has been removed, so a process with no ports open holds nothing.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import selectors
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Protocol

log = logging.getLogger(__name__)

#: s: how long :meth:`Reactor.remove` waits for a channel to be closed and released
REMOVE_TIMEOUT = 2.0
#: s: the reactor waits at least this long between two rounds, so that a round serves every
#: port that became ready meanwhile and hands their readings on in one batch. Woken by each
#: message, 96 ports cost 0.8x the threads' CPU; served every 20 ms, ~0.5x (make bench), but
#: a reading then waited 19-20 ms (median) to reach the live store, and with a 60 Hz frame
#: after it the write -> drawn p99 could not come under 50 ms. Every 10 ms: median 9.4-9.8 ms,
#: p99 17-20 ms (was 28-41), for 0.4-0.5 % of a core more (two interleaved pairs of 32-chair
#: runs on one host).
MIN_ROUND = 0.01


class Channel(Protocol):
    """What the reactor drives. All four methods run on the reactor's thread."""

    name: str

    def reactor_start(self, reactor: Reactor, now: float) -> None:
        """Added: open what needs opening, ``watch`` a descriptor, ``call_at`` a timer."""

    def reactor_event(self, readable: bool, writable: bool, now: float) -> None:
        """The watched descriptor is ready."""

    def reactor_timer(self, now: float) -> None:
        """The time given to ``call_at`` has come (one timer a channel; setting it replaces)."""

    def reactor_stop(self) -> bool:
        """Removed: release and close everything. False if a blocking close is still under way;
        the channel then calls :meth:`Reactor.finished` when it is done."""


class Reactor:
    """One thread serving many channels: readiness through ``selectors``, one timer a channel
    (``time.monotonic`` seconds), and a queue of calls from other threads."""

    def __init__(self, name: str = "link-reactor", min_round: float = MIN_ROUND) -> None:
        self.name = name
        self.min_round = min_round
        self._lock = threading.Lock()
        self._calls: list[Callable[[], None]] = []
        self._channels = 0  # added and not yet finished
        self._thread: threading.Thread | None = None
        self._sel: selectors.BaseSelector | None = None
        self._wake_r = self._wake_w = -1
        self._woken = False
        # reactor thread only
        self._watched: dict[Channel, tuple[int, int]] = {}
        self._timers: list[tuple[float, int, Channel]] = []
        self._due: dict[Channel, int] = {}
        self._seq = itertools.count()
        self._members: set[Channel] = set()  # started and not yet removed
        self._removing: dict[Channel, threading.Event | _Chained] = {}
        self._done: list[threading.Event | _Chained] = []
        self._batches: dict[int, tuple[Callable[[list], None], list]] = {}

    # -- any thread ------------------------------------------------------------------------------
    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def in_reactor(self) -> bool:
        return threading.current_thread() is self._thread

    def add(self, channel: Channel) -> None:
        """Start serving ``channel`` (its ``reactor_start`` runs on the reactor's thread)."""
        with self._lock:
            self._channels += 1
            self._calls.append(lambda: self._start(channel))
            self._ensure_thread()
            self._wake()

    def remove(self, channel: Channel, timeout: float = REMOVE_TIMEOUT) -> bool:
        """Stop serving ``channel``: its ``reactor_stop`` runs on the reactor's thread. Waits up
        to ``timeout`` for that, except on the reactor's own thread (a sink that stops its
        link), where it returns False at once and the channel stops after the current call."""
        done = threading.Event()
        self.call(lambda: self._remove(channel, done))
        if self.in_reactor():
            return False
        return done.wait(timeout)

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the reactor's thread soon."""
        with self._lock:
            if self._thread is None:
                return  # nothing left to serve: nothing for fn to act on
            self._calls.append(fn)
            self._wake()

    def blocking(self, fn: Callable[[], object], then: Callable[[object, BaseException | None], None],
                 name: str) -> None:
        """Run ``fn`` on a helper thread; ``then(result, error)`` on the reactor's thread."""

        def run() -> None:
            try:
                result, error = fn(), None
            except BaseException as exc:  # noqa: BLE001 - handed back, not swallowed
                result, error = None, exc
            with self._lock:
                self._calls.append(lambda: then(result, error))
                self._wake()

        threading.Thread(target=run, name=name, daemon=True).start()

    # -- reactor thread: what channels call ------------------------------------------------------
    def watch(self, channel: Channel, fd: int, *, read: bool = True, write: bool = False) -> None:
        """Wake ``channel`` when ``fd`` is readable (and, if ``write``, writable)."""
        sel = self._sel
        assert sel is not None
        events = (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if write else 0)
        old = self._watched.get(channel)
        if old == (fd, events):
            return
        if old is not None and old[0] != fd:
            self.unwatch(channel)
            old = None
        if events == 0:
            self.unwatch(channel)
        elif old is None:
            sel.register(fd, events, channel)
            self._watched[channel] = (fd, events)
        else:
            sel.modify(fd, events, channel)
            self._watched[channel] = (fd, events)

    def unwatch(self, channel: Channel) -> None:
        old = self._watched.pop(channel, None)
        if old is not None and self._sel is not None:
            try:
                self._sel.unregister(old[0])
            except (KeyError, ValueError, OSError):
                pass  # the descriptor was closed first: epoll forgot it by itself

    def call_at(self, channel: Channel, when: float | None) -> None:
        """Set ``channel``'s one timer to ``when`` (monotonic s); None: no timer."""
        if when is None:
            self._due.pop(channel, None)
            return
        seq = next(self._seq)
        self._due[channel] = seq
        heapq.heappush(self._timers, (when, seq, channel))

    def deliver(self, sink: Callable[[list], None], batch: list) -> None:
        """Hand ``batch`` to ``sink`` at the end of this round, together with what the other
        channels of the round gave the same sink (one call a round, not one a port)."""
        entry = self._batches.get(id(sink))
        if entry is None:
            self._batches[id(sink)] = (sink, batch)
        else:
            entry[1].extend(batch)

    def finished(self, channel: Channel) -> None:
        """A channel whose ``reactor_stop`` returned False has closed everything now."""
        event = self._removing.pop(channel, None)
        if event is not None:
            self._release(event)

    # -- reactor thread ------------------------------------------------------------------------
    def _ensure_thread(self) -> None:  # under the lock
        if self._thread is not None:
            return
        _raise_fd_limit()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._woken = False
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _wake(self) -> None:  # under the lock
        if not self._woken and self._wake_w >= 0:
            self._woken = True
            try:
                os.write(self._wake_w, b"\0")
            except OSError:
                pass  # the pipe is full: the reactor is awake anyway

    def _start(self, channel: Channel) -> None:
        self._members.add(channel)
        self._guard(channel, lambda: channel.reactor_start(self, time.monotonic()))

    def _remove(self, channel: Channel, done: threading.Event) -> None:
        if channel in self._removing:  # removed twice: wait for the first
            self._removing[channel] = _Chained(self._removing[channel], done)
            return
        if channel not in self._members:  # gone already
            done.set()
            return
        self._members.discard(channel)
        self._due.pop(channel, None)
        self._removing[channel] = done
        closed = True
        try:
            closed = channel.reactor_stop()
        except Exception:
            log.exception("reactor: %s failed to stop", getattr(channel, "name", channel))
        self.unwatch(channel)
        if closed:
            self.finished(channel)

    def _release(self, event: threading.Event | _Chained) -> None:
        with self._lock:
            self._channels -= 1
        self._done.append(event)  # set after a possible shutdown: leak checks see it closed

    def _guard(self, channel: Channel, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("reactor: channel %s failed; removing it",
                          getattr(channel, "name", channel))
            if channel not in self._removing:
                self._remove(channel, threading.Event())

    def _run(self) -> None:
        sel = self._sel
        assert sel is not None
        timers, due = self._timers, self._due
        min_round = self.min_round
        began = 0.0
        while True:
            rest = began + min_round - time.monotonic()
            if rest > 0:
                time.sleep(rest)
            timeout = None
            while timers and due.get(timers[0][2]) != timers[0][1]:
                heapq.heappop(timers)  # replaced or cancelled
            if timers:
                timeout = max(0.0, timers[0][0] - time.monotonic())
            events = sel.select(timeout)
            now = began = time.monotonic()
            for key, mask in events:
                channel = key.data
                if channel is None:
                    self._drain_wake()
                    continue
                if channel in self._removing or self._watched.get(channel, (None,))[0] != key.fd:
                    continue  # removed or re-watched by an earlier event in this round
                readable = bool(mask & selectors.EVENT_READ)
                writable = bool(mask & selectors.EVENT_WRITE)
                self._guard(channel, partial(channel.reactor_event, readable, writable, now))
            while timers and timers[0][0] <= now:
                when, seq, channel = heapq.heappop(timers)
                if due.get(channel) != seq:
                    continue
                del due[channel]
                self._guard(channel, partial(channel.reactor_timer, now))
            with self._lock:
                calls, self._calls = self._calls, []
                self._woken = False
            for fn in calls:
                try:
                    fn()
                except Exception:
                    log.exception("reactor: call failed")
            while self._batches:  # a sink may stop a link, which may deliver once more
                batches, self._batches = self._batches, {}
                for sink, batch in batches.values():
                    try:
                        sink(batch)
                    except Exception:
                        log.exception("reactor: batch sink failed")
            with self._lock:
                if self._channels == 0 and not self._calls:
                    self._shutdown()
                    done, self._done = self._done, []
                    break
            done, self._done = self._done, []
            for event in done:
                event.set()
        for event in done:
            event.set()

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _shutdown(self) -> None:  # under the lock, on the reactor thread, nothing left to serve
        assert self._sel is not None
        self._sel.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._sel = None
        self._wake_r = self._wake_w = -1
        self._watched.clear()
        self._timers.clear()
        self._due.clear()
        self._thread = None


class _Chained:
    """Two waiters for one removal."""

    def __init__(self, first: threading.Event | _Chained, second: threading.Event) -> None:
        self.first, self.second = first, second

    def set(self) -> None:
        self.first.set()
        self.second.set()


def _raise_fd_limit(want: int = 8192) -> None:
    """Let the process open enough descriptors for 64 chairs: pyserial spends ~5 a port (the
    port and two pipes), 192 ports ~1000, and many Linux desktops start processes with a soft
    limit of 1024. The soft limit is raised toward the hard one, which the system sets."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)


_default: Reactor | None = None
_default_lock = threading.Lock()


def default_reactor() -> Reactor:
    """The process's reactor for device links (its thread runs only while a link is added)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Reactor()
        return _default
