"""Build a ``VisitSummary`` from the clinical record (db repository functions, read-only).

The summary shows the current view of every entry; where an entry was corrected, the earlier
version is attached as an ``Amendment`` (original value, who, when, why). Follow-up entries that
only complete an entry - a medication's response, a ride's confirmation - are part of the normal
workflow, not corrections, and are not marked as amendments.

The patient's weight, the concentration and the delivered dose come from the visit read model
(``record.visit.read_visit``): the same figures as the chair's dose panel, the discharge gate and
the overview (the dose stops at the bag's VTBI). The pump's own volume-infused counter is shown
beside it. Amendment histories are walked by ``record.history``, the one walker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from nursestation.core import vocabulary
from nursestation.core.alarms import PRIORITY_NAMES
from nursestation.core.protocol import TreatmentProtocol
from nursestation.core.vocabulary import UNUSABLE
from nursestation.db import repo
from nursestation.db.audit import chain_head
from nursestation.db.models import (
    AlarmEvent,
    Assessment,
    ClinicalEntry,
    InfusionEvent,
    MedicationAdministration,
    Note,
    RideArrangement,
    Screening,
)
from nursestation.record import entries as in_words
from nursestation.record import history
from nursestation.record.gate import unmet_blocking_screening
from nursestation.record.visit import VisitView, read_visit
from nursestation.report import model as m

_SCREENING_LABELS = {
    "last_solids_at": "Last solids",
    "last_liquids_at": "Last clear liquids",
    "last_clear_liquids_at": "Last clear liquids",
    "last_alcohol_at": "Last alcohol",
    "alcohol_24h": "Alcohol in the last 24 h",
    "denies_recent_alcohol": "Denies recent alcohol",
    "medications": "Current medications",
    "consent": "Consent signed",
    "ride_arranged": "Ride home arranged",
}


class UnknownVisit(LookupError):
    pass


_Users = history.Users


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None or v == "":
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, datetime):
        return v.astimezone().strftime("%H:%M")
    if isinstance(v, str):
        try:
            dt = datetime.fromisoformat(v)
        except ValueError:
            return v
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone().strftime("%Y-%m-%d %H:%M")
    if isinstance(v, list | tuple):
        return ", ".join(_fmt_value(x) for x in v) or "-"
    return str(v)


# ----------------------------------------------------------------------------- amendments


def _amendments(session: Session, entry: ClinicalEntry, users: _Users
                ) -> tuple[m.Amendment, ...]:
    """Each correction of the entry: the version it replaced in words (``record.entries``, as
    the history view says it) and what it changed, field by field in words."""
    if entry.root_id is None and entry.amends_id is None:
        return ()
    out = []
    for step in history.chain(session, type(entry), entry.id).steps():
        if step.completion:
            continue  # completion, not a correction
        old, new = step.before, step.after
        out.append(m.Amendment(original=in_words.describe(old), original_at=_utc(old.at),
                               original_by=users.name(old.recorded_by_id),
                               at=_utc(new.recorded_at), by=users.name(new.recorded_by_id),
                               reason=new.amend_reason or "",
                               changes=in_words.step_changes(step)))
    return tuple(out)


# ---------------------------------------------------------------------------------- sections


def _screening(session: Session, rec: repo.VisitRecord, users: _Users,
               protocol: TreatmentProtocol) -> m.Screening | None:
    if not rec.screenings:
        return None
    sc = rec.screenings[-1]
    answers: list[m.ScreeningAnswer] = []
    raw = sc.answers or {}
    items = raw.get("items") if isinstance(raw.get("items"), list) else None
    if items:  # a snapshot of core's ScreeningResult: [{name, passed, detail}, ...]
        for it in items:
            if isinstance(it, dict):
                answers.append(m.ScreeningAnswer(str(it.get("name", "")),
                                                 str(it.get("detail", "")), it.get("passed")))
    for key, value in raw.items():
        if key == "items":
            continue
        if isinstance(value, dict):  # nested protocol questions: text -> yes/no
            for q, a in value.items():
                answers.append(m.ScreeningAnswer(str(q), _fmt_value(a),
                                                 a if isinstance(a, bool) else None))
            continue
        label = _SCREENING_LABELS.get(key, key.replace("_", " ").capitalize())
        answers.append(m.ScreeningAnswer(label, _fmt_value(value)))
    unmet = unmet_blocking_screening(session, [rec.visit.id], protocol).get(rec.visit.id, ())
    return m.Screening(answers=tuple(answers), passed=sc.passed, at=_utc(sc.at),
                       by=users.name(sc.recorded_by_id), blocking_unmet=unmet,
                       amendments=_amendments(session, sc, users))


def _dose(rec: repo.VisitRecord, protocol: TreatmentProtocol, view: VisitView) -> m.Dose:
    """The dose section: every figure from the visit read model."""
    v = rec.visit
    d = protocol.dosing
    weight = view.weight_kg
    target_mg = d.dose_mg_per_kg * weight if weight else None
    events = [e for e in rec.infusion_events if not e.voided]
    conc = view.concentration_mg_ml
    notes: list[str] = []
    if conc is not None and view.concentration.plan is not None and events:
        notes.append(f"Concentration not charted; taken as the protocol's target dose in "
                     f"{d.bag_volume_ml:g} mL.")
    elif conc is not None and not events:
        conc = None  # nothing was infused: no concentration to report
    dd = view.delivered if events else None
    if dd is not None and dd.notes:
        notes.append("Rate history: " + "; ".join(dd.notes) + ".")
    if dd is not None and dd.bag_empty and dd.vtbi_reached_at is not None:
        notes.append(f"The bag's {view.vtbi_ml:g} mL (VTBI) ran out at "
                     f"{dd.vtbi_reached_at.astimezone():%H:%M}.")
    if dd is not None and view.pump_comparison is not None \
            and not view.pump_comparison.within_tolerance:
        notes.append(view.pump_comparison.message)
    start = _utc(v.infusion_start_at) or (min((_utc(e.at) for e in events), default=None))
    end = _utc(v.infusion_stop_at) or next(
        (_utc(e.at) for e in reversed(events) if e.kind == "stop"), None)
    return m.Dose(
        protocol_name=v.protocol_name or protocol.name,
        protocol_version=v.protocol_version or protocol.version, drug=protocol.drug,
        target_mg_per_kg=d.dose_mg_per_kg, target_mg=target_mg,
        planned_duration_min=d.duration_min, concentration_mg_ml=conc,
        delivered_mg=dd.dose_mg if dd else None,
        delivered_mg_per_kg=dd.dose_mg_per_kg if dd else None,
        pump_volume_ml=view.pump_volume.ml if view.pump_volume else None,
        infusion_start=start, infusion_end=end, note=" ".join(notes))


def _timepoints(vitals: list[m.VitalSample], protocol: TreatmentProtocol,
                start: datetime | None, end: datetime | None, discharge: datetime | None
                ) -> tuple[m.TimepointVitals, ...]:
    by_code: dict[str, list[m.VitalSample]] = {}
    for s in vitals:
        by_code.setdefault(s.code, []).append(s)
    window = timedelta(minutes=15)

    def pick(due: datetime, before_only: bool) -> m.TimepointVitals:
        vals: dict[str, float | None] = {}
        times: dict[str, datetime | None] = {}
        for code in m.CHART_CODES:
            cands = [s for s in by_code.get(code, ())
                     if (s.at <= due if before_only else abs(s.at - due) <= window)]
            best = (max(cands, key=lambda s: s.at) if before_only
                    else min(cands, key=lambda s: abs(s.at - due))) if cands else None
            vals[code] = best.value if best else None
            times[code] = best.at if best else None
        return vals, times

    out = []
    if start is not None:
        vals, times = pick(start, True)
        out.append(m.TimepointVitals("Baseline", start, vals, times))
        for mins in protocol.schedule.infusing_bp_at_min:
            due = start + timedelta(minutes=mins)
            vals, times = pick(due, False)
            out.append(m.TimepointVitals(f"{mins:g} min", due, vals, times))
    if end is not None:
        vals, times = pick(end, False)
        out.append(m.TimepointVitals("Infusion end", end, vals, times))
    if discharge is not None:
        vals, times = pick(discharge, True)
        out.append(m.TimepointVitals("Discharge", discharge, vals, times))
    return tuple(out)


def _other_sites(session: Session, visit_id: int) -> tuple[m.OtherSiteVitals, ...]:
    """Usable readings from sites other than the chair's primary one, per code and site."""
    codes = [c for c in vocabulary.SITES if c in vocabulary.NUMERIC_CODES]
    groups: dict[tuple[str, str], list[repo.VitalSample]] = {}
    for s in repo.vitals_in_range(session, visit_id=visit_id, codes=codes, all_sites=True):
        if s.primary or s.value is None or (s.quality & UNUSABLE):
            continue
        groups.setdefault((s.code, s.site), []).append(s)
    out = []
    for (code, site), samples in groups.items():
        values = [float(x.value) for x in samples if x.value is not None]
        last = max(samples, key=lambda x: x.time)
        # the embedded font (Bitstream Vera) has no subscript two: "SpO2", as the chart says
        name = vocabulary.site_display_name(code, site, primary=False).replace("\u2082", "2")
        out.append(m.OtherSiteVitals(
            name,
            samples[0].unit or vocabulary.UNITS.get(code, ""), len(values), min(values),
            max(values), float(last.value or 0.0), _utc(last.time),
            _utc(min(x.time for x in samples))))
    return tuple(sorted(out, key=lambda o: o.name))


