"""Clinical entries in words, for every view: one line per entry, each amendment as the fields it
changed ("Route: IM → IV"), and the current values of an entry as plain data for the form that
amends it.

The history view, the amend forms and the printed summary read entries here, so no view shows a
Python dict, a repr or a column name, and none has its own way of saying an entry. Versions are
walked by ``record.history`` (the one walker).

No Qt. Reads on the caller's session; the results are plain frozen data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from nursestation.core import pumpchanges as core_pump
from nursestation.core.vocabulary import display_name, scale_name
from nursestation.db.discharge_inputs import SCALE_CADSS6, SCALE_MOAAS, SCALE_NAUSEA
from nursestation.db.models import (
    CLINICAL_MODELS,
    Assessment,
    ClinicalEntry,
    DischargeDecision,
    InfusionEvent,
    MedicationAdministration,
    Note,
    PumpChangeItem,
    RideArrangement,
    Screening,
)
from nursestation.record import history
from nursestation.record.commands import AMEND_FIELDS

#: Every kind of clinical entry, by its record name, and what a nurse calls it.
MODELS_BY_TYPE: dict[str, type[ClinicalEntry]] = {m.__tablename__: m for m in CLINICAL_MODELS}
TYPE_LABELS: dict[str, str] = {
    Screening.__tablename__: "Screening", InfusionEvent.__tablename__: "Infusion",
    MedicationAdministration.__tablename__: "Medication",
    Assessment.__tablename__: "Assessment", Note.__tablename__: "Note",
    RideArrangement.__tablename__: "Ride home", DischargeDecision.__tablename__: "Discharge",
    PumpChangeItem.__tablename__: "Pump change",
}
#: The infusion actions in words.
KIND_LABELS = {"start": "Start", "rate_change": "Rate change", "pause": "Pause",
               "resume": "Resume", "stop": "Stop"}
#: Each field a correction may change, in words (the history and the summary say these).
FIELD_LABELS = {
    "at": "time", "kind": "action", "rate_ml_h": "rate", "dose_mg_kg_h": "dose rate",
    "concentration_mg_ml": "concentration", "reason_code": "reason", "reason_text": "details",
    "drug": "drug", "dose": "dose", "unit": "unit", "route": "route", "site": "site",
    "indication": "indication", "response": "response", "response_at": "response time",
    "scale": "scale", "items": "values", "score": "score", "note": "note", "text": "text",
    "driver_name": "driver", "relationship": "relationship", "phone": "phone",
    "expected_arrival": "expected arrival", "company": "company",
    "booking_ref": "booking reference", "answers": "screening answers",
    "passed": "screening passed", "resolution_reason": "resolution", "voided": "entered in error",
    "status": "status", "confirmation_method": "confirmation", "confirmed_at": "confirmed at",
}
_UNIT_OF = {"rate_ml_h": "mL/h", "dose_mg_kg_h": "mg/kg/h", "concentration_mg_ml": "mg/mL"}
#: The order fields are listed in.
_ORDER = tuple(FIELD_LABELS)


def _local(t: datetime, tz: tzinfo | None) -> datetime:
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t
    return t.astimezone(tz) if tz is not None else t.astimezone()


def hhmm(t: datetime | None, tz: tzinfo | None = None) -> str:
    return "" if t is None else _local(t, tz).strftime("%H:%M")


def _num(v: float) -> str:
    return f"{v:g}"


def items_text(scale: str, items: Mapping[str, Any] | None) -> str:
    """An assessment's values in words: vital signs by name, CADSS-6 items by number."""
    items = items or {}
    if scale in (SCALE_NAUSEA, SCALE_MOAAS):
        return str(items.get("level", "-"))
    if scale == SCALE_CADSS6:
        return ", ".join(f"item {k}: {v}" for k, v in items.items())
    values = ", ".join(f"{display_name(k)} {_num(v) if isinstance(v, int | float) else v}"
                       for k, v in items.items() if k != "source")
    source = items.get("source")
    if isinstance(source, Mapping) and source:  # baseline vitals: where each value came from
        values += " (" + ", ".join(f"{display_name(str(k))} {v}" for k, v in source.items()) \
            + ")"
    return values


def _screening_text(answers: Any) -> str:
    items = answers.get("items", []) if isinstance(answers, Mapping) else []
    parts = [f"{i.get('name', '?')}: {'met' if i.get('passed') else 'not met'}"
             for i in items if isinstance(i, Mapping)]
    return "; ".join(parts) or "-"


