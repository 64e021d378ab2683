"""Weight-based dosing, rate conversions, dose/rate limits and the delivered dose.

Pure: numbers and times in, decisions with their reasons out. Every limit is read from the
protocol's ``[dosing]`` table; every message says the rule in words with the limit and the
number, so a nurse asking "why did it say that?" gets the answer, and every finding carries the
protocol key (``Finding.key``) for the record.

The decision types (:class:`Severity`, :class:`Finding`, :class:`Decision`, :func:`resolve`) are
shared with the MAR checks in :mod:`nursestation.core.medications`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from nursestation.core.protocol import Dosing

# --------------------------------------------------------------------------------------------
# Decisions


class Severity(StrEnum):
    """How a proposed entry may proceed, from least to most restrictive."""

    OK = "ok"  # nothing to say
    NOTE = "note"  # recorded as entered, with a flag the chart shows (e.g. late entry)
    SOFT = "soft"  # proceeds once the nurse confirms with a reason
    BLOCK = "block"  # refused unless overridden with a reason (e.g. allergy)
    HARD = "hard"  # refused unless a charge nurse overrides with PIN and reason
    REFUSED = "refused"  # cannot be recorded as entered; correct the entry


_RANK = {s: i for i, s in enumerate(Severity)}


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on an entry: the rule, the protocol key, the limit and the value."""

    rule: str
    severity: Severity
    message: str
    key: str = ""  # protocol key, e.g. "dosing.hard_max_mg_per_kg"
    limit: float | None = None
    value: float | None = None


@dataclass(frozen=True)
class Decision:
    findings: tuple[Finding, ...] = ()

    @property
    def severity(self) -> Severity:
        return max((f.severity for f in self.findings), key=_RANK.__getitem__,
                   default=Severity.OK)

    @property
    def ok(self) -> bool:
        """True when the entry proceeds without confirmation (flags may still be shown)."""
        return _RANK[self.severity] <= _RANK[Severity.NOTE]

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(f.message for f in self.findings if f.severity is not Severity.OK)

    def worst(self) -> tuple[Finding, ...]:
        """The findings that decide the outcome (those at the overall severity)."""
        return tuple(f for f in self.findings if f.severity is self.severity)

    def __add__(self, other: Decision) -> Decision:
        return Decision(self.findings + other.findings)


def decision(*findings: Finding) -> Decision:
    return Decision(tuple(findings))


@dataclass(frozen=True)
class ChargeOverride:
    """A charge nurse's override. The PIN is verified outside core (hashing is I/O-adjacent);
    core only records that it was, who, and why."""

    by: str
    reason: str
    pin_verified: bool


@dataclass(frozen=True)
class Resolution:
    allowed: bool
    detail: str
    needs: str = ""  # "" / "reason" / "charge_override" / "correction"


def resolve(dec: Decision, *, reason: str = "",
            override: ChargeOverride | None = None) -> Resolution:
    """May the entry be recorded, given the nurse's reason and any charge-nurse override?"""
    sev = dec.severity
    why = "; ".join(f.message for f in dec.worst())
    if sev in (Severity.OK, Severity.NOTE):
        return Resolution(True, why or "within limits")
    if sev is Severity.REFUSED:
        return Resolution(False, f"cannot be recorded: {why}", "correction")
    if sev in (Severity.SOFT, Severity.BLOCK):
        if reason.strip():
            kind = "confirmed" if sev is Severity.SOFT else "overridden"
            return Resolution(True, f"{kind} with reason {reason.strip()!r}: {why}")
        return Resolution(False, f"needs a reason: {why}", "reason")
    # HARD
    if override is None:
        return Resolution(False, f"refused unless a charge nurse overrides: {why}",
                          "charge_override")
    if not override.pin_verified:
        return Resolution(False, f"charge-nurse PIN not verified: {why}", "charge_override")
    if not override.by.strip() or not override.reason.strip():
        return Resolution(False, f"a charge-nurse override needs a name and a reason: {why}",
                          "charge_override")
    return Resolution(True, f"overridden by {override.by.strip()} ({override.reason.strip()}): "
                      f"{why}")


# --------------------------------------------------------------------------------------------
# Calculations

#: Values compared with a limit are rounded to this many decimals first, so that 52.5 mg for
#: 70 kg is exactly at 0.75 mg/kg rather than a floating-point hair above it.
_DP = 6


