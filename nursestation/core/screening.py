"""Check-in screening against the protocol's ``[screening]`` table, and the gate before dosing.

Each item passes or fails with its reason. A failed item never blocks *charting*: the check-in is
recorded, and the nurse proceeds only after acknowledging it with a reason (:func:`may_proceed`).
A missing answer fails ("not recorded") rather than passing silently. Exactly at the fasting or
alcohol limit passes.

The *start of the infusion* is another matter (:func:`start_gate`): an unmet item the protocol
marks ``blocking`` stops it until the item is met or a charge nurse overrides (PIN and reason),
and a blood pressure within ``dosing.predose_bp_within_min`` is required [REMS: BP before
dosing]; one above ``predose_sbp_max``/``predose_dbp_max`` needs the charge nurse too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from nursestation.core.dosing import Decision, Finding, Severity
from nursestation.core.protocol import Dosing, Screening


@dataclass(frozen=True)
class ScreeningAnswers:
    last_solids_at: datetime | None = None
    last_clear_liquids_at: datetime | None = None
    last_alcohol_at: datetime | None = None
    #: the patient reports no alcohol within the protocol's window (no time to give)
    denies_recent_alcohol: bool = False
    #: protocol question text → yes (True) / no (False); a missing question is unanswered
    answers: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class ScreeningItem:
    name: str
    passed: bool
    detail: str
    key: str
    #: failed because nothing was entered (not recorded, not answered): a form shows it as
    #: still needed rather than as a refusal; it fails all the same
    missing: bool = False


@dataclass(frozen=True)
class ScreeningResult:
    items: tuple[ScreeningItem, ...]

    @property
    def passed(self) -> bool:
        return all(i.passed for i in self.items)

    @property
    def failed(self) -> tuple[ScreeningItem, ...]:
        return tuple(i for i in self.items if not i.passed)

    @property
    def needs_acknowledgement(self) -> bool:
        return not self.passed


def _fmt(t: datetime, tz: tzinfo | None = None) -> str:
    """HH:MM in the display time zone (UTC unless the caller gives the clinic's zone)."""
    return t.astimezone(tz or UTC).strftime("%H:%M")


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600.0


def _since(name: str, last: datetime | None, need_h: float, key: str,
           at: datetime, tz: tzinfo | None) -> ScreeningItem:
    if last is None:
        return ScreeningItem(name, False, f"{name}: not recorded", key, missing=True)
    if last > at:
        return ScreeningItem(name, False, f"{name}: time {_fmt(last, tz)} is after check-in "
                             f"{_fmt(at, tz)}; correct the time", key)
    h = _hours(last, at)
    if round(h, 6) >= need_h:
        return ScreeningItem(name, True, f"{name} at {_fmt(last, tz)}: {h:.1f} h ago, "
                             f"at least {need_h:g} h (protocol)", key)
    return ScreeningItem(name, False, f"{name} at {_fmt(last, tz)}: only {h:.1f} h ago, "
                         f"needs {need_h:g} h (protocol)", key)


def screen(answers: ScreeningAnswers, screening: Screening,
           checked_in_at: datetime, *, display_tz: tzinfo | None = None) -> ScreeningResult:
    """Every screening item at check-in, each passed or failed with its reason."""
    items = [
        _since("last solid food", answers.last_solids_at, screening.fasting_solids_h,
               "screening.fasting_solids_h", checked_in_at, display_tz),
        _since("last clear liquids", answers.last_clear_liquids_at,
               screening.fasting_clear_liquids_h, "screening.fasting_clear_liquids_h",
               checked_in_at, display_tz),
    ]
    key = "screening.no_alcohol_h"
    if answers.last_alcohol_at is not None:
        items.append(_since("last alcohol", answers.last_alcohol_at, screening.no_alcohol_h,
                            key, checked_in_at, display_tz))
    elif answers.denies_recent_alcohol:
        items.append(ScreeningItem("last alcohol", True, f"no alcohol in the last "
                                   f"{screening.no_alcohol_h:g} h, as reported", key))
    else:
        items.append(ScreeningItem("last alcohol", False, "last alcohol: not recorded", key,
                                   missing=True))
    for q in screening.questions:
        a = answers.answers.get(q)
        if a is True:
            items.append(ScreeningItem(q, True, f"{q}: yes", "screening.questions"))
        elif a is False:
            items.append(ScreeningItem(q, False, f"{q}: no", "screening.questions"))
        else:
            items.append(ScreeningItem(q, False, f"{q}: not answered", "screening.questions",
                                       missing=True))
    return ScreeningResult(tuple(items))


def may_proceed(result: ScreeningResult, acknowledgement_reason: str = "") -> bool:
    """All items passed, or the failures were acknowledged with a reason."""
    return result.passed or bool(acknowledgement_reason.strip())


def blocking_failures(result: ScreeningResult, screening: Screening
                      ) -> tuple[ScreeningItem, ...]:
    """The unmet items the protocol marks as blocking the start of the infusion."""
    return tuple(i for i in result.failed if i.name in screening.blocking)


@dataclass(frozen=True)
class PredoseBP:
    systolic: float
    diastolic: float
    at: datetime


def start_gate(result: ScreeningResult | None, screening: Screening, dosing: Dosing,
               predose_bp: PredoseBP | None, now: datetime, *,
               display_tz: tzinfo | None = None) -> Decision:
    """May the infusion start? Every finding with its reason:

    - a blocking screening item unmet: HARD (a charge nurse's override, PIN and reason);
    - another unmet item: NOTE (acknowledged at check-in; shown again here);
    - no blood pressure within ``predose_bp_within_min``: REFUSED (take one first);
    - a pre-dose BP above ``predose_sbp_max``/``predose_dbp_max``: HARD.
    """
    out: list[Finding] = []
    if result is None:
        out.append(Finding("screening", Severity.REFUSED,
                           "no check-in screening recorded for this visit", "screening"))
    else:
        blocking = blocking_failures(result, screening)
        for item in result.failed:
            if item in blocking:
                out.append(Finding("screening", Severity.HARD,
                                   f"{item.detail} - blocks the infusion until met or "
                                   "overridden by a charge nurse", "screening.blocking"))
            else:
                out.append(Finding("screening", Severity.NOTE,
                                   f"{item.detail} (acknowledged at check-in)", item.key))
        if not result.failed:
            out.append(Finding("screening", Severity.OK, "every screening item met",
                               "screening"))
    within = dosing.predose_bp_within_min
    key = "dosing.predose_bp_within_min"
    if predose_bp is None or predose_bp.at > now:
        out.append(Finding("predose_bp", Severity.REFUSED,
                           f"no blood pressure in the last {within:g} min: take one before "
                           "dosing", key, within))
        return Decision(tuple(out))
    age = (now - predose_bp.at).total_seconds() / 60.0
    bp = f"BP {predose_bp.systolic:g}/{predose_bp.diastolic:g} mmHg at {_fmt(predose_bp.at, display_tz)}"
    if round(age, 6) > within:
        out.append(Finding("predose_bp", Severity.REFUSED,
                           f"{bp} is {age:.0f} min old; a BP within {within:g} min is needed "
                           "before dosing", key, within, age))
    elif (predose_bp.systolic > dosing.predose_sbp_max
          or predose_bp.diastolic > dosing.predose_dbp_max):
        out.append(Finding("predose_bp", Severity.HARD,
                           f"{bp} is above {dosing.predose_sbp_max:g}/"
                           f"{dosing.predose_dbp_max:g} mmHg: dosing needs a charge nurse's "
                           "override", "dosing.predose_sbp_max", dosing.predose_sbp_max,
                           predose_bp.systolic))
    else:
        out.append(Finding("predose_bp", Severity.OK, f"pre-dose {bp}", key, within, age))
    return Decision(tuple(out))


__all__ = ["ScreeningAnswers", "ScreeningItem", "ScreeningResult", "screen", "may_proceed",
           "blocking_failures", "PredoseBP", "start_gate"]
