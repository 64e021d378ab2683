"""A manual vitals check: the nurse's own measurement (manual cuff, counted respirations) when
the monitor's is missing or doubtful. It fulfils a scheduled check like an NIBP reading does.
The plausible ranges are the record's (``record.validation.VITAL_RANGES``); the command
``record_vitals_check`` checks them again."""

from __future__ import annotations

from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import QLineEdit, QWidget

from nursestation.record import commands as rc
from nursestation.record.errors import Refused
from nursestation.record.validation import VITAL_RANGES, vitals
from nursestation.ui.charting import TimeField, _label_for
from nursestation.ui.context import AppContext
from nursestation.ui.dialogs import CommandDialog

#: (code, label with mnemonic) in the order asked
FIELDS = (
    ("NBP_SYS", "BP &systolic:"),
    ("NBP_DIA", "BP &diastolic:"),
    ("HR", "&Heart rate:"),
    ("SPO2", "S&pO2:"),
    ("RR", "&Resp. rate:"),
)


class VitalsCheckDialog(CommandDialog):
    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Manual vitals check", visit_id=visit_id, parent=parent)
        self.set_heading("Values you measured yourself. Leave a field empty if not taken; "
                         "a blood pressure needs both numbers.")
        self.fields: dict[str, QLineEdit] = {}
        for code, label in FIELDS:
            lo, hi, unit = VITAL_RANGES[code]
            edit = QLineEdit()
            edit.setValidator(QIntValidator(0, 999, edit))
            edit.setPlaceholderText(f"{lo:g}–{hi:g} {unit}")
            _label_for(self.form, label, edit)
            self.fields[code] = edit
        self.when = TimeField(self.now())
        _label_for(self.form, "&Time measured:", self.when)
        self.fields["NBP_SYS"].setFocus()

    def values(self) -> dict[str, float]:
        """The entered values, checked early with the record's own rules (raises Refused)."""
        typed = {code: float(f.text()) for code, f in self.fields.items() if f.text().strip()}
        out = {k: v for k, v in vitals(typed).items() if v is not None}
        if not out:
            raise Refused("vitals", "enter at least one value")
        return out

    def save(self) -> None:
        try:
            values = self.values()
        except Refused as exc:
            self.fail(str(exc))
            return
        self.run(rc.record_vitals_check, self.visit_id, protocol=self.ctx.protocol,
                 values=values, at=self.when.value(self.now()), late_reason=self.late_text(),
                 now=self.now())
