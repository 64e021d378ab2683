"""The charge nurse's overview shows the EHR feed: failing since when and why, then sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nursestation.db import hl7queue
from tests.db.test_overview import start_visit
from tests.ui.test_overview import open_window

pytestmark = [pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"),
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def test_overview_shows_a_failing_feed_then_its_recovery(qtbot, database, nurse):
    now = datetime.now(UTC)
    _, _, visit = start_visit(database, nurse, start_ago=20, now=now)
    w = database.writer
    win = open_window(qtbot, database)
    assert not win.ehr_label.isVisible()  # no feed, nothing shown

    msg = w.submit(hl7queue.enqueue, kind="vitals", visit_id=visit.id,
                   destination="mllp://ehr:2575", payload=b"MSH|...", control_id="NSTEST1",
                   now=now).result()
    w.submit(hl7queue.record_attempt, msg.id, outcome="refused", ack_code="AE",
             detail="unknown patient", now=now).result()
    win.refresh()
    assert win.ehr_label.isVisible()
    text = win.ehr_label.text()
    assert "EHR FEED FAILING since" in text and "AE: unknown patient" in text
    assert "(1 not sent)" in text

    w.submit(hl7queue.record_attempt, msg.id, outcome="accepted", ack_code="AA",
             now=now).result()
    win.refresh()
    assert win.ehr_label.text().startswith("EHR feed: last sent")
