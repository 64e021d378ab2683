"""The whole-visit trend: HR, SpO2 and RR as lines, NBP as dia-sys I-beams, event markers.

Data comes from two places and is joined at the seam: the database's history for the part of the
visit before the live buffer (``history(source, t0, t1)``, loaded when the view reaches back
there), and the LiveStore's trend buffers for the rest, refreshed about once a second. Times
on the x axis are epoch seconds (UTC) drawn in local time. Long trends use clip-to-view and
peak downsampling so a six-hour visit at one sample a second stays cheap to pan and zoom.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.livestate import LiveStore
from nursestation.core.vocabulary import Code, site_display_name
from nursestation.ui import style

#: (times, values) per code; times in epoch seconds (UTC), values NaN where unusable.
Series = dict[str, tuple[np.ndarray, np.ndarray]]
#: The database's side: ``history(source, t0, t1)`` gives every stored sample in [t0, t1).
HistoryProvider = Callable[[object, float, float], Series]

TREND_CODES = (Code.HR, Code.SPO2, Code.RR, Code.ETCO2, Code.NBP_SYS, Code.NBP_DIA,
               Code.NBP_MEAN)
#: joins code and site in the key of another site's series ("SPO2@right")
OTHER_SITE = "@"
#: how often the recorded tail is re-read for those series (they are not in the live buffers)
OTHER_SITES_EVERY_S = 5.0


def series_key(code: str, site: str, primary: bool) -> str:
    """The history's key for a stored sample: its code for the chair's primary site, else
    code@site (drawn dashed beside the code's line and named with its site)."""
    return str(code) if primary else f"{code}{OTHER_SITE}{site}"


@dataclass(frozen=True)
class TrendEvent:
    """Something charted during the visit, shown as a marker on the trend."""

    time: datetime  # UTC
    kind: str  # "dose", "medication", "assessment", "note", "alarm" (others: a plain marker)
    label: str  # short: "Rate 150 → 100 mL/h"
    detail: str = ""  # full: who, why, values

    @property
    def epoch(self) -> float:
        return self.time.timestamp()


# symbol, colour, row in the event strip (top to bottom)
EVENT_STYLE: dict[str, tuple[str, str, int]] = {
    "alarm": ("star", style.ALARM_RED, 4),
    "dose": ("t", style.PUMP, 3),
    "medication": ("d", "#ff9f43", 2),
    "assessment": ("s", "#e0e0e0", 1),
    "note": ("o", style.DIM, 0),
}
_DEFAULT_EVENT = ("o", style.TEXT, 0)

#: s: the review window a trend opens on (ending now), and the narrowest range ever shown
DEFAULT_SPAN_S = 30 * 60.0
MIN_SPAN_S = 5 * 60.0

#: NBP I-beam: stem width, cap and mean-tick widths (pixels, whatever the zoom).
NBP_STEM_PX = 2
NBP_CAP_PX = 11
NBP_MEAN_PX = 7


def nbp_measurements(data: Series, tolerance_s: float = 2.0
                     ) -> list[tuple[float, float, float, float]]:
    """(epoch, sys, dia, mean) per NBP measurement: each systolic paired with the diastolic
    (and mean, NaN if none) stored with it, matched by time rather than by position so one
    missing value cannot shift every later pair."""
    ts, sys_ = data.get(Code.NBP_SYS, (np.empty(0), np.empty(0)))
    td, dia = data.get(Code.NBP_DIA, (np.empty(0), np.empty(0)))
    tm, mean = data.get(Code.NBP_MEAN, (np.empty(0), np.empty(0)))

    def at(times, values, t: float) -> float:
        if not len(times):  # a visit has dozens of measurements: a plain nearest search
            return float("nan")
        j = int(np.argmin(np.abs(np.asarray(times, np.float64) - t)))
        return float(values[j]) if abs(times[j] - t) <= tolerance_s else float("nan")

    out = []
    for t, s in zip(np.asarray(ts, np.float64), np.asarray(sys_, np.float64), strict=True):
        d = at(td, dia, t)
        if np.isfinite(s) and np.isfinite(d):
            out.append((float(t), float(s), d, at(tm, mean, t)))
    return out


def nbp_text(t: float, sys_: float, dia: float, mean: float) -> str:
    m = f" ({mean:.0f})" if np.isfinite(mean) else ""
    return f"NBP {sys_:.0f}/{dia:.0f}{m} mmHg at {_local_epoch(t)}"


def merge_series(history: Series, live: Series) -> Series:
    """History before the first live sample, then the live buffer (no overlap, sorted)."""
    out: Series = {}
    for code in set(history) | set(live):
        ht, hv = history.get(code, (np.empty(0), np.empty(0)))
        lt, lv = live.get(code, (np.empty(0), np.empty(0)))
        if len(lt):
            keep = ht < lt[0]
            ht, hv = ht[keep], hv[keep]
        t = np.concatenate((np.asarray(ht, dtype=np.float64), np.asarray(lt, dtype=np.float64)))
        v = np.concatenate((np.asarray(hv, dtype=np.float32), np.asarray(lv, dtype=np.float32)))
        out[code] = (t, v)
    return out


class TrendView(QWidget):
    """Stacked trend panes sharing one time axis, an event strip, and an event list."""

    event_selected = Signal(object)  # the TrendEvent

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source: object = None
        self.history: HistoryProvider | None = None
        self.visit_start: float | None = None
        self.follow = True  # keep the right edge at "now" as data arrives
        self.span = DEFAULT_SPAN_S  # seconds shown when following
        self._hist: Series = {}
        self._hist_from: float | None = None  # history loaded back to this time
        self._live: Series = {}
        self.data: Series = {}
        self.events: list[TrendEvent] = []
        self.selected: TrendEvent | None = None
        self._now = 0.0
        self._tail_at: float | None = None  # the recorded tail last read (other sites' lines)
        self._setting_range = False

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        bar = QHBoxLayout()
        self.live_button = QPushButton("&Live")
        self.visit_button = QPushButton("&Whole visit")
        self.back_button = QPushButton("◀ Earlier")
        self.fwd_button = QPushButton("Later ▶")
        self.zoom_in = QPushButton("Zoom +")
        self.zoom_out = QPushButton("Zoom −")
        for b in (self.back_button, self.fwd_button, self.zoom_in, self.zoom_out,
                  self.visit_button, self.live_button):
            bar.addWidget(b)
        bar.addStretch(1)
        self.range_label = QLabel("")
        bar.addWidget(self.range_label)
        lay.addLayout(bar)

        body = QHBoxLayout()
        lay.addLayout(body, 1)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(style.BACKGROUND)
        body.addWidget(self.glw, 4)
        side = QVBoxLayout()
        self.event_list = QListWidget()
        self.event_list.setMinimumWidth(240)
        self.detail_label = QLabel("Click a marker or pick an event for its details.")
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail_label.setMinimumHeight(90)
        side.addWidget(QLabel("Events"))
        side.addWidget(self.event_list, 3)
        side.addWidget(self.detail_label, 1)
        body.addLayout(side, 1)

        axis = pg.DateAxisItem(orientation="bottom")
        self.events_plot = self.glw.addPlot(row=0, col=0)
        self.vitals_plot = self.glw.addPlot(row=1, col=0)
        self.spo2_plot = self.glw.addPlot(row=2, col=0)
        self.resp_plot = self.glw.addPlot(row=3, col=0, axisItems={"bottom": axis})
        self.plots = [self.events_plot, self.vitals_plot, self.spo2_plot, self.resp_plot]
        heights = [60, 220, 120, 120]
        for p, h in zip(self.plots, heights, strict=True):
            p.setMenuEnabled(False)
            p.hideButtons()
            p.setMouseEnabled(x=True, y=False)
            # new data never moves the time axis: autorange on x made it jump to the data's
            # extent (the visit's start) and stop following "now"
            p.enableAutoRange(x=False)
            p.showGrid(x=True, y=True, alpha=0.15)
            p.getAxis("left").setWidth(48)
            p.setPreferredHeight(h)
            if p is not self.events_plot:
                p.setXLink(self.events_plot)
            if p is not self.resp_plot:
                p.getAxis("bottom").setStyle(showValues=False)
        self.glw.ci.layout.setRowStretchFactor(0, 1)
        self.glw.ci.layout.setRowStretchFactor(1, 4)
        self.glw.ci.layout.setRowStretchFactor(2, 2)
        self.glw.ci.layout.setRowStretchFactor(3, 2)
        self.events_plot.setYRange(-0.7, 4.7, padding=0)
        self.events_plot.getAxis("left").setTicks(
            [[(row, name[:6]) for name, (_s, _c, row) in EVENT_STYLE.items()]])
        self.vitals_plot.setYRange(30, 200, padding=0)
        self.vitals_plot.setLabel("left", "HR · NBP")
        self.spo2_plot.setYRange(80, 101, padding=0)
        self.spo2_plot.setLabel("left", "SpO₂ %")
        self.resp_plot.setYRange(0, 50, padding=0)
        self.resp_plot.setLabel("left", "RR · EtCO₂")

        def line(plot, code):
            item = pg.PlotDataItem(pen=pg.mkPen(style.colour(code), width=1),
                                   connect="finite", name=code)
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            plot.addItem(item)
            return item

        self.lines = {
            Code.HR: line(self.vitals_plot, Code.HR),
            Code.SPO2: line(self.spo2_plot, Code.SPO2),
            Code.RR: line(self.resp_plot, Code.RR),
            Code.ETCO2: line(self.resp_plot, Code.ETCO2),
        }
        self._plot_of = {Code.HR: self.vitals_plot, Code.SPO2: self.spo2_plot,
                         Code.RR: self.resp_plot, Code.ETCO2: self.resp_plot}
        #: another site's line (a second SpO2 probe), by series key, with its legend name
        self.other_lines: dict[str, tuple[pg.PlotDataItem, str]] = {}
        # NBP as a monitor's trend draws it: a narrow I-beam from dia to sys with a tick at the
        # mean. The stem is a cosmetic 2 px line and the caps and tick are pixel-sized
        # symbols, so the beam stays narrow at any zoom (a bar in data units, 60 s wide, was
        # a wide block zoomed in and a smear zoomed out).
        self.nbp_bars = pg.PlotCurveItem(pen=pg.mkPen(style.NBP, width=NBP_STEM_PX),
                                         connect="pairs", antialias=False)
        self.vitals_plot.addItem(self.nbp_bars)
        self.nbp_caps = pg.ScatterPlotItem(symbol="_", size=NBP_CAP_PX, pen=pg.mkPen(style.NBP),
                                           brush=pg.mkBrush(style.NBP), hoverable=True,
                                           tip=self._nbp_tip, hoverSize=NBP_CAP_PX + 4)
        self.vitals_plot.addItem(self.nbp_caps)
        self.nbp_mean = pg.ScatterPlotItem(symbol="_", size=NBP_MEAN_PX,
                                           pen=pg.mkPen(style.NBP_LIGHT),
                                           brush=pg.mkBrush(style.NBP_LIGHT))
        self.vitals_plot.addItem(self.nbp_mean)
        #: (epoch, sys, dia, mean or NaN) of every NBP measurement drawn
        self.nbp: list[tuple[float, float, float, float]] = []
        self.markers = pg.ScatterPlotItem(size=13, hoverable=True, tip=self._tip,
                                          hoverSize=17)
        self.markers.sigClicked.connect(self._marker_clicked)
        self.events_plot.addItem(self.markers)
        self.event_lines: list[pg.InfiniteLine] = []

        self.events_plot.sigXRangeChanged.connect(self._range_changed)
        self._history_timer = QTimer(self)
        self._history_timer.setSingleShot(True)
        self._history_timer.setInterval(150)
        self._history_timer.timeout.connect(self._load_visible_history)
        self.event_list.currentRowChanged.connect(self._row_changed)
        self.live_button.clicked.connect(self.go_live)
        self.visit_button.clicked.connect(self.show_whole_visit)
        self.back_button.clicked.connect(lambda: self.scroll(-0.5))
        self.fwd_button.clicked.connect(lambda: self.scroll(0.5))
        self.zoom_in.clicked.connect(lambda: self.zoom(0.5))
        self.zoom_out.clicked.connect(lambda: self.zoom(2.0))

    # -- wiring --------------------------------------------------------------------------------
    def set_source(self, source: object, visit_start: datetime | None,
                   history: HistoryProvider | None, now: datetime | None = None) -> None:
        """Which visit (``source`` is passed back to ``history``) and where it began; with
        ``now``, the view opens on the review window ending now (see :meth:`open_at`)."""
        self.source = source
        self.history = history
        self.visit_start = visit_start.timestamp() if visit_start else None
        self._hist, self._hist_from, self._tail_at = {}, None, None
        if now is not None:
            self.open_at(now.timestamp())

    def open_at(self, now_epoch: float) -> None:
        """The last 30 minutes ending now, or the whole visit if it is shorter (never less
        than MIN_SPAN_S: never an empty or zero-width range); following "now"."""
        self._now = now_epoch
        start = self.visit_start
        span = DEFAULT_SPAN_S if start is None else min(DEFAULT_SPAN_S, now_epoch - start)
        self.span = max(MIN_SPAN_S, span)
        self.follow = True
        self._follow()

    def set_events(self, events: Sequence[TrendEvent]) -> None:
        self.events = sorted(events, key=lambda e: e.epoch)
        spots = []
        for ev in self.events:
            sym, col, row = EVENT_STYLE.get(ev.kind, _DEFAULT_EVENT)
            spots.append({"pos": (ev.epoch, row), "symbol": sym, "brush": pg.mkBrush(col),
                          "pen": pg.mkPen(col), "data": ev})
        self.markers.setData(spots)
        for ln in self.event_lines:
            for p in self.plots[1:]:
                p.removeItem(ln)
        self.event_lines = []
        for ev in self.events:
            _sym, col, _row = EVENT_STYLE.get(ev.kind, _DEFAULT_EVENT)
            c = pg.mkColor(col)
            c.setAlpha(70)
            for p in self.plots[1:]:
                ln = pg.InfiniteLine(pos=ev.epoch, angle=90, pen=pg.mkPen(c, width=1))
                p.addItem(ln)
                self.event_lines.append(ln)
        self.event_list.blockSignals(True)
        self.event_list.clear()
        for ev in self.events:
            item = QListWidgetItem(f"{_local(ev.time)}  {ev.kind}: {ev.label}")
            item.setData(Qt.ItemDataRole.UserRole, ev)
            self.event_list.addItem(item)
        self.event_list.blockSignals(False)

    # -- data ----------------------------------------------------------------------------------
    def update_live(self, store: LiveStore, chair: str, now_epoch: float) -> None:
        """Pull the live trend buffers (about once a second) and redraw."""
        self._now = now_epoch
        self._live = store.trend(chair, TREND_CODES)
        if self.history is not None and self._hist_from is None:
            start = self.visit_start if self.visit_start is not None else now_epoch - self.span
            self._fetch(start, now_epoch)
            self._tail_at = now_epoch
        elif self.history is not None and self._tail_at is not None \
                and now_epoch - self._tail_at >= OTHER_SITES_EVERY_S:
            # another site (a second SpO2 probe) is not in the live buffers: its line follows
            # the record, re-read with an overlap for rows the writer committed late
            self._fetch(self._tail_at - OTHER_SITES_EVERY_S, now_epoch)
            self._tail_at = now_epoch
        self._redraw()
        if self.follow:
            self._follow()

    def _fetch(self, t0: float, t1: float) -> None:
        if self.history is None or t1 <= t0:
            return
        got = self.history(self.source, t0, t1) or {}
        merged: Series = {}
        for code in set(got) | set(self._hist):
            nt, nv = got.get(code, (np.empty(0), np.empty(0)))
            ot, ov = self._hist.get(code, (np.empty(0), np.empty(0)))
            t = np.concatenate((np.asarray(nt, np.float64), np.asarray(ot, np.float64)))
            v = np.concatenate((np.asarray(nv, np.float32), np.asarray(ov, np.float32)))
            order = np.argsort(t, kind="stable")
            t, v = t[order], v[order]
            if t.size:
                keep = np.concatenate(([True], np.diff(t) > 0))
                t, v = t[keep], v[keep]
            merged[code] = (t, v)
        self._hist = merged
        self._hist_from = t0 if self._hist_from is None else min(t0, self._hist_from)

    def _redraw(self) -> None:
        self.data = merge_series(self._hist, self._live)
        for code, item in self.lines.items():
            t, v = self.data.get(code, (np.empty(0), np.empty(0)))
            item.setData(t, v, connect="finite")
        for key in self.data.keys() - self.other_lines.keys():
            self._add_other_site(key)
        for key, (item, _name) in self.other_lines.items():
            t, v = self.data.get(key, (np.empty(0), np.empty(0)))
            item.setData(t, v, connect="finite")
        self.nbp = nbp_measurements(self.data)
        if self.nbp:
            t, sys_, dia, mean = (np.array(c, dtype=np.float64) for c in zip(*self.nbp,
                                                                            strict=True))
            self.nbp_bars.setData(np.repeat(t, 2), np.column_stack((dia, sys_)).ravel(),
                                  connect="pairs")
            text = [nbp_text(*m) for m in self.nbp]
            self.nbp_caps.setData(np.concatenate((t, t)), np.concatenate((sys_, dia)),
                                  data=text + text)
            ok = np.isfinite(mean)
            self.nbp_mean.setData(t[ok], mean[ok])
        else:
            self.nbp_bars.setData([], [])
            self.nbp_caps.setData([], [])
            self.nbp_mean.setData([], [])

    def _add_other_site(self, key: str) -> None:
        """A dashed line, named in the plot's legend, for another site of a trended code."""
        code, sep, site = key.partition(OTHER_SITE)
        plot = self._plot_of.get(code)
        if not sep or plot is None:
            return
        name = site_display_name(code, site, primary=False)
        item = pg.PlotDataItem(pen=pg.mkPen(style.colour(code), width=1,
                                            style=Qt.PenStyle.DashLine),
                               connect="finite", name=name)
        item.setClipToView(True)
        item.setDownsampling(auto=True, method="peak")
        if plot.legend is None:
            plot.addLegend(offset=(10, -5))  # bottom left: SpO2 runs high
        plot.addItem(item)  # a named item joins the plot's legend
        self.other_lines[key] = (item, name)

    # -- navigation ----------------------------------------------------------------------------
    def x_range(self) -> tuple[float, float]:
        a, b = self.events_plot.viewRange()[0]
        return float(a), float(b)

    def _set_x(self, a: float, b: float) -> None:
        if not b - a >= 1.0:  # never a zero-width (or inverted, or NaN) range
            b = a + MIN_SPAN_S if a == a else b
            a = b - MIN_SPAN_S
        self._setting_range = True
        try:
            self.events_plot.setXRange(a, b, padding=0)
        finally:
            self._setting_range = False

    def _follow(self) -> None:
        now = self._now or self.x_range()[1]
        self._set_x(now - self.span, now + self.span * 0.03)

    def go_live(self) -> None:
        self.follow = True
        if self.span < MIN_SPAN_S:
            self.span = MIN_SPAN_S
        self._follow()

    def show_whole_visit(self) -> None:
        start = self.visit_start
        if start is None:
            times = [t[0] for t, _v in self.data.values() if len(t)]
            start = min(times) if times else self._now - self.span
        end = self._now or self.x_range()[1]
        self.follow = False
        self._set_x(start, end + (end - start) * 0.02)

    def scroll(self, fraction: float) -> None:
        a, b = self.x_range()
        d = (b - a) * fraction
        self.follow = False
        self._set_x(a + d, b + d)

    def zoom(self, factor: float) -> None:
        a, b = self.x_range()
        c = b if self.follow else (a + b) / 2
        half = (b - a) * factor / 2
        if self.follow:
            self.span = (b - a) * factor
            self._follow()
        else:
            self._set_x(c - half, c + half)

    def _range_changed(self, *_args) -> None:
        a, b = self.x_range()
        self.range_label.setText(f"{_local_epoch(a)} – {_local_epoch(b)}")
        if not self._setting_range:
            self.follow = False  # the nurse scrolled or zoomed: stop jumping to "now"
        self._history_timer.start()

    def _load_visible_history(self) -> None:
        a, _b = self.x_range()
        if self.history is None:
            return
        if self.visit_start is not None:
            a = max(a, self.visit_start)
        if self._hist_from is None or a < self._hist_from - 1.0:
            self._fetch(a, self._hist_from if self._hist_from is not None else self._now)
            self._redraw()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Left:
            self.scroll(-0.25)
        elif key == Qt.Key.Key_Right:
            self.scroll(0.25)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(0.5)
        elif key == Qt.Key.Key_Minus:
            self.zoom(2.0)
        elif key == Qt.Key.Key_End:
            self.go_live()
        elif key == Qt.Key.Key_Home:
            self.show_whole_visit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- events --------------------------------------------------------------------------------
    def _nbp_tip(self, x, y, data) -> str:
        return data if isinstance(data, str) else ""

    def _tip(self, x, y, data) -> str:
        ev = data if isinstance(data, TrendEvent) else None
        return describe(ev) if ev else ""

    def _marker_clicked(self, _item, points, *_args) -> None:
        if len(points):
            self.select_event(points[0].data())

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.events):
            ev = self.events[row]
            self.select_event(ev)
            a, b = self.x_range()
            if not a <= ev.epoch <= b:
                half = (b - a) / 2
                self.follow = False
                self._set_x(ev.epoch - half, ev.epoch + half)

    def select_event(self, ev: TrendEvent) -> None:
        self.selected = ev
        self.detail_label.setText(describe(ev))
        if ev in self.events:
            row = self.events.index(ev)
            if self.event_list.currentRow() != row:
                self.event_list.blockSignals(True)
                self.event_list.setCurrentRow(row)
                self.event_list.blockSignals(False)
        self.event_selected.emit(ev)

    def marker_scene_pos(self, ev: TrendEvent):
        """Where an event's marker is drawn, in the trend widget's viewport coordinates."""
        _sym, _col, row = EVENT_STYLE.get(ev.kind, _DEFAULT_EVENT)
        vb = self.events_plot.getViewBox()
        scene = vb.mapViewToScene(pg.Point(ev.epoch, row))
        return self.glw.mapFromScene(scene)


def _local(t: datetime) -> str:
    return t.astimezone().strftime("%H:%M")


def _local_epoch(t: float) -> str:
    try:
        return datetime.fromtimestamp(t).strftime("%H:%M")
    except (OverflowError, OSError, ValueError):
        return ""


def describe(ev: TrendEvent) -> str:
    head = f"{ev.time.astimezone().strftime('%H:%M:%S')}  {ev.kind.capitalize()}: {ev.label}"
    return f"{head}\n{ev.detail}" if ev.detail else head
