"""Database fixtures (owned by the db layer), for every test folder.

- ``db_url``: an *empty* database, parametrised over ``sqlite`` (a file in tmp_path) and
  ``postgresql`` (marked ``postgres``): a fresh database per test on a throwaway cluster that
  this test session starts (initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin), or on the
  server named by ``NURSESTATION_TEST_PG_URL``. Without either the PostgreSQL variant skips -
  unless ``NURSESTATION_REQUIRE_PG=1`` (CI), then it fails.
- ``database``: a migrated ``nursestation.db.Database`` on ``db_url`` (closed at teardown).
- ``nurse`` / ``charge_nurse``: users created in ``database`` (PINs ``4826`` / ``582604``).
- ``pg_url``: a fresh PostgreSQL database only (for PostgreSQL-only tests).
- ``pg_server``: the session's PostgreSQL server (``create_database()`` / ``drop_database()``).
- every test gets an OS keyring of its own (a file in tmp_path, ``tests.plugins.keyring_backend``),
  never the desktop's: database passwords are looked up there first.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL_ENV = "NURSESTATION_TEST_PG_URL"
REQUIRE_PG_ENV = "NURSESTATION_REQUIRE_PG"
NURSE_PIN = "4826"
CHARGE_PIN = "582604"


def find_pg_bindir() -> Path | None:
    """Where initdb and pg_ctl are: PATH first, then Debian's /usr/lib/postgresql/N/bin."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    candidates = []
    for path in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        m = re.search(r"/postgresql/([\d.]+)/bin/", path)
        version = tuple(int(x) for x in m.group(1).split(".")) if m else (0,)
        candidates.append((version, Path(path).parent))
    for _, bindir in sorted(candidates, reverse=True):
        if (bindir / "pg_ctl").exists():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged_user() -> pwd.struct_passwd | None:
    """initdb and postgres refuse to run as root; use the postgres (or nobody) account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL")


class PgServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    def __init__(self, admin_conninfo: dict[str, object], url_template: str) -> None:
        self._admin = admin_conninfo
        self._url_template = url_template  # with {db}

    def _admin_exec(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(**self._admin, autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(sql)

    def create_database(self) -> str:
        name = f"nstest_{uuid.uuid4().hex[:12]}"
        self._admin_exec(f'CREATE DATABASE "{name}"')
        return self._url_template.format(db=name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        self._admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        pass


class ThrowawayCluster(PgServer):
    """initdb + pg_ctl in a temporary directory; unix socket only; removed at the end."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = _unprivileged_user()
        self.dir = Path(tempfile.mkdtemp(prefix="nursestation-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._stopped = False
        if self.user is not None:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.dir, 0o700 if self.user is None else 0o755)
        self._run("initdb", "-D", str(self.data), "-U", "nursestation", "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        opts = (f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w",
                  "-t", "60", "-o", opts, "start")
        atexit.register(self.stop)
        super().__init__(
            {"host": str(self.dir), "port": self.port, "user": "nursestation",
             "dbname": "postgres"},
            f"postgresql+psycopg://nursestation@/{{db}}?host={self.dir}&port={self.port}",
        )

    def _run(self, tool: str, *args: str) -> None:
        kw: dict = {}
        if self.user is not None:
            kw = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        proc = subprocess.run([str(self.bindir / tool), *args], cwd=self.dir,
                              capture_output=True, text=True, timeout=120, **kw)
        if proc.returncode != 0:
            log = self.dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stderr.strip()}\n{tail}")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def _server_from_url(url: str) -> PgServer:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    admin = {k: v for k, v in {
        "host": u.host or u.query.get("host"), "port": u.port or u.query.get("port"),
        "user": u.username, "password": u.password, "dbname": u.database or "postgres",
    }.items() if v is not None}
    template = u.set(database="DBNAME").render_as_string(hide_password=False)
    return PgServer(admin, template.replace("DBNAME", "{db}"))


@pytest.fixture(autouse=True)
def _test_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import keyring

    from nursestation.db.password import forget_cached
    from tests.plugins.keyring_backend import FILE_ENV, FileKeyring

    monkeypatch.setenv(FILE_ENV, str(tmp_path / "keyring.json"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{FileKeyring.__module__}.FileKeyring")
    keyring.set_keyring(FileKeyring())  # never initialises (or asks) the desktop's keyring
    forget_cached()
    yield
    forget_cached()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    url = os.environ.get(PG_URL_ENV)
    if url:
        yield _server_from_url(url)
        return
    bindir = find_pg_bindir()
    if bindir is None:
        msg = ("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
               f"/usr/lib/postgresql/*/bin, and {PG_URL_ENV} is not set")
        if os.environ.get(REQUIRE_PG_ENV) == "1":
            pytest.fail(f"{msg}; {REQUIRE_PG_ENV}=1 requires the PostgreSQL tests to run",
                        pytrace=False)
        pytest.skip(msg)
    cluster = ThrowawayCluster(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (for PostgreSQL-only tests; mark them ``postgres``)."""
    url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)


@pytest.fixture
def database(db_url: str):
    """A migrated ``Database`` (engine + writer) on ``db_url``."""
    from nursestation.db import Database

    db = Database.open(db_url)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def nurse(database):
    from nursestation.db import repo

    return database.writer.submit(repo.create_user, "nurse1", "Nora Nurse", "nurse",
                                  NURSE_PIN).result()


@pytest.fixture
def charge_nurse(database):
    from nursestation.db import repo

    return database.writer.submit(repo.create_user, "charge1", "Carla Charge", "charge",
                                  CHARGE_PIN).result()
