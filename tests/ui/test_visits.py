"""File → Visits (issue 17, point 6): a discharged visit is found, printed and exported from
the station; the summary is the one `nursestation report` writes."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from nursestation.db import repo
from nursestation.ui.context import CurrentUser
from nursestation.ui.visits import VisitsDialog
from tests.ui.test_mainwindow import demo_station_window

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def pdf_text(path) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        return " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


@pytest.fixture
def station(qtbot):
    station, window = demo_station_window(qtbot, chairs=6)
    window.start()
    qtbot.waitUntil(lambda: bool(window.visits), timeout=15000)
    ctx = window.ctx
    u = ctx.writer.submit(repo.authenticate, "nurse1", "4826").result().user
    ctx.set_user(CurrentUser(u.id, u.username, u.display_name, u.role))
    try:
        yield station, window
    finally:
        window.stop()
        station.shutdown()


def test_a_discharged_visit_is_exported_from_the_station(station, qtbot, monkeypatch, tmp_path):
    _station, window = station
    ctx = window.ctx
    visit = window.visits["Chair 6"]  # in recovery: discharge it, the chair is free again
    ctx.writer.submit(repo.advance_phase, visit.visit_id, "discharged",
                      user=ctx.user.id).result()
    window.refresh_chart()
    qtbot.waitUntil(lambda: "Chair 6" not in window.visits, timeout=10000)
    window.view.focus_chair("Chair 6")
    # "Export" on the now empty chair finds its visit instead of "no visit to summarise"
    qtbot.keyClick(window.view.tile("Chair 6"), Qt.Key.Key_E,
                   Qt.KeyboardModifier.ControlModifier)
    dlg = window.visits_dialog
    assert isinstance(dlg, VisitsDialog) and dlg.isVisible()
    assert dlg.search.text() == "Chair 6"
    rows = [(dlg.table.item(r, 1).text(), dlg.table.item(r, 5).text())
            for r in range(dlg.table.rowCount())]
    assert (visit.patient_name, "discharged") in rows
    out = tmp_path / "summary.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "PDF files (*.pdf)")))
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    assert out.exists()
    text = pdf_text(out)
    assert visit.patient_name.split()[-1] in text and visit.mrn in text


def test_today_only_and_search_across_every_visit(station, qtbot):
    _station, window = station
    dlg = VisitsDialog(window.ctx, window)
    qtbot.addWidget(dlg)
    n_today = dlg.table.rowCount()
    assert n_today == len(window.visits)  # the demo's visits are all today's
    assert "visits today" in dlg.message.text()
    v = window.visits["Chair 3"]
    qtbot.keyClicks(dlg.search, v.mrn)
    assert dlg.table.rowCount() == 1 and dlg.table.item(0, 2).text() == v.mrn
    assert dlg.selected_visit() == v.visit_id
    dlg.search.clear()
    qtbot.keyClicks(dlg.search, "nobody-like-this")
    assert dlg.table.rowCount() == 0 and not dlg.export_button.isEnabled()
    assert "No visit matches" in dlg.message.text()


def test_visits_and_report_run_on_the_demos_own_database(station, tmp_path, capsys):
    """As the README runs them, after the demo has run: `nursestation visits --demo` and
    `nursestation report ID --demo --out FILE`."""
    from nursestation.cli import main

    _station, window = station
    v = window.visits["Chair 2"]
    assert main(["visits", "--demo"]) == 0
    listing = capsys.readouterr().out
    assert v.patient_name in listing and str(v.visit_id) in listing.split()
    out = tmp_path / "summary.pdf"
    assert main(["report", str(v.visit_id), "--demo", "--out", str(out)]) == 0
    assert v.mrn in pdf_text(out)
    # without --demo the station's own (empty) database says where the demo's is
    assert main(["visits"]) == 1
    assert "add --demo" in capsys.readouterr().err
