"""A simulated IntelliVue monitor: the monitor side of the MIB/RS232 data export dialog.

It accepts one association, sends the MDS Create Event (repeated every ~3 s with the same invoke
id until confirmed, abort after three sends), answers extended polls for numerics and real-time
waves (periodic replies when the poll asks for them, 256 ms wave blocks), splits large replies
into linked results, answers release requests and aborts an association that goes quiet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np

from nursestation.devices.base import Simulator
from nursestation.devices.intellivue import alerts as A
from nursestation.devices.intellivue import constants as C
from nursestation.devices.intellivue.codec import (
    ABORT,
    REFUSE,
    RELEASE_RESPONSE,
    Attr,
    MdseUserInfo,
    ObservationPoll,
    ParseError,
    build_assoc_response,
    build_mds_create_event,
    build_poll_reply,
    encode_abs_time,
    encode_float,
    parse_assoc_user_info,
    parse_message,
    u16,
    u32,
)
from nursestation.devices.intellivue.framing import FrameReader, encode_frame
from nursestation.sim.scenarios import Scenario, VitalsState

MDS_RESEND_S = 3.0
MDS_MAX_SENDS = 3
NUMERIC_PERIOD_S = 1.0


@dataclass
class _WaveDef:
    handle: int
    physio: int
    rate_hz: float
    lower_abs: float  # NaN: no absolute meaning
    upper_abs: float
    lower_scaled: int
    upper_scaled: int
    unit_code: int
    significant_bits: int = 12


WAVES = (
    _WaveDef(0x0101, C.NOM_ECG_ELEC_POTL_II, 500.0, -10.24, 10.24, 0, 4095, C.NOM_DIM_MILLI_VOLT),
    _WaveDef(0x0102, C.NOM_PLETH, 125.0, math.nan, math.nan, 0, 4095, C.NOM_DIM_DIMLESS),
)
_BLOCK_S = C.WAVE_RESULT_PERIOD_S

# numeric object handles
H_HR, H_PR, H_SPO2, H_PI, H_RR, H_CO2, H_TEMP, H_NBP = range(0x0010, 0x0018)
H_SPO2_R, H_PR_R, H_TEMP_SETT = range(0x0018, 0x001B)

#: labels (TextIds) of the simulated objects, from the guide's label table
LABEL_OF_HANDLE = {
    H_HR: 0x00024182, H_PR: 0x00024822, H_SPO2: 0x00024BB8, H_PI: 0x00024BB0,
    H_RR: 0x0002500A, H_CO2: 0x000250AC, H_NBP: 0x00024A04,
    H_SPO2_R: 0x00024BCC, H_PR_R: 0x80155402, H_TEMP_SETT: C.NLS_NOM_SETT_TEMP,
}
#: temperature label -> the physio id a monitor sends with it
TEMP_LABELS = {
    label: (C.NOM_TEMP if site == "" else label & 0xFFFF)
    for label, (code, site) in C.NUMERIC_LABELS.items()
    if code == "TEMP" and label >> 16 == C.NOM_PART_SCADA
}
#: ECG lead name -> its wave physio id
ECG_LEAD_PHYSIO = {str(lead): physio for physio, lead in C.ECG_LEAD_IDS.items() if lead}
#: the labels go out with the first numeric reply of an association, then every this many
LABEL_EVERY = 30


@dataclass
class _Periodic:
    invoke_id: int
    poll_number: int
    attr_grp: int
    until: float
    next_due: float
    sequence_no: int = 0


class IntelliVueSimulator(Simulator):
    protocol = "intellivue"
    baudrate = 115200

    def __init__(
        self,
        scenario: Scenario,
        *,
        start_wall: datetime | None = None,
        device_tz: tzinfo = UTC,
        rel_offset_s: float = 4321.0,
        max_mtu: int = 1000,
        waves: bool = True,
        association_timeout: float | None = None,
        ecg_lead: str = "II",
        temp_label: int = 0x00024B48,
        second_spo2: bool = False,
        temp_setting: bool = True,
        patient_id: str | None = None,
        patient_name: tuple[str, str] = ("", ""),
        inops: bool = False,
    ) -> None:
        """``association_timeout`` overrides the guide's timeout (10-130 s from the negotiated
        poll period), e.g. for a demo that runs scenario time faster than real time.

        What a real monitor may be set to: ``ecg_lead`` the primary ECG lead ("II", "V1"...),
        ``temp_label`` the temperature's label (Tcore, Trect... from the guide's table),
        ``second_spo2`` a second SpO2 site (right hand, with its own pulse under the same physio
        id as the main one), ``temp_setting`` an sTemp *setting* object (physio id NOM_TEMP,
        value 36.5) that a decoder must not take for a temperature. ``patient_id`` and
        ``patient_name`` (given, family) are the patient admitted at the monitor (None: none).
        ``inops`` makes the monitor show technical alarms now and then ("LEADS OFF" for 20 s
        every 4 minutes, "NBP EQUIP MALF" for 15 s every 7). Its patient alarms follow the
        scenario: SpO2 below 90 and HR above 120 (the monitor's own limits), "SpO2
        NON-PULSATILE" while the probe is off."""
        super().__init__()
        if ecg_lead not in ECG_LEAD_PHYSIO:
            raise ValueError(f"unknown ECG lead {ecg_lead!r}; known: {', '.join(ECG_LEAD_PHYSIO)}")
        if temp_label not in TEMP_LABELS:
            raise ValueError(f"not a temperature label: {temp_label:#010x}")
        self.ecg_lead = ecg_lead
        self.temp_label = temp_label
        self.second_spo2 = second_spo2
        self.temp_setting = temp_setting
        self.patient_id = patient_id
        self.patient_name = patient_name
        self.inops = inops
        physio = ECG_LEAD_PHYSIO[ecg_lead]
        self.wave_defs = tuple(
            _WaveDef(w.handle, physio, w.rate_hz, w.lower_abs, w.upper_abs, w.lower_scaled,
                     w.upper_scaled, w.unit_code, w.significant_bits)
            if w.physio == C.NOM_ECG_ELEC_POTL_II else w
            for w in WAVES
        )
        self.scenario = scenario
        self.start_wall = (start_wall or datetime.now(UTC)).astimezone(UTC)
        self.device_tz = device_tz
        self.rel_offset_s = rel_offset_s
        self.max_mtu = max_mtu
        self.waves_enabled = waves
        self.association_timeout = association_timeout
        self._reader = FrameReader()
        self._invoke = 0
        self.associations = 0  # how many associations were accepted (for tests and the demo)
        self.releases = 0
        self.aborts_sent = 0
        self.reset()

    # -- Simulator API -----------------------------------------------------------------

    def reset(self) -> None:
        self.associated = False
        self.mds_confirmed = False
        self._mds_invoke = 0
        self._mds_sends = 0
        self._mds_last = 0.0
        self._last_rx = 0.0
        self._timeout_s = 10.0
        self._mtu = self.max_mtu
        self._waves_ok = False
        self._periodic: dict[int, _Periodic] = {}
        self._wave_origin: float | None = None
        self._wave_block = 0  # next block index to send
        self._numeric_replies = 0  # since the association (labels go with the first)
        self._reader.reset()
        self._out.clear()

    def receive(self, data: bytes, t: float) -> None:
        for msg in self._reader.feed(data):
            try:
                self._message(msg, t)
            except (ParseError, ValueError):
                continue  # a monitor ignores what it cannot parse

    def tick(self, t: float) -> None:
        if not self.associated:
            return
        if t - self._last_rx > self._timeout_s:
            self._abort()
            return
        if not self.mds_confirmed:
            if t - self._mds_last >= MDS_RESEND_S:
                if self._mds_sends >= MDS_MAX_SENDS:
                    self._abort()
                    return
                self._send_mds_create(t)
            return
        for obj, p in list(self._periodic.items()):
            if obj == C.NOM_MOC_VMO_METRIC_SA_RT:
                self._send_wave_blocks(p, t)
                if t >= p.until:
                    del self._periodic[obj]
                continue
            while p.next_due <= t and p.next_due <= p.until:
                p.sequence_no += 1
                self._send_numerics(p.invoke_id, p.poll_number, p.attr_grp, p.next_due,
                                    p.sequence_no)
                p.next_due += NUMERIC_PERIOD_S
            if p.next_due > p.until:
                del self._periodic[obj]

    # -- helpers ------------------------------------------------------------------------

    def _next_invoke(self) -> int:
        self._invoke = (self._invoke % 0xFFFF) + 1
        return self._invoke

    def rel_time(self, t: float) -> int:
        return int(round((t + self.rel_offset_s) * C.TICKS_PER_SECOND)) % C.REL_TIME_MODULUS

    def wall_time(self, t: float) -> datetime:
        """The monitor's wall clock (UTC) at scenario time ``t``."""
        return self.start_wall + timedelta(seconds=t)

    def _local(self, wall: datetime) -> datetime:
        return wall.astimezone(self.device_tz).replace(tzinfo=None)

    def _emit(self, user_data: bytes) -> None:
        self.send(encode_frame(user_data))

    def _abort(self) -> None:
        self._emit(ABORT)
        self.aborts_sent += 1
        self._drop()

    def _drop(self) -> None:
        self.associated = False
        self.mds_confirmed = False
        self._periodic.clear()
        self._wave_origin = None

    # -- messages ------------------------------------------------------------------------

    def _message(self, msg: bytes, t: float) -> None:
        if not msg:
            return
        first = msg[0]
        if first == C.CN_SPDU_SI:
            self._associate(msg, t)
            return
        if first == C.FN_SPDU_SI:
            if self.associated:
                self._emit(RELEASE_RESPONSE)
                self.releases += 1
                self._drop()
            return
        if first == C.AB_SPDU_SI:
            self._drop()
            return
        if first != 0xE1 or not self.associated:
            return
        self._last_rx = t
        m = parse_message(msg)
        if m.ro_type == C.RORS_APDU and m.command_type == C.CMD_CONFIRMED_EVENT_REPORT:
            if m.invoke_id == self._mds_invoke and m.event_type == C.NOM_NOTI_MDS_CREAT:
                self.mds_confirmed = True
            return
        req = m.poll_request
        if m.ro_type != C.ROIV_APDU or req is None or not self.mds_confirmed:
            return
        if req.obj_code == C.NOM_MOC_VMO_METRIC_NU:
            self._send_numerics(m.invoke_id, req.poll_number, req.attr_grp, t, 0,
                                extended=req.extended)
            if req.extended and req.period_ticks:
                until = t + req.period_ticks / C.TICKS_PER_SECOND
                old = self._periodic.get(req.obj_code)
                next_due = old.next_due if old else t + NUMERIC_PERIOD_S
                self._periodic[req.obj_code] = _Periodic(
                    m.invoke_id, req.poll_number, req.attr_grp, until, next_due
                )
        elif req.obj_code == C.NOM_MOC_VMO_METRIC_SA_RT and req.extended and self._waves_ok:
            until = t + (req.period_ticks or 0) / C.TICKS_PER_SECOND
            p = _Periodic(m.invoke_id, req.poll_number, req.attr_grp, until, t)
            if self._wave_origin is None or req.obj_code not in self._periodic:
                self._wave_origin = t  # a new stream (a renewal continues the old one)
                self._wave_block = 0
            self._periodic[req.obj_code] = p
            # The immediate confirmation: what is due now; on a renewal with nothing new due, the
            # latest block again (the monitor answers a poll at once with its current data, so
            # samples repeat: the host drops them by their relative time); else the wave
            # context alone.
            renewal = self._wave_block > 0 and self._wave_origin is not None
            if not self._send_wave_blocks(p, t, force=not renewal) and renewal:
                self._wave_block -= 1
                self._send_wave_blocks(p, t, force=True)
            elif not renewal and not self._wave_block:
                self._send_reply(p.invoke_id, p.poll_number, C.NOM_MOC_VMO_METRIC_SA_RT,
                                 p.attr_grp, self.rel_time(t), 0,
                                 [(w.handle, self._wave_context(w)) for w in self._waves()],
                                 extended=True)
            if not req.period_ticks:
                del self._periodic[req.obj_code]
        elif req.obj_code == C.NOM_MOC_VMO_AL_MON:
            obs: list[ObservationPoll] = []
            if req.attr_grp in (C.NOM_ATTR_GRP_ALL, A.NOM_ATTR_GRP_AL_MON):
                obs = [(1, self.alert_attrs(t))]
            self._send_reply(m.invoke_id, req.poll_number, req.obj_code, req.attr_grp,
                             self.rel_time(t), 0, obs, extended=req.extended)
        elif req.obj_code == A.NOM_MOC_PT_DEMOG:
            given, family = self.patient_name
            admitted = self.patient_id is not None
            demog: list[Attr] = [
                (A.NOM_ATTR_PT_DEMOG_ST, u16(2 if admitted else 0)),
                (A.NOM_ATTR_PT_ID, A.encode_string(self.patient_id or "")),
                (A.NOM_ATTR_PT_NAME_GIVEN, A.encode_string(given if admitted else "")),
                (A.NOM_ATTR_PT_NAME_FAMILY, A.encode_string(family if admitted else "")),
            ]
            self._send_reply(m.invoke_id, req.poll_number, req.obj_code, req.attr_grp,
                             self.rel_time(t), 0, [(1, demog)], extended=req.extended)
        else:
            self._send_reply(m.invoke_id, req.poll_number, req.obj_code, req.attr_grp,
                             self.rel_time(t), 0, [], extended=req.extended)

    def _associate(self, msg: bytes, t: float) -> None:
        if self.associated:
            self._emit(REFUSE)  # one association at a time
            return
        try:
            req = parse_assoc_user_info(msg)
        except ParseError:
            self._emit(REFUSE)
            return
        if not (req.protocol_version & C.MDDL_VERSION1 and req.nomenclature_version
                & C.NOMEN_VERSION and req.system_type & C.SYST_CLIENT):
            self._emit(REFUSE)
            return
        ext = None
        if req.poll_ext_options is not None:
            nu_bits = [b for b in (C.POLL_EXT_PERIOD_NU_1SEC, C.POLL_EXT_PERIOD_NU_AVG_12SEC,
                                   C.POLL_EXT_PERIOD_NU_AVG_60SEC) if req.poll_ext_options & b]
            if nu_bits:  # the package is ignored unless a numeric period is asked for
                ext = nu_bits[0]
                if req.poll_ext_options & C.POLL_EXT_PERIOD_RTSA and self.waves_enabled:
                    ext |= C.POLL_EXT_PERIOD_RTSA
        period = max(req.min_poll_period, C.TICKS_PER_SECOND // 4)
        self._mtu = max(300, min(self.max_mtu, req.max_mtu_rx))
        resp = MdseUserInfo(
            system_type=C.SYST_SERVER,
            min_poll_period=period,
            max_mtu_rx=self._mtu,
            max_mtu_tx=min(1000, req.max_mtu_tx),
            poll_ext_options=ext,
        )
        seconds = period / C.TICKS_PER_SECOND
        self._timeout_s = 10.0 if seconds < 3.3 else (130.0 if seconds > 43 else 3 * seconds)
        if self.association_timeout is not None:
            self._timeout_s = self.association_timeout
        self._waves_ok = bool(ext and ext & C.POLL_EXT_PERIOD_RTSA)
        self._emit(build_assoc_response(resp))
        self.associated = True
        self._numeric_replies = 0
        self.associations += 1
        self.mds_confirmed = False
        self._last_rx = t
        self._mds_invoke = self._next_invoke()
        self._mds_sends = 0
        self._send_mds_create(t)

    def _send_mds_create(self, t: float) -> None:
        wall = self.wall_time(t)
        frac = wall.microsecond / 1e6
        whole = wall.replace(microsecond=0)
        attrs: list[Attr] = [
            (C.NOM_ATTR_TIME_ABS, encode_abs_time(self._local(whole))),
            (C.NOM_ATTR_TIME_REL, u32(self.rel_time(t - frac))),
        ]
        self._emit(build_mds_create_event(self._mds_invoke, self.rel_time(t), attrs))
        self._mds_sends += 1
        self._mds_last = t

    # -- replies -------------------------------------------------------------------------

    def _send_reply(
        self,
        invoke_id: int,
        poll_number: int,
        obj_code: int,
        attr_grp: int,
        rel_time: int,
        sequence_no: int,
        observations: list[ObservationPoll],
        *,
        extended: bool,
    ) -> None:
        """One poll result, as linked results when it would not fit the negotiated MTU."""

        def build(obs: list[ObservationPoll], linked: tuple[int, int] | None) -> bytes:
            contexts = [(0, obs)] if obs or linked is None else []
            return build_poll_reply(invoke_id, poll_number, rel_time, obj_code, contexts,
                                    attr_grp=attr_grp, sequence_no=sequence_no,
                                    extended=extended, linked=linked)

        whole = build(observations, None)
        if len(whole) - 8 <= self._mtu or len(observations) <= 1:
            self._emit(whole)
            return
        parts: list[list[ObservationPoll]] = [[]]
        for ob in observations:
            if parts[-1] and len(build(parts[-1] + [ob], (1, 1))) - 8 > self._mtu:
                parts.append([])
            parts[-1].append(ob)
        for i, part in enumerate(parts, start=1):
            state = (C.RORLS_LAST if i == len(parts)
                     else C.RORLS_FIRST if i == 1 else C.RORLS_NOT_FIRST_NOT_LAST)
            self._emit(build(part, (state, i)))
        self._emit(build([], None))  # the terminating result, with an empty poll info list

    def _send_numerics(self, invoke_id: int, poll_number: int, attr_grp: int, t: float,
                       sequence_no: int, *, extended: bool = True) -> None:
        state = self.scenario.state(t)
        self._send_reply(invoke_id, poll_number, C.NOM_MOC_VMO_METRIC_NU, attr_grp,
                         self.rel_time(t), sequence_no, self._numeric_objects(state, t),
                         extended=extended)

    def _numeric_objects(self, s: VitalsState, t: float) -> list[ObservationPoll]:
        ox_state = (C.MS_INVALID | C.MS_UNAVAILABLE) if s.sensor_off else 0
        if s.motion:
            ox_state |= C.MS_QUESTIONABLE

        def nu(physio: int, value: float | None, unit: int, decimals: int, extra_state: int = 0
               ) -> bytes:
            state = extra_state | (C.MS_UNAVAILABLE if value is None else 0)
            return u16(physio) + u16(state) + u16(unit) + u32(encode_float(value, decimals))

        def simple(handle: int, physio: int, value: float | None, unit: int, decimals: int,
                   extra_state: int = 0) -> ObservationPoll:
            return (handle, [(C.NOM_ATTR_NU_VAL_OBS,
                              nu(physio, value, unit, decimals, extra_state))])

        def compound(items: list[bytes]) -> bytes:
            body = b"".join(items)
            return u16(len(items)) + u16(len(body)) + body

        objs: list[ObservationPoll] = [
            simple(H_HR, C.NOM_ECG_CARD_BEAT_RATE, s.hr, C.NOM_DIM_BEAT_PER_MIN, 0),
            simple(H_PR, C.NOM_PLETH_PULS_RATE, s.pr, C.NOM_DIM_BEAT_PER_MIN, 0, ox_state),
            simple(H_SPO2, C.NOM_PULS_OXIM_SAT_O2, s.spo2, C.NOM_DIM_PERCENT, 0, ox_state),
            simple(H_PI, C.NOM_PULS_OXIM_PERF_REL, s.pi, C.NOM_DIM_DIMLESS, 2, ox_state),
            simple(H_RR, C.NOM_RESP_RATE, s.rr, C.NOM_DIM_RESP_PER_MIN, 0),
            (H_CO2, [(C.NOM_ATTR_NU_CMPD_VAL_OBS, compound([
                nu(C.NOM_AWAY_CO2_ET, s.etco2, C.NOM_DIM_MMHG, 0),
                nu(C.NOM_AWAY_CO2_INSP_MIN, 0.0 if s.etco2 is not None else None,
                   C.NOM_DIM_MMHG, 0),
            ]))]),
            simple(H_TEMP, TEMP_LABELS[self.temp_label], s.temp, C.NOM_DIM_DEGC, 1),
        ]
        if self.second_spo2:  # right hand: a little lower, its pulse a few beats apart
            objs += [
                simple(H_SPO2_R, C.NOM_PULS_OXIM_SAT_O2_ART_RIGHT,
                       None if s.spo2 is None else max(0.0, s.spo2 - 1), C.NOM_DIM_PERCENT, 0),
                simple(H_PR_R, C.NOM_PLETH_PULS_RATE, None if s.pr is None else s.pr + 2,
                       C.NOM_DIM_BEAT_PER_MIN, 0),
            ]
        if self.temp_setting:
            objs.append(simple(H_TEMP_SETT, C.NOM_TEMP, 36.5, C.NOM_DIM_DEGC, 1))
        if s.nbp_sys is not None or s.nbp_dia is not None or s.nbp_mean is not None:
            nbp: list[Attr] = [(C.NOM_ATTR_NU_CMPD_VAL_OBS, compound([
                nu(C.NOM_PRESS_BLD_NONINV_SYS, s.nbp_sys, C.NOM_DIM_MMHG, 0),
                nu(C.NOM_PRESS_BLD_NONINV_DIA, s.nbp_dia, C.NOM_DIM_MMHG, 0),
                nu(C.NOM_PRESS_BLD_NONINV_MEAN, s.nbp_mean, C.NOM_DIM_MMHG, 0),
            ]))]
            if s.nbp_time is not None:
                measured = self._local(self.wall_time(s.nbp_time).replace(microsecond=0))
                nbp.append((C.NOM_ATTR_TIME_STAMP_ABS, encode_abs_time(measured)))
            objs.append((H_NBP, nbp))
        if self._numeric_replies % LABEL_EVERY == 0:  # the static context: each object's label
            labels = {**LABEL_OF_HANDLE, H_TEMP: self.temp_label}
            objs = [(h, [(C.NOM_ATTR_ID_LABEL, u32(labels[h])), *attrs]) for h, attrs in objs]
        self._numeric_replies += 1
        return objs

    def alert_entries(self, t: float) -> tuple[list[A.AlertEntry], list[A.AlertEntry]]:
        """(patient alarms, technical alarms) the monitor shows at scenario time ``t``."""
        s = self.scenario.state(t)
        patient: list[A.AlertEntry] = []
        technical: list[A.AlertEntry] = []
        if s.spo2 is not None and not s.sensor_off and s.spo2 < 90:
            patient.append(A.AlertEntry(C.NOM_PULS_OXIM_SAT_O2, A.NOM_EVT_LO, A.HI_PRI_P_AL, 0,
                                        H_SPO2, f"**SpO2 {round(s.spo2)} < 90"))
        if s.hr is not None and s.hr > 120:
            patient.append(A.AlertEntry(C.NOM_ECG_CARD_BEAT_RATE, A.NOM_EVT_HI, A.MED_PRI_P_AL, 0,
                                        H_HR, f"**HR {round(s.hr)} > 120"))
        if s.sensor_off:
            technical.append(A.AlertEntry(C.NOM_PULS_OXIM_SAT_O2, A.NOM_EVT_WAVE_OSCIL_ABSENT,
                                          A.MED_PRI_T_AL, 0, H_SPO2, "SpO2 NON-PULSATILE"))
        if self.inops:
            if t % 240.0 < 20.0:
                technical.append(A.AlertEntry(C.NOM_ECG_ELEC_POTL, A.NOM_EVT_LEADS_OFF,
                                              A.MED_PRI_T_AL, 0, 0x0101, "LEADS OFF"))
            if 200.0 <= t % 420.0 < 215.0:
                technical.append(A.AlertEntry(C.NOM_PRESS_BLD_NONINV, A.NOM_EVT_EQUIP_MALF,
                                              A.LOW_PRI_T_AL, 0, H_NBP))  # no text: codes only
        return patient, technical

    def alert_attrs(self, t: float) -> list[Attr]:
        patient, technical = self.alert_entries(t)
        return [(A.NOM_ATTR_AL_MON_P_AL_LIST, A.encode_alarm_list(patient)),
                (A.NOM_ATTR_AL_MON_T_AL_LIST, A.encode_alarm_list(technical))]

    # -- waves ---------------------------------------------------------------------------

    def _waves(self) -> tuple[_WaveDef, ...]:
        return self.wave_defs

    @staticmethod
    def _wave_context(w: _WaveDef) -> list[Attr]:
        n = int(round(w.rate_hz * _BLOCK_S))
        period = int(round(C.TICKS_PER_SECOND / w.rate_hz))
        return [
            (C.NOM_ATTR_ID_TYPE, u16(C.NOM_PART_SCADA) + u16(w.physio)),
            (C.NOM_ATTR_ID_LABEL, u32((C.NOM_PART_SCADA << 16) | w.physio)),
            (C.NOM_ATTR_SA_SPECN, u16(n) + bytes((16, w.significant_bits))
             + u16(C.SA_EXT_VAL_RANGE | C.SMOOTH_CURVE | C.STATIC_SCALE)),
            (C.NOM_ATTR_TIME_PD_SAMP, u32(period)),
            (C.NOM_ATTR_UNIT_CODE, u16(w.unit_code)),
            (C.NOM_ATTR_SCALE_SPECN_I16, u32(encode_float(w.lower_abs, 3))
             + u32(encode_float(w.upper_abs, 3)) + u16(w.lower_scaled) + u16(w.upper_scaled)),
        ]

    def _send_wave_blocks(self, p: _Periodic, t: float, force: bool = False) -> bool:
        """Send every complete 256 ms block due by ``t``; True when at least one was sent."""
        assert self._wave_origin is not None
        sent = False
        while True:
            start = self._wave_origin + self._wave_block * _BLOCK_S
            end = start + _BLOCK_S
            if end > t + 1e-9 or (start >= p.until and not force):
                break
            with_context = self._wave_block % 4 == 0 or (force and not sent)
            obs: list[ObservationPoll] = []
            for w in self._waves():
                n = int(round(w.rate_hz * _BLOCK_S))
                if w.physio in C.ECG_LEAD_IDS:
                    values = self.scenario.ecg(start, n, w.rate_hz)
                else:
                    values = self.scenario.pleth(start, n, w.rate_hz)
                attrs = self._wave_context(w) if with_context else []
                attrs.append((C.NOM_ATTR_SA_VAL_OBS, self._sa_obs(w, values)))
                obs.append((w.handle, attrs))
            self._send_reply(p.invoke_id, p.poll_number, C.NOM_MOC_VMO_METRIC_SA_RT,
                             p.attr_grp, self.rel_time(start), p.sequence_no, obs,
                             extended=True)
            p.sequence_no += 1
            self._wave_block += 1
            sent = True
        return sent

    @staticmethod
    def _sa_obs(w: _WaveDef, values: np.ndarray) -> bytes:
        v = np.asarray(values, dtype=np.float64)
        v = np.nan_to_num(v, nan=0.0)
        if math.isnan(w.lower_abs):
            frac = v  # pleth: 0..1 arbitrary units
        else:
            frac = (v - w.lower_abs) / (w.upper_abs - w.lower_abs)
        scaled = np.rint(w.lower_scaled + frac * (w.upper_scaled - w.lower_scaled))
        scaled = np.clip(scaled, w.lower_scaled, w.upper_scaled).astype(">u2")
        raw = scaled.tobytes()
        return u16(w.physio) + u16(0) + u16(len(raw)) + raw
