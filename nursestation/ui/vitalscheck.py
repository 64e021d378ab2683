"""A manual vitals check: the nurse's own measurement (manual cuff, counted respirations) when
the monitor's is missing or doubtful. It fulfils a scheduled check like an NIBP reading does.
The plausible ranges are the protocol file's (``[plausibility]``, through ``core.plausibility``);
the command ``record_vitals_check`` checks them again; an unusual value needs the nurse's
confirmation."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QWidget

from nursestation.core.plausibility import EntryError, parse_number
from nursestation.core.plausibility import label as vital_label
from nursestation.core.plausibility import unit as vital_unit
from nursestation.record import commands as rc
from nursestation.record.errors import Refused
from nursestation.record.validation import vitals
from nursestation.ui.charting import TimeField, _label_for
from nursestation.ui.context import AppContext
from nursestation.ui.dialogs import CommandDialog

#: (code, label with mnemonic) in the order asked
FIELDS = (
    ("NBP_SYS", "BP &systolic:"),
    ("NBP_DIA", "BP &diastolic:"),
    ("HR", "&Heart rate:"),
    ("SPO2", "S&pO\u2082:"),
    ("RR", "&Resp. rate:"),
)


class VitalsCheckDialog(CommandDialog):
    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Manual vitals check", visit_id=visit_id, parent=parent)
        self.set_heading("Values you measured yourself. Leave a field empty if not taken; "
                         "a blood pressure needs both numbers.")
        self.fields: dict[str, QLineEdit] = {}
        for code, label in FIELDS:
            rng = ctx.protocol.plausibility.range_for(code)
            edit = QLineEdit()
            if rng is not None:
                lo = rng.refuse_below if rng.confirm_below is None else rng.confirm_below
                hi = rng.refuse_above if rng.confirm_above is None else rng.confirm_above
                edit.setPlaceholderText(f"usually {lo:g}–{hi:g} {vital_unit(code)}")
            _label_for(self.form, label, edit)
            self.fields[code] = edit
        self.when = TimeField(self.now())
        _label_for(self.form, "&Time measured:", self.when)
        self.fields["NBP_SYS"].setFocus()

    def values(self) -> dict[str, float]:
        """The entered values, checked early with the record's own rules (raises Refused)."""
        typed: dict[str, float] = {}
        for code, f in self.fields.items():
            if f.text().strip():
                try:
                    typed[code] = parse_number(f.text(), vital_label(code))
                except EntryError as exc:
                    raise Refused("entry", f"{exc}", f.text()) from None
        out = {k: v for k, v in vitals(typed, self.ctx.protocol.plausibility,
                                       confirmed=self.confirmed()).items() if v is not None}
        if not out:
            raise Refused("vitals", "enter at least one value")
        return out

    def save(self) -> None:
        try:
            values = self.values()
        except Refused as exc:
            self._failed(exc)  # shown; an unusual value asks for the confirmation
            return
        self.run(rc.record_vitals_check, self.visit_id, protocol=self.ctx.protocol,
                 values=values, at=self.when.value(self.now()), late_reason=self.late_text(),
                 confirm_unusual=self.confirmed(), now=self.now())
