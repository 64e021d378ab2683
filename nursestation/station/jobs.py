"""The station controller's writes, as writer jobs (``fn(session, ...)`` run by the one writer).

They record what the station itself observed — an alarm engine's state change, a pump change no
nurse entry explains — so they run whether or not anyone is logged in: a person is named only
when one acted (who acknowledged an alarm or paused its sound).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from nursestation.core import pumpchanges as core_pump
from nursestation.core.alarms import AlarmChange, ChangeKind, alarm_message
from nursestation.db import repo
from nursestation.db.models import AlarmEvent, InfusionEvent, PumpChangeItem, Visit

#: How an alarm engine's change is kept in the alarm record.
RECORDED_STATE: dict[ChangeKind, str] = {
    ChangeKind.RAISED: "raised",
    ChangeKind.REACTIVATED: "raised",
    ChangeKind.LATCHED: "latched",
    ChangeKind.ACKNOWLEDGED: "acknowledged",
    ChangeKind.CLEARED: "cleared",
    ChangeKind.ESCALATED: "escalated",
    ChangeKind.AUDIO_PAUSED: "paused",
    ChangeKind.AUDIO_RESUMED: "resumed",
}


class UnknownChair(LookupError):
    """An alarm change for a chair the database does not know (the config and the chairs table
    disagree): raised so the caller logs it, never dropped silently."""


def record_alarm_change(session: Session, change: AlarmChange, *, visit_id: int | None,
                        user: int | None) -> AlarmEvent:
    """Keep one alarm engine change in the alarm record (``user``: who acknowledged or paused;
    None for the engine's own changes)."""
    chair = repo.chair_by_name(session, change.chair)
    if chair is None:
        raise UnknownChair(f"alarm change for unknown chair {change.chair!r}")
    alarm = change.alarm
    values = {k: (v if isinstance(v, int | float | str | None) else str(v))
              for k, v in dict(change.values).items()}
    return repo.record_alarm_event(
        session, chair.id,
        alarm.id if alarm else f"{change.chair}-audio",
        alarm.code if alarm else "AUDIO",
        alarm.priority if alarm else "low",
        RECORDED_STATE[change.kind],
        values=values,
        message=(f"{alarm_message(alarm)} — {change.reason}" if alarm
                 else change.reason).strip(" —"),
        visit_id=visit_id, user=user, at=change.at_wall)


def pump_readings(session: Session, visit_id: int) -> list[core_pump.PumpReading]:
    """The pump's recorded rate and state for the visit, oldest first."""
    out = []
    for s in repo.vitals_in_range(session, visit_id=visit_id, codes=("PUMP_RATE", "PUMP_STATE")):
        value = s.text if s.code == "PUMP_STATE" else s.value
        if value is None:
            continue
        out.append(core_pump.PumpReading(s.code, value, s.time))
    return out


def scan_pump_changes(session: Session, visit_id: int, now: datetime, *, user: int | None = None,
                      window_s: float = core_pump.DEFAULT_MATCH_WINDOW_S
                      ) -> list[PumpChangeItem]:
    """Record a pending item for every pump change no charted entry explains and no item records
    yet. The station runs it every 30 s per infusing or recovering visit, with ``user`` None:
    the item is the station's observation; the nurse who resolves it signs the resolution."""
    visit = session.get(Visit, visit_id)
    if visit is None or not visit.active:
        return []
    changes = core_pump.pump_changes(pump_readings(session, visit_id))
    charted = [core_pump.ChartedEvent(e.kind, e.at, e.rate_ml_h)
               for e in repo.current_entries(session, InfusionEvent, visit_id)]
    unexplained = core_pump.unexplained_changes(changes, charted, now, window_s=window_s)
    recorded = [core_pump.PumpChange.from_values(i.pump_values)
                for i in repo.current_entries(session, PumpChangeItem, visit_id,
                                              include_voided=True)
                if "at" in i.pump_values]
    return [repo.record_pump_change(session, visit_id, visit.chair_id, ch.kind, ch.to_values(),
                                    user=user, at=ch.at)
            for ch in core_pump.not_yet_recorded(unexplained, recorded)]
