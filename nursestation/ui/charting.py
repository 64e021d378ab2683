"""Charting at the chair: dose changes, medications (MAR), assessments, notes, amendments and
their history, the delivered dose, and pump changes no nurse entry explained.

Every dialog asks ``core/`` for the decision and shows it with its reasons (rule, limit, value);
it holds no clinical rule itself, and writes nothing itself: each entry is one command of
``nursestation.record.commands``, which checks it again. An entry is shown as saved only after
the writer committed it; the dialog then emits ``saved(changes)`` and closes. Every entry names
the logged-in user and its clinical time. The common frame is ``ui.dialogs.CommandDialog``.

Keyboard: one dialog per kind, ``&`` mnemonics on every label, Enter saves (the default button),
Esc cancels. Dialogs never block in a nested event loop: open them with ``show()``/``open()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from nursestation.core import dosing as core_dosing
from nursestation.core import medications as core_meds
from nursestation.core import pumpchanges as core_pump
from nursestation.core.dosing import (
    ChargeOverride,
    Decision,
    Finding,
    Severity,
    resolve,
    uncovered,
)
from nursestation.core.vocabulary import display_name, scale_name
from nursestation.db import repo
from nursestation.db.discharge_inputs import SCALE_CADSS6, SCALE_MOAAS, SCALE_NAUSEA
from nursestation.db.models import (
    CLINICAL_MODELS,
    Assessment,
    ClinicalEntry,
    DischargeDecision,
    InfusionEvent,
    MedicationAdministration,
    Note,
    PumpChangeItem,
    RideArrangement,
    Screening,
)
from nursestation.record import commands as rc
from nursestation.record import history
from nursestation.record.commands import AMEND_FIELDS, pump_readings, scan_pump_changes
from nursestation.record.errors import Refused
from nursestation.record.visit import VisitView, read_visit
from nursestation.ui.context import AppContext
from nursestation.ui.dialogs import CommandDialog, open_charge_override

# ----------------------------------------------------------------------------------- helpers

#: The MOAA/S wording, 5 (awake) to 0 (no response).
MOAAS_WORDING = {
    5: "responds readily to name spoken in a normal tone",
    4: "lethargic response to name spoken in a normal tone",
    3: "responds only after name is called loudly and/or repeatedly",
    2: "responds only after mild prodding or shaking",
    1: "responds only after a painful trapezius squeeze",
    0: "no response after a painful trapezius squeeze",
}

KIND_LABELS = {"start": "Start", "rate_change": "Rate change", "pause": "Pause",
               "resume": "Resume", "stop": "Stop"}
# symbols the clinic's fonts are sure to have; the word after each says the same
_MARK = {Severity.OK: "✓", Severity.NOTE: "•", Severity.SOFT: "!", Severity.BLOCK: "✗",
         Severity.HARD: "✗", Severity.REFUSED: "✗"}
_SEVERITY_WORD = {Severity.OK: "OK", Severity.NOTE: "Note", Severity.SOFT: "Soft limit",
                  Severity.BLOCK: "Blocked", Severity.HARD: "Hard limit",
                  Severity.REFUSED: "Refused"}


def local(t: datetime) -> datetime:
    return t.astimezone()


def hhmm(t: datetime | None) -> str:
    return "" if t is None else local(t).strftime("%H:%M")


def to_qdatetime(t: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(t.timestamp()))


def from_qdatetime(q: QDateTime) -> datetime:
    return datetime.fromtimestamp(q.toSecsSinceEpoch(), UTC)


def decision_text(dec: Decision) -> str:
    """Each finding on its own line with a symbol and a word (not colour alone)."""
    lines = []
    for f in dec.findings:
        lines.append(f"{_MARK[f.severity]} {_SEVERITY_WORD[f.severity]}: {f.message}")
    return "\n".join(lines) or "✓ OK"


def _label_for(form: QFormLayout, text: str, widget: QWidget) -> QLabel:
    lab = QLabel(text)
    lab.setBuddy(widget)
    form.addRow(lab, widget)
    return lab


class TimeField(QDateTimeEdit):
    """A clinical time, default now. ``touched`` tells whether the nurse changed it; untouched
    means "now" at the moment of saving."""

    def __init__(self, now: datetime, parent: QWidget | None = None) -> None:
        super().__init__(to_qdatetime(now), parent)
        self.setDisplayFormat("dd MMM HH:mm")
        self.setCalendarPopup(False)
        self.touched = False
        self.dateTimeChanged.connect(self._touch)

    def _touch(self, *_: object) -> None:
        self.touched = True

    def set_time(self, t: datetime) -> None:
        self.blockSignals(True)
        self.setDateTime(to_qdatetime(t))
        self.blockSignals(False)

    def value(self, now: datetime) -> datetime:
        return from_qdatetime(self.dateTime()) if self.touched else now


# ------------------------------------------------------------------------------ visit facts


#: What the charting dialogs ask core/ about a visit: the one visit read model.
VisitFacts = VisitView


split_allergies = core_meds.split_allergies


def visit_facts(session: Session, visit_id: int, protocol: Any,
                now: datetime | None = None) -> VisitView:
    """The visit's read model (``record.visit.read_visit``) as of ``now`` (default: now)."""
    return read_visit(session, visit_id, protocol, now or datetime.now(UTC))


