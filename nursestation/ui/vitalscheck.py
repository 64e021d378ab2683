"""A manual vitals check: the nurse's own measurement (manual cuff, counted respirations) when
the monitor's is missing or doubtful. It fulfils a scheduled check like an NIBP reading does."""

from __future__ import annotations

from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import QLineEdit, QWidget

from nursestation.db import repo
from nursestation.db.discharge_inputs import SCALE_VITALS_CHECK
from nursestation.ui.charting import EntryDialog, TimeField, _label_for
from nursestation.ui.context import AppContext

#: (code, label with mnemonic, unit, plausible range) — the range only catches typing slips.
FIELDS = (
    ("NBP_SYS", "BP &systolic:", "mmHg", (40, 300)),
    ("NBP_DIA", "BP &diastolic:", "mmHg", (20, 200)),
    ("HR", "&Heart rate:", "bpm", (20, 250)),
    ("SPO2", "S&pO2:", "%", (50, 100)),
    ("RR", "&Resp. rate:", "/min", (2, 60)),
)


class VitalsCheckDialog(EntryDialog):
    def __init__(self, ctx: AppContext, visit_id: int, parent: QWidget | None = None) -> None:
        super().__init__(ctx, visit_id, "Manual vitals check", parent)
        self.heading.setText("Values you measured yourself. Leave a field empty if not taken; "
                             "a blood pressure needs both numbers.")
        self.fields: dict[str, QLineEdit] = {}
        for code, label, unit, (lo, hi) in FIELDS:
            edit = QLineEdit()
            edit.setValidator(QIntValidator(0, 999, edit))
            edit.setPlaceholderText(f"{lo}–{hi} {unit}")
            _label_for(self.form, label, edit)
            self.fields[code] = edit
        self.when = TimeField(self.now())
        _label_for(self.form, "&Time measured:", self.when)
        self.fields["NBP_SYS"].setFocus()

    def values(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for code, _label, unit, (lo, hi) in FIELDS:
            text = self.fields[code].text().strip()
            if not text:
                continue
            v = float(text)
            if not lo <= v <= hi:
                raise ValueError(f"{code.replace('_', ' ')} {v:g} {unit} is outside "
                                 f"{lo}–{hi} {unit}: check the number")
            out[code] = v
        if ("NBP_SYS" in out) != ("NBP_DIA" in out):
            raise ValueError("a blood pressure needs both systolic and diastolic")
        if "NBP_SYS" in out and out["NBP_DIA"] >= out["NBP_SYS"]:
            raise ValueError("the diastolic must be below the systolic")
        if not out:
            raise ValueError("enter at least one value")
        return out

    def save(self) -> None:
        try:
            values = self.values()
        except ValueError as exc:
            self.show_status(str(exc), error=True)
            return
        self.submit(repo.record_assessment, self.visit_id, SCALE_VITALS_CHECK, values, None,
                    user=self.user_id, note="manual vitals check", at=self.when.value(self.now()),
                    what="vitals")
