"""Repository functions: what the UI, the rules and the reports call.

Write functions take the ``Session`` first and are meant to run on the writer::

    fut = db.writer.submit(repo.record_medication, visit_id, "ondansetron", 4, "mg", "IV",
                           user=current_user)

Every write takes the acting user (a ``User`` or its id), writes an audit row and raises the
change marker in the same transaction. Clinical entries are never updated or deleted: ``amend``
adds a new row. Read functions take a reader session (``session_scope``). Times are aware UTC;
``at=None`` means now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, and_, exists, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from nursestation.core.pinpolicy import PinPolicy, locked_after, pin_problem, wait_after
from nursestation.core.vocabulary import UNUSABLE
from nursestation.db.audit import append_audit, bump_change
from nursestation.db.models import (
    ACTIVE_PHASES,
    ALARM_PRIORITIES,
    ALARM_STATES,
    INFUSION_KINDS,
    PHASES,
    PUMP_CHANGE_STATUSES,
    RIDE_KINDS,
    ROLES,
    AlarmEvent,
    Assessment,
    Chair,
    ClinicalEntry,
    Device,
    DischargeDecision,
    InfusionEvent,
    LatestVital,
    MedicationAdministration,
    Note,
    Patient,
    PatientWeight,
    PumpChangeItem,
    RideArrangement,
    Screening,
    User,
    Visit,
    Vital,
    WaveChunk,
)
from nursestation.db.types import as_utc
from nursestation.db.waves import WaveBlock, decode

E = TypeVar("E", bound=ClinicalEntry)

#: A clinical time this far ahead of the workstation clock is refused (no pre-charting).
MAX_FUTURE_SKEW = timedelta(minutes=2)
#: A medication charted this long after it was given is flagged as a late entry.
LATE_ENTRY_AFTER = timedelta(minutes=15)

# argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()


class RecordError(ValueError):
    """A write the record refuses; the message says why, for the nurse."""


class AlreadyAmended(RecordError):
    def __init__(self, entry_type: str, entry_id: int, by_id: int) -> None:
        self.by_id = by_id
        super().__init__(f"{entry_type} #{entry_id} was already amended by #{by_id}; "
                         f"amend the current entry")


def _now(at: datetime | None = None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise RecordError("times must be timezone-aware")
    return at.astimezone(UTC)


def _acting(session: Session, user: User | int) -> User:
    uid = user.id if isinstance(user, User) else int(user)
    u = session.get(User, uid)
    if u is None or not u.active:
        raise PermissionError(f"user #{uid} does not exist or is not active")
    return u


def _charge(session: Session, user: User | int | None) -> User | None:
    if user is None:
        return None
    u = _acting(session, user)
    if u.role not in ("charge", "admin"):
        raise PermissionError(f"{u.display_name} is not a charge nurse; an override needs one")
    return u


def _clinical_time(at: datetime | None, now: datetime) -> datetime:
    t = _now(at) if at is not None else now
    if t - now > MAX_FUTURE_SKEW:
        raise RecordError(f"time {t.isoformat()} is in the future; entries cannot be pre-charted")
    return t


def _audit(session: Session, user: User | None, action: str, entity: Any, now: datetime,
           **extra: Any) -> None:
    append_audit(session, user, action, entity, at=now, extra=extra or None)
    bump_change(session)


def _visit(session: Session, visit_id: int) -> Visit:
    v = session.get(Visit, visit_id)
    if v is None:
        raise RecordError(f"no visit #{visit_id}")
    return v


# ------------------------------------------------------------------------------------------ users


def hash_pin(pin: str) -> str:
    return _hasher.hash(pin)


def check_pin_format(pin: str, role: str = "nurse", policy: PinPolicy | None = None) -> None:
    """Refuse a PIN the policy does not allow for ``role`` (too short, trivial, common)."""
    problem = pin_problem(pin, role, policy or PinPolicy())
    if problem is not None:
        raise RecordError(problem)


def create_user(session: Session, username: str, display_name: str, role: str, pin: str, *,
                user: User | int | None = None, policy: PinPolicy | None = None) -> User:
    """A new active user. ``user`` is the admin creating it (None from the command line)."""
    username = username.strip()
    if not username:
        raise RecordError("the username must not be empty")
    if role not in ROLES:
        raise RecordError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    check_pin_format(pin, role, policy)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise RecordError(f"user {username!r} already exists")
    actor = _acting(session, user) if user is not None else None
    now = _now()
    u = User(username=username, display_name=display_name.strip() or username, role=role,
             pin_hash=hash_pin(pin), active=True, created_at=now, failed_pins=0)
    session.add(u)
    _audit(session, actor, "create", u, now)
    return u


#: Access events kept in the audit log (HIPAA 164.312(b) audit controls). ``login_refused``:
#: a try while the account waits or is locked (the PIN was not even checked).
ACCESS_ACTIONS = ("login", "login_failed", "login_refused", "logout")
#: What a PIN was asked for (kept with each failure).
AUTH_PURPOSES = ("login", "unlock", "override")


@dataclass(frozen=True)
class AuthResult:
    """The answer to a PIN: ``user`` when it was right; else ``outcome`` says why not
    (``wrong``, ``wait``, ``locked``) and ``message`` is the line to show."""

    user: User | None
    outcome: str  # ok / wrong / wait / locked
    message: str = ""
    wait_s: float = 0.0
    failures: int = 0

    @property
    def ok(self) -> bool:
        return self.user is not None


WRONG_PIN = "Username or PIN not recognised."


def _writing(session: Session) -> bool:
    from nursestation.db.engine import WRITER_OPTION

    return bool(session.get_bind().get_execution_options().get(WRITER_OPTION))


def authenticate(session: Session, username: str, pin: str, *,
                 policy: PinPolicy | None = None, purpose: str = "login",
                 workstation: str = "") -> AuthResult:
    """Check a PIN, counting wrong ones per account in the database (every dialog, every
    workstation): after ``policy.delay_after`` in a row each further try waits (doubling),
    after ``policy.lockout_after`` the account is locked until ``unlock_user``. Every wrong or
    refused try is audited. Runs on the writer (it writes even when the PIN is wrong)."""
    if not _writing(session):
        raise RuntimeError("authenticate counts wrong PINs: run it on the writer "
                           "(db.writer.submit), not in a read session")
    policy = policy or PinPolicy()
    if purpose not in AUTH_PURPOSES:
        raise RecordError(f"purpose must be one of {', '.join(AUTH_PURPOSES)}")
    now = _now()
    q = select(User).where(User.username == username.strip())
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()  # two workstations' failures both count
    u = session.scalar(q)
    extra = {"username": username.strip(), "workstation": workstation, "purpose": purpose}
    if u is None or not u.active:
        _hasher.hash(pin)  # same work either way
        append_audit(session, None, "login_failed", None, at=now,
                     extra={**extra, "reason": "unknown or disabled user"})
        return AuthResult(None, "wrong", WRONG_PIN)
    failures = int(u.failed_pins or 0)
    if u.locked_at is not None:
        append_audit(session, None, "login_refused", None, entity_type="users",
                     entity_id=u.id, at=now, extra={**extra, "reason": "locked"})
        return AuthResult(None, "locked", _locked_message(failures), failures=failures)
    if u.last_failed_pin_at is not None:
        left = wait_after(failures, policy) - (now - as_utc(u.last_failed_pin_at)).total_seconds()
        if left > 0:
            append_audit(session, None, "login_refused", None, entity_type="users",
                         entity_id=u.id, at=now, extra={**extra, "reason": "wait"})
            return AuthResult(None, "wait", _wait_message(left), wait_s=left, failures=failures)
    try:
        _hasher.verify(u.pin_hash, pin)
    except (VerificationError, InvalidHashError):
        u.failed_pins = failures = failures + 1
        u.last_failed_pin_at = now
        if locked_after(failures, policy):
            u.locked_at = now
        append_audit(session, None, "login_failed", u, at=now,
                     extra={**extra, "failures": failures})
        if u.locked_at is not None:
            return AuthResult(None, "locked", _locked_message(failures), failures=failures)
        wait = wait_after(failures, policy)
        msg = WRONG_PIN + (" " + _wait_message(wait) if wait > 0 else "")
        return AuthResult(None, "wrong", msg, wait_s=wait, failures=failures)
    if failures or u.last_failed_pin_at is not None:
        u.failed_pins, u.last_failed_pin_at = 0, None
        append_audit(session, u, "failures_cleared", u, at=now,
                     extra={**extra, "failures_cleared": failures})
    return AuthResult(u, "ok")


def _locked_message(failures: int) -> str:
    return (f"Locked after {failures} failed attempts — ask an administrator to unlock "
            f"the account.")


def _wait_message(seconds: float) -> str:
    return f"Too many wrong PINs: wait {max(1, round(seconds))} s before the next try."


def record_access(session: Session, action: str, *, user: User | int | None = None,
                  username: str = "", workstation: str = "") -> None:
    """A login, a failed login (with the username tried) or a logout/lock, in the audit log."""
    if action not in ACCESS_ACTIONS:
        raise RecordError(f"access action must be one of {', '.join(ACCESS_ACTIONS)}")
    actor = _acting(session, user) if user is not None else None
    append_audit(session, actor, action, None, at=_now(),
                 extra={"username": username or (actor.username if actor else ""),
                        "workstation": workstation})


def _user_by_name(session: Session, username: str) -> User:
    u = session.scalar(select(User).where(User.username == username.strip()))
    if u is None:
        raise RecordError(f"no user {username!r}")
    return u


def unlock_user(session: Session, username: str, *, by: str, user: User | int | None = None
                ) -> User:
    """Clear an account's wrong-PIN count and lockout (an administrator's action; ``by`` names
    who did it when there is no logged-in admin, e.g. the OS account at the command line)."""
    actor = _acting(session, user) if user is not None else None
    u = _user_by_name(session, username)
    was = int(u.failed_pins or 0)
    u.failed_pins, u.last_failed_pin_at, u.locked_at = 0, None, None
    _audit(session, actor, "unlock", u, _now(), by=by, failures_cleared=was)
    return u


def set_user_active(session: Session, username: str, active: bool, *, by: str,
                    user: User | int | None = None) -> User:
    """Disable (or enable again) an account; it is never deleted (its entries name it)."""
    actor = _acting(session, user) if user is not None else None
    u = _user_by_name(session, username)
    if u.active == active:
        raise RecordError(f"{u.username} is already {'active' if active else 'disabled'}")
    u.active = active
    _audit(session, actor, "enable" if active else "disable", u, _now(), by=by)
    return u


def reset_pin(session: Session, username: str, pin: str, *, by: str,
              user: User | int | None = None, policy: PinPolicy | None = None) -> User:
    """Give an account a new PIN (checked against the policy); clears its lockout."""
    actor = _acting(session, user) if user is not None else None
    u = _user_by_name(session, username)
    check_pin_format(pin, u.role, policy)
    u.pin_hash = hash_pin(pin)
    u.failed_pins, u.last_failed_pin_at, u.locked_at = 0, None, None
    _audit(session, actor, "pin_reset", u, _now(), by=by)
    return u


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session, *, active_only: bool = True) -> list[User]:
    q = select(User).order_by(User.username)
    if active_only:
        q = q.where(User.active.is_(True))
    return list(session.scalars(q))


# --------------------------------------------------------------------------------------- patients


def create_patient(session: Session, mrn: str, family_name: str, given_name: str,
                   date_of_birth: date | None = None, allergies: str = "", *,
                   user: User | int) -> Patient:
    actor = _acting(session, user)
    mrn = mrn.strip()
    if not mrn:
        raise RecordError("the MRN must not be empty")
    if find_patient_by_mrn(session, mrn) is not None:
        raise RecordError(f"a patient with MRN {mrn} already exists")
    now = _now()
    p = Patient(mrn=mrn, family_name=family_name.strip(), given_name=given_name.strip(),
                date_of_birth=date_of_birth, allergies=allergies.strip(), created_at=now,
                created_by_id=actor.id)
    session.add(p)
    _audit(session, actor, "create", p, now)
    return p


def update_patient_allergies(session: Session, patient_id: int, allergies: str, reason: str, *,
                             user: User | int) -> Patient:
    """Change the allergy list (the audit trail keeps every earlier version)."""
    actor = _acting(session, user)
    p = session.get(Patient, patient_id)
    if p is None:
        raise RecordError(f"no patient #{patient_id}")
    if not reason.strip():
        raise RecordError("give a reason for the change")
    p.allergies = allergies.strip()
    now = _now()
    _audit(session, actor, "update", p, now, reason=reason.strip())
    return p


def find_patient_by_mrn(session: Session, mrn: str) -> Patient | None:
    return session.scalar(select(Patient).where(Patient.mrn == mrn.strip()))


def search_patients(session: Session, text: str, limit: int = 50) -> list[Patient]:
    """Patients whose MRN, family or given name contains ``text`` (case-insensitive)."""
    pattern = f"%{text.strip().lower()}%"
    q = (select(Patient)
         .where(or_(func.lower(Patient.mrn).like(pattern),
                    func.lower(Patient.family_name).like(pattern),
                    func.lower(Patient.given_name).like(pattern),
                    func.lower(Patient.given_name + " " + Patient.family_name).like(pattern)))
         .order_by(Patient.family_name, Patient.given_name).limit(limit))
    return list(session.scalars(q))


def add_weight(session: Session, patient_id: int, weight_kg: float, *, user: User | int,
               measured_at: datetime | None = None, visit_id: int | None = None) -> PatientWeight:
    actor = _acting(session, user)
    if not 1 <= weight_kg <= 400:
        raise RecordError(f"weight {weight_kg} kg is not plausible")
    now = _now()
    w = PatientWeight(patient_id=patient_id, visit_id=visit_id, weight_kg=float(weight_kg),
                      measured_at=_clinical_time(measured_at, now), recorded_at=now,
                      recorded_by_id=actor.id)
    session.add(w)
    _audit(session, actor, "create", w, now)
    return w


def latest_weight(session: Session, patient_id: int) -> PatientWeight | None:
    return session.scalar(select(PatientWeight).where(PatientWeight.patient_id == patient_id)
                          .order_by(PatientWeight.measured_at.desc(), PatientWeight.id.desc())
                          .limit(1))


def weight_history(session: Session, patient_id: int) -> list[PatientWeight]:
    return list(session.scalars(select(PatientWeight)
                                .where(PatientWeight.patient_id == patient_id)
                                .order_by(PatientWeight.measured_at, PatientWeight.id)))


# ---------------------------------------------------------------------------- chairs and devices


#: A workstation whose heartbeat is older than this is no longer running: its chairs may be
#: claimed by another (it writes one every HEARTBEAT_EVERY seconds while it runs).
HEARTBEAT_EVERY = timedelta(seconds=20)
WORKSTATION_STALE_AFTER = timedelta(seconds=90)


#: pg_advisory_xact_lock key for claiming chairs (ASCII "NSCHAIR").
_PG_CHAIRS_LOCK = 0x4E5343484149520


def start_workstation(session: Session, workstation: str, chairs: Sequence[Any], *,
                      host: str = "", version: str = "") -> dict[str, Chair]:
    """A station starts: its heartbeat, then its chairs (``sync_chairs``), in one
    transaction - refused as a whole when another running workstation owns a chair."""
    chairs_by_name = sync_chairs(session, chairs, workstation=workstation)
    heartbeat(session, workstation, host=host, version=version, starting=True)
    return chairs_by_name


class ChairClaimed(RecordError):
    """A chair of this workstation's config belongs to another workstation that is running."""


