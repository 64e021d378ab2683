"""The station's main window: the chair grid, a chair's detail, menus, and the two timers that
render what the station says.

The live bridge redraws what changed at 60 Hz from the live store (a frame with nothing new costs
little; 30 Hz left the 32-chair tick rate at 29-30/s, make bench). The alarm timer (4 Hz) calls
the station controller's tick (``nursestation.station``: alarm engines, their record, baselines,
BP deadlines, the chart's reread and the pump-change scan, whoever is logged in) and shows what
it returns: each chair's highest alarm, and the chart for the tiles when a new read arrived.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
import weakref
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.vocabulary import UNUSABLE
from nursestation.ui.bridge import LiveBridge
from nursestation.ui.context import AppContext, CurrentUser
from nursestation.ui.station import StationView
from nursestation.ui.tiles import AlarmSummary, TileContext

if TYPE_CHECKING:
    # the detail view brings pyqtgraph: imported when a chair is first opened; the record
    # (SQLAlchemy, the ORM models, the station controller) when it is open, after the first
    # frame (see ``record_opened``)
    from nursestation.record.chairs import ChairVisit, ChartRead
    from nursestation.station import StationController, Tick
    from nursestation.ui.detail import ChairDetail
    from nursestation.ui.trend import Series, TrendEvent

log = logging.getLogger(__name__)

#: s: how long a thread may hold the GIL while another wants it, while the station runs
GIL_SWITCH_INTERVAL_S = 0.001

_gc_frozen = False


def _freeze_startup_objects() -> None:
    """Once per process, after the first frame: move everything built so far (modules, Qt
    wrappers, SQLAlchemy metadata, the window) out of the collector's reach. A full collection
    otherwise walks those ~165 000 objects and, holding the GIL, stalled every thread for
    80-300 ms a few times a minute at 32 chairs (make bench: the frame timer's tail latency)."""
    global _gc_frozen
    if not _gc_frozen:
        _gc_frozen = True
        gc.freeze()


class ChartDialog(StrEnum):
    """The dialogs that chart on a chair's visit, by the title the nurse sees."""

    RIDE = "Ride home"
    DOSE_CHANGE = "Dose change"
    MEDICATION = "Medication"
    ASSESSMENT = "Assessment"
    NOTE = "Note"
    VITALS_CHECK = "Vitals check"


class VisitDialogFactory(Protocol):
    def __call__(self, ctx: AppContext, visit_id: int,
                 parent: QWidget | None = None) -> QDialog: ...


def _chart_dialogs() -> dict[ChartDialog, VisitDialogFactory]:
    """Each chart dialog's class; imported when a nurse first opens one (charting brings its
    own imports, which the station's start need not wait for)."""
    from nursestation.ui.charting import (
        AssessmentDialog,
        DoseChangeDialog,
        MedicationDialog,
        NoteDialog,
    )
    from nursestation.ui.discharge import RideDialog
    from nursestation.ui.vitalscheck import VitalsCheckDialog

    return {
        ChartDialog.RIDE: RideDialog,
        ChartDialog.DOSE_CHANGE: DoseChangeDialog,
        ChartDialog.MEDICATION: MedicationDialog,
        ChartDialog.ASSESSMENT: AssessmentDialog,
        ChartDialog.NOTE: NoteDialog,
        ChartDialog.VITALS_CHECK: VitalsCheckDialog,
    }


def _deliver_chart(window: weakref.ref) -> None:
    w = window()
    if w is not None:
        w._take_chart()


class MainWindow(QMainWindow):
    #: the chart for the tiles has been (re)read
    chart_loaded = Signal()
    #: the window's first frame has been painted (the station opens its record then)
    first_painted = Signal()

    def __init__(self, ctx: AppContext, station) -> None:
        super().__init__()
        self.ctx = ctx
        self.station = station
        self.runtime = station.runtime
        #: the station controller, once the record is open (``record_opened``)
        self.controller: StationController | None = None
        cfg = ctx.config
        self.setWindowTitle(f"NurseStation — {cfg.clinic_name}" + (" (demo)" if cfg.demo else ""))
        self.visits: dict[str, ChairVisit] = {}
        self.chair_ids: dict[str, int] = {}

        self.stack = QStackedWidget(self)
        # built inside the stack: added afterwards, its ~2000 widgets were styled twice
        self.view = StationView(ctx.live, [c.name for c in station.chairs], self.stack,
                                clock=ctx.clock, patient_display=cfg.patient_display)
        self.view.activated.connect(self.open_detail)
        self.stack.addWidget(self.view)
        self.detail: ChairDetail | None = None
        self.detail_page: QWidget | None = None
        self._detail_visit: int | None = None  # the visit the open detail shows
        self.dose_panel = None
        self.visits_dialog = None  # File → Visits, while open
        self.guide = None  # Help → Quick guide, while open
        self.setCentralWidget(self.stack)

        self.user_label = QLabel("not logged in")
        self.devices_label = QLabel("")
        self.statusBar().addWidget(self.user_label)
        self.statusBar().addPermanentWidget(self.devices_label)
        # the writer's degraded state across the top: "Record unreachable since 10:42 — …"
        from nursestation.ui.recordstate import station_banner

        self.record_label = station_banner(ctx, self)
        ctx.user_changed.connect(self._show_user)
        ctx.changed.connect(lambda *_: self.refresh_chart())

        self.bridge = LiveBridge(ctx.live, fps=60.0, parent=self)
        self.bridge.attach(self.view)
        self.alarm_timer = QTimer(self)
        self.alarm_timer.setInterval(250)
        self.alarm_timer.timeout.connect(self.process_alarms)
        self._stopped = False
        self._started = False
        self._switch_interval: float | None = None  # Python's, while the station runs
        from nursestation.ui.login import IdleLock

        self.lock = IdleLock(ctx, self, keep_visible=self.view.alarm_bar)
        self.lock.locked_changed.connect(self._locked)
        self._build_menus()
        #: sound, audio-paused indicator, alarm reasons: with the alarm tick, once the record
        #: is open (Qt Multimedia and the audio device are not the first frame's)
        self.alarm_presenter = None
        if station.controller is not None:
            self.record_opened()
        else:
            self.record_label.setText("Opening the record…")
            self.record_label._set_shown(True)
            # who sits in each chair is not known yet: not "empty"
            self.view.set_contexts({chair: TileContext(unknown="opening the record…")
                                    for chair in self.view.tiles})

    def record_opened(self) -> None:
        """The station's record is open (the station opens it after the window's first
        frame): the station controller's tick starts and the chart fills the tiles in."""
        self.controller = self.station.controller
        if self.alarm_presenter is None:
            from nursestation.ui.alarmui import AlarmPresenter

            self.alarm_presenter = AlarmPresenter(self.ctx, self.runtime, self)
        # A chart read finished on the controller's reader thread: show it now, not at the
        # next tick. The callback holds only the context and a weak reference to the window.
        window = weakref.ref(self)
        ctx = self.ctx
        self.controller.on_chart = lambda: ctx.call_soon(partial(_deliver_chart, window))
        self.show_record_health()
        if self._started and not self._stopped:
            self.alarm_timer.start()
            self.refresh_chart()

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        # The first chart read (SQLAlchemy on the chart-reader thread, ~0.3-0.9 s at 32 chairs,
        # mostly holding the GIL) waits for the first frame: the grid shows at once, then the
        # chairs' visits fill in.
        self.bridge.frame.connect(self._chart_after_first_frame)
        self.bridge.frame.connect(self._watch_first_paint)
        if os.environ.get("NURSESTATION_MARK_FIRST_FRAME"):  # make bench: cold start time
            self.first_painted.connect(self._mark_first_frame)
            self.bridge.frame.connect(self._mark_devices_online)
        # The GUI thread drops the GIL in every Qt call and must win it back each time; a
        # CPU-bound thread (the chart read's SQLAlchemy, the writer, a burst of decoding) keeps
        # it for a whole switch interval first. At 5 ms (Python's default) that made frames of
        # 60-120 ms; at 1 ms the 32-chair write -> drawn frame p99 went from ~79 to ~44 ms
        # (median of five runs each; make bench), the reader threads' CPU within the noise.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        self.bridge.start()
        QTimer.singleShot(1000, _freeze_startup_objects)
        self._started = True
        if self.controller is not None:
            self.alarm_timer.start()

    def stop(self) -> None:
        self._stopped = True  # a chart refresh still queued (after a write, a read) is dropped
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
        self.bridge.stop()
        self.alarm_timer.stop()
        if self.controller is not None:
            self.controller.on_chart = None
        if self.alarm_presenter is not None:
            self.alarm_presenter.stop()
        self.lock.remove()  # its application-wide input filter goes with the window

    def _chart_after_first_frame(self, _now: float) -> None:
        self.bridge.frame.disconnect(self._chart_after_first_frame)
        self.refresh_chart()

    def _watch_first_paint(self, _now: float) -> None:
        """The first frame counts once it is painted, not when its tick ran (the paint comes
        later, with the window's next update): ``first_painted`` after the next paint of the
        window has been handled."""
        self.bridge.frame.disconnect(self._watch_first_paint)
        from PySide6.QtCore import QEvent, QObject

        window = self

        class AfterPaint(QObject):
            def eventFilter(self, obj, ev):
                if ev.type() == QEvent.Type.Paint:
                    window.removeEventFilter(self)
                    QTimer.singleShot(0, window.first_painted.emit)
                return False

        self._first_paint_filter = AfterPaint(self)
        self.installEventFilter(self._first_paint_filter)
        self.update()  # the frame's tiles repaint in the same pass as the window

    def _mark_first_frame(self) -> None:
        """make bench: the wall time of the first painted frame."""
        print(f"nursestation: first frame at {time.time():.6f}", file=sys.stderr, flush=True)

    def _mark_devices_online(self, _now: float) -> None:
        links = list(self.runtime.links.values())
        if links and all(link.health == "online" for link in links):
            self.bridge.frame.disconnect(self._mark_devices_online)
            print(f"nursestation: {len(links)} devices online at {time.time():.6f}",
                  file=sys.stderr, flush=True)

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)

    # -- menus ---------------------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut: str | QKeySequence | None = None
                ) -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(slot)
        menu.addAction(act)
        self.addAction(act)
        return act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Print session summary…", self.print_summary,
                     QKeySequence.StandardKey.Print)
        self._action(f, "&Export session summary as PDF…", self.export_summary, "Ctrl+E")
        self._action(f, "&Visits (today, search) — print or export…",
                     lambda: self.show_visits(), "Ctrl+O")
        f.addSeparator()
        self._action(f, "&Lock screen", lambda: self.lock.lock_now(), "Ctrl+L")
        self._action(f, "S&witch user…", lambda: self.lock.switch_user(), "Ctrl+Shift+L")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        c = mb.addMenu("&Chair")
        self.next_action = self._action(c, "&Next step…", self.next_step, "F5")
        self._action(c, "&Open chair detail", lambda: self.open_detail(self.current_chair()),
                     "Ctrl+Return")
        self._action(c, "Back to all &chairs", self.close_detail, "Ctrl+Backspace")
        c.addSeparator()
        self._action(c, "&Ride home…", lambda: self._visit_dialog(ChartDialog.RIDE),
                     "Ctrl+Shift+R")
        self._action(c, "&Discharge…", self.discharge, "Ctrl+D")

        ch = mb.addMenu("C&hart")
        self._action(ch, "&Dose change / pause / stop…",
                     lambda: self._visit_dialog(ChartDialog.DOSE_CHANGE), "Ctrl+R")
        self._action(ch, "&Medication (antiemetic)…",
                     lambda: self._visit_dialog(ChartDialog.MEDICATION), "Ctrl+M")
        self._action(ch, "&Assessment (CADSS-6, MOAA/S, nausea)…",
                     lambda: self._visit_dialog(ChartDialog.ASSESSMENT), "Ctrl+Shift+A")
        self._action(ch, "&Note…", lambda: self._visit_dialog(ChartDialog.NOTE), "Ctrl+T")
        self._action(ch, "Manual &vitals check…",
                     lambda: self._visit_dialog(ChartDialog.VITALS_CHECK),
                     "Ctrl+Shift+V")
        ch.addSeparator()
        self._action(ch, "Confirm &pump change…", self.pump_changes, "Ctrl+U")
        self._action(ch, "Entry &history and amendments…", self.entry_history, "Ctrl+H")

        a = mb.addMenu("&Alarms")
        self._action(a, "&Acknowledge chair's alarms", self.acknowledge_alarms, "F2")
        pause_min = self.ctx.protocol.alarms.audio_pause_s / 60.0
        self._action(a, f"&Pause audio ({pause_min:g} min)", self.pause_audio, "F3")

        h = mb.addMenu("&Help")
        self._action(h, "Nurse's &quick guide", self.show_guide, "F1")
        self._action(h, "&About NurseStation", self.about)

    # -- helpers -------------------------------------------------------------------------------
    def current_chair(self) -> str | None:
        if self.detail is not None and self.stack.currentWidget() is self.detail_page:
            return self.detail.chair
        return self.view.focused_chair() or (self.view._order[0] if self.view._order else None)

    def current_visit(self) -> ChairVisit | None:
        chair = self.current_chair()
        return self.visits.get(chair) if chair else None

    def _user_name(self) -> str:
        return self.ctx.user.username if self.ctx.user else "unknown"

    def _show_user(self, user: CurrentUser | None) -> None:
        self.user_label.setText(f"{user.display_name} ({user.role})" if user else "locked")

    def _inform(self, title: str, text: str) -> QMessageBox:
        """A message box as dark as the station (never a light flash on a dark screen)."""
        from nursestation.ui.visit_common import styled

        box = QMessageBox(QMessageBox.Icon.Information, title, text,
                          QMessageBox.StandardButton.Ok, self)
        styled(box)
        self._open(box)
        return box

    def _locked(self, locked: bool) -> None:
        """Locked, the station stays a monitor: tiles keep waves, numerics and alarms, names
        are masked (``locked_patient_display``); a chair's detail closes (it needs a PIN)."""
        cfg = self.ctx.config
        self.view.set_patient_display(cfg.locked_patient_display if locked
                                      else cfg.patient_display)
        if locked and self.detail is not None and self.stack.currentWidget() is self.detail_page:
            self.close_detail()

    def show_guide(self) -> None:
        from nursestation.ui.help import HelpDialog

        self.guide = HelpDialog(self)
        self._open(self.guide)

    def about(self) -> None:
        from nursestation import __version__

        self._inform("About NurseStation",
                     f"NurseStation {__version__}\nProtocol: {self.ctx.protocol.name} "
                     f"(version {self.ctx.protocol.version})\n"
                     f"Decision support for clinicians: it never commands a pump.")

    # -- chair detail --------------------------------------------------------------------------
    def open_detail(self, chair: str | None, *, rebuild: bool = False) -> None:
        if not chair:
            return
        visit = self.visits.get(chair)
        self._detail_visit = visit.visit_id if visit is not None else None
        if rebuild or self.detail is None or self.detail.chair != chair:
            if self.detail is not None:
                self.bridge.detach(self.detail)
                self.stack.removeWidget(self.detail_page)
                self.detail_page.deleteLater()
            self.detail_page = QWidget()
            lay = QVBoxLayout(self.detail_page)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(0)
            from nursestation.ui.detail import ChairDetail

            self.detail = ChairDetail(chair, clock=self.ctx.clock,
                                      patient_display=self.ctx.config.patient_display)
            self.detail.closed.connect(lambda _c: self.close_detail())
            lay.addWidget(self.detail, 1)
            self.dose_panel = None
            if visit is not None:
                from nursestation.ui.charting import DeliveredDosePanel

                # charted dose (mg, mg/kg) against the pump's volume infused
                self.dose_panel = DeliveredDosePanel(self.ctx, visit.visit_id, self.detail_page)
                self.dose_panel.setObjectName("DosePanel")
                # a plain QWidget paints a style-sheet background only when asked to
                self.dose_panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
                self.dose_panel.setStyleSheet(
                    "#DosePanel { background: #0b0f14; } QLabel { color: #d0d7de; "
                    "padding: 4px 8px; }")
                lay.addWidget(self.dose_panel)
            self.stack.addWidget(self.detail_page)
            self.bridge.attach(self.detail)
        self.detail.set_context(self._tile_context(chair, visit))
        if visit is not None:
            self.detail.set_history(visit.visit_id, visit.checkin_at, self._history)
            self.detail.set_events(self._events(visit.visit_id))
        self.stack.setCurrentWidget(self.detail_page)
        self.detail.setFocus()

    def _refresh_detail_chart(self) -> None:
        """New chart entries appear on the open detail's trend, and its dose panel follows."""
        if self.detail is None or self.stack.currentWidget() is not self.detail_page:
            return
        visit = self.visits.get(self.detail.chair)
        if visit is not None and visit.visit_id != self._detail_visit:
            # opened before the chart was read (or a new visit began in the chair): the
            # visit's history, events and dose panel come now
            self.open_detail(self.detail.chair, rebuild=True)
            return
        if visit is not None:
            self.detail.set_events(self._events(visit.visit_id))
        if self.dose_panel is not None:
            self.dose_panel.refresh()

    def close_detail(self) -> None:
        chair = self.detail.chair if self.detail is not None else None
        self.stack.setCurrentWidget(self.view)
        if chair:
            self.view.focus_chair(chair)

    def _history(self, visit_id: object, t0: float, t1: float) -> Series:
        """Full disclosure: every stored numeric of the visit between t0 and t1 (epoch s)."""
        from datetime import UTC

        from nursestation.db import repo
        from nursestation.ui.trend import series_key

        start = datetime.fromtimestamp(t0, UTC)
        end = datetime.fromtimestamp(t1, UTC)
        samples = self.ctx.read(repo.vitals_in_range, visit_id=int(visit_id), start=start,
                                end=end, all_sites=True)
        out: dict[str, tuple[list[float], list[float]]] = {}
        for s in samples:
            times, values = out.setdefault(series_key(s.code, s.site, s.primary), ([], []))
            times.append(s.time.timestamp())
            usable = s.value is not None and not (s.quality & UNUSABLE)
            values.append(s.value if usable else np.nan)
        return {code: (np.asarray(t, float), np.asarray(v, float)) for code, (t, v) in out.items()}

    def _events(self, visit_id: int) -> list[TrendEvent]:
        from nursestation.record.timeline import visit_timeline
        from nursestation.ui.trend import TrendEvent

        return [TrendEvent(e.time, e.kind, e.label, e.detail)
                for e in self.ctx.read(visit_timeline, visit_id)]

    # -- the chart, for the tiles ---------------------------------------------------------------
    def refresh_chart(self) -> None:
        """Ask the station controller to reread the chart (on its reader thread: at 32 chairs
        the reads take a good part of a second); it arrives through :meth:`_take_chart`."""
        if not self._stopped and self.controller is not None:
            self.controller.refresh_chart()

    def _take_chart(self) -> None:
        if not self._stopped and self.controller is not None:
            self._show_chart(self.controller.take_chart())

    def _show_chart(self, chart: ChartRead | None) -> None:
        if chart is None:
            return
        self.visits = chart.visits
        contexts = {chair: self._tile_context(chair, self.visits.get(chair))
                    for chair in self.view.tiles}
        self.view.set_contexts(contexts)
        if self.detail is not None and self.detail.chair in contexts:
            self.detail.set_context(contexts[self.detail.chair])
        self._refresh_detail_chart()
        online = sum(1 for link in self.runtime.links.values() if link.health == "online")
        self.devices_label.setText(f"devices online {online}/{len(self.runtime.links)}")
        self.chart_loaded.emit()

    def show_record_health(self) -> None:
        self.record_label.watch.poll()

    def _tile_context(self, chair: str, v: ChairVisit | None) -> TileContext:
        from nursestation.core.vocabulary import phase_word

        if v is None:
            return TileContext(phase="free")
        pending = list(v.attention)
        if v.pending_pump_changes:
            n = v.pending_pump_changes
            pending.append(f"{n} pump change{'s' if n > 1 else ''} to confirm")
        return TileContext(
            patient_name=v.patient_name, mrn=v.mrn,
            phase=phase_word(v.phase), phase_started=v.phase_started,
            infusion_started=v.infusion_started, infusion_ended=v.infusion_ended,
            course=f"{v.course_number} of {self.ctx.protocol.course_length}",
            pending=tuple(pending), assessments=v.assessments,
        )

    # -- alarms --------------------------------------------------------------------------------
    def process_alarms(self) -> None:
        """One tick of the station controller, rendered."""
        if self.controller is not None:
            self._render(self.controller.tick())

    def _render(self, tick: Tick[ChartRead]) -> None:
        self._show_chart(tick.chart)
        summaries = {chair: AlarmSummary.of(a.active if a is not None else (),
                                            self.view.device_labels(chair))
                     for chair, a in tick.alarms.items()}
        self.view.set_alarms(summaries)
        if self.detail is not None:
            self.detail.set_alarm(summaries.get(self.detail.chair))
        self.alarm_presenter.update()


    def _chair_id(self, chair: str) -> int | None:
        from nursestation.db import repo

        if chair not in self.chair_ids:
            self.chair_ids = {c.name: c.id for c in self.ctx.read(repo.list_chairs)}
        return self.chair_ids.get(chair)

    def acknowledge_alarms(self) -> None:
        chair = self.current_chair()
        if chair and self.controller is not None:
            user = self.ctx.user
            self.controller.acknowledge(chair, user.id if user else None, self._user_name())
            self.process_alarms()

    def pause_audio(self) -> None:
        chair = self.current_chair()
        if chair and self.controller is not None:
            user = self.ctx.user
            self.controller.pause_audio(chair, user.id if user else None, self._user_name())
            self.process_alarms()

    # -- dialogs -------------------------------------------------------------------------------
    def _need_user(self) -> bool:
        if self.ctx.user is None:
            self.lock.switch_user()
            return False
        return True

    def _need_visit(self, what: str) -> ChairVisit | None:
        visit = self.current_visit()
        if visit is None:
            self._inform(what, f"{self.current_chair() or 'This chair'} has "
                         "no active visit. Use Chair → Next step to assign a patient.")
        return visit

    def _open(self, dialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.open()

    def next_step(self) -> None:
        from nursestation.ui.visitflow import next_step_for_chair

        chair = self.current_chair()
        if not chair or not self._need_user():
            return
        label, factory = next_step_for_chair(self.ctx, self._chair_id(chair), chair)
        if factory is None:
            if label.startswith("Discharge"):
                self.discharge()
            return
        self._open(factory(self.ctx, self))

    def _visit_dialog(self, which: ChartDialog) -> None:
        if not self._need_user():
            return
        visit = self._need_visit(which.value)
        if visit is None:
            return
        self._open(_chart_dialogs()[which](self.ctx, visit.visit_id, self))

    def discharge(self) -> None:
        from nursestation.ui.discharge import DischargeDialog

        if not self._need_user():
            return
        visit = self._need_visit("Discharge")
        if visit is not None:
            self._open(DischargeDialog(self.ctx, visit.visit_id, parent=self))

    def pump_changes(self) -> None:
        from nursestation.db import repo
        from nursestation.ui.charting import PumpChangeDialog

        if not self._need_user():
            return
        visit = self._need_visit("Pump change")
        if visit is None:
            return
        items = self.ctx.read(repo.pending_pump_changes, visit_id=visit.visit_id)
        if not items:
            self._inform("Pump change",
                         f"No pending pump changes on {visit.chair}.")
            return
        self._open(PumpChangeDialog(self.ctx, items[0].id, self))

    def entry_history(self) -> None:
        from PySide6.QtWidgets import QDialog, QVBoxLayout

        from nursestation.ui.charting import AmendDialog, EntryHistoryView
        from nursestation.ui.visit_common import styled

        visit = self._need_visit("Entry history")
        if visit is None:
            return
        dlg = QDialog(self)
        styled(dlg)
        dlg.setWindowTitle(f"Chart of {visit.patient_name} — {visit.chair}")
        dlg.resize(900, 600)
        view = EntryHistoryView(self.ctx, visit.visit_id, dlg)

        def amend(entry_type: str, entry_id: int) -> None:
            if self._need_user():
                self._open(AmendDialog(self.ctx, entry_type, entry_id, dlg))

        view.amend_requested.connect(amend)
        QVBoxLayout(dlg).addWidget(view)
        self._open(dlg)

    # -- printing ------------------------------------------------------------------------------
    def _summary(self):
        from nursestation.report.build import build_summary

        visit = self.current_visit()
        if visit is None:  # e.g. discharged a minute ago: find the visit in the list
            self.show_visits(self.current_chair() or "")
            return None
        return self.ctx.read(build_summary, visit.visit_id, self.ctx.protocol,
                             clinic=self.ctx.config.clinic_name)

    def show_visits(self, search: str = "") -> None:
        """Today's visits (any visit by search), to print or export a session summary."""
        from nursestation.ui.visits import VisitsDialog

        if not self._need_user():
            return
        dlg = VisitsDialog(self.ctx, self, search=search)
        dlg.summary_requested.connect(self._visit_summary)
        self.visits_dialog = dlg
        self._open(dlg)

    def _visit_summary(self, visit_id: int, what: str) -> None:
        from nursestation.report.build import build_summary
        from nursestation.ui.printing import export_pdf, print_summary

        summary = self.ctx.read(build_summary, visit_id, self.ctx.protocol,
                                clinic=self.ctx.config.clinic_name)
        if what == "export":
            export_pdf(self, summary)
        else:
            print_summary(self, summary)

    def print_summary(self) -> None:
        from nursestation.ui.printing import print_summary

        summary = self._summary()
        if summary is not None:
            print_summary(self, summary, paper=self.ctx.config.paper)

    def export_summary(self) -> None:
        from nursestation.ui.printing import export_pdf

        summary = self._summary()
        if summary is not None:
            export_pdf(self, summary, paper=self.ctx.config.paper)
