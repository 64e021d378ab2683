"""Amending an entry opens the form that charted it, pre-filled, with the same checks; the MAR
groups the formulary by purpose and charts a dose's response (issue 15.6-15.8). Driven as a
nurse drives the real dialogs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from nursestation.db import repo
from nursestation.db.models import Assessment, InfusionEvent, MedicationAdministration
from nursestation.ui.charting import (
    AmendDialog,
    AssessmentDialog,
    DoseChangeDialog,
    EntryAmendDialog,
    EntryHistoryView,
    MedicationDialog,
    MedicationResponseDialog,
)
from tests.ui.charting_helpers import make_ctx, seed_visit, wait_saved

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'amend.sqlite3'}"


@pytest.fixture
def ctx(database, nurse):
    return make_ctx(database, nurse)


def shown(qtbot, dlg):
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def test_amending_a_rate_opens_the_dose_form_prefilled_and_says_the_change_in_words(
        qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=30)
    now = ctx.clock.now()
    start = database.writer.submit(repo.record_infusion_event, visit.id, "start", user=nurse,
                                   rate_ml_h=150, concentration_mg_ml=0.35,
                                   at=now - timedelta(minutes=30)).result()
    dlg = shown(qtbot, AmendDialog(ctx, "infusion_events", start.id))
    assert isinstance(dlg, DoseChangeDialog)
    assert dlg.windowTitle() == "Amend dose change"
    assert dlg.selected_kind == "start" and dlg.rate.value() == 150
    assert "Amending: Start 150 mL/h" in dlg.heading.text()
    assert not dlg.override_button.isVisible()  # a correction is not re-authorised
    dlg.save_button.click()
    assert dlg.message.text() == "Nothing was changed."
    dlg.rate.setValue(100)
    dlg.save_button.click()
    assert "needs a reason" in dlg.message.text()
    dlg.amend_reason.setText("pump was set to 100, charted 150")
    wait_saved(qtbot, dlg)
    [cur] = ctx.read(repo.current_entries, InfusionEvent, visit.id)
    assert cur.rate_ml_h == 100 and cur.amends_id == start.id and cur.kind == "start"

    view = EntryHistoryView(ctx, visit.id)
    qtbot.addWidget(view)
    amended = view.tree.topLevelItem(0).child(1)
    assert "rate: 150 mL/h → 100 mL/h" in amended.text(3)
    for col in range(4):  # no dicts, no column names
        for item in (view.tree.topLevelItem(0), amended):
            assert "{" not in item.text(col) and "rate_ml_h" not in item.text(col)


def test_amending_an_assessment_prefills_its_scale_and_closes_the_others(qtbot, ctx,
                                                                         database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=30)
    cadss = database.writer.submit(
        repo.record_assessment, visit.id, "CADSS6", {str(i): 1 for i in range(1, 7)}, 6,
        user=nurse, note="floaty").result()
    dlg = shown(qtbot, AmendDialog(ctx, "assessments", cadss.id))
    assert isinstance(dlg, AssessmentDialog)
    assert [s.value() for s in dlg.cadss] == [1] * 6
    assert dlg.note.toPlainText() == "floaty"
    assert not dlg.moaas.isEnabled() and not dlg.nausea.isEnabled()
    dlg.cadss[0].setValue(3)
    dlg.amend_reason.setText("item 1 scored wrongly")
    wait_saved(qtbot, dlg)
    [cur] = ctx.read(repo.current_entries, Assessment, visit.id)
    assert cur.score == 8 and cur.items["1"] == 3  # the record's scale computed it again


def test_a_vitals_entry_is_amended_field_by_field_and_a_typo_is_refused(qtbot, ctx,
                                                                        database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=30)
    base = database.writer.submit(repo.record_assessment, visit.id, "BASELINE_VITALS",
                                  {"NBP_SYS": 5, "NBP_DIA": 90}, None, user=nurse).result()
    dlg = shown(qtbot, AmendDialog(ctx, "assessments", base.id))
    assert isinstance(dlg, EntryAmendDialog)
    assert set(dlg.item_fields) == {"NBP_SYS", "NBP_DIA"}
    assert dlg.item_fields["NBP_SYS"].text() == "5"
    labels = [dlg.form.labelForField(w).text() for w in dlg.item_fields.values()]
    assert labels == ["Systolic BP:", "Diastolic BP:"]
    dlg.item_fields["NBP_SYS"].setText("abc-5")
    dlg.amend_reason.setText("typo")
    dlg.save_button.click()
    assert "'abc-5' is not a number" in dlg.message.text()
    dlg.item_fields["NBP_SYS"].setText("125")
    dlg.item_fields["NBP_DIA"].setText("900")  # refused by the record as when charted
    dlg.save_button.click()
    qtbot.waitUntil(lambda: dlg.message.text().startswith("Not saved"), timeout=5000)
    assert "diastolic" in dlg.message.text().lower()
    dlg.item_fields["NBP_DIA"].setText("80")
    wait_saved(qtbot, dlg)
    [cur] = ctx.read(repo.current_entries, Assessment, visit.id)
    assert (cur.items["NBP_SYS"], cur.items["NBP_DIA"]) == (125, 80)


@pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")
def test_the_history_opens_one_amend_window(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse)
    database.writer.submit(repo.add_note, visit.id, "patient asleep", user=nurse).result()
    view = EntryHistoryView(ctx, visit.id)
    qtbot.addWidget(view)
    view.show()
    view.tree.setCurrentItem(view.tree.topLevelItem(0))
    view.amend_button.click()
    first = view.amend_dialog
    qtbot.addWidget(first)
    view.amend_button.click()
    assert view.amend_dialog is first and first.isVisible()


def test_the_mar_groups_the_formulary_by_purpose_with_each_drugs_limits(qtbot, ctx,
                                                                        database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=30)
    dlg = shown(qtbot, MedicationDialog(ctx, visit.id))
    texts = [dlg.drug.itemText(i) for i in range(dlg.drug.count())]
    heads = [t for i, t in enumerate(texts)
             if dlg.drug.itemData(i) is None and t]  # headings (separators have no text)
    assert heads == ["Antiemetic (nausea)", "Calming (distressing dissociation, agitation)",
                     "Antihypertensive (BP rise)"]
    model = dlg.drug.model()
    for i, t in enumerate(texts):
        if t in heads:
            assert not model.item(i).isEnabled()  # a heading cannot be chosen
    assert texts.index("   midazolam") > texts.index(heads[1]) > texts.index("   ondansetron")
    dlg.drug.setCurrentIndex(dlg.drug.findData("midazolam"))
    assert "max 2 mg per dose (hard limit)" in dlg.drug_info.text()
    assert "sedative: sedation check 10 min after" in dlg.drug_info.text()
    assert dlg.indication.itemData(0) == "distressing dissociation"
    assert dlg.given_list.item(0).text() == "nothing given yet"


def test_a_response_due_is_shown_and_charted_from_the_mar(qtbot, ctx, database, nurse):
    _, _, visit = seed_visit(database, nurse, start_ago_min=50)
    now = ctx.clock.now()
    med = database.writer.submit(repo.record_medication, visit.id, "ondansetron", 4, "mg",
                                 "IV", user=nurse, given_at=now - timedelta(minutes=32),
                                 indication="nausea").result()
    dlg = shown(qtbot, MedicationDialog(ctx, visit.id))
    item = dlg.given_list.currentItem()
    assert item is not None and item.text().startswith("! ")
    assert "ondansetron 4 mg IV — ondansetron response due since" in item.text()
    dlg.respond_button.click()
    resp = dlg.response_dialog
    assert isinstance(resp, MedicationResponseDialog)
    qtbot.addWidget(resp)
    assert "ondansetron 4 mg IV given" in resp.heading.text()
    resp.save_button.click()
    assert resp.message.text() == "Describe the response."
    resp.response.setText("nausea resolved")
    with qtbot.waitSignal(resp.saved):
        qtbot.keyClick(resp.response, Qt.Key.Key_Return)
    [cur] = ctx.read(repo.current_entries, MedicationAdministration, visit.id)
    assert cur.response == "nausea resolved" and cur.chain_id == med.id
    qtbot.waitUntil(lambda: not dlg.isVisible())  # back to the chair
    again = shown(qtbot, MedicationDialog(ctx, visit.id))
    text = again.given_list.item(0).text()
    assert "response" in text and ": nausea resolved" in text and "due" not in text
