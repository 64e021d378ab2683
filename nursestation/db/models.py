"""The clinical record: SQLAlchemy 2 typed models.

Two kinds of table:

- *Clinical entries* (``ClinicalEntry`` subclasses: screening, infusion events, medications,
  assessments, notes, rides, discharge decisions, pump-change items) are append-only. A
  correction is a new row whose ``amends_id`` names the row it replaces, with who, when and why;
  ``root_id`` names the first row of the chain. The current view is the rows nothing amends.
  ``amends_id`` is unique, so a chain can never fork.
- Reference and administrative rows (users, patients, chairs, devices, visits) and machine logs
  (vitals, wave chunks, alarm events, audit log). Visits gain their phase timestamps as the
  visit moves on; each change is audited with the row's full content.

All times are aware UTC datetimes (``UTCDateTime``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from nursestation.core.alarms import PRIORITY_NAMES
from nursestation.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("nurse", "charge", "admin")
PHASES = ("check_in", "baseline", "infusing", "recovery", "discharged", "cancelled")
ACTIVE_PHASES = ("check_in", "baseline", "infusing", "recovery")
INFUSION_KINDS = ("start", "rate_change", "pause", "resume", "stop")
PUMP_CHANGE_STATUSES = ("pending", "confirmed", "dismissed")
#: raised; latched (condition over, still unacknowledged); acknowledged; audio paused/resumed;
#: escalated (unacknowledged too long); cleared.
ALARM_STATES = ("raised", "latched", "acknowledged", "paused", "resumed", "escalated", "cleared")
ALARM_PRIORITIES = PRIORITY_NAMES
RIDE_KINDS = ("driver", "car_service")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }

    #: Columns whose value the audit trail stores only as a SHA-256 (secrets).
    audit_redact: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={getattr(self, 'id', None)}>"


# --------------------------------------------------------------------------------- people, places


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    audit_redact: ClassVar[frozenset[str]] = frozenset({"pin_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    pin_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    #: wrong PINs in a row (any dialog, any workstation); see ``repo.authenticate``
    failed_pins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failed_pin_at: Mapped[datetime | None]
    locked_at: Mapped[datetime | None]  # locked out after too many wrong PINs; an admin unlocks

    @property
    def is_charge(self) -> bool:
        return self.role in ("charge", "admin")


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(64), unique=True)
    family_name: Mapped[str] = mapped_column(String(200), index=True)
    given_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    allergies: Mapped[str] = mapped_column(Text, default="")  # free text; "" = none recorded
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


class PatientWeight(Base):
    """Weight history: one row per measurement (never overwritten)."""

    __tablename__ = "patient_weights"
    __table_args__ = (CheckConstraint("weight_kg > 0", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    weight_kg: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Chair(Base):
    __tablename__ = "chairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the workstation whose config has this chair ("" before any claimed it)
    workstation: Mapped[str] = mapped_column(String(64), default="", server_default="")


class Workstation(Base):
    """A station on the shared database and its heartbeat: a chair belongs to one live
    workstation at a time (``repo.sync_chairs``)."""

    __tablename__ = "workstations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime | None]  # None: stopped cleanly


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_key: Mapped[str] = mapped_column(String(100), unique=True)  # the config's device id
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("chairs.id"))
    protocol: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# ------------------------------------------------------------------------------------------ visits


class Visit(Base):
    """One infusion session. Phase timestamps are filled in as the visit moves forward."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint(_in("phase", PHASES), name="phase"),
        CheckConstraint("course_number >= 1", name="course_number"),
        Index("ix_visits_chair_id_phase", "chair_id", "phase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"))
    protocol_name: Mapped[str] = mapped_column(String(200))
    protocol_version: Mapped[str] = mapped_column(String(64), default="")
    protocol_hash: Mapped[str] = mapped_column(String(64), default="")  # sha256 of the file
    course_number: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checkin_at: Mapped[datetime | None]
    checkin_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    baseline_at: Mapped[datetime | None]
    baseline_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    infusion_start_at: Mapped[datetime | None]
    infusion_start_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    infusion_stop_at: Mapped[datetime | None]
    infusion_stop_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recovery_at: Mapped[datetime | None]
    recovery_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    discharge_at: Mapped[datetime | None]
    discharge_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES


# -------------------------------------------------------------------------------- clinical entries


class ClinicalEntry(Base):
    """Columns every append-only clinical entry has. ``at`` is when it happened (clinical time);
    ``recorded_at`` is when it was charted."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    voided: Mapped[bool] = mapped_column(Boolean, default=False)  # "entered in error"
    amend_reason: Mapped[str | None] = mapped_column(Text)
    #: why it was charted late (e.g. after discharge); None for an entry charted in time
    late_reason: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def visit_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("visits.id"), index=True)

    @declared_attr
    def recorded_by_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def amends_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey(f"{cls.__tablename__}.id"), unique=True)

    @declared_attr
    def root_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey(f"{cls.__tablename__}.id"), index=True)

    @property
    def chain_id(self) -> int:
        """The id of the first entry of this entry's amendment chain."""
        return self.root_id if self.root_id is not None else self.id


