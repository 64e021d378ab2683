"""The charge nurse's overview (``nursestation overview``): every chair at once, read from the
shared database, on another screen or another machine.

One row per chair: patient, phase and time in phase, latest vitals (stale values in brackets,
device-flagged ones with "?"), alarms (priority as ***/**/* text, escalated ones spelled out on a
red cell), overdue checks, pending pump changes, ride home and discharge readiness. Sortable by
any column (click a header, or the keyboard), filterable by text and three toggles.

The window polls ``db.overview.ChangeWatcher`` every ``POLL_MS`` and re-reads the rows when the
record changed, and at least every ``REFRESH_MS`` so times in phase and ages move. Everything
shown is decided in ``db.overview`` / ``core``; this module only lays it out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.alarms import PRIORITIES
from nursestation.core.ride import RIDE_STATE_WORDS, RideState
from nursestation.core.vocabulary import phase_word
from nursestation.db.overview import ChangeWatcher, database_label
from nursestation.record.overview import OverviewRow, ReadinessCache, VitalCell, overview_rows
from nursestation.ui import style
from nursestation.ui.context import AppContext
from nursestation.ui.tiles import fmt_duration, initials

log = logging.getLogger(__name__)

POLL_MS = 400
REFRESH_MS = 5000

PHASE_ORDER = {"check_in": 1, "baseline": 2, "infusing": 3, "recovery": 4}
OK_GREEN = "#3ddc84"
ESCALATED_BG = "#8b0012"

COLUMNS = ("Chair", "Patient", "MRN", "Phase", "In phase", "HR", "SpO\u2082", "NBP", "RR",
           "Alarms", "Checks", "Pump", "Ride", "Discharge")
(C_CHAIR, C_PATIENT, C_MRN, C_PHASE, C_TIME, C_HR, C_SPO2, C_NBP, C_RR, C_ALARMS, C_CHECKS,
 C_PUMP, C_RIDE, C_DISCHARGE) = range(len(COLUMNS))

STYLESHEET = f"""
QMainWindow#OverviewWindow, QWidget#OverviewCentral {{ background: {style.BACKGROUND};
    color: {style.TEXT}; }}
