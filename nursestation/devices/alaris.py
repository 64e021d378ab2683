"""Alaris (CareFusion) GH / CC "Asena" syringe pumps: the RS-232 ASCII protocol, read only.

38400 baud 8N1. Every frame is ``!`` BODY ``|`` CRC ``\\r`` where CRC is four upper-case hex digits
of CRC-16/CCITT-FALSE over BODY, and BODY's fields are separated by ``^``.

NurseStation only ever *reads* the pump. The session sends only these queries — a command's
bare name with no argument asks for its value — and refuses to queue anything else
(``ALLOWED_FRAMES``); there is no code path that builds a command frame:

* on connecting, once: ``!INST_SERIALNO`` (the pump's serial number, for the record),
  ``!COMMS_RESPONSE_MAX`` (the longest the pump may take to answer: real GH pumps report
  4000 ms; the session waits that long for each reply) and ``!COMMS_PROTOCOL`` (its protocol
  version, for the record);
* then ``!INF`` (status: rate, volume infused, mode, alarm) every 1.5 s, ``!ALARM`` (the pump's
  alarm codes) every 3 s and ``!INF_VTBI`` (volume to be infused) every 10 s.

What we did *not* adopt: both public drivers (OpenICE's Asena driver, infupy) send
``REMOTE_CTRL^ENABLED^<code>`` before or between polls, infupy every second as a keep-alive, and
OpenICE also ``REMOTE_CTRL^DISABLED`` on leaving. Both are *control* drivers (they set rates,
start and stop infusions); ``REMOTE_CTRL`` is what unlocks those commands (alaris.md), and neither
source shows a pump refusing a status query without it. Enabling remote control would hand the
station the power to change an infusion, which it must never have, so it is never sent. If a
pump answers the link but never with its status, the session says so (a DIAGNOSTIC naming the
pump's communication settings) instead of unlocking it.
"""

from __future__ import annotations

from nursestation.core.readings import DeviceAlarm, Reading
from nursestation.core.vocabulary import UNITS, Code, PumpState, Quality
from nursestation.devices.base import Decoder, DecoderStats, DeviceSession, Simulator
from nursestation.devices.crc import crc16_ccitt_false
from nursestation.sim.scenarios import Scenario

BAUDRATE = 38400
MAX_FRAME = 512
POLL_INTERVAL = 1.5  # s between status queries
ALARM_INTERVAL = 3.0  # s between alarm queries
VTBI_INTERVAL = 10.0  # s between VTBI queries
#: how long to wait for a reply until the pump has said (COMMS_RESPONSE_MAX): the value real GH
#: pumps report
REPLY_TIMEOUT = 4.0
#: a reported maximum response time is honoured between these bounds (seconds)
REPLY_TIMEOUT_BOUNDS = (0.5, 10.0)
#: status queries answered with anything but a status before the session says so
UNANSWERED_STATUS_LIMIT = 4


def frame(body: bytes) -> bytes:
    """``INF`` → ``!INF|4961\\r``."""
    return b"!" + body + b"|" + b"%04X" % crc16_ccitt_false(body) + b"\r"


QUERY_STATUS = b"!INF|4961\r"
QUERY_VTBI = b"!INF_VTBI|8456\r"
QUERY_ALARM = frame(b"ALARM")
QUERY_SERIAL = frame(b"INST_SERIALNO")
QUERY_RESPONSE_MAX = frame(b"COMMS_RESPONSE_MAX")
QUERY_PROTOCOL = frame(b"COMMS_PROTOCOL")
#: The only bytes the session will ever put on the wire: read-only queries.
ALLOWED_FRAMES: frozenset[bytes] = frozenset({
    QUERY_STATUS, QUERY_VTBI, QUERY_ALARM, QUERY_SERIAL, QUERY_RESPONSE_MAX, QUERY_PROTOCOL,
})
assert QUERY_STATUS == frame(b"INF") and QUERY_VTBI == frame(b"INF_VTBI")
assert QUERY_SERIAL == b"!INST_SERIALNO|457D\r"  # as the OpenICE driver sends it
assert QUERY_PROTOCOL == b"!COMMS_PROTOCOL|E8DA\r"

