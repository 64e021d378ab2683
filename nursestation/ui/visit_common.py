"""Pieces the login and visit-flow dialogs share: the dialog look, labelled fields with
mnemonics, the message line, clock-time parsing, and the "saving…" state of a write.

No clinical rules here: only how things are entered and shown.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.plausibility import parse_number
from nursestation.ui import style

OK_GREEN = "#3ddc84"
WARN_AMBER = "#ffb020"
ERROR_RED = "#ff5c5c"

def styled(widget: QWidget) -> None:
    """The dialogs' look, from ``resources/styles/dialog.qss`` (``style.dialog_stylesheet``)."""
    widget.setStyleSheet(style.dialog_stylesheet())


def header(title: str, subtitle: str = "") -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 6)
    lay.setSpacing(2)
    t = QLabel(title)
    t.setObjectName("DialogTitle")
    lay.addWidget(t)
    s = QLabel(subtitle)
    s.setObjectName("DialogSubtitle")
    s.setWordWrap(True)
    s.setVisible(bool(subtitle))
    lay.addWidget(s)
    box.subtitle = s  # type: ignore[attr-defined]
    return box


class MessageLine(QLabel):
    """One line for errors, warnings and confirmations (never a pop-up)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Message")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_message("", "info")

    def show_message(self, text: str, kind: str = "info") -> None:
        self.setProperty("kind", kind)
        self.setText(text)
        self.setVisible(bool(text))
        self.style().unpolish(self)
        self.style().polish(self)

    @property
    def kind(self) -> str:
        return str(self.property("kind"))


def add_row(form: QFormLayout, text: str, field: QWidget, hint: str = "") -> QLabel:
    """A labelled row whose label (with its ``&`` mnemonic) is the field's buddy."""
    label = QLabel(text)
    label.setBuddy(field)
    if hint:
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(field)
        h = QLabel(hint)
        h.setObjectName("Hint")
        lay.addWidget(h, 1)
        form.addRow(label, row)
    else:
        form.addRow(label, field)
    return label


def number_field(placeholder: str = "", *, lo: float = 0.0, hi: float = 1000.0,
                 decimals: int = 1) -> QLineEdit:
    f = QLineEdit()
    v = QDoubleValidator(lo, hi, decimals, f)
    v.setNotation(QDoubleValidator.Notation.StandardNotation)
    f.setValidator(v)
    f.setPlaceholderText(placeholder)
    f.setAlignment(Qt.AlignmentFlag.AlignRight)
    f.setMaximumWidth(110)
    return f


def number(field: QLineEdit, what: str = "the value") -> float | None:
    """The number typed in ``field``; None when it was left empty. Anything that is not a plain
    number raises ``core.plausibility.EntryError`` naming ``what`` and the text as typed:
    nothing is dropped or coerced ("abc-5" is not 5, "1,5" is not 1.5)."""
    if not field.text().strip():
        return None
    return parse_number(field.text(), what)


def buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                           | QDialogButtonBox.StandardButton.Cancel)
    ok = box.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(ok_text)
    ok.setDefault(True)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


# ------------------------------------------------------------------------------------ clock times

_HHMM = re.compile(r"^\s*(\d{1,2})[:.h]?(\d{2})\s*$")
_AGO = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*h(?:ours?)?(?:\s+ago)?\s*$", re.IGNORECASE)


def local_tz() -> tzinfo | None:
    return datetime.now().astimezone().tzinfo


def parse_clock_time(text: str, now: datetime) -> datetime | None:
    """A time the nurse typed, as the most recent such moment not after ``now`` (aware):
    ``"06:30"``, ``"0630"``, ``"6.30"`` (today, or yesterday when that is still to come), or
    ``"8h"`` / ``"8 h ago"``. None when it is not a time."""
    local_now = now.astimezone(local_tz())
    m = _HHMM.match(text)
    if m:
        h, mi = int(m.group(1)), int(m.group(2))
        if h > 23 or mi > 59:
            return None
        t = local_now.replace(hour=h, minute=mi, second=0, microsecond=0)
        if t > local_now + timedelta(minutes=1):
            t -= timedelta(days=1)
        return t
    m = _AGO.match(text)
    if m:
        return local_now - timedelta(hours=float(m.group(1).replace(",", ".")))
    return None


def describe_time(t: datetime, now: datetime) -> str:
    """"today 06:30" / "yesterday 20:00" / "12 Mar 20:00" in local time."""
    lt, ln = t.astimezone(local_tz()), now.astimezone(local_tz())
    if lt.date() == ln.date():
        day = "today"
    elif lt.date() == (ln - timedelta(days=1)).date():
        day = "yesterday"
    else:
        day = lt.strftime("%d %b")
    return f"{day} {lt:%H:%M}"


def local_hhmm(t: datetime | None) -> str:
    return "" if t is None else t.astimezone(local_tz()).strftime("%H:%M")
