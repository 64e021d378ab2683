"""Issue 19.5, the start: the station's window paints its chairs before the record is opened
(SQLAlchemy, the ORM models and the database come after the first frame), and what a device
reads while the record is opening is recorded all the same.

The real ``run_app`` runs (in a process of its own, ``start_order_probe``: it runs and quits
the application's event loop) on a real Masimo simulator (pseudo-terminal), a real link and a
real SQLite database; it only watches: when the record begins to open it notes what the nurse
had in front of her, waits (bounded) for the oximeter's readings to reach the live store, and
lets the opening go on. No wall-clock time is asserted: only the order of events and the rows
in the record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from nursestation.db.engine import make_engine, session_scope
from nursestation.db.models import Vital
from nursestation.devices.registry import PROTOCOLS
from nursestation.devices.simhost import SimulatorHost, ptys_available
from nursestation.sim.scenarios import get_scenario
from tests.ui.start_order_probe import DEVICE

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not ptys_available(), reason="needs pseudo-terminals")]

ROOT = Path(__file__).resolve().parents[2]


def test_tiles_are_painted_before_the_record_opens_and_early_readings_are_recorded(tmp_path):
    host = SimulatorHost(PROTOCOLS["masimo"].make_simulator(get_scenario("ketamine-visit")),
                         "pty").start()
    url = f"sqlite:///{tmp_path / 'station.sqlite3'}"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NURSESTATION_DATA_DIR=str(tmp_path),
               NURSESTATION_CONFIG=str(tmp_path / "absent.toml"))
    try:
        out = subprocess.run([sys.executable, "-m", "tests.ui.start_order_probe", url, host.url],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    finally:
        host.stop()
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])

    assert seen["exit_code"] == 0
    # the chairs were painted before the record began to open, on a thread of its own
    assert seen["painted_first"] is True
    assert seen["tiles"] == ["Chair 1"]
    assert seen["engine_was_none"] is True
    assert seen["on_main_thread"] is False
    assert seen["status_before"] == "Opening the record…"
    # not "— empty —": who sits in the chair is not known until the chart is read
    assert seen["patient_line_before"] == "opening the record…"
    assert seen["controller_was_none"] is True
    # what the oximeter read before the record was open is in the record
    assert seen["readings_before"] >= 2
    opened_at = datetime.fromisoformat(seen["opened_at"])
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            early = s.scalars(select(Vital).where(Vital.device_key == DEVICE,
                                                  Vital.code == "SPO2",
                                                  Vital.recv_time < opened_at)).all()
    finally:
        engine.dispose()
    assert len(early) >= seen["readings_before"]
