"""Help → Quick guide: the nurse's short illustrated guide shipped with the app
(``resources/help/guide.html``; its pictures are screenshots the app made of itself)."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from nursestation.paths import resource_path
from nursestation.ui.visit_common import styled

GUIDE = "guide.html"


class HelpDialog(QDialog):
    """The quick guide in a text browser (links inside the guide jump to its sections)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("NurseStation — quick guide")
        self.setObjectName("HelpDialog")
        styled(self)
        lay = QVBoxLayout(self)
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(False)
        folder = resource_path("help")
        self.browser.setSearchPaths([str(folder)])
        self.browser.setSource(QUrl.fromLocalFile(str(folder / GUIDE)))
        lay.addWidget(self.browser, 1)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        box.rejected.connect(self.reject)
        lay.addWidget(box)
        self.resize(760, 820)
