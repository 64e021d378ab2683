"""HL7 in: an MLLP listener for monitoring gateways (IHE PCD-01 ORU^R01).

One ``Listener`` per configured port; a gateway sends every bed over one connection (or one
connection a message: both work). Each message is parsed (``pcd01.parse_pcd01``), its readings
are routed to chairs by the bed (PV1-3) or the device id (OBX-18) the config gives, stamped like
a device link's, and handed to ``sink`` as one batch; then the gateway gets its ACK: ``AA``, or
``AE``/``AR`` with the reason (not ours, cannot be parsed, a value refused, a bed no chair has).

Health works as for a serial device: a chair's gateway feed goes ``online`` with its first
message and ``offline`` (a DEVICE_OFFLINE reading naming the silence) when no message for it has
come for the route's ``offline_after`` seconds, from start-up too. A malformed message, a
partial frame or a dropped connection never stops the listener; a port already in use is
retried every few seconds and shows as offline meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo

from nursestation.core.clock import Clock, SystemClock
from nursestation.core.readings import BatchSink, Reading
from nursestation.core.vocabulary import Code
from nursestation.hl7.mllp import MllpFramer, frame, parse_mllp_url
from nursestation.hl7.pcd01 import MessageError, Pcd01Message, build_ack, parse_pcd01

log = logging.getLogger(__name__)

DEFAULT_OFFLINE_AFTER = 60.0
RETRY_BIND_S = 5.0
JOIN_TIMEOUT = 5.0
READ_CHUNK = 65536


@dataclass(frozen=True)
class Route:
    """Which chair a gateway's data belongs to: by bed (PV1-3) and/or device id (OBX-18)."""

    chair: str
    device_id: str
    bed: str = ""
    equipment: str = ""
    offline_after: float = DEFAULT_OFFLINE_AFTER

    def matches_bed(self, msg: Pcd01Message) -> bool:
        if not self.bed:
            return False
        if "^" in self.bed:
            return self.bed.rstrip("^") == msg.bed
        comps = msg.bed_components
        bed = comps[2] if len(comps) > 2 and comps[2] else (comps[0] if len(comps) == 1 else "")
        return self.bed == bed or self.bed == msg.bed


@dataclass
class ListenerStats:
    connections: int = 0
    messages: int = 0
    accepted: int = 0  # answered AA
    errors: int = 0  # answered AE
    rejected: int = 0  # answered AR
    readings: int = 0
    frames_rejected: int = 0
    bytes_skipped: int = 0


def route_readings(msg: Pcd01Message, routes: Sequence[Route]
                   ) -> tuple[dict[Route, list[Reading]], list[str]]:
    """Readings by the route they belong to; and what could not be placed, as reasons.
    A reading's OBX-18 device id wins over the bed (one bed may carry two devices)."""
    by_equipment = {r.equipment: r for r in routes if r.equipment}
    bed_route = next((r for r in routes if r.matches_bed(msg)), None)
    out: dict[Route, list[Reading]] = {}
    unplaced: dict[str, None] = {}
    for reading, equipment in msg.readings:
        route = by_equipment.get(equipment) if equipment else None
        if route is None:
            route = bed_route
        if route is None:
            where = f"bed {msg.bed!r}" if msg.bed else "no bed (PV1-3)"
            dev = f", device {equipment!r}" if equipment else ""
            unplaced[f"{where}{dev} is not assigned to a chair in the configuration"] = None
            continue
        reading.extra.setdefault("bed", msg.bed)
        if equipment:
            reading.extra.setdefault("equipment", equipment)
        out.setdefault(route, []).append(reading)
    return out, list(unplaced)


@dataclass
class _Health:
    last_message: float | None = None  # monotonic
    online: bool = False
    reported_offline: bool = False
    since: float = 0.0


