"""The ride dialog and the discharge gate dialog, through their widgets, on a real record."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from PySide6.QtCore import QPoint, Qt

from nursestation.core.clock import FakeClock
from nursestation.core.discharge import ActiveAlarm
from nursestation.core.readings import Reading
from nursestation.db import repo
from nursestation.db.models import DischargeDecision, RideArrangement
from nursestation.record.gate import discharge_inputs
from nursestation.ui.discharge import DischargeDialog, RideDialog
from tests.plugins.db import CHARGE_PIN, NURSE_PIN
from tests.ui.charting_helpers import PROTOCOL, make_ctx, real_now, seed_visit, wait_saved

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")

OBS = "Observation after infusion"
RIDE = "Ride home confirmed"
NAUSEA = "Nausea controlled"


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'discharge.sqlite3'}"


@pytest.fixture
def clock():
    # behind the record's own clock, so the test can move time forward without the record
    # refusing entries as pre-charted
    return FakeClock(real_now() - timedelta(minutes=15))


@pytest.fixture
def ctx(database, nurse, clock):
    return make_ctx(database, nurse, clock)


def seed_recovering(database, nurse, now, *, stop_ago: float, ride: str = "confirmed",
                    nausea: str = "none"):
    """A visit whose infusion (40 min) ended ``stop_ago`` minutes before ``now``; stable vitals,
    resolved assessments; a ride ``"confirmed"``, ``"arranged"`` or ``"none"``."""
    _, chair, visit = seed_visit(database, nurse, start_ago_min=stop_ago + 40,
                                 stop_ago_min=stop_ago, now=now)
    start = now - timedelta(minutes=stop_ago + 40)
    vals = {"NBP_SYS": 122.0, "NBP_DIA": 78.0, "HR": 72.0, "SPO2": 98.0, "RR": 14.0}
    times = [start - timedelta(minutes=5)] + [now - timedelta(minutes=m) for m in (8, 4, 1)]
    database.writer.record_readings([
        Reading(code, v, "", chair=chair.name, device_id="c1-mon", recv_wall=t)
        for t in times for code, v in vals.items()])
    database.writer.flush().result()
    w = database.writer
    w.submit(repo.record_assessment, visit.id, "CADSS6", {}, 0, user=nurse,
             at=start - timedelta(minutes=5)).result()
    for scale, items, score in (("MOAAS", {"level": 5}, 5), ("CADSS6", {}, 0),
                                ("NAUSEA", {"level": nausea}, 0)):
        w.submit(repo.record_assessment, visit.id, scale, items, score, user=nurse,
                 at=now - timedelta(minutes=3)).result()
    if ride != "none":
        r = w.submit(repo.save_ride, visit.id, user=nurse, driver_name="Alex Rivera",
                     relationship="spouse", phone="555 010 2233",
                     expected_arrival=now + timedelta(minutes=20)).result()
        if ride == "confirmed":
            w.submit(repo.confirm_ride, r, "phone_call", user=nurse,
                     at=now - timedelta(minutes=2)).result()
    return visit


def open_dialog(qtbot, dlg):
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def unmet(dlg):
    return [name for name, row in dlg.rows.items() if row.mark.text().startswith("✗")]


def test_button_disabled_until_the_last_criterion_is_met(qtbot, ctx, clock, database, nurse):
    visit = seed_recovering(database, nurse, clock.now(), stop_ago=25, ride="arranged")
    dlg = open_dialog(qtbot, DischargeDialog(ctx, visit.id))
    assert unmet(dlg) == [OBS, RIDE]
    assert "25 min since the infusion ended" in dlg.rows[OBS].detail.text()
    assert "minimum 30 min" in dlg.rows[OBS].detail.text()
    assert "not yet confirmed" in dlg.rows[RIDE].detail.text()
    dlg.instructions_given.setChecked(True)
    assert not dlg.save_button.isEnabled()
    assert "2 criteria unmet" in dlg.decision.text()

    # five minutes on, the 2-s re-evaluation sees the observation time pass
    clock.advance(5 * 60)
    qtbot.waitUntil(lambda: unmet(dlg) == [RIDE], timeout=5000)
    assert dlg.rows[OBS].mark.text() == "✓ met"
    assert not dlg.save_button.isEnabled()

    # the driver calls: confirmed through the ride dialog
    ride = open_dialog(qtbot, RideDialog(ctx, visit.id))
    assert "Ride home: arranged, not confirmed — arranged: " in ride.heading.text()
    ride.confirm.setCurrentIndex(ride.confirm.findData("phone_call"))
    wait_saved(qtbot, ride)
    dlg.evaluate()
    assert unmet(dlg) == []
    assert dlg.save_button.isEnabled()
    assert "confirmed by phone call by Nora Nurse" in dlg.rows[RIDE].detail.text()
    # the instructions confirmation is required as well
    dlg.instructions_given.setChecked(False)
    assert not dlg.save_button.isEnabled()
    dlg.instructions_given.setChecked(True)

    decision = wait_saved(qtbot, dlg)
    assert decision.all_met and not decision.override and decision.instructions_given
    assert decision.signer_id == nurse.id and decision.at == clock.now()
    names = [c["name"] for c in decision.criteria]
    assert OBS in names and "Modified Aldrete" in names
    v = ctx.read(repo.get_visit, visit.id)
    assert v.phase == "discharged" and v.discharge_by_id == nurse.id
    assert ctx.read(repo.active_visit_for_chair, v.chair_id) is None  # the chair is free


def test_charge_override_needs_a_pin_and_is_recorded_with_the_snapshot(qtbot, ctx, clock,
                                                                       database, nurse,
                                                                       charge_nurse):
    # the minimum observation time is not overridable (issue 15.5): nausea is
    visit = seed_recovering(database, nurse, clock.now(), stop_ago=40, nausea="moderate")
    dlg = open_dialog(qtbot, DischargeDialog(ctx, visit.id))
    assert unmet(dlg) == [NAUSEA]
    assert dlg.override_status.text() == "A charge override would cover: Nausea controlled"
    dlg.instructions_given.setChecked(True)
    assert not dlg.save_button.isEnabled()
    dlg.save()  # even called directly, it refuses
    assert "Criteria unmet: Nausea controlled" in dlg.message.text()

    dlg.override_button.click()
    ov = dlg.override_dialog
    qtbot.addWidget(ov)
    assert "nausea moderate" in ov.what.text()
    ov.username.setText("nurse1")
    ov.pin.setText(NURSE_PIN)
    ov.reason_edit.setText("escort must leave; prescriber reviewed")
    ov.accept()
    assert dlg.override is None and not dlg.save_button.isEnabled()
    ov.username.setText("charge1")
    ov.pin.setText("0000")
    ov.accept()
    assert dlg.override is None
    ov.pin.setText(CHARGE_PIN)
    ov.accept()
    assert dlg.override is not None and dlg.save_button.isEnabled()
    assert "overridden by the charge nurse" in dlg.decision.text()

    decision = wait_saved(qtbot, dlg)
    [row] = ctx.read(repo.current_entries, DischargeDecision, visit.id)
    assert row.id == decision.id and row.override and not row.all_met
    assert row.override_by_id == charge_nurse.id and row.signer_id == nurse.id
    assert row.override_reason == "escort must leave; prescriber reviewed"
    crit = next(c for c in row.criteria if c["name"] == NAUSEA)
    assert crit["met"] is False and "nausea moderate" in crit["detail"]
    assert ctx.read(repo.get_visit, visit.id).phase == "discharged"


def test_live_alarm_from_the_provider_and_aldrete(qtbot, ctx, clock, database, nurse):
    visit = seed_recovering(database, nurse, clock.now(), stop_ago=40)
    alarms: list[ActiveAlarm] = []

    def provider():
        inputs = ctx.read(discharge_inputs, visit.id, clock.now(), alarms,
                          criteria=PROTOCOL.discharge)
        return inputs

    dlg = open_dialog(qtbot, DischargeDialog(ctx, visit.id, provider))
    assert unmet(dlg) == []
    alarms.append(ActiveAlarm("medium", "SpO2 93 < 94"))
    dlg.evaluate()
    assert unmet(dlg) == ["No active alarm"]
    assert "medium: SpO2 93 < 94" in dlg.rows["No active alarm"].detail.text()
    alarms.clear()
    assert "incomplete" in dlg.aldrete_label.text()
    for combo in (dlg.activity, dlg.respiration, dlg.consciousness):
        combo.setCurrentIndex(combo.findData(2))
    assert "Modified Aldrete 10/10 (expected ≥ 9)" in dlg.aldrete_label.text()
    dlg.on_oxygen.setChecked(True)  # SpO2 must hold on room air
    assert "SpO2 on room air" in unmet(dlg)
    assert "Modified Aldrete 9/10" in dlg.aldrete_label.text()


# ----------------------------------------------------------------------------------- ride


def test_ride_dialog_refuses_patient_driving_and_records_driver_and_car_service(
        qtbot, ctx, clock, database, nurse):
    _, _, visit = seed_visit(database, nurse, now=clock.now())
    dlg = open_dialog(qtbot, RideDialog(ctx, visit.id))
    assert "no ride home recorded" in dlg.heading.text()
    dlg.self_radio.setChecked(True)
    assert "the patient may not drive" in dlg.decision.text()
    dlg.save_button.click()
    assert "Not acceptable: the patient may not drive" in dlg.message.text()
    assert ctx.read(repo.current_entries, RideArrangement, visit.id) == []

    dlg.driver_radio.setChecked(True)
    dlg.driver_name.setText("Alex Rivera")
    dlg.relationship.setText("spouse")
    dlg.phone.setText("12")
    assert "is not a phone number" in dlg.decision.text()
    dlg.phone.setText("555 010 2233")
    assert dlg.decision.text().startswith("✓ acceptable; not confirmed yet")
    ride = wait_saved(qtbot, dlg)
    assert (ride.kind, ride.driver_name, ride.phone) == ("driver", "Alex Rivera", "555 010 2233")
    assert ride.expected_arrival is not None and ride.confirmed_at is None

    # later: a car service instead, confirmed on arrival
    dlg = open_dialog(qtbot, RideDialog(ctx, visit.id))
    assert "not yet confirmed" in dlg.heading.text()
    dlg.car_radio.setChecked(True)
    assert not dlg.driver_name.isEnabled() and dlg.company.isEnabled()
    assert "booking reference missing" in dlg.decision.text()
    dlg.company.setText("City Cars")
    dlg.booking.setText("CC-1042")
    dlg.confirm.setCurrentIndex(dlg.confirm.findData("arrival"))
    wait_saved(qtbot, dlg)
    [cur] = ctx.read(repo.current_entries, RideArrangement, visit.id)
    assert (cur.kind, cur.company, cur.booking_ref) == ("car_service", "City Cars", "CC-1042")
    assert cur.confirmation_method == "arrival" and cur.confirmed_by_id == nurse.id
    assert cur.confirmed_at == clock.now()


def test_car_service_refused_where_the_protocol_does_not_allow_it(qtbot, ctx, clock, database,
                                                                  nurse):
    ctx.protocol = dataclasses.replace(
        PROTOCOL, discharge=dataclasses.replace(PROTOCOL.discharge, car_service_allowed=False))
    _, _, visit = seed_visit(database, nurse, now=clock.now())
    dlg = open_dialog(qtbot, RideDialog(ctx, visit.id))
    dlg.car_radio.setChecked(True)
    dlg.company.setText("City Cars")
    dlg.booking.setText("CC-1042")
    assert "protocol does not allow a car service" in dlg.decision.text()
    assert "car_service_allowed" not in dlg.decision.text()  # words, not setting keys
    dlg.save_button.click()
    assert "Not acceptable" in dlg.message.text()


def test_without_a_live_engine_alarms_come_from_the_alarm_log(qtbot, ctx, clock, database,
                                                              nurse):
    visit = seed_recovering(database, nurse, clock.now(), stop_ago=40)
    chair_id = ctx.read(repo.get_visit, visit.id).chair_id
    w = database.writer
    w.submit(repo.record_alarm_event, chair_id, "c1:NBP_SYS>160", "NBP_SYS", "high", "raised",
             message="NBP 171 > 160", visit_id=visit.id,
             at=clock.now() - timedelta(minutes=1)).result()
    dlg = open_dialog(qtbot, DischargeDialog(ctx, visit.id))
    assert unmet(dlg) == ["No active alarm"]
    assert "high: NBP 171 > 160" in dlg.rows["No active alarm"].detail.text()
    w.submit(repo.record_alarm_event, chair_id, "c1:NBP_SYS>160", "NBP_SYS", "high", "cleared",
             visit_id=visit.id, at=clock.now()).result()
    dlg.evaluate()
    assert unmet(dlg) == []


def test_the_assessment_discharge_waits_for_is_charted_from_the_discharge_dialog(
        qtbot, ctx, clock, database, nurse):
    visit = seed_recovering(database, nurse, clock.now(), stop_ago=45)
    database.writer.submit(repo.record_assessment, visit.id, "MOAAS", {"level": 3}, 3,
                           user=nurse, at=clock.now() - timedelta(minutes=1)).result()
    dlg = open_dialog(qtbot, DischargeDialog(ctx, visit.id))
    (waiting,) = unmet(dlg)  # only the sedation criterion: MOAA/S 3 a minute ago
    assert "MOAA/S" in dlg.rows[waiting].detail.text()
    qtbot.mouseClick(dlg.assess_button, Qt.MouseButton.LeftButton)
    form = dlg.assessment_dialog
    assert form is not None and form.isVisible()
    form.moaas.setCurrentIndex(form.moaas.findData(5))
    wait_saved(qtbot, form)
    qtbot.waitUntil(lambda: unmet(dlg) == [], timeout=5000)
    dlg.instructions_given.setChecked(True)
    assert dlg.save_button.isEnabled()


def test_the_ride_form_does_not_move_when_the_ride_type_changes(qtbot, ctx, clock, database,
                                                                nurse):
    visit = seed_recovering(database, nurse, clock.now(), stop_ago=45, ride="none")
    dlg = open_dialog(qtbot, RideDialog(ctx, visit.id))
    qtbot.waitExposed(dlg)
    where = {r: r.mapTo(dlg, r.rect().topLeft()) for r in
             (dlg.driver_radio, dlg.car_radio, dlg.self_radio, dlg.confirm)}
    height = dlg.height()
    for radio in (dlg.car_radio, dlg.self_radio, dlg.driver_radio):
        qtbot.mouseClick(radio, Qt.MouseButton.LeftButton, pos=QPoint(8, radio.height() // 2))
        assert radio.isChecked()
        assert {r: r.mapTo(dlg, r.rect().topLeft()) for r in where} == where
        assert dlg.height() == height
    for r in (dlg.driver_radio, dlg.car_radio, dlg.self_radio):
        assert r.width() >= r.sizeHint().width()  # the label is never cut


def test_no_override_covers_the_observation_time_or_the_ride(qtbot, ctx, clock, database,
                                                            nurse, charge_nurse):
    """A charge nurse released a patient 2 min into a 30-min observation with "ride waiting"
    (issue 15.5): the dialog says what an override would cover and what it cannot, offers no
    override while a criterion no one may override is unmet, and the command refuses it."""
    visit = seed_recovering(database, nurse, clock.now(), stop_ago=2, ride="arranged",
                            nausea="moderate")
    dlg = open_dialog(qtbot, DischargeDialog(ctx, visit.id))
    assert {OBS, NAUSEA, RIDE} <= set(unmet(dlg))
    never, may = dlg.override_status.text().split("\n")
    assert never == f"✗ Not overridable: {OBS}, {RIDE} (wait until met)"
    assert may.startswith("A charge override would cover: ") and NAUSEA in may
    assert OBS not in may and RIDE not in may
    assert not dlg.override_button.isEnabled()
    dlg.instructions_given.setChecked(True)
    assert not dlg.save_button.isEnabled()

    # whoever calls the command, with a charge nurse's override of everything shown
    from nursestation.core.dosing import authorise
    from nursestation.record import commands as rc
    from nursestation.record.errors import Refused

    r = dlg.result
    assert r is not None
    ov = authorise(r.decision(), by=charge_nurse.display_name, by_id=charge_nurse.id,
                   reason="ride waiting", pin_verified=True)
    with pytest.raises(Refused) as info:
        database.writer.submit(rc.discharge, visit.id, user=nurse.id, protocol=ctx.protocol,
                               instructions_given=True, override=ov,
                               now=clock.now()).result()
    assert info.value.rule == "discharge_not_overridable"
    assert str(info.value).startswith(f"Not overridable: {OBS}: ")
    assert RIDE in str(info.value) and "Nausea" not in str(info.value)
    assert ctx.read(repo.get_visit, visit.id).phase == "recovery"


def test_the_ride_form_names_an_incomplete_ride_in_words(qtbot, ctx, clock, database, nurse):
    """Seen at 1366x768: after a check-in's quick entry (driver, relationship, phone) the ride
    form's heading read "Ride home: none — driver's expected arrival time missing"."""
    visit = seed_recovering(database, nurse, clock.now(), stop_ago=25, ride="none")
    ride = open_dialog(qtbot, RideDialog(ctx, visit.id))
    assert ride.heading.text() == "✗ Ride home: not arranged — no ride home recorded"
    database.writer.submit(repo.save_ride, visit.id, user=nurse, driver_name="Erik Lindqvist",
                           relationship="husband", phone="0701234567").result()
    ride = open_dialog(qtbot, RideDialog(ctx, visit.id))
    assert ride.heading.text() == ("✗ Ride home: not arranged — driver's expected arrival "
                                   "time missing")