# --------------------------------------------------------------------------- dose changes


class DoseChangeDialog(CommandDialog):
    """Start / rate change / pause / resume / stop, with a reason; the new dose rate and the
    limit decision shown live. Soft limit → a reason; hard limit → a charge-nurse override that
    covers exactly the rate it was shown. Each action is its command (``start_infusion``,
    ``change_rate``, ``pause_infusion``, ``resume_infusion``, ``stop_infusion``; a stop moves the
    visit into recovery)."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None, *,
                 kind: str | None = None) -> None:
        super().__init__(ctx, "Dose change", visit_id=visit_id, parent=parent)
        self.facts = ctx.read(visit_facts, visit_id, ctx.protocol, ctx.clock.now())
        self.pump = ctx.read(rc.visit_infusion_facts, visit_id, ctx.protocol, ctx.clock.now())
        self.override: ChargeOverride | None = None
        self.override_dialog: QDialog | None = None
        f = self.facts
        weight = f"{f.weight_kg:g} kg" if f.weight_kg else "no weight recorded"
        conc = (f"{f.concentration_mg_ml:.3g} mg/mL ({f.concentration_source})"
                if f.concentration_mg_ml else f.concentration_source)
        rate = f"{f.current_rate:g} mL/h" if f.current_rate is not None else "—"
        self.set_heading(f"{f.patient_name} · {weight} · pump {self.pump.state}, "
                         f"last charted rate {rate}\nConcentration {conc}")
        self.kind = QComboBox()
        for k in ("start", "rate_change", "pause", "resume", "stop"):
            self.kind.addItem(KIND_LABELS[k], k)
        default = kind or {"idle": "start", "paused": "resume"}.get(self.pump.state,
                                                                    "rate_change")
        self.kind.setCurrentIndex(self.kind.findData(default))
        _label_for(self.form, "&Action:", self.kind)
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0, 2000)
        self.rate.setDecimals(1)
        self.rate.setSuffix(" mL/h")
        self.rate.setValue(f.current_rate if f.current_rate is not None else self._plan_rate())
        _label_for(self.form, "New &rate:", self.rate)
        self.dose_rate = QLabel()
        self.form.addRow("Dose rate:", self.dose_rate)
        self.reason = QComboBox()
        self.reason.addItem("— choose —", "")
        for r in ctx.protocol.dosing.rate_change_reasons:
            self.reason.addItem(r, r)
        _label_for(self.form, "R&eason:", self.reason)
        self.reason_text = QLineEdit()
        self.reason_text.setPlaceholderText("details (required for \"other\")")
        _label_for(self.form, "&Details:", self.reason_text)
        self.confirm = QLineEdit()
        self.confirm.setPlaceholderText("why the soft limit is exceeded")
        self.confirm_label = _label_for(self.form, "&Confirm limit:", self.confirm)
        self.override_button = QPushButton("Charge &override…")
        self.override_button.clicked.connect(self.request_override)
        self.override_status = QLabel()
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(self.override_button)
        h.addWidget(self.override_status, 1)
        self.form.addRow("", row)
        self.kind.currentIndexChanged.connect(self.update_decision)
        self.rate.valueChanged.connect(self.update_decision)
        self.reason.currentIndexChanged.connect(self.update_decision)
        self.reason_text.textChanged.connect(self.update_decision)
        self.update_decision()
        self.kind.setFocus()

    def _plan_rate(self) -> float:
        if self.facts.weight_kg:
            return core_dosing.plan_infusion(self.ctx.protocol.dosing,
                                             self.facts.weight_kg).rate_ml_h
        return 0.0

    @property
    def selected_kind(self) -> str:
        return str(self.kind.currentData())

    @property
    def uses_rate(self) -> bool:
        return self.selected_kind in ("start", "rate_change", "resume")

    def dose_rate_mg_kg_h(self) -> float | None:
        f = self.facts
        if not self.uses_rate or not f.weight_kg or not f.concentration_mg_ml:
            return None
        return core_dosing.ml_h_to_mg_kg_h(self.rate.value(), f.concentration_mg_ml, f.weight_kg)

    def current_decision(self) -> Decision:
        """core/'s decision on the entry as it stands (reason and, when a rate, the limits)."""
        dosing = self.ctx.protocol.dosing
        dec = Decision()
        if self.selected_kind != "start" or self.reason.currentData():
            dec = core_dosing.check_change_reason(str(self.reason.currentData()),
                                                  self.reason_text.text(), dosing)
        if self.uses_rate:
            f = self.facts
            if not f.weight_kg or not f.concentration_mg_ml:
                dec = dec + core_dosing.decision(Finding(
                    "rate", Severity.REFUSED,
                    "no weight recorded for this patient: the dose rate cannot be checked"))
            else:
                dec = dec + core_dosing.check_rate(self.rate.value(), f.concentration_mg_ml,
                                                   f.weight_kg, dosing)
        return dec

    def update_decision(self) -> None:
        self.rate.setEnabled(self.uses_rate)
        mgkgh = self.dose_rate_mg_kg_h()
        if mgkgh is None:
            self.dose_rate.setText("—" if not self.uses_rate else "unknown (no weight)")
        else:
            mg_h = self.rate.value() * (self.facts.concentration_mg_ml or 0)
            self.dose_rate.setText(f"{mgkgh:.3g} mg/kg/h ({mg_h:.1f} mg/h)")
        dec = self.current_decision()
        self.decision.setText(decision_text(dec))
        soft = dec.severity is Severity.SOFT or any(
            f.severity is Severity.SOFT for f in dec.findings)
        self.confirm.setEnabled(soft)
        self.confirm_label.setEnabled(soft)
        hard = dec.severity is Severity.HARD
        self.override_button.setEnabled(hard)
        # an override covers the rate it was shown, nothing after (core decides)
        if self.override is not None and (not hard or uncovered(dec, self.override)):
            self.override = None
        if not hard:
            self.override_status.setText("")
        elif self.override is None:
            self.override_status.setText("✗ needs a charge nurse's PIN and reason")

    def request_override(self) -> None:
        dec = self.current_decision()
        what = "; ".join(f.message for f in dec.worst())

        def granted(ov: ChargeOverride) -> None:
            self.override = ov
            self.override_status.setText(f"✓ overridden by {ov.by}: {ov.reason}")
            self.say("")

        self.override_dialog = open_charge_override(self, self.ctx, what, dec, granted)

    def save(self) -> None:
        dec = self.current_decision()
        kind = self.selected_kind
        if kind != "start" and not self.reason.currentData():
            self.fail("Choose the reason for the change.", self.reason)
            return
        confirm = self.confirm.text().strip()
        res = resolve(dec, reason=confirm, override=self.override)
        if not res.allowed:
            self.fail(res.detail, self.confirm if res.needs == "reason"
                      else self.override_button if res.needs == "charge_override" else None)
            return
        code = str(self.reason.currentData() or "")
        details = self.reason_text.text().strip()
        common: dict[str, Any] = {"protocol": self.ctx.protocol, "at": self.now(),
                                  "now": self.now()}
        if kind == "start":
            self.run(rc.start_infusion, self.visit_id, rate_ml_h=self.rate.value(),
                     reason=confirm, override=self.override, **common)
        elif kind == "rate_change":
            self.run(rc.change_rate, self.visit_id, rate_ml_h=self.rate.value(),
                     reason_code=code, reason_text=details, confirmation=confirm,
                     override=self.override, **common)
        elif kind == "pause":
            self.run(rc.pause_infusion, self.visit_id, reason_code=code, reason_text=details,
                     **common)
        elif kind == "resume":
            self.run(rc.resume_infusion, self.visit_id, rate_ml_h=self.rate.value(),
                     reason_code=code, reason_text=details, confirmation=confirm,
                     override=self.override, **common)
        else:
            self.run(rc.stop_infusion, self.visit_id, reason_code=code, reason_text=details,
                     **common)

    def refused(self, exc: Refused) -> None:
        if exc.needs == "charge_override":
            self.override = None
            self.override_status.setText("✗ needs a charge nurse's PIN and reason")
            self.override_button.setFocus()
        elif exc.needs == "reason":
            self.confirm.setFocus()


