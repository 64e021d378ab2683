"""Render a ``VisitSummary`` as the printed session summary (PDF, reportlab).

Text is real PDF text in embedded TrueType fonts (``fonts.py``: searchable and copyable,
identical on every workstation and in any archive); the vitals chart is vector graphics.
Every page carries the clinic, the patient, MRN and date of birth, the page number out of the
total, and when the summary was printed. Times are stored in UTC and shown in the workstation's local time zone.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from nursestation import __version__
from nursestation.core.alarms import PRIORITY_NAMES
from nursestation.report.chart import vitals_chart
from nursestation.report.fonts import FONT, FONT_BOLD, register_fonts
from nursestation.report.model import (
    Amendment,
    AssessmentEntry,
    MarEntry,
    VisitSummary,
)

PAGE = LETTER
PAPER = {"letter": LETTER, "a4": A4}
MARGIN_X = 0.55 * inch
HEADER_H = 0.92 * inch
FOOTER_H = 0.45 * inch
#: the same text width on Letter and A4 (the narrower), centred: one layout for both papers
CONTENT_W = min(LETTER[0], A4[0]) - 2 * MARGIN_X

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#5a5a5a")
RULE = colors.HexColor("#9aa5b1")
HEAD_BG = colors.HexColor("#e8edf2")
ACCENT = colors.HexColor("#1f4e79")
ALERT = colors.HexColor("#b00020")
AMEND_BG = colors.HexColor("#fff6dc")

# ------------------------------------------------------------------------------------ text helpers

# Characters the base-14 fonts (WinAnsi) cannot show, spelt so the meaning survives.
_SPELL = {
    "≥": ">=", "≤": "<=", "→": "->", "←": "<-", "≠": "!=", "−": "-", "✓": "yes", "✗": "no",
    "↑": "up", "↓": "down", "…": "...", "\u2009": " ", "\u202f": " ",
}


def plain(text: object) -> str:
    """Text safe for the base-14 fonts: characters outside Windows-1252 are spelt out."""
    s = str(text)
    out = []
    for ch in s:
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            out.append(_SPELL.get(ch, "?"))
    return "".join(out)


def x(text: object) -> str:
    """Escape for a Paragraph (its mini-markup), after ``plain``."""
    return escape(plain(text))


class Clock:
    """Shows stored UTC times in one local zone (the workstation's unless given)."""

    def __init__(self, tz: tzinfo | None = None, visit_date: date | None = None) -> None:
        self.tz = tz
        self.visit_date = visit_date

    def local(self, dt: datetime) -> datetime:
        if dt.tzinfo is None:  # stored times are UTC; be forgiving of naive ones
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(self.tz) if self.tz is not None else dt.astimezone()

    def hm(self, dt: datetime | None) -> str:
        """HH:MM, with the date when it is not the visit's day."""
        if dt is None:
            return "-"
        loc = self.local(dt)
        if self.visit_date is not None and loc.date() != self.visit_date:
            return loc.strftime("%Y-%m-%d %H:%M")
        return loc.strftime("%H:%M")

    def full(self, dt: datetime | None) -> str:
        if dt is None:
            return "-"
        loc = self.local(dt)
        return loc.strftime("%Y-%m-%d %H:%M ") + (loc.tzname() or "")

    def zone_note(self, dt: datetime) -> str:
        loc = self.local(dt)
        off = loc.utcoffset()
        mins = int(off.total_seconds() // 60) if off is not None else 0
        sign = "+" if mins >= 0 else "-"
        name = loc.tzname() or ""
        return f"{name} (UTC{sign}{abs(mins) // 60:02d}:{abs(mins) % 60:02d})".strip()


def fmt_num(v: float | None, digits: int = 0, unit: str = "") -> str:
    if v is None:
        return "-"
    s = f"{v:.{digits}f}"
    return f"{s} {unit}".rstrip() if unit else s


def age_on(dob: date, on: date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


# ------------------------------------------------------------------------------------------ styles


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=8.2, leading=10, textColor=INK,
                          alignment=TA_LEFT)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.2, leading=8.8),
        "muted": ParagraphStyle("muted", parent=base, fontSize=7.2, leading=8.8, textColor=MUTED),
        "cellb": ParagraphStyle("cellb", parent=base, fontName=FONT_BOLD),
        "th": ParagraphStyle("th", parent=base, fontName=FONT_BOLD, fontSize=7.4,
                             leading=9, textColor=ACCENT),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=10,
                             leading=12, textColor=ACCENT, spaceBefore=7, spaceAfter=3,
                             keepWithNext=1),
        "amend": ParagraphStyle("amend", parent=base, fontSize=7.2, leading=8.8,
                                textColor=colors.HexColor("#5c4400")),
        "alert": ParagraphStyle("alert", parent=base, fontName=FONT_BOLD,
                                textColor=ALERT),
    }


