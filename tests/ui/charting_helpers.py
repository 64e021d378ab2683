"""Shared set-up for the charting and discharge dialog tests: a real SQLite database, the
bundled protocol, a controllable clock, and a visit with a weight, in a given phase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from nursestation.config import Config
from nursestation.core.clock import FakeClock
from nursestation.core.protocol import load_protocol
from nursestation.core.screening import ScreeningAnswers
from nursestation.db import repo
from nursestation.record import commands as rc
from nursestation.ui.context import AppContext, CurrentUser
from tests.db.helpers import setup_visit
from tests.plugins.db import CHARGE_PIN, NURSE_PIN

PROTOCOL = load_protocol(Path(__file__).resolve().parents[2] / "nursestation" / "resources"
                         / "protocols" / "ketamine-iv.toml")
__all__ = ["BASELINE", "CHARGE_PIN", "NURSE_PIN", "PROTOCOL", "make_ctx", "passing_screening",
           "ready_to_start", "seed_visit", "wait_saved"]

#: A baseline a nurse charts before dosing: its blood pressure is the pre-dose BP the start
#: command asks for (within the protocol's ``predose_bp_within_min``, below its maxima).
BASELINE = {"NBP_SYS": 124, "NBP_DIA": 80, "HR": 72, "SPO2": 98, "RR": 14}


def real_now() -> datetime:
    """Now, to the second: the record refuses times ahead of its own clock, so the fake clock
    starts at the real time and tests move it backwards-looking (seeded history)."""
    return datetime.now(UTC).replace(microsecond=0)


def make_ctx(database, user, clock: FakeClock | None = None) -> AppContext:
    ctx = AppContext(Config(), PROTOCOL, database.engine, database.writer,
                     clock=clock or FakeClock(real_now()))
    ctx.set_user(CurrentUser(user.id, user.username, user.display_name, user.role))
    return ctx


def seed_visit(database, user, *, weight: float = 70.0, allergies: str = "",
               start_ago_min: float | None = None, stop_ago_min: float | None = None,
               now: datetime | None = None):
    """Chairs, a patient (with ``allergies``), a weight and a visit; optionally started
    ``start_ago_min`` and stopped ``stop_ago_min`` minutes before ``now``."""
    w = database.writer
    now = now or real_now()
    patient, chair, visit = setup_visit(database, user)
    if allergies:
        w.submit(repo.update_patient_allergies, patient.id, allergies, "history",
                 user=user).result()
    w.submit(repo.add_weight, patient.id, weight, user=user, visit_id=visit.id).result()
    if start_ago_min is not None:
        t0 = now - timedelta(minutes=start_ago_min)
        w.submit(repo.advance_phase, visit.id, "baseline", user=user,
                 at=t0 - timedelta(minutes=10)).result()
        w.submit(repo.advance_phase, visit.id, "infusing", user=user, at=t0).result()
        if stop_ago_min is not None:
            w.submit(repo.advance_phase, visit.id, "recovery", user=user,
                     at=now - timedelta(minutes=stop_ago_min)).result()
    return patient, chair, visit


def passing_screening(t: datetime) -> ScreeningAnswers:
    """Check-in answers that meet every screening item of the bundled protocol at ``t``."""
    return ScreeningAnswers(last_solids_at=t - timedelta(hours=8),
                            last_clear_liquids_at=t - timedelta(hours=3),
                            denies_recent_alcohol=True,
                            answers={q: True for q in PROTOCOL.screening.questions})


def ready_to_start(database, user, *, now: datetime, weight: float = 70.0,
                   baseline_ago_min: float = 5):
    """A visit the way a nurse gets it ready to dose: checked in (``weight`` and a passing
    screening) through the record's commands 20 min before ``now``, then its baseline vitals
    (with the pre-dose BP) ``baseline_ago_min`` before ``now``. Returns (patient, chair,
    visit); the visit is at baseline, its infusion not started."""
    patient, chair, visit = setup_visit(database, user)
    w = database.writer
    checked = now - timedelta(minutes=20)
    w.submit(rc.check_in, visit.id, user=user.id, protocol=PROTOCOL, weight_kg=weight,
             answers=passing_screening(checked), medications="none", now=checked).result()
    w.submit(rc.record_baseline, visit.id, user=user.id, protocol=PROTOCOL, values=BASELINE,
             now=now - timedelta(minutes=baseline_ago_min)).result()
    return patient, chair, visit


def wait_saved(qtbot, dlg, timeout: int = 5000):
    """Wait until the dialog's command committed and it closed; the main row it wrote (the
    command's ``Changes.entry``)."""
    with qtbot.waitSignal(dlg.saved, timeout=timeout) as blocker:
        dlg.save_button.click()
    return blocker.args[0].entry
