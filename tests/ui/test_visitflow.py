"""The visit flow at one chair, done by keyboard against a real (SQLite) database:
assign → check-in → baseline → infusing → recovery, with core's warnings, acknowledgements and a
charge nurse's override."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QWidget
from sqlalchemy import select

from nursestation.config import ChairConfig, Config
from nursestation.core.livestate import LiveStore
from nursestation.core.protocol import load_protocol
from nursestation.core.readings import Reading
from nursestation.db import Database, repo
from nursestation.db.models import PatientWeight, Screening, Visit
from nursestation.ui.context import AppContext, CurrentUser
from nursestation.ui.visitflow import (
    BASELINE_SCALE,
    AssignPatientDialog,
    CheckInDialog,
    StartInfusionDialog,
    next_step,
    next_step_for_chair,
)

SHOTS = Path("/tmp/shots")
# The offscreen platform cannot pass a dialog's size constraints on to its window; real ones can.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


@pytest.fixture
def ctx(qtbot, tmp_path):
    db = Database.open(f"sqlite:///{tmp_path / 'ui.sqlite3'}")
    nurse = db.writer.submit(repo.create_user, "nurse1", "Nora Nurse", "nurse", "4826").result()
    db.writer.submit(repo.create_user, "charge1", "Carla Charge", "charge", "582604").result()
    db.writer.submit(repo.sync_chairs, [ChairConfig("Chair 1"), ChairConfig("Chair 2")]).result()
    config = Config(idle_lock_minutes=5)
    c = AppContext(config, load_protocol(config.protocol_file), db.engine, db.writer,
                   live=LiveStore())
    c.set_user(CurrentUser(nurse.id, "nurse1", "Nora Nurse", "nurse"))
    yield c
    db.close()


def chair_id(ctx, name="Chair 1") -> int:
    return ctx.read(repo.chair_by_name, name).id


def shot(widget: QWidget, name: str) -> None:
    if SHOTS.is_dir():
        widget.grab().save(str(SHOTS / f"{name}.png"))


def show(qtbot, dlg: QDialog) -> QDialog:
    qtbot.addWidget(dlg)
    dlg.open()
    qtbot.waitExposed(dlg)
    dlg.activateWindow()
    return dlg


def focus(dlg: QDialog) -> QWidget:
    return dlg.focusWidget()


def tab_to(qtbot, dlg: QDialog, target: QWidget, limit: int = 40) -> None:
    """Press Tab until ``target`` has the dialog's focus (proves it is reachable by keyboard)."""
    for _ in range(limit):
        if focus(dlg) is target:
            return
        qtbot.keyClick(focus(dlg), Qt.Key.Key_Tab)
    raise AssertionError(f"Tab never reached {target!r}; stuck at {focus(dlg)!r}")


def type_in(qtbot, dlg: QDialog, text: str) -> None:
    qtbot.keyClicks(focus(dlg), text)


def enter(qtbot, dlg: QDialog) -> None:
    qtbot.keyClick(focus(dlg), Qt.Key.Key_Return)


def saved(qtbot, dlg: QDialog) -> None:
    qtbot.waitUntil(lambda: dlg.result() == QDialog.DialogCode.Accepted, timeout=10_000)
    assert dlg.message.text() == "Saved."


def open_next(qtbot, ctx, label: str) -> QDialog:
    got, factory = next_step_for_chair(ctx, chair_id(ctx), "Chair 1")
    assert got == label
    return show(qtbot, factory(ctx, None))


def feed_monitor(ctx, chair="Chair 1") -> None:
    now_m, now_w = time.monotonic(), datetime.now(UTC)
    values = {"HR": 74, "SPO2": 98, "RR": 14, "NBP_SYS": 128, "NBP_DIA": 82, "NBP_MEAN": 97}
    ctx.live.ingest([Reading(code, v, chair=chair, device_id=f"{chair}/mon", recv_mono=now_m,
                             recv_wall=now_w, device_time=now_w) for code, v in values.items()])


def record(ctx, visit_id):
    return ctx.read(repo.visit_record, visit_id)


def active_visit(ctx) -> Visit:
    return ctx.read(repo.active_visit_for_chair, chair_id(ctx))


