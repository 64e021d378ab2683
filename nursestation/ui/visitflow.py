"""The visit flow at one chair: assign a patient, check in (weight and screening), baseline
vitals, start the infusion, stop it for recovery.

Each step is a dialog opened with ``open()``. Everything can be done by keyboard: every field has
a label with a mnemonic, Tab follows the form, Enter saves, Esc cancels. The rules are core's
(``screen``, ``check_weight``, ``plan_infusion``, ``check_dose``, ``check_rate``, ``resolve``):
the dialogs show core's answers with their reasons and ask for an acknowledgement (or a charge
nurse's override, where core says hard) before charting. A step writes through ``ctx.write`` in
one transaction naming ``ctx.user``; the dialog reports success and closes only in ``on_done``,
after the commit, and emits ``saved(visit_id)``.

The main window's "Next step" action calls :func:`next_step_for_chair` (or :func:`next_step` when
it already has the visit) and opens the dialog it returns.
"""

from __future__ import annotations

import itertools
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from nursestation.core.dosing import (
    ChargeOverride,
    Decision,
    Severity,
    check_change_reason,
    check_dose,
    check_rate,
    check_weight,
    plan_infusion,
    resolve,
)
from nursestation.core.medications import allergies_problem
from nursestation.core.screening import ScreeningAnswers, may_proceed, screen
from nursestation.db import repo
from nursestation.db.discharge_inputs import SCALE_BASELINE_VITALS
from nursestation.db.models import Chair, Patient, Screening, Visit
from nursestation.ui.context import AppContext
from nursestation.ui.login import ChargeOverrideDialog
from nursestation.ui.visit_common import (
    ERROR_RED,
    OK_GREEN,
    WARN_AMBER,
    MessageLine,
    add_row,
    buttons,
    describe_time,
    header,
    local_hhmm,
    local_tz,
    number,
    number_field,
    parse_clock_time,
    styled,
)

log = logging.getLogger(__name__)

#: The scale name of the baseline-vitals entry (an Assessment row).
BASELINE_SCALE = SCALE_BASELINE_VITALS  # the charted baseline (db.discharge_inputs)
BASELINE_CODES = (("NBP_SYS", "BP &systolic:", "mmHg"), ("NBP_DIA", "BP &diastolic:", "mmHg"),
                  ("HR", "&Heart rate:", "bpm"), ("SPO2", "Sp&O\u2082:", "%"),
                  ("RR", "&Resp. rate:", "/min"))
COMPLETED = "completed as planned"

_MARK = {Severity.OK: ("\u2713", OK_GREEN), Severity.NOTE: ("i", OK_GREEN),
         Severity.SOFT: ("!", WARN_AMBER), Severity.BLOCK: ("!", WARN_AMBER),
         Severity.HARD: ("\u2716", ERROR_RED), Severity.REFUSED: ("\u2716", ERROR_RED)}


def _line(mark: str, colour: str, text: str) -> str:
    return (f"<div><span style='color:{colour}; font-weight:bold'>{mark}</span>&nbsp; "
            f"{escape(text)}</div>")


def _findings_html(dec: Decision) -> str:
    seen: set[str] = set()
    out = []
    for f in dec.findings:  # the dose and the rate checks both report the weight
        if f.message not in seen:
            seen.add(f.message)
            out.append(_line(*_MARK[f.severity], f.message))
    return "".join(out)


# ---------------------------------------------------------------------------- the step dialog