# ------------------------------------------------------------------------------ medications


class MedicationDialog(CommandDialog):
    """A MAR entry: formulary drug, dose, route, site, time given, indication; core/'s checks
    (max per dose/visit, interval, allergy, time) shown live."""

    ROUTES = core_meds.KNOWN_ROUTES
    INDICATIONS = ("nausea", "prophylaxis")

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Medication", visit_id=visit_id, parent=parent)
        self.facts = ctx.read(visit_facts, visit_id, ctx.protocol, ctx.clock.now())
        f = self.facts
        allergies = ", ".join(f.allergies)
        self.set_heading(f"{f.patient_name} · " + (f"<b>! Allergies: {allergies}</b>"
                                                    if f.allergies else
                                                    "allergies: none listed (NKDA or not "
                                                    "recorded: check the chart)"))
        self.drug = QComboBox()
        for d in ctx.protocol.formulary:
            self.drug.addItem(d.name, d.name)
        self.drug.addItem("other (off formulary)…", core_meds.OTHER_DRUG)
        _label_for(self.form, "&Drug:", self.drug)
        self.other_name = QLineEdit()
        self.other_name.setPlaceholderText("drug given")
        self.other_name_label = _label_for(self.form, "Ot&her drug:", self.other_name)
        self.other_reason = QLineEdit()
        self.other_reason.setPlaceholderText("why it is off the formulary")
        self.other_reason_label = _label_for(self.form, "Off-formulary reaso&n:",
                                             self.other_reason)
        self.dose = QDoubleSpinBox()
        self.dose.setRange(0, 1000)
        self.dose.setDecimals(2)
        _label_for(self.form, "D&ose:", self.dose)
        self.route = QComboBox()
        self.route.setEditable(True)
        _label_for(self.form, "&Route:", self.route)
        self.site = QLineEdit()
        self.site.setPlaceholderText("e.g. L antecubital (existing IV)")
        _label_for(self.form, "&Site:", self.site)
        self.given = TimeField(self.now())
        _label_for(self.form, "&Time given:", self.given)
        self.indication = QComboBox()
        for i in self.INDICATIONS:
            self.indication.addItem(i, i)
        _label_for(self.form, "&Indication:", self.indication)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("needed to confirm a limit or override a block")
        self.reason_label = _label_for(self.form, "Reason to &proceed:", self.reason)
        self.drug.currentIndexChanged.connect(self._drug_changed)
        for w in (self.dose.valueChanged, self.route.currentTextChanged,
                  self.given.dateTimeChanged, self.other_name.textChanged,
                  self.other_reason.textChanged):
            w.connect(self.update_decision)
        self._drug_changed()
        self.drug.setFocus()

    def _drug_changed(self) -> None:
        name = str(self.drug.currentData())
        other = name == core_meds.OTHER_DRUG
        for w in (self.other_name, self.other_name_label, self.other_reason,
                  self.other_reason_label):
            w.setVisible(other)
        d = self.ctx.protocol.drug_named(name)
        self.route.blockSignals(True)
        self.route.clear()
        routes = list(d.routes) if d else []
        routes += [r for r in self.ROUTES if r not in routes]
        self.route.addItems(routes)
        self.route.blockSignals(False)
        self.dose.setSuffix(f" {d.unit}" if d else " mg")
        if d:
            self.dose.setValue(d.usual_dose_mg)
        self.update_decision()

    def proposed(self, now: datetime) -> core_meds.ProposedAdministration:
        return core_meds.ProposedAdministration(
            drug=str(self.drug.currentData()), dose_mg=self.dose.value(),
            route=self.route.currentText().strip(), given_at=self.given.value(now),
            other_drug_name=self.other_name.text(), other_reason=self.other_reason.text())

    def current_decision(self, now: datetime | None = None) -> Decision:
        now = now or self.now()
        given = [core_meds.GivenDose(m.drug, m.dose, m.at) for m in self.facts.medications]
        return core_meds.check_administration(
            self.proposed(now), self.ctx.protocol.formulary, given, self.facts.allergies, now,
            late_after_min=repo.LATE_ENTRY_AFTER.total_seconds() / 60.0,
            display_tz=local(now).tzinfo)

    def update_decision(self) -> None:
        dec = self.current_decision()
        self.decision.setText(decision_text(dec))
        needs = dec.severity in (Severity.SOFT, Severity.BLOCK)
        self.reason.setEnabled(needs)
        self.reason_label.setEnabled(needs)

    def save(self) -> None:
        now = self.now()
        dec = self.current_decision(now)
        reason = self.reason.text().strip()
        res = resolve(dec, reason=reason)
        self.decision.setText(decision_text(dec))
        if not res.allowed:
            self.fail(res.detail)
            if res.needs == "reason":
                self.reason.setEnabled(True)
                self.reason.setFocus()
            return
        p = self.proposed(now)
        self.run(rc.give_medication, self.visit_id, protocol=self.ctx.protocol, drug=p.drug,
                 dose=p.dose_mg, route=p.route, given_at=p.given_at,
                 site=self.site.text().strip(), indication=str(self.indication.currentData()),
                 other_drug_name=p.other_drug_name, other_reason=p.other_reason,
                 reason=reason, late_reason=self.late_text(), now=now,
                 display_tz=local(now).tzinfo)

    def refused(self, exc: Refused) -> None:
        if exc.needs == "reason":
            self.reason.setEnabled(True)
            self.reason.setFocus()


