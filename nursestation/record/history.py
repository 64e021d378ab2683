"""The one amendment-history walker: every version of a clinical entry, original first.

A clinical entry is never edited: a correction is a new row whose ``amends_id`` names the row it
replaces (``root_id`` the chain's first row). The history view, the amend dialog, the printed
summary (its struck-through originals and its signatures) and the pump-change dialog all read a
chain here, walked one way: from the original along the ``amends_id`` links. Before this module
there were three walkers (by id in ``db.repo``, by links in two places of the charting UI, by
pairs in the report) that could disagree on a chain whose ids did not follow its links.

``Step`` says what one amendment did: which fields changed, and whether it *completed* the entry
(a medication's response, a ride's confirmation: part of the normal workflow, not a correction)
or voided it ("entered in error").

No Qt. Reads on the caller's session.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nursestation.db import repo
from nursestation.db.models import (
    CLINICAL_MODELS,
    ClinicalEntry,
    MedicationAdministration,
    RideArrangement,
    User,
)

E = TypeVar("E", bound=ClinicalEntry)

#: Fields whose change completes an entry rather than correcting it.
FOLLOW_UP: dict[type[ClinicalEntry], frozenset[str]] = {
    MedicationAdministration: frozenset({"response", "response_at"}),
    RideArrangement: frozenset({"confirmation_method", "confirmed_by_id", "confirmed_at"}),
}
#: Columns every version has its own value of (not a change of the entry).
_BOOKKEEPING = frozenset({"id", "at", "recorded_at", "recorded_by_id", "amends_id", "root_id",
                          "amend_reason", "visit_id"})


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def changed_fields(old: ClinicalEntry, new: ClinicalEntry) -> frozenset[str]:
    """The columns an amendment changed (clinical time included, compared as UTC)."""
    cols = {a.key for a in type(old).__mapper__.column_attrs} - _BOOKKEEPING
    out = {c for c in cols if getattr(old, c) != getattr(new, c)}
    if _utc(old.at) != _utc(new.at):
        out.add("at")
    return frozenset(out)


@dataclass(frozen=True)
class Step(Generic[E]):
    """One amendment: ``before`` → ``after``."""

    before: E
    after: E
    fields: frozenset[str]

    @property
    def completion(self) -> bool:
        """Only follow-up fields changed (a response, a confirmation): not a correction."""
        follow = FOLLOW_UP.get(type(self.after), frozenset())
        return bool(self.fields) and self.fields <= follow

    @property
    def voids(self) -> bool:
        return bool(self.after.voided) and not self.before.voided


@dataclass(frozen=True)
class EntryChain(Generic[E]):
    """Every version of one entry, the original first and the current one last."""

    versions: tuple[E, ...]

    @property
    def model(self) -> type[E]:
        return type(self.versions[0])

    @property
    def original(self) -> E:
        return self.versions[0]

    @property
    def current(self) -> E:
        return self.versions[-1]

    @property
    def amended(self) -> bool:
        return len(self.versions) > 1

    def steps(self) -> tuple[Step[E], ...]:
        return tuple(Step(a, b, changed_fields(a, b))
                     for a, b in zip(self.versions, self.versions[1:], strict=False))

    def superseded(self, entry: E) -> bool:
        return entry is not self.current


def walk(rows: Iterable[E]) -> list[EntryChain[E]]:
    """Group rows of one kind into chains, each ordered along its ``amends_id`` links from the
    original (the row that amends nothing). Pure. Chains come out in the order of their
    originals' ids."""
    by_chain: dict[int, list[E]] = {}
    for r in rows:
        by_chain.setdefault(r.chain_id, []).append(r)
    out: list[EntryChain[E]] = []
    for chain_id in sorted(by_chain):
        versions = by_chain[chain_id]
        nxt = {v.amends_id: v for v in versions if v.amends_id is not None}
        first = next((v for v in versions if v.amends_id is None), None)
        if first is None:  # the original is not among the rows given
            raise ValueError(f"chain #{chain_id} has no original among the rows")
        ordered = [first]
        while ordered[-1].id in nxt:
            ordered.append(nxt[ordered[-1].id])
        out.append(EntryChain(tuple(ordered)))
    return out


def chain(session: Session, model: type[E], entry_id: int) -> EntryChain[E]:
    """The chain ``entry_id`` belongs to (any of its versions). Raises ``LookupError``."""
    rows = repo.entry_history(session, model, entry_id)
    if not rows:
        raise LookupError(f"no {model.__tablename__} #{entry_id}")
    return walk(rows)[0]


def current_version(session: Session, model: type[E], entry_id: int) -> E:
    """The current version of the entry ``entry_id`` belongs to (what an amendment amends)."""
    return chain(session, model, entry_id).current


def visit_chains(session: Session, model: type[E], visit_id: int) -> list[EntryChain[E]]:
    """Every chain of one kind of entry of the visit, voided ones included."""
    rows = session.scalars(select(model).where(model.visit_id == visit_id).order_by(model.id))
    return walk(rows)


def chains_of(session: Session, entries: Sequence[E]) -> dict[int, EntryChain[E]]:
    """The chains of these (current) entries, by chain id, in one query per kind."""
    out: dict[int, EntryChain[E]] = {}
    by_model: dict[type[E], set[int]] = {}
    for e in entries:
        by_model.setdefault(type(e), set()).add(e.chain_id)
    for model, ids in by_model.items():
        rows = session.scalars(select(model).where(or_(model.id.in_(ids),
                                                       model.root_id.in_(ids))))
        for c in walk(rows):
            out[c.original.id] = c
    return out


def visit_history(session: Session, visit_id: int) -> list[EntryChain[Any]]:
    """Every clinical entry of the visit with all its versions, by the original's clinical time
    (then when it was charted)."""
    chains: list[EntryChain[Any]] = []
    for model in CLINICAL_MODELS:
        chains.extend(visit_chains(session, model, visit_id))
    chains.sort(key=lambda c: (_utc(c.original.at), _utc(c.original.recorded_at)))
    return chains


class Users:
    """Names and roles of the users an entry names, read once per reader session."""

    ROLES = {"nurse": "Nurse", "charge": "Charge nurse", "admin": "Administrator"}

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[int, User | None] = {}

    def get(self, uid: int | None) -> User | None:
        if uid is None:
            return None
        if uid not in self._cache:
            self._cache[uid] = repo.get_user(self.session, uid)
        return self._cache[uid]

    def name(self, uid: int | None) -> str:
        u = self.get(uid)
        return u.display_name if u else ("" if uid is None else f"user #{uid}")

    def role(self, uid: int | None) -> str:
        u = self.get(uid)
        return self.ROLES.get(u.role, u.role) if u else ""


__all__ = ["FOLLOW_UP", "EntryChain", "Step", "Users", "chain", "chains_of", "changed_fields",
           "current_version", "visit_chains", "visit_history", "walk"]
