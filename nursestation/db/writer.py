"""The one writer: every database write goes through a single thread.

``DbWriter.submit(fn, *args, **kw)`` runs ``fn(session, *args, **kw)`` in one transaction on the
writer thread and returns a ``concurrent.futures.Future`` that resolves with ``fn``'s result only
after COMMIT returned (or with the exception; then nothing was written). The UI confirms an entry
to the nurse from the future's callback, never before.

``record_readings(readings)`` is the high-rate path for device data: it only appends to a list;
the writer thread bulk-inserts numeric vitals and compressed wave chunks every
``flush_interval`` seconds (one transaction for all chairs), and keeps ``latest_vitals`` current.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.orm import Session

from nursestation.core.readings import Reading
from nursestation.db import waves
from nursestation.db.audit import anchor_committed, audit_stored_batch, write_anchor
from nursestation.db.engine import WRITER_OPTION, make_engine, session_scope, upgrade_database
from nursestation.db.models import ACTIVE_PHASES, Chair, LatestVital, Visit, Vital, WaveChunk
from nursestation.db.spool import ReadingSpool, spool_dir_for

log = logging.getLogger(__name__)

T = TypeVar("T")
_STOP = object()
_FLUSH = object()
#: A spooled batch is looked for among this many newest audit rows before it is stored again.
RECENT_AUDIT_ROWS = 20_000
#: Anchoring the audit chain's head outside the database (issue 16, point 2): a clinical write
#: (entry, PIN failure, login ...) is anchored as soon as it is committed, every one; stored
#: vitals alone are anchored at most this often - and at the latest this long after they were
#: committed, even when no more arrive - so the anchor file grows ~1,400 lines a day, not
#: 86,400, and at most the last minute of vitals could be cut off the chain unnoticed.
VITALS_ANCHOR_EVERY_S = 60.0
#: With nothing written for this long the writer asks the database whether it is still there
#: (``SELECT 1``), so the station shows an outage (and its end) without waiting for a write.
PROBE_IDLE_S = 5.0
#: Consecutive wave blocks further apart than this start a new chunk.
WAVE_GAP_TOLERANCE_S = 0.5


class WriterClosed(RuntimeError):
    pass


def _unreachable(exc: BaseException) -> bool:
    """Is ``exc`` the database being unreachable (down, network, locked) rather than a bug?"""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError) or bool(
        getattr(exc, "connection_invalidated", False))


@dataclass(frozen=True)
class RecordHealth:
    """Whether the record can be written now, and what waits (for the status bar)."""

    reachable: bool
    since: datetime | None = None  # unreachable since (UTC)
    waiting: int = 0  # readings in the outage spool
    lost: int = 0  # readings dropped because the spool was full
    reason: str = ""

    def message(self) -> str:
        """One line; "" when all is well."""
        lost = f", {self.lost} readings lost (spool full)" if self.lost else ""
        if not self.reachable:
            since = self.since.astimezone().strftime("%H:%M") if self.since else "now"
            return (f"Record unreachable since {since} — monitoring continues, {self.waiting} "
                    f"readings waiting, charting paused{lost}")
        if self.waiting:
            return f"Record back — storing {self.waiting} waiting readings{lost}"
        return f"Record: {self.lost} readings were lost (spool full)" if self.lost else ""


class DbWriter:
    def __init__(self, engine: Engine, *, flush_interval: float = 1.0,
                 name: str = "nursestation-db-writer", spool: ReadingSpool | None = None,
                 retry_s: float = 2.0, anchor_clock: Callable[[], float] = time.monotonic,
                 probe_idle_s: float = PROBE_IDLE_S) -> None:
        self._engine = engine.execution_options(**{WRITER_OPTION: True})
        self._probe_engine = engine  # a probe must not take SQLite's write lock
        self._anchor_clock = anchor_clock
        self._probe_idle_s = probe_idle_s
        self._last_ok = time.monotonic()
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._flush_interval = flush_interval
        self._readings: list[Reading] = []
        self._readings_lock = threading.Lock()
        self._closed = False
        self._close_lock = threading.Lock()
        self._chair_ids: dict[str, int] = {}
        self.readings_written = 0
        self.readings_dropped = 0
        self.naive_device_times = 0
        self._anchored_at = -math.inf
        self._unanchored: tuple[str, int, str] | None = None
        self._spool = spool
        self._retry_s = retry_s
        self._down_since: datetime | None = None
        self._down_reason = ""
        self._next_try = 0.0
        self._spool_full_lost = 0
        #: the first batch stored after a failure may have been committed unbeknown to us
        self._check_duplicate = spool is not None and bool(spool)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------ public API

    def submit(self, fn: Callable[..., T], *args: Any, **kw: Any) -> Future[T]:
        """Run ``fn(session, *args, **kw)`` in a transaction on the writer thread."""
        fut: Future[T] = Future()
        with self._close_lock:
            if self._closed:
                raise WriterClosed("the database writer is closed")
            self._jobs.put((fn, args, kw, fut))
        return fut

    def record_readings(self, readings: Sequence[Reading]) -> None:
        """Queue device readings for the next batched insert (cheap; any thread)."""
        if not readings or self._closed:
            return
        with self._readings_lock:
            self._readings.extend(readings)

    def flush(self) -> Future[int]:
        """Write queued readings now; resolves with how many were written, after COMMIT."""
        fut: Future[int] = Future()
        with self._close_lock:
            if self._closed:
                raise WriterClosed("the database writer is closed")
            self._jobs.put((_FLUSH, (), {}, fut))
        return fut

    def close(self, timeout: float = 30.0) -> None:
        """Finish queued jobs, flush readings, stop the thread."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - a job hung
            log.error("database writer did not stop within %.0f s", timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def health(self) -> RecordHealth:
        """Reachable or not since when, readings waiting in the spool (any thread)."""
        waiting = self._spool.waiting if self._spool is not None else 0
        down = self._down_since
        return RecordHealth(down is None, down, waiting, self._spool_full_lost,
                            self._down_reason)

    def _went_down(self, exc: BaseException) -> None:
        from nursestation.db.engine import db_error_reason

        if self._down_since is None:
            self._down_since = datetime.now(UTC)
            log.error("the record is unreachable: %s", db_error_reason(exc))
        self._down_reason = db_error_reason(exc)
        self._next_try = time.monotonic() + self._retry_s
        self._check_duplicate = True

    def _came_back(self) -> None:
        if self._down_since is not None:
            log.info("the record is reachable again (down since %s)", self._down_since)
        self._down_since = None
        self._down_reason = ""

    # ---------------------------------------------------------------------------- the thread

    def _run(self) -> None:
        next_flush = time.monotonic() + self._flush_interval
        while True:
            try:
                item = self._jobs.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                item = None
            if item is _STOP:
                self._flush_readings(final=True)
                self._anchor_pending()
                return
            if item is not None:
                fn, args, kw, fut = item
                if fut.set_running_or_notify_cancel():
                    if fn is _FLUSH:
                        self._run_flush_job(fut)
                    else:
                        self._run_job(fn, args, kw, fut)
            if time.monotonic() >= next_flush:
                self._flush_readings()
                self._watch()
                next_flush = time.monotonic() + self._flush_interval

    def _run_job(self, fn: Callable[..., Any], args: tuple, kw: dict, fut: Future) -> None:
        try:
            with Session(self._engine, expire_on_commit=False) as session:
                with session.begin():
                    result = fn(session, *args, **kw)
                # COMMIT has returned here: anchor the audit chain's new head outside the db.
                if anchor_committed(session):
                    self._anchored_at = self._anchor_clock()
                    self._unanchored = None  # older than this head, which covers it
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            if _unreachable(exc):
                self._went_down(exc)
            fut.set_exception(exc)
            return
        self._last_ok = time.monotonic()
        if self._spool is None or not self._spool:
            self._came_back()
        fut.set_result(result)

    def _run_flush_job(self, fut: Future) -> None:
        try:
            n = self._flush_readings(raise_errors=True)
            self._anchor_if_due()
        except BaseException as exc:  # noqa: BLE001
            fut.set_exception(exc)
            return
        fut.set_result(n)

    def _spool_batch(self, batch: list[Reading], batch_id: str) -> None:
        assert self._spool is not None
        if not self._spool.put(batch, batch_id):
            self._spool_full_lost += len(batch)
            self.readings_dropped += len(batch)
            log.error("outage spool full: %d readings lost", len(batch))

    def _store(self, batch: list[Reading], batch_id: str, final: bool) -> int:
        with Session(self._engine) as session:
            with session.begin():
                n = self._write_batch(session, batch, batch_id)
            self._last_ok = time.monotonic()
            if final or self._anchor_clock() - self._anchored_at >= VITALS_ANCHOR_EVERY_S:
                if anchor_committed(session):
                    self._anchored_at = self._anchor_clock()
                    self._unanchored = None
            else:
                self._unanchored = session.info.pop("audit_head", None) or self._unanchored
        return n

    def _replay(self, final: bool) -> int:
        """Store spooled batches, oldest first, while the record answers (a bounded time per
        call, so clinical writes are not held up)."""
        assert self._spool is not None
        if self._down_since is not None and time.monotonic() < self._next_try and not final:
            return 0
        stored = 0
        deadline = time.monotonic() + (30.0 if final else 0.5)
        while time.monotonic() < deadline:
            spooled = self._spool.oldest()
            if spooled is None:
                if self._down_since is None or self._probe():
                    self._came_back()
                break
            try:
                if self._check_duplicate and self._already_stored(spooled.batch_id):
                    log.info("spooled batch %s was already stored; not storing it twice",
                             spooled.batch_id)
                    n = 0
                else:
                    n = self._store(spooled.readings, spooled.batch_id, final)
            except Exception as exc:
                if _unreachable(exc):
                    self._went_down(exc)
                    break
                raise
            self._check_duplicate = False
            self._spool.done(spooled)
            stored += n
            self.readings_written += n
            self._came_back()
        return stored

    def _already_stored(self, batch_id: str) -> bool:
        from sqlalchemy import func

        from nursestation.db.models import AuditLog

        with Session(self._engine) as session:
            top = session.scalar(select(func.max(AuditLog.id))) or 0
            return session.scalar(
                select(AuditLog.id).where(AuditLog.action == "store",
                                          AuditLog.id > top - RECENT_AUDIT_ROWS,
                                          AuditLog.detail.like(f'%"batch":"{batch_id}"%'))
                .limit(1)) is not None

    def _flush_readings(self, raise_errors: bool = False, final: bool = False) -> int:
        with self._readings_lock:
            batch, self._readings = self._readings, []
        batch_id = uuid.uuid4().hex
        if self._spool is not None and (self._spool or self._down_since is not None):
            if batch:  # behind what already waits, so the order is kept
                self._spool_batch(batch, batch_id)
            return self._replay(final)
        if not batch:
            return 0
        try:
            n = self._store(batch, batch_id, final)
        except Exception as exc:
            if self._spool is not None and _unreachable(exc):
                self._went_down(exc)
                self._spool_batch(batch, batch_id)
                return 0
            self.readings_dropped += len(batch)
            log.exception("could not store %d device readings", len(batch))
            if raise_errors:
                raise
            return 0
        self.readings_written += n
        return n

    def _probe(self) -> bool:
        """Is the database there? (``SELECT 1``; an outage is noted, anything else logged.)"""
        try:
            with self._probe_engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # a probe never stops the writer
            if _unreachable(exc):
                self._went_down(exc)
            else:
                log.exception("database probe failed")
            return False
        self._last_ok = time.monotonic()
        return True

    def _watch(self) -> None:
        """Each flush tick: anchor vitals left unanchored for too long; notice an outage, or
        its end, when nothing is being written (see ``PROBE_IDLE_S``)."""
        self._anchor_if_due()
        now = time.monotonic()
        if self._down_since is not None:
            if (self._spool is None or not self._spool) and now >= self._next_try:
                if self._probe():
                    self._came_back()
        elif now - self._last_ok >= self._probe_idle_s:
            self._probe()

    def _anchor_if_due(self) -> None:
        """Anchor the head a throttled vitals commit left, once ``VITALS_ANCHOR_EVERY_S``
        passed since the last anchor (also when no more vitals come)."""
        if self._unanchored is None:
            return
        if self._anchor_clock() - self._anchored_at < VITALS_ANCHOR_EVERY_S:
            return
        self._anchored_at = self._anchor_clock()
        self._anchor_pending()

    def _anchor_pending(self) -> None:
        """Anchor the newest head a throttled vitals batch left unanchored (on close)."""
        head, self._unanchored = self._unanchored, None
        if head is not None:
            try:
                write_anchor(*head)
            except OSError:
                log.exception("could not write the audit anchor")

    def _chair_id(self, session: Session, name: str | None) -> int | None:
        if name is None:
            return None
        if name not in self._chair_ids:
            self._chair_ids = dict(session.execute(select(Chair.name, Chair.id)).all())
        return self._chair_ids.get(name)

    def _write_batch(self, session: Session, batch: list[Reading], batch_id: str = "") -> int:
        active = dict(session.execute(
            select(Visit.chair_id, Visit.id).where(Visit.phase.in_(ACTIVE_PHASES))
        ).all())
        now = datetime.now(UTC)
        vitals: list[dict[str, Any]] = []
        latest: dict[tuple[int, str], dict[str, Any]] = {}
        chunks: list[dict[str, Any]] = []
        open_chunks: dict[tuple, dict[str, Any]] = {}
        unknown: set[str] = set()
        for r in batch:
            chair_id = self._chair_id(session, r.chair)
            if chair_id is None:
                unknown.add(str(r.chair))
                continue
            recv = r.recv_wall or now
            quality = ",".join(sorted(str(q) for q in r.quality))
            if r.samples is not None:
                if not r.primary:
                    continue  # a wave chunk has no site: only the primary lead / pleth is kept
                _add_wave(chunks, open_chunks, r, chair_id, active.get(chair_id), recv, quality)
                continue
            value: float | None = None
            txt: str | None = None
            if isinstance(r.value, str):
                txt = r.value[:200]
            elif r.value is not None:
                value = float(r.value)
                if not math.isfinite(value):
                    value = None
            source_time = r.device_time
            if source_time is not None and source_time.tzinfo is None:
                # A device clock of unknown zone: keep the reading, not the unusable time.
                self.naive_device_times += 1
                source_time = None
            row = {
                "chair_id": chair_id, "visit_id": active.get(chair_id),
                "device_key": r.device_id or "", "code": str(r.code), "value": value,
                "text": txt, "unit": r.unit, "quality": quality,
                "source_time": source_time, "recv_time": recv,
                "site": str(r.site or "")[:32], "primary_site": bool(r.primary),
            }
            vitals.append(row)
            if r.primary:  # the overview's latest value is the primary site's
                latest[(chair_id, str(r.code))] = {k: v for k, v in row.items()
                                                   if k not in ("site", "primary_site")}
        if unknown:
            self.readings_dropped += sum(1 for r in batch if str(r.chair) in unknown)
            log.warning("readings for unknown chairs dropped: %s", ", ".join(sorted(unknown)))
        chunk_rows = [waves.finish_chunk(c) for c in chunks]
        if vitals:
            store_rows(session, Vital, vitals, at=now, batch=batch_id)
        if latest:  # a batch of other sites only has none
            upsert_latest(session, list(latest.values()))
        if chunk_rows:
            store_rows(session, WaveChunk, chunk_rows, at=now, batch=batch_id)
        return len(vitals) + sum(c["_blocks"] for c in chunks)


def store_rows(session: Session, model: type[Vital] | type[WaveChunk],
               rows: list[dict[str, Any]], *, at: datetime, batch: str = "") -> list[int]:
    """Insert vitals or wave chunks and cover them with their batch's audit row (one home for
    both the writer and the demo's backfill). Returns the new ids."""
    # Core's INSERT, not the ORM's bulk insert: the ORM leaves out the None values of columns
    # with defaults, so rows split into many small statements whose RETURNING results it
    # splices together again and again (make bench: ~40 000 row fetches and ~0.2 s of CPU
    # for one second's 1100 readings at 32 chairs, with the GIL held against the GUI).
    # Core sends the rows as they are, a few hundred to a statement.
    table = cast(Table, model.__table__)
    ids = [int(i) for i in session.execute(insert(table).returning(table.c.id), rows).scalars()]
    audit_stored_batch(session, model.__tablename__, ids, at=at, batch=batch)
    return ids


def _add_wave(chunks: list[dict], open_chunks: dict[tuple, dict], r: Reading, chair_id: int,
              visit_id: int | None, recv: datetime, quality: str) -> None:
    rate = float(r.rate_hz or 0.0)
    samples = r.samples
    assert samples is not None
    if rate <= 0 or len(samples) == 0:
        return
    # Block start: the device's time when given, else receive time minus the block's length.
    start = r.device_time if (r.device_time and r.device_time.tzinfo) else None
    start = start or (recv - timedelta(seconds=len(samples) / rate))
    key = (chair_id, r.device_id or "", str(r.code), rate, quality)
    chunk = open_chunks.get(key)
    if chunk is not None:
        expected = chunk["start_time"] + timedelta(seconds=chunk["n_samples"] / rate)
        if abs((start - expected).total_seconds()) <= WAVE_GAP_TOLERANCE_S:
            chunk["_parts"].append(samples)
            chunk["n_samples"] += len(samples)
            chunk["_blocks"] += 1
            return
    chunk = {
        "chair_id": chair_id, "visit_id": visit_id, "device_key": r.device_id or "",
        "code": str(r.code), "start_time": start, "rate_hz": rate, "n_samples": len(samples),
        "quality": quality, "_parts": [samples], "_blocks": 1,
    }
    open_chunks[key] = chunk
    chunks.append(chunk)


def upsert_latest(session: Session, rows: list[dict[str, Any]]) -> None:
    """Keep ``latest_vitals`` at the newest reading per chair and code (by receive time: a
    late or back-filled row never replaces a newer one)."""
    dialect = session.get_bind().dialect.name
    from sqlalchemy.dialects import postgresql, sqlite

    # both dialects' INSERT have on_conflict_do_update with the same arguments
    dialect_insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # on the table, not the ORM class: the ORM's bulk path ran one statement a row (see
    # store_rows)
    table = cast(Table, LatestVital.__table__)
    stmt = dialect_insert(table)
    cols = ("visit_id", "device_key", "value", "text", "unit", "quality", "source_time",
            "recv_time")
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.chair_id, table.c.code],
        set_={c: stmt.excluded[c] for c in cols},
        where=table.c.recv_time <= stmt.excluded.recv_time,
    )
    session.execute(stmt, rows)