class Screening(ClinicalEntry):
    """Check-in screening answers. ``answers`` keys used by the UI: last_solids_at,
    last_liquids_at (ISO times), alcohol_24h, medications, consent, ride_arranged, ..."""

    __tablename__ = "screenings"

    answers: Mapped[dict[str, Any]]
    passed: Mapped[bool | None] = mapped_column(Boolean)


class InfusionEvent(ClinicalEntry):
    __tablename__ = "infusion_events"
    __table_args__ = (CheckConstraint(_in("kind", INFUSION_KINDS), name="kind"),)

    kind: Mapped[str] = mapped_column(String(16))
    rate_ml_h: Mapped[float | None] = mapped_column(Float)
    dose_mg_kg_h: Mapped[float | None] = mapped_column(Float)
    concentration_mg_ml: Mapped[float | None] = mapped_column(Float)
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    limit_confirmation: Mapped[str | None] = mapped_column(Text)  # soft limit: nurse's reason
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)


class MedicationAdministration(ClinicalEntry):
    """A MAR entry; ``at`` is the time given. The response is charted later as an amendment."""

    __tablename__ = "medication_administrations"

    drug: Mapped[str] = mapped_column(String(100))
    dose: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(32))
    site: Mapped[str] = mapped_column(String(100), default="")
    indication: Mapped[str] = mapped_column(String(100), default="")
    response: Mapped[str | None] = mapped_column(Text)
    response_at: Mapped[datetime | None]
    late_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)


class Assessment(ClinicalEntry):
    __tablename__ = "assessments"

    scale: Mapped[str] = mapped_column(String(32))  # CADSS6, MOAAS, NAUSEA, ALDRETE, ...
    items: Mapped[dict[str, Any]]
    score: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")


class Note(ClinicalEntry):
    __tablename__ = "notes"

    text: Mapped[str] = mapped_column(Text)


class RideArrangement(ClinicalEntry):
    """Who takes the patient home. Confirmation is charted as an amendment (``confirm_ride``)."""

    __tablename__ = "ride_arrangements"
    __table_args__ = (CheckConstraint(_in("kind", RIDE_KINDS), name="kind"),)

    kind: Mapped[str] = mapped_column(String(16), default="driver")
    driver_name: Mapped[str] = mapped_column(String(200), default="")
    relationship: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    expected_arrival: Mapped[datetime | None]
    company: Mapped[str] = mapped_column(String(200), default="")
    booking_ref: Mapped[str] = mapped_column(String(100), default="")
    confirmation_method: Mapped[str | None] = mapped_column(String(32))  # phone / arrival / ...
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class DischargeDecision(ClinicalEntry):
    __tablename__ = "discharge_decisions"

    criteria: Mapped[list[Any]]  # snapshot: [{"name", "met", "detail", ...}, ...]
    result: Mapped[str] = mapped_column(String(32))  # e.g. "discharged", "not_ready"
    all_met: Mapped[bool] = mapped_column(Boolean)
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    instructions_given: Mapped[bool] = mapped_column(Boolean, default=False)


class PumpChangeItem(ClinicalEntry):
    """A pump-reported change no nurse entry explained. Resolving it is an amendment that sets
    ``status`` to confirmed or dismissed."""

    __tablename__ = "pump_change_items"
    __table_args__ = (CheckConstraint(_in("status", PUMP_CHANGE_STATUSES), name="status"),)

    @declared_attr
    def recorded_by_id(cls) -> Mapped[int | None]:  # type: ignore[override]  # nullable here only
        """None: found by the station's own scan, whoever is logged in (or no one)."""
        return mapped_column(ForeignKey("users.id"), nullable=True)

    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"))
    kind: Mapped[str] = mapped_column(String(16))  # rate_change / pause / stop ...
    pump_values: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    resolution_reason: Mapped[str | None] = mapped_column(Text)


CLINICAL_MODELS: tuple[type[ClinicalEntry], ...] = (
    Screening, InfusionEvent, MedicationAdministration, Assessment, Note, RideArrangement,
    DischargeDecision, PumpChangeItem,
)


# ------------------------------------------------------------------------------- machine records