S = _styles()


def P(text: str, style: str = "base") -> Paragraph:
    """A paragraph from already-escaped mini-markup."""
    return Paragraph(text, S[style])


def T(text: object, style: str = "base") -> Paragraph:
    """A paragraph from plain text."""
    return Paragraph(x(text), S[style])


def heading(text: str) -> Paragraph:
    return Paragraph(x(text), S["h2"])


def grid(rows: list[list], widths: Sequence[float], *, header: bool = True,
         extra: Iterable[tuple] = (), zebra: bool = False) -> Table:
    """A ruled table; ``widths`` are fractions of the content width."""
    tbl = Table(rows, colWidths=[w * CONTENT_W for w in widths], repeatRows=1 if header else 0,
                hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),  # plain-text cells: the embedded font too
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 1.6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.8),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("LINEABOVE", (0, 0), (-1, 0), 0.6, ACCENT),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                  ("LINEBELOW", (0, 0), (-1, 0), 0.6, ACCENT)]
    if zebra:
        for r in range(1 if header else 0, len(rows)):
            if r % 2 == 0:
                style.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f6f8fa")))
    style.extend(extra)
    tbl.setStyle(TableStyle(style))
    return tbl


# ------------------------------------------------------------------------- amendments and voids


def amendment_text(amendments: Sequence[Amendment], clock: Clock, voided: bool = False) -> str:
    """The correction line(s): the original struck through once, with who, when and why (the
    paper convention of a single initialled, dated line). Extracted text keeps the original."""
    parts = []
    for a in amendments:
        orig = f"<strike>{x(a.original)}</strike>"
        when = f" (charted {clock.hm(a.original_at)} by {x(a.original_by)})" if a.original_at else ""
        verb = "Voided" if voided and a is amendments[-1] else "Amended"
        changed = f"Changed: {x('; '.join(a.changes))}. " if a.changes else ""
        parts.append(f"<b>{verb}</b> {clock.hm(a.at)} by {x(a.by)}: {x(a.reason)}. "
                     f"{changed}Original entry: {orig}{when}")
    return "<br/>".join(parts)


def _with_amendments(rows: list[list], styles: list[tuple], cells: list,
                     amendments: Sequence[Amendment], voided: bool, clock: Clock) -> None:
    """Append an entry's row and, when it was amended or voided, a full-width correction row."""
    r = len(rows)
    rows.append(cells)
    if voided:
        styles.append(("TEXTCOLOR", (0, r), (-1, r), MUTED))
    if amendments or voided:
        text = amendment_text(amendments, clock, voided)
        if voided and not amendments:
            text = "<b>Entered in error (voided).</b>"
        note = ([P("<b>AMENDED</b>" if not voided else "<b>VOIDED</b>", "amend")]
                + [P(text, "amend")] + [""] * (len(cells) - 2))
        rows.append(note)
        rr = len(rows) - 1
        styles += [("SPAN", (1, rr), (-1, rr)), ("BACKGROUND", (0, r), (-1, rr), AMEND_BG),
                   ("LINEBELOW", (0, r), (-1, r), 0, colors.white)]


# ------------------------------------------------------------------------------------- sections


