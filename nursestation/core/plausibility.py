"""Entered numbers and times, parsed strictly and checked for plausibility.

A typed vital sign, weight or time is the one input a monitor does not check for us. Two things
went wrong before this module: "abc-5" became 5 (letters and the minus dropped) and "-70 kg"
became 70, and nothing stopped a baseline of 5/900 mmHg from driving the alarms. So:

- :func:`parse_number` accepts a plain decimal number and nothing else: no letters, no units,
  no thousands separators, no exponent. What it refuses it says, with the text as typed.
- :func:`check_value` holds a number against the protocol file's ``[plausibility]`` range for
  its code: outside ``refuse_below``/``refuse_above`` it is REFUSED with the range and its
  source; outside ``confirm_below``/``confirm_above`` it is SOFT (the nurse confirms it is what
  she measured). NaN and infinity are refused.
- :func:`check_blood_pressure` adds the pair rule: the diastolic is below the systolic.
- :func:`check_entered_time` refuses a time too far in the future or the past.

Pure: text and protocol in, :class:`~nursestation.core.dosing.Decision` out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from nursestation.core.dosing import Decision, Finding, Severity, decision
from nursestation.core.protocol import Plausibility

#: What each code is called and measured in, for messages a nurse reads.
LABELS: dict[str, tuple[str, str]] = {
    "NBP_SYS": ("systolic blood pressure", "mmHg"),
    "NBP_DIA": ("diastolic blood pressure", "mmHg"),
    "NBP_MEAN": ("mean blood pressure", "mmHg"),
    "HR": ("heart rate", "bpm"),
    "PR": ("pulse rate", "bpm"),
    "SPO2": ("SpO₂", "%"),
    "RR": ("respiratory rate", "/min"),
    "TEMP": ("temperature", "°C"),
    "ETCO2": ("EtCO₂", "mmHg"),
    "WEIGHT": ("weight", "kg"),
}

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class EntryError(ValueError):
    """A typed entry that is not a number (or not a time); the message says what was typed."""


def label(code: str) -> str:
    return LABELS.get(code, (code, ""))[0]


def unit(code: str) -> str:
    return LABELS.get(code, ("", ""))[1]


def parse_number(text: str, what: str) -> float:
    """The number typed in ``text`` (surrounding spaces allowed), or :class:`EntryError`.

    "120" and "36.8" parse; "abc-5", "12O", "1,5", "1e3", "120 mmHg" and "" do not: nothing is
    dropped or coerced, so what is recorded is exactly what was typed.
    """
    s = text.strip()
    if not s:
        raise EntryError(f"{what}: nothing entered")
    if not _NUMBER.fullmatch(s):
        raise EntryError(f"{what}: {text.strip()!r} is not a number (digits and one decimal "
                         "point only)")
    return float(s)


def _g(x: float) -> str:
    return f"{x:g}"


def check_value(code: str, value: float, plausibility: Plausibility) -> Decision:
    """One entered value against its ``[plausibility]`` range (REFUSED / SOFT / OK)."""
    name, u = LABELS.get(code, (code, ""))
    shown = f"{name} {_g(value)}{' ' + u if u else ''}"
    if not math.isfinite(value):
        return decision(Finding("plausibility", Severity.REFUSED,
                                f"{name}: {value!r} is not a measurement", code))
    rng = plausibility.range_for(code)
    if rng is None:
        return decision(Finding("plausibility", Severity.OK, f"{shown}: no range to check",
                                code, value=value))
    key = f"plausibility.range[{code}]"
    if value < rng.refuse_below or value > rng.refuse_above:
        return decision(Finding(
            "plausibility", Severity.REFUSED,
            f"{shown} is not plausible: a {name} is recorded only between "
            f"{_g(rng.refuse_below)} and {_g(rng.refuse_above)} {u} ({rng.source}); "
            "check the entry", key, rng.refuse_below if value < rng.refuse_below
            else rng.refuse_above, value))
    lo = rng.confirm_below
    hi = rng.confirm_above
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        limit = lo if lo is not None and value < lo else hi
        side = "below" if limit == lo else "above"
        return decision(Finding(
            "plausibility", Severity.SOFT,
            f"{shown} is unusual ({side} {_g(limit or 0)} {u}): confirm that this is what was "
            f"measured", key, limit, value))
    return decision(Finding("plausibility", Severity.OK, f"{shown}", key, value=value))


def check_blood_pressure(systolic: float, diastolic: float,
                         plausibility: Plausibility) -> Decision:
    """Both pressures against their ranges, and the diastolic below the systolic."""
    dec = (check_value("NBP_SYS", systolic, plausibility)
           + check_value("NBP_DIA", diastolic, plausibility))
    if math.isfinite(systolic) and math.isfinite(diastolic) and diastolic >= systolic:
        dec += decision(Finding(
            "plausibility", Severity.REFUSED,
            f"blood pressure {_g(systolic)}/{_g(diastolic)} mmHg: the diastolic must be below "
            "the systolic; check the entry", "plausibility.range[NBP_DIA]", systolic,
            diastolic))
    return dec


def check_entered_time(at: datetime, now: datetime, plausibility: Plausibility, *,
                       what: str = "time", not_before: datetime | None = None,
                       display_tz: tzinfo | None = None) -> Decision:
    """An entered clinical time: not more than ``max_future_min`` ahead of the clock, not more
    than ``max_past_h`` back, and not before ``not_before`` (e.g. the visit's check-in)."""
    tz = display_tz or UTC

    def fmt(t: datetime) -> str:
        return t.astimezone(tz).strftime("%d %b %H:%M")

    if at.tzinfo is None:
        return decision(Finding("time", Severity.REFUSED,
                                f"{what} {at:%H:%M} has no time zone", "time"))
    ahead = (at - now).total_seconds() / 60.0
    if ahead > plausibility.max_future_min:
        return decision(Finding(
            "time", Severity.REFUSED,
            f"{what} {fmt(at)} is {ahead:.0f} min in the future (now {fmt(now)}); "
            "chart what has happened", "plausibility.max_future_min",
            plausibility.max_future_min, ahead))
    if now - at > timedelta(hours=plausibility.max_past_h):
        return decision(Finding(
            "time", Severity.REFUSED,
            f"{what} {fmt(at)} is more than {plausibility.max_past_h:g} h ago; check the date",
            "plausibility.max_past_h", plausibility.max_past_h))
    if not_before is not None and at < not_before:
        return decision(Finding(
            "time", Severity.REFUSED,
            f"{what} {fmt(at)} is before {fmt(not_before)}, when this visit began",
            "time"))
    return decision(Finding("time", Severity.OK, f"{what} {fmt(at)}", "time"))


@dataclass(frozen=True)
class EnteredValue:
    """A value parsed from a form field, with its plausibility decision."""

    code: str
    value: float | None
    decision: Decision


def enter(code: str, text: str, plausibility: Plausibility) -> EnteredValue:
    """Parse ``text`` for ``code`` and check it: a form field's whole answer in one call."""
    try:
        value = parse_number(text, label(code))
    except EntryError as exc:
        return EnteredValue(code, None, decision(Finding("entry", Severity.REFUSED, str(exc),
                                                         code)))
    return EnteredValue(code, value, check_value(code, value, plausibility))


__all__ = [
    "LABELS", "EntryError", "EnteredValue", "label", "unit", "parse_number", "check_value",
    "check_blood_pressure", "check_entered_time", "enter",
]
