"""--demo never opens, changes or deletes a database it did not create (issue 16, point 1)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nursestation.config import ConfigError, demo_database_dir, load_config
from nursestation.core.protocol import load_protocol
from nursestation.db.meta import NotADemoDatabase, has_demo_marker

NURSESTATION = Path(sys.executable).with_name("nursestation")


def _clinic_file(path: Path) -> bytes:
    """A database that is not the demo's: some clinical-looking content, no marker."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("INSERT INTO notes (text) VALUES ('clinic record: keep')")
    conn.commit()
    conn.close()
    return path.read_bytes()


def test_demo_refuses_a_config_naming_a_clinic_database(tmp_path):
    clinic = tmp_path / "clinic.sqlite3"
    before = _clinic_file(clinic)
    cfg = tmp_path / "clinic.toml"
    cfg.write_text(f'database_url = "sqlite:///{clinic}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="--demo runs only on its own database"):
        load_config(cfg, demo=True)
    proc = subprocess.run([str(NURSESTATION), "--demo", "--config", str(cfg), "--quit-after",
                           "0.1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "refuses this configuration" in proc.stderr and "Traceback" not in proc.stderr
    assert clinic.read_bytes() == before  # nothing opened, nothing deleted
    assert not Path(f"{clinic}-wal").exists()


def test_demo_database_always_lives_in_the_demo_directory():
    config = load_config(demo=True, chairs=2)
    assert config.database_url == (
        f"sqlite:///{demo_database_dir() / 'nursestation-demo.sqlite3'}")


def test_demo_refuses_an_unmarked_database_in_its_place_and_keeps_it(qtbot):
    from nursestation.ui.app import Station

    config = load_config(demo=True, chairs=2)
    path = Path(config.database_url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    before = _clinic_file(path)
    with pytest.raises(NotADemoDatabase, match="was not created by the demo"):
        Station(config, load_protocol(config.protocol_file))
    assert path.read_bytes() == before


def test_a_fresh_demo_database_carries_the_marker_and_is_reused(qtbot):
    from nursestation.ui.app import Station

    config = load_config(demo=True, chairs=2)
    path = Path(config.database_url.removeprefix("sqlite:///"))
    station = Station(config, load_protocol(config.protocol_file))
    station.shutdown()
    assert has_demo_marker(path)
    again = Station(config, load_protocol(config.protocol_file))  # its own: opened again
    again.shutdown()
    assert has_demo_marker(path)
