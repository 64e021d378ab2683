"""MAR checks: a proposed administration against the protocol's formulary and the visit so far.

What each rule does when it trips (see :class:`~nursestation.core.dosing.Severity`):

- drug not in the formulary, unless charted explicitly as "other" with a reason: REFUSED
  (pick it from the list, or chart it as other and say why); "other" with a reason: NOTE.
- route not allowed for the drug: BLOCK (override with a reason).
- dose above ``max_per_dose_mg``: REFUSED when the drug's ``max_per_dose_hard`` is true (a hard
  limit: no override), else SOFT. A dose that was already given in error is charted as what it
  was (``given_in_error`` with a reason): NOTE, flagged for the charge nurse.
- visit total above ``max_per_visit_mg``, or sooner than ``min_interval_min`` after the last
  dose of that drug: SOFT (confirm with a reason).
- the patient's allergy list matches the drug's name or one of its ``allergy_terms``
  (case-insensitive, either way round as a substring): BLOCK (override with a reason).
- time given in the future beyond the clock-skew tolerance: REFUSED (no pre-charting).
- time given more than ``late_after_min`` before the entry time: NOTE (late entry; allowed).

A nurse can always chart what happened; only the future time, an unknown drug and a planned dose
over a hard maximum are refused (the last one is chartable as given in error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from nursestation.core.dosing import Decision, Finding, Severity
from nursestation.core.protocol import PURPOSES, FormularyDrug

OTHER_DRUG = "other"

#: Clock-skew tolerance for "time given is not in the future" (the station's and the nurse's
#: idea of now may differ by a little). unknown: conservative, 1 min.
DEFAULT_SKEW_S = 60.0
#: Back-charting more than this long after the dose was given is flagged as a late entry.
#: unknown: conservative, 10 min.
DEFAULT_LATE_AFTER_MIN = 10.0

_EPS = 1e-9

#: Routes the record knows; a route outside this list is a typing slip, refused. A known route
#: the drug's formulary entry does not allow is a block (override with a reason).
KNOWN_ROUTES = ("IV", "ODT", "IM", "PO", "SC", "SL", "IN", "PR")
#: Units a dose off the formulary may be charted in (a formulary drug uses its own unit).
KNOWN_UNITS = ("mg", "mcg", "g", "mL", "units")
#: A dose above this many times the drug's maximum per dose cannot be a real administration:
#: refused as a typing slip (check the number and the unit). unknown: conservative, ×10.
IMPLAUSIBLE_FACTOR = 10.0
#: The same for a drug off the formulary (no maximum known). unknown: conservative, 10 g.
IMPLAUSIBLE_OTHER_MG = 10_000.0


@dataclass(frozen=True)
class ProposedAdministration:
    drug: str  # a formulary name, or "other"
    dose_mg: float
    route: str
    given_at: datetime
    other_drug_name: str = ""  # when drug == "other": what was given
    other_reason: str = ""  # when drug == "other": why it is off the formulary
    unit: str = ""  # "" means the formulary drug's own unit
    #: the dose was already given and exceeded a hard maximum: chart what happened, flagged
    given_in_error: bool = False
    error_reason: str = ""


@dataclass(frozen=True)
class GivenDose:
    """An administration already charted this visit (not entered in error)."""

    drug: str
    dose_mg: float
    given_at: datetime


def _fmt(t: datetime, tz: tzinfo | None = None) -> str:
    """HH:MM in the display time zone (UTC unless the caller gives the clinic's zone)."""
    return t.astimezone(tz or UTC).strftime("%H:%M")


def _minutes(td: timedelta) -> float:
    return td.total_seconds() / 60.0


#: What records "no known drug allergies" (any case).
NO_KNOWN_ALLERGIES = ("NKDA", "NKA")
#: Allergy-list entries that mean "no known allergy".
NO_ALLERGY = ("none", *(w.lower() for w in NO_KNOWN_ALLERGIES))


def split_allergies(text: str) -> tuple[str, ...]:
    """The patient's free-text allergy list as entries (commas, semicolons or lines), without
    the "none known" words."""
    parts = [p.strip() for chunk in text.replace(";", ",").splitlines() for p in chunk.split(",")]
    return tuple(p for p in parts if p and p.lower() not in NO_ALLERGY)


def allergies_problem(text: str) -> str | None:
    """None when ``text`` records the allergies ("NKDA", or the allergies and reactions); else
    what to enter. Blank is not "none": nobody asked (it was stored as "none recorded")."""
    t = text.strip()
    if not t:
        return ("Enter the allergies: NKDA (no known drug allergies), or each allergy and its "
                "reaction.")
    if t.lower() in ("none", "no", "nil", "n/a", "-"):
        return "Enter NKDA for no known drug allergies (so it is clear someone asked)."
    return None


def allergy_matches(allergies: Sequence[str], drug: FormularyDrug) -> tuple[str, ...]:
    """Allergy-list entries that match the drug's name or one of its allergy terms."""
    terms = [t.strip().lower() for t in (drug.name, *drug.allergy_terms) if t.strip()]
    hits = []
    for allergy in allergies:
        a = allergy.strip().lower()
        # the term inside the allergy ("ondansetron (rash)"), or a specific enough allergy inside
        # a term; very short entries ("on") would match almost anything
        if a and any(t in a or (len(a) >= 4 and a in t) for t in terms):
            hits.append(allergy.strip())
    return tuple(hits)


def check_time_given(given_at: datetime, entered_at: datetime, *,
                     skew_s: float = DEFAULT_SKEW_S,
                     late_after_min: float = DEFAULT_LATE_AFTER_MIN,
                     display_tz: tzinfo | None = None) -> Decision:
    """No charting ahead of time; late back-charting is allowed and flagged."""
    ahead = (given_at - entered_at).total_seconds()
    if ahead > skew_s:
        return Decision((Finding(
            "time_given", Severity.REFUSED,
            f"time given {_fmt(given_at, display_tz)} is {ahead / 60:.0f} min in the future "
            f"(entry time {_fmt(entered_at, display_tz)}); medications are charted after they "
            "are given",
            limit=skew_s, value=ahead),))
    behind = _minutes(entered_at - given_at)
    if behind > late_after_min + _EPS:
        return Decision((Finding(
            "late_entry", Severity.NOTE,
            f"late entry: given {_fmt(given_at, display_tz)}, "
            f"charted {_fmt(entered_at, display_tz)} "
            f"({behind:.0f} min later, more than {late_after_min:g} min)",
            limit=late_after_min, value=behind),))
    return Decision((Finding("time_given", Severity.OK,
                             f"given {_fmt(given_at, display_tz)}"),))


def check_administration(
    proposed: ProposedAdministration,
    formulary: Sequence[FormularyDrug],
    given_this_visit: Sequence[GivenDose],
    allergies: Sequence[str],
    entered_at: datetime,
    *,
    skew_s: float = DEFAULT_SKEW_S,
    late_after_min: float = DEFAULT_LATE_AFTER_MIN,
    display_tz: tzinfo | None = None,
) -> Decision:
    """Every MAR rule for one proposed administration, each finding with its numbers."""
    out: list[Finding] = list(check_time_given(
        proposed.given_at, entered_at, skew_s=skew_s, late_after_min=late_after_min,
        display_tz=display_tz).findings)
    if not proposed.dose_mg > 0 or proposed.dose_mg == float("inf"):
        out.append(Finding("dose", Severity.REFUSED,
                           f"dose {proposed.dose_mg:g} is not a valid dose",
                           value=proposed.dose_mg))
    if proposed.route.strip() not in KNOWN_ROUTES:
        out.append(Finding("route", Severity.REFUSED,
                           f"route {proposed.route.strip()!r} is not a route the record knows "
                           f"({', '.join(KNOWN_ROUTES)})"))

    if proposed.drug.strip().lower() == OTHER_DRUG:
        unit = proposed.unit.strip() or "mg"
        if unit not in KNOWN_UNITS:
            out.append(Finding("unit", Severity.REFUSED,
                               f"unit {unit!r} is not one of {', '.join(KNOWN_UNITS)}"))
        if unit == "mg" and proposed.dose_mg > IMPLAUSIBLE_OTHER_MG:
            out.append(Finding("dose", Severity.REFUSED,
                               f"{proposed.dose_mg:g} mg is not a plausible dose (more than "
                               f"{IMPLAUSIBLE_OTHER_MG:g} mg): check the number and the unit",
                               limit=IMPLAUSIBLE_OTHER_MG, value=proposed.dose_mg))
        name = proposed.other_drug_name.strip()
        if not name or not proposed.other_reason.strip():
            out.append(Finding("formulary", Severity.REFUSED,
                               "a drug off the formulary needs its name and a reason"))
        else:
            out.append(Finding("formulary", Severity.NOTE,
                               f"{name} is not in the protocol formulary; charted as other: "
                               f"{proposed.other_reason.strip()}", "formulary.drug"))
            # allergy check still applies, by name only
            hits = allergy_matches(allergies, FormularyDrug(
                name=name, usual_dose_mg=0, unit="mg", routes=(proposed.route,),
                max_per_dose_mg=0, max_per_visit_mg=0, min_interval_min=0, allergy_terms=()))
            if hits:
                out.append(Finding("allergy", Severity.BLOCK,
                                   f"allergy on record: {', '.join(hits)} "
                                   f"matches {name}"))
        return Decision(tuple(out))

    drug = next((d for d in formulary if d.name.lower() == proposed.drug.strip().lower()), None)
    if drug is None:
        names = ", ".join(d.name for d in formulary)
        out.append(Finding("formulary", Severity.REFUSED,
                           f"{proposed.drug!r} is not in the protocol formulary ({names}); "
                           f"choose \"other\" and give a reason", "formulary.drug"))
        return Decision(tuple(out))
    key = f"formulary.drug[{drug.name}]"
    if proposed.unit.strip() and proposed.unit.strip() != drug.unit:
        out.append(Finding("unit", Severity.REFUSED,
                           f"{drug.name} is charted in {drug.unit} ({key}.unit), not "
                           f"{proposed.unit.strip()!r}", f"{key}.unit"))
    implausible = IMPLAUSIBLE_FACTOR * drug.max_per_dose_mg
    if proposed.dose_mg > implausible + _EPS:
        out.append(Finding("dose", Severity.REFUSED,
                           f"{drug.name} {proposed.dose_mg:g} {drug.unit} is not a plausible "
                           f"dose (more than {IMPLAUSIBLE_FACTOR:g} × the maximum per dose "
                           f"{drug.max_per_dose_mg:g} {drug.unit}): check the number and the unit",
                           f"{key}.max_per_dose_mg", implausible, proposed.dose_mg))

    if proposed.route.strip() in KNOWN_ROUTES and proposed.route.strip() not in drug.routes:
        out.append(Finding("route", Severity.BLOCK,
                           f"route {proposed.route} is not allowed for {drug.name} "
                           f"(allowed: {', '.join(drug.routes)}; {key}.routes)",
                           f"{key}.routes"))

    dose = proposed.dose_mg
    if dose > drug.max_per_dose_mg + _EPS:
        over = (f"{drug.name} {dose:g} mg exceeds the maximum per dose "
                f"{drug.max_per_dose_mg:g} mg")
        if not drug.max_per_dose_hard:
            out.append(Finding("max_per_dose", Severity.SOFT, over, f"{key}.max_per_dose_mg",
                               drug.max_per_dose_mg, dose))
        elif proposed.given_in_error and proposed.error_reason.strip():
            out.append(Finding("max_per_dose", Severity.NOTE,
                               f"{over} (a hard limit): charted as given in error - "
                               f"{proposed.error_reason.strip()}; the charge nurse is told",
                               f"{key}.max_per_dose_mg", drug.max_per_dose_mg, dose))
        else:
            out.append(Finding("max_per_dose", Severity.REFUSED,
                               f"{over}, a hard limit with no override; give at most "
                               f"{drug.max_per_dose_mg:g} mg (if it was already given in error, "
                               "chart it as an error with what happened)",
                               f"{key}.max_per_dose_mg", drug.max_per_dose_mg, dose))

    same = sorted((g for g in given_this_visit if g.drug.lower() == drug.name.lower()),
                  key=lambda g: g.given_at)
    before = sum(g.dose_mg for g in same)
    total = before + dose
    if total > drug.max_per_visit_mg + _EPS:
        out.append(Finding("max_per_visit", Severity.SOFT,
                           f"{drug.name} total this visit would be {total:g} mg "
                           f"({before:g} mg already given + {dose:g} mg), exceeding the maximum "
                           f"per visit {drug.max_per_visit_mg:g} mg ({key}.max_per_visit_mg)",
                           f"{key}.max_per_visit_mg", drug.max_per_visit_mg, total))

    # the nearest other dose in time, before or after (back-charting can land between doses)
    if same and drug.min_interval_min > 0:
        nearest = min(same, key=lambda g: abs((proposed.given_at - g.given_at).total_seconds()))
        gap = abs(_minutes(proposed.given_at - nearest.given_at))
        if gap < drug.min_interval_min - _EPS:
            out.append(Finding("min_interval", Severity.SOFT,
                               f"{drug.name} {gap:.0f} min from the dose at "
                               f"{_fmt(nearest.given_at, display_tz)}; minimum interval "
                               f"{drug.min_interval_min:g} min ({key}.min_interval_min)",
                               f"{key}.min_interval_min", drug.min_interval_min, gap))

    hits = allergy_matches(allergies, drug)
    if hits:
        out.append(Finding("allergy", Severity.BLOCK,
                           f"allergy on record: {', '.join(hits)} matches {drug.name} "
                           f"(terms: {', '.join((drug.name, *drug.allergy_terms))}); "
                           f"override with a reason", f"{key}.allergy_terms"))

    if len([f for f in out if f.severity is not Severity.OK]) == 0:
        out.append(Finding("formulary", Severity.OK,
                           f"{drug.name} {dose:g} mg {proposed.route}: within the protocol's "
                           f"limits ({before + dose:g} of {drug.max_per_visit_mg:g} mg this visit)",
                           key))
    return Decision(tuple(out))


def response_due_at(drug: FormularyDrug, given_at: datetime) -> datetime | None:
    """When the MAR reminds the nurse to chart the response (``response_due_min``), or None."""
    if drug.response_due_min <= 0:
        return None
    return given_at + timedelta(minutes=drug.response_due_min)


def sedation_check_due_at(drug: FormularyDrug, given_at: datetime) -> datetime | None:
    """When a sedative's sedation (MOAA/S) check falls due, or None for a non-sedative."""
    if not drug.sedative:
        return None
    return given_at + timedelta(minutes=drug.sedation_check_after_min)


#: What each purpose is called, and what a dose of it is given for (the MAR's indication).
PURPOSE_LABELS = {"antiemetic": "Antiemetic (nausea)", "calming": "Calming (distressing "
                  "dissociation, agitation)", "antihypertensive": "Antihypertensive (BP rise)"}
INDICATIONS = {"antiemetic": ("nausea", "prophylaxis"),
               "calming": ("distressing dissociation", "agitation"),
               "antihypertensive": ("blood pressure rise",)}


def describe_drug(drug: FormularyDrug) -> str:
    """A formulary entry's limits in one line, as the MAR shows them beside the dose."""
    hard = " (hard limit)" if drug.max_per_dose_hard else ""
    parts = [f"usual {drug.usual_dose_mg:g} {drug.unit} {'/'.join(drug.routes)}",
             f"max {drug.max_per_dose_mg:g} {drug.unit} per dose{hard}, "
             f"{drug.max_per_visit_mg:g} {drug.unit} per visit"]
    if drug.min_interval_min:
        parts.append(f"at least {drug.min_interval_min:g} min apart")
    if drug.response_due_min:
        parts.append(f"response due {drug.response_due_min:g} min after")
    if drug.sedative:
        parts.append(f"sedative: sedation check {drug.sedation_check_after_min:g} min after")
    return "; ".join(parts)


@dataclass(frozen=True)
class Administered:
    """A dose charted this visit, as its follow-ups need it."""

    drug: str
    given_at: datetime
    responded: bool
    entry_id: int | None = None


@dataclass(frozen=True)
class FollowUp:
    """What a dose asks of the nurse afterwards: its response charted (``response_due_min``)
    or, for a sedative, a sedation (MOAA/S) check (``sedation_check_after_min``).

    ``status`` is ``pending`` before ``due_at``, ``due`` from then, ``overdue`` after the
    schedule's grace (``schedule.overdue_after_min``), ``done`` once charted."""

    kind: str  # "response" / "sedation"
    drug: str
    given_at: datetime
    due_at: datetime
    overdue_at: datetime
    status: str
    entry_id: int | None = None

    @property
    def label(self) -> str:
        if self.kind == "response":
            return f"{self.drug} response"
        return f"sedation (MOAA/S) after {self.drug}"

    @property
    def open(self) -> bool:
        return self.status in ("due", "overdue")

    def text(self, tz: tzinfo | None = None) -> str:
        """One line for the tile and the overview: "ondansetron response due since 10:42"."""
        if self.status == "done":
            return f"{self.label}: charted"
        if self.status == "pending":
            return f"{self.label} due at {_fmt(self.due_at, tz)}"
        return f"{self.label} {self.status} since {_fmt(self.due_at, tz)}"


def follow_ups(formulary: Sequence[FormularyDrug], given: Sequence[Administered],
               moaas_times: Sequence[datetime], now: datetime, *,
               overdue_after_min: float) -> tuple[FollowUp, ...]:
    """Every follow-up of the visit's doses, in due order. A response is done when charted on
    the dose; a sedation check when a MOAA/S is charted after the dose, no earlier than half
    the wait before it falls due (a check taken a little early still counts, as for the
    scheduled vitals checks; a MOAA/S right after the dose does not)."""
    by_name = {d.name.lower(): d for d in formulary}
    out: list[FollowUp] = []
    grace = timedelta(minutes=overdue_after_min)

    def status(due: datetime, done: bool) -> str:
        if done:
            return "done"
        if now >= due + grace:
            return "overdue"
        return "due" if now >= due else "pending"

    for g in given:
        d = by_name.get(g.drug.lower())
        if d is None:
            continue
        resp = response_due_at(d, g.given_at)
        if resp is not None:
            out.append(FollowUp("response", d.name, g.given_at, resp, resp + grace,
                                status(resp, g.responded), g.entry_id))
        sed = sedation_check_due_at(d, g.given_at)
        if sed is not None:
            early = sed - (sed - g.given_at) / 2
            done = any(t >= early and t > g.given_at for t in moaas_times)
            out.append(FollowUp("sedation", d.name, g.given_at, sed, sed + grace,
                                status(sed, done), g.entry_id))
    return tuple(sorted(out, key=lambda f: f.due_at))


def by_purpose(formulary: Sequence[FormularyDrug]) -> dict[str, tuple[FormularyDrug, ...]]:
    """The formulary grouped by purpose, in the protocol's order of purposes."""
    return {p: tuple(d for d in formulary if d.purpose == p) for p in PURPOSES
            if any(d.purpose == p for d in formulary)}


__all__ = [
    "response_due_at", "sedation_check_due_at", "by_purpose", "Administered", "FollowUp",
    "follow_ups", "describe_drug", "INDICATIONS",
    "PURPOSE_LABELS",
    "OTHER_DRUG", "KNOWN_ROUTES", "KNOWN_UNITS", "IMPLAUSIBLE_FACTOR", "IMPLAUSIBLE_OTHER_MG",
    "DEFAULT_SKEW_S", "DEFAULT_LATE_AFTER_MIN", "ProposedAdministration",
    "GivenDose", "NO_ALLERGY", "split_allergies", "allergy_matches", "check_time_given",
    "check_administration",
]
