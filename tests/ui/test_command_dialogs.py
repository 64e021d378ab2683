"""The real dialogs driven into the record's commands: what the nurse sees when the record
refuses, and that nothing was written."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from nursestation.core.dosing import check_rate
from nursestation.db import repo
from nursestation.db.models import InfusionEvent, Note
from nursestation.record import commands as rc
from nursestation.record.errors import Refused
from nursestation.ui.charting import AmendDialog, DoseChangeDialog, NoteDialog
from nursestation.ui.dialogs import PENDING_ESC
from nursestation.ui.discharge import RideDialog
from nursestation.ui.visitflow import AssignPatientDialog
from tests.plugins.db import CHARGE_PIN
from tests.ui.charting_helpers import make_ctx, ready_to_start, seed_visit, wait_saved

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'dialogs.sqlite3'}"


@pytest.fixture
def ctx(database, nurse):
    return make_ctx(database, nurse)


def shown(qtbot, dlg):
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def refusal(qtbot, dlg) -> str:
    """Save, wait for the command's answer, return what the message line says."""
    dlg.save_button.click()
    qtbot.waitUntil(lambda: not dlg.pending and dlg.message.text() != "Saving…", timeout=5000)
    assert dlg.isVisible() and dlg.message.kind == "error"
    return dlg.message.text()


def overridable(ctx) -> None:
    """The override-binding scenarios need a protocol that lets a charge nurse override the
    hard limits (the default file does not: a hard limit is hard)."""
    ctx.protocol = replace(ctx.protocol, dosing=replace(ctx.protocol.dosing,
                                                        hard_limits_overridable=True))


def started(qtbot, ctx, database, nurse):
    _, _, visit = ready_to_start(database, nurse, now=ctx.clock.now())
    dlg = shown(qtbot, DoseChangeDialog(ctx, visit.id))
    assert dlg.selected_kind == "start"
    wait_saved(qtbot, dlg)
    return visit


def authorise_in_dialog(qtbot, dlg) -> None:
    dlg.override_button.click()
    ov = dlg.override_dialog
    qtbot.addWidget(ov)
    ov.username.setText("charge1")
    ov.pin.setText(CHARGE_PIN)
    ov.reason_edit.setText("ordered 320")
    ov.accept()


def test_an_override_given_at_320_ml_h_is_not_saved_at_2000(qtbot, ctx, database, nurse,
                                                            charge_nurse):
    """The issue's scenario, in the dialog: authorised at 320 mL/h, the rate then changed to
    2000 mL/h and saved. Refused; nothing charted; the nurse is told the override no longer
    covers the entry."""
    overridable(ctx)
    visit = started(qtbot, ctx, database, nurse)
    dlg = shown(qtbot, DoseChangeDialog(ctx, visit.id))
    dlg.reason.setCurrentIndex(dlg.reason.findData("patient request"))
    dlg.rate.setValue(320)  # 1.6 mg/kg/h > hard 1.5
    authorise_in_dialog(qtbot, dlg)
    assert dlg.override is not None and "Carla Charge" in dlg.override_status.text()
    dlg.rate.setValue(2000)  # 10 mg/kg/h
    assert dlg.override is None
    assert dlg.override_status.text() == "✗ needs a charge nurse's PIN and reason"
    dlg.save_button.click()
    assert "refused unless a charge nurse overrides: 10 mg/kg/h exceeds the hard limit" \
        in dlg.message.text()
    assert [e.kind for e in ctx.read(repo.current_entries, InfusionEvent, visit.id)] == ["start"]


def test_the_command_refuses_a_stale_override_even_when_the_form_did_not_notice(
        qtbot, ctx, database, nurse, charge_nurse):
    """A form that misses the change (here: its pre-check made to see the old rate) still
    cannot save: the command refuses the override for a rate it was never shown."""
    overridable(ctx)
    visit = started(qtbot, ctx, database, nurse)
    dlg = shown(qtbot, DoseChangeDialog(ctx, visit.id))
    dlg.reason.setCurrentIndex(dlg.reason.findData("patient request"))
    dlg.rate.setValue(320)
    authorise_in_dialog(qtbot, dlg)
    kept = dlg.override
    dlg.rate.blockSignals(True)
    dlg.rate.setValue(2000)
    dlg.rate.blockSignals(False)
    dlg.override = kept
    # the form's own pre-check still sees the rate the override was given for
    dlg.current_decision = lambda: check_rate(320, 0.35, 70, ctx.protocol.dosing)
    text = refusal(qtbot, dlg)
    assert text.startswith("Not saved: The charge nurse's override covered only what it was "
                           "shown (1.6 mg/kg/h exceeds the hard limit 1.5 mg/kg/h")
    assert "the entry now says: 10 mg/kg/h exceeds the hard limit" in text
    assert [e.kind for e in ctx.read(repo.current_entries, InfusionEvent, visit.id)] == ["start"]