class MedicationResponseDialog(CommandDialog):
    """The response to a dose, charted later (an amendment of the MAR entry)."""

    def __init__(self, ctx: AppContext, medication_id: int,
                 parent: QWidget | None = None) -> None:
        med = ctx.read(_current_version, MedicationAdministration, medication_id)
        super().__init__(ctx, "Medication response", visit_id=med.visit_id, parent=parent)
        self.medication = med
        self.set_heading(f"{med.drug} {med.dose:g} {med.unit} {med.route} given "
                             f"{hhmm(med.at)}" + (f" ({med.indication})" if med.indication
                                                   else ""))
        self.response = QLineEdit(med.response or "")
        self.response.setPlaceholderText("e.g. nausea resolved")
        _label_for(self.form, "&Response:", self.response)
        self.when = TimeField(self.now())
        _label_for(self.form, "&Time:", self.when)
        self.response.setFocus()

    def save(self) -> None:
        text = self.response.text().strip()
        if not text:
            self.fail("Describe the response.", self.response)
            return
        self.run(rc.record_medication_response, self.medication.id, response=text,
                 at=self.when.value(self.now()), now=self.now())


# ------------------------------------------------------------------------------ assessments


class AssessmentDialog(CommandDialog):
    """CADSS-6, MOAA/S, nausea and a dissociation note in one keyboard-friendly dialog.
    Type a digit in each CADSS item (Tab moves on); "–" means not assessed."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Assessment", visit_id=visit_id, parent=parent)
        a = ctx.protocol.assessments
        self.set_heading("Leave a part at “–” when it was not assessed.")
        cad = QGroupBox(f"&CADSS-6 (each item 0–{a.cadss6_item_max})")
        grid = QGridLayout(cad)
        self.cadss: list[QSpinBox] = []
        for i, question in enumerate(a.cadss6_items):
            spin = QSpinBox()
            spin.setRange(-1, a.cadss6_item_max)
            spin.setSpecialValueText("–")
            spin.setValue(-1)
            spin.setAccessibleName(f"CADSS item {i + 1}")
            spin.setFixedWidth(64)
            lab = QLabel(f"{i + 1}. {question}")
            lab.setWordWrap(True)
            lab.setBuddy(spin)
            grid.addWidget(lab, i, 0)
            grid.addWidget(spin, i, 1)
            spin.valueChanged.connect(self.update_decision)
            self.cadss.append(spin)
        self.cadss_total = QLabel()
        grid.addWidget(self.cadss_total, len(a.cadss6_items), 0, 1, 2)
        self.form.addRow(cad)
        self.moaas = QComboBox()
        self.moaas.addItem("– not assessed", None)
        for level in range(a.moaas_max, a.moaas_min - 1, -1):
            self.moaas.addItem(f"{level} — {MOAAS_WORDING.get(level, '')}", level)
        _label_for(self.form, "&MOAA/S:", self.moaas)
        self.nausea = QComboBox()
        self.nausea.addItem("– not assessed", None)
        for lvl in a.nausea_levels:
            self.nausea.addItem(lvl, lvl)
        _label_for(self.form, "&Nausea:", self.nausea)
        self.note = QPlainTextEdit()
        self.note.setTabChangesFocus(True)
        self.note.setPlaceholderText("what the patient describes, how distressing")
        self.note.setFixedHeight(60)
        _label_for(self.form, "Dissociation n&ote:", self.note)
        self.when = TimeField(self.now())
        _label_for(self.form, "&Time:", self.when)
        self.moaas.currentIndexChanged.connect(self.update_decision)
        self.nausea.currentIndexChanged.connect(self.update_decision)
        self.update_decision()
        self.cadss[0].setFocus()

    def cadss_scores(self) -> list[int] | None:
        """The six items, None when none is scored; raises when only some are."""
        vals = [s.value() for s in self.cadss]
        if all(v < 0 for v in vals):
            return None
        if any(v < 0 for v in vals):
            raise ValueError("score all six CADSS-6 items, or none")
        return vals

    def update_decision(self) -> None:
        vals = [s.value() for s in self.cadss]
        scored = [v for v in vals if v >= 0]
        mx = 6 * self.ctx.protocol.assessments.cadss6_item_max
        if not scored:
            self.cadss_total.setText("Total: – (not assessed)")
        elif len(scored) < 6:
            self.cadss_total.setText(f"Total so far: {sum(scored)} / {mx} "
                                     f"({6 - len(scored)} item(s) left)")
        else:
            self.cadss_total.setText(f"Total: {sum(scored)} / {mx}")

    def save(self) -> None:
        try:
            cadss = self.cadss_scores()
        except ValueError as exc:
            self.fail(str(exc), next(s for s in self.cadss if s.value() < 0))
            return
        moaas = self.moaas.currentData()
        nausea = self.nausea.currentData()
        note = self.note.toPlainText().strip()
        if cadss is None and moaas is None and nausea is None and not note:
            self.fail("Nothing assessed: score at least one part.")
            return
        self.run(rc.record_assessments, self.visit_id, protocol=self.ctx.protocol,
                 cadss6=cadss, moaas=moaas, nausea=nausea, note=note,
                 at=self.when.value(self.now()), late_reason=self.late_text(), now=self.now())


class NoteDialog(CommandDialog):
    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Note", visit_id=visit_id, parent=parent)
        self.text = QPlainTextEdit()
        self.text.setTabChangesFocus(True)
        _label_for(self.form, "&Note:", self.text)
        self.when = TimeField(self.now())
        _label_for(self.form, "&Time:", self.when)
        self.text.setFocus()

    def save(self) -> None:
        text = self.text.toPlainText().strip()
        if not text:
            self.fail("The note is empty.", self.text)
            return
        self.run(rc.add_note, self.visit_id, text=text, at=self.when.value(self.now()),
                 late_reason=self.late_text(), now=self.now())


# ------------------------------------------------------------------------- amendments, history

MODELS_BY_TYPE: dict[str, type[ClinicalEntry]] = {m.__tablename__: m for m in CLINICAL_MODELS}
TYPE_LABELS = {
    Screening: "Screening", InfusionEvent: "Infusion", MedicationAdministration: "Medication",
    Assessment: "Assessment", Note: "Note", RideArrangement: "Ride home",
    DischargeDecision: "Discharge", PumpChangeItem: "Pump change",
}
def model_for(entry_type: str | type[ClinicalEntry]) -> type[ClinicalEntry]:
    if isinstance(entry_type, str):
        return MODELS_BY_TYPE[entry_type]
    return entry_type


def _current_version(session: Session, model: type[ClinicalEntry], entry_id: int) -> Any:
    return history.current_version(session, model, entry_id)


def summarize(entry: ClinicalEntry) -> str:
    """One line for the history view."""
    e: Any = entry
    if isinstance(entry, InfusionEvent):
        rate = f" {e.rate_ml_h:g} mL/h" if e.rate_ml_h is not None else ""
        dose = f" ({e.dose_mg_kg_h:.3g} mg/kg/h)" if e.dose_mg_kg_h else ""
        why = f" — {e.reason_code}" if e.reason_code else ""
        why += f": {e.reason_text}" if e.reason_text else ""
        extra = f"; soft limit confirmed: {e.limit_confirmation}" if e.limit_confirmation else ""
        extra += f"; charge override: {e.override_reason}" if e.override_by_id else ""
        return f"{KIND_LABELS.get(e.kind, e.kind)}{rate}{dose}{why}{extra}"
    if isinstance(entry, MedicationAdministration):
        s = f"{e.drug} {e.dose:g} {e.unit} {e.route}"
        s += f" at {e.site}" if e.site else ""
        s += f" for {e.indication}" if e.indication else ""
        s += " [late entry]" if e.late_entry else ""
        s += f"; override: {e.override_reason}" if e.override_reason else ""
        s += f"; response {hhmm(e.response_at)}: {e.response}" if e.response else ""
        return s
    if isinstance(entry, Assessment):
        if e.scale == SCALE_NAUSEA:
            s = f"Nausea {e.items.get('level', '?')}"
        elif e.scale == SCALE_MOAAS:
            s = f"MOAA/S {e.score:g}" if e.score is not None else "MOAA/S"
        elif e.scale == SCALE_CADSS6:
            s = f"CADSS-6 {e.score:g}" if e.score is not None else "CADSS-6 (note only)"
            if e.items:
                s += " (" + ", ".join(f"{k}:{v}" for k, v in e.items.items()) + ")"
        else:  # baseline vitals, a vitals check, another scale: its name and its values
            values = ", ".join(f"{display_name(k)} {v:g}" if isinstance(v, int | float)
                               else f"{display_name(k)} {v}" for k, v in (e.items or {}).items())
            s = " ".join(x for x in (scale_name(e.scale),
                                     f"{e.score:g}" if e.score is not None else "",
                                     f"({values})" if values else "") if x)
        return s + (f" — {e.note}" if e.note else "")
    if isinstance(entry, Note):
        return e.text
    if isinstance(entry, RideArrangement):
        who = (f"car service {e.company} ({e.booking_ref})" if e.kind == "car_service"
               else f"{e.driver_name} ({e.relationship}, {e.phone})")
        eta = f", expected {hhmm(e.expected_arrival)}" if e.expected_arrival else ""
        conf = (f"; confirmed ({e.confirmation_method}) {hhmm(e.confirmed_at)}"
                if e.confirmed_at else "; not confirmed")
        return f"{who}{eta}{conf}"
    if isinstance(entry, DischargeDecision):
        s = f"{e.result}; criteria {'all met' if e.all_met else 'NOT all met'}"
        return s + (f"; override: {e.override_reason}" if e.override else "")
    if isinstance(entry, PumpChangeItem):
        desc = core_pump.PumpChange.from_values(e.pump_values).describe() \
            if "at" in e.pump_values else e.kind
        res = f" — {e.status}" + (f": {e.resolution_reason}" if e.resolution_reason else "")
        return desc + res
    if isinstance(entry, Screening):
        return f"screening {'passed' if e.passed else 'not passed' if e.passed is False else ''}"
    return repr(entry)


@dataclass
class Version:
    entry: Any
    by: str
    superseded: bool


@dataclass
class Chain:
    kind: str
    versions: list[Version]

    @property
    def current(self) -> Version:
        return self.versions[-1]

    @property
    def original(self) -> Version:
        return self.versions[0]


def visit_history(session: Session, visit_id: int) -> list[Chain]:
    """Every entry of the visit with all its versions (original first), by clinical time: the
    one walker's chains (``record.history``) with who charted each version."""
    users = history.Users(session)
    return [Chain(TYPE_LABELS.get(c.model, c.model.__tablename__),
                  [Version(v, users.name(v.recorded_by_id), c.superseded(v))
                   for v in c.versions])
            for c in history.visit_history(session, visit_id)]


