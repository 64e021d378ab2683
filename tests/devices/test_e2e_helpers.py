"""Shared helpers for the device tests (no tests here): scenarios, waiting, fd/thread counts."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from nursestation.sim.scenarios import VitalsState

BASE_STATE = VitalsState(
    t=0.0, hr=72.0, spo2=97.0, pr=71.0, pi=3.21, rr=14.0, etco2=38.0, temp=36.8,
    nbp_sys=121.0, nbp_dia=78.0, nbp_mean=92.0, nbp_time=0.0,
    pump_rate=52.5, pump_vi=12.25, pump_vtbi=22.75, pump_state="infusing", pump_alarm=None,
)


class FixedScenario:
    """A Scenario whose state never changes (or changes by a function of t)."""

    name = "fixed"

    def __init__(self, state: VitalsState = BASE_STATE,
                 vary: Callable[[float, VitalsState], VitalsState] | None = None) -> None:
        self._state = state
        self._vary = vary

    def state(self, t: float) -> VitalsState:
        st = replace(self._state, t=t)
        return self._vary(t, st) if self._vary else st

    def ecg(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        return np.zeros(n, dtype=np.float32)

    def pleth(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        ts = t0 + np.arange(n) / rate_hz
        return (0.5 + 0.4 * np.sin(2 * np.pi * ts)).astype(np.float32)


class FrozenScenario:
    """Another scenario held at one moment, so every reply carries the same values."""

    def __init__(self, inner, at: float) -> None:
        self.inner = inner
        self.at = at
        self.name = f"{getattr(inner, 'name', 'scenario')}@{at:g}"

    def state(self, t: float) -> VitalsState:
        return replace(self.inner.state(self.at), t=t)

    def ecg(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        return self.inner.ecg(t0, n, rate_hz)

    def pleth(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        return self.inner.pleth(t0, n, rate_hz)


def steady():
    """``get_scenario("steady", 1)`` when core/scenarios provides a working one, else fixed."""
    try:
        from nursestation.sim.scenarios import get_scenario

        scen = get_scenario("steady", 1)
        scen.state(0.0)
        return scen
    except Exception:  # noqa: BLE001 - scenarios are another engineer's work in progress
        return FixedScenario()


def wait_for(pred: Callable[[], object], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``pred`` until true; an upper bound for waiting, never a speed assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def thread_names() -> list[str]:
    return sorted(t.name for t in threading.enumerate())


class Collector:
    """A thread-safe sink that remembers batches."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: list[list] = []

    def __call__(self, batch) -> None:
        assert isinstance(batch, list) and batch
        with self.lock:
            self.batches.append(list(batch))

    @property
    def readings(self) -> list:
        with self.lock:
            return [r for b in self.batches for r in b]

    def codes(self, code) -> list:
        return [r for r in self.readings if r.code == code]
