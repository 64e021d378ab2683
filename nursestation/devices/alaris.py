"""Alaris (CareFusion) GH / CC "Asena" syringe pumps: the RS-232 ASCII protocol, read only.

38400 baud 8N1. Every frame is ``!`` BODY ``|`` CRC ``\\r`` where CRC is four upper-case hex digits
of CRC-16/CCITT-FALSE over BODY, and BODY's fields are separated by ``^``.

NurseStation only ever *reads* the pump. The session can send exactly two frames — the status
query ``!INF|4961`` and the volume-to-be-infused query ``!INF_VTBI|8456`` — and refuses to queue
anything else (``ALLOWED_FRAMES``). There is no code path that builds a command frame.
"""

from __future__ import annotations

from nursestation.core.readings import Reading
from nursestation.core.vocabulary import UNITS, Code, PumpState, Quality
from nursestation.devices.base import Decoder, DecoderStats, DeviceSession, Simulator
from nursestation.devices.crc import crc16_ccitt_false
from nursestation.sim.scenarios import Scenario

BAUDRATE = 38400
MAX_FRAME = 512
POLL_INTERVAL = 1.5  # s between status queries
VTBI_INTERVAL = 10.0  # s between VTBI queries
REPLY_TIMEOUT = 1.0  # s to wait for a reply before the next query may go out


def frame(body: bytes) -> bytes:
    """``INF`` → ``!INF|4961\\r``."""
    return b"!" + body + b"|" + b"%04X" % crc16_ccitt_false(body) + b"\r"


QUERY_STATUS = b"!INF|4961\r"
QUERY_VTBI = b"!INF_VTBI|8456\r"
#: The only bytes the session will ever put on the wire: read-only queries.
ALLOWED_FRAMES: frozenset[bytes] = frozenset({QUERY_STATUS, QUERY_VTBI})
assert QUERY_STATUS == frame(b"INF") and QUERY_VTBI == frame(b"INF_VTBI")

# Pump mode text → canonical state. The wire text of the mode field is matched loosely (upper
# case, without separators); an unknown mode gives PUMP_STATE None, flagged unavailable.
_STATES: dict[str, PumpState] = {
    "INFUSING": PumpState.INFUSING, "INFUSE": PumpState.INFUSING, "RUNNING": PumpState.INFUSING,
    "RUN": PumpState.INFUSING, "KVO": PumpState.INFUSING, "BOLUS": PumpState.INFUSING,
    "PURGE": PumpState.INFUSING,
    "ONHOLD": PumpState.PAUSED, "HOLD": PumpState.PAUSED, "PAUSED": PumpState.PAUSED,
    "PAUSE": PumpState.PAUSED, "STANDBY": PumpState.PAUSED,
    "STOPPED": PumpState.STOPPED, "STOP": PumpState.STOPPED, "IDLE": PumpState.STOPPED,
    "OFF": PumpState.STOPPED, "SETUP": PumpState.STOPPED, "COMPLETE": PumpState.STOPPED,
    "ALARM": PumpState.ALARM,
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
        elif name == b"INF_VTBI":
            readings = self._vtbi(fields)
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
                 vtbi_interval: float = VTBI_INTERVAL) -> None:
        super().__init__()
        self.decoder = AlarisDecoder()
        self.poll_interval = poll_interval
        self.vtbi_interval = vtbi_interval
        self._reset(0.0)

    def _reset(self, now: float) -> None:
        self._next_status = now
        self._next_vtbi = now
        self._pending_since: float | None = None

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
        self.tick(now)

    def disconnected(self) -> None:
        self._pending_since = None

    def receive(self, data: bytes, now: float) -> list[Reading]:
        before = self.decoder.stats.frames_accepted
        readings = self.decoder.feed(data)
        if self.decoder.stats.frames_accepted != before:
            self._pending_since = None
        return readings

    def next_tick(self, now: float) -> float | None:
        if self._pending_since is not None:
            return self._pending_since + REPLY_TIMEOUT
        return min(self._next_status, self._next_vtbi)

    def tick(self, now: float) -> None:
        if self._pending_since is not None and now - self._pending_since < REPLY_TIMEOUT:
            return
        if now >= self._next_status:
            self.send(QUERY_STATUS)
            self._next_status = now + self.poll_interval
            self._pending_since = now
        elif now >= self._next_vtbi:
            self.send(QUERY_VTBI)
            self._next_vtbi = now + self.vtbi_interval
            self._pending_since = now


def status_body(st, serial: str = "8002-51740") -> bytes:
    """The pump's INF record for a scenario state."""
    mode = {
        "infusing": "INFUSING", "paused": "ON_HOLD", "stopped": "STOPPED", "alarm": "ALARM",
    }.get(st.pump_state, "STOPPED")
    alarm = st.pump_alarm.upper().replace(" ", "_").replace("^", "_").replace("|", "_") \
        if st.pump_alarm else "NONE"
    time_left = "0" if st.pump_rate <= 0 else f"{int(st.pump_vtbi / st.pump_rate * 60)}"
    fields = [
        "INF", serial, alarm, mode, f"{st.pump_rate:.3f}", "ml/h", "0",
        f"{st.pump_vi:.3f}", "ml", "50", "mmHg", time_left, "0", "0",
    ]
    return "^".join(fields).encode("ascii", "replace")


class AlarisSimulator(Simulator):
    """A GH syringe pump answering INF and INF_VTBI; frames with a bad CRC are ignored."""

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
            else:
                self.ignored += 1

    def tick(self, t: float) -> None:
        """The pump only speaks when spoken to."""
