"""Deterministic, seeded physiology scenarios that drive the device simulators.

The interface (``VitalsState``, ``Scenario``) is what simulators use; the scenarios themselves
model a typical ketamine visit and its events (see ``SCENARIOS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class VitalsState:
    """The patient and pump at scenario time ``t`` (seconds since the scenario started).

    ``None`` means the device has no value to show (sensor off, not measured yet).
    """

    t: float
    hr: float | None
    spo2: float | None
    pr: float | None
    pi: float | None
    rr: float | None
    etco2: float | None  # mmHg
    temp: float | None  # degC
    # The last completed non-invasive BP and the scenario time it completed.
    nbp_sys: float | None
    nbp_dia: float | None
    nbp_mean: float | None
    nbp_time: float | None
    pump_rate: float  # mL/h
    pump_vi: float  # mL infused so far
    pump_vtbi: float  # mL still to be infused
    pump_state: str  # infusing / paused / stopped / alarm
    pump_alarm: str | None
    sensor_off: bool = False  # SpO2 probe off the finger
    motion: bool = False  # motion artefact on the pleth


class Scenario(Protocol):
    name: str

    def state(self, t: float) -> VitalsState: ...

    def ecg(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        """``n`` ECG lead II samples (mV) starting at scenario time ``t0``."""
        ...

    def pleth(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        """``n`` pleth samples (arbitrary units, 0..1) starting at ``t0``."""
        ...
