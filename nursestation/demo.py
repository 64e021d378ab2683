"""The demo: simulated devices at the far end of real pseudo-terminals (or loopback TCP), and a
demo database.

Every demo chair gets a simulated Philips IntelliVue monitor, Masimo oximeter and Alaris pump,
each a ``SimulatorHost`` on its own pseudo-terminal — or, on a machine without them (Windows) or
with ``--demo-devices tcp``, listening on ``socket://127.0.0.1:PORT``; the station opens those
with the same link layer and protocol sessions it uses for real devices. The monitors differ as
real ones do (``monitor_options``): another primary ECG lead, a site temperature, a second SpO2
site, monitor INOPs, and each has the chair's patient admitted. Each occupied chair's patient is at a
different point of a typical visit, and the demo database's chart (phase times, pump rate
history, assessments, medication, ride) agrees with what the simulated devices report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from nursestation.config import ChairConfig
from nursestation.db.discharge_inputs import SCALE_CADSS6, SCALE_MOAAS, SCALE_NAUSEA
from nursestation.devices.base import Simulator
from nursestation.devices.registry import PROTOCOLS
from nursestation.devices.simhost import SimulatorHost, ptys_available
from nursestation.sim.scenarios import BASELINE_END, get_scenario

if TYPE_CHECKING:  # the station plans its demo chairs before it opens the database
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: Demo users: (username, display name, role, PIN). The login dialog shows these in demo mode.
#: The PINs follow the default PIN rules (no runs or repeats; a charge nurse's has 6 digits).
DEMO_USERS = (
    ("nurse1", "Alex Rivera, RN", "nurse", "4826"),
    ("nurse2", "Sam Okafor, RN", "nurse", "7391"),
    ("charge1", "Jordan Lee, RN (charge)", "charge", "582604"),
)

#: Demo patients: (MRN, family name, given name, date of birth, allergies, weight kg). Every
#: one has allergies recorded ("NKDA": no known drug allergies), as a clinic records them.
DEMO_PATIENTS = (
    ("100231", "Nguyen", "Linh", "1984-03-12", "NKDA", 62.0),
    ("100232", "Okonkwo", "Chidi", "1979-11-02", "penicillin", 88.0),
    ("100233", "Schmidt", "Hannah", "1991-06-25", "NKDA", 70.5),
    ("100234", "Garcia", "Mateo", "1967-01-30", "sulfa", 95.0),
    ("100235", "Kowalski", "Anna", "1988-09-14", "NKDA", 58.0),
    ("100236", "Haddad", "Omar", "1975-04-08", "latex", 80.0),
)

_MORE_FAMILY = ("Adeyemi", "Berg", "Castillo", "Dubois", "Eriksen", "Fontaine", "Gupta",
                "Hoffmann", "Ivanova", "Jensen", "Kim", "Larsen", "Moreau", "Novak", "Ortiz",
                "Petrov", "Quinn", "Rossi", "Sato", "Tanaka", "Usman", "Varga", "Weber", "Yilmaz")
_MORE_GIVEN = ("Amara", "Ben", "Carla", "Dev", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas",
               "Keiko", "Luca", "Maya", "Nils", "Olga", "Pavel", "Rosa", "Sven", "Tara", "Yusuf")

_M = 60.0
#: Where each occupied demo chair's patient is, as seconds into the ketamine-visit scenario
#: (baseline runs 0-600 s, the infusion starts at 600 s and, with the nurse's rate changes,
#: reaches its 100 mL at 600 s + 49.5 min).
INFUSION_END = BASELINE_END + 49.5 * _M
DEMO_OFFSETS = (
    ("check_in", 90.0),
    ("baseline", 420.0),
    ("infusing", BASELINE_END + 12 * _M),
    ("infusing", BASELINE_END + 36 * _M),
    ("recovery", INFUSION_END + 10 * _M),
    ("recovery", INFUSION_END + 42 * _M),
)


@dataclass(frozen=True)
class DemoChair:
    config: ChairConfig
    occupied: bool
    phase: str | None
    offset: float  # scenario seconds at demo start
    seed: int
    #: another physiology scenario for this chair's devices, started afresh (e.g.
    #: "desaturation", to show a high-priority alarm); "" follows the chair's visit
    scenario: str = ""
    #: the MRN of the chair's patient, which its chart and its simulated monitor share (None:
    #: a free chair)
    mrn: str | None = None


def plan_demo(chairs: tuple[ChairConfig, ...]) -> list[DemoChair]:
    """Which demo chairs are occupied and where their patients are. Every seventh chair is
    left free, so the visit flow can be tried on it."""
    plan = []
    patients = 0
    for i, chair in enumerate(chairs):
        occupied = (i % 7) != 6
        phase, offset = DEMO_OFFSETS[i % 7] if occupied else (None, 0.0)
        plan.append(DemoChair(chair, occupied, phase, offset, seed=i + 1,
                              mrn=demo_mrn(patients) if occupied else None))
        patients += occupied
    return plan


#: The demo's chart is started afresh when a patient would be further into the visit than this.
RESUME_AT_MOST_S = 3 * 3600.0
#: Scenario time zero comes this long after the demo visit's check-in (see seed_demo_database).
CHECKIN_LEAD_S = 12 * 60.0


def resume_plan(session: Session, plan: list[DemoChair], now: datetime
                ) -> list[DemoChair] | None:
    """The plan for a demo database seeded earlier: each occupied chair's scenario resumes
    where its stored visit is now, so the simulated devices and the chart still agree. None when
    the stored demo does not fit (other chairs, visits missing or too old): start afresh."""
    from nursestation.db import repo
    from nursestation.db.models import Patient

    if not repo.list_users(session):
        return plan  # nothing stored yet: seeding follows
    chairs = {c.name: c.id for c in repo.list_chairs(session)}
    if set(chairs) != {dc.config.name for dc in plan}:
        return None
    visits = repo.active_visits(session)
    resumed = []
    for dc in plan:
        if not dc.occupied:
            resumed.append(dc)
            continue
        v = visits.get(chairs[dc.config.name])
        if v is None or v.checkin_at is None:
            return None
        if session.get(Patient, v.patient_id).mrn != dc.mrn:  # type: ignore[union-attr]
            return None  # not the patient the simulated monitor admits (an older demo's MRNs)
        offset = (now - v.checkin_at).total_seconds() - CHECKIN_LEAD_S
        if not 0 <= offset <= RESUME_AT_MOST_S:
            return None
        resumed.append(replace(dc, offset=offset))
    return resumed


def demo_mrn(k: int) -> str:
    """The MRN of the ``k``-th occupied demo chair's patient."""
    return DEMO_PATIENTS[k][0] if k < len(DEMO_PATIENTS) else str(100300 + k)