def heartbeat(session: Session, workstation: str, *, host: str = "", version: str = "",
              starting: bool = False, stopping: bool = False) -> None:
    """Record that ``workstation`` runs (or, ``stopping``, that it stopped cleanly)."""
    from nursestation.db.models import Workstation

    now = _now()
    ws = session.get(Workstation, workstation)
    if ws is None:
        ws = Workstation(id=workstation, host=host, version=version, started_at=now)
        session.add(ws)
    if starting:
        ws.started_at, ws.host, ws.version = now, host or ws.host, version or ws.version
    ws.heartbeat_at = None if stopping else now
    session.flush()


def live_workstations(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """Workstations whose heartbeat is recent, by id."""
    from nursestation.db.models import Workstation

    t = _now(now)
    return {w.id: w for w in session.scalars(select(Workstation))
            if w.heartbeat_at is not None
            and t - as_utc(w.heartbeat_at) <= WORKSTATION_STALE_AFTER}


def sync_chairs(session: Session, chairs: Sequence[Any], *, user: User | int | None = None,
                workstation: str = "") -> dict[str, Chair]:
    """Make the chairs and devices of ``workstation`` match its config (``ChairConfig``
    objects: ``name``, ``devices`` with ``id``, ``protocol``, ``url``). A workstation owns the
    chairs of its own config and never changes another's: a configured chair (or device) that
    another *running* workstation owns is refused (``ChairClaimed``, nothing changed); one of a
    workstation that stopped is taken over. Chairs of this workstation no longer configured are
    made inactive, never deleted. ``workstation`` "" is a single station (the chairs nobody
    claimed). Returns chairs by name."""
    actor = _acting(session, user) if user is not None else None
    now = _now()
    if workstation and session.get_bind().dialect.name == "postgresql":
        # two workstations starting at once: one checks and claims, then the other
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIRS_LOCK})
    existing = {c.name: c for c in session.scalars(select(Chair))}
    devices = {d.device_key: d for d in session.scalars(select(Device))}
    if workstation:
        live = live_workstations(session, now=now)
        chair_owner = {c.id: c.workstation for c in existing.values()}
        taken = []
        for cc in chairs:
            c = existing.get(cc.name)
            if c is not None and c.workstation not in ("", workstation) \
                    and c.workstation in live:
                taken.append(f"{cc.name} (workstation {c.workstation})")
            for dc in getattr(cc, "devices", ()):
                d = devices.get(dc.id)
                owner = chair_owner.get(d.chair_id, "") if d is not None and d.chair_id else ""
                if d is not None and owner not in ("", workstation) and owner in live and (
                        c is None or d.chair_id != c.id):
                    taken.append(f"device {dc.id} (workstation {owner})")
        if taken:
            raise ChairClaimed(
                f"this workstation ({workstation}) is configured with "
                f"{', '.join(taken)}, which another running workstation owns; two stations "
                f"never chart the same chair. Fix the chair names or device ids in one of the "
                f"configurations; nothing was changed")
    seen: set[str] = set()
    seen_devices: set[str] = set()
    for pos, cc in enumerate(chairs):
        chair = existing.get(cc.name)
        if chair is None:
            chair = Chair(name=cc.name, position=pos, active=True, workstation=workstation)
            session.add(chair)
            existing[cc.name] = chair
            _audit(session, actor, "create", chair, now)
        elif (chair.position, chair.active, chair.workstation) != (pos, True, workstation):
            before = chair.workstation
            chair.position, chair.active, chair.workstation = pos, True, workstation
            extra = {"from_workstation": before} if before != workstation else {}
            _audit(session, actor, "update", chair, now, **extra)
        seen.add(cc.name)
        session.flush()
        for dc in getattr(cc, "devices", ()):
            seen_devices.add(dc.id)
            dev = devices.get(dc.id)
            if dev is None:
                dev = Device(device_key=dc.id, chair_id=chair.id, protocol=dc.protocol,
                             url=dc.url, active=True)
                session.add(dev)
                devices[dc.id] = dev
                _audit(session, actor, "create", dev, now)
            elif (dev.chair_id, dev.protocol, dev.url, dev.active) != (
                    chair.id, dc.protocol, dc.url, True):
                dev.chair_id, dev.protocol, dev.url, dev.active = (
                    chair.id, dc.protocol, dc.url, True)
                _audit(session, actor, "update", dev, now)
    mine = {c.id for c in existing.values() if c.workstation == workstation}
    for name, chair in existing.items():
        if name not in seen and chair.active and chair.workstation == workstation:
            chair.active = False
            _audit(session, actor, "update", chair, now)
    for key, dev in devices.items():
        if key not in seen_devices and dev.active and dev.chair_id in mine:
            dev.active = False
            _audit(session, actor, "update", dev, now)
    return {n: c for n, c in existing.items() if n in seen}


