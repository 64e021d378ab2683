"""Seed a complete 3-hour visit through the db's repository functions and its writer.

The visit happened in the past; a stepping clock stands in for "now" at each write so that
entries are charted when they happened (not all flagged as late entries).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from nursestation.config import ChairConfig
from nursestation.core.readings import Reading
from nursestation.db import repo
from nursestation.db.models import MedicationAdministration
from nursestation.db.writer import Database


def seed_visit(url: str, monkeypatch) -> int:
    t0 = (datetime.now(UTC) - timedelta(hours=6)).replace(microsecond=0)
    clock = {"now": t0}
    real_now = repo._now

    def fake_now(at=None):
        return real_now(at) if at is not None else clock["now"]

    monkeypatch.setattr(repo, "_now", fake_now)

    def at(minutes: float) -> datetime:
        clock["now"] = t0 + timedelta(minutes=minutes, seconds=20)
        return t0 + timedelta(minutes=minutes)

    db = Database.open(url, flush_interval=3600)
    try:
        w = db.writer

        def run(fn, *a, **kw):
            return w.submit(fn, *a, **kw).result(timeout=30)

        run(repo.sync_chairs, [ChairConfig(name="Chair 2")])
        nurse = run(repo.create_user, "dwhit", "Dana Whitfield", "nurse", "4826")
        charge = run(repo.create_user, "praman", "Priya Raman", "charge", "582604")
        with db.session_scope() as s:
            chair = repo.chair_by_name(s, "Chair 2")
        at(-60)
        patient = run(repo.create_patient, "MRN-77120", "Okafor", "Grace", date(1979, 8, 14),
                      "sulfa (hives)", user=nurse)
        visit = run(repo.create_visit, patient.id, chair.id, "Ketamine IV 0.5 mg/kg over 40 min",
                    user=nurse, protocol_version="2026.1", at=at(0))
        vid = visit.id
        run(repo.add_weight, patient.id, 80.0, user=nurse, measured_at=at(1), visit_id=vid)
        run(repo.save_screening, vid, {"last_solids_at": (t0 - timedelta(hours=7)).isoformat(),
                                       "alcohol_24h": False, "consent": True,
                                       "medications": "escitalopram 10 mg"},
            user=nurse, passed=True, at=at(2))
        run(repo.save_ride, vid, user=nurse, driver_name="Ben Okafor", relationship="brother",
            phone="555-0199")

        # vitals for 3 hours through the writer's readings path (attached to the active visit)
        rnd = random.Random(3)
        readings = []
        for s in range(0, 3 * 3600, 5):
            wall = t0 + timedelta(seconds=s)
            readings.append(Reading("HR", 70 + rnd.gauss(0, 2), "bpm", chair="Chair 2",
                                    recv_wall=wall))
            readings.append(Reading("SPO2", 98 + rnd.gauss(0, 0.5), "%", chair="Chair 2",
                                    recv_wall=wall))
            readings.append(Reading("RR", 14 + rnd.gauss(0, 1), "/min", chair="Chair 2",
                                    recv_wall=wall))
        for mnt in (15, 30, 40, 50, 60, 65, 80, 95, 110, 125, 140, 155, 170):
            wall = t0 + timedelta(minutes=mnt)
            readings.append(Reading("NBP_SYS", 124 + (14 if 20 < mnt < 70 else 0), "mmHg",
                                    chair="Chair 2", recv_wall=wall))
            readings.append(Reading("NBP_DIA", 80 + (8 if 20 < mnt < 70 else 0), "mmHg",
                                    chair="Chair 2", recv_wall=wall))
        readings.append(Reading("PUMP_VI", 100.0, "mL", chair="Chair 2",
                                recv_wall=t0 + timedelta(minutes=66)))
        w.record_readings(readings)
        w.flush().result(timeout=60)

        run(repo.advance_phase, vid, "baseline", user=nurse, at=at(16))
        run(repo.record_assessment, vid, "CADSS6", {"item1": 0, "item2": 0}, 0, user=nurse,
            at=at(17))
        run(repo.advance_phase, vid, "infusing", user=nurse, at=at(20))
        run(repo.record_infusion_event, vid, "start", user=nurse, rate_ml_h=150,
            concentration_mg_ml=0.4, reason_code="protocol start", at=at(20))
        run(repo.record_infusion_event, vid, "rate_change", user=nurse, rate_ml_h=100,
            reason_code="dissociation distressing", at=at(36))
        med = run(repo.record_medication, vid, "ondansetron", 4, "mg", "ODT", user=nurse,
                  given_at=at(45), site="", indication="nausea")
        at(48)
        med2 = run(repo.amend, med.id, {"route": "IV", "site": "R forearm IV"},
                   "route charted wrongly; given IV push", user=nurse,
                   model=MedicationAdministration)
        at(60)
        run(repo.record_medication_response, med2.id, "nausea resolved", user=nurse, at=at(60))
        run(repo.record_assessment, vid, "MOAAS", {}, 4, user=nurse, note="drowsy, rousable",
            at=at(40))
        run(repo.record_infusion_event, vid, "stop", user=nurse, at=at(66))
        run(repo.advance_phase, vid, "recovery", user=nurse, at=at(66))
        run(repo.record_alarm_event, chair.id, "SPO2-low-high", "SPO2", "high", "raised",
            message="SpO2 < 90 % for 15 s", visit_id=vid, at=at(50))
        run(repo.record_alarm_event, chair.id, "SPO2-low-high", "SPO2", "high", "acknowledged",
            visit_id=vid, user=nurse, at=at(50.5))
        run(repo.record_alarm_event, chair.id, "SPO2-low-high", "SPO2", "high", "cleared",
            visit_id=vid, at=at(51))
        run(repo.add_note, vid, "Tolerated well after the rate was lowered.", user=nurse,
            at=at(70))
        run(repo.record_assessment, vid, "MOAAS", {}, 5, user=nurse, at=at(150))
        run(repo.record_assessment, vid, "CADSS6", {"item1": 0, "item2": 0}, 0, user=nurse,
            at=at(150))
        with db.session_scope() as s:
            ride = repo.visit_record(s, vid).ride
        run(repo.confirm_ride, ride.id, "arrival", user=nurse, at=at(170))
        criteria = [{"name": "Observation after infusion end >= 30 min", "met": True,
                     "detail": "109 min"},
                    {"name": "Vitals within 20 % of baseline", "met": False,
                     "detail": "SBP 152 vs 124 (+23 %)"}]
        run(repo.record_discharge, vid, criteria, False, user=nurse, instructions_given=True,
            override_by=charge, override_reason="usual BP for this patient; asymptomatic",
            at=at(175))
        return vid
    finally:
        db.close()
        monkeypatch.setattr(repo, "_now", real_now)
