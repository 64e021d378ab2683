"""Issue 19.5, the start: the station's window paints its chairs before the record is opened
(SQLAlchemy, the ORM models and the database come after the first frame), and what a device
reads while the record is opening is recorded all the same.

The real ``run_app`` runs on a real Masimo simulator (pseudo-terminal), a real link and a real
SQLite database; the test only watches: when the record begins to open it notes what the nurse
had in front of her, waits (bounded) for the oximeter's readings to reach the live store, and
lets the opening go on. No wall-clock time is asserted: only the order of events and the rows
in the record.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QTimer
from sqlalchemy import select

from nursestation.config import ChairConfig, Config, DeviceConfig
from nursestation.core.protocol import load_protocol
from nursestation.db.engine import make_engine, session_scope
from nursestation.db.models import Vital
from nursestation.devices.registry import PROTOCOLS
from nursestation.devices.simhost import SimulatorHost
from nursestation.sim.scenarios import get_scenario
from nursestation.ui import app as app_mod
from nursestation.ui.mainwindow import MainWindow

pytestmark = [pytest.mark.qt_log_ignore("propagateSizeHints"), pytest.mark.slow]

CHAIR = "Chair 1"
DEVICE = "chair1-masimo"


def spo2_count(live) -> int:
    trend = live.trend(CHAIR, ["SPO2"]).get("SPO2")
    return 0 if trend is None else len(trend[1])


def test_tiles_are_painted_before_the_record_opens_and_early_readings_are_recorded(
        qapp, tmp_path, monkeypatch):
    host = SimulatorHost(PROTOCOLS["masimo"].make_simulator(get_scenario("ketamine-visit")),
                         "pty").start()
    url = f"sqlite:///{tmp_path / 'station.sqlite3'}"
    config = Config(database_url=url, idle_lock_minutes=0,
                    chairs=(ChairConfig(CHAIR, (DeviceConfig("masimo", host.url, DEVICE),)),))
    protocol = load_protocol(config.protocol_file)

    windows: list[MainWindow] = []
    painted: list[bool] = []
    seen: dict = {}

    init = MainWindow.__init__

    def watched_init(self, *args, **kw) -> None:
        init(self, *args, **kw)
        windows.append(self)
        # connected before run_app connects the record's opening to it
        self.first_painted.connect(lambda: painted.append(True))

    open_record = app_mod.Station.open_record

    def watched_open(self) -> None:  # on the record's own thread: plain attributes only
        seen["thread"] = threading.current_thread().name
        seen["painted_first"] = bool(painted)
        seen["tiles"] = list(windows[0].view.tiles) if windows else []
        seen["engine"] = self.engine
        deadline = time.monotonic() + 60
        while spo2_count(self.live) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # the oximeter reads while the record is still closed
        seen["readings_before"] = spo2_count(self.live)
        seen["opened_at"] = datetime.now(UTC)
        open_record(self)

    record_opened = MainWindow.record_opened

    def watched_record_opened(self) -> None:
        seen["status_before"] = self.record_label.text()
        seen["controller_before"] = self.controller
        record_opened(self)

        def finish() -> None:
            self.close()
            qapp.quit()

        QTimer.singleShot(500, finish)

    monkeypatch.setattr(MainWindow, "__init__", watched_init)
    monkeypatch.setattr(app_mod.Station, "open_record", watched_open)
    monkeypatch.setattr(MainWindow, "record_opened", watched_record_opened)
    try:
        code = app_mod.run_app(config, protocol)
    finally:
        host.stop()

    assert code == 0
    # the chairs were painted before the record began to open, on a thread of its own
    assert seen["painted_first"] is True
    assert seen["tiles"] == [CHAIR]
    assert seen["engine"] is None
    assert seen["thread"] != threading.main_thread().name
    assert seen["status_before"] == "Opening the record…"
    assert seen["controller_before"] is None
    # what the oximeter read before the record was open is in the record
    assert seen["readings_before"] >= 2
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            early = s.scalars(select(Vital).where(Vital.device_key == DEVICE,
                                                  Vital.code == "SPO2",
                                                  Vital.recv_time < seen["opened_at"])).all()
    finally:
        engine.dispose()
    assert len(early) >= seen["readings_before"]
