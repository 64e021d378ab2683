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
from nursestation.db.models import AlarmEvent, PumpChangeItem
from nursestation.record import commands

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


def scan_pump_changes(session: Session, visit_id: int, now: datetime, *, user: int | None = None,
                      window_s: float = core_pump.DEFAULT_MATCH_WINDOW_S
                      ) -> list[PumpChangeItem]:
    """The station's pump-change scan (``record.commands.scan_pump_changes``) as a writer job:
    the new pending items (``user`` None: the station's own observation)."""
    found: list[PumpChangeItem] = commands.scan_pump_changes(
        session, visit_id, now, user=user, window_s=window_s).entry
    return found
