"""One chair's tile on the station: who, where in the visit, waves, numerics, pump, alarm.

A tile is driven by plain data: :class:`TileContext` (from the visit record and the alarm
engine, via :meth:`ChairTile.set_context`) and the :class:`LiveStore` (via :meth:`refresh`,
called by the bridge's frame timer). It never decides clinical questions: the store says
whether a number may be shown, the alarm engine says what is alarming.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
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
from nursestation.ui.waves import DEFAULT_RANGES, WavePanel

# -- plain data the lead wires in ---------------------------------------------------------------

PRIORITY_ORDER = {"high": 3, "medium": 2, "low": 1}
PRIORITY_MARK = {"high": "!!! HIGH", "medium": "!! MED", "low": "! LOW"}


@dataclass(frozen=True)
class AlarmSummary:
    """A chair's highest active alarm, as the alarm engine reports it."""

    priority: str  # "high" | "medium" | "low" (a StrEnum with those values works too)
    text: str  # "SpO2 85 < 90"
    since: datetime | None = None
    count: int = 1  # active alarms on the chair
    acknowledged: bool = False

    @property
    def level(self) -> int:
        return PRIORITY_ORDER.get(str(self.priority).lower(), 0)

    @property
    def mark(self) -> str:
        return PRIORITY_MARK.get(str(self.priority).lower(), str(self.priority).upper())


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


class AlarmLabel(QLabel):
    """Shows an :class:`AlarmSummary`: priority in text and symbol, colour, and flashing."""

    def __init__(self, parent: QWidget | None = None, *, empty_text: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("AlarmLabel")
        self._alarm: AlarmSummary | None = None
        self._prefix = ""
        self._empty = empty_text
        self.lit = False  # the flash phase currently shown (True: filled colour)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        Flasher.instance().changed.connect(self._flash)
        self._apply(True)

    @property
    def alarm(self) -> AlarmSummary | None:
        return self._alarm

    def set_alarm(self, alarm: AlarmSummary | None, prefix: str = "") -> None:
        if alarm == self._alarm and prefix == self._prefix:
            return
        self._alarm, self._prefix = alarm, prefix
        if alarm is None:
            self.setText(self._empty)
        else:
            more = f" (+{alarm.count - 1})" if alarm.count > 1 else ""
            ack = " [ack]" if alarm.acknowledged else ""
            self.setText(f"{prefix}{alarm.mark}  {alarm.text}{more}{ack}")
        self.setToolTip(self.text())
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
            p = str(a.priority).lower()
            bg, fg = {"high": (style.ALARM_RED, "#ffffff"),
                      "medium": (style.ALARM_YELLOW, "#000000"),
                      "low": (style.ALARM_CYAN, "#000000")}.get(p, (style.DIM, "#000000"))
            if lit:
                css = f"color: {fg}; background: {bg}; font-weight: bold;"
            else:
                css = f"color: {bg}; background: #1a1a1a; font-weight: bold;"
        self.setStyleSheet(f"QLabel {{ {css} padding: 0px 4px; }}")


# -- numerics ----------------------------------------------------------------------------------

class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when it does not fit (full text in the tooltip)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight,
                                              max(10, self.width()))
        if shown != self.text():
            self.setText(shown)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        self._elide()


class NumericBox(QWidget):
    """A parameter label, a large value and a small line under it (unit, age or reason)."""

    def __init__(self, code: str, title: str | None = None, parent: QWidget | None = None,
                 *, align=Qt.AlignmentFlag.AlignRight) -> None:
        super().__init__(parent)
        self.code = code
        self.colour = style.colour(code)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 0, 2, 0)
        lay.setSpacing(0)
        self.title = QLabel(title or style.LABELS.get(code, code))
        self.value = QLabel("--")
        self.sub = QLabel("")
        for w in (self.title, self.value, self.sub):
            w.setTextFormat(Qt.TextFormat.PlainText)
            w.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.value.setAlignment(align | Qt.AlignmentFlag.AlignVCenter)
        self.sub.setAlignment(align)
        lay.addWidget(self.title)
        lay.addWidget(self.value, 1)
        lay.addWidget(self.sub)
        self.title.setStyleSheet(f"color: {self.colour};")
        self.shown: Shown = Shown.NONE
        self._css = ""
        self._big_px = 24
        self._value_px = 0
        self._set("--", style.DIM, "")

    def set_sizes(self, big_px: int, small_px: int) -> None:
        self._big_px = big_px
        self.title.setFont(style.font(small_px))
        self.sub.setFont(style.font(small_px))
        self._restyle_value()

    def _restyle_value(self) -> None:
        text = self.value.text()
        px = self._big_px
        if text in ("OFFLINE", "OFF"):
            px = int(px * 0.5)
        # fit the width: bold digits are about 0.62 em wide
        width = self.value.width() if self.value.width() > 10 else self.width()
        px = min(px, int(max(20, width - 2) / (0.66 * max(2, len(text)))))
        px = max(8, px)
        if px != self._value_px:
            self._value_px = px
            self.value.setFont(style.font(px, bold=True))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.shown == Shown.OFFLINE:
            self._set("OFFLINE" if self.width() >= 56 else "OFF", style.OFFLINE, "")
        self._restyle_value()

    def _set(self, text: str, colour: str, sub: str) -> None:
        if self.value.text() != text:
            self.value.setText(text)
            self._restyle_value()
        css = f"color: {colour};"
        if css != self._css:
            self._css = css
            self.value.setStyleSheet(css)
        if self.sub.text() != sub:
            self.sub.setText(sub)
            self.sub.setToolTip(sub)

    def show_numeric(self, v: NumericView, unit_line: str | None = None) -> None:
        self.shown = v.shown
        unit = unit_line if unit_line is not None else v.unit
        if v.shown == Shown.LIVE:
            self._set(fmt_number(self.code, v.value), self.colour, unit)
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
            self._set(f"{v.sys:.0f}/{dia}{q}", colour, f"{mean}{fmt_age(v.age_s)} ago")
        else:
            self._show_not_live(v.shown, v.reason)


