"""Charting dialogs driven through their real widgets against a real SQLite record."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from nursestation.db import repo
from nursestation.db.models import (
    Assessment,
    InfusionEvent,
    MedicationAdministration,
    Note,
)
from nursestation.record.visit import read_visit
from nursestation.ui.charting import (
    AssessmentDialog,
    DeliveredDosePanel,
    DoseChangeDialog,
    MedicationDialog,
    MedicationResponseDialog,
    NoteDialog,
)
from tests.plugins.db import CHARGE_PIN
from tests.ui.charting_helpers import make_ctx, ready_to_start, real_now, seed_visit, wait_saved

# the offscreen platform says so for every top-level dialog shown; harmless
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


@pytest.fixture
def db_url(tmp_path):
    """These GUI tests use SQLite only (the record itself is tested on both backends)."""
    return f"sqlite:///{tmp_path / 'chart.sqlite3'}"


@pytest.fixture
def ctx(database, nurse):
    return make_ctx(database, nurse)


def entries(ctx, model, visit_id):
    return ctx.read(repo.current_entries, model, visit_id)


def choose(combo, data):
    i = combo.findData(data)
    assert i >= 0, data
    combo.setCurrentIndex(i)


def open_dialog(qtbot, dlg):
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


# ------------------------------------------------------------------------------ dose changes


def start_infusion(qtbot, ctx, visit_id):
    dlg = open_dialog(qtbot, DoseChangeDialog(ctx, visit_id))
    assert dlg.selected_kind == "start"
    # 70 kg, 0.5 mg/kg in 100 mL over 40 min = 150 mL/h, 0.35 mg/mL = 0.75 mg/kg/h
    assert dlg.rate.value() == pytest.approx(150.0)
    assert dlg.dose_rate.text().startswith("0.75 mg/kg/h")
    return wait_saved(qtbot, dlg)


def test_start_and_rate_change_are_charted_with_reason_user_and_time(qtbot, ctx, database,
                                                                      nurse):
    _, _, visit = ready_to_start(database, nurse, now=ctx.clock.now())
    ev = start_infusion(qtbot, ctx, visit.id)
    assert ev.kind == "start" and ev.rate_ml_h == 150 and ev.recorded_by_id == nurse.id

    dlg = open_dialog(qtbot, DoseChangeDialog(ctx, visit.id))
    assert dlg.selected_kind == "rate_change"
    dlg.rate.setValue(100)
    assert dlg.dose_rate.text().startswith("0.5 mg/kg/h")
    # no reason yet: refused, nothing written
    dlg.save_button.click()
    assert "Choose the reason" in dlg.message.text()
    choose(dlg.reason, "dissociation distressing")
    dlg.reason_text.setText("patient frightened")
    assert "✓ OK" in dlg.decision.text() and "0.5 mg/kg/h within" in dlg.decision.text()
    ev = wait_saved(qtbot, dlg)
    rows = entries(ctx, InfusionEvent, visit.id)
    assert [(r.kind, r.rate_ml_h) for r in rows] == [("start", 150), ("rate_change", 100)]
    assert rows[1].reason_code == "dissociation distressing"
    assert rows[1].reason_text == "patient frightened"
    assert rows[1].dose_mg_kg_h == pytest.approx(0.5)
    assert rows[1].recorded_by_id == nurse.id and ev.at == ctx.clock.now()


def test_a_fresh_dose_change_says_what_is_still_needed_not_refused(qtbot, ctx, database,
                                                                    nurse):
    """Issue 17.7: before the nurse has chosen anything the form says what to do next; it
    does not greet her with a refusal."""
    _, _, visit = ready_to_start(database, nurse, now=ctx.clock.now())
    start_infusion(qtbot, ctx, visit.id)
    dlg = open_dialog(qtbot, DoseChangeDialog(ctx, visit.id))
    text = dlg.decision.text()
    assert "→ Still needed: choose a reason for the change" in text
    assert "Refused" not in text and "✗" not in text
    dlg.save_button.click()
    assert dlg.message.text() == "Choose the reason for the change."
    assert dlg.reason.hasFocus() or dlg.focusWidget() is dlg.reason
    choose(dlg.reason, "patient request")
    assert "Still needed" not in dlg.decision.text()
    assert "✓ OK: reason 'patient request'" in dlg.decision.text()


def test_a_start_asks_for_no_change_reason(qtbot, ctx, database, nurse):
    _, _, visit = ready_to_start(database, nurse, now=ctx.clock.now())
    dlg = open_dialog(qtbot, DoseChangeDialog(ctx, visit.id))
    assert dlg.kind.currentData() == "start"
    assert not dlg.reason.isEnabled() and not dlg.reason_text.isEnabled()
    assert "Still needed" not in dlg.decision.text()


def test_pause_with_other_needs_details(qtbot, ctx, database, nurse):
    _, _, visit = ready_to_start(database, nurse, now=ctx.clock.now())
    start_infusion(qtbot, ctx, visit.id)
    dlg = open_dialog(qtbot, DoseChangeDialog(ctx, visit.id, kind="pause"))
    assert not dlg.rate.isEnabled()
    choose(dlg.reason, "other")
    assert "needs a description" in dlg.decision.text()
    dlg.save_button.click()
    assert dlg.isVisible() and "needs a description" in dlg.message.text()
    dlg.reason_text.setText("IV line check")
    wait_saved(qtbot, dlg)
    assert entries(ctx, InfusionEvent, visit.id)[-1].kind == "pause"


def test_soft_rate_limit_needs_a_confirming_reason(qtbot, ctx, database, nurse):
    _, _, visit = ready_to_start(database, nurse, now=ctx.clock.now())
    start_infusion(qtbot, ctx, visit.id)
    dlg = open_dialog(qtbot, DoseChangeDialog(ctx, visit.id))
    dlg.rate.setValue(250)  # 1.25 mg/kg/h: above soft 1.125, below hard 1.5
    choose(dlg.reason, "patient request")
    text = dlg.decision.text()
    assert "! Soft limit" in text and "1.25 mg/kg/h" in text
    assert "exceeds the soft limit 1.125 mg/kg/h" in text
    assert "dosing." not in text  # the nurse reads words, not the protocol's setting keys
    assert dlg.confirm.isEnabled() and not dlg.override_button.isVisible()
    dlg.save_button.click()
    assert "needs a reason" in dlg.message.text()
    assert len(entries(ctx, InfusionEvent, visit.id)) == 1
    dlg.confirm.setText("prescriber ordered faster rate")
    ev = wait_saved(qtbot, dlg)
    assert ev.limit_confirmation == "prescriber ordered faster rate"
    assert ev.override_by_id is None


def test_hard_rate_limit_is_refused_with_no_override(qtbot, ctx, database, nurse):
    """Issue 15.5: the default protocol's hard limits are hard - no override is offered."""
    _, _, visit = ready_to_start(database, nurse, now=ctx.clock.now())
    start_infusion(qtbot, ctx, visit.id)
    dlg = open_dialog(qtbot, DoseChangeDialog(ctx, visit.id))
    choose(dlg.reason, "patient request")
    dlg.rate.setValue(320)  # 1.6 mg/kg/h
    text = dlg.decision.text()
    assert "1.6 mg/kg/h exceeds the hard limit 1.5 mg/kg/h, a hard limit with no override" \
        in text
    # nothing on the form suggests a way round it
    assert not dlg.override_button.isVisible() and "override" not in dlg.message.text()
    dlg.save_button.click()
    assert "cannot be recorded" in dlg.message.text().lower()
    assert len(entries(ctx, InfusionEvent, visit.id)) == 1