def list_chairs(session: Session, *, active_only: bool = True) -> list[Chair]:
    q = select(Chair).order_by(Chair.workstation, Chair.position, Chair.name)  # by station
    if active_only:
        q = q.where(Chair.active.is_(True))
    return list(session.scalars(q))


def chair_by_name(session: Session, name: str) -> Chair | None:
    return session.scalar(select(Chair).where(Chair.name == name))


# ----------------------------------------------------------------------------------------- visits

_PHASE_COLUMNS = {
    "baseline": ("baseline_at", "baseline_by_id"),
    "infusing": ("infusion_start_at", "infusion_start_by_id"),
    "recovery": ("recovery_at", "recovery_by_id"),
    "discharged": ("discharge_at", "discharge_by_id"),
    "cancelled": ("cancelled_at", "cancelled_by_id"),
}


def create_visit(session: Session, patient_id: int, chair_id: int, protocol_name: str, *,
                 user: User | int, protocol_version: str = "", protocol_hash: str = "",
                 at: datetime | None = None) -> Visit:
    """Check a patient in to a chair. The course number is one more than the patient's earlier
    visits (cancelled ones not counted)."""
    actor = _acting(session, user)
    now = _now()
    t = _clinical_time(at, now)
    if session.get(Patient, patient_id) is None:
        raise RecordError(f"no patient #{patient_id}")
    chair = session.get(Chair, chair_id)
    if chair is None or not chair.active:
        raise RecordError(f"no active chair #{chair_id}")
    busy = active_visit_for_chair(session, chair_id)
    if busy is not None:
        raise RecordError(f"{chair.name} already has an active visit (#{busy.id})")
    other = session.scalar(select(Visit).where(Visit.patient_id == patient_id,
                                               Visit.phase.in_(ACTIVE_PHASES)))
    if other is not None:
        raise RecordError(f"the patient already has an active visit (#{other.id})")
    earlier = session.scalar(select(func.count(Visit.id)).where(
        Visit.patient_id == patient_id, Visit.phase != "cancelled")) or 0
    v = Visit(patient_id=patient_id, chair_id=chair_id, protocol_name=protocol_name,
              protocol_version=protocol_version, protocol_hash=protocol_hash,
              course_number=earlier + 1, phase="check_in", created_at=now,
              created_by_id=actor.id, checkin_at=t, checkin_by_id=actor.id)
    session.add(v)
    _audit(session, actor, "create", v, now)
    return v


