"""Charting at the chair: dose changes, medications (MAR), assessments, notes, amendments and
their history, the delivered dose, and pump changes no nurse entry explained.

Every dialog asks ``core/`` for the decision and shows it with its reasons (rule, limit, value);
it holds no clinical rule itself. An entry is shown as saved only after the writer committed it
(``ctx.write(..., on_done=...)``); the dialog then emits ``saved(entry)`` and closes. Every entry
names the logged-in user and its clinical time.

Keyboard: one dialog per kind, ``&`` mnemonics on every label, Enter saves (the default button),
Esc cancels. Dialogs never block in a nested event loop: open them with ``show()``/``open()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
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
from sqlalchemy import select
from sqlalchemy.orm import Session

from nursestation.core import dosing as core_dosing
from nursestation.core import medications as core_meds
from nursestation.core import pumpchanges as core_pump
from nursestation.core.discharge import DEFAULT_NAUSEA_LEVELS
from nursestation.core.dosing import ChargeOverride, Decision, Finding, Severity, resolve
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
    Patient,
    PumpChangeItem,
    RideArrangement,
    Screening,
    Visit,
)
from nursestation.ui.context import AppContext

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


class EntryDialog(QDialog):
    """Common frame: a form, a live decision line, a status line, Save/Cancel.

    ``saved(entry)`` is emitted after the commit, then the dialog accepts."""

    saved = Signal(object)

    def __init__(self, ctx: AppContext, visit_id: int, title: str,
                 parent: QWidget | None = None, *, save_text: str = "&Save") -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.visit_id = visit_id
        self.entry: Any = None
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        self.layout_ = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.layout_.addWidget(self.heading)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.decision = QLabel()
        self.decision.setObjectName("Decision")
        self.decision.setWordWrap(True)
        self.decision.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.decision)
        self.status = QLabel()
        self.status.setObjectName("Status")
        self.status.setWordWrap(True)
        self.layout_.addWidget(self.status)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(save_text)
        self.save_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Cancel")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.layout_.addWidget(self.buttons)

    # -- for subclasses -------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.ctx.clock.now()

    @property
    def user_id(self) -> int:
        return self.ctx.require_user().id

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setProperty("error", error)
        self.status.setText(("✗ " if error else "") + text)

    def submit(self, fn: Callable[..., Any], *args: Any, what: str = "entry", **kw: Any) -> None:
        """Send the write to the single writer; confirm only after its commit."""
        self.save_button.setEnabled(False)
        self.show_status("Saving…")
        try:
            self.ctx.write(fn, *args, on_done=self._done, on_error=self._failed, what=what,
                           visit_id=self.visit_id, **kw)
        except Exception as exc:  # noqa: BLE001 - writer closed, no user: shown, not raised
            self._failed(exc)

    def _done(self, entry: Any) -> None:
        self.entry = entry
        self.show_status(f"Saved by {self.ctx.user.display_name if self.ctx.user else '?'}.")
        self.saved.emit(entry)
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.show_status(f"Not saved: {exc}", error=True)

    def save(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def accept(self) -> None:
        # Enter and the Save button both come here; the dialog closes only after the commit.
        self.save()


def open_charge_override(parent: QWidget, ctx: AppContext, what: str,
                         on_verified: Callable[[int, str, ChargeOverride], None]) -> QDialog:
    """Open the charge nurse's PIN + reason dialog (``ui.login.ChargeOverrideDialog``) without
    blocking; ``on_verified(charge_user_id, reason, override)`` runs when it is authorised."""
    from nursestation.ui.login import ChargeOverrideDialog

    dlg = ChargeOverrideDialog(ctx, what, parent)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)

    def verified(uid: int, reason: str) -> None:
        ov = dlg.override or ChargeOverride(by=str(uid), reason=reason, pin_verified=True)
        on_verified(uid, reason, ov)

    dlg.verified.connect(verified)
    dlg.open()
    return dlg


# ------------------------------------------------------------------------------ visit facts


@dataclass
class VisitFacts:
    """What the charting dialogs need to ask core/ about this visit."""

    visit_id: int
    chair_id: int
    phase: str
    patient_name: str
    allergies: tuple[str, ...]
    weight_kg: float | None
    concentration_mg_ml: float | None
    concentration_source: str
    events: list[InfusionEvent] = field(default_factory=list)
    medications: list[MedicationAdministration] = field(default_factory=list)

    @property
    def pump_state(self) -> str:
        """idle / running / paused / stopped from the charted events."""
        state = "idle"
        for e in self.events:
            state = {"start": "running", "resume": "running", "rate_change":
                     "running" if state in ("idle", "running") else state,
                     "pause": "paused", "stop": "stopped"}[e.kind]
        return state

    @property
    def current_rate(self) -> float | None:
        rate = None
        for e in self.events:
            if e.rate_ml_h is not None:
                rate = e.rate_ml_h
        return rate

    def core_events(self) -> list[core_dosing.InfusionEvent]:
        return [core_dosing.InfusionEvent(core_dosing.EventKind(e.kind), e.at, e.rate_ml_h)
                for e in self.events]


def split_allergies(text: str) -> tuple[str, ...]:
    parts = [p.strip() for chunk in text.replace(";", ",").splitlines() for p in chunk.split(",")]
    return tuple(p for p in parts if p and p.lower() not in ("none", "nkda", "nka"))


def visit_facts(session: Session, visit_id: int, protocol: Any) -> VisitFacts:
    v = repo.get_visit(session, visit_id)
    if v is None:
        raise LookupError(f"no visit #{visit_id}")
    patient = session.get(Patient, v.patient_id)
    w = repo.latest_weight(session, v.patient_id)
    weight = w.weight_kg if w else None
    events = repo.current_entries(session, InfusionEvent, visit_id)
    conc, source = None, "no weight recorded, so no concentration"
    for e in events:
        if e.concentration_mg_ml:
            conc, source = e.concentration_mg_ml, f"charted {hhmm(e.at)}"
    if conc is None and weight:
        plan = core_dosing.plan_infusion(protocol.dosing, weight)
        conc, source = plan.concentration_mg_per_ml, f"protocol plan: {plan.describe()}"
    meds = repo.current_entries(session, MedicationAdministration, visit_id)
    return VisitFacts(visit_id, v.chair_id, v.phase, patient.full_name if patient else "",
                      split_allergies(patient.allergies if patient else ""), weight, conc,
                      source, events, meds)


# --------------------------------------------------------------------------- dose changes


class DoseChangeDialog(EntryDialog):
    """Start / rate change / pause / resume / stop, with a reason; the new dose rate and the
    limit decision shown live. Soft limit → a reason; hard limit → a charge-nurse override."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None, *,
                 kind: str | None = None) -> None:
        super().__init__(ctx, visit_id, "Dose change", parent)
        self.facts = ctx.read(visit_facts, visit_id, ctx.protocol)
        self.override: tuple[int, str, ChargeOverride] | None = None
        self.override_dialog: QDialog | None = None
        f = self.facts
        weight = f"{f.weight_kg:g} kg" if f.weight_kg else "no weight recorded"
        conc = (f"{f.concentration_mg_ml:.3g} mg/mL ({f.concentration_source})"
                if f.concentration_mg_ml else f.concentration_source)
        rate = f"{f.current_rate:g} mL/h" if f.current_rate is not None else "—"
        self.heading.setText(f"{f.patient_name} · {weight} · pump {f.pump_state}, "
                             f"last charted rate {rate}\nConcentration {conc}")
        self.kind = QComboBox()
        for k in ("start", "rate_change", "pause", "resume", "stop"):
            self.kind.addItem(KIND_LABELS[k], k)
        default = kind or {"idle": "start", "paused": "resume"}.get(f.pump_state, "rate_change")
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
        if not hard:
            self.override = None
            self.override_status.setText("")
        elif self.override is None:
            self.override_status.setText("✗ needs a charge nurse's PIN and reason")

    def request_override(self) -> None:
        dec = self.current_decision()
        what = "; ".join(f.message for f in dec.worst())

        def granted(uid: int, reason: str, ov: ChargeOverride) -> None:
            self.override = (uid, reason, ov)
            self.override_status.setText(f"✓ overridden by {ov.by}: {reason}")
            self.show_status("")

        self.override_dialog = open_charge_override(self, self.ctx, what, granted)

    def save(self) -> None:
        dec = self.current_decision()
        kind = self.selected_kind
        if kind != "start" and not self.reason.currentData():
            self.show_status("Choose the reason for the change.", error=True)
            self.reason.setFocus()
            return
        confirm = self.confirm.text().strip()
        res = resolve(dec, reason=confirm, override=self.override[2] if self.override else None)
        if not res.allowed:
            self.show_status(res.detail, error=True)
            if res.needs == "reason":
                self.confirm.setFocus()
            elif res.needs == "charge_override":
                self.override_button.setFocus()
            return
        f = self.facts
        soft = any(x.severity is Severity.SOFT for x in dec.findings)
        self.submit(
            repo.record_infusion_event, self.visit_id, kind, user=self.user_id,
            rate_ml_h=self.rate.value() if self.uses_rate else None,
            dose_mg_kg_h=self.dose_rate_mg_kg_h(),
            concentration_mg_ml=f.concentration_mg_ml if self.uses_rate else None,
            reason_code=self.reason.currentData() or None,
            reason_text=self.reason_text.text().strip(),
            limit_confirmation=confirm if soft and confirm else None,
            override_by=self.override[0] if self.override else None,
            override_reason=self.override[1] if self.override else None,
            at=self.now(), what="infusion_event")


