"""The canonical vocabulary every decoder maps onto (DESIGN.md, "Canonical vocabulary").

Rules and the UI only ever see these codes, never a device's own labels.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    # numerics
    HR = "HR"  # bpm, from ECG
    PR = "PR"  # bpm, from pleth
    SPO2 = "SPO2"  # %
    NBP_SYS = "NBP_SYS"  # mmHg
    NBP_DIA = "NBP_DIA"
    NBP_MEAN = "NBP_MEAN"
    RR = "RR"  # breaths/min
    ETCO2 = "ETCO2"  # mmHg
    TEMP = "TEMP"  # degC
    PI = "PI"  # %
    # waves
    ECG = "ECG"  # mV, lead II
    PLETH = "PLETH"  # arbitrary units
    RESP = "RESP"
    CO2 = "CO2"
    # pump
    PUMP_RATE = "PUMP_RATE"  # mL/h
    PUMP_VI = "PUMP_VI"  # mL
    PUMP_VTBI = "PUMP_VTBI"  # mL
    PUMP_STATE = "PUMP_STATE"  # text: infusing / paused / stopped / alarm
    PUMP_ALARM = "PUMP_ALARM"  # text or None
    # device status
    DEVICE_ONLINE = "DEVICE_ONLINE"
    DEVICE_OFFLINE = "DEVICE_OFFLINE"
    SENSOR_OFF = "SENSOR_OFF"
    DEVICE_ALARM = "DEVICE_ALARM"  # the device's own alarm bits / text
    DIAGNOSTIC = "DIAGNOSTIC"  # a message for the technician (e.g. wrong output mode)


UNITS: dict[str, str] = {
    Code.HR: "bpm",
    Code.PR: "bpm",
    Code.SPO2: "%",
    Code.NBP_SYS: "mmHg",
    Code.NBP_DIA: "mmHg",
    Code.NBP_MEAN: "mmHg",
    Code.RR: "/min",
    Code.ETCO2: "mmHg",
    Code.TEMP: "°C",
    Code.PI: "%",
    Code.ECG: "mV",
    Code.PLETH: "",
    Code.RESP: "",
    Code.CO2: "mmHg",
    Code.PUMP_RATE: "mL/h",
    Code.PUMP_VI: "mL",
    Code.PUMP_VTBI: "mL",
    Code.PUMP_STATE: "",
    Code.PUMP_ALARM: "",
}

#: The names a nurse reads for each code (screens, alarm messages, printed history): one table,
#: so no view shows an internal code such as ``NBP_SYS``.
NAMES: dict[str, str] = {
    Code.HR: "HR", Code.PR: "Pulse rate", Code.SPO2: "SpO\u2082",
    Code.NBP_SYS: "Systolic BP", Code.NBP_DIA: "Diastolic BP", Code.NBP_MEAN: "Mean BP",
    Code.RR: "Resp. rate", Code.ETCO2: "EtCO\u2082", Code.TEMP: "Temperature", Code.PI: "PI",
    Code.ECG: "ECG", Code.PLETH: "Pleth", Code.RESP: "Resp", Code.CO2: "CO\u2082",
    Code.PUMP_RATE: "Pump rate", Code.PUMP_VI: "Volume infused", Code.PUMP_VTBI: "VTBI",
    Code.PUMP_STATE: "Pump state", Code.PUMP_ALARM: "Pump alarm",
    Code.DEVICE_ONLINE: "Device online", Code.DEVICE_OFFLINE: "Device offline",
    Code.SENSOR_OFF: "Sensor off", Code.DEVICE_ALARM: "Device alarm",
    Code.DIAGNOSTIC: "Diagnostic",
}


def display_name(code: str) -> str:
    """The nurse's name for ``code`` (the code itself when it has none)."""
    return NAMES.get(str(code), str(code))


#: The names of charted assessment scales as a nurse reads them (history, trend, summary): the
#: record keeps its stable identifiers ("CADSS6", "BASELINE_VITALS").
SCALE_NAMES: dict[str, str] = {
    "CADSS6": "CADSS-6", "CADSS-6": "CADSS-6", "MOAAS": "MOAA/S", "MOAA/S": "MOAA/S",
    "NAUSEA": "Nausea", "ALDRETE": "Aldrete", "BASELINE_VITALS": "Baseline vitals",
    "VITALS_CHECK": "Vitals check",
}


def scale_name(scale: str) -> str:
    """The nurse's name for an assessment scale (the identifier itself when it has none)."""
    return SCALE_NAMES.get(scale, SCALE_NAMES.get(scale.upper(), scale))


NUMERIC_CODES = frozenset(
    {
        Code.HR, Code.PR, Code.SPO2, Code.NBP_SYS, Code.NBP_DIA, Code.NBP_MEAN,
        Code.RR, Code.ETCO2, Code.TEMP, Code.PI, Code.PUMP_RATE, Code.PUMP_VI, Code.PUMP_VTBI,
    }
)
WAVE_CODES = frozenset({Code.ECG, Code.PLETH, Code.RESP, Code.CO2})
NBP_CODES = frozenset({Code.NBP_SYS, Code.NBP_DIA, Code.NBP_MEAN})


class PumpState(StrEnum):
    INFUSING = "infusing"
    PAUSED = "paused"
    STOPPED = "stopped"
    ALARM = "alarm"


class Quality(StrEnum):
    """Quality flags on a reading. An empty set means a good, valid value."""

    INVALID = "invalid"
    QUESTIONABLE = "questionable"
    UNAVAILABLE = "unavailable"
    CALIBRATING = "calibrating"
    TEST_DATA = "test_data"
    DEMO_DATA = "demo_data"
    SENSOR_OFF = "sensor_off"
    LOW_PERFUSION = "low_perfusion"
    PULSE_SEARCH = "pulse_search"
    IN_ALARM = "in_alarm"  # still a valid number
    ALARMS_OFF = "alarms_off"  # still a valid number


#: Flags that make a value unusable for rules (alarms, discharge gate).
UNUSABLE = frozenset(
    {Quality.INVALID, Quality.UNAVAILABLE, Quality.CALIBRATING, Quality.TEST_DATA,
     Quality.SENSOR_OFF}
)