def test_hard_rate_limit_refused_unless_charge_nurse_overrides(qtbot, ctx, database, nurse,
                                                               charge_nurse):
    """A clinic whose protocol lets a charge nurse override the hard limits."""
    ctx.protocol = replace(ctx.protocol, dosing=replace(ctx.protocol.dosing,
                                                        hard_limits_overridable=True))
    _, _, visit = ready_to_start(database, nurse, now=ctx.clock.now())
    start_infusion(qtbot, ctx, visit.id)
    dlg = open_dialog(qtbot, DoseChangeDialog(ctx, visit.id))
    # offered, but only usable while a hard limit is exceeded
    assert dlg.override_button.isVisible() and not dlg.override_button.isEnabled()
    dlg.rate.setValue(300)  # 1.5 mg/kg/h is the hard limit itself: within it
    choose(dlg.reason, "patient request")
    assert "Hard limit" not in dlg.decision.text()
    dlg.rate.setValue(320)  # 1.6 mg/kg/h
    text = dlg.decision.text()
    assert "✗ Hard limit" in text and "1.6 mg/kg/h exceeds the hard limit 1.5" in text
    assert "dosing." not in text
    dlg.confirm.setText("nurse wants it")  # a nurse's reason is not enough
    dlg.save_button.click()
    assert "refused unless a charge nurse overrides" in dlg.message.text()
    assert len(entries(ctx, InfusionEvent, visit.id)) == 1

    dlg.override_button.click()
    ov = dlg.override_dialog
    qtbot.addWidget(ov)
    assert "1.6 mg/kg/h" in ov.what.text()
    # a nurse's own PIN does not authorise
    ov.username.setText("nurse1")
    ov.pin.setText("4826")
    ov.reason_edit.setText("ordered")
    ov.accept()
    assert ov.isVisible() and dlg.override is None
    ov.username.setText("charge1")
    ov.pin.setText(CHARGE_PIN)
    ov.accept()
    assert dlg.override is not None and "Carla Charge" in dlg.override_status.text()
    ev = wait_saved(qtbot, dlg)
    assert ev.rate_ml_h == 320 and ev.override_by_id == charge_nurse.id
    assert ev.override_reason == "ordered" and ev.recorded_by_id == nurse.id