# ------------------------------------------------------------------------------ medications


class MedicationDialog(EntryDialog):
    """A MAR entry: formulary drug, dose, route, site, time given, indication; core/'s checks
    (max per dose/visit, interval, allergy, time) shown live."""

    ROUTES = ("IV", "ODT", "IM", "PO", "SC")
    INDICATIONS = ("nausea", "prophylaxis")

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, visit_id, "Medication", parent)
        self.facts = ctx.read(visit_facts, visit_id, ctx.protocol)
        f = self.facts
        allergies = ", ".join(f.allergies)
        self.heading.setText(f"{f.patient_name} · " + (f"<b>! Allergies: {allergies}</b>"
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
            self.show_status(res.detail, error=True)
            if res.needs == "reason":
                self.reason.setEnabled(True)
                self.reason.setFocus()
            return
        p = self.proposed(now)
        other = p.drug == core_meds.OTHER_DRUG
        override_reason = None
        if dec.severity in (Severity.SOFT, Severity.BLOCK):
            override_reason = reason
        if other:
            why = f"off formulary: {p.other_reason.strip()}"
            override_reason = f"{why}; {override_reason}" if override_reason else why
        d = self.ctx.protocol.drug_named(p.drug)
        self.submit(repo.record_medication, self.visit_id,
                    p.other_drug_name.strip() if other else p.drug, p.dose_mg,
                    d.unit if d else "mg", p.route, user=self.user_id, given_at=p.given_at,
                    site=self.site.text().strip(), indication=str(self.indication.currentData()),
                    override_reason=override_reason, what="medication")


class MedicationResponseDialog(EntryDialog):
    """The response to a dose, charted later (an amendment of the MAR entry)."""

    def __init__(self, ctx: AppContext, medication_id: int,
                 parent: QWidget | None = None) -> None:
        med = ctx.read(_current_version, MedicationAdministration, medication_id)
        super().__init__(ctx, med.visit_id, "Medication response", parent)
        self.medication = med
        self.heading.setText(f"{med.drug} {med.dose:g} {med.unit} {med.route} given "
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
            self.show_status("Describe the response.", error=True)
            return
        self.submit(repo.record_medication_response, self.medication.id, text,
                    user=self.user_id, at=self.when.value(self.now()), what="medication")


# ------------------------------------------------------------------------------ assessments


def record_assessment_set(session: Session, visit_id: int, *, user: int,
                          cadss6: Sequence[int] | None, moaas: int | None,
                          nausea: str | None, note: str = "",
                          nausea_levels: Sequence[str] = DEFAULT_NAUSEA_LEVELS,
                          at: datetime | None = None) -> list[Assessment]:
    """One sitting's assessments in one transaction: CADSS-6 (items and total, with the
    dissociation note), MOAA/S, nausea; only the parts given."""
    out = []
    if cadss6 is not None:
        items = {str(i): int(s) for i, s in enumerate(cadss6, 1)}
        out.append(repo.record_assessment(session, visit_id, SCALE_CADSS6, items,
                                          sum(cadss6), user=user, note=note, at=at))
    elif note.strip():
        out.append(repo.record_assessment(session, visit_id, SCALE_CADSS6, {}, None,
                                          user=user, note=note, at=at))
    if moaas is not None:
        out.append(repo.record_assessment(session, visit_id, SCALE_MOAAS, {"level": moaas},
                                          moaas, user=user, at=at))
    if nausea is not None:
        rank = list(nausea_levels).index(nausea) if nausea in nausea_levels else None
        out.append(repo.record_assessment(session, visit_id, SCALE_NAUSEA, {"level": nausea},
                                          rank, user=user, at=at))
    if not out:
        raise repo.RecordError("nothing was assessed")
    return out


class AssessmentDialog(EntryDialog):
    """CADSS-6, MOAA/S, nausea and a dissociation note in one keyboard-friendly dialog.
    Type a digit in each CADSS item (Tab moves on); "–" means not assessed."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, visit_id, "Assessment", parent)
        a = ctx.protocol.assessments
        self.heading.setText("Leave a part at “–” when it was not assessed.")
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
            self.show_status(str(exc), error=True)
            next(s for s in self.cadss if s.value() < 0).setFocus()
            return
        moaas = self.moaas.currentData()
        nausea = self.nausea.currentData()
        note = self.note.toPlainText().strip()
        if cadss is None and moaas is None and nausea is None and not note:
            self.show_status("Nothing assessed: score at least one part.", error=True)
            return
        self.submit(record_assessment_set, self.visit_id, user=self.user_id, cadss6=cadss,
                    moaas=moaas, nausea=nausea, note=note,
                    nausea_levels=self.ctx.protocol.assessments.nausea_levels,
                    at=self.when.value(self.now()),
                    what="assessment")


class NoteDialog(EntryDialog):
    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, visit_id, "Note", parent)
        self.text = QPlainTextEdit()
        self.text.setTabChangesFocus(True)
        _label_for(self.form, "&Note:", self.text)
        self.when = TimeField(self.now())
        _label_for(self.form, "&Time:", self.when)
        self.text.setFocus()

    def save(self) -> None:
        text = self.text.toPlainText().strip()
        if not text:
            self.show_status("The note is empty.", error=True)
            return
        self.submit(repo.add_note, self.visit_id, text, user=self.user_id,
                    at=self.when.value(self.now()), what="note")


# ------------------------------------------------------------------------- amendments, history

MODELS_BY_TYPE: dict[str, type[ClinicalEntry]] = {m.__tablename__: m for m in CLINICAL_MODELS}
TYPE_LABELS = {
    Screening: "Screening", InfusionEvent: "Infusion", MedicationAdministration: "Medication",
    Assessment: "Assessment", Note: "Note", RideArrangement: "Ride home",
    DischargeDecision: "Discharge", PumpChangeItem: "Pump change",
}
#: Fields the amend dialog offers, per kind (the rest stay as they were).
AMEND_FIELDS: dict[type[ClinicalEntry], tuple[str, ...]] = {
    InfusionEvent: ("at", "kind", "rate_ml_h", "dose_mg_kg_h", "concentration_mg_ml",
                    "reason_code", "reason_text"),
    MedicationAdministration: ("at", "drug", "dose", "unit", "route", "site", "indication",
                               "response"),
    Assessment: ("at", "scale", "items", "score", "note"),
    Note: ("at", "text"),
    RideArrangement: ("driver_name", "relationship", "phone", "expected_arrival", "company",
                      "booking_ref"),
    Screening: ("at", "answers", "passed"),
    DischargeDecision: ("at",),
    PumpChangeItem: ("resolution_reason",),
}


def model_for(entry_type: str | type[ClinicalEntry]) -> type[ClinicalEntry]:
    if isinstance(entry_type, str):
        return MODELS_BY_TYPE[entry_type]
    return entry_type


def _current_version(session: Session, model: type[ClinicalEntry], entry_id: int) -> Any:
    chain = repo.entry_history(session, model, entry_id)
    if not chain:
        raise LookupError(f"no {model.__tablename__} #{entry_id}")
    by_amends = {e.amends_id: e for e in chain if e.amends_id is not None}
    cur = chain[0]
    while cur.id in by_amends:
        cur = by_amends[cur.id]
    return cur


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
    """Every entry of the visit with all its versions (original first), by clinical time."""
    names: dict[int, str] = {}

    def who(uid: int | None) -> str:
        if uid is None:
            return ""
        if uid not in names:
            u = repo.get_user(session, uid)
            names[uid] = u.display_name if u else f"user #{uid}"
        return names[uid]

    chains: list[Chain] = []
    for model in CLINICAL_MODELS:
        rows = list(session.scalars(select(model).where(model.visit_id == visit_id)
                                    .order_by(model.id)))
        by_chain: dict[int, list[Any]] = {}
        for r in rows:
            by_chain.setdefault(r.chain_id, []).append(r)
        for versions in by_chain.values():
            # order by the amendment links (ids already follow them; amends_id makes it sure)
            ordered = [versions[0]]
            nxt = {v.amends_id: v for v in versions if v.amends_id is not None}
            while ordered[-1].id in nxt:
                ordered.append(nxt[ordered[-1].id])
            chains.append(Chain(TYPE_LABELS.get(model, model.__tablename__),
                                [Version(v, who(v.recorded_by_id), i < len(ordered) - 1)
                                 for i, v in enumerate(ordered)]))
    chains.sort(key=lambda c: (c.original.entry.at, c.original.entry.recorded_at))
    return chains


class AmendDialog(EntryDialog):
    """Correct an entry: changed fields and a mandatory reason (a new version; the original
    stays in the history). "Entered in error" voids it."""

    def __init__(self, ctx: AppContext, entry_type: str | type[ClinicalEntry], entry_id: int,
                 parent: QWidget | None = None) -> None:
        self.model = model_for(entry_type)
        cur = ctx.read(_current_version, self.model, entry_id)
        super().__init__(ctx, cur.visit_id, f"Amend {TYPE_LABELS.get(self.model, '')}", parent,
                         save_text="&Amend")
        self.current = cur
        self.heading.setText(f"Amending: {summarize(cur)}\n(charted {hhmm(cur.recorded_at)}; "
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
            self.show_status(f"A value is not valid: {exc}", error=True)
            return
        if not changes:
            self.show_status("Nothing was changed.", error=True)
            return
        if not reason:
            self.show_status("An amendment needs a reason.", error=True)
            self.reason.setFocus()
            return
        self.submit(repo.amend, self.current.id, changes, reason, user=self.user_id,
                    model=self.model, what="amendment")


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


def delivered_dose_summary(session: Session, visit_id: int, now: datetime,
                           protocol: Any) -> DoseSummary:
    """Cumulative dose from the charted rate history, against the pump's volume infused."""
    f = visit_facts(session, visit_id, protocol)
    if not f.weight_kg or not f.concentration_mg_ml:
        return DoseSummary(None, None, None, "Delivered dose: no weight recorded")
    d = core_dosing.delivered_dose(f.core_events(), now, concentration_mg_per_ml=f.
                                   concentration_mg_ml, weight_kg=f.weight_kg,
                                   vtbi_ml=protocol.dosing.bag_volume_ml)
    text = f"Charted: {d.describe()}"
    if d.notes:
        text += "\nChart notes: " + "; ".join(d.notes)
    vis = [s for s in repo.vitals_in_range(session, visit_id=visit_id, codes=("PUMP_VI",))
           if s.value is not None and s.time <= now]
    if not vis:
        return DoseSummary(d, None, None, text + "\nPump: no volume-infused reading")
    last = vis[-1]
    cmp = core_dosing.compare_with_pump(d.volume_ml, float(last.value or 0.0))
    mark = "✓" if cmp.within_tolerance else "!"
    text += f"\n{mark} Pump ({hhmm(last.time)}): {cmp.message}"
    return DoseSummary(d, cmp, last.time, text)


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


def pump_readings(session: Session, visit_id: int) -> list[core_pump.PumpReading]:
    out = []
    for s in repo.vitals_in_range(session, visit_id=visit_id, codes=("PUMP_RATE", "PUMP_STATE")):
        value = s.text if s.code == "PUMP_STATE" else s.value
        if value is None:
            continue
        out.append(core_pump.PumpReading(s.code, value, s.time))
    return out


def scan_pump_changes(session: Session, visit_id: int, now: datetime, *, user: int,
                      window_s: float = core_pump.DEFAULT_MATCH_WINDOW_S
                      ) -> list[PumpChangeItem]:
    """Writer job: record a pending item for every pump change no charted entry explains and
    no item records yet. Run it on a timer (e.g. every 30 s) per active visit."""
    visit = session.get(Visit, visit_id)
    if visit is None or not visit.active:
        return []
    changes = core_pump.pump_changes(pump_readings(session, visit_id))
    charted = [core_pump.ChartedEvent(e.kind, e.at, e.rate_ml_h)
               for e in repo.current_entries(session, InfusionEvent, visit_id)]
    unexplained = core_pump.unexplained_changes(changes, charted, now, window_s=window_s)
    recorded = [core_pump.PumpChange.from_values(i.pump_values)
                for i in repo.current_entries(session, PumpChangeItem, visit_id,
                                              include_voided=True)
                if "at" in i.pump_values]
    return [repo.record_pump_change(session, visit_id, visit.chair_id, ch.kind, ch.to_values(),
                                    user=user, at=ch.at)
            for ch in core_pump.not_yet_recorded(unexplained, recorded)]


def confirm_pump_change(session: Session, item_id: int, reason_code: str, reason_text: str, *,
                        user: int, weight_kg: float | None,
                        concentration_mg_ml: float | None) -> InfusionEvent:
    """Writer job: chart the pump's change as an infusion event (at the pump's time, with the
    nurse's reason) and mark the item confirmed, in one transaction."""
    item = _current_version(session, PumpChangeItem, item_id)
    ch = core_pump.PumpChange.from_values(item.pump_values)
    rate = ch.rate_after if ch.kind in ("start", "rate_change", "resume") else None
    dose = (core_dosing.ml_h_to_mg_kg_h(rate, concentration_mg_ml, weight_kg)
            if rate is not None and weight_kg and concentration_mg_ml else None)
    ev = repo.record_infusion_event(
        session, item.visit_id, ch.kind, user=user, rate_ml_h=rate, dose_mg_kg_h=dose,
        concentration_mg_ml=concentration_mg_ml if rate is not None else None,
        reason_code=reason_code, reason_text=reason_text, at=ch.at)
    why = reason_code + (f": {reason_text}" if reason_text else "")
    repo.resolve_pump_change(session, item.id, "confirmed", f"charted as {ch.kind}: {why}",
                             user=user)
    return ev


class PumpChangeDialog(EntryDialog):
    """A pending pump change: confirm it (with the reason; it becomes a charted infusion event at
    the pump's time) or mark it "not a real change" (with the reason)."""

    def __init__(self, ctx: AppContext, item_id: int, parent: QWidget | None = None) -> None:
        item = ctx.read(_current_version, PumpChangeItem, item_id)
        super().__init__(ctx, item.visit_id, "Pump change", parent, save_text="&Resolve")
        self.item = item
        self.change = core_pump.PumpChange.from_values(item.pump_values)
        self.facts = ctx.read(visit_facts, item.visit_id, ctx.protocol)
        dose = ctx.read(delivered_dose_summary, item.visit_id, self.now(), ctx.protocol)
        self.heading.setText(f"! Pending: {self.change.describe(local(self.now()).tzinfo)} — "
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
                self.show_status("; ".join(dec.messages), error=True)
                self.reason.setFocus()
                return
            self.submit(confirm_pump_change, self.item.id, code, text, user=self.user_id,
                        weight_kg=self.facts.weight_kg,
                        concentration_mg_ml=self.facts.concentration_mg_ml, what="pump_change")
        else:
            if not text:
                self.show_status("Say why it is not a real change.", error=True)
                self.text.setFocus()
                return
            self.submit(repo.resolve_pump_change, self.item.id, "dismissed", text,
                        user=self.user_id, what="pump_change")


__all__ = [
    "MOAAS_WORDING",
    "AmendDialog",
    "AssessmentDialog",
    "DeliveredDosePanel",
    "DoseChangeDialog",
    "DoseSummary",
    "EntryDialog",
    "EntryHistoryView",
    "MedicationDialog",
    "MedicationResponseDialog",
    "NoteDialog",
    "PumpChangeDialog",
    "TimeField",
    "VisitFacts",
    "confirm_pump_change",
    "decision_text",
    "delivered_dose_summary",
    "open_charge_override",
    "pump_readings",
    "record_assessment_set",
    "scan_pump_changes",
    "summarize",
    "visit_facts",
    "visit_history",
]
