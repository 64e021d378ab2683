"""The vitals chart of a visit as vector graphics (reportlab.graphics).

Three stacked panels share one time axis: HR with NBP (systolic and diastolic marks joined by a
line, as on a paper anaesthesia record), SpO2, and RR. Above them an event band has one lane
each for dose changes, medications, assessments and alarms. The infusion period is shaded.

Continuous numerics are reduced to one value per bin (HR and RR: mean; SpO2: the lowest, so a
desaturation is never averaged away); the legend names the bin width. Empty bins break the line,
so a gap in monitoring shows as a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from nursestation.report import fonts
from nursestation.report.model import VisitSummary

FONT = fonts.FONT
GRID = colors.HexColor("#d9dee4")
AXIS = colors.HexColor("#5a5a5a")
INFUSING = colors.HexColor("#e3eefa")
HR_C = colors.HexColor("#c0392b")
BP_C = colors.HexColor("#1f4e79")
SPO2_C = colors.HexColor("#127a74")
RR_C = colors.HexColor("#6b4c9a")
DOSE_C = colors.HexColor("#1f4e79")
MED_C = colors.HexColor("#2e7d32")
ASSESS_C = colors.HexColor("#6b4c9a")
ALARM_HIGH = colors.HexColor("#c62828")
ALARM_MED = colors.HexColor("#e08a00")


class _Clock(Protocol):
    def local(self, dt: datetime) -> datetime: ...
    def hm(self, dt: datetime | None) -> str: ...


def _series(summary: VisitSummary, t0: datetime) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """code -> (seconds since t0, values), sorted by time."""
    buckets: dict[str, tuple[list[float], list[float]]] = {}
    for v in summary.vitals:
        ts, vs = buckets.setdefault(v.code, ([], []))
        ts.append((v.at - t0).total_seconds())
        vs.append(v.value)
    out = {}
    for code, (ts, vs) in buckets.items():
        t = np.asarray(ts, dtype=float)
        y = np.asarray(vs, dtype=float)
        order = np.argsort(t, kind="stable")
        out[code] = (t[order], y[order])
    return out


def _binned(t: np.ndarray, y: np.ndarray, bin_s: float, how: str) -> tuple[np.ndarray, np.ndarray]:
    """One value per non-empty bin at the bin centre; NaN rows mark empty bins (gaps)."""
    ok = np.isfinite(y)
    t, y = t[ok], y[ok]
    if t.size == 0:
        return t, y
    idx = np.floor(t / bin_s).astype(np.int64)
    lo = idx.min()
    idx -= lo
    n = int(idx.max()) + 1
    counts = np.bincount(idx, minlength=n)
    if how == "min":
        vals = np.full(n, np.inf)
        np.minimum.at(vals, idx, y)
    else:
        vals = np.bincount(idx, weights=y, minlength=n) / np.maximum(counts, 1)
    centres = (np.arange(n) + lo + 0.5) * bin_s
    vals = np.where(counts > 0, vals, np.nan)
    return centres, vals


def _polylines(xs: np.ndarray, ys: np.ndarray) -> list[list[float]]:
    """Point lists for PolyLine, split wherever a value is NaN."""
    runs: list[list[float]] = []
    cur: list[float] = []
    for xv, yv in zip(xs.tolist(), ys.tolist(), strict=True):
        if yv != yv:  # NaN
            if len(cur) >= 4:
                runs.append(cur)
            cur = []
        else:
            cur += [xv, yv]
    if len(cur) >= 4:
        runs.append(cur)
    elif len(cur) == 2:  # a lone point: a short tick so it still shows
        runs.append([cur[0] - 0.8, cur[1], cur[0] + 0.8, cur[1]])
    return runs


def _nice_range(values: Sequence[np.ndarray], lo: float, hi: float, step: float
                ) -> tuple[float, float]:
    """Start from the usual clinical range; widen to whole steps if the data leave it."""
    for v in values:
        if v.size:
            f = v[np.isfinite(v)]
            if f.size:
                lo = min(lo, np.floor(f.min() / step) * step)
                hi = max(hi, np.ceil(f.max() / step) * step)
    return lo, hi


def _time_range(summary: VisitSummary, clock: _Clock) -> tuple[datetime, datetime]:
    times = [v.at for v in summary.vitals]
    for t in (summary.checkin_at, summary.discharge_at, summary.dose.infusion_start,
              summary.dose.infusion_end):
        if t is not None:
            times.append(t)
    times += [e.at for e in summary.dose_timeline]
    if not times:
        now = datetime.now().astimezone()
        return now, now + timedelta(hours=1)
    start, end = min(times), max(times)
    # round outward to 5 minutes of local time
    ls = clock.local(start)
    start -= timedelta(minutes=ls.minute % 5, seconds=ls.second, microseconds=ls.microsecond)
    le = clock.local(end)
    pad = (5 - le.minute % 5) % 5
    end += timedelta(minutes=pad, seconds=-le.second, microseconds=-le.microsecond)
    if end <= start:
        end = start + timedelta(minutes=30)
    return start, end


def vitals_chart(summary: VisitSummary, clock: _Clock, width: float) -> Drawing:
    fonts.register_fonts()
    t0, t1 = _time_range(summary, clock)
    span = (t1 - t0).total_seconds()
    series = _series(summary, t0)
    bin_s = max(10.0, round(span / 360 / 10) * 10)

    left, right = 58.0, 6.0
    pw = width - left - right
    lane_h, n_lanes = 9.0, 4
    h_hr, h_spo2, h_rr = 104.0, 46.0, 40.0
    gap = 9.0
    axis_h, legend_h = 14.0, 12.0
    events_h = lane_h * n_lanes
    height = legend_h + axis_h + h_rr + gap + h_spo2 + gap + h_hr + gap + events_h + 2
    d = Drawing(width, height, initialFontName=FONT)  # no base-14 font in the PDF

    def X(sec: float | np.ndarray):
        return left + np.asarray(sec) / span * pw if isinstance(sec, np.ndarray) else \
            left + sec / span * pw

    def tx(dt: datetime) -> float:
        return X((dt - t0).total_seconds())

    y_rr = legend_h + axis_h
    y_spo2 = y_rr + h_rr + gap
    y_hr = y_spo2 + h_spo2 + gap
    y_ev = y_hr + h_hr + gap
    plot_bottom, plot_top = y_rr, y_hr + h_hr

    # infusion shading (under everything)
    dose = summary.dose
    if dose.infusion_start is not None:
        a = tx(dose.infusion_start)
        b = tx(dose.infusion_end) if dose.infusion_end else left + pw
        for y0, hh in ((y_rr, h_rr), (y_spo2, h_spo2), (y_hr, h_hr)):
            d.add(Rect(a, y0, max(b - a, 0.5), hh, fillColor=INFUSING, strokeColor=None))

    # time grid and axis
    tick_min = 15 if span <= 5 * 3600 else 30
    first = clock.local(t0)
    m0 = (tick_min - first.minute % tick_min) % tick_min
    tick = t0 + timedelta(minutes=m0, seconds=-first.second)
    while tick <= t1:
        xx = tx(tick)
        d.add(Line(xx, plot_bottom, xx, plot_top, strokeColor=GRID, strokeWidth=0.4))
        d.add(Line(xx, plot_bottom - 2.5, xx, plot_bottom, strokeColor=AXIS, strokeWidth=0.5))
        d.add(String(xx, plot_bottom - 10, clock.local(tick).strftime("%H:%M"), fontName=FONT,
                     fontSize=6.5, fillColor=AXIS, textAnchor="middle"))
        tick += timedelta(minutes=tick_min)

    def panel(y0: float, h: float, lo: float, hi: float, step: float, label: str,
              unit: str) -> callable:
        def Y(v):
            return y0 + (np.asarray(v) - lo) / (hi - lo) * h
        v = lo
        while v <= hi + 1e-9:
            yy = float(Y(v))
            d.add(Line(left, yy, left + pw, yy, strokeColor=GRID, strokeWidth=0.4))
            d.add(String(left - 3, yy - 2.2, f"{v:g}", fontName=FONT, fontSize=6,
                         fillColor=AXIS, textAnchor="end"))
            v += step
        d.add(Rect(left, y0, pw, h, fillColor=None, strokeColor=AXIS, strokeWidth=0.6))
        d.add(String(2, y0 + h / 2 + 1, label, fontName=fonts.FONT_BOLD, fontSize=6.8,
                     fillColor=colors.black))
        d.add(String(2, y0 + h / 2 - 7, unit, fontName=FONT, fontSize=6, fillColor=AXIS))
        return Y

    def line(code: str, how: str, Y, color, width_: float = 0.9) -> None:
        if code not in series:
            return
        t, y = series[code]
        bx, by = _binned(t, y, bin_s, how)
        if bx.size == 0:
            return
        px = X(bx)
        py = np.where(np.isnan(by), np.nan, Y(np.nan_to_num(by)))
        for pts in _polylines(px, py):
            d.add(PolyLine(pts, strokeColor=color, strokeWidth=width_, strokeLineJoin=1))

    # HR + NBP panel
    hr_vals = [series[c][1] for c in ("HR", "NBP_SYS", "NBP_DIA") if c in series]
    lo, hi = _nice_range(hr_vals, 40, 180, 20)
    Yh = panel(y_hr, h_hr, lo, hi, 20, "HR / NBP", "bpm, mmHg")
    line("HR", "mean", Yh, HR_C)
    if "NBP_SYS" in series and "NBP_DIA" in series:
        dia_by_t = dict(zip(series["NBP_DIA"][0].tolist(), series["NBP_DIA"][1].tolist(),
                            strict=True))
        for ts, sv in zip(*(a.tolist() for a in series["NBP_SYS"]), strict=True):
            xx = float(X(ts))
            ys = float(Yh(sv))
            dv = dia_by_t.get(ts)
            if dv is not None:
                yd = float(Yh(dv))
                d.add(Line(xx, yd, xx, ys, strokeColor=BP_C, strokeWidth=0.6))
                d.add(Polygon([xx - 2.4, yd - 3.2, xx + 2.4, yd - 3.2, xx, yd],
                              fillColor=BP_C, strokeColor=None))
            d.add(Polygon([xx - 2.4, ys + 3.2, xx + 2.4, ys + 3.2, xx, ys],
                          fillColor=BP_C, strokeColor=None))

    lo, hi = _nice_range([series["SPO2"][1]] if "SPO2" in series else [], 85, 100, 5)
    Ys = panel(y_spo2, h_spo2, lo, hi, 5, "SpO2", "%")
    line("SPO2", "min", Ys, SPO2_C)

    lo, hi = _nice_range([series["RR"][1]] if "RR" in series else [], 0, 30, 10)
    Yr = panel(y_rr, h_rr, lo, hi, 10, "RR", "/min")
    line("RR", "mean", Yr, RR_C)

    # event band: one lane per kind, labels skipped where they would overlap
    lanes = ("Dose", "Meds", "Assess.", "Alarms")
    d.add(Rect(left, y_ev, pw, events_h, fillColor=colors.HexColor("#fafbfc"),
               strokeColor=AXIS, strokeWidth=0.6))
    lane_y = {name: y_ev + events_h - (i + 1) * lane_h for i, name in enumerate(lanes)}
    for i, name in enumerate(lanes):
        yy = lane_y[name]
        if i:
            d.add(Line(left, yy + lane_h, left + pw, yy + lane_h, strokeColor=GRID,
                       strokeWidth=0.4))
        d.add(String(left - 3, yy + 2.3, name, fontName=FONT, fontSize=6, fillColor=AXIS,
                     textAnchor="end"))

    # Collect markers, then label each only where the label fits before the next marker.
    marks: dict[str, list[tuple[float, str, object, tuple[str, ...], bool]]] = {
        name: [] for name in lanes}

    def add(lane: str, at: datetime, shape: str, color, labels: tuple[str, ...],
            guide: bool = False) -> None:
        xx = tx(at)
        if left - 0.1 <= xx <= left + pw + 0.1:
            marks[lane].append((xx, shape, color, labels, guide))

    for e in summary.dose_timeline:
        if e.voided:
            continue
        rate = f"{e.rate_ml_h:g}" if e.rate_ml_h is not None else ""
        if e.event == "start":
            labels = (f"start {rate} mL/h", f"start {rate}", rate)
        elif e.event == "rate_change":
            labels = (f"{rate} mL/h", rate)
        elif e.event == "resume":
            labels = (f"resume {rate} mL/h", f"resume {rate}", rate)
        else:
            labels = (e.event, e.event[:1].upper())
        add("Dose", e.at, "tri", DOSE_C, labels, guide=True)
    for m in summary.mar:
        if not m.voided:
            add("Meds", m.given_at, "diamond", MED_C,
                (f"{m.drug} {m.dose:g} {m.unit} {m.route}", f"{m.drug} {m.dose:g} {m.unit}",
                 m.drug[:5]))
            if m.response and m.response_at is not None:  # its effect, charted (a square)
                add("Meds", m.response_at, "square", MED_C,
                    (f"{m.drug}: {m.response}", m.response[:14], ""))
    # assessments at the same minute share one marker
    by_minute: dict[datetime, list] = {}
    for a in summary.assessments:
        if not a.voided:
            by_minute.setdefault(a.at.replace(second=0, microsecond=0), []).append(a)
    for at, group in sorted(by_minute.items()):
        def score(a) -> str:
            if a.score is None:
                return "?"
            return a.score if isinstance(a.score, str) else f"{a.score:g}"
        full = ", ".join(f"{a.scale} {score(a)}" for a in group)
        short = " ".join(f"{a.scale[:1]}{score(a)[:3]}" for a in group)
        add("Assess.", at, "square", ASSESS_C,
            (full, short, f"{group[0].scale[:1]}{score(group[0])[:3]}"))
    for al in summary.alarms.markers:
        add("Alarms", al.at, "flag", ALARM_HIGH if al.priority == "high" else ALARM_MED,
            (f"{al.priority}: {al.code.replace('SPO2', 'SpO2').replace('NBP_', 'NBP ')}",
             al.code.replace("SPO2", "SpO2").replace("NBP_", "")))

    r = 2.6
    fs = 5.4
    for lane, items in marks.items():
        items.sort(key=lambda m: m[0])
        yc = lane_y[lane] + lane_h / 2
        used_until = left  # rightmost x taken by a marker or label so far
        for i, (xx, shape, color, labels, guide) in enumerate(items):
            if shape == "tri":
                pts = [xx - r, yc + r, xx + r, yc + r, xx, yc - r]
            elif shape == "diamond":
                pts = [xx, yc + r, xx + r, yc, xx, yc - r, xx - r, yc]
            elif shape == "flag":
                pts = [xx - r, yc - r, xx + r, yc - r, xx, yc + r]
            else:
                q = r * 0.8
                pts = [xx - q, yc - q, xx + q, yc - q, xx + q, yc + q, xx - q, yc + q]
            d.add(Polygon(pts, fillColor=color, strokeColor=colors.white, strokeWidth=0.3))
            if guide:
                d.add(Line(xx, plot_bottom, xx, y_hr + h_hr, strokeColor=color,
                           strokeWidth=0.35, strokeDashArray=[1.5, 1.5]))
            right_limit = items[i + 1][0] - r - 0.8 if i + 1 < len(items) else left + pw - 1
            left_limit = used_until + 1.5
            placed = None
            for label in labels:  # longest first: to the right, else to the left
                lw = stringWidth(label, FONT, fs)
                if xx + r + 1 + lw <= right_limit:
                    placed = (xx + r + 1, label, lw)
                    break
                if xx - r - 1 - lw >= left_limit:
                    placed = (xx - r - 1 - lw, label, lw)
                    break
            used_until = max(used_until, xx + r)
            if placed:
                lx0, label, lw = placed
                d.add(String(lx0, yc - 1.9, label, fontName=FONT, fontSize=fs,
                             fillColor=colors.black))
                used_until = max(used_until, lx0 + lw)

    # legend
    ly = 2.0
    items = [
        ("line", HR_C, "HR (mean per %gs)" % bin_s),
        ("bp", BP_C, "NBP systolic / diastolic"),
        ("line", SPO2_C, "SpO2 (lowest per %gs)" % bin_s),
        ("line", RR_C, "RR (mean per %gs)" % bin_s),
        ("box", INFUSING, "ketamine infusing"),
    ]
    lx = left
    for kind, color, text in items:
        if kind == "line":
            d.add(Line(lx, ly + 3, lx + 12, ly + 3, strokeColor=color, strokeWidth=1.2))
        elif kind == "bp":
            d.add(Polygon([lx + 3, ly + 6, lx + 7.8, ly + 6, lx + 5.4, ly + 2.8],
                          fillColor=color, strokeColor=None))
            d.add(Polygon([lx + 7, ly + 0.2, lx + 11.8, ly + 0.2, lx + 9.4, ly + 3.4],
                          fillColor=color, strokeColor=None))
        else:
            d.add(Rect(lx, ly, 12, 6, fillColor=color, strokeColor=AXIS, strokeWidth=0.3))
        d.add(String(lx + 15, ly + 1, text, fontName=FONT, fontSize=6.2, fillColor=AXIS))
        lx += 15 + stringWidth(text, FONT, 6.2) + 12
    return d