def _r(x: float) -> float:
    return round(x, _DP)


def target_dose_mg(weight_kg: float, dose_mg_per_kg: float) -> float:
    """mg = mg/kg × kg."""
    if weight_kg <= 0:
        raise ValueError(f"weight must be positive, not {weight_kg:g} kg")
    if dose_mg_per_kg < 0:
        raise ValueError(f"dose must not be negative, not {dose_mg_per_kg:g} mg/kg")
    return dose_mg_per_kg * weight_kg


def ml_h_to_mg_kg_h(rate_ml_h: float, concentration_mg_per_ml: float, weight_kg: float) -> float:
    """Pump rate (mL/h) → dose rate (mg/kg/h)."""
    if weight_kg <= 0:
        raise ValueError(f"weight must be positive, not {weight_kg:g} kg")
    return rate_ml_h * concentration_mg_per_ml / weight_kg


def mg_kg_h_to_ml_h(rate_mg_kg_h: float, concentration_mg_per_ml: float,
                    weight_kg: float) -> float:
    """Dose rate (mg/kg/h) → pump rate (mL/h)."""
    if concentration_mg_per_ml <= 0:
        raise ValueError(f"concentration must be positive, not {concentration_mg_per_ml:g} mg/mL")
    return rate_mg_kg_h * weight_kg / concentration_mg_per_ml


@dataclass(frozen=True)
class InfusionPlan:
    weight_kg: float
    dose_mg_per_kg: float
    dose_mg: float
    bag_volume_ml: float
    concentration_mg_per_ml: float
    duration_min: float
    rate_ml_h: float
    rate_mg_kg_h: float

    def describe(self) -> str:
        return (f"{self.dose_mg_per_kg:g} mg/kg × {self.weight_kg:g} kg = {self.dose_mg:.1f} mg "
                f"in {self.bag_volume_ml:g} mL ({self.concentration_mg_per_ml:.3g} mg/mL) "
                f"over {self.duration_min:g} min = {self.rate_ml_h:.1f} mL/h "
                f"({self.rate_mg_kg_h:.3g} mg/kg/h)")


def plan_infusion(dosing: Dosing, weight_kg: float, *, dose_mg_per_kg: float | None = None,
                  duration_min: float | None = None,
                  bag_volume_ml: float | None = None) -> InfusionPlan:
    """The protocol's target (or the given overrides): the whole dose in the bag, run over the
    duration. concentration = dose mg / bag mL; rate mL/h = bag mL / duration h."""
    mgkg = dosing.dose_mg_per_kg if dose_mg_per_kg is None else dose_mg_per_kg
    dur = dosing.duration_min if duration_min is None else duration_min
    bag = dosing.bag_volume_ml if bag_volume_ml is None else bag_volume_ml
    if dur <= 0:
        raise ValueError(f"duration must be positive, not {dur:g} min")
    if bag <= 0:
        raise ValueError(f"bag volume must be positive, not {bag:g} mL")
    mg = target_dose_mg(weight_kg, mgkg)
    conc = mg / bag
    rate = bag / (dur / 60.0)
    return InfusionPlan(weight_kg=weight_kg, dose_mg_per_kg=mgkg, dose_mg=mg, bag_volume_ml=bag,
                        concentration_mg_per_ml=conc, duration_min=dur, rate_ml_h=rate,
                        rate_mg_kg_h=ml_h_to_mg_kg_h(rate, conc, weight_kg))


# --------------------------------------------------------------------------------------------
# Checks


def check_weight(weight_kg: float, dosing: Dosing) -> Decision:
    """Weight sanity: positive, and above ``max_weight_kg`` needs confirmation."""
    if not weight_kg > 0:
        return decision(Finding("weight", Severity.REFUSED,
                                f"weight {weight_kg:g} kg is not a valid weight", value=weight_kg))
    if _r(weight_kg) > dosing.max_weight_kg:
        return decision(Finding(
            "weight", Severity.SOFT,
            f"weight {weight_kg:g} kg exceeds the protocol's {dosing.max_weight_kg:g} kg: "
            f"confirm the weight", "dosing.max_weight_kg",
            dosing.max_weight_kg, weight_kg))
    return decision(Finding("weight", Severity.OK,
                            f"weight {weight_kg:g} kg within {dosing.max_weight_kg:g} kg",
                            "dosing.max_weight_kg", dosing.max_weight_kg, weight_kg))


