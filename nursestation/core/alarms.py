"""The alarm engine of one chair: limits, priorities, delays, latching, acknowledge, audio pause.

Pure and deterministic: readings go in through :meth:`AlarmEngine.ingest`, time only comes from
the clock passed in (monotonic for every duration, UTC wall time for the record), and every state
change comes out of :meth:`AlarmEngine.update` as an :class:`AlarmChange` carrying the values that
caused it, so the record layer can store it and the UI can show *why*.

Rules (the limits and priorities themselves come from the protocol file's ``[alarms]``):

* **Usable values only.** A reading counts only when it has a finite number and none of the
  :data:`~nursestation.core.vocabulary.UNUSABLE` quality flags. An unusable or absent value never
  raises a physiological alarm, cancels a pending onset delay (the value is unknown) and never
  clears a raised alarm either: only a usable value back inside the limit does that. A value holds
  until the next reading of its code, or until its device reports offline (then it is unknown).
* **Onset delay.** A limit's condition must hold on every reading for ``delay_s`` before the
  alarm is raised; one reading back inside the limit restarts the wait. ``delay_s = 0`` raises at
  once.
* **Hysteresis.** A raised alarm's condition ends only when a value is ``clear_hysteresis`` back
  inside the limit (``SPO2 < 90`` with hysteresis 1 ends at 91, not at 90.5).
* **Intermittent measurements** (``NBP_*``) are evaluated once per new measurement: a repeat of
  the same measurement (same device, device time and value) is ignored. A new measurement still
  beyond a limit whose alarm was already acknowledged raises a fresh alarm: the nurse hears that
  the next blood pressure is still out of range.
* **Latching.** With ``latch_high``, a high-priority alarm whose condition ends stays shown and
  sounding as *latched* until acknowledged; medium and low alarms clear themselves.
* **Acknowledge** silences an alarm for as long as its condition lasts (the visual stays);
  acknowledging a latched alarm clears it. When an acknowledged condition ends, the alarm clears;
  if the condition comes back later, it is a new alarm with a new onset delay.
* **Audio pause** silences every alarm of the chair for ``audio_pause_s``; the visual signals
  stay, and acknowledging is still possible. A new *high*-priority alarm during the pause ends the
  pause at once (IEC 60601-1-8 lets a new alarm condition end audio paused; a nurse must hear a
  new desaturation even if she paused a pump alarm a minute ago). New medium and low alarms stay
  silent until the pause ends. When the pause ends, sound returns for whatever is still
  unacknowledged.
* **Escalation.** A high-priority alarm still unacknowledged (active or latched)
  ``escalate_after_s`` after it was raised is flagged ``escalated`` (for the charge nurse's
  overview). Pausing audio does not stop escalation. The flag stays on the alarm as a record.
* **Technical alarms**, per device: ``DEVICE_OFFLINE`` (cleared by ``DEVICE_ONLINE`` or any
  other reading from that device; not raised when the link says it was stopped on purpose), sensor off (a ``SENSOR_OFF`` reading or a ``sensor_off``
  quality flag; cleared by a clean reading of the code that carried the flag, or of a
  pulse-oximetry code for a bare ``SENSOR_OFF`` status), pump alarm (``PUMP_STATE == "alarm"`` or
  a ``PUMP_ALARM`` text; cleared when the pump reports neither), and no blood pressure by the
  deadline the vitals schedule gives with :meth:`AlarmEngine.set_bp_due`.
* **The devices' own alarms** (:class:`~nursestation.core.readings.DeviceAlarm`, delivered in
  ``DEVICE_ALARM`` readings as the complete list a device shows now): each becomes an alarm of
  the chair with the device's priority and wording, raised without delay and cleared when the
  device no longer lists it (or goes offline). De-duplicated against our own rules: a device's
  *patient* alarm about a code and direction our protocol file has a limit for (``SPO2`` low...)
  is not raised — our rule judges the same values with the clinic's limit and delay, and the
  nurse hears one desaturation, ours, with its rule. Patient alarms we have no rule for (a pulse
  rate high, an apnea) and every technical alarm are raised.
  Only the primary site's readings reach the engine (``SitePicker``).
* **Wrong patient on a device.** A device that reports its admitted patient (``DEVICE_PATIENT``,
  the IntelliVue's demographics) while the chair's visit is known (:meth:`AlarmEngine.set_patient`)
  raises a medium technical alarm when the two IDs differ (compared without case and spaces):
  the monitor's numbers may be charted to the wrong record. A device with no patient admitted,
  or no visit, raises nothing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from nursestation.core.clock import Clock
from nursestation.core.pumpchanges import ChartPumpMismatch, chart_pump_mismatch
from nursestation.core.readings import DeviceAlarm, Reading
from nursestation.core.vocabulary import (
    NBP_CODES,
    NUMERIC_CODES,
    UNITS,
    UNUSABLE,
    WAVE_CODES,
    Code,
    PumpState,
    Quality,
    display_name,
)

if TYPE_CHECKING:  # core.protocol reads the priority names from here
    from nursestation.core.protocol import AlarmConfig, AlarmLimit


@dataclass(frozen=True)
class Priority:
    """One alarm priority (IEC 60601-1-8: high, medium, low), as every view shows it."""

    name: str  # as the protocol file and the alarm record spell it
    rank: int  # 0 is the most urgent
    mark: str  # by symbol as well as colour, never colour alone (a monitor's ***, ** and *)
    word: str  # the short word a tile shows after the mark
    colour: str  # the colour's name; ui.style says what it looks like (red flashes fast...)


#: The alarm priorities, most urgent first. Every other list of priorities derives from this
#: one: the protocol file's choices, the alarm record's check, the tiles', the overview's and
#: the alarm dialogs' marks and colours, the sound patterns, the printed summary's counts.
PRIORITIES: dict[str, Priority] = {p.name: p for p in (
    Priority("high", 0, "***", "HIGH", "red"),
    Priority("medium", 1, "**", "MED", "yellow"),
    Priority("low", 2, "*", "LOW", "cyan"),
)}
PRIORITY_NAMES: tuple[str, ...] = tuple(PRIORITIES)
PRIORITY_RANK: dict[str, int] = {p.name: p.rank for p in PRIORITIES.values()}
PRIORITY_MARK: dict[str, str] = {p.name: p.mark for p in PRIORITIES.values()}


def priority_urgency(priority: str) -> int:
    """Higher for more urgent (high 3, medium 2, low 1); 0 for an unknown priority."""
    p = PRIORITIES.get(str(priority).lower())
    return len(PRIORITIES) - p.rank if p is not None else 0

#: Codes whose sensor is the pulse oximeter: a clean one ends a bare ``SENSOR_OFF`` status.
_OXIMETRY_CODES = frozenset({Code.SPO2, Code.PR, Code.PI, Code.PLETH})


class AlarmKind(StrEnum):
    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"


class AlarmState(StrEnum):
    ACTIVE = "active"  # condition present, not acknowledged: shown and sounding
    LATCHED = "latched"  # condition ended, high priority, not acknowledged: shown and sounding
    ACKNOWLEDGED = "acknowledged"  # condition present, acknowledged: shown, silent
    CLEARED = "cleared"  # over; no longer in active()


class ChangeKind(StrEnum):
    RAISED = "raised"
    LATCHED = "latched"  # condition ended, alarm stays until acknowledged
    REACTIVATED = "reactivated"  # a latched alarm's condition came back before acknowledgement
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"
    ESCALATED = "escalated"
    AUDIO_PAUSED = "audio_paused"
    AUDIO_RESUMED = "audio_resumed"


@dataclass(frozen=True)
class Alarm:
    """A snapshot of one alarm. The engine hands out new snapshots; it never mutates these."""

    id: str
    chair: str
    code: str  # the vital-sign code, or the technical code (DEVICE_OFFLINE, SENSOR_OFF...)
    kind: AlarmKind
    priority: str
    rule: str  # e.g. "SPO2 < 90", "SENSOR_OFF: masimo-1 sensor off"
    source: str  # where the rule comes from (the protocol file's source text)
    key: str  # the rule's stable identity within the chair ("limit:0", "sensor_off:masimo-1")
    delay_s: float
    values: Mapping[str, Any]  # what triggered it, at the moment it was raised
    condition_since_mono: float  # the condition began (start of the onset delay)
    condition_since_wall: datetime
    onset_mono: float  # raised
    onset_wall: datetime
    state: AlarmState = AlarmState.ACTIVE
    condition_present: bool = True
    last_values: Mapping[str, Any] = field(default_factory=dict)  # the latest values seen
    device_id: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    escalated: bool = False
    escalated_at: datetime | None = None
    cleared_at: datetime | None = None
    seq: int = 0
    #: the visit (patient) the alarm belongs to; None: a "no patient" technical condition
    visit_id: int | None = None

    @property
    def unacknowledged(self) -> bool:
        return self.state in (AlarmState.ACTIVE, AlarmState.LATCHED)

    @property
    def label(self) -> str:
        """Priority by symbol, never by colour alone: ``*** SPO2 < 90``."""
        return f"{PRIORITY_MARK.get(self.priority, '')} {self.rule}".strip()


@dataclass(frozen=True)
class AlarmChange:
    """One state change, for the record (who, when, which values) and the UI."""

    kind: ChangeKind
    chair: str
    at_mono: float
    at_wall: datetime
    alarm: Alarm | None  # the alarm after the change; None for audio pause events
    values: Mapping[str, Any] = field(default_factory=dict)  # the values that caused it
    user: str | None = None
    reason: str = ""
    #: the visit the change belongs to (the engine's visit when it happened)
    visit_id: int | None = None

    @property
    def alarm_id(self) -> str | None:
        return self.alarm.id if self.alarm else None


@dataclass(frozen=True)
class AudioState:
    pattern: str | None  # "high" / "medium" / "low": the pattern to sound now; None = silence
    paused: bool
    paused_until_mono: float | None
    paused_until_wall: datetime | None
    paused_by: str | None


#: The track key prefix of a device's own alarm ("device_alarm:<device>:<its key>").
DEVICE_ALARM_KEY = "device_alarm:"
#: Technical conditions that come from the chart, not a device: they end with the visit.
_CHART_TRACKS = frozenset({"no_bp", "pump_chart"})


class _Cond(Enum):
    VIOLATING = 1  # the condition holds
    CLEAR = 2  # the condition does not hold (beyond any hysteresis)
    HOLD = 3  # unknown, or inside the hysteresis band: no new alarm, no clearing


@dataclass
class _Track:
    """One rule of this chair and its current alarm (if any)."""

    key: str
    code: str
    kind: AlarmKind
    priority: str
    rule: str
    source: str
    delay_s: float
    limit: AlarmLimit | None = None
    pending_mono: float | None = None
    pending_wall: datetime | None = None
    pending_values: dict[str, Any] = field(default_factory=dict)
    alarm: Alarm | None = None


@dataclass
class _Device:
    offline: bool = False
    sensor_off_codes: set[str] = field(default_factory=set)  # codes flagged sensor_off
    sensor_off_status: str | None = None  # text of a bare SENSOR_OFF reading
    pump_state_alarm: bool = False
    pump_alarm_text: str | None = None
    pump_state: str | None = None  # the latest usable PUMP_STATE, lower case
    pump_vi_ml: float | None = None  # the latest usable PUMP_VI
    patient_id: str | None = None  # the patient the device has admitted (DEVICE_PATIENT)
    alarms: dict[str, DeviceAlarm] = field(default_factory=dict)  # what the device lists now
    alarm_keys: set[str] = field(default_factory=set)  # track keys of its alarms, ever


def _number(r: Reading) -> float | None:
    """The reading's value if it may feed a rule, else None."""
    v = r.value
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if r.quality & UNUSABLE:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _norm_id(v: str) -> str:
    return "".join(str(v).split()).casefold()