class AmendDialog(CommandDialog):
    """Correct an entry: changed fields and a mandatory reason (a new version; the original
    stays in the history). "Entered in error" voids it."""

    def __init__(self, ctx: AppContext, entry_type: str | type[ClinicalEntry], entry_id: int,
                 parent: QWidget | None = None) -> None:
        self.model = model_for(entry_type)
        cur = ctx.read(_current_version, self.model, entry_id)
        super().__init__(ctx, f"Amend {TYPE_LABELS.get(self.model, '')}", ok_text="&Amend",
                         visit_id=cur.visit_id, parent=parent)
        self.current = cur
        self.set_heading(f"Amending: {summarize(cur)}\n(charted {hhmm(cur.recorded_at)}; "
                         f"every version stays in the history)")
        self.fields: dict[str, QWidget] = {}
        columns = {c.key: c for c in self.model.__mapper__.column_attrs}
        for name in AMEND_FIELDS.get(self.model, ()):
            value = getattr(cur, name)
            col_type = columns[name].columns[0].type.python_type if name in columns else str
            w: QWidget
            if name in ("at", "expected_arrival") or col_type is datetime:
                w = TimeField(value or self.now())
                w.touched = False
            elif col_type is bool:
                w = QCheckBox()
                w.setChecked(bool(value))
            elif col_type in (dict, list):
                w = QLineEdit(json.dumps(value or {}, ensure_ascii=False))
            elif col_type is float:
                w = QLineEdit("" if value is None else f"{value:g}")
            else:
                w = QLineEdit("" if value is None else str(value))
            label = name.replace("_", " ").replace(" ml h", " (mL/h)").replace(
                " mg kg h", " (mg/kg/h)").replace(" mg ml", " (mg/mL)").capitalize()
            _label_for(self.form, f"{label}:", w)
            self.fields[name] = w
        self.void = QCheckBox("Entered in &error (void this entry)")
        self.form.addRow("", self.void)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why it is corrected (required)")
        _label_for(self.form, "&Reason:", self.reason)
        self.reason.setFocus()

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, w in self.fields.items():
            old = getattr(self.current, name)
            new: Any
            if isinstance(w, TimeField):
                if not w.touched:
                    continue
                new = from_qdatetime(w.dateTime())
            elif isinstance(w, QCheckBox):
                new = w.isChecked()
            else:
                text = w.text().strip()  # type: ignore[attr-defined]
                if isinstance(old, (dict, list)):
                    new = json.loads(text) if text else {}
                elif isinstance(old, float) or (old is None and name in (
                        "rate_ml_h", "dose_mg_kg_h", "concentration_mg_ml", "score", "dose")):
                    new = float(text.replace(",", ".")) if text else None
                else:
                    new = text if text or old is not None else None
            if new != old:
                out[name] = new
        if self.void.isChecked():
            out["voided"] = True
        return out

    def save(self) -> None:
        reason = self.reason.text().strip()
        try:
            changes = self.changes()
        except ValueError as exc:
            self.fail(f"A value is not valid: {exc}")
            return
        if not changes:
            self.fail("Nothing was changed.")
            return
        if not reason:
            self.fail("An amendment needs a reason.", self.reason)
            return
        self.run(rc.amend_entry, self.model.__tablename__, self.current.id,
                 protocol=self.ctx.protocol, changes=changes, reason=reason, now=self.now())


