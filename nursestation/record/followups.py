"""What the visit's doses still ask of the nurse: each PRN dose's response and each sedative's
sedation check (``core.medications.follow_ups``), read from the record for the tile, the chair
detail, the overview and the medication form. One rule, asked by every view.

No Qt. Reads on the caller's session.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from nursestation.core.medications import Administered, FollowUp, follow_ups
from nursestation.core.protocol import TreatmentProtocol
from nursestation.db import repo
from nursestation.db.discharge_inputs import SCALE_MOAAS
from nursestation.db.models import Assessment
from nursestation.record.visit import VisitView, read_visit


def visit_follow_ups(view: VisitView, assessments: Iterable[Assessment],
                     protocol: TreatmentProtocol, now: datetime) -> tuple[FollowUp, ...]:
    """The follow-ups of the visit's doses (voided doses left out), as of ``now``."""
    given = [Administered(m.drug, m.at, bool(m.response), m.id) for m in view.medications]
    moaas = [a.at for a in assessments
             if a.scale == SCALE_MOAAS and not a.voided and a.score is not None]
    return follow_ups(protocol.formulary, given, moaas, now,
                      overdue_after_min=protocol.schedule.overdue_after_min)


def read_follow_ups(session: Session, visit_id: int, protocol: TreatmentProtocol,
                    now: datetime) -> tuple[FollowUp, ...]:
    view = read_visit(session, visit_id, protocol, now)
    return visit_follow_ups(view, repo.current_entries(session, Assessment, visit_id),
                            protocol, now)


__all__ = ["read_follow_ups", "visit_follow_ups"]
