"""Test-wide setup: offscreen Qt, an isolated data directory, no real config."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["NURSESTATION_MUTE"] = "1"  # alarm sounds are muted in tests

# Fixtures shared across test folders live in plugins (database backends, demo chairs...).
pytest_plugins = ["tests.plugins.db"]


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own data directory and never reads the user's real config."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("NURSESTATION_DATA_DIR", str(data))
    monkeypatch.setenv("NURSESTATION_CONFIG", str(tmp_path / "no-such-config.toml"))
    yield

