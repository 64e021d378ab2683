"""Standard codes: IEEE 11073-10101 (MDC) observation and unit codes, UCUM units, and how they
map onto the canonical vocabulary (``nursestation.core.vocabulary``).

Inbound, a gateway's OBX-3 is looked up by its MDC number (``150456^MDC_PULS_OXIM_SAT_O2^MDC``)
or, for Philips equipment that sends its own MDIL ids (``0002-4bb8^SpO2^MDIL``), by the IntelliVue
id; never by arithmetic on the id. IntelliVue's pleth pulse (``NOM_PLETH_PULS_RATE`` 0x4822 in
partition 2) is *not* ``MDC_PULS_OXIM_PULS_RATE`` (149530 = 2·65536 + 0x481A): only a lookup
gets it right. OBX-6 units are looked up by MDC unit code, MDC name or UCUM text, and values are
converted to the canonical unit (kPa → mmHg, °F → °C, % CO₂ → mmHg).

Outbound, each canonical code is sent with one MDC code and an MDC unit that also names its UCUM
equivalent in the README.
"""

from __future__ import annotations

from dataclasses import dataclass

from nursestation.core.vocabulary import Code
from nursestation.devices.intellivue import constants as iv

# ------------------------------------------------------------------------------ MDC observations


@dataclass(frozen=True)
class MdcObservation:
    mdc: int
    name: str
    code: Code
    site: str = ""  # measurement site, when the MDC code itself names one


#: MDC observation code -> canonical code (and site, where the code names one). Codes and names
#: from IEEE 11073-10101 as used by IHE PCD-01 (DESIGN.md; shared protocol notes).
MDC_OBSERVATIONS: dict[int, MdcObservation] = {o.mdc: o for o in (
    MdcObservation(147842, "MDC_ECG_HEART_RATE", Code.HR),
    MdcObservation(149530, "MDC_PULS_OXIM_PULS_RATE", Code.PR),
    MdcObservation(149514, "MDC_PULS_RATE", Code.PR),
    MdcObservation(150456, "MDC_PULS_OXIM_SAT_O2", Code.SPO2),
    MdcObservation(150021, "MDC_PRESS_BLD_NONINV_SYS", Code.NBP_SYS),
    MdcObservation(150022, "MDC_PRESS_BLD_NONINV_DIA", Code.NBP_DIA),
    MdcObservation(150023, "MDC_PRESS_BLD_NONINV_MEAN", Code.NBP_MEAN),
    MdcObservation(150301, "MDC_PRESS_CUFF_SYS", Code.NBP_SYS),
    MdcObservation(150302, "MDC_PRESS_CUFF_DIA", Code.NBP_DIA),
    MdcObservation(150303, "MDC_PRESS_CUFF_MEAN", Code.NBP_MEAN),
    MdcObservation(151562, "MDC_RESP_RATE", Code.RR),
    MdcObservation(151728, "MDC_AWAY_CO2_ET", Code.ETCO2),
    MdcObservation(151708, "MDC_CONC_AWAY_CO2_ET", Code.ETCO2),
    MdcObservation(150344, "MDC_TEMP", Code.TEMP),
    MdcObservation(150364, "MDC_TEMP_BODY", Code.TEMP),
    MdcObservation(150368, "MDC_TEMP_CORE", Code.TEMP, "core"),
    MdcObservation(150388, "MDC_TEMP_SKIN", Code.TEMP, "skin"),
    MdcObservation(150392, "MDC_TEMP_TYMP", Code.TEMP, "tympanic"),
    MdcObservation(188420, "MDC_TEMP_RECT", Code.TEMP, "rectal"),
    MdcObservation(188424, "MDC_TEMP_ORAL", Code.TEMP, "oral"),
    MdcObservation(188428, "MDC_TEMP_EAR", Code.TEMP, "ear"),
    MdcObservation(188452, "MDC_TEMP_AXILLA", Code.TEMP, "axillary"),
)}
MDC_BY_NAME: dict[str, MdcObservation] = {o.name: o for o in MDC_OBSERVATIONS.values()}

#: Philips MDIL ids (partition 2, SCADA) -> canonical code: the IntelliVue decoder's own table,
#: plus two numerics a Philips data-export guide shows under these ids ("Resp", "T1").
MDIL_SCADA: dict[int, Code] = {
    **iv.NUMERIC_CODES,
    0x5000: Code.RR,
    0xF0C7: Code.TEMP,
}
MDIL_PARTITION_SCADA = 2
MDIL_PARTITION_DIM = 4

# ------------------------------------------------------------------------------------- units


@dataclass(frozen=True)
class Unit:
    mdc: int
    name: str
    ucum: str
    canonical: str  # the canonical vocabulary's unit this converts to
    factor: float = 1.0  # canonical = value * factor + offset
    offset: float = 0.0