# -- the tile ----------------------------------------------------------------------------------

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
        self.setMinimumSize(180, 130)
        self.context = TileContext()
        self._snap_version = -1
        self._num_time = -1e9
        self.snapshot: ChairSnapshot | None = None

        grid = QGridLayout(self)
        grid.setContentsMargins(4, 3, 4, 3)
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

        self.alarm_label = AlarmLabel(self)
        grid.addWidget(self.alarm_label, 1, 0, 1, 2)

        self.waves = WavePanel([DEFAULT_RANGES[c] for c in self.WAVES], parent=self)
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
        self.pump = NumericBox(Code.PUMP_RATE, "Pump")
        row.addWidget(self.nbp, 5)
        row.addWidget(self.rr, 2)
        row.addWidget(self.etco2, 2)
        row.addWidget(self.pump, 4)
        grid.addLayout(row, 4, 0, 1, 2)

        self.timers_label = QLabel("")
        self.pending_label = QLabel("")
        for w in (self.timers_label, self.pending_label):
            w.setTextFormat(Qt.TextFormat.PlainText)
            w.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.pending_label.setStyleSheet(f"color: {style.ALARM_YELLOW};")
        self.timers_label.setStyleSheet(f"color: {style.DIM};")
        grid.addWidget(self.timers_label, 5, 0, 1, 2)
        grid.addWidget(self.pending_label, 6, 0, 1, 2)

        grid.setColumnStretch(0, 5)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(2, 1)
        grid.setRowStretch(3, 1)
        grid.setRowStretch(4, 1)
        self.numerics = {Code.HR: self.hr, Code.SPO2: self.spo2, Code.RR: self.rr,
                         Code.ETCO2: self.etco2, Code.PUMP_RATE: self.pump}
        self._apply_sizes()
        self.set_context(TileContext())

    # -- context (visit record, alarms) --------------------------------------------------------
    def set_context(self, ctx: TileContext) -> None:
        self.context = ctx
        if ctx.patient_name:
            who = initials(ctx.patient_name) if self.patient_display == "initials" \
                else ctx.patient_name
            mrn = f"  MRN {ctx.mrn}" if ctx.mrn else ""
            course = f"  #{ctx.course}" if ctx.course else ""
            self.patient_label.set_full_text(f"{who}{mrn}{course}")
        else:
            self.patient_label.set_full_text("— empty —")
        self.phase_label.setText(ctx.phase.upper())
        self.alarm_label.set_alarm(ctx.alarm)
        self.pending_label.setText("  ·  ".join(ctx.pending))
        self.pending_label.setVisible(bool(ctx.pending) and self._show_pending)
        self._update_timers()

    def set_alarm(self, alarm: AlarmSummary | None) -> None:
        """Just the alarm (the alarm engine updates more often than the visit record)."""
        if alarm != self.context.alarm:
            self.context = TileContext(**{**self.context.__dict__, "alarm": alarm})
            self.alarm_label.set_alarm(alarm)

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
        if ctx.assessments and self._show_pending:
            parts.append(ctx.assessments)
        text = "  ·  ".join(parts)
        if text != self.timers_label.text():
            self.timers_label.setText(text)

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
        snap = self.snapshot
        for code in self.WAVES:
            status = snap.wave_status.get(code) if snap else None
            if status is None or status[0] not in (Shown.LIVE, Shown.QUESTIONABLE):
                self.waves.clear_channel(code)
                continue
            wave = store.wave(self.chair, code, self.waves.last_version(code), now)
            if wave is not None:
                self.waves.show_wave(wave)

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
        title = "Pump"
        if state.showable and isinstance(state.value, str):
            title = f"Pump {state.value.upper()}"
        if self.pump.title.text() != title:
            self.pump.title.setText(title)
        sub = f"mL/h  VI {fmt_number(Code.PUMP_VI, vi.value)}" if vi.showable else "mL/h"
        if alarm.showable and alarm.value:
            sub = f"ALARM {alarm.value}"
        self.pump.show_numeric(rate, sub if rate.showable else None)
        if alarm.showable and alarm.value:
            self.pump.sub.setStyleSheet(f"color: {style.ALARM_YELLOW};")
        else:
            self.pump.sub.setStyleSheet(f"color: {style.PUMP};")

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
        if self.offline_banner.isVisible():
            self._place_banner()

    def _apply_sizes(self) -> None:
        h, w = max(130, self.height()), max(180, self.width())
        compact = h < 230
        self._show_pending = h >= 200
        big = int(min(h * 0.17, w * 0.105))
        small = max(9, min(12, int(h * 0.05)))
        head = max(10, min(16, int(h * 0.07)))
        self.name_label.setFont(style.font(head, bold=True))
        self.patient_label.setFont(style.font(head))
        self.phase_label.setFont(style.font(head, bold=True))
        self.alarm_label.setFont(style.font(max(9, head - 1), bold=True))
        self.alarm_label.setFixedHeight(head + 4)
        for box in (self.hr, self.spo2):
            box.set_sizes(big, small)
        for box in (self.nbp, self.rr, self.etco2, self.pump):
            box.set_sizes(int(big * 0.62), small)
        self.timers_label.setFont(style.font(small))
        self.pending_label.setFont(style.font(small, bold=True))
        self.pending_label.setVisible(bool(self.context.pending) and self._show_pending)
        self.offline_banner.setFont(style.font(small + 1, bold=True))
        for t in self.waves.titles.values():
            t.setFont(style.font(small))
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