def _alarms(events: list[AlarmEvent], users: _Users) -> m.AlarmSummary:
    counts = dict.fromkeys(PRIORITY_NAMES, 0)
    open_: dict[str, dict[str, Any]] = {}
    done: list[dict[str, Any]] = []
    for ev in events:
        if ev.state == "raised":
            if ev.alarm_key in open_:
                done.append(open_.pop(ev.alarm_key))
            counts[ev.priority] = counts.get(ev.priority, 0) + 1
            open_[ev.alarm_key] = {"at": _utc(ev.at), "priority": ev.priority, "code": ev.code,
                                   "message": ev.message or ev.code}
            continue
        occ = open_.get(ev.alarm_key)
        if occ is None:
            continue
        if ev.state in ("acknowledged", "paused") and "ack_at" not in occ:
            occ["ack_at"], occ["ack_by"] = _utc(ev.at), users.name(ev.user_id)
        elif ev.state == "cleared":
            occ["cleared"] = _utc(ev.at)
            done.append(open_.pop(ev.alarm_key))
    done += open_.values()
    recs = [m.AlarmRecord(o["at"], o["priority"], o["code"], o["message"],
                          acknowledged_by=o.get("ack_by", ""), acknowledged_at=o.get("ack_at"),
                          cleared_at=o.get("cleared")) for o in done]
    recs.sort(key=lambda r: r.at)
    return m.AlarmSummary(counts=counts, high=tuple(r for r in recs if r.priority == "high"),
                          markers=tuple(r for r in recs if r.priority in ("high", "medium")))