def check_dose(dose_mg: float, weight_kg: float, dosing: Dosing) -> Decision:
    """A total dose (mg) for this weight against the soft range and the hard maximum (mg/kg).
    Exactly at a limit is within it."""
    weight = check_weight(weight_kg, dosing)
    if weight.severity is Severity.REFUSED:
        return weight
    if dose_mg < 0:
        return weight + decision(Finding("dose", Severity.REFUSED,
                                         f"dose {dose_mg:g} mg is negative", value=dose_mg))
    mgkg = _r(dose_mg / weight_kg)
    shown = f"{mgkg:.3g} mg/kg"
    how = f": {dose_mg:.1f} mg for {weight_kg:g} kg"
    if mgkg > dosing.hard_max_mg_per_kg:
        f = Finding("dose", Severity.HARD,
                    f"{shown} exceeds the hard limit {dosing.hard_max_mg_per_kg:g} mg/kg"
                    f"{how}", "dosing.hard_max_mg_per_kg",
                    dosing.hard_max_mg_per_kg, mgkg)
    elif mgkg > dosing.soft_max_mg_per_kg:
        f = Finding("dose", Severity.SOFT,
                    f"{shown} exceeds the soft limit {dosing.soft_max_mg_per_kg:g} mg/kg"
                    f"{how}", "dosing.soft_max_mg_per_kg",
                    dosing.soft_max_mg_per_kg, mgkg)
    elif mgkg < dosing.soft_min_mg_per_kg:
        f = Finding("dose", Severity.SOFT,
                    f"{shown} is below the soft limit {dosing.soft_min_mg_per_kg:g} mg/kg"
                    f"{how}", "dosing.soft_min_mg_per_kg",
                    dosing.soft_min_mg_per_kg, mgkg)
    else:
        f = Finding("dose", Severity.OK,
                    f"{shown} within {dosing.soft_min_mg_per_kg:g}–"
                    f"{dosing.soft_max_mg_per_kg:g} mg/kg{how}", "dosing.soft_max_mg_per_kg",
                    dosing.soft_max_mg_per_kg, mgkg)
    return weight + decision(f)


def check_rate(rate_ml_h: float, concentration_mg_per_ml: float, weight_kg: float,
               dosing: Dosing) -> Decision:
    """A pump rate (mL/h) as a dose rate (mg/kg/h) against the soft and hard rate limits."""
    weight = check_weight(weight_kg, dosing)
    if weight.severity is Severity.REFUSED:
        return weight
    if rate_ml_h < 0 or concentration_mg_per_ml <= 0:
        return weight + decision(Finding(
            "rate", Severity.REFUSED,
            f"rate {rate_ml_h:g} mL/h at {concentration_mg_per_ml:g} mg/mL is not valid",
            value=rate_ml_h))
    mgkgh = _r(ml_h_to_mg_kg_h(rate_ml_h, concentration_mg_per_ml, weight_kg))
    shown = f"{mgkgh:.3g} mg/kg/h"
    how = f": {rate_ml_h:g} mL/h × {concentration_mg_per_ml:.3g} mg/mL for {weight_kg:g} kg"
    if mgkgh > dosing.hard_max_rate_mg_per_kg_h:
        f = Finding("rate", Severity.HARD,
                    f"{shown} exceeds the hard limit {dosing.hard_max_rate_mg_per_kg_h:g} "
                    f"mg/kg/h{how}",
                    "dosing.hard_max_rate_mg_per_kg_h", dosing.hard_max_rate_mg_per_kg_h, mgkgh)
    elif mgkgh > dosing.soft_max_rate_mg_per_kg_h:
        f = Finding("rate", Severity.SOFT,
                    f"{shown} exceeds the soft limit {dosing.soft_max_rate_mg_per_kg_h:g} "
                    f"mg/kg/h{how}",
                    "dosing.soft_max_rate_mg_per_kg_h", dosing.soft_max_rate_mg_per_kg_h, mgkgh)
    else:
        f = Finding("rate", Severity.OK,
                    f"{shown} within {dosing.soft_max_rate_mg_per_kg_h:g} mg/kg/h{how}",
                    "dosing.soft_max_rate_mg_per_kg_h", dosing.soft_max_rate_mg_per_kg_h, mgkgh)
    return weight + decision(f)


