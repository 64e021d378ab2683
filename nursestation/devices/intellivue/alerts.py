"""The IntelliVue alert monitor and patient demographics objects: what the monitor itself is
alarming about, and which patient it has admitted.

Layouts from the Data Export guide (facts; the public OpenICE parser agrees):

* The alert monitor (NOM_MOC_VMO_AL_MON), polled with attribute group NOM_ATTR_GRP_AL_MON,
  carries the patient alarm list (NOM_ATTR_AL_MON_P_AL_LIST) and the technical alarm list
  (NOM_ATTR_AL_MON_T_AL_LIST). A DevAlarmList is count u16, length u16, then DevAlarmEntry:
  al_source u16 (the physiological id it is about), al_code u16 (NOM_EVT_...), al_type u16
  (priority and patient/technical), al_state u16 (inhibited, suspended, latched...), the object
  (class, context, handle), alert_info_id u16, length u16 and that many bytes of info:
  AlMonGenInfo (al_inst_no u16, al_text TextId u32, al_priority u16, al_flags u16) or
  StrAlMonInfo (the same, then a String: the text the monitor shows).
* A String is length u16 then that many bytes of 16-bit characters, big-endian, padded with
  NULs.
* The patient demographics object (NOM_MOC_PT_DEMOG), attribute group NOM_ATTR_GRP_PT_DEMOG,
  carries the patient ID (NOM_ATTR_PT_ID), given and family names (Strings) and the admission
  state (NOM_ATTR_PT_DEMOG_ST: 0 empty, 1 pre-admitted, 2 admitted, 8 discharged).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from nursestation.core.readings import DeviceAlarm
from nursestation.core.vocabulary import Code
from nursestation.devices.intellivue import constants as C
from nursestation.devices.intellivue.codec import Attr, Cursor, ParseError, u16, u32

NOM_MOC_PT_DEMOG = 0x002A
NOM_ATTR_GRP_AL_MON = 0x0801
NOM_ATTR_GRP_PT_DEMOG = 0x0807
NOM_ATTR_AL_MON_P_AL_LIST = 0x0902
NOM_ATTR_AL_MON_T_AL_LIST = 0x0904
NOM_ATTR_PT_DEMOG_ST = 0x0957
NOM_ATTR_PT_ID = 0x095A
NOM_ATTR_PT_NAME_FAMILY = 0x095C
NOM_ATTR_PT_NAME_GIVEN = 0x095D
GEN_ALMON_INFO = 513
STR_ALMON_INFO = 516

# al_type
NO_ALERT = 0
LOW_PRI_T_AL, MED_PRI_T_AL, HI_PRI_T_AL = 1, 2, 4
LOW_PRI_P_AL, MED_PRI_P_AL, HI_PRI_P_AL = 0x100, 0x200, 0x400
_TYPE = {
    LOW_PRI_T_AL: ("technical", "low"), MED_PRI_T_AL: ("technical", "medium"),
    HI_PRI_T_AL: ("technical", "high"), LOW_PRI_P_AL: ("physiological", "low"),
    MED_PRI_P_AL: ("physiological", "medium"), HI_PRI_P_AL: ("physiological", "high"),
}
# al_state bits
AL_INHIBITED = 0x8000
AL_SUSPENDED = 0x4000
AL_LATCHED = 0x2000
AL_SILENCED_RESET = 0x1000
AL_DEV_IN_TEST_MODE = 0x0400
AL_DEV_IN_STANDBY = 0x0200
AL_DEV_IN_DEMO_MODE = 0x0100
#: an entry in one of these states is not an alarm sounding at the bedside: not raised
NOT_ALARMING = AL_INHIBITED | AL_SUSPENDED | AL_DEV_IN_TEST_MODE | AL_DEV_IN_STANDBY

# some NOM_EVT_ codes (guide, "Alert codes")
NOM_EVT_HI = 40
NOM_EVT_LO = 62
NOM_EVT_EQUIP_MALF = 242
NOM_EVT_LEADS_OFF = 274
NOM_EVT_SENSOR_DISCONN = 308
NOM_EVT_WAVE_OSCIL_ABSENT = 442
NOM_EVT_DESAT = 3246
EVENT_TEXT: dict[int, str] = {
    4: "ABSENT", 22: "DISCONNECTED", 24: "DISTURBED", 32: "ERRATIC", 38: "FAILURE",
    NOM_EVT_HI: "HIGH", NOM_EVT_LO: "LOW", 70: "MALFUNCTION", 74: "NOISY",
    110: "UNAVAILABLE", 194: "BATTERY LOW", NOM_EVT_EQUIP_MALF: "EQUIP MALF",
    268: "LEAD OFF", NOM_EVT_LEADS_OFF: "LEADS OFF", NOM_EVT_SENSOR_DISCONN: "SENSOR OFF",
    310: "SENSOR MALF", 312: "SENSOR PROBLEM", 352: "DISCONNECTED", 354: "MEASUREMENT ERROR",
    356: "MEASUREMENT FAILED", 358: "INOP", 380: "SIGNAL LOW", 432: "ARTIFACT",
    436: "INTERFERENCE", NOM_EVT_WAVE_OSCIL_ABSENT: "NON-PULSATILE", 3072: "APNEA",
    3076: "ASYSTOLE", 3086: "EXTREME BRADY", 3122: "EXTREME TACHY", NOM_EVT_DESAT: "DESAT",
    61766: "BRADY", 61768: "TACHY", 61830: "EXTREME HIGH", 61832: "EXTREME LOW",
    61844: "LEADS OFF",
}
_HIGH_EVENTS = frozenset({NOM_EVT_HI, 61830, 61768, 3122})
_LOW_EVENTS = frozenset({NOM_EVT_LO, 61832, 61766, 3086, NOM_EVT_DESAT})

#: alert source (physio id) -> (our code, how the monitor names it)
SOURCES: dict[int, tuple[str, str]] = {
    C.NOM_ECG_CARD_BEAT_RATE: (Code.HR, "HR"),
    C.NOM_PLETH_PULS_RATE: (Code.PR, "Pulse"),
    C.NOM_PULS_RATE: (Code.PR, "Pulse"),
    C.NOM_PULS_OXIM_SAT_O2: (Code.SPO2, "SpO2"),
    C.NOM_PULS_OXIM_PERF_REL: (Code.PI, "Perf"),
    C.NOM_PLETH: (Code.SPO2, "SpO2"),
    C.NOM_PRESS_BLD_NONINV: (Code.NBP_SYS, "NBP"),
    C.NOM_PRESS_BLD_NONINV_SYS: (Code.NBP_SYS, "NBP"),
    C.NOM_PRESS_BLD_NONINV_DIA: (Code.NBP_DIA, "NBP"),
    C.NOM_PRESS_BLD_NONINV_MEAN: (Code.NBP_MEAN, "NBP"),
    C.NOM_RESP_RATE: (Code.RR, "RR"),
    C.NOM_AWAY_RESP_RATE: (Code.RR, "awRR"),
    C.NOM_AWAY_CO2_ET: (Code.ETCO2, "etCO2"),
    C.NOM_AWAY_CO2: (Code.ETCO2, "CO2"),
    C.NOM_TEMP: (Code.TEMP, "Temp"),
    **{physio: (Code.ECG, "ECG") for physio in C.ECG_LEAD_IDS},
}

_ENTRY = struct.Struct(">HHHHHHHHH")  # source, code, type, state, class, context, handle, id, len


@dataclass(frozen=True)
class AlertEntry:
    """One entry of a DevAlarmList, as the monitor sent it."""

    source: int
    code: int
    al_type: int
    state: int
    handle: int
    text: str | None = None  # StrAlMonInfo's string
    al_text: int | None = None  # the TextId of AlMonGenInfo

    def device_alarm(self) -> DeviceAlarm | None:
        """The station's view of it; None for an entry that is not alarming at the bedside."""
        kind_priority = _TYPE.get(self.al_type)
        if kind_priority is None or self.state & NOT_ALARMING:
            return None
        kind, priority = kind_priority
        code, name = SOURCES.get(self.source, ("", f"source {self.source:#06x}"))
        words = self.text or f"{name} {EVENT_TEXT.get(self.code, f'alert {self.code}')}"
        direction = ("high" if self.code in _HIGH_EVENTS
                     else "low" if self.code in _LOW_EVENTS else "")
        key = f"{kind[0]}:{self.source:#06x}:{self.code}:{self.handle:#06x}"
        return DeviceAlarm(key, words, kind, priority, str(code), direction)