def advance_phase(session: Session, visit_id: int, phase: str, *, user: User | int,
                  at: datetime | None = None) -> Visit:
    """Move the visit forward (check_in → baseline → infusing → recovery → discharged; cancelled
    from any active phase). Stamps the phase time and user; entering recovery also stamps the
    infusion stop when no one did. Going back is refused."""
    actor = _acting(session, user)
    if phase not in PHASES or phase == "check_in":
        raise RecordError(f"unknown phase {phase!r}")
    v = _visit(session, visit_id)
    if not v.active:
        raise RecordError(f"visit #{v.id} is already {v.phase}")
    order = PHASES.index
    if phase != "cancelled" and order(phase) <= order(v.phase):
        raise RecordError(f"visit #{v.id} is in {v.phase}; it cannot go back to {phase}")
    now = _now()
    t = _clinical_time(at, now)
    before = v.phase
    if phase == "recovery" and v.infusion_stop_at is None:
        v.infusion_stop_at, v.infusion_stop_by_id = t, actor.id
    at_col, by_col = _PHASE_COLUMNS[phase]
    setattr(v, at_col, t)
    setattr(v, by_col, actor.id)
    v.phase = phase
    _audit(session, actor, "phase", v, now, phase_from=before, phase_to=phase)
    return v


def get_visit(session: Session, visit_id: int) -> Visit | None:
    return session.get(Visit, visit_id)