#: Temperature labels the demo monitors use in turn (Temp, Tcore, Trect, Tskin; the guide's
#: TextIds): a bed whose only temperature is Tcore still shows one.
_DEMO_TEMP_LABELS = (0x00024B48, 0x00024B60, 0x0002E004, 0x00024B74)
_DEMO_LEADS = ("II", "II", "V1", "II", "I", "II", "III")


def monitor_options(i: int, mrn: str | None) -> dict[str, Any]:
    """How the ``i``-th demo chair's monitor is set up: its primary lead, its temperature's
    site, a second SpO2 site on every third chair, INOPs now and then on every fourth, and the
    chair's patient admitted (so the station's patient check passes)."""
    return {
        "ecg_lead": _DEMO_LEADS[i % len(_DEMO_LEADS)],
        "temp_label": _DEMO_TEMP_LABELS[i % len(_DEMO_TEMP_LABELS)],
        "second_spo2": i % 3 == 2,
        "inops": i % 4 == 1,
        "patient_id": mrn,
    }


class DemoDevices:
    """Start one simulator per demo device on a pseudo-terminal (or loopback TCP); give back the
    chairs with the ports' URLs as their device URLs. ``port``: "pty", "tcp" or "auto"
    (pseudo-terminals when the machine has them)."""

    def __init__(self, plan: list[DemoChair], *, port: str = "auto") -> None:
        self.plan = plan
        if port == "auto":
            port = "pty" if ptys_available() else "tcp"
        self.port = "tcp://127.0.0.1:0" if port == "tcp" else port
        self.hosts: dict[str, SimulatorHost] = {}

    def start(self, *, run: bool = True) -> tuple[ChairConfig, ...]:
        """Open every device's port and (``run``) start the devices; ``run=False`` leaves
        them silent until ``run()``: the station shows its window first."""
        from nursestation.devices.intellivue import IntelliVueSimulator

        chairs = []
        for i, dc in enumerate(self.plan):
            scenario_name = dc.scenario or ("ketamine-visit" if dc.occupied else "steady")
            # one patient per chair: its devices share the scenario (pure functions of time;
            # building it is most of a demo chair's start-up)
            scenario = get_scenario(scenario_name, dc.seed,
                                    offset=0.0 if dc.scenario else dc.offset)
            devices = []
            for dev in dc.config.devices:
                sim: Simulator
                if dev.protocol == "intellivue":
                    sim = IntelliVueSimulator(scenario, **monitor_options(i, dc.mrn))
                else:
                    sim = PROTOCOLS[dev.protocol].make_simulator(scenario)
                host = SimulatorHost(sim, self.port).open()
                if run:
                    host.start()
                self.hosts[dev.id] = host
                devices.append(replace(dev, url=host.url))
            chairs.append(replace(dc.config, devices=tuple(devices)))
        log.info("demo: %d simulated devices on %s", len(self.hosts),
                 "pseudo-terminals" if self.port == "pty" else "loopback TCP")
        return tuple(chairs)

    def run(self) -> None:
        """Start the devices that ``start(run=False)`` left silent."""
        for host in list(self.hosts.values()):
            if not host.started:
                host.start()

    def stop(self) -> None:
        for host in self.hosts.values():
            host.stop()
        self.hosts.clear()