#: The spool's default bound. The demo's devices (monitor with ECG/pleth waves, oximeter, pump)
#: gave 0.7 KiB/s per chair zlib-compressed in one block (20 s of 2 chairs); one file a second
#: compresses worse, so count up to ~160 MiB an hour for 32 chairs: 512 MB keeps over 3 hours.
DEFAULT_SPOOL_BYTES = 512 * 2**20


def open_spool(url: str, max_bytes: int = DEFAULT_SPOOL_BYTES, workstation: str = ""
               ) -> ReadingSpool | None:
    """The outage spool of ``url`` (and this workstation) in the data directory (None when
    ``max_bytes`` is 0)."""
    if max_bytes <= 0:
        return None
    from nursestation.paths import data_dir

    return ReadingSpool(spool_dir_for(data_dir() / "spool", url, workstation), max_bytes)


class Database:
    """An engine plus its writer: what the app holds for its lifetime."""

    def __init__(self, engine: Engine, writer: DbWriter, url: str = "") -> None:
        self.engine = engine
        self.writer = writer
        self.url = url

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True, flush_interval: float = 1.0,
             spool_max_bytes: int = DEFAULT_SPOOL_BYTES) -> Database:
        """Open ``url``; with ``upgrade`` first migrate it (backing up a SQLite file). Readings
        the database cannot take wait in the outage spool (``spool_max_bytes``; 0: none)."""
        if upgrade:
            upgrade_database(url)
        engine = make_engine(url)
        return cls(engine, DbWriter(engine, flush_interval=flush_interval,
                                    spool=open_spool(url, spool_max_bytes)), url)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        with session_scope(self.engine) as s:
            yield s

    def close(self) -> None:
        self.writer.close()
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