class EntryHistoryView(QWidget):
    """A visit's entries, each with its versions: superseded versions struck through and marked
    "superseded", each amendment with who, when and why. Refreshes on committed writes."""

    amend_requested = Signal(str, int)  # entry type (table name), entry id

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.visit_id = visit_id
        self.chains: list[Chain] = []
        self.amend_dialog: AmendDialog | None = None
        lay = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Time", "Entry", "By", "Amendment"])
        self.tree.setAlternatingRowColors(True)
        lay.addWidget(self.tree)
        row = QHBoxLayout()
        self.amend_button = QPushButton("&Amend selected…")
        self.amend_button.clicked.connect(self.amend_selected)
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(self.amend_button)
        row.addStretch(1)
        row.addWidget(self.refresh_button)
        lay.addLayout(row)
        ctx.changed.connect(self._changed)
        self.refresh()

    def _changed(self, _what: str, visit_id: int) -> None:
        if visit_id in (0, self.visit_id):
            self.refresh()

    def refresh(self) -> None:
        self.chains = self.ctx.read(visit_history, self.visit_id)
        self.tree.clear()
        for chain in self.chains:
            cur = chain.current
            e = cur.entry
            status = " [entered in error]" if e.voided else ""
            n = len(chain.versions) - 1
            top = QTreeWidgetItem([
                hhmm(e.at), f"{chain.kind}: {summarize(e)}{status}", cur.by,
                f"amended ×{n}" if n else ""])
            top.setData(0, Qt.ItemDataRole.UserRole, (e.__tablename__, e.id))
            if e.voided:
                _strike(top)
            self.tree.addTopLevelItem(top)
            if n:
                for i, v in enumerate(chain.versions):
                    ve = v.entry
                    mark = "[superseded] " if v.superseded else "[current] "
                    if i == 0:
                        why = f"original, charted {hhmm(ve.recorded_at)} by {v.by}"
                    else:
                        why = (f"amended {hhmm(ve.recorded_at)} by {v.by}: "
                               f"{ve.amend_reason}")
                    child = QTreeWidgetItem([hhmm(ve.at), mark + summarize(ve), v.by, why])
                    child.setData(0, Qt.ItemDataRole.UserRole, (ve.__tablename__, ve.id))
                    if v.superseded:
                        _strike(child)
                    top.addChild(child)
        self.tree.expandAll()
        for i in range(4):
            self.tree.resizeColumnToContents(i)

    def selected(self) -> tuple[str, int] | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        return item.data(0, Qt.ItemDataRole.UserRole)

    def amend_selected(self) -> None:
        sel = self.selected()
        if sel is None:
            return
        self.amend_requested.emit(*sel)
        self.amend_dialog = AmendDialog(self.ctx, sel[0], sel[1], self)
        self.amend_dialog.open()