# Pump mode text → canonical state. The wire text of the mode field is matched loosely (upper
# case, without separators); an unknown mode gives PUMP_STATE None, flagged unavailable.
# "SET" is the mode a pump reports while being set up (programming, nothing delivered). Modes
# that move fluid (prime, purge, KVO, bolus) count as infusing: the volume infused changes.
_STATES: dict[str, PumpState] = {
    "INFUSING": PumpState.INFUSING, "INFUSE": PumpState.INFUSING, "RUNNING": PumpState.INFUSING,
    "RUN": PumpState.INFUSING, "KVO": PumpState.INFUSING, "BOLUS": PumpState.INFUSING,
    "PURGE": PumpState.INFUSING, "PRIME": PumpState.INFUSING, "PRIMING": PumpState.INFUSING,
    "NEAREND": PumpState.INFUSING, "NEAREMPTY": PumpState.INFUSING,
    "ONHOLD": PumpState.PAUSED, "HOLD": PumpState.PAUSED, "PAUSED": PumpState.PAUSED,
    "PAUSE": PumpState.PAUSED, "STANDBY": PumpState.PAUSED, "DELAY": PumpState.PAUSED,
    "DELAYEDSTART": PumpState.PAUSED,
    "STOPPED": PumpState.STOPPED, "STOP": PumpState.STOPPED, "IDLE": PumpState.STOPPED,
    "OFF": PumpState.STOPPED, "SETUP": PumpState.STOPPED, "SET": PumpState.STOPPED,
    "COMPLETE": PumpState.STOPPED, "END": PumpState.STOPPED, "ENDED": PumpState.STOPPED,
    "VTBICOMPLETE": PumpState.STOPPED, "EMPTY": PumpState.STOPPED,
    "ALARM": PumpState.ALARM, "CALLBACK": PumpState.ALARM,
}
_NO_ALARM = {"", "NONE", "NO_ALARM", "NOALARM", "0", "OK", "-"}


def _num(raw: bytes) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