OTHER = "other"


def check_change_reason(reason: str, free_text: str, dosing: Dosing) -> Decision:
    """A rate change, pause, resume or stop needs a reason from ``dosing.rate_change_reasons``;
    "other" needs free text."""
    if not reason.strip():  # nothing chosen yet: say what to do, not what is wrong
        return decision(Finding("reason", Severity.REFUSED, "choose a reason for the change",
                                "dosing.rate_change_reasons"))
    if reason not in dosing.rate_change_reasons:
        return decision(Finding(
            "reason", Severity.REFUSED,
            f"reason {reason!r} is not in the protocol's list: "
            f"{', '.join(dosing.rate_change_reasons)}", "dosing.rate_change_reasons"))
    if reason == OTHER and not free_text.strip():
        return decision(Finding("reason", Severity.REFUSED,
                                "reason \"other\" needs a description",
                                "dosing.rate_change_reasons"))
    return decision(Finding("reason", Severity.OK, f"reason {reason!r}",
                            "dosing.rate_change_reasons"))


# --------------------------------------------------------------------------------------------
# Delivered dose


class EventKind(StrEnum):
    START = "start"
    RATE_CHANGE = "rate_change"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


@dataclass(frozen=True)
class InfusionEvent:
    """One charted pump event. ``rate_ml_h`` is required for start and rate_change; for resume
    it is optional (None resumes at the last rate)."""

    kind: EventKind
    at: datetime
    rate_ml_h: float | None = None


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    rate_ml_h: float
    volume_ml: float


@dataclass(frozen=True)
class DeliveredDose:
    volume_ml: float
    dose_mg: float
    dose_mg_per_kg: float
    infusing_min: float
    paused_min: float
    segments: tuple[Segment, ...]
    vtbi_reached_at: datetime | None = None
    notes: tuple[str, ...] = ()  # inconsistencies in the charted history, as found

    def describe(self) -> str:
        return (f"{self.volume_ml:.1f} mL = {self.dose_mg:.1f} mg "
                f"({self.dose_mg_per_kg:.3g} mg/kg) over {self.infusing_min:.1f} min infusing")