def decode_string(raw: bytes) -> str:
    """An IntelliVue String value (length u16, 16-bit characters big-endian, NUL-padded)."""
    cur = Cursor(raw)
    data = cur.take(cur.u16())
    if len(data) % 2:
        data = data[:-1]
    return data.decode("utf-16-be", errors="replace").replace("\x00", "").strip()


def encode_string(text: str) -> bytes:
    data = text.encode("utf-16-be") + b"\x00\x00"
    return u16(len(data)) + data


def parse_alarm_list(raw: bytes) -> list[AlertEntry]:
    """A DevAlarmList attribute value → its entries. Raises ParseError on a malformed one."""
    cur = Cursor(raw)
    count = cur.u16()
    body = cur.sub(cur.u16())
    out: list[AlertEntry] = []
    for _ in range(count):
        source, code, al_type, state, _cls, _ctx, handle, info_id, length = body.fields(_ENTRY)
        info = body.sub(length)
        text = al_text = None
        if info_id in (GEN_ALMON_INFO, STR_ALMON_INFO):
            info.u16()  # al_inst_no
            al_text = info.u32()
            info.u16()  # al_priority
            info.u16()  # al_flags
            if info_id == STR_ALMON_INFO:
                rest = info.take(info.remaining)
                text = decode_string(rest) or None
        out.append(AlertEntry(source, code, al_type, state, handle, text, al_text))
    return out


