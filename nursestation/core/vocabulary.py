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
    ECG = "ECG"  # mV, any lead: the lead is the reading's site (lead II by default)
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
    DEVICE_ALARM = "DEVICE_ALARM"  # the device's own alarms: extra["device_alarms"], a summary
    DEVICE_PATIENT = "DEVICE_PATIENT"  # text: the patient ID the device has admitted (None: none)
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
    Code.DEVICE_PATIENT: "Monitor's patient",
    Code.DIAGNOSTIC: "Diagnostic",
    # the station's own technical alarms (core.alarms), not device codes
    "PUMP_CHART": "Pump vs chart", "NO_BP": "BP not taken on schedule",
    "PATIENT_MISMATCH": "Other patient on the monitor",
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


#: A visit's phase as a nurse reads it (the record keeps "check_in" etc.).
PHASE_WORDS: dict[str, str] = {
    "check_in": "check-in", "baseline": "baseline", "infusing": "infusing",
    "recovery": "recovery", "discharged": "discharged", "cancelled": "cancelled",
}

#: Where a visit stands, in a sentence, and when an action that needs a phase is done: the
#: words of a refusal such as "cannot record the baseline: the baseline is already recorded".
PHASE_SITUATION: dict[str, str] = {
    "check_in": "the patient is still being checked in",
    "baseline": "the baseline is already recorded and the infusion has not started",
    "infusing": "the infusion is running",
    "recovery": "the infusion has stopped and the patient is in recovery",
    "discharged": "the patient has been discharged",
    "cancelled": "the visit was cancelled",
}
PHASE_WHEN: dict[str, str] = {
    "check_in": "during check-in", "baseline": "once the baseline is recorded",
    "infusing": "while the infusion runs", "recovery": "in recovery, after the infusion stops",
    "discharged": "after discharge", "cancelled": "on a cancelled visit",
}


def phase_word(phase: str | None) -> str:
    """The nurse's word for a visit's phase ("" for no visit)."""
    return PHASE_WORDS.get(phase or "", phase or "")


NUMERIC_CODES = frozenset(
    {
        Code.HR, Code.PR, Code.SPO2, Code.NBP_SYS, Code.NBP_DIA, Code.NBP_MEAN,
        Code.RR, Code.ETCO2, Code.TEMP, Code.PI, Code.PUMP_RATE, Code.PUMP_VI, Code.PUMP_VTBI,
    }
)
WAVE_CODES = frozenset({Code.ECG, Code.PLETH, Code.RESP, Code.CO2})
NBP_CODES = frozenset({Code.NBP_SYS, Code.NBP_DIA, Code.NBP_MEAN})


class Site(StrEnum):
    """Where a measurement was taken, for codes measured at more than one site or lead.

    A reading keeps its code (``TEMP``, ``SPO2``, ``PR``, ``ECG``...) and carries a site:
    ``MAIN`` (empty) is the device's main, unqualified site (the IntelliVue's "Temp", "SpO2",
    "Pulse"; any oximeter without a site). The chair's *primary* site for each code comes from the
    configuration (``primary_sites``), by default the device's main one (``DEFAULT_SITE``), else
    the first site that reports; rules and tiles use the primary site only (see
    :class:`nursestation.core.readings.SitePicker`). Gateways map MDC body-site qualifiers here.
    """

    MAIN = ""
    # temperature sites
    CORE = "core"
    BODY = "body"
    RECTAL = "rectal"
    ORAL = "oral"
    AXILLARY = "axillary"
    SKIN = "skin"
    ESOPHAGEAL = "esophageal"
    NASOPHARYNGEAL = "nasopharyngeal"
    TYMPANIC = "tympanic"
    ARTERIAL = "arterial"
    VENOUS = "venous"
    BLOOD = "blood"
    BLADDER = "bladder"  # vesical
    AIRWAY = "airway"
    CEREBRAL = "cerebral"
    T1 = "T1"  # the monitor's generic temperature channels T1..T4
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    CORE_1 = "core 1"  # generic core temperatures T1core, T2core
    CORE_2 = "core 2"
    # pulse-oximetry sites (SPO2, PR, PI, PLETH)
    LEFT = "left"
    RIGHT = "right"
    PREDUCTAL = "preductal"
    POSTDUCTAL = "postductal"
    TELEMETRY = "telemetry"
    SECOND = "second"  # a second SpO2 module with no named site
    # ECG leads (ECG)
    LEAD_I = "I"
    LEAD_II = "II"
    LEAD_III = "III"
    LEAD_AVR = "aVR"
    LEAD_AVL = "aVL"
    LEAD_AVF = "aVF"
    LEAD_V = "V"
    LEAD_V1 = "V1"
    LEAD_V2 = "V2"
    LEAD_V3 = "V3"
    LEAD_V4 = "V4"
    LEAD_V5 = "V5"
    LEAD_V6 = "V6"
    LEAD_MCL = "MCL"
    LEAD_MCL1 = "MCL1"


