"""Users at the station: login with username and PIN, the idle lock, switching user, and the
charge nurse's override.

- :class:`LoginDialog` — username + masked PIN, checked with ``repo.authenticate`` (which
  counts wrong PINs per account, delays and locks out); a wrong entry never says which part
  was wrong. On success it sets ``ctx.user``.
- :class:`IdleLock` — watches input app-wide; after the configured idle minutes (or on
  :meth:`IdleLock.lock_now` / :meth:`IdleLock.switch_user`) it locks the window: a lock strip
  along its bottom, input to everything else swallowed, while the window keeps monitoring (a
  central station stays a monitor; the window masks patient names on ``locked_changed``).
  Unlock with the same user's PIN, or log in as someone else.
- :class:`ChargeOverrideDialog` — a charge nurse's username, PIN and reason for a hard limit or a
  discharge override; gives the verified charge user's id and the reason.

Dialogs are opened with ``open()``/``show()`` (never ``exec()``), so tests can drive them.
"""

from __future__ import annotations

import logging
import platform
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.dosing import ChargeOverride, Decision, authorise
from nursestation.demo import DEMO_USERS as _SEEDED_DEMO_USERS
from nursestation.ui.context import AppContext, CurrentUser
from nursestation.ui.recordstate import RecordLine
from nursestation.ui.visit_common import MessageLine, add_row, buttons, header, styled

if TYPE_CHECKING:  # the record's functions are imported when a PIN is checked, not at start
    from nursestation.db import repo

log = logging.getLogger(__name__)

#: The users the demo seed creates (shown as hints in demo mode only).
DEMO_USERS: tuple[tuple[str, str, str], ...] = tuple(
    (username, pin, "charge nurse" if role == "charge" else role)
    for username, _name, role, pin in _SEEDED_DEMO_USERS)



def __getattr__(name: str):
    if name == "WRONG":  # repo.WRONG_PIN, without importing the record at start
        from nursestation.db import repo

        return repo.WRONG_PIN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: How long a dialog waits for the record's answer to a PIN before saying it cannot check it.
AUTH_TIMEOUT_S = 15.0


def check_pin(ctx: AppContext, username: str, pin: str, purpose: str) -> repo.AuthResult | str:
    """The record's answer to a PIN (wrong PINs are counted per account, in the database, by
    ``repo.authenticate``; the dialogs only show its answer), or the one line that says why it
    could not be asked."""
    from nursestation.db import repo

    try:
        return ctx.writer.submit(repo.authenticate, username, pin,
                                 policy=ctx.config.pin_policy, purpose=purpose,
                                 workstation=platform.node()).result(timeout=AUTH_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - the record is unreachable: say so, never crash
        log.warning("cannot check a PIN: %s", exc)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return ("Cannot check the PIN: the record is unreachable"
                + (f" ({reason[0]})" if reason else "") + ". Monitoring continues.")


def _current(u) -> CurrentUser:
    return CurrentUser(id=u.id, username=u.username, display_name=u.display_name, role=u.role)


def _pin_field() -> QLineEdit:
    pin = QLineEdit()
    pin.setEchoMode(QLineEdit.EchoMode.Password)
    pin.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly
                            | Qt.InputMethodHint.ImhSensitiveData
                            | Qt.InputMethodHint.ImhNoPredictiveText)
    pin.setMaxLength(12)
    return pin


class LoginDialog(QDialog):
    """Log in with username and PIN. ``logged_in(CurrentUser)`` after ``ctx.set_user``."""

    logged_in = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *,
                 username: str = "", title: str = "Log in") -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(f"{ctx.config.clinic_name} — {title}")
        styled(self)
        self.setMinimumWidth(400)
        lay = QVBoxLayout(self)
        lay.addWidget(header(title, ctx.config.clinic_name))
        lay.addWidget(RecordLine(ctx, kind="pin"))  # while the record is unreachable
        form = QFormLayout()
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.pin = _pin_field()
        self.pin.setObjectName("pin")
        add_row(form, "&Username:", self.username)
        add_row(form, "&PIN:", self.pin)
        lay.addLayout(form)
        self.hint = QLabel()
        self.hint.setObjectName("DemoHint")
        self.hint.setWordWrap(True)
        if ctx.config.demo:
            users = ", ".join(f"{n} / {p} ({r})" for n, p, r in DEMO_USERS)
            self.hint.setText(f"Demo mode — demo users: {users}")
        self.hint.setVisible(bool(ctx.config.demo))
        lay.addWidget(self.hint)
        self.message = MessageLine()
        lay.addWidget(self.message)
        self.buttons = buttons(self, "Log &in")
        lay.addWidget(self.buttons)
        self.ok_button = self.buttons.buttons()[0]
        self.setTabOrder(self.username, self.pin)
        (self.pin if username else self.username).setFocus()

    def accept(self) -> None:
        name, pin = self.username.text().strip(), self.pin.text()
        if not name or not pin:
            self.message.show_message("Enter your username and PIN.", "error")
            (self.pin if name else self.username).setFocus()
            return
        res = check_pin(self.ctx, name, pin, "login")
        self.pin.clear()
        if isinstance(res, str) or res.user is None:
            self.message.show_message(res if isinstance(res, str) else res.message, "error")
            self.pin.setFocus()
            return
        user = _current(res.user)
        self.ctx.set_user(user)
        self.message.show_message(f"Logged in as {user.display_name}.", "ok")
        self.logged_in.emit(user)
        super().accept()


