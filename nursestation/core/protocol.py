"""Treatment protocol files (``resources/protocols/*.toml``) as typed, validated objects.

The protocol is where every limit, schedule and criterion comes from. Parsing is strict: a bad
file is refused with a message naming the file, the key and what is wrong, never a traceback.
"""

from __future__ import annotations

import builtins
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nursestation.core.alarms import PRIORITY_NAMES as PRIORITIES
from nursestation.core.vocabulary import Code

#: The discharge gate's criteria, by the names it shows (core.discharge.evaluate_discharge).
DISCHARGE_CRITERIA = (
    "Observation after infusion", "Systolic BP stable", "Diastolic BP stable",
    "Heart rate stable", "SpO2 on room air", "Respiratory rate", "Recent blood pressure",
    "Sedation resolved", "Dissociation resolved", "Nausea controlled", "No active alarm",
    "Ride home confirmed",
)


class ProtocolError(Exception):
    def __init__(self, file: str, key: str | None, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


@dataclass(frozen=True)
class Dosing:
    dose_mg_per_kg: float
    duration_min: float
    bag_volume_ml: float
    soft_min_mg_per_kg: float
    soft_max_mg_per_kg: float
    hard_max_mg_per_kg: float
    soft_max_rate_mg_per_kg_h: float
    hard_max_rate_mg_per_kg_h: float
    max_weight_kg: float
    rate_change_reasons: tuple[str, ...]
    #: a charge nurse may override the hard dose and rate limits (default: no)
    hard_limits_overridable: bool = False
    #: stopping with less than this % of the planned dose delivered needs a reason
    stopped_short_below_pct: float = 90.0
    stopped_short_reasons: tuple[str, ...] = ("patient request", "adverse effect", "other")
    #: a BP within this many minutes is required before the infusion starts
    predose_bp_within_min: float = 15.0
    #: above these the start needs a charge nurse's override
    predose_sbp_max: float = 180.0
    predose_dbp_max: float = 110.0


#: Names of the screening items that are not protocol questions.
SCREENING_FIXED_ITEMS = ("last solid food", "last clear liquids", "last alcohol")


@dataclass(frozen=True)
class Screening:
    fasting_solids_h: float
    fasting_clear_liquids_h: float
    no_alcohol_h: float
    questions: tuple[str, ...]
    #: items (``SCREENING_FIXED_ITEMS`` or questions) that stop the infusion's start until met
    #: or overridden by a charge nurse
    blocking: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schedule:
    baseline_required: bool
    infusing_interval_min: float
    infusing_bp_at_min: tuple[float, ...]
    recovery_interval_min: float
    overdue_after_min: float


@dataclass(frozen=True)
class AlarmLimit:
    """One physiological limit. Exactly one of below / above / above_baseline / below_baseline."""

    code: str
    priority: str
    below: float | None = None
    above: float | None = None
    above_baseline: float | None = None
    below_baseline: float | None = None
    delay_s: float = 0.0
    clear_hysteresis: float = 0.0
    source: str = ""

    def describe(self) -> str:
        if self.below is not None:
            return f"{self.code} < {self.below:g}"
        if self.above is not None:
            return f"{self.code} > {self.above:g}"
        if self.above_baseline is not None:
            return f"{self.code} > baseline + {self.above_baseline:g}"
        return f"{self.code} < baseline - {self.below_baseline:g}"


@dataclass(frozen=True)
class TechnicalAlarms:
    device_offline: str
    sensor_off: str
    pump_alarm: str
    no_bp_within_schedule: str
    device_offline_delay_s: float
    sensor_off_delay_s: float
    pump_chart_mismatch: str = "medium"
    pump_chart_mismatch_delay_s: float = 60.0
    pump_over_delivery_ml: float = 2.0


@dataclass(frozen=True)
class AlarmConfig:
    audio_pause_s: float
    escalate_after_s: float
    latch_high: bool
    limits: tuple[AlarmLimit, ...]
    technical: TechnicalAlarms


#: What an as-needed drug is given for, in the order the MAR lists them.
PURPOSES = ("antiemetic", "calming", "antihypertensive")


@dataclass(frozen=True)
class FormularyDrug:
    name: str
    usual_dose_mg: float
    unit: str
    routes: tuple[str, ...]
    max_per_dose_mg: float
    max_per_visit_mg: float
    min_interval_min: float
    allergy_terms: tuple[str, ...]
    note: str = ""
    purpose: str = "antiemetic"
    #: a planned dose above max_per_dose_mg is refused outright (no override)
    max_per_dose_hard: bool = True
    #: the MAR reminds the nurse to chart the response this long after the dose (0: no reminder)
    response_due_min: float = 0.0
    #: a sedative prompts a sedation check ``sedation_check_after_min`` after the dose
    sedative: bool = False
    sedation_check_after_min: float = 0.0
    source: str = ""


@dataclass(frozen=True)
class PlausibleRange:
    """What an entered value may be: outside refuse_* it is refused, outside confirm_* it needs
    the nurse's confirmation. ``code`` is a vital-sign code or ``WEIGHT``."""

    code: str
    refuse_below: float
    refuse_above: float
    confirm_below: float | None
    confirm_above: float | None
    source: str


@dataclass(frozen=True)
class Plausibility:
    ranges: tuple[PlausibleRange, ...]
    max_future_min: float
    max_past_h: float

    def range_for(self, code: str) -> PlausibleRange | None:
        return next((r for r in self.ranges if r.code == code), None)


@dataclass(frozen=True)
class Assessments:
    cadss6_items: tuple[str, ...]
    cadss6_item_max: int
    moaas_min: int
    moaas_max: int
    nausea_levels: tuple[str, ...]


@dataclass(frozen=True)
class DischargeCriteria:
    min_observation_min: float
    stability_window_min: float
    max_deviation_pct: float
    sbp_max: float
    dbp_max: float
    hr_min: float
    hr_max: float
    spo2_min: float
    rr_min: float
    rr_max: float
    bp_within_min: float
    moaas_required: int
    cadss6_resolved_max: int
    nausea_max: str
    blocking_alarm_priorities: tuple[str, ...]
    aldrete_min: int
    ride_required: bool
    car_service_allowed: bool
    instructions: tuple[str, ...]
    #: unmet criteria (by name) a charge nurse may override; the others never
    charge_may_override: tuple[str, ...] = ()


@dataclass(frozen=True)
class TreatmentProtocol:
    id: str
    name: str
    version: str
    drug: str
    course_length: int
    dosing: Dosing
    screening: Screening
    schedule: Schedule
    alarms: AlarmConfig
    formulary: tuple[FormularyDrug, ...]
    assessments: Assessments
    discharge: DischargeCriteria
    plausibility: Plausibility = field(default_factory=lambda: Plausibility((), 5.0, 24.0))
    source_file: str = ""
    sha256: str = field(default="", compare=False)

    def drug_named(self, name: str) -> FormularyDrug | None:
        for d in self.formulary:
            if d.name.lower() == name.lower():
                return d
        return None


# ---------------------------------------------------------------------------------------------


class _Section:
    """Typed access to one TOML table that names the exact key on every error."""

    def __init__(self, data: Any, path: str, file: str) -> None:
        if not isinstance(data, dict):
            raise ProtocolError(file, path, "must be a table")
        self.data, self.path, self.file = data, path, file
        self._used: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, default: Any) -> Any:
        self._used.add(key)
        if key not in self.data:
            if default is _REQUIRED:
                raise ProtocolError(self.file, self._key(key), "missing")
            return default
        return self.data[key]

    def error(self, key: str, problem: str) -> ProtocolError:
        return ProtocolError(self.file, self._key(key), problem)

    def num(self, key: str, default: Any = None, *, lo: float | None = None,
            hi: float | None = None) -> float:
        v = self._get(key, _REQUIRED if default is None else default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(key, f"must be a number, not {v!r}")
        if lo is not None and v < lo:
            raise self.error(key, f"must be at least {lo:g}, not {v:g}")
        if hi is not None and v > hi:
            raise self.error(key, f"must be at most {hi:g}, not {v:g}")
        return float(v)

    def opt_num(self, key: str) -> float | None:
        if key not in self.data:
            self._used.add(key)
            return None
        return self.num(key)

    def int(self, key: str, default: Any = None, *, lo: int | None = None,
            hi: int | None = None) -> int:
        v = self.num(key, default, lo=lo, hi=hi)
        if v != int(v):
            raise self.error(key, f"must be a whole number, not {v:g}")
        return int(v)

    def text(self, key: str, default: Any = None, *, choices: tuple[str, ...] | None = None) -> str:
        v = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(v, str) or not v.strip():
            raise self.error(key, f"must be non-empty text, not {v!r}")
        if choices and v not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, not {v!r}")
        return v

    def flag(self, key: str, default: Any = None) -> bool:
        v = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(v, bool):
            raise self.error(key, f"must be true or false, not {v!r}")
        return v

    def texts(self, key: str, default: Any = None, *, choices: tuple[str, ...] | None = None,
              min_len: builtins.int = 0) -> tuple[str, ...]:
        v = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            raise self.error(key, "must be a list of non-empty texts")
        if len(v) < min_len:
            raise self.error(key, f"must have at least {min_len} entries")
        for x in v:
            if choices and x not in choices:
                raise self.error(key, f"{x!r} is not one of {', '.join(choices)}")
        return tuple(v)

    def nums(self, key: str, default: Any = None) -> tuple[float, ...]:
        v = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(v, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in v
        ):
            raise self.error(key, "must be a list of numbers")
        return tuple(float(x) for x in v)

    def sub(self, key: str) -> _Section:
        return _Section(self._get(key, _REQUIRED), self._key(key), self.file)

    def items(self, key: str) -> list[_Section]:
        v = self._get(key, _REQUIRED)
        if not isinstance(v, list) or not v:
            raise self.error(key, "must be a non-empty array of tables")
        return [_Section(x, f"{self._key(key)}[{i}]", self.file) for i, x in enumerate(v, 1)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._used)
        if unknown:
            raise self.error(unknown[0], "unknown key (misspelt?)")


_REQUIRED = object()


def parse_protocol(text: str, file: str = "<protocol>") -> TreatmentProtocol:
    """Parse and validate a protocol file's text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(file, None, f"not valid TOML ({exc})") from None
    top = _Section(raw, "", file)

    p = top.sub("protocol")
    ident, name, version, drug = p.text("id"), p.text("name"), p.text("version"), p.text("drug")
    course_length = p.int("course_length", lo=1, hi=50)
    p.done()

    d = top.sub("dosing")
    dosing = Dosing(
        dose_mg_per_kg=d.num("dose_mg_per_kg", lo=0.01, hi=5),
        duration_min=d.num("duration_min", lo=1, hi=600),
        bag_volume_ml=d.num("bag_volume_ml", lo=1, hi=1000),
        soft_min_mg_per_kg=d.num("soft_min_mg_per_kg", lo=0),
        soft_max_mg_per_kg=d.num("soft_max_mg_per_kg", lo=0.01),
        hard_max_mg_per_kg=d.num("hard_max_mg_per_kg", lo=0.01),
        soft_max_rate_mg_per_kg_h=d.num("soft_max_rate_mg_per_kg_h", lo=0.01),
        hard_max_rate_mg_per_kg_h=d.num("hard_max_rate_mg_per_kg_h", lo=0.01),
        max_weight_kg=d.num("max_weight_kg", lo=20, hi=400),
        rate_change_reasons=d.texts("rate_change_reasons", min_len=1),
        hard_limits_overridable=d.flag("hard_limits_overridable", False),
        stopped_short_below_pct=d.num("stopped_short_below_pct", 90.0, lo=0, hi=100),
        stopped_short_reasons=d.texts("stopped_short_reasons",
                                      default=["patient request", "adverse effect", "other"],
                                      min_len=1),
        predose_bp_within_min=d.num("predose_bp_within_min", 15.0, lo=1, hi=240),
        predose_sbp_max=d.num("predose_sbp_max", 180.0, lo=80, hi=300),
        predose_dbp_max=d.num("predose_dbp_max", 110.0, lo=40, hi=200),
    )
    if not dosing.soft_min_mg_per_kg <= dosing.dose_mg_per_kg <= dosing.soft_max_mg_per_kg:
        raise d.error("dose_mg_per_kg", "must lie between soft_min_mg_per_kg and soft_max_mg_per_kg")
    if dosing.soft_max_mg_per_kg > dosing.hard_max_mg_per_kg:
        raise d.error("soft_max_mg_per_kg", "must not exceed hard_max_mg_per_kg")
    if dosing.soft_max_rate_mg_per_kg_h > dosing.hard_max_rate_mg_per_kg_h:
        raise d.error("soft_max_rate_mg_per_kg_h", "must not exceed hard_max_rate_mg_per_kg_h")
    d.done()

    s = top.sub("screening")
    screening = Screening(
        fasting_solids_h=s.num("fasting_solids_h", lo=0, hi=24),
        fasting_clear_liquids_h=s.num("fasting_clear_liquids_h", lo=0, hi=24),
        no_alcohol_h=s.num("no_alcohol_h", lo=0, hi=168),
        questions=s.texts("questions", default=[]),
        blocking=s.texts("blocking", default=[]),
    )
    for item in screening.blocking:
        if item not in SCREENING_FIXED_ITEMS and item not in screening.questions:
            raise s.error("blocking", f"{item!r} is neither a question nor one of "
                          f"{', '.join(SCREENING_FIXED_ITEMS)}")
    s.done()

    sc = top.sub("schedule")
    schedule = Schedule(
        baseline_required=sc.flag("baseline_required"),
        infusing_interval_min=sc.num("infusing_interval_min", lo=1, hi=120),
        infusing_bp_at_min=sc.nums("infusing_bp_at_min", default=[]),
        recovery_interval_min=sc.num("recovery_interval_min", lo=1, hi=240),
        overdue_after_min=sc.num("overdue_after_min", lo=0, hi=60),
    )
    sc.done()

    a = top.sub("alarms")
    limits = []
    for li in a.items("limit"):
        code = li.text("code")
        if code not in Code.__members__:
            raise li.error("code", f"unknown vital-sign code {code!r}")
        kinds = [k for k in ("below", "above", "above_baseline", "below_baseline") if k in li.data]
        if len(kinds) != 1:
            raise ProtocolError(file, li.path, "needs exactly one of below, above, "
                                "above_baseline, below_baseline")
        limit = AlarmLimit(
            code=code,
            priority=li.text("priority", choices=PRIORITIES),
            below=li.opt_num("below"),
            above=li.opt_num("above"),
            above_baseline=li.opt_num("above_baseline"),
            below_baseline=li.opt_num("below_baseline"),
            delay_s=li.num("delay_s", 0.0, lo=0, hi=600),
            clear_hysteresis=li.num("clear_hysteresis", 0.0, lo=0),
            source=li.text("source"),
        )
        li.done()
        limits.append(limit)
    t = a.sub("technical")
    technical = TechnicalAlarms(
        device_offline=t.text("device_offline", choices=PRIORITIES),
        sensor_off=t.text("sensor_off", choices=PRIORITIES),
        pump_alarm=t.text("pump_alarm", choices=PRIORITIES),
        no_bp_within_schedule=t.text("no_bp_within_schedule", choices=PRIORITIES),
        device_offline_delay_s=t.num("device_offline_delay_s", 0.0, lo=0, hi=600),
        sensor_off_delay_s=t.num("sensor_off_delay_s", 0.0, lo=0, hi=600),
        pump_chart_mismatch=t.text("pump_chart_mismatch", "medium", choices=PRIORITIES),
        pump_chart_mismatch_delay_s=t.num("pump_chart_mismatch_delay_s", 60.0, lo=0, hi=900),
        pump_over_delivery_ml=t.num("pump_over_delivery_ml", 2.0, lo=0, hi=100),
    )
    t.done()
    alarms = AlarmConfig(
        audio_pause_s=a.num("audio_pause_s", lo=10, hi=900),
        escalate_after_s=a.num("escalate_after_s", lo=10, hi=3600),
        latch_high=a.flag("latch_high"),
        limits=tuple(limits),
        technical=technical,
    )
    a.done()

    fo = top.sub("formulary")
    formulary: list[FormularyDrug] = []
    for di in fo.items("drug"):
        note = di.data.get("note", "")
        di._used.add("note")
        if not isinstance(note, str):
            raise di.error("note", f"must be text, not {note!r}")
        sedative = di.flag("sedative", False)
        drug_entry = FormularyDrug(
            name=di.text("name"),
            usual_dose_mg=di.num("usual_dose_mg", lo=0),
            unit=di.text("unit", "mg"),
            routes=di.texts("routes", min_len=1),
            max_per_dose_mg=di.num("max_per_dose_mg", lo=0),
            max_per_visit_mg=di.num("max_per_visit_mg", lo=0),
            min_interval_min=di.num("min_interval_min", lo=0),
            allergy_terms=di.texts("allergy_terms", default=[]),
            note=note,
            purpose=di.text("purpose", choices=PURPOSES),
            max_per_dose_hard=di.flag("max_per_dose_hard", True),
            response_due_min=di.num("response_due_min", 0.0, lo=0, hi=240),
            sedative=sedative,
            sedation_check_after_min=di.num("sedation_check_after_min",
                                            15.0 if sedative else 0.0, lo=0, hi=240),
            source=di.text("source"),
        )
        if drug_entry.usual_dose_mg > drug_entry.max_per_dose_mg:
            raise di.error("usual_dose_mg", "must not exceed max_per_dose_mg")
        if drug_entry.max_per_dose_mg > drug_entry.max_per_visit_mg:
            raise di.error("max_per_dose_mg", "must not exceed max_per_visit_mg")
        if any(f.name.lower() == drug_entry.name.lower() for f in formulary):
            raise di.error("name", f"{drug_entry.name!r} is listed twice")
        di.done()
        formulary.append(drug_entry)
    fo.done()

    asm = top.sub("assessments")
    assessments = Assessments(
        cadss6_items=asm.texts("cadss6_items", min_len=6),
        cadss6_item_max=asm.int("cadss6_item_max", lo=1, hi=10),
        moaas_min=asm.int("moaas_min", lo=0, hi=0),
        moaas_max=asm.int("moaas_max", lo=5, hi=5),
        nausea_levels=asm.texts("nausea_levels", min_len=2),
    )
    if len(assessments.cadss6_items) != 6:
        raise asm.error("cadss6_items", f"must have 6 items, not {len(assessments.cadss6_items)}")
    asm.done()

    dc = top.sub("discharge")
    discharge = DischargeCriteria(
        min_observation_min=dc.num("min_observation_min", lo=0, hi=600),
        stability_window_min=dc.num("stability_window_min", lo=1, hi=120),
        max_deviation_pct=dc.num("max_deviation_pct", lo=1, hi=100),
        sbp_max=dc.num("sbp_max", lo=80, hi=250),
        dbp_max=dc.num("dbp_max", lo=40, hi=150),
        hr_min=dc.num("hr_min", lo=20, hi=100),
        hr_max=dc.num("hr_max", lo=60, hi=200),
        spo2_min=dc.num("spo2_min", lo=70, hi=100),
        rr_min=dc.num("rr_min", lo=4, hi=20),
        rr_max=dc.num("rr_max", lo=10, hi=60),
        bp_within_min=dc.num("bp_within_min", lo=1, hi=120),
        moaas_required=dc.int("moaas_required", lo=0, hi=5),
        cadss6_resolved_max=dc.int("cadss6_resolved_max", lo=0,
                                   hi=6 * assessments.cadss6_item_max),
        nausea_max=dc.text("nausea_max", choices=assessments.nausea_levels),
        blocking_alarm_priorities=dc.texts("blocking_alarm_priorities", choices=PRIORITIES),
        aldrete_min=dc.int("aldrete_min", lo=0, hi=10),
        ride_required=dc.flag("ride_required"),
        car_service_allowed=dc.flag("car_service_allowed"),
        instructions=dc.texts("instructions", min_len=1),
        charge_may_override=dc.texts("charge_may_override", default=[]),
    )
    for criterion in discharge.charge_may_override:
        if criterion not in DISCHARGE_CRITERIA:
            raise dc.error("charge_may_override",
                           f"{criterion!r} is not a discharge criterion "
                           f"({', '.join(DISCHARGE_CRITERIA)})")
    dc.done()

    pl = top.sub("plausibility")
    ranges: list[PlausibleRange] = []
    for ri in pl.items("range"):
        code = ri.text("code")
        if code != "WEIGHT" and code not in Code.__members__:
            raise ri.error("code", f"unknown vital-sign code {code!r}")
        rng = PlausibleRange(
            code=code,
            refuse_below=ri.num("refuse_below"),
            refuse_above=ri.num("refuse_above"),
            confirm_below=ri.opt_num("confirm_below"),
            confirm_above=ri.opt_num("confirm_above"),
            source=ri.text("source"),
        )
        lo = rng.refuse_below if rng.confirm_below is None else rng.confirm_below
        hi = rng.refuse_above if rng.confirm_above is None else rng.confirm_above
        if not rng.refuse_below <= lo < hi <= rng.refuse_above:
            raise ProtocolError(file, ri.path, "needs refuse_below <= confirm_below < "
                                "confirm_above <= refuse_above")
        if any(r.code == code for r in ranges):
            raise ri.error("code", f"{code} has two ranges")
        ri.done()
        ranges.append(rng)
    plausibility = Plausibility(
        ranges=tuple(ranges),
        max_future_min=pl.num("max_future_min", lo=0, hi=60),
        max_past_h=pl.num("max_past_h", lo=1, hi=24 * 14),
    )
    pl.done()
    top.done()

    return TreatmentProtocol(
        id=ident, name=name, version=version, drug=drug, course_length=course_length,
        dosing=dosing, screening=screening, schedule=schedule, alarms=alarms,
        formulary=tuple(formulary), assessments=assessments, discharge=discharge,
        plausibility=plausibility, source_file=file, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_protocol(path: str | Path) -> TreatmentProtocol:
    """Read and parse a protocol file (the one I/O step; parsing itself is pure)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolError(str(path), None, f"cannot be read ({exc.strerror})") from None
    return parse_protocol(text, str(path))
