"""A database outage loses no vitals: readings wait in the on-disk spool and are stored when
the database returns, in order, without duplicates; the writer says it is degraded (issue 16,
point 4/7). Uses a PostgreSQL cluster of its own, stopped and started during the test."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from nursestation.core.readings import Reading
from nursestation.db import Database, repo, verify_audit
from nursestation.db.models import Vital
from nursestation.db.spool import ReadingSpool
from tests.db.helpers import setup_visit
from tests.plugins.db import ThrowawayCluster, find_pg_bindir


class StoppableCluster(ThrowawayCluster):
    def pg_stop(self) -> None:
        # a clean stop: this throwaway cluster runs with synchronous_commit=off
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def pg_start(self) -> None:
        opts = (f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w",
                  "-t", "60", "-o", opts, "start")


@pytest.fixture
def cluster():
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found")
    c = StoppableCluster(bindir)
    try:
        yield c
    finally:
        c.stop()


def _hr(t0: datetime, values: range) -> list[Reading]:
    return [Reading("HR", float(v), "bpm", chair="Chair 1", device_id="c1-mon",
                    recv_wall=t0 + timedelta(milliseconds=50 * v)) for v in values]


def _until(cond, what: str, limit: float = 60.0) -> None:
    """Wait for ``cond`` (a bounded wait for an external process, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


@pytest.mark.postgres
def test_readings_survive_a_postgresql_outage_in_order_without_duplicates(cluster):
    url = cluster.create_database()
    db = Database.open(url, flush_interval=0.05)
    db.writer._retry_s = 0.1
    try:
        nurse = db.writer.submit(repo.create_user, "nurse1", "N", "nurse", "4826").result()
        _, _, visit = setup_visit(db, nurse)
        t0 = datetime.now(UTC)
        db.writer.record_readings(_hr(t0, range(0, 100)))
        db.writer.flush().result()
        assert db.writer.health().reachable

        cluster.pg_stop()
        for k in range(1, 13):  # a 20 Hz stream keeps coming while the database is down
            db.writer.record_readings(_hr(t0, range(100 * k, 100 * (k + 1))))
            db.writer.flush().result()
        health = db.writer.health()
        assert not health.reachable and health.waiting == 1200
        assert health.message().startswith("Record unreachable since")
        assert "1200 readings waiting, charting paused" in health.message()
        with pytest.raises(Exception):  # noqa: B017 - a clinical write fails, and says so
            db.writer.submit(repo.add_note, visit.id, "x", user=nurse).result()

        cluster.pg_start()
        db.writer.record_readings(_hr(t0, range(1300, 1400)))
        _until(lambda: db.writer.flush().result() >= 0 and db.writer.health().waiting == 0
               and db.writer.health().reachable, "the spool to drain")
        db.writer.flush().result()
        assert db.writer.health().message() == ""
        with db.session_scope() as s:
            values = list(s.scalars(select(Vital.value).order_by(Vital.id)))
            assert values == [float(v) for v in range(1400)]  # nothing lost, in order, once
            assert verify_audit(s).ok
        assert db.writer.readings_dropped == 0
    finally:
        db.close()


def test_a_batch_committed_before_a_crash_is_not_stored_twice(database, nurse, tmp_path):
    setup_visit(database, nurse)
    t0 = datetime.now(UTC)
    spool_dir = tmp_path / "spool"
    spool = ReadingSpool(spool_dir, 10 * 2**20)
    spool.put(_hr(t0, range(0, 10)), "a" * 32)
    spool.put(_hr(t0, range(10, 20)), "b" * 32)
    keep = tmp_path / "first.batch"
    shutil.copy(next(iter(sorted(spool_dir.iterdir()))), keep)
    from nursestation.db.writer import DbWriter

    w = DbWriter(database.engine, spool=spool, flush_interval=0.05)
    _until(lambda: spool.waiting == 0, "the spool to drain")
    w.close()
    # the crash: the first batch's file was still there after its commit
    shutil.copy(keep, spool_dir / keep.name.replace("first", "000000000001-" + "a" * 32 + "-10"))
    spool2 = ReadingSpool(spool_dir, 10 * 2**20)
    w2 = DbWriter(database.engine, spool=spool2, flush_interval=0.05)
    _until(lambda: spool2.waiting == 0, "the spool to drain")
    w2.close()
    with database.session_scope() as s:
        values = list(s.scalars(select(Vital.value).order_by(Vital.id)))
    assert values == [float(v) for v in range(20)]


def test_a_full_spool_counts_what_it_loses(database, nurse, tmp_path):
    spool = ReadingSpool(tmp_path / "spool", 1)  # nothing fits
    assert not spool.put(_hr(datetime.now(UTC), range(5)), "c" * 32)
    assert spool.waiting == 0


def test_the_station_banner_shows_the_degraded_state(qtbot):
    from nursestation.config import load_config
    from nursestation.core.protocol import load_protocol
    from nursestation.db.writer import RecordHealth
    from nursestation.ui.app import Station
    from nursestation.ui.context import AppContext
    from nursestation.ui.mainwindow import MainWindow

    config = load_config(demo=True, chairs=1)
    protocol = load_protocol(config.protocol_file)
    station = Station(config, protocol)
    ctx = AppContext(config, protocol, station.engine, station.writer, live=station.live,
                     clock=station.clock)
    window = MainWindow(ctx, station)
    qtbot.addWidget(window)
    try:
        window.show_record_health()
        assert not window.record_label.shown()
        since = datetime(2026, 12, 5, 10, 42, tzinfo=UTC)
        station.writer.health = lambda: RecordHealth(False, since, 1211)
        window.show_record_health()
        shown = window.record_label.text()
        assert window.record_label.shown()
        assert shown == (f"Record unreachable since {since.astimezone():%H:%M} — monitoring "
                         f"continues, 1211 readings waiting, charting paused")
    finally:
        window.stop()
        station.shutdown()


@pytest.mark.postgres
@pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")  # offscreen
def test_every_open_window_shows_the_record_unreachable_until_it_is_back(cluster, qtbot,
                                                                         tmp_path):
    """PostgreSQL really stops with the station, the overview and a note dialog open: each
    says so (not a log line), a save says why it failed and keeps the entry, and all of it
    clears when the database is back - noticed by the writer's probe, with no device data."""
    from PySide6.QtWidgets import QLabel

    from nursestation.config import load_config
    from nursestation.core.protocol import load_protocol
    from nursestation.ui.app import Station
    from nursestation.ui.charting import NoteDialog
    from nursestation.ui.context import AppContext, CurrentUser
    from nursestation.ui.login import LoginDialog
    from nursestation.ui.mainwindow import MainWindow
    from nursestation.ui.overview import OverviewWindow
    from nursestation.ui.visits import VisitsDialog

    url = cluster.create_database()
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "{url}"\nworkstation_id = "ws-1"\n')
    config = load_config(str(cfg))
    protocol = load_protocol(config.protocol_file)
    station = Station(config, protocol)
    station.writer._retry_s = 0.2
    station.writer._probe_idle_s = 0.5
    ctx = AppContext(config, protocol, station.engine, station.writer, live=station.live,
                     clock=station.clock)
    nurse = station.writer.submit(repo.create_user, "nurse1", "Nora", "nurse", "4826").result()
    _, _, visit = setup_visit(station, nurse)
    ctx.set_user(CurrentUser(nurse.id, nurse.username, nurse.display_name, nurse.role))
    main = MainWindow(ctx, station)
    overview = OverviewWindow(ctx)
    dialog = NoteDialog(ctx, visit.id)
    login = LoginDialog(ctx, title="Switch user")  # a PIN dialog
    visits = VisitsDialog(ctx)  # a dialog that reads
    for w in (main, overview, dialog, login, visits):
        qtbot.addWidget(w)
        w.show()
    pin_line = login.findChild(QLabel, "RecordLine")
    visits_line = visits.findChild(QLabel, "RecordLine")
    try:
        assert not main.record_label.shown() and not overview.record_banner.shown()
        assert dialog.record_line.isHidden() and pin_line.isHidden() and visits_line.isHidden()

        cluster.pg_stop()
        qtbot.waitUntil(lambda: main.record_label.shown() and overview.record_banner.shown()
                        and dialog.record_line.isVisible(), timeout=30_000)
        assert main.record_label.text().startswith("Record unreachable since ")
        assert "monitoring continues, 0 readings waiting, charting paused" in \
            main.record_label.text()
        assert "the chairs shown are as of then; the stations keep monitoring" in \
            overview.record_banner.text()
        assert "this entry cannot be saved until it is back — it stays here" in \
            dialog.record_line.text()
        assert pin_line.isVisible() and "PINs cannot be checked until it is back" in \
            pin_line.text()
        assert visits_line.isVisible() and "what is shown is as of then" in visits_line.text()

        dialog.text.setPlainText("Patient asleep, easily roused")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.pending, timeout=30_000)
        assert dialog.message.text().startswith("Not saved: the record is unreachable (")
        assert dialog.message.text().endswith("save it again when the record is back.")
        assert dialog.isVisible()
        assert dialog.text.toPlainText() == "Patient asleep, easily roused"

        cluster.pg_start()
        qtbot.waitUntil(lambda: not main.record_label.shown()
                        and not overview.record_banner.shown()
                        and dialog.record_line.isHidden() and pin_line.isHidden()
                        and visits_line.isHidden(), timeout=30_000)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.committed is not None, timeout=30_000)
    finally:
        main.stop()
        overview.stop()
        station.shutdown()