def new_patient_by_keyboard(qtbot, ctx, mrn="MRN-1001") -> Visit:
    dlg = open_next(qtbot, ctx, "Assign patient…")
    assert focus(dlg) is dlg.search
    type_in(qtbot, dlg, mrn)
    assert dlg.results.count() == 0 and "No patient found" in dlg.message.text()
    tab_to(qtbot, dlg, dlg.new_check)
    qtbot.keyClick(dlg.new_check, Qt.Key.Key_Space)
    assert dlg.new_check.isChecked() and dlg.mrn.text() == mrn  # carried over from the search
    qtbot.keyClick(focus(dlg), Qt.Key.Key_Tab)
    tab_to(qtbot, dlg, dlg.family)
    type_in(qtbot, dlg, "Doe")
    qtbot.keyClick(focus(dlg), Qt.Key.Key_Tab)
    type_in(qtbot, dlg, "Jane")
    qtbot.keyClick(focus(dlg), Qt.Key.Key_Tab)
    type_in(qtbot, dlg, "1980-04-02")
    qtbot.keyClick(focus(dlg), Qt.Key.Key_Tab)
    assert focus(dlg) is dlg.allergies
    type_in(qtbot, dlg, "NKDA")
    shot(dlg, "assign-new")
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    return active_visit(ctx)


def check_in_by_keyboard(qtbot, ctx, *, solids="8h", ack=""):
    dlg = open_next(qtbot, ctx, "Check in…")
    assert focus(dlg) is dlg.weight
    type_in(qtbot, dlg, "72.5")
    for text in (solids, "3h"):
        qtbot.keyClick(focus(dlg), Qt.Key.Key_Tab)
        type_in(qtbot, dlg, text)
    qtbot.keyClick(focus(dlg), Qt.Key.Key_Tab)
    assert focus(dlg) is dlg.no_alcohol
    qtbot.keyClick(focus(dlg), Qt.Key.Key_Space)
    tab_to(qtbot, dlg, dlg.medications)
    type_in(qtbot, dlg, "sertraline 100 mg daily")
    for cb in dlg.questions.values():
        tab_to(qtbot, dlg, cb)
        qtbot.keyClick(cb, Qt.Key.Key_Space)
    for text in ("John Doe", "husband", "555 0100"):
        qtbot.keyClick(focus(dlg), Qt.Key.Key_Tab)
        type_in(qtbot, dlg, text)
    return dlg


def test_whole_visit_flow_by_keyboard(qtbot, ctx):
    nurse = ctx.user.id
    t0 = datetime.now(UTC)

    # assign a new patient
    v = new_patient_by_keyboard(qtbot, ctx)
    p = ctx.read(repo.find_patient_by_mrn, "MRN-1001")
    assert (p.family_name, p.given_name, str(p.date_of_birth), p.allergies) == (
        "Doe", "Jane", "1980-04-02", "NKDA")
    assert v.patient_id == p.id and v.phase == "check_in" and v.course_number == 1
    assert v.created_by_id == nurse and v.checkin_by_id == nurse and v.checkin_at >= t0
    assert v.protocol_hash == ctx.protocol.sha256 and v.protocol_version == ctx.protocol.version

    # check-in: weight, screening, ride
    dlg = check_in_by_keyboard(qtbot, ctx)
    assert dlg.screening.passed and not dlg.ack.isEnabled()
    shot(dlg, "check-in")
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    rec = record(ctx, v.id)
    (sc,) = rec.screenings
    assert sc.passed is True and sc.recorded_by_id == nurse and sc.at >= t0
    assert sc.answers["medications"] == "sertraline 100 mg daily"
    assert all(sc.answers["questions"].values()) and sc.answers["denies_recent_alcohol"]
    assert [w.weight_kg for w in rec.weights] == [72.5] and rec.weights[0].visit_id == v.id
    assert rec.ride.driver_name == "John Doe" and rec.ride.recorded_by_id == nurse
    assert rec.visit.phase == "check_in"  # stays in check-in until the baseline

    # baseline from the live monitor
    feed_monitor(ctx)
    dlg = open_next(qtbot, ctx, "Baseline vitals…")
    assert {c: f.text() for c, f in dlg.fields.items()} == {
        "NBP_SYS": "128", "NBP_DIA": "82", "HR": "74", "SPO2": "98", "RR": "14"}
    assert "monitor" in dlg.sources["HR"].text()
    shot(dlg, "baseline")
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    rec = record(ctx, v.id)
    assert rec.visit.phase == "baseline" and rec.visit.baseline_by_id == nurse
    (base,) = [a for a in rec.assessments if a.scale == BASELINE_SCALE]
    assert base.items["NBP_SYS"] == 128 and base.items["HR"] == 74
    assert base.items["source"]["HR"] == "monitor" and base.recorded_by_id == nurse

    # start the infusion at the protocol target
    dlg = open_next(qtbot, ctx, "Start infusion…")
    assert "36.2 mg" in dlg.plan_label.text() or "36.3 mg" in dlg.plan_label.text()
    assert "150.0 mL/h" in dlg.plan_label.text()
    shot(dlg, "start-infusion")
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    rec = record(ctx, v.id)
    (start,) = rec.infusion_events
    assert (start.kind, start.rate_ml_h, start.recorded_by_id) == ("start", 150.0, nurse)
    assert start.concentration_mg_ml == pytest.approx(0.3625)
    assert start.dose_mg_kg_h == pytest.approx(0.75)
    assert start.override_by_id is None and start.limit_confirmation is None
    assert rec.visit.phase == "infusing" and rec.visit.infusion_start_by_id == nurse

    # stop → recovery (stop time defaults to now)
    dlg = open_next(qtbot, ctx, "Stop infusion / recovery…")
    assert focus(dlg) is dlg.stop_time and dlg.stop_time.text()
    shot(dlg, "recovery")
    # a stop right after the start is well short of the plan: it needs its reason
    dlg.reason.setCurrentIndex(dlg.reason.findText("patient request"))
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    rec = record(ctx, v.id)
    assert [e.kind for e in rec.infusion_events] == ["start", "stop"]
    stop = rec.infusion_events[1]
    assert stop.recorded_by_id == nurse and stop.at >= start.at
    assert rec.visit.phase == "recovery" and rec.visit.recovery_by_id == nurse
    assert rec.visit.infusion_stop_at == stop.at

    label, factory = next_step_for_chair(ctx, chair_id(ctx), "Chair 1")
    assert label == "Discharge…" and factory is None