def encode_alarm_list(entries: list[AlertEntry]) -> bytes:
    """The inverse of :func:`parse_alarm_list` (the simulator's side)."""
    parts = []
    for e in entries:
        info = u16(1) + u32(e.al_text or 0) + u16(0) + u16(0)
        info_id = GEN_ALMON_INFO
        if e.text:
            info += encode_string(e.text)
            info_id = STR_ALMON_INFO
        parts.append(struct.pack(">HHHHHHHHH", e.source, e.code, e.al_type, e.state,
                                 C.NOM_MOC_VMO_METRIC_NU, 0, e.handle, info_id, len(info))
                     + info)
    body = b"".join(parts)
    return u16(len(entries)) + u16(len(body)) + body


def alarms_from_attrs(attrs: list[Attr]) -> list[DeviceAlarm] | None:
    """The alert monitor's attributes → what it alarms about now (None: no alarm lists in
    this reply, e.g. a reply to another attribute group)."""
    found = False
    out: list[DeviceAlarm] = []
    for attr_id, value in attrs:
        if attr_id in (NOM_ATTR_AL_MON_P_AL_LIST, NOM_ATTR_AL_MON_T_AL_LIST):
            found = True
            for entry in parse_alarm_list(value):
                a = entry.device_alarm()
                if a is not None and a not in out:
                    out.append(a)
    return out if found else None


@dataclass(frozen=True)
class Demographics:
    patient_id: str | None
    given: str | None
    family: str | None
    state: int | None  # 0 empty, 1 pre-admitted, 2 admitted, 8 discharged

    @property
    def admitted(self) -> bool:
        return self.state == 2 or (self.state is None and bool(self.patient_id))


def demographics_from_attrs(attrs: list[Attr]) -> Demographics | None:
    pid = given = family = None
    state: int | None = None
    found = False
    for attr_id, value in attrs:
        if attr_id == NOM_ATTR_PT_ID:
            pid, found = decode_string(value) or None, True
        elif attr_id == NOM_ATTR_PT_NAME_GIVEN:
            given, found = decode_string(value) or None, True
        elif attr_id == NOM_ATTR_PT_NAME_FAMILY:
            family, found = decode_string(value) or None, True
        elif attr_id == NOM_ATTR_PT_DEMOG_ST:
            if len(value) != 2:
                raise ParseError("patient demographics state is not 2 bytes")
            state, found = int.from_bytes(value, "big"), True
    return Demographics(pid, given, family, state) if found else None
