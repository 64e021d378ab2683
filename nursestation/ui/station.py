"""The station: an alarm bar across the top and a grid of chair tiles (1-64) below it.

``StationView`` is a plain QWidget for the main window's centre. It is driven by plain data:
the :class:`LiveStore` (through ``refresh``, from the bridge's frame timer), ``set_context`` per
chair (visit record) and ``set_alarms`` (the alarm engine's highest alarm per chair).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QEvent, QRect, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.clock import Clock, SystemClock
from nursestation.core.livestate import LiveStore
from nursestation.ui import style
from nursestation.ui.tiles import AlarmLabel, AlarmSummary, ChairTile, TileContext

#: Width / height a tile looks best at; the grid picks the column count that gives the largest
#: tiles of about this shape.
TILE_ASPECT = 1.45
GAP = 4
#: The smallest tile whose numbers are still readable (ChairTile's minimum size)
MIN_TILE = (180, 110)


def grid_shape(count: int, width: int, height: int, aspect: float = TILE_ASPECT
               ) -> tuple[int, int]:
    """(columns, rows) for ``count`` tiles in ``width`` x ``height`` pixels."""
    if count <= 0:
        return 0, 0
    best, best_score = (1, count), -1.0
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        tw, th = width / cols, height / rows
        score = min(tw / aspect, th)
        if score > best_score + 1e-9:
            best, best_score = (cols, rows), score
    return best


class _ChairAlarm(AlarmLabel):
    clicked = Signal(str)

    def __init__(self, chair: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chair = chair
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit(self.chair)
        event.accept()


class AlarmBar(QWidget):
    """The station-wide alarm banner: the most urgent chair's alarm large, filled in its
    priority colour (flashing when high or medium and unacknowledged), then the other alarming
    chairs, most urgent first. Click one to open that chair."""

    activated = Signal(str)
    MAX_SHOWN = 6
    BANNER_PX = 20  # the banner's font: readable across the room
    CHIP_PX = 13

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AlarmBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._lay = QHBoxLayout(self)
        self._lay.setContentsMargins(6, 3, 6, 3)
        self._lay.setSpacing(6)
        self.none_label = QLabel("No active alarms")
        self.none_label.setFont(style.font(15))
        self.none_label.setStyleSheet(f"color: {style.DIM};")
        self.more_label = QLabel("")
        self.more_label.setFont(style.font(self.CHIP_PX, bold=True))
        self.more_label.setStyleSheet(f"color: {style.TEXT};")
        self._lay.addWidget(self.none_label)
        self._lay.addStretch(1)
        self._lay.addWidget(self.more_label)
        self.labels: list[_ChairAlarm] = []
        self.alarms: list[tuple[str, AlarmSummary]] = []
        self.setFixedHeight(self.BANNER_PX + 20)

    @property
    def banner(self) -> _ChairAlarm | None:
        """The label with the most urgent chair's alarm (None before any alarm)."""
        return self.labels[0] if self.labels else None

    def set_alarms(self, alarms: Mapping[str, AlarmSummary | None]) -> None:
        active = [(c, a) for c, a in alarms.items() if a is not None]
        active.sort(key=lambda ca: (-ca[1].level, not ca[1].escalated, ca[1].acknowledged,
                                    ca[1].since.timestamp() if ca[1].since else 0.0))
        self.alarms = active
        shown = active[: self.MAX_SHOWN + 1]
        while len(self.labels) < len(shown):
            first = not self.labels
            lab = _ChairAlarm("", self)
            lab.clicked.connect(self.activated)
            lab.setFont(style.font(self.BANNER_PX if first else self.CHIP_PX, bold=True))
            lab.setFixedHeight(self.BANNER_PX + 12 if first else self.CHIP_PX + 8)
            if first:  # the banner takes the room the other chips leave
                lab.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self._lay.insertWidget(len(self.labels) + 1, lab, 3 if first else 0)
            self.labels.append(lab)
        for i, lab in enumerate(self.labels):
            if i < len(shown):
                chair, alarm = shown[i]
                lab.chair = chair
                lab.set_alarm(alarm, prefix=f"{chair}: ", brief=i > 0)
                lab.setVisible(True)
            else:
                lab.set_alarm(None)
                lab.setVisible(False)
        self.none_label.setVisible(not active)
        self._lay.setStretch(len(self.labels) + 1, 0 if active else 1)
        extra = len(active) - len(shown)
        self.more_label.setText(f"+{extra} more" if extra > 0 else "")
        self._keep_banner_room()

    def _keep_banner_room(self) -> None:
        # the most urgent chair keeps its whole message (up to half the bar): the other chips
        # shorten to "Chair 3: ** MED" before it loses a word (at 1366 px five chips took it all)
        banner = self.banner
        if banner is None:
            return
        chips = 0
        for lab in self.labels[1:]:  # a chip: at least its chair and priority, at most its text
            fm = lab.fontMetrics()
            full = fm.horizontalAdvance(lab.full_text) + 12
            brief = fm.horizontalAdvance(f"{lab.chair}: ESCALATED · *** HIGH"
                                         if lab.alarm is not None and lab.alarm.escalated
                                         else f"{lab.chair}: *** HIGH") + 12
            lab.setMinimumWidth(min(full, brief))
            lab.setMaximumWidth(full)
            if lab.isVisibleTo(self):
                chips += min(full, brief) + self._lay.spacing()
        want = banner.fontMetrics().horizontalAdvance(banner.full_text) + 12
        room = self.width() - chips - 60  # margins and "+N more"
        banner.setMinimumWidth(max(0, min(want, room)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._keep_banner_room()

    def texts(self) -> list[str]:
        return [lab.full_text for lab in self.labels if lab.isVisibleTo(self)]


class _TileScroll(QScrollArea):
    """The tiles' scroll area: arrow keys move between chairs (the station's), not the view."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        event.ignore()


class StationView(QWidget):
    """Alarm bar + adaptive grid of :class:`ChairTile`. ``activated(chair)`` opens detail."""

    activated = Signal(str)

    def __init__(self, store: LiveStore, chairs: Sequence[str] = (), parent: QWidget | None = None,
                 *, clock: Clock | None = None, patient_display: str = "name") -> None:
        super().__init__(parent)
        self.setObjectName("StationView")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(style.STYLESHEET)
        self.store = store
        self.clock = clock or SystemClock()
        self.patient_display = patient_display
        lay = QVBoxLayout(self)
        # the main window decides our size; never push minimum sizes up to it
        lay.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.alarm_bar = AlarmBar(self)
        self.alarm_bar.activated.connect(self.activated)
        lay.addWidget(self.alarm_bar)
        # more chairs than the screen holds at a readable size (64 on 1366 x 768) scroll rather
        # than overlap; the banner above names every alarming chair, scrolled away or not
        self.scroll = _TileScroll(self)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.grid = QWidget()
        self.grid.setObjectName("StationGrid")
        self.grid.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.grid.setStyleSheet(f"QWidget#StationGrid {{ background: {style.BACKGROUND}; }}")
        self.scroll.setWidget(self.grid)
        self.scroll.installEventFilter(self)
        lay.addWidget(self.scroll, 1)
        self.tiles: dict[str, ChairTile] = {}
        self._order: list[str] = []
        self.columns = 1
        self._alarms: dict[str, AlarmSummary | None] = {}
        self.set_chairs(chairs)

    # -- wiring --------------------------------------------------------------------------------
    def set_chairs(self, chairs: Sequence[str]) -> None:
        """The chairs to show, in order (names as the readings carry them)."""
        names = [getattr(c, "name", c) for c in chairs]
        for name in list(self.tiles):
            if name not in names:
                self.tiles.pop(name).deleteLater()
        for name in names:
            if name not in self.tiles:
                tile = ChairTile(name, self.grid, clock=self.clock,
                                 patient_display=self.patient_display)
                tile.activated.connect(self.activated)
                self.tiles[name] = tile
                tile.show()
        self._order = names
        self._layout_tiles()

    def tile(self, chair: str) -> ChairTile:
        return self.tiles[chair]

    def set_patient_display(self, mode: str) -> None:
        """Show patients by "name" or "initials" (the locked station masks names)."""
        self.patient_display = mode
        for tile in self.tiles.values():
            tile.set_patient_display(mode)

    def device_labels(self, chair: str) -> dict[str, str]:
        """Device id -> label ("Monitor", "Pump") of ``chair``, as its tile last saw them."""
        tile = self.tiles.get(chair)
        snap = tile.snapshot if tile is not None else None
        return {} if snap is None else {d: v.label for d, v in snap.devices.items()}

    def set_context(self, chair: str, ctx: TileContext) -> None:
        if ctx.alarm is None and self._alarms.get(chair) is not None:
            ctx = TileContext(**{**ctx.__dict__, "alarm": self._alarms[chair]})
        self.tiles[chair].set_context(ctx)

    def set_contexts(self, contexts: Mapping[str, TileContext]) -> None:
        for chair, ctx in contexts.items():
            if chair in self.tiles:
                self.set_context(chair, ctx)

    def set_alarms(self, alarms: Mapping[str, AlarmSummary | None]) -> None:
        """Each chair's highest active alarm (None or absent: no alarm)."""
        self._alarms = {c: alarms.get(c) for c in self.tiles}
        for chair, tile in self.tiles.items():
            tile.set_alarm(self._alarms[chair])
        self.alarm_bar.set_alarms({c: a for c, a in alarms.items() if c in self.tiles})

    def refresh(self, store: LiveStore, now: float) -> None:
        """The bridge's frame: each visible tile redraws what changed."""
        for tile in self.tiles.values():
            tile.refresh(store, now)

    # -- layout --------------------------------------------------------------------------------
    def _layout_tiles(self) -> None:
        n = len(self._order)
        w, h = self.scroll.width(), self.scroll.height()  # the viewport, less any scroll bar
        if n == 0 or w <= 0 or h <= 0:
            return
        cols, rows = grid_shape(n, w, h)
        tw = (w - GAP * (cols + 1)) / cols
        th = (h - GAP * (rows + 1)) / rows
        if tw < MIN_TILE[0] or th < MIN_TILE[1]:  # too small to read: scroll instead
            w -= self.scroll.verticalScrollBar().sizeHint().width()
            cols = max(1, (w - GAP) // (MIN_TILE[0] + GAP))
            rows = math.ceil(n / cols)
            tw = (w - GAP * (cols + 1)) / cols
            th = max(MIN_TILE[1], min(th, tw / TILE_ASPECT))
            h = int(GAP + rows * (th + GAP))
        self.columns = cols
        self.grid.resize(w, h)
        for i, name in enumerate(self._order):
            r, c = divmod(i, cols)
            x = GAP + c * (tw + GAP)
            y = GAP + r * (th + GAP)
            self.tiles[name].setGeometry(QRect(int(x), int(y), int(tw), int(th)))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.scroll and event.type() == QEvent.Type.Resize:
            self._layout_tiles()
        return super().eventFilter(watched, event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._layout_tiles()

    # -- keyboard ------------------------------------------------------------------------------
    def focused_chair(self) -> str | None:
        for name, tile in self.tiles.items():
            if tile.hasFocus():
                return name
        return None

    def focus_chair(self, chair: str) -> None:
        self.tiles[chair].setFocus(Qt.FocusReason.OtherFocusReason)
        self.scroll.ensureWidgetVisible(self.tiles[chair], 0, GAP)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        moves = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1,
                 Qt.Key.Key_Up: -self.columns, Qt.Key.Key_Down: self.columns}
        step = moves.get(Qt.Key(event.key()))
        if step is None or not self._order:
            super().keyPressEvent(event)
            return
        cur = self.focused_chair()
        i = self._order.index(cur) if cur in self._order else -1
        j = 0 if i < 0 else i + step
        if 0 <= j < len(self._order):
            self.focus_chair(self._order[j])
        event.accept()
