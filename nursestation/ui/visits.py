"""File → Visits: today's visits (and any visit by search) opened, reprinted and exported from
the station, discharged ones included — exactly when a summary is needed the chair is often
empty again ("The selected chair has no visit to summarise" was all a nurse got).

The list comes from ``repo.list_visits``; the summary is the one ``nursestation report``
writes (``report.build.build_summary``), printed and exported by ``ui.printing``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.vocabulary import phase_word
from nursestation.db import repo
from nursestation.ui.context import AppContext
from nursestation.ui.recordstate import RecordLine
from nursestation.ui.visit_common import MessageLine, header, styled

log = logging.getLogger(__name__)



class VisitsDialog(QDialog):
    """Find a visit (today's by default), then print or export its session summary."""

    HEADERS = ("Visit", "Patient", "MRN", "Chair", "Checked in", "Phase")
    #: a summary was asked for: (visit id, "print" | "export")
    summary_requested = Signal(int, str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *,
                 search: str = "") -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Visits — print or export a session summary")
        self.setObjectName("VisitsDialog")
        styled(self)
        lay = QVBoxLayout(self)
        lay.addWidget(header("Visits", "Today's visits, or search any visit by patient, MRN, "
                                       "chair or visit number; discharged ones too."))
        bar = QHBoxLayout()
        self.search = QLineEdit(search)
        self.search.setPlaceholderText("Search: patient, MRN, chair or visit number")
        self.search.setClearButtonEnabled(True)
        self.today = QCheckBox("&Today only")
        self.today.setChecked(True)
        bar.addWidget(QLabel("&Find:", buddy=self.search))
        bar.addWidget(self.search, 1)
        bar.addWidget(self.today)
        lay.addLayout(bar)
        self.table = QTableWidget(0, len(self.HEADERS), self)
        self.table.setHorizontalHeaderLabels(list(self.HEADERS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table, 1)
        self.message = MessageLine()
        lay.addWidget(self.message)
        lay.addWidget(RecordLine(ctx, kind="read"))  # while the record is unreachable
        row = QHBoxLayout()
        self.print_button = QPushButton("&Print…")
        self.export_button = QPushButton("&Export PDF…")
        close = QPushButton("Close")
        row.addStretch(1)
        for b in (self.print_button, self.export_button, close):
            row.addWidget(b)
        lay.addLayout(row)
        close.clicked.connect(self.reject)
        self.print_button.clicked.connect(lambda: self._request("print"))
        self.export_button.clicked.connect(lambda: self._request("export"))
        self.table.doubleClicked.connect(lambda _i: self._request("print"))
        self.search.textChanged.connect(lambda _t: self._show())
        self.today.toggled.connect(lambda _on: self._show())
        self.resize(900, 520)
        self.visits: list[repo.VisitSummary] = []
        self.shown: list[repo.VisitSummary] = []
        self.reload()
        self.search.setFocus()

    # -- data ------------------------------------------------------------------------------------
    def reload(self) -> None:
        try:
            self.visits = self.ctx.read(repo.list_visits)
        except Exception as exc:
            log.exception("visits: cannot read the visit list")
            self.visits = []
            self.message.show_message(f"The visit list could not be read: {exc}", "error")
        self._show()

    def matching(self) -> list[repo.VisitSummary]:
        words = self.search.text().lower().split()
        today = self.ctx.clock.now().astimezone().date()
        out = []
        for v in self.visits:
            if self.today.isChecked() and not words and v.started.astimezone().date() != today:
                continue  # a search looks through every visit
            hay = f"{v.id} {v.patient} {v.mrn} {v.chair}".lower()
            if all(w in hay for w in words):
                out.append(v)
        return out

    def _show(self) -> None:
        self.shown = self.matching()
        self._fill(self.shown)
        n = len(self.shown)
        what = "today" if self.today.isChecked() and not self.search.text().strip() else \
            "found"
        self.message.show_message(f"{n} visit{'s' if n != 1 else ''} {what}." if n else
                                  "No visit matches. Clear the search or untick "
                                  "“Today only”.", "info")
        enabled = n > 0
        self.print_button.setEnabled(enabled)
        self.export_button.setEnabled(enabled)
        if n:
            self.table.selectRow(0)

    def _fill(self, visits: Sequence[repo.VisitSummary]) -> None:
        self.table.setRowCount(len(visits))
        for r, v in enumerate(visits):
            texts = (str(v.id), v.patient, v.mrn, v.chair,
                     v.started.astimezone().strftime("%Y-%m-%d %H:%M"),
                     phase_word(v.phase))
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, v.id)
                self.table.setItem(r, c, item)

    def selected_visit(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def _request(self, what: str) -> None:
        visit = self.selected_visit()
        if visit is None:
            self.message.show_message("Select a visit first.", "error")
            return
        self.summary_requested.emit(visit, what)
