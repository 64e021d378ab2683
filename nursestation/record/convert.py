"""Rows of the record → core's types: the one conversion of each, so no view converts its own.

No Qt, no decisions: an infusion event row becomes a ``core.dosing.InfusionEvent`` here and
nowhere else (the dose panel and the printed summary once each converted them, and differed).
"""

from __future__ import annotations

from collections.abc import Iterable

from nursestation.core import dosing
from nursestation.core import pumpchanges as pump
from nursestation.core.discharge import VitalSample
from nursestation.core.medications import GivenDose
from nursestation.core.ride import ConfirmMethod, RideConfirmation, RideKind
from nursestation.core.ride import RideArrangement as CoreRide
from nursestation.core.vocabulary import UNUSABLE
from nursestation.db import repo
from nursestation.db.models import (
    InfusionEvent,
    MedicationAdministration,
    PatientWeight,
    RideArrangement,
)


def infusion_event(row: InfusionEvent) -> dosing.InfusionEvent:
    return dosing.InfusionEvent(dosing.EventKind(row.kind), row.at, row.rate_ml_h)


def infusion_events(rows: Iterable[InfusionEvent]) -> tuple[dosing.InfusionEvent, ...]:
    """The charted pump history, voided entries left out."""
    return tuple(infusion_event(r) for r in rows if not r.voided)


def charted_event(row: InfusionEvent) -> pump.ChartedEvent:
    """An infusion event as the pump-change matcher reads it."""
    return pump.ChartedEvent(row.kind, row.at, row.rate_ml_h)


def pump_reading(sample: repo.VitalSample) -> pump.PumpReading | None:
    """A stored PUMP_RATE / PUMP_STATE sample as the pump-change scan reads it (None when it
    carries no value)."""
    value = sample.text if sample.code == pump.STATE else sample.value
    return None if value is None else pump.PumpReading(sample.code, value, sample.time)


def weight_record(row: PatientWeight) -> dosing.WeightRecord:
    return dosing.WeightRecord(row.weight_kg, row.measured_at, row.recorded_at, row.visit_id,
                               row.id)


def given_dose(row: MedicationAdministration) -> GivenDose:
    return GivenDose(row.drug, row.dose, row.at)


def vital_sample(sample: repo.VitalSample) -> VitalSample | None:
    """A stored numeric sample as the discharge gate reads it (None when it has no value)."""
    if sample.value is None:
        return None
    return VitalSample(sample.code, float(sample.value), sample.time,
                       usable=not (sample.quality & UNUSABLE))


def ride(row: RideArrangement) -> CoreRide:
    return CoreRide(RideKind(row.kind), driver_name=row.driver_name,
                    relationship=row.relationship, phone=row.phone,
                    expected_arrival=row.expected_arrival, company=row.company,
                    booking_reference=row.booking_ref)


def ride_confirmation(row: RideArrangement, confirmed_by: str) -> RideConfirmation | None:
    if row.confirmed_at is None:
        return None
    try:
        method = ConfirmMethod(row.confirmation_method or "")
    except ValueError:
        method = ConfirmMethod.PHONE_CALL if "phone" in (row.confirmation_method or "") \
            else ConfirmMethod.ARRIVAL
    return RideConfirmation(method, confirmed_by, row.confirmed_at)


__all__ = ["charted_event", "given_dose", "infusion_event", "infusion_events", "pump_reading",
           "ride", "ride_confirmation", "vital_sample", "weight_record"]