def _visit_block(s: VisitSummary, clock: Clock) -> list:
    p = s.patient
    course = (f"{s.course_number} of {s.course_length}" if s.course_length
              else str(s.course_number))
    allergies = p.allergies.strip() or "None recorded"
    allergy_p = (P(f"<b>{x(allergies)}</b>", "alert") if p.allergies.strip()
                 else T(allergies))
    weight = fmt_num(p.weight_kg, 1, "kg")
    rows = [
        [T("Visit date", "th"), T(s.visit_date.isoformat()), T("Course", "th"),
         T(f"infusion {course}"), T("Chair", "th"), T(s.chair)],
        [T("Check-in", "th"), T(clock.hm(s.checkin_at)), T("Discharged", "th"),
         T(clock.hm(s.discharge_at) if s.discharge_at else f"not yet ({s.phase})"),
         T("Visit no.", "th"), T(str(s.visit_id))],
        [T("Weight", "th"), T(weight), T("Allergies", "th"), allergy_p, "", ""],
        [T("Nurses", "th"), T(", ".join(s.nurses) or "-"), "", "", "", ""],
    ]
    w = (0.11, 0.22, 0.11, 0.28, 0.1, 0.18)
    return [grid(rows, w, header=False, extra=[
        ("SPAN", (3, 2), (5, 2)), ("SPAN", (1, 3), (5, 3)),
        ("LINEABOVE", (0, 0), (-1, 0), 0.6, ACCENT),
    ])]


def _screening(s: VisitSummary, clock: Clock) -> list:
    sc = s.screening
    if sc is None:
        return [heading("Screening"), T("No screening charted.", "muted")]
    outcome = {True: "passed", False: "NOT passed", None: "not assessed"}[sc.passed]
    out = [heading(f"Screening at check-in - {outcome}")]
    for line in sc.blocking_unmet:  # stays visible after an override let the infusion start
        out.append(P(f"<b>! Blocking item {x(line)}</b>"))
    rows: list[list] = []
    for a in sc.answers:
        mark = {True: "yes", False: "NO", None: ""}[a.ok]
        rows.append([T(a.question), T(a.answer), T(mark, "cellb" if a.ok is False else "base")])
    half = (len(rows) + 1) // 2
    left, right = rows[:half], rows[half:]
    right += [["", "", ""]] * (len(left) - len(right))
    merged = [lft + rgt for lft, rgt in zip(left, right, strict=True)]
    w = (0.2, 0.24, 0.05, 0.2, 0.26, 0.05)
    out.append(grid(merged, w, header=False, extra=[
        ("LINEAFTER", (2, 0), (2, -1), 0.25, RULE)]))
    tail = f"Charted {clock.hm(sc.at)} by {x(sc.by)}." if sc.at else ""
    if sc.amendments:
        tail += " " + amendment_text(sc.amendments, clock)
    if tail:
        out.append(P(tail, "muted"))
    return out


def _dose(s: VisitSummary, clock: Clock) -> list:
    d = s.dose
    target = "-"
    if d.target_mg_per_kg is not None:
        target = f"{d.target_mg_per_kg:g} mg/kg"
        if d.target_mg is not None:
            target += f" = {d.target_mg:.1f} mg"
        if d.planned_duration_min:
            target += f" over {d.planned_duration_min:g} min"
    delivered = "-"
    if d.delivered_mg is not None:
        delivered = f"<b>{d.delivered_mg:.1f} mg</b>"
        if d.delivered_mg_per_kg is not None:
            delivered += f" ({d.delivered_mg_per_kg:.2f} mg/kg)"
        delivered += " - from the charted rate history"
    period = "-"
    if d.infusion_start:
        period = f"{clock.hm(d.infusion_start)} - {clock.hm(d.infusion_end)}"
        if d.infusion_end:
            mins = (d.infusion_end - d.infusion_start).total_seconds() / 60
            period += f" ({mins:.0f} min incl. pauses)"
    conc = (f"{d.concentration_mg_ml:g} mg/mL" if d.concentration_mg_ml else "-")
    rows = [
        [T("Protocol", "th"), T(f"{d.protocol_name} (version {d.protocol_version})"),
         T("Drug", "th"), T(f"{d.drug}, {conc}")],
        [T("Target dose", "th"), T(target), T("Infusion", "th"), T(period)],
        [T("Delivered total", "th"), P(delivered), T("Pump volume infused", "th"),
         T(fmt_num(d.pump_volume_ml, 1, "mL"))],
    ]
    out = [heading("Protocol and dose"),
           grid(rows, (0.14, 0.4, 0.16, 0.30), header=False)]
    if d.note:
        out.append(T(d.note, "muted"))
    return out


