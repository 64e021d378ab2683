"""Amendments and their history (surviving a restart), and the pending pump-change flow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from nursestation.core.readings import Reading
from nursestation.db import Database, repo
from nursestation.db.models import InfusionEvent, MedicationAdministration, PumpChangeItem
from nursestation.record.commands import scan_pump_changes
from nursestation.ui.charting import AmendDialog, EntryHistoryView, PumpChangeDialog
from tests.ui.charting_helpers import make_ctx, seed_visit, wait_saved

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'chart.sqlite3'}"


@pytest.fixture
def ctx(database, nurse):
    return make_ctx(database, nurse)


def test_amendment_needs_a_reason_and_history_survives_a_restart(qtbot, ctx, database, nurse,
                                                                 db_url):
    _, _, visit = seed_visit(database, nurse, start_ago_min=30)
    med = database.writer.submit(repo.record_medication, visit.id, "ondansetron", 4, "mg", "IM",
                                 user=nurse, indication="nausea").result()
    view = EntryHistoryView(ctx, visit.id)
    qtbot.addWidget(view)
    top = view.tree.topLevelItem(0)
    assert "ondansetron 4 mg IM" in top.text(1) and top.childCount() == 0

    view.tree.setCurrentItem(top)
    view.amend_button.click()
    dlg = view.amend_dialog
    qtbot.addWidget(dlg)
    # the medication form itself, pre-filled with the entry as charted
    assert dlg.drug.currentData() == "ondansetron" and dlg.dose.value() == 4
    assert dlg.route.currentText() == "IM"
    dlg.route.setCurrentText("IV")
    dlg.save_button.click()
    assert "needs a reason" in dlg.message.text()
    dlg.amend_reason.setText("route charted wrongly")
    with qtbot.waitSignal(dlg.saved):
        qtbot.keyClick(dlg.amend_reason, Qt.Key.Key_Return)  # Enter saves
    [cur] = ctx.read(repo.current_entries, MedicationAdministration, visit.id)
    assert cur.route == "IV" and cur.amends_id == med.id
    assert cur.amend_reason == "route charted wrongly" and cur.recorded_by_id == nurse.id
    # the view refreshed on the committed write
    qtbot.waitUntil(lambda: view.tree.topLevelItem(0).childCount() == 2)

    # a restart: a fresh engine, writer and context on the same file
    database.close()
    db2 = Database.open(db_url)
    try:
        ctx2 = make_ctx(db2, nurse)
        view2 = EntryHistoryView(ctx2, visit.id)
        qtbot.addWidget(view2)
        top = view2.tree.topLevelItem(0)
        assert "ondansetron 4 mg IV" in top.text(1) and top.text(3) == "amended ×1"
        original, amendment = top.child(0), top.child(1)
        assert original.text(1).startswith("[superseded] ondansetron 4 mg IM")
        assert original.font(1).strikeOut()
        assert "original, charted" in original.text(3) and "Nora Nurse" in original.text(3)
        assert amendment.text(1).startswith("[current] ondansetron 4 mg IV")
        assert not amendment.font(1).strikeOut()
        assert "by Nora Nurse: route charted wrongly (route: IM → IV)" in amendment.text(3)
    finally:
        db2.close()


def test_entered_in_error_is_kept_and_marked(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse)
    note = database.writer.submit(repo.add_note, visit.id, "wrong chair", user=nurse).result()
    dlg = AmendDialog(ctx, "notes", note.id)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.text.toPlainText() == "wrong chair"  # the note form, pre-filled
    dlg.void.setChecked(True)
    dlg.amend_reason.setText("charted on the wrong patient")
    wait_saved(qtbot, dlg)
    view = EntryHistoryView(ctx, visit.id)
    qtbot.addWidget(view)
    top = view.tree.topLevelItem(0)
    assert "[entered in error]" in top.text(1) and top.font(1).strikeOut()
    assert "wrong chair" in top.text(1)


# ------------------------------------------------------------------------------ pump changes


def pump(database, now, *readings):
    """Readings from Chair 1's pump, (minutes before now, code, value)."""
    database.writer.record_readings([
        Reading(code, value, "mL/h" if code == "PUMP_RATE" else "", chair="Chair 1",
                device_id="c1-pump", recv_wall=now - timedelta(minutes=ago))
        for ago, code, value in readings])
    database.writer.flush().result()


def test_unexplained_pump_change_is_pending_then_confirmed_as_a_charted_event(qtbot, ctx,
                                                                              database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=30)
    now = ctx.clock.now()
    w = database.writer
    w.submit(repo.record_infusion_event, visit.id, "start", user=nurse, rate_ml_h=150,
             concentration_mg_ml=0.35, at=now - timedelta(minutes=30)).result()
    pump(database, now, (31, "PUMP_STATE", "stopped"), (31, "PUMP_RATE", 150.0),
         (30, "PUMP_STATE", "infusing"),  # the charted start explains this
         (12, "PUMP_RATE", 100.0),  # nobody charted this
         (1, "PUMP_STATE", "paused"))  # too recent: the nurse may still be charting it
    items = w.submit(scan_pump_changes, visit.id, now, user=nurse.id).result().entry
    assert [(i.kind, i.status) for i in items] == [("rate_change", "pending")]
    # scanning again does not duplicate it
    assert w.submit(scan_pump_changes, visit.id, now, user=nurse.id).result().entry == []
    [pending] = ctx.read(repo.pending_pump_changes, visit_id=visit.id)

    dlg = PumpChangeDialog(ctx, pending.id)
    qtbot.addWidget(dlg)
    dlg.show()
    assert "150 → 100 mL/h" in dlg.heading.text()
    assert "no nurse entry explains it" in dlg.heading.text()
    dlg.save_button.click()
    assert "choose a reason" in dlg.message.text()
    assert "is not" not in dlg.message.text()  # nothing was chosen: nothing is "wrong"
    i = dlg.reason.findData("BP rise")
    dlg.reason.setCurrentIndex(i)
    dlg.text.setText("SBP 168, slowed per protocol")
    wait_saved(qtbot, dlg)
    assert ctx.read(repo.pending_pump_changes, visit_id=visit.id) == []
    events = ctx.read(repo.current_entries, InfusionEvent, visit.id)
    assert [(e.kind, e.rate_ml_h) for e in events] == [("start", 150), ("rate_change", 100)]
    assert events[1].at == now - timedelta(minutes=12) and events[1].reason_code == "BP rise"
    assert events[1].recorded_by_id == nurse.id
    [item] = ctx.read(repo.current_entries, PumpChangeItem, visit.id)
    assert item.status == "confirmed" and "BP rise" in item.resolution_reason

    # two minutes later the pause is old enough, and still unexplained
    later = now + timedelta(minutes=2)
    items = w.submit(scan_pump_changes, visit.id, later, user=nurse.id).result().entry
    assert [i.kind for i in items] == ["pause"]
    dlg = PumpChangeDialog(ctx, items[0].id)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.dismiss_radio.setChecked(True)
    assert not dlg.reason.isEnabled()
    dlg.save_button.click()
    assert "Say why" in dlg.message.text()
    dlg.text.setText("pump door opened to reseat the line; not a clinical pause")
    wait_saved(qtbot, dlg)
    assert ctx.read(repo.pending_pump_changes, visit_id=visit.id) == []
    assert len(ctx.read(repo.current_entries, InfusionEvent, visit.id)) == 2