def seed_demo_database(session: Session, plan: list[DemoChair], protocol: Any,
                       now: datetime) -> int:
    """Fill an empty demo database (run inside one writer transaction). Returns the number of
    visits created; does nothing when users already exist."""
    from nursestation.db import repo

    if repo.list_users(session):
        return 0
    users = [repo.create_user(session, u, name, role, pin) for u, name, role, pin in DEMO_USERS]
    nurse, charge = users[0], users[2]
    repo.sync_chairs(session, [dc.config for dc in plan], user=charge)
    session.flush()

    visits = 0
    occupied = [dc for dc in plan if dc.occupied]
    for k, dc in enumerate(occupied):
        _, family, given, dob, allergies, kg = DEMO_PATIENTS[k % len(DEMO_PATIENTS)]
        mrn = dc.mrn
        if k >= len(DEMO_PATIENTS):  # more chairs than the six named patients
            family = _MORE_FAMILY[k % len(_MORE_FAMILY)]
            given = _MORE_GIVEN[(k * 7) % len(_MORE_GIVEN)]
            kg = 55.0 + (k * 13) % 45
        patient = repo.create_patient(
            session, mrn, family, given, datetime.fromisoformat(dob).date(), allergies,
            user=nurse)
        session.flush()
        # Earlier visits of the course, so returning patients show "visit N of 6".
        t0 = now - timedelta(seconds=dc.offset)  # scenario time 0
        repo.add_weight(session, patient.id, kg, user=nurse,
                        measured_at=t0 - timedelta(minutes=15))
        chair = repo.chair_by_name(session, dc.config.name)
        visit = repo.create_visit(
            session, patient.id, chair.id, protocol.name, user=nurse,
            protocol_version=protocol.version, protocol_hash=protocol.sha256,
            at=t0 - timedelta(seconds=CHECKIN_LEAD_S))
        session.flush()
        _chart_demo_visit(session, repo, visit.id, dc.offset, t0, kg, protocol, nurse, k)
        _backfill_vitals(session, dc, chair.id, visit.id, t0)
        visits += 1
    return visits