class Listener:
    """One MLLP port. ``start()`` runs an asyncio loop in its own thread; ``stop()`` ends it."""

    def __init__(self, host: str, port: int, routes: Iterable[Route], sink: BatchSink, *,
                 clock: Clock | None = None, local_tz: tzinfo | None = None,
                 application: str = "NURSESTATION", facility: str = "") -> None:
        self.host = host
        self.port = port
        self.routes = tuple(routes)
        self.sink = sink
        self.clock = clock or SystemClock()
        self.local_tz = local_tz
        self.application = application
        self.facility = facility
        self.stats = ListenerStats()
        self.bound_port: int | None = None
        self.last_error = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._health = {r: _Health() for r in self.routes}
        self._tasks: set[asyncio.Task] = set()

    # -- public --------------------------------------------------------------------------------
    def start(self) -> Listener:
        if self._thread is not None:
            raise RuntimeError("listener already started")
        # made here, so a stop() right after start() always reaches the loop
        self._loop = asyncio.new_event_loop()
        self._stop_event = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name=f"hl7-listener-{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def wait_listening(self, timeout: float = 5.0) -> bool:
        """True once the port is bound (``bound_port`` then holds it)."""
        return self._ready.wait(timeout) and self.bound_port is not None

    def stop(self, timeout: float = JOIN_TIMEOUT) -> bool:
        loop, ev, thread = self._loop, self._stop_event, self._thread
        if loop is not None and ev is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:
                pass  # the loop has just finished
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("HL7 listener on port %s did not stop within %.1f s", self.port, timeout)
            return False
        return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the loop ------------------------------------------------------------------------------
    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        try:
            loop.run_until_complete(self._main())
        except Exception:
            log.exception("HL7 listener on port %s failed", self.port)
        finally:
            loop.close()
            self._ready.set()

    async def _main(self) -> None:
        assert self._stop_event is not None
        started = self.clock.monotonic()
        for h in self._health.values():
            h.since = started
        server: asyncio.base_events.Server | None = None
        watchdog = asyncio.create_task(self._watchdog())
        try:
            while not self._stop_event.is_set():
                try:
                    server = await asyncio.start_server(self._serve, self.host or None,
                                                        self.port, reuse_address=True)
                    break
                except OSError as exc:
                    self.last_error = f"cannot listen on port {self.port}: {exc.strerror or exc}"
                    log.error("HL7 listener: %s", self.last_error)
                    self._report_all_offline(self.last_error)
                    self._ready.set()
                    try:
                        await asyncio.wait_for(self._stop_event.wait(), RETRY_BIND_S)
                    except TimeoutError:
                        pass
            if server is not None:
                self.last_error = ""
                self.bound_port = server.sockets[0].getsockname()[1]
                log.info("HL7 listener on %s:%s for %s", self.host or "*", self.bound_port,
                         ", ".join(sorted({r.chair for r in self.routes})))
                self._ready.set()
                await self._stop_event.wait()
        finally:
            watchdog.cancel()
            if server is not None:
                server.close()
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                await server.wait_closed()
            now = self.clock.monotonic()
            batch = [self._status(r, Code.DEVICE_OFFLINE, "station stopped", "stopped", now)
                     for r, h in self._health.items() if h.online]
            self._deliver(batch)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        framer = MllpFramer()
        try:
            while True:
                data = await reader.read(READ_CHUNK)
                if not data:
                    break
                rejected, skipped = framer.stats.frames_rejected, framer.stats.bytes_skipped
                for message in framer.feed(data):
                    ack = self._handle(message)
                    writer.write(frame(ack))
                self.stats.frames_rejected += framer.stats.frames_rejected - rejected
                self.stats.bytes_skipped += framer.stats.bytes_skipped - skipped
                await writer.drain()
        except (ConnectionError, OSError) as exc:
            log.info("HL7 connection from %s lost: %s", peer, exc)
        except asyncio.CancelledError:
            pass  # the listener is stopping (ending normally: asyncio's stream callback in
            # 3.11 raises when a connection task ends cancelled)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass

    # -- one message ---------------------------------------------------------------------------
    def _handle(self, raw: bytes) -> str:
        """Parse, route, deliver; the ACK to send back."""
        self.stats.messages += 1
        try:
            msg = parse_pcd01(raw, local=self.local_tz)
        except MessageError as exc:
            self.stats.rejected += 1
            log.warning("HL7 message %s refused: %s", exc.control_id or "(no id)", exc.reason)
            return build_ack(exc.ack_code, exc.control_id, exc.reason,
                             our_application=self.application, our_facility=self.facility)
        routed, unplaced = route_readings(msg, self.routes)
        now = self.clock.monotonic()
        wall = self.clock.now()
        batch: list[Reading] = []
        for route, readings in routed.items():
            h = self._health[route]
            h.last_message = now
            if not h.online:
                h.online = True
                h.reported_offline = False
                batch.append(self._status(route, Code.DEVICE_ONLINE,
                                          "receiving HL7 from the gateway", "online", now))
            for r in readings:
                r.chair = route.chair
                r.device_id = route.device_id
                r.recv_mono = now
                r.recv_wall = wall
            batch.extend(readings)
            self.stats.readings += len(readings)
        # a message for a routed bed that carried no usable numerics still counts as a sign of
        # life for that bed
        if not routed:
            for route in self.routes:
                if route.matches_bed(msg) and not msg.readings:
                    self._health[route].last_message = now
        self._deliver(batch)
        problems = msg.problems + unplaced
        if problems:
            self.stats.errors += 1
            reason = "; ".join(problems)
            log.warning("HL7 message %s from %s: %s", msg.control_id, msg.sending_application,
                        reason)
            return build_ack("AE", msg.control_id, reason, header=msg.header,
                             our_application=self.application, our_facility=self.facility)
        self.stats.accepted += 1
        return build_ack("AA", msg.control_id, header=msg.header,
                         our_application=self.application, our_facility=self.facility)

    # -- health --------------------------------------------------------------------------------
    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self._check_interval())
            now = self.clock.monotonic()
            batch = []
            for route, h in self._health.items():
                ref = h.last_message if h.last_message is not None else h.since
                quiet = now - ref
                if quiet >= route.offline_after and not h.reported_offline:
                    h.online = False
                    h.reported_offline = True
                    why = (f"no HL7 message for this chair for {quiet:.0f} s"
                           if h.last_message is not None else
                           f"no HL7 message for this chair since start-up ({quiet:.0f} s)")
                    batch.append(self._status(route, Code.DEVICE_OFFLINE, why, "offline", now))
            self._deliver(batch)

    def _check_interval(self) -> float:
        shortest = min((r.offline_after for r in self.routes), default=DEFAULT_OFFLINE_AFTER)
        return max(0.05, min(1.0, shortest / 4))

    def _report_all_offline(self, reason: str) -> None:
        now = self.clock.monotonic()
        batch = []
        for route, h in self._health.items():
            if not h.reported_offline:
                h.reported_offline = True
                h.online = False
                batch.append(self._status(route, Code.DEVICE_OFFLINE, reason, "offline", now))
        self._deliver(batch)

    def _status(self, route: Route, code: Code, reason: str, health: str, now: float) -> Reading:
        return Reading(code, reason, chair=route.chair, device_id=route.device_id,
                       recv_mono=now, recv_wall=self.clock.now(), extra={"health": health})

    def _deliver(self, batch: list[Reading]) -> None:
        if not batch:
            return
        try:
            self.sink(batch)
        except Exception:
            log.exception("HL7 listener on port %s: batch sink failed", self.port)


@dataclass
class _Port:
    host: str
    port: int
    routes: list[Route] = field(default_factory=list)


def listeners_for(chairs: Iterable, sink: BatchSink, *, clock: Clock | None = None,
                  application: str = "NURSESTATION", facility: str = "") -> list[Listener]:
    """A listener per distinct port among the chairs' ``protocol = "hl7"`` devices (config
    ``ChairConfig``s), each with the routes of the chairs it feeds. Not started."""
    ports: dict[tuple[str, int], _Port] = {}
    for chair in chairs:
        for dev in chair.devices:
            if dev.protocol != "hl7" or not dev.url:
                continue
            host, port = parse_mllp_url(dev.url)
            p = ports.setdefault((host, port), _Port(host, port))
            p.routes.append(Route(chair.name, dev.id, bed=dev.bed, equipment=dev.equipment,
                                  offline_after=dev.offline_after))
    return [Listener(p.host, p.port, p.routes, sink, clock=clock, application=application,
                     facility=facility) for p in ports.values()]