def _assessment_score(a: Assessment) -> float | str | None:
    if a.score is not None:
        return a.score
    items = a.items or {}
    for key in ("level", "value", "score"):
        if key in items:
            return str(items[key])
    if len(items) == 1:
        return str(next(iter(items.values())))
    return None


def build_summary(session: Session, visit_id: int, protocol: TreatmentProtocol, *,
                  clinic: str = "NurseStation", now: datetime | None = None) -> m.VisitSummary:
    """Everything the printed summary shows for one visit, as of ``now`` (default: the wall
    clock; the station passes its clock). Raises ``UnknownVisit``."""
    if repo.get_visit(session, visit_id) is None:
        raise UnknownVisit(f"no visit #{visit_id}")
    view = read_visit(session, visit_id, protocol, now or datetime.now(UTC))
    rec = repo.visit_record(session, visit_id)
    v = rec.visit
    users = _Users(session)
    # include voided entries too: they stay visible, marked, with their history
    for attr, model in (("infusion_events", InfusionEvent), ("medications",
                                                             MedicationAdministration),
                        ("assessments", Assessment), ("notes", Note)):
        setattr(rec, attr, repo.current_entries(session, model, visit_id, include_voided=True))

    weight = view.weight_kg
    samples = repo.vitals_in_range(session, visit_id=visit_id, codes=m.CHART_CODES)
    vitals: list[m.VitalSample] = []
    for s in samples:
        if s.value is None or (s.quality & UNUSABLE):
            continue
        vitals.append(m.VitalSample(_utc(s.time), s.code, float(s.value)))
    vitals.sort(key=lambda s: s.at)

    discharge_at = _utc(v.discharge_at)
    dose = _dose(rec, protocol, view)

    timeline = tuple(
        m.DoseEvent(
            at=_utc(e.at), event=e.kind, rate_ml_h=e.rate_ml_h,
            dose_mg_kg_h=e.dose_mg_kg_h if e.dose_mg_kg_h is not None else (
                e.rate_ml_h * dose.concentration_mg_ml / weight
                if e.rate_ml_h is not None and dose.concentration_mg_ml and weight else None),
            reason="; ".join(x for x in (e.reason_code or "", e.reason_text or "",
                                         f"limit confirmed: {e.limit_confirmation}"
                                         if e.limit_confirmation else "") if x),
            by=users.name(e.recorded_by_id),
            override=(f"{users.name(e.override_by_id)}: {e.override_reason}"
                      if e.override_by_id else ""),
            voided=e.voided, amendments=_amendments(session, e, users))
        for e in rec.infusion_events)

    mar = tuple(
        m.MarEntry(drug=x.drug, dose=x.dose, unit=x.unit, route=x.route, given_at=_utc(x.at),
                   given_by=users.name(x.recorded_by_id if x.root_id is None else
                                       history.chain(session, MedicationAdministration,
                                                     x.id).original.recorded_by_id),
                   site=x.site, indication=x.indication, response=x.response or "",
                   response_at=_utc(x.response_at), late_entry=x.late_entry,
                   recorded_at=_utc(x.recorded_at if x.root_id is None else
                                    history.chain(session, MedicationAdministration,
                                                  x.id).original.recorded_at),
                   override_reason=x.override_reason or "",
                   override_by=users.name(x.override_by_id) if x.override_by_id else "",
                   voided=x.voided, amendments=_amendments(session, x, users))
        for x in rec.medications)

    assessments = tuple(
        m.AssessmentEntry(at=_utc(a.at), scale=vocabulary.scale_name(a.scale),
                          score=_assessment_score(a), by=users.name(a.recorded_by_id),
                          items=tuple((vocabulary.display_name(str(k)) if not str(k).isdigit()
                                       else f"item {k}:", _fmt_value(val))
                                      for k, val in (a.items or {}).items()
                                      if k not in ("level", "value", "score")),
                          note=a.note or "", voided=a.voided,
                          amendments=_amendments(session, a, users))
        for a in rec.assessments)

    notes = tuple(m.NoteEntry(_utc(n.at), n.text, users.name(n.recorded_by_id), n.voided,
                              _amendments(session, n, users)) for n in rec.notes)

    discharge = None
    if rec.discharges:
        dd = rec.discharges[-1]
        crit = tuple(m.Criterion(str(c.get("name", "")), bool(c.get("met")),
                                 str(c.get("detail", ""))) for c in (dd.criteria or [])
                     if isinstance(c, dict))
        discharge = m.Discharge(
            outcome=dd.result, at=_utc(dd.at), all_met=dd.all_met, criteria=crit,
            override=dd.override, override_reason=dd.override_reason or "",
            override_by=users.name(dd.override_by_id) if dd.override_by_id else "",
            signed_by=users.name(dd.signer_id), instructions_given=dd.instructions_given,
            instructions=protocol.discharge.instructions,
            amendments=_amendments(session, dd, users))

    ride = None
    if rec.ride is not None:
        r = rec.ride
        ride = m.Ride(kind=r.kind, driver_name=r.driver_name, relationship=r.relationship,
                      phone=r.phone, company=r.company, booking_ref=r.booking_ref,
                      expected_arrival=_utc(r.expected_arrival),
                      confirmed_by=users.name(r.confirmed_by_id) if r.confirmed_by_id else "",
                      confirmed_at=_utc(r.confirmed_at),
                      confirmation_method=r.confirmation_method or "",
                      amendments=_amendments(session, r, users))

    signatures = _signatures(session, rec, users, mar)

    nurse_ids: list[int] = []
    for uid in (v.checkin_by_id, v.baseline_by_id, v.infusion_start_by_id,
                *(e.recorded_by_id for e in rec.infusion_events),
                *(x.recorded_by_id for x in rec.medications),
                *(a.recorded_by_id for a in rec.assessments),
                *(n.recorded_by_id for n in rec.notes),
                *(d.signer_id for d in rec.discharges), v.discharge_by_id):
        if uid is not None and uid not in nurse_ids:
            nurse_ids.append(uid)

    return m.VisitSummary(
        clinic=clinic, visit_id=v.id,
        patient=m.Patient(rec.patient.full_name, rec.patient.mrn, rec.patient.date_of_birth,
                          rec.patient.allergies or "", weight),
        visit_date=(_utc(v.checkin_at) or _utc(v.created_at)).astimezone().date(),
        course_number=v.course_number, course_length=protocol.course_length,
        chair=rec.chair.name, nurses=tuple(users.name(u) for u in nurse_ids),
        dose=dose, phase=v.phase, checkin_at=_utc(v.checkin_at), discharge_at=discharge_at,
        screening=_screening(session, rec, users, protocol), vitals=tuple(vitals),
        other_sites=_other_sites(session, visit_id),
        timepoints=_timepoints(vitals, protocol, dose.infusion_start, dose.infusion_end,
                               discharge_at),
        dose_timeline=timeline, mar=mar, assessments=assessments, notes=notes,
        alarms=_alarms(rec.alarms, users), discharge=discharge, ride=ride,
        signatures=signatures, protocol_sha256=v.protocol_hash or protocol.sha256,
        audit_anchor=str(chain_head(session, anchor=True)),
    )