def _chart(s: VisitSummary, clock: Clock) -> list:
    return [heading("Vitals during the visit"), vitals_chart(s, clock, CONTENT_W)]


def _timepoints(s: VisitSummary, clock: Clock) -> list:
    if not s.timepoints:
        return []
    rows = [[T(h, "th") for h in ("Timepoint", "Due", "NBP (mmHg)", "HR (bpm)", "SpO2 (%)",
                                  "RR (/min)", "Measured")]]
    for tp in s.timepoints:
        v, at = tp.values, tp.measured_at
        sys_, dia = v.get("NBP_SYS"), v.get("NBP_DIA")
        bp = f"{sys_:.0f}/{dia:.0f}" if sys_ is not None and dia is not None else "-"
        bp_at = at.get("NBP_SYS")
        measured = f"NBP {clock.hm(bp_at)}" if bp_at else "no NBP"
        rows.append([T(tp.label, "cellb"), T(clock.hm(tp.due)), T(bp),
                     T(fmt_num(v.get("HR"))), T(fmt_num(v.get("SPO2"))),
                     T(fmt_num(v.get("RR"))), T(measured)])
    return [heading("Vitals at the scheduled timepoints"),
            grid(rows, (0.16, 0.1, 0.14, 0.12, 0.12, 0.12, 0.24))]


def _other_sites(s: VisitSummary, clock: Clock) -> list:
    if not s.other_sites:
        return []
    rows = [[T(h, "th") for h in ("Measurement", "Readings", "From", "Range", "Last")]]
    for o in s.other_sites:
        digits = 1 if o.unit == "°C" else 0
        rows.append([T(o.name, "cellb"), T(str(o.count)), T(clock.hm(o.first_at)),
                     T(f"{fmt_num(o.low, digits)} - {fmt_num(o.high, digits, o.unit)}"),
                     T(f"{fmt_num(o.last, digits, o.unit)} at {clock.hm(o.last_at)}")])
    return [heading("Other measurement sites"),
            T("Recorded beside the chair's primary site; not charted above and not used for "
              "alarms or the discharge decision.", "muted"),
            grid(rows, (0.26, 0.12, 0.12, 0.26, 0.24))]


_EVENT_NAMES = {"start": "Start", "rate_change": "Rate change", "pause": "Pause",
                "resume": "Resume", "stop": "Stop"}


def _dose_timeline(s: VisitSummary, clock: Clock) -> list:
    if not s.dose_timeline:
        return [heading("Dose timeline"), T("No infusion charted.", "muted")]
    rows = [[T(h, "th") for h in ("Time", "Event", "Rate", "Dose rate", "Reason", "By")]]
    extra: list[tuple] = []
    for e in s.dose_timeline:
        reason = e.reason + (f" - override: {e.override}" if e.override else "")
        cells = [T(clock.hm(e.at)), T(_EVENT_NAMES.get(e.event, e.event), "cellb"),
                 T(fmt_num(e.rate_ml_h, 0, "mL/h")),
                 T(fmt_num(e.dose_mg_kg_h, 2, "mg/kg/h")), T(reason), T(e.by)]
        _with_amendments(rows, extra, cells, e.amendments, e.voided, clock)
    return [heading("Dose timeline"),
            grid(rows, (0.08, 0.12, 0.1, 0.13, 0.35, 0.22), extra=extra)]


def _mar_cells(m: MarEntry, clock: Clock) -> list:
    drug = f"<b>{x(m.drug)}</b> {m.dose:g} {x(m.unit)} {x(m.route)}"
    if m.site:
        drug += f"<br/><font size=7>site: {x(m.site)}</font>"
    given = clock.hm(m.given_at)
    if m.late_entry:
        given += f"<br/><font size=7 color='#b00020'><b>LATE ENTRY</b> charted {clock.hm(m.recorded_at)}</font>"
    response = x(m.response or "not yet charted")
    if m.response_at:
        response += f" ({clock.hm(m.response_at)})"
    by = x(m.given_by)
    if m.override_reason:
        by += f"<br/><font size=7>override {x(m.override_by)}: {x(m.override_reason)}</font>"
    return [P(given), P(drug), T(m.indication or "-"), P(response), P(by)]


