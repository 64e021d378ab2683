"""Start-up and shut-down of the station (and the overview): the one place that wires the layers.

Order matters: the station's window draws its first frame (its chairs' tiles, devices
"connecting") before the record is opened: SQLAlchemy, the ORM models and the database (its
schema checked, a new one created; a demo's upgraded, backed up first; any other mismatch
refused, see ``db.engine.prepare_database``) come after, on a thread of their own, and the tiles
fill in when the chart is read. Device links start only after that first frame too (a clinic's
at once, what they read kept for the record until it is open; the demo's once its chart is
planned); on exit the links release their devices, the writer flushes and commits what it
holds, and only then the process ends. Nothing writes before the schema is checked.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from nursestation import __version__
from nursestation.config import Config
from nursestation.core.clock import SystemClock
from nursestation.core.livestate import LiveStore
from nursestation.core.protocol import TreatmentProtocol
from nursestation.ui.collector import GuiThreadCollector

if TYPE_CHECKING:  # the record is opened after the station's first frame (see Station)
    from nursestation.db.writer import DbWriter

log = logging.getLogger(__name__)


class _LazyRepo:
    """``nursestation.db.repo``, imported when first used (after the first frame): the
    heartbeat and the demo's login below call it as ``repo.…``."""

    def __getattr__(self, name: str):
        from nursestation.db import repo as module

        return getattr(module, name)


repo = _LazyRepo()


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("NurseStation")
        app.setApplicationVersion(__version__)
        app.setOrganizationName("NurseStation")
        # Cyclic garbage (closed dialogs hold Qt objects) is collected on this thread only:
        # collected on the reactor's or the writer's, a widget died off its thread (collector.py)
        GuiThreadCollector(app)
    return app  # type: ignore[return-value]