def active_visits(session: Session) -> dict[int, Visit]:
    """Active visits by chair id."""
    return {v.chair_id: v for v in session.scalars(
        select(Visit).where(Visit.phase.in_(ACTIVE_PHASES)))}


def active_visit_for_chair(session: Session, chair_id: int) -> Visit | None:
    return session.scalar(select(Visit).where(Visit.chair_id == chair_id,
                                              Visit.phase.in_(ACTIVE_PHASES)))


def patient_visits(session: Session, patient_id: int) -> list[Visit]:
    return list(session.scalars(select(Visit).where(Visit.patient_id == patient_id)
                                .order_by(Visit.created_at, Visit.id)))


@dataclass(frozen=True)
class VisitSummary:
    id: int
    mrn: str
    patient: str
    chair: str
    started: datetime
    phase: str
    course_number: int


def list_visits(session: Session, *, limit: int | None = None) -> list[VisitSummary]:
    """Newest first."""
    q = (select(Visit, Patient, Chair).join(Patient, Patient.id == Visit.patient_id)
         .join(Chair, Chair.id == Visit.chair_id).order_by(Visit.created_at.desc(),
                                                            Visit.id.desc()))
    if limit:
        q = q.limit(limit)
    return [VisitSummary(v.id, p.mrn, p.full_name, c.name, v.checkin_at or v.created_at,
                         v.phase, v.course_number)
            for v, p, c in session.execute(q)]


# --------------------------------------------------------------------------- clinical entries


def _new_entry(session: Session, model: type[E], visit_id: int, actor: User | None,
               now: datetime, at: datetime | None, **values: Any) -> E:
    _visit(session, visit_id)
    entry = model(visit_id=visit_id, at=_clinical_time(at, now), recorded_at=now,
                  recorded_by_id=actor.id if actor is not None else None, voided=False, **values)
    session.add(entry)
    _audit(session, actor, "create", entry, now)
    return entry


def save_screening(session: Session, visit_id: int, answers: dict[str, Any], *,
                   user: User | int, passed: bool | None = None,
                   at: datetime | None = None) -> Screening:
    actor = _acting(session, user)
    return _new_entry(session, Screening, visit_id, actor, _now(), at, answers=dict(answers),
                      passed=passed)


def record_infusion_event(session: Session, visit_id: int, kind: str, *, user: User | int,
                          rate_ml_h: float | None = None, dose_mg_kg_h: float | None = None,
                          concentration_mg_ml: float | None = None,
                          reason_code: str | None = None, reason_text: str = "",
                          limit_confirmation: str | None = None,
                          override_by: User | int | None = None,
                          override_reason: str | None = None,
                          at: datetime | None = None) -> InfusionEvent:
    """Start / rate change / pause / resume / stop. Limits are checked by core/ before this;
    an override names a charge nurse and a reason."""
    actor = _acting(session, user)
    if kind not in INFUSION_KINDS:
        raise RecordError(f"kind must be one of {', '.join(INFUSION_KINDS)}, not {kind!r}")
    if kind in ("start", "rate_change", "resume") and rate_ml_h is None:
        raise RecordError(f"a {kind} needs the rate in mL/h")
    if rate_ml_h is not None and rate_ml_h < 0:
        raise RecordError("the rate cannot be negative")
    over = _charge(session, override_by)
    if over is not None and not (override_reason or "").strip():
        raise RecordError("an override needs a reason")
    return _new_entry(session, InfusionEvent, visit_id, actor, _now(), at, kind=kind,
                      rate_ml_h=rate_ml_h, dose_mg_kg_h=dose_mg_kg_h,
                      concentration_mg_ml=concentration_mg_ml, reason_code=reason_code,
                      reason_text=reason_text, limit_confirmation=limit_confirmation,
                      override_by_id=over.id if over else None,
                      override_reason=override_reason if over else None)


def record_medication(session: Session, visit_id: int, drug: str, dose: float, unit: str,
                      route: str, *, user: User | int, given_at: datetime | None = None,
                      site: str = "", indication: str = "",
                      override_by: User | int | None = None,
                      override_reason: str | None = None,
                      late_reason: str | None = None) -> MedicationAdministration:
    """A MAR entry. ``given_at`` may not be in the future; one charted more than
    ``LATE_ENTRY_AFTER`` after it was given, or with a ``late_reason``, is flagged
    ``late_entry``. Formulary and allergy checks are core/'s; an override names who (the nurse
    who gave the reason, or the charge nurse) and why: a reason without a name is refused."""
    actor = _acting(session, user)
    if dose <= 0:
        raise RecordError("the dose must be positive")
    over = _acting(session, override_by) if override_by is not None else None
    if override_reason is not None and not override_reason.strip():
        raise RecordError("an override needs a reason")
    if (override_reason is not None) != (over is not None):
        raise RecordError("an override names who overrode and why, both")
    now = _now()
    t = _clinical_time(given_at, now)
    return _new_entry(session, MedicationAdministration, visit_id, actor, now, t, drug=drug,
                      dose=float(dose), unit=unit, route=route, site=site,
                      indication=indication,
                      late_entry=(now - t) > LATE_ENTRY_AFTER or late_reason is not None,
                      late_reason=late_reason,
                      override_by_id=over.id if over else None, override_reason=override_reason)


def record_medication_response(session: Session, medication: MedicationAdministration | int,
                               response: str, *, user: User | int,
                               at: datetime | None = None) -> MedicationAdministration:
    """Chart the response to a dose (an amendment of the MAR entry)."""
    now = _now()
    return amend(session, medication, {"response": response,
                                       "response_at": _clinical_time(at, now)},
                 "response recorded", user=user, model=MedicationAdministration)


