"""The tiles' words for a visit's phase. What the chart says about each chair is read by the
application layer (``nursestation.record.chairs``); its names are kept here for the station's
callers."""

from __future__ import annotations

from nursestation.record.chairs import ChairVisit, ChartRead, load_chair_visits, read_chart

PHASE_LABELS = {
    "check_in": "check-in",
    "baseline": "baseline",
    "infusing": "infusing",
    "recovery": "recovery",
}

__all__ = ["PHASE_LABELS", "ChairVisit", "ChartRead", "load_chair_visits", "read_chart"]
