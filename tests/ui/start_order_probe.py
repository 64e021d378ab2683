"""Runs the real ``run_app`` with watchers, for ``test_start_order`` (in a process of its own:
``run_app`` runs and quits the application's event loop, which the other GUI tests share).

``python -m tests.ui.start_order_probe DATABASE_URL DEVICE_URL`` prints one JSON line: what
the test asserts on.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime

from PySide6.QtCore import QTimer

from nursestation.config import ChairConfig, Config, DeviceConfig
from nursestation.core.protocol import load_protocol
from nursestation.ui import app as app_mod
from nursestation.ui.mainwindow import MainWindow

CHAIR = "Chair 1"
DEVICE = "chair1-masimo"


def spo2_count(live) -> int:
    trend = live.trend(CHAIR, ["SPO2"]).get("SPO2")
    return 0 if trend is None else len(trend[1])


def main(database_url: str, device_url: str) -> int:
    config = Config(database_url=database_url, idle_lock_minutes=0,
                    chairs=(ChairConfig(CHAIR, (DeviceConfig("masimo", device_url, DEVICE),)),))
    protocol = load_protocol(config.protocol_file)
    windows: list[MainWindow] = []
    painted: list[bool] = []
    seen: dict = {}
    app = app_mod._application()

    init = MainWindow.__init__

    def watched_init(self, *args, **kw) -> None:
        init(self, *args, **kw)
        windows.append(self)
        # connected before run_app connects the record's opening to it
        self.first_painted.connect(lambda: painted.append(True))

    open_record = app_mod.Station.open_record

    def watched_open(self) -> None:  # on the record's own thread: plain attributes only
        seen["on_main_thread"] = threading.current_thread() is threading.main_thread()
        seen["painted_first"] = bool(painted)
        seen["tiles"] = list(windows[0].view.tiles) if windows else []
        seen["engine_was_none"] = self.engine is None
        deadline = time.monotonic() + 60
        while spo2_count(self.live) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # the oximeter reads while the record is still closed
        seen["readings_before"] = spo2_count(self.live)
        seen["opened_at"] = datetime.now(UTC).isoformat()
        open_record(self)

    record_opened = MainWindow.record_opened

    def watched_record_opened(self) -> None:
        seen["status_before"] = self.record_label.text()
        seen["patient_line_before"] = self.view.tiles[CHAIR].patient_label.full_text
        seen["controller_was_none"] = self.controller is None
        record_opened(self)

        def finish() -> None:
            self.close()
            app.quit()

        QTimer.singleShot(500, finish)

    MainWindow.__init__ = watched_init
    app_mod.Station.open_record = watched_open
    MainWindow.record_opened = watched_record_opened
    seen["exit_code"] = app_mod.run_app(config, protocol)
    print(json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