def _mar(s: VisitSummary, clock: Clock) -> list:
    if not s.mar:
        return [heading("Medication administration record"),
                T("No medications given during the visit.", "muted")]
    rows = [[T(h, "th") for h in ("Given", "Drug, dose, route, site", "Indication", "Response",
                                  "Given by")]]
    extra: list[tuple] = []
    for m in s.mar:
        _with_amendments(rows, extra, _mar_cells(m, clock), m.amendments, m.voided, clock)
    return [heading("Medication administration record (MAR)"),
            grid(rows, (0.1, 0.25, 0.18, 0.27, 0.2), extra=extra)]


def _score_text(a: AssessmentEntry) -> str:
    if a.score is None:
        return "-"
    if isinstance(a.score, float | int):
        return f"{a.score:g}"
    return str(a.score)


def _assessments(s: VisitSummary, clock: Clock) -> list:
    if not s.assessments:
        return [heading("Assessments"), T("No assessments charted.", "muted")]
    rows = [[T(h, "th") for h in ("Time", "Scale", "Score", "Items / note", "By")]]
    extra: list[tuple] = []
    for a in s.assessments:
        detail = ""
        if a.items:
            detail = "; ".join(f"{x(k)} {x(v)}" for k, v in a.items)
            detail = f"<font size=7>{detail}</font>"
        if a.note:
            detail += ("<br/>" if detail else "") + f"<i>{x(a.note)}</i>"
        cells = [T(clock.hm(a.at)), T(a.scale, "cellb"), T(_score_text(a), "cellb"),
                 P(detail or "-"), T(a.by)]
        _with_amendments(rows, extra, cells, a.amendments, a.voided, clock)
    return [heading("Assessments"), grid(rows, (0.08, 0.1, 0.09, 0.51, 0.22), extra=extra)]


def _notes(s: VisitSummary, clock: Clock) -> list:
    if not s.notes:
        return []
    rows = [[T(h, "th") for h in ("Time", "Note", "By")]]
    extra: list[tuple] = []
    for n in s.notes:
        _with_amendments(rows, extra, [T(clock.hm(n.at)), T(n.text), T(n.by)],
                         n.amendments, n.voided, clock)
    return [heading("Nursing notes"), grid(rows, (0.08, 0.7, 0.22), extra=extra)]


def _alarms(s: VisitSummary, clock: Clock) -> list:
    al = s.alarms
    counts = ", ".join(f"{al.counts.get(p, 0)} {p}" for p in PRIORITY_NAMES)
    out = [heading("Alarms"), T(f"Alarms raised during the visit: {counts}.")]
    if al.high:
        rows = [[T(h, "th") for h in ("Raised", "High-priority alarm", "Acknowledged",
                                      "Cleared")]]
        for a in al.high:
            ack = (f"{clock.hm(a.acknowledged_at)} by {a.acknowledged_by}"
                   if a.acknowledged_at else "NOT acknowledged")
            rows.append([T(clock.hm(a.at)), T(a.message, "cellb"), T(ack),
                         T(clock.hm(a.cleared_at))])
        out.append(Spacer(1, 2))
        out.append(grid(rows, (0.1, 0.45, 0.3, 0.15)))
    return out


def _discharge(s: VisitSummary, clock: Clock) -> list:
    d = s.discharge
    if d is None:
        return [heading("Discharge"), T("No discharge decision charted.", "muted")]
    outcome = d.outcome.replace("_", " ")
    title = f"Discharge - {outcome.upper()} at {clock.hm(d.at)}"
    if d.override:
        title += " (gate overridden)"
    elif d.all_met:
        title += " (all criteria met)"
    rows = [[T(h, "th") for h in ("Criterion", "Met", "Value")]]
    extra: list[tuple] = []
    for i, c in enumerate(d.criteria, start=1):
        rows.append([T(c.name), T("yes" if c.met else "NOT MET", "base" if c.met else "alert"),
                     T(c.detail)])
        if not c.met:
            extra.append(("BACKGROUND", (0, i), (-1, i), colors.HexColor("#fde8ea")))
    out: list = [heading(title), grid(rows, (0.5, 0.09, 0.41), extra=extra)]
    if d.override:
        out.append(Spacer(1, 3))
        out.append(P(f"<b>Override</b> by {x(d.override_by)}: {x(d.override_reason)}", "alert"))
    signer = f"Decision signed by {x(d.signed_by)}." if d.signed_by else ""
    instr = ("Discharge instructions given: " + ("yes" if d.instructions_given else "NO") + ".")
    out.append(Spacer(1, 2))
    out.append(P(f"{signer} {instr}", "small"))
    if d.instructions and d.instructions_given:
        out.append(P("Instructions: " + " ".join(x(i) for i in d.instructions), "muted"))
    if d.amendments:
        out.append(P(amendment_text(d.amendments, clock), "amend"))
    return out


