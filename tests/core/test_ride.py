from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nursestation
from nursestation.core.protocol import load_protocol
from nursestation.core.ride import (
    ConfirmMethod,
    RideArrangement,
    RideConfirmation,
    RideKind,
    RideState,
    ride_status,
    validate_ride,
)

PROTOCOL = load_protocol(
    Path(nursestation.__file__).parent / "resources" / "protocols" / "ketamine-iv.toml")
DC = PROTOCOL.discharge
NOW = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
DRIVER = RideArrangement(RideKind.DRIVER, driver_name="Sam Lee", relationship="spouse",
                         phone="+1 (555) 010-2233", expected_arrival=NOW + timedelta(minutes=30))
CAB = RideArrangement(RideKind.CAR_SERVICE, company="City Cars", booking_reference="CC-1042")


def test_no_ride_recorded():
    s = ride_status(None, None, DC, NOW)
    assert s.state is RideState.NONE and s.reasons == ("no ride home recorded",)


def test_driver_arranged_then_confirmed_by_phone():
    s = ride_status(DRIVER, None, DC, NOW)
    assert s.state is RideState.ARRANGED
    assert "Sam Lee (spouse" in s.reasons[0] and "expected 11:30" in s.reasons[0]
    s = ride_status(DRIVER, RideConfirmation(ConfirmMethod.PHONE_CALL, "RN Diaz", NOW), DC, NOW)
    assert s.confirmed
    assert s.reasons[0].startswith("confirmed by phone call by RN Diaz at 11:00")


def test_driver_needs_every_field():
    problems = validate_ride(RideArrangement(RideKind.DRIVER), DC)
    assert len(problems) == 4
    bad_phone = replace(DRIVER, phone="12345")
    assert "not a phone number" in validate_ride(bad_phone, DC)[0]
    assert ride_status(replace(DRIVER, relationship=""), None, DC, NOW).state is RideState.NONE


def test_patient_drives_is_never_accepted():
    s = ride_status(RideArrangement(RideKind.PATIENT_DRIVES),
                    RideConfirmation(ConfirmMethod.ARRIVAL, "RN Diaz", NOW), DC, NOW)
    assert s.state is RideState.NONE
    assert "may not drive" in s.reasons[0]


def test_car_service_only_where_the_protocol_allows_it():
    ok = ride_status(CAB, RideConfirmation(ConfirmMethod.ARRIVAL, "RN Diaz", NOW), DC, NOW)
    assert ok.confirmed and "City Cars (booking CC-1042)" in ok.reasons[0]
    s = ride_status(CAB, None, replace(DC, car_service_allowed=False), NOW)
    assert s.state is RideState.NONE
    assert "does not allow a car service" in s.reasons[0]
    assert validate_ride(replace(CAB, booking_reference=""), DC) == (
        "car service booking reference missing",)


def test_confirmation_needs_who_and_a_past_time():
    later = RideConfirmation(ConfirmMethod.ARRIVAL, "RN Diaz", NOW + timedelta(minutes=5))
    assert ride_status(DRIVER, later, DC, NOW).state is RideState.ARRANGED
    nobody = RideConfirmation(ConfirmMethod.ARRIVAL, " ", NOW)
    assert ride_status(DRIVER, nobody, DC, NOW).state is RideState.ARRANGED
