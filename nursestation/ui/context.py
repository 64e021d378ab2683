"""What every window and dialog of the station shares: configuration, protocol, the logged-in
user, the live store, and the database — reads on short sessions, writes through the one writer.

A write is reported to the nurse only after its commit: ``write(..., on_done=...)`` calls
``on_done`` on the GUI thread once the writer's future resolved, or ``on_error`` with the
exception. Nothing is ever shown as saved before that.
"""

from __future__ import annotations

import itertools
import logging
import platform
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

from nursestation.config import Config
from nursestation.core.clock import Clock, SystemClock
from nursestation.core.protocol import TreatmentProtocol

if TYPE_CHECKING:  # types only: the ui opens no SQLAlchemy itself, and the station draws
    # its tiles before it opens the record (see open_record)
    from sqlalchemy.engine import Engine

    from nursestation.db.writer import DbWriter

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    display_name: str
    role: str  # nurse / charge / admin

    @property
    def is_charge(self) -> bool:
        return self.role in ("charge", "admin")


class _Invoker(QObject):
    """Runs closures on the thread this object lives in (the GUI thread), via a queued signal."""

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a UI callback must never take the station down
            log.exception("error in a GUI callback")


class AppContext(QObject):
    #: emitted on the GUI thread after a committed write: (what, visit_id or 0)
    changed = Signal(str, int)
    #: emitted when the logged-in user changes (None when locked / logged out)
    user_changed = Signal(object)

    def __init__(
        self,
        config: Config,
        protocol: TreatmentProtocol,
        engine: Engine | None,
        writer: DbWriter | None,
        *,
        live: Any = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.protocol = protocol
        self.engine = engine
        self.writer = writer
        self.live = live
        self.clock: Clock = clock or SystemClock()
        self.user: CurrentUser | None = None
        self._invoker = _Invoker()
        self._keys = itertools.count(1)
        self._pending: dict[int, tuple[Any, Any, str, int]] = {}

    # -- users --------------------------------------------------------------------------------
    def set_user(self, user: CurrentUser | None) -> None:
        """Log ``user`` in (None: log out or lock); both are kept in the audit log."""
        before = self.user
        self.user = user
        if before is not None and (user is None or user.id != before.id):
            self._access("logout", before)
        if user is not None and (before is None or user.id != before.id):
            self._access("login", user)
        self.user_changed.emit(user)

    def _access(self, action: str, user: CurrentUser | None, username: str = "") -> None:
        from nursestation.db import repo

        try:
            self.writer.submit(repo.record_access, action, user=user.id if user else None,
                               username=username or (user.username if user else ""),
                               workstation=platform.node())
        except Exception:  # a closed writer must not stop a lock or a login
            log.exception("could not record %s", action)

    def login_failed(self, username: str) -> None:
        self._access("login_failed", None, username)

    def require_user(self) -> CurrentUser:
        if self.user is None:
            raise PermissionError("no user is logged in")
        return self.user

    # -- database -----------------------------------------------------------------------------
    def open_record(self, engine: Engine, writer: DbWriter) -> None:
        """The record is open (the station opens it after its first frame; until then
        ``engine`` and ``writer`` are None and nothing reads or writes)."""
        self.engine, self.writer = engine, writer

    def read(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Run a read-only query function ``fn(session, ...)`` on a short session."""
        from nursestation.db.engine import session_scope

        with session_scope(self.engine) as session:
            return fn(session, *args, **kw)

    def write(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        what: str = "entry",
        visit_id: int = 0,
        **kw: Any,
    ) -> Future[T]:
        """Submit ``fn(session, ...)`` to the single writer. Callbacks run on the GUI thread after
        the commit (``on_done``) or the failure (``on_error``); ``changed`` is emitted after a
        commit so views refresh.

        The callbacks stay in a table on the GUI side and the writer's future only carries a
        key: a callback often holds the last reference to a dialog, and a Qt object must never
        be released on the writer thread."""
        key = next(self._keys)
        self._pending[key] = (on_done, on_error, what, visit_id)
        fut = self.writer.submit(fn, *args, **kw)

        def finished(f: Future[T]) -> None:
            exc = f.exception()
            result = None if exc is not None else f.result()
            self._invoker.call.emit(partial(self._deliver, key, result, exc))

        fut.add_done_callback(finished)
        return fut

    def _deliver(self, key: int, result: Any, exc: BaseException | None) -> None:
        on_done, on_error, what, visit_id = self._pending.pop(key)
        if exc is not None:
            log.error("write failed: %s", exc)
            if on_error is not None:
                on_error(exc)
            return
        if on_done is not None:
            on_done(result)
        self.changed.emit(what, visit_id)

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the GUI thread (safe to call from any thread)."""
        self._invoker.call.emit(fn)