def _text(v: Any) -> str | None:
    if isinstance(v, str) and v.strip():
        return v.strip()
    return None


class AlarmEngine:
    """All alarms of one chair. Call :meth:`ingest` with every batch, :meth:`update` on a timer."""

    def __init__(self, config: AlarmConfig, clock: Clock, chair: str) -> None:
        self.config = config
        self.clock = clock
        self.chair = chair
        self._id_prefix = f"{chair}-{clock.now():%Y%m%dT%H%M%S}"
        self._seq = itertools.count(1)
        self._baseline: dict[str, float] = {}
        self._tracks: dict[str, _Track] = {}
        self._limit_tracks: dict[str, list[_Track]] = {}
        for i, limit in enumerate(config.limits):
            t = _Track(
                key=f"limit:{i}", code=limit.code, kind=AlarmKind.PHYSIOLOGICAL,
                priority=limit.priority, rule=limit.describe(), source=limit.source,
                delay_s=limit.delay_s, limit=limit,
            )
            self._tracks[t.key] = t
            self._limit_tracks.setdefault(limit.code, []).append(t)
        self._devices: dict[str | None, _Device] = {}
        self._code_device: dict[str, str | None] = {}  # code -> device of its latest reading
        self._last_measurement: dict[str, tuple] = {}  # NBP code -> identity of last one
        self._bp_due: float | None = None
        self._bp_seen: bool = False
        self._chart_state: str | None = None  # None: no visit, nothing to compare with
        self._chart_volume_ml: float | None = None
        self._visit_id: int | None = None
        self._patient_ids: frozenset[str] = frozenset()
        self._paused_until: float | None = None
        self._paused_by: str | None = None
        self._changes: list[AlarmChange] = []

    # ------------------------------------------------------------------ inputs

    @property
    def visit_id(self) -> int | None:
        return self._visit_id

    def begin_visit(self, visit_id: int, baseline: Mapping[str, float] | None = None) -> None:
        """A patient's visit starts in this chair: every alarm from now on belongs to it.

        Another visit still open in the engine ends first (its alarms end with it). The chair's
        device conditions (offline, sensor off, the pump's own alarm) carry on."""
        if self._visit_id == visit_id:
            if baseline is not None:
                self.set_baseline(baseline)
            return
        if self._visit_id is not None:
            self.end_visit("another visit began in this chair")
        self._visit_id = visit_id
        self.set_baseline(baseline or {})

    def end_visit(self, reason: str = "visit ended") -> None:
        """The visit is over (discharge): its alarms end with it.

        Every physiological alarm and the chart's own conditions (the BP schedule, the pump
        against the chart) are cleared whatever their state - latched or acknowledged too - and
        onsets in progress dropped; the baseline, the BP deadline and the chart are forgotten, so
        nothing computed from this patient reaches the next one. Device conditions continue as
        the chair's "no patient" technical conditions."""
        now, wall = self.clock.monotonic(), self.clock.now()
        for t in self._tracks.values():
            if t.kind is AlarmKind.PHYSIOLOGICAL or t.key in _CHART_TRACKS:
                t.pending_mono, t.pending_wall, t.pending_values = None, None, {}
                if t.alarm is not None:
                    self._clear(t, now, wall, reason)
        self._baseline = {}
        self._bp_due, self._bp_seen = None, False
        self._chart_state, self._chart_volume_ml = None, None
        self._last_measurement.clear()
        self.set_patient(None)
        self._visit_id = None
        # device tracks raised during the visit move to "no patient"
        for t in self._tracks.values():
            if t.alarm is not None:
                t.alarm = replace(t.alarm, visit_id=None)

    def set_baseline(self, values: Mapping[str, float]) -> None:
        """The patient's baseline vitals (code -> value) for limits relative to baseline.

        A relative limit whose code has no baseline is not evaluated (see :meth:`unevaluable`).
        The current baseline applies at once: an alarm raised against the old baseline is held
        against the new one with the last measurement, and clears when it no longer holds (a
        mistyped baseline's alarm ends with its amendment). A new alarm needs a new measurement.
        """
        base: dict[str, float] = {}
        for code, v in values.items():
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                base[str(code)] = float(v)
        if base == self._baseline:
            return
        self._baseline = base
        now, wall = self.clock.monotonic(), self.clock.now()
        for code, (dev, _t, value) in list(self._last_measurement.items()):
            for t in self._limit_tracks.get(code, ()):
                if t.limit is None or (t.limit.above_baseline is None
                                       and t.limit.below_baseline is None):
                    continue
                if t.alarm is None:
                    continue
                cond, values_ = self._evaluate_limit(t.limit, value, dev)
                if cond is not _Cond.VIOLATING:
                    self._clear(t, now, wall, "the baseline changed: no longer beyond the limit",
                                values=values_)

    def unevaluable(self) -> list[AlarmLimit]:
        """Limits relative to baseline that cannot be evaluated because the baseline is missing."""
        return [t.limit for t in self._tracks.values()
                if t.limit is not None and self._threshold(t.limit) is None]

    def set_patient(self, ids: Iterable[str] | None) -> None:
        """The identities the visit's patient may carry on a device (the MRN...); None or empty
        when the chair has no visit. A device reporting another patient raises an alarm."""
        self._patient_ids = frozenset(n for n in (_norm_id(i) for i in ids or ()) if n)
        now, wall = self.clock.monotonic(), self.clock.now()
        for dev, d in list(self._devices.items()):
            if d.patient_id is not None or f"patient_mismatch:{dev or 'device'}" in self._tracks:
                self._eval_patient(dev, now, wall)

    def set_bp_due(self, due_mono: float | None) -> None:
        """The vitals schedule's deadline (monotonic) for the next blood pressure, or None.

        If no usable NBP measurement arrives between this call and the deadline, a technical
        alarm is raised; a measurement clears it. Call again with the next deadline after each
        measurement; ``None`` (no schedule, visit over) clears the alarm.
        """
        self._bp_due = due_mono
        self._bp_seen = False
        self._eval_bp(self.clock.monotonic(), self.clock.now())

    def set_chart(self, charted: str | None, charted_volume_ml: float | None = None) -> None:
        """What the chart says the infusion is doing (``core.pumpchanges.CHART_STATES``) and the
        volume the charted dose amounts to. The pump is compared with it (a technical alarm,
        ``[alarms.technical] pump_chart_mismatch``); ``None`` (no visit) clears the alarm."""
        self._chart_state = charted
        self._chart_volume_ml = charted_volume_ml
        self._eval_pump_chart(self.clock.monotonic(), self.clock.now())

    def ingest(self, readings: Iterable[Reading]) -> None:
        """Feed a batch of readings. Changes come out of the next :meth:`update`."""
        now, wall = self.clock.monotonic(), self.clock.now()
        dirty: dict[tuple[str, str | None], None] = {}  # technical conditions to re-evaluate
        for r in readings:
            if r.chair is not None and r.chair != self.chair:
                continue
            self._ingest_one(r, now, wall, dirty)
        # once per batch, so an alarm carries the whole frame's detail (state and alarm text)
        for what, dev in dirty:
            if what == "sensor":
                self._eval_sensor(dev, now, wall)
            elif what == "device_alarms":
                self._eval_device_alarms(dev, now, wall)
            else:
                self._eval_pump(dev, now, wall)
                self._eval_pump_chart(now, wall)

    def update(self) -> list[AlarmChange]:
        """Run the timers (onset delays, pause expiry, escalation, BP deadline); return changes."""
        now, wall = self.clock.monotonic(), self.clock.now()
        if self._paused_until is not None and now >= self._paused_until:
            at = self._paused_until
            self._paused_until = None
            self._emit(ChangeKind.AUDIO_RESUMED, None, at, self._wall_at(at, now, wall),
                       reason="audio pause ended")
            self._paused_by = None
        for t in list(self._tracks.values()):
            if (t.alarm is None and t.pending_mono is not None
                    and now - t.pending_mono >= t.delay_s):
                self._raise(t, now, wall)
        self._eval_bp(now, wall)
        for t in self._tracks.values():
            a = t.alarm
            if (a is not None and a.priority == "high" and a.unacknowledged and not a.escalated
                    and now - a.onset_mono >= self.config.escalate_after_s):
                t.alarm = replace(a, escalated=True, escalated_at=wall)
                self._emit(ChangeKind.ESCALATED, t.alarm, now, wall,
                           values={"unacknowledged_s": round(now - a.onset_mono, 3)})
        out, self._changes = self._changes, []
        return out

    def acknowledge(self, alarm_id: str | None, user: str) -> list[Alarm]:
        """Acknowledge one alarm, or every unacknowledged alarm of the chair (``alarm_id=None``).

        Returns the alarms acknowledged (empty when there was nothing to do, e.g. the alarm
        already cleared). A latched alarm is cleared by acknowledging it.
        """
        if not user or not user.strip():
            raise ValueError("acknowledging an alarm needs the user's name")
        now, wall = self.clock.monotonic(), self.clock.now()
        done = []
        for t in self._tracks.values():
            a = t.alarm
            if a is None or not a.unacknowledged or (alarm_id is not None and a.id != alarm_id):
                continue
            acked = replace(a, state=AlarmState.ACKNOWLEDGED, acknowledged_by=user,
                            acknowledged_at=wall)
            t.alarm = acked
            self._emit(ChangeKind.ACKNOWLEDGED, acked, now, wall, values=dict(a.last_values),
                       user=user)
            done.append(acked)
            if not a.condition_present:
                self._clear(t, now, wall, "acknowledged after the condition ended", user=user)
        return done

    def pause_audio(self, user: str) -> float:
        """Silence the chair for ``audio_pause_s`` (visual signals stay). Returns the end time.

        Pausing again while paused restarts the pause from now.
        """
        if not user or not user.strip():
            raise ValueError("pausing alarm audio needs the user's name")
        now, wall = self.clock.monotonic(), self.clock.now()
        self._paused_until = now + self.config.audio_pause_s
        self._paused_by = user
        self._emit(ChangeKind.AUDIO_PAUSED, None, now, wall, user=user,
                   values={"pause_s": self.config.audio_pause_s,
                           "until": wall + timedelta(seconds=self.config.audio_pause_s)})
        return self._paused_until

    def resume_audio(self, user: str) -> None:
        """End an audio pause early."""
        if self._paused_until is None or self.clock.monotonic() >= self._paused_until:
            return
        self._paused_until, self._paused_by = None, None
        self._emit(ChangeKind.AUDIO_RESUMED, None, self.clock.monotonic(), self.clock.now(),
                   user=user, reason="audio pause ended by the user")

    # ------------------------------------------------------------------ queries

    def active(self) -> list[Alarm]:
        """Alarms to show (active, latched, acknowledged): by priority, unacknowledged first,
        then oldest first."""
        alarms = [t.alarm for t in self._tracks.values() if t.alarm is not None]
        alarms.sort(key=lambda a: (PRIORITY_RANK.get(a.priority, 9), not a.unacknowledged,
                                   a.onset_mono, a.seq))
        return alarms

    def highest(self) -> Alarm | None:
        alarms = self.active()
        return alarms[0] if alarms else None

    @property
    def paused_until(self) -> float | None:
        """Monotonic end of the audio pause, or None when not paused."""
        if self._paused_until is not None and self.clock.monotonic() < self._paused_until:
            return self._paused_until
        return None

    def audio_state(self) -> AudioState:
        """Which priority pattern should sound now: the highest unacknowledged alarm's, unless
        the audio is paused."""
        now, wall = self.clock.monotonic(), self.clock.now()
        until = self.paused_until
        if until is not None:
            return AudioState(None, True, until, self._wall_at(until, now, wall), self._paused_by)
        loud = [a for a in self.active() if a.unacknowledged]
        return AudioState(loud[0].priority if loud else None, False, None, None, None)

    # ------------------------------------------------------------------ readings

    def _device(self, dev: str | None) -> _Device:
        d = self._devices.get(dev)
        if d is None:
            d = self._devices[dev] = _Device()
        return d

    def _ingest_one(self, r: Reading, now: float, wall: datetime,
                    dirty: dict[tuple[str, str | None], None]) -> None:
        code, dev = str(r.code), r.device_id
        if code == Code.DEVICE_OFFLINE:
            # the link reports silent/offline; "stopped" is the app closing the port on purpose
            # (no alarm then), but either way the device's values are no longer known
            self._device(dev).offline = r.extra.get("health") != "stopped"
            # the values this device gave are no longer known: no onset completes on them
            for c, d in self._code_device.items():
                if d == dev:
                    for t in self._limit_tracks.get(c, ()):
                        self._apply(t, _Cond.HOLD, {}, now, wall)
            self._eval_offline(dev, now, wall, _text(r.value))
            if self._device(dev).alarms:  # what it listed is no longer known
                self._device(dev).alarms = {}
                self._eval_device_alarms(dev, now, wall)
            return
        device = self._device(dev)
        if device.offline:  # anything else from the device means it is talking again
            device.offline = False
            self._eval_offline(dev, now, wall, None)
        if code == Code.DEVICE_ONLINE:
            return
        if code == Code.SENSOR_OFF:
            device.sensor_off_status = _text(r.value) or "sensor off"
            dirty[("sensor", dev)] = None
            return
        if code == Code.DEVICE_PATIENT:
            device.patient_id = _text(r.value)
            self._eval_patient(dev, now, wall)
            return
        if code == Code.DEVICE_ALARM:
            listed = r.extra.get("device_alarms")
            if isinstance(listed, tuple | list):
                device.alarms = {a.key: a for a in listed if isinstance(a, DeviceAlarm)}
                dirty[("device_alarms", dev)] = None
            return
        if code in NUMERIC_CODES or code in WAVE_CODES:
            if Quality.SENSOR_OFF in r.quality:
                device.sensor_off_codes.add(code)
                dirty[("sensor", dev)] = None
            elif code in device.sensor_off_codes or (
                device.sensor_off_status is not None and code in _OXIMETRY_CODES
            ):
                device.sensor_off_codes.discard(code)
                if code in _OXIMETRY_CODES or not device.sensor_off_codes:
                    device.sensor_off_status = None
                dirty[("sensor", dev)] = None
        if code == Code.PUMP_STATE:
            if isinstance(r.value, str) and not (r.quality & UNUSABLE):
                device.pump_state = r.value.strip().lower()
                device.pump_state_alarm = device.pump_state == PumpState.ALARM
                dirty[("pump", dev)] = None
            return
        if code == Code.PUMP_VI:
            vi = _number(r)
            if vi is not None:
                device.pump_vi_ml = vi
                dirty[("pump", dev)] = None
            return
        if code == Code.PUMP_ALARM:
            if not (r.quality & UNUSABLE) and (r.value is None or isinstance(r.value, str)):
                device.pump_alarm_text = _text(r.value)
                dirty[("pump", dev)] = None
            return
        if code not in NUMERIC_CODES:
            return
        value = _number(r)
        if code in NBP_CODES:
            if value is None:
                return  # an unusable measurement is no measurement: nothing changes
            ident = (dev, r.device_time, value)
            if self._last_measurement.get(code) == ident:
                return  # the same measurement repeated
            self._last_measurement[code] = ident
            self._bp_seen = True
            self._eval_bp(now, wall)
        self._code_device[code] = dev
        for t in self._limit_tracks.get(code, ()):
            cond, values = self._evaluate_limit(t.limit, value, dev)
            if (code in NBP_CODES and cond is _Cond.VIOLATING and t.alarm is not None
                    and t.alarm.state is AlarmState.ACKNOWLEDGED):
                self._clear(t, now, wall, "superseded by a new measurement still beyond the limit",
                            values=values)
            self._apply(t, cond, values, now, wall)

    def _threshold(self, limit: AlarmLimit) -> float | None:
        if limit.below is not None:
            return limit.below
        if limit.above is not None:
            return limit.above
        base = self._baseline.get(limit.code)
        if base is None:
            return None
        if limit.above_baseline is not None:
            return base + limit.above_baseline
        if limit.below_baseline is not None:
            return base - limit.below_baseline
        return None

    def _evaluate_limit(self, limit: AlarmLimit | None, value: float | None,
                        dev: str | None) -> tuple[_Cond, dict[str, Any]]:
        if limit is None:
            return _Cond.HOLD, {}
        threshold = self._threshold(limit)
        if value is None or threshold is None:
            return _Cond.HOLD, {}
        values: dict[str, Any] = {"value": value, "threshold": threshold}
        if limit.above_baseline is not None or limit.below_baseline is not None:
            values["baseline"] = self._baseline.get(limit.code)
        if dev is not None:
            values["device"] = dev
        h = limit.clear_hysteresis
        if limit.below is not None or limit.below_baseline is not None:
            if value < threshold:
                return _Cond.VIOLATING, values
            return (_Cond.CLEAR if value >= threshold + h else _Cond.HOLD), values
        if value > threshold:
            return _Cond.VIOLATING, values
        return (_Cond.CLEAR if value <= threshold - h else _Cond.HOLD), values

    # ------------------------------------------------------------------ technical conditions

    def _tech_track(self, key: str, code: str, priority: str, rule: str, source: str,
                    delay_s: float) -> _Track:
        t = self._tracks.get(key)
        if t is None:
            t = self._tracks[key] = _Track(key=key, code=code, kind=AlarmKind.TECHNICAL,
                                           priority=priority, rule=rule, source=source,
                                           delay_s=delay_s)
        return t

    def _eval_offline(self, dev: str | None, now: float, wall: datetime,
                      detail: str | None) -> None:
        tech = self.config.technical
        name = dev or "device"
        t = self._tech_track(
            f"device_offline:{name}", Code.DEVICE_OFFLINE, tech.device_offline,
            f"DEVICE_OFFLINE: {name} sends no data",
            "protocol file [alarms.technical] device_offline", tech.device_offline_delay_s)
        offline = self._device(dev).offline
        values: dict[str, Any] = {"device": name}
        if detail:
            values["detail"] = detail
        self._apply(t, _Cond.VIOLATING if offline else _Cond.CLEAR, values, now, wall)

    def _eval_sensor(self, dev: str | None, now: float, wall: datetime) -> None:
        tech = self.config.technical
        name = dev or "device"
        d = self._device(dev)
        t = self._tech_track(
            f"sensor_off:{name}", Code.SENSOR_OFF, tech.sensor_off,
            f"SENSOR_OFF: {name} sensor off", "protocol file [alarms.technical] sensor_off",
            tech.sensor_off_delay_s)
        on = d.sensor_off_status is not None or bool(d.sensor_off_codes)
        values: dict[str, Any] = {"device": name}
        if d.sensor_off_status:
            values["detail"] = d.sensor_off_status
        if d.sensor_off_codes:
            values["codes"] = sorted(d.sensor_off_codes)
        self._apply(t, _Cond.VIOLATING if on else _Cond.CLEAR, values, now, wall)

    def _eval_pump(self, dev: str | None, now: float, wall: datetime) -> None:
        tech = self.config.technical
        name = dev or "pump"
        d = self._device(dev)
        t = self._tech_track(
            f"pump_alarm:{name}", Code.PUMP_ALARM, tech.pump_alarm,
            f"PUMP_ALARM: {name} reports an alarm", "protocol file [alarms.technical] pump_alarm",
            0.0)
        on = d.pump_state_alarm or d.pump_alarm_text is not None
        values: dict[str, Any] = {"device": name}
        if d.pump_alarm_text:
            values["pump_alarm"] = d.pump_alarm_text
        if d.pump_state_alarm:
            values["pump_state"] = str(PumpState.ALARM)
        self._apply(t, _Cond.VIOLATING if on else _Cond.CLEAR, values, now, wall)

    def _eval_pump_chart(self, now: float, wall: datetime) -> None:
        key = "pump_chart"
        if self._chart_state is None and key not in self._tracks:
            return
        tech = self.config.technical
        t = self._tech_track(
            key, "PUMP_CHART", tech.pump_chart_mismatch,
            "PUMP_CHART: the pump disagrees with the chart",
            "protocol file [alarms.technical] pump_chart_mismatch",
            tech.pump_chart_mismatch_delay_s)
        pumps = [d for d in self._devices.values() if d.pump_state is not None
                 or d.pump_vi_ml is not None]
        found: list[ChartPumpMismatch] = []
        if self._chart_state is not None and pumps:
            # a chair has one pump; if a config names more, any of them disagreeing counts
            for d in pumps:
                found.extend(chart_pump_mismatch(
                    self._chart_state, None if d.offline else d.pump_state,
                    pump_vi_ml=None if d.offline else d.pump_vi_ml,
                    charted_volume_ml=self._chart_volume_ml,
                    over_delivery_ml=tech.pump_over_delivery_ml))
        values: dict[str, Any] = {"chart": self._chart_state or "no visit"}
        if found:
            values["detail"] = "; ".join(m.message for m in found)
            values["kinds"] = [m.kind for m in found]
        self._apply(t, _Cond.VIOLATING if found else _Cond.CLEAR, values, now, wall)

    def _covered(self, alarm: DeviceAlarm) -> bool:
        """One of our own limits judges the same condition: a limit on the same code in the
        same direction (the device's values reach those rules too, with the clinic's limits
        and delays from the protocol file)."""
        if alarm.kind != AlarmKind.PHYSIOLOGICAL or not alarm.code or not alarm.direction:
            return False
        for t in self._limit_tracks.get(alarm.code, ()):
            if t.limit is None:
                continue
            low = t.limit.below is not None or t.limit.below_baseline is not None
            if alarm.direction == ("low" if low else "high"):
                return True
        return False

    def _eval_device_alarms(self, dev: str | None, now: float, wall: datetime) -> None:
        name = dev or "device"
        d = self._device(dev)
        present: set[str] = set()
        for a in d.alarms.values():
            key = f"{DEVICE_ALARM_KEY}{name}:{a.key}"
            present.add(key)
            d.alarm_keys.add(key)
            kind = AlarmKind.PHYSIOLOGICAL if a.kind == "physiological" else AlarmKind.TECHNICAL
            t = self._tracks.get(key)
            if t is None:
                t = self._tracks[key] = _Track(
                    key=key, code=a.code or Code.DEVICE_ALARM, kind=kind,
                    priority=a.priority if a.priority in PRIORITY_RANK else "medium",
                    rule=f"{Code.DEVICE_ALARM}: {name} reports {a.text}",
                    source=f"the device's own alarm ({name})", delay_s=0.0)
            values: dict[str, Any] = {"device": name, "device_alarm": a.text}
            if self._covered(a):
                # our own rule judges the same condition: one alarm (ours, with its rule and
                # the protocol's delay), not two; the device's list stays in the record
                continue
            self._apply(t, _Cond.VIOLATING, values, now, wall)
        for key in d.alarm_keys - present:
            t = self._tracks.get(key)
            if t is not None:
                self._apply(t, _Cond.CLEAR, {"device": name}, now, wall)

    def _eval_patient(self, dev: str | None, now: float, wall: datetime) -> None:
        name = dev or "device"
        t = self._tech_track(
            f"patient_mismatch:{name}", "PATIENT_MISMATCH", "medium",
            f"PATIENT_MISMATCH: {name} has another patient admitted than this visit's",
            "station rule: a device's admitted patient must be the visit's (medium)", 0.0)
        pid = self._device(dev).patient_id
        wrong = bool(self._patient_ids) and pid is not None \
            and _norm_id(pid) not in self._patient_ids
        values: dict[str, Any] = {"device": name, "device_patient": pid}
        self._apply(t, _Cond.VIOLATING if wrong else _Cond.CLEAR, values, now, wall)

    def _eval_bp(self, now: float, wall: datetime) -> None:
        due = self._bp_due
        key = "no_bp"
        if due is None and key not in self._tracks:
            return
        tech = self.config.technical
        t = self._tech_track(
            key, "NO_BP", tech.no_bp_within_schedule,
            "NO_BP: no blood pressure by the scheduled time",
            "protocol file [schedule] and [alarms.technical] no_bp_within_schedule", 0.0)
        overdue = due is not None and now >= due and not self._bp_seen
        values: dict[str, Any] = {}
        if due is not None:
            values["due_at"] = self._wall_at(due, now, wall)
            if overdue:
                values["overdue_s"] = round(now - due, 3)
        self._apply(t, _Cond.VIOLATING if overdue else _Cond.CLEAR, values, now, wall)

    # ------------------------------------------------------------------ state machine

    def _apply(self, t: _Track, cond: _Cond, values: dict[str, Any], now: float,
               wall: datetime) -> None:
        a = t.alarm
        if cond is _Cond.VIOLATING:
            if a is None:
                if t.pending_mono is None:
                    t.pending_mono, t.pending_wall = now, wall
                t.pending_values = dict(values)
                if now - t.pending_mono >= t.delay_s:
                    self._raise(t, now, wall)
                return
            if a.state is AlarmState.LATCHED:
                t.alarm = replace(a, state=AlarmState.ACTIVE, condition_present=True,
                                  last_values=dict(values))
                self._emit(ChangeKind.REACTIVATED, t.alarm, now, wall, values=values)
            else:
                t.alarm = replace(a, condition_present=True, last_values=dict(values))
            return
        # not violating (or unknown): an onset in progress starts over
        t.pending_mono, t.pending_wall, t.pending_values = None, None, {}
        if cond is _Cond.HOLD or a is None:
            return
        if values:
            a = t.alarm = replace(a, last_values=dict(values))
        if not a.condition_present:
            return
        if a.state is AlarmState.ACTIVE and a.priority == "high" and self.config.latch_high:
            t.alarm = replace(a, state=AlarmState.LATCHED, condition_present=False)
            self._emit(ChangeKind.LATCHED, t.alarm, now, wall, values=values,
                       reason="condition ended; latched until acknowledged")
            return
        t.alarm = replace(a, condition_present=False)
        self._clear(t, now, wall, "condition ended", values=values)

    def _raise(self, t: _Track, now: float, wall: datetime) -> None:
        seq = next(self._seq)
        since = t.pending_mono if t.pending_mono is not None else now
        a = Alarm(
            id=f"{self._id_prefix}-{seq}", chair=self.chair, code=t.code, kind=t.kind,
            priority=t.priority, rule=t.rule, source=t.source, key=t.key, delay_s=t.delay_s,
            values=dict(t.pending_values), condition_since_mono=since,
            condition_since_wall=t.pending_wall or wall, onset_mono=now, onset_wall=wall,
            last_values=dict(t.pending_values),
            device_id=t.pending_values.get("device"), seq=seq, visit_id=self._visit_id,
        )
        t.alarm = a
        t.pending_mono, t.pending_wall, t.pending_values = None, None, {}
        self._emit(ChangeKind.RAISED, a, now, wall, values=a.values)
        if a.priority == "high" and self._paused_until is not None and now < self._paused_until:
            self._paused_until, self._paused_by = None, None
            self._emit(ChangeKind.AUDIO_RESUMED, None, now, wall, values={"alarm": a.id},
                       reason="a new high-priority alarm ends the audio pause")

    def _clear(self, t: _Track, now: float, wall: datetime, reason: str, *,
               values: Mapping[str, Any] | None = None, user: str | None = None) -> None:
        a = t.alarm
        if a is None:
            return
        cleared = replace(a, state=AlarmState.CLEARED, cleared_at=wall)
        t.alarm = None
        self._emit(ChangeKind.CLEARED, cleared, now, wall,
                   values=dict(values) if values else dict(a.last_values), user=user,
                   reason=reason)

    def _emit(self, kind: ChangeKind, alarm: Alarm | None, now: float, wall: datetime, *,
              values: Mapping[str, Any] | None = None, user: str | None = None,
              reason: str = "") -> None:
        visit = alarm.visit_id if alarm is not None else self._visit_id
        self._changes.append(AlarmChange(kind, self.chair, now, wall, alarm,
                                         dict(values or {}), user, reason, visit))

    @staticmethod
    def _wall_at(mono: float, now: float, wall: datetime) -> datetime:
        return wall - timedelta(seconds=now - mono)