def _ride(s: VisitSummary, clock: Clock) -> list:
    r = s.ride
    if r is None:
        return [heading("Ride home"), T("No ride charted.", "alert")]
    if r.kind == "car_service":
        who = f"Car service: {r.company or '-'}" + (f", booking {r.booking_ref}"
                                                   if r.booking_ref else "")
    else:
        who = f"Driver: {r.driver_name or '-'}"
        if r.relationship:
            who += f" ({r.relationship})"
        if r.phone:
            who += f", phone {r.phone}"
    if r.confirmed_at:
        conf = f"Confirmed {clock.hm(r.confirmed_at)} by {r.confirmed_by}"
        if r.confirmation_method:
            conf += f" ({r.confirmation_method})"
    else:
        conf = "NOT confirmed"
    exp = f"Expected {clock.hm(r.expected_arrival)}. " if r.expected_arrival else ""
    out = [heading("Ride home"), P(f"<b>{x(who)}</b>. {x(exp)}{x(conf)}.")]
    if r.amendments:
        out.append(P(amendment_text(r.amendments, clock), "amend"))
    return out


def _signatures(s: VisitSummary, clock: Clock) -> list:
    rows = [[T(h, "th") for h in ("Signed by (printed name)", "Role", "Date and time",
                                  "Meaning of signature")]]
    for sig in s.signatures:
        rows.append([T(sig.name, "cellb"), T(sig.role), T(clock.full(sig.at)), T(sig.meaning)])
    if len(rows) == 1:
        rows.append([T("No electronic signatures recorded.", "muted"), "", "", ""])
    note = T("Electronic signatures executed in NurseStation with each user's own ID and PIN. "
             "Entries and corrections are kept in the audit trail; nothing is edited in place.",
             "muted")
    return [KeepTogether([heading("Electronic signatures"),
                          grid(rows, (0.3, 0.14, 0.2, 0.36)), Spacer(1, 2), note])]


# --------------------------------------------------------------------------- page furniture


class _Canvas(rl_canvas.Canvas):
    """Draws 'Page n of N' as one form per page, filled in when the total is known."""

    footer_left = ""

    def __init__(self, *args, **kw) -> None:
        if not kw.get("initialFontName"):
            kw["initialFontName"] = FONT  # else every page names base-14 Helvetica
        super().__init__(*args, **kw)

    def save(self) -> None:
        total = self.getPageNumber() - 1
        for n in range(1, total + 1):
            self.beginForm(f"pageno{n}", lowerx=-200, lowery=-5, upperx=5, uppery=20)
            self.setFont(FONT_BOLD, 7.5)
            self.setFillColor(INK)
            self.drawRightString(0, 0, f"Page {n} of {total}")
            self.endForm()
        super().save()