class Station:
    """Everything one station process runs: database, writer, devices, live store, window.

    ``open_record=False`` builds only what the window needs for its first frame (the chairs,
    the live store with every device "connecting", the runtime); :meth:`open_record` (or
    :meth:`open_record_later`, on a thread) then opens the database, the writer and the
    station controller. The default opens it at once."""

    def __init__(self, config: Config, protocol: TreatmentProtocol, *, overview: bool = False,
                 desaturate: str | None = None, open_record: bool = True):
        from nursestation.runtime import StationRuntime

        self.config = config
        self.protocol = protocol
        self.overview = overview
        self.clock = SystemClock()
        self.live = LiveStore(self.clock)
        self.engine = None
        self.writer: DbWriter | None = None
        self.controller = None
        self.heartbeat: Heartbeat | None = None
        self.backups = None
        self.demo_devices = None
        self.demo_plan = None
        self._desaturate = desaturate
        self._opener: threading.Thread | None = None
        if config.demo:
            from nursestation.demo import plan_demo

            # the demo's chairs as planned (a stored demo chart may resume them later: the
            # same chairs and devices, their scenarios further on)
            plan = plan_demo(config.chairs)
            names = [dc.config.name for dc in plan]
            if desaturate and desaturate not in names:
                raise SystemExit(f"--demo-desaturate: no demo chair {desaturate!r} "
                                 f"(chairs: {names[0]} … {names[-1]})")
            self.chairs = tuple(dc.config for dc in plan)
        else:
            self.chairs = config.chairs
        self.runtime = StationRuntime(config, protocol, self.live, clock=self.clock)
        # the tiles show each chair's devices "connecting" from the first frame
        self.runtime.register_chairs(self.chairs)
        if open_record:
            self.open_record()

    def open_record(self) -> None:
        """Open the database (schema checked first), the writer and the station controller;
        the demo's chart is planned and seeded. SQLAlchemy and the ORM are imported here."""
        from nursestation.db.engine import make_engine, prepare_database
        from nursestation.db.writer import DbWriter, open_spool
        from nursestation.record.chairs import BaselineVitals, read_chart
        from nursestation.station import StationController

        config, overview = self.config, self.overview
        if config.database_url.startswith("sqlite:///"):
            Path(config.database_url.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True)
        self.demo_plan = self._demo_plan(may_reset=not overview) if config.demo else None
        if self.demo_plan is not None and self._desaturate:
            from dataclasses import replace

            self.demo_plan = [replace(dc, scenario="desaturation")
                              if dc.config.name == self._desaturate else dc
                              for dc in self.demo_plan]
        # a new empty database is created; any other schema change is `db upgrade`'s (the
        # demo's own database excepted)
        backup = prepare_database(config.database_url, allow_upgrade=config.demo)
        if backup is not None:
            log.info("database backed up to %s before upgrading", backup)
        self.engine = make_engine(config.database_url)
        self.writer = DbWriter(self.engine, spool=open_spool(
            config.database_url, config.spool_max_mb * 2**20,
            "overview" if overview else config.workstation_id))
        chairs = config.chairs
        if config.demo:
            # the overview of the demo shows the demo's chart even with no station running
            chairs = self._start_demo(devices=not overview)
        if not config.demo and not overview:
            # this workstation owns the chairs of its config; refused (ChairClaimed) when
            # another running workstation owns one of them
            self.writer.submit(repo.start_workstation, config.workstation_id, list(chairs),
                               host=platform.node(), version=__version__).result()
            self.heartbeat = Heartbeat(self.writer, config.workstation_id).start()
        self.chairs = chairs
        # what the devices read while the record was opening goes to it first
        self.runtime.attach_writer(self.writer)
        # the clinical heartbeat (alarms and their record, baselines, BP deadlines, the
        # pump-change scan), whoever is logged in; it reads the chart the tiles show
        self.controller = StationController(
            self.runtime, self.writer, partial(read_chart, self.engine, self.protocol,
                                               recorded=BaselineVitals()))
        if not overview and not config.demo and config.backup_every_hours > 0:
            from nursestation.db.backup import BackupScheduler, default_backup_dir

            self.backups = BackupScheduler(
                config.database_url, config.backup_dir or default_backup_dir(),
                config.backup_every_hours, config.backup_keep).start()

    def open_record_later(self, done: Callable[[BaseException | None], None]) -> None:
        """:meth:`open_record` on a thread of its own; ``done`` is called there with None, or
        with what stopped it (a refused schema, a claimed chair, an unreachable server)."""
        def run() -> None:
            try:
                self.open_record()
            except BaseException as exc:  # noqa: BLE001 - handed to ``done``, which reports it
                done(exc)
            else:
                done(None)

        self._opener = threading.Thread(target=run, name="record-open", daemon=True)
        self._opener.start()

    def _demo_plan(self, *, may_reset: bool):
        """The demo chairs' plan; a stored demo chart resumes where it is now (the simulators
        follow it), or, when it no longer fits, the demo database starts afresh (never from the
        overview, which may be watching a running demo station)."""
        from nursestation.db.engine import (
            make_engine,
            session_scope,
            sqlite_path,
            upgrade_database,
        )
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
        if self._opener is not None:  # the record still opening: what it opens is closed too
            self._opener.join()
        if self.controller is not None:
            self.controller.stop()
        if self.backups is not None:
            self.backups.stop()
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.runtime.stop()
        if self.demo_devices is not None:
            self.demo_devices.stop()
        if self.writer is not None:
            self.writer.close()
        if self.engine is not None:
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

    # The station draws its first frame (the chairs' tiles, devices "connecting") before it
    # opens the record: SQLAlchemy, the ORM and the database come after, on a thread.
    station = Station(config, protocol, overview=overview, desaturate=desaturate,
                      open_record=overview)
    ctx = AppContext(config, protocol, station.engine, station.writer, live=station.live,
                     clock=station.clock)
    failed: list[BaseException] = []
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
        def record_open() -> None:  # on the GUI thread
            ctx.open_record(station.engine, station.writer)
            window.record_opened()
            if config.demo:  # the demo's devices follow its chart, planned with the record
                station.start_devices(background=True)
            if config.demo and screenshot:
                _demo_login(ctx)  # a picture of the station, not of the login dialog
            else:
                window.lock.switch_user()
            if open_chair:
                window.open_detail(open_chair)

        def record_failed() -> None:
            window.close()
            app.quit()

        def opened(exc: BaseException | None) -> None:  # on the record's thread
            if exc is not None:
                failed.append(exc)
            ctx.call_soon(record_failed if exc is not None else record_open)

        # After the first painted frame: the record opens, and a clinic's devices start at once (the
        # nurse sees the chairs at once, and the 96 links of 32 chairs, the ports' opening and
        # the database do not hold the first frame back); what they read is kept for the
        # record until it is open. The demo's devices wait for its chart (record_open).
        def first_frame() -> None:
            if not config.demo:
                station.runtime.hold_for_writer()
            station.open_record_later(opened)
            if not config.demo:
                station.start_devices(background=True)

        window.first_painted.connect(first_frame)
        window.start()

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
    if failed:  # the record could not be opened: the command says why (cli.main)
        raise failed[0]
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
