"""Help → the nurse's quick guide (issue 17, point 9): shipped with the app, every section
there, every picture found."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument

from nursestation.paths import resource_path
from nursestation.ui.help import GUIDE, HelpDialog

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def test_the_quick_guide_shows_every_section_and_its_pictures(qtbot):
    dlg = HelpDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    text = dlg.browser.toPlainText()
    for section in ("Alarms", "The visit, step by step", "Charting", "Limits and overrides",
                    "Printing a session summary", "When a device goes offline", "Locking"):
        assert section in text
    html = resource_path("help", GUIDE).read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 3
    doc = dlg.browser.document()
    for name in images:
        assert resource_path("help", name).is_file(), name
        img = doc.resource(QTextDocument.ResourceType.ImageResource, QUrl(name))
        assert img is not None and not img.isNull(), name  # drawn, not a broken-image box


def test_f1_opens_the_guide_from_the_station(qtbot):
    from tests.ui.test_mainwindow import demo_station_window

    station, window = demo_station_window(qtbot, chairs=1)
    try:
        action = next(a for a in window.actions() if a.text() == "Nurse's &quick guide")
        assert action.shortcut().toString() == "F1"
        action.trigger()
        assert isinstance(window.guide, HelpDialog) and window.guide.isVisible()
    finally:
        window.stop()
        station.shutdown()
