"""HL7 out: a visit's vitals (PCD-01 ORU^R01) and its signed session summary (MDM^T02 with the
PDF) to the clinic's EHR over MLLP.

- ``nursestation hl7 send VISIT --to mllp://HOST:PORT`` builds the messages from the record and
  sends them at once, waiting for each ACK; exit 0 only when every one was accepted.
- ``OutboundWorker`` runs in the station when the config has an ``[hl7]`` table: every
  ``vitals_every_minutes`` it queues each open visit's new vitals, at discharge the last ones
  and the summary, in the database (``nursestation.db.hl7queue``), and delivers the queue in
  order, retrying with backoff until each message is accepted. A message keeps its control id
  (MSH-10) on every retry, so a receiver that got it but whose ACK was lost can tell; once
  accepted it is never sent again. The queue survives a restart: it is the database.
- ``nursestation hl7 status`` shows the queue (sent, waiting, failing since …).

The visit's data comes from the record: the printed summary's model (``report.build``), the
stored vitals (``db.repo.vitals_in_range``), the patient's row.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from nursestation.core.clock import Clock, SystemClock
from nursestation.core.vocabulary import NBP_CODES, UNUSABLE
from nursestation.hl7 import codes
from nursestation.hl7.mllp import AddressError, MllpFramer, frame, parse_mllp_url
from nursestation.hl7.pcd01 import (
    Ack,
    MessageError,
    PatientIdent,
    VitalRow,
    build_mdm,
    build_oru,
    parse_ack,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from nursestation.config import Config, Hl7OutboundConfig
    from nursestation.core.protocol import TreatmentProtocol
    from nursestation.db.writer import DbWriter

log = logging.getLogger(__name__)

#: s: one numeric per code per this many seconds goes out (NBP: every measurement)
VITALS_RESOLUTION_S = 60
#: s: the newest vitals are left for the next message (the writer flushes about every second)
WRITE_LAG_S = 5
BACKOFF_S = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0)
#: a visit discharged longer ago than this is not picked up (no flood of old visits when the
#: feed is first configured)
DISCHARGE_WINDOW = timedelta(hours=24)


def new_control_id() -> str:
    """A message control id (MSH-10, 20 characters) that no other message will ever have."""
    return "NS" + uuid.uuid4().hex[:18].upper()


class SendError(Exception):
    """Delivery failed; the message is one line for a person."""


class _Stale(Exception):
    """The connection was closed or reset under us (no answer read)."""


# ------------------------------------------------------------------------------ the MLLP client


class MllpClient:
    """One connection to the receiver, opened when first needed, reopened after a failure."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        try:
            self.host, self.port = parse_mllp_url(url)
        except AddressError as exc:
            raise SendError(str(exc)) from None
        if not self.host:
            raise SendError(f"{url!r}: no host (mllp://HOST:PORT)")
        self.url = url
        self.timeout = timeout
        self._sock: socket.socket | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def abort(self) -> None:
        """From another thread: end a send that is waiting (shut the socket down)."""
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _alive(self, sock: socket.socket) -> bool:
        """False when the peer has closed the connection (or it is broken)."""
        try:
            sock.setblocking(False)
            try:
                return sock.recv(1, socket.MSG_PEEK) != b""
            finally:
                sock.settimeout(self.timeout)
        except BlockingIOError:
            return True  # open, nothing to read
        except OSError:
            return False

    def send(self, payload: bytes, control_id: str) -> Ack:
        """Send one message and wait for its acknowledgement. Raises ``SendError``.

        A kept-open connection the receiver has closed meanwhile (many close after each ACK)
        is reopened and the message sent once more on the new one, same control id."""
        if self._sock is not None:
            try:
                return self._send_once(payload, control_id)
            except _Stale:
                self.close()
        try:
            return self._send_once(payload, control_id)
        except _Stale as exc:
            raise SendError(str(exc)) from None

    def _send_once(self, payload: bytes, control_id: str) -> Ack:
        try:
            sock = self._connect()
            sock.sendall(frame(payload))
            framer = MllpFramer()
            while True:
                data = sock.recv(65536)
                if not data:
                    raise _Stale(f"{self.address} closed the connection without an "
                                 "acknowledgement")
                answers = framer.feed(data)
                if answers:
                    break
        except (SendError, _Stale):
            self.close()
            raise
        except (ConnectionResetError, BrokenPipeError) as exc:
            self.close()
            raise _Stale(f"{self.address} dropped the connection: {exc.strerror or exc}"
                         ) from None
        except TimeoutError:
            self.close()
            raise SendError(f"no acknowledgement from {self.address} within "
                            f"{self.timeout:g} s") from None
        except ConnectionRefusedError:
            self.close()
            raise SendError(f"{self.address} refused the connection (is the receiver "
                            "listening?)") from None
        except OSError as exc:
            self.close()
            raise SendError(f"cannot reach {self.address}: {exc.strerror or exc}") from None
        try:
            ack = parse_ack(answers[0])
        except MessageError as exc:
            self.close()
            raise SendError(f"{self.address} answered, but {exc.reason}") from None
        if ack.control_id and ack.control_id != control_id:
            self.close()
            raise SendError(f"{self.address} acknowledged message {ack.control_id!r}, not "
                            f"{control_id!r}")
        return ack

    def _connect(self) -> socket.socket:
        if self._sock is not None and not self._alive(self._sock):
            self.close()  # the receiver closed it after the last ACK (one message a connection)
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port),
                                                      timeout=self.timeout)
            except socket.gaierror as exc:
                raise SendError(f"cannot resolve {self.host}: {exc.strerror or exc}") from None
        return self._sock


