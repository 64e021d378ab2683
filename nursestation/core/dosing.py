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
from datetime import UTC, datetime, tzinfo
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
    #: something not entered yet (a reason not chosen): the entry cannot be recorded until it
    #: is, but nothing entered is wrong, so a form says what to do rather than "refused"
    missing: bool = False


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
class Covered:
    """One finding a charge nurse was shown when authorising: the rule, the protocol key, the
    value it had and the words on the screen."""

    rule: str
    key: str
    value: float | None
    message: str

    @classmethod
    def of(cls, f: Finding) -> Covered:
        return cls(f.rule, f.key, f.value, f.message)

    def matches(self, f: Finding) -> bool:
        if (self.rule, self.key) != (f.rule, f.key):
            return False
        if self.value is None or f.value is None:
            return self.value is None and f.value is None
        return abs(self.value - f.value) <= 1e-6 * max(1.0, abs(self.value))


@dataclass(frozen=True)
class ChargeOverride:
    """A charge nurse's override. The PIN is verified outside core (hashing is I/O-adjacent);
    core records that it was, who (``by``; ``by_id`` the user's id where there is a record), why,
    and exactly which findings it was shown (``covers``). It covers those and nothing after: a
    rate, dose, drug or criterion it never saw needs a new override (:func:`resolve`)."""

    by: str
    reason: str
    pin_verified: bool
    covers: tuple[Covered, ...] = ()
    by_id: int | None = None


def needs_override(dec: Decision) -> tuple[Finding, ...]:
    """The findings only a charge nurse may override (the hard ones)."""
    return tuple(f for f in dec.findings if f.severity is Severity.HARD)


def authorise(dec: Decision, *, by: str, reason: str, pin_verified: bool,
              by_id: int | None = None) -> ChargeOverride:
    """The override a charge nurse gives for ``dec`` as shown: it records the hard findings it
    covers (rule, key, value), so it cannot be carried over to another entry."""
    return ChargeOverride(by=by, reason=reason, pin_verified=pin_verified,
                          covers=tuple(Covered.of(f) for f in needs_override(dec)), by_id=by_id)


def uncovered(dec: Decision, override: ChargeOverride) -> tuple[Finding, ...]:
    """The hard findings of ``dec`` the override was never shown."""
    return tuple(f for f in needs_override(dec)
                 if not any(c.matches(f) for c in override.covers))


@dataclass(frozen=True)
class Resolution:
    allowed: bool
    detail: str
    needs: str = ""  # "" / "reason" / "charge_override" / "correction"


def resolve(dec: Decision, *, reason: str = "",
            override: ChargeOverride | None = None) -> Resolution:
    """May the entry be recorded, given the nurse's reason and any charge-nurse override?

    A charge nurse's override counts only for the hard findings it was shown (its ``covers``):
    when the entry changed since (another rate, dose, drug or criterion), it is refused."""
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
    new = uncovered(dec, override)
    if new:
        shown = "; ".join(c.message for c in override.covers) or "nothing"
        return Resolution(False, f"the charge nurse's override covered only what it was shown "
                          f"({shown}); the entry now says: {'; '.join(f.message for f in new)}. "
                          "Ask the charge nurse to authorise this entry", "charge_override")
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


def _hard(dosing: Dosing) -> Severity:
    """A planned dose or rate over a hard limit: refused outright, unless the protocol lets a
    charge nurse override hard limits (``dosing.hard_limits_overridable``)."""
    return Severity.HARD if dosing.hard_limits_overridable else Severity.REFUSED


