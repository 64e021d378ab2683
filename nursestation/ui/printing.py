"""File -> Print and File -> Export PDF for a session summary.

One source of truth: both print the PDF that ``nursestation.report.render`` writes (the same
file ``nursestation report`` produces). For paper the PDF pages are rasterised with pdfium at up
to 300 dpi and painted full-page into the QPrinter, so the printout, the preview and the exported
file show the same layout, page breaks and page numbers.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog, QPrintPreviewWidget
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from nursestation.report.model import VisitSummary
from nursestation.report.render import render_pdf, render_pdf_bytes

#: Rasterising above this gains nothing on paper and costs memory (a Letter page at 300 dpi is
#: 2550 x 3300 pixels).
MAX_PRINT_DPI = 300


def pdf_page_count(pdf: bytes) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def paint_pdf(printer: QPrinter, pdf: bytes) -> int:
    """Paint every page of ``pdf`` onto ``printer``, one printer page each, scaled to the full
    paper. Returns the number of pages painted."""
    import pypdfium2 as pdfium

    dpi = min(max(printer.resolution(), 72), MAX_PRINT_DPI)
    doc = pdfium.PdfDocument(pdf)
    painter = QPainter()
    if not painter.begin(printer):
        doc.close()
        raise OSError("the printer could not be opened")
    try:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        target = QRectF(printer.pageLayout().fullRectPixels(printer.resolution()))
        target.moveTo(0, 0)
        for i in range(len(doc)):
            if i:
                printer.newPage()
            page = doc[i]
            bitmap = page.render(scale=dpi / 72.0, rev_byteorder=True)
            w, h = bitmap.width, bitmap.height
            fmt = (QImage.Format.Format_RGBA8888 if bitmap.n_channels == 4
                   else QImage.Format.Format_RGB888)
            img = QImage(bitmap.buffer, w, h, bitmap.stride, fmt).copy()
            bitmap.close()
            page.close()
            painter.drawImage(target, img)
        return len(doc)
    finally:
        painter.end()
        doc.close()


def _letter_printer(printer: QPrinter | None = None, paper: str = "letter") -> QPrinter:
    printer = printer or QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setFullPage(True)  # the PDF carries its own margins
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4 if paper == "a4"
                                  else QPageSize.PageSizeId.Letter))
    printer.setPageOrientation(QPageLayout.Orientation.Portrait)
    return printer


def summary_title_hint(summary: VisitSummary) -> str:
    return f"{summary.patient.name} {summary.visit_date.isoformat()}"


def make_preview_dialog(parent: QWidget | None, summary: VisitSummary, *,
                        printer: QPrinter | None = None, paper: str = "letter"
                        ) -> QPrintPreviewDialog:
    """The print preview (with its Print button, which opens the system print dialog), not yet
    shown. The PDF is rendered once and repainted into the preview as it needs."""
    pdf = render_pdf_bytes(summary, paper=paper)
    printer = _letter_printer(printer, paper)
    printer.setDocName(f"Session summary {summary_title_hint(summary)}")
    dialog = QPrintPreviewDialog(printer, parent)
    dialog.setWindowTitle(f"Print session summary - {summary.patient.name}")
    dialog.paintRequested.connect(lambda p: paint_pdf(p, pdf))
    dialog.setProperty("nursestation_pdf_pages", pdf_page_count(pdf))
    dialog._nursestation_printer = printer  # keep the printer alive with the dialog
    return dialog


def preview_page_count(dialog: QPrintPreviewDialog) -> int:
    widget = dialog.findChild(QPrintPreviewWidget)
    return widget.pageCount() if widget is not None else 0


def print_summary(parent: QWidget | None, summary: VisitSummary, *, paper: str = "letter"
                  ) -> bool:
    """File -> Print: preview, then the system print dialog. True when it was printed."""
    dialog = make_preview_dialog(parent, summary, paper=paper)
    try:
        return dialog.exec() == QPrintPreviewDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()


def default_export_name(summary: VisitSummary) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in summary.patient.mrn)
    return f"session-summary-{safe}-{summary.visit_date.isoformat()}-visit{summary.visit_id}.pdf"


def export_pdf(parent: QWidget | None, summary: VisitSummary, *,
               path: str | Path | None = None, start_dir: str | Path | None = None,
               paper: str = "letter") -> Path | None:
    """File -> Export PDF: asks where (unless ``path`` is given), writes the summary PDF, and
    returns the path, or None when cancelled or the file could not be written (the nurse is
    told why)."""
    if path is None:
        suggested = str(Path(start_dir or Path.home()) / default_export_name(summary))
        chosen, _ = QFileDialog.getSaveFileName(parent, "Export session summary as PDF",
                                                suggested, "PDF files (*.pdf)")
        if not chosen:
            return None
        path = chosen
    out = Path(path)
    if out.suffix.lower() != ".pdf":
        out = out.with_name(out.name + ".pdf")
    tmp = out.with_name(out.name + ".part")
    try:
        render_pdf(summary, tmp, paper=paper)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        QMessageBox.warning(parent, "Export PDF",
                            f"The summary could not be saved to\n{out}\n\n{exc.strerror or exc}")
        return None
    return out