# ----------------------------------------------------------------------- what a visit sends


@dataclass(frozen=True)
class Sender:
    """MSH-3/4/5/6 and what the messages say about us."""

    application: str = "NURSESTATION"
    facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""

    @classmethod
    def from_config(cls, config: Config) -> Sender:
        h = config.hl7
        if h is None:
            return cls(facility=config.clinic_name)
        return cls(h.sending_application, h.sending_facility or config.clinic_name,
                   h.receiving_application, h.receiving_facility)


def _patient(session: Session, visit_id: int) -> PatientIdent:
    from nursestation.db import repo
    from nursestation.db.models import Patient

    visit = repo.get_visit(session, visit_id)
    if visit is None:
        raise LookupError(f"no visit {visit_id}")
    p = session.get(Patient, visit.patient_id)
    assert p is not None
    return PatientIdent(p.mrn, p.family_name, p.given_name,
                        p.date_of_birth.strftime("%Y%m%d") if p.date_of_birth else "")


def vital_rows(session: Session, visit_id: int, *, start: datetime | None = None,
               end: datetime | None = None, resolution_s: int = VITALS_RESOLUTION_S
               ) -> list[VitalRow]:
    """The visit's stored numerics received in [start, end) that we send: usable values only,
    one per code and site per ``resolution_s`` (the last of each interval), every NBP
    measurement once. Every site is sent, each named in OBX-20 (a second SpO2 probe is not the
    chair's primary one, and says so by its site)."""
    from nursestation.db import repo

    out: dict[tuple[str, str, Any], VitalRow] = {}
    for s in repo.vitals_in_range(session, visit_id=visit_id, start=start, end=end,
                                  codes=list(codes.OUTBOUND), all_sites=True):
        if s.value is None or (s.quality & UNUSABLE):
            continue
        at = s.time
        key: Any = at if s.code in NBP_CODES else int(at.timestamp() // resolution_s)
        out[(s.code, s.site, key)] = VitalRow(at, s.code, float(s.value), s.site)
    return sorted(out.values(), key=lambda r: (r.at, r.code, r.site))


def _visit_facts(session: Session, visit_id: int, protocol: TreatmentProtocol, clinic: str):
    from nursestation.report.build import build_summary

    return build_summary(session, visit_id, protocol, clinic=clinic), _patient(session, visit_id)


def vitals_message(session: Session, visit_id: int, *, protocol: TreatmentProtocol,
                   clinic: str, sender: Sender, control_id: str, now: datetime,
                   start: datetime | None = None, end: datetime | None = None
                   ) -> tuple[str, int] | None:
    """(ORU^R01 text, number of observations) for the vitals in [start, end); None if none."""
    rows = vital_rows(session, visit_id, start=start, end=end)
    if not rows:
        return None
    summary, patient = _visit_facts(session, visit_id, protocol, clinic)
    text = build_oru(rows, control_id=control_id, patient=patient, unit=clinic,
                     bed=summary.chair, visit_number=str(visit_id), now=now,
                     sending_app=sender.application, sending_facility=sender.facility,
                     receiving_app=sender.receiving_application,
                     receiving_facility=sender.receiving_facility)
    return text, len(rows)


def summary_message(session: Session, visit_id: int, *, protocol: TreatmentProtocol,
                    clinic: str, sender: Sender, control_id: str, now: datetime,
                    paper: str = "letter") -> tuple[str, bool]:
    """(MDM^T02 text with the summary PDF, whether the summary is signed)."""
    from nursestation.report.render import render_pdf_bytes

    summary, patient = _visit_facts(session, visit_id, protocol, clinic)
    pdf = render_pdf_bytes(summary, paper=paper, printed_at=now)
    d = summary.discharge
    signed = d is not None and bool(d.signed_by)
    author = (d.signed_by if d is not None and d.signed_by else
              summary.nurses[0] if summary.nurses else "")
    doc_time = summary.discharge_at or (d.at if d is not None else None) or now
    text = build_mdm(pdf, control_id=control_id, patient=patient, unit=clinic,
                     bed=summary.chair, visit_number=str(visit_id), now=now,
                     document_time=doc_time, document_id=f"NS-VISIT-{visit_id}", signed=signed,
                     author=author, sending_app=sender.application,
                     sending_facility=sender.facility,
                     receiving_app=sender.receiving_application,
                     receiving_facility=sender.receiving_facility)
    return text, signed


# ----------------------------------------------------------------------------- the commands


def _err(msg: str) -> None:
    print(f"nursestation hl7: {msg}", file=sys.stderr)


def _open_engine(config: Config) -> Engine | None:
    """The database, read-only use; None (after saying why) when it cannot be used."""
    from sqlalchemy.exc import SQLAlchemyError

    from nursestation.db.engine import (
        current_revision,
        db_error_reason,
        head_revision,
        make_engine,
        shown_url,
        sqlite_path,
    )

    path = sqlite_path(config.database_url)
    if path is not None and not path.exists():
        _err(f"no database at {path}; check database_url in the configuration")
        return None
    engine = make_engine(config.database_url)
    try:
        rev = current_revision(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        _err(f"cannot open the database {shown_url(config.database_url)}: "
             f"{db_error_reason(exc)}")
        return None
    if rev != head_revision():
        engine.dispose()
        state = "is empty" if rev is None else f"is at revision {rev}"
        _err(f"the database {state}; run `nursestation db upgrade` first")
        return None
    return engine


def cmd_send(config: Config, visit_id: int, to: str | None, *, summary: bool = True,
             out=None) -> int:
    """``nursestation hl7 send VISIT --to mllp://HOST:PORT``. Exit 0: every message accepted;
    1: refused, unreachable, or nothing to send; never a traceback for a network problem."""
    from nursestation.core.protocol import load_protocol
    from nursestation.db.engine import session_scope
    from nursestation.report.build import UnknownVisit

    out = out or sys.stdout
    target = to or (config.hl7.send_to if config.hl7 is not None else "")
    if not target:
        _err("no receiver: give --to mllp://HOST:PORT (or send_to in the [hl7] table)")
        return 2
    try:
        client = MllpClient(target, timeout=config.hl7.ack_timeout_seconds
                            if config.hl7 is not None else 30.0)
    except SendError as exc:
        _err(str(exc))
        return 2
    protocol = load_protocol(config.protocol_file)
    engine = _open_engine(config)
    if engine is None:
        return 1
    sender = Sender.from_config(config)
    now = datetime.now(UTC)
    messages: list[tuple[str, str, str]] = []  # (label, control id, text)
    try:
        with session_scope(engine) as session:
            try:
                cid = new_control_id()
                vit = vitals_message(session, visit_id, protocol=protocol,
                                     clinic=config.clinic_name, sender=sender, control_id=cid,
                                     now=now)
                if vit is not None:
                    messages.append((f"vitals ORU^R01 ({vit[1]} observations)", cid, vit[0]))
                if summary:
                    cid = new_control_id()
                    text, signed = summary_message(session, visit_id, protocol=protocol,
                                                   clinic=config.clinic_name, sender=sender,
                                                   control_id=cid, now=now, paper=config.paper)
                    label = "signed" if signed else "unsigned (visit not discharged)"
                    messages.append((f"session summary MDM^T02 ({label})", cid, text))
            except (UnknownVisit, LookupError):
                _err(f"no visit {visit_id} (see `nursestation visits` for the list)")
                return 1
    finally:
        engine.dispose()
    if not messages:
        _err(f"visit {visit_id} has no stored vitals to send")
        return 1
    failed = 0
    with client:
        for label, cid, text in messages:
            try:
                ack = client.send(text.encode("utf-8"), cid)
            except SendError as exc:
                _err(f"{label} {cid}: {exc}")
                return 1
            if ack.accepted:
                print(f"{label} {cid}: accepted ({ack.code})", file=out)
            else:
                failed += 1
                _err(f"{label} {cid}: refused by {client.address}: {ack.code}"
                     + (f" {ack.text}" if ack.text else ""))
    return 1 if failed else 0


def cmd_status(config: Config, *, as_json: bool = False, out=None) -> int:
    """``nursestation hl7 status``: the outbound queue, not yet accepted first."""
    from nursestation.db import hl7queue
    from nursestation.db.engine import session_scope

    out = out or sys.stdout
    engine = _open_engine(config)
    if engine is None:
        return 1
    try:
        with session_scope(engine) as session:
            entries = hl7queue.queue_entries(session)
            overview = hl7queue.queue_overview(session)
    finally:
        engine.dispose()
    if as_json:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None
        for e in entries:
            print(json.dumps({"id": e.id, "control_id": e.control_id, "kind": e.kind,
                              "visit": e.visit_id, "destination": e.destination,
                              "state": e.state, "attempts": e.attempts,
                              "queued_at": iso(e.created_at), "sent_at": iso(e.sent_at),
                              "failing_since": iso(e.failing_since),
                              "last_error": e.last_error}), file=out)
        return 0
    feed = config.hl7.send_to if config.hl7 is not None else "not configured ([hl7] send_to)"
    print(f"EHR feed: {feed}", file=out)
    print(f"{overview.waiting} waiting, {overview.failing} failing"
          + (f" since {_local(overview.failing_since)}" if overview.failing_since else "")
          + (f"; last accepted {_local(overview.last_sent_at)}" if overview.last_sent_at
             else ""), file=out)
    if not entries:
        print("no messages queued", file=out)
    for e in entries:
        what = "vitals" if e.kind == "vitals" else "summary"
        line = f"#{e.id} {e.control_id} visit {e.visit_id} {what} to {e.destination}: "
        if e.state == "sent":
            line += f"sent {_local(e.sent_at)}"
        elif e.state == "waiting":
            line += f"waiting since {_local(e.created_at)}"
        else:
            line += (f"failing since {_local(e.failing_since)} ({e.attempts} attempts; "
                     f"last: {e.last_error})")
        print(line, file=out)
    return 0


def _local(t: datetime | None) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if t is not None else "-"


# ------------------------------------------------------------------------------- the worker


@dataclass(frozen=True)
class _Planned:
    kind: str
    visit_id: int
    control_id: str
    payload: bytes
    covers_from: datetime | None = None
    covers_until: datetime | None = None


class OutboundWorker:
    """The station's EHR feed: queue (in the database), deliver in order, retry with backoff.

    Reads use its own engine; writes go through the station's one ``DbWriter``. ``step()`` does
    one round (tests call it directly); ``start()`` runs rounds on a thread every ``poll_s``.
    """

    def __init__(self, config: Config, protocol: TreatmentProtocol, writer: DbWriter, *,
                 engine: Engine | None = None, clock: Clock | None = None,
                 poll_s: float = 2.0, backoff: Sequence[float] = BACKOFF_S,
                 schedule_every_s: float = 30.0) -> None:
        if config.hl7 is None:
            raise ValueError("no [hl7] table in the configuration")
        self.config = config
        self.settings: Hl7OutboundConfig = config.hl7
        self.protocol = protocol
        self.writer = writer
        self.clock = clock or SystemClock()
        self.poll_s = poll_s
        self.backoff = tuple(backoff) or (5.0,)
        self.schedule_every_s = schedule_every_s
        self.sender = Sender.from_config(config)
        self.destination = self.settings.send_to
        self._own_engine = engine is None
        if engine is None:
            from nursestation.db.engine import make_engine

            engine = make_engine(config.database_url)
        self.engine = engine
        self._client: MllpClient | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_schedule: float | None = None
        self.last_error = ""

    # -- thread --------------------------------------------------------------------------------
    def start(self) -> OutboundWorker:
        self._thread = threading.Thread(target=self._run, name="hl7-outbound", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Run a round now (e.g. just after a discharge)."""
        self._last_schedule = None
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        client = self._client
        if client is not None:
            client.abort()  # a send waiting for an ACK ends now
        if self._thread is not None:
            self._thread.join(timeout)
        if self._client is not None:
            self._client.close()
        if self._own_engine:
            self.engine.dispose()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("HL7 outbound round failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    # -- one round -----------------------------------------------------------------------------
    def step(self) -> None:
        mono = self.clock.monotonic()
        if self._last_schedule is None or mono - self._last_schedule >= self.schedule_every_s:
            self._last_schedule = mono
            self.schedule()
        self.deliver()

    def schedule(self) -> int:
        """Queue what is due: each open visit's vitals every ``vitals_every_minutes``; at
        discharge its last vitals and the summary. Returns the number of messages queued."""
        from nursestation.db import hl7queue
        from nursestation.db.engine import session_scope
        from nursestation.db.models import ACTIVE_PHASES, Visit
        from nursestation.db.types import as_utc

        now = self.clock.now()
        every = timedelta(minutes=self.settings.vitals_every_minutes)
        planned: list[_Planned] = []
        with session_scope(self.engine) as s:
            visits = s.scalars(select(Visit).where(or_(
                Visit.phase.in_(ACTIVE_PHASES),
                and_(Visit.phase == "discharged", Visit.discharge_at >= now - DISCHARGE_WINDOW),
            )).order_by(Visit.id)).all()
            for v in visits:
                start = hl7queue.last_vitals_cover(s, v.id) or as_utc(v.checkin_at or
                                                                       v.created_at)
                discharged = v.phase == "discharged" and v.discharge_at is not None
                end = as_utc(v.discharge_at) if discharged else now - timedelta(
                    seconds=WRITE_LAG_S)
                if (discharged and start < end) or (not discharged and end - start >= every):
                    cid = new_control_id()
                    built = vitals_message(s, v.id, protocol=self.protocol,
                                           clinic=self.config.clinic_name, sender=self.sender,
                                           control_id=cid, now=now, start=start, end=end)
                    if built is not None:
                        planned.append(_Planned("vitals", v.id, cid, built[0].encode("utf-8"),
                                                start, end))
                if discharged and self.settings.send_summary and not hl7queue.has_summary(s,
                                                                                         v.id):
                    cid = new_control_id()
                    text, _signed = summary_message(s, v.id, protocol=self.protocol,
                                                    clinic=self.config.clinic_name,
                                                    sender=self.sender, control_id=cid,
                                                    now=now, paper=self.config.paper)
                    planned.append(_Planned("summary", v.id, cid, text.encode("utf-8")))
        if planned:
            self.writer.submit(_enqueue_all, planned, self.destination, now).result()
            log.info("HL7: queued %d message(s) for %s", len(planned), self.destination)
        return len(planned)

    def deliver(self) -> int:
        """Send the queue's messages for our receiver, oldest first, until one fails or waits
        for its backoff. Returns the number accepted."""
        from nursestation.db import hl7queue
        from nursestation.db.engine import session_scope

        sent = 0
        while not self._stop.is_set():
            with session_scope(self.engine) as s:
                msg = hl7queue.next_unsent(s, self.destination)
                if msg is None:
                    break
                msg_id, cid, payload = msg.id, msg.control_id, msg.payload
                tries = hl7queue.attempts(s, msg_id)
            if tries:
                wait = self.backoff[min(len(tries) - 1, len(self.backoff) - 1)]
                due = _as_utc(tries[-1].at) + timedelta(seconds=wait)
                if self.clock.now() < due:
                    break  # in order: nothing after it goes first
            if self._client is None:
                self._client = MllpClient(self.destination,
                                          timeout=self.settings.ack_timeout_seconds)
            try:
                ack = self._client.send(payload, cid)
            except SendError as exc:
                self.last_error = str(exc)
                self._record(msg_id, "error", "", str(exc))
                log.warning("HL7 message %s not delivered: %s", cid, exc)
                break
            if ack.accepted:
                self._record(msg_id, "accepted", ack.code, ack.text)
                sent += 1
                self.last_error = ""
                continue
            self.last_error = f"{ack.code}: {ack.text}"
            self._record(msg_id, "refused", ack.code, ack.text or "refused without a reason")
            log.warning("HL7 message %s refused: %s %s", cid, ack.code, ack.text)
            break
        return sent

    def _record(self, msg_id: int, outcome: str, code: str, detail: str) -> None:
        from nursestation.db import hl7queue

        now = self.clock.now()
        self.writer.submit(hl7queue.record_attempt, msg_id, outcome=outcome, ack_code=code,
                           detail=detail, now=now).result()


def _as_utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _enqueue_all(session: Session, planned: Sequence[_Planned], destination: str,
                 now: datetime) -> None:
    from nursestation.db import hl7queue

    for p in planned:
        if p.kind == "summary" and hl7queue.has_summary(session, p.visit_id):
            continue
        hl7queue.enqueue(session, kind=p.kind, visit_id=p.visit_id, destination=destination,
                         payload=p.payload, control_id=p.control_id, now=now,
                         covers_from=p.covers_from, covers_until=p.covers_until)


__all__: Sequence[str] = ("MllpClient", "OutboundWorker", "SendError", "cmd_send", "cmd_status")
