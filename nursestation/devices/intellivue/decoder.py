"""IntelliVue decoder, monitor → host: frames in, readings (and protocol events) out. Pure."""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np

from nursestation.core.readings import DeviceAlarm, Reading
from nursestation.core.vocabulary import UNITS, Code, Quality, Site
from nursestation.devices.base import Decoder
from nursestation.devices.intellivue import alerts as A
from nursestation.devices.intellivue import constants as C
from nursestation.devices.intellivue.codec import (
    H3,
    Attr,
    Cursor,
    DataExportMessage,
    MdseUserInfo,
    ParseError,
    PollReply,
    decode_abs_time,
    decode_float,
    float_special,
    parse_assoc_user_info,
    parse_message,
)
from nursestation.devices.intellivue.framing import FrameReader

#: the alert list and the admitted patient are reported when they change, and repeated every this
#: many replies
REPORT_REPEAT_EVERY = 30

_STATE_FLAGS = (
    (C.MS_INVALID, Quality.INVALID),
    (C.MS_QUESTIONABLE, Quality.QUESTIONABLE),
    (C.MS_UNAVAILABLE, Quality.UNAVAILABLE),
    (C.MS_CALIBRATION_ONGOING, Quality.CALIBRATING),
    (C.MS_TEST_DATA, Quality.TEST_DATA),
    (C.MS_DEMO_DATA, Quality.DEMO_DATA),
    (C.MS_IN_ALARM, Quality.IN_ALARM),
    (C.MS_AL_INHIBITED, Quality.ALARMS_OFF),
)

_PRESSURES = frozenset({Code.NBP_SYS, Code.NBP_DIA, Code.NBP_MEAN, Code.ETCO2})
_DEFAULT_RATE = {Code.ECG: 500.0, Code.PLETH: 125.0}


@functools.lru_cache(maxsize=1024)
def quality_from_state(state: int) -> frozenset[str]:
    """MeasurementState bits → quality flags (empty set: valid, no remarks). Cached: a monitor
    repeats a handful of states many times a second."""
    return frozenset(flag for bit, flag in _STATE_FLAGS if state & bit)


# --- protocol events the session acts on ----------------------------------------------------------


@dataclass(frozen=True)
class AssociationAccepted:
    info: MdseUserInfo | None


@dataclass(frozen=True)
class AssociationRefused:
    pass


@dataclass(frozen=True)
class AssociationAborted:
    pass


@dataclass(frozen=True)
class ReleaseConfirmed:
    pass


@dataclass(frozen=True)
class MdsCreated:
    invoke_id: int
    managed_object: tuple[int, int, int]
    device_time: datetime | None
    event_time: int = 0  # the monitor's RelativeTime of the event


@dataclass(frozen=True)
class PollResult:
    invoke_id: int
    poll_number: int
    obj_code: int
    sequence_no: int | None
    linked: tuple[int, int] | None  # (state, count) for ROLRS parts


@dataclass(frozen=True)
class RemoteError:
    invoke_id: int
    error_value: int


Event = (
    AssociationAccepted
    | AssociationRefused
    | AssociationAborted
    | ReleaseConfirmed
    | MdsCreated
    | PollResult
    | RemoteError
)


@dataclass
class _WaveSpec:
    sample_period: int | None = None  # RelativeTime ticks
    sample_size: int = 16
    significant_bits: int = 16
    flags: int = 0
    lower_abs: float | None = None
    upper_abs: float | None = None
    lower_scaled: int | None = None
    upper_scaled: int | None = None
    unit_code: int | None = None
    #: the attribute values last parsed into the fields above, by attribute id: a monitor
    #: repeats them in every wave reply, and an unchanged one need not be parsed again
    seen: dict[int, bytes] = field(default_factory=dict)
    #: each wave's decoding, worked out from the fields above (see _wave_scale); emptied
    #: whenever one of them changes
    scales: dict[int, _WaveScale | None] = field(default_factory=dict)