def test_returning_patient_shows_course_number(qtbot, ctx):
    w = ctx.writer
    uid = ctx.user.id
    p = w.submit(repo.create_patient, "55501", "Roe", "Richard", user=uid).result()
    for _ in range(2):
        v = w.submit(repo.create_visit, p.id, chair_id(ctx, "Chair 2"), "x", user=uid).result()
        w.submit(repo.advance_phase, v.id, "discharged", user=uid).result()
    dlg = show(qtbot, AssignPatientDialog(ctx, chair_id(ctx)))
    type_in(qtbot, dlg, "roe")
    assert dlg.results.count() == 1
    assert "course visit 3 of 6" in dlg.results.item(0).text()
    assert "ROE, Richard" in dlg.results.item(0).text()
    shot(dlg, "assign-returning")
    enter(qtbot, dlg)  # Enter picks the highlighted match
    saved(qtbot, dlg)
    v = active_visit(ctx)
    assert v.patient_id == p.id and v.course_number == 3


def test_fasting_violation_shows_reason_and_needs_acknowledgement(qtbot, ctx):
    v = new_patient_by_keyboard(qtbot, ctx)
    dlg = check_in_by_keyboard(qtbot, ctx, solids="2h")
    assert not dlg.screening.passed and dlg.ack.isEnabled()
    text = dlg.checks.text()
    assert "only 2.0 h ago, needs 6 h (protocol)" in text
    assert "screening." not in text  # words, not setting keys
    enter(qtbot, dlg)
    assert dlg.isVisible() and dlg.message.kind == "error"
    assert "acknowledge them with a reason" in dlg.message.text()
    assert focus(dlg) is dlg.ack
    assert ctx.read(lambda s: s.scalars(select(Screening)).all()) == []  # nothing charted
    type_in(qtbot, dlg, "light breakfast at 07:00; anaesthetist agreed")
    shot(dlg, "check-in-fasting")
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    (sc,) = record(ctx, v.id).screenings
    assert sc.passed is False
    assert sc.answers["acknowledgement"] == "light breakfast at 07:00; anaesthetist agreed"
    failed = [i for i in sc.answers["items"] if not i["passed"]]
    assert [i["key"] for i in failed] == ["screening.fasting_solids_h"]


