"""Pump-reported changes that no nurse entry explains.

Pure: the pump's ``PUMP_RATE`` / ``PUMP_STATE`` readings and the charted infusion events in,
the pump's changes and which of them are unexplained out.

- :func:`pump_changes` turns the readings into changes: a state going to *paused* is a pause,
  *paused* → *infusing* a resume, anything → *stopped* a stop, *stopped* / unknown →
  *infusing* a start; a rate change while infusing (by more than ``rate_tolerance_ml_h``) is a
  rate change. The first reading only sets the scene. A rate falling to 0 is not a rate change
  (pumps report 0 while paused or stopped; the state change says what happened), and the
  pump's *alarm* state is the alarm engine's business, not a charting gap.
- :func:`unexplained_changes` matches each change with a charted event of a compatible kind
  within ``window_s`` either side (and, when both give a rate, the same rate within the
  tolerance). Each charted event explains at most one change. A change younger than the window
  is not reported yet: the nurse may still be charting it.

The window and the tolerance are protocol-independent defaults (the protocol file has no key
for them): unknown, conservative — 2 min either side, 0.5 mL/h.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

#: How far apart a pump change and the nurse's entry may be and still match (seconds).
#: Protocol-independent default; unknown: conservative, 2 min either side.
DEFAULT_MATCH_WINDOW_S = 120.0
#: Rates closer than this are the same rate (mL/h). Protocol-independent default; unknown:
#: conservative, below the 0.1-1 mL/h resolution of common pumps' displays times five.
DEFAULT_RATE_TOLERANCE_ML_H = 0.5

#: Readings this close after a start/resume describe that same change (seconds).
_SAME_CHANGE_S = 5.0

RATE = "PUMP_RATE"
STATE = "PUMP_STATE"

#: Charted infusion-event kinds that can explain each kind of pump change.
_EXPLAINS: dict[str, frozenset[str]] = {
    "start": frozenset({"start", "resume"}),
    "resume": frozenset({"resume", "start"}),
    "pause": frozenset({"pause"}),
    "stop": frozenset({"stop"}),
    "rate_change": frozenset({"rate_change", "start", "resume"}),
}


@dataclass(frozen=True)
class PumpReading:
    code: str  # PUMP_RATE (value: mL/h) or PUMP_STATE (value: infusing/paused/stopped/alarm)
    value: float | str | None
    at: datetime


@dataclass(frozen=True)
class ChartedEvent:
    kind: str  # start / rate_change / pause / resume / stop
    at: datetime
    rate_ml_h: float | None = None


@dataclass(frozen=True)
class PumpChange:
    kind: str  # start / rate_change / pause / resume / stop (the infusion-event kinds)
    at: datetime
    rate_before: float | None = None
    rate_after: float | None = None
    state_before: str | None = None
    state_after: str | None = None

    def describe(self, tz: tzinfo | None = None) -> str:
        t = self.at.astimezone(tz or UTC).strftime("%H:%M:%S")
        if self.kind == "rate_change":
            return (f"pump rate changed {_g(self.rate_before)} → {_g(self.rate_after)} mL/h "
                    f"at {t}")
        rate = f" at {_g(self.rate_after)} mL/h" if self.kind in ("start", "resume") \
            and self.rate_after is not None else ""
        verb = {"start": "started", "resume": "resumed", "pause": "paused",
                "stop": "stopped"}[self.kind]
        return f"pump {verb}{rate} at {t} (state {self.state_before or '?'} → {self.state_after})"

    def to_values(self) -> dict[str, object]:
        """The JSON-able values stored on a pending pump-change item."""
        return {"kind": self.kind, "at": self.at.astimezone(UTC).isoformat(),
                "rate_before": self.rate_before, "rate_after": self.rate_after,
                "state_before": self.state_before, "state_after": self.state_after}

    @classmethod
    def from_values(cls, values: dict[str, object]) -> PumpChange:
        def num(k: str) -> float | None:
            v = values.get(k)
            return None if v is None else float(v)  # type: ignore[arg-type]

        def txt(k: str) -> str | None:
            v = values.get(k)
            return None if v is None else str(v)

        return cls(str(values["kind"]), datetime.fromisoformat(str(values["at"])),
                   num("rate_before"), num("rate_after"), txt("state_before"), txt("state_after"))


def _g(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def pump_changes(readings: Iterable[PumpReading], *,
                 rate_tolerance_ml_h: float = DEFAULT_RATE_TOLERANCE_ML_H) -> list[PumpChange]:
    """The pump's own changes, oldest first, from its rate and state readings."""
    evs = sorted((r for r in readings if r.code in (RATE, STATE) and r.value is not None),
                 key=lambda r: r.at)
    out: list[PumpChange] = []
    state: str | None = None
    rate: float | None = None
    for r in evs:
        if r.code == STATE:
            new = str(r.value).strip().lower()
            if new == "alarm" or new == state:
                continue
            kind = None
            if state is not None:
                if new == "paused" and state == "infusing":
                    kind = "pause"
                elif new == "stopped":
                    kind = "stop"
                elif new == "infusing":
                    kind = "resume" if state == "paused" else "start"
            if kind is not None:
                out.append(PumpChange(kind, r.at, rate, rate, state, new))
            state = new
            continue
        try:
            value = float(r.value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        before = rate
        rate = value
        if before is None or value <= 0 or abs(value - before) <= rate_tolerance_ml_h:
            continue
        if state != "infusing":
            # the rate a paused or stopped pump will run at; it counts when it resumes/starts
            continue
        # a rate reported with (or just after) a start/resume, or coming back from the 0 some
        # pumps report while paused, belongs to that start/resume
        last = out[-1] if out else None
        if last is not None and last.kind in ("start", "resume") and (
                before <= 0 or (r.at - last.at).total_seconds() <= _SAME_CHANGE_S):
            out[-1] = PumpChange(last.kind, last.at, last.rate_before, value, last.state_before,
                                 last.state_after)
            continue
        if before <= 0:
            continue
        out.append(PumpChange("rate_change", r.at, before, value, state, state))
    return out


def unexplained_changes(changes: Sequence[PumpChange], charted: Iterable[ChartedEvent],
                        now: datetime, *, window_s: float = DEFAULT_MATCH_WINDOW_S,
                        rate_tolerance_ml_h: float = DEFAULT_RATE_TOLERANCE_ML_H,
                        ) -> list[PumpChange]:
    """The changes no charted event explains, once they are older than the window."""
    window = timedelta(seconds=window_s)
    unused = sorted(charted, key=lambda e: e.at)
    out: list[PumpChange] = []
    for ch in sorted(changes, key=lambda c: c.at):
        best: ChartedEvent | None = None
        for ev in unused:
            if ev.kind not in _EXPLAINS.get(ch.kind, frozenset()):
                continue
            if abs((ev.at - ch.at).total_seconds()) > window_s:
                continue
            if ch.rate_after is not None and ev.rate_ml_h is not None \
                    and ch.kind in ("rate_change", "start", "resume") \
                    and abs(ev.rate_ml_h - ch.rate_after) > rate_tolerance_ml_h:
                continue
            if best is None or abs(ev.at - ch.at) < abs(best.at - ch.at):
                best = ev
        if best is not None:
            unused.remove(best)
            continue
        if now - ch.at >= window:
            out.append(ch)
    return out


def not_yet_recorded(changes: Iterable[PumpChange], recorded: Iterable[PumpChange]
                     ) -> list[PumpChange]:
    """Changes that have no pump-change item yet (same kind at the same time)."""
    seen = {(c.kind, c.at.astimezone(UTC)) for c in recorded}
    return [c for c in changes if (c.kind, c.at.astimezone(UTC)) not in seen]


__all__ = [
    "DEFAULT_MATCH_WINDOW_S",
    "DEFAULT_RATE_TOLERANCE_ML_H",
    "ChartedEvent",
    "PumpChange",
    "PumpReading",
    "not_yet_recorded",
    "pump_changes",
    "unexplained_changes",
]


# --------------------------------------------------------------------------------------------
# The pump against the chart, now


#: What the chart says the infusion is doing (the visit's charted infusion state).
CHART_STATES = ("not started", "infusing", "paused", "stopped")


@dataclass(frozen=True)
class ChartPumpMismatch:
    """The pump disagrees with the chart. ``kind``: ``running_not_charted`` (pump infusing while
    the chart says not started, paused or stopped), ``stopped_while_charted`` (pump paused or
    stopped while charted infusing), ``over_delivery`` (the pump has infused more than the
    charted dose's volume)."""

    kind: str
    message: str


def chart_pump_mismatch(charted: str, pump_state: str | None, *,
                        pump_vi_ml: float | None = None,
                        charted_volume_ml: float | None = None,
                        over_delivery_ml: float = 2.0) -> tuple[ChartPumpMismatch, ...]:
    """Every way the pump's state and volume disagree with the chart now.

    ``charted`` is one of :data:`CHART_STATES`; ``pump_state`` the pump's latest usable
    ``PUMP_STATE`` (infusing / paused / stopped / alarm) or None when unknown (no finding then:
    an offline pump is the alarm engine's device-offline condition). ``charted_volume_ml`` is the
    volume the charted dose amounts to (the bag's VTBI); infused beyond it by more than
    ``over_delivery_ml`` is over-delivery, whatever the states say.
    """
    if charted not in CHART_STATES:
        raise ValueError(f"charted state {charted!r} is not one of {', '.join(CHART_STATES)}")
    out: list[ChartPumpMismatch] = []
    state = (pump_state or "").strip().lower() or None
    if state == "infusing" and charted != "infusing":
        out.append(ChartPumpMismatch(
            "running_not_charted",
            f"pump infusing while the chart says {charted}: chart the start or check the pump"))
    elif state in ("paused", "stopped") and charted == "infusing":
        out.append(ChartPumpMismatch(
            "stopped_while_charted",
            f"pump {state} while charted infusing: chart the {'pause' if state == 'paused' else 'stop'} "
            "or check the pump"))
    if (pump_vi_ml is not None and charted_volume_ml is not None
            and pump_vi_ml > charted_volume_ml + over_delivery_ml + 1e-9):
        out.append(ChartPumpMismatch(
            "over_delivery",
            f"pump has infused {pump_vi_ml:.1f} mL, more than the charted dose's "
            f"{charted_volume_ml:.1f} mL (tolerance {over_delivery_ml:g} mL)"))
    return tuple(out)
