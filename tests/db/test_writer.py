"""The single writer: serialised writes, results only after commit, batched device data."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from nursestation.core.readings import Reading
from nursestation.db import repo, verify_audit
from nursestation.db.models import Note, Vital
from tests.db.helpers import setup_visit


def test_concurrent_submits_from_many_threads_are_serialised(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    inside = 0
    overlap = []
    lock = threading.Lock()

    def write(session, i):
        nonlocal inside
        with lock:
            inside += 1
            overlap.append(inside)
        note = repo.add_note(session, visit.id, f"note {i}", user=nurse.id)
        with lock:
            inside -= 1
        return note.id

    futures = []
    start = threading.Barrier(8)

    def worker(k):
        start.wait()
        for j in range(10):
            futures.append(database.writer.submit(write, k * 10 + j))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [f.result(timeout=60) for f in futures]
    assert len(set(ids)) == 80
    assert max(overlap) == 1  # never two transactions at once
    with database.session_scope() as s:
        assert len(repo.current_entries(s, Note, visit.id)) == 80
        result = verify_audit(s)
        assert result.ok, result.problem  # the chain did not fork


def test_failed_write_reports_the_error_and_leaves_nothing(database, nurse):
    _, _, visit = setup_visit(database, nurse)

    def half_then_fail(session):
        repo.add_note(session, visit.id, "half", user=nurse)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        database.writer.submit(half_then_fail).result()
    with database.session_scope() as s:
        assert s.scalar(select(func.count(Note.id))) == 0
        assert verify_audit(s).ok


def test_readings_are_batched_into_vitals_and_latest(database, nurse):
    _, chair, visit = setup_visit(database, nurse)
    t0 = datetime.now(UTC) - timedelta(seconds=30)
    readings = []
    for i in range(20):
        t = t0 + timedelta(seconds=i)
        readings += [
            Reading("HR", float(70 + i), "bpm", chair="Chair 1", device_id="c1-mon",
                    recv_wall=t),
            Reading("SPO2", 97.0, "%", quality=frozenset({"questionable"}), chair="Chair 1",
                    device_id="c1-mon", recv_wall=t, device_time=t - timedelta(seconds=1)),
            Reading("PUMP_STATE", "infusing", chair="Chair 1", device_id="c1-pump",
                    recv_wall=t),
        ]
    readings.append(Reading("HR", 50.0, chair="No Such Chair", recv_wall=t0))
    for k in range(0, len(readings), 7):  # arrives in batches from reader threads
        database.writer.record_readings(readings[k:k + 7])
    assert database.writer.flush().result() == 60
    with database.session_scope() as s:
        hr = repo.vitals_in_range(s, visit_id=visit.id, start=t0,
                                  end=t0 + timedelta(seconds=10), codes=["HR"])
        assert [v.value for v in hr] == [float(70 + i) for i in range(10)]
        latest = repo.latest_vitals(s)[chair.id]
        assert latest["HR"].value == 89.0 and latest["HR"].recv_time == t0 + timedelta(
            seconds=19)
        assert latest["SPO2"].quality == frozenset({"questionable"})
        assert latest["SPO2"].time == t0 + timedelta(seconds=18)
        assert latest["PUMP_STATE"].text == "infusing"
        assert s.scalar(select(func.count(Vital.id))) == 60


def test_close_flushes_pending_readings(db_url, nurse, database):
    from nursestation.db import Database

    setup_visit(database, nurse)
    database.writer.record_readings([Reading("RR", 14.0, chair="Chair 1")])
    database.writer.close()
    db2 = Database.open(db_url, upgrade=False)
    try:
        with db2.session_scope() as s:
            assert s.scalar(select(Vital.value).where(Vital.code == "RR")) == 14.0
    finally:
        db2.close()


def test_two_workstations_writing_at_once_keep_one_audit_chain(database, nurse, db_url):
    """Two writers on the same database (two station processes, or workstations on
    PostgreSQL) append to the audit chain at the same time without forking it."""
    from nursestation.db import Database

    _, _, visit = setup_visit(database, nurse)
    other = Database.open(db_url, upgrade=False)
    try:
        futures = []
        for i in range(25):
            futures.append(database.writer.submit(repo.add_note, visit.id, f"a{i}", user=nurse))
            futures.append(other.writer.submit(repo.add_note, visit.id, f"b{i}", user=nurse))
        for f in futures:
            f.result(timeout=60)
    finally:
        other.close()
    with database.session_scope() as s:
        assert len(repo.current_entries(s, Note, visit.id)) == 50
        result = verify_audit(s)
        assert result.ok, result.problem


@pytest.mark.postgres
def test_postgresql_notifies_listeners_on_commit(pg_url):
    import psycopg
    from sqlalchemy.engine import make_url

    from nursestation.db import Database, current_change_seq
    from nursestation.db.audit import NOTIFY_CHANNEL

    u = make_url(pg_url)
    conninfo = {"dbname": u.database, "user": u.username, **dict(u.query)}
    with Database.open(pg_url) as db, psycopg.connect(**conninfo, autocommit=True) as listener:
        user = db.writer.submit(repo.create_user, "n", "N", "nurse", "4826").result()
        _, _, visit = setup_visit(db, user)
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        db.writer.submit(repo.add_note, visit.id, "hello overview", user=user).result()
        got = [n.payload for n in listener.notifies(timeout=10, stop_after=1)]
        with db.session_scope() as s:
            assert got == [str(current_change_seq(s))]
