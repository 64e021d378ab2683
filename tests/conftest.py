"""Test-wide setup: offscreen Qt, an isolated data directory, no real config."""

from __future__ import annotations

import gc
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



@pytest.fixture(scope="session", autouse=True)
def _no_collection_off_the_gui_thread():
    """As in the app (``ui.collector``): Python's cyclic collector never runs by itself, so it
    cannot free a test's widgets on the database writer's or the reactor's thread, where a Qt
    object destroyed off its own thread crashed the run (inside a test, not only between
    tests). Each test's garbage is collected when it ends, below, on the main thread."""
    enabled = gc.isenabled()
    gc.disable()
    yield
    if enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread():
    """A finished test's widgets, contexts and watches become garbage together; collect them
    here, on the thread that made them."""
    yield
    gc.collect()
