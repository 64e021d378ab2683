"""The discharge gate and the Modified Aldrete score. Pure: the visit's data and ``now`` in,
met/unmet criteria with the values that decided them out.

Criteria, each from the protocol's ``[discharge]`` table (key named on every criterion):

1. observation: at least ``min_observation_min`` since the infusion ended;
2. vitals stable over the last ``stability_window_min``, using *every* usable sample in the
   window: SBP, DBP and HR within ``max_deviation_pct`` of baseline and within the absolute limits
   (SBP ≤ ``sbp_max``, DBP ≤ ``dbp_max``, HR ``hr_min``–``hr_max``); SpO2 ≥ ``spo2_min`` on room
   air; RR ``rr_min``–``rr_max``. An empty window is unmet ("no measurement since …");
3. a BP within the last ``bp_within_min``;
4. sedation resolved: the latest MOAA/S taken after the infusion ended ≥ ``moaas_required``;
5. dissociation resolved: the latest CADSS-6 after the infusion ended ≤ ``cadss6_resolved_max``
   or ≤ the patient's pre-infusion score;
6. nausea: the latest level after the infusion ended no worse than ``nausea_max``;
7. no active alarm of a ``blocking_alarm_priorities`` priority;
8. ride confirmed (when ``ride_required``).

No criterion reads stale data: assessments must postdate the infusion end, vitals must lie in
their window, and anything missing is unmet, naming the time since when it is missing. Exactly at
a limit is within it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from nursestation.core.checks import PhaseTimes
from nursestation.core.dosing import Decision, Finding, Severity
from nursestation.core.protocol import DischargeCriteria
from nursestation.core.ride import RideStatus

DEFAULT_NAUSEA_LEVELS = ("none", "mild", "moderate", "severe")


@dataclass(frozen=True)
class VitalSample:
    code: str  # canonical vocabulary: NBP_SYS, NBP_DIA, HR, PR, SPO2, RR ...
    value: float
    at: datetime
    usable: bool = True  # False when the reading's quality makes it unusable for rules


@dataclass(frozen=True)
class BaselineVitals:
    sbp: float | None = None
    dbp: float | None = None
    hr: float | None = None
    spo2: float | None = None
    rr: float | None = None


@dataclass(frozen=True)
class ScoreEntry:
    """An assessment score (MOAA/S 0–5, CADSS-6 total) and when it was taken."""

    value: int
    at: datetime


@dataclass(frozen=True)
class NauseaEntry:
    level: str
    at: datetime


@dataclass(frozen=True)
class ActiveAlarm:
    priority: str  # high / medium / low
    description: str


@dataclass(frozen=True)
class DischargeInputs:
    phase_times: PhaseTimes
    baseline: BaselineVitals | None
    vitals: tuple[VitalSample, ...] = ()
    moaas: tuple[ScoreEntry, ...] = ()
    cadss6: tuple[ScoreEntry, ...] = ()  # including the pre-infusion (baseline) one
    nausea: tuple[NauseaEntry, ...] = ()
    alarms: tuple[ActiveAlarm, ...] = ()  # active now
    ride: RideStatus | None = None
    on_oxygen: bool = False  # supplemental oxygen now


@dataclass(frozen=True)
class Criterion:
    name: str
    met: bool
    detail: str
    key: str


@dataclass(frozen=True)
class DischargeResult:
    passed: bool
    criteria: tuple[Criterion, ...]
    evaluated_at: datetime

    @property
    def unmet(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if not c.met)

    def decision(self) -> Decision:
        """The gate as a decision: every unmet criterion is a hard finding that only a charge
        nurse may override. The criterion (not its changing detail) is what an override covers,
        so a criterion that becomes unmet after the override needs a new one."""
        return Decision(tuple(
            Finding("discharge", Severity.HARD, f"{c.name}: {c.detail}", c.key or c.name)
            for c in self.unmet))


def override_scope(result: DischargeResult, criteria: DischargeCriteria
                   ) -> tuple[tuple[Criterion, ...], tuple[Criterion, ...]]:
    """The unmet criteria split into those a charge nurse may override
    (``discharge.charge_may_override``) and those nobody may: by default the ride home and the
    minimum observation time. A discharge override is possible only when the second is empty,
    and it covers exactly the first (see ``core.dosing.ChargeOverride``)."""
    may = tuple(c for c in result.unmet if c.name in criteria.charge_may_override)
    never = tuple(c for c in result.unmet if c.name not in criteria.charge_may_override)
    return may, never


def override_decision(result: DischargeResult, criteria: DischargeCriteria) -> Decision:
    """The gate as the discharge command decides it and the dialog shows it: each unmet
    criterion a charge nurse may override is a HARD finding (PIN and reason, covering exactly
    those), each one nobody may override is REFUSED, so no override can cover it."""
    may, never = override_scope(result, criteria)
    return Decision(tuple(
        Finding("discharge", Severity.HARD, f"{c.name}: {c.detail}", c.key or c.name)
        for c in may) + tuple(
        Finding("discharge", Severity.REFUSED,
                f"{c.name}: {c.detail} (not overridable: not in "
                "discharge.charge_may_override)", c.key or c.name)
        for c in never))


class _Fmt:
    def __init__(self, tz: tzinfo | None) -> None:
        self.tz = tz or UTC

    def __call__(self, t: datetime) -> str:
        return t.astimezone(self.tz).strftime("%H:%M")


def _g(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def baseline_from_samples(vitals: Sequence[VitalSample], infusion_start: datetime
                          ) -> BaselineVitals:
    """The latest usable value of each vital before the infusion started."""
    def last(*codes: str) -> float | None:
        for code in codes:
            got = [s for s in vitals if s.code == code and s.usable and s.at <= infusion_start]
            if got:
                return max(got, key=lambda s: s.at).value
        return None
    return BaselineVitals(sbp=last("NBP_SYS"), dbp=last("NBP_DIA"), hr=last("HR", "PR"),
                          spo2=last("SPO2"), rr=last("RR"))


def latest_value(vitals: Sequence[VitalSample], code: str, now: datetime,
                 within_min: float) -> VitalSample | None:
    """The latest usable sample of ``code`` no older than ``within_min`` (and not after now)."""
    lo = now - timedelta(minutes=within_min)
    got = [s for s in vitals if s.code == code and s.usable and lo <= s.at <= now]
    return max(got, key=lambda s: s.at) if got else None


def _vital_criterion(name: str, label: str, unit: str, samples: list[VitalSample],
                     older: VitalSample | None, since: datetime, now: datetime, fmt: _Fmt, *,
                     baseline: float | None = None, dev_pct: float | None = None,
                     lo: float | None = None, lo_key: str = "", hi: float | None = None,
                     hi_key: str = "", window_key: str, extra_unmet: str = "") -> Criterion:
    keys = ", ".join(k for k in (window_key, lo_key, hi_key,
                                 "discharge.max_deviation_pct" if dev_pct is not None else "")
                     if k)
    if not samples:
        last = f" (last {_g(older.value)} {unit} at {fmt(older.at)})" if older else ""
        return Criterion(name, False, f"unmet: no {label} measurement since {fmt(since)}{last}",
                         keys)
    if dev_pct is not None and baseline is None:
        return Criterion(name, False, f"unmet: no baseline {label} to compare with", keys)
    problems: list[str] = []
    for s in sorted(samples, key=lambda s: s.at):
        v = s.value
        if hi is not None and v > hi:
            problems.append(f"{label} {_g(v)} {unit} at {fmt(s.at)} above {_g(hi)} ({hi_key})")
        elif lo is not None and v < lo:
            problems.append(f"{label} {_g(v)} {unit} at {fmt(s.at)} below {_g(lo)} ({lo_key})")
        elif dev_pct is not None and baseline is not None and baseline > 0:
            pct = round(abs(v - baseline) / baseline * 100.0, 6)
            if pct > dev_pct:
                side = "above" if v > baseline else "below"
                problems.append(f"{label} {_g(v)} {unit} at {fmt(s.at)} is {pct:.0f} % {side} "
                                f"baseline {_g(baseline)} (limit {_g(dev_pct)} %, "
                                f"discharge.max_deviation_pct)")
    values = [s.value for s in samples]
    span = _g(min(values)) if min(values) == max(values) else \
        f"{_g(min(values))}–{_g(max(values))}"
    seen = f"{label} {span} {unit} in {len(samples)} reading{'s' * (len(samples) != 1)} " \
           f"since {fmt(since)}"
    if extra_unmet:
        return Criterion(name, False, f"unmet: {extra_unmet}; {seen}", keys)
    if problems:
        more = f" (+{len(problems) - 1} more out of range)" if len(problems) > 1 else ""
        return Criterion(name, False, f"unmet: {problems[0]}{more}; {seen}", keys)
    limits = []
    if dev_pct is not None and baseline is not None:
        low, high = baseline * (1 - dev_pct / 100), baseline * (1 + dev_pct / 100)
        limits.append(f"within {_g(dev_pct)} % of baseline {_g(baseline)} "
                      f"({_g(low)}–{_g(high)})")
    if lo is not None and hi is not None:
        limits.append(f"within {_g(lo)}–{_g(hi)}")
    elif hi is not None:
        limits.append(f"≤ {_g(hi)}")
    elif lo is not None:
        limits.append(f"≥ {_g(lo)}")
    return Criterion(name, True, f"{seen}; {' and '.join(limits)}", keys)


def evaluate_discharge(inputs: DischargeInputs, criteria: DischargeCriteria, now: datetime, *,
                       nausea_levels: Sequence[str] = DEFAULT_NAUSEA_LEVELS,
                       display_tz: tzinfo | None = None) -> DischargeResult:
    """Every discharge criterion, met or unmet with its deciding values. ``nausea_levels`` is
    the protocol's ``assessments.nausea_levels`` (mildest first); ``display_tz`` is only for the
    times in the texts."""
    fmt = _Fmt(display_tz)
    c = criteria
    out: list[Criterion] = []
    stop = inputs.phase_times.infusion_stop
    start = inputs.phase_times.infusion_start
    if stop is not None and stop > now:
        stop = None  # an end in the future has not happened

    # 1. observation
    key = "discharge.min_observation_min"
    if stop is None:
        out.append(Criterion("Observation after infusion", False,
                             "unmet: the infusion has not ended", key))
    else:
        mins = (now - stop).total_seconds() / 60.0
        ready = stop + timedelta(minutes=c.min_observation_min)
        if round(mins, 6) >= c.min_observation_min:
            out.append(Criterion("Observation after infusion", True,
                                 f"{mins:.0f} min since the infusion ended at {fmt(stop)}; "
                                 f"minimum {_g(c.min_observation_min)} min", key))
        else:
            out.append(Criterion("Observation after infusion", False,
                                 f"unmet: {mins:.0f} min since the infusion ended at {fmt(stop)}; "
                                 f"minimum {_g(c.min_observation_min)} min, not before "
                                 f"{fmt(ready)}", key))

    # 2. vitals stable over the window
    since = now - timedelta(minutes=c.stability_window_min)
    usable = [s for s in inputs.vitals if s.usable and s.at <= now]

    def window(*codes: str) -> tuple[list[VitalSample], VitalSample | None]:
        for code in codes:
            got = [s for s in usable if s.code == code and s.at >= since]
            if got:
                return got, None
        older = [s for s in usable if s.code in codes and s.at < since]
        return [], (max(older, key=lambda s: s.at) if older else None)

    b = inputs.baseline or BaselineVitals()
    wk = "discharge.stability_window_min"
    got, older = window("NBP_SYS")
    out.append(_vital_criterion("Systolic BP stable", "SBP", "mmHg", got, older, since, now, fmt,
                                baseline=b.sbp, dev_pct=c.max_deviation_pct, hi=c.sbp_max,
                                hi_key="discharge.sbp_max", window_key=wk))
    got, older = window("NBP_DIA")
    out.append(_vital_criterion("Diastolic BP stable", "DBP", "mmHg", got, older, since, now,
                                fmt, baseline=b.dbp, dev_pct=c.max_deviation_pct, hi=c.dbp_max,
                                hi_key="discharge.dbp_max", window_key=wk))
    got, older = window("HR", "PR")
    out.append(_vital_criterion("Heart rate stable", "HR", "bpm", got, older, since, now, fmt,
                                baseline=b.hr, dev_pct=c.max_deviation_pct, lo=c.hr_min,
                                lo_key="discharge.hr_min", hi=c.hr_max,
                                hi_key="discharge.hr_max", window_key=wk))
    got, older = window("SPO2")
    out.append(_vital_criterion("SpO2 on room air", "SpO2", "%", got, older, since, now, fmt,
                                lo=c.spo2_min, lo_key="discharge.spo2_min", window_key=wk,
                                extra_unmet="on supplemental oxygen; SpO2 must hold on room air"
                                if inputs.on_oxygen else ""))
    got, older = window("RR")
    out.append(_vital_criterion("Respiratory rate", "RR", "/min", got, older, since, now, fmt,
                                lo=c.rr_min, lo_key="discharge.rr_min", hi=c.rr_max,
                                hi_key="discharge.rr_max", window_key=wk))

    # 3. a recent BP
    key = "discharge.bp_within_min"
    bps = [s for s in usable if s.code == "NBP_SYS"]
    if not bps:
        out.append(Criterion("Recent blood pressure", False,
                             "unmet: no blood pressure recorded this visit", key))
    else:
        last = max(bps, key=lambda s: s.at)
        age = (now - last.at).total_seconds() / 60.0
        txt = (f"last BP {_g(last.value)} mmHg systolic at {fmt(last.at)} ({age:.0f} min ago); "
               f"needs one within {_g(c.bp_within_min)} min")
        ok = round(age, 6) <= c.bp_within_min
        out.append(Criterion("Recent blood pressure", ok, txt if ok else f"unmet: {txt}", key))

    # 4.-6. assessments after the infusion end
    def after_stop(entries):
        if stop is None:
            return None
        got = [e for e in entries if stop <= e.at <= now]
        return max(got, key=lambda e: e.at) if got else None

    def missing(what: str) -> str:
        if stop is None:
            return f"unmet: the infusion has not ended (no {what} after it yet)"
        return f"unmet: no {what} since the infusion ended at {fmt(stop)}"

    key = "discharge.moaas_required"
    m = after_stop(inputs.moaas)
    if m is None:
        out.append(Criterion("Sedation resolved", False, missing("MOAA/S"), key))
    else:
        ok = m.value >= c.moaas_required
        txt = f"MOAA/S {m.value} at {fmt(m.at)}; needs {c.moaas_required}"
        out.append(Criterion("Sedation resolved", ok, txt if ok else f"unmet: {txt}", key))

    key = "discharge.cadss6_resolved_max"
    d = after_stop(inputs.cadss6)
    if d is None:
        out.append(Criterion("Dissociation resolved", False, missing("CADSS-6"), key))
    else:
        pre = [e for e in inputs.cadss6 if start is not None and e.at <= start]
        base = max(pre, key=lambda e: e.at) if pre else None
        base_txt = (f"pre-infusion {base.value} at {fmt(base.at)}" if base
                    else "no pre-infusion score")
        ok = d.value <= c.cadss6_resolved_max or (base is not None and d.value <= base.value)
        txt = (f"CADSS-6 {d.value} at {fmt(d.at)}; needs ≤ {c.cadss6_resolved_max} or ≤ the "
               f"{base_txt}")
        out.append(Criterion("Dissociation resolved", ok, txt if ok else f"unmet: {txt}", key))

    key = "discharge.nausea_max"
    n = after_stop(inputs.nausea)
    levels = [x.lower() for x in nausea_levels]
    if n is None:
        out.append(Criterion("Nausea controlled", False, missing("nausea assessment"), key))
    elif n.level.lower() not in levels or c.nausea_max.lower() not in levels:
        out.append(Criterion("Nausea controlled", False,
                             f"unmet: nausea level {n.level!r} at {fmt(n.at)} is not one of "
                             f"{', '.join(nausea_levels)}", key))
    else:
        ok = levels.index(n.level.lower()) <= levels.index(c.nausea_max.lower())
        txt = f"nausea {n.level} at {fmt(n.at)}; at most {c.nausea_max}"
        out.append(Criterion("Nausea controlled", ok, txt if ok else f"unmet: {txt}", key))

    # 7. alarms
    key = "discharge.blocking_alarm_priorities"
    blocking = [a for a in inputs.alarms if a.priority in c.blocking_alarm_priorities]
    if blocking:
        listed = "; ".join(f"{a.priority}: {a.description}" for a in blocking)
        out.append(Criterion("No active alarm", False, f"unmet: active alarm ({listed})", key))
    else:
        out.append(Criterion("No active alarm", True,
                             f"no active {' or '.join(c.blocking_alarm_priorities)} alarm", key))

    # 8. ride
    key = "discharge.ride_required"
    if not c.ride_required:
        out.append(Criterion("Ride home confirmed", True, "not required by this protocol", key))
    elif inputs.ride is None:
        out.append(Criterion("Ride home confirmed", False, "unmet: no ride home recorded", key))
    else:
        why = "; ".join(inputs.ride.reasons)
        ok = inputs.ride.confirmed
        out.append(Criterion("Ride home confirmed", ok,
                             why if ok else f"unmet: {why}", key))

    return DischargeResult(all(x.met for x in out), tuple(out), now)


# --------------------------------------------------------------------------------------------
# Modified Aldrete (shown, not gating)

_ACTIVITY = {2: "moves all four limbs on command", 1: "moves two limbs", 0: "moves no limbs"}
_RESPIRATION = {2: "breathes deeply and coughs freely", 1: "dyspnoea or shallow breathing",
                0: "apnoeic"}
_CONSCIOUSNESS = {2: "fully awake", 1: "arousable on calling", 0: "not responding"}


@dataclass(frozen=True)
class AldreteItem:
    name: str
    score: int | None  # None: not assessed / no measurement
    detail: str


@dataclass(frozen=True)
class AldreteScore:
    items: tuple[AldreteItem, ...]
    total: int | None  # None unless every item is scored
    partial_total: int
    minimum: int

    @property
    def meets_minimum(self) -> bool:
        return self.total is not None and self.total >= self.minimum

    def describe(self) -> str:
        if self.total is None:
            missing = ", ".join(i.name for i in self.items if i.score is None)
            return f"Modified Aldrete incomplete ({self.partial_total} so far; missing {missing})"
        return f"Modified Aldrete {self.total}/10 (expected ≥ {self.minimum})"


def _nurse_item(name: str, score: int | None, texts: dict[int, str]) -> AldreteItem:
    if score is None:
        return AldreteItem(name, None, "not assessed")
    if score not in texts:
        raise ValueError(f"{name} score must be 0, 1 or 2, not {score!r}")
    return AldreteItem(name, score, texts[score])


def modified_aldrete(*, activity: int | None, respiration: int | None,
                     consciousness: int | None, on_oxygen: bool, spo2: float | None,
                     sbp: float | None, baseline_sbp: float | None,
                     aldrete_min: int = 9) -> AldreteScore:
    """Modified Aldrete score, five items of 0–2.

    Activity, respiration and consciousness are the nurse's assessment. Circulation: systolic BP
    within ±20 mmHg of baseline = 2, more than 20 and less than 50 = 1, 50 or more = 0. SpO2:
    above 92 % on room air = 2; above 90 % (needing O2, or 90–92 % on room air) = 1; 90 % or
    below = 0 (exactly 90 % is neither "above 90" nor "below 90": scored 0, conservatively).
    """
    items = [_nurse_item("activity", activity, _ACTIVITY),
             _nurse_item("respiration", respiration, _RESPIRATION)]
    if sbp is None or baseline_sbp is None:
        items.append(AldreteItem("circulation", None, "no BP" if sbp is None else "no baseline BP"))
    else:
        diff = abs(sbp - baseline_sbp)
        score = 2 if diff <= 20 else 1 if diff < 50 else 0
        items.append(AldreteItem("circulation", score,
                                 f"SBP {_g(sbp)} vs baseline {_g(baseline_sbp)}: "
                                 f"{_g(diff)} mmHg difference"))
    items.append(_nurse_item("consciousness", consciousness, _CONSCIOUSNESS))
    if spo2 is None:
        items.append(AldreteItem("SpO2", None, "no SpO2"))
    else:
        air = "on O2" if on_oxygen else "on room air"
        if spo2 > 92 and not on_oxygen:
            score = 2
        elif spo2 > 90:
            score = 1
        else:
            score = 0
        items.append(AldreteItem("SpO2", score, f"SpO2 {_g(spo2)} % {air}"))
    partial = sum(i.score for i in items if i.score is not None)
    total = partial if all(i.score is not None for i in items) else None
    return AldreteScore(tuple(items), total, partial, aldrete_min)


__all__ = [
    "DEFAULT_NAUSEA_LEVELS", "VitalSample", "BaselineVitals", "ScoreEntry", "NauseaEntry",
    "ActiveAlarm", "DischargeInputs", "Criterion", "DischargeResult", "override_scope",
    "override_decision",
    "baseline_from_samples",
    "latest_value", "evaluate_discharge", "AldreteItem", "AldreteScore", "modified_aldrete",
]
