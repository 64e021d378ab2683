"""Login, the idle lock, switching user and the charge nurse's override — driven by keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow, QVBoxLayout, QWidget

from nursestation.config import Config
from nursestation.core.protocol import load_protocol
from nursestation.db import Database, repo
from nursestation.ui.context import AppContext, CurrentUser
from nursestation.ui.login import ChargeOverrideDialog, IdleLock, LoginDialog

SHOTS = Path("/tmp/shots")
# The offscreen platform cannot pass a dialog's size constraints on to its window; real ones can.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


@pytest.fixture
def ctx(qtbot, tmp_path):
    db = Database.open(f"sqlite:///{tmp_path / 'ui.sqlite3'}")
    for args in (("nurse1", "Nora Nurse", "nurse", "4826"),
                 ("nurse2", "Ned Nurse", "nurse", "7391"),
                 ("charge1", "Carla Charge", "charge", "582604")):
        db.writer.submit(repo.create_user, *args).result()
    config = Config(demo=False, idle_lock_minutes=5)
    c = AppContext(config, load_protocol(config.protocol_file), db.engine, db.writer)
    yield c
    db.close()


def demo_ctx(ctx: AppContext) -> AppContext:
    cfg = Config(demo=True)
    return AppContext(cfg, ctx.protocol, ctx.engine, ctx.writer)


def shot(widget: QWidget, name: str) -> None:
    if SHOTS.is_dir():
        widget.grab().save(str(SHOTS / f"{name}.png"))


def open_dialog(qtbot, dlg: QDialog) -> QDialog:
    qtbot.addWidget(dlg)
    dlg.open()
    qtbot.waitExposed(dlg)
    dlg.activateWindow()
    qtbot.waitActive(dlg)
    return dlg


def test_login_by_keyboard_sets_the_user(qtbot, ctx):
    dlg = open_dialog(qtbot, LoginDialog(ctx))
    assert not dlg.hint.isVisible()  # no demo hints outside demo mode
    assert dlg.pin.echoMode() == dlg.pin.EchoMode.Password
    seen = []
    dlg.logged_in.connect(seen.append)
    qtbot.keyClicks(dlg.username, "nurse1")
    qtbot.keyClick(dlg.username, Qt.Key.Key_Tab)
    assert dlg.focusWidget() is dlg.pin
    qtbot.keyClicks(dlg.pin, "4826")
    shot(dlg, "login")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    assert dlg.result() == QDialog.DialogCode.Accepted
    assert ctx.user is not None and ctx.user.username == "nurse1"
    assert ctx.user.display_name == "Nora Nurse" and not ctx.user.is_charge
    assert seen == [ctx.user]


@pytest.mark.parametrize("username,pin", [("nurse1", "9999"), ("nobody", "1234")])
def test_wrong_login_says_so_without_saying_which_part(qtbot, ctx, username, pin):
    dlg = open_dialog(qtbot, LoginDialog(ctx))
    qtbot.keyClicks(dlg.username, username)
    qtbot.keyClick(dlg.username, Qt.Key.Key_Tab)
    qtbot.keyClicks(dlg.pin, pin)
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    assert dlg.isVisible() and ctx.user is None
    assert dlg.message.kind == "error"
    assert dlg.message.text().startswith("Username or PIN not recognised")
    assert dlg.pin.text() == ""  # cleared for the next try
    shot(dlg, "login-wrong")


def test_escape_cancels_login(qtbot, ctx):
    dlg = open_dialog(qtbot, LoginDialog(ctx))
    qtbot.keyClick(dlg.username, Qt.Key.Key_Escape)
    assert dlg.result() == QDialog.DialogCode.Rejected and ctx.user is None


def test_demo_hints_only_in_demo_mode(qtbot, ctx):
    dlg = open_dialog(qtbot, LoginDialog(demo_ctx(ctx)))
    assert dlg.hint.isVisible()
    assert "nurse1 / 4826" in dlg.hint.text() and "charge1 / 582604" in dlg.hint.text()
    shot(dlg, "login-demo")


def make_window(qtbot):
    win = QMainWindow()
    central = QWidget()
    lay = QVBoxLayout(central)
    bar = QLabel("alarm bar")
    patient = QLabel("Chair 1 — Jane DOE, MRN 12345")
    lay.addWidget(bar)
    lay.addWidget(patient, 1)
    win.setCentralWidget(central)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    return win, bar, patient


def login_as(ctx, username):
    u = ctx.writer.submit(repo.authenticate, username,
                          {"nurse1": "4826", "nurse2": "7391"}[username]).result().user
    ctx.set_user(CurrentUser(u.id, u.username, u.display_name, u.role))


def test_idle_lock_engages_and_unlocks_with_the_same_users_pin(qtbot, ctx):
    win, bar, patient = make_window(qtbot)
    login_as(ctx, "nurse1")
    changes = []
    ctx.user_changed.connect(changes.append)
    lock = IdleLock(ctx, win, minutes=0.002, keep_visible=bar)  # 120 ms
    qtbot.waitUntil(lambda: lock.locked, timeout=10_000)
    panel = lock.panel
    assert panel.isVisible() and ctx.user is None and changes[-1] is None
    # a central station stays a monitor: the lock strip hides nothing, the contents make room
    qtbot.waitUntil(lambda: not panel.geometry().intersects(
        patient.geometry().translated(patient.parentWidget().mapTo(win, patient.pos())
                                      - patient.pos())))
    assert panel.geometry().top() > bar.mapTo(win, bar.rect().topLeft()).y()
    assert "Monitoring and alarms continue" in " ".join(
        lab.text() for lab in panel.findChildren(QLabel))
    assert "Nora Nurse" in panel.who.text()
    shot(win, "idle-lock")
    panel.pin.setFocus()
    qtbot.keyClicks(panel.pin, "0000")
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    assert lock.locked and panel.message.text() == "PIN not recognised."
    qtbot.keyClicks(panel.pin, "4826")
    qtbot.keyClick(panel.pin, Qt.Key.Key_Return)
    assert not lock.locked and not panel.isVisible()
    assert ctx.user is not None and ctx.user.username == "nurse1"
    lock.timer.stop()
    lock.remove()


def test_input_restarts_the_idle_countdown(qtbot, ctx):
    win, _bar, _patient = make_window(qtbot)
    login_as(ctx, "nurse1")
    lock = IdleLock(ctx, win, minutes=5)
    lock.timer.stop()
    qtbot.keyClick(win, Qt.Key.Key_Shift)
    assert lock.timer.isActive()
    lock.timer.stop()
    lock.remove()


def test_switch_user_logs_in_someone_else_and_closes_open_dialogs(qtbot, ctx):
    win, bar, _patient = make_window(qtbot)
    login_as(ctx, "nurse1")
    lock = IdleLock(ctx, win, minutes=5, keep_visible=bar)
    half_done = QDialog(win)
    qtbot.addWidget(half_done)
    half_done.open()
    lock.switch_user()
    assert lock.locked and not half_done.isVisible() and ctx.user is None
    dlg = lock._login
    assert dlg is not None and dlg.isVisible()
    qtbot.waitExposed(dlg)
    qtbot.keyClicks(dlg.username, "nurse2")
    qtbot.keyClick(dlg.username, Qt.Key.Key_Tab)
    qtbot.keyClicks(dlg.pin, "7391")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    assert not lock.locked and ctx.user.username == "nurse2"
    assert half_done.result() == QDialog.DialogCode.Rejected and not half_done.isVisible()
    lock.timer.stop()
    lock.remove()


def test_charge_override_needs_a_charge_nurse_and_a_reason(qtbot, ctx):
    login_as(ctx, "nurse1")
    dlg = open_dialog(qtbot, ChargeOverrideDialog(ctx, "1.2 mg/kg exceeds the hard limit 1 mg/kg"))
    got = []
    dlg.verified.connect(lambda uid, reason: got.append((uid, reason)))
    # a nurse who is not a charge nurse is refused
    qtbot.keyClicks(dlg.username, "nurse2")
    qtbot.keyClick(dlg.username, Qt.Key.Key_Tab)
    qtbot.keyClicks(dlg.pin, "7391")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Tab)
    qtbot.keyClicks(dlg.reason_edit, "prescriber order")
    qtbot.keyClick(dlg.reason_edit, Qt.Key.Key_Return)
    assert dlg.isVisible() and "not a charge nurse" in dlg.message.text() and not got
    dlg.username.clear()
    qtbot.keyClicks(dlg.username, "charge1")
    qtbot.keyClick(dlg.username, Qt.Key.Key_Tab)
    qtbot.keyClicks(dlg.pin, "582604")
    shot(dlg, "charge-override")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    charge = ctx.writer.submit(repo.authenticate, "charge1", "582604").result().user
    assert got == [(charge.id, "prescriber order")]
    assert dlg.charge_user_id == charge.id and dlg.override.pin_verified
    assert dlg.result() == QDialog.DialogCode.Accepted
    assert ctx.user.username == "nurse1"  # the override does not log anyone in


def test_zero_idle_minutes_never_locks_by_itself(qtbot, ctx):
    win, _bar, _patient = make_window(qtbot)
    login_as(ctx, "nurse1")
    lock = IdleLock(ctx, win, minutes=0)
    qtbot.keyClick(win, Qt.Key.Key_Shift)
    assert not lock.timer.isActive() and not lock.locked
    lock.lock_now()  # the menu's "Lock" still works
    assert lock.locked
    lock.remove()