class IntelliVueDecoder(Decoder):
    """Decodes what an IntelliVue monitor sends on its MIB/RS232 port.

    ``feed`` returns readings; protocol events (association answers, MDS create, poll results)
    collect in a queue the session drains with :meth:`take_events`. ``device_tz`` is the zone
    the monitor's clock is set to (its AbsoluteTime carries none); readings get UTC times.
    """

    def __init__(self, device_tz: tzinfo = UTC) -> None:
        super().__init__()
        self.device_tz = device_tz
        self.reader = FrameReader(self.stats)
        self._events: list[Event] = []
        self.messages_decoded = 0
        self.last_error: str | None = None
        self.wave_samples_dropped = 0  # repeated samples dropped (see _dedup)
        self.reset_dialog()

    def reset_dialog(self) -> None:
        """Forget what the last association told us (clock mapping, wave scaling)."""
        self._clock: tuple[int, datetime] | None = None  # (rel ticks, UTC wall) of the MDS
        self._waves: dict[tuple[int, int], _WaveSpec] = {}
        self._seen_ids: set[int] = set()  # labels (or, without one, physio ids) seen
        #: each object's label (NOM_ATTR_ID_LABEL) by (context, handle): sent with the object's
        #: static attributes, not necessarily in every reply
        self._labels: dict[tuple[int, int], int] = {}
        #: what was last reported of the alert monitor and the patient (on change, and every
        #: REPORT_REPEAT_EVERY replies), and replies since
        self._reported: dict[str, tuple[object, int]] = {}
        #: where each wave's samples delivered so far end, in the monitor's RelativeTime ticks
        #: (by (context, handle, physio)): a block repeating samples already delivered — the
        #: confirmation of a renewed periodic poll — is trimmed or dropped
        self._wave_end: dict[tuple[int, int, int], int] = {}
        self._linked: dict[int, int] = {}  # invoke id -> last linked count

    # -- public --------------------------------------------------------------------------

    def take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    @property
    def device_clock(self) -> tuple[int, datetime] | None:
        return self._clock

    def device_time(self, rel_ticks: int) -> datetime | None:
        """Monitor RelativeTime → UTC wall time, from the MDS create event's clock mapping."""
        if self._clock is None:
            return None
        rel0, wall0 = self._clock
        delta = (rel_ticks - rel0) % C.REL_TIME_MODULUS
        if delta >= C.REL_TIME_MODULUS // 2:
            delta -= C.REL_TIME_MODULUS
        return wall0 + timedelta(seconds=delta / C.TICKS_PER_SECOND)

    def feed(self, data: bytes) -> list[Reading]:
        readings: list[Reading] = []
        for payload in self.reader.feed(data):
            try:
                readings.extend(self._message(payload))
                self.messages_decoded += 1
            except Exception as exc:  # noqa: BLE001 - a decoder never raises on bad input
                self.stats.frames_accepted -= 1
                self.stats.frames_rejected += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
        return readings

    # -- messages ------------------------------------------------------------------------

    def _abs_to_utc(self, raw: bytes) -> datetime | None:
        t = decode_abs_time(raw)
        if t is None:
            return None
        return t.replace(tzinfo=self.device_tz).astimezone(UTC)

    def _message(self, payload: bytes) -> list[Reading]:
        if not payload:
            raise ParseError("empty message")
        first = payload[0]
        if first == 0xE1:
            return self._data_export(parse_message(payload))
        if first == C.AC_SPDU_SI:
            try:
                info: MdseUserInfo | None = parse_assoc_user_info(payload)
            except ParseError:
                info = None
            self.reset_dialog()
            self._events.append(AssociationAccepted(info))
        elif first == C.RF_SPDU_SI:
            self._events.append(AssociationRefused())
        elif first == C.AB_SPDU_SI:
            self._events.append(AssociationAborted())
        elif first == C.DN_SPDU_SI:
            self._events.append(ReleaseConfirmed())
        elif first in (C.CN_SPDU_SI, C.FN_SPDU_SI):
            pass  # host → monitor messages (a capture of both directions): nothing to decode
        else:
            raise ParseError(f"unknown message type {first:#04x}")
        return []

    def _data_export(self, msg: DataExportMessage) -> list[Reading]:
        if msg.ro_type == C.ROER_APDU:
            self._events.append(RemoteError(msg.invoke_id, msg.error_value or 0))
            return []
        if msg.ro_type == C.ROIV_APDU:
            if msg.event_type == C.NOM_NOTI_MDS_CREAT and msg.managed_object is not None:
                self._mds_create(msg)
            return []
        reply = msg.poll_reply
        if reply is None:
            return []
        linked = None
        if msg.ro_type == C.ROLRS_APDU:
            linked = (msg.linked_state or 0, msg.linked_count or 0)
            self._linked[msg.invoke_id] = linked[1]
        else:
            self._linked.pop(msg.invoke_id, None)
        self._events.append(
            PollResult(msg.invoke_id, reply.poll_number, reply.obj_code, reply.sequence_no, linked)
        )
        if reply.obj_code == C.NOM_MOC_VMO_METRIC_NU:
            return self._numerics(reply)
        if reply.obj_code == C.NOM_MOC_VMO_METRIC_SA_RT:
            return self._waves_reply(reply)
        if reply.obj_code == C.NOM_MOC_VMO_AL_MON:
            return self._alerts(reply)
        if reply.obj_code == A.NOM_MOC_PT_DEMOG:
            return self._demographics(reply)
        return []

    def _changed(self, what: str, value: object) -> bool:
        """Report ``value`` when it differs from the last report, or every REPORT_REPEAT_EVERY
        replies (so a state survives a lost batch)."""
        last = self._reported.get(what)
        if last is not None and last[0] == value and last[1] < REPORT_REPEAT_EVERY:
            self._reported[what] = (value, last[1] + 1)
            return False
        self._reported[what] = (value, 1)
        return True

    # -- alert monitor and patient demographics ------------------------------------------

    def _alerts(self, reply: PollReply) -> list[Reading]:
        listed: list[DeviceAlarm] | None = None
        for _context, observations in reply.contexts:
            for _handle, attrs in observations:
                found = A.alarms_from_attrs(attrs)
                if found is not None:
                    listed = (listed or []) + [a for a in found if a not in (listed or [])]
        if listed is None or not self._changed("alerts", tuple(listed)):
            return []
        when = self.device_time(reply.rel_time) if reply.rel_time else None
        return [Reading(code=str(Code.DEVICE_ALARM),
                        value="; ".join(a.text for a in listed) or None, device_time=when,
                        extra={"device_alarms": tuple(listed)})]

    def _demographics(self, reply: PollReply) -> list[Reading]:
        for _context, observations in reply.contexts:
            for _handle, attrs in observations:
                demog = A.demographics_from_attrs(attrs)
                if demog is None or not self._changed("patient", demog):
                    continue
                return [Reading(code=str(Code.DEVICE_PATIENT),
                                value=demog.patient_id if demog.admitted else None,
                                extra={"given_name": demog.given, "family_name": demog.family,
                                       "state": demog.state})]
        return []

    def _mds_create(self, msg: DataExportMessage) -> None:
        abs_t = rel_t = None
        for attr_id, value in msg.event_attrs:
            if attr_id == C.NOM_ATTR_TIME_ABS and len(value) == 8:
                abs_t = self._abs_to_utc(value)
            elif attr_id == C.NOM_ATTR_TIME_REL and len(value) == 4:
                rel_t = int.from_bytes(value, "big")
        if abs_t is not None and rel_t is not None:
            self._clock = (rel_t, abs_t)
        assert msg.managed_object is not None
        self._events.append(
            MdsCreated(msg.invoke_id, msg.managed_object, abs_t, msg.event_time or 0)
        )

    # -- numerics ------------------------------------------------------------------------

    def _label(self, context: int, handle: int, attrs: list[Attr]) -> int | None:
        """The object's label: from this reply if it carries one, else as last seen."""
        for attr_id, value in attrs:
            if attr_id == C.NOM_ATTR_ID_LABEL and len(value) == 4:
                label = int.from_bytes(value, "big")
                self._labels[(context, handle)] = label
                return label
        return self._labels.get((context, handle))

    def _numerics(self, reply: PollReply) -> list[Reading]:
        out: list[Reading] = []
        reply_time = self.device_time(reply.rel_time) if reply.rel_time else None
        for context, observations in reply.contexts:
            for handle, attrs in observations:
                label = self._label(context, handle, attrs)
                when = reply_time
                values: list[tuple[int, int, int, int]] = []
                for attr_id, value in attrs:
                    if attr_id == C.NOM_ATTR_NU_VAL_OBS:
                        values.append(_nu_obs(Cursor(value)))
                    elif attr_id == C.NOM_ATTR_NU_CMPD_VAL_OBS:
                        cur = Cursor(value)
                        count = cur.u16()
                        body = cur.sub(cur.u16())
                        values.extend(_nu_obs(body) for _ in range(count))
                    elif attr_id == C.NOM_ATTR_TIME_STAMP_ABS and len(value) == 8:
                        stamped = self._abs_to_utc(value)
                        when = stamped or when
                    elif attr_id == C.NOM_ATTR_TIME_STAMP_REL and len(value) == 4:
                        rel = int.from_bytes(value, "big")
                        if rel and not any(a == C.NOM_ATTR_TIME_STAMP_ABS for a, _ in attrs):
                            when = self.device_time(rel) or when
                for physio, state, unit, raw in values:
                    reading = self._numeric(physio, state, unit, raw, when, handle, label)
                    if reading is not None:
                        out.append(reading)
        return out

    def _target(self, physio: int, label: int | None) -> tuple[Code, str] | None:
        """Which of our codes and sites a numeric is: by its object's label (several objects
        share one physio id), by its physio id only when the monitor never sent the label."""
        if label is not None:
            entry = C.NUMERIC_LABELS.get(label)
            if entry is None:
                return None  # a setting, an invasive pressure's pulse...: not ours
            code, site = entry
            if code is None:  # a compound (NBP, CO2): its parts by physio id
                part = C.NUMERIC_CODES.get(physio)
                if part not in _COMPOUND_PARTS:
                    return None
                return part, site
            preferred = C.FALLBACK_LABEL_OF.get(label)
            if preferred is not None and preferred in self._seen_ids:
                return None
            self._seen_ids.add(label)
            return code, site
        by_site = C.SITE_IDS.get(physio)
        if by_site is not None:
            return by_site
        main = C.NUMERIC_CODES.get(physio)
        if main is None:
            return None
        preferred = C.FALLBACK_OF.get(physio)
        if preferred is not None and preferred in self._seen_ids:
            return None
        self._seen_ids.add(physio)
        return main, Site.MAIN

    def _numeric(
        self, physio: int, state: int, unit: int, raw: int, when: datetime | None, handle: int,
        label: int | None = None,
    ) -> Reading | None:
        target = self._target(physio, label)
        if target is None:
            return None
        code, site = target
        quality = set(quality_from_state(state))
        extra: dict = {"physio_id": physio, "state": state, "handle": handle, "label": label}
        special = float_special(raw)
        value: float | None = None
        if special is None:
            value = decode_float(raw)
        elif special == "nan":
            quality.add(Quality.UNAVAILABLE)
        else:
            quality.add(Quality.INVALID)
        if special is not None:
            extra["special"] = special
        if value is not None:
            if code in _PRESSURES and unit == C.NOM_DIM_KILO_PASCAL:
                value = round(value * C.MMHG_PER_KPA, 1)
            elif code == Code.TEMP and unit == C.NOM_DIM_FAHR:
                value = round((value - 32.0) * 5.0 / 9.0, 2)
            elif code == Code.ETCO2 and unit == C.NOM_DIM_PERCENT:
                # A gas fraction needs the ambient pressure to become mmHg; we do not know it.
                extra["raw_value"] = value
                extra["raw_unit"] = "%"
                extra["note"] = "monitor sends EtCO2 in %; set it to mmHg or kPa"
                value = None
                quality.add(Quality.UNAVAILABLE)
        return Reading(
            code=str(code),
            value=value,
            unit=UNITS[code],
            quality=frozenset(quality),
            device_time=when,
            extra=extra,
            site=str(site),
        )

    # -- waves ---------------------------------------------------------------------------

    def _waves_reply(self, reply: PollReply) -> list[Reading]:
        out: list[Reading] = []
        when = self.device_time(reply.rel_time) if reply.rel_time else None
        for context, observations in reply.contexts:
            for handle, attrs in observations:
                spec = self._waves.setdefault((context, handle), _WaveSpec())
                _update_spec(spec, attrs)
                label = self._label(context, handle, attrs)
                for attr_id, value in attrs:
                    if attr_id == C.NOM_ATTR_SA_VAL_OBS:
                        r = self._wave(spec, Cursor(value), when, label)
                        if r is not None:
                            r = self._dedup(r, (context, handle), spec, reply.rel_time)
                        if r is not None:
                            out.append(r)
                    elif attr_id == C.NOM_ATTR_SA_CMPD_VAL_OBS:
                        cur = Cursor(value)
                        count = cur.u16()
                        body = cur.sub(cur.u16())
                        for _ in range(count):
                            r = self._wave(spec, body, when, label)
                            if r is not None:
                                r = self._dedup(r, (context, handle), spec, reply.rel_time)
                            if r is not None:
                                out.append(r)
        return out

    def _dedup(self, r: Reading, where: tuple[int, int], spec: _WaveSpec,
               rel_time: int) -> Reading | None:
        """Drop the samples of a wave block that were delivered already, judged by the
        monitor's RelativeTime of the block (its first sample) and the sample period."""
        samples = r.samples
        if samples is None or not rel_time or not r.rate_hz:
            return r
        period = spec.sample_period or C.TICKS_PER_SECOND / r.rate_hz
        key = (where[0], where[1], int(r.extra.get("physio_id", 0)))
        end = (rel_time + round(len(samples) * period)) % C.REL_TIME_MODULUS
        last_end = self._wave_end.get(key)
        if last_end is not None:
            behind = (last_end - rel_time) % C.REL_TIME_MODULUS
            if 0 < behind < C.REL_TIME_MODULUS // 2:  # starts before the last block ended
                skip = round(behind / period)
                ahead = (end - last_end) % C.REL_TIME_MODULUS
                if skip >= len(samples) or ahead == 0 or ahead >= C.REL_TIME_MODULUS // 2:
                    self.wave_samples_dropped += len(samples)
                    return None
                self.wave_samples_dropped += skip
                r.samples = samples[skip:]
                if r.device_time is not None:
                    r.device_time += timedelta(seconds=skip * period / C.TICKS_PER_SECOND)
        self._wave_end[key] = end
        return r

    def _wave(self, spec: _WaveSpec, cur: Cursor, when: datetime | None,
              label: int | None = None) -> Reading | None:
        physio, state, length = cur.fields(H3)
        raw = cur.take(length)
        if physio in spec.scales:
            scale = spec.scales[physio]
        else:
            scale = spec.scales[physio] = _wave_scale(spec, physio)
        if scale is None:
            return None  # unknown wave, or its scaling has not arrived yet
        code, unit, dtype, mask, gain, offset, rate = scale
        if len(raw) % dtype.itemsize:
            raise ParseError("odd sample array length for 16-bit samples")
        ints = np.frombuffer(raw, dtype=dtype)
        if mask is not None:
            ints = ints & mask
        values = np.multiply(ints, gain, dtype=np.float64)
        values += offset
        return Reading(
            code=code,
            unit=unit,
            quality=quality_from_state(state),
            device_time=when,
            samples=values.astype(np.float32),
            rate_hz=rate,
            extra={"physio_id": physio, "state": state, "label": label},
            site=_wave_site(code, physio, label),
        )


