"""Check-in screening against the protocol's ``[screening]`` table.

Each item passes or fails with its reason. A failed item never blocks charting: it warns, and the
nurse proceeds only after acknowledging it with a reason (:func:`may_proceed`). A missing answer
fails ("not recorded") rather than passing silently. Exactly at the fasting or alcohol limit
passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from nursestation.core.protocol import Screening


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
        return ScreeningItem(name, False, f"{name}: not recorded", key)
    if last > at:
        return ScreeningItem(name, False, f"{name}: time {_fmt(last, tz)} is after check-in "
                             f"{_fmt(at, tz)}; correct the time", key)
    h = _hours(last, at)
    if round(h, 6) >= need_h:
        return ScreeningItem(name, True, f"{name} at {_fmt(last, tz)}: {h:.1f} h ago, "
                             f"at least {need_h:g} h ({key})", key)
    return ScreeningItem(name, False, f"{name} at {_fmt(last, tz)}: only {h:.1f} h ago, "
                         f"needs {need_h:g} h ({key})", key)


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
                                   f"{screening.no_alcohol_h:g} h, as reported ({key})", key))
    else:
        items.append(ScreeningItem("last alcohol", False, "last alcohol: not recorded", key))
    for q in screening.questions:
        a = answers.answers.get(q)
        if a is True:
            items.append(ScreeningItem(q, True, f"{q}: yes", "screening.questions"))
        elif a is False:
            items.append(ScreeningItem(q, False, f"{q}: no", "screening.questions"))
        else:
            items.append(ScreeningItem(q, False, f"{q}: not answered", "screening.questions"))
    return ScreeningResult(tuple(items))


def may_proceed(result: ScreeningResult, acknowledgement_reason: str = "") -> bool:
    """All items passed, or the failures were acknowledged with a reason."""
    return result.passed or bool(acknowledgement_reason.strip())


__all__ = ["ScreeningAnswers", "ScreeningItem", "ScreeningResult", "screen", "may_proceed"]
