"""Run a device simulator at the far end of a real wire: a pseudo-terminal or a TCP socket.

``SimulatorHost(sim, "pty")`` makes a pseudo-terminal in raw mode and exposes a *stable* path —
a symlink in a private temp directory pointing at the current ``/dev/pts/N`` — so ``unplug()``
(the terminal is closed: the link's next read fails, the path disappears) and ``replug()`` (a new
terminal, the symlink re-pointed) behave like pulling and reconnecting a USB serial cable.

``SimulatorHost(sim, "tcp://127.0.0.1:PORT")`` listens and serves one connection at a time
(PORT 0 picks a free port); the link opens ``host.url`` (``socket://127.0.0.1:PORT``). Unplug
closes the connection and the listener; replug listens again on the same port.

The simulator runs in the host's own thread, at scenario time ``speed`` × real elapsed time.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import selectors
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable

from nursestation.devices.base import Simulator

log = logging.getLogger(__name__)

POLL = 0.01  # s: how often the simulator is ticked when idle
MAX_BACKLOG = 64 * 1024  # bytes waiting for a reader; older output is dropped beyond this


def ptys_available() -> bool:
    """Whether this machine can make pseudo-terminals (not on Windows, nor in some sandboxes):
    else simulators listen on loopback TCP (``tcp://127.0.0.1:0``)."""
    if not hasattr(os, "openpty"):
        return False
    try:
        import tty  # noqa: F401 - Unix only

        master, slave = os.openpty()
    except (ImportError, OSError):
        return False
    os.close(master)
    os.close(slave)
    return True


def parse_port(port: str) -> tuple[str, str, int]:
    """``"pty"`` → ("pty", "", 0); ``"tcp://HOST:PORT"`` → ("tcp", HOST, PORT); else ValueError."""
    if port == "pty":
        return "pty", "", 0
    if port.startswith("tcp://"):
        host, _, num = port[len("tcp://"):].rpartition(":")
        if host and num.isdigit() and int(num) < 65536:
            return "tcp", host.strip("[]"), int(num)
        raise ValueError(f"expected tcp://HOST:PORT, got {port!r}")
    raise ValueError(f"port must be 'pty' or tcp://HOST:PORT, got {port!r}")


def _readable(fd: int | socket.socket, timeout: float) -> bool:
    """Whether ``fd`` has input within ``timeout`` s. ``poll``, not ``select.select``: that
    fails past descriptor 1024, which 64 chairs' simulators pass."""
    if not hasattr(select, "poll"):  # Windows: sockets only, through selectors
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            return bool(sel.select(timeout))
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(timeout * 1000.0))