def delivered_dose(events: Iterable[InfusionEvent], until: datetime, *,
                   concentration_mg_per_ml: float, weight_kg: float,
                   vtbi_ml: float | None = None) -> DeliveredDose:
    """Integrate the charted rate history up to ``until`` into mL, mg and mg/kg.

    Events are taken in time order (ties keep their given order); events after ``until`` are
    ignored. A running infusion delivers until the next event, ``until``, or the moment the volume
    reaches ``vtbi_ml`` (the pump then stops by itself). Events that do not fit the history
    (resume while not paused, a second start, ...) are applied as sensibly as possible and listed
    in ``notes``.
    """
    if weight_kg <= 0:
        raise ValueError(f"weight must be positive, not {weight_kg:g} kg")
    evs = sorted((e for e in events if e.at <= until), key=lambda e: e.at)
    notes: list[str] = []
    segments: list[Segment] = []
    state = "idle"  # idle / running / paused / stopped
    rate = 0.0
    since: datetime | None = None
    paused_s = 0.0
    paused_since: datetime | None = None
    volume = 0.0
    vtbi_at: datetime | None = None

    def run_to(t: datetime) -> None:
        nonlocal volume, vtbi_at, state, since
        assert since is not None
        if t <= since or rate <= 0:
            since = max(since, t)
            return
        hours = (t - since).total_seconds() / 3600.0
        add = rate * hours
        end = t
        if vtbi_ml is not None and volume + add >= vtbi_ml:
            add = max(vtbi_ml - volume, 0.0)
            end = since + (t - since) * (add / (rate * hours))
            vtbi_at = end
            state = "stopped"
        volume += add
        segments.append(Segment(since, end, rate, add))
        since = t

    for e in evs:
        if state == "running":
            run_to(e.at)
        if state == "stopped" and vtbi_at is not None and e.kind is not EventKind.STOP \
                and e.at >= vtbi_at:
            notes.append(f"{e.kind} at {e.at:%H:%M:%S} after the VTBI was reached")
        if e.kind is EventKind.START:
            if e.rate_ml_h is None:
                notes.append(f"start at {e.at:%H:%M:%S} without a rate: ignored")
                continue
            if state in ("running", "paused"):
                notes.append(f"start at {e.at:%H:%M:%S} while already {state}: "
                             "taken as a rate change")
            if state == "paused" and paused_since is not None:
                paused_s += (e.at - paused_since).total_seconds()
            rate, since, state = e.rate_ml_h, e.at, "running"
        elif e.kind is EventKind.RATE_CHANGE:
            if e.rate_ml_h is None:
                notes.append(f"rate change at {e.at:%H:%M:%S} without a rate: ignored")
                continue
            rate = e.rate_ml_h
            if state == "running":
                since = e.at
            elif state == "idle":
                notes.append(f"rate change at {e.at:%H:%M:%S} before a start: taken as the start")
                since, state = e.at, "running"
            # paused: the new rate applies on resume; stopped: recorded, nothing runs
        elif e.kind is EventKind.PAUSE:
            if state != "running":
                notes.append(f"pause at {e.at:%H:%M:%S} while {state}: ignored")
                continue
            state, paused_since = "paused", e.at
        elif e.kind is EventKind.RESUME:
            if state != "paused":
                notes.append(f"resume at {e.at:%H:%M:%S} while {state}: ignored")
                continue
            assert paused_since is not None
            paused_s += (e.at - paused_since).total_seconds()
            if e.rate_ml_h is not None:
                rate = e.rate_ml_h
            state, since = "running", e.at
        elif e.kind is EventKind.STOP:
            if state == "paused" and paused_since is not None:
                paused_s += (e.at - paused_since).total_seconds()
            elif state == "idle":
                notes.append(f"stop at {e.at:%H:%M:%S} before a start")
            state = "stopped"
    if state == "running":
        run_to(until)
    if state == "paused" and paused_since is not None:
        paused_s += (until - paused_since).total_seconds()
    infusing_s = sum((s.end - s.start).total_seconds() for s in segments)
    mg = volume * concentration_mg_per_ml
    return DeliveredDose(volume_ml=volume, dose_mg=mg, dose_mg_per_kg=mg / weight_kg,
                         infusing_min=infusing_s / 60.0, paused_min=paused_s / 60.0,
                         segments=tuple(segments), vtbi_reached_at=vtbi_at, notes=tuple(notes))


@dataclass(frozen=True)
class VolumeComparison:
    charted_ml: float
    pump_ml: float
    difference_ml: float  # pump − charted
    difference_pct: float | None  # of the charted volume; None when nothing was charted
    within_tolerance: bool
    message: str


#: Tolerance for "charted and pump agree". unknown: conservative — 1 mL absolute; a clinic may
#: pass its own.
DEFAULT_VOLUME_TOLERANCE_ML = 1.0


def _signed(x: float) -> str:
    """One decimal with its sign, never "-0.0" (a difference that rounds to nothing)."""
    return f"{round(x, 1) + 0.0:+.1f}"


def compare_with_pump(charted_ml: float, pump_vi_ml: float, *,
                      tolerance_ml: float = DEFAULT_VOLUME_TOLERANCE_ML) -> VolumeComparison:
    """The charted (integrated) volume against the pump's reported volume infused."""
    diff = pump_vi_ml - charted_ml
    pct = (diff / charted_ml * 100.0) if charted_ml > 0 else None
    ok = abs(diff) <= tolerance_ml + 1e-9
    pct_txt = f" ({_signed(pct)} %)" if pct is not None else ""
    verdict = "agree" if ok else "differ"
    msg = (f"pump reports {pump_vi_ml:.1f} mL infused, charted {charted_ml:.1f} mL: "
           f"difference {_signed(diff)} mL{pct_txt}; {verdict} within {tolerance_ml:g} mL")
    return VolumeComparison(charted_ml, pump_vi_ml, diff, pct, ok, msg)


__all__ = [
    "Severity", "Finding", "Decision", "decision", "ChargeOverride", "Resolution", "resolve",
    "target_dose_mg", "ml_h_to_mg_kg_h", "mg_kg_h_to_ml_h", "InfusionPlan", "plan_infusion",
    "check_weight", "check_dose", "check_rate", "check_change_reason", "OTHER",
    "EventKind", "InfusionEvent", "Segment", "DeliveredDose", "delivered_dose",
    "VolumeComparison", "compare_with_pump", "DEFAULT_VOLUME_TOLERANCE_ML",
]
