"""What a chair's devices would have delivered, as readings, straight from a scenario.

For tests, screenshots (ui.preview) and benchmarks that need a station's worth of data without
devices; the demo itself runs the real simulators on the real serial stack.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nursestation.core.readings import Reading
from nursestation.core.vocabulary import UNITS, Code, Quality
from nursestation.sim.scenarios import Scenario


def scenario_readings(scenario: Scenario, chair: str, t0: float, t1: float, *, mono0: float,
                      wall0: datetime | None = None, monitor: str | None = "monitor",
                      oximeter: str | None = None, pump: str | None = "pump",
                      ecg_hz: float = 500.0, pleth_hz: float = 125.0, block_s: float = 0.25,
                      numerics_every: float = 1.0) -> list[Reading]:
    """Readings a chair's devices would have delivered between scenario times ``t0`` and
    ``t1`` (for tests, screenshots and benchmarks; the demo uses the real simulators).

    Scenario time ``t0`` is received at ``mono0`` on the store's monotonic clock (and
    ``wall0`` UTC, if given). ECG and NBP/RR/EtCO2/HR come from ``monitor``; SpO2/PR/pleth
    from ``oximeter`` (or the monitor when None); the pump's values from ``pump``."""
    ox = oximeter or monitor
    out: list[Reading] = []

    def stamp(r: Reading, t: float, dev: str | None) -> Reading:
        r.chair, r.device_id = chair, dev
        r.recv_mono = mono0 + (t - t0)
        r.recv_wall = None if wall0 is None else wall0 + timedelta(seconds=t - t0)
        return r

    t = t0
    next_num = t0
    while t < t1 - 1e-9:
        t_end = min(t1, t + block_s)
        if monitor is not None:
            n = round((t_end - t) * ecg_hz)
            if n:
                out.append(stamp(Reading(Code.ECG, samples=scenario.ecg(t, n, ecg_hz),
                                         rate_hz=ecg_hz, unit="mV"), t_end, monitor))
        if ox is not None:
            n = round((t_end - t) * pleth_hz)
            if n:
                out.append(stamp(Reading(Code.PLETH, samples=scenario.pleth(t, n, pleth_hz),
                                         rate_hz=pleth_hz), t_end, ox))
        if t_end >= next_num:
            s = scenario.state(t_end)
            if monitor is not None:
                for code, v in ((Code.HR, s.hr), (Code.RR, s.rr), (Code.ETCO2, s.etco2),
                                (Code.TEMP, s.temp)):
                    flags = frozenset() if v is not None else frozenset({Quality.UNAVAILABLE})
                    out.append(stamp(Reading(code, v, UNITS[code], flags), t_end, monitor))
                if s.nbp_sys is not None:
                    for code, nbp in ((Code.NBP_SYS, s.nbp_sys), (Code.NBP_DIA, s.nbp_dia),
                                      (Code.NBP_MEAN, s.nbp_mean)):
                        r = Reading(code, None if nbp is None else float(nbp), UNITS[code])
                        if wall0 is not None and s.nbp_time is not None:
                            r.device_time = wall0 + timedelta(seconds=s.nbp_time - t0)
                        out.append(stamp(r, t_end, monitor))
            if ox is not None:
                for code, v in ((Code.SPO2, s.spo2), (Code.PR, s.pr), (Code.PI, s.pi)):
                    q: set[str] = set()
                    if s.sensor_off:
                        q.add(Quality.SENSOR_OFF)
                    if v is None:
                        q.add(Quality.UNAVAILABLE)
                    if s.motion:
                        q.add(Quality.QUESTIONABLE)
                    out.append(stamp(Reading(code, v, UNITS[code], frozenset(q)), t_end, ox))
            if pump is not None:
                pump_values: tuple[tuple[Code, float | str | None], ...] = (
                    (Code.PUMP_RATE, s.pump_rate), (Code.PUMP_VI, s.pump_vi),
                    (Code.PUMP_VTBI, s.pump_vtbi), (Code.PUMP_STATE, s.pump_state),
                    (Code.PUMP_ALARM, s.pump_alarm))
                for code, pv in pump_values:
                    out.append(stamp(Reading(code, pv, UNITS.get(code, "")), t_end, pump))
            next_num += numerics_every
        t = t_end
    return out
