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

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QDateTime, QMetaMethod, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateTimeEdit,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

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
from nursestation.core.plausibility import EntryError, parse_number
from nursestation.core.vocabulary import display_name
from nursestation.db import repo
from nursestation.db.discharge_inputs import SCALE_CADSS6, SCALE_MOAAS, SCALE_NAUSEA
from nursestation.record import commands as rc
from nursestation.record import entries
from nursestation.record.commands import AMEND_FIELDS, pump_readings, scan_pump_changes
from nursestation.record.entries import KIND_LABELS, EntryValues
from nursestation.record.errors import Refused
from nursestation.record.followups import read_follow_ups
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
    """Each finding on its own line with a symbol and a word (not colour alone). Something not
    entered yet reads as what is still needed, not as a refusal."""
    lines = []
    for f in dec.findings:
        if f.missing:
            lines.append(f"→ Still needed: {f.message}")
        else:
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


# --------------------------------------------------------------------------- dose changes


class DoseChangeDialog(CommandDialog):
    """Start / rate change / pause / resume / stop, with a reason; the new dose rate and the
    limit decision shown live. Soft limit → a reason; hard limit → a charge-nurse override that
    covers exactly the rate it was shown. Each action is its command (``start_infusion``,
    ``change_rate``, ``pause_infusion``, ``resume_infusion``, ``stop_infusion``; a stop moves the
    visit into recovery)."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None, *,
                 kind: str | None = None, amend: EntryValues | None = None) -> None:
        super().__init__(ctx, "Amend dose change" if amend else "Dose change",
                         visit_id=visit_id, parent=parent)
        self.target = amend
        self.facts = ctx.read(read_visit, visit_id, ctx.protocol, ctx.clock.now())
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
        # a hard limit is hard unless the protocol lets a charge nurse override it: then, and
        # only then, the form offers the override (enabled while a hard limit is exceeded)
        row.setVisible(ctx.protocol.dosing.hard_limits_overridable)
        self.kind.currentIndexChanged.connect(self.update_decision)
        self.rate.valueChanged.connect(self.update_decision)
        self.reason.currentIndexChanged.connect(self.update_decision)
        self.reason_text.textChanged.connect(self.update_decision)
        self.amending: AmendPart | None = None
        if amend is not None:
            self._prefill(amend)
            self.amending = AmendPart(self, amend)
        self.update_decision()
        self.kind.setFocus()

    def _prefill(self, t: EntryValues) -> None:
        """The entry as charted; what it says happened is corrected, not re-authorised: the
        limits are shown, a confirmation or override is not asked again."""
        self.kind.setCurrentIndex(self.kind.findData(str(t.get("kind"))))
        if t.get("rate_ml_h") is not None:
            self.rate.setValue(float(t.get("rate_ml_h")))
        code = str(t.get("reason_code") or "")
        if code and self.reason.findData(code) < 0:
            self.reason.addItem(code, code)
        self.reason.setCurrentIndex(max(0, self.reason.findData(code)))
        self.reason_text.setText(str(t.get("reason_text") or ""))
        self.when = TimeField(t.at)
        self.when.touched = False
        _label_for(self.form, "&Time:", self.when)
        for w in (self.confirm, self.confirm_label, self.override_button, self.override_status):
            w.setVisible(False)

    def _plan_rate(self) -> float:
        if self.facts.weight_kg:
            return core_dosing.plan_infusion(self.ctx.protocol.dosing,
                                             self.facts.weight_kg).rate_ml_h
        return 0.0

    @property
    def selected_kind(self) -> str:
        return str(self.kind.currentData())

    @property
    def needs_reason(self) -> bool:
        return self.selected_kind in core_dosing.ACTIONS_NEEDING_A_REASON

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
        if self.needs_reason:
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
        self.reason.setEnabled(self.needs_reason)
        self.reason_text.setEnabled(self.needs_reason)
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
        if self.target is not None:  # a correction: the limits shown, not asked again
            return
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

    def amended_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.selected_kind,
                               "reason_code": str(self.reason.currentData() or "") or None,
                               "reason_text": self.reason_text.text().strip()}
        if self.uses_rate:
            out["rate_ml_h"] = self.rate.value()
            mgkgh = self.dose_rate_mg_kg_h()
            if mgkgh is not None and not _same(self.target.get("rate_ml_h") if self.target
                                               else None, out["rate_ml_h"]):
                out["dose_mg_kg_h"] = round(mgkgh, 4)
        else:
            out["rate_ml_h"] = None
        if self.when.touched:
            out["at"] = from_qdatetime(self.when.dateTime())
        return out

    def save(self) -> None:
        if self.amending is not None:
            self.amending.save(self.amended_values())
            return
        dec = self.current_decision()
        kind = self.selected_kind
        if any(f.missing and f.rule == "reason" for f in dec.findings):
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
    """A MAR entry: a formulary drug chosen under its purpose (antiemetic, calming,
    antihypertensive), dose, route, site, time given, indication; core/'s checks (max per
    dose/visit, interval, allergy, time) shown live with the drug's limits. With ``amend`` it is
    the form that amends that entry, pre-filled with its current version."""

    ROUTES = core_meds.KNOWN_ROUTES

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None, *,
                 amend: EntryValues | None = None) -> None:
        super().__init__(ctx, "Amend medication" if amend else "Medication",
                         visit_id=visit_id, parent=parent)
        self.target = amend
        self.facts = ctx.read(read_visit, visit_id, ctx.protocol, ctx.clock.now())
        f = self.facts
        allergies = ", ".join(f.allergies)
        self.set_heading(f"{f.patient_name} · " + (f"<b>! Allergies: {allergies}</b>"
                                                    if f.allergies else
                                                    "allergies: none listed (NKDA or not "
                                                    "recorded: check the chart)"))
        self.drug = QComboBox()
        groups = core_meds.by_purpose(ctx.protocol.formulary)
        model = self.drug.model()
        for purpose, drugs in groups.items():
            if self.drug.count():
                self.drug.insertSeparator(self.drug.count())
            self.drug.addItem(core_meds.PURPOSE_LABELS.get(purpose, purpose), None)
            head = model.item(self.drug.count() - 1)  # type: ignore[attr-defined]
            head.setEnabled(False)  # a heading, not a choice
            bold = QFont(self.drug.font())
            bold.setBold(True)
            head.setFont(bold)
            for d in drugs:
                self.drug.addItem(f"   {d.name}", d.name)
        self.drug.insertSeparator(self.drug.count())
        self.drug.addItem("other (off formulary)…", core_meds.OTHER_DRUG)
        self.drug.setCurrentIndex(self.drug.findData(
            ctx.protocol.formulary[0].name if ctx.protocol.formulary else core_meds.OTHER_DRUG))
        _label_for(self.form, "&Drug:", self.drug)
        self.drug_info = QLabel()
        self.drug_info.setWordWrap(True)
        self.drug_info.setObjectName("Hint")
        self.drug_info.setMinimumHeight(2 * self.drug_info.fontMetrics().lineSpacing() + 4)
        self.form.addRow("", self.drug_info)
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
        self.indication.setEditable(True)
        _label_for(self.form, "&Indication:", self.indication)
        self.response: QLineEdit | None = None
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("needed to confirm a limit or override a block")
        self.reason_label = _label_for(self.form, "Reason to &proceed:", self.reason)
        self.drug.currentIndexChanged.connect(self._drug_changed)
        for w in (self.dose.valueChanged, self.route.currentTextChanged,
                  self.given.dateTimeChanged, self.other_name.textChanged,
                  self.other_reason.textChanged):
            w.connect(self.update_decision)
        self._drug_changed()
        self.amending: AmendPart | None = None
        self.response_dialog: MedicationResponseDialog | None = None
        if amend is not None:
            self._prefill(amend)
            self.amending = AmendPart(self, amend)
            self.reason.setVisible(False)
            self.reason_label.setVisible(False)
            self.update_decision()
        else:
            self._given_this_visit()
        self.drug.setFocus()

    def _given_this_visit(self) -> None:
        """The MAR so far: each dose with what it still asks (its response, a sedation check:
        ``record.followups``), and the response charted from here."""
        self.follow_ups = self.ctx.read(read_follow_ups, self.visit_id, self.ctx.protocol,
                                        self.now())
        box = QGroupBox("Given this visit")
        lay = QVBoxLayout(box)
        self.given_list = QListWidget()
        self.given_list.setWordWrap(True)
        self.given_list.setMinimumHeight(3 * self.given_list.fontMetrics().lineSpacing() + 12)
        self.given_list.setMaximumHeight(6 * self.given_list.fontMetrics().lineSpacing() + 12)
        tz = local(self.now()).tzinfo
        by_entry: dict[int | None, list[core_meds.FollowUp]] = {}
        for fu in self.follow_ups:
            by_entry.setdefault(fu.entry_id, []).append(fu)
        for m in self.facts.medications:
            text = f"{hhmm(m.at)} {m.drug} {m.dose:g} {m.unit} {m.route}"
            if m.response:
                text += f" — response {hhmm(m.response_at)}: {m.response}"
            asks = [fu.text(tz) for fu in by_entry.get(m.id, ())
                    if fu.status != "done" and not (fu.kind == "response" and m.response)]
            if asks:
                text += " — " + "; ".join(asks)
            item = QListWidgetItem(("! " if any(f.open for f in by_entry.get(m.id, ())) else "")
                                   + text)
            item.setData(Qt.ItemDataRole.UserRole, m.id)
            self.given_list.addItem(item)
        if not self.facts.medications:
            self.given_list.addItem("nothing given yet")
        lay.addWidget(self.given_list)
        self.respond_button = QPushButton("Chart res&ponse…")
        self.respond_button.clicked.connect(self.chart_response)
        self.respond_button.setEnabled(bool(self.facts.medications))
        lay.addWidget(self.respond_button)
        self.body.insertWidget(0, box)
        due = next((fu.entry_id for fu in self.follow_ups
                    if fu.kind == "response" and fu.open), None)
        for i in range(self.given_list.count()):
            if self.given_list.item(i).data(Qt.ItemDataRole.UserRole) == due:
                self.given_list.setCurrentRow(i)

    def chart_response(self) -> None:
        item = self.given_list.currentItem() or self.given_list.item(0)
        med_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if med_id is None:
            self.fail("Pick the dose whose response you chart.", self.given_list)
            return
        self.response_dialog = MedicationResponseDialog(self.ctx, int(med_id), self)
        self.response_dialog.saved.connect(lambda _c: self.reject())
        self.response_dialog.open()

    def _prefill(self, t: EntryValues) -> None:
        name = str(t.get("drug") or "")
        d = self.ctx.protocol.drug_named(name)
        i = self.drug.findData(d.name if d else core_meds.OTHER_DRUG)
        self.drug.setCurrentIndex(i)
        if d is None:
            self.other_name.setText(name)
            self.other_reason.setText("as charted")
        self.dose.setValue(float(t.get("dose") or 0))
        self.route.setCurrentText(str(t.get("route") or ""))
        self.site.setText(str(t.get("site") or ""))
        self.given.set_time(t.at)
        self.given.touched = False
        self.indication.setCurrentText(str(t.get("indication") or ""))
        if t.get("response"):
            self.response = QLineEdit(str(t.get("response")))
            _label_for(self.form, "Res&ponse:", self.response)

    def _drug_changed(self) -> None:
        name = str(self.drug.currentData())
        other = name == core_meds.OTHER_DRUG
        for w in (self.other_name, self.other_name_label, self.other_reason,
                  self.other_reason_label):
            w.setVisible(other)
        d = self.ctx.protocol.drug_named(name)
        self.drug_info.setText(core_meds.describe_drug(d) if d
                               else "not in the formulary: no limits to check")
        self.drug_info.setToolTip(d.note if d else "")
        self.route.blockSignals(True)
        self.route.clear()
        routes = list(d.routes) if d else []
        routes += [r for r in self.ROUTES if r not in routes]
        self.route.addItems(routes)
        self.route.blockSignals(False)
        self.indication.clear()
        for i in core_meds.INDICATIONS.get(d.purpose, ()) if d else ():
            self.indication.addItem(i, i)
        self.dose.setSuffix(f" {d.unit}" if d else " mg")
        if d:
            self.dose.setValue(d.usual_dose_mg)
        self.update_decision()

    def proposed(self, now: datetime) -> core_meds.ProposedAdministration:
        return core_meds.ProposedAdministration(
            drug=str(self.drug.currentData()), dose_mg=self.dose.value(),
            route=self.route.currentText().strip(), given_at=self.given.value(now),
            other_drug_name=self.other_name.text(), other_reason=self.other_reason.text())

    def given_at(self, now: datetime) -> datetime:
        if self.target is not None and not self.given.touched:
            return self.target.at
        return self.given.value(now)

    def current_decision(self, now: datetime | None = None) -> Decision:
        now = now or self.now()
        mine = self.target.entry_id if self.target is not None else None
        given = [core_meds.GivenDose(m.drug, m.dose, m.at) for m in self.facts.medications
                 if m.id != mine]  # an amended dose is held against the others, not itself
        p = self.proposed(now)
        entered = now
        if self.target is not None:
            p = core_meds.ProposedAdministration(p.drug, p.dose_mg, p.route, self.given_at(now),
                                                 p.other_drug_name, p.other_reason)
            if not self.given.touched:  # the time as charted: late only if it was then
                entered = self.target.recorded_at
        return core_meds.check_administration(
            p, self.ctx.protocol.formulary, given, self.facts.allergies, entered,
            late_after_min=repo.LATE_ENTRY_AFTER.total_seconds() / 60.0,
            display_tz=local(now).tzinfo)

    def update_decision(self) -> None:
        dec = self.current_decision()
        self.decision.setText(decision_text(dec))
        needs = dec.severity in (Severity.SOFT, Severity.BLOCK) and self.target is None
        self.reason.setEnabled(needs)
        self.reason_label.setEnabled(needs)

    def amended_values(self, now: datetime) -> dict[str, Any]:
        name = str(self.drug.currentData())
        d = self.ctx.protocol.drug_named(name)
        out: dict[str, Any] = {
            "drug": self.other_name.text().strip() if d is None else d.name,
            "dose": self.dose.value(), "route": self.route.currentText().strip(),
            "site": self.site.text().strip(),
            "indication": self.indication.currentText().strip(), "at": self.given_at(now)}
        if d is not None:
            out["unit"] = d.unit
        if self.response is not None:
            out["response"] = self.response.text().strip()
        return out

    def save(self) -> None:
        now = self.now()
        if self.amending is not None:
            self.amending.save(self.amended_values(now))
            return
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
                 site=self.site.text().strip(), indication=self.indication.currentText().strip(),
                 other_drug_name=p.other_drug_name, other_reason=p.other_reason,
                 reason=reason, late_reason=self.late_text(), now=now,
                 display_tz=local(now).tzinfo)

    def refused(self, exc: Refused) -> None:
        if exc.needs == "reason" and self.target is None:
            self.reason.setEnabled(True)
            self.reason.setFocus()


#: Words the response field offers as the nurse types (she may write anything).
RESPONSE_WORDS = ("nausea resolved", "nausea improved", "nausea unchanged",
                  "calmer, dissociation tolerable", "still distressed", "drowsy, rousable",
                  "blood pressure lowered", "blood pressure unchanged")


class MedicationResponseDialog(CommandDialog):
    """The response to a dose, charted from the MAR (the entry is completed, not corrected):
    what the nurse saw, and when."""

    def __init__(self, ctx: AppContext, medication_id: int,
                 parent: QWidget | None = None) -> None:
        med = read_entry(ctx, "medication_administrations", medication_id)
        super().__init__(ctx, "Medication response", visit_id=med.visit_id, parent=parent)
        self.medication = med
        v = med.values
        self.set_heading(f"{v['drug']} {v['dose']:g} {v['unit']} {v['route']} given "
                         f"{hhmm(med.at)}" + (f" ({v['indication']})" if v.get("indication")
                                               else ""))
        self.response = QLineEdit(str(v.get("response") or ""))
        self.response.setPlaceholderText("what was seen, e.g. nausea resolved")
        words = QCompleter(list(RESPONSE_WORDS), self.response)
        words.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.response.setCompleter(words)
        _label_for(self.form, "&Response:", self.response)
        self.when = TimeField(self.now())
        _label_for(self.form, "&Time:", self.when)
        self.response.setFocus()

    def save(self) -> None:
        text = self.response.text().strip()
        if not text:
            self.fail("Describe the response.", self.response)
            return
        self.run(rc.record_medication_response, self.medication.entry_id, response=text,
                 at=self.when.value(self.now()), now=self.now())


# ------------------------------------------------------------------------------ assessments


class AssessmentDialog(CommandDialog):
    """CADSS-6, MOAA/S, nausea and a dissociation note in one keyboard-friendly dialog.
    Type a digit in each CADSS item (Tab moves on); "–" means not assessed."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None, *,
                 amend: EntryValues | None = None) -> None:
        super().__init__(ctx, "Amend assessment" if amend else "Assessment",
                         visit_id=visit_id, parent=parent)
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
        self.cadss_box = cad
        self.amending: AmendPart | None = None
        self.target = amend
        if amend is not None:
            self._prefill(amend)
            self.amending = AmendPart(self, amend)
        self.update_decision()
        if amend is None or amend.get("scale") == SCALE_CADSS6:
            self.cadss[0].setFocus()

    def _prefill(self, t: EntryValues) -> None:
        """One assessment entry is one scale: its part pre-filled, the others closed."""
        scale = str(t.get("scale"))
        items = t.get("items") or {}
        self.when.set_time(t.at)
        self.cadss_box.setEnabled(scale == SCALE_CADSS6)
        self.note.setEnabled(scale == SCALE_CADSS6)
        self.moaas.setEnabled(scale == SCALE_MOAAS)
        self.nausea.setEnabled(scale == SCALE_NAUSEA)
        if scale == SCALE_CADSS6:
            for i, spin in enumerate(self.cadss, 1):
                v = items.get(str(i))
                spin.setValue(int(v) if isinstance(v, int | float) else -1)
            self.note.setPlainText(str(t.get("note") or ""))
        elif scale == SCALE_MOAAS:
            self.moaas.setCurrentIndex(max(0, self.moaas.findData(items.get("level"))))
            self.moaas.setFocus()
        elif scale == SCALE_NAUSEA:
            self.nausea.setCurrentIndex(max(0, self.nausea.findData(items.get("level"))))
            self.nausea.setFocus()

    def amended_values(self) -> dict[str, Any]:
        assert self.target is not None
        scale = str(self.target.get("scale"))
        out: dict[str, Any] = {}
        if scale == SCALE_CADSS6:
            cadss = self.cadss_scores()
            out["items"] = {str(i): s for i, s in enumerate(cadss or (), 1)}
            out["note"] = self.note.toPlainText().strip()
        elif scale == SCALE_MOAAS:
            out["items"] = {"level": self.moaas.currentData()}
        elif scale == SCALE_NAUSEA:
            out["items"] = {"level": self.nausea.currentData()}
        if self.when.touched:
            out["at"] = from_qdatetime(self.when.dateTime())
        return out

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
        if self.amending is not None:
            self.amending.save(self.amended_values())
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
    """A free-text note; with ``amend`` the form that amends one, pre-filled."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None, *,
                 amend: EntryValues | None = None) -> None:
        super().__init__(ctx, "Amend note" if amend else "Note", visit_id=visit_id,
                         parent=parent)
        self.text = QPlainTextEdit()
        self.text.setTabChangesFocus(True)
        _label_for(self.form, "&Note:", self.text)
        self.when = TimeField(self.now())
        _label_for(self.form, "&Time:", self.when)
        self.amending: AmendPart | None = None
        if amend is not None:
            self.text.setPlainText(str(amend.get("text") or ""))
            self.when.set_time(amend.at)
            self.amending = AmendPart(self, amend)
        self.text.setFocus()

    def save(self) -> None:
        text = self.text.toPlainText().strip()
        if self.amending is not None:
            new: dict[str, Any] = {"text": text}
            if self.when.touched:
                new["at"] = from_qdatetime(self.when.dateTime())
            self.amending.save(new)
            return
        if not text:
            self.fail("The note is empty.", self.text)
            return
        self.run(rc.add_note, self.visit_id, text=text, at=self.when.value(self.now()),
                 late_reason=self.late_text(), now=self.now())


# ------------------------------------------------------------------------- amendments, history

MODELS_BY_TYPE = entries.MODELS_BY_TYPE
TYPE_LABELS = entries.TYPE_LABELS
#: One line per entry, as the history and the summary say it (``record.entries``).
summarize = entries.describe


def _same(old: Any, new: Any) -> bool:
    """Whether a form's value is the value the entry already holds (times to the minute, as the
    form shows them; "" and None alike)."""
    if old in (None, "") and new in (None, ""):
        return True
    if isinstance(old, datetime) and isinstance(new, datetime):
        o = old.replace(tzinfo=UTC) if old.tzinfo is None else old
        return abs((o - new).total_seconds()) < 60 and o.minute == new.minute
    if isinstance(old, int | float) and isinstance(new, int | float) \
            and not isinstance(old, bool) and not isinstance(new, bool):
        return abs(float(old) - float(new)) < 1e-9
    return bool(old == new)


class AmendPart:
    """What makes a charting form an amendment of an entry it charted: the heading naming the
    version amended, "entered in error", the mandatory reason, and saving only the fields the
    nurse changed through ``record.commands.amend_entry`` (which checks them as when charted)."""

    def __init__(self, dlg: CommandDialog, target: EntryValues) -> None:
        self.dlg = dlg
        self.target = target
        dlg.save_button.setText("&Amend")
        dlg.set_heading(f"Amending: {target.text}\n(charted {hhmm(target.recorded_at)}; "
                        "every version stays in the history)")
        self.void = QCheckBox("Entered in &error (void this entry)")
        self.void.setChecked(target.voided)
        self.void.setEnabled(not target.voided)
        dlg.form.addRow("", self.void)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why it is corrected (required)")
        _label_for(dlg.form, "&Why corrected:", self.reason)
        dlg.void = self.void  # type: ignore[attr-defined]
        dlg.amend_reason = self.reason  # type: ignore[attr-defined]

    def changes(self, new: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in new.items()
               if k in self.target.fields and not _same(self.target.get(k), v)}
        if self.void.isChecked() and not self.target.voided:
            out["voided"] = True
        return out

    def save(self, new: dict[str, Any]) -> None:
        dlg = self.dlg
        changes = self.changes(new)
        if not changes:
            dlg.fail("Nothing was changed.")
            return
        reason = self.reason.text().strip()
        if not reason:
            dlg.fail("An amendment needs a reason.", self.reason)
            return
        dlg.run(rc.amend_entry, self.target.entry_type, self.target.entry_id,
                protocol=dlg.ctx.protocol, changes=changes, reason=reason,
                confirm_unusual=dlg.confirmed(), now=dlg.now())


def read_entry(ctx: AppContext, entry_type: str, entry_id: int) -> EntryValues:
    return ctx.read(entries.entry_values, entry_type, entry_id)


class EntryAmendDialog(CommandDialog):
    """Amend an entry no charting form at the chair writes (a vitals entry, a ride, a
    screening, a discharge decision, a pump-change resolution): its fields by name, each with
    the widget its kind of value needs, pre-filled; never a dict to edit."""

    def __init__(self, ctx: AppContext, target: EntryValues,
                 parent: QWidget | None = None) -> None:
        super().__init__(ctx, f"Amend {target.label.lower()}", visit_id=target.visit_id,
                         parent=parent)
        self.current = target
        self.fields: dict[str, QWidget] = {}
        self.item_fields: dict[str, QLineEdit] = {}
        for name in target.fields:
            value = target.get(name)
            label = entries.FIELD_LABELS.get(name, name.replace("_", " ")).capitalize()
            if name == "items" and isinstance(value, dict):
                for code, v in value.items():
                    if isinstance(v, dict | list):
                        continue  # where a value came from: kept as charted
                    w = QLineEdit("" if v is None else (f"{v:g}" if isinstance(v, float)
                                                        else str(v)))
                    _label_for(self.form, f"{display_name(code)}:", w)
                    self.item_fields[code] = w
                continue
            if name in ("answers", "score", "scale", "passed"):
                continue  # follow from the items / the screening: not typed by hand
            w2: QWidget
            if name in ("at", "expected_arrival"):
                w2 = TimeField(value or self.now())
                w2.touched = False
            else:
                w2 = QLineEdit("" if value is None else str(value))
            _label_for(self.form, f"{label}:", w2)
            self.fields[name] = w2
        self.amending = AmendPart(self, target)
        self.void = self.amending.void
        self.reason = self.amending.reason
        self.reason.setFocus()

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, w in self.fields.items():
            if isinstance(w, TimeField):
                if w.touched:
                    out[name] = from_qdatetime(w.dateTime())
            elif isinstance(w, QLineEdit):
                out[name] = w.text().strip()
        if self.item_fields:
            items = dict(self.current.get("items") or {})
            for code, w in self.item_fields.items():
                text = w.text().strip()
                old = items.get(code)
                if isinstance(old, int | float) and not isinstance(old, bool):
                    num = parse_number(text, display_name(code))  # strict: nothing dropped
                    items[code] = int(num) if isinstance(old, int) and num.is_integer() \
                        else num
                else:
                    items[code] = text
            out["items"] = items
        return out

    def save(self) -> None:
        try:
            new = self.values()
        except EntryError as exc:
            self.fail(str(exc))
            return
        self.amending.save(new)


def AmendDialog(ctx: AppContext, entry_type: str, entry_id: int,
                parent: QWidget | None = None) -> CommandDialog:
    """The form that amends an entry: the same form that charted it, pre-filled with the
    current version (a medication, a dose change, an assessment, a note); entries charted
    elsewhere get their fields by name (:class:`EntryAmendDialog`)."""
    target = read_entry(ctx, entry_type, entry_id)
    scale = str(target.get("scale") or "")
    if entry_type == "medication_administrations":
        return MedicationDialog(ctx, target.visit_id, parent, amend=target)
    if entry_type == "infusion_events":
        return DoseChangeDialog(ctx, target.visit_id, parent, amend=target)
    if entry_type == "notes":
        return NoteDialog(ctx, target.visit_id, parent, amend=target)
    if entry_type == "assessments" and scale in (SCALE_CADSS6, SCALE_MOAAS, SCALE_NAUSEA):
        return AssessmentDialog(ctx, target.visit_id, parent, amend=target)
    return EntryAmendDialog(ctx, target, parent)


class EntryHistoryView(QWidget):
    """A visit's entries, each with its versions: superseded versions struck through and marked
    "superseded", each amendment with who, when, why and what it changed, in words. Refreshes on
    committed writes. "Amend selected…" opens the form that amends it (once: a second click
    brings the open one forward)."""

    amend_requested = Signal(str, int)  # entry type (table name), entry id

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.visit_id = visit_id
        self.chains: list[entries.ChainView] = []
        self.amend_dialog: CommandDialog | None = None
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
        self.chains = self.ctx.read(entries.history_view, self.visit_id)
        self.tree.clear()
        for chain in self.chains:
            cur = chain.current
            status = " [entered in error]" if cur.voided else ""
            n = chain.amendments
            top = QTreeWidgetItem([hhmm(cur.at), f"{chain.label}: {cur.text}{status}", cur.by,
                                   f"amended ×{n}" if n else ""])
            top.setData(0, Qt.ItemDataRole.UserRole, (cur.entry_type, cur.entry_id))
            if cur.voided:
                _strike(top)
            self.tree.addTopLevelItem(top)
            if n:
                for i, v in enumerate(chain.versions):
                    mark = "[superseded] " if v.superseded else "[current] "
                    if i == 0:
                        why = f"original, charted {hhmm(v.recorded_at)} by {v.by}"
                    else:
                        verb = "completed" if v.completion else "amended"
                        why = f"{verb} {hhmm(v.recorded_at)} by {v.by}"
                        why += f": {v.reason}" if v.reason else ""
                        why += f" ({'; '.join(v.changes)})" if v.changes else ""
                    child = QTreeWidgetItem([hhmm(v.at), mark + v.text, v.by, why])
                    child.setData(0, Qt.ItemDataRole.UserRole, (v.entry_type, v.entry_id))
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
        if self.amend_dialog is not None and self.amend_dialog.isVisible():
            self.amend_dialog.raise_()
            self.amend_dialog.activateWindow()
            return
        if self.isSignalConnected(QMetaMethod.fromSignal(self.amend_requested)):
            self.amend_requested.emit(*sel)  # the window opens it (and asks for a login)
            return
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


def delivered_dose_summary(v: VisitView, now: datetime) -> DoseSummary:
    """Cumulative dose from the charted rate history, against the pump's volume infused: the
    visit read model's (``record.visit``), as the overview, the gate and the report show it."""
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
        now = now or self.ctx.clock.now()
        self.summary = delivered_dose_summary(
            self.ctx.read(read_visit, self.visit_id, self.ctx.protocol, now), now)
        self.label.setText(self.summary.text)


