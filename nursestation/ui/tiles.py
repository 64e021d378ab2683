"""One chair's tile on the station: who, where in the visit, waves, numerics, pump, alarm.

A tile is driven by plain data: :class:`TileContext` (from the visit record and the alarm
engine, via :meth:`ChairTile.set_context`) and the :class:`LiveStore` (via :meth:`refresh`,
called by the bridge's frame timer). It never decides clinical questions: the store says
whether a number may be shown, the alarm engine says what is alarming.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import (
    QElapsedTimer,
    QEvent,
    QObject,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QWidget,
)

from nursestation.core.alarms import (
    PRIORITIES,
    PRIORITY_RANK,
    Alarm,
    alarm_message,
    priority_urgency,
)
from nursestation.core.clock import Clock, SystemClock
from nursestation.core.livestate import (
    ChairSnapshot,
    DeviceState,
    LiveStore,
    NbpView,
    NumericView,
    Shown,
)
from nursestation.core.vocabulary import Code
from nursestation.ui import style
from nursestation.ui.sweep import DEFAULT_RANGES, SweepPanel

# -- plain data the lead wires in ---------------------------------------------------------------

#: The numeric box that shows each alarming code (its value is highlighted in the alarm's colour).
ALARM_BOX: dict[str, str] = {
    Code.HR: Code.HR, Code.PR: Code.SPO2, Code.SPO2: Code.SPO2, Code.PI: Code.SPO2,
    Code.NBP_SYS: Code.NBP_SYS, Code.NBP_DIA: Code.NBP_SYS, Code.NBP_MEAN: Code.NBP_SYS,
    Code.RR: Code.RR, Code.ETCO2: Code.ETCO2,
    Code.PUMP_RATE: Code.PUMP_RATE, Code.PUMP_ALARM: Code.PUMP_RATE,
    Code.PUMP_STATE: Code.PUMP_RATE,
}


def _rank(priority: str) -> int:
    return PRIORITY_RANK.get(str(priority).lower(), len(PRIORITY_RANK))


@dataclass(frozen=True)
class AlarmSummary:
    """A chair's highest active alarm, as the alarm engine reports it."""

    priority: str  # "high" | "medium" | "low" (a StrEnum with those values works too)
    text: str  # in a nurse's words: core.alarms.alarm_message ("SpO₂ 85 % — below 90")
    since: datetime | None = None
    count: int = 1  # active alarms on the chair
    acknowledged: bool = False
    escalated: bool = False  # a high alarm left unacknowledged past the protocol's time
    #: (code, priority) of every active alarm of the chair, so each alarming numeric is lit
    codes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, alarms: Sequence[Alarm], device_labels: Mapping[str, str] | None = None
           ) -> AlarmSummary | None:
        """The summary of a chair's active alarms (``AlarmEngine.active()``, highest first)."""
        if not alarms:
            return None
        top = alarms[0]
        return cls(priority=str(top.priority), text=alarm_message(top, device_labels),
                   since=top.onset_wall, count=len(alarms),
                   acknowledged=not top.unacknowledged,
                   escalated=any(a.escalated and a.unacknowledged for a in alarms),
                   codes=tuple((str(a.code), str(a.priority)) for a in alarms))

    @property
    def level(self) -> int:
        return priority_urgency(self.priority)

    @property
    def mark(self) -> str:
        """``*** HIGH``: the priority by symbol and word, never by colour alone."""
        p = PRIORITIES.get(str(self.priority).lower())
        return f"{p.mark} {p.word}" if p is not None else str(self.priority).upper()

    def box_priorities(self) -> dict[str, str]:
        """Numeric box code -> the highest priority alarming on it."""
        out: dict[str, str] = {}
        for code, prio in self.codes:
            box = ALARM_BOX.get(code)
            if box is not None and (box not in out or _rank(prio) < _rank(out[box])):
                out[box] = prio
        return out


def alarm_colours(priority: str) -> tuple[str, str]:
    """(fill, text) of an alarm of ``priority`` (IEC 60601-1-8: red, yellow, cyan)."""
    return style.priority_colours(priority) or (style.DIM, "#000000")


@dataclass(frozen=True)
class TileContext:
    """What the visit record says about a chair (all optional: an empty chair has none)."""

    patient_name: str = ""  # "Jane Doe"; shown as initials when the clinic prefers
    mrn: str = ""
    phase: str = ""  # "check-in", "baseline", "infusing", "recovery", "discharge"
    phase_started: datetime | None = None  # UTC
    infusion_started: datetime | None = None  # UTC
    infusion_ended: datetime | None = None  # UTC: the infusion timer stops here
    course: str = ""  # "3 of 6"
    alarm: AlarmSummary | None = None
    pending: tuple[str, ...] = ()  # "pump change to confirm", "BP check overdue"
    assessments: str = ""  # "MOAA/S 4 · CADSS 12 (10:42)"
    #: what the patient line says when there is no patient ("" = "— empty —"): the chart is
    #: not read yet, e.g. "opening the record…" while the station starts
    unknown: str = ""