class ChargeOverrideDialog(QDialog):
    """A charge nurse's authorisation for ``what`` (the rule and values being overridden).

    On success ``verified(charge_user_id, reason)`` is emitted and the dialog accepts;
    ``charge_user_id``, ``charge_user`` (a :class:`CurrentUser`), ``reason`` and ``override``
    (a ``core.dosing.ChargeOverride`` covering the hard findings of ``decision``) are then set."""

    verified = Signal(int, str)

    def __init__(self, ctx: AppContext, what: str, parent: QWidget | None = None, *,
                 decision: Decision | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        #: what the charge nurse is shown; the override covers exactly its hard findings
        self.decision = decision if decision is not None else Decision()
        self.charge_user_id: int | None = None
        self.charge_user: CurrentUser | None = None
        self.reason = ""
        self.setWindowTitle("Charge nurse override")
        styled(self)
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        lay.addWidget(header("Charge nurse override",
                             "A charge nurse authorises this with their own PIN and a reason."))
        lay.addWidget(RecordLine(ctx, kind="pin"))
        self.what = QLabel(what)
        self.what.setObjectName("Result")
        self.what.setWordWrap(True)
        lay.addWidget(self.what)
        form = QFormLayout()
        self.username = QLineEdit()
        self.pin = _pin_field()
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("why the limit is overridden")
        add_row(form, "Charge nurse &username:", self.username)
        add_row(form, "&PIN:", self.pin)
        add_row(form, "&Reason:", self.reason_edit)
        lay.addLayout(form)
        self.message = MessageLine()
        lay.addWidget(self.message)
        lay.addWidget(buttons(self, "&Authorise"))
        self.setTabOrder(self.username, self.pin)
        self.setTabOrder(self.pin, self.reason_edit)
        self.username.setFocus()

    @property
    def override(self) -> ChargeOverride | None:
        if self.charge_user is None:
            return None
        return authorise(self.decision, by=self.charge_user.display_name, reason=self.reason,
                         pin_verified=True, by_id=self.charge_user.id)

    def accept(self) -> None:
        name, pin, reason = (self.username.text().strip(), self.pin.text(),
                             self.reason_edit.text().strip())
        if not name or not pin:
            self.message.show_message("Enter the charge nurse's username and PIN.", "error")
            return
        if not reason:
            self.message.show_message("Give the reason for the override.", "error")
            self.reason_edit.setFocus()
            return
        res = check_pin(self.ctx, name, pin, "override")
        self.pin.clear()
        if isinstance(res, str) or res.user is None:
            self.message.show_message(res if isinstance(res, str) else res.message, "error")
            self.pin.setFocus()
            return
        u = res.user
        if u.role not in ("charge", "admin"):
            self.message.show_message(
                f"{u.display_name} is not a charge nurse; an override needs one.", "error")
            self.username.setFocus()
            self.username.selectAll()
            return
        self.charge_user = _current(u)
        self.charge_user_id = u.id
        self.reason = reason
        self.verified.emit(u.id, reason)
        super().accept()


# ------------------------------------------------------------------------------------ idle lock

_INPUT_EVENTS = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate,
    QEvent.Type.TabletPress, QEvent.Type.ShortcutOverride,
})
_BLOCKED_WHEN_LOCKED = _INPUT_EVENTS | {QEvent.Type.Shortcut, QEvent.Type.ContextMenu}


