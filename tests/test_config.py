"""The station configuration file: good files load, bad ones stop start-up with a clear message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nursestation.config import ConfigError, load_config

GOOD = """
clinic_name = "Riverside Ketamine Clinic"
database_url = "sqlite:////tmp/ns-test.sqlite3"
idle_lock_minutes = 3
patient_display = "initials"

[[chairs]]
name = "Chair 1"
devices = [
  { protocol = "intellivue", url = "/dev/ttyUSB0" },
  { protocol = "masimo", url = "socket://127.0.0.1:7001", id = "ox-1" },
]
"""


def test_good_config(tmp_path):
    f = tmp_path / "ns.toml"
    f.write_text(GOOD)
    cfg = load_config(f)
    assert cfg.clinic_name == "Riverside Ketamine Clinic"
    assert cfg.idle_lock_minutes == 3 and cfg.patient_display == "initials"
    assert [d.protocol for d in cfg.chairs[0].devices] == ["intellivue", "masimo"]
    assert cfg.chairs[0].devices[1].id == "ox-1"
    assert cfg.protocol_file.name == "ketamine-iv.toml" and cfg.protocol_file.exists()


def test_environment_variable_names_the_config(tmp_path, monkeypatch):
    f = tmp_path / "env.toml"
    f.write_text('clinic_name = "From Env"\n')
    monkeypatch.setenv("NURSESTATION_CONFIG", str(f))
    assert load_config().clinic_name == "From Env"


def test_missing_default_config_gives_sqlite_in_data_dir(tmp_path, monkeypatch):
    cfg = load_config()
    assert cfg.database_url.startswith("sqlite:///")
    assert str(tmp_path / "data") in cfg.database_url


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("idle_lock_minutes = 'five'", "idle_lock_minutes", "must be a int or float"),
        ("colour = 'blue'", "colour", "unknown setting"),
        ("database_url = 'mysql://x'", "database_url", "postgresql"),
        ("[[chairs]]\nname = 'A'\ndevices = [{ protocol = 'nellcor', url = 'x' }]",
         "chairs[1].devices[1].protocol", "must be one of"),
        ("[[chairs]]\nname = 'A'\ndevices = [{ protocol = 'masimo' }]",
         "chairs[1].devices[1].url", "missing"),
        ("clinic_name = 'x'\nclinic_name = 'y'", None, "not valid TOML"),
    ],
)
def test_malformed_config_names_file_key_and_problem(tmp_path, text, key, words):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(f)
    msg = str(exc.value)
    assert str(f) in msg and words in msg
    if key:
        assert f": {key}: " in msg


def test_malformed_config_on_the_command_line_is_a_message_not_a_traceback(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("idle_lock_minutes = 1000\n")
    res = subprocess.run(
        [sys.executable, "-m", "nursestation", "--config", str(f), "visits"],
        capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert f"{f}: idle_lock_minutes: must be between 0.5 and 240" in res.stderr


def test_malformed_protocol_file_on_the_command_line(tmp_path):
    proto = tmp_path / "proto.toml"
    proto.write_text("[protocol]\nid = 'x'\n")
    f = tmp_path / "ns.toml"
    f.write_text(f"protocol_file = '{proto}'\n")
    res = subprocess.run(
        [sys.executable, "-m", "nursestation", "--config", str(f), "--screenshot",
         str(tmp_path / "x.png"), "--quit-after", "0.1"],
        capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"{proto}: protocol.name: missing" in res.stderr


def test_help_and_version_are_readable():
    res = subprocess.run([sys.executable, "-m", "nursestation", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    for word in ("overview", "decode", "simulate", "report", "audit", "NURSESTATION_DATA_DIR"):
        assert word in res.stdout
    res = subprocess.run([sys.executable, "-m", "nursestation", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert res.stdout.startswith("nursestation ")


@pytest.mark.parametrize(("command", "code"), [(["visits"], 1), (["--quit-after", "1"], 3)])
def test_unreachable_database_is_a_message_that_never_shows_the_password(tmp_path, command,
                                                                         code):
    f = tmp_path / "ns.toml"
    # the password lives in the environment, never in the config (a config holding one is
    # refused: test_a_config_never_holds_the_database_password)
    f.write_text('database_url = "postgresql+psycopg://station@127.0.0.1:1/ns"\n')
    res = subprocess.run(
        [sys.executable, "-m", "nursestation", "--config", str(f), *command],
        capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen",
             "PGPASSWORD": "s3cret"},
    )
    assert res.returncode == code
    assert "Traceback" not in res.stderr
    assert "cannot open" in res.stderr and "127.0.0.1:1/ns" in res.stderr
    assert "Connection refused" in res.stderr or "connection failed" in res.stderr
    assert "s3cret" not in res.stderr + res.stdout


SITES_AND_BAUD = """
[[chairs]]
name = "Chair 1"
primary_sites = { TEMP = "core", SPO2 = "left" }
devices = [
  { protocol = "intellivue", url = "/dev/ttyUSB0", baud = 19200 },
  { protocol = "masimo", url = "/dev/ttyUSB1" },
]
"""


def test_baud_and_primary_sites(tmp_path):
    f = tmp_path / "ns.toml"
    f.write_text(SITES_AND_BAUD)
    chair = load_config(f).chairs[0]
    assert [d.baud for d in chair.devices] == [19200, None]
    assert chair.sites == {"TEMP": "core", "SPO2": "left"}


@pytest.mark.parametrize(("old", "new", "key", "says"), [
    ("baud = 19200", "baud = 9600", "devices[1].baud", "115200, 19200"),
    ('TEMP = "core"', 'TEMP = "elbow"', "primary_sites.TEMP", "'elbow' is not a site of TEMP"),
    ('TEMP = "core"', 'HR = "left"', "primary_sites.HR", "not a code measured at several"),
])
def test_bad_baud_or_site_names_the_key(tmp_path, old, new, key, says):
    f = tmp_path / "ns.toml"
    f.write_text(SITES_AND_BAUD.replace(old, new))
    with pytest.raises(ConfigError) as e:
        load_config(f)
    assert key in str(e.value) and says in str(e.value)


def test_a_station_takes_up_to_64_chairs():
    from nursestation.config import MAX_CHAIRS

    assert MAX_CHAIRS == 64  # two pods of 32 on one PC
    assert len(load_config(None, demo=True, chairs=64).chairs) == 64
    with pytest.raises(ConfigError, match="between 1 and 64"):
        load_config(None, demo=True, chairs=65)
