"""The station's running parts, without Qt: one link per device, the live store, the recorder
and the per-chair alarm engines.

Reader threads (one per port) hand each batch to :meth:`StationRuntime._on_batch`, which copies
it into the live store (ring buffers the GUI snapshots on its timer), queues it for the database
writer (bulk-inserted about once a second), and appends its numerics to the alarm inbox. The GUI
thread calls :meth:`process` on a timer: it feeds the inbox to the chairs' alarm engines and
returns their state changes for the record. Alarm engines therefore only ever run on one thread.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from nursestation.config import ChairConfig, Config
from nursestation.core.alarms import AlarmChange, AlarmEngine
from nursestation.core.clock import Clock, SystemClock
from nursestation.core.livestate import LiveStore
from nursestation.core.protocol import TreatmentProtocol
from nursestation.core.readings import Reading, SitePicker
from nursestation.devices.link import DeviceLink
from nursestation.devices.registry import DEVICE_LABELS, GATEWAYS, PROTOCOLS

if TYPE_CHECKING:  # started only when the config has an [hl7] feed
    from nursestation.hl7.outbound import OutboundWorker

log = logging.getLogger(__name__)


class StationRuntime:
    def __init__(
        self,
        config: Config,
        protocol: TreatmentProtocol,
        live: LiveStore,
        *,
        writer=None,
        clock: Clock | None = None,
        link_options: dict | None = None,
    ) -> None:
        self.config = config
        self.protocol = protocol
        self.live = live
        self.writer = writer
        self.clock = clock or SystemClock()
        self.links: dict[str, DeviceLink] = {}
        self.listeners: list = []  # nursestation.hl7.inbound.Listener, one per gateway port
        self.hl7_outbound: OutboundWorker | None = None  # the EHR feed ([hl7] in config)
        self.engines: dict[str, AlarmEngine] = {}
        self._link_options = link_options or {}
        self._inbox: list[Reading] = []
        self._inbox_lock = threading.Lock()
        self.batches = 0
        self._start_lock = threading.Lock()
        self._stopping = False
        self._starter: threading.Thread | None = None
        #: each chair's choice of site for multi-site codes (TEMP, SPO2, ECG lead...): only the
        #: primary site's readings reach the live store, the record and the alarm engines
        self._sites: dict[str, SitePicker] = {}
        self._sites_lock = threading.Lock()
        self._other_sites_seen: set[tuple[str, str, str]] = set()
        #: batches for a writer not attached yet (``hold_for_writer``): the station's devices
        #: may deliver before its record is open
        self._holding = False
        self._held: list[Sequence[Reading]] = []
        self._held_lock = threading.Lock()

    def hold_for_writer(self) -> None:
        """Keep every batch for the record until :meth:`attach_writer` (the station starts its
        devices while it opens the database: nothing they read meanwhile is lost)."""
        self._holding = True

    def attach_writer(self, writer) -> None:
        """The record is open: what was held goes to ``writer`` first, in order, then every
        batch as it arrives."""
        with self._held_lock:
            for batch in self._held:
                writer.record_readings(batch)
            self._held.clear()
            self.writer = writer

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, chairs: Sequence[ChairConfig] | None = None, *,
              background: bool = False, prepare: Callable[[], None] | None = None) -> None:
        """Register the chairs and start a link per configured device. ``background``: start
        the reader threads from a helper thread (the GUI need not wait the ~2 ms each of 96
        thread starts); ``stop`` waits for it. ``prepare`` runs first, in that thread (the
        demo starts its simulated devices there)."""
        new_links: list[DeviceLink] = []
        self._stopping = False
        for chair in chairs if chairs is not None else self.config.chairs:
            self.register_chairs((chair,))
            for dev in chair.devices:
                if not dev.url or dev.protocol in GATEWAYS:  # gateways: the HL7 listeners below
                    continue
                info = PROTOCOLS[dev.protocol]
                session = info.make_session()
                if dev.baud:  # the port's speed as the device is set (e.g. "Fix 19200")
                    session.baudrate = dev.baud
                link = DeviceLink(dev.url, session, self._on_batch, chair=chair.name,
                                  device_id=dev.id, clock=self.clock, **self._link_options)
                self.links[dev.id] = link
                new_links.append(link)
        self._start_hl7_listeners(chairs if chairs is not None else self.config.chairs)
        self._start_hl7_outbound()
        if background:
            self._starter = threading.Thread(target=self._start_links,
                                             args=(new_links, prepare), name="link-starter",
                                             daemon=True)
            self._starter.start()
        else:
            self._start_links(new_links, prepare)
        log.info("station runtime started: %d chairs, %d device links", len(self.engines),
                 len(self.links))

    def register_chairs(self, chairs: Sequence[ChairConfig]) -> None:
        """Declare the chairs (their devices show as connecting) and give each its alarm
        engine; a chair registered before keeps its engine."""
        for chair in chairs:
            self.live.register_chair(
                chair.name, {d.id: DEVICE_LABELS[d.protocol] for d in chair.devices}
            )
            if chair.name not in self.engines:
                self.engines[chair.name] = AlarmEngine(self.protocol.alarms, self.clock,
                                                       chair.name)
            self._sites[chair.name] = SitePicker(chair.sites)

    def _start_hl7_listeners(self, chairs: Sequence[ChairConfig]) -> None:
        """Chairs fed by a monitoring gateway: one MLLP listener per port, handing its batches
        to the same sink as the device links (nursestation.hl7.inbound)."""
        if not any(d.protocol in GATEWAYS for c in chairs for d in c.devices):
            return
        from nursestation.hl7.inbound import listeners_for

        for listener in listeners_for(chairs, self._on_batch, clock=self.clock,
                                      facility=self.config.clinic_name):
            self.listeners.append(listener.start())

    def _start_hl7_outbound(self) -> None:
        """The EHR feed ([hl7] in the config): vitals at an interval, the summary at discharge,
        through the queue in the database (nursestation.hl7.outbound)."""
        if self.config.hl7 is None or self.writer is None or self.hl7_outbound is not None:
            return
        from nursestation.hl7.outbound import OutboundWorker

        self.hl7_outbound = OutboundWorker(self.config, self.protocol, self.writer,
                                           clock=self.clock).start()

    def _start_links(self, links: Sequence[DeviceLink],
                     prepare: Callable[[], None] | None = None) -> None:
        if prepare is not None:
            with self._start_lock:
                if self._stopping:
                    return
                prepare()
        for link in links:
            with self._start_lock:
                if self._stopping:
                    return
                link.start()

    def stop(self) -> None:
        """Stop every link (each releases its device and joins its thread, bounded)."""
        with self._start_lock:
            self._stopping = True  # links not started yet never will be
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        for listener in self.listeners:
            listener.stop()
        self.listeners.clear()
        if self.hl7_outbound is not None:
            self.hl7_outbound.stop()
            self.hl7_outbound = None
        links = list(self.links.values())
        if links:
            with ThreadPoolExecutor(max_workers=min(16, len(links))) as pool:
                list(pool.map(lambda link: link.stop(), links))
        self.links.clear()

    # -- reader threads ------------------------------------------------------------------------
    def _primary(self, batch: Sequence[Reading]) -> tuple[Sequence[Reading], list[Reading]]:
        """(the readings of each chair's primary sites, the numerics of its other sites; see
        SitePicker, which marks each reading's ``primary``). The other sites' numerics are only
        recorded, with their site; their waves are not kept (a wave chunk has no site)."""
        other: list[Reading] = []
        with self._sites_lock:
            keep: list[Reading] = []
            for r in batch:
                picker = self._sites.get(r.chair) if r.chair is not None else None
                if picker is None:
                    keep.append(r)
                    continue
                r.primary = picker.is_primary(r)
                (keep if r.primary else other).append(r)
        for r in other:
            key = (str(r.chair), str(r.code), r.site)
            if key not in self._other_sites_seen:
                self._other_sites_seen.add(key)
                log.info("%s: %s from site %r is not the chair's primary site (%r): recorded "
                         "and shown with its site, never alarmed on", r.chair, r.code, r.site,
                         self._sites[str(r.chair)].primary(str(r.code)))
        if not other:
            return batch, []
        return keep, [r for r in other if r.samples is None]

    def _on_batch(self, batch: Sequence[Reading]) -> None:
        batch, other_sites = self._primary(batch)
        self.live.ingest(batch)
        writer = self.writer
        if writer is None and self._holding:
            with self._held_lock:
                writer = self.writer  # attached meanwhile?
                if writer is None:
                    self._held.append([*batch, *other_sites] if other_sites else batch)
        if writer is not None:
            writer.record_readings([*batch, *other_sites] if other_sites else batch)
        numerics = [r for r in batch if r.samples is None]
        if numerics:
            with self._inbox_lock:
                self._inbox.extend(numerics)
                self.batches += 1

    # -- GUI thread ----------------------------------------------------------------------------
    def process(self) -> list[AlarmChange]:
        """Feed what arrived since the last call to the alarm engines; return their changes."""
        with self._inbox_lock:
            inbox, self._inbox = self._inbox, []
        by_chair: dict[str, list[Reading]] = defaultdict(list)
        for r in inbox:
            if r.chair is not None:
                by_chair[r.chair].append(r)
        changes: list[AlarmChange] = []
        for chair, engine in self.engines.items():
            readings = by_chair.get(chair)
            if readings:
                engine.ingest(readings)
            changes.extend(engine.update())
        return changes

    def engine(self, chair: str) -> AlarmEngine:
        return self.engines[chair]