#: Units gateways use for the observations above (MDC unit codes: partition 4, DIM).
UNITS_BY_MDC: dict[int, Unit] = {u.mdc: u for u in (
    Unit(264864, "MDC_DIM_BEAT_PER_MIN", "/min", "bpm"),
    Unit(262688, "MDC_DIM_PERCENT", "%", "%"),
    Unit(266016, "MDC_DIM_MMHG", "mm[Hg]", "mmHg"),
    Unit(265987, "MDC_DIM_KILO_PASCAL", "kPa", "mmHg", iv.MMHG_PER_KPA),
    Unit(268192, "MDC_DIM_DEGC", "Cel", "°C"),
    Unit(266560, "MDC_DIM_FAHR", "[degF]", "°C", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    Unit(264928, "MDC_DIM_RESP_PER_MIN", "/min", "/min"),
)}
UNITS_BY_NAME: dict[str, Unit] = {u.name: u for u in UNITS_BY_MDC.values()}
#: UCUM and the plain labels gateways print (Philips: "bpm", "rpm", "C")
UNITS_BY_TEXT: dict[str, Unit] = {
    "mm[Hg]": UNITS_BY_MDC[266016], "mmHg": UNITS_BY_MDC[266016],
    "kPa": UNITS_BY_MDC[265987],
    "Cel": UNITS_BY_MDC[268192], "C": UNITS_BY_MDC[268192], "°C": UNITS_BY_MDC[268192],
    "degC": UNITS_BY_MDC[268192],
    "[degF]": UNITS_BY_MDC[266560], "F": UNITS_BY_MDC[266560], "°F": UNITS_BY_MDC[266560],
    "%": UNITS_BY_MDC[262688],
    "bpm": UNITS_BY_MDC[264864], "{beats}/min": UNITS_BY_MDC[264864],
    "/min": UNITS_BY_MDC[264928], "{breaths}/min": UNITS_BY_MDC[264928],
    "rpm": UNITS_BY_MDC[264928], "brpm": UNITS_BY_MDC[264928],
}

#: Which canonical unit each code must arrive in (after conversion); a unit that converts to
#: something else (a temperature in mmHg) is refused, never coerced.
EXPECTED_UNIT: dict[Code, frozenset[str]] = {
    Code.HR: frozenset({"bpm", "/min"}),
    Code.PR: frozenset({"bpm", "/min"}),
    Code.SPO2: frozenset({"%"}),
    Code.NBP_SYS: frozenset({"mmHg"}),
    Code.NBP_DIA: frozenset({"mmHg"}),
    Code.NBP_MEAN: frozenset({"mmHg"}),
    Code.RR: frozenset({"/min", "bpm"}),
    Code.ETCO2: frozenset({"mmHg", "%"}),
    Code.TEMP: frozenset({"°C"}),
}

#: Standard atmosphere (mmHg), used to turn an end-tidal CO₂ *concentration* (%) into a partial
#: pressure when the gateway sends % (the reading says so in ``extra``).
STANDARD_BAROMETRIC_MMHG = 760.0

# ----------------------------------------------------------------------------------- outbound


@dataclass(frozen=True)
class OutboundCode:
    mdc: int
    name: str
    unit: Unit


#: What we send for each canonical numeric: one MDC code and its MDC unit (UCUM in the README).
OUTBOUND: dict[str, OutboundCode] = {
    Code.HR: OutboundCode(147842, "MDC_ECG_HEART_RATE", UNITS_BY_MDC[264864]),
    Code.PR: OutboundCode(149530, "MDC_PULS_OXIM_PULS_RATE", UNITS_BY_MDC[264864]),
    Code.SPO2: OutboundCode(150456, "MDC_PULS_OXIM_SAT_O2", UNITS_BY_MDC[262688]),
    Code.NBP_SYS: OutboundCode(150021, "MDC_PRESS_BLD_NONINV_SYS", UNITS_BY_MDC[266016]),
    Code.NBP_DIA: OutboundCode(150022, "MDC_PRESS_BLD_NONINV_DIA", UNITS_BY_MDC[266016]),
    Code.NBP_MEAN: OutboundCode(150023, "MDC_PRESS_BLD_NONINV_MEAN", UNITS_BY_MDC[266016]),
    Code.RR: OutboundCode(151562, "MDC_RESP_RATE", UNITS_BY_MDC[264928]),
    Code.ETCO2: OutboundCode(151728, "MDC_AWAY_CO2_ET", UNITS_BY_MDC[266016]),
    Code.TEMP: OutboundCode(150344, "MDC_TEMP", UNITS_BY_MDC[268192]),
}


def outbound_code(code: str, site: str = "") -> OutboundCode:
    """The MDC code we send for ``code`` measured at ``site``: the site's own MDC code where
    IEEE 11073 has one (a rectal temperature is MDC_TEMP_RECT), else the code's (the site then
    only travels in OBX-20)."""
    base = OUTBOUND[code]
    if site:
        for o in MDC_OBSERVATIONS.values():
            if o.code == code and o.site == site:
                return OutboundCode(o.mdc, o.name, base.unit)
    return base