class LockPanel(QWidget):
    """A strip along the bottom of the locked window: who locked it, the PIN to unlock, and
    what stays on. The station above keeps monitoring (waves, numerics, alarms; patient names
    masked by the window); only charting, details and printing wait for a PIN."""

    NOTE = ("Monitoring and alarms continue while locked. Charting, chair details and "
            "printing need your PIN.")

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("LockPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        styled(self)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 6, 12, 6)
        outer.setSpacing(12)
        text = QVBoxLayout()
        text.setSpacing(2)
        self.title = QLabel("Station locked")
        self.title.setObjectName("DialogTitle")
        self.who = QLabel()
        self.who.setWordWrap(True)
        self.note = QLabel(self.NOTE)
        self.note.setObjectName("Hint")
        self.note.setWordWrap(True)
        self.message = MessageLine()
        for w in (self.title, self.who, self.note, self.message):
            text.addWidget(w)
        outer.addLayout(text, 1)
        form = QFormLayout()
        self.pin = _pin_field()
        self.pin.setObjectName("unlock_pin")
        self.pin.setFixedWidth(140)
        add_row(form, "&PIN:", self.pin)
        outer.addLayout(form)
        self.unlock_button = QPushButton("&Unlock")
        self.unlock_button.setDefault(True)
        self.switch_button = QPushButton("&Switch user…")
        outer.addWidget(self.unlock_button)
        outer.addWidget(self.switch_button)
        self.pin.returnPressed.connect(self.unlock_button.click)
        self.setTabOrder(self.pin, self.unlock_button)
        self.setTabOrder(self.unlock_button, self.switch_button)


class IdleLock(QObject):
    """Locks ``window`` after ``minutes`` without user input anywhere in the application.

    ``locked_changed(bool)`` reports the state. While locked, ``ctx.user`` is None (so nothing
    can be charted under the absent nurse's name), input outside the lock strip is swallowed,
    open dialogs are hidden, and the window's contents stay in view and keep updating: the strip
    only takes the bottom of the window. ``keep_visible`` is accepted for callers that name what
    must stay uncovered (everything does now).
    """

    locked_changed = Signal(bool)

    def __init__(self, ctx: AppContext, window: QWidget, minutes: float | None = None, *,
                 keep_visible: QWidget | None = None) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.window = window
        self.keep_visible = keep_visible
        m = ctx.config.idle_lock_minutes if minutes is None else minutes
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        #: 0 or less: never lock by itself (lock_now / switch_user still work)
        self.enabled = m > 0
        self.timer.setInterval(max(1, int(m * 60_000)))
        self.timer.timeout.connect(self.lock_now)
        self.locked_user: CurrentUser | None = None
        self.locked_at: datetime | None = None
        self._hidden: list[QWidget] = []
        self._login: LoginDialog | None = None
        self._locked = False
        self.panel = LockPanel(window)
        self.panel.hide()
        self.panel.unlock_button.clicked.connect(self._try_unlock)
        self.panel.switch_button.clicked.connect(self._open_login)
        window.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        if self.enabled:
            self.timer.start()

    @property
    def locked(self) -> bool:
        return self._locked

    # -- input watching -----------------------------------------------------------------------
    def _ours(self, obj: QObject) -> bool:
        """Is ``obj`` part of the lock panel or of the login it opened?"""
        w = obj if isinstance(obj, QWidget) else None
        if w is None:
            # a QWindow or a QAction: allow windows of our own dialogs only
            return False
        for owner in (self.panel, self._login):
            if owner is not None and (w is owner or owner.isAncestorOf(w)):
                return True
        return False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        t = event.type()
        if obj is self.window and t == QEvent.Type.Resize:
            self._place()
            return False
        if t not in _BLOCKED_WHEN_LOCKED:
            return False
        if not self._locked:
            if t in _INPUT_EVENTS and self.enabled:
                self.timer.start()  # restart the idle countdown
            return False
        if self._ours(obj):
            return False
        if isinstance(obj, QWidget):
            return True  # swallow input to anything behind the lock
        return t == QEvent.Type.Shortcut  # menu/window shortcuts do nothing while locked

    # -- locking ------------------------------------------------------------------------------
    def _place(self) -> None:
        """The strip along the bottom of the window's contents (above its status bar)."""
        r = self.window.rect()
        # on a small screen the strip keeps to two lines: the tiles need the room
        compact = r.height() < 900
        self.panel.note.setVisible(not compact)
        self.panel.setToolTip(LockPanel.NOTE if compact else "")
        bottom = r.height()
        status = self.window.statusBar() if isinstance(self.window, QMainWindow) else None
        if status is not None and status.isVisible():
            bottom = status.geometry().top()
        h = min(max(self.panel.sizeHint().height(), self.panel.minimumSizeHint().height()),
                bottom)
        self.panel.setGeometry(0, bottom - h, r.width(), h)
        # the window's contents make room for the strip rather than hide under it
        central = self.window.centralWidget() if isinstance(self.window, QMainWindow) else None
        if central is not None:
            central.setContentsMargins(0, 0, 0, h if self._locked else 0)

    def lock_now(self) -> None:
        """Lock immediately (also the idle timer's action)."""
        if self._locked:
            return
        self._locked = True
        self.timer.stop()
        self.locked_user = self.ctx.user
        self.locked_at = self.ctx.clock.now()
        self._hidden = [w for w in QApplication.topLevelWidgets()
                        if w.isVisible() and w is not self.window
                        and not w.isAncestorOf(self.window)
                        and w.windowType() in (Qt.WindowType.Dialog, Qt.WindowType.Sheet,
                                               Qt.WindowType.Window)]
        for w in self._hidden:
            w.hide()
        p = self.panel
        if self.locked_user is not None:
            p.who.setText(f"Locked for {self.locked_user.display_name} "
                          f"({self.locked_user.username}) at "
                          f"{self.locked_at.astimezone():%H:%M}. Enter your PIN to continue, "
                          "or switch user.")
            p.pin.setEnabled(True)
            p.unlock_button.setEnabled(True)
        else:
            p.who.setText("No one is logged in. Log in to continue.")
            p.pin.setEnabled(False)
            p.unlock_button.setEnabled(False)
        p.message.show_message("", "info")
        p.pin.clear()
        self._place()
        p.show()
        p.raise_()
        (p.pin if p.pin.isEnabled() else p.switch_button).setFocus()
        if self.ctx.user is not None:
            self.ctx.set_user(None)
        self.locked_changed.emit(True)

    def switch_user(self) -> None:
        """Lock, then ask for a full login (the previous user's open dialogs are closed)."""
        self.lock_now()
        self._open_login()

    def _try_unlock(self) -> None:
        p = self.panel
        user = self.locked_user
        if user is None:
            return
        pin = p.pin.text()
        p.pin.clear()
        if not pin:
            p.message.show_message("Enter your PIN.", "error")
            return
        res = check_pin(self.ctx, user.username, pin, "unlock")
        if isinstance(res, str) or res.user is None or res.user.id != user.id:
            if isinstance(res, str):
                msg = res
            elif res.outcome == "wrong" and not res.wait_s or res.user is not None:
                msg = "PIN not recognised."
            else:
                msg = res.message  # the wait, or the lockout
            p.message.show_message(msg, "error")
            p.pin.setFocus()
            return
        self._unlock(_current(res.user), same_user=True)

    def _open_login(self) -> None:
        if self._login is not None:
            self._login.raise_()
            return
        dlg = LoginDialog(self.ctx, self.panel.window(), title="Switch user")
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self._login = dlg

        def done(result: int) -> None:
            self._login = None
            if result == QDialog.DialogCode.Accepted and self.ctx.user is not None:
                user = self.ctx.user
                same = self.locked_user is not None and user.id == self.locked_user.id
                self._unlock(user, same_user=same)
            elif self._locked:
                (self.panel.pin if self.panel.pin.isEnabled()
                 else self.panel.switch_button).setFocus()

        dlg.finished.connect(done)
        dlg.open()

    def _unlock(self, user: CurrentUser, *, same_user: bool) -> None:
        self._locked = False
        self.panel.hide()
        self._place()
        hidden, self._hidden = self._hidden, []
        for w in hidden:
            if same_user:
                w.show()
            elif isinstance(w, QDialog):
                w.reject()  # never sign another nurse's half-made entry
            else:
                w.close()
        self.locked_user = None
        if self.ctx.user is None or self.ctx.user.id != user.id:
            self.ctx.set_user(user)
        if self.enabled:
            self.timer.start()
        self.locked_changed.emit(False)

    def remove(self) -> None:
        """Stop watching (the window is closing)."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.window.removeEventFilter(self)
        self.timer.stop()


def switch_user(lock: IdleLock) -> None:
    """The "Switch user" action: lock the station and ask for a full login."""
    lock.switch_user()


__all__ = [
    "DEMO_USERS",
    "ChargeOverrideDialog",
    "IdleLock",
    "LockPanel",
    "LoginDialog",
    "switch_user",
]