class AlarisDecoder(Decoder):
    """Pump replies (``INF`` status records, ``INF_VTBI``) → PUMP_* readings."""

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        #: what the pump told about itself (serial number, protocol, max response time in s)
        self.serial: str | None = None
        self.protocol_version: str | None = None
        self.response_max_s: float | None = None
        self.status_replies = 0  # INF records decoded
        self._alarm_codes: tuple[str, ...] | None = None  # last !ALARM answer reported

    def feed(self, data: bytes) -> list[Reading]:
        out: list[Reading] = []
        self._buf += data
        while True:
            start = self._buf.find(b"!")
            if start < 0:
                self.stats.bytes_skipped += len(self._buf)
                self._buf.clear()
                break
            if start:
                self.stats.bytes_skipped += start
                del self._buf[:start]
            end = self._buf.find(b"\r")
            # A new '!' before the end means the frame in hand was cut short: restart there.
            restart = self._buf.find(b"!", 1, end if end >= 0 else len(self._buf))
            if restart > 0:
                self.stats.frames_rejected += 1
                self.stats.bytes_skipped += restart
                del self._buf[:restart]
                continue
            if end < 0:
                if len(self._buf) > MAX_FRAME:
                    self.stats.frames_rejected += 1
                    self.stats.bytes_skipped += len(self._buf)
                    self._buf.clear()
                break
            raw = bytes(self._buf[1:end])
            del self._buf[: end + 1]
            out.extend(self._frame(raw))
        return out

    def _frame(self, raw: bytes) -> list[Reading]:
        body, bar, crc = raw.rpartition(b"|")
        ok = bool(bar) and len(crc) == 4
        if ok:
            try:
                ok = int(crc, 16) == crc16_ccitt_false(body)
            except ValueError:
                ok = False
        if not ok:
            self.stats.frames_rejected += 1
            self.stats.bytes_skipped += len(raw) + 2
            return []
        fields = body.split(b"^")
        name = fields[0]
        if len(fields) == 1:
            # A query (the host's own direction, e.g. in a two-way capture): valid, no data.
            self.stats.frames_accepted += 1
            return []
        if name == b"INF":
            readings = self._status(fields)
            if readings is not None:
                self.status_replies += 1
        elif name == b"INF_VTBI":
            readings = self._vtbi(fields)
        elif name == b"ALARM":
            readings = self._alarms(fields)
        elif name == b"INST_SERIALNO":
            self.serial = fields[1].decode("ascii", "replace").strip() or None
            readings = []
        elif name == b"COMMS_PROTOCOL":
            self.protocol_version = b"^".join(fields[1:]).decode("ascii", "replace") or None
            readings = []
        elif name == b"COMMS_RESPONSE_MAX":
            ms = _num(fields[1])
            if ms is None or ms <= 0:
                readings = None
            else:
                self.response_max_s = ms / 1000.0  # the pump reports milliseconds
                readings = []
        else:
            readings = []  # a valid reply this station does not use
        if readings is None:
            self.stats.frames_rejected += 1
            self.stats.bytes_skipped += len(raw) + 2
            return []
        self.stats.frames_accepted += 1
        return readings

    @staticmethod
    def _status(f: list[bytes]) -> list[Reading] | None:
        # INF, serial, alarm, mode, rate, rate unit, (unused), VI, VI unit, pressure, unit, ...
        if len(f) < 9:
            return None
        serial = f[1].decode("ascii", "replace")
        alarm_text = f[2].decode("ascii", "replace").strip()
        mode = f[3].decode("ascii", "replace").strip()
        rate = _num(f[4])
        vi = _num(f[7])
        if rate is None and f[4].strip() not in (b"", b"-", b"---"):
            return None
        if vi is None and f[7].strip() not in (b"", b"-", b"---"):
            return None
        rate_unit = f[5].decode("ascii", "replace").strip().lower()
        vi_unit = f[8].decode("ascii", "replace").strip().lower()
        if rate is not None and rate_unit not in ("ml/h", "ml/hr", ""):
            return None  # a dose-rate unit we would misread as mL/h
        if vi is not None and vi_unit not in ("ml", ""):
            return None
        alarm = None if alarm_text.upper() in _NO_ALARM else alarm_text
        state = _STATES.get(mode.upper().replace("_", "").replace(" ", ""))
        if alarm is not None:
            state = PumpState.ALARM
        extra = {"serial": serial, "mode": mode}

        def q(v: object) -> frozenset[str]:
            return frozenset({Quality.UNAVAILABLE}) if v is None else frozenset()

        rate_r = Reading(Code.PUMP_RATE, rate, UNITS[Code.PUMP_RATE], q(rate), extra=dict(extra))
        return [
            rate_r,
            Reading(Code.PUMP_VI, vi, UNITS[Code.PUMP_VI], q(vi), extra=dict(extra)),
            Reading(Code.PUMP_STATE, None if state is None else str(state), "", q(state),
                    extra=dict(extra)),
            Reading(Code.PUMP_ALARM, alarm, "", frozenset(), extra=dict(extra)),
        ]

    def _alarms(self, f: list[bytes]) -> list[Reading] | None:
        """``ALARM^code^code...``: the pump's active alarm codes (none: empty or NONE). The
        INF record's alarm field already raises the pump alarm; these are reported to the
        station as the pump's own list (advisories the INF field leaves out included), when
        the list changes."""
        codes = tuple(c for c in (x.decode("ascii", "replace").strip() for x in f[1:])
                      if c.upper() not in _NO_ALARM)
        if codes == self._alarm_codes:
            return []
        self._alarm_codes = codes
        listed = tuple(DeviceAlarm(f"alarm:{c}", f"pump: {c.replace('_', ' ').lower()}",
                                   "technical", "medium") for c in codes)
        return [Reading(Code.DEVICE_ALARM, "; ".join(a.text for a in listed) or None,
                        extra={"device_alarms": listed, "alarm_codes": codes})]

    def forget_alarms(self) -> None:
        self._alarm_codes = None

    @staticmethod
    def _vtbi(f: list[bytes]) -> list[Reading] | None:
        if len(f) < 3:
            return None
        vtbi = _num(f[2])
        if vtbi is None and f[2].strip() not in (b"", b"-", b"---"):
            return None
        quality = frozenset({Quality.UNAVAILABLE}) if vtbi is None else frozenset()
        return [Reading(Code.PUMP_VTBI, vtbi, UNITS[Code.PUMP_VTBI], quality,
                        extra={"vtbi_state": f[1].decode("ascii", "replace")})]


