"""File -> Print / Export PDF print the same document the renderer writes."""

from __future__ import annotations

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QTimer
from PySide6.QtPrintSupport import QPrinter

from nursestation.report.render import render_pdf_bytes
from nursestation.report.sample import sample_summary
from nursestation.ui import printing

# The offscreen platform plugin (tests only) logs this whenever a top-level window is shown; it
# says nothing about the dialog or the document.
offscreen_show = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


def _pdf_printer(path) -> QPrinter:
    p = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    p.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    p.setOutputFileName(str(path))
    return p


@offscreen_show
def test_preview_dialog_opens_with_the_pdf_page_count(qtbot, tmp_path):
    summary = sample_summary()
    expected = printing.pdf_page_count(render_pdf_bytes(summary))
    dialog = printing.make_preview_dialog(None, summary, printer=_pdf_printer(tmp_path / "p.pdf"))
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(lambda: printing.preview_page_count(dialog) > 0, timeout=20000)
    assert printing.preview_page_count(dialog) == expected
    assert dialog.property("nursestation_pdf_pages") == expected
    dialog.reject()
    assert not dialog.isVisible()


@offscreen_show
def test_print_summary_closes_when_cancelled(qtbot, monkeypatch, tmp_path):
    summary = sample_summary()
    seen = {}
    real = printing.make_preview_dialog

    def make(parent, s, printer=None, paper="letter"):
        d = real(parent, s, printer=_pdf_printer(tmp_path / "q.pdf"), paper=paper)
        seen["dialog"] = d

        def close():
            seen["pages"] = printing.preview_page_count(d)
            d.reject()
        QTimer.singleShot(200, close)
        return d

    monkeypatch.setattr(printing, "make_preview_dialog", make)
    assert printing.print_summary(None, summary) is False
    assert seen["pages"] == printing.pdf_page_count(render_pdf_bytes(summary))


def test_printing_paints_every_page_onto_the_printer(qtbot, tmp_path):
    summary = sample_summary()
    pdf = render_pdf_bytes(summary)
    out = tmp_path / "printed.pdf"
    printer = printing._letter_printer(_pdf_printer(out))
    assert printing.paint_pdf(printer, pdf) == printing.pdf_page_count(pdf)
    assert len(PdfReader(out).pages) == printing.pdf_page_count(pdf)


def test_export_pdf_writes_the_summary(qtbot, tmp_path):
    summary = sample_summary()
    path = printing.export_pdf(None, summary, path=tmp_path / "export")
    assert path == tmp_path / "export.pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    assert "Elena Alvarez" in text and "ondansetron" in text
    assert not (tmp_path / "export.pdf.part").exists()


def test_export_pdf_via_file_dialog(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    summary = sample_summary()
    target = tmp_path / "chosen.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "PDF files (*.pdf)")))
    assert printing.export_pdf(None, summary) == target
    assert target.exists()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    assert printing.export_pdf(None, summary) is None