_COMPOUND_PARTS = frozenset({Code.NBP_SYS, Code.NBP_DIA, Code.NBP_MEAN, Code.ETCO2})


@functools.lru_cache(maxsize=256)
def _wave_site(code: str, physio: int, label: int | None) -> str:
    """A wave's site: the lead its physio id names (ECG), refined by its label (an external
    ECG's EMFC leads, the left/right/second pleth)."""
    if label is not None:
        entry = C.WAVE_LABELS.get(label)
        if entry is not None and entry[0] == code:
            return str(entry[1])
    if code == Code.ECG:
        return str(C.ECG_LEAD_IDS.get(physio, Site.MAIN))
    return str(C.PLETH_SITE_IDS.get(physio, Site.MAIN))


_SAMPLE_DTYPES: dict[int, np.dtype] = {8: np.dtype(np.uint8), 16: np.dtype(">u2")}

#: How one wave's samples become values: code, unit, sample dtype, mask (None: none), gain,
#: offset, sample rate (Hz)
_WaveScale = tuple[str, str, np.dtype, int | None, float, float, float | None]


def _wave_scale(spec: _WaveSpec, physio: int) -> _WaveScale | None:
    """What the spec attributes say about decoding ``physio``'s samples; None for a wave we do
    not know or whose scaling has not arrived. Raises ParseError for a spec we cannot use."""
    code = C.WAVE_CODES.get(physio)
    if code is None or spec.lower_scaled is None or spec.upper_scaled is None:
        return None
    dtype = _SAMPLE_DTYPES.get(spec.sample_size)
    if dtype is None:
        raise ParseError(f"unsupported sample size {spec.sample_size}")
    mask = None
    if spec.flags & C.SA_EXT_VAL_RANGE:
        mask = (1 << min(spec.significant_bits, spec.sample_size)) - 1
    span = spec.upper_scaled - spec.lower_scaled
    if span == 0:
        raise ParseError("empty scale range")
    # value = lo_abs + (sample - lower_scaled) * (hi_abs - lo_abs) / span, as one multiply
    # and one add over the array (in float64, like the formula)
    lo_abs, hi_abs = spec.lower_abs, spec.upper_abs
    if lo_abs is not None and hi_abs is not None and math.isfinite(lo_abs + hi_abs):
        gain = (hi_abs - lo_abs) / span
        offset = lo_abs - spec.lower_scaled * gain
        if code == Code.ECG and spec.unit_code == C.NOM_DIM_MICRO_VOLT:
            gain, offset = gain / 1000.0, offset / 1000.0
    else:  # no absolute meaning: 0..1 over the scaled range
        gain = 1.0 / span
        offset = -spec.lower_scaled * gain
    rate = (
        C.TICKS_PER_SECOND / spec.sample_period
        if spec.sample_period
        else _DEFAULT_RATE.get(code)
    )
    return str(code), UNITS[code], dtype, mask, gain, offset, rate