def test_a_note_after_discharge_asks_for_the_late_entry_reason(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse)
    database.writer.submit(repo.advance_phase, visit.id, "discharged", user=nurse).result()
    dlg = shown(qtbot, NoteDialog(ctx, visit.id))
    assert not dlg.late_reason.isVisible()
    dlg.text.setPlainText("phoned: patient home safely")
    text = refusal(qtbot, dlg)
    assert text == ("Not saved: the visit was discharged: a note charted now is a late entry; "
                    "give the reason it is charted late")
    assert dlg.late_reason.isVisible() and dlg.focusWidget() is dlg.late_reason
    assert ctx.read(repo.current_entries, Note, visit.id) == []
    dlg.late_reason.setText("follow-up call")
    note = wait_saved(qtbot, dlg)
    assert note.late_reason == "follow-up call" and note.text == "phoned: patient home safely"


def test_an_overlong_note_is_refused_with_its_length(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse)
    dlg = shown(qtbot, NoteDialog(ctx, visit.id))
    dlg.text.setPlainText("x" * 20_000)
    assert refusal(qtbot, dlg) == ("Not saved: the note is 20,000 characters long; the record "
                                   "takes at most 10,000")
    assert ctx.read(repo.current_entries, Note, visit.id) == []


def test_a_patient_born_in_2100_is_refused_by_the_record(qtbot, ctx, database, nurse):
    seed_visit(database, nurse)
    chair2 = ctx.read(repo.chair_by_name, "Chair 2")
    dlg = shown(qtbot, AssignPatientDialog(ctx, chair2.id))
    dlg.new_check.setChecked(True)
    dlg.mrn.setText("MRN-2100")
    dlg.family.setText("Future")
    dlg.given.setText("Fay")
    dlg.dob.setText("2100-01-01")
    dlg.allergies.setText("NKDA")
    assert refusal(qtbot, dlg) == "Not saved: date of birth 2100-01-01 is in the future"
    assert dlg.focusWidget() is dlg.dob
    assert ctx.read(repo.find_patient_by_mrn, "MRN-2100") is None


def test_the_patient_named_as_driver_is_not_acceptable(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse)  # Sam Rivera
    dlg = shown(qtbot, RideDialog(ctx, visit.id))
    dlg.driver_name.setText("Sam Rivera")
    dlg.relationship.setText("friend")
    dlg.phone.setText("555 010 2233")
    assert "is the patient" in dlg.decision.text()
    dlg.save_button.click()
    assert dlg.message.text().startswith("Not acceptable: the driver named, Sam Rivera, is "
                                         "the patient")


def test_an_amendment_to_an_absurd_rate_is_refused(qtbot, ctx, database, nurse):
    visit = started(qtbot, ctx, database, nurse)
    (start,) = ctx.read(repo.current_entries, InfusionEvent, visit.id)
    # the amend form is the dose form, pre-filled: its rate cannot go past the plausible 2000
    dlg = shown(qtbot, AmendDialog(ctx, "infusion_events", start.id))
    assert dlg.rate.value() == start.rate_ml_h and dlg.rate.maximum() == 2000
    # and whatever writes without the form (a script, a second station) is refused by the record
    with pytest.raises(Refused) as err:
        database.writer.submit(rc.amend_entry, "infusion_events", start.id, user=nurse.id,
                               protocol=ctx.protocol, changes={"rate_ml_h": 1e6},
                               reason="typo").result()
    assert "not plausible: at most 2000 mL/h" in err.value.message
    assert [e.rate_ml_h for e in ctx.read(repo.current_entries, InfusionEvent, visit.id)] == [
        start.rate_ml_h]


def test_escape_while_the_write_is_pending_is_ignored_until_the_answer(qtbot, ctx, database,
                                                                        nurse):
    _, _, visit = seed_visit(database, nurse)
    gate = threading.Event()
    busy = database.writer.submit(lambda _s: gate.wait(10))  # the writer is busy
    dlg = shown(qtbot, NoteDialog(ctx, visit.id))
    dlg.text.setPlainText("patient asleep")
    dlg.save_button.click()
    assert dlg.pending and not dlg.save_button.isEnabled()
    qtbot.keyClick(dlg.text, Qt.Key.Key_Escape)
    assert dlg.isVisible() and dlg.message.text() == PENDING_ESC
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        gate.set()
    busy.result()
    assert dlg.result() == QDialog.DialogCode.Accepted and dlg.message.text() == "Saved."
    assert [n.text for n in ctx.read(repo.current_entries, Note, visit.id)] == [
        "patient asleep"]


def test_no_dialog_writes_without_its_command(qtbot):
    """The dialogs' modules import no ORM model for writing and no SQL session factory: the
    record commands are the only writers."""
    from pathlib import Path

    from nursestation.ui import charting, discharge, visitflow, vitalscheck

    for module in (visitflow, vitalscheck):
        assert "sqlalchemy" not in module.__dict__ and "Session" not in module.__dict__
    for module in (charting, discharge, visitflow, vitalscheck):
        source = Path(module.__file__).read_text(encoding="utf-8")
        for write in ("ctx.write(", ".submit(", "repo.record_", "repo.add_", "repo.save_",
                      "repo.amend", "repo.resolve_", "repo.create_", "repo.advance_phase"):
            assert write not in source, (module.__name__, write)
