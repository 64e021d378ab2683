"""PINs: trivial ones refused, wrong ones counted per account in the database across every
dialog and workstation, audited, slowed down and locked out (issue 16, point 3)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from nursestation.config import Config, ConfigError, load_config
from nursestation.core.pinpolicy import PinPolicy, pin_problem, wait_after
from nursestation.core.protocol import load_protocol
from nursestation.db import Database, repo, verify_audit
from nursestation.db.models import AuditLog
from nursestation.demo import DEMO_USERS
from nursestation.ui.context import AppContext, CurrentUser
from nursestation.ui.login import ChargeOverrideDialog, IdleLock, LoginDialog

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


@pytest.mark.parametrize("pin", ["0000", "1111", "1234", "9876", "2468", "8901", "1212",
                                 "123123", "2580", "12a4", "123"])
def test_trivial_pins_are_refused(pin):
    assert pin_problem(pin, "nurse") is not None


def test_a_charge_nurse_needs_six_digits_by_default():
    assert pin_problem("4826", "nurse") is None
    assert "at least 6 digits" in pin_problem("4826", "charge")
    assert pin_problem("582604", "charge") is None
    assert pin_problem("4826", "charge", PinPolicy(charge_min_digits=4)) is None


def test_demo_users_satisfy_the_rules():
    for _u, _name, role, pin in DEMO_USERS:
        assert pin_problem(pin, role) is None, pin


def test_create_user_refuses_a_trivial_pin(database):
    with pytest.raises(repo.RecordError, match="run of digits"):
        database.writer.submit(repo.create_user, "n", "N", "nurse", "1234").result()


def test_pin_rules_come_from_the_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("pin_lockout_after = 8\npin_delay_seconds = 10\ncharge_pin_min_digits = 8\n")
    policy = load_config(cfg).pin_policy
    assert (policy.lockout_after, policy.delay_seconds, policy.charge_min_digits) == (8, 10, 8)
    cfg.write_text("pin_lockout_after = 2\npin_delay_after = 3\n")
    with pytest.raises(ConfigError, match="pin_lockout_after"):
        load_config(cfg)


def _auth(db, username, pin, **kw):
    return db.writer.submit(repo.authenticate, username, pin, **kw).result()


def test_wrong_pins_wait_then_lock_and_an_admin_unlocks(database, nurse):
    slow = PinPolicy(delay_after=3, delay_seconds=600, lockout_after=5)
    for n in (1, 2):
        r = _auth(database, "nurse1", "9999", policy=slow)
        assert (r.outcome, r.failures, r.wait_s) == ("wrong", n, 0)
    r = _auth(database, "nurse1", "9999", policy=slow)
    assert r.outcome == "wrong" and r.wait_s == 600 and "wait 600 s" in r.message
    # during the wait even the right PIN is not checked
    r = _auth(database, "nurse1", "4826", policy=slow)
    assert r.outcome == "wait" and r.user is None
    fast = PinPolicy(delay_after=3, delay_seconds=0, lockout_after=5)
    assert _auth(database, "nurse1", "9999", policy=fast).failures == 4
    r = _auth(database, "nurse1", "9999", policy=fast)
    assert r.outcome == "locked" and r.message.startswith("Locked after 5 failed attempts")
    assert _auth(database, "nurse1", "4826", policy=fast).outcome == "locked"
    database.writer.submit(repo.unlock_user, "nurse1", by="it-admin").result()
    assert _auth(database, "nurse1", "4826", policy=fast).user.id == nurse.id
    with database.session_scope() as s:
        actions = [r.action for r in s.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert actions.count("login_failed") == 5 and actions.count("login_refused") == 2
        assert "unlock" in actions
        assert verify_audit(s).ok


def test_failures_add_up_across_workstations(db_url, tmp_path):
    a = Database.open(db_url)
    b = Database.open(db_url, upgrade=False)
    try:
        a.writer.submit(repo.create_user, "nurse1", "N", "nurse", "4826").result()
        policy = PinPolicy(delay_seconds=0, lockout_after=4)
        for db, station in ((a, "ws-a"), (b, "ws-b"), (a, "ws-a"), (b, "ws-b")):
            r = _auth(db, "nurse1", "1357", policy=policy, workstation=station)
        assert r.outcome == "locked" and r.failures == 4
        with a.session_scope() as s:
            rows = s.scalars(select(AuditLog).where(AuditLog.action == "login_failed")).all()
            assert sorted(json.loads(x.detail)["workstation"] for x in rows) == [
                "ws-a", "ws-a", "ws-b", "ws-b"]
    finally:
        b.close()
        a.close()


def test_authenticate_refuses_a_read_session(database, nurse):
    with database.session_scope() as s, pytest.raises(RuntimeError, match="on the writer"):
        repo.authenticate(s, "nurse1", "4826")


def test_wait_doubles():
    p = PinPolicy(delay_after=3, delay_seconds=30)
    assert [wait_after(n, p) for n in range(1, 6)] == [0, 0, 30, 60, 120]


# ----------------------------------------------------------------------- across the dialogs


@pytest.fixture
def ctx(qtbot, database, nurse, charge_nurse):
    config = Config(pin_policy=PinPolicy(delay_after=3, delay_seconds=0, lockout_after=5))
    return AppContext(config, load_protocol(config.protocol_file), database.engine,
                      database.writer)


def test_guessing_a_charge_pin_across_three_dialogs_locks_it(qtbot, ctx, database):
    from PySide6.QtWidgets import QWidget

    login = LoginDialog(ctx)
    qtbot.addWidget(login)
    for _ in range(2):
        login.username.setText("charge1")
        login.pin.setText("111222")
        login.accept()
    assert login.message.text() == "Username or PIN not recognised."
    # the charge nurse's station locks; a guess at the unlock panel counts too
    ctx.set_user(CurrentUser(ctx.read(repo.get_user, 2).id, "charge1", "Carla", "charge"))
    win = QWidget()
    qtbot.addWidget(win)
    lock = IdleLock(ctx, win, minutes=0)
    lock.lock_now()
    lock.panel.pin.setText("333444")
    lock._try_unlock()
    assert lock.locked and lock.panel.message.text() == "PIN not recognised."
    ov = ChargeOverrideDialog(ctx, "1.2 mg/kg exceeds the hard limit")
    qtbot.addWidget(ov)
    for _ in range(2):
        ov.username.setText("charge1")
        ov.pin.setText("555666")
        ov.reason_edit.setText("ordered")
        ov.accept()
    assert ov.message.text().startswith("Locked after 5 failed attempts — ask an administrator")
    # now even the right PIN is refused, in every dialog, with the reason
    ov.pin.setText("582604")
    ov.accept()
    assert ov.charge_user is None and "Locked after 5" in ov.message.text()
    lock.panel.pin.setText("582604")
    lock._try_unlock()
    assert lock.locked and "Locked after 5" in lock.panel.message.text()
    login.username.setText("charge1")
    login.pin.setText("582604")
    login.accept()
    assert ctx.user is None and "ask an administrator" in login.message.text()
    lock.remove()
    with database.session_scope() as s:
        failed = s.scalars(select(AuditLog).where(AuditLog.action == "login_failed")).all()
        assert sorted(json.loads(r.detail)["purpose"] for r in failed) == [
            "login", "login", "override", "override", "unlock"]


def test_a_dialog_says_in_one_line_when_the_record_is_unreachable(qtbot, ctx, database):
    ov = ChargeOverrideDialog(ctx, "x")
    qtbot.addWidget(ov)
    database.writer.close()  # as good as unreachable: nothing can be asked
    ov.username.setText("charge1")
    ov.pin.setText("582604")
    ov.reason_edit.setText("ordered")
    ov.accept()
    assert ov.isVisible() is False or ov.charge_user is None
    assert ov.message.text().startswith("Cannot check the PIN: the record is unreachable")


def test_a_config_never_holds_the_database_password(tmp_path):
    cfg = tmp_path / "c.toml"
    for url in ("postgresql+psycopg://station:secret@db/ns",
                "postgresql+psycopg://station@db/ns?password=secret"):
        cfg.write_text(f'database_url = "{url}"\n')
        with pytest.raises(ConfigError, match="holds a password"):
            load_config(cfg)
    cfg.write_text('database_url = "postgresql+psycopg://station@db/ns?sslmode=verify-full"\n')
    assert load_config(cfg).database_url.endswith("sslmode=verify-full")