def _no_override(dosing: Dosing) -> str:
    return "" if dosing.hard_limits_overridable else ", a hard limit with no override"


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
        f = Finding("dose", _hard(dosing),
                    f"{shown} exceeds the hard limit {dosing.hard_max_mg_per_kg:g} mg/kg"
                    f"{_no_override(dosing)}{how}", "dosing.hard_max_mg_per_kg",
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
        f = Finding("rate", _hard(dosing),
                    f"{shown} exceeds the hard limit {dosing.hard_max_rate_mg_per_kg_h:g} "
                    f"mg/kg/h{_no_override(dosing)}{how}",
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


#: The infusion actions that need a reason from ``dosing.rate_change_reasons`` (a start follows
#: the plan; its limits are confirmed or overridden instead).
ACTIONS_NEEDING_A_REASON = frozenset({"rate_change", "pause", "resume", "stop"})


def check_change_reason(reason: str, free_text: str, dosing: Dosing) -> Decision:
    """A rate change, pause, resume or stop needs a reason from ``dosing.rate_change_reasons``;
    "other" needs free text."""
    if not reason.strip():  # nothing chosen yet: say what to do, not what is wrong
        return decision(Finding("reason", Severity.REFUSED, "choose a reason for the change",
                                "dosing.rate_change_reasons", missing=True))
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


def check_stop(delivered_mg: float, planned_mg: float, reason: str, free_text: str,
               dosing: Dosing) -> Decision:
    """Stopping the infusion: well short of the plan (below ``stopped_short_below_pct`` of the
    planned dose delivered) needs a reason from ``dosing.stopped_short_reasons``; the summary then
    says the infusion ended early. At or above the share it is a completed infusion."""
    if not planned_mg > 0:
        return decision(Finding("stop", Severity.REFUSED,
                                f"planned dose {planned_mg:g} mg is not a dose",
                                value=planned_mg))
    pct = _r(delivered_mg / planned_mg * 100.0)
    lim = dosing.stopped_short_below_pct
    how = (f"{delivered_mg:.1f} of {planned_mg:.1f} mg delivered ({pct:.0f} %, "
           f"complete from {lim:g} %)")
    if pct >= lim:
        return decision(Finding("stop", Severity.OK, f"completed: {how}",
                                "dosing.stopped_short_below_pct", lim, pct))
    if reason not in dosing.stopped_short_reasons:
        given = f"\"{reason}\" is not one of" if reason else "choose why"
        return decision(Finding(
            "stop", Severity.REFUSED,
            f"stopped early: {how}; {given}: {', '.join(dosing.stopped_short_reasons)}",
            "dosing.stopped_short_reasons", lim, pct))
    if reason == OTHER and not free_text.strip():
        return decision(Finding("stop", Severity.REFUSED,
                                f"stopped early: {how}; reason \"other\" needs a description",
                                "dosing.stopped_short_reasons", lim, pct))
    why = free_text.strip() if reason == OTHER else reason
    return decision(Finding("stop", Severity.NOTE, f"stopped early ({why}): {how}",
                            "dosing.stopped_short_reasons", lim, pct))


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
    #: The pump's state at the end of the history (the one pump state machine): idle (nothing
    #: started), running, paused or stopped (by the nurse, by the visit's end, or by the bag
    #: running empty: see ``bag_empty``).
    state: str = "idle"
    #: The last charted rate (mL/h), whatever the state: what a resume or a new rate starts from.
    rate_ml_h: float | None = None

    @property
    def bag_empty(self) -> bool:
        """The volume reached the VTBI: the pump stopped by itself."""
        return self.vtbi_reached_at is not None

    @property
    def running(self) -> bool:
        return self.state == "running"

    def describe(self) -> str:
        return (f"{self.volume_ml:.1f} mL = {self.dose_mg:.1f} mg "
                f"({self.dose_mg_per_kg:.3g} mg/kg) over {self.infusing_min:.1f} min infusing")


@dataclass(frozen=True)
class PumpCourse:
    """What the pump did, from the charted history: volume, time running and paused, and its
    state at the end (the one pump state machine)."""

    volume_ml: float
    infusing_min: float
    paused_min: float
    segments: tuple[Segment, ...]
    vtbi_reached_at: datetime | None
    notes: tuple[str, ...]
    state: str  # idle / running / paused / stopped
    rate_ml_h: float | None  # the last charted rate

    @property
    def bag_empty(self) -> bool:
        return self.vtbi_reached_at is not None


def delivered_dose(events: Iterable[InfusionEvent], until: datetime, *,
                   concentration_mg_per_ml: float, weight_kg: float,
                   vtbi_ml: float | None = None,
                   ended_at: datetime | None = None) -> DeliveredDose:
    """The delivered dose: :func:`pump_course` in mL, times the concentration, per kg.

    This is the one delivered-dose rule: the dose panel, the discharge gate, the overview, the
    printed summary and the HL7 export all read its answer (through the visit read model,
    ``nursestation.record.visit``).
    """
    if weight_kg <= 0:
        raise ValueError(f"weight must be positive, not {weight_kg:g} kg")
    c = pump_course(events, until, vtbi_ml=vtbi_ml, ended_at=ended_at)
    mg = c.volume_ml * concentration_mg_per_ml
    return DeliveredDose(volume_ml=c.volume_ml, dose_mg=mg, dose_mg_per_kg=mg / weight_kg,
                         infusing_min=c.infusing_min, paused_min=c.paused_min,
                         segments=c.segments, vtbi_reached_at=c.vtbi_reached_at,
                         notes=c.notes, state=c.state, rate_ml_h=c.rate_ml_h)


def pump_course(events: Iterable[InfusionEvent], until: datetime, *,
                vtbi_ml: float | None = None, ended_at: datetime | None = None) -> PumpCourse:
    """Integrate the charted rate history up to ``until`` into mL, and the pump's state.

    Events are taken in time order (ties keep their given order); events after ``until`` are
    ignored. A running infusion delivers until the next event, ``until``, or the moment the volume
    reaches ``vtbi_ml`` (the pump then stops by itself, and stays stopped: only a new start runs
    it again). ``ended_at`` is the visit's own record that the infusion is over (it moved to
    recovery): an infusion still running or paused then stops there. Events that do not fit the
    history (resume while not paused, a second start, ...) are applied as sensibly as possible
    and listed in ``notes``.
    """
    evs = sorted((e for e in events if e.at <= until), key=lambda e: e.at)
    if ended_at is not None and ended_at <= until and any(
            e.kind in (EventKind.START, EventKind.RATE_CHANGE) and e.at <= ended_at
            for e in evs):
        # after every event at the same time (sorted() is stable)
        evs = sorted([*evs, InfusionEvent(EventKind.STOP, ended_at)], key=lambda e: e.at)
    notes: list[str] = []
    segments: list[Segment] = []
    state = "idle"  # idle / running / paused / stopped
    rate = 0.0
    last_rate: float | None = None
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
            last_rate = rate
        elif e.kind is EventKind.RATE_CHANGE:
            if e.rate_ml_h is None:
                notes.append(f"rate change at {e.at:%H:%M:%S} without a rate: ignored")
                continue
            rate = last_rate = e.rate_ml_h
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
                rate = last_rate = e.rate_ml_h
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
    return PumpCourse(volume_ml=volume, infusing_min=infusing_s / 60.0,
                      paused_min=paused_s / 60.0, segments=tuple(segments),
                      vtbi_reached_at=vtbi_at, notes=tuple(notes), state=state,
                      rate_ml_h=last_rate)


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


# --------------------------------------------------------------------------------------------
# Which weight and which concentration a visit's doses are computed with (one rule each)


@dataclass(frozen=True)
class WeightRecord:
    """One weighing as the record holds it (never overwritten: a correction is a new record)."""

    weight_kg: float
    measured_at: datetime
    recorded_at: datetime
    visit_id: int | None = None
    record_id: int = 0  # the record's id: orders records charted in the same instant


@dataclass(frozen=True)
class VisitWeight:
    """The weight a visit's doses are computed with, and why that one."""

    weight_kg: float | None
    measured_at: datetime | None = None
    this_visit: bool = False
    #: Earlier weights of this visit that a later one replaced (re-weighed or corrected).
    superseded: tuple[WeightRecord, ...] = ()

    def describe(self, tz: tzinfo | None = None) -> str:
        if self.weight_kg is None or self.measured_at is None:
            return "no weight recorded"
        when = self.measured_at.astimezone(tz or UTC)
        if self.this_visit:
            txt = f"{self.weight_kg:.1f} kg, weighed at this visit {when:%H:%M}"
            if self.superseded:
                txt += " (corrects " + ", ".join(f"{w.weight_kg:.1f} kg"
                                                 for w in self.superseded) + ")"
            return txt
        return (f"{self.weight_kg:.1f} kg, last recorded {when:%d %b %Y} "
                "(NOT weighed at this visit)")


def visit_weight(records: Iterable[WeightRecord], visit_id: int,
                 checked_in: datetime | None) -> VisitWeight:
    """The one rule for which weight applies to a visit.

    A weight charted for this visit wins; when the visit has several (re-weighed, or a wrong
    weight corrected by charting the right one), the latest *charted* wins, so a correction
    always replaces the value it corrects, whatever measurement time it gives. A visit with no
    weight of its own uses the patient's latest weight measured before check-in (flagged "not
    weighed at this visit"); a weight taken at a later visit never applies to an earlier one.
    """
    recs = list(records)
    mine = sorted((r for r in recs if r.visit_id == visit_id),
                  key=lambda r: (r.recorded_at, r.record_id))
    if mine:
        cur = mine[-1]
        return VisitWeight(cur.weight_kg, cur.measured_at, True, tuple(mine[:-1]))
    before = sorted((r for r in recs if checked_in is None or r.measured_at <= checked_in),
                    key=lambda r: (r.measured_at, r.recorded_at, r.record_id))
    if not before:
        return VisitWeight(None)
    cur = before[-1]
    return VisitWeight(cur.weight_kg, cur.measured_at, False)


@dataclass(frozen=True)
class VisitConcentration:
    """The bag's concentration a visit's doses are computed with, and where it came from."""

    mg_per_ml: float | None
    charted_at: datetime | None = None  # the infusion entry that charted it
    plan: InfusionPlan | None = None  # when none was charted: the protocol's plan

    def describe(self, tz: tzinfo | None = None) -> str:
        if self.mg_per_ml is None:
            return "no weight recorded, so no concentration"
        if self.charted_at is not None:
            return f"charted {self.charted_at.astimezone(tz or UTC):%H:%M}"
        assert self.plan is not None
        return f"protocol plan: {self.plan.describe()}"


def visit_concentration(charted: Iterable[tuple[datetime, float | None]],
                        weight_kg: float | None, dosing: Dosing) -> VisitConcentration:
    """The one concentration rule: the latest concentration charted with an infusion entry
    (``(at, mg/mL)`` pairs, in any order); when none was, the protocol's plan for this weight
    (the whole target dose in ``dosing.bag_volume_ml``); with neither, none."""
    given = sorted(((at, c) for at, c in charted if c), key=lambda x: x[0])
    if given:
        at, c = given[-1]
        return VisitConcentration(float(c), charted_at=at)
    if weight_kg:
        plan = plan_infusion(dosing, weight_kg)
        return VisitConcentration(plan.concentration_mg_per_ml, plan=plan)
    return VisitConcentration(None)



__all__ = [
    "Severity", "Finding", "Decision", "decision", "Covered", "ChargeOverride", "authorise",
    "needs_override", "uncovered", "Resolution", "resolve",
    "target_dose_mg", "ml_h_to_mg_kg_h", "mg_kg_h_to_ml_h", "InfusionPlan", "plan_infusion",
    "check_weight", "check_dose", "check_rate", "check_change_reason",
    "ACTIONS_NEEDING_A_REASON", "check_stop", "OTHER",
    "EventKind", "InfusionEvent", "Segment", "DeliveredDose", "delivered_dose",
    "PumpCourse", "pump_course",
    "VolumeComparison", "compare_with_pump", "DEFAULT_VOLUME_TOLERANCE_ML",
    "WeightRecord", "VisitWeight", "visit_weight", "VisitConcentration", "visit_concentration",
]