def record_assessment(session: Session, visit_id: int, scale: str, items: dict[str, Any],
                      score: float | None, *, user: User | int, note: str = "",
                      at: datetime | None = None, late_reason: str | None = None) -> Assessment:
    actor = _acting(session, user)
    return _new_entry(session, Assessment, visit_id, actor, _now(), at, scale=scale,
                      items=dict(items), score=None if score is None else float(score),
                      note=note, late_reason=late_reason)


def add_note(session: Session, visit_id: int, text: str, *, user: User | int,
             at: datetime | None = None, late_reason: str | None = None) -> Note:
    actor = _acting(session, user)
    if not text.strip():
        raise RecordError("the note is empty")
    return _new_entry(session, Note, visit_id, actor, _now(), at, text=text,
                      late_reason=late_reason)


_RIDE_FIELDS = ("kind", "driver_name", "relationship", "phone", "expected_arrival", "company",
                "booking_ref")


def save_ride(session: Session, visit_id: int, *, user: User | int, kind: str = "driver",
              driver_name: str = "", relationship: str = "", phone: str = "",
              expected_arrival: datetime | None = None, company: str = "",
              booking_ref: str = "", reason: str = "ride details changed") -> RideArrangement:
    """Record the ride home; if the visit already has one, the new details amend it (an earlier
    confirmation does not carry over). What makes a ride acceptable is core's rule
    (``core.ride.validate_ride``), applied by ``record.commands.save_ride``."""
    actor = _acting(session, user)
    if kind not in RIDE_KINDS:
        raise RecordError(f"ride kind must be one of {', '.join(RIDE_KINDS)}, not {kind!r}")
    values = dict(kind=kind, driver_name=driver_name.strip(), relationship=relationship.strip(),
                  phone=phone.strip(), expected_arrival=expected_arrival, company=company.strip(),
                  booking_ref=booking_ref.strip())
    current = current_entries(session, RideArrangement, visit_id)
    if current:
        values.update(confirmation_method=None, confirmed_by_id=None, confirmed_at=None)
        return amend(session, current[-1], values, reason, user=actor)
    now = _now()
    return _new_entry(session, RideArrangement, visit_id, actor, now, now, **values)


def confirm_ride(session: Session, ride: RideArrangement | int, method: str, *,
                 user: User | int, at: datetime | None = None) -> RideArrangement:
    """Confirmation (``method``: phone / arrival / ...) by the acting user: an amendment."""
    actor = _acting(session, user)
    now = _now()
    return amend(session, ride, {"confirmation_method": method, "confirmed_by_id": actor.id,
                                 "confirmed_at": _clinical_time(at, now)},
                 f"ride confirmed ({method})", user=actor, model=RideArrangement)


def record_discharge(session: Session, visit_id: int, criteria: list[dict[str, Any]],
                     all_met: bool, *, user: User | int, instructions_given: bool,
                     override_by: User | int | None = None, override_reason: str | None = None,
                     result: str = "discharged", at: datetime | None = None
                     ) -> DischargeDecision:
    """Sign the discharge (``user`` is the signer) with the gate's criteria snapshot; moves the
    visit to ``discharged``. Unmet criteria need a charge nurse's override with a reason."""
    actor = _acting(session, user)
    over = _charge(session, override_by)
    if not all_met and over is None:
        raise RecordError("discharge criteria are not all met; a charge nurse must override")
    if over is not None and not (override_reason or "").strip():
        raise RecordError("an override needs a reason")
    if not instructions_given:
        raise RecordError("confirm the discharge instructions were given")
    now = _now()
    t = _clinical_time(at, now)
    d = _new_entry(session, DischargeDecision, visit_id, actor, now, t, criteria=list(criteria),
                   result=result, all_met=all_met, override=over is not None,
                   override_reason=override_reason if over else None,
                   override_by_id=over.id if over else None, signer_id=actor.id,
                   instructions_given=True)
    if result == "discharged":
        advance_phase(session, visit_id, "discharged", user=actor, at=t)
    return d


def record_pump_change(session: Session, visit_id: int, chair_id: int, kind: str,
                       pump_values: dict[str, Any], *, user: User | int | None,
                       at: datetime | None = None) -> PumpChangeItem:
    """A pump-reported change no nurse entry explains: a pending item on the chair. ``user``
    None: the station's own scan found it (no one need be logged in); the nurse who resolves
    it signs the resolution."""
    actor = _acting(session, user) if user is not None else None
    return _new_entry(session, PumpChangeItem, visit_id, actor, _now(), at, chair_id=chair_id,
                      kind=kind, pump_values=dict(pump_values), status="pending")


def resolve_pump_change(session: Session, item: PumpChangeItem | int, status: str, reason: str,
                        *, user: User | int) -> PumpChangeItem:
    """Confirm (with its reason) or dismiss ("not a real change") a pending item."""
    if status not in PUMP_CHANGE_STATUSES or status == "pending":
        raise RecordError("status must be confirmed or dismissed")
    if not reason.strip():
        raise RecordError("give the reason")
    return amend(session, item, {"status": status, "resolution_reason": reason.strip()},
                 f"pump change {status}", user=user, model=PumpChangeItem)


def pending_pump_changes(session: Session, *, chair_id: int | None = None,
                         visit_id: int | None = None) -> list[PumpChangeItem]:
    q = _current_query(PumpChangeItem).where(PumpChangeItem.status == "pending",
                                             PumpChangeItem.voided.is_(False))
    if chair_id is not None:
        q = q.where(PumpChangeItem.chair_id == chair_id)
    if visit_id is not None:
        q = q.where(PumpChangeItem.visit_id == visit_id)
    return list(session.scalars(q.order_by(PumpChangeItem.at, PumpChangeItem.id)))


