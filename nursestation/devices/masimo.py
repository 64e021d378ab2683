"""Masimo Rad-8 / Radical-7 / Radical-5 pulse oximeters: the serial "ASCII 1" output.

9600 baud 8N1, receive only: the oximeter prints one line a second, ending CR LF, e.g.

    02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ... ALARM=0000 EXC=000800

The Radical-5 prints fewer fields (``ALARM=20 EXC=800``); the Radical-7 adds ``PVI=027``.
Dashes mean "no value" and become ``None`` with the *unavailable* flag, never zero.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from nursestation.core.readings import Reading
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
DIAGNOSTIC_TEXT = (
    "pulse oximeter output not readable: set the oximeter's serial output to ASCII 1 "
    "(9600 baud)"
)

# --- ALARM / EXC bits -------------------------------------------------------------------------
# Only the bits confirmed in /work/shared/protocols/masimo.md are interpreted. The remaining bits
# (SpO2 low, pulse rate high/low, defective sensor, interference, ambient light, low signal IQ,
# ...) are documented in the device's operator manual and are NOT confirmed here: they are kept
# raw in ``extra["alarm_bits"]`` / ``extra["exc_bits"]`` and never acted on.
ALARM_SPO2_HIGH = 0x0001
ALARM_SILENCED = 0x0020
ALARM_LOW_BATTERY = 0x0040
EXC_NO_SENSOR = 0x000001
EXC_LOW_PERFUSION = 0x000004
EXC_PULSE_SEARCH = 0x000008
EXC_SENSOR_OFF = 0x000020
EXC_SET_MODE = 0x000800  # "Masimo SET" mode: normal operation

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
            return self._reject(len(line))
        self.stats.frames_accepted += 1
        self._bad_run = 0

        alarm = _hex(fields.get("ALARM"))
        exc = _hex(fields.get("EXC"))
        common: set[str] = set()
        sensor_off_reason = None
        if exc is not None:
            if exc & EXC_NO_SENSOR:
                sensor_off_reason = "no sensor"
            elif exc & EXC_SENSOR_OFF:
                sensor_off_reason = "sensor off"
            if sensor_off_reason:
                common.add(Quality.SENSOR_OFF)
            if exc & EXC_LOW_PERFUSION:
                common |= {Quality.LOW_PERFUSION, Quality.QUESTIONABLE}
            if exc & EXC_PULSE_SEARCH:
                common |= {Quality.PULSE_SEARCH, Quality.QUESTIONABLE}
        extra: dict = {}
        if alarm is not None:
            extra["alarm_bits"] = alarm
            if alarm & ALARM_SILENCED:
                extra["alarm_silenced"] = True
        if exc is not None:
            extra["exc_bits"] = exc
        if "PVI" in fields:  # Radical-7: no canonical code yet, kept as detail
            extra["pvi"] = _value(fields["PVI"])
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
            if code == Code.SPO2 and alarm is not None and alarm & ALARM_SPO2_HIGH:
                quality.add(Quality.IN_ALARM)
            out.append(
                Reading(code, value, UNITS[code], frozenset(quality), device_time,
                        extra=dict(extra))
            )
        if sensor_off_reason:
            out.append(Reading(Code.SENSOR_OFF, sensor_off_reason, "",
                               frozenset({Quality.SENSOR_OFF}), device_time))
        if alarm is not None and alarm & ALARM_LOW_BATTERY:
            out.append(Reading(Code.DEVICE_ALARM, "oximeter battery low", "", frozenset(),
                               device_time, extra={"alarm_bits": alarm}))
        return out

    @staticmethod
    def _complete(text: str, fields: dict[str, str]) -> bool:
        """An ASCII 1 line, whole: the values we use readable, ending with its EXC field."""
        if not {"SPO2", "BPM", "ALARM", "EXC"} <= fields.keys():
            return False
        if not text.endswith("EXC=" + fields["EXC"]):
            return False  # cut short, or something after the last field
        if _hex(fields["ALARM"]) is None or _hex(fields["EXC"]) is None:
            return False
        for label in ("SPO2", "BPM", "PI"):
            raw = fields.get(label)
            if raw is not None and _value(raw) is None and not _DASHES.fullmatch(raw):
                return False  # neither a number nor dashes: a damaged line
        return True

    def _reject(self, nbytes: int) -> list[Reading]:
        self.stats.frames_rejected += 1
        self.stats.bytes_skipped += nbytes
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
    """A Rad-8 printing one ASCII 1 line per scenario second."""

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
                if st.motion:
                    exc |= EXC_PULSE_SEARCH
                self.send(format_line(when, st.spo2, st.pr, st.pi, exc=exc))
            self._next += 1.0