def _nu_obs(cur: Cursor) -> tuple[int, int, int, int]:
    """NuObsValue: physio_id, state, unit_code, FLOAT-Type (raw)."""
    return cur.fields(_NU_OBS)


_NU_OBS = struct.Struct(">HHHI")


_SPEC_ATTRS = frozenset({C.NOM_ATTR_SA_SPECN, C.NOM_ATTR_TIME_PD_SAMP,
                         C.NOM_ATTR_SCALE_SPECN_I16, C.NOM_ATTR_UNIT_CODE})


def _update_spec(spec: _WaveSpec, attrs: list[Attr]) -> None:
    seen = spec.seen
    for attr_id, value in attrs:
        if attr_id not in _SPEC_ATTRS or seen.get(attr_id) == value:
            continue
        cur = Cursor(value)
        if attr_id == C.NOM_ATTR_SA_SPECN:
            cur.u16()  # array_size
            spec.sample_size = cur.u8()
            spec.significant_bits = cur.u8()
            spec.flags = cur.u16()
        elif attr_id == C.NOM_ATTR_TIME_PD_SAMP:
            spec.sample_period = cur.u32() or None
        elif attr_id == C.NOM_ATTR_SCALE_SPECN_I16:
            lo = decode_float(cur.u32())
            hi = decode_float(cur.u32())
            spec.lower_abs = lo if math.isfinite(lo) else None
            spec.upper_abs = hi if math.isfinite(hi) else None
            spec.lower_scaled = cur.u16()
            spec.upper_scaled = cur.u16()
        elif attr_id == C.NOM_ATTR_UNIT_CODE:
            spec.unit_code = cur.u16()
        seen[attr_id] = value
        spec.scales.clear()
