"""Whether the shared database changed, for the charge nurse's overview (no Qt).

The overview's rows - what it shows for every chair - are the application layer's
(``record.overview.overview_rows``): the database holds no clinical decision.

``ChangeWatcher(engine).poll()`` says cheaply whether anything changed since the last poll:
the change marker (``audit.current_change_seq``, raised by every clinical, visit or alarm write)
plus the newest stored vitals row (device readings do not raise the marker). On PostgreSQL the
clinical changes arrive by LISTEN on ``nursestation_changes`` on a dedicated connection, with the
marker read as a fallback every ``fallback_s`` and whenever that connection is down.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from nursestation.db.audit import NOTIFY_CHANNEL, current_change_seq
from nursestation.db.models import Vital

log = logging.getLogger(__name__)


def database_label(engine: Engine) -> str:
    """Where the overview reads from, for its status line: the SQLite file or host/database."""
    u = engine.url
    if u.get_backend_name() == "sqlite":
        return f"SQLite {u.database or ':memory:'}"
    host = u.host or u.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    port = u.port or u.query.get("port")
    if isinstance(port, tuple):
        port = port[0]
    return f"PostgreSQL {host}{f':{port}' if port else ''}/{u.database}"


class ChangeWatcher:
    """Tells whether the shared database changed since the last ``poll()``, cheaply."""

    def __init__(self, engine: Engine, *, listen: bool = True, fallback_s: float = 2.0,
                 reconnect_s: float = 5.0) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.fallback_s = fallback_s
        self.reconnect_s = reconnect_s
        self.error: str | None = None  # the last failure to read the database, if any
        self._listen = listen and self.postgres
        self._conn: Any = None  # the LISTEN connection (psycopg)
        self._next_connect = 0.0
        self._seq: int | None = None
        self._seq_read = 0.0
        self._vitals: int | None = None
        if self._listen:
            self._connect()

    @property
    def listening(self) -> bool:
        return self._conn is not None

    # ------------------------------------------------------------------------------- LISTEN

    def _connect(self) -> None:
        import psycopg

        self._next_connect = time.monotonic() + self.reconnect_s
        try:
            cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
            conn = psycopg.connect(*cargs, **cparams, autocommit=True)
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception as exc:  # noqa: BLE001 - fall back to polling the marker
            log.warning("overview: cannot LISTEN for changes (%s); polling instead", exc)
            self._conn = None
            return
        self._conn = conn
        self._seq = None  # anything may have happened while we were not listening

    def _drain_notifies(self) -> bool:
        """True when a notification arrived (never blocks)."""
        if self._conn is None:
            if self._listen and time.monotonic() >= self._next_connect:
                self._connect()
            return False
        pg = self._conn.pgconn
        try:
            pg.consume_input()
            got = False
            while pg.notifies() is not None:
                got = True
            if pg.status != 0:  # not CONNECTION_OK
                raise ConnectionError("LISTEN connection lost")
            return got
        except Exception as exc:  # noqa: BLE001
            log.warning("overview: LISTEN connection lost (%s); polling until it is back", exc)
            self._drop()
            self._next_connect = time.monotonic() + self.reconnect_s
            return True  # we may have missed one: refresh

    # ------------------------------------------------------------------------------ markers

    def poll(self) -> bool:
        notified = self._drain_notifies()
        now = time.monotonic()
        read_seq = self._conn is None or self._seq is None or notified or \
            now - self._seq_read >= self.fallback_s
        try:
            with Session(self.engine) as s:
                vitals = s.scalar(select(func.max(Vital.id))) or 0
                seq = current_change_seq(s) if read_seq else self._seq
        except SQLAlchemyError as exc:
            if self.error is None:
                log.warning("overview: cannot read the database: %s", exc)
            self.error = str(exc).splitlines()[0]
            return False
        recovered = self.error is not None
        self.error = None
        if read_seq:
            self._seq_read = now
        changed = notified or recovered or seq != self._seq or vitals != self._vitals
        self._seq, self._vitals = seq, vitals
        return changed

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it is gone either way
                pass

    def close(self) -> None:
        """Stop listening for good (the window closes)."""
        self._listen = False
        self._drop()


__all__ = [
    "ChangeWatcher",
    "database_label",
]