def initials(name: str) -> str:
    parts = [p for p in name.replace("-", " ").split() if p]
    return ".".join(p[0].upper() for p in parts) + ("." if parts else "")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    s = int(max(0, seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(max(0, seconds))
    if s < 60:
        return "<1 min"
    m = s // 60
    if m < 60:
        return f"{m} min"
    return f"{m // 60} h {m % 60:02d}"


def fmt_number(code: str, value: float | str | None) -> str:
    if value is None or isinstance(value, str):
        return "--" if value is None else value
    if code in (Code.TEMP, Code.PI):
        return f"{value:.1f}"
    if code in (Code.PUMP_VI, Code.PUMP_VTBI):
        return f"{value:.1f}"
    if code == Code.PUMP_RATE:
        return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return f"{value:.0f}"


# -- alarm flashing ----------------------------------------------------------------------------

class Flasher(QObject):
    """One clock for every flashing alarm, so all tiles flash in step (IEC 60601-1-8: high
    ~2 Hz, medium ~0.6 Hz, 50 % duty)."""

    changed = Signal(bool, bool)  # high_on, medium_on

    _instance: Flasher | None = None

    def __init__(self) -> None:
        super().__init__()
        self._elapsed = QElapsedTimer()
        self._elapsed.start()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self.high_on = True
        self.medium_on = True

    @classmethod
    def instance(cls) -> Flasher:
        if cls._instance is None:
            cls._instance = Flasher()
        return cls._instance

    def _tick(self) -> None:
        t = self._elapsed.elapsed() / 1000.0
        high = (t * style.HIGH_FLASH_HZ) % 1.0 < 0.5
        medium = (t * style.MEDIUM_FLASH_HZ) % 1.0 < 0.5
        if high != self.high_on or medium != self.medium_on:
            self.high_on, self.medium_on = high, medium
            self.changed.emit(high, medium)


class ElidedLabel(QLabel):
    """A one-line label that never cuts a letter in half: it shows its text, else the first
    shorter alternative that fits, else that one ending in "…" (full text in the tooltip)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self._alternatives: tuple[str, ...] = ()
        self.keep_whole = False
        # no implicit indent (QLabel adds half an "x" once a style sheet gives it a border or
        # padding): the width measured here is the width drawn
        self.setIndent(0)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.set_full_text(text)

    def set_full_text(self, text: str, *alternatives: str, tooltip: str | None = None) -> None:
        """``alternatives``: shorter forms to try, in order, before eliding."""
        if text == self.full_text and alternatives == self._alternatives and tooltip is None:
            return
        self.full_text = text
        self._alternatives = alternatives
        self.setToolTip(text if tooltip is None else tooltip)
        self._elide()
        self.updateGeometry()

    def available_width(self) -> int:
        return self.contentsRect().width() - 2 * self.margin()

    def _elide(self) -> None:
        fm = self.fontMetrics()
        width = max(10, self.available_width())
        shown = None
        for candidate in (self.full_text, *self._alternatives):
            if fm.horizontalAdvance(candidate) <= width:
                shown = candidate
                break
        if shown is None:
            shown = fm.elidedText((self._alternatives or (self.full_text,))[-1],
                                  Qt.TextElideMode.ElideRight, width)
            if shown == "…" and self.full_text:
                shown = fm.elidedText(self.full_text, Qt.TextElideMode.ElideRight, width)
        if shown != self.text():
            self.setText(shown)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        extra = self.width() - self.available_width()
        return QSize(self.fontMetrics().horizontalAdvance(self.full_text) + extra + 1,
                     hint.height())

    def minimumSizeHint(self) -> QSize:
        width = 10
        if self.keep_whole:  # never narrower than its shortest form
            width = min(self.fontMetrics().horizontalAdvance(t)
                        for t in (self.full_text, *self._alternatives)) + 1
        return QSize(width, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:
        # Only what changes the width of the text or of the room for it; and not while hidden
        # (show and resize elide again). Re-eliding on every change event was 6000 calls and a
        # third of a second of building 32 tiles.
        super().changeEvent(event)
        if event.type() in _ELIDE_ON and self.isVisible():
            self._elide()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._elide()


_ELIDE_ON = frozenset({QEvent.Type.FontChange, QEvent.Type.StyleChange,
                       QEvent.Type.ContentsRectChange})


class AlarmLabel(ElidedLabel):
    """Shows an :class:`AlarmSummary`: priority in text and symbol, colour, and flashing."""

    def __init__(self, parent: QWidget | None = None, *, empty_text: str = "") -> None:
        super().__init__("", parent)
        self.setObjectName("AlarmLabel")
        self._alarm: AlarmSummary | None = None
        self._prefix = ""
        self._empty = empty_text
        self.lit = False  # the flash phase currently shown (True: filled colour)
        Flasher.instance().changed.connect(self._flash)
        self._apply(True)
        self.set_full_text(empty_text)

    @property
    def alarm(self) -> AlarmSummary | None:
        return self._alarm

    def set_alarm(self, alarm: AlarmSummary | None, prefix: str = "", *,
                  brief: bool = False) -> None:
        """``brief``: too narrow for the message, show just the prefix and the priority
        ("Chair 3: ** MED"; a chip in the station's banner) rather than half a word."""
        if alarm == self._alarm and prefix == self._prefix:
            return
        self._alarm, self._prefix = alarm, prefix
        if alarm is None:
            self.set_full_text(self._empty)
        else:
            more = f" (+{alarm.count - 1} more)" if alarm.count > 1 else ""
            ack = " · acknowledged" if alarm.acknowledged else ""
            esc = "ESCALATED · " if alarm.escalated else ""
            full = f"{prefix}{esc}{alarm.mark} {alarm.text}{more}{ack}"
            # narrow: the value without its limit ("*** HIGH SpO₂ 84 %"), then the chair alone
            what = alarm.text.split(" \u2014 ")[0]
            short = (f"{prefix}{esc}{alarm.mark} {what.split(': ')[0]}",
                     f"{prefix}{esc}{alarm.mark}") if brief else ()
            self.set_full_text(full, f"{prefix}{esc}{alarm.mark} {alarm.text}",
                               f"{prefix}{esc}{alarm.mark} {what}", *short, tooltip=full)
        f = Flasher.instance()
        self._apply(self._phase(f.high_on, f.medium_on))

    def _phase(self, high_on: bool, medium_on: bool) -> bool:
        a = self._alarm
        if a is None:
            return True
        p = str(a.priority).lower()
        if a.acknowledged:
            return True
        return high_on if p == "high" else medium_on if p == "medium" else True

    def _flash(self, high_on: bool, medium_on: bool) -> None:
        if self._alarm is None:
            return
        lit = self._phase(high_on, medium_on)
        if lit != self.lit:
            self._apply(lit)

    def _apply(self, lit: bool) -> None:
        self.lit = lit
        a = self._alarm
        if a is None:
            css = f"color: {style.DIM}; background: transparent;"
        else:
            bg, fg = alarm_colours(a.priority)
            if lit:
                css = f"color: {fg}; background: {bg};"
            else:  # the dark phase of the flash stays the alarm's colour, seen across a room
                css = f"color: #ffffff; background: {QColor(bg).darker(230).name()};"
        # (bold comes from the font: a font in a style sheet is not the one fontMetrics()
        # measures, and eliding must measure what is drawn)
        self.setStyleSheet(f"QLabel {{ {css} padding: 0px 4px; }}")

    def setFont(self, font: QFont) -> None:
        font = QFont(font)
        font.setBold(True)
        super().setFont(font)


# -- numerics ----------------------------------------------------------------------------------

def ink_fits(text: str, px: int, width: int, height: int) -> bool:
    """Whether ``text`` in the bold value font of ``px`` pixels, centred vertically as a
    QLabel draws it, keeps all its ink inside ``width`` x ``height``."""
    fm = QFontMetrics(style.font(px, bold=True))
    if fm.horizontalAdvance(text) > width:
        return False
    ink = fm.tightBoundingRect(text)
    baseline = (height - fm.ascent() - fm.descent()) / 2 + fm.ascent()
    return baseline + ink.top() >= 0 and baseline + ink.bottom() <= height


def fit_px(text: str, px: int, width: int, height: int) -> int:
    """The largest font size up to ``px`` whose ``text`` fits (see :func:`ink_fits`)."""
    px = max(8, int(px))
    while px > 8 and not ink_fits(text or "0", px, width, height):
        px = max(8, min(px - 1, int(px * 0.92)))
    return px


class _ValueLabel(QLabel):
    """The big number: sized by the layout (never by its font), refitted when resized."""

    def __init__(self, box: NumericBox) -> None:
        super().__init__("--")
        self._box = box
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._box._restyle_value()


class NumericBox(QWidget):
    """A parameter label, a large value and a small line under it (unit, age or reason)."""

    def __init__(self, code: str, title: str | None = None, parent: QWidget | None = None,
                 *, align=Qt.AlignmentFlag.AlignRight) -> None:
        super().__init__(parent)
        self.code = code
        self.colour = style.colour(code)
        lay = self._grid = QGridLayout(self)
        lay.setContentsMargins(2, 0, 2, 0)
        lay.setSpacing(0)
        lay.setHorizontalSpacing(3)
        # title and small line end in "…" rather than lose half a letter; the value is never
        # elided: its font shrinks until the whole number fits its box
        self.title = ElidedLabel(title or style.LABELS.get(code, code))
        self.value = _ValueLabel(self)
        self.sub = ElidedLabel("")
        # the unit sits on the title's line (a line under the value cost the value a third of
        # a small tile's height); a compact box puts its small line there too
        self.corner = ElidedLabel("")
        self.corner.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.corner.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.compact = False
        self.title.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.title.keep_whole = True
        self.sub.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.value.setAlignment(align | Qt.AlignmentFlag.AlignVCenter)
        self.sub.setAlignment(align)
        self.inline = True
        self._arrange(False)
        self.sub.hide()
        self.title.setStyleSheet(f"color: {self.colour};")
        self.shown: Shown = Shown.NONE
        self._css = ""
        self._colour = style.DIM
        self._big_px = 24
        self._value_px = 0
        #: the priority of an alarm on this parameter: the box is filled in its colour
        self.alarm: str | None = None
        self.setObjectName("NumericBox")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._small: tuple[str, tuple[str, ...], bool] = ("", (), True)
        self._set("--", style.DIM, "")

    def set_alarm(self, priority: str | None) -> None:
        """Light the box in the alarm's colour (``None``: its normal look)."""
        if priority == self.alarm:
            return
        self.alarm = priority
        if priority is None:
            self.setStyleSheet("")
            self.title.setStyleSheet(f"color: {self.colour};")
            self.sub.setStyleSheet("")
            self.corner.setStyleSheet("")
        else:
            bg, fg = alarm_colours(priority)
            self.setStyleSheet(f"#NumericBox {{ background: {bg}; border-radius: 3px; }}")
            self.title.setStyleSheet(f"color: {fg}; font-weight: bold;")
            self.sub.setStyleSheet(f"color: {fg};")
            self.corner.setStyleSheet(f"color: {fg};")
        self._paint_value()

    def _arrange(self, inline: bool) -> None:
        """Title and unit above the value, or (``inline``, a very low box) beside it."""
        if inline == self.inline:
            return
        self.inline = inline
        lay = self._grid
        for w in (self.title, self.corner, self.value, self.sub):
            lay.removeWidget(w)
        if inline:
            lay.addWidget(self.title, 0, 0)
            lay.addWidget(self.corner, 1, 0)
            lay.addWidget(self.value, 0, 1, 3, 1)
            self.corner.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            lay.setRowStretch(1, 0)
            lay.setRowStretch(2, 1)
            lay.setColumnStretch(1, 1)
        else:
            lay.addWidget(self.title, 0, 0)
            lay.addWidget(self.corner, 0, 1)
            lay.addWidget(self.value, 1, 0, 1, 2)
            lay.addWidget(self.sub, 2, 0, 1, 2)
            self.corner.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            lay.setRowStretch(1, 1)
            lay.setRowStretch(2, 0)
            lay.setColumnStretch(1, 0)
        lay.setColumnStretch(0, 1)

    def set_sizes(self, big_px: int, small_px: int, *, compact: bool | None = None,
                  inline: bool = False) -> None:
        """``compact``: the small line goes to the title's line (a tiny tile's numbers need
        every pixel of height); ``inline``: the title beside the value, not above it."""
        self._big_px = big_px
        self._arrange(inline)
        self.title.setFont(style.font(small_px))
        self.sub.setFont(style.font(small_px))
        self.corner.setFont(style.font(small_px))
        if compact is not None and compact != self.compact:
            self.compact = compact
            self._show_small(self._small)
        self._restyle_value()

    def _restyle_value(self) -> None:
        text = self.value.text()
        px = self._big_px
        if text in ("OFFLINE", "OFF"):
            px = int(px * 0.5)
        rect = self.value.contentsRect()
        if rect.width() > 10 and rect.height() > 6:
            px = fit_px(text, px, rect.width() - 2, rect.height())
        px = max(8, px)
        if px != self._value_px:
            self._value_px = px
            self.value.setFont(style.font(px, bold=True))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.shown == Shown.OFFLINE:
            self._set("OFFLINE" if self.width() >= 56 else "OFF", style.OFFLINE, "")
        self._restyle_value()

    def _set(self, text: str, colour: str, sub: str, *sub_alts: str,
             unit_only: bool = False) -> None:
        """``sub``: the small line (a unit, an age, a reason); ``unit_only``: it is just the
        unit, shown on the title's line."""
        if self.value.text() != text:
            self.value.setText(text)
            self._restyle_value()
        self._colour = colour
        self._paint_value()
        self._show_small((sub, sub_alts, unit_only))

    def _show_small(self, small: tuple[str, tuple[str, ...], bool]) -> None:
        self._small = small
        sub, alts, unit_only = small
        in_corner = unit_only or self.compact
        # a narrow box drops the unit (or the age, kept in the tooltip) rather than cut it
        self.corner.set_full_text(sub if in_corner else "", *(alts if in_corner else ()),
                                  *(("",) if in_corner else ()))
        self.sub.set_full_text("" if in_corner else sub, *(() if in_corner else alts))
        below = bool(sub) and not in_corner
        if below != self.sub.isVisibleTo(self):
            self.sub.setVisible(below)

    def _paint_value(self) -> None:
        colour = alarm_colours(self.alarm)[1] if self.alarm is not None else self._colour
        css = f"color: {colour};"
        if css != self._css:
            self._css = css
            self.value.setStyleSheet(css)

    def show_numeric(self, v: NumericView, unit_line: str | None = None,
                     *unit_alts: str) -> None:
        """``unit_alts``: shorter forms of ``unit_line`` for a narrow box."""
        self.shown = v.shown
        unit = unit_line if unit_line is not None else v.unit
        if v.shown == Shown.LIVE:
            self._set(fmt_number(self.code, v.value), self.colour, unit, *unit_alts,
                      unit_only=unit_line is None)
        elif v.shown == Shown.QUESTIONABLE:
            self._set(fmt_number(self.code, v.value) + "?", style.DIM, v.reason or "questionable")
        else:
            self._show_not_live(v.shown, v.reason)

    def _show_not_live(self, shown: Shown, reason: str) -> None:
        self.shown = shown
        if shown == Shown.OFFLINE:
            # the banner over the waves names the device and why; here, just the state
            self._set("OFFLINE" if self.width() >= 56 else "OFF", style.OFFLINE, "")
            self.value.setToolTip(reason)
        elif shown == Shown.STALE:
            self._set("---", style.DIM, reason or "no data")
        elif shown == Shown.UNUSABLE:
            self._set("-?-", style.DIM, reason)
        else:
            self._set("--", style.DIM, "")


class NbpBox(NumericBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Code.NBP_SYS, "NBP", parent)

    def show_nbp(self, v: NbpView) -> None:
        self.shown = v.shown
        if v.shown in (Shown.LIVE, Shown.QUESTIONABLE) and v.sys is not None:
            dia = fmt_number(Code.NBP_DIA, v.dia) if v.dia is not None else "--"
            mean = f"({v.mean:.0f})  " if v.mean is not None else ""
            q = "?" if v.shown == Shown.QUESTIONABLE else ""
            colour = self.colour if v.shown == Shown.LIVE else style.DIM
            age = fmt_age(v.age_s)
            self._set(f"{v.sys:.0f}/{dia}{q}", colour, f"{mean}{age} ago", f"{age} ago", age,
                      age.replace(" min", "m"))
        else:
            self._show_not_live(v.shown, v.reason)


# -- pending work and paused audio ------------------------------------------------------------

#: Pending items that are late or wait on the nurse (red, bold, "⚠"); anything else is due
#: (amber). The words are the ones the visit record's pending texts use.
URGENT_WORDS = ("overdue", "confirm", "missed")


def pending_urgent(items: tuple[str, ...] | list[str]) -> bool:
    return any(w in item.lower() for item in items for w in URGENT_WORDS)


class PendingLabel(ElidedLabel):
    """What the visit is waiting for ("BP check overdue", "1 pump change(s) to confirm"): an
    outlined chip, amber when due, red and bold with "⚠" when overdue or waiting for a
    confirmation. Outlined, not filled, so it never looks like an alarm."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("PendingLabel")
        self.items: tuple[str, ...] = ()
        self.urgent = False
        self.hide()

    def set_pending(self, items: tuple[str, ...] | list[str]) -> None:
        items = tuple(items)
        if items == self.items and self.full_text:
            return
        self.items = items
        self.urgent = pending_urgent(items)
        mark = "⚠ " if self.urgent else ""
        full = mark + "  ·  ".join(items)
        alts = (f"{mark}{items[0]} +{len(items) - 1}",) if len(items) > 1 else ()
        colour = style.PENDING_URGENT if self.urgent else style.ALARM_YELLOW
        self.setStyleSheet(f"QLabel {{ color: {colour}; border: 1px solid {colour}; "
                           f"border-radius: 2px; padding: 0px 3px; background: transparent; }}")
        self.setFont(self.font())
        self.set_full_text(full, *alts, tooltip="\n".join(items))

    def setFont(self, font: QFont) -> None:
        font = QFont(font)
        font.setBold(self.urgent)
        super().setFont(font)


def fmt_countdown(seconds: float) -> str:
    s = max(0, math.ceil(seconds))
    return f"{s // 60}:{s % 60:02d}"


class AudioPausedLabel(ElidedLabel):
    """A crossed-out bell and the time left: "audio paused 1:47" (shorter when narrow)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("AudioPausedLabel")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setStyleSheet(f"QLabel {{ color: {style.TEXT}; background: {style.PAUSED_BG}; "
                           f"border-radius: 2px; }}")
        self.hide()

    def set_left(self, seconds: float, tooltip: str) -> None:
        t = fmt_countdown(seconds)
        self.set_full_text(f"audio paused {t}", f"paused {t}", t, tooltip=tooltip)

    def changeEvent(self, event) -> None:
        icon = self.fontMetrics().height()
        margins = self.contentsMargins()
        if margins.left() != icon + 6:
            self.setContentsMargins(icon + 6, 0, 3, 0)
        super().changeEvent(event)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        h = self.fontMetrics().height() * 0.8
        x0, y0 = 4.0, (self.height() - h) / 2
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(style.TEXT))
        pen.setWidthF(max(1.2, h / 10))
        p.setPen(pen)
        bell = QPainterPath()  # dome, flared sides, rim
        w = h * 0.9
        bell.moveTo(x0, y0 + h * 0.78)
        bell.lineTo(x0 + w, y0 + h * 0.78)
        bell.cubicTo(x0 + w * 0.8, y0 + h * 0.6, x0 + w * 0.85, y0 + h * 0.1, x0 + w / 2, y0 + h * 0.08)
        bell.cubicTo(x0 + w * 0.15, y0 + h * 0.1, x0 + w * 0.2, y0 + h * 0.6, x0, y0 + h * 0.78)
        p.drawPath(bell)
        p.drawEllipse(QRectF(x0 + w / 2 - h * 0.09, y0 + h * 0.82, h * 0.18, h * 0.18))
        slash = QPen(QColor(style.ALARM_RED))
        slash.setWidthF(max(1.5, h / 8))
        p.setPen(slash)
        p.drawLine(QPointF(x0 - 1, y0 + h), QPointF(x0 + w + 1, y0))
        p.end()


# -- the tile ----------------------------------------------------------------------------------

#: px: the coloured frame of an alarming tile (the tile keeps this much margin for it)
FRAME_PX = 6


class ChairTile(QFrame):
    """One chair. ``activated(chair)`` on double-click or Enter/Return."""

    activated = Signal(str)

    WAVES = (Code.ECG, Code.PLETH)

    def __init__(self, chair: str, parent: QWidget | None = None, *,
                 clock: Clock | None = None, patient_display: str = "name") -> None:
        super().__init__(parent)
        self.chair = chair
        self.clock = clock or SystemClock()
        self.patient_display = patient_display
        self.setObjectName("ChairTile")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(chair)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(180, 110)
        self.context = TileContext()
        self._context_shown = False
        self._snap_version = -1
        self._num_time = -1e9
        self.snapshot: ChairSnapshot | None = None

        grid = QGridLayout(self)
        # room for the alarm frame (FRAME_PX) drawn around the contents
        grid.setContentsMargins(FRAME_PX + 1, FRAME_PX, FRAME_PX + 1, FRAME_PX - 1)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(1)

        head = QHBoxLayout()
        head.setSpacing(6)
        self.name_label = QLabel(chair)
        self.patient_label = ElidedLabel("")
        self.phase_label = QLabel("")
        for w in (self.name_label, self.phase_label):
            w.setTextFormat(Qt.TextFormat.PlainText)
        self.phase_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head.addWidget(self.name_label)
        head.addWidget(self.patient_label, 1)
        head.addWidget(self.phase_label)
        grid.addLayout(head, 0, 0, 1, 2)

        # the status row: the highest alarm, what the visit waits for, paused audio
        status = QHBoxLayout()
        status.setSpacing(4)
        self.alarm_label = AlarmLabel(self)
        self.pending_label = PendingLabel(self)
        self.paused_label = AudioPausedLabel(self)
        # the chip hugs its text; the alarm takes the rest of the row
        self.pending_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        status.addWidget(self.alarm_label, 1)
        status.addWidget(self.pending_label, 0)
        status.addStretch(0)
        status.addWidget(self.paused_label, 0)
        grid.addLayout(status, 1, 0, 1, 2)
        self._status = status
        self.paused_until: datetime | None = None
        self.paused_by = ""

        self.waves = SweepPanel([DEFAULT_RANGES[c] for c in self.WAVES], parent=self)
        grid.addWidget(self.waves, 2, 0, 2, 1)
        self.offline_banner = QLabel(self.waves)
        self.offline_banner.setObjectName("OfflineBanner")
        self.offline_banner.setTextFormat(Qt.TextFormat.PlainText)
        self.offline_banner.hide()

        self.hr = NumericBox(Code.HR)
        self.spo2 = NumericBox(Code.SPO2)
        grid.addWidget(self.hr, 2, 1)
        grid.addWidget(self.spo2, 3, 1)

        row = QHBoxLayout()
        row.setSpacing(4)
        self.nbp = NbpBox()
        self.rr = NumericBox(Code.RR)
        self.etco2 = NumericBox(Code.ETCO2)
        self.etco2.title.set_full_text(self.etco2.title.full_text, "CO\u2082")
        self.pump = NumericBox(Code.PUMP_RATE, "Pump")
        self._pump_sub_css = ""
        row.addWidget(self.nbp, 5)
        row.addWidget(self.rr, 2)
        row.addWidget(self.etco2, 2)
        row.addWidget(self.pump, 4)
        grid.addLayout(row, 4, 0, 1, 2)

        self.timers_label = ElidedLabel("")
        self.timers_label.setStyleSheet(f"color: {style.DIM};")
        grid.addWidget(self.timers_label, 5, 0, 1, 2)

        grid.setColumnStretch(0, 5)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(2, 2)
        grid.setRowStretch(3, 2)
        grid.setRowStretch(4, 2)
        self.numerics = {Code.HR: self.hr, Code.SPO2: self.spo2, Code.RR: self.rr,
                         Code.ETCO2: self.etco2, Code.PUMP_RATE: self.pump}
        self._apply_sizes()
        self._frame_lit = True
        self._head_css = ""
        Flasher.instance().changed.connect(self._flash)
        self.set_context(TileContext())

    # -- context (visit record, alarms) --------------------------------------------------------
    def set_context(self, ctx: TileContext) -> None:
        if ctx == self.context and self._context_shown:
            return  # the chart is reread every few seconds; most reads change nothing here
        self._context_shown = True
        self.context = ctx
        if ctx.patient_name:
            masked = self.patient_display == "initials"
            who = initials(ctx.patient_name) if masked else ctx.patient_name
            mrn = f"  MRN {ctx.mrn}" if ctx.mrn and not masked else ""  # masked: no identifier
            course = f"  #{ctx.course}" if ctx.course else ""
            # a narrow tile drops the course, then the MRN, before it cuts the name
            parts = who.split()
            short = (f"{initials(' '.join(parts[:-1]))} {parts[-1]}" if len(parts) > 1
                     and not masked else who)  # "A.L. Pereira"
            self.patient_label.set_full_text(f"{who}{mrn}{course}", f"{who}{mrn}", who, short,
                                             initials(who) if not masked else who)
        else:
            self.patient_label.set_full_text(ctx.unknown or "— empty —")
        self.phase_label.setText(ctx.phase.upper())
        self.alarm_label.set_alarm(ctx.alarm)
        self._show_alarm()
        self.pending_label.set_pending(ctx.pending)
        self._show_status()
        self._update_timers()

    def set_patient_display(self, mode: str) -> None:
        """"name" or "initials" (the locked station shows initials)."""
        if mode != self.patient_display:
            self.patient_display = mode
            self._context_shown = False
            self.set_context(self.context)

    def set_alarm(self, alarm: AlarmSummary | None) -> None:
        """Just the alarm (the alarm engine updates more often than the visit record)."""
        if alarm != self.context.alarm:
            self.context = TileContext(**{**self.context.__dict__, "alarm": alarm})
            self.alarm_label.set_alarm(alarm)
            self._show_alarm()
            self._show_status()

    # -- the alarm seen across the room ---------------------------------------------------------
    def alarm_look(self) -> tuple[str, bool, bool] | None:
        """(priority, acknowledged, escalated) of the alarm the tile shows, or None."""
        a = self.context.alarm
        return None if a is None else (str(a.priority).lower(), a.acknowledged, a.escalated)

    def _show_alarm(self) -> None:
        a = self.context.alarm
        lit = a.box_priorities() if a is not None else {}
        for code, box in ((Code.NBP_SYS, self.nbp), *self.numerics.items()):
            box.set_alarm(lit.get(code))
        # the header turns into a band of the alarm's colour: its text turns white or black
        css = "" if a is None else f"color: {alarm_colours(a.priority)[1]};"
        if css != self._head_css:
            self._head_css = css
            for w in (self.name_label, self.patient_label, self.phase_label):
                w.setStyleSheet(css)
        f = Flasher.instance()
        self._frame_lit = self._lit(f.high_on, f.medium_on)
        self.update()

    def _lit(self, high_on: bool, medium_on: bool) -> bool:
        look = self.alarm_look()
        if look is None or look[1]:
            return True
        return {"high": high_on, "medium": medium_on}.get(look[0], True)

    def _flash(self, high_on: bool, medium_on: bool) -> None:
        if self.context.alarm is None:
            return
        lit = self._lit(high_on, medium_on)
        if lit != self._frame_lit:
            self._frame_lit = lit
            self.update()

    def band_rect(self) -> QRect:
        """The header band: the chair's name row and its alarm row."""
        bottom = self.alarm_label.geometry().bottom() if self.alarm_label.isVisibleTo(self) \
            else self.name_label.geometry().bottom()
        return QRect(0, 0, self.width(), bottom + 2)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        look = self.alarm_look()
        if look is None:
            return
        priority, acknowledged, escalated = look
        colour = QColor(alarm_colours(priority)[0])
        p = QPainter(self)
        if not acknowledged:  # the whole tile is tinted; escalated (nobody answered), more so
            glow = QColor(colour)
            glow.setAlpha((120 if self._frame_lit else 70) if escalated else 45)
            p.fillRect(self.rect(), glow)
            band = QColor(colour) if self._frame_lit else QColor(colour).darker(200)
            p.fillRect(self.band_rect(), band)
        pen = QPen(colour)
        width = FRAME_PX if not acknowledged else max(2, FRAME_PX // 2)
        pen.setWidth(width)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        p.setPen(pen)
        p.drawRect(QRectF(width / 2, width / 2, self.width() - width, self.height() - width))
        p.end()

    def set_audio_paused(self, until: datetime | None, by: str = "") -> None:
        """This chair's alarm audio is paused until ``until`` (UTC; None: not paused), by
        ``by``. The tile counts down by itself; past ``until`` the indicator goes."""
        self.paused_until, self.paused_by = until, by
        self._show_paused()

    def _show_paused(self) -> None:
        left = None if self.paused_until is None else \
            (self.paused_until - self.clock.now()).total_seconds()
        if left is None or left <= 0:
            if self.paused_label.isVisibleTo(self):
                self.paused_label.hide()
                self._show_status()
            return
        until = self.paused_until.astimezone().strftime("%H:%M:%S")
        who = f" by {self.paused_by}" if self.paused_by else ""
        self.paused_label.set_left(left, f"{self.chair}: alarm audio paused{who} until {until}"
                                         f" ({fmt_countdown(left)} left)")
        if not self.paused_label.isVisibleTo(self):
            self.paused_label.show()
            self._show_status()

    def _show_status(self) -> None:
        pending = bool(self.context.pending)
        alarm = self.context.alarm is not None or not pending
        self.pending_label.setVisible(pending)
        # an empty alarm slot gives its room to the pending chip; next to an alarm the chip
        # never takes more than about half the row
        self.alarm_label.setVisible(alarm)
        self._status.setStretch(2, 0 if alarm else 1)
        # (a narrow tile's alarm keeps its words: the chip shrinks to its mark, full text in
        # its tooltip)
        share = 0.45 if self.width() >= 260 else 0.2
        self.pending_label.setMaximumWidth(max(34, int(self.width() * share)) if alarm
                                           else 16777215)

    def _update_timers(self) -> None:
        ctx = self.context
        now = self.clock.now()
        parts = []
        if ctx.phase_started is not None:
            parts.append(f"{ctx.phase or 'phase'} {fmt_duration((now - ctx.phase_started).total_seconds())}")
        if ctx.infusion_started is not None:
            end = ctx.infusion_ended or now
            parts.append(f"infusion {fmt_duration((end - ctx.infusion_started).total_seconds())}")
        snap = self.snapshot
        if snap is not None and snap.nbp.age_s is not None:
            parts.append(f"last BP {fmt_age(snap.nbp.age_s)} ago")
        if ctx.assessments and self._show_assessments:
            parts.append(ctx.assessments)
        self.timers_label.set_full_text("  ·  ".join(parts))
        if self.paused_until is not None:
            self._show_paused()

    # -- live data -----------------------------------------------------------------------------
    def refresh(self, store: LiveStore, now: float | None = None) -> None:
        """Called by the frame timer: redraw what changed. Numerics when the chair changed or
        every half second (ages, staleness); waves when new samples arrived."""
        now = store.clock.monotonic() if now is None else now
        if not self.isVisible():
            return
        version = store.chair_version(self.chair)
        if version != self._snap_version or now - self._num_time >= 0.5:
            self._snap_version = version
            self._num_time = now
            self.show_snapshot(store.snapshot(self.chair, now))
        self.waves.refresh_from(store, self.chair, self.snapshot, self.WAVES, now)

    def show_snapshot(self, snap: ChairSnapshot) -> None:
        self.snapshot = snap
        for code, box in self.numerics.items():
            v = snap.numeric(code)
            if code == Code.PUMP_RATE:
                self._show_pump(snap)
            elif code == Code.SPO2 and v.shown == Shown.NONE and snap.numerics.get(Code.PR):
                box.show_numeric(v)
            else:
                box.show_numeric(v)
        self.nbp.show_nbp(snap.nbp)
        self._show_devices(snap)
        self._update_timers()

    def _show_pump(self, snap: ChairSnapshot) -> None:
        rate = snap.numeric(Code.PUMP_RATE)
        vi = snap.numeric(Code.PUMP_VI)
        state = snap.pump_state
        alarm = snap.pump_alarm
        # title: the pump's state; value: rate; small line: volume infused (or its alarm)
        title, short = "Pump", ()
        if state.showable and isinstance(state.value, str):
            title, short = f"Pump {state.value.upper()}", (state.value.upper(),)
        self.pump.title.set_full_text(title, *short)
        vi_text = f"VI {fmt_number(Code.PUMP_VI, vi.value)}"
        sub = f"mL/h  {vi_text}" if vi.showable else "mL/h"
        alts = (vi_text,) if vi.showable else ()
        if alarm.showable and alarm.value:
            sub, alts = f"ALARM {alarm.value}", ()
        self.pump.show_numeric(rate, sub if rate.showable else None, *alts)
        css = f"color: {style.ALARM_YELLOW if alarm.showable and alarm.value else style.PUMP};"
        if self.pump.alarm is not None:
            self._pump_sub_css = ""  # lit in the alarm's colour; restyled when it clears
        elif css != self._pump_sub_css:  # a style sheet re-polishes the label: only on a change
            self._pump_sub_css = css
            self.pump.sub.setStyleSheet(css)

    def _show_devices(self, snap: ChairSnapshot) -> None:
        down = [d for d in snap.devices.values()
                if d.state in (DeviceState.OFFLINE, DeviceState.SILENT)]
        if down:
            text = "\n".join(
                f"{d.label.upper()} {d.state.value.upper()}"
                + (f" · {d.reason}" if d.reason else "") + f" · {fmt_duration(d.since_s)}"
                for d in down)
            if self.offline_banner.text() != text:
                self.offline_banner.setText(text)
                self.offline_banner.setToolTip(text)
            self._place_banner()
            self.offline_banner.show()
        else:
            self.offline_banner.hide()

    def _place_banner(self) -> None:
        self.offline_banner.setWordWrap(False)
        w = min(self.offline_banner.sizeHint().width(), self.waves.width() - 8)
        self.offline_banner.setWordWrap(w < self.offline_banner.sizeHint().width())
        h = min(self.offline_banner.heightForWidth(w) if self.offline_banner.wordWrap()
                else self.offline_banner.sizeHint().height(), self.waves.height() - 4)
        self.offline_banner.setGeometry((self.waves.width() - w) // 2,
                                        (self.waves.height() - h) // 2, w, h)

    # -- sizes ---------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._apply_sizes()
        self._show_status()
        if self.offline_banner.isVisible():
            self._place_banner()

    def _apply_sizes(self) -> None:
        h, w = max(130, self.height()), max(180, self.width())
        compact = h < 230
        self._show_assessments = h >= 200
        big = int(min(h * 0.17, w * 0.105))
        # 9 px was unreadable at 32 chairs on 1920 x 1080 (tiles ~150 px high); only a tile
        # too small for that (32 chairs on 1366 x 768) goes back to 9/10 px to keep its numbers
        tiny = h < 140
        small = max(9 if tiny else 10, min(12, int(h * 0.05)))
        head = max(11 if tiny else 12, min(16, int(h * 0.07)))
        self.name_label.setFont(style.font(head, bold=True))
        self.patient_label.setFont(style.font(head))
        self.phase_label.setFont(style.font(head, bold=True))
        for w in (self.alarm_label, self.pending_label, self.paused_label):
            w.setFont(style.font(max(10, head - 1), bold=True))
            w.setFixedHeight(head + 4)
        # a low tile puts the NBP's and pump's small line beside their names, so the numbers
        # keep their height
        low = h < 190
        for box in (self.hr, self.spo2):  # beside the waves: their names go beside them
            box.set_sizes(big, small, compact=low, inline=tiny)
        for box in (self.nbp, self.rr, self.etco2, self.pump):
            box.set_sizes(big if low else int(big * 0.62), small, compact=low)
        # the smallest tile (32 chairs on 1366 x 768) gives EtCO2's room to the blood pressure
        # (an EtCO2 alarm still says so in words; the detail shows it)
        self.etco2.setVisible(not tiny and self.width() >= 200)
        grid = self.layout()
        assert isinstance(grid, QGridLayout)
        grid.setColumnStretch(0, 3 if tiny else 5)
        grid.setRowStretch(4, 3 if tiny else 2)
        for row in (2, 3):
            grid.setRowStretch(row, 2)
        self.timers_label.setFont(style.font(small))
        # a tile too small for its footer gives that line to the numbers (the detail has it)
        self.timers_label.setVisible(not tiny)
        self.offline_banner.setFont(style.font(small + 1, bold=True))
        self.waves.set_title_font(style.font(small))
        self._compact = compact

    # -- input ---------------------------------------------------------------------------------
    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.activated.emit(self.chair)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated.emit(self.chair)
            event.accept()
            return
        super().keyPressEvent(event)

