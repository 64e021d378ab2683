"""What a printed session summary shows, as plain data.

``VisitSummary`` is the one thing the PDF renderer reads. It is built from the database by
``build.build_summary`` (or by hand in tests and the benchmark) and holds no Qt and no SQLAlchemy
objects, so the renderer can be tested and timed on its own.

All datetimes are timezone-aware UTC, as stored; the renderer shows them in local time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

#: Vital-sign codes the chart and the timepoint table show, in display order.
CHART_CODES = ("HR", "SPO2", "NBP_SYS", "NBP_DIA", "RR")


@dataclass(frozen=True)
class Amendment:
    """One earlier version of an entry that a later entry corrected (or voided).

    ``original`` is the earlier entry as it was charted, in words ("ondansetron 8 mg IV");
    ``at``/``by``/``reason`` say when, by whom and why it was corrected.
    """

    original: str
    original_at: datetime | None
    original_by: str
    at: datetime
    by: str
    reason: str
    #: what the correction changed, in words ("route: IM → IV")
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Patient:
    name: str
    mrn: str
    date_of_birth: date | None = None
    allergies: str = ""  # "" = none recorded
    weight_kg: float | None = None


@dataclass(frozen=True)
class ScreeningAnswer:
    question: str
    answer: str
    ok: bool | None = None  # None: informational (no pass/fail)


@dataclass(frozen=True)
class Screening:
    answers: tuple[ScreeningAnswer, ...] = ()
    passed: bool | None = None
    at: datetime | None = None
    by: str = ""
    amendments: tuple[Amendment, ...] = ()
    #: blocking items unmet, in words with their reasons (``record.gate``)
    blocking_unmet: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dose:
    protocol_name: str
    protocol_version: str
    drug: str
    target_mg_per_kg: float | None
    target_mg: float | None
    planned_duration_min: float | None = None
    concentration_mg_ml: float | None = None
    delivered_mg: float | None = None  # from the charted rate history
    delivered_mg_per_kg: float | None = None
    pump_volume_ml: float | None = None  # the pump's own volume-infused counter
    infusion_start: datetime | None = None
    infusion_end: datetime | None = None
    note: str = ""  # e.g. how the delivered dose was worked out, or a discrepancy


@dataclass(frozen=True)
class VitalSample:
    at: datetime
    code: str  # HR, SPO2, NBP_SYS, NBP_DIA, RR (others are ignored by the chart)
    value: float


@dataclass(frozen=True)
class OtherSiteVitals:
    """The readings of one code at a site other than the chair's primary one (a second SpO2
    probe, a skin temperature beside the core one): summarised, never charted with the primary
    values, never used by the gate."""

    name: str  # as a nurse reads it: "SpO2 (right)"
    unit: str
    count: int
    low: float
    high: float
    last: float
    last_at: datetime
    first_at: datetime


@dataclass(frozen=True)
class TimepointVitals:
    """Vitals at one scheduled timepoint: the nearest measurement of each code."""

    label: str  # "Baseline", "40 min", "Infusion end", "Discharge"
    due: datetime | None  # when the timepoint was due
    values: dict[str, float | None] = field(default_factory=dict)  # code -> value
    measured_at: dict[str, datetime | None] = field(default_factory=dict)  # code -> time


@dataclass(frozen=True)
class DoseEvent:
    at: datetime
    event: str  # start, rate_change, pause, resume, stop
    rate_ml_h: float | None = None
    dose_mg_kg_h: float | None = None
    reason: str = ""
    by: str = ""
    override: str = ""  # "charge nurse X: reason", when a limit was overridden
    voided: bool = False
    amendments: tuple[Amendment, ...] = ()


@dataclass(frozen=True)
class MarEntry:
    drug: str
    dose: float
    unit: str
    route: str
    given_at: datetime
    given_by: str
    site: str = ""
    indication: str = ""
    response: str = ""
    response_at: datetime | None = None
    late_entry: bool = False
    recorded_at: datetime | None = None
    override_reason: str = ""
    override_by: str = ""
    voided: bool = False
    amendments: tuple[Amendment, ...] = ()


@dataclass(frozen=True)
class AssessmentEntry:
    at: datetime
    scale: str  # CADSS6, MOAAS, NAUSEA, ALDRETE, ...
    score: float | str | None
    by: str
    items: tuple[tuple[str, str], ...] = ()  # (item, answer)
    note: str = ""
    voided: bool = False
    amendments: tuple[Amendment, ...] = ()


@dataclass(frozen=True)
class NoteEntry:
    at: datetime
    text: str
    by: str
    voided: bool = False
    amendments: tuple[Amendment, ...] = ()


@dataclass(frozen=True)
class AlarmRecord:
    at: datetime
    priority: str  # high / medium / low
    code: str
    message: str
    acknowledged_by: str = ""
    acknowledged_at: datetime | None = None
    cleared_at: datetime | None = None


@dataclass(frozen=True)
class AlarmSummary:
    counts: dict[str, int] = field(default_factory=dict)  # priority -> alarms raised
    high: tuple[AlarmRecord, ...] = ()  # every high-priority alarm, with who acknowledged it
    markers: tuple[AlarmRecord, ...] = ()  # alarms to mark on the chart (high and medium)


@dataclass(frozen=True)
class Criterion:
    name: str
    met: bool
    detail: str = ""


@dataclass(frozen=True)
class Discharge:
    outcome: str  # "discharged", "not_ready", ...
    at: datetime | None
    all_met: bool
    criteria: tuple[Criterion, ...] = ()
    override: bool = False
    override_reason: str = ""
    override_by: str = ""
    signed_by: str = ""
    instructions_given: bool = False
    instructions: tuple[str, ...] = ()
    amendments: tuple[Amendment, ...] = ()


@dataclass(frozen=True)
class Ride:
    kind: str  # "driver" or "car_service"
    driver_name: str = ""
    relationship: str = ""
    phone: str = ""
    company: str = ""
    booking_ref: str = ""
    expected_arrival: datetime | None = None
    confirmed_by: str = ""
    confirmed_at: datetime | None = None
    confirmation_method: str = ""
    amendments: tuple[Amendment, ...] = ()


@dataclass(frozen=True)
class Signature:
    """An electronic signature as 21 CFR 11.50 asks it to appear: printed name, date and time,
    and the meaning of the signature (e.g. "administered", "discharge decision")."""

    name: str
    role: str
    at: datetime
    meaning: str


@dataclass(frozen=True)
class VisitSummary:
    clinic: str
    visit_id: int
    patient: Patient
    visit_date: date
    course_number: int
    course_length: int | None
    chair: str
    nurses: tuple[str, ...]
    dose: Dose
    phase: str = ""
    checkin_at: datetime | None = None
    discharge_at: datetime | None = None
    screening: Screening | None = None
    vitals: tuple[VitalSample, ...] = ()
    #: usable readings from sites other than the chair's primary one, per code and site
    other_sites: tuple[OtherSiteVitals, ...] = ()
    timepoints: tuple[TimepointVitals, ...] = ()
    dose_timeline: tuple[DoseEvent, ...] = ()
    mar: tuple[MarEntry, ...] = ()
    assessments: tuple[AssessmentEntry, ...] = ()
    notes: tuple[NoteEntry, ...] = ()
    alarms: AlarmSummary = field(default_factory=AlarmSummary)
    discharge: Discharge | None = None
    ride: Ride | None = None
    signatures: tuple[Signature, ...] = ()
    protocol_sha256: str = ""
    #: the audit chain's head when printed, also anchored outside the database
    audit_anchor: str = ""
