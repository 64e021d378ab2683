"""Masimo Rad-8 / Radical-7 / Radical-5 pulse oximeters: the serial "ASCII 1" output.

9600 baud 8N1, receive only: the oximeter prints one line a second, ending CR LF, e.g.

    02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ... ALARM=0000 EXC=000800

The Radical-5 prints fewer fields (``ALARM=20 EXC=800``); the Radical-7 adds ``PVI=027``; newer
Radical-7 firmware prints PI without ``%``, adds ``SPHB=``, ``SPOC=`` and ``RESVD=`` fields and ends
the line with a second exception word ``EXC1=00000000``. Dashes mean "no value" and become ``None``
with the *unavailable* flag, never zero.

ALARM and EXC are hexadecimal bit fields; their meanings come from the operator's manual and agree
with the public OpenICE (mdpnp) Radical driver's tables. Every alarm bit and every exception bit
that is a problem becomes a :class:`DeviceAlarm` (the complete list, each line) that the station
raises; exceptions that make a value doubtful mark it *questionable*, those that make it
meaningless mark it *invalid*. "No sensor" / "sensor off" stay the station's own SENSOR_OFF.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from nursestation.core.readings import DeviceAlarm, Reading
from nursestation.core.vocabulary import UNITS, Code, Quality
from nursestation.devices.base import Decoder, DecoderStats, DeviceSession, Simulator
from nursestation.sim.scenarios import Scenario

BAUDRATE = 9600
#: a line is ~130-150 bytes; anything much longer without a line end is not ASCII 1
MAX_LINE = 512
#: unreadable lines in a row before the diagnostic (a first, partial line is normal)
DIAGNOSTIC_AFTER = 3
#: while only unreadable lines arrive, repeat the diagnostic every this many lines (~1 a minute)
DIAGNOSTIC_EVERY = 60
#: the device's alarm list is reported when it changes, and repeated every this many lines
ALARMS_REPEAT_EVERY = 30
DIAGNOSTIC_TEXT = (
    "pulse oximeter output not readable: set the oximeter's serial output to ASCII 1 "
    "(9600 baud)"
)

# --- ALARM / EXC bits -------------------------------------------------------------------------
# (operator's manual, "serial output"; the OpenICE Radical driver's tables agree)
ALARM_SPO2_HIGH = 0x0001
ALARM_SPO2_LOW = 0x0002
ALARM_PR_HIGH = 0x0004
ALARM_PR_LOW = 0x0008
ALARM_ACTIVE = 0x0010  # status: an alarm is active (not an alarm of its own)
ALARM_SILENCED = 0x0020  # status: alarms silenced
ALARM_LOW_BATTERY = 0x0040
ALARM_SPCO_HIGH = 0x0100
ALARM_SPCO_LOW = 0x0200
ALARM_SPMET_HIGH = 0x0400
ALARM_SPMET_LOW = 0x0800
ALARM_DESAT_INDEX = 0x1000
ALARM_PI_DELTA = 0x2000

EXC_NO_SENSOR = 0x000001
EXC_DEFECTIVE_SENSOR = 0x000002
EXC_LOW_PERFUSION = 0x000004
EXC_PULSE_SEARCH = 0x000008
EXC_INTERFERENCE = 0x000010
EXC_SENSOR_OFF = 0x000020
EXC_AMBIENT_LIGHT = 0x000040
EXC_UNRECOGNIZED_SENSOR = 0x000080
EXC_INCOMPATIBLE_SENSOR = 0x000100
EXC_LOW_SIGNAL_IQ = 0x000400
EXC_SET_MODE = 0x000800  # "Masimo SET" mode: normal operation
EXC_NO_CABLE = 0x001000
EXC_CABLE_EXPIRED = 0x002000
EXC_INCOMPATIBLE_CABLE = 0x004000
EXC_UNRECOGNIZED_CABLE = 0x008000
EXC_DEFECTIVE_CABLE = 0x010000
EXC_SENSOR_CALIBRATING = 0x020000  # sensor initialising
EXC_SENSOR_EXPIRED = 0x040000
EXC_EMITTER_TEMP = 0x080000
EXC_SENSOR_CURRENT = 0x100000
EXC_SPCO_LOW_CONFIDENCE = 0x200000
EXC_SPMET_LOW_CONFIDENCE = 0x400000

#: alarm bit -> (wording, priority, code it concerns, direction). The oximeter does not say a
#: priority; a desaturation and pulse-rate limits are high as on the device, the rest medium.
ALARM_BITS: dict[int, tuple[str, str, str, str]] = {
    ALARM_SPO2_HIGH: ("SpO2 high", "medium", Code.SPO2, "high"),
    ALARM_SPO2_LOW: ("SpO2 low", "high", Code.SPO2, "low"),
    ALARM_PR_HIGH: ("pulse rate high", "high", Code.PR, "high"),
    ALARM_PR_LOW: ("pulse rate low", "high", Code.PR, "low"),
    ALARM_SPCO_HIGH: ("SpCO high", "medium", "", "high"),
    ALARM_SPCO_LOW: ("SpCO low", "medium", "", "low"),
    ALARM_SPMET_HIGH: ("SpMet high", "medium", "", "high"),
    ALARM_SPMET_LOW: ("SpMet low", "medium", "", "low"),
    ALARM_DESAT_INDEX: ("desaturation index", "medium", Code.SPO2, ""),
    ALARM_PI_DELTA: ("PI rate of change", "medium", Code.PI, ""),
}

#: exception bit -> (wording, what it does to SpO2/PR/PI: "questionable", "invalid" or "",
#: raised as a technical condition?)
EXC_BITS: dict[int, tuple[str, str, bool]] = {
    EXC_DEFECTIVE_SENSOR: ("defective sensor", "invalid", True),
    EXC_LOW_PERFUSION: ("low perfusion", "questionable", False),
    EXC_PULSE_SEARCH: ("pulse search", "questionable", False),
    EXC_INTERFERENCE: ("interference", "questionable", True),
    EXC_AMBIENT_LIGHT: ("ambient light", "questionable", True),
    EXC_UNRECOGNIZED_SENSOR: ("unrecognised sensor", "invalid", True),
    EXC_INCOMPATIBLE_SENSOR: ("incompatible sensor", "invalid", True),
    EXC_LOW_SIGNAL_IQ: ("low signal IQ", "questionable", True),
    EXC_NO_CABLE: ("no cable connected", "invalid", True),
    EXC_CABLE_EXPIRED: ("cable life expired", "", True),
    EXC_INCOMPATIBLE_CABLE: ("incompatible cable", "invalid", True),
    EXC_UNRECOGNIZED_CABLE: ("unrecognised cable", "invalid", True),
    EXC_DEFECTIVE_CABLE: ("defective cable", "invalid", True),
    EXC_SENSOR_CALIBRATING: ("sensor initialising", "calibrating", False),
    EXC_SENSOR_EXPIRED: ("sensor life expired", "", True),
    EXC_EMITTER_TEMP: ("emitter temperature out of range", "invalid", True),
    EXC_SENSOR_CURRENT: ("sensor current limit exceeded", "invalid", True),
    EXC_SPCO_LOW_CONFIDENCE: ("SpCO low confidence", "", False),
    EXC_SPMET_LOW_CONFIDENCE: ("SpMet low confidence", "", False),
}
_EXC_QUALITY = {"questionable": Quality.QUESTIONABLE, "invalid": Quality.INVALID,
                "calibrating": Quality.CALIBRATING}

_DATETIME = re.compile(rb"(\d{2})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_FIELD = re.compile(r"([A-Z][A-Z0-9]*)=(\S*)")
_DASHES = re.compile(r"-+(?:\.-+)?%?")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def _value(raw: str) -> float | None:
    """``098%`` → 98.0; dashes or anything else unreadable → None."""
    m = _NUMBER.fullmatch(raw.rstrip("%"))
    return float(m.group(0)) if m else None


def _hex(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw, 16)
    except ValueError:
        return None


class MasimoDecoder(Decoder):
    """ASCII 1 lines → SPO2, PR, PI readings (+ SENSOR_OFF, DEVICE_ALARM, DIAGNOSTIC)."""

    def __init__(self, device_tz: tzinfo | None = None) -> None:
        super().__init__()
        self._buf = bytearray()
        self._bad_run = 0  # consecutive unreadable lines
        self._listed: tuple[DeviceAlarm, ...] | None = None  # last alarm list reported
        self._listed_age = 0  # lines since it was reported
        #: the zone the oximeter's clock is set to (default: this workstation's local zone)
        self.device_tz = device_tz

    def feed(self, data: bytes) -> list[Reading]:
        out: list[Reading] = []
        self._buf += data
        while True:
            nl = self._buf.find(b"\n")
            cr = self._buf.find(b"\r")
            ends = [i for i in (nl, cr) if i >= 0]
            if not ends:
                break
            end = min(ends)
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            if line:
                out.extend(self._line(line))
        if len(self._buf) > MAX_LINE:
            # No line end in sight: keep only a tail that may still start a real line.
            keep = self._buf[-MAX_LINE // 2 :]
            self.stats.bytes_skipped += len(self._buf) - len(keep)
            self._buf = bytearray(keep)
        return out

    # -- one line ------------------------------------------------------------------------------
    def _line(self, line: bytes) -> list[Reading]:
        # Resynchronise: a line starts with its date and time; noise before it is skipped.
        device_time = None
        starts = list(_DATETIME.finditer(line))
        if starts:
            m = starts[-1]
            if m.start():
                self.stats.bytes_skipped += m.start()
            line = line[m.start() :]
            mo, dd, yy, hh, mi, ss = (int(g) for g in m.groups())
            try:
                # The oximeter's own clock, set to local time and often wrong: read in the
                # device's zone and kept in UTC, next to the link's UTC receive time.
                printed = datetime(2000 + yy, mo, dd, hh, mi, ss)
                if self.device_tz is None:
                    device_time = printed.astimezone().astimezone(UTC)
                else:
                    device_time = printed.replace(tzinfo=self.device_tz).astimezone(UTC)
            except ValueError:
                device_time = None
        text = line.decode("ascii", errors="replace").strip()
        fields = dict(_FIELD.findall(text))
        if not self._complete(text, fields):
            return self._reject(len(line), other_mode=not self._ascii1_shape(fields))
        self.stats.frames_accepted += 1
        self._bad_run = 0

        alarm = _hex(fields.get("ALARM")) or 0
        exc = _hex(fields.get("EXC")) or 0
        common: set[str] = set()
        sensor_off_reason = None
        if exc & EXC_NO_SENSOR:
            sensor_off_reason = "no sensor"
        elif exc & EXC_SENSOR_OFF:
            sensor_off_reason = "sensor off"
        if sensor_off_reason:
            common.add(Quality.SENSOR_OFF)
        listed: list[DeviceAlarm] = []
        for bit, (words, effect, raise_it) in EXC_BITS.items():
            if not exc & bit:
                continue
            if effect:
                common.add(_EXC_QUALITY[effect])
            if bit == EXC_LOW_PERFUSION:
                common.add(Quality.LOW_PERFUSION)
            elif bit == EXC_PULSE_SEARCH:
                common.add(Quality.PULSE_SEARCH)
            if raise_it:
                listed.append(DeviceAlarm(f"exc:{bit:#08x}", words, "technical",
                                          "medium", Code.SPO2))
        for bit, (words, priority, code, direction) in ALARM_BITS.items():
            if alarm & bit:
                listed.append(DeviceAlarm(f"alarm:{bit:#06x}", words,
                                          "physiological", priority, code, direction))
        if alarm & ALARM_LOW_BATTERY:
            listed.append(DeviceAlarm("alarm:0x0040", "battery low", "technical",
                                      "medium"))
        extra: dict = {"alarm_bits": alarm, "exc_bits": exc}
        if alarm & ALARM_SILENCED:
            extra["alarm_silenced"] = True
        if "EXC1" in fields:  # newer firmware's second exception word: meanings not published
            extra["exc1_bits"] = _hex(fields["EXC1"])
        for name in ("PVI", "SPHB", "SPOC", "SPCO", "SPMET"):  # no canonical codes: detail only
            if name in fields:
                extra[name.lower()] = _value(fields[name])
        if device_time is not None:
            extra["device_clock"] = "oximeter local time, unsynchronised"

        out: list[Reading] = []
        for label, code in (("SPO2", Code.SPO2), ("BPM", Code.PR), ("PI", Code.PI)):
            if label not in fields:
                continue
            value = _value(fields[label])
            quality = set(common)
            if value is None:
                quality.add(Quality.UNAVAILABLE)
            if any(alarm & bit and c == code for bit, (_w, _p, c, _d) in ALARM_BITS.items()):
                quality.add(Quality.IN_ALARM)
            out.append(
                Reading(code, value, UNITS[code], frozenset(quality), device_time,
                        extra=dict(extra))
            )
        if sensor_off_reason:
            out.append(Reading(Code.SENSOR_OFF, sensor_off_reason, "",
                               frozenset({Quality.SENSOR_OFF}), device_time))
        now_listed = tuple(listed)
        self._listed_age += 1
        if now_listed != self._listed or self._listed_age >= ALARMS_REPEAT_EVERY:
            self._listed, self._listed_age = now_listed, 0
            out.append(Reading(Code.DEVICE_ALARM, "; ".join(a.text for a in listed) or None, "",
                               frozenset(), device_time,
                               extra={"device_alarms": now_listed, "alarm_bits": alarm,
                                      "exc_bits": exc}))
        return out

    def forget_alarms(self) -> None:
        """Report the alarm list with the next line (after a reconnection)."""
        self._listed = None

    @staticmethod
    def _ascii1_shape(fields: dict[str, str]) -> bool:
        """The line has ASCII 1's field names: whatever is wrong with it, the mode is right."""
        return {"SPO2", "BPM"} <= fields.keys() or {"ALARM", "EXC"} <= fields.keys()

    @staticmethod
    def _complete(text: str, fields: dict[str, str]) -> bool:
        """An ASCII 1 line, whole: the values we use readable, ending with its EXC field (or,
        newer Radical-7 firmware, with the EXC1 field after it)."""
        if not {"SPO2", "BPM", "ALARM", "EXC"} <= fields.keys():
            return False
        last = "EXC1" if "EXC1" in fields else "EXC"
        if not text.endswith(f"{last}={fields[last]}"):
            return False  # cut short, or something after the last field
        if _hex(fields["ALARM"]) is None or _hex(fields["EXC"]) is None:
            return False
        if "EXC1" in fields and _hex(fields["EXC1"]) is None:
            return False
        for label in ("SPO2", "BPM", "PI"):
            raw = fields.get(label)
            if raw is not None and _value(raw) is None and not _DASHES.fullmatch(raw):
                return False  # neither a number nor dashes: a damaged line
        return True

    def _reject(self, nbytes: int, *, other_mode: bool) -> list[Reading]:
        """A line we cannot use. Only lines without ASCII 1's fields count towards the
        "set ASCII 1" advice: a damaged ASCII 1 line proves the mode is right."""
        self.stats.frames_rejected += 1
        self.stats.bytes_skipped += nbytes
        if not other_mode:
            self._bad_run = 0
            return []
        self._bad_run += 1
        if self._bad_run >= DIAGNOSTIC_AFTER and (
            (self._bad_run - DIAGNOSTIC_AFTER) % DIAGNOSTIC_EVERY == 0
        ):
            return [Reading(Code.DIAGNOSTIC, DIAGNOSTIC_TEXT,
                            extra={"unreadable_lines": self._bad_run})]
        return []


