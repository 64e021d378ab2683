"""Scheduled vitals checks for one visit, from the protocol's ``[schedule]`` and the phase times.

- **Baseline** (when ``schedule.baseline_required``): due from check-in; overdue once the
  infusion has started without one.
- **Infusing**: every ``infusing_interval_min`` from the infusion start, up to and including the
  stop time, plus a BP at each ``infusing_bp_at_min`` (merged with an interval check at the same
  minute).
- **Recovery**: every ``recovery_interval_min`` from the infusion stop, until discharge.

While a phase is open (no stop or discharge yet) the checks already due and the next one are
listed. A check is *pending* before its due time, *due* from then, *overdue* once
``overdue_after_min`` has passed, and *done* when a BP (an NIBP reading's measurement time, or a
manual vitals entry) falls in its window.

Windows: a check's window opens ``early`` minutes before its due time — the grace
``overdue_after_min``, capped at half the phase interval — and closes where the next check's
window opens (the last one stays open). So a BP cycled two minutes early or taken late still
counts, and no reading fulfils two checks. The baseline window runs from check-in to the
infusion start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from nursestation.core.protocol import Schedule


@dataclass(frozen=True)
class PhaseTimes:
    """When the visit entered each phase (aware UTC); None = not yet."""

    checked_in: datetime | None = None
    infusion_start: datetime | None = None
    infusion_stop: datetime | None = None
    discharged: datetime | None = None


class CheckStatus(StrEnum):
    PENDING = "pending"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"


class CheckPhase(StrEnum):
    BASELINE = "baseline"
    INFUSING = "infusing"
    RECOVERY = "recovery"


@dataclass(frozen=True)
class Check:
    phase: CheckPhase
    label: str  # "infusing +10 min", "BP at 40 min", "recovery +15 min", "baseline"
    due_at: datetime
    overdue_at: datetime | None  # None: cannot become overdue yet (baseline before the start)
    window_start: datetime | None  # None: open since the beginning
    window_end: datetime | None  # None: still open
    status: CheckStatus
    done_at: datetime | None = None
    done_by: str = ""  # "NIBP" / "manual entry"
    bp_required: bool = True
    key: str = ""  # protocol key that scheduled it
    detail: str = ""


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def _fmt(t: datetime, tz: tzinfo | None = None) -> str:
    """HH:MM in the display time zone (UTC unless the caller gives the clinic's zone)."""
    return t.astimezone(tz or UTC).strftime("%H:%M")


@dataclass
class _Slot:
    phase: CheckPhase
    label: str
    due: datetime
    early: timedelta
    key: str


def _phase_slots(schedule: Schedule, times: PhaseTimes, now: datetime) -> list[_Slot]:
    slots: list[_Slot] = []
    start, stop, end = times.infusion_start, times.infusion_stop, times.discharged
    grace = _m(schedule.overdue_after_min)

    if start is not None:
        iv = _m(schedule.infusing_interval_min)
        early = min(grace, iv / 2)
        limit = stop if stop is not None else None
        by_due: dict[datetime, _Slot] = {}
        k = 1
        while True:
            due = start + iv * k
            if limit is not None and due > limit:
                break
            if limit is None and due > now:  # the next upcoming one, then stop listing
                by_due[due] = _Slot(CheckPhase.INFUSING, f"infusing +{_mins(due - start)} min",
                                    due, early, "schedule.infusing_interval_min")
                break
            by_due[due] = _Slot(CheckPhase.INFUSING, f"infusing +{_mins(due - start)} min",
                                due, early, "schedule.infusing_interval_min")
            k += 1
        for at_min in schedule.infusing_bp_at_min:
            due = start + _m(at_min)
            if limit is not None and due > limit:
                continue  # infusion ended before it; recovery checks take over
            if limit is None and due > now and by_due and due > max(by_due):
                continue  # not yet in view
            label = f"BP at {at_min:g} min"
            if due in by_due:
                by_due[due].label += f" (BP at {at_min:g} min)"
                by_due[due].key += ", schedule.infusing_bp_at_min"
            else:
                by_due[due] = _Slot(CheckPhase.INFUSING, label, due, early,
                                    "schedule.infusing_bp_at_min")
        slots.extend(by_due[d] for d in sorted(by_due))

    if stop is not None:
        rv = _m(schedule.recovery_interval_min)
        early = min(grace, rv / 2)
        k = 1
        while True:
            due = stop + rv * k
            if end is not None and due > end:
                break
            slots.append(_Slot(CheckPhase.RECOVERY, f"recovery +{_mins(due - stop)} min", due,
                               early, "schedule.recovery_interval_min"))
            if end is None and due > now:
                break
            k += 1
    return slots


def _mins(td: timedelta) -> str:
    return f"{td.total_seconds() / 60:g}"


def checks_for_visit(schedule: Schedule, phase_times: PhaseTimes, bp_times: Sequence[datetime],
                     manual_entry_times: Sequence[datetime], now: datetime, *,
                     display_tz: tzinfo | None = None) -> list[Check]:
    """All scheduled checks of the visit so far (and the next one), in due order.

    ``bp_times``: measurement times of NIBP readings (the NBP_SYS reading's time);
    ``manual_entry_times``: times of manual vitals entries. Either fulfils a check.
    ``display_tz`` only affects the times in the texts."""
    tz = display_tz
    grace = _m(schedule.overdue_after_min)
    evidence = sorted([(t, "NIBP") for t in bp_times] +
                      [(t, "manual entry") for t in manual_entry_times])
    out: list[Check] = []
    start = phase_times.infusion_start

    if schedule.baseline_required:
        due = phase_times.checked_in or start or now
        w_end = start
        hit = next(((t, by) for t, by in evidence
                    if (phase_times.checked_in is None or t >= phase_times.checked_in)
                    and (w_end is None or t <= w_end) and t <= now), None)
        if hit:
            status, detail = CheckStatus.DONE, f"baseline by {hit[1]} at {_fmt(hit[0], tz)}"
        elif start is not None and now >= start:
            status = CheckStatus.OVERDUE
            detail = f"no baseline vitals before the infusion started at {_fmt(start, tz)}"
        elif now >= due:
            status, detail = CheckStatus.DUE, "baseline vitals due before the infusion starts"
        else:
            status, detail = CheckStatus.PENDING, "baseline vitals before the infusion starts"
        out.append(Check(CheckPhase.BASELINE, "baseline", due, start, phase_times.checked_in,
                         w_end, status, hit[0] if hit else None, hit[1] if hit else "",
                         True, "schedule.baseline_required", detail))

    slots = _phase_slots(schedule, phase_times, now)
    for i, s in enumerate(slots):
        w_start = s.due - s.early
        w_end = (slots[i + 1].due - slots[i + 1].early) if i + 1 < len(slots) else None
        if w_end is None and phase_times.discharged is not None:
            w_end = phase_times.discharged
        hit = next(((t, by) for t, by in evidence
                    if t >= w_start and (w_end is None or t < w_end) and t <= now), None)
        overdue_at = s.due + grace
        if hit:
            status = CheckStatus.DONE
            detail = f"{s.label}: BP by {hit[1]} at {_fmt(hit[0], tz)}"
        elif now >= overdue_at:
            status = CheckStatus.OVERDUE
            detail = (f"{s.label}: due {_fmt(s.due, tz)}, no BP by {_fmt(overdue_at, tz)} "
                      f"({schedule.overdue_after_min:g} min grace, schedule.overdue_after_min)")
        elif now >= s.due:
            status = CheckStatus.DUE
            detail = (f"{s.label}: due since {_fmt(s.due, tz)}, "
                      f"overdue at {_fmt(overdue_at, tz)}")
        else:
            status = CheckStatus.PENDING
            detail = f"{s.label}: due at {_fmt(s.due, tz)}"
        out.append(Check(s.phase, s.label, s.due, overdue_at, w_start, w_end, status,
                         hit[0] if hit else None, hit[1] if hit else "", True, s.key, detail))
    return out


def next_bp_deadline(schedule: Schedule, phase_times: PhaseTimes, bp_times: Sequence[datetime],
                     manual_entry_times: Sequence[datetime], now: datetime) -> datetime | None:
    """When the "no BP within schedule" technical alarm would trip: the overdue time of the most
    recent check already due if it is not done, otherwise of the next one. None when nothing is
    scheduled (visit discharged, or nothing can become overdue yet)."""
    checks = checks_for_visit(schedule, phase_times, bp_times, manual_entry_times, now)
    if phase_times.discharged is not None and now >= phase_times.discharged:
        return None
    past = [c for c in checks if c.due_at <= now]
    future = [c for c in checks if c.due_at > now]
    if past and past[-1].status is not CheckStatus.DONE:
        return past[-1].overdue_at
    return future[0].overdue_at if future else None


__all__ = ["PhaseTimes", "CheckStatus", "CheckPhase", "Check", "checks_for_visit",
           "next_bp_deadline"]