def record_alarm_event(session: Session, chair_id: int, alarm_key: str, code: str,
                       priority: str, state: str, *, values: dict[str, Any] | None = None,
                       message: str = "", visit_id: int | None = None,
                       user: User | int | None = None, at: datetime | None = None) -> AlarmEvent:
    """One alarm state change. ``user`` is who acknowledged/paused; None for the engine."""
    actor = _acting(session, user) if user is not None else None
    if state not in ALARM_STATES:
        raise RecordError(f"alarm state must be one of {', '.join(ALARM_STATES)}")
    if priority not in ALARM_PRIORITIES:
        raise RecordError(f"alarm priority must be one of {', '.join(ALARM_PRIORITIES)}")
    now = _now()
    ev = AlarmEvent(chair_id=chair_id, visit_id=visit_id, alarm_key=alarm_key, code=code,
                    priority=priority, state=state, message=message, values=dict(values or {}),
                    user_id=actor.id if actor else None, at=_clinical_time(at, now))
    session.add(ev)
    _audit(session, actor, "alarm", ev, now)
    return ev


def alarm_events(session: Session, *, chair_id: int | None = None, visit_id: int | None = None,
                 since: datetime | None = None) -> list[AlarmEvent]:
    q = select(AlarmEvent)
    if chair_id is not None:
        q = q.where(AlarmEvent.chair_id == chair_id)
    if visit_id is not None:
        q = q.where(AlarmEvent.visit_id == visit_id)
    if since is not None:
        q = q.where(AlarmEvent.at >= since)
    return list(session.scalars(q.order_by(AlarmEvent.at, AlarmEvent.id)))


# ------------------------------------------------------------------------------------ amendments

_NOT_AMENDABLE = frozenset({"id", "visit_id", "recorded_at", "recorded_by_id", "amends_id",
                            "root_id", "amend_reason"})


def amend(session: Session, entry: ClinicalEntry | int, changes: dict[str, Any], reason: str, *,
          user: User | int, model: type[ClinicalEntry] | None = None) -> Any:
    """Correct a clinical entry: a new row with ``changes`` applied, amending ``entry`` (which
    must be the current one of its chain), with who, when and why. ``{"voided": True}`` marks
    the entry as entered in error. Returns the new entry."""
    actor = _acting(session, user)
    if not reason.strip():
        raise RecordError("an amendment needs a reason")
    if isinstance(entry, ClinicalEntry):
        model, entry_id = type(entry), entry.id
    else:
        if model is None:
            raise TypeError("pass the entry, or its id with model=")
        entry_id = int(entry)
    old = session.get(model, entry_id)
    if old is None:
        raise RecordError(f"no {model.__tablename__} #{entry_id}")
    newer = session.scalar(select(model.id).where(model.amends_id == entry_id))
    if newer is not None:
        raise AlreadyAmended(model.__tablename__, entry_id, newer)
    columns = {a.key for a in model.__mapper__.column_attrs}
    bad = set(changes) - (columns - _NOT_AMENDABLE)
    if bad:
        raise RecordError(f"cannot amend {', '.join(sorted(bad))}")
    now = _now()
    if "at" in changes:
        changes = {**changes, "at": _clinical_time(changes["at"], now)}
    values = {k: getattr(old, k) for k in columns - _NOT_AMENDABLE}
    values.update(changes)
    new = model(**values, visit_id=old.visit_id, recorded_at=now, recorded_by_id=actor.id,
                amends_id=old.id, root_id=old.chain_id, amend_reason=reason.strip())
    session.add(new)
    _audit(session, actor, "amend", new, now, amends=old.id, reason=reason.strip())
    return new


def void_entry(session: Session, entry: ClinicalEntry | int, reason: str, *, user: User | int,
               model: type[ClinicalEntry] | None = None) -> Any:
    """Mark an entry as entered in error (it stays in the history)."""
    return amend(session, entry, {"voided": True}, reason, user=user, model=model)


def _current_query(model: type[E]):
    newer = aliased(model)
    return select(model).where(~exists().where(newer.amends_id == model.id))


def current_entries(session: Session, model: type[E], visit_id: int, *,
                    include_voided: bool = False) -> list[E]:
    """The current view: the latest version of every entry of this kind for the visit, in
    clinical time order."""
    q = _current_query(model).where(model.visit_id == visit_id)
    if not include_voided:
        q = q.where(model.voided.is_(False))
    return list(session.scalars(q.order_by(model.at, model.id)))


def current_entries_by_visit(session: Session, model: type[E], visit_ids: Iterable[int], *,
                             include_voided: bool = False) -> dict[int, list[E]]:
    """:func:`current_entries` for several visits in one query (the tiles, the overview)."""
    ids = list(visit_ids)
    out: dict[int, list[E]] = {vid: [] for vid in ids}
    if not ids:
        return out
    q = _current_query(model).where(model.visit_id.in_(ids))
    if not include_voided:
        q = q.where(model.voided.is_(False))
    for e in session.scalars(q.order_by(model.at, model.id)):
        out[e.visit_id].append(e)
    return out


def measurement_times_by_visit(session: Session, code: str, visit_ids: Iterable[int]
                               ) -> dict[int, list[datetime]]:
    """When each visit's usable ``code`` readings were measured (the device's time when it gave
    one), oldest first, in one query: e.g. every NIBP of every chair for the vitals schedule."""
    ids = list(visit_ids)
    out: dict[int, list[datetime]] = {vid: [] for vid in ids}
    if not ids:
        return out
    q = (select(Vital.visit_id, Vital.source_time, Vital.recv_time, Vital.quality)
         .where(Vital.visit_id.in_(ids), Vital.code == code, Vital.value.is_not(None),
                Vital.primary_site.is_(True))
         .order_by(Vital.recv_time, Vital.id))
    for visit_id, source, recv, quality in session.execute(q):
        flags = frozenset(f for f in (quality or "").split(",") if f)
        if visit_id is not None and not flags & UNUSABLE:
            out[visit_id].append(as_utc(source) if source else as_utc(recv))
    return out


def entry_history(session: Session, model: type[E], entry_id: int) -> list[E]:
    """Every version of the entry's chain, the original first."""
    e = session.get(model, entry_id)
    if e is None:
        return []
    root = e.chain_id
    return list(session.scalars(select(model).where(or_(model.id == root, model.root_id == root))
                                .order_by(model.id)))


def amended_chain_ids(session: Session, model: type[E], visit_id: int) -> set[int]:
    """Chain ids (``entry.chain_id``) of the visit's entries that have been amended."""
    return set(session.scalars(select(model.root_id).where(model.visit_id == visit_id,
                                                           model.root_id.is_not(None))))


