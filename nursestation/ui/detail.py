"""Chair detail: large live waves and numerics over the whole-visit trend with its events.

Opened from a tile (double-click / Enter). Live parts redraw on the bridge's frame timer from
the LiveStore like the tiles; the trend refreshes about once a second and reaches back into
the database's history when the nurse scrolls or zooms to earlier parts of the visit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.clock import Clock, SystemClock
from nursestation.core.livestate import ChairSnapshot, LiveStore
from nursestation.core.vocabulary import Code
from nursestation.ui import style
from nursestation.ui.sweep import DEFAULT_RANGES, SweepPanel
from nursestation.ui.tiles import (
    AlarmLabel,
    AlarmSummary,
    NbpBox,
    NumericBox,
    PendingLabel,
    TileContext,
    fmt_duration,
    initials,
)
from nursestation.ui.trend import HistoryProvider, TrendEvent, TrendView

TREND_EVERY_S = 1.0


class ChairDetail(QWidget):
    """One chair in full. ``closed`` when the nurse presses Escape (the lead decides what
    closing means: a dialog, a stacked page...)."""

    closed = Signal(str)

    WAVES = (Code.ECG, Code.PLETH)

    def __init__(self, chair: str, parent: QWidget | None = None, *, clock: Clock | None = None,
                 history: HistoryProvider | None = None, source: object = None,
                 visit_start: datetime | None = None, patient_display: str = "name") -> None:
        super().__init__(parent)
        self.setObjectName("ChairDetail")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(style.STYLESHEET)
        self.chair = chair
        self.clock = clock or SystemClock()
        self.patient_display = patient_display
        self.context = TileContext()
        self.snapshot: ChairSnapshot | None = None
        self._version = -1
        self._num_time = -1e9
        self._trend_time = -1e9

        lay = QVBoxLayout(self)
        # the window or dialog holding us decides our size; never push minimum sizes up
        lay.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        head = QHBoxLayout()
        self.title = QLabel(chair)
        self.title.setFont(style.font(22, bold=True))
        self.patient_label = QLabel("")
        self.patient_label.setFont(style.font(18))
        self.phase_label = QLabel("")
        self.phase_label.setFont(style.font(18, bold=True))
        self.timers_label = QLabel("")
        self.timers_label.setFont(style.font(14))
        self.timers_label.setStyleSheet(f"color: {style.DIM};")
        for w in (self.title, self.patient_label, self.phase_label, self.timers_label):
            w.setTextFormat(Qt.TextFormat.PlainText)
        head.addWidget(self.title)
        head.addSpacing(12)
        head.addWidget(self.patient_label)
        head.addStretch(1)
        head.addWidget(self.timers_label)
        head.addSpacing(12)
        head.addWidget(self.phase_label)
        lay.addLayout(head)
        self.alarm_label = AlarmLabel(self, empty_text="No active alarm")
        self.alarm_label.setFont(style.font(16, bold=True))
        self.alarm_label.setFixedHeight(26)
        lay.addWidget(self.alarm_label)
        status = QHBoxLayout()
        self.pending_label = PendingLabel(self)
        self.pending_label.setFont(style.font(14))
        self.pending_label.setFixedHeight(22)
        self.assessments_label = QLabel("")
        self.assessments_label.setTextFormat(Qt.TextFormat.PlainText)
        self.assessments_label.setFont(style.font(14))
        self.assessments_label.setStyleSheet(f"color: {style.TEXT};")
        self.pending_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        status.addWidget(self.pending_label)
        status.addSpacing(12)
        status.addWidget(self.assessments_label)
        status.addStretch(1)
        lay.addLayout(status)

        live = QGridLayout()
        live.setHorizontalSpacing(8)
        self.waves = SweepPanel([DEFAULT_RANGES[c] for c in self.WAVES], label_px=14)
        self.waves.setMinimumHeight(260)
        live.addWidget(self.waves, 0, 0, 3, 1)
        self.offline_banner = QLabel(self.waves)
        self.offline_banner.setObjectName("OfflineBanner")
        self.offline_banner.setFont(style.font(16, bold=True))
        self.offline_banner.hide()
        self.hr = NumericBox(Code.HR)
        self.spo2 = NumericBox(Code.SPO2)
        self.nbp = NbpBox()
        self.rr = NumericBox(Code.RR)
        self.etco2 = NumericBox(Code.ETCO2)
        self.pump = NumericBox(Code.PUMP_RATE, "Pump mL/h")
        for box, big in ((self.hr, 64), (self.spo2, 64), (self.nbp, 44), (self.rr, 40),
                         (self.etco2, 40), (self.pump, 36)):
            box.set_sizes(big, 14)
        live.addWidget(self.hr, 0, 1)
        live.addWidget(self.spo2, 1, 1)
        live.addWidget(self.nbp, 2, 1)
        small = QVBoxLayout()
        small.addWidget(self.rr)
        small.addWidget(self.etco2)
        small.addWidget(self.pump)
        live.addLayout(small, 0, 2, 3, 1)
        live.setColumnStretch(0, 5)
        live.setColumnStretch(1, 2)
        live.setColumnStretch(2, 1)
        lay.addLayout(live, 2)
        self.numerics = {Code.HR: self.hr, Code.SPO2: self.spo2, Code.RR: self.rr,
                         Code.ETCO2: self.etco2}

        self.trend = TrendView(self)
        lay.addWidget(self.trend, 3)
        self.trend.set_source(source, visit_start, history)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=lambda: self.closed.emit(
            self.chair))

    # -- wiring --------------------------------------------------------------------------------
    def set_context(self, ctx: TileContext) -> None:
        self.context = ctx
        if ctx.patient_name:
            who = initials(ctx.patient_name) if self.patient_display == "initials" \
                else ctx.patient_name
            self.patient_label.setText("  ".join(x for x in (
                who, f"MRN {ctx.mrn}" if ctx.mrn else "",
                f"course {ctx.course}" if ctx.course else "") if x))
        else:
            self.patient_label.setText("— empty —")
        self.phase_label.setText(ctx.phase.upper())
        self.alarm_label.set_alarm(ctx.alarm)
        self.pending_label.set_pending(ctx.pending)
        self.pending_label.setVisible(bool(ctx.pending))
        self.assessments_label.setText(ctx.assessments)
        self._timers()

    def set_alarm(self, alarm: AlarmSummary | None) -> None:
        self.context = TileContext(**{**self.context.__dict__, "alarm": alarm})
        self.alarm_label.set_alarm(alarm)

    def set_events(self, events: Sequence[TrendEvent]) -> None:
        self.trend.set_events(events)

    def set_history(self, source: object, visit_start: datetime | None,
                    history: HistoryProvider | None) -> None:
        self.trend.set_source(source, visit_start, history, now=self.clock.now())

    # -- live ----------------------------------------------------------------------------------
    def refresh(self, store: LiveStore, now: float) -> None:
        if not self.isVisible():
            return
        version = store.chair_version(self.chair)
        if version != self._version or now - self._num_time >= 0.5:
            self._version, self._num_time = version, now
            self._show(store.snapshot(self.chair, now))
        self.waves.refresh_from(store, self.chair, self.snapshot, self.WAVES, now)
        if now - self._trend_time >= TREND_EVERY_S:
            self._trend_time = now
            self.trend.update_live(store, self.chair, self.clock.now().timestamp())

    def _show(self, snap: ChairSnapshot) -> None:
        self.snapshot = snap
        for code, box in self.numerics.items():
            box.show_numeric(snap.numeric(code))
        self.nbp.show_nbp(snap.nbp)
        rate, vi, state = snap.numeric(Code.PUMP_RATE), snap.numeric(Code.PUMP_VI), \
            snap.pump_state
        sub = []
        if vi.showable:
            sub.append(f"VI {vi.value:.1f} mL")
        if state.showable and state.value:
            sub.append(str(state.value).upper())
        if snap.pump_alarm.showable and snap.pump_alarm.value:
            sub.append(f"ALARM {snap.pump_alarm.value}")
        self.pump.show_numeric(rate, "  ".join(sub) if rate.showable else None)
        down = snap.offline_devices
        if down:
            self.offline_banner.setText("   ".join(
                f"{d.label.upper()} {d.state.value.upper()}"
                + (f" · {d.reason}" if d.reason else "") for d in down))
            self.offline_banner.adjustSize()
            self.offline_banner.move((self.waves.width() - self.offline_banner.width()) // 2,
                                     (self.waves.height() - self.offline_banner.height()) // 2)
            self.offline_banner.show()
        else:
            self.offline_banner.hide()
        self._timers()

    def _timers(self) -> None:
        ctx, now = self.context, self.clock.now()
        parts = []
        if ctx.phase_started is not None:
            parts.append(f"in {ctx.phase or 'phase'} "
                         f"{fmt_duration((now - ctx.phase_started).total_seconds())}")
        if ctx.infusion_started is not None:
            end = ctx.infusion_ended or now
            parts.append(f"infusion {fmt_duration((end - ctx.infusion_started).total_seconds())}")
        self.timers_label.setText("  ·  ".join(parts))
