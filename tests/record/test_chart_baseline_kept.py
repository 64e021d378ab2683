"""The chart read keeps a baseline's recorded vitals between reads (issue 19, latency: the
reread was most of the chart reader's work) — and still answers with the current record: a
reading that reaches the baseline's window late (a spool drained after an outage) changes the
baseline at the next read. (Charted baseline values are read on every read, kept or not.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nursestation.config import Config
from nursestation.core.protocol import load_protocol
from nursestation.core.readings import Reading
from nursestation.db import repo
from nursestation.record.chairs import BaselineVitals, read_chart
from tests.db.helpers import setup_visit

CHAIR = "Chair 1"


def sbp_baseline(database, protocol, now, recorded) -> float | None:
    chart = read_chart(database.engine, protocol, now, recorded=recorded)
    return chart.baselines.get(CHAIR, {}).get("NBP_SYS")


def test_kept_recorded_vitals_follow_late_readings_and_charted_values(database, nurse):
    protocol = load_protocol(Config().protocol_file).schedule
    _, _, visit = setup_visit(database, nurse)
    now = datetime.now(UTC)
    w = database.writer
    w.submit(repo.advance_phase, visit.id, "baseline", user=nurse,
             at=now - timedelta(minutes=20)).result()

    def recorded_sbp(value: float, minutes_ago: float) -> None:
        w.record_readings([Reading("NBP_SYS", value, "mmHg", chair=CHAIR, device_id="c1-mon",
                                   recv_wall=now - timedelta(minutes=minutes_ago))])
        w.flush().result()

    recorded_sbp(120.0, 15)
    w.submit(repo.advance_phase, visit.id, "infusing", user=nurse,
             at=now - timedelta(minutes=5)).result()
    recorded_sbp(170.0, 1)  # during the infusion: never part of the baseline

    kept = BaselineVitals()
    assert sbp_baseline(database, protocol, now, kept) == 120.0
    assert sbp_baseline(database, protocol, now, kept) == 120.0  # the kept samples

    # a reading from before the infusion arrives late: the next read has it
    recorded_sbp(132.0, 10)
    assert sbp_baseline(database, protocol, now, kept) == 132.0
    assert sbp_baseline(database, protocol, now, None) == 132.0  # as a fresh read says