class AlarisSession(DeviceSession):
    """Polls the pump with read-only queries; never sends anything that changes it."""

    protocol = "alaris"
    baudrate = BAUDRATE
    silent_after = 5.0  # three missed status polls

    def __init__(self, poll_interval: float = POLL_INTERVAL,
                 vtbi_interval: float = VTBI_INTERVAL,
                 alarm_interval: float = ALARM_INTERVAL) -> None:
        super().__init__()
        self.decoder = AlarisDecoder()
        self.poll_interval = poll_interval
        self.vtbi_interval = vtbi_interval
        self.alarm_interval = alarm_interval
        self._reset(0.0)

    def _reset(self, now: float) -> None:
        self._next_status = now
        self._next_vtbi = now
        self._next_alarm = now
        self._pending_since: float | None = None
        #: identity queries still to ask after connecting
        self._identity = [QUERY_SERIAL, QUERY_RESPONSE_MAX, QUERY_PROTOCOL]
        self._status_asked = 0  # status queries since the last status reply
        self._told = False  # the "no status" diagnostic was given

    @property
    def reply_timeout(self) -> float:
        """How long to wait for a reply: the pump's own maximum response time, once known."""
        reported = self.decoder.response_max_s
        if reported is None:
            return REPLY_TIMEOUT
        lo, hi = REPLY_TIMEOUT_BOUNDS
        return min(hi, max(lo, reported))

    @property
    def stats(self) -> DecoderStats:
        return self.decoder.stats

    def send(self, data: bytes) -> None:
        """Queue one allow-listed query frame. Anything else is refused (ValueError)."""
        if data not in ALLOWED_FRAMES:
            raise ValueError(f"refusing to send a non read-only frame to the pump: {data!r}")
        super().send(data)

    def connected(self, now: float) -> None:
        self._reset(now)
        self.decoder.forget_alarms()
        self.tick(now)

    def disconnected(self) -> None:
        self._pending_since = None

    def receive(self, data: bytes, now: float) -> list[Reading]:
        before = self.decoder.stats.frames_accepted
        status_before = self.decoder.status_replies
        readings = self.decoder.feed(data)
        if self.decoder.stats.frames_accepted != before:
            self._pending_since = None
        if self.decoder.status_replies != status_before:
            self._status_asked = 0
            self._told = False
        elif self._status_asked >= UNANSWERED_STATUS_LIMIT and not self._told \
                and self.decoder.stats.frames_accepted:
            self._told = True
            readings.append(Reading(Code.DIAGNOSTIC, NO_STATUS_TEXT,
                                    extra={"status_queries": self._status_asked}))
        return readings

    def next_tick(self, now: float) -> float | None:
        if self._pending_since is not None:
            return self._pending_since + self.reply_timeout
        if self._identity:
            return now
        return min(self._next_status, self._next_vtbi, self._next_alarm)

    def tick(self, now: float) -> None:
        if self._pending_since is not None and now - self._pending_since < self.reply_timeout:
            return  # one query at a time, each given the pump's full response time
        query = None
        if self._identity:
            query = self._identity.pop(0)
        elif now >= self._next_status:
            query = QUERY_STATUS
            self._next_status = now + self.poll_interval
            self._status_asked += 1
        elif now >= self._next_alarm:
            query = QUERY_ALARM
            self._next_alarm = now + self.alarm_interval
        elif now >= self._next_vtbi:
            query = QUERY_VTBI
            self._next_vtbi = now + self.vtbi_interval
        if query is not None:
            self.send(query)
            self._pending_since = now


