"""Plain values at the record boundary: numbers, texts, times and dates, checked once for every
caller (a dialog, a second station, an HL7 feed, a script).

Each check returns the clean value or raises :class:`~nursestation.record.errors.Refused` with
the rule, the value and a sentence. NaN and infinity are refused on purpose, everywhere a number
enters the record, not by the accident of a comparison; a bool is not a number; a text has a
length limit; a clinical time is timezone-aware and not ahead of the clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from nursestation.core.dosing import Decision, Severity
from nursestation.core.plausibility import check_blood_pressure, check_value
from nursestation.core.plausibility import label as plausibility_label
from nursestation.core.plausibility import unit as plausibility_unit
from nursestation.core.protocol import Plausibility
from nursestation.record.errors import NEEDS_CONFIRM, Refused

#: The longest note the record takes: about four typed pages. A longer text is not a note (a
#: pasted document, a stuck key). unknown: conservative.
MAX_NOTE_CHARS = 10_000
#: Reasons, responses, details: one or two sentences.
MAX_REASON_CHARS = 1_000
#: Names, companies, relationships (the columns hold 200).
MAX_NAME_CHARS = 200
MAX_MRN_CHARS = 64
MAX_PHONE_CHARS = 64
MAX_ALLERGY_CHARS = 2_000
#: A clinical time this far ahead of the clock is refused (no pre-charting); the db repeats it.
MAX_FUTURE_SKEW = timedelta(minutes=2)
#: Nobody treated here was born before this.
OLDEST_BIRTH_YEAR = 1900


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def number(what: str, value: Any, *, lo: float | None = None, hi: float | None = None,
           unit: str = "", lo_open: bool = False, rule: str = "") -> float:
    """A finite number (int or float, not bool) within [lo, hi] (``lo_open``: above lo)."""
    rule = rule or what.replace(" ", "_")
    u = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(rule, f"{what} must be a number, not {_shown(value)}", value)
    x = float(value)
    if math.isnan(x):
        raise Refused(rule, f"{what} is not a number (NaN)", value)
    if math.isinf(x):
        raise Refused(rule, f"{what} {x:g}{u} is not a finite number", value)
    if lo is not None and (x <= lo if lo_open else x < lo):
        if lo == 0 and not lo_open:
            raise Refused(rule, f"{what} {x:g}{u} is negative", value)
        bound = "above" if lo_open else "at least"
        raise Refused(rule, f"{what} {x:g}{u} is not valid: it must be {bound} {lo:g}{u}", value)
    if hi is not None and x > hi:
        raise Refused(rule, f"{what} {x:g}{u} is not plausible: at most {hi:g}{u}", value)
    return x


def optional_number(what: str, value: Any, **kw: Any) -> float | None:
    return None if value is None else number(what, value, **kw)


def integer(what: str, value: Any, *, lo: int, hi: int, rule: str = "") -> int:
    """A whole number within [lo, hi] (a float that is whole is taken)."""
    x = number(what, value, rule=rule)
    if x != int(x):
        raise Refused(rule or what.replace(" ", "_"), f"{what} {x:g} is not a whole number",
                      value)
    n = int(x)
    if not lo <= n <= hi:
        raise Refused(rule or what.replace(" ", "_"), f"{what} {n} is outside {lo}–{hi}", value)
    return n


def text(what: str, value: Any, *, max_chars: int = MAX_REASON_CHARS, required: bool = False,
         rule: str = "") -> str:
    """A text, stripped, no longer than ``max_chars``; ``required``: not empty."""
    rule = rule or what.replace(" ", "_")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Refused(rule, f"{what} must be text, not {_shown(value)}", value)
    if "\x00" in value:
        raise Refused(rule, f"{what} contains a NUL character", value)
    t = value.strip()
    if required and not t:
        raise Refused(rule, f"{what} is empty", value)
    if len(t) > max_chars:
        raise Refused(rule, f"{what} is {len(t):,} characters long; the record takes at most "
                      f"{max_chars:,}", len(t))
    return t


def choice(what: str, value: Any, choices: tuple[str, ...] | list[str], *,
           rule: str = "") -> str:
    if not isinstance(value, str) or value not in choices:
        raise Refused(rule or what.replace(" ", "_"),
                      f"{what} {_shown(value)} is not one of: {', '.join(choices)}", value)
    return value


def aware_time(what: str, value: Any, now: datetime, *, allow_future: bool = False,
               rule: str = "") -> datetime:
    """A timezone-aware time, not ahead of ``now`` by more than the clock-skew tolerance."""
    rule = rule or what.replace(" ", "_")
    if not isinstance(value, datetime):
        raise Refused(rule, f"{what} must be a date and time, not {_shown(value)}", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise Refused(rule, f"{what} {value.isoformat()} has no time zone", value)
    if not allow_future and value - now > MAX_FUTURE_SKEW:
        mins = (value - now).total_seconds() / 60
        raise Refused(rule, f"{what} is {mins:.0f} min in the future; entries are charted "
                      "after the fact, never ahead", value)
    return value


def date_of_birth(value: Any, today: date) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise Refused("date_of_birth", f"date of birth must be a date, not {_shown(value)}",
                      value)
    if value > today:
        raise Refused("date_of_birth", f"date of birth {value:%Y-%m-%d} is in the future",
                      value)
    if value.year < OLDEST_BIRTH_YEAR:
        raise Refused("date_of_birth", f"date of birth {value:%Y-%m-%d} is before "
                      f"{OLDEST_BIRTH_YEAR}: check the year", value)
    return value


def _plausible(dec: Decision, value: Any, confirmed: bool, *, rule: str = "vital_range",
               unusual: str = "vital_unusual") -> None:
    """A plausibility decision (``core.plausibility``) as the record takes it: a refused value
    is refused with its range and source; an unusual one needs the nurse's confirmation."""
    if dec.severity is Severity.REFUSED:
        f = dec.worst()[0]
        raise Refused(rule, f.message[:1].upper() + f.message[1:], value)
    if dec.severity is Severity.SOFT and not confirmed:
        f = dec.worst()[0]
        raise Refused(unusual, f.message[:1].upper() + f.message[1:], value,
                      needs=NEEDS_CONFIRM)


