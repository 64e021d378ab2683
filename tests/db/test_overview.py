"""The charge nurse's overview model (``db.overview``) on SQLite and PostgreSQL: every column read
from a real record, and the change watcher."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nursestation.core.protocol import load_protocol
from nursestation.core.readings import Reading
from nursestation.core.ride import RideState
from nursestation.db import repo
from nursestation.db.overview import ChangeWatcher, database_label
from nursestation.record.overview import ReadinessCache, overview_rows
from tests.db.helpers import setup_visit

PROTOCOL = load_protocol(Path(__file__).resolve().parents[2] / "nursestation" / "resources"
                         / "protocols" / "ketamine-iv.toml")


def real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def rows_by_chair(database, now, **kw):
    with database.session_scope() as s:
        return {r.chair: r for r in overview_rows(s, PROTOCOL, now, **kw)}


def readings(database, chair: str, values: dict[str, float], at: datetime, **kw) -> None:
    database.writer.record_readings([Reading(code, v, "", chair=chair, device_id="c1-mon",
                                             recv_wall=at, **kw) for code, v in values.items()])
    database.writer.flush().result()


def start_visit(database, nurse, *, start_ago: float, stop_ago: float | None = None,
                now: datetime, mrn: str = "MRN-1", chair: str = "Chair 1"):
    """A visit in ``chair`` that started infusing ``start_ago`` minutes before ``now`` (and
    stopped ``stop_ago`` minutes before it)."""
    w = database.writer
    patient, chair_row, visit = setup_visit(database, nurse, mrn=mrn, chair=chair)
    t0 = now - timedelta(minutes=start_ago)
    w.submit(repo.advance_phase, visit.id, "baseline", user=nurse,
             at=t0 - timedelta(minutes=10)).result()
    w.submit(repo.advance_phase, visit.id, "infusing", user=nurse, at=t0).result()
    if stop_ago is not None:
        w.submit(repo.advance_phase, visit.id, "recovery", user=nurse,
                 at=now - timedelta(minutes=stop_ago)).result()
    return patient, chair_row, visit


def seed_ready(database, nurse, now: datetime, *, stop_ago: float = 40.0,
               ride: str = "confirmed", chair: str = "Chair 1", mrn: str = "MRN-1"):
    """A recovering visit that meets every discharge criterion (ride ``confirmed``), or all but
    the ride (``arranged`` / ``none``)."""
    _, chair_row, visit = start_visit(database, nurse, start_ago=stop_ago + 40,
                                      stop_ago=stop_ago, now=now, chair=chair, mrn=mrn)
    start = now - timedelta(minutes=stop_ago + 40)
    vals = {"NBP_SYS": 122.0, "NBP_DIA": 78.0, "HR": 72.0, "SPO2": 98.0, "RR": 14.0}
    for t in [start - timedelta(minutes=5)] + [now - timedelta(minutes=m) for m in (8, 4, 1)]:
        readings(database, chair_row.name, vals, t)
    w = database.writer
    w.submit(repo.record_assessment, visit.id, "CADSS6", {}, 0, user=nurse,
             at=start - timedelta(minutes=5)).result()
    for scale, items, score in (("MOAAS", {"level": 5}, 5), ("CADSS6", {}, 0),
                                ("NAUSEA", {"level": "none"}, 0)):
        w.submit(repo.record_assessment, visit.id, scale, items, score, user=nurse,
                 at=now - timedelta(minutes=3)).result()
    set_ride(database, nurse, visit.id, ride, now)
    return chair_row, visit


def set_ride(database, nurse, visit_id: int, ride: str, now: datetime) -> None:
    if ride == "none":
        return
    w = database.writer
    r = w.submit(repo.save_ride, visit_id, user=nurse, driver_name="Alex Rivera",
                 relationship="spouse", phone="555 010 2233",
                 expected_arrival=now + timedelta(minutes=20)).result()
    if ride == "confirmed":
        w.submit(repo.confirm_ride, r, "phone_call", user=nurse,
                 at=now - timedelta(minutes=2)).result()


def alarm(database, chair_id: int, key: str, priority: str, state: str, *, visit_id=None,
          message: str = "", at: datetime | None = None, user=None) -> None:
    database.writer.submit(repo.record_alarm_event, chair_id, key, key.split(":")[-1], priority,
                           state, message=message or key, visit_id=visit_id, user=user,
                           at=at).result()


# ------------------------------------------------------------------------------------- tests


def test_every_chair_in_position_order_with_patient_phase_and_time(database, nurse):
    now = real_now()
    _, _chair, visit = start_visit(database, nurse, start_ago=12, now=now)
    rows = rows_by_chair(database, now)
    assert list(rows) == ["Chair 1", "Chair 2"]
    r = rows["Chair 1"]
    assert (r.visit_id, r.patient_name, r.mrn, r.phase) == (visit.id, "Sam Rivera", "MRN-1",
                                                           "infusing")
    assert r.time_in_phase_s == pytest.approx(12 * 60)
    empty = rows["Chair 2"]
    assert not empty.occupied and empty.patient_name == "" and empty.phase is None
    assert empty.readiness is None and empty.ride is None


def test_latest_vitals_with_age_and_staleness(database, nurse):
    now = real_now()
    _, _chair, _visit = start_visit(database, nurse, start_ago=5, now=now)
    readings(database, "Chair 1", {"NBP_SYS": 131.0, "NBP_DIA": 84.0}, now - timedelta(minutes=20))
    readings(database, "Chair 1", {"SPO2": 91.0}, now - timedelta(seconds=40))
    readings(database, "Chair 1", {"HR": 88.0, "RR": 16.0}, now - timedelta(seconds=2))
    readings(database, "Chair 1", {"RR": 17.0}, now - timedelta(seconds=1),
             quality=frozenset({"invalid"}))
    r = rows_by_chair(database, now)["Chair 1"]
    assert (r.hr.value, r.hr.stale, r.hr.age_s) == (88.0, False, pytest.approx(2))
    assert (r.spo2.value, r.spo2.stale) == (91.0, True)  # 40 s without an update
    assert r.rr.value == 17.0 and r.rr.unusable
    assert (r.nbp_sys.value, r.nbp_dia.value) == (131.0, 84.0)
    assert r.nbp_sys.age_s == pytest.approx(20 * 60)
    assert r.nbp_sys.stale  # older than discharge.bp_within_min (15)
    readings(database, "Chair 1", {"NBP_SYS": 118.0, "NBP_DIA": 75.0}, now - timedelta(minutes=3))
    r = rows_by_chair(database, now)["Chair 1"]
    assert (r.nbp_sys.value, r.nbp_sys.stale) == (118.0, False)


def test_a_previous_patients_vitals_never_show_for_the_next(database, nurse):
    now = real_now()
    _, chair, visit = start_visit(database, nurse, start_ago=5, now=now)
    readings(database, "Chair 1", {"HR": 90.0}, now - timedelta(seconds=1))
    database.writer.submit(repo.advance_phase, visit.id, "cancelled", user=nurse).result()
    p2 = database.writer.submit(repo.create_patient, "MRN-2", "Okafor", "Ada", None, "",
                                user=nurse).result()
    database.writer.submit(repo.create_visit, p2.id, chair.id, "ketamine-iv",
                           user=nurse).result()
    r = rows_by_chair(database, now)["Chair 1"]
    assert r.patient_name == "Ada Okafor" and r.hr is None


def test_active_and_escalated_alarms_from_the_latest_state_per_key(database, nurse):
    now = real_now()
    _, chair, visit = start_visit(database, nurse, start_ago=5, now=now)
    t = now - timedelta(minutes=2)
    alarm(database, chair.id, "c1:SPO2_LOW", "high", "raised", visit_id=visit.id,
          message="SpO2 88 < 90", at=t)
    alarm(database, chair.id, "c1:SPO2_LOW", "high", "escalated", visit_id=visit.id,
          message="SpO2 88 < 90", at=t + timedelta(seconds=60))
    alarm(database, chair.id, "c1:HR_HIGH", "medium", "raised", visit_id=visit.id, at=t)
    alarm(database, chair.id, "c1:HR_HIGH", "medium", "cleared", visit_id=visit.id,
          at=t + timedelta(seconds=30))
    alarm(database, chair.id, "c1:NBP_OLD", "low", "raised", visit_id=visit.id, at=t)
    alarm(database, chair.id, "c1:NBP_OLD", "low", "acknowledged", visit_id=visit.id,
          at=t + timedelta(seconds=10), user=nurse)
    r = rows_by_chair(database, now)["Chair 1"]
    assert [(a.key, a.state) for a in r.alarms] == [("c1:SPO2_LOW", "escalated"),
                                                    ("c1:NBP_OLD", "acknowledged")]
    top = r.top_alarm
    assert (top.mark, top.message, top.escalated, top.since) == ("***", "SpO2 88 < 90", True, t)
    assert r.escalated and r.alarm_rank > 3

    # acknowledged after the escalation: still active, no longer escalated
    alarm(database, chair.id, "c1:SPO2_LOW", "high", "acknowledged", visit_id=visit.id,
          user=nurse)
    r = rows_by_chair(database, now)["Chair 1"]
    assert not r.escalated and r.top_alarm.priority == "high" and len(r.alarms) == 2
    # alarms of an earlier visit on the same chair are not this patient's
    alarm(database, chair.id, "c1:SPO2_LOW", "high", "cleared", visit_id=visit.id)
    alarm(database, chair.id, "c1:NBP_OLD", "low", "cleared", visit_id=visit.id)
    assert rows_by_chair(database, now)["Chair 1"].alarms == ()


def test_overdue_due_and_missed_checks(database, nurse):
    now = real_now()
    start_visit(database, nurse, start_ago=25, now=now)
    r = rows_by_chair(database, now)["Chair 1"]
    # no BP at all: +20 min is overdue (3 min grace) and a BP now would still count for it;
    # the baseline and +10 min windows have closed: missed
    assert r.overdue_checks == ("infusing +20 min",)
    assert r.missed_checks == ("baseline", "infusing +10 min")
    readings(database, "Chair 1", {"NBP_SYS": 125.0, "NBP_DIA": 80.0}, now - timedelta(minutes=1))
    r = rows_by_chair(database, now)["Chair 1"]
    assert r.overdue_checks == () and r.due_checks == ()
    assert r.missed_checks == ("baseline", "infusing +10 min")
    r = rows_by_chair(database, now + timedelta(minutes=6))["Chair 1"]
    assert r.due_checks == ("infusing +30 min",) and r.overdue_checks == ()


def test_pending_pump_changes_are_counted(database, nurse):
    now = real_now()
    _, chair, visit = start_visit(database, nurse, start_ago=5, now=now)
    w = database.writer
    a = w.submit(repo.record_pump_change, visit.id, chair.id, "rate_change",
                 {"PUMP_RATE": 20.0}, user=nurse).result()
    w.submit(repo.record_pump_change, visit.id, chair.id, "pause", {}, user=nurse).result()
    assert rows_by_chair(database, now)["Chair 1"].pending_pump_changes == 2
    w.submit(repo.resolve_pump_change, a, "confirmed", "rate lowered for BP", user=nurse).result()
    assert rows_by_chair(database, now)["Chair 1"].pending_pump_changes == 1


def test_ride_status_none_arranged_confirmed(database, nurse):
    now = real_now()
    _, _chair, visit = start_visit(database, nurse, start_ago=5, now=now)
    r = rows_by_chair(database, now)["Chair 1"]
    assert r.ride is RideState.NONE and "no ride home" in r.ride_detail
    set_ride(database, nurse, visit.id, "arranged", now)
    r = rows_by_chair(database, now)["Chair 1"]
    assert r.ride is RideState.ARRANGED and "Alex Rivera" in r.ride_detail
    ride = database.writer.submit(lambda s: repo.visit_record(s, visit.id).ride.id).result()
    database.writer.submit(repo.confirm_ride, ride, "phone_call", user=nurse).result()
    assert rows_by_chair(database, now + timedelta(seconds=5))["Chair 1"].ride \
        is RideState.CONFIRMED


def test_discharge_readiness_ready_and_unmet(database, nurse):
    now = real_now()
    chair, visit = seed_ready(database, nurse, now, stop_ago=40, ride="arranged")
    r = rows_by_chair(database, now)["Chair 1"]
    assert r.readiness is not None and not r.ready
    assert [name for name, _ in r.readiness.unmet] == ["Ride home confirmed"]
    assert "not yet confirmed" in r.readiness.unmet[0][1]
    ride = database.writer.submit(lambda s: repo.visit_record(s, visit.id).ride.id).result()
    database.writer.submit(repo.confirm_ride, ride, "phone_call", user=nurse,
                           at=now - timedelta(seconds=1)).result()
    r = rows_by_chair(database, now)["Chair 1"]
    assert r.ready and r.readiness.unmet == ()
    # a medium alarm blocks the discharge
    alarm(database, chair.id, "c1:HR_HIGH", "medium", "raised", visit_id=visit.id,
          message="HR 118 > 110")
    r = rows_by_chair(database, now)["Chair 1"]
    assert not r.ready
    assert r.readiness.unmet[0][0] == "No active alarm" and "HR 118" in r.readiness.unmet[0][1]


def test_readiness_is_only_evaluated_in_recovery_and_missing_data_is_unmet(database, nurse):
    now = real_now()
    _, _chair, _visit = start_visit(database, nurse, start_ago=50, stop_ago=35, now=now)
    r = rows_by_chair(database, now)["Chair 1"]
    unmet = dict(r.readiness.unmet)
    assert "Observation after infusion" not in unmet
    assert unmet["Recent blood pressure"] == "unmet: no blood pressure recorded this visit"
    assert unmet["Sedation resolved"].startswith("unmet: no MOAA/S since the infusion ended")
    assert unmet["Ride home confirmed"].startswith("unmet: no ride home recorded")
    start_visit(database, nurse, start_ago=5, now=now, mrn="MRN-2", chair="Chair 2")
    assert rows_by_chair(database, now)["Chair 2"].readiness is None


def test_readiness_cache_follows_clinical_changes(database, nurse):
    now = real_now()
    _, visit = seed_ready(database, nurse, now, ride="arranged")
    cache = ReadinessCache(max_age_s=3600)
    assert not rows_by_chair(database, now, cache=cache)["Chair 1"].ready
    ride = database.writer.submit(lambda s: repo.visit_record(s, visit.id).ride.id).result()
    database.writer.submit(repo.confirm_ride, ride, "phone_call", user=nurse,
                           at=now - timedelta(seconds=1)).result()
    # the ride confirmation moved the change marker: re-evaluated despite the long max age
    assert rows_by_chair(database, now, cache=cache)["Chair 1"].ready


def test_change_watcher_sees_clinical_writes_and_readings(database, nurse):
    now = real_now()
    _, _chair, visit = start_visit(database, nurse, start_ago=5, now=now)
    watcher = ChangeWatcher(database.engine)
    try:
        if database.engine.dialect.name == "postgresql":
            assert watcher.listening
        assert watcher.poll()  # the first poll: everything is new
        assert not watcher.poll()
        database.writer.submit(repo.add_note, visit.id, "resting", user=nurse).result()
        assert heard(watcher)
        assert not watcher.poll()
        readings(database, "Chair 1", {"HR": 77.0}, real_now())  # no change marker for these
        assert heard(watcher)
        assert not watcher.poll()
        assert watcher.error is None
    finally:
        watcher.close()


def heard(watcher: ChangeWatcher, within_s: float = 2.0) -> bool:
    """Poll as the overview does until it reports a change (a notification is delivered just
    after the commit, so the first non-blocking look may come too early)."""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if watcher.poll():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_change_watcher_on_postgresql_hears_notify_and_survives_losing_it(database, nurse):
    watcher = ChangeWatcher(database.engine, fallback_s=3600)
    try:
        assert watcher.listening
        watcher.poll()
        assert not watcher.poll()
        now = real_now()
        _, _chair, visit = start_visit(database, nurse, start_ago=5, now=now)
        assert heard(watcher)  # by NOTIFY: the seq fallback is an hour away
        # the LISTEN connection dies: the watcher refreshes, polls, and listens again
        watcher._conn.close()
        assert watcher.poll()
        assert not watcher.listening
        watcher._next_connect = 0
        watcher.poll()
        assert watcher.listening
        database.writer.submit(repo.add_note, visit.id, "awake", user=nurse).result()
        assert heard(watcher)
    finally:
        watcher.close()


def test_database_label(database):
    label = database_label(database.engine)
    if database.engine.dialect.name == "sqlite":
        assert label.startswith("SQLite ") and label.endswith("test.sqlite3")
    else:
        assert label.startswith("PostgreSQL ") and "nstest_" in label