TEMP_SITES = frozenset({
    Site.MAIN, Site.CORE, Site.BODY, Site.RECTAL, Site.ORAL, Site.AXILLARY, Site.SKIN,
    Site.ESOPHAGEAL, Site.NASOPHARYNGEAL, Site.TYMPANIC, Site.ARTERIAL, Site.VENOUS, Site.BLOOD,
    Site.BLADDER, Site.AIRWAY, Site.CEREBRAL, Site.T1, Site.T2, Site.T3, Site.T4, Site.CORE_1,
    Site.CORE_2,
})
OXIMETRY_SITES = frozenset({
    Site.MAIN, Site.LEFT, Site.RIGHT, Site.PREDUCTAL, Site.POSTDUCTAL, Site.TELEMETRY, Site.SECOND,
})
ECG_LEADS = frozenset({
    Site.MAIN, Site.LEAD_I, Site.LEAD_II, Site.LEAD_III, Site.LEAD_AVR, Site.LEAD_AVL,
    Site.LEAD_AVF, Site.LEAD_V, Site.LEAD_V1, Site.LEAD_V2, Site.LEAD_V3, Site.LEAD_V4,
    Site.LEAD_V5, Site.LEAD_V6, Site.LEAD_MCL, Site.LEAD_MCL1,
})

#: The sites each multi-site code may carry; a code not listed has only ``Site.MAIN``.
SITES: dict[str, frozenset[Site]] = {
    Code.TEMP: TEMP_SITES,
    Code.SPO2: OXIMETRY_SITES,
    Code.PR: OXIMETRY_SITES,
    Code.PI: OXIMETRY_SITES,
    Code.PLETH: OXIMETRY_SITES,
    Code.ECG: ECG_LEADS,
}

#: A code's main site when the configuration names none: lead II for the ECG, else the device's
#: unqualified site.
DEFAULT_SITE: dict[str, Site] = {Code.ECG: Site.LEAD_II}

#: Codes whose primary site follows another code's when only that one is configured (the pulse
#: rate, perfusion and pleth of the chosen SpO2 site).
SITE_FOLLOWS: dict[str, str] = {Code.PR: Code.SPO2, Code.PI: Code.SPO2, Code.PLETH: Code.SPO2}


def site_label(code: str, site: str) -> str:
    """How a reading is named to a person: "TEMP", "TEMP (rectal)", "ECG II"."""
    if not site:
        return str(code)
    return f"{code} {site}" if code == Code.ECG else f"{code} ({site})"


def site_display_name(code: str, site: str, primary: bool) -> str:
    """The nurse's name for a stored or live reading: the code's name alone for the chair's
    primary site, with the site when it is another one ("SpO\u2082 (right)"; the device's
    unqualified site reads "main" when another one is the primary)."""
    name = display_name(code)
    if primary:
        return name
    return f"{name} ({site or 'main'})"


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
