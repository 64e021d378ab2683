"""The one base class of every charting and visit-flow dialog: a header, a form, a live decision
line, one message line, Save/Cancel — and the hand-off of the entry to its command in
``nursestation.record.commands``.

A dialog gathers plain values and may check them early for convenience (core's decision shown
live, with its reasons); the command is the check. :meth:`CommandDialog.run` sends the command to
the one writer naming the logged-in user; the dialog says "Saved." and closes only after the
commit (``saved(changes)`` then), or shows the command's refusal in the message line and stays
open.

Esc during a pending write: ignored, with a word in the message line. The write is already on
its way to the writer; closing would hide whether it was recorded, and the nurse must see that
answer. This is the one rule for every dialog.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.dosing import ChargeOverride, Decision
from nursestation.record.changes import Changes
from nursestation.record.errors import NEEDS_CONFIRM, NEEDS_LATE_REASON, Refused
from nursestation.ui.context import AppContext
from nursestation.ui.recordstate import RecordLine, unreachable_failure
from nursestation.ui.visit_common import MessageLine, header, styled

log = logging.getLogger(__name__)

PENDING_ESC = "Saving… wait for the answer: the entry is on its way to the record."


class CommandDialog(QDialog):
    """Subclasses build their fields into ``form`` (or ``body``), implement :meth:`save`
    (Enter and the default button come there) and call :meth:`run` with a command."""

    #: emitted after the commit, with the command's :class:`~nursestation.record.changes.Changes`
    saved = Signal(object)

    def __init__(self, ctx: AppContext, title: str, *, subtitle: str = "",
                 ok_text: str = "&Save", visit_id: int = 0, parent: QWidget | None = None,
                 min_width: int = 520) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.visit_id = visit_id
        self.pending = False
        self.committed: Changes | None = None
        self.setWindowTitle(title)
        styled(self)
        self.setMinimumWidth(min_width)
        self.layout_ = QVBoxLayout(self)
        self.head = header(title, subtitle)
        self.heading: QLabel = self.head.subtitle  # type: ignore[attr-defined]
        self.layout_.addWidget(self.head)
        self.record_line = RecordLine(ctx)  # while the record is unreachable
        self.layout_.addWidget(self.record_line)
        self.body = QVBoxLayout()
        self.layout_.addLayout(self.body)
        self.form = QFormLayout()
        self.body.addLayout(self.form)
        # shown when the command says the visit is closed: the entry is then a late entry
        self.late_reason = QLineEdit()
        self.late_reason.setPlaceholderText("why it is charted after the visit ended")
        self.late_label = QLabel("&Late entry — reason:")
        self.late_label.setBuddy(self.late_reason)
        late_row = QHBoxLayout()
        late_row.addWidget(self.late_label)
        late_row.addWidget(self.late_reason, 1)
        self.layout_.addLayout(late_row)
        self.late_reason.setVisible(False)
        self.late_label.setVisible(False)
        # shown when the command says a value is unusual (not implausible): the nurse confirms it
        self.confirm_unusual = QCheckBox("&Confirmed: I re-checked, this is what was measured")
        self.confirm_unusual.setVisible(False)
        self.layout_.addWidget(self.confirm_unusual)
        self.decision = QLabel()
        self.decision.setObjectName("Decision")
        self.decision.setWordWrap(True)
        self.decision.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.decision)
        self.message = MessageLine()
        self.layout_.addWidget(self.message)
        self.button_box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                           | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.button_box.button(QDialogButtonBox.StandardButton.Ok)
        self.save_button.setText(ok_text)
        self.save_button.setDefault(True)
        self.button_box.accepted.connect(self.accept)
        self.button_box.rejected.connect(self.reject)
        self.layout_.addWidget(self.button_box)

    # -- for subclasses -------------------------------------------------------------------------
    def set_heading(self, text: str) -> None:
        self.heading.setText(text)
        self.heading.setVisible(bool(text))

    def now(self) -> datetime:
        return self.ctx.clock.now()

    def fail(self, text: str, focus: QWidget | None = None) -> None:
        self.message.show_message(text, "error")
        self._grow_to_fit()
        if focus is not None:
            focus.setFocus()

    def say(self, text: str, kind: str = "info") -> None:
        self.message.show_message(text, kind)
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        # a message of three lines squeezed the fields to half their height (text cut through)
        # where no window manager grows the window to its new minimum: grow it ourselves
        need = self.layout_.totalHeightForWidth(self.width())
        if need < 0:
            need = self.layout_.totalSizeHint().height()
        if self.isVisible() and need > self.height():
            self.resize(self.width(), need)

    def user_id(self) -> int | None:
        if self.ctx.user is None:
            self.fail("No one is logged in: log in to chart this.")
            return None
        return self.ctx.user.id

    def run(self, command: Callable[..., Changes], *args: Any, **kw: Any) -> None:
        """Send ``command(session, *args, user=<logged-in user>, **kw)`` to the writer; close
        after the commit, or show its refusal."""
        if self.pending:
            return
        uid = self.user_id()
        if uid is None:
            return
        self.pending = True
        self.save_button.setEnabled(False)
        self.say("Saving…")
        # The writer thread keeps these callbacks until its next job; they must not hold the
        # dialog, or its last reference could be dropped off the GUI thread (PySide then deletes
        # the widget from a pending call, which crashes 6.12). Weak references only.
        ref = weakref.ref(self)

        def on_done(result: Changes) -> None:
            dlg = ref()
            if dlg is not None:
                dlg._done(result)

        def on_error(exc: BaseException) -> None:
            dlg = ref()
            if dlg is not None:
                dlg._failed(exc)

        try:
            self.ctx.write(command, *args, user=uid, on_done=on_done, on_error=on_error,
                           what=getattr(command, "__name__", "entry"), visit_id=self.visit_id,
                           **kw)
        except RuntimeError as exc:  # the writer is closed: shown, not raised
            self._failed(exc)

    def _done(self, changes: Changes) -> None:
        self.pending = False
        self.committed = changes
        self.save_button.setEnabled(True)
        self.say("Saved.", "ok")
        self.saved.emit(changes)
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        self.pending = False
        self.save_button.setEnabled(True)
        self.fail(unreachable_failure(self.ctx, exc) or f"Not saved: {exc}")
        if isinstance(exc, Refused):
            if exc.needs == NEEDS_LATE_REASON:
                self.late_label.setVisible(True)
                self.late_reason.setVisible(True)
                self.late_reason.setFocus()
            elif exc.needs == NEEDS_CONFIRM:
                self.confirm_unusual.setChecked(False)
                self.confirm_unusual.setVisible(True)
                self.confirm_unusual.setFocus()
            self.refused(exc)

    def confirmed(self) -> bool:
        """The nurse confirmed an unusual value (only after the command asked for it)."""
        return self.confirm_unusual.isVisible() and self.confirm_unusual.isChecked()

    def late_text(self) -> str:
        """The late-entry reason, when the nurse was asked for one."""
        return self.late_reason.text().strip() if self.late_reason.isVisible() else ""

    def refused(self, exc: Refused) -> None:
        """The command refused the entry (already shown): focus what to correct."""

    def save(self) -> None:  # pragma: no cover - every dialog has its own
        raise NotImplementedError

    # -- Qt -------------------------------------------------------------------------------------
    def accept(self) -> None:
        # Enter and the default button come here; the dialog closes only after the commit.
        if not self.pending and self.user_id() is not None:
            self.save()

    def reject(self) -> None:
        if self.pending:
            self.say(PENDING_ESC, "warn")
            return
        super().reject()


def open_charge_override(parent: QWidget, ctx: AppContext, what: str, decision: Decision,
                         on_granted: Callable[[ChargeOverride], None]) -> QDialog:
    """Open the charge nurse's PIN + reason dialog (``ui.login.ChargeOverrideDialog``) without
    blocking; ``on_granted(override)`` runs when authorised. The override covers exactly the hard
    findings of ``decision`` (core's ``authorise``): the command refuses it for anything else."""
    from nursestation.ui.login import ChargeOverrideDialog

    dlg = ChargeOverrideDialog(ctx, what, parent, decision=decision)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)

    def verified(_uid: int, _reason: str) -> None:
        if dlg.override is not None:
            on_granted(dlg.override)

    dlg.verified.connect(verified)
    dlg.open()
    return dlg


__all__ = ["PENDING_ESC", "CommandDialog", "open_charge_override"]