class AlarmEvent(Base):
    """One alarm state change (raised, acknowledged, paused, escalated, cleared)."""

    __tablename__ = "alarm_events"
    __table_args__ = (
        CheckConstraint(_in("state", ALARM_STATES), name="state"),
        CheckConstraint(_in("priority", ALARM_PRIORITIES), name="priority"),
        Index("ix_alarm_events_chair_id_at", "chair_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    alarm_key: Mapped[str] = mapped_column(String(100))  # stable id of the alarm condition
    code: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    values: Mapped[dict[str, Any]]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]


class Vital(Base):
    """One numeric (or text status) sample."""

    __tablename__ = "vitals"
    __table_args__ = (
        Index("ix_vitals_visit_id_code_recv_time", "visit_id", "code", "recv_time"),
        Index("ix_vitals_chair_id_recv_time", "chair_id", "recv_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    device_key: Mapped[str] = mapped_column(String(100), default="")
    code: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), default="")
    quality: Mapped[str] = mapped_column(String(200), default="")  # sorted, comma-separated
    source_time: Mapped[datetime | None]
    recv_time: Mapped[datetime]
    #: where it was measured (core.vocabulary.Site): "" = the device's main site
    site: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: False: not the chair's primary site for its code when received (core.readings.SitePicker):
    #: shown with its site, never read by a rule (alarms, discharge gate, overview, schedule)
    primary_site: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class LatestVital(Base):
    """The newest sample per chair and code, kept up to date by the writer (for the overview)."""

    __tablename__ = "latest_vitals"

    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    device_key: Mapped[str] = mapped_column(String(100), default="")
    value: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), default="")
    quality: Mapped[str] = mapped_column(String(200), default="")
    source_time: Mapped[datetime | None]
    recv_time: Mapped[datetime]


class WaveChunk(Base):
    """Consecutive wave samples, compressed (``encoding`` says how; see ``waves.decode``)."""

    __tablename__ = "wave_chunks"
    __table_args__ = (
        Index("ix_wave_chunks_visit_id_code_start_time", "visit_id", "code", "start_time"),
        Index("ix_wave_chunks_chair_id_code_start_time", "chair_id", "code", "start_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    device_key: Mapped[str] = mapped_column(String(100), default="")
    code: Mapped[str] = mapped_column(String(32))
    start_time: Mapped[datetime]  # time of the first sample
    rate_hz: Mapped[float] = mapped_column(Float)
    n_samples: Mapped[int] = mapped_column(Integer)
    encoding: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[str] = mapped_column(String(200), default="")


class AuditLog(Base):
    """Tamper-evident log: ``hash = sha256(prev_hash + canonical content)``. ``detail`` is the
    canonical JSON text (kept as text so no backend reorders it). ``prev_hash`` is unique: two
    writers can never both append after the same row."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_entity_type_entity_id", "entity_type", "entity_id"),)


class ChangeMarker(Base):
    """One row; ``seq`` goes up in every clinical, visit or alarm write transaction."""

    __tablename__ = "change_marker"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class StationMeta(Base):
    """Facts about the database itself: its id (``database_id``, named by the audit anchors
    kept outside it), the audit key's id, where the keyed chain starts, and the demo marker."""

    __tablename__ = "station_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


#: Tables the database itself keeps append-only (SQLite triggers, PostgreSQL triggers and
#: grants): every clinical entry, the machine records and the audit log. Users, patients,
#: chairs, devices and visits change in place (each change audited with the row's content).
APPEND_ONLY_TABLES: tuple[str, ...] = (
    *(m.__tablename__ for m in CLINICAL_MODELS),
    "patient_weights", "alarm_events", "vitals", "wave_chunks", "audit_log",
)


# ------------------------------------------------------------------------- HL7 outbound queue

HL7_KINDS = ("vitals", "summary")
HL7_OUTCOMES = ("accepted", "refused", "error")


class Hl7Outbound(Base):
    """One HL7 message for the EHR, as built (``payload``: the exact bytes sent, every time
    under the same ``control_id``). Never changed: its delivery is the attempts' log."""

    __tablename__ = "hl7_outbound"
    __table_args__ = (CheckConstraint(_in("kind", HL7_KINDS), name="kind"),
                      Index("ix_hl7_outbound_visit_id_kind", "visit_id", "kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    control_id: Mapped[str] = mapped_column(String(20), unique=True)  # MSH-10
    kind: Mapped[str] = mapped_column(String(16))
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    destination: Mapped[str] = mapped_column(String(300))  # mllp://host:port
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    covers_from: Mapped[datetime | None]  # vitals: the observation times it covers
    covers_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Hl7Attempt(Base):
    """One delivery attempt: ``accepted`` (AA/CA), ``refused`` (the receiver answered AE/AR),
    ``error`` (unreachable, refused the connection, no answer in time)."""

    __tablename__ = "hl7_outbound_attempts"
    __table_args__ = (CheckConstraint(_in("outcome", HL7_OUTCOMES), name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("hl7_outbound.id"), index=True)
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    ack_code: Mapped[str] = mapped_column(String(4), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


MODELS_BY_TABLE: dict[str, type[Base]] = {
    m.class_.__tablename__: m.class_ for m in Base.registry.mappers
}
