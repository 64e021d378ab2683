"""Deterministic, seeded physiology scenarios that drive the device simulators.

The interface (``VitalsState``, ``Scenario``) is what simulators use; the scenarios themselves
model a typical ketamine visit and its events (see ``SCENARIOS``).
"""

from __future__ import annotations

import threading
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


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------

_HORIZON_S = 6 * 3600  # scenarios are defined for six hours, then hold their last state


@dataclass(frozen=True)
class _Segment:
    """A piecewise-linear course: value ``delta`` above baseline at each knot time (s)."""

    knots: tuple[tuple[float, float], ...]

    def at(self, t: np.ndarray | float) -> np.ndarray | float:
        xs = [k[0] for k in self.knots]
        ys = [k[1] for k in self.knots]
        return np.interp(t, xs, ys)


@dataclass(frozen=True)
class PumpProgram:
    """What the nurse does with the pump: (time s, rate mL/h, state) steps, and the bag's VTBI."""

    steps: tuple[tuple[float, float, str], ...]
    vtbi_ml: float

    def _rate_state_at(self, t: float) -> tuple[float, str]:
        rate, state = 0.0, "stopped"
        for when, r, s in self.steps:
            if t >= when:
                rate, state = r, s
        return rate, state

    def volume_at(self, t: float) -> tuple[float, float, str]:
        """Volume infused by time t, the rate and the state then (stops itself at VTBI)."""
        vi = 0.0
        edges = [s[0] for s in self.steps] + [t]
        for (when, r, s), nxt in zip(self.steps, edges[1:], strict=False):
            if when >= t:
                break
            end = min(nxt, t)
            if s == "infusing" and end > when:
                vi += r * (end - when) / 3600.0
                if vi >= self.vtbi_ml:
                    return self.vtbi_ml, 0.0, "stopped"
        rate, state = self._rate_state_at(t)
        if state != "infusing":
            rate = 0.0 if state == "stopped" else rate
        return vi, rate, state