class StepDialog(QDialog):
    """A visit-flow step: header, form, message line, Save/Cancel. Saves through ``ctx.write``
    and closes only after the commit; ``saved(visit_id)`` then."""

    saved = Signal(int)

    def __init__(self, ctx: AppContext, title: str, subtitle: str, ok_text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.saving = False
        self.setWindowTitle(title)
        styled(self)
        self.setMinimumWidth(700)
        self.layout_ = QVBoxLayout(self)
        self.head = header(title, subtitle)
        self.layout_.addWidget(self.head)
        self.body = QVBoxLayout()
        self.layout_.addLayout(self.body)
        self.message = MessageLine()
        self.layout_.addWidget(self.message)
        self.button_box = buttons(self, ok_text)
        self.ok_button = self.button_box.buttons()[0]
        self.layout_.addWidget(self.button_box)

    def fail(self, text: str, focus: QWidget | None = None) -> None:
        self.message.show_message(text, "error")
        if focus is not None:
            focus.setFocus()

    def user_id(self) -> int | None:
        if self.ctx.user is None:
            self.fail("No one is logged in: log in to chart this step.")
            return None
        return self.ctx.user.id

    def submit(self, fn: Callable[..., int], *args: Any, what: str, visit_id: int = 0,
               **kw: Any) -> None:
        """Write ``fn(session, *args, **kw)`` (returns the visit id); close after the commit."""
        self.saving = True
        self.ok_button.setEnabled(False)
        self.message.show_message("Saving…", "info")
        # The writer thread keeps these callbacks until its next job; they must not hold the
        # dialog, or its last reference could be dropped off the GUI thread (PySide then
        # deletes the widget from a pending call, which crashes 6.12). Weak references only.
        ref = weakref.ref(self)

        def on_done(result: int) -> None:
            dlg = ref()
            if dlg is not None:
                dlg._saved(result)

        def on_error(exc: BaseException) -> None:
            dlg = ref()
            if dlg is not None:
                dlg._failed(exc)

        self.ctx.write(fn, *args, on_done=on_done, on_error=on_error, what=what,
                       visit_id=visit_id, **kw)

    def _saved(self, visit_id: int) -> None:
        self.saving = False
        self.ok_button.setEnabled(True)
        self.message.show_message("Saved.", "ok")
        self.saved.emit(int(visit_id))
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        self.saving = False
        self.ok_button.setEnabled(True)
        self.fail(f"Not saved: {exc}")

    def reject(self) -> None:
        if self.saving:
            return  # the write is under way; its answer decides
        super().reject()


def _time_field(placeholder: str = "HH:MM or 8h") -> QLineEdit:
    f = QLineEdit()
    f.setPlaceholderText(placeholder)
    f.setMaximumWidth(110)
    return f


# ------------------------------------------------------------------------------ reading helpers


@dataclass(frozen=True)
class PatientChoice:
    id: int
    mrn: str
    name: str
    date_of_birth: date | None
    allergies: str
    next_course: int
    active_chair: str | None  # the chair of the patient's active visit, if any


def _patient_choices(session: Session, text: str) -> list[PatientChoice]:
    out = []
    for p in repo.search_patients(session, text, limit=30):
        visits = repo.patient_visits(session, p.id)
        done = [v for v in visits if v.phase != "cancelled"]
        active = next((v for v in visits if v.active), None)
        chair = session.get(Chair, active.chair_id).name if active is not None else None
        out.append(PatientChoice(p.id, p.mrn, f"{p.family_name.upper()}, {p.given_name}",
                                 p.date_of_birth, p.allergies, len(done) + 1, chair))
    return out


@dataclass(frozen=True)
class VisitInfo:
    visit_id: int
    patient_id: int
    chair_id: int
    chair: str
    mrn: str
    patient: str
    allergies: str
    course_number: int
    phase: str
    weight_kg: float | None
    weight_at: datetime | None
    weight_this_visit: bool
    infusion_start_at: datetime | None
    screened: bool


def visit_info(session: Session, visit_id: int) -> VisitInfo:
    v = session.get(Visit, visit_id)
    if v is None:
        raise LookupError(f"no visit #{visit_id}")
    p = session.get(Patient, v.patient_id)
    c = session.get(Chair, v.chair_id)
    w = repo.latest_weight(session, p.id)
    screened = session.scalar(select(Screening.id).where(Screening.visit_id == v.id,
                                                         Screening.voided.is_(False))
                              .limit(1)) is not None
    return VisitInfo(v.id, p.id, c.id, c.name, p.mrn, p.full_name, p.allergies,
                     v.course_number, v.phase, w.weight_kg if w else None,
                     w.measured_at if w else None, bool(w and w.visit_id == v.id),
                     v.infusion_start_at, screened)


def _subtitle(ctx: AppContext, info: VisitInfo) -> str:
    allergies = info.allergies or "NOT RECORDED (ask the patient)"
    return (f"{info.patient} · MRN {info.mrn} · {info.chair} · course visit "
            f"{info.course_number} of {ctx.protocol.course_length} · allergies: {allergies}")


# ------------------------------------------------------------------------------------- assign


def _assign(session: Session, patient_id: int | None, new_patient: dict[str, Any] | None,
            chair_id: int, protocol: tuple[str, str, str], *, user: int) -> int:
    if new_patient is not None:
        p = repo.create_patient(session, **new_patient, user=user)
        session.flush()
        patient_id = p.id
    assert patient_id is not None
    name, version, sha = protocol
    v = repo.create_visit(session, patient_id, chair_id, name, user=user,
                          protocol_version=version, protocol_hash=sha)
    session.flush()
    return v.id


def parse_date(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class AssignPatientDialog(StepDialog):
    """Find a returning patient (MRN or name; "course visit N of M") or register a new one, and
    start a visit at the chair."""

    def __init__(self, ctx: AppContext, chair_id: int, parent: QWidget | None = None) -> None:
        chair = ctx.read(lambda s: s.get(Chair, chair_id))
        self.chair_id = chair_id
        self.chair_name = chair.name if chair else f"chair #{chair_id}"
        super().__init__(ctx, f"Assign a patient — {self.chair_name}",
                         f"Protocol: {ctx.protocol.name} (version {ctx.protocol.version})",
                         "&Assign", parent)
        self.choices: list[PatientChoice] = []
        form = QFormLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("MRN or name")
        self.search.setClearButtonEnabled(True)
        add_row(form, "&Find patient:", self.search)
        self.results = QListWidget()
        self.results.setMinimumHeight(120)
        add_row(form, "&Matches:", self.results)
        self.body.addLayout(form)

        self.new_check = QCheckBox("&New patient (not found above)")
        self.body.addWidget(self.new_check)
        self.new_box = QGroupBox("New patient")
        nf = QFormLayout(self.new_box)
        self.mrn = QLineEdit()
        self.family = QLineEdit()
        self.given = QLineEdit()
        self.dob = QLineEdit()
        self.dob.setPlaceholderText("YYYY-MM-DD")
        self.dob.setMaximumWidth(140)
        self.allergies = QLineEdit()
        self.allergies.setPlaceholderText("e.g. NKDA, or the allergies and reactions")
        add_row(nf, "M&RN:", self.mrn)
        add_row(nf, "Famil&y name:", self.family)
        add_row(nf, "&Given name:", self.given)
        add_row(nf, "&Date of birth:", self.dob)
        add_row(nf, "A&llergies:", self.allergies)
        self.body.addWidget(self.new_box)

        self.search.textChanged.connect(self._search)
        self.results.itemDoubleClicked.connect(lambda _i: self.accept())
        self.new_check.toggled.connect(self._new_toggled)
        for a, b in ((self.search, self.results), (self.results, self.new_check),
                     (self.new_check, self.mrn), (self.mrn, self.family),
                     (self.family, self.given), (self.given, self.dob),
                     (self.dob, self.allergies)):
            self.setTabOrder(a, b)
        self._new_toggled(False)
        self._search("")
        self.search.setFocus()

    # -- searching
    def _search(self, text: str) -> None:
        self.results.clear()
        text = text.strip()
        self.choices = self.ctx.read(_patient_choices, text) if text else []
        for c in self.choices:
            born = f" · born {c.date_of_birth:%Y-%m-%d}" if c.date_of_birth else ""
            course = (f"course visit {c.next_course} of {self.ctx.protocol.course_length}")
            busy = f" · ACTIVE VISIT in {c.active_chair}" if c.active_chair else ""
            item = QListWidgetItem(f"{c.name} · MRN {c.mrn}{born} · {course}{busy}")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            self.results.addItem(item)
        if self.choices:
            self.results.setCurrentRow(0)
            self.message.show_message("", "info")
        elif text:
            self.message.show_message("No patient found. Check the spelling, or register a "
                                      "new patient (Alt+N).", "info")

    def _new_toggled(self, on: bool) -> None:
        self.new_box.setEnabled(on)
        self.results.setEnabled(not on)
        if on and not self.mrn.text() and self.search.text().strip() and not self.choices:
            self.mrn.setText(self.search.text().strip())

    def selected(self) -> PatientChoice | None:
        row = self.results.currentRow()
        return self.choices[row] if 0 <= row < len(self.choices) else None

    # -- saving
    def accept(self) -> None:
        uid = self.user_id()
        if uid is None or self.saving:
            return
        proto = (self.ctx.protocol.name, self.ctx.protocol.version, self.ctx.protocol.sha256)
        if self.new_check.isChecked():
            mrn, family, given = (self.mrn.text().strip(), self.family.text().strip(),
                                  self.given.text().strip())
            for value, field, what in ((mrn, self.mrn, "the MRN"),
                                       (family, self.family, "the family name"),
                                       (given, self.given, "the given name")):
                if not value:
                    return self.fail(f"Enter {what}.", field)
            dob = None
            if self.dob.text().strip():
                dob = parse_date(self.dob.text())
                if dob is None:
                    return self.fail("Enter the date of birth as YYYY-MM-DD.", self.dob)
                if dob > self.ctx.clock.now().astimezone(local_tz()).date():
                    return self.fail("The date of birth is in the future.", self.dob)
            problem = allergies_problem(self.allergies.text())
            if problem is not None:
                return self.fail(problem, self.allergies)
            new = {"mrn": mrn, "family_name": family, "given_name": given, "date_of_birth": dob,
                       "allergies": self.allergies.text().strip()}
            self.submit(_assign, None, new, self.chair_id, proto, user=uid, what="visit")
            return
        choice = self.selected()
        if choice is None:
            return self.fail("Find the patient (MRN or name), or register a new patient.",
                             self.search)
        if choice.active_chair:
            return self.fail(f"{choice.name} already has an active visit in "
                             f"{choice.active_chair}.", self.results)
        self.submit(_assign, choice.id, None, self.chair_id, proto, user=uid, what="visit")


# ------------------------------------------------------------------------------------ check-in


def _check_in(session: Session, visit_id: int, patient_id: int, weight_kg: float,
              answers: dict[str, Any], passed: bool, ride: dict[str, str] | None, *,
              user: int) -> int:
    repo.add_weight(session, patient_id, weight_kg, user=user, visit_id=visit_id)
    repo.save_screening(session, visit_id, answers, user=user, passed=passed)
    if ride is not None:
        repo.save_ride(session, visit_id, user=user, kind="driver", **ride)
    return visit_id


class CheckInDialog(StepDialog):
    """Weight and the screening checklist, checked live against the protocol by core; failed
    items (and a weight above the protocol's maximum) need an acknowledgement with a reason."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        self.visit_id = visit_id
        self.info = ctx.read(visit_info, visit_id)
        super().__init__(ctx, f"Check-in — {self.info.chair}", _subtitle(ctx, self.info),
                         "&Save check-in", parent)
        sc = ctx.protocol.screening
        form = QFormLayout()
        self.weight = number_field("kg", lo=0, hi=400)
        last = ""
        if self.info.weight_kg is not None:
            last = (f"last recorded {self.info.weight_kg:g} kg on "
                    f"{self.info.weight_at.astimezone(local_tz()):%d %b %Y}")
        add_row(form, "&Weight (kg):", self.weight, last or "weigh the patient today")
        self.solids = _time_field()
        add_row(form, "Last &solid food:", self.solids,
                f"at least {sc.fasting_solids_h:g} h before (protocol)")
        self.liquids = _time_field()
        add_row(form, "Last clear &liquids:", self.liquids,
                f"at least {sc.fasting_clear_liquids_h:g} h before (protocol)")
        self.no_alcohol = QCheckBox(f"None in the last {sc.no_alcohol_h:g} h "
                                    "(patient reports)")
        self.alcohol = _time_field("HH:MM or 20h")
        alc = QWidget()
        al = QHBoxLayout(alc)
        al.setContentsMargins(0, 0, 0, 0)
        al.addWidget(self.no_alcohol)
        al.addSpacing(12)
        lbl = QLabel("or last dr&ink at:")
        lbl.setBuddy(self.alcohol)
        al.addWidget(lbl)
        al.addWidget(self.alcohol)
        al.addStretch(1)
        alc_label = QLabel("&Alcohol:")
        alc_label.setBuddy(self.no_alcohol)
        form.addRow(alc_label, alc)
        self.medications = QLineEdit()
        self.medications.setPlaceholderText("current medications, or 'none'")
        add_row(form, "Current &medications:", self.medications)
        self.body.addLayout(form)

        qbox = QGroupBox("Checklist (protocol)")
        ql = QVBoxLayout(qbox)
        self.questions: dict[str, QCheckBox] = {}
        for q in sc.questions:
            cb = QCheckBox(q[:1].upper() + q[1:])
            self.questions[q] = cb
            ql.addWidget(cb)
        self.body.addWidget(qbox)

        ride = QGroupBox("Ride home (quick entry; the full form comes at discharge)")
        rf = QFormLayout(ride)
        self.driver = QLineEdit()
        self.driver.setPlaceholderText("responsible adult's name")
        self.relationship = QLineEdit()
        self.phone = QLineEdit()
        add_row(rf, "Dri&ver:", self.driver)
        add_row(rf, "Relations&hip:", self.relationship)
        add_row(rf, "&Phone:", self.phone)
        self.body.addWidget(ride)

        self.checks = QLabel()
        self.checks.setObjectName("Result")
        self.checks.setWordWrap(True)
        self.checks.setTextFormat(Qt.TextFormat.RichText)
        self.checks.setMinimumHeight(22 * (4 + len(sc.questions)) + 12)
        self.checks.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.body.addWidget(self.checks)
        af = QFormLayout()
        self.ack = QLineEdit()
        self.ack.setPlaceholderText("why it is right to proceed despite the items marked \u2716/!")
        self.ack_label = add_row(af, "Ac&knowledge — reason:", self.ack)
        self.body.addLayout(af)

        chain: list[QWidget] = [self.weight, self.solids, self.liquids, self.no_alcohol,
                                self.alcohol, self.medications, *self.questions.values(),
                                self.driver, self.relationship, self.phone, self.ack]
        for a, b in itertools.pairwise(chain):
            self.setTabOrder(a, b)
        for w in (self.weight, self.solids, self.liquids, self.alcohol, self.medications,
                  self.driver):
            w.textChanged.connect(self.evaluate)
        self.no_alcohol.toggled.connect(self.evaluate)
        for cb in self.questions.values():
            cb.toggled.connect(self.evaluate)
        self.evaluate()
        self.weight.setFocus()

    # -- live evaluation (core decides, the dialog shows)
    def answers(self, now: datetime) -> tuple[ScreeningAnswers, list[str]]:
        problems = []
        times: dict[str, datetime | None] = {}
        for key, field, name in (("solids", self.solids, "last solid food"),
                                 ("liquids", self.liquids, "last clear liquids"),
                                 ("alcohol", self.alcohol, "last alcohol")):
            text = field.text().strip()
            times[key] = parse_clock_time(text, now) if text else None
            if text and times[key] is None:
                problems.append(f"{name}: {text!r} is not a time (HH:MM, or hours ago as 8h)")
        return ScreeningAnswers(
            last_solids_at=times["solids"], last_clear_liquids_at=times["liquids"],
            last_alcohol_at=times["alcohol"], denies_recent_alcohol=self.no_alcohol.isChecked(),
            answers={q: cb.isChecked() for q, cb in self.questions.items()}), problems

    def evaluate(self) -> None:
        now = self.ctx.clock.now()
        ans, problems = self.answers(now)
        self.screening = screen(ans, self.ctx.protocol.screening, now, display_tz=local_tz())
        lines = [_line("\u2716", ERROR_RED, p) for p in problems]
        kg = number(self.weight)
        self.weight_decision = (check_weight(kg, self.ctx.protocol.dosing)
                                if kg is not None else None)
        if self.weight_decision is None:
            lines.append(_line("\u2716", ERROR_RED, "weight: not entered"))
        else:
            lines.append(_findings_html(self.weight_decision))
        for item in self.screening.items:
            lines.append(_line("\u2713" if item.passed else "\u2716",
                               OK_GREEN if item.passed else ERROR_RED, item.detail))
        for key, field in (("solids", self.solids), ("liquids", self.liquids),
                           ("alcohol", self.alcohol)):
            t = parse_clock_time(field.text(), now) if field.text().strip() else None
            field.setToolTip(describe_time(t, now) if t else "")
        self.checks.setText("".join(lines))
        needs = self.needs_acknowledgement
        self.ack.setEnabled(needs)
        self.ack_label.setEnabled(needs)

    @property
    def needs_acknowledgement(self) -> bool:
        weight_warn = (self.weight_decision is not None
                       and self.weight_decision.severity is Severity.SOFT)
        return not self.screening.passed or weight_warn

    def accept(self) -> None:
        uid = self.user_id()
        if uid is None or self.saving:
            return
        self.evaluate()
        now = self.ctx.clock.now()
        ans, problems = self.answers(now)
        if problems:
            return self.fail(problems[0] + ".", self.solids)
        kg = number(self.weight)
        if kg is None or self.weight_decision is None:
            return self.fail("Enter today's weight in kg.", self.weight)
        wres = resolve(self.weight_decision, reason=self.ack.text())
        if not wres.allowed and wres.needs == "correction":
            return self.fail(wres.detail, self.weight)
        reason = self.ack.text().strip()
        if self.needs_acknowledgement and not (may_proceed(self.screening, reason)
                                               and wres.allowed):
            return self.fail("Acknowledge the items marked \u2716/! with a reason, or correct "
                             "them.", self.ack)
        driver = self.driver.text().strip()
        ride = None
        if driver:
            ride = {"driver_name": driver, "relationship": self.relationship.text().strip(),
                        "phone": self.phone.text().strip()}
        answers: dict[str, Any] = {
            "items": [{"name": i.name, "passed": i.passed, "detail": i.detail, "key": i.key}
                      for i in self.screening.items],
            "last_solids_at": ans.last_solids_at.astimezone().isoformat()
            if ans.last_solids_at else None,
            "last_clear_liquids_at": ans.last_clear_liquids_at.astimezone().isoformat()
            if ans.last_clear_liquids_at else None,
            "last_alcohol_at": ans.last_alcohol_at.astimezone().isoformat()
            if ans.last_alcohol_at else None,
            "denies_recent_alcohol": ans.denies_recent_alcohol,
            "medications": self.medications.text().strip(),
            "questions": dict(ans.answers),
        }
        if self.weight_decision.severity is not Severity.OK:
            answers["weight_check"] = list(self.weight_decision.messages)
        if reason and self.needs_acknowledgement:
            answers["acknowledgement"] = reason
        self.submit(_check_in, self.visit_id, self.info.patient_id, kg, answers,
                    self.screening.passed, ride, user=uid, what="screening",
                    visit_id=self.visit_id)


# ------------------------------------------------------------------------------------ baseline


def _baseline(session: Session, visit_id: int, values: dict[str, float | None],
              sources: dict[str, str], note: str, cadss: dict[str, int] | None, *,
              user: int) -> int:
    repo.advance_phase(session, visit_id, "baseline", user=user)
    items: dict[str, Any] = {k: v for k, v in values.items()}
    items["source"] = dict(sources)
    repo.record_assessment(session, visit_id, BASELINE_SCALE, items, None, user=user,
                           note=note)
    if cadss is not None:
        repo.record_assessment(session, visit_id, "CADSS6", dict(cadss),
                               float(sum(cadss.values())), user=user, note="baseline")
    return visit_id


def live_baseline(live: Any, chair_name: str) -> dict[str, tuple[float | None, str]]:
    """The chair's current values as the live store allows them to be shown:
    code → (value or None, where from / why not)."""
    out: dict[str, tuple[float | None, str]] = {}
    if live is None:
        return {code: (None, "no monitor data") for code, _l, _u in BASELINE_CODES}
    snap = live.snapshot(chair_name)
    nbp = snap.nbp
    for code, value in (("NBP_SYS", nbp.sys), ("NBP_DIA", nbp.dia)):
        if value is not None:
            age = ""
            if nbp.age_s is not None:
                age = (f", {nbp.age_s / 60:.0f} min old" if nbp.age_s >= 90
                       else f", {nbp.age_s:.0f} s old")
            out[code] = (float(value), f"monitor NBP{age}")
        else:
            out[code] = (None, f"no NBP: {nbp.reason or nbp.shown.value}")
    for code in ("HR", "SPO2", "RR"):
        n = snap.numeric(code)
        if code == "HR" and not n.showable:
            pr = snap.numeric("PR")
            if pr.showable:
                n = pr
        if n.showable and isinstance(n.value, (int, float)):
            q = " (questionable)" if n.shown.value == "questionable" else ""
            out[code] = (float(n.value), f"monitor {n.code}{q}")
        else:
            out[code] = (None, f"no live value: {n.reason or n.shown.value}")
    return out


class BaselineDialog(StepDialog):
    """Baseline vitals before dosing: taken from the chair's live monitor where it has a value
    that may be shown, otherwise entered by hand; an optional CADSS-6 baseline."""

    def __init__(self, ctx: AppContext, visit_id: int, chair_name: str,
                 parent: QWidget | None = None) -> None:
        self.visit_id = visit_id
        self.chair_name = chair_name
        self.info = ctx.read(visit_info, visit_id)
        super().__init__(ctx, f"Baseline vitals — {chair_name}", _subtitle(ctx, self.info),
                         "&Record baseline", parent)
        form = QFormLayout()
        self.fields: dict[str, QLineEdit] = {}
        self.sources: dict[str, QLabel] = {}
        for code, label, unit in BASELINE_CODES:
            f = number_field(unit, lo=0, hi=300, decimals=0)
            src = QLabel()
            src.setObjectName("Hint")
            row = QWidget()
            rl = QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            rl.addWidget(f)
            u = QLabel(unit)
            u.setMinimumWidth(40)
            rl.addWidget(u)
            rl.addWidget(src, 1)
            lab = QLabel(label)
            lab.setBuddy(f)
            form.addRow(lab, row)
            self.fields[code] = f
            self.sources[code] = src
            f.textEdited.connect(lambda _t, c=code: self._edited(c))
        self.body.addLayout(form)
        self.refresh_button = QPushButton("Re&fresh from monitor")
        self.refresh_button.setAutoDefault(False)
        self.refresh_button.clicked.connect(self.refresh)
        rb = QHBoxLayout()
        rb.addStretch(1)
        rb.addWidget(self.refresh_button)
        self.body.addLayout(rb)

        a = ctx.protocol.assessments
        self.cadss_box = QGroupBox("Record a &CADSS-6 baseline (optional)")
        self.cadss_box.setCheckable(True)
        self.cadss_box.setChecked(False)
        grid = QGridLayout(self.cadss_box)
        self.cadss: dict[str, QLineEdit] = {}
        for i, item in enumerate(a.cadss6_items):
            f = number_field(f"0–{a.cadss6_item_max}", lo=0, hi=a.cadss6_item_max, decimals=0)
            f.setMaximumWidth(60)
            lab = QLabel(item)
            lab.setWordWrap(True)
            lab.setBuddy(f)
            grid.addWidget(lab, i, 0)
            grid.addWidget(f, i, 1)
            self.cadss[item] = f
        self.body.addWidget(self.cadss_box)
        nf = QFormLayout()
        self.note = QLineEdit()
        self.note.setPlaceholderText("required when a value is missing")
        add_row(nf, "&Note:", self.note)
        self.body.addLayout(nf)
        chain: list[QWidget] = [*self.fields.values(), self.refresh_button, self.cadss_box,
                                *self.cadss.values(), self.note]
        for x, y in itertools.pairwise(chain):
            self.setTabOrder(x, y)
        self.origin: dict[str, str] = {}
        self.refresh()
        next(iter(self.fields.values())).setFocus()

    def refresh(self) -> None:
        for code, (value, why) in live_baseline(self.ctx.live, self.chair_name).items():
            f = self.fields[code]
            if value is not None:
                f.setText(f"{value:.0f}")
                self.origin[code] = "monitor"
            elif self.origin.get(code) == "monitor":
                f.clear()
                self.origin.pop(code, None)
            self.sources[code].setText(why if value is not None else f"{why} — enter it")

    def _edited(self, code: str) -> None:
        self.origin[code] = "manual"
        self.sources[code].setText("entered by hand")

    def accept(self) -> None:
        uid = self.user_id()
        if uid is None or self.saving:
            return
        values = {code: number(f) for code, f in self.fields.items()}
        missing = [label.replace("&", "").rstrip(":") for code, label, _u in BASELINE_CODES
                   if values[code] is None]
        note = self.note.text().strip()
        if missing and self.ctx.protocol.schedule.baseline_required and not note:
            return self.fail(f"The protocol asks for a full baseline (schedule.baseline_"
                             f"required); missing: {', '.join(missing)}. Enter them, or say "
                             f"why in the note.", self.fields[next(
                                 c for c, _l, _u in BASELINE_CODES if values[c] is None)])
        cadss = None
        if self.cadss_box.isChecked():
            cadss = {}
            for item, f in self.cadss.items():
                v = number(f)
                if v is None:
                    return self.fail("Score every CADSS-6 item, or untick the CADSS-6 box.", f)
                cadss[item] = int(v)
        sources = {c: self.origin.get(c, "manual") for c, v in values.items() if v is not None}
        self.submit(_baseline, self.visit_id, values, sources, note, cadss, user=uid,
                    what="baseline", visit_id=self.visit_id)


# ---------------------------------------------------------------------------- start infusion


def _start(session: Session, visit_id: int, rate_ml_h: float, dose_rate: float, conc: float,
           plan: str, confirmation: str | None, override_by: int | None,
           override_reason: str | None, *, user: int) -> int:
    repo.record_infusion_event(session, visit_id, "start", user=user, rate_ml_h=rate_ml_h,
                               dose_mg_kg_h=dose_rate, concentration_mg_ml=conc,
                               reason_text=plan, limit_confirmation=confirmation,
                               override_by=override_by, override_reason=override_reason)
    repo.advance_phase(session, visit_id, "infusing", user=user)
    return visit_id


class StartInfusionDialog(StepDialog):
    """The protocol's target from the weight (core's ``plan_infusion``), adjustable; core's dose
    and rate checks with their reasons; soft → confirm with a reason, hard → a charge nurse's
    override."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        self.visit_id = visit_id
        self.info = ctx.read(visit_info, visit_id)
        super().__init__(ctx, f"Start infusion — {self.info.chair}", _subtitle(ctx, self.info),
                         "&Start infusion", parent)
        d = ctx.protocol.dosing
        self.override_dialog: ChargeOverrideDialog | None = None
        self.override_by: int | None = None
        self.override_reason = ""
        self.override_name = ""
        self.override_for = ""
        w = self.info.weight_kg
        wtxt = (f"{w:g} kg" + ("" if self.info.weight_this_visit else
                               " (NOT weighed at this visit)")) if w else "no weight recorded"
        self.weight_label = QLabel(f"Weight: {wtxt}")
        self.body.addWidget(self.weight_label)
        form = QFormLayout()
        self.dose = number_field("mg/kg", lo=0, hi=10, decimals=3)
        self.dose.setText(f"{d.dose_mg_per_kg:g}")
        add_row(form, "&Dose (mg/kg):", self.dose, f"protocol target {d.dose_mg_per_kg:g} mg/kg")
        self.duration = number_field("min", lo=1, hi=600, decimals=0)
        self.duration.setText(f"{d.duration_min:g}")
        add_row(form, "D&uration (min):", self.duration, f"protocol {d.duration_min:g} min")
        self.bag = number_field("mL", lo=1, hi=1000, decimals=0)
        self.bag.setText(f"{d.bag_volume_ml:g}")
        add_row(form, "&Bag volume (mL):", self.bag, f"protocol {d.bag_volume_ml:g} mL")
        self.body.addLayout(form)
        self.plan_label = QLabel()
        self.plan_label.setObjectName("Result")
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextFormat(Qt.TextFormat.RichText)
        self.plan_label.setMinimumHeight(190)
        self.plan_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.body.addWidget(self.plan_label)
        rf = QFormLayout()
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why this dose or rate, when outside the soft limits")
        self.reason_label = add_row(rf, "&Reason:", self.reason)
        self.body.addLayout(rf)
        self.override_button = QPushButton("Charge nurse &override…")
        self.override_button.setAutoDefault(False)
        self.override_button.clicked.connect(self.request_override)
        ob = QHBoxLayout()
        self.override_status = QLabel()
        self.override_status.setWordWrap(True)
        ob.addWidget(self.override_status, 1)
        ob.addWidget(self.override_button)
        self.body.addLayout(ob)
        for a, b in ((self.dose, self.duration), (self.duration, self.bag),
                     (self.bag, self.reason), (self.reason, self.override_button)):
            self.setTabOrder(a, b)
        for f in (self.dose, self.duration, self.bag):
            f.textChanged.connect(self.evaluate)
        self.evaluate()
        self.dose.setFocus()
        self.dose.selectAll()

    def evaluate(self) -> None:
        d = self.ctx.protocol.dosing
        w = self.info.weight_kg
        self.plan = None
        self.decision: Decision | None = None
        mgkg, dur, bag = number(self.dose), number(self.duration), number(self.bag)
        if w is None:
            self.plan_label.setText(_line("\u2716", ERROR_RED,
                                          "No weight recorded: weigh the patient at check-in."))
        elif mgkg is None or not dur or not bag:
            self.plan_label.setText(_line("\u2716", ERROR_RED,
                                          "Enter the dose, the duration and the bag volume."))
        else:
            self.plan = plan_infusion(d, w, dose_mg_per_kg=mgkg, duration_min=dur,
                                      bag_volume_ml=bag)
            p = self.plan
            self.decision = (check_dose(p.dose_mg, w, d)
                             + check_rate(p.rate_ml_h, p.concentration_mg_per_ml, w, d))
            head = (f"<div style='font-size:15px'><b>{p.dose_mg:.1f} mg</b> ketamine in "
                    f"{p.bag_volume_ml:g} mL ({p.concentration_mg_per_ml:.3g} mg/mL) — pump "
                    f"<b>{p.rate_ml_h:.1f} mL/h</b>, VTBI {p.bag_volume_ml:g} mL, "
                    f"{p.duration_min:g} min</div>"
                    f"<div style='color:#7d8896'>{escape(p.describe())}</div>")
            self.plan_label.setText(head + _findings_html(self.decision))
        sev = self.decision.severity if self.decision else None
        self.reason.setEnabled(sev in (Severity.SOFT, Severity.BLOCK, Severity.HARD))
        self.reason_label.setEnabled(self.reason.isEnabled())
        hard = sev is Severity.HARD
        why = "; ".join(f.message for f in self.decision.worst()) if hard else ""
        if self.override_by is not None and why != self.override_for:
            self.override_by, self.override_reason, self.override_name = None, "", ""
        self.override_button.setEnabled(hard)
        if hard and self.override_by is None:
            self.override_status.setText(
                f"<span style='color:{ERROR_RED}'>Hard limit: a charge nurse must "
                "authorise this dose (Alt+O).</span>")
        elif hard:
            self.override_status.setText(
                f"<span style='color:{WARN_AMBER}'>Overridden by {escape(self.override_name)}: "
                f"{escape(self.override_reason)}</span>")
        else:
            self.override_status.setText("")
        self.override_button.setVisible(hard)

    def request_override(self) -> None:
        if self.decision is None or self.decision.severity is not Severity.HARD:
            return
        why = "; ".join(f.message for f in self.decision.worst())
        dlg = ChargeOverrideDialog(self.ctx, why, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.override_dialog = dlg

        def verified(uid: int, reason: str) -> None:
            self.override_by, self.override_reason = uid, reason
            self.override_name = dlg.charge_user.display_name if dlg.charge_user else ""
            self.override_for = why
            self.evaluate()
            self.message.show_message("Override recorded with the entry when you start the "
                                      "infusion.", "warn")
            self.ok_button.setFocus()

        dlg.verified.connect(verified)
        dlg.finished.connect(lambda _r: setattr(self, "override_dialog", None))
        dlg.open()

    def accept(self) -> None:
        uid = self.user_id()
        if uid is None or self.saving:
            return
        self.evaluate()
        if self.plan is None or self.decision is None:
            return self.fail("The infusion cannot be planned: see above.", self.dose)
        override = None
        if self.override_by is not None:
            override = ChargeOverride(by=self.override_name or str(self.override_by),
                                      reason=self.override_reason, pin_verified=True)
        res = resolve(self.decision, reason=self.reason.text(), override=override)
        if not res.allowed:
            if res.needs == "charge_override":
                self.fail(res.detail)
                self.request_override()
                return
            return self.fail(res.detail.capitalize(),
                             self.reason if res.needs == "reason" else self.dose)
        sev = self.decision.severity
        confirmation = (self.reason.text().strip() or None) if sev is not Severity.OK else None
        p = self.plan
        self.submit(_start, self.visit_id, p.rate_ml_h, p.rate_mg_kg_h,
                    p.concentration_mg_per_ml, f"plan: {p.describe()}", confirmation,
                    self.override_by if sev is Severity.HARD else None,
                    self.override_reason if sev is Severity.HARD else None,
                    user=uid, what="infusion", visit_id=self.visit_id)


# ------------------------------------------------------------------------------------ recovery


def _stop(session: Session, visit_id: int, at: datetime, reason_code: str | None,
          reason_text: str, *, user: int) -> int:
    repo.record_infusion_event(session, visit_id, "stop", user=user, reason_code=reason_code,
                               reason_text=reason_text, at=at)
    repo.advance_phase(session, visit_id, "recovery", user=user, at=at)
    return visit_id


class RecoveryDialog(StepDialog):
    """Stop the infusion (time defaults to now) and move the visit into recovery."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        self.visit_id = visit_id
        self.info = ctx.read(visit_info, visit_id)
        super().__init__(ctx, f"Stop infusion, start recovery — {self.info.chair}",
                         _subtitle(ctx, self.info), "&Start recovery", parent)
        now = ctx.clock.now()
        start = self.info.infusion_start_at
        started = QLabel(f"Infusion started {describe_time(start, now)}, "
                         f"{(now - start).total_seconds() / 60:.0f} min ago."
                         if start else "No infusion start was charted.")
        self.body.addWidget(started)
        form = QFormLayout()
        self.stop_time = _time_field("HH:MM")
        self.stop_time.setText(local_hhmm(now))
        add_row(form, "&Stopped at:", self.stop_time, "local time; now by default")
        self.reason = QComboBox()
        self.reason.addItems([COMPLETED, *ctx.protocol.dosing.rate_change_reasons])
        add_row(form, "&Why:", self.reason)
        self.other = QLineEdit()
        self.other.setPlaceholderText("describe, when the reason is 'other'")
        add_row(form, "&Details:", self.other)
        self.body.addLayout(form)
        for a, b in ((self.stop_time, self.reason), (self.reason, self.other)):
            self.setTabOrder(a, b)
        self.stop_time.setFocus()
        self.stop_time.selectAll()

    def accept(self) -> None:
        uid = self.user_id()
        if uid is None or self.saving:
            return
        now = self.ctx.clock.now()
        t = parse_clock_time(self.stop_time.text(), now)
        if t is None:
            return self.fail("Enter the stop time as HH:MM.", self.stop_time)
        start = self.info.infusion_start_at
        if start is not None and t < start:
            if (start - t).total_seconds() >= 60:
                return self.fail(f"The stop time is before the infusion started "
                                 f"({describe_time(start, now)}).", self.stop_time)
            t = start  # the start's own minute, typed as HH:MM
        reason = self.reason.currentText()
        code: str | None = None
        text = self.other.text().strip()
        if reason != COMPLETED:
            dec = check_change_reason(reason, text, self.ctx.protocol.dosing)
            res = resolve(dec)
            if not res.allowed:
                return self.fail(res.detail.capitalize(), self.other)
            code = reason
        else:
            text = text or COMPLETED
        self.submit(_stop, self.visit_id, t.astimezone(), code, text, user=uid,
                    what="infusion", visit_id=self.visit_id)


# ----------------------------------------------------------------------------------- next step

DialogFactory = Callable[[AppContext, "QWidget | None"], QDialog]


def next_step(visit: Visit | VisitInfo | None, *, screened: bool | None = None,
              chair_id: int | None = None, chair_name: str = ""
              ) -> tuple[str, DialogFactory | None]:
    """What the chair's "Next step" action does for its active visit (None: no visit).

    Returns the action's label and a factory ``factory(ctx, parent) -> dialog`` (to ``open()``),
    or ``None`` for the recovery phase, whose next step is the discharge (its own dialog).
    ``screened`` tells whether the check-in screening was charted (a :class:`VisitInfo` knows).
    """
    if visit is None:
        if chair_id is None:
            raise ValueError("a chair without a visit needs chair_id to assign a patient")
        cid = chair_id
        return "Assign patient…", lambda ctx, parent=None: AssignPatientDialog(ctx, cid, parent)
    vid = visit.visit_id if isinstance(visit, VisitInfo) else visit.id
    if screened is None and isinstance(visit, VisitInfo):
        screened = visit.screened
    name = chair_name or (visit.chair if isinstance(visit, VisitInfo) else "")
    phase = visit.phase
    if phase == "check_in" and not screened:
        return "Check in…", lambda ctx, parent=None: CheckInDialog(ctx, vid, parent)
    if phase == "check_in":
        return "Baseline vitals…", lambda ctx, parent=None: BaselineDialog(ctx, vid, name,
                                                                            parent)
    if phase == "baseline":
        return "Start infusion…", lambda ctx, parent=None: StartInfusionDialog(ctx, vid, parent)
    if phase == "infusing":
        return "Stop infusion / recovery…", lambda ctx, parent=None: RecoveryDialog(ctx, vid,
                                                                                   parent)
    if phase == "recovery":
        return "Discharge…", None
    return "No active visit", None


def next_step_for_chair(ctx: AppContext, chair_id: int, chair_name: str = ""
                        ) -> tuple[str, DialogFactory | None]:
    """Read the chair's active visit and return :func:`next_step` for it."""
    def read(session: Session) -> VisitInfo | None:
        v = repo.active_visit_for_chair(session, chair_id)
        return visit_info(session, v.id) if v is not None else None

    info = ctx.read(read)
    return next_step(info, chair_id=chair_id, chair_name=chair_name)


__all__ = [
    "BASELINE_SCALE",
    "AssignPatientDialog",
    "BaselineDialog",
    "CheckInDialog",
    "RecoveryDialog",
    "StartInfusionDialog",
    "StepDialog",
    "VisitInfo",
    "live_baseline",
    "next_step",
    "next_step_for_chair",
    "visit_info",
]
