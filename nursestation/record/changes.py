"""What a command changed, so views refresh only that (Anki's ``OpChanges``).

A command returns one :class:`Changes`: the visit and chair it touched, the kinds of entries it
wrote (``INFUSION``, ``MEDICATION``, …), references to the rows, the visit's phase afterwards and
the flags the nurse should see (a late entry, a limit confirmed). ``entry`` is the main row
written, detached from its session, for a confirmation text; views read the visit read model,
not this row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VISIT = "visit"
PATIENT = "patient"
WEIGHT = "weight"
SCREENING = "screening"
BASELINE = "baseline"
INFUSION = "infusion"
MEDICATION = "medication"
ASSESSMENT = "assessment"
NOTE = "note"
AMENDMENT = "amendment"
RIDE = "ride"
DISCHARGE = "discharge"
PUMP_CHANGE = "pump_change"
ALARM = "alarm"

KINDS = (VISIT, PATIENT, WEIGHT, SCREENING, BASELINE, INFUSION, MEDICATION, ASSESSMENT, NOTE,
         AMENDMENT, RIDE, DISCHARGE, PUMP_CHANGE, ALARM)


@dataclass(frozen=True)
class EntryRef:
    """A row written: its table and id."""

    table: str
    id: int


@dataclass(frozen=True)
class Changes:
    visit_id: int | None = None
    chair_id: int | None = None
    kinds: frozenset[str] = frozenset()
    entries: tuple[EntryRef, ...] = ()
    #: the visit's phase after the command (when it has a visit)
    phase: str | None = None
    #: what the nurse should be told besides "saved" (late entry, limit confirmed, ...)
    flags: tuple[str, ...] = ()
    entry: Any = field(default=None, compare=False, repr=False)

    def touches(self, *kinds: str) -> bool:
        return bool(self.kinds.intersection(kinds))

    @property
    def what(self) -> str:
        """One word for logs and the coarse ``changed`` signal: the first kind, in KINDS order."""
        return next((k for k in KINDS if k in self.kinds), "entry")


def changes(visit: Any | None, kinds: tuple[str, ...] | str, rows: Any = (), *,
            flags: tuple[str, ...] = (), entry: Any = None) -> Changes:
    """A :class:`Changes` for ``visit`` (a Visit row or None) and the rows written."""
    if isinstance(kinds, str):
        kinds = (kinds,)
    if not isinstance(rows, list | tuple):
        rows = (rows,)
    refs = tuple(EntryRef(r.__tablename__, r.id) for r in rows if r is not None)
    first = rows[0] if rows else None
    return Changes(visit_id=visit.id if visit is not None else None,
                   chair_id=visit.chair_id if visit is not None else None,
                   kinds=frozenset(kinds), entries=refs,
                   phase=visit.phase if visit is not None else None, flags=tuple(flags),
                   entry=entry if entry is not None else first)


__all__ = [
    "ALARM", "AMENDMENT", "ASSESSMENT", "BASELINE", "DISCHARGE", "INFUSION", "KINDS",
    "MEDICATION", "NOTE", "PATIENT", "PUMP_CHANGE", "RIDE", "SCREENING", "VISIT", "WEIGHT",
    "Changes", "EntryRef", "changes",
]