NO_STATUS_TEXT = (
    "the pump answers but never with its status (!INF): check its communication settings "
    "(serial protocol, remote query) on the pump; NurseStation does not unlock remote control"
)


def status_body(st, serial: str = "8002-51740") -> bytes:
    """The pump's INF record for a scenario state."""
    mode = {
        "infusing": "INFUSING", "paused": "ON_HOLD", "stopped": "STOPPED", "alarm": "ALARM",
    }.get(st.pump_state, "STOPPED")
    if mode == "STOPPED" and st.pump_vi <= 0:
        mode = "SET"  # being set up: nothing delivered yet
    alarm = st.pump_alarm.upper().replace(" ", "_").replace("^", "_").replace("|", "_") \
        if st.pump_alarm else "NONE"
    time_left = "0" if st.pump_rate <= 0 else f"{int(st.pump_vtbi / st.pump_rate * 60)}"
    fields = [
        "INF", serial, alarm, mode, f"{st.pump_rate:.3f}", "ml/h", "0",
        f"{st.pump_vi:.3f}", "ml", "50", "mmHg", time_left, "0", "0",
    ]
    return "^".join(fields).encode("ascii", "replace")


class AlarisSimulator(Simulator):
    """A GH syringe pump answering INF, INF_VTBI, ALARM and its identity queries
    (INST_SERIALNO, COMMS_RESPONSE_MAX: 4000 ms, COMMS_PROTOCOL); frames with a bad CRC and
    any command are ignored."""

    protocol = "alaris"
    baudrate = BAUDRATE

    def __init__(self, scenario: Scenario, serial: str = "8002-51740") -> None:
        super().__init__()
        self.scenario = scenario
        self.serial = serial
        self._buf = bytearray()
        self.ignored = 0  # frames dropped for a bad CRC or an unknown command
        self.received: list[bytes] = []  # bodies of every valid frame received (for tests)

    def reset(self) -> None:
        self._buf.clear()

    def receive(self, data: bytes, t: float) -> None:
        self._buf += data
        while True:
            start = self._buf.find(b"!")
            if start < 0:
                self._buf.clear()
                return
            del self._buf[:start]
            end = self._buf.find(b"\r")
            if end < 0:
                if len(self._buf) > MAX_FRAME:
                    self._buf.clear()
                return
            raw = bytes(self._buf[1:end])
            del self._buf[: end + 1]
            body, _, crc = raw.rpartition(b"|")
            if crc != b"%04X" % crc16_ccitt_false(body):
                self.ignored += 1
                continue
            self.received.append(body)
            st = self.scenario.state(t)
            if body == b"INF":
                self.send(frame(status_body(st, self.serial)))
            elif body == b"INF_VTBI":
                self.send(frame(f"INF_VTBI^ACTIV^{st.pump_vtbi:.3f}^ml^STOP".encode()))
            elif body == b"ALARM":
                code = st.pump_alarm.upper().replace(" ", "_") if st.pump_alarm else "NONE"
                self.send(frame(f"ALARM^{code}".encode("ascii", "replace")))
            elif body == b"INST_SERIALNO":
                self.send(frame(b"INST_SERIALNO^" + self.serial.encode()))
            elif body == b"COMMS_RESPONSE_MAX":
                self.send(frame(b"COMMS_RESPONSE_MAX^4000"))
            elif body == b"COMMS_PROTOCOL":
                self.send(frame(b"COMMS_PROTOCOL^ASENA^1"))
            else:
                self.ignored += 1

    def tick(self, t: float) -> None:
        """The pump only speaks when spoken to."""
