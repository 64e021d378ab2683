"""Small reads the visit-flow forms need before the visit read model has them: a patient
search with the course number, and the facts of a visit a step's header shows. Qt-free, so the
forms never touch the ORM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from nursestation.db import repo
from nursestation.db.models import Chair, Patient, Screening


@dataclass(frozen=True)
class PatientChoice:
    id: int
    mrn: str
    name: str
    date_of_birth: date | None
    allergies: str
    next_course: int
    active_chair: str | None  # the chair of the patient's active visit, if any


def patient_choices(session: Session, text: str) -> list[PatientChoice]:
    out = []
    for p in repo.search_patients(session, text, limit=30):
        visits = repo.patient_visits(session, p.id)
        done = [v for v in visits if v.phase != "cancelled"]
        active = next((v for v in visits if v.active), None)
        chair = session.get(Chair, active.chair_id) if active is not None else None
        out.append(PatientChoice(p.id, p.mrn, f"{p.family_name.upper()}, {p.given_name}",
                                 p.date_of_birth, p.allergies, len(done) + 1,
                                 chair.name if chair else None))
    return out


@dataclass(frozen=True)
class VisitInfo:
    visit_id: int
    patient_id: int
    chair_id: int
    chair: str
    mrn: str
    patient: str
    allergies: str
    course_number: int
    phase: str
    weight_kg: float | None
    weight_at: datetime | None
    weight_this_visit: bool
    infusion_start_at: datetime | None
    screened: bool


def visit_info(session: Session, visit_id: int) -> VisitInfo:
    v = repo.get_visit(session, visit_id)
    if v is None:
        raise LookupError(f"no visit #{visit_id}")
    p = session.get(Patient, v.patient_id)
    c = session.get(Chair, v.chair_id)
    assert p is not None and c is not None  # foreign keys
    w = repo.latest_weight(session, p.id)
    screened = bool(repo.current_entries(session, Screening, v.id))
    return VisitInfo(v.id, p.id, c.id, c.name, p.mrn, p.full_name, p.allergies,
                     v.course_number, v.phase, w.weight_kg if w else None,
                     w.measured_at if w else None, bool(w and w.visit_id == v.id),
                     v.infusion_start_at, screened)


def active_visit_info(session: Session, chair_id: int) -> VisitInfo | None:
    v = repo.active_visit_for_chair(session, chair_id)
    return visit_info(session, v.id) if v is not None else None


def chair_name(session: Session, chair_id: int) -> str | None:
    c = session.get(Chair, chair_id)
    return c.name if c is not None else None


__all__ = ["PatientChoice", "VisitInfo", "active_visit_info", "chair_name", "patient_choices",
           "visit_info"]