def value_text(name: str, value: Any, *, scale: str = "", tz: tzinfo | None = None) -> str:
    """One field's value in words."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return hhmm(value, tz)
    if name == "kind":
        return KIND_LABELS.get(str(value), str(value).replace("_", " "))
    if name == "items":
        return items_text(scale, value) or "-"
    if name == "answers":
        return _screening_text(value)
    if name == "scale":
        return scale_name(str(value))
    if isinstance(value, int | float):
        unit = _UNIT_OF.get(name, "")
        return f"{_num(value)} {unit}".strip()
    if isinstance(value, Mapping | list | tuple):  # any other structure: its parts, in words
        if isinstance(value, Mapping):
            return ", ".join(f"{display_name(str(k))} {value_text('', v)}"
                             for k, v in value.items()) or "-"
        return ", ".join(value_text("", v) for v in value) or "-"
    return str(value)


def describe(entry: ClinicalEntry, tz: tzinfo | None = None) -> str:
    """One entry in one line, as the history view and the printed summary say it."""
    e: Any = entry
    if isinstance(entry, InfusionEvent):
        rate = f" {e.rate_ml_h:g} mL/h" if e.rate_ml_h is not None else ""
        dose = f" ({e.dose_mg_kg_h:.3g} mg/kg/h)" if e.dose_mg_kg_h else ""
        why = f" — {e.reason_code}" if e.reason_code else ""
        why += f": {e.reason_text}" if e.reason_text else ""
        extra = f"; soft limit confirmed: {e.limit_confirmation}" if e.limit_confirmation else ""
        extra += f"; charge override: {e.override_reason}" if e.override_by_id else ""
        return f"{KIND_LABELS.get(e.kind, e.kind)}{rate}{dose}{why}{extra}"
    if isinstance(entry, MedicationAdministration):
        s = f"{e.drug} {e.dose:g} {e.unit} {e.route}"
        s += f" at {e.site}" if e.site else ""
        s += f" for {e.indication}" if e.indication else ""
        s += " [late entry]" if e.late_entry else ""
        s += f"; override: {e.override_reason}" if e.override_reason else ""
        s += f"; response {hhmm(e.response_at, tz)}: {e.response}" if e.response else ""
        return s
    if isinstance(entry, Assessment):
        if e.scale == SCALE_NAUSEA:
            s = f"Nausea {(e.items or {}).get('level', '?')}"
        elif e.scale == SCALE_MOAAS:
            s = f"MOAA/S {e.score:g}" if e.score is not None else "MOAA/S"
        elif e.scale == SCALE_CADSS6:
            s = f"CADSS-6 {e.score:g}" if e.score is not None else "CADSS-6 (note only)"
            if e.items:
                s += " (" + items_text(e.scale, e.items) + ")"
        else:  # baseline vitals, a vitals check, another scale: its name and its values
            values = items_text(e.scale, e.items)
            s = " ".join(x for x in (scale_name(e.scale),
                                     f"{e.score:g}" if e.score is not None else "",
                                     f"({values})" if values else "") if x)
        return s + (f" — {e.note}" if e.note else "")
    if isinstance(entry, Note):
        return str(e.text)
    if isinstance(entry, RideArrangement):
        who = (f"car service {e.company} ({e.booking_ref})" if e.kind == "car_service"
               else f"{e.driver_name} ({e.relationship}, {e.phone})")
        eta = f", expected {hhmm(e.expected_arrival, tz)}" if e.expected_arrival else ""
        conf = (f"; confirmed ({e.confirmation_method}) {hhmm(e.confirmed_at, tz)}"
                if e.confirmed_at else "; not confirmed")
        return f"{who}{eta}{conf}"
    if isinstance(entry, DischargeDecision):
        s = f"{e.result}; criteria {'all met' if e.all_met else 'NOT all met'}"
        return s + (f"; override: {e.override_reason}" if e.override else "")
    if isinstance(entry, PumpChangeItem):
        desc = (core_pump.PumpChange.from_values(e.pump_values).describe(tz)
                if "at" in (e.pump_values or {}) else str(e.kind).replace("_", " "))
        res = f" — {e.status}" + (f": {e.resolution_reason}" if e.resolution_reason else "")
        return desc + res
    if isinstance(entry, Screening):
        state = {True: "passed", False: "not passed"}.get(e.passed, "")
        return f"screening {state}".strip() + f" ({_screening_text(e.answers)})"
    return TYPE_LABELS.get(entry.__tablename__, "entry")


def step_changes(step: history.Step[Any], tz: tzinfo | None = None) -> tuple[str, ...]:
    """What one amendment changed, in words: "route: IM → IV", "entered in error"."""
    scale = getattr(step.after, "scale", "")
    out = []
    for name in sorted(step.fields, key=lambda f: _ORDER.index(f) if f in _ORDER else 99):
        if name == "voided":
            if step.after.voided:
                out.append("entered in error")
            continue
        label = FIELD_LABELS.get(name, name.replace("_", " "))
        old = value_text(name, getattr(step.before, name), scale=scale, tz=tz)
        new = value_text(name, getattr(step.after, name), scale=scale, tz=tz)
        out.append(f"{label}: {old} → {new}")
    return tuple(out)


# --------------------------------------------------------------------------------- history


@dataclass(frozen=True)
class VersionView:
    """One version of an entry, in words."""

    entry_type: str
    entry_id: int
    at: datetime
    recorded_at: datetime
    by: str
    text: str
    superseded: bool
    voided: bool
    #: why this version was charted (an amendment's reason; "" for the original)
    reason: str = ""
    #: what this version changed against the one before, in words
    changes: tuple[str, ...] = ()
    #: it only completed the entry (a response, a confirmation): not a correction
    completion: bool = False


@dataclass(frozen=True)
class ChainView:
    """An entry with all its versions, the original first."""

    label: str
    entry_type: str
    versions: tuple[VersionView, ...] = field(default_factory=tuple)

    @property
    def current(self) -> VersionView:
        return self.versions[-1]

    @property
    def original(self) -> VersionView:
        return self.versions[0]

    @property
    def amendments(self) -> int:
        return len(self.versions) - 1


def chain_view(c: history.EntryChain[Any], users: history.Users,
               tz: tzinfo | None = None) -> ChainView:
    steps = c.steps()
    versions = []
    for i, v in enumerate(c.versions):
        step = steps[i - 1] if i else None
        versions.append(VersionView(
            entry_type=v.__tablename__, entry_id=v.id, at=v.at, recorded_at=v.recorded_at,
            by=users.name(v.recorded_by_id), text=describe(v, tz), superseded=c.superseded(v),
            voided=bool(v.voided), reason=(v.amend_reason or "") if i else "",
            changes=step_changes(step, tz) if step else (),
            completion=bool(step and step.completion)))
    t = c.model.__tablename__
    return ChainView(TYPE_LABELS.get(t, t), t, tuple(versions))


def history_view(session: Session, visit_id: int, tz: tzinfo | None = None) -> list[ChainView]:
    """Every entry of the visit with all its versions in words, by clinical time."""
    users = history.Users(session)
    return [chain_view(c, users, tz) for c in history.visit_history(session, visit_id)]


# ------------------------------------------------------------------------------ one entry


@dataclass(frozen=True)
class EntryValues:
    """The current version of one entry as plain data: what the form that amends it is
    pre-filled with (``values``: every column of the row, by name)."""

    entry_type: str
    entry_id: int
    visit_id: int
    label: str
    text: str
    at: datetime
    recorded_at: datetime
    voided: bool
    values: Mapping[str, Any]
    #: the fields a correction may change (``record.commands.AMEND_FIELDS``)
    fields: tuple[str, ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def entry_values(session: Session, entry_type: str, entry_id: int,
                 tz: tzinfo | None = None) -> EntryValues:
    """The current version of the entry ``entry_id`` belongs to. Raises ``LookupError``."""
    model = MODELS_BY_TYPE.get(entry_type)
    if model is None:
        raise LookupError(f"{entry_type!r} is not a kind of clinical entry")
    cur = history.current_version(session, model, entry_id)
    values = {a.key: _plain(getattr(cur, a.key)) for a in model.__mapper__.column_attrs}
    return EntryValues(entry_type, cur.id, cur.visit_id, TYPE_LABELS.get(entry_type, entry_type),
                       describe(cur, tz), cur.at, cur.recorded_at, bool(cur.voided), values,
                       AMEND_FIELDS.get(model, ()))


__all__ = [
    "FIELD_LABELS",
    "KIND_LABELS",
    "MODELS_BY_TYPE",
    "TYPE_LABELS",
    "ChainView",
    "EntryValues",
    "VersionView",
    "chain_view",
    "describe",
    "entry_values",
    "history_view",
    "items_text",
    "step_changes",
    "value_text",
]