# ------------------------------------------------------------------ words for a nurse

def _amount(code: str, value: Any) -> str:
    """``88 %``, ``182 mmHg``, ``8/min``, ``36.1 °C``: a value with its unit."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    digits = 1 if code in (Code.TEMP, Code.PI) else 0
    number = f"{value:.{digits}f}"
    unit = UNITS.get(code, "")
    if not unit:
        return number
    return f"{number}{unit}" if unit.startswith("/") else f"{number} {unit}"


def _limit_number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) \
        else str(value)


def alarm_message(alarm: Alarm, device_labels: Mapping[str, str] | None = None) -> str:
    """The alarm in the words a nurse reads, from its rule and values: ``SpO₂ 88 % — below 90``,
    ``Systolic BP 182 mmHg — above 160 (baseline 120 + 40)``, ``Monitor sends no data``.

    The one place an alarm becomes text: tiles, the alarm banner, the overview and the record
    all show this. ``device_labels`` maps a device id to its label ("Monitor", "Pump") when the
    caller knows it; otherwise the id is named.
    """
    labels = device_labels or {}
    last = dict(alarm.last_values) or dict(alarm.values)
    device = alarm.device_id or last.get("device") or alarm.values.get("device")
    who = labels.get(str(device), str(device)) if device else "A device"
    if alarm.key.startswith(DEVICE_ALARM_KEY):
        # the device's own alarm, in the device's words: "Oximeter: SpO2 low"
        said = alarm.values.get("device_alarm") or last.get("device_alarm")
        return f"{who}: {said}" if said else alarm.rule
    if alarm.kind is AlarmKind.TECHNICAL:
        detail = last.get("detail")
        if alarm.code == Code.DEVICE_OFFLINE:
            return f"{who} sends no data" + (f" ({detail})" if detail else "")
        if alarm.code == Code.SENSOR_OFF:
            return f"{who}: sensor off" + (f" ({detail})" if detail and detail != "sensor off"
                                           else "")
        if alarm.code == Code.PUMP_ALARM:
            text = last.get("pump_alarm")
            return f"Pump alarm: {text}" if text else "Pump reports an alarm"
        if alarm.code == "NO_BP":
            overdue = last.get("overdue_s")
            if isinstance(overdue, int | float) and overdue >= 60:
                return f"Blood pressure overdue by {int(overdue // 60)} min"
            return "Blood pressure overdue"
        if alarm.code == "PUMP_CHART":
            return "Pump and chart disagree" + (f": {detail}" if detail else "")
        return alarm.rule
    name = display_name(alarm.code)
    onset = dict(alarm.values)
    threshold = onset.get("threshold", last.get("threshold"))
    below = " < " in alarm.rule
    words = f"{'below' if below else 'above'} {_limit_number(threshold)}"
    base = onset.get("baseline")
    if base is not None:
        rel = alarm.rule.rsplit(" ", 1)[-1]
        words += f" (baseline {_limit_number(base)} {'-' if below else '+'} {rel})"
    value = onset.get("value")
    now = last.get("value")
    if alarm.condition_present and now is not None:
        return f"{name} {_amount(alarm.code, now)} — {words}"
    if value is None:
        return f"{name} {words}"
    text = f"{name} was {_amount(alarm.code, value)} — {words}"
    if now is not None and now != value:
        text += f"; now {_amount(alarm.code, now)}"
    return text
