"""Logging: a rotating file in the data directory, and stderr."""

from __future__ import annotations

import logging
import logging.handlers

from nursestation.paths import data_dir


def setup_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    if getattr(root, "_nursestation_configured", False):
        return
    level = logging.DEBUG if verbose else logging.INFO
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_dir = data_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    fileh = logging.handlers.RotatingFileHandler(
        log_dir / "nursestation.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    fileh.setFormatter(fmt)
    errh = logging.StreamHandler()
    errh.setFormatter(fmt)
    errh.setLevel(level if verbose else logging.WARNING)
    root.addHandler(fileh)
    root.addHandler(errh)
    root.setLevel(level)
    root._nursestation_configured = True  # type: ignore[attr-defined]