# ------------------------------------------------------------------------------- medications


def test_medication_charted_then_response(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=20)
    dlg = open_dialog(qtbot, MedicationDialog(ctx, visit.id))
    assert dlg.drug.currentData() == "ondansetron" and dlg.dose.value() == 4
    assert dlg.route.currentText() == "IV"
    dlg.site.setText("L antecubital")
    choose(dlg.indication, "nausea")
    assert "within the protocol's limits" in dlg.decision.text()
    med = wait_saved(qtbot, dlg)
    assert (med.drug, med.dose, med.route, med.site, med.indication) == (
        "ondansetron", 4, "IV", "L antecubital", "nausea")
    assert not med.late_entry and med.recorded_by_id == nurse.id

    resp = open_dialog(qtbot, MedicationResponseDialog(ctx, med.id))
    resp.response.setText("nausea resolved")
    wait_saved(qtbot, resp)
    [row] = entries(ctx, MedicationAdministration, visit.id)
    assert row.response == "nausea resolved" and row.amends_id == med.id


def test_medication_limits_late_entry_and_future_time(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=60)
    now = ctx.clock.now()
    # back-charted 40 min ago: allowed, flagged late
    dlg = open_dialog(qtbot, MedicationDialog(ctx, visit.id))
    dlg.given.setDateTime(dlg.given.dateTime().addSecs(-40 * 60))
    assert "late entry" in dlg.decision.text()
    med = wait_saved(qtbot, dlg)
    assert med.late_entry and med.at == now - timedelta(minutes=40)

    # a second dose 10 min later: interval is soft; 8 mg would also exceed the visit maximum
    dlg = open_dialog(qtbot, MedicationDialog(ctx, visit.id))
    dlg.given.setDateTime(dlg.given.dateTime().addSecs(-30 * 60))
    dlg.dose.setValue(8)
    text = dlg.decision.text()
    assert "minimum interval 30 min" in text and "exceeding the maximum per visit 8 mg" in text
    dlg.save_button.click()
    assert "needs a reason" in dlg.message.text()
    dlg.reason.setText("prescriber ordered")
    med2 = wait_saved(qtbot, dlg)
    assert med2.override_reason == "prescriber ordered"

    # in the future: refused, cannot be charted
    dlg = open_dialog(qtbot, MedicationDialog(ctx, visit.id))
    dlg.given.setDateTime(dlg.given.dateTime().addSecs(10 * 60))
    assert "✗ Refused" in dlg.decision.text() and "in the future" in dlg.decision.text()
    dlg.reason.setText("anything")
    dlg.save_button.click()
    assert "cannot be recorded" in dlg.message.text()
    assert len(entries(ctx, MedicationAdministration, visit.id)) == 2


def test_allergy_blocks_unless_overridden_with_a_reason(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=20,
                             allergies="penicillin, granisetron (rash)")
    dlg = open_dialog(qtbot, MedicationDialog(ctx, visit.id))
    assert "granisetron (rash)" in dlg.heading.text()
    text = dlg.decision.text()
    assert "✗ Blocked" in text and "allergy on record: granisetron (rash)" in text
    dlg.save_button.click()
    assert "needs a reason" in dlg.message.text()
    assert entries(ctx, MedicationAdministration, visit.id) == []
    dlg.reason.setText("cross-reactivity discussed with prescriber")
    med = wait_saved(qtbot, dlg)
    assert med.override_reason == "cross-reactivity discussed with prescriber"


# ------------------------------------------------------------------------------- assessments