@dataclass
class VisitRecord:
    """Everything charted for a visit, current view (for the gate, the detail and the report)."""

    visit: Visit
    patient: Patient
    chair: Chair
    screenings: list[Screening] = field(default_factory=list)
    infusion_events: list[InfusionEvent] = field(default_factory=list)
    medications: list[MedicationAdministration] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    rides: list[RideArrangement] = field(default_factory=list)
    discharges: list[DischargeDecision] = field(default_factory=list)
    pump_changes: list[PumpChangeItem] = field(default_factory=list)
    alarms: list[AlarmEvent] = field(default_factory=list)
    weights: list[PatientWeight] = field(default_factory=list)
    #: (table name, chain id) of entries that have earlier versions
    amended: set[tuple[str, int]] = field(default_factory=set)

    @property
    def ride(self) -> RideArrangement | None:
        return self.rides[-1] if self.rides else None


def visit_record(session: Session, visit_id: int) -> VisitRecord:
    v = _visit(session, visit_id)
    rec = VisitRecord(v, session.get_one(Patient, v.patient_id),
                      session.get_one(Chair, v.chair_id))
    for attr, model in (("screenings", Screening), ("infusion_events", InfusionEvent),
                        ("medications", MedicationAdministration), ("assessments", Assessment),
                        ("notes", Note), ("rides", RideArrangement),
                        ("discharges", DischargeDecision), ("pump_changes", PumpChangeItem)):
        setattr(rec, attr, current_entries(session, model, visit_id))
        rec.amended |= {(model.__tablename__, i)
                        for i in amended_chain_ids(session, model, visit_id)}
    rec.alarms = alarm_events(session, visit_id=visit_id)
    rec.weights = weight_history(session, v.patient_id)
    return rec


# ------------------------------------------------------------------------------ vitals and waves


@dataclass(frozen=True, slots=True)
class VitalSample:
    chair_id: int
    visit_id: int | None
    code: str
    value: float | None
    text: str | None
    unit: str
    quality: frozenset[str]
    source_time: datetime | None
    recv_time: datetime
    device_key: str
    site: str = ""  # core.vocabulary.Site; "" = the device's main site
    primary: bool = True  # False: another site than the chair's primary one (never for rules)

    @property
    def time(self) -> datetime:
        """The device's time when it gave one, else when received."""
        return self.source_time or self.recv_time


def _sample(row: Any) -> VitalSample:
    return VitalSample(row.chair_id, row.visit_id, row.code, row.value, row.text, row.unit,
                       frozenset(q for q in row.quality.split(",") if q),
                       as_utc(row.source_time) if row.source_time else None,
                       as_utc(row.recv_time), row.device_key,
                       getattr(row, "site", ""), getattr(row, "primary_site", True))


def latest_vitals(session: Session, chair_id: int | None = None) -> dict[int, dict[str, VitalSample]]:
    """The newest sample of every code, by chair id then code (check ``recv_time`` for age)."""
    q = select(LatestVital)
    if chair_id is not None:
        q = q.where(LatestVital.chair_id == chair_id)
    out: dict[int, dict[str, VitalSample]] = {}
    for lv in session.scalars(q):
        out.setdefault(lv.chair_id, {})[lv.code] = _sample(lv)
    return out


def vitals_in_range(session: Session, *, visit_id: int | None = None,
                    chair_id: int | None = None, start: datetime | None = None,
                    end: datetime | None = None, codes: Iterable[str] | None = None,
                    all_sites: bool = False) -> list[VitalSample]:
    """Stored samples by receive time in [start, end), oldest first (full disclosure, reports).

    Only the chair's primary site's samples unless ``all_sites``: every rule (discharge gate,
    schedule, overview, pump scan) reads them; a view that shows the other sites asks for all and
    names them (``core.vocabulary.site_display_name``)."""
    if visit_id is None and chair_id is None:
        raise TypeError("give visit_id or chair_id")
    cols = [Vital.chair_id, Vital.visit_id, Vital.code, Vital.value, Vital.text, Vital.unit,
            Vital.quality, Vital.source_time, Vital.recv_time, Vital.device_key, Vital.site,
            Vital.primary_site]
    conds: list[ColumnElement[bool]] = [] if all_sites else [Vital.primary_site.is_(True)]
    if visit_id is not None:
        conds.append(Vital.visit_id == visit_id)
    if chair_id is not None:
        conds.append(Vital.chair_id == chair_id)
    if start is not None:
        conds.append(Vital.recv_time >= start)
    if end is not None:
        conds.append(Vital.recv_time < end)
    if codes is not None:
        conds.append(Vital.code.in_([str(c) for c in codes]))
    q = select(*cols).where(and_(*conds)).order_by(Vital.recv_time, Vital.id)
    return [_sample(r) for r in session.execute(q)]


def wave_blocks(session: Session, code: str, *, visit_id: int | None = None,
                chair_id: int | None = None, start: datetime | None = None,
                end: datetime | None = None) -> list[WaveBlock]:
    """Decoded wave chunks overlapping [start, end), oldest first."""
    if visit_id is None and chair_id is None:
        raise TypeError("give visit_id or chair_id")
    q = select(WaveChunk).where(WaveChunk.code == str(code))
    if visit_id is not None:
        q = q.where(WaveChunk.visit_id == visit_id)
    if chair_id is not None:
        q = q.where(WaveChunk.chair_id == chair_id)
    if end is not None:
        q = q.where(WaveChunk.start_time < end)
    if start is not None:
        # chunks are short (about a flush interval); look back a minute for overlap
        q = q.where(WaveChunk.start_time >= start - timedelta(minutes=1))
    blocks = [WaveBlock(c.code, c.start_time, c.rate_hz, decode(c.data, c.encoding),
                        c.device_key, c.quality)
              for c in session.scalars(q.order_by(WaveChunk.start_time, WaveChunk.id))]
    if start is not None:
        blocks = [b for b in blocks if b.end_time > start]
    return blocks