def _strike(item: QTreeWidgetItem) -> None:
    for col in range(item.columnCount() or 4):
        f = QFont(item.font(col))
        f.setStrikeOut(True)
        item.setFont(col, f)


# ---------------------------------------------------------------------------- delivered dose


@dataclass(frozen=True)
class DoseSummary:
    delivered: core_dosing.DeliveredDose | None
    comparison: core_dosing.VolumeComparison | None
    pump_vi_at: datetime | None
    text: str
    visit: VisitView | None = None


def delivered_dose_summary(session: Session, visit_id: int, now: datetime,
                           protocol: Any) -> DoseSummary:
    """Cumulative dose from the charted rate history, against the pump's volume infused: the
    visit read model's (``record.visit``), as the overview, the gate and the report show it."""
    v = read_visit(session, visit_id, protocol, now)
    return DoseSummary(v.delivered, v.pump_comparison,
                       v.pump_volume.at if v.pump_volume else None,
                       "\n".join(v.dose_lines(local(now).tzinfo)), v)


class DeliveredDosePanel(QWidget):
    """Cumulative dose (mg, mg/kg) from the charted rates vs the pump's volume infused.
    Call ``refresh()`` (the chair detail does on its timer and on ``ctx.changed``)."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.visit_id = visit_id
        self.summary: DoseSummary | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        lay.addWidget(self.label)
        ctx.changed.connect(lambda _w, v: self.refresh() if v in (0, visit_id) else None)
        self.refresh()

    def refresh(self, now: datetime | None = None) -> None:
        self.summary = self.ctx.read(delivered_dose_summary, self.visit_id,
                                     now or self.ctx.clock.now(), self.ctx.protocol)
        self.label.setText(self.summary.text)


# ------------------------------------------------------------------------------ pump changes


class PumpChangeDialog(CommandDialog):
    """A pending pump change: confirm it (with the reason; it becomes a charted infusion event at
    the pump's time) or mark it "not a real change" (with the reason)."""

    def __init__(self, ctx: AppContext, item_id: int, parent: QWidget | None = None) -> None:
        item = ctx.read(_current_version, PumpChangeItem, item_id)
        super().__init__(ctx, "Pump change", ok_text="&Resolve", visit_id=item.visit_id,
                         parent=parent)
        self.item = item
        self.change = core_pump.PumpChange.from_values(item.pump_values)
        self.facts = ctx.read(visit_facts, item.visit_id, ctx.protocol, self.now())
        dose = ctx.read(delivered_dose_summary, item.visit_id, self.now(), ctx.protocol)
        self.set_heading(f"! Pending: {self.change.describe(local(self.now()).tzinfo)} — "
                         f"no nurse entry explains it.\n{dose.text}")
        self.confirm_radio = QRadioButton("&Confirm: chart this change")
        self.dismiss_radio = QRadioButton("&Not a real change")
        self.confirm_radio.setChecked(True)
        self.form.addRow(self.confirm_radio)
        self.reason = QComboBox()
        self.reason.addItem("— choose —", "")
        for r in ctx.protocol.dosing.rate_change_reasons:
            self.reason.addItem(r, r)
        _label_for(self.form, "R&eason:", self.reason)
        self.form.addRow(self.dismiss_radio)
        self.text = QLineEdit()
        self.text.setPlaceholderText("details; for \"not a real change\" say why")
        _label_for(self.form, "&Details:", self.text)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.form.addRow(self.info)
        if self.change.rate_after is not None and self.change.kind in (
                "start", "rate_change", "resume") and self.facts.weight_kg \
                and self.facts.concentration_mg_ml:
            dec = core_dosing.check_rate(self.change.rate_after, self.facts.concentration_mg_ml,
                                         self.facts.weight_kg, ctx.protocol.dosing)
            # what happened is charted as it happened; the limits are shown, not enforced
            self.info.setText("The pump's rate against the limits (shown, not blocking: the "
                              "chart records what happened):\n" + decision_text(dec))
        self.confirm_radio.toggled.connect(self._mode)
        self._mode()
        self.confirm_radio.setFocus()

    def _mode(self) -> None:
        self.reason.setEnabled(self.confirm_radio.isChecked())

    def save(self) -> None:
        text = self.text.text().strip()
        if self.confirm_radio.isChecked():
            code = str(self.reason.currentData() or "")
            dec = core_dosing.check_change_reason(code, text, self.ctx.protocol.dosing)
            if not dec.ok:
                self.fail("; ".join(dec.messages), self.reason)
                return
            self.run(rc.confirm_pump_change, self.item.id, protocol=self.ctx.protocol,
                     reason_code=code, reason_text=text, now=self.now())
        else:
            if not text:
                self.fail("Say why it is not a real change.", self.text)
                return
            self.run(rc.dismiss_pump_change, self.item.id, reason=text, now=self.now())


__all__ = [
    "AMEND_FIELDS",
    "MOAAS_WORDING",
    "AmendDialog",
    "AssessmentDialog",
    "DeliveredDosePanel",
    "DoseChangeDialog",
    "DoseSummary",
    "EntryHistoryView",
    "MedicationDialog",
    "MedicationResponseDialog",
    "NoteDialog",
    "PumpChangeDialog",
    "TimeField",
    "VisitFacts",
    "decision_text",
    "delivered_dose_summary",
    "open_charge_override",
    "pump_readings",
    "scan_pump_changes",
    "summarize",
    "visit_facts",
    "visit_history",
]
