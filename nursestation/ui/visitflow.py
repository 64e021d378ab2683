"""The visit flow at one chair: assign a patient, check in (weight and screening), baseline
vitals, start the infusion, stop it for recovery.

Each step is a dialog opened with ``open()``. Everything can be done by keyboard: every field has
a label with a mnemonic, Tab follows the form, Enter saves, Esc cancels. The rules are core's
(``screen``, ``check_weight``, ``plan_infusion``, ``check_dose``, ``check_rate``, ``resolve``):
the dialogs show core's answers with their reasons and ask for an acknowledgement (or a charge
nurse's override, where core says hard) before charting. Each step is one command of
``nursestation.record.commands`` (``assign_patient``, ``check_in``, ``record_baseline``,
``start_infusion``, ``stop_infusion``), which checks everything again and writes in one
transaction naming ``ctx.user``; the dialog reports success and closes only after the commit,
and emits ``saved(changes)``.

The main window's "Next step" action calls :func:`next_step_for_chair` (or :func:`next_step` when
it already has the visit) and opens the dialog it returns.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from datetime import date, datetime
from html import escape
from typing import Any

from PySide6.QtCore import Qt
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

from nursestation.core.dosing import (
    ChargeOverride,
    Decision,
    Severity,
    check_dose,
    check_rate,
    check_weight,
    plan_infusion,
    resolve,
    uncovered,
)
from nursestation.core.medications import allergies_problem
from nursestation.core.plausibility import EntryError, enter
from nursestation.core.plausibility import label as vital_label
from nursestation.core.screening import ScreeningAnswers, may_proceed, screen
from nursestation.db.discharge_inputs import SCALE_BASELINE_VITALS
from nursestation.record import commands as rc
from nursestation.record.errors import Refused
from nursestation.record.gate import read_start_gate
from nursestation.record.lookups import (
    PatientChoice,
    VisitInfo,
    active_visit_info,
    chair_name,
    patient_choices,
    visit_info,
)
from nursestation.record.visit import read_visit
from nursestation.ui.context import AppContext
from nursestation.ui.dialogs import CommandDialog, open_charge_override
from nursestation.ui.visit_common import (
    ERROR_RED,
    OK_GREEN,
    WARN_AMBER,
    add_row,
    describe_time,
    local_hhmm,
    local_tz,
    number,
    number_field,
    parse_clock_time,
)

log = logging.getLogger(__name__)

#: The scale name of the baseline-vitals entry (an Assessment row).
BASELINE_SCALE = SCALE_BASELINE_VITALS  # the charted baseline (db.discharge_inputs)
BASELINE_CODES = (("NBP_SYS", "BP &systolic:", "mmHg"), ("NBP_DIA", "BP &diastolic:", "mmHg"),
                  ("HR", "&Heart rate:", "bpm"), ("SPO2", "Sp&O\u2082:", "%"),
                  ("RR", "&Resp. rate:", "/min"))
COMPLETED = rc.COMPLETED

_MARK = {Severity.OK: ("\u2713", OK_GREEN), Severity.NOTE: ("i", OK_GREEN),
         Severity.SOFT: ("!", WARN_AMBER), Severity.BLOCK: ("!", WARN_AMBER),
         Severity.HARD: ("\u2716", ERROR_RED), Severity.REFUSED: ("\u2716", ERROR_RED)}


def _line(mark: str, colour: str, text: str) -> str:
    return (f"<div><span style='color:{colour}; font-weight:bold'>{mark}</span>&nbsp; "
            f"{escape(text)}</div>")


def _still_needed(text: str) -> str:
    """Something not entered yet: what is still needed, not a refusal (as the charting forms
    say it, ``charting.decision_text``)."""
    return _line("\u2192", WARN_AMBER, f"Still needed: {text}")


#: What the nurse does about a step that must come before dosing (core says what is missing;
#: where to do it is the station's: its menus and keys)
START_FIX = {
    "screening": "check the patient in first (Chair \u2192 Next step, F5)",
    "predose_bp": "start a blood pressure on the monitor, or chart one "
                  "(Chart \u2192 Manual vitals check, Ctrl+Shift+V)",
}


def _findings_html(dec: Decision, fixes: dict[str, str] | None = None,
                   quiet_ok: frozenset[str] = frozenset()) -> str:
    """One line a finding, each said once; an OK verdict of a rule in ``quiet_ok`` is left out
    (it says nothing another finding does not)."""
    seen: set[str] = set()
    out = []
    for f in dec.findings:  # the dose and the rate checks both report the weight
        if f.severity is Severity.OK and f.rule in quiet_ok:
            continue
        if f.message not in seen:
            seen.add(f.message)
            fix = (fixes or {}).get(f.rule) if f.severity is Severity.REFUSED else None
            out.append(_line(*_MARK[f.severity], f.message + (f" \u2192 {fix}" if fix else "")))
    return "".join(out)


#: The visit-flow steps are wider than the charting dialogs (checklists, plans).
STEP_WIDTH = 700


def _time_field(placeholder: str = "HH:MM or 8h") -> QLineEdit:
    f = QLineEdit()
    f.setPlaceholderText(placeholder)
    f.setMaximumWidth(110)
    return f


def _subtitle(ctx: AppContext, info: VisitInfo) -> str:
    allergies = info.allergies or "NOT RECORDED (ask the patient)"
    return (f"{info.patient} · MRN {info.mrn} · {info.chair} · course visit "
            f"{info.course_number} of {ctx.protocol.course_length} · allergies: {allergies}")


# ------------------------------------------------------------------------------------- assign


def parse_date(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class AssignPatientDialog(CommandDialog):
    """Find a returning patient (MRN or name; "course visit N of M") or register a new one, and
    start a visit at the chair."""

    def __init__(self, ctx: AppContext, chair_id: int, parent: QWidget | None = None) -> None:
        self.chair_id = chair_id
        self.chair_name = ctx.read(chair_name, chair_id) or f"chair #{chair_id}"
        super().__init__(ctx, f"Assign a patient — {self.chair_name}",
                         subtitle=f"Protocol: {ctx.protocol.name} "
                                  f"(version {ctx.protocol.version})",
                         ok_text="&Assign", parent=parent, min_width=STEP_WIDTH)
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
        self.results.itemDoubleClicked.connect(lambda _i: self.save())
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
        self.choices = self.ctx.read(patient_choices, text) if text else []
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
    def save(self) -> None:
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
            problem = allergies_problem(self.allergies.text())
            if problem is not None:
                return self.fail(problem, self.allergies)
            new = rc.NewPatient(mrn, family, given, dob, self.allergies.text().strip())
            self.run(rc.assign_patient, self.chair_id, protocol=self.ctx.protocol,
                     new_patient=new, now=self.now())
            return
        choice = self.selected()
        if choice is None:
            return self.fail("Find the patient (MRN or name), or register a new patient.",
                             self.search)
        if choice.active_chair:
            return self.fail(f"{choice.name} already has an active visit in "
                             f"{choice.active_chair}.", self.results)
        self.run(rc.assign_patient, self.chair_id, protocol=self.ctx.protocol,
                 patient_id=choice.id, now=self.now())

    def refused(self, exc: Refused) -> None:
        if exc.rule == "date_of_birth":
            self.dob.setFocus()
        elif exc.rule == "mrn":
            self.mrn.setFocus()


# ------------------------------------------------------------------------------------ check-in


class CheckInDialog(CommandDialog):
    """Weight and the screening checklist, checked live against the protocol by core; failed
    items (and a weight above the protocol's maximum) need an acknowledgement with a reason."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        self.visit_id = visit_id
        self.info = ctx.read(visit_info, visit_id)
        super().__init__(ctx, f"Check-in — {self.info.chair}",
                         subtitle=_subtitle(ctx, self.info), ok_text="&Save check-in",
                         visit_id=visit_id, parent=parent, min_width=STEP_WIDTH)
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
        #: checklist items the nurse has ticked or unticked: an untouched box is not answered
        #: yet (recorded so if acknowledged), an unticked one is a "no"
        self._answered: set[str] = set()
        for q in sc.questions:
            cb = QCheckBox(q[:1].upper() + q[1:])
            self.questions[q] = cb
            cb.toggled.connect(lambda _on, q=q: self._answered.add(q))
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
        self.ack.setPlaceholderText("why it is right to proceed despite the items marked "
                                    "\u2716, ! or \u2192")
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
            answers={q: cb.isChecked() for q, cb in self.questions.items()
                     if cb.isChecked() or q in self._answered}), problems

    def evaluate(self) -> None:
        now = self.ctx.clock.now()
        ans, problems = self.answers(now)
        self.screening = screen(ans, self.ctx.protocol.screening, now, display_tz=local_tz())
        lines = [_line("\u2716", ERROR_RED, p) for p in problems]
        try:
            kg = number(self.weight, "weight")
        except EntryError as exc:
            kg, self.weight_decision = None, None
            lines.append(_line("\u2716", ERROR_RED, str(exc)))
        else:
            entered = enter("WEIGHT", self.weight.text(), self.ctx.protocol.plausibility) \
                if kg is not None else None
            self.weight_decision = (entered.decision + check_weight(kg, self.ctx.protocol.dosing)
                                    if entered is not None and kg is not None else None)
            if self.weight_decision is None:
                lines.append(_still_needed("today's weight"))
            else:
                # a plausible weight is what the protocol's weight check says too: one line
                lines.append(_findings_html(self.weight_decision,
                                            quiet_ok=frozenset({"plausibility"})))
        for item in self.screening.items:
            if item.missing:
                lines.append(_still_needed(item.name))
            else:
                lines.append(_line("\u2713" if item.passed else "\u2716",
                                   OK_GREEN if item.passed else ERROR_RED, item.detail))
        for _key, field in (("solids", self.solids), ("liquids", self.liquids),
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

    def save(self) -> None:
        self.evaluate()
        now = self.ctx.clock.now()
        ans, problems = self.answers(now)
        if problems:
            return self.fail(problems[0] + ".", self.solids)
        try:
            kg = number(self.weight, "weight")
        except EntryError as exc:
            return self.fail(f"{exc}.", self.weight)
        if kg is None or self.weight_decision is None:
            return self.fail("Enter today's weight in kg.", self.weight)
        wres = resolve(self.weight_decision, reason=self.ack.text())
        if not wres.allowed and wres.needs == "correction":
            return self.fail(wres.detail, self.weight)
        reason = self.ack.text().strip()
        if self.needs_acknowledgement and not (may_proceed(self.screening, reason)
                                               and wres.allowed):
            return self.fail("Complete or correct the items marked \u2716, ! or \u2192, or "
                             "acknowledge them with a reason.", self.ack)
        driver = self.driver.text().strip()
        ride = None
        if driver:
            ride = rc.RideDetails(driver_name=driver,
                                  relationship=self.relationship.text().strip(),
                                  phone=self.phone.text().strip())
        self.run(rc.check_in, self.visit_id, protocol=self.ctx.protocol, weight_kg=kg,
                 answers=ans, medications=self.medications.text().strip(),
                 acknowledgement=reason if self.needs_acknowledgement else "", ride=ride,
                 now=now, display_tz=local_tz())

    def refused(self, exc: Refused) -> None:
        focus = {"weight": self.weight, "ride": self.driver, "screening": self.ack}
        if exc.rule in focus:
            focus[exc.rule].setFocus()


# ------------------------------------------------------------------------------------ baseline


#: Why the monitor gives no number, in words (the live store's reason when it has none)
_NO_VALUE = {"none": "nothing from the monitor yet", "stale": "no recent value",
             "offline": "monitor offline", "unusable": "the monitor marks it unusable"}


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
            out[code] = (None, f"no NBP: {nbp.reason or _NO_VALUE.get(nbp.shown, nbp.shown)}")
    for code in ("HR", "SPO2", "RR"):
        n = snap.numeric(code)
        if code == "HR" and not n.showable:
            pr = snap.numeric("PR")
            if pr.showable:
                n = pr
        if n.showable and isinstance(n.value, (int, float)):
            q = " (questionable)" if n.shown.value == "questionable" else ""
            out[code] = (float(n.value), f"monitor {vital_label(n.code)}{q}")
        else:
            out[code] = (None, n.reason or _NO_VALUE.get(n.shown, str(n.shown)))
    return out


class BaselineDialog(CommandDialog):
    """Baseline vitals before dosing: taken from the chair's live monitor where it has a value
    that may be shown, otherwise entered by hand; an optional CADSS-6 baseline."""

    def __init__(self, ctx: AppContext, visit_id: int, chair_name: str,
                 parent: QWidget | None = None) -> None:
        self.visit_id = visit_id
        self.chair_name = chair_name
        self.info = ctx.read(visit_info, visit_id)
        super().__init__(ctx, f"Baseline vitals — {chair_name}",
                         subtitle=_subtitle(ctx, self.info), ok_text="&Record baseline",
                         visit_id=visit_id, parent=parent, min_width=STEP_WIDTH)
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
            self.sources[code].setText(why if value is not None else f"{why}: type it in")

    def _edited(self, code: str) -> None:
        self.origin[code] = "manual"
        self.sources[code].setText("entered by hand")

    def save(self) -> None:
        values: dict[str, float | None] = {}
        for code, label, _unit in BASELINE_CODES:
            try:
                values[code] = number(self.fields[code], label.replace("&", "").rstrip(":"))
            except EntryError as exc:
                return self.fail(f"{exc}.", self.fields[code])
        missing = [label.replace("&", "").rstrip(":") for code, label, _u in BASELINE_CODES
                   if values[code] is None]
        note = self.note.text().strip()
        if missing and self.ctx.protocol.schedule.baseline_required and not note:
            return self.fail(f"The protocol asks for a full baseline; missing: "
                             f"{', '.join(missing)}. Enter them, or say why in the note.",
                             self.fields[next(
                                 c for c, _l, _u in BASELINE_CODES if values[c] is None)])
        cadss = None
        if self.cadss_box.isChecked():
            cadss = []
            for item, f in self.cadss.items():
                try:
                    v = number(f, f"CADSS-6 \u201c{item}\u201d")
                except EntryError as exc:
                    return self.fail(f"{exc}.", f)
                if v is None:
                    return self.fail("Score every CADSS-6 item, or untick the CADSS-6 box.", f)
                cadss.append(int(v))
        sources = {c: self.origin.get(c, "manual") for c, v in values.items() if v is not None}
        self.run(rc.record_baseline, self.visit_id, protocol=self.ctx.protocol, values=values,
                 sources=sources, note=note, cadss6=cadss, confirm_unusual=self.confirmed(),
                 now=self.now())

    def refused(self, exc: Refused) -> None:
        if exc.rule == "baseline_required":
            self.note.setFocus()


# ---------------------------------------------------------------------------- start infusion


class StartInfusionDialog(CommandDialog):
    """The protocol's target from the weight (core's ``plan_infusion``), adjustable; core's dose
    and rate checks with their reasons; soft → confirm with a reason, hard → a charge nurse's
    override."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        self.visit_id = visit_id
        self.info = ctx.read(visit_info, visit_id)
        super().__init__(ctx, f"Start infusion — {self.info.chair}",
                         subtitle=_subtitle(ctx, self.info), ok_text="&Start infusion",
                         visit_id=visit_id, parent=parent, min_width=STEP_WIDTH)
        d = ctx.protocol.dosing
        self.override_dialog: QDialog | None = None
        self.override: ChargeOverride | None = None
        # what must hold before dosing (blocking screening items, a recent BP): the record's
        # own rule (record.gate.read_start_gate), asked again when the nurse starts
        self.gate = self._read_gate()
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
        self.override_status.setObjectName("Override")
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
        entry_error = ""
        try:
            mgkg = number(self.dose, "dose")
            dur = number(self.duration, "duration")
            bag = number(self.bag, "bag volume")
        except EntryError as exc:
            mgkg = dur = bag = None
            entry_error = str(exc)
        if w is None:
            self.plan_label.setText(_line("\u2716", ERROR_RED,
                                          "No weight recorded: weigh the patient at check-in."))
        elif mgkg is None or not dur or not bag:
            self.plan_label.setText(_line("\u2716", ERROR_RED, entry_error or
                                          "Enter the dose, the duration and the bag volume."))
        else:
            self.plan = plan_infusion(d, w, dose_mg_per_kg=mgkg, duration_min=dur,
                                      bag_volume_ml=bag)
            p = self.plan
            self.decision = (check_dose(p.dose_mg, w, d)
                             + check_rate(p.rate_ml_h, p.concentration_mg_per_ml, w, d)
                             + self.gate)
            head = (f"<div style='font-size:15px'><b>{p.dose_mg:.1f} mg</b> ketamine in "
                    f"{p.bag_volume_ml:g} mL ({p.concentration_mg_per_ml:.3g} mg/mL) — pump "
                    f"<b>{p.rate_ml_h:.1f} mL/h</b>, VTBI {p.bag_volume_ml:g} mL, "
                    f"{p.duration_min:g} min</div>"
                    f"<div style='color:#7d8896'>{escape(p.describe())}</div>")
            self.plan_label.setText(head + _findings_html(self.decision, START_FIX))
        sev = self.decision.severity if self.decision else None
        self.reason.setEnabled(sev in (Severity.SOFT, Severity.BLOCK, Severity.HARD))
        self.reason_label.setEnabled(self.reason.isEnabled())
        hard = sev is Severity.HARD
        # core says whether the override still covers what the plan now shows
        if self.override is not None and (not hard or self.decision is None
                                          or uncovered(self.decision, self.override)):
            self.override = None
        self.override_button.setEnabled(hard)
        if hard and self.override is None:
            self._override_status("A charge nurse must authorise this start (Alt+O): "
                                  + "; ".join(f.message for f in self.decision.worst()
                                              if self.decision is not None), "error")
        elif hard and self.override is not None:
            self._override_status(f"Overridden by {self.override.by}: "
                                  f"{self.override.reason}", "warn")
        else:
            self._override_status("", "")
        self.override_button.setVisible(hard)

    def _override_status(self, text: str, kind: str) -> None:
        self.override_status.setProperty("kind", kind)
        self.override_status.setText(text)
        self.override_status.style().unpolish(self.override_status)
        self.override_status.style().polish(self.override_status)

    def request_override(self) -> None:
        if self.decision is None or self.decision.severity is not Severity.HARD:
            return
        decision = self.decision
        why = "; ".join(f.message for f in decision.worst())

        def granted(override: ChargeOverride) -> None:
            self.override = override
            self.evaluate()
            self.say("Override recorded with the entry when you start the infusion.", "warn")
            self.save_button.setFocus()

        self.override_dialog = open_charge_override(self, self.ctx, why, decision, granted)
        self.override_dialog.finished.connect(
            lambda _r: setattr(self, "override_dialog", None))

    def _read_gate(self) -> Decision:
        return self.ctx.read(read_start_gate, self.visit_id, self.ctx.protocol, self.now(),
                             display_tz=local_tz())

    def save(self) -> None:
        self.gate = self._read_gate()  # a BP taken while the form was open counts
        self.evaluate()
        if self.plan is None or self.decision is None:
            return self.fail("The infusion cannot be planned: see above.", self.dose)
        res = resolve(self.decision, reason=self.reason.text(), override=self.override)
        missing = [f for f in self.decision.findings
                   if f.severity is Severity.REFUSED and f.rule in START_FIX]
        if not res.allowed and missing:  # a step to do first, not a number to correct
            return self.fail("Not started yet: " + "; ".join(
                f"{f.message} \u2192 {START_FIX[f.rule]}" for f in missing) + ".")
        if not res.allowed:
            if res.needs == "charge_override":
                self.fail(res.detail)
                self.request_override()
                return
            return self.fail(res.detail.capitalize(),
                             self.reason if res.needs == "reason" else self.dose)
        self.run(rc.start_infusion, self.visit_id, protocol=self.ctx.protocol,
                 dose_mg_per_kg=number(self.dose, "dose"),
                 duration_min=number(self.duration, "duration"),
                 bag_volume_ml=number(self.bag, "bag volume"), reason=self.reason.text().strip(),
                 override=self.override, now=self.now())

    def refused(self, exc: Refused) -> None:
        if exc.needs == "charge_override":
            self.request_override()
        elif exc.needs == "reason":
            self.reason.setFocus()


# ------------------------------------------------------------------------------------ recovery


class RecoveryDialog(CommandDialog):
    """Stop the infusion (time defaults to now) and move the visit into recovery."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        self.visit_id = visit_id
        self.info = ctx.read(visit_info, visit_id)
        super().__init__(ctx, f"Stop infusion, start recovery — {self.info.chair}",
                         subtitle=_subtitle(ctx, self.info), ok_text="&Start recovery",
                         visit_id=visit_id, parent=parent, min_width=STEP_WIDTH)
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
        # what the bag holds and what the record says was delivered (the read model): well
        # short of the plan, the stop needs its reason (the command asks core.dosing.check_stop)
        view = ctx.read(read_visit, visit_id, ctx.protocol, now)
        if view.planned_dose_mg:
            self.body.addWidget(QLabel(f"Delivered so far: {view.delivered_mg:.1f} of "
                                       f"{view.planned_dose_mg:.1f} mg planned."))
        d = ctx.protocol.dosing
        self.reason = QComboBox()
        self.reason.addItems([COMPLETED, *dict.fromkeys((*d.stopped_short_reasons,
                                                         *d.rate_change_reasons))])
        add_row(form, "&Why:", self.reason)
        self.other = QLineEdit()
        self.other.setPlaceholderText("describe, when the reason is 'other'")
        add_row(form, "&Details:", self.other)
        self.body.addLayout(form)
        for a, b in ((self.stop_time, self.reason), (self.reason, self.other)):
            self.setTabOrder(a, b)
        self.stop_time.setFocus()
        self.stop_time.selectAll()

    def save(self) -> None:
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
            if reason == "other" and not text:
                return self.fail("Describe the reason \"other\".", self.other)
            code = reason
        self.run(rc.stop_infusion, self.visit_id, protocol=self.ctx.protocol,
                 reason_code=code, reason_text=text, at=t, now=now)

    def refused(self, exc: Refused) -> None:
        if exc.rule == "stop_reason":
            self.reason.setFocus()


# ----------------------------------------------------------------------------------- next step

DialogFactory = Callable[[AppContext, "QWidget | None"], QDialog]


def next_step(visit: Any, *, screened: bool | None = None,
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
    vid = visit.visit_id if isinstance(visit, VisitInfo) else visit.id  # a VisitInfo or a row
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
    info = ctx.read(active_visit_info, chair_id)
    return next_step(info, chair_id=chair_id, chair_name=chair_name)


__all__ = [
    "BASELINE_SCALE",
    "AssignPatientDialog",
    "BaselineDialog",
    "CheckInDialog",
    "RecoveryDialog",
    "StartInfusionDialog",
    "VisitInfo",
    "live_baseline",
    "next_step",
    "next_step_for_chair",
    "visit_info",
]