class PhysiologyScenario:
    """A deterministic patient: baseline vitals, courses above baseline, events, seeded noise.

    Every output is a pure function of ``t`` (and the seed), so simulators may be queried in any
    order and two runs with one seed give identical bytes.
    """

    def __init__(
        self,
        name: str,
        seed: int,
        *,
        baseline: dict[str, float],
        courses: dict[str, _Segment] | None = None,
        pump: PumpProgram | None = None,
        nbp_times: tuple[float, ...] = (),
        sensor_off: tuple[tuple[float, float], ...] = (),
        motion: tuple[tuple[float, float], ...] = (),
        offset: float = 0.0,
    ) -> None:
        self.name = name
        self.seed = seed
        self.offset = offset
        self._base = baseline
        self._courses = courses or {}
        self._pump = pump
        self._nbp_times = tuple(sorted(nbp_times))
        self._sensor_off = sensor_off
        self._motion = motion
        self._tables: tuple[dict, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._tables_lock = threading.Lock()

    def _build_tables(self) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
        """The seeded noise and the cardiac and respiratory phase tables, built on first use
        (a few ms each; a 32-chair demo built them all before its window could show)."""
        with self._tables_lock:
            if self._tables is not None:
                return self._tables
            rng = np.random.default_rng(self.seed)
            n = _HORIZON_S + 2
            # Slow, smooth noise per second for each numeric (random walk low-passed).
            noise = {}
            for key, sd in (("hr", 1.2), ("spo2", 0.4), ("rr", 0.6), ("etco2", 0.5),
                            ("sys", 3.0), ("dia", 2.0), ("pi", 0.15), ("temp", 0.02)):
                white = rng.normal(0.0, 1.0, n)
                smooth = np.convolve(white, np.ones(20) / np.sqrt(20), mode="same")
                noise[key] = smooth * sd
            # Cumulative cardiac phase (beats) on a 1 s grid, so waves follow the current HR.
            grid = np.arange(n, dtype=float)
            hr = self._hr_course(grid)
            beats = np.concatenate(([0.0], np.cumsum(hr[:-1] / 60.0)))
            resp = np.concatenate(([0.0], np.cumsum(self._rr_course(grid)[:-1] / 60.0)))
            self._tables = (noise, grid, beats, resp)
            return self._tables

    @property
    def _noise(self) -> dict:
        return (self._tables or self._build_tables())[0]

    @property
    def _grid(self) -> np.ndarray:
        return (self._tables or self._build_tables())[1]

    @property
    def _beats(self) -> np.ndarray:
        return (self._tables or self._build_tables())[2]

    # -- courses -------------------------------------------------------------------------------
    def _course(self, key: str, t):
        seg = self._courses.get(key)
        if seg is not None:
            return seg.at(t)
        return np.zeros_like(t, dtype=float) if isinstance(t, np.ndarray) else 0.0

    def _noise_at(self, key: str, t: float) -> float:
        i = int(min(max(t, 0), _HORIZON_S))
        return float(self._noise[key][i])

    def _hr_course(self, t):
        return self._base["hr"] + self._course("hr", t)

    def _rr_course(self, t):
        return self._base["rr"] + self._course("rr", t)

    @staticmethod
    def _within(t: float, spans) -> bool:
        return any(a <= t < b for a, b in spans)

    # -- Scenario protocol ---------------------------------------------------------------------
    def state(self, t: float) -> VitalsState:
        t = t + self.offset
        hr = float(self._hr_course(t)) + self._noise_at("hr", t)
        spo2 = min(100.0, float(self._base["spo2"] + self._course("spo2", t))
                   + self._noise_at("spo2", t))
        rr = float(self._rr_course(t)) + self._noise_at("rr", t)
        etco2 = float(self._base["etco2"] + self._course("etco2", t)) + self._noise_at("etco2", t)
        pi = max(0.2, float(self._base["pi"] + self._course("pi", t)) + self._noise_at("pi", t))
        temp = float(self._base["temp"]) + self._noise_at("temp", t)
        sensor_off = self._within(t, self._sensor_off)
        motion = self._within(t, self._motion)

        nbp_sys = nbp_dia = nbp_mean = nbp_time = None
        done = [x for x in self._nbp_times if x + 30.0 <= t]  # a cuff cycle takes ~30 s
        if done:
            nbp_time = done[-1] + 30.0
            s = float(self._base["sys"] + self._course("sys", nbp_time)) + self._noise_at("sys", nbp_time)
            d = float(self._base["dia"] + self._course("dia", nbp_time)) + self._noise_at("dia", nbp_time)
            nbp_sys, nbp_dia = round(s), round(d)
            nbp_mean = round(d + (s - d) / 3.0)
            nbp_time -= self.offset

        if self._pump is not None:
            vi, rate, pstate = self._pump.volume_at(t)
            vtbi = max(0.0, self._pump.vtbi_ml - vi)
        else:
            vi, rate, pstate, vtbi = 0.0, 0.0, "stopped", 0.0

        return VitalsState(
            t=t - self.offset,
            hr=round(hr, 1),
            spo2=None if sensor_off else round(spo2, 1),
            pr=None if sensor_off else round(hr + (2.0 if motion else 0.0), 1),
            pi=None if sensor_off else round(pi, 2),
            rr=round(rr, 1),
            etco2=round(etco2, 1),
            temp=round(temp, 2),
            nbp_sys=nbp_sys,
            nbp_dia=nbp_dia,
            nbp_mean=nbp_mean,
            nbp_time=nbp_time,
            pump_rate=round(rate, 1),
            pump_vi=round(vi, 2),
            pump_vtbi=round(vtbi, 2),
            pump_state=pstate,
            pump_alarm=None,
            sensor_off=sensor_off,
            motion=motion,
        )

    def _phase(self, table: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.interp(np.clip(t, 0, _HORIZON_S), self._grid, table)

    def ecg(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        """Lead II with P, QRS and T waves placed on the beat clock of the current heart rate."""
        t = t0 + self.offset + np.arange(n) / rate_hz
        beats = self._phase(self._beats, t)
        rr_s = 60.0 / np.maximum(self._hr_course(t), 20.0)
        # time relative to this beat's R peak (R sits 40 % into each beat cycle)
        frac = beats - np.floor(beats)
        tau = (frac - 0.4) * rr_s
        qt = 0.25 * np.sqrt(rr_s)  # T wave later at slower rates (Bazett-like)
        y = (
            0.12 * np.exp(-((tau + 0.16) / 0.025) ** 2)  # P
            - 0.10 * np.exp(-((tau + 0.03) / 0.010) ** 2)  # Q
            + 1.10 * np.exp(-(tau / 0.011) ** 2)  # R
            - 0.25 * np.exp(-((tau - 0.03) / 0.012) ** 2)  # S
            + 0.30 * np.exp(-((tau - qt) / 0.055) ** 2)  # T
        )
        return y.astype(np.float32)

    def pleth(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        """Pulse oximeter pleth: systolic upstroke and dicrotic notch, ~0.25 s after the R wave."""
        t = t0 + self.offset + np.arange(n) / rate_hz
        beats = self._phase(self._beats, t - 0.25)
        x = beats - np.floor(beats)
        y = 0.85 * np.exp(-((x - 0.45) / 0.11) ** 2) + 0.30 * np.exp(-((x - 0.72) / 0.10) ** 2)
        y = 0.08 + y
        for a, b in self._motion:
            m = (t >= a) & (t < b)
            if m.any():
                y[m] += 0.35 * np.sin(2 * np.pi * 1.7 * t[m]) + 0.2 * np.sin(2 * np.pi * 0.6 * t[m])
        for a, b in self._sensor_off:
            y[(t >= a) & (t < b)] = 0.0
        return y.astype(np.float32)


# -- the scenarios the demo and the tests use -------------------------------------------------

BASELINE = {"hr": 72.0, "spo2": 98.0, "rr": 14.0, "etco2": 38.0, "temp": 36.7, "pi": 3.4,
            "sys": 124.0, "dia": 78.0}

#: The typical visit's clock (seconds from the scenario's start).
BASELINE_END = 600.0  # 10 min of baseline before the infusion starts
INFUSION_MIN = 40.0


def steady(seed: int = 1, offset: float = 0.0) -> PhysiologyScenario:
    """A calm patient at baseline, no pump running: for tests that need plain numbers."""
    return PhysiologyScenario("steady", seed, baseline=BASELINE, nbp_times=(0.0,), offset=offset)


def ketamine_visit(seed: int = 1, offset: float = 0.0) -> PhysiologyScenario:
    """A typical 0.5 mg/kg / 40 min visit, with what nurses see in practice.

    BP rises to about +15/+10 mmHg with its peak near 40 min of infusion and settles over the
    first hour of recovery (Yale series: +16/+11 at 40 min); HR up a little; an SpO2 dip to about
    90 % that recovers; motion artefact; the SpO2 sensor coming off for 40 s; the nurse lowering
    the pump rate for the BP rise and pausing it for two minutes.
    """
    s0 = BASELINE_END
    m = 60.0
    rng = np.random.default_rng(seed)
    jitter = float(rng.uniform(-1.0, 1.0))
    sys_peak, dia_peak = 15.0 + 2 * jitter, 10.0 + jitter
    courses = {
        "sys": _Segment(((0, 0), (s0, 0), (s0 + 40 * m, sys_peak), (s0 + 55 * m, sys_peak * 0.8),
                         (s0 + 100 * m, 2.0), (s0 + 130 * m, 0.0))),
        "dia": _Segment(((0, 0), (s0, 0), (s0 + 40 * m, dia_peak), (s0 + 55 * m, dia_peak * 0.8),
                         (s0 + 100 * m, 1.0), (s0 + 130 * m, 0.0))),
        "hr": _Segment(((0, 0), (s0, 0), (s0 + 20 * m, 6.0), (s0 + 40 * m, 8.0),
                        (s0 + 70 * m, 3.0), (s0 + 100 * m, 0.0))),
        "spo2": _Segment(((0, 0), (s0 + 18 * m, 0), (s0 + 20 * m, -8.0), (s0 + 21.5 * m, -8.0),
                          (s0 + 24 * m, -1.0), (s0 + 30 * m, 0.0))),
        "rr": _Segment(((0, 0), (s0 + 18 * m, 0), (s0 + 20 * m, -3.0), (s0 + 24 * m, 0.0))),
        "etco2": _Segment(((0, 0), (s0 + 18 * m, 0), (s0 + 20 * m, 3.0), (s0 + 24 * m, 0.0))),
    }
    # 80 kg x 0.5 mg/kg = 40 mg in a 100 mL bag over 40 min = 150 mL/h.
    pump = PumpProgram(
        steps=(
            (0.0, 0.0, "stopped"),
            (s0, 150.0, "infusing"),
            (s0 + 25 * m, 100.0, "infusing"),  # BP rising: rate lowered
            (s0 + 30 * m, 100.0, "paused"),  # distressing dissociation: paused
            (s0 + 32 * m, 100.0, "infusing"),
        ),
        vtbi_ml=100.0,
    )
    nbp = [300.0] + [s0 + k * 10 * m for k in range(0, 5)]  # baseline, then every 10 min
    nbp += [s0 + 50 * m + k * 15 * m for k in range(0, 6)]  # recovery, every 15 min
    return PhysiologyScenario(
        "ketamine-visit", seed, baseline=BASELINE, courses=courses, pump=pump,
        nbp_times=tuple(nbp),
        sensor_off=((s0 + 30 * m, s0 + 30 * m + 40),),
        motion=((s0 + 15 * m, s0 + 16 * m),),
        offset=offset,
    )


def desaturation(seed: int = 1, offset: float = 0.0) -> PhysiologyScenario:
    """SpO2 falls from 97 % to about 85 % at 20 s, stays low for a minute, then recovers."""
    courses = {"spo2": _Segment(((0, 0), (20, 0), (24, -12.0), (84, -12.0), (94, 0.0)))}
    return PhysiologyScenario("desaturation", seed, baseline={**BASELINE, "spo2": 97.0},
                              courses=courses, nbp_times=(0.0,), offset=offset)


SCENARIOS = {"steady": steady, "ketamine-visit": ketamine_visit, "desaturation": desaturation}


def get_scenario(name: str, seed: int = 1, offset: float = 0.0) -> PhysiologyScenario:
    """A scenario by name; ``offset`` starts it that many seconds into its course."""
    try:
        factory = SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
    return factory(seed=seed, offset=offset)
