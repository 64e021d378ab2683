"""PIN rules: which PINs are refused, and how wrong PINs slow down and lock an account.

Pure functions; ``db.repo.authenticate`` applies them to the failure count it keeps per account
in the database, so every dialog and every workstation counts the same attempts.

Why these rules: a 4-digit PIN has 10,000 values, and the most common twenty (1234, 1111, 0000,
1212, 7777 ...) cover about a quarter of the PINs people choose (Berry, "PIN analysis",
DataGenetics 2012). Refusing repeated digits, runs and short repeated patterns removes most of
those; a delay after a few wrong entries and a lockout after a few more bound the guesses an
intruder gets to single digits before an administrator has to unlock the account.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Commonly chosen PINs not caught by the pattern rules below (keypad columns, dates, 69s).
COMMON_PINS = frozenset({
    "1004", "2000", "2001", "6969", "1122", "2580", "0852", "1998", "1999", "112233",
    "159753", "147258", "258369", "123321", "696969", "102030",
})


@dataclass(frozen=True)
class PinPolicy:
    min_digits: int = 4
    #: a charge nurse's PIN authorises overrides of clinical limits: longer by default
    charge_min_digits: int = 6
    #: wrong PINs in a row before each further try must wait
    delay_after: int = 3
    #: the wait after ``delay_after`` wrong PINs; it doubles with each further one
    delay_seconds: float = 30.0
    #: wrong PINs in a row that lock the account until an administrator unlocks it (0: never)
    lockout_after: int = 5

    def min_for(self, role: str) -> int:
        return self.charge_min_digits if role in ("charge", "admin") else self.min_digits


def _constant_step(digits: list[int]) -> bool:
    steps = {b - a for a, b in zip(digits, digits[1:], strict=False)}
    wrapped = {(b - a) % 10 for a, b in zip(digits, digits[1:], strict=False)}
    return len(steps) == 1 or wrapped in ({1}, {9})


def pin_problem(pin: str, role: str, policy: PinPolicy = PinPolicy()) -> str | None:
    """Why ``pin`` may not be used for an account with ``role``, or None when it may."""
    need = policy.min_for(role)
    if not pin.isdigit() or not pin.isascii():
        return "the PIN must be digits only"
    if len(pin) < need:
        who = "a charge nurse's" if role in ("charge", "admin") else "the"
        return f"{who} PIN must be at least {need} digits"
    digits = [int(c) for c in pin]
    if len(set(pin)) == 1:
        return "the PIN must not be one digit repeated"
    if _constant_step(digits):
        return "the PIN must not be a run of digits (like 1234 or 9876)"
    for period in (2, 3):
        if len(pin) > period and len(pin) % period == 0 and pin == pin[:period] * (
                len(pin) // period):
            return "the PIN must not be a short pattern repeated (like 1212)"
    if pin in COMMON_PINS:
        return "the PIN is one of the most commonly chosen; pick another"
    return None


def wait_after(failures: int, policy: PinPolicy = PinPolicy()) -> float:
    """Seconds the next try must wait after ``failures`` wrong PINs in a row."""
    if failures < policy.delay_after or policy.delay_seconds <= 0:
        return 0.0
    return policy.delay_seconds * 2 ** (failures - policy.delay_after)


def locked_after(failures: int, policy: PinPolicy = PinPolicy()) -> bool:
    return policy.lockout_after > 0 and failures >= policy.lockout_after
