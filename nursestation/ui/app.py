"""Start-up and shut-down of the station (and the overview): the one place that wires the layers.

Order matters: the database's schema is checked (a new one created; a demo's upgraded, backed
up first; any other mismatch refused, see ``db.engine.prepare_database``) before anything writes; device links start only after the window has drawn its first frame; on exit the links
release their devices, the writer flushes and commits what it holds, and only then the process
ends.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
from functools import partial
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from nursestation import __version__
from nursestation.config import Config
from nursestation.core.clock import SystemClock
from nursestation.core.livestate import LiveStore
from nursestation.core.protocol import TreatmentProtocol
from nursestation.db import repo
from nursestation.db.engine import make_engine, prepare_database, upgrade_database
from nursestation.db.writer import DbWriter, open_spool

log = logging.getLogger(__name__)


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("NurseStation")
        app.setApplicationVersion(__version__)
        app.setOrganizationName("NurseStation")
    return app  # type: ignore[return-value]


class Station:
    """Everything one station process runs: database, writer, devices, live store, window."""

    def __init__(self, config: Config, protocol: TreatmentProtocol, *, overview: bool = False,
                 desaturate: str | None = None):
        from nursestation.runtime import StationRuntime
        from nursestation.station import StationController
        from nursestation.ui.chairs import read_chart

        self.config = config
        self.protocol = protocol
        self.clock = SystemClock()
        if config.database_url.startswith("sqlite:///"):
            Path(config.database_url.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True)
        self.demo_plan = self._demo_plan(may_reset=not overview) if config.demo else None
        if self.demo_plan is not None and desaturate:
            from dataclasses import replace

            names = [dc.config.name for dc in self.demo_plan]
            if desaturate not in names:
                raise SystemExit(f"--demo-desaturate: no demo chair {desaturate!r} "
                                 f"(chairs: {names[0]} … {names[-1]})")
            self.demo_plan = [replace(dc, scenario="desaturation")
                              if dc.config.name == desaturate else dc for dc in self.demo_plan]
        # a new empty database is created; any other schema change is `db upgrade`'s (the
        # demo's own database excepted)
        backup = prepare_database(config.database_url, allow_upgrade=config.demo)
        if backup is not None:
            log.info("database backed up to %s before upgrading", backup)
        self.engine = make_engine(config.database_url)
        self.writer = DbWriter(self.engine, spool=open_spool(
            config.database_url, config.spool_max_mb * 2**20,
            "overview" if overview else config.workstation_id))
        self.live = LiveStore(self.clock)
        self.demo_devices = None
        chairs = config.chairs
        if config.demo:
            # the overview of the demo shows the demo's chart even with no station running
            chairs = self._start_demo(devices=not overview)
        self.heartbeat: Heartbeat | None = None
        if not config.demo and not overview:
            # this workstation owns the chairs of its config; refused (ChairClaimed) when
            # another running workstation owns one of them
            self.writer.submit(repo.start_workstation, config.workstation_id, list(chairs),
                               host=platform.node(), version=__version__).result()
            self.heartbeat = Heartbeat(self.writer, config.workstation_id).start()
        self.chairs = chairs
        self.runtime = StationRuntime(config, protocol, self.live, writer=self.writer,
                                      clock=self.clock)
        # the clinical heartbeat (alarms and their record, baselines, BP deadlines, the
        # pump-change scan), whoever is logged in; it reads the chart the tiles show
        self.controller = StationController(
            self.runtime, self.writer, partial(read_chart, self.engine, protocol))
        self.backups = None
        if not overview and not config.demo and config.backup_every_hours > 0:
            from nursestation.db.backup import BackupScheduler, default_backup_dir

            self.backups = BackupScheduler(
                config.database_url, config.backup_dir or default_backup_dir(),
                config.backup_every_hours, config.backup_keep).start()

    def _demo_plan(self, *, may_reset: bool):
        """The demo chairs' plan; a stored demo chart resumes where it is now (the simulators
        follow it), or, when it no longer fits, the demo database starts afresh (never from the
        overview, which may be watching a running demo station)."""
        from nursestation.db.engine import session_scope, sqlite_path
        from nursestation.db.meta import check_demo_database, create_demo_database
        from nursestation.demo import plan_demo, resume_plan

        plan = plan_demo(self.config.chairs)
        path = sqlite_path(self.config.database_url)
        if path is None:
            return plan
        check_demo_database(path)  # before anything opens, migrates, writes or deletes it
        if not path.exists():
            create_demo_database(path)
            return plan
        engine = make_engine(self.config.database_url)
        try:
            upgrade_database(self.config.database_url)
            with session_scope(engine) as session:
                resumed = resume_plan(session, plan, self.clock.now())
        finally:
            engine.dispose()
        if resumed is not None:
            return resumed
        if not may_reset:
            return plan
        log.info("demo: the stored demo chart is stale; starting a fresh demo database")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        create_demo_database(path)
        return plan

    def _start_demo(self, *, devices: bool = True):
        from nursestation.demo import DemoDevices, seed_demo_database

        plan = self.demo_plan
        created = self.writer.submit(seed_demo_database, plan, self.protocol,
                                     self.clock.now()).result()
        if created:
            log.info("demo database seeded with %d visits", created)
        if not devices:
            return self.config.chairs
        self.demo_devices = DemoDevices(plan, port=self.config.demo_devices)
        # their ports now (the links need the paths), the devices themselves with the links
        return self.demo_devices.start(run=False)

    def start_devices(self, *, background: bool = False) -> None:
        """Start the device links (and the demo's simulated devices before them)."""
        demo = self.demo_devices
        self.runtime.start(self.chairs, background=background,
                           prepare=demo.run if demo is not None else None)

    def shutdown(self) -> None:
        self.controller.stop()
        if self.backups is not None:
            self.backups.stop()
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.runtime.stop()
        if self.demo_devices is not None:
            self.demo_devices.stop()
        self.writer.close()
        self.engine.dispose()


class Heartbeat:
    """Tells the shared database this workstation runs (``repo.heartbeat`` every
    ``repo.HEARTBEAT_EVERY``); on stop, that it stopped, so its chairs may be claimed."""

    def __init__(self, writer: DbWriter, workstation: str) -> None:
        self.writer, self.workstation = writer, workstation
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nursestation-heartbeat",
                                        daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(repo.HEARTBEAT_EVERY.total_seconds()):
            try:
                self.writer.submit(repo.heartbeat, self.workstation)
            except Exception:  # noqa: BLE001 - a closed writer: the station is stopping
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            self.writer.submit(repo.heartbeat, self.workstation, stopping=True).result(10)
        except Exception:  # noqa: BLE001 - the record is unreachable: the heartbeat goes stale
            log.warning("could not record that workstation %s stopped", self.workstation)


def run_app(config: Config, protocol: TreatmentProtocol, *, overview: bool = False,
            screenshot: str | None = None, quit_after: float | None = None,
            open_chair: str | None = None, desaturate: str | None = None) -> int:
    app = _application()
    from nursestation.ui.context import AppContext

    station = Station(config, protocol, overview=overview, desaturate=desaturate)
    ctx = AppContext(config, protocol, station.engine, station.writer, live=station.live,
                     clock=station.clock)
    if overview:
        from nursestation.ui.overview import OverviewWindow

        if config.demo and screenshot:
            _demo_login(ctx)  # a picture of the overview, not of its login
        window = OverviewWindow(ctx)
    else:
        from nursestation.ui.mainwindow import MainWindow

        window = MainWindow(ctx, station)
    # 1920 x 1080, or the whole screen when it is smaller (a 1366 x 768 clinic laptop)
    screen = app.primaryScreen().availableGeometry()
    window.resize(min(1920, screen.width()), min(1080, screen.height()))
    window.show()
    if not overview:
        # The devices start once the window has drawn its first frame: the nurse sees the
        # chairs at once (devices "connecting"), and the 96 threads of 32 chairs, the ports'
        # opening and the demo's simulators do not hold the first frame back.
        def start_devices(_now: float) -> None:
            window.bridge.frame.disconnect(start_devices)
            station.start_devices(background=True)

        window.bridge.frame.connect(start_devices)
        window.start()
        if config.demo and screenshot:
            _demo_login(ctx)  # a picture of the station, not of the login dialog
        else:
            window.lock.switch_user()
        if open_chair:
            window.open_detail(open_chair)

    if screenshot or quit_after is not None:
        delay = quit_after if quit_after is not None else 3.0

        def finish() -> None:
            if screenshot:
                window.grab().save(screenshot)
                log.info("screenshot saved to %s", screenshot)
            window.close()
            app.quit()

        QTimer.singleShot(int(delay * 1000), finish)
    try:
        code = app.exec()
    finally:
        if hasattr(window, "stop"):
            window.stop()
        station.shutdown()
    return code


def _demo_login(ctx) -> None:
    """Log the first demo nurse in (demo screenshots only)."""
    from nursestation.demo import DEMO_USERS
    from nursestation.ui.context import CurrentUser

    username, _name, _role, pin = DEMO_USERS[0]
    user = ctx.writer.submit(repo.authenticate, username, pin,
                             policy=ctx.config.pin_policy).result().user
    if user is not None:
        ctx.set_user(CurrentUser(user.id, user.username, user.display_name, user.role))