def _page_furniture(s: VisitSummary, clock: Clock, printed_at: datetime):
    p = s.patient
    dob = "-"
    if p.date_of_birth:
        dob = f"{p.date_of_birth.isoformat()} (age {age_on(p.date_of_birth, s.visit_date)})"
    printed = clock.full(printed_at)
    zone = clock.zone_note(s.checkin_at or s.dose.infusion_start or printed_at)

    def draw(c: rl_canvas.Canvas, doc) -> None:
        w, h = doc.pagesize
        margin_x = (w - CONTENT_W) / 2
        top = h - 0.42 * inch
        c.saveState()
        c.setFillColor(ACCENT)
        c.setFont(FONT_BOLD, 11.5)
        c.drawString(margin_x, top, plain(s.clinic))
        c.setFillColor(INK)
        c.setFont(FONT, 8.5)
        c.drawString(margin_x, top - 12, "Ketamine infusion session summary")
        c.setFont(FONT, 7.5)
        c.setFillColor(MUTED)
        c.drawString(margin_x, top - 22,
                     plain(f"Visit {s.visit_id} - {s.visit_date.isoformat()} - course "
                           f"{s.course_number}" + (f" of {s.course_length}"
                                                   if s.course_length else "")
                           + f" - {s.chair}"))
        right = w - margin_x
        c.setFillColor(INK)
        c.setFont(FONT_BOLD, 11.5)
        c.drawRightString(right, top, plain(p.name))
        c.setFont(FONT, 8.5)
        c.drawRightString(right, top - 12, plain(f"MRN {p.mrn}"))
        c.drawRightString(right, top - 22, plain(f"DOB {dob}"))
        c.setStrokeColor(ACCENT)
        c.setLineWidth(1)
        c.line(margin_x, top - 28, right, top - 28)
        # footer
        fy = 0.42 * inch
        c.setStrokeColor(RULE)
        c.setLineWidth(0.5)
        c.line(margin_x, fy + 10, right, fy + 10)
        c.setFont(FONT, 6.8)
        c.setFillColor(MUTED)
        c.drawString(margin_x, fy,
                     plain(f"Printed {printed} by NurseStation {__version__}. All times are "
                           f"local, {zone}. Confidential patient information."))
        if s.audit_anchor:
            c.drawString(MARGIN_X, fy - 8, plain(f"Record integrity: {s.audit_anchor}."))
        c.restoreState()
        c.saveState()
        c.translate(right, fy)
        c.doForm(f"pageno{c.getPageNumber()}")
        c.restoreState()

    return draw


# ------------------------------------------------------------------------------------ the API


def story(s: VisitSummary, clock: Clock) -> list:
    """The flowables of the summary, in reading order."""
    out: list = []
    out += _visit_block(s, clock)
    out += _screening(s, clock)
    out += _dose(s, clock)
    out += [KeepTogether(_chart(s, clock))]
    out += [KeepTogether(_timepoints(s, clock))] if s.timepoints else []
    out += [KeepTogether(_other_sites(s, clock))] if s.other_sites else []
    out += _dose_timeline(s, clock)
    out += _mar(s, clock)
    out += _assessments(s, clock)
    out += _notes(s, clock)
    out += [KeepTogether(_alarms(s, clock))]
    out += [KeepTogether(_discharge(s, clock))]
    out += [KeepTogether(_ride(s, clock))]
    out += _signatures(s, clock)
    return out


def render_pdf(summary: VisitSummary, out: str | os.PathLike | BinaryIO, *,
               tz: tzinfo | None = None, printed_at: datetime | None = None,
               paper: str = "letter") -> None:
    """Write the session summary PDF to a path or a binary file object.

    ``tz`` is the zone times are shown in (default: the workstation's); ``printed_at`` the
    printed-at stamp (default: now); ``paper`` "letter" or "a4" (the config's ``paper``).
    """
    register_fonts()
    page = PAPER[paper.lower()]
    margin_x = (page[0] - CONTENT_W) / 2
    clock = Clock(tz, summary.visit_date)
    printed_at = printed_at or datetime.now(UTC)
    target: str | BinaryIO = os.fspath(out) if isinstance(out, str | os.PathLike) else out
    doc = BaseDocTemplate(
        target, pagesize=page, leftMargin=margin_x, rightMargin=margin_x,
        topMargin=HEADER_H, bottomMargin=FOOTER_H,
        title=plain(f"Session summary - {summary.patient.name} - {summary.visit_date}"),
        author=plain(summary.clinic), subject="Ketamine infusion session summary",
        creator=f"NurseStation {__version__}",
    )
    frame = Frame(margin_x, FOOTER_H + 4, CONTENT_W, page[1] - HEADER_H - FOOTER_H - 4,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")
    doc.addPageTemplates([PageTemplate("page", [frame],
                                       onPage=_page_furniture(summary, clock, printed_at))])
    doc.build(story(summary, clock), canvasmaker=_Canvas)


def render_pdf_bytes(summary: VisitSummary, **kw) -> bytes:
    buf = io.BytesIO()
    render_pdf(summary, buf, **kw)
    return buf.getvalue()


__all__ = ["render_pdf", "render_pdf_bytes"]
