"""The PostgreSQL password lives in the OS keyring (or libpq's own places), never in the config
(issue 16, point 7). A cluster of its own that asks for a password (scram-sha-256), the
`nursestation db set-password` / `clear-password` commands in a child process, and the test
keyring backend (``tests.plugins.keyring_backend``), never the desktop's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from nursestation.db.engine import make_engine
from nursestation.db.password import forget_cached, keyring_account, lookup_password
from tests.plugins.db import ThrowawayCluster, find_pg_bindir

NURSESTATION = Path(sys.executable).with_name("nursestation")
PASSWORD = "c0rrect horse battery"


class PasswordCluster(ThrowawayCluster):
    """A throwaway cluster whose every login needs the password (scram-sha-256)."""

    def __init__(self, bindir: Path) -> None:
        import atexit
        import tempfile

        from tests.plugins.db import PgServer, _free_port, _unprivileged_user

        self.bindir = bindir
        self.user = _unprivileged_user()
        self.dir = Path(tempfile.mkdtemp(prefix="nursestation-pgpw-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._stopped = False
        if self.user is not None:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.dir, 0o700 if self.user is None else 0o755)
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user is not None:
            os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "nursestation",
                  "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C",
                  "--no-sync")
        opts = f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w",
                  "-t", "60", "-o", opts, "start")
        atexit.register(self.stop)
        PgServer.__init__(
            self, {"host": str(self.dir), "port": self.port, "user": "nursestation",
                   "password": PASSWORD, "dbname": "postgres"},
            f"postgresql+psycopg://nursestation@/{{db}}?host={self.dir}&port={self.port}")


@pytest.fixture
def pw_cluster():
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found")
    c = PasswordCluster(bindir)
    try:
        yield c
    finally:
        c.stop()


def _connects(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1
    except OperationalError:
        return False
    finally:
        engine.dispose()


def test_the_keyring_account_names_role_host_port_and_database():
    assert keyring_account("postgresql+psycopg://nursestation_station@db.clinic.local/ns"
                           ) == "nursestation_station@db.clinic.local:5432/ns"
    assert keyring_account("postgresql://st@/ns?host=/run/pg&port=5544") == "st@/run/pg:5544/ns"
    assert keyring_account("sqlite:////tmp/x.sqlite3") is None


@pytest.mark.postgres
def test_the_password_comes_from_the_os_keyring_set_and_cleared_by_the_cli(pw_cluster,
                                                                           tmp_path):
    url = pw_cluster.create_database()
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "{url}"\n')
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    env |= {"NURSESTATION_CONFIG": str(cfg), "PGPASSFILE": str(tmp_path / "no-pgpass"),
            "PYTHONPATH": str(Path(__file__).parents[2])}  # the test keyring backend

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([str(NURSESTATION), *args], input=stdin, capture_output=True,
                              text=True, env=env, timeout=120)

    os.environ.pop("PGPASSWORD", None)
    assert not _connects(url)  # nowhere a password: the server refuses
    refused = run("visits")
    assert refused.returncode == 1
    assert "none stored in the OS keyring; `nursestation db set-password` does" in refused.stderr
    assert PASSWORD not in refused.stderr

    stored = run("db", "set-password", "--stdin", stdin=PASSWORD + "\n")
    assert stored.returncode == 0, stored.stderr
    assert "stored in the OS keyring (service nursestation, account nursestation@" in stored.stdout
    assert "connected to" in stored.stdout and PASSWORD not in stored.stdout
    assert PASSWORD not in cfg.read_text()  # the config never holds it

    forget_cached()  # this process asks the (same, file-backed) keyring afresh
    assert lookup_password(url).source == "the OS keyring"
    assert _connects(url)
    upgraded = run("db", "upgrade")  # whole tools in another process
    assert upgraded.returncode == 0, upgraded.stderr
    backup = run("db", "backup", "--out", str(tmp_path / "backups"))  # pg_dump gets it too
    assert backup.returncode == 0, backup.stderr

    cleared = run("db", "clear-password")
    assert cleared.returncode == 0 and "removed the password of nursestation@" in cleared.stdout
    forget_cached()
    assert not _connects(url)
    pw_cluster.drop_database(url)


@pytest.mark.postgres
def test_without_a_keyring_pgpassword_is_used_and_the_log_says_why(pw_cluster, monkeypatch,
                                                                   caplog):
    url = pw_cluster.create_database()
    keyring.set_keyring(fail.Keyring())  # a service account with no Secret Service
    forget_cached()
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with caplog.at_level("INFO", logger="nursestation.db.password"):
        assert _connects(url)
    assert "PGPASSWORD in the environment (this computer has no OS keyring" in caplog.text
    assert PASSWORD not in caplog.text
    pw_cluster.drop_database(url)


def test_set_password_without_a_keyring_says_what_to_use_instead(tmp_path, monkeypatch,
                                                                   capsys):
    from nursestation.cli import main

    cfg = tmp_path / "station.toml"
    cfg.write_text('database_url = "postgresql+psycopg://station@db.invalid/ns"\n')
    monkeypatch.setenv("NURSESTATION_CONFIG", str(cfg))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring.set_keyring(fail.Keyring())
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("secret\n"))
    assert main(["db", "set-password", "--stdin"]) == 1
    err = capsys.readouterr().err
    assert "no OS keyring" in err and "~/.pgpass (mode 0600) or PGPASSWORD" in err
    assert "Nothing was stored" in err