def _chart_demo_visit(session: Session, repo: Any, visit_id: int, offset: float,
                      t0: datetime, kg: float, protocol: Any, nurse: Any, k: int) -> None:
    """Chart what the scenario's nurse did up to ``offset`` seconds into the visit."""

    def at(s: float) -> datetime:
        return t0 + timedelta(seconds=s)

    def past(s: float) -> bool:
        return s <= offset

    solids = at(-9 * 3600)
    repo.save_screening(session, visit_id, {
        "last_solids_at": solids.isoformat(), "last_clear_liquids_at": at(-3 * 3600).isoformat(),
        "alcohol_last_24h": False, "current_medications": "sertraline 100 mg daily",
        "consent": True, "ride_arranged": True}, user=nurse, passed=True, at=at(-10 * _M))
    if past(300.0):
        repo.advance_phase(session, visit_id, "baseline", user=nurse, at=at(330.0))
        repo.record_assessment(session, visit_id, SCALE_CADSS6, {f"item{i}": 0 for i in range(1, 7)},
                               0, user=nurse, note="baseline", at=at(340.0))
    conc = protocol.dosing.dose_mg_per_kg * kg / protocol.dosing.bag_volume_ml
    s0 = BASELINE_END

    def mgkgh(rate: float) -> float:
        return round(rate * conc / kg, 3)

    if past(s0):
        repo.advance_phase(session, visit_id, "infusing", user=nurse, at=at(s0))
        repo.record_infusion_event(session, visit_id, "start", user=nurse, rate_ml_h=150.0,
                                   dose_mg_kg_h=mgkgh(150.0), concentration_mg_ml=conc,
                                   at=at(s0))
    if k % 2 == 1 and past(s0 + 5 * _M):
        repo.record_medication(session, visit_id, "ondansetron", 4.0, "mg", "IV", user=nurse,
                               given_at=at(s0 + 5 * _M), site="left antecubital",
                               indication="nausea")
    if past(s0 + 20 * _M):
        repo.record_assessment(session, visit_id, SCALE_CADSS6,
                               {"item1": 2, "item2": 2, "item3": 1, "item4": 1, "item5": 1,
                                "item6": 1}, 8, user=nurse,
                               note="floating, calm; reassured", at=at(s0 + 20 * _M))
        repo.record_assessment(session, visit_id, SCALE_MOAAS, {"score": 4}, 4, user=nurse,
                               at=at(s0 + 20 * _M + 30))
    if past(s0 + 25 * _M):
        repo.record_infusion_event(session, visit_id, "rate_change", user=nurse,
                                   rate_ml_h=100.0, dose_mg_kg_h=mgkgh(100.0),
                                   concentration_mg_ml=conc, reason_code="BP rise",
                                   at=at(s0 + 25 * _M))
    if past(s0 + 30 * _M):
        repo.record_infusion_event(session, visit_id, "pause", user=nurse,
                                   reason_code="dissociation distressing",
                                   reason_text="patient anxious, reoriented",
                                   at=at(s0 + 30 * _M))
    if past(s0 + 32 * _M):
        repo.record_infusion_event(session, visit_id, "resume", user=nurse, rate_ml_h=100.0,
                                   dose_mg_kg_h=mgkgh(100.0), concentration_mg_ml=conc,
                                   at=at(s0 + 32 * _M))
    if past(INFUSION_END):
        repo.record_infusion_event(session, visit_id, "stop", user=nurse,
                                   reason_code="other", reason_text="infusion complete",
                                   at=at(INFUSION_END))
        repo.advance_phase(session, visit_id, "recovery", user=nurse, at=at(INFUSION_END))
        repo.save_ride(session, visit_id, user=nurse, kind="driver", driver_name="Chris Nguyen",
                       relationship="spouse", phone="555-0142",
                       expected_arrival=at(INFUSION_END + 45 * _M))
    if past(INFUSION_END + 30 * _M):
        repo.record_assessment(session, visit_id, SCALE_CADSS6, {f"item{i}": 0 for i in range(1, 7)},
                               0, user=nurse, note="back to baseline",
                               at=at(INFUSION_END + 30 * _M))
        repo.record_assessment(session, visit_id, SCALE_MOAAS, {"score": 5}, 5, user=nurse,
                               at=at(INFUSION_END + 30 * _M))
        repo.record_assessment(session, visit_id, SCALE_NAUSEA, {"level": "none"}, 0, user=nurse,
                               at=at(INFUSION_END + 30 * _M))


#: Seconds between the backfilled samples of the part of a demo visit before the demo started.
BACKFILL_STEP_S = 10.0


def _backfill_vitals(session: Session, dc: DemoChair, chair_id: int, visit_id: int,
                     t0: datetime) -> None:
    """Record what the chair's devices would have sent before the demo started, from the same
    scenario the simulators run, so the trend and the summary cover the whole visit."""
    from nursestation.core.vocabulary import UNITS
    from nursestation.db.models import Vital
    from nursestation.db.writer import store_rows, upsert_latest

    scenario = get_scenario("ketamine-visit", dc.seed)
    dev = {d.protocol: d.id for d in dc.config.devices}
    rows: list[dict[str, Any]] = []
    seen_nbp: set[float] = set()

    def add(device: str, code: str, value: float | None, when: datetime) -> None:
        if value is None:
            return
        rows.append({"chair_id": chair_id, "visit_id": visit_id, "device_key": device,
                     "code": code, "value": float(value), "text": None, "unit": UNITS[code],
                     "quality": "", "source_time": None, "recv_time": when})

    t = 0.0
    while t < dc.offset:
        st = scenario.state(t)
        when = t0 + timedelta(seconds=t)
        for code, value in (("HR", st.hr), ("RR", st.rr), ("ETCO2", st.etco2)):
            add(dev.get("intellivue", ""), code, value, when)
        for code, value in (("SPO2", st.spo2), ("PR", st.pr), ("PI", st.pi)):
            add(dev.get("masimo", ""), code, value, when)
        for code, value in (("PUMP_RATE", st.pump_rate), ("PUMP_VI", st.pump_vi)):
            add(dev.get("alaris", ""), code, value, when)
        if st.nbp_time is not None and st.nbp_time not in seen_nbp:
            seen_nbp.add(st.nbp_time)
            nbp_at = t0 + timedelta(seconds=st.nbp_time)
            for code, value in (("NBP_SYS", st.nbp_sys), ("NBP_DIA", st.nbp_dia),
                                ("NBP_MEAN", st.nbp_mean)):
                add(dev.get("intellivue", ""), code, value, nbp_at)
        t += BACKFILL_STEP_S
    if rows:
        store_rows(session, Vital, rows, at=datetime.now(UTC))
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:  # in time order per code
            latest[row["code"]] = row
        upsert_latest(session, list(latest.values()))
