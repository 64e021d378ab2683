"""The ride home: validating an arrangement and deciding its status (none / arranged /
confirmed), with reasons.

- A driver needs a name, a relationship, a phone number (at least 7 digits) and an expected
  arrival time.
- A car service needs a company and a booking reference, and only counts where the protocol's
  ``discharge.car_service_allowed`` is true.
- "Patient drives" is never accepted.
- Confirmation is a phone call or the driver's arrival, with who confirmed it and when; a
  confirmation time after ``now`` does not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum

from nursestation.core.protocol import DischargeCriteria


class RideKind(StrEnum):
    DRIVER = "driver"
    CAR_SERVICE = "car_service"
    PATIENT_DRIVES = "patient_drives"


class ConfirmMethod(StrEnum):
    PHONE_CALL = "phone_call"
    ARRIVAL = "arrival"


class RideState(StrEnum):
    NONE = "none"
    ARRANGED = "arranged"
    CONFIRMED = "confirmed"


#: What each state is called on screen and paper (the value is the record's word)
RIDE_STATE_WORDS = {RideState.NONE: "not arranged", RideState.ARRANGED: "arranged, not confirmed",
                    RideState.CONFIRMED: "confirmed"}


@dataclass(frozen=True)
class RideArrangement:
    kind: RideKind
    driver_name: str = ""
    relationship: str = ""
    phone: str = ""
    expected_arrival: datetime | None = None
    company: str = ""
    booking_reference: str = ""


@dataclass(frozen=True)
class RideConfirmation:
    method: ConfirmMethod
    confirmed_by: str
    confirmed_at: datetime


@dataclass(frozen=True)
class RideStatus:
    state: RideState
    reasons: tuple[str, ...]

    @property
    def confirmed(self) -> bool:
        return self.state is RideState.CONFIRMED


MIN_PHONE_DIGITS = 7
_PHONE_CHARS = set("0123456789 +-().")


_PATIENT_DRIVES = ("the patient may not drive: no driving until the next day after a restful "
                   "sleep; arrange a responsible adult or a car service")
_SELF = frozenset({"self", "patient", "myself", "the patient", "herself", "himself"})


def _name_words(name: str) -> frozenset[str]:
    return frozenset(w for w in name.replace(",", " ").replace(".", " ").casefold().split()
                     if w)


def driver_problems(driver_name: str, relationship: str, patient_name: str = "") -> tuple[str, ...]:
    """The patient named as their own driver, by name or by relationship ("self")."""
    if relationship.strip().casefold() in _SELF:
        return (f"relationship {relationship.strip()!r}: {_PATIENT_DRIVES}",)
    words = _name_words(driver_name)
    if patient_name.strip() and words and words == _name_words(patient_name):
        return (f"the driver named, {driver_name.strip()}, is the patient: {_PATIENT_DRIVES}",)
    return ()


def validate_ride(arrangement: RideArrangement, criteria: DischargeCriteria, *,
                  patient_name: str = "") -> tuple[str, ...]:
    """Problems with an arrangement; empty when it is acceptable. ``patient_name`` lets it
    refuse the patient named as the driver."""
    problems: list[str] = []
    kind = arrangement.kind
    if kind is RideKind.PATIENT_DRIVES:
        return (_PATIENT_DRIVES,)
    if kind is RideKind.CAR_SERVICE:
        if not criteria.car_service_allowed:
            problems.append("this clinic's protocol does not allow a car service; a "
                            "responsible adult must collect the patient")
        if not arrangement.company.strip():
            problems.append("car service company missing")
        if not arrangement.booking_reference.strip():
            problems.append("car service booking reference missing")
        return tuple(problems)
    problems.extend(driver_problems(arrangement.driver_name, arrangement.relationship,
                                    patient_name))
    if not arrangement.driver_name.strip():
        problems.append("driver's name missing")
    if not arrangement.relationship.strip():
        problems.append("driver's relationship to the patient missing")
    phone = arrangement.phone.strip()
    digits = sum(c.isdigit() for c in phone)
    if not phone:
        problems.append("driver's phone number missing")
    elif digits < MIN_PHONE_DIGITS or not set(phone) <= _PHONE_CHARS:
        problems.append(f"driver's phone number {phone!r} is not a phone number "
                        f"(at least {MIN_PHONE_DIGITS} digits)")
    if arrangement.expected_arrival is None:
        problems.append("driver's expected arrival time missing")
    return tuple(problems)


def _who(a: RideArrangement) -> str:
    if a.kind is RideKind.CAR_SERVICE:
        return f"car service {a.company.strip()} (booking {a.booking_reference.strip()})"
    return f"{a.driver_name.strip()} ({a.relationship.strip()}, {a.phone.strip()})"


def ride_status(arrangement: RideArrangement | None, confirmation: RideConfirmation | None,
                criteria: DischargeCriteria, now: datetime, *,
                display_tz: tzinfo | None = None) -> RideStatus:
    """none / arranged / confirmed, with the reasons. ``display_tz`` only affects the texts."""
    def hm(t: datetime) -> str:
        return t.astimezone(display_tz or UTC).strftime("%H:%M")

    if arrangement is None:
        return RideStatus(RideState.NONE, ("no ride home recorded",))
    problems = validate_ride(arrangement, criteria)
    if problems:
        return RideStatus(RideState.NONE, problems)
    who = _who(arrangement)
    eta = (f", expected {hm(arrangement.expected_arrival)}"
           if arrangement.expected_arrival else "")
    if confirmation is None:
        return RideStatus(RideState.ARRANGED, (f"arranged: {who}{eta}; not yet confirmed",))
    if not confirmation.confirmed_by.strip():
        return RideStatus(RideState.ARRANGED, (f"arranged: {who}{eta}; the confirmation does "
                                               "not say who confirmed it",))
    if confirmation.confirmed_at > now:
        return RideStatus(RideState.ARRANGED, (
            f"arranged: {who}{eta}; confirmation time {hm(confirmation.confirmed_at)} is in "
            "the future",))
    how = "by phone call" if confirmation.method is ConfirmMethod.PHONE_CALL else "on arrival"
    return RideStatus(RideState.CONFIRMED, (
        f"confirmed {how} by {confirmation.confirmed_by.strip()} at "
        f"{hm(confirmation.confirmed_at)}: {who}",))


__all__ = ["RideKind", "ConfirmMethod", "RideState", "RideArrangement", "RideConfirmation",
           "RideStatus", "driver_problems", "validate_ride", "ride_status", "MIN_PHONE_DIGITS"]