def to_baseline(ctx) -> Visit:
    """A visit checked in with 80 kg and a baseline, charted directly (the setup, not the test)."""
    uid, w = ctx.user.id, ctx.writer
    p = w.submit(repo.create_patient, "777", "Poe", "Pat", user=uid).result()
    v = w.submit(repo.create_visit, p.id, chair_id(ctx), "x", user=uid).result()
    w.submit(repo.add_weight, p.id, 80.0, user=uid, visit_id=v.id).result()
    w.submit(repo.save_screening, v.id, {}, user=uid, passed=True).result()
    w.submit(repo.advance_phase, v.id, "baseline", user=uid).result()
    # the baseline's blood pressure is the pre-dose BP the start needs (REMS: BP before dosing)
    w.submit(repo.record_assessment, v.id, BASELINE_SCALE,
             {"NBP_SYS": 124, "NBP_DIA": 80, "HR": 72, "SPO2": 98, "RR": 14}, None,
             user=uid).result()
    return v


def set_dose(qtbot, dlg, text):
    assert focus(dlg) is dlg.dose
    qtbot.keyClick(dlg.dose, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    type_in(qtbot, dlg, text)


def test_dose_above_hard_limit_is_refused_with_no_override(qtbot, ctx):
    """Issue 15.5: a hard limit is hard - the form says so and offers no override."""
    v = to_baseline(ctx)
    dlg = open_next(qtbot, ctx, "Start infusion…")
    set_dose(qtbot, dlg, "5")  # a tenfold dose
    assert "exceeds the hard limit 1 mg/kg, a hard limit with no override" \
        in dlg.plan_label.text()
    assert not dlg.override_button.isVisible()
    enter(qtbot, dlg)
    assert dlg.override_dialog is None
    assert "cannot be recorded" in dlg.message.text().lower()
    assert dlg.result() != QDialog.DialogCode.Accepted
    assert record(ctx, v.id).infusion_events == []


def test_dose_above_hard_limit_needs_a_charge_override_where_the_protocol_allows(qtbot, ctx):
    from dataclasses import replace

    ctx.protocol = replace(ctx.protocol, dosing=replace(ctx.protocol.dosing,
                                                        hard_limits_overridable=True))
    v = to_baseline(ctx)
    dlg = open_next(qtbot, ctx, "Start infusion…")
    set_dose(qtbot, dlg, "1.2")
    assert "exceeds the hard limit 1 mg/kg:" in dlg.plan_label.text()
    tab_to(qtbot, dlg, dlg.reason)
    type_in(qtbot, dlg, "prescriber ordered 1.2 mg/kg")
    enter(qtbot, dlg)  # refused without an override: the override dialog opens
    ov = dlg.override_dialog
    assert ov is not None and ov.isVisible() and "hard limit" in ov.what.text()
    assert dlg.result() != QDialog.DialogCode.Accepted
    assert record(ctx, v.id).infusion_events == []
    qtbot.waitExposed(ov)
    assert ov.focusWidget() is ov.username
    qtbot.keyClicks(ov.username, "charge1")
    qtbot.keyClick(ov.username, Qt.Key.Key_Tab)
    qtbot.keyClicks(ov.pin, "582604")
    qtbot.keyClick(ov.pin, Qt.Key.Key_Tab)
    qtbot.keyClicks(ov.reason_edit, "attending physician order on chart")
    qtbot.keyClick(ov.reason_edit, Qt.Key.Key_Return)
    assert dlg.override is not None and "Carla Charge" in dlg.override_status.text()
    shot(dlg, "start-infusion-override")
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    (ev,) = record(ctx, v.id).infusion_events
    charge = next(u for u in ctx.read(repo.list_users) if u.username == "charge1")
    assert ev.override_by_id == charge.id
    assert ev.override_reason == "attending physician order on chart"
    assert ev.limit_confirmation == "prescriber ordered 1.2 mg/kg"
    assert ev.recorded_by_id == ctx.user.id and ev.dose_mg_kg_h == pytest.approx(1.8)


def test_soft_limit_needs_a_reason_only(qtbot, ctx):
    v = to_baseline(ctx)
    dlg = open_next(qtbot, ctx, "Start infusion…")
    set_dose(qtbot, dlg, "0.8")
    assert "exceeds the soft limit 0.75 mg/kg" in dlg.plan_label.text()
    assert not dlg.override_button.isVisible()
    enter(qtbot, dlg)
    assert dlg.message.kind == "error" and "needs a reason" in dlg.message.text().lower()
    assert focus(dlg) is dlg.reason
    type_in(qtbot, dlg, "titrating up per plan")
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    (ev,) = record(ctx, v.id).infusion_events
    assert ev.limit_confirmation == "titrating up per plan" and ev.override_by_id is None


def test_baseline_by_hand_without_a_monitor(qtbot, ctx):
    v = to_baseline(ctx)
    # back to a visit still in check-in: a fresh one on chair 2
    uid = ctx.user.id
    p = ctx.writer.submit(repo.create_patient, "888", "Moe", "Max", user=uid).result()
    v = ctx.writer.submit(repo.create_visit, p.id, chair_id(ctx, "Chair 2"), "x",
                          user=uid).result()
    # the record takes a baseline only after the check-in screening
    ctx.writer.submit(repo.save_screening, v.id, {}, user=uid, passed=True).result()
    label, factory = next_step(v, screened=True, chair_name="Chair 2")
    assert label == "Baseline vitals…"
    dlg = show(qtbot, factory(ctx, None))
    assert all(f.text() == "" for f in dlg.fields.values())
    enter(qtbot, dlg)  # nothing entered: the protocol wants a baseline
    assert "The protocol asks for a full baseline" in dlg.message.text()
    assert "schedule." not in dlg.message.text()  # words, not setting keys
    assert focus(dlg) is dlg.fields["NBP_SYS"]
    for text in ("131", "85", "70", "97", "16"):
        type_in(qtbot, dlg, text)
        qtbot.keyClick(focus(dlg), Qt.Key.Key_Tab)
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    rec = record(ctx, v.id)
    (base,) = [a for a in rec.assessments if a.scale == BASELINE_SCALE]
    assert base.items["NBP_SYS"] == 131 and base.items["RR"] == 16
    assert set(base.items["source"].values()) == {"manual"}


def test_escape_cancels_a_step_without_charting(qtbot, ctx):
    v = to_baseline(ctx)
    dlg = show(qtbot, StartInfusionDialog(ctx, v.id))
    qtbot.keyClick(focus(dlg), Qt.Key.Key_Escape)
    assert dlg.result() == QDialog.DialogCode.Rejected
    assert record(ctx, v.id).infusion_events == []


def test_a_fresh_check_in_says_what_is_still_needed_not_what_is_refused(qtbot, ctx):
    """Issue 17.7: the check-in opened with every line a red cross ("weight: not entered",
    "consent signed for this course: no") before the nurse had typed anything."""
    v = new_patient_by_keyboard(qtbot, ctx)
    dlg = show(qtbot, CheckInDialog(ctx, v.id))
    text = dlg.checks.text()
    assert "\u2716" not in text
    assert "Still needed: today&#x27;s weight" in text  # (rich text)
    assert "Still needed: last solid food" in text
    consent = ctx.protocol.screening.questions[0]
    assert f"Still needed: {consent}" in text
    # what was entered and is not met is a cross; an unticked box is an answer ("no")
    dlg.solids.setText("1h")
    box = dlg.questions[consent]
    box.setChecked(True)
    box.setChecked(False)
    text = dlg.checks.text()
    assert "\u2716" in text and "last solid food at" in text and "only 1.0 h ago" in text
    assert f"{consent}: no" in text and f"Still needed: {consent}" not in text
    # saving without them asks for an acknowledgement, in the same words
    dlg.weight.setText("70")
    # the weight is said once: within the protocol's maximum (a plausible 70 kg goes unsaid)
    text = dlg.checks.text()
    assert text.count("weight 70 kg") == 1 and "weight 70 kg within" in text
    dlg.weight.setFocus()
    enter(qtbot, dlg)
    assert "acknowledge them with a reason" in dlg.message.text()
    assert record(ctx, v.id).screenings == []


def test_nothing_is_charted_without_a_logged_in_user(qtbot, ctx):
    v = new_patient_by_keyboard(qtbot, ctx)
    dlg = show(qtbot, CheckInDialog(ctx, v.id))
    ctx.set_user(None)  # e.g. the station locked meanwhile
    type_in(qtbot, dlg, "70")
    enter(qtbot, dlg)
    assert "log in" in dlg.message.text()
    assert ctx.read(lambda s: s.scalars(select(PatientWeight)).all()) == []



def test_allergies_must_be_recorded_as_nkda_or_a_list(qtbot, ctx):
    """Blank allergies were stored and shown as "none recorded": nobody had asked."""
    dlg = open_next(qtbot, ctx, "Assign patient…")
    type_in(qtbot, dlg, "MRN-2002")
    dlg.new_check.setChecked(True)
    dlg.family.setText("Roe")
    dlg.given.setText("Rita")
    enter(qtbot, dlg)
    assert "NKDA" in dlg.message.text() and focus(dlg) is dlg.allergies
    assert ctx.read(repo.find_patient_by_mrn, "MRN-2002") is None
    dlg.allergies.setText("none")
    enter(qtbot, dlg)
    assert "Enter NKDA" in dlg.message.text()
    dlg.allergies.setText("penicillin (hives)")
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    assert ctx.read(repo.find_patient_by_mrn, "MRN-2002").allergies == "penicillin (hives)"


def _baseline_dialog(qtbot, ctx):
    uid = ctx.user.id
    p = ctx.writer.submit(repo.create_patient, "889", "Roe", "Rae", user=uid).result()
    v = ctx.writer.submit(repo.create_visit, p.id, chair_id(ctx, "Chair 2"), "x",
                          user=uid).result()
    ctx.writer.submit(repo.save_screening, v.id, {}, user=uid, passed=True).result()
    _label, factory = next_step(v, screened=True, chair_name="Chair 2")
    return v, show(qtbot, factory(ctx, None))


def test_a_typo_baseline_is_refused_with_what_was_typed_and_its_range(qtbot, ctx):
    """Issue 15.2: "abc-5" and "900" were saved as the baseline 5/900 (letters and the minus
    silently dropped), which then drove the alarms and the discharge gate."""
    v, dlg = _baseline_dialog(qtbot, ctx)
    values = {"NBP_SYS": "abc-5", "NBP_DIA": "900", "HR": "70", "SPO2": "97", "RR": "16"}
    for code, text in values.items():
        dlg.fields[code].setText(text)  # pasted: the field's validator never saw it typed
    enter(qtbot, dlg)
    assert "'abc-5' is not a number" in dlg.message.text()
    assert focus(dlg) is dlg.fields["NBP_SYS"]
    dlg.fields["NBP_SYS"].setText("5")
    enter(qtbot, dlg)
    qtbot.waitUntil(lambda: "not plausible" in dlg.message.text())
    assert "between 40 and 300 mmHg" in dlg.message.text()
    assert record(ctx, v.id).assessments == []
    # 230 is unusual, not implausible: the nurse confirms it
    dlg.fields["NBP_SYS"].setText("230")
    dlg.fields["NBP_DIA"].setText("95")
    enter(qtbot, dlg)
    qtbot.waitUntil(lambda: dlg.confirm_unusual.isVisible())
    assert "unusual" in dlg.message.text() and record(ctx, v.id).assessments == []
    qtbot.keyClick(dlg.confirm_unusual, Qt.Key.Key_Space)
    enter(qtbot, dlg)
    saved(qtbot, dlg)
    (base,) = record(ctx, v.id).assessments
    assert (base.items["NBP_SYS"], base.items["NBP_DIA"]) == (230, 95)


def test_a_diastolic_above_the_systolic_is_refused(qtbot, ctx):
    v, dlg = _baseline_dialog(qtbot, ctx)
    for code, text in {"NBP_SYS": "110", "NBP_DIA": "120", "HR": "70", "SPO2": "97",
                       "RR": "16"}.items():
        dlg.fields[code].setText(text)
    enter(qtbot, dlg)
    qtbot.waitUntil(lambda: "diastolic must be below the systolic" in dlg.message.text())
    assert record(ctx, v.id).assessments == []


def test_the_start_dialog_shows_what_blocks_dosing_and_asks_the_charge_nurse(qtbot, ctx):
    """Issue 15.4: an unmet blocking screening item stays visible when the infusion starts,
    and only a charge nurse's override (PIN and reason, covering exactly it) lets it start."""
    v = to_baseline(ctx)
    consent = ctx.protocol.screening.questions[0]
    uid = ctx.user.id
    ctx.writer.submit(repo.amend, record(ctx, v.id).screenings[0],
                      {"answers": {"items": [{"name": consent, "passed": False,
                                              "detail": f"{consent}: no",
                                              "key": "screening.questions"}]},
                       "passed": False}, "consent not signed", user=uid).result()
    dlg = open_next(qtbot, ctx, "Start infusion…")
    assert f"{consent}: no - blocks the infusion" in dlg.plan_label.text()
    assert dlg.override_button.isVisible()
    assert "A charge nurse must authorise this start" in dlg.override_status.text()
    enter(qtbot, dlg)
    ov = dlg.override_dialog
    assert ov is not None and consent in ov.what.text()
    assert record(ctx, v.id).infusion_events == []