# ------------------------------------------------------------------------------ pump changes


class PumpChangeDialog(CommandDialog):
    """A pending pump change: confirm it (with the reason; it becomes a charted infusion event at
    the pump's time) or mark it "not a real change" (with the reason)."""

    def __init__(self, ctx: AppContext, item_id: int, parent: QWidget | None = None) -> None:
        item = read_entry(ctx, "pump_change_items", item_id)
        super().__init__(ctx, "Pump change", ok_text="&Resolve", visit_id=item.visit_id,
                         parent=parent)
        self.item = item
        self.change = core_pump.PumpChange.from_values(item.values["pump_values"])
        self.facts = ctx.read(read_visit, item.visit_id, ctx.protocol, self.now())
        dose = delivered_dose_summary(self.facts, self.now())
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
            self.run(rc.confirm_pump_change, self.item.entry_id, protocol=self.ctx.protocol,
                     reason_code=code, reason_text=text, now=self.now())
        else:
            if not text:
                self.fail("Say why it is not a real change.", self.text)
                return
            self.run(rc.dismiss_pump_change, self.item.entry_id, reason=text, now=self.now())


__all__ = [
    "AMEND_FIELDS",
    "MOAAS_WORDING",
    "AmendDialog",
    "AmendPart",
    "AssessmentDialog",
    "DeliveredDosePanel",
    "DoseChangeDialog",
    "DoseSummary",
    "EntryAmendDialog",
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
]