def test_assessment_dialog_is_typed_through_and_records_each_scale(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=20)
    dlg = open_dialog(qtbot, AssessmentDialog(ctx, visit.id))
    assert dlg.moaas.itemText(1).startswith("5 — responds readily to name")
    assert dlg.moaas.itemText(6).startswith("0 — no response")
    # keyboard: type a digit into each CADSS item, Tab to the next
    for spin, digit in zip(dlg.cadss, "210100", strict=True):
        spin.setFocus()
        spin.selectAll()
        qtbot.keyClicks(spin.lineEdit(), digit)
    assert dlg.cadss_total.text() == "Total: 4 / 24"
    dlg.moaas.setCurrentIndex(dlg.moaas.findData(4))
    choose(dlg.nausea, "mild")
    dlg.note.setPlainText("feels floaty, not distressed")
    with qtbot.waitSignal(dlg.saved) as blocker:
        qtbot.keyClick(dlg.moaas, Qt.Key.Key_Return)
    assert len(blocker.args[0].entries) == 3 and blocker.args[0].kinds == {"assessment"}
    rows = {a.scale: a for a in entries(ctx, Assessment, visit.id)}
    assert rows["CADSS6"].score == 4 and rows["CADSS6"].items["1"] == 2
    assert rows["CADSS6"].note == "feels floaty, not distressed"
    assert rows["MOAAS"].score == 4
    assert rows["NAUSEA"].items["level"] == "mild"
    assert all(a.recorded_by_id == nurse.id for a in rows.values())


def test_partial_cadss_and_empty_assessment_are_refused(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=20)
    dlg = open_dialog(qtbot, AssessmentDialog(ctx, visit.id))
    dlg.save_button.click()
    assert "Nothing assessed" in dlg.message.text()
    dlg.cadss[0].setValue(1)
    assert "5 item(s) left" in dlg.cadss_total.text()
    dlg.save_button.click()
    assert "score all six" in dlg.message.text()
    assert entries(ctx, Assessment, visit.id) == []


def test_note_and_escape_cancels(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse)
    dlg = open_dialog(qtbot, NoteDialog(ctx, visit.id))
    qtbot.keyClick(dlg.text, Qt.Key.Key_Escape)
    assert not dlg.isVisible()
    dlg = open_dialog(qtbot, NoteDialog(ctx, visit.id))
    dlg.text.setPlainText("patient listening to music")
    note = wait_saved(qtbot, dlg)
    assert note.text == "patient listening to music"
    assert [n.text for n in entries(ctx, Note, visit.id)] == ["patient listening to music"]


# --------------------------------------------------------------------------- delivered dose


def test_delivered_dose_from_the_rate_history_against_the_pump(qtbot, ctx, database, nurse):
    from nursestation.core.readings import Reading

    _, _, visit = seed_visit(database, nurse, start_ago_min=20)
    now = ctx.clock.now()
    w = database.writer
    w.submit(repo.record_infusion_event, visit.id, "start", user=nurse, rate_ml_h=150,
             concentration_mg_ml=0.35, at=now - timedelta(minutes=20)).result()
    panel = DeliveredDosePanel(ctx, visit.id)
    qtbot.addWidget(panel)
    # 150 mL/h × 20 min = 50 mL = 17.5 mg = 0.25 mg/kg
    assert "Delivered: 17.5 mg (0.25 mg/kg) = 50.0 mL" in panel.label.text()
    assert "Weight: 70.0 kg, weighed at this visit" in panel.label.text()
    assert "Pump: running at 150 mL/h" in panel.label.text()
    assert "no volume-infused reading" in panel.label.text()
    w.record_readings([Reading("PUMP_VI", 47.0, "mL", chair="Chair 1", device_id="c1-pump",
                               recv_wall=now - timedelta(seconds=5))])
    w.flush().result()
    panel.refresh()
    assert "! Pump" in panel.label.text()
    assert "pump reports 47.0 mL infused, charted 50.0 mL: difference -3.0 mL" \
        in panel.label.text()
    assert panel.summary.comparison is not None and not panel.summary.comparison.within_tolerance
    assert real_now() >= now


def test_the_dose_panel_stops_counting_when_the_bag_is_empty(qtbot, ctx, database, nurse):
    """The protocol's 100 mL bag at 150 mL/h is empty after 40 min: 50 min later the pump is
    stopped (not "running") and the dose is the bag's 35 mg, not 150 mL/h × 50 min."""
    _, _, visit = seed_visit(database, nurse, start_ago_min=50)
    now = ctx.clock.now()
    database.writer.submit(repo.record_infusion_event, visit.id, "start", user=nurse,
                           rate_ml_h=150, concentration_mg_ml=0.35,
                           at=now - timedelta(minutes=50)).result()
    panel = DeliveredDosePanel(ctx, visit.id)
    qtbot.addWidget(panel)
    assert "Delivered: 35.0 mg (0.50 mg/kg) = 100.0 mL" in panel.label.text()
    assert "Pump: stopped: bag empty (VTBI 100 mL reached" in panel.label.text()
    facts = ctx.read(read_visit, visit.id, ctx.protocol, now)
    assert facts.pump_state == "stopped"