def vital(code: str, value: Any, plausibility: Plausibility, *, confirmed: bool = False) -> float:
    """One typed vital sign, plausible by the protocol file's ``[plausibility]`` range for its
    code (an unusual one only when ``confirmed``)."""
    rng = plausibility.range_for(code)
    if rng is None or code == "WEIGHT":
        known = ", ".join(r.code for r in plausibility.ranges if r.code != "WEIGHT")
        raise Refused("vital_code", f"{code!r} is not a vital sign the record takes by hand "
                      f"({known})", code)
    x = number(plausibility_label(code), value, unit=plausibility_unit(code), rule="vital_range")
    _plausible(check_value(code, x, plausibility), value, confirmed)
    return x


def vitals(values: Mapping[str, Any], plausibility: Plausibility, *, bp_pair: bool = True,
           confirmed: bool = False) -> dict[str, float | None]:
    """Typed vital signs: each None (not taken) or plausible; a blood pressure has both numbers
    (``bp_pair``), the diastolic below the systolic."""
    if not isinstance(values, Mapping):
        raise Refused("vitals", f"vital signs must be a table of code → value, not "
                      f"{_shown(values)}", values)
    out: dict[str, float | None] = {}
    for code, v in values.items():
        if v is None:
            out[str(code)] = None
            continue
        out[str(code)] = vital(str(code), v, plausibility, confirmed=confirmed)
    sys_, dia = out.get("NBP_SYS"), out.get("NBP_DIA")
    if (sys_ is None) != (dia is None) and bp_pair:
        raise Refused("blood_pressure", "a blood pressure needs both systolic and diastolic")
    if sys_ is not None and dia is not None:
        _plausible(check_blood_pressure(sys_, dia, plausibility), dia, confirmed)
    return out


def weight(value: Any, plausibility: Plausibility, *, confirmed: bool = False) -> float:
    """A typed weight (kg), plausible by the protocol file's ``WEIGHT`` range."""
    x = number("weight", value, unit="kg", rule="weight")
    _plausible(check_value("WEIGHT", x, plausibility), value, confirmed, rule="weight",
               unusual="weight_unusual")
    return x


__all__ = [
    "MAX_ALLERGY_CHARS", "MAX_FUTURE_SKEW", "MAX_MRN_CHARS", "MAX_NAME_CHARS", "MAX_NOTE_CHARS",
    "MAX_PHONE_CHARS", "MAX_REASON_CHARS", "OLDEST_BIRTH_YEAR", "aware_time",
    "choice", "date_of_birth", "integer", "number", "optional_number", "text", "vital",
    "vitals", "weight",
]
