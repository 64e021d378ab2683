"""Host side of the IntelliVue MIB/RS232 dialog, driven by the link layer's reader thread.

connected → association request → (accepted) → answer the MDS Create Event at once → extended
polls: numerics once a second, real-time waves as a periodic poll renewed before it runs out
(the monitor then sends a 256 ms block at a time), the alert monitor (the monitor's own patient
alarms and INOPs) every ALERT_POLL_S, the patient demographics (who is admitted) every
PATIENT_POLL_S → release request on closing. Silence, refusal or an abort lead to a new
association, after an abort that ends whatever the monitor still holds for us.

What is sent is only ever: association request, MDS-create result, poll requests (numerics,
waves, alert monitor, patient demographics), release request and abort. Nothing that sets
anything on the monitor.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from enum import Enum

from nursestation.core.readings import Reading
from nursestation.devices.base import DecoderStats, DeviceSession
from nursestation.devices.intellivue import constants as C
from nursestation.devices.intellivue.alerts import (
    NOM_ATTR_GRP_AL_MON,
    NOM_ATTR_GRP_PT_DEMOG,
    NOM_MOC_PT_DEMOG,
)
from nursestation.devices.intellivue.codec import (
    ABORT,
    RELEASE_REQUEST,
    MdseUserInfo,
    build_assoc_request,
    build_mds_create_result,
    build_poll_request,
)
from nursestation.devices.intellivue.decoder import (
    AssociationAborted,
    AssociationAccepted,
    AssociationRefused,
    IntelliVueDecoder,
    MdsCreated,
    PollResult,
    ReleaseConfirmed,
    RemoteError,
)
from nursestation.devices.intellivue.framing import encode_frame


class State(Enum):
    IDLE = "idle"  # port closed
    ASSOCIATING = "associating"  # request sent, waiting for the answer
    WAIT_MDS = "wait_mds"  # accepted, waiting for the MDS Create Event
    ASSOCIATED = "associated"  # polling
    RELEASING = "releasing"  # release request sent on closing


class IntelliVueSession(DeviceSession):
    protocol = "intellivue"
    baudrate = 115200
    #: the monitor answers a numerics poll every second and streams waves every 256 ms
    silent_after = 4.0

    #: seconds to wait for an association answer before asking again
    ASSOC_RETRY_S = 5.0
    #: after a refusal (e.g. another association still open): let it time out first
    REFUSED_RETRY_S = 10.0
    #: accepted but no MDS Create Event: start over
    MDS_WAIT_S = 10.0
    #: associated but nothing valid arrives: associate again
    REASSOCIATE_AFTER_S = 6.0
    NUMERIC_POLL_S = 1.0
    #: how late a numerics poll may go out, waiting for the reader to wake for data anyway
    POLL_SLACK_S = 0.3
    #: periodic wave poll: asked for this long, renewed this often (each renewal is confirmed
    #: with an extra result that may repeat samples; the decoder drops them by relative time)
    WAVE_POLL_WINDOW_S = 30.0
    WAVE_RENEW_S = 20.0
    #: the alert monitor (the monitor's own alarms and INOPs): a single poll this often; it also
    #: keeps the association alive
    ALERT_POLL_S = 2.0
    #: the patient demographics (who the monitor has admitted): a single poll this often
    PATIENT_POLL_S = 30.0
    #: minimum poll period we negotiate (1 s → the monitor's association timeout is 10 s)
    MIN_POLL_PERIOD_TICKS = C.TICKS_PER_SECOND

    _state: State

    def __init__(self, *, waves: bool = True, device_tz: tzinfo = UTC) -> None:
        super().__init__()
        self.decoder = IntelliVueDecoder(device_tz=device_tz)
        self.want_waves = waves
        self._invoke = 0
        self._poll_number = 0
        self.associations = 0  # accepted associations since start (for health display/tests)
        self.aborts_sent = 0
        self._reset(State.IDLE, 0.0)

    # -- DeviceSession API -------------------------------------------------------------

    @property
    def stats(self) -> DecoderStats:
        return self.decoder.stats

    @property
    def state(self) -> State:
        return self._state

    @property
    def keepalive_s(self) -> float:
        """Send something at least this often: a third of the monitor's association timeout."""
        return self._assoc_timeout_s / 3.0

    def connected(self, now: float) -> None:
        self.decoder.reader.reset()
        self._reset(State.IDLE, now)
        self._associate(now)

    def receive(self, data: bytes, now: float) -> list[Reading]:
        before = self.decoder.stats.frames_accepted
        readings = self.decoder.feed(data)
        if self.decoder.stats.frames_accepted > before:
            self._last_rx = now
        for ev in self.decoder.take_events():
            self._event(ev, now)
        return readings

    def tick(self, now: float) -> None:
        st = self._state
        if st is State.ASSOCIATING:
            wait = self.REFUSED_RETRY_S if self._refused else self.ASSOC_RETRY_S
            if now - self._state_since >= wait:
                self._associate(now)
        elif st is State.WAIT_MDS:
            if now - self._state_since >= self.MDS_WAIT_S:
                self._reassociate(now)
        elif st is State.ASSOCIATED:
            if now - self._last_rx >= self.REASSOCIATE_AFTER_S:
                self._reassociate(now)
                return
            self._polls(now)

    def next_tick(self, now: float) -> float | None:
        st = self._state
        if st is State.ASSOCIATING:
            wait = self.REFUSED_RETRY_S if self._refused else self.ASSOC_RETRY_S
            return self._state_since + wait
        if st is State.WAIT_MDS:
            return self._state_since + self.MDS_WAIT_S
        if st is State.ASSOCIATED:
            # While waves stream (every 256 ms) the numerics poll rides on a wake for data
            # instead of a wake of its own; POLL_SLACK_S is how late it may go when they don't.
            due = min(self._last_rx + self.REASSOCIATE_AFTER_S,
                      self._next_numeric + self.POLL_SLACK_S,
                      self._next_alert + self.POLL_SLACK_S,
                      self._next_patient,
                      self._last_tx + self.keepalive_s)
            return min(due, self._next_wave) if self._waves_ok else due
        return None  # idle or releasing: nothing to time

    def disconnected(self) -> None:
        self.decoder.reader.reset()
        self.decoder.reset_dialog()
        self._reset(State.IDLE, 0.0)
        self._out.clear()

    def closing(self) -> None:
        if self._state in (State.ASSOCIATING, State.WAIT_MDS, State.ASSOCIATED):
            self._send(RELEASE_REQUEST, None)
            self._state = State.RELEASING

    # -- internals -----------------------------------------------------------------------

    def _reset(self, state: State, now: float) -> None:
        self._state = state
        self._state_since = now
        self._last_rx = now
        self._last_tx = now
        self._refused = False
        self._waves_ok = False
        self._assoc_timeout_s = 10.0
        self._next_numeric = now
        self._next_wave = now
        self._next_alert = now
        self._next_patient = now
        self._pending: dict[int, str] = {}  # invoke id -> "numerics" / "waves" / "keepalive"

    def _send(self, user_data: bytes, now: float | None) -> None:
        self.send(encode_frame(user_data))
        if now is not None:
            self._last_tx = now

    def _next_invoke(self) -> int:
        self._invoke = (self._invoke % 0xFFFF) + 1
        return self._invoke

    def _next_poll_number(self) -> int:
        self._poll_number = (self._poll_number % 0xFFFF) + 1
        return self._poll_number

    def _request_info(self) -> MdseUserInfo:
        ext = C.POLL_EXT_PERIOD_NU_1SEC
        if self.want_waves:
            ext |= C.POLL_EXT_PERIOD_RTSA
        return MdseUserInfo(min_poll_period=self.MIN_POLL_PERIOD_TICKS, poll_ext_options=ext)

    def _associate(self, now: float) -> None:
        self.decoder.reset_dialog()
        refused = self._refused
        if refused:
            # the monitor said no, most likely because it still holds an association of ours
            # (a restart on our side): end it, then ask again
            self._send(ABORT, now)
            self.aborts_sent += 1
        self._reset(State.ASSOCIATING, now)
        self._refused = refused
        self._send(build_assoc_request(self._request_info()), now)

    def _reassociate(self, now: float) -> None:
        """Drop whatever the monitor may still hold for us (an abort needs no answer, unlike a
        release), then ask again."""
        self._send(ABORT, now)
        self.aborts_sent += 1
        self._refused = False
        self._associate(now)

    def _event(self, ev: object, now: float) -> None:
        if isinstance(ev, MdsCreated):
            # Confirm at once, whatever our state: the monitor repeats it and aborts after 3.
            self._send(build_mds_create_result(ev.invoke_id, ev.managed_object, ev.event_time),
                       now)
            if self._state in (State.WAIT_MDS, State.ASSOCIATING, State.ASSOCIATED):
                if self._state is not State.ASSOCIATED:
                    self._state = State.ASSOCIATED
                    self._state_since = now
                    self._next_numeric = now
                    self._next_wave = now
                    self._next_alert = now
                    self._next_patient = now
                    self._polls(now)
        elif isinstance(ev, AssociationAccepted):
            if self._state in (State.ASSOCIATING, State.WAIT_MDS):
                self._state = State.WAIT_MDS
                self._state_since = now
                self._refused = False
                self.associations += 1
                info = ev.info
                if info is not None:
                    seconds = info.min_poll_period / C.TICKS_PER_SECOND
                    self._assoc_timeout_s = (
                        10.0 if seconds < 3.3 else 130.0 if seconds > 43 else 3 * seconds
                    )
                    ext = info.poll_ext_options or 0
                    self._waves_ok = self.want_waves and bool(ext & C.POLL_EXT_PERIOD_RTSA)
                else:
                    self._waves_ok = self.want_waves
        elif isinstance(ev, AssociationRefused):
            if self._state in (State.ASSOCIATING, State.WAIT_MDS, State.ASSOCIATED):
                self._reset(State.ASSOCIATING, now)  # retry after REFUSED_RETRY_S
                self._refused = True
        elif isinstance(ev, AssociationAborted):
            if self._state is State.RELEASING:
                self._state = State.IDLE
            elif self._state in (State.WAIT_MDS, State.ASSOCIATED):
                self._associate(now)  # (while associating, the retry timer asks again)
        elif isinstance(ev, ReleaseConfirmed):
            if self._state is State.RELEASING:
                self._state = State.IDLE
        elif isinstance(ev, RemoteError):
            if self._pending.pop(ev.invoke_id, None) == "waves":
                self._waves_ok = False  # the monitor cannot give us waves: stop asking
        elif isinstance(ev, PollResult):
            if ev.linked is None and ev.sequence_no in (0, None):
                # the answer (or the last part of it) to a request; periodic ones keep coming
                kind = self._pending.get(ev.invoke_id)
                if kind in ("numerics", "alerts", "patient"):
                    del self._pending[ev.invoke_id]

    def _polls(self, now: float) -> None:
        if now >= self._next_numeric:
            self._poll(C.NOM_MOC_VMO_METRIC_NU, "numerics", now)
            # keep a 1 s cadence on average although each poll may go out up to POLL_SLACK_S
            # late (see next_tick)
            self._next_numeric += self.NUMERIC_POLL_S
            if self._next_numeric <= now:
                self._next_numeric = now + self.NUMERIC_POLL_S
        if self._waves_ok and now >= self._next_wave:
            period = int(self.WAVE_POLL_WINDOW_S * C.TICKS_PER_SECOND)
            self._poll(C.NOM_MOC_VMO_METRIC_SA_RT, "waves", now, period_ticks=period)
            self._next_wave = now + self.WAVE_RENEW_S
        if now >= self._next_alert or now - self._last_tx >= self.keepalive_s:
            # The alert monitor's alarm lists; a single poll of it is also the guide's
            # keep-alive.
            self._poll(C.NOM_MOC_VMO_AL_MON, "alerts", now, attr_grp=NOM_ATTR_GRP_AL_MON,
                       extended=False)
            self._next_alert = now + self.ALERT_POLL_S
        if now >= self._next_patient:
            self._poll(NOM_MOC_PT_DEMOG, "patient", now, attr_grp=NOM_ATTR_GRP_PT_DEMOG,
                       extended=False)
            self._next_patient = now + self.PATIENT_POLL_S
        if len(self._pending) > 64:  # answers that never came: forget the oldest
            for key in list(self._pending)[:-64]:
                del self._pending[key]

    def _poll(self, obj_code: int, kind: str, now: float, period_ticks: int | None = None, *,
              attr_grp: int = C.NOM_ATTR_GRP_ALL, extended: bool = True) -> None:
        invoke = self._next_invoke()
        self._pending[invoke] = kind
        self._send(build_poll_request(invoke, self._next_poll_number(), obj_code, attr_grp,
                                      extended=extended, period_ticks=period_ticks), now)