QTableView {{ background: {style.TILE_BG}; alternate-background-color: #10161d;
    color: {style.TEXT}; gridline-color: {style.TILE_BORDER}; border: 1px solid {style.TILE_BORDER};
    selection-background-color: #1d3550; selection-color: #ffffff; }}
QTableView:focus {{ border: 1px solid {style.FOCUS}; }}
QHeaderView::section {{ background: #141b23; color: {style.DIM}; border: none;
    border-right: 1px solid {style.TILE_BORDER}; border-bottom: 1px solid {style.TILE_BORDER};
    padding: 3px 6px; font-weight: bold; }}
QLineEdit {{ background: #10161d; color: {style.TEXT}; border: 1px solid {style.TILE_BORDER};
    padding: 3px 6px; }}
QLineEdit:focus, QCheckBox:focus {{ border: 1px solid {style.FOCUS}; }}
QCheckBox {{ color: {style.TEXT}; padding: 2px 4px; border: 1px solid transparent; }}
QLabel {{ color: {style.TEXT}; background: transparent; }}
QLabel#Summary {{ color: {style.TEXT}; font-weight: bold; }}
QStatusBar {{ background: #0b0f14; color: {style.DIM}; border-top: 1px solid {style.TILE_BORDER}; }}
QStatusBar QLabel {{ color: {style.DIM}; }}
QScrollBar {{ background: {style.TILE_BG}; border: none; width: 12px; height: 12px; }}
QScrollBar::handle {{ background: #2a3340; min-width: 24px; min-height: 24px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QToolTip {{ background: #1b232d; color: {style.TEXT}; border: 1px solid {style.TILE_BORDER}; }}
"""


# ------------------------------------------------------------------------------- cell texts


def _local(t: datetime) -> datetime:
    return t.astimezone()


def _vital_text(cell: VitalCell | None) -> str:
    if cell is None:
        return "--"
    text = "?" if cell.value is None else f"{cell.value:.0f}"
    if cell.unusable and cell.value is not None:
        text += "?"
    return f"({text})" if cell.stale else text


def _vital_tip(label: str, cell: VitalCell | None) -> str:
    if cell is None:
        return f"{label}: no value this visit"
    parts = [f"{label} {cell.text()} at {_local(cell.at):%H:%M:%S}"]
    if cell.stale:
        parts.append(f"stale: no update for {cell.age_s:.0f} s")
    if cell.unusable:
        parts.append("flagged invalid or unavailable by the device")
    return "; ".join(parts)


def _age_text(seconds: float) -> str:
    if seconds < 60:
        return "<1 min"  # as the tile says it
    m = int(seconds // 60)
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60:02d}"


def _nbp_text(r: OverviewRow) -> str:
    if r.nbp_sys is None:
        return "--"
    dia = f"{r.nbp_dia.value:.0f}" if r.nbp_dia and r.nbp_dia.value is not None else "?"
    sys_ = f"{r.nbp_sys.value:.0f}" if r.nbp_sys.value is not None else "?"
    bp = f"{sys_}/{dia}"
    if r.nbp_sys.stale:
        bp = f"({bp})"
    return f"{bp}  {_age_text(r.nbp_sys.age_s)}"


def _alarm_text(r: OverviewRow) -> str:
    top = r.top_alarm
    if top is None:
        return ""
    text = f"{top.mark} {'ESCALATED ' if top.escalated else ''}{top.message}"
    if top.state in ("acknowledged", "paused"):
        text += f" [{top.state}]"
    if len(r.alarms) > 1:
        text += f"  (+{len(r.alarms) - 1})"
    return text


def _alarm_tip(r: OverviewRow) -> str:
    return "\n".join(f"{a.mark} {a.priority}{' ESCALATED' if a.escalated else ''}: {a.message} "
                     f"({a.state}, since {_local(a.since):%H:%M:%S})" for a in r.alarms)


def _checks_text(r: OverviewRow) -> str:
    if r.screening_unmet:  # blocking screening items: shown until met, override or not
        more = f" (+{len(r.screening_unmet) - 1})" if len(r.screening_unmet) > 1 else ""
        return r.screening_unmet[0].replace("screening not met: ", "SCREENING: ", 1) + more
    if r.overdue_checks:
        more = f" (+{len(r.overdue_checks) - 1})" if len(r.overdue_checks) > 1 else ""
        return f"OVERDUE: {r.overdue_checks[-1]}{more}"
    if r.due_checks:
        return f"due {r.due_checks[-1]}"
    if r.missed_checks:
        return f"{len(r.missed_checks)} missed earlier"
    return f"next: {r.next_check}" if r.next_check else ""


def _pump_text(r: OverviewRow) -> str:
    """As the tile shows it: rate and state, then pump changes waiting for a nurse."""
    parts = []
    if r.pump_rate is not None and r.pump_rate.value is not None:
        rate = f"{r.pump_rate.value:g} mL/h"
        parts.append(f"({rate})" if r.pump_rate.stale else rate)
    if r.pump_state:
        parts.append(r.pump_state)
    if r.pending_pump_changes:
        parts.append(f"{r.pending_pump_changes} change(s) to confirm")
    return " · ".join(parts)


def _ride_text(r: OverviewRow) -> str:
    if r.ride is None:
        return ""
    mark = "\u2713 " if r.ride is RideState.CONFIRMED else ""
    return mark + RIDE_STATE_WORDS[r.ride]


def _discharge_text(r: OverviewRow) -> str:
    if r.readiness is None:
        return "" if not r.occupied else "\u2014"
    if r.readiness.ready:
        return "\u2713 READY"
    names = ", ".join(n for n, _ in r.readiness.unmet)
    return f"{len(r.readiness.unmet)} unmet: {names}"


# ------------------------------------------------------------------------------------ model


class OverviewModel(QAbstractTableModel):
    """The rows as a Qt table. ``sort_key`` gives each cell's key for the proxy's ordering."""

    def __init__(self, patient_display: str = "name") -> None:
        super().__init__()
        self.rows: list[OverviewRow] = []
        self.patient_display = patient_display
        self._bold = QFont()
        self._bold.setBold(True)

    # -- structure ------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def set_rows(self, rows: list[OverviewRow]) -> None:
        """Replace the rows; when the chairs are the same ones, in place (selection and scroll
        stay where the charge nurse left them)."""
        if [r.chair_id for r in rows] == [r.chair_id for r in self.rows]:
            self.rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    # -- cells ----------------------------------------------------------------------------
    def patient(self, r: OverviewRow) -> str:
        if not r.occupied:
            return "(empty)"
        return initials(r.patient_name) if self.patient_display == "initials" else r.patient_name

    def text(self, r: OverviewRow, col: int) -> str:
        if col == C_CHAIR:
            return r.chair
        if col == C_PATIENT:
            return self.patient(r)
        if col == C_MRN:
            return r.mrn
        if col == C_PHASE:
            return phase_word(r.phase)
        if col == C_TIME:
            return fmt_duration(r.time_in_phase_s) if r.time_in_phase_s is not None else ""
        if col == C_HR:
            return _vital_text(r.hr) if r.occupied else ""
        if col == C_SPO2:
            return _vital_text(r.spo2) if r.occupied else ""
        if col == C_NBP:
            return _nbp_text(r) if r.occupied else ""
        if col == C_RR:
            return _vital_text(r.rr) if r.occupied else ""
        if col == C_ALARMS:
            return _alarm_text(r)
        if col == C_CHECKS:
            return _checks_text(r)
        if col == C_PUMP:
            return _pump_text(r)
        if col == C_RIDE:
            return _ride_text(r)
        if col == C_DISCHARGE:
            return _discharge_text(r)
        return ""

    def tooltip(self, r: OverviewRow, col: int) -> str:
        if col == C_PATIENT and r.occupied:
            return f"{r.patient_name} ({r.mrn})"
        if col == C_HR:
            return _vital_tip("HR" if r.hr is None or r.hr.code == "HR" else "PR", r.hr)
        if col == C_SPO2:
            return _vital_tip("SpO2", r.spo2)
        if col == C_RR:
            return _vital_tip("RR", r.rr)
        if col == C_NBP and r.nbp_sys is not None:
            return _vital_tip("NBP systolic", r.nbp_sys) + (
                f"; older than {int(r.nbp_sys.age_s // 60)} min" if r.nbp_sys.stale else "")
        if col == C_ALARMS:
            return _alarm_tip(r)
        if col == C_CHECKS:
            lines = list(r.screening_unmet) + [f"overdue: {c}" for c in r.overdue_checks] + \
                    [f"due: {c}" for c in r.due_checks] + \
                    [f"missed earlier: {c}" for c in r.missed_checks]
            return "\n".join(lines)
        if col == C_RIDE:
            return r.ride_detail
        if col == C_DISCHARGE and r.readiness is not None:
            if r.readiness.ready:
                return "every discharge criterion met"
            return "\n".join(f"\u2717 {n}: {d}" for n, d in r.readiness.unmet)
        return ""

    def colour(self, r: OverviewRow, col: int) -> str | None:
        if col == C_ALARMS and r.top_alarm is not None:
            if r.escalated:
                return "#ffffff"
            colours = style.priority_colours(r.top_alarm.priority)
            return colours[0] if colours else None
        if col == C_CHAIR and r.escalated:
            return "#ffffff"
        cell = {C_HR: r.hr, C_SPO2: r.spo2, C_RR: r.rr, C_NBP: r.nbp_sys}.get(col)
        if col in (C_HR, C_SPO2, C_RR, C_NBP):
            if cell is None or cell.stale or cell.unusable:
                return style.DIM
            return {C_HR: style.GREEN, C_SPO2: style.CYAN, C_RR: style.YELLOW,
                    C_NBP: style.NBP}[col]
        if col == C_CHECKS and r.overdue_checks:
            return style.ALARM_YELLOW
        if col == C_PUMP and r.pending_pump_changes:
            return style.PUMP
        if col == C_RIDE and r.ride is not None:
            if r.ride is RideState.CONFIRMED:
                return OK_GREEN
            # no ride matters once the patient is recovering; before that it is a reminder
            return style.ALARM_YELLOW if r.phase == "recovery" else style.DIM
        if col == C_DISCHARGE and r.readiness is not None:
            return OK_GREEN if r.readiness.ready else style.DIM
        if not r.occupied:
            return style.DIM
        return None

    def sort_key(self, r: OverviewRow, col: int) -> tuple:
        def v(cell: VitalCell | None) -> float:
            return -1.0 if cell is None or cell.value is None else cell.value

        if col == C_CHAIR:
            return (r.position,)
        if col == C_PATIENT:
            return (not r.occupied, self.patient(r).lower())
        if col == C_MRN:
            return (not r.occupied, r.mrn)
        if col == C_PHASE:
            return (PHASE_ORDER.get(r.phase or "", 0), r.time_in_phase_s or 0.0)
        if col == C_TIME:
            return (r.time_in_phase_s if r.time_in_phase_s is not None else -1.0,)
        if col == C_HR:
            return (v(r.hr),)
        if col == C_SPO2:
            return (v(r.spo2),)
        if col == C_NBP:
            return (v(r.nbp_sys), v(r.nbp_dia))
        if col == C_RR:
            return (v(r.rr),)
        if col == C_ALARMS:
            return (r.alarm_rank, len(r.alarms))
        if col == C_CHECKS:
            return (len(r.overdue_checks), len(r.due_checks))
        if col == C_PUMP:
            return (r.pending_pump_changes,)
        if col == C_RIDE:
            order = {None: -1, RideState.NONE: 0, RideState.ARRANGED: 1, RideState.CONFIRMED: 2}
            return (order[r.ride],)
        if col == C_DISCHARGE:
            if r.readiness is None:
                return (-1, 0)
            return (1, 0) if r.readiness.ready else (0, -len(r.readiness.unmet))
        return (0,)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        r, col = self.rows[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.text(r, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(r, col) or None
        if role == Qt.ItemDataRole.ForegroundRole:
            c = self.colour(r, col)
            return QColor(c) if c else None
        if role == Qt.ItemDataRole.BackgroundRole:
            if r.escalated and col in (C_CHAIR, C_ALARMS):
                return QColor(ESCALATED_BG)
            return None
        if role == Qt.ItemDataRole.FontRole:
            if col in (C_CHAIR, C_ALARMS) and r.top_alarm is not None and \
                    (r.escalated or r.top_alarm.priority == "high"):
                return self._bold
            if col == C_CHECKS and r.overdue_checks:
                return self._bold
            if col == C_DISCHARGE and r.ready:
                return self._bold
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (C_HR, C_SPO2, C_RR, C_TIME,
                                                                  C_PUMP):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class OverviewFilter(QSortFilterProxyModel):
    """Text filter (chair, patient, MRN, phase, alarm text; every word must match) and the
    quick toggles; ordering by ``OverviewModel.sort_key``."""

    def __init__(self, model: OverviewModel) -> None:
        super().__init__()
        self.setSourceModel(model)
        self._model = model
        self.words: list[str] = []
        self.alarms_only = False
        self.ready_only = False
        self.overdue_only = False

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self.words = text.lower().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_toggle(self, name: str, on: bool) -> None:
        self.beginFilterChange()
        setattr(self, name, on)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int,
                         source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        r = self._model.rows[source_row]
        if self.alarms_only and not r.alarms:
            return False
        if self.ready_only and not r.ready:
            return False
        if self.overdue_only and not r.overdue_checks:
            return False
        if self.words:
            hay = " ".join(self._model.text(r, c) for c in range(len(COLUMNS))).lower()
            hay += " " + r.patient_name.lower()
            return all(w in hay for w in self.words)
        return True

    def lessThan(self, left: QModelIndex | QPersistentModelIndex,
                 right: QModelIndex | QPersistentModelIndex) -> bool:
        col = left.column()
        a = self._model.rows[left.row()]
        b = self._model.rows[right.row()]
        ka, kb = self._model.sort_key(a, col), self._model.sort_key(b, col)
        if ka == kb:
            return a.position < b.position
        return ka < kb


# ----------------------------------------------------------------------------------- window


class OverviewWindow(QMainWindow):
    """Every chair at once, for the charge nurse. ``stop()`` ends polling (the app calls it)."""

    def __init__(self, ctx: AppContext, *, watcher: ChangeWatcher | None = None,
                 poll_ms: int = POLL_MS, refresh_ms: int = REFRESH_MS) -> None:
        super().__init__()
        self.ctx = ctx
        self.login = None
        self.setObjectName("OverviewWindow")
        self.setWindowTitle(f"NurseStation overview \u2014 {ctx.config.clinic_name}")
        self.setStyleSheet(STYLESHEET)
        self.refresh_ms = refresh_ms
        self.watcher = watcher  # made at the first login
        self.cache = ReadinessCache()
        self.last_update: datetime | None = None
        self._last_refresh_mono = 0.0
        self.refreshes = 0

        self.model = OverviewModel(ctx.config.patient_display)
        self.proxy = OverviewFilter(self.model)

        central = QWidget(objectName="OverviewCentral")
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 8, 8, 4)
        outer.setSpacing(6)

        bar = QHBoxLayout()
        self.filter_edit = QLineEdit(placeholderText="Filter: chair, patient, MRN, phase, "
                                                     "alarm\u2026  (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter chairs")
        self.filter_edit.textChanged.connect(self._filter_changed)
        bar.addWidget(self.filter_edit, 3)
        self.alarms_only = QCheckBox("&Alarms only")
        self.ready_only = QCheckBox("&Ready for discharge")
        self.overdue_only = QCheckBox("&Overdue checks")
        for box, name in ((self.alarms_only, "alarms_only"), (self.ready_only, "ready_only"),
                          (self.overdue_only, "overdue_only")):
            box.toggled.connect(self._toggle(name))
            bar.addWidget(box)
        bar.addStretch(1)
        self.summary = QLabel("", objectName="Summary")
        bar.addWidget(self.summary)
        outer.addLayout(bar)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(C_CHAIR, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setFont(style.font(14))
        hh = self.table.horizontalHeader()
        hh.setFont(style.font(12, bold=True))
        hh.setHighlightSections(False)
        fit = QHeaderView.ResizeMode.ResizeToContents
        for col in range(len(COLUMNS)):
            hh.setSectionResizeMode(col, fit)
        hh.setSectionResizeMode(C_ALARMS, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(C_DISCHARGE, QHeaderView.ResizeMode.Stretch)
        hh.setMinimumSectionSize(44)
        self.table.setAccessibleName("Chairs")
        outer.addWidget(self.table, 1)
        #: until someone logs in, this stands where the chairs will be (nothing is read)
        self.gate = QLabel("The overview shows patients: log in as a nurse or charge nurse "
                           "to see the chairs.", objectName="Summary")
        self.gate.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.gate.setWordWrap(True)
        outer.addWidget(self.gate, 1)
        self.setCentralWidget(central)

        self.db_label = QLabel(database_label(ctx.engine))
        self.update_label = QLabel("")
        self.legend = QLabel("  ".join(f"{p.mark} {p.name}" for p in PRIORITIES.values())
                             + "  \u00b7  (value) stale  \u00b7  "
                             "value? flagged by the device")
        self.ehr_label = QLabel("")  # the HL7 feed to the EHR, when the clinic has one
        self.ehr_label.setVisible(False)
        self.statusBar().addWidget(self.db_label)
        self.statusBar().addWidget(self.ehr_label)
        self.statusBar().addWidget(self.update_label, 1)
        self.statusBar().addPermanentWidget(self.legend)
        from nursestation.ui.recordstate import overview_banner

        self.record_banner = overview_banner(ctx, self)

        QShortcut(QKeySequence.StandardKey.Find, self, activated=self._focus_filter)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self.filter_edit,
                  activated=self._clear_filter)
        self.setTabOrder(self.filter_edit, self.alarms_only)
        self.setTabOrder(self.alarms_only, self.ready_only)
        self.setTabOrder(self.ready_only, self.overdue_only)
        self.setTabOrder(self.overdue_only, self.table)

        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)
        ctx.user_changed.connect(self._user_changed)
        self._user_changed(ctx.user)

    # -- login ------------------------------------------------------------------------------
    def _user_changed(self, user: Any) -> None:
        """The chairs are read and shown only while someone is logged in (any role: the
        overview only reads)."""
        if user is None:
            self.timer.stop()
            self.table.hide()
            self.gate.show()
            self.model.set_rows([])
            self._ask_login()
            return
        self.gate.hide()
        self.table.show()
        if self.login is not None:
            self.login.close()
        if self.watcher is None:
            self.watcher = ChangeWatcher(self.ctx.engine)
        self.watcher.poll()  # the baseline marker; the first refresh reads everything
        self.refresh()
        self.timer.start()
        self.table.setFocus()
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def _ask_login(self) -> None:
        if self.login is not None:
            return
        from nursestation.ui.login import LoginDialog

        dlg = LoginDialog(self.ctx, self, title="Overview — log in")
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.finished.connect(self._login_closed)
        self.login = dlg
        dlg.open()

    def _login_closed(self, _result: int) -> None:
        self.login = None

    # -- filtering ------------------------------------------------------------------------
    def _toggle(self, name: str) -> Callable[[bool], None]:
        def apply(on: bool) -> None:
            self.proxy.set_toggle(name, on)
            self._show_summary()
        return apply

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_text(text)
        self._show_summary()

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _clear_filter(self) -> None:
        self.filter_edit.clear()
        self.table.setFocus()

    # -- refreshing -----------------------------------------------------------------------
    def poll(self) -> None:
        """Timer tick: re-read when the record changed, or when ``refresh_ms`` passed."""
        if self.watcher is None:
            return
        try:
            changed = self.watcher.poll()
        except Exception:  # a poll must never take the overview down
            log.exception("overview: change poll failed")
            changed = False
        due = (time.monotonic() - self._last_refresh_mono) * 1000 >= self.refresh_ms
        if changed or due:
            self.refresh()
        elif self.watcher.error:
            self._show_status()

    def refresh(self) -> None:
        if self.ctx.user is None or self.watcher is None:
            return  # nothing is read before a login
        self._last_refresh_mono = time.monotonic()
        now = self.ctx.clock.now()
        try:
            rows = self.ctx.read(overview_rows, self.ctx.protocol, now,
                                 display_tz=_local(now).tzinfo, cache=self.cache)
        except Exception as exc:  # noqa: BLE001 - the database may be away; keep the last rows
            log.warning("overview: cannot read the chairs: %s", exc)
            self.watcher.error = self.watcher.error or str(exc).splitlines()[0]
            self._show_status()
            return
        self.model.set_rows(rows)
        self.last_update = now
        self.refreshes += 1
        self._show_summary()
        self._show_status()
        self._show_ehr_feed()

    def _show_ehr_feed(self) -> None:
        """The EHR feed (HL7 outbound queue): failing since when and why, or up to date."""
        from nursestation.db.hl7queue import queue_overview

        try:
            q = self.ctx.read(queue_overview)
        except Exception:
            log.debug("overview: no EHR feed state", exc_info=True)
            return
        if not (q.waiting or q.failing or q.last_sent_at):
            self.ehr_label.setVisible(False)
            return
        self.ehr_label.setVisible(True)
        if q.failing:
            since = f"{_local(q.failing_since):%H:%M}" if q.failing_since else "?"
            self.ehr_label.setText(f"EHR FEED FAILING since {since}: {q.last_error} "
                                   f"({q.failing + q.waiting} not sent)")
            self.ehr_label.setStyleSheet(f"color: {style.ALARM_YELLOW}; font-weight: bold;")
        else:
            last = f"{_local(q.last_sent_at):%H:%M}" if q.last_sent_at else "-"
            waiting = f", {q.waiting} waiting" if q.waiting else ""
            self.ehr_label.setText(f"EHR feed: last sent {last}{waiting}")
            self.ehr_label.setStyleSheet("")

    def _show_summary(self) -> None:
        rows = self.model.rows
        occupied = sum(r.occupied for r in rows)
        alarms = sum(bool(r.alarms) for r in rows)
        escalated = sum(r.escalated for r in rows)
        ready = sum(r.ready for r in rows)
        overdue = sum(bool(r.overdue_checks) for r in rows)
        shown = self.proxy.rowCount()
        parts = [f"{occupied}/{len(rows)} chairs occupied", f"{alarms} alarming"]
        if escalated:
            parts.append(f"{escalated} ESCALATED")
        parts += [f"{overdue} overdue", f"{ready} ready"]
        if shown != len(rows):
            parts.append(f"showing {shown}")
        self.summary.setText("  \u00b7  ".join(parts))

    def _show_status(self) -> None:
        when = f"{_local(self.last_update):%H:%M:%S}" if self.last_update else "never"
        how = "live (LISTEN)" if self.watcher.listening else "polling"
        if self.watcher.error:
            self.update_label.setText(f"DATABASE UNREACHABLE: {self.watcher.error} \u2014 "
                                      f"showing data from {when}")
            self.update_label.setStyleSheet(f"color: {style.ALARM_YELLOW}; font-weight: bold;")
        else:
            self.update_label.setText(f"updated {when} \u00b7 {how}")
            self.update_label.setStyleSheet("")

    # -- lifecycle ------------------------------------------------------------------------
    def stop(self) -> None:
        self.timer.stop()
        if self.watcher is not None:
            self.watcher.close()

    def closeEvent(self, event: Any) -> None:
        self.stop()
        super().closeEvent(event)


__all__ = ["OverviewFilter", "OverviewModel", "OverviewWindow"]
