"""A reading whose device clock has no zone is kept; only its unusable device time is dropped."""

from __future__ import annotations

from datetime import UTC, datetime

from nursestation.core.readings import Reading
from nursestation.db import repo
from nursestation.db.engine import session_scope


def test_naive_device_time_does_not_lose_the_batch(database):
    database.writer.submit(repo.sync_chairs, [_Chair("Chair 1")]).result()
    good = Reading("HR", 71.0, "bpm", chair="Chair 1", device_id="m1",
                   recv_wall=datetime(2026, 1, 5, 9, 0, 1, tzinfo=UTC))
    naive = Reading("SPO2", 97.0, "%", chair="Chair 1", device_id="ox1",
                    device_time=datetime(2026, 1, 5, 9, 0, 0),
                    recv_wall=datetime(2026, 1, 5, 9, 0, 1, tzinfo=UTC))
    database.writer.record_readings([good, naive])
    assert database.writer.flush().result() == 2
    with session_scope(database.engine) as s:
        chair = repo.chair_by_name(s, "Chair 1")
        rows = repo.vitals_in_range(s, chair_id=chair.id)
    assert {(r.code, r.value) for r in rows} == {("HR", 71.0), ("SPO2", 97.0)}
    assert all(r.source_time is None for r in rows)
    assert database.writer.naive_device_times == 1


class _Chair:
    def __init__(self, name: str) -> None:
        self.name = name
        self.devices = ()


def test_latest_vitals_keep_the_newest_reading_even_when_an_older_one_arrives_later(database):
    database.writer.submit(repo.sync_chairs, [_Chair("Chair 1")]).result()
    newer = Reading("HR", 80.0, "bpm", chair="Chair 1", device_id="m1",
                    recv_wall=datetime(2026, 1, 5, 9, 5, 0, tzinfo=UTC))
    older = Reading("HR", 64.0, "bpm", chair="Chair 1", device_id="m1",
                    recv_wall=datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC))
    database.writer.record_readings([newer])
    database.writer.flush().result()
    database.writer.record_readings([older])  # e.g. back-filled from a device's memory
    database.writer.flush().result()
    with session_scope(database.engine) as s:
        chair = repo.chair_by_name(s, "Chair 1")
        latest = repo.latest_vitals(s, chair.id)[chair.id]
    assert latest["HR"].value == 80.0
