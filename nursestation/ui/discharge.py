"""The ride home and the discharge gate.

- :class:`RideDialog` records who takes the patient home (a responsible adult, or a car service
  where the protocol allows it) and its confirmation (phone call or arrival, who and when).
  "Patient drives" is offered only so the refusal can say why: it is never accepted.
- :class:`DischargeDialog` shows every criterion of ``core.discharge.evaluate_discharge`` with a
  ✓/✗ mark, the word met/unmet and the values that decided it, re-evaluated every 2 s; the
  Modified Aldrete score (shown, not gating); the protocol's discharge instructions with the
  "given to patient and escort" confirmation. "Discharge" is enabled only when every criterion is
  met — or a charge nurse overrode (PIN + reason) — and the instructions were given. The
  decision is recorded with the criteria snapshot; the visit becomes ``discharged`` and the
  chair is free.

No clinical rule lives here: the ride rules are ``core.ride``'s, the gate ``core.discharge``'s,
and both writes are commands (``record.commands.save_ride``, ``record.commands.discharge``),
which evaluate again: the discharge command re-evaluates the gate on the record and refuses an
override that was not shown the criteria now unmet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.discharge import (
    AldreteScore,
    DischargeInputs,
    DischargeResult,
    evaluate_discharge,
    latest_value,
    modified_aldrete,
    override_decision,
    override_scope,
)
from nursestation.core.dosing import ChargeOverride, uncovered
from nursestation.core.ride import (
    RIDE_STATE_WORDS,
    ConfirmMethod,
    RideArrangement,
    RideKind,
    validate_ride,
)
from nursestation.db import repo
from nursestation.record import commands as rc
from nursestation.record.commands import criteria_snapshot
from nursestation.record.errors import Refused
from nursestation.record.gate import RideView, current_ride, read_gate, visit_ride_status
from nursestation.record.visit import VisitView
from nursestation.ui.charting import (
    AssessmentDialog,
    TimeField,
    _label_for,
    from_qdatetime,
    local,
)
from nursestation.ui.context import AppContext
from nursestation.ui.dialogs import CommandDialog, open_charge_override

#: How often the discharge dialog re-evaluates the gate (ms).
REEVALUATE_MS = 2000

CONFIRM_LABELS = {ConfirmMethod.PHONE_CALL: "confirmed by phone call",
                  ConfirmMethod.ARRIVAL: "driver / car has arrived"}


# ------------------------------------------------------------------------------------- ride


class RideDialog(CommandDialog):
    """Who takes the patient home, and its confirmation."""

    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Ride home", visit_id=visit_id, parent=parent)
        crit = ctx.protocol.discharge
        self.current: RideView | None = ctx.read(current_ride, visit_id)
        status = ctx.read(visit_ride_status, visit_id, crit, self.now(),
                          display_tz=local(self.now()).tzinfo)
        mark = "✓" if status.confirmed else "✗"
        self.patient_name = ctx.read(repo.visit_record, visit_id).patient.full_name
        self.set_heading(f"{mark} Ride home: {RIDE_STATE_WORDS[status.state]} — "
                         f"{'; '.join(status.reasons)}")
        self.kind_group = QButtonGroup(self)
        self.driver_radio = QRadioButton("A responsible &adult drives")
        self.car_radio = QRadioButton("&Car service")
        self.self_radio = QRadioButton("&Patient drives")
        for i, r in enumerate((self.driver_radio, self.car_radio, self.self_radio)):
            self.kind_group.addButton(r, i)
        kinds = QWidget()
        h = QVBoxLayout(kinds)  # one option a line: never cut, whatever the width
        h.setContentsMargins(0, 0, 0, 0)
        for r in (self.driver_radio, self.car_radio, self.self_radio):
            h.addWidget(r)
        self.form.addRow("Ride:", kinds)
        if not crit.car_service_allowed:
            self.car_radio.setToolTip("not allowed by this clinic's protocol")
        cur = self.current
        self.driver_name = QLineEdit(cur.driver_name if cur else "")
        self.relationship = QLineEdit(cur.relationship if cur else "")
        self.relationship.setPlaceholderText("e.g. spouse, friend")
        self.phone = QLineEdit(cur.phone if cur else "")
        self.arrival = TimeField(cur.expected_arrival if cur and cur.expected_arrival
                                  else self.now() + timedelta(minutes=30))
        self.arrival.touched = bool(cur and cur.expected_arrival)
        self.company = QLineEdit(cur.company if cur else "")
        self.booking = QLineEdit(cur.booking_ref if cur else "")
        self.driver_rows = [
            _label_for(self.form, "Driver's &name:", self.driver_name), self.driver_name,
            _label_for(self.form, "R&elationship:", self.relationship), self.relationship,
            _label_for(self.form, "P&hone:", self.phone), self.phone,
            _label_for(self.form, "E&xpected arrival:", self.arrival), self.arrival,
        ]
        self.car_rows = [
            _label_for(self.form, "Co&mpany:", self.company), self.company,
            _label_for(self.form, "&Booking reference:", self.booking), self.booking,
        ]
        self.confirm = QComboBox()
        self.confirm.addItem("not confirmed yet", "")
        for m, text in CONFIRM_LABELS.items():
            self.confirm.addItem(text, str(m))
        _label_for(self.form, "C&onfirmation:", self.confirm)
        self.confirmed_at = TimeField(self.now())
        _label_for(self.form, "Confirmed a&t:", self.confirmed_at)
        if cur and cur.confirmed_at:
            self.confirm.setCurrentIndex(max(0, self.confirm.findData(cur.confirmation_method)))
            self.confirmed_at.set_time(cur.confirmed_at)
        (self.car_radio if cur and cur.kind == "car_service" else self.driver_radio
         ).setChecked(True)
        self.kind_group.idToggled.connect(lambda *_: self.update_decision())
        for e in (self.driver_name, self.relationship, self.phone, self.company, self.booking):
            e.textChanged.connect(self.update_decision)
        self.arrival.dateTimeChanged.connect(self.update_decision)
        self.confirm.currentIndexChanged.connect(self.update_decision)
        self.update_decision()
        self.driver_radio.setFocus()

    def kind(self) -> RideKind:
        if self.self_radio.isChecked():
            return RideKind.PATIENT_DRIVES
        return RideKind.CAR_SERVICE if self.car_radio.isChecked() else RideKind.DRIVER

    def arrangement(self) -> RideArrangement:
        return RideArrangement(
            self.kind(), driver_name=self.driver_name.text(),
            relationship=self.relationship.text(), phone=self.phone.text(),
            expected_arrival=from_qdatetime(self.arrival.dateTime()) if self.arrival.touched
            or self.kind() is RideKind.DRIVER else None,
            company=self.company.text(), booking_reference=self.booking.text())

    def problems(self) -> tuple[str, ...]:
        return validate_ride(self.arrangement(), self.ctx.protocol.discharge,
                             patient_name=self.patient_name)

    def update_decision(self) -> None:
        kind = self.kind()
        # rows are enabled, not shown and hidden: the form never changes height under the
        # pointer, so a click lands on the option it was aimed at
        for w in self.driver_rows:
            w.setEnabled(kind is RideKind.DRIVER)
        for w in self.car_rows:
            w.setEnabled(kind is RideKind.CAR_SERVICE)
        confirming = bool(self.confirm.currentData())
        self.confirmed_at.setEnabled(confirming)
        problems = self.problems()
        if problems:
            self.decision.setText("\n".join(f"✗ {p}" for p in problems))
        else:
            self.decision.setText("✓ acceptable" + (
                f"; {self.confirm.currentText()} by {self.ctx.require_user().display_name}"
                if confirming else "; not confirmed yet"))

    def _details(self) -> dict[str, Any]:
        a = self.arrangement()
        if a.kind is RideKind.CAR_SERVICE:
            return {"kind": "car_service", "company": a.company.strip(),
                    "booking_ref": a.booking_reference.strip(), "expected_arrival": None}
        return {"kind": str(a.kind), "driver_name": a.driver_name.strip(),
                "relationship": a.relationship.strip(), "phone": a.phone.strip(),
                "expected_arrival": a.expected_arrival}

    def _unchanged(self, details: dict[str, Any]) -> bool:
        cur = self.current
        if cur is None:
            return False
        return all(getattr(cur, k) == v or (not getattr(cur, k) and not v)
                   for k, v in details.items())

    def save(self) -> None:
        problems = self.problems()
        if problems:
            self.fail("Not acceptable: " + "; ".join(problems))
            return
        details = self._details()
        method = str(self.confirm.currentData() or "") or None
        if self._unchanged(details):
            if not method or (self.current and self.current.confirmation_method == method
                              and self.current.confirmed_at is not None):
                self.fail("Nothing changed.")
                return
            send: rc.RideDetails | None = None
        else:
            send = rc.RideDetails(**details)
        self.run(rc.save_ride, self.visit_id, protocol=self.ctx.protocol, details=send,
                 confirm_method=method,
                 confirmed_at=self.confirmed_at.value(self.now()) if method else None,
                 now=self.now())


# ------------------------------------------------------------------------------------ gate

ACTIVITY = {2: "2 — moves all four limbs on command", 1: "1 — moves two limbs",
            0: "0 — moves no limbs"}
RESPIRATION = {2: "2 — breathes deeply, coughs freely", 1: "1 — dyspnoea or shallow breathing",
               0: "0 — apnoeic"}
CONSCIOUSNESS = {2: "2 — fully awake", 1: "1 — arousable on calling", 0: "0 — not responding"}


class CriterionRow:
    def __init__(self, grid: QGridLayout, row: int) -> None:
        self.mark = QLabel()
        self.name = QLabel()
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setMinimumWidth(380)
        grid.addWidget(self.mark, row, 0)
        grid.addWidget(self.name, row, 1)
        grid.addWidget(self.detail, row, 2)

    def set(self, name: str, met: bool, detail: str) -> None:
        self.mark.setText("✓ met" if met else "✗ UNMET")
        self.mark.setObjectName("Criterion")  # coloured by met (resources/styles/dialog.qss)
        if self.mark.property("met") != met:
            self.mark.setProperty("met", met)
            self.mark.style().unpolish(self.mark)
            self.mark.style().polish(self.mark)
        self.name.setText(name)
        if detail != self.detail.text():
            self.detail.setText(detail)
            # grid rows do not follow a wrapped label's height by themselves
            width = (self.detail.width() if self.detail.isVisible()
                     else self.detail.minimumWidth())
            self.detail.setMinimumHeight(self.detail.heightForWidth(width))


class DischargeDialog(CommandDialog):
    """The discharge gate, live. ``inputs_provider()`` returns the ``DischargeInputs`` now
    (default: read from the record, alarms from the alarm log)."""

    #: each re-evaluation's ``DischargeResult``
    evaluated = Signal(object)

    def __init__(self, ctx: AppContext, visit_id: int,
                 inputs_provider: Callable[[], DischargeInputs] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Discharge", ok_text="&Discharge", visit_id=visit_id,
                         parent=parent, min_width=760)
        self.criteria = ctx.protocol.discharge
        self.inputs_provider = inputs_provider or self._read_inputs
        #: the provider knows the live alarms (the engine's); otherwise the command reads the
        #: alarm log itself when it signs
        self.live_alarms = inputs_provider is not None
        self.result: DischargeResult | None = None
        self.aldrete: AldreteScore | None = None
        self.override: ChargeOverride | None = None
        self.inputs: DischargeInputs | None = None
        self.override_dialog: QDialog | None = None
        rec = ctx.read(repo.visit_record, visit_id)
        self.set_heading(f"{rec.patient.full_name} · {rec.chair.name} · {rec.visit.phase}")
        self.visit: VisitView | None = None
        self.dose_label = QLabel()  # the visit read model's delivered dose and weight
        self.dose_label.setWordWrap(True)
        self._add_section(self.dose_label)
        # the criteria, the Aldrete score and the instructions scroll on a screen too low for
        # them (1366 x 768 put the Discharge button under the screen's edge)
        self.sections = QWidget()
        self.sections.setObjectName("DischargeSections")
        self.sections_layout = QVBoxLayout(self.sections)
        self.sections_layout.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.sections)
        self.scroll.setStyleSheet("QScrollArea, QWidget#qt_scrollarea_viewport, "
                                  "QWidget#DischargeSections { background: transparent; }")
        self._add_section(self.scroll)

        box = QGroupBox("Criteria (re-checked every 2 s)")
        self.grid = QGridLayout(box)
        self.grid.setColumnStretch(2, 1)
        self.rows: dict[str, CriterionRow] = {}
        self.sections_layout.addWidget(box)

        ald = QGroupBox("Modified Aldrete (shown, not gating)")
        g = QGridLayout(ald)
        self.activity = QComboBox()
        self.respiration = QComboBox()
        self.consciousness = QComboBox()
        for combo, texts in ((self.activity, ACTIVITY), (self.respiration, RESPIRATION),
                             (self.consciousness, CONSCIOUSNESS)):
            combo.addItem("– not assessed", None)
            for score, text in texts.items():
                combo.addItem(text, score)
            combo.currentIndexChanged.connect(self.evaluate)
        self.on_oxygen = QCheckBox("On supplemental &oxygen")
        self.on_oxygen.toggled.connect(self.evaluate)
        for r, (text, w) in enumerate((("Ac&tivity:", self.activity),
                                       ("&Respiration:", self.respiration),
                                       ("&Consciousness:", self.consciousness))):
            lab = QLabel(text)
            lab.setBuddy(w)
            g.addWidget(lab, r, 0)
            g.addWidget(w, r, 1)
        g.addWidget(self.on_oxygen, 3, 1)
        self.aldrete_label = QLabel()
        self.aldrete_label.setWordWrap(True)
        g.addWidget(self.aldrete_label, 4, 0, 1, 2)
        self.sections_layout.addWidget(ald)

        ins = QGroupBox("Discharge instructions")
        v = QVBoxLayout(ins)
        for line in self.criteria.instructions:
            lab = QLabel(f"• {line}")
            lab.setWordWrap(True)
            v.addWidget(lab)
        self.instructions_given = QCheckBox("Instructions &given to the patient and escort")
        self.instructions_given.toggled.connect(self.update_button)
        v.addWidget(self.instructions_given)
        self.sections_layout.addWidget(ins)

        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        # the assessments the gate waits for (MOAA/S, CADSS-6, nausea) are charted from here
        self.assess_button = QPushButton("Chart &assessment…")
        self.assess_button.clicked.connect(self.chart_assessment)
        self.assessment_dialog: QDialog | None = None
        self.override_button = QPushButton("Charge o&verride…")
        self.override_button.clicked.connect(self.request_override)
        self.override_status = QLabel()
        self.override_status.setWordWrap(True)
        h.addWidget(self.assess_button)
        h.addWidget(self.override_button)
        h.addWidget(self.override_status, 1)
        self._add_section(row)

        self.timer = QTimer(self)
        self.timer.setInterval(REEVALUATE_MS)
        self.timer.timeout.connect(self.evaluate)
        self.timer.start()
        self.finished.connect(self.timer.stop)
        self.evaluate()
        self.instructions_given.setFocus()

    def _add_section(self, w: QWidget) -> None:
        # in the dialog's column (not the form) so wrapped texts get the height they need
        self.layout_.insertWidget(self.layout_.indexOf(self.decision), w)

    def fit_screen(self) -> None:
        """As tall as the sections need, but never past the screen: they scroll instead."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        need = self.sections.sizeHint().height() + 2
        if screen is not None:
            rest = self.sizeHint().height() - self.scroll.sizeHint().height()
            need = max(120, min(need, screen.height() - rest - 40))
        self.scroll.setMinimumHeight(need)

    def showEvent(self, event) -> None:
        self.fit_screen()
        super().showEvent(event)

    # -- gate ---------------------------------------------------------------------------------
    def _read_inputs(self) -> DischargeInputs:
        now = self.now()
        read = self.ctx.read(read_gate, self.visit_id, self.ctx.protocol, now,
                             display_tz=local(now).tzinfo)
        self.visit = read.visit  # the dose and weight every other view shows
        self.dose_label.setText("\n".join(read.visit.dose_lines(local(now).tzinfo)[:2]))
        return read.inputs

    def evaluate(self, *_: object) -> DischargeResult:
        now = self.now()
        inputs = self.inputs_provider()
        self.inputs = inputs
        if self.on_oxygen.isChecked() and not inputs.on_oxygen:
            inputs = dataclasses.replace(inputs, on_oxygen=True)
        result = evaluate_discharge(inputs, self.criteria, now,
                                    nausea_levels=self.ctx.protocol.assessments.nausea_levels,
                                    display_tz=local(now).tzinfo)
        self.result = result
        for i, c in enumerate(result.criteria):
            row = self.rows.get(c.name)
            if row is None:
                row = self.rows[c.name] = CriterionRow(self.grid, i)
            row.set(c.name, c.met, c.detail)
        window = self.criteria.stability_window_min
        sbp = latest_value(inputs.vitals, "NBP_SYS", now, self.criteria.bp_within_min)
        spo2 = latest_value(inputs.vitals, "SPO2", now, window)
        self.aldrete = modified_aldrete(
            activity=self.activity.currentData(), respiration=self.respiration.currentData(),
            consciousness=self.consciousness.currentData(), on_oxygen=inputs.on_oxygen,
            spo2=spo2.value if spo2 else None, sbp=sbp.value if sbp else None,
            baseline_sbp=inputs.baseline.sbp if inputs.baseline else None,
            aldrete_min=self.criteria.aldrete_min)
        mark = "✓" if self.aldrete.meets_minimum else "!"
        items = "; ".join(f"{i.name} {'–' if i.score is None else i.score} ({i.detail})"
                          for i in self.aldrete.items)
        self.aldrete_label.setText(f"{mark} {self.aldrete.describe()}\n{items}")
        self.update_button()
        self.evaluated.emit(result)
        return result

    def update_button(self, *_: object) -> None:
        r = self.result
        passed = bool(r and r.passed)
        if self.override is not None and (passed or r is None or uncovered(
                override_decision(r, self.criteria), self.override)):
            # not needed any more, or a criterion became unmet that it was never shown
            self.override = None
            self.override_status.setText("" if passed else
                                         "✗ the override did not cover the criteria now unmet")
        # core says which unmet criteria an override may cover and which none may
        may, never = override_scope(r, self.criteria) if r is not None else ((), ())
        self.override_button.setEnabled(not passed and self.override is None and not never)
        if self.override is None and not passed and r is not None:
            self.override_status.setText("\n".join(
                ([f"✗ Not overridable: {', '.join(c.name for c in never)} (wait until met)"]
                 if never else [])
                + ([f"A charge override would cover: {', '.join(c.name for c in may)}"]
                   if may else [])))
        allowed = (passed or self.override is not None) and self.instructions_given.isChecked()
        self.save_button.setEnabled(allowed)
        if r is None:
            return
        unmet = len(r.unmet)
        if passed:
            why = "✓ All criteria met."
        elif self.override is not None:
            why = f"✗ {unmet} criteria unmet — overridden by the charge nurse."
        else:
            why = f"✗ {unmet} criteria unmet: discharge needs all met or a charge override."
        if not self.instructions_given.isChecked():
            why += " Confirm the instructions were given."
        self.decision.setText(why)

    def chart_assessment(self) -> QDialog:
        """The assessment dialog over this one; the gate re-checks once it is saved."""
        dlg = AssessmentDialog(self.ctx, self.visit_id, self)
        dlg.finished.connect(lambda _r: self.evaluate())
        self.assessment_dialog = dlg
        dlg.open()
        return dlg

    def request_override(self) -> None:
        r = self.evaluate()
        what = "Discharge with unmet criteria: " + "; ".join(
            f"{c.name}: {c.detail}" for c in r.unmet)

        def granted(ov: ChargeOverride) -> None:
            self.override = ov
            self.override_status.setText(f"✓ overridden by {ov.by}: {ov.reason}")
            self.update_button()

        self.override_dialog = open_charge_override(
            self, self.ctx, what, override_decision(r, self.criteria), granted)

    def save(self) -> None:
        now = self.now()
        r = self.evaluate()
        if not self.instructions_given.isChecked():
            self.fail("Confirm the discharge instructions were given.", self.instructions_given)
            return
        if not r.passed and self.override is None:
            self.fail("Criteria unmet: " + "; ".join(c.name for c in r.unmet)
                      + ". A charge nurse can override.")
            return
        self.timer.stop()
        inputs = self.inputs
        self.run(rc.discharge, self.visit_id, protocol=self.ctx.protocol,
                 instructions_given=True, override=self.override if not r.passed else None,
                 aldrete=rc.AldreteAnswers(self.activity.currentData(),
                                           self.respiration.currentData(),
                                           self.consciousness.currentData()),
                 on_oxygen=self.on_oxygen.isChecked() or bool(inputs and inputs.on_oxygen),
                 active_alarms=inputs.alarms if inputs is not None and self.live_alarms
                 else None,
                 now=now, display_tz=local(now).tzinfo)

    def _failed(self, exc: BaseException) -> None:
        super()._failed(exc)
        self.timer.start()
        self.update_button()

    def refused(self, exc: Refused) -> None:
        if exc.needs == "charge_override":
            self.override = None
            self.override_status.setText("✗ the override did not cover the criteria now unmet")
            self.update_button()


__all__ = [
    "REEVALUATE_MS",
    "DischargeDialog",
    "RideDialog",
    "criteria_snapshot",
]