class MasimoSession(DeviceSession):
    """Receive only: nothing is ever sent to the oximeter."""

    protocol = "masimo"
    baudrate = BAUDRATE
    silent_after = 4.0  # three missed one-second lines

    def __init__(self) -> None:
        super().__init__()
        self.decoder = MasimoDecoder()

    @property
    def stats(self) -> DecoderStats:
        return self.decoder.stats

    def receive(self, data: bytes, now: float) -> list[Reading]:
        return self.decoder.feed(data)

    def connected(self, now: float) -> None:
        super().connected(now)
        self.decoder.forget_alarms()

    def next_tick(self, now: float) -> float | None:
        return None  # it talks, we listen: no timers


def format_line(
    when: datetime,
    spo2: float | None,
    pr: float | None,
    pi: float | None,
    *,
    exc: int = EXC_SET_MODE,
    alarm: int = 0,
    serial: str = "0000056661",
) -> bytes:
    """One Rad-8 style ASCII 1 line (with CR LF)."""

    def num(v: float | None, width: int) -> str:
        return "-" * width if v is None else f"{round(v):0{width}d}"

    pi_text = "--.--" if pi is None else f"{min(max(pi, 0.0), 99.99):05.2f}"
    line = (
        f"{when:%m/%d/%y %H:%M:%S} SN={serial} SPO2={num(spo2, 3)}% BPM={num(pr, 3)} "
        f"PI={pi_text}% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- "
        f"ALARM={alarm:04X} EXC={exc:06X}\r\n"
    )
    return line.encode("ascii")


