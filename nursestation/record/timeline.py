"""What was charted during a visit, as markers on its trend (no Qt).

``visit_timeline(session, visit_id)`` reads the current version of every infusion event,
medication, assessment and note, and every raised alarm, and says each in words: a short label for
the marker and the full detail (who, why, values) for its tooltip. The detail view draws them; the
words are made here once, so the trend and any other timeline say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from nursestation.core.alarms import PRIORITY_MARK
from nursestation.core.vocabulary import display_name, scale_name
from nursestation.db import repo
from nursestation.db.models import Assessment, InfusionEvent, MedicationAdministration, Note
from nursestation.record.history import Users


@dataclass(frozen=True)
class TimelineEntry:
    """One charted thing at *time* (UTC): kind "dose", "medication", "assessment", "note" or
    "alarm"; *label* short ("rate change 100 mL/h"), *detail* full (values, reason, who)."""

    time: datetime
    kind: str
    label: str
    detail: str = ""


def visit_timeline(session: Session, visit_id: int) -> list[TimelineEntry]:
    users = Users(session)
    out: list[TimelineEntry] = []
    for e in repo.current_entries(session, InfusionEvent, visit_id):
        rate = f" {e.rate_ml_h:g} mL/h" if e.rate_ml_h is not None else ""
        why = f" — {e.reason_code}" if e.reason_code else ""
        out.append(TimelineEntry(e.at, "dose", f"{e.kind.replace('_', ' ')}{rate}",
                                 f"{e.kind.replace('_', ' ')}{rate}{why} {e.reason_text} "
                                 f"by {users.name(e.recorded_by_id) or '?'}".strip()))
    for m in repo.current_entries(session, MedicationAdministration, visit_id):
        out.append(TimelineEntry(m.at, "medication", f"{m.drug} {m.dose:g} {m.unit}",
                                 f"{m.drug} {m.dose:g} {m.unit} {m.route} ({m.indication}) "
                                 f"by {users.name(m.recorded_by_id) or '?'}"))
    for a in repo.current_entries(session, Assessment, visit_id):
        score = f" {a.score:g}" if a.score is not None else ""
        out.append(TimelineEntry(a.at, "assessment", f"{scale_name(a.scale)}{score}",
                                 f"{scale_name(a.scale)}{score} {a.note} "
                                 f"by {users.name(a.recorded_by_id) or '?'}".strip()))
    for n in repo.current_entries(session, Note, visit_id):
        out.append(TimelineEntry(n.at, "note", "note", n.text))
    for ev in repo.alarm_events(session, visit_id=visit_id):
        if ev.state == "raised":
            out.append(TimelineEntry(ev.at, "alarm",
                                     f"{PRIORITY_MARK.get(ev.priority, '')} "
                                     f"{display_name(ev.code)}", ev.message))
    return out
