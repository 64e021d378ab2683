"""The dialogs of a visit's steps say what is missing, in a nurse's words, and how to fix it
(issue 17.7): no Python values, setting keys or column names; a refusal names the step to do."""

from __future__ import annotations

import pytest

from nursestation.config import ChairConfig, Config
from nursestation.core.livestate import LiveStore
from nursestation.core.protocol import load_protocol
from nursestation.db import Database, repo
from nursestation.ui.context import AppContext, CurrentUser
from nursestation.ui.visitflow import StartInfusionDialog
from tests.ui.test_visitflow import chair_id, enter, record, shot, show

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


@pytest.fixture
def ctx(qtbot, tmp_path):
    """A station's context on a fresh database, a nurse logged in (as test_visitflow's)."""
    db = Database.open(f"sqlite:///{tmp_path / 'ui.sqlite3'}")
    nurse = db.writer.submit(repo.create_user, "nurse1", "Nora Nurse", "nurse", "4826").result()
    db.writer.submit(repo.sync_chairs, [ChairConfig("Chair 1"), ChairConfig("Chair 2")]).result()
    config = Config(idle_lock_minutes=5)
    c = AppContext(config, load_protocol(config.protocol_file), db.engine, db.writer,
                   live=LiveStore())
    c.set_user(CurrentUser(nurse.id, "nurse1", "Nora Nurse", "nurse"))
    yield c
    db.close()


def bare_visit(ctx):
    """A visit in its baseline phase with neither a check-in screening nor a blood pressure."""
    uid, w = ctx.user.id, ctx.writer
    p = w.submit(repo.create_patient, "778", "Roe", "Rita", user=uid).result()
    v = w.submit(repo.create_visit, p.id, chair_id(ctx), "x", user=uid).result()
    w.submit(repo.add_weight, p.id, 70.0, user=uid, visit_id=v.id).result()
    w.submit(repo.advance_phase, v.id, "baseline", user=uid).result()
    return v


def test_start_refusal_says_what_is_missing_and_how_to_fix_it(qtbot, ctx):
    v = bare_visit(ctx)
    dlg = show(qtbot, StartInfusionDialog(ctx, v.id))
    shot(dlg, "start-refused-form")
    enter(qtbot, dlg)
    qtbot.wait(50)
    shot(dlg, "start-refused")
    said = dlg.message.text()
    # what is missing, and where the nurse does it
    assert said.startswith("Not started yet: no check-in screening recorded"), said
    assert "check the patient in first (Chair \u2192 Next step, F5)" in said
    assert "no blood pressure in the last 15 min" in said
    assert "Manual vitals check, Ctrl+Shift+V" in said
    assert "Cannot be recorded" not in said and "predose" not in said and "dosing." not in said
    # the plan shows the same two, each with its fix, before anything is pressed
    assert dlg.plan_label.text().count("\u2192 check the patient in first") == 1
    assert dlg.plan_label.text().count("\u2192 start a blood pressure") == 1
    assert record(ctx, v.id).infusion_events == []


def test_baseline_says_in_words_why_the_monitor_gives_no_value(qtbot, ctx):
    """'no live value: none — enter it' showed the live store's state name; 'monitor SPO2'
    its code."""
    from nursestation.ui.visitflow import BaselineDialog
    from tests.ui.test_visitflow import feed_monitor

    v = bare_visit(ctx)
    dlg = show(qtbot, BaselineDialog(ctx, v.id, "Chair 1"))
    shot(dlg, "baseline-no-monitor")
    texts = [dlg.sources[c].text() for c in ("NBP_SYS", "HR", "SPO2", "RR")]
    assert all(t.endswith(": type it in") for t in texts), texts
    assert not any(" none" in t for t in texts), texts
    assert "nothing from the monitor yet: type it in" in texts
    dlg.reject()
    feed_monitor(ctx)
    dlg = show(qtbot, BaselineDialog(ctx, v.id, "Chair 1"))
    assert dlg.sources["SPO2"].text() == "monitor SpO\u2082"
    assert dlg.sources["HR"].text() == "monitor heart rate"
    assert dlg.fields["SPO2"].text() == "98"


def test_stopping_short_asks_why_without_a_python_value(qtbot, ctx):
    from nursestation.core.dosing import check_stop

    d = ctx.protocol.dosing
    blank = check_stop(10.0, 40.0, "", "", d).messages[0]
    assert "; choose why: patient request" in blank and "why?" not in blank
    typo = check_stop(10.0, 40.0, "tired", "", d).messages[0]
    assert '"tired" is not one of' in typo and "'tired'" not in typo



def recovering_visit(qtbot, ctx):
    """A visit infused and stopped short (a reason given) through the real dialogs."""
    from PySide6.QtWidgets import QDialog

    from nursestation.ui.visitflow import RecoveryDialog, StartInfusionDialog
    from tests.ui.test_visitflow import to_baseline

    v = to_baseline(ctx)
    for make in (StartInfusionDialog, RecoveryDialog):
        dlg = show(qtbot, make(ctx, v.id))
        if make is RecoveryDialog:
            dlg.save_button.click()  # stopped at once: well short of the plan, it asks why
            qtbot.waitUntil(lambda d=dlg: "choose why" in d.message.text(), timeout=10_000)
            shot(dlg, "recovery-asks-why")
            assert dlg.focusWidget() is dlg.reason
            dlg.reason.setCurrentIndex(1)
        dlg.save_button.click()
        qtbot.waitUntil(lambda d=dlg: d.result() == QDialog.DialogCode.Accepted, timeout=10_000)
    return v


def test_discharge_fits_a_1366_x_768_screen_with_its_buttons_on_it(qtbot, ctx):
    """At 1366 x 768 the discharge dialog was 811 px high: Discharge and Cancel were under the
    screen's edge. Its criteria now scroll, the buttons stay on the screen."""
    from nursestation.ui.discharge import DischargeDialog

    v = recovering_visit(qtbot, ctx)
    dlg = show(qtbot, DischargeDialog(ctx, v.id))
    qtbot.wait(100)
    shot(dlg, "discharge")
    room = dlg.screen().availableGeometry().height()
    assert dlg.sizeHint().height() <= room, (dlg.sizeHint(), room)
    assert dlg.scroll.widget() is dlg.sections
    assert dlg.save_button.isVisible() and dlg.assess_button.isVisible()
    ride = dlg.rows["Ride home confirmed"]
    assert "ride none" not in ride.detail.text() and "unmet: no ride home recorded" in \
        ride.detail.text()


def test_a_long_refusal_grows_the_dialog_instead_of_squeezing_its_fields(qtbot, ctx):
    """A three-line refusal cut the stop dialog's fields through the middle of their text."""
    from PySide6.QtWidgets import QDialog

    from nursestation.ui.visitflow import RecoveryDialog, StartInfusionDialog
    from tests.ui.test_visitflow import to_baseline

    v = to_baseline(ctx)
    dlg = show(qtbot, StartInfusionDialog(ctx, v.id))
    dlg.save_button.click()
    qtbot.waitUntil(lambda: dlg.result() == QDialog.DialogCode.Accepted, timeout=10_000)
    dlg = show(qtbot, RecoveryDialog(ctx, v.id))
    before = dlg.stop_time.height()
    dlg.save_button.click()
    qtbot.waitUntil(lambda: "choose why" in dlg.message.text(), timeout=10_000)
    qtbot.wait(50)
    assert dlg.stop_time.height() >= min(before, dlg.stop_time.sizeHint().height())
    assert dlg.reason.height() >= dlg.reason.sizeHint().height()
