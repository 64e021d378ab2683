"""Where NurseStation keeps its files (platformdirs, overridable by environment)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

APP = "nursestation"


def data_dir() -> Path:
    """The data directory: database, logs, backups. ``NURSESTATION_DATA_DIR`` overrides it."""
    override = os.environ.get("NURSESTATION_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_config_path() -> Path:
    override = os.environ.get("NURSESTATION_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "nursestation.toml"


def resource_path(*parts: str) -> Path:
    """A file under the package's resources (protocol files, stylesheet, icons)."""
    return Path(str(resources.files("nursestation").joinpath("resources", *parts)))