def _signatures(session: Session, rec: repo.VisitRecord, users: _Users,
                mar: tuple[m.MarEntry, ...]) -> tuple[m.Signature, ...]:
    """The signed acts of the visit, each with printed name, role, time and meaning."""
    sigs: list[tuple[datetime, int | None, str]] = []
    v = rec.visit
    for sc in rec.screenings[-1:]:
        sigs.append((_utc(sc.recorded_at), sc.recorded_by_id, "check-in screening verified"))
    for e in rec.infusion_events:
        if e.kind in ("start", "stop") and not e.voided:
            sigs.append((_utc(e.recorded_at) if e.root_id is None else _utc(e.at),
                         e.recorded_by_id, f"infusion {e.kind} charted"))
    for x in rec.medications:
        first = history.chain(session, MedicationAdministration, x.id).original
        sigs.append((_utc(first.recorded_at), first.recorded_by_id,
                     f"administered {first.drug} {first.dose:g} {first.unit} {first.route}"
                     + (" (late entry)" if first.late_entry else "")))
    for model, entries in ((InfusionEvent, rec.infusion_events),
                           (MedicationAdministration, rec.medications),
                           (Assessment, rec.assessments), (Note, rec.notes),
                           (RideArrangement, rec.rides), (Screening, rec.screenings)):
        for e in entries:
            if e.root_id is None:
                continue
            for step in history.chain(session, model, e.id).steps():
                new = step.after
                if step.completion:
                    if model is RideArrangement:
                        sigs.append((_utc(new.recorded_at), new.recorded_by_id,
                                     "ride home confirmed"))
                    continue
                verb = "voided" if step.voids else "corrected"
                sigs.append((_utc(new.recorded_at), new.recorded_by_id,
                             f"{verb} {model.__tablename__.replace('_', ' ').rstrip('s')}: "
                             f"{new.amend_reason}"))
    for d in rec.discharges:
        if d.override_by_id:
            sigs.append((_utc(d.recorded_at), d.override_by_id,
                         "override of the discharge gate"))
        sigs.append((_utc(d.recorded_at), d.signer_id, f"discharge decision: {d.result}"))
    if not rec.discharges and v.cancelled_at:
        sigs.append((_utc(v.cancelled_at), v.cancelled_by_id, "visit cancelled"))
    sigs.sort(key=lambda s: s[0])
    return tuple(m.Signature(users.name(uid), users.role(uid), at, meaning)
                 for at, uid, meaning in sigs)
