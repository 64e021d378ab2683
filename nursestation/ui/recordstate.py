"""Whether the record (the database) can be reached, shown in every open window.

The writer knows (``DbWriter.health()``: a failed write, or its probe, says the database is
away; a successful one that it is back). One :class:`RecordWatch` per context polls it once a
second and tells every view that asked, so the station's banner, the overview's banner and each
open charting dialog change together:

- :class:`RecordBanner` — a strip across the top of a main window while the record is
  unreachable: since when, what still works (monitoring, alarms, readings kept on this PC) and
  that charting waits. Gone when it is back.
- :class:`RecordLine` — the one line a dialog that writes shows meanwhile.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QMainWindow, QSizePolicy, QToolBar, QWidget

from nursestation.ui import style

if TYPE_CHECKING:
    from typing import TypeAlias

    from nursestation.db.writer import RecordHealth

    Health: TypeAlias = "RecordHealth | _Opening"

POLL_MS = 1000

BANNER_STYLE = (f"QLabel#RecordBanner {{ background: {style.ALARM_YELLOW}; color: #000000; "
                f"font-weight: bold; font-size: 15pt; padding: 6px 12px; }}")
LINE_STYLE = (f"QLabel#RecordLine {{ background: {style.ALARM_YELLOW}; color: #000000; "
              f"font-weight: bold; padding: 4px 8px; }}")


def _since(h: Health) -> str:
    return h.since.astimezone().strftime("%H:%M") if h.since else "now"


def station_text(h: Health) -> str:
    """The station's banner: the writer's own line (monitoring continues, N readings waiting,
    charting paused), or "" when all is well."""
    return h.message()


def overview_text(h: Health) -> str:
    """The overview has no devices: what it shows is as old as its last read."""
    if h.reachable:
        return ""
    return (f"Record unreachable since {_since(h)} — the chairs shown are as of then; the "
            f"stations keep monitoring and keep their readings; charting paused")


def dialog_text(h: Health) -> str:
    if h.reachable:
        return ""
    return (f"Record unreachable since {_since(h)}: this entry cannot be saved until it is "
            f"back — it stays here. Monitoring continues.")


def reading_text(h: Health) -> str:
    if h.reachable:
        return ""
    return (f"Record unreachable since {_since(h)}: what is shown is as of then and cannot "
            f"be read again until it is back. Monitoring continues.")


def pin_text(h: Health) -> str:
    if h.reachable:
        return ""
    return (f"Record unreachable since {_since(h)}: PINs cannot be checked until it is back. "
            f"Monitoring continues.")


LINE_TEXTS = {"entry": dialog_text, "read": reading_text, "pin": pin_text}


@dataclass(frozen=True)
class _Opening:
    """The record's health while the station is still opening it (no writer yet): nothing to
    report here; the station says "Opening the record…" itself."""

    reachable: bool = True
    since: datetime | None = None
    waiting: int = 0
    lost: int = 0
    reason: str = ""

    def message(self) -> str:
        return ""


class RecordWatch(QObject):
    """Polls the writer's health on the GUI thread; ``changed`` on every change."""

    changed = Signal(object)  # RecordHealth

    def __init__(self, ctx, parent: QObject | None = None, interval_ms: int = POLL_MS
                 ) -> None:
        super().__init__(parent)
        # the context's writer comes when the record is open (after the first frame); a weak
        # reference: the context owns this watch, and a cycle would leave both to the cyclic
        # garbage collector, which may run on any thread (Qt objects must die on their own)
        self._ctx = weakref.ref(ctx)
        self.health: Health = self._read()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def _read(self) -> Health:
        ctx = self._ctx()
        writer = ctx.writer if ctx is not None else None
        return _Opening() if writer is None else writer.health()

    @Slot()
    def poll(self) -> Health:
        try:
            h = self._read()
        except Exception:  # noqa: BLE001 - a closed writer: nothing new to say
            return self.health
        if h != self.health:
            self.health = h
            self.changed.emit(h)
        return h


def record_watch(ctx) -> RecordWatch:
    """The context's one watch (made on first use, lives as long as the context)."""
    watch = getattr(ctx, "_record_watch", None)
    if watch is None:
        watch = RecordWatch(ctx, parent=ctx)
        ctx._record_watch = watch
    return watch


class _Shown(QLabel):
    def __init__(self, ctx, text_for: Callable[[Health], str], name: str, sheet: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setStyleSheet(sheet)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_for = text_for
        self.watch = record_watch(ctx)
        self.watch.changed.connect(self.show_health)
        self.show_health(self.watch.health)

    @Slot(object)
    def show_health(self, h: Health) -> None:
        text = self.text_for(h)
        self.setText(text)
        self.setToolTip(f"The database answered: {h.reason}" if h.reason else "")
        self._set_shown(bool(text))

    def _set_shown(self, shown: bool) -> None:
        self.setVisible(shown)


class RecordBanner(_Shown):
    """The strip at the top of a main window; its tool bar shows only while there is news."""

    def __init__(self, ctx, window: QMainWindow, text_for: Callable[[Health], str]
                 ) -> None:
        self.bar = QToolBar("Record", window)
        self.bar.setObjectName("RecordBar")
        self.bar.setMovable(False)
        self.bar.setFloatable(False)
        self.bar.toggleViewAction().setVisible(False)  # not something a nurse can switch off
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.bar)
        self.action = None
        super().__init__(ctx, text_for, "RecordBanner", BANNER_STYLE, self.bar)
        self.setWordWrap(False)  # one line across the window (a tool bar has no height-for-width)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.action = self.bar.addWidget(self)
        self.show_health(self.watch.health)

    def _set_shown(self, shown: bool) -> None:
        if self.action is not None:  # a tool bar's widget is shown through its action
            self.action.setVisible(shown)
        self.bar.setVisible(shown)

    def shown(self) -> bool:
        return (self.bar.isVisibleTo(self.bar.parentWidget()) and self.isVisibleTo(self.bar)
                and bool(self.text()))


def station_banner(ctx, window: QMainWindow) -> RecordBanner:
    return RecordBanner(ctx, window, station_text)


def overview_banner(ctx, window: QMainWindow) -> RecordBanner:
    return RecordBanner(ctx, window, overview_text)


class RecordLine(_Shown):
    """A dialog's one line while the record is unreachable: for an ``entry`` to save, a list
    it ``read``, or a ``pin`` to check."""

    def __init__(self, ctx, parent: QWidget | None = None, kind: str = "entry") -> None:
        super().__init__(ctx, LINE_TEXTS[kind], "RecordLine", LINE_STYLE, parent)


def unreachable_failure(ctx, exc: BaseException) -> str | None:
    """The dialog's message for a write that failed because the record is away (the writer
    noted it before failing the write), or None for any other failure."""
    h = record_watch(ctx).poll()
    if h.reachable:
        return None
    reason = f" ({h.reason})" if h.reason else ""
    return (f"Not saved: the record is unreachable{reason}. The entry stays here: save it "
            f"again when the record is back.")


__all__ = ["RecordBanner", "RecordLine", "RecordWatch", "dialog_text", "overview_banner",
           "overview_text", "record_watch", "station_banner", "station_text",
           "unreachable_failure"]
