"""What a command says when it will not record an entry.

Every refusal names the rule that refused, the value that broke it and a sentence a nurse can act
on ("rate 1e+06 mL/h is not a pump rate: at most 2000 mL/h"), never a setting key alone or a
traceback. ``needs`` tells a form what would let the entry through: a reason, a charge nurse's
override, a late-entry reason, or a correction of the value.
"""

from __future__ import annotations

from typing import Any

#: what would let a refused entry through
NEEDS_CORRECTION = "correction"
NEEDS_REASON = "reason"
NEEDS_OVERRIDE = "charge_override"
NEEDS_LATE_REASON = "late_reason"
#: an unusual (not implausible) value: the nurse confirms it is what was measured
NEEDS_CONFIRM = "confirm"


class Refused(ValueError):
    """A command refused the entry; nothing was written."""

    def __init__(self, rule: str, message: str, value: Any = None, *,
                 needs: str = NEEDS_CORRECTION) -> None:
        self.rule = rule
        self.value = value
        self.message = message
        self.needs = needs
        super().__init__(message)

    def __repr__(self) -> str:
        return f"Refused({self.rule!r}, {self.message!r}, {self.value!r}, needs={self.needs!r})"


__all__ = ["NEEDS_CONFIRM", "NEEDS_CORRECTION", "NEEDS_LATE_REASON", "NEEDS_OVERRIDE", "NEEDS_REASON", "Refused"]
