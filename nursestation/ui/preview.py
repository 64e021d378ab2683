"""Render the station and the chair detail from scenario readings, without devices or database.

For screenshots of the live widgets and a quick look at layouts::

    QT_QPA_PLATFORM=offscreen python -m nursestation.ui.preview station --chairs 32 --out s.png
    QT_QPA_PLATFORM=offscreen python -m nursestation.ui.preview detail --out detail.png

(``nursestation --demo --screenshot`` is the real thing: simulators, link layer, database.)
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

import numpy as np

from nursestation.core.clock import FakeClock
from nursestation.core.livestate import LiveStore
from nursestation.core.readings import Reading
from nursestation.core.vocabulary import Code
from nursestation.sim.readings import scenario_readings
from nursestation.sim.scenarios import BASELINE_END, get_scenario

PATIENTS = ["Jane Doe", "Robert Miles", "Ana Lucia Pereira", "Tom Baker", "Grace Ng",
            "Omar Haddad", "Lily Evans", "Mark Chen", "Sofia Rossi", "David Kim"]


def station_fixture(n: int, clock: FakeClock):
    """A store fed with 12 s of readings for ``n`` chairs at different points of their visits,
    the tile contexts and alarms to go with them."""
    from nursestation.ui.tiles import AlarmSummary, TileContext

    store = LiveStore(clock)
    names = [f"Chair {i}" for i in range(1, n + 1)]
    contexts, alarms = {}, {}
    now = clock.now()
    for i, name in enumerate(names):
        t_visit = 300.0 + (i * 419.0) % 6000.0  # where this chair is in its visit (s)
        mon, pump = f"{name}/monitor", f"{name}/pump"
        store.register_chair(name, {mon: "Monitor", pump: "Pump"})
        sc = get_scenario("ketamine-visit", seed=i + 1)
        store.ingest(scenario_readings(sc, name, t_visit - 12, t_visit,
                                       mono0=clock.monotonic() - 12,
                                       wall0=now - timedelta(seconds=12), monitor=mon,
                                       pump=pump))
        if t_visit < BASELINE_END:
            phase, started, inf = "baseline", 0.0, None
        elif t_visit < BASELINE_END + 2400:
            phase, started, inf = "infusing", BASELINE_END, BASELINE_END
        else:
            phase, started, inf = "recovery", BASELINE_END + 2400, BASELINE_END

        def ago(t: float, t_visit: float = t_visit) -> datetime:
            return now - timedelta(seconds=t_visit - t)

        pending = ()
        if i % 7 == 2:
            pending = ("BP check overdue",)
        elif i % 11 == 5:
            pending = ("pump change to confirm",)
        contexts[name] = TileContext(
            patient_name=PATIENTS[i % len(PATIENTS)], mrn=f"{100200 + 17 * i}", phase=phase,
            phase_started=ago(started), infusion_started=ago(inf) if inf is not None else None,
            infusion_ended=ago(BASELINE_END + 2400) if phase == "recovery" else None,
            course=f"{i % 6 + 1} of 6", pending=pending,
            assessments="MOAA/S 5 · CADSS 8" if phase == "recovery" else "")
    if n >= 2:
        alarms[names[1]] = AlarmSummary("high", "SpO2 86 < 90")
    if n >= 5:
        alarms[names[4]] = AlarmSummary("low", "Pump: near end of infusion")
    if n >= 6:
        alarms[names[-1]] = AlarmSummary("medium", "NBP 168/102 > 160/100")
    if n >= 3:  # one monitor unplugged 40 s ago
        store.ingest([Reading(Code.DEVICE_OFFLINE, "no data for 5 s", chair=names[2],
                              device_id=f"{names[2]}/monitor",
                              recv_mono=clock.monotonic() - 40, extra={"health": "offline"})])
    return store, names, contexts, alarms


def station_view(n: int, clock: FakeClock, size=(1920, 1080)):
    """A shown ``StationView`` of ``n`` chairs over :func:`station_fixture`; (store, view)."""
    from nursestation.ui.station import StationView

    store, names, contexts, alarms = station_fixture(n, clock)
    view = StationView(store, names, clock=clock)
    view.set_contexts(contexts)
    view.set_alarms(alarms)
    view.resize(*size)
    view.show()
    return store, view


def render_station(n: int, out: str, size=(1920, 1080)) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    clock = FakeClock()
    store, view = station_view(n, clock, size)
    for _ in range(3):
        app.processEvents()
        view.refresh(store, clock.monotonic())
    view.grab().save(out)
    view.close()


def detail_fixture(clock: FakeClock, t_now: float = 3700.0):
    """A chair in early recovery: 5 min live, the rest of the visit from a fake history."""
    from nursestation.ui.tiles import AlarmSummary, TileContext
    from nursestation.ui.trend import TrendEvent

    store = LiveStore(clock)
    sc = get_scenario("ketamine-visit", seed=4)
    now = clock.now()

    def wall(t: float) -> datetime:
        return now - timedelta(seconds=t_now - t)

    chair = "Chair 3"
    store.register_chair(chair, {"mon": "Monitor", "pump": "Pump"})
    store.ingest(scenario_readings(sc, chair, t_now - 300, t_now, mono0=clock.monotonic() - 300,
                                   wall0=wall(t_now - 300), monitor="mon", pump="pump"))
    e0 = wall(0).timestamp()

    def history(_source, t0: float, t1: float):
        ts = np.arange(max(t0, e0), t1, 5.0)
        out: dict[str, tuple[list, list]] = {k: ([], []) for k in (
            Code.HR, Code.SPO2, Code.RR, Code.ETCO2, Code.NBP_SYS, Code.NBP_DIA, Code.NBP_MEAN)}
        seen = set()
        for e in ts:
            s = sc.state(e - e0)
            for k, v in ((Code.HR, s.hr), (Code.SPO2, s.spo2), (Code.RR, s.rr),
                         (Code.ETCO2, s.etco2)):
                out[k][0].append(e)
                out[k][1].append(np.nan if v is None else v)
            if s.nbp_time is not None and s.nbp_time not in seen:
                seen.add(s.nbp_time)
                for k, v in ((Code.NBP_SYS, s.nbp_sys), (Code.NBP_DIA, s.nbp_dia),
                             (Code.NBP_MEAN, s.nbp_mean)):
                    out[k][0].append(e0 + s.nbp_time)
                    out[k][1].append(v)
        return {k: (np.array(a, float), np.array(b, float)) for k, (a, b) in out.items()}

    ctx = TileContext(
        patient_name="Ana Lucia Pereira", mrn="100234", phase="recovery",
        phase_started=wall(3000), infusion_started=wall(600), infusion_ended=wall(3000),
        course="3 of 6", alarm=AlarmSummary("medium", "NBP 141/92 above baseline +15"),
        pending=("BP check due in 2 min",), assessments="MOAA/S 5 · CADSS 6")
    events = [
        TrendEvent(wall(600), "dose", "Infusion started 150 mL/h",
                   "Ketamine 40 mg in 100 mL over 40 min (0.5 mg/kg, 80 kg). RN K. Lee"),
        TrendEvent(wall(900), "medication", "Ondansetron 4 mg IV",
                   "Nausea 2/10. Given over 2 min. RN K. Lee"),
        TrendEvent(wall(1800), "alarm", "SpO2 89 < 90 (15 s)",
                   "Medium. Prompted to breathe deeply; recovered in 2 min."),
        TrendEvent(wall(1900), "assessment", "MOAA/S 4 · CADSS 18", "Dissociation moderate."),
        TrendEvent(wall(2100), "dose", "Rate 150 → 100 mL/h", "BP 139/90 rising. RN K. Lee"),
        TrendEvent(wall(2400), "dose", "Paused", "Distressing dissociation; reassured."),
        TrendEvent(wall(2520), "dose", "Resumed 100 mL/h", ""),
        TrendEvent(wall(2700), "note", "Calm, eyes closed", ""),
        TrendEvent(wall(3300), "assessment", "MOAA/S 5 · CADSS 6", ""),
    ]
    return store, chair, history, wall(0), ctx, events


def render_detail(out: str, size=(1920, 1080)) -> None:
    from PySide6.QtWidgets import QApplication

    from nursestation.ui.detail import ChairDetail

    app = QApplication.instance() or QApplication([])
    clock = FakeClock()
    store, chair, history, start, ctx, events = detail_fixture(clock)
    d = ChairDetail(chair, clock=clock, history=history, source="visit", visit_start=start)
    d.set_context(ctx)
    d.set_events(events)
    d.resize(*size)
    d.show()
    for _ in range(3):
        app.processEvents()
        d.refresh(store, clock.monotonic())
    d.trend.show_whole_visit()
    d.trend.select_event(events[4])
    app.processEvents()
    d.grab().save(out)
    d.close()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m nursestation.ui.preview")
    p.add_argument("what", choices=["station", "detail"])
    p.add_argument("--chairs", type=int, default=6)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.what == "station":
        render_station(args.chairs, args.out)
    else:
        render_detail(args.out)


if __name__ == "__main__":
    main()