class MasimoSimulator(Simulator):
    """A Rad-8 printing one ASCII 1 line per scenario second, with its own alarm limits (the
    device's factory defaults: SpO2 below 88 %, pulse rate above 140 or below 50) in the ALARM
    field, and motion shown as pulse search with low signal IQ."""

    SPO2_LOW = 88
    PR_HIGH = 140
    PR_LOW = 50

    protocol = "masimo"
    baudrate = BAUDRATE

    def __init__(self, scenario: Scenario, start: datetime | None = None) -> None:
        super().__init__()
        self.scenario = scenario
        # The oximeter prints its own local clock; by default it is set right.
        self.start = start or datetime.now().replace(microsecond=0)
        self._next = 0.0

    def receive(self, data: bytes, t: float) -> None:
        """The oximeter ignores anything sent to it."""

    def tick(self, t: float) -> None:
        # Never replay more than a minute of backlog (e.g. after a very long pause).
        self._next = max(self._next, float(int(t)) - 60)
        while self._next <= t:
            st = self.scenario.state(self._next)
            when = self.start + timedelta(seconds=self._next)
            exc = EXC_SET_MODE
            if st.sensor_off:
                self.send(format_line(when, None, None, None, exc=exc | EXC_SENSOR_OFF))
            else:
                alarm = 0
                if st.motion:
                    exc |= EXC_PULSE_SEARCH | EXC_LOW_SIGNAL_IQ
                if st.spo2 is not None and round(st.spo2) < self.SPO2_LOW:
                    alarm |= ALARM_SPO2_LOW
                if st.pr is not None and round(st.pr) > self.PR_HIGH:
                    alarm |= ALARM_PR_HIGH
                if st.pr is not None and round(st.pr) < self.PR_LOW:
                    alarm |= ALARM_PR_LOW
                self.send(format_line(when, st.spo2, st.pr, st.pi, exc=exc, alarm=alarm))
            self._next += 1.0