class SimulatorHost:
    def __init__(self, simulator: Simulator, port: str = "pty", speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.simulator = simulator
        self.speed = speed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._requests: list[tuple[Callable[[], None], threading.Event]] = []
        self._req_lock = threading.Lock()
        self._backlog = bytearray()
        self._t0 = 0.0
        self.bytes_sent = 0
        self.bytes_received = 0
        # pty
        self._master: int | None = None
        self._slave: int | None = None
        self._dir: str | None = None
        self._link_path: str | None = None
        # tcp
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._host = "127.0.0.1"
        self._port = 0

        self.kind, self._host, self._port = parse_port(port)
        self._plugged = False
        self._opened = False

    # -- public --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """What a DeviceLink should open."""
        if self.kind == "pty":
            if self._link_path is None:
                raise RuntimeError("start() the host first")
            return self._link_path
        return f"socket://{self._host}:{self._port}"

    @property
    def plugged(self) -> bool:
        return self._plugged

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def open(self) -> SimulatorHost:
        """Create the port (the pseudo-terminal's path, or the listening socket) without
        running the device yet: a link may open it, and hears nothing until ``start``."""
        if self._opened:
            return self
        if self.kind == "pty":
            self._dir = tempfile.mkdtemp(prefix="nursestation-sim-")
            self._link_path = os.path.join(self._dir, f"{self.simulator.protocol or 'device'}")
        self._plug()
        self._opened = True
        return self

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> SimulatorHost:
        if self._thread is not None:
            raise RuntimeError("host already started")
        self.open()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, name=f"sim-{self.simulator.protocol}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("simulator host thread did not stop within %.1f s", timeout)
                return
        self._unplug()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def unplug(self) -> None:
        """Pull the cable: the far end sees an I/O error / EOF, the path goes away."""
        self._call(self._unplug)

    def replug(self) -> None:
        """Plug it back in (a new terminal behind the same path / listen on the same port)."""
        self._call(self._plug)

    def scenario_time(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def __enter__(self) -> SimulatorHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- plumbing ------------------------------------------------------------------------------
    def _call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the host thread (never close an fd another thread is polling)."""
        if not self.running:
            fn()
            return
        done = threading.Event()
        with self._req_lock:
            self._requests.append((fn, done))
        if not done.wait(5.0):
            raise RuntimeError("simulator host did not respond")

    def _plug(self) -> None:
        if self._plugged:
            return
        if self.kind == "pty":
            import tty  # Unix only: imported here so TCP hosts also run on Windows

            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            assert self._link_path is not None
            tmp = self._link_path + ".new"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(os.ttyname(slave), tmp)
            os.replace(tmp, self._link_path)
            # The host keeps the slave open too, so the terminal keeps its raw settings and
            # the master never reads EIO while the link is between connections.
            self._master, self._slave = master, slave
        else:
            lst = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET)
            lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                lst.bind((self._host, self._port))
                lst.listen(1)
            except OSError:
                lst.close()
                raise
            lst.setblocking(False)
            self._port = lst.getsockname()[1]
            self._listener = lst
        self._backlog.clear()
        self._plugged = True

    def _unplug(self) -> None:
        if self.kind == "pty":
            if self._link_path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._link_path)
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None
        else:
            self._drop_conn()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        if self._plugged:
            self.simulator.reset()
        self._backlog.clear()
        self._plugged = False

    def _drop_conn(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
            self.simulator.reset()
            self._backlog.clear()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._serve_requests()
                t = self.scenario_time()
                readable = self._wait_readable()
                if readable:
                    data = self._read()
                    if data:
                        self.bytes_received += len(data)
                        self.simulator.receive(data, self.scenario_time())
                self.simulator.tick(self.scenario_time() if readable else t)
                out = self.simulator.outgoing()
                if out and self._has_reader():
                    self._backlog += out
                    if len(self._backlog) > MAX_BACKLOG:
                        del self._backlog[: len(self._backlog) - MAX_BACKLOG]
                self._write()
        except Exception:
            log.exception("simulator host failed")
        finally:
            self._serve_requests()

    def _serve_requests(self) -> None:
        with self._req_lock:
            requests, self._requests = self._requests, []
        for fn, done in requests:
            try:
                fn()
            except Exception:
                log.exception("simulator host request failed")
            finally:
                done.set()

    def _has_reader(self) -> bool:
        return self._master is not None if self.kind == "pty" else self._conn is not None

    def _wait_readable(self) -> bool:
        fd: int | socket.socket | None
        if self.kind == "pty":
            fd = self._master
        else:
            if self._conn is None and self._listener is not None:
                self._accept()
            fd = self._conn
        if fd is None:
            self._stop.wait(POLL)
            return False
        try:
            return _readable(fd, POLL)
        except (OSError, ValueError):
            return False

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            if not _readable(self._listener, 0):
                return
            conn, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("accept failed: %s", exc)
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn
        self._backlog.clear()

    def _read(self) -> bytes:
        try:
            if self.kind == "pty":
                assert self._master is not None
                return os.read(self._master, 65536)
            assert self._conn is not None
            data = self._conn.recv(65536)
            if not data:
                self._drop_conn()  # the link closed its end
            return data
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            if self.kind == "tcp":
                self._drop_conn()
            elif exc.errno != errno.EIO:
                log.debug("pty read failed: %s", exc)
            return b""

    def _write(self) -> None:
        if not self._backlog:
            return
        try:
            if self.kind == "pty":
                if self._master is None:
                    return
                n = os.write(self._master, self._backlog)
            else:
                if self._conn is None:
                    return
                n = self._conn.send(self._backlog)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("simulator write failed: %s", exc)
            if self.kind == "tcp":
                self._drop_conn()
            self._backlog.clear()
            return
        self.bytes_sent += n
        del self._backlog[:n]
