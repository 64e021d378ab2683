"""Numbers of the Philips IntelliVue Data Export protocol (MIB/RS232).

Values are facts from Philips' "Data Export Interface Programming Guide" (4535 642 59271); see
/work/shared/protocols/intellivue.md. Names follow the guide so they can be looked up there.
"""

from __future__ import annotations

from nursestation.core.vocabulary import Code, Site

# --- serial framing ------------------------------------------------------------------------
BOF = 0xC0
EOF = 0xC1
ESC = 0x7D
ESC_XOR = 0x20
FRAME_PROTOCOL_ID = 0x11
FRAME_MSG_TYPE = 0x01
MAX_USER_DATA = 8192  # larger than any message a monitor sends (MTU <= 1000 on RS232)

# --- association control (session header first byte) -----------------------------------------
CN_SPDU_SI = 0x0D  # association request
AC_SPDU_SI = 0x0E  # association accepted
RF_SPDU_SI = 0x0C  # refused
FN_SPDU_SI = 0x09  # release request
DN_SPDU_SI = 0x0A  # release response
AB_SPDU_SI = 0x19  # abort

MDDL_VERSION1 = 0x80000000
NOMEN_VERSION = 0x40000000
SYST_CLIENT = 0x80000000
SYST_SERVER = 0x00800000
COLD_START = 0x20000000
POLL_PROFILE_REV_0 = 0x80000000
P_OPT_DYN_CREATE_OBJECTS = 0x40000000
P_OPT_DYN_DELETE_OBJECTS = 0x20000000
NOM_POLL_PROFILE_SUPPORT = 0x0001
NOM_ATTR_POLL_PROFILE_EXT = 0xF001
POLL_EXT_PERIOD_NU_1SEC = 0x80000000
POLL_EXT_PERIOD_NU_AVG_12SEC = 0x40000000
POLL_EXT_PERIOD_NU_AVG_60SEC = 0x20000000
POLL_EXT_PERIOD_RTSA = 0x08000000

# --- data export ----------------------------------------------------------------------------
SESSION_ID = 0xE100
P_CONTEXT_ID = 2

ROIV_APDU = 1
RORS_APDU = 2
ROER_APDU = 3
ROLRS_APDU = 5

RORLS_FIRST = 1
RORLS_NOT_FIRST_NOT_LAST = 2
RORLS_LAST = 3

CMD_EVENT_REPORT = 0
CMD_CONFIRMED_EVENT_REPORT = 1
CMD_GET = 3
CMD_SET = 4
CMD_CONFIRMED_SET = 5
CMD_CONFIRMED_ACTION = 7

NOM_PART_OBJ = 1
NOM_PART_SCADA = 2

NOM_MOC_VMO_METRIC_NU = 0x0006
NOM_MOC_VMO_METRIC_SA_RT = 0x0009
NOM_MOC_VMS_MDS = 0x0021
NOM_MOC_VMO_AL_MON = 0x0036

NOM_NOTI_MDS_CREAT = 0x0D06
NOM_ACT_POLL_MDIB_DATA = 0x0C16
NOM_ACT_POLL_MDIB_DATA_EXT = 0xF13B

# attribute ids
NOM_ATTR_ID_HANDLE = 0x0921
NOM_ATTR_ID_LABEL = 0x0924
NOM_ATTR_ID_TYPE = 0x092F
NOM_ATTR_METRIC_SPECN = 0x093F
NOM_ATTR_NU_CMPD_VAL_OBS = 0x094B
NOM_ATTR_NU_VAL_OBS = 0x0950
NOM_ATTR_SA_CMPD_VAL_OBS = 0x0967
NOM_ATTR_SA_SPECN = 0x096D
NOM_ATTR_SA_VAL_OBS = 0x096E
NOM_ATTR_SCALE_SPECN_I16 = 0x096F
NOM_ATTR_TIME_ABS = 0x0987
NOM_ATTR_TIME_PD_SAMP = 0x098D
NOM_ATTR_TIME_REL = 0x098F
NOM_ATTR_TIME_STAMP_ABS = 0x0990
NOM_ATTR_TIME_STAMP_REL = 0x0991
NOM_ATTR_UNIT_CODE = 0x0996
NOM_ATTR_TIME_PD_POLL = 0xF13E

# attribute groups (0 = all groups)
NOM_ATTR_GRP_ALL = 0x0000
NOM_ATTR_GRP_METRIC_VAL_OBS = 0x0803
NOM_ATTR_GRP_VMO_DYN = 0x0810
NOM_ATTR_GRP_VMO_STATIC = 0x0811

# MeasurementState bits
MS_INVALID = 0x8000
MS_QUESTIONABLE = 0x4000
MS_UNAVAILABLE = 0x2000
MS_CALIBRATION_ONGOING = 0x1000
MS_TEST_DATA = 0x0800
MS_DEMO_DATA = 0x0400
MS_VALIDATED_DATA = 0x0080
MS_EARLY_INDICATION = 0x0040
MS_MSMT_ONGOING = 0x0020
MS_IN_ALARM = 0x0002
MS_AL_INHIBITED = 0x0001

# SaSpec flags
SA_EXT_VAL_RANGE = 0x1000
SMOOTH_CURVE = 0x8000
STATIC_SCALE = 0x2000

# --- time -----------------------------------------------------------------------------------
TICKS_PER_SECOND = 8000  # RelativeTime is in 1/8 ms
REL_TIME_MODULUS = 1 << 32
WAVE_RESULT_PERIOD_S = 0.256  # real-time waves are reported in 256 ms blocks

# --- units (NOM_PART_DIM) -------------------------------------------------------------------
NOM_DIM_DIMLESS = 0x0200
NOM_DIM_PERCENT = 0x0220
NOM_DIM_BEAT_PER_MIN = 0x0AA0
NOM_DIM_RESP_PER_MIN = 0x0AE0
NOM_DIM_KILO_PASCAL = 0x0F03
NOM_DIM_MMHG = 0x0F20
NOM_DIM_MILLI_VOLT = 0x10B2
NOM_DIM_MICRO_VOLT = 0x10B3
NOM_DIM_FAHR = 0x1140
NOM_DIM_DEGC = 0x17A0

MMHG_PER_KPA = 7.500617  # 1 kPa = 7.500617 mmHg

# --- physiological ids (NOM_PART_SCADA) -------------------------------------------------------
NOM_ECG_CARD_BEAT_RATE = 0x4182
NOM_PLETH_PULS_RATE = 0x4822
NOM_PULS_RATE = 0x480A
NOM_PULS_OXIM_SAT_O2 = 0x4BB8
NOM_PULS_OXIM_PERF_REL = 0x4BB0
NOM_PRESS_BLD_NONINV = 0x4A04
NOM_PRESS_BLD_NONINV_SYS = 0x4A05
NOM_PRESS_BLD_NONINV_DIA = 0x4A06
NOM_PRESS_BLD_NONINV_MEAN = 0x4A07
NOM_RESP_RATE = 0x500A
NOM_AWAY_RESP_RATE = 0x5012
NOM_AWAY_CO2 = 0x50AC
NOM_AWAY_CO2_ET = 0x50B0
NOM_AWAY_CO2_INSP_MIN = 0x50BA
NOM_TEMP = 0x4B48
NOM_ECG_ELEC_POTL_II = 0x0102
NOM_PLETH = 0x4BB4

NOM_ECG_ELEC_POTL = 0x0100  # unspecified lead
NOM_PULS_OXIM_SAT_O2_ART_LEFT = 0x4BC8
NOM_PULS_OXIM_SAT_O2_ART_RIGHT = 0x4BCC
NOM_PULS_OXIM_SAT_O2_PRE_DUCTAL = 0xF1C0
NOM_PULS_OXIM_SAT_O2_POST_DUCTAL = 0xF1D4
NOM_TEMP_CORE = 0x4B60
NOM_TEMP_RECT = 0xE004
NOM_TEMP_SKIN = 0x4B74

#: numeric physio id -> our code
NUMERIC_CODES: dict[int, Code] = {
    NOM_ECG_CARD_BEAT_RATE: Code.HR,
    NOM_PLETH_PULS_RATE: Code.PR,
    NOM_PULS_RATE: Code.PR,
    NOM_PULS_OXIM_SAT_O2: Code.SPO2,
    NOM_PULS_OXIM_PERF_REL: Code.PI,
    NOM_PRESS_BLD_NONINV_SYS: Code.NBP_SYS,
    NOM_PRESS_BLD_NONINV_DIA: Code.NBP_DIA,
    NOM_PRESS_BLD_NONINV_MEAN: Code.NBP_MEAN,
    NOM_RESP_RATE: Code.RR,
    NOM_AWAY_RESP_RATE: Code.RR,
    NOM_AWAY_CO2_ET: Code.ETCO2,
    NOM_TEMP: Code.TEMP,
}

#: fallback ids: used only while the preferred id for the same code has not been seen
FALLBACK_OF: dict[int, int] = {
    NOM_PULS_RATE: NOM_PLETH_PULS_RATE,
    NOM_AWAY_RESP_RATE: NOM_RESP_RATE,
}

#: wave physio id -> our code
WAVE_CODES: dict[int, Code] = {
    NOM_ECG_ELEC_POTL_II: Code.ECG,
    NOM_PLETH: Code.PLETH,
}


#: ECG wave physio ids (guide, "Physiological identifiers": NOM_ECG_ELEC_POTL_*) -> lead
ECG_LEAD_IDS: dict[int, Site] = {
    0x0100: Site.MAIN,
    0x0101: Site.LEAD_I, 0x0102: Site.LEAD_II, 0x013D: Site.LEAD_III,
    0x013E: Site.LEAD_AVR, 0x013F: Site.LEAD_AVL, 0x0140: Site.LEAD_AVF,
    0x0103: Site.LEAD_V1, 0x0104: Site.LEAD_V2, 0x0105: Site.LEAD_V3,
    0x0106: Site.LEAD_V4, 0x0107: Site.LEAD_V5, 0x0108: Site.LEAD_V6,
    0x0143: Site.LEAD_V, 0x014B: Site.LEAD_MCL, 0x014C: Site.LEAD_MCL1,
}
WAVE_CODES.update({physio: Code.ECG for physio in ECG_LEAD_IDS})
#: pleth waves of the left and right sensor (NOM_PULS_OXIM_PLETH_RIGHT / _LEFT)
PLETH_SITE_IDS: dict[int, Site] = {0xF08C: Site.RIGHT, 0xF08D: Site.LEFT}
WAVE_CODES.update({physio: Code.PLETH for physio in PLETH_SITE_IDS})

# --- labels (NOM_ATTR_ID_LABEL, a TextId) ------------------------------------------------------
# Several metric objects share one physiological id; only the label tells them apart: the pulse
# from every SpO2 site is NOM_PLETH_PULS_RATE, a temperature *setting* (sTemp) carries NOM_TEMP.
# The guide's label table ("Alert Monitor/Labels", TextIds) is the source; the decoder keeps each
# object's label per handle from the poll replies.

NLS_NOM_SETT_TEMP = 0x04024B48  # sTemp: desired environmental temperature, a setting

#: numeric label -> (our code, site). A label not here is not ours (settings, pressures, the
#: pulse derived from an arterial line or the NBP cuff...). None as code: a compound whose parts
#: are told apart by their physio ids (NBP, CO2).
NUMERIC_LABELS: dict[int, tuple[Code | None, Site]] = {
    0x00024182: (Code.HR, Site.MAIN),  # HR
    0x00024822: (Code.PR, Site.MAIN),  # Pulse (from pleth)
    0x0002480A: (Code.PR, Site.MAIN),  # Pulse (unspecified source; fallback)
    0x80155401: (Code.PR, Site.LEFT),  # Pulse from pleth, left
    0x80155402: (Code.PR, Site.RIGHT),  # Pulse from pleth, right
    0x8015543D: (Code.PR, Site.PREDUCTAL),  # Pulse from pleth, pre-ductal
    0x80155440: (Code.PR, Site.POSTDUCTAL),  # Pulse from pleth, post-ductal
    0x0002F09D: (Code.PR, Site.TELEMETRY),  # PulseT
    0x00024BB8: (Code.SPO2, Site.MAIN),  # SpO2
    0x00024BC8: (Code.SPO2, Site.LEFT),  # SpO2 l
    0x00024BCC: (Code.SPO2, Site.RIGHT),  # SpO2 r
    0x0002F1C0: (Code.SPO2, Site.PREDUCTAL),  # SpO2pr
    0x0002F1D4: (Code.SPO2, Site.POSTDUCTAL),  # SpO2po
    0x0002F09C: (Code.SPO2, Site.TELEMETRY),  # %SpO2T
    0x00024BB0: (Code.PI, Site.MAIN),  # Perf
    0x0002F08A: (Code.PI, Site.LEFT),  # Perf l
    0x0002F08B: (Code.PI, Site.RIGHT),  # Perf r
    0x0002F22C: (Code.PI, Site.PREDUCTAL),  # PerfPr
    0x0002F1DC: (Code.PI, Site.POSTDUCTAL),  # PerfPo
    0x0002F12C: (Code.PI, Site.TELEMETRY),  # Perf T
    0x00024A04: (None, Site.MAIN),  # NBP (compound sys/dia/mean)
    0x0002500A: (Code.RR, Site.MAIN),  # RR
    0x00025012: (Code.RR, Site.MAIN),  # awRR (fallback)
    0x000250AC: (None, Site.MAIN),  # CO2 (compound etCO2/imCO2)
    0x000250B0: (Code.ETCO2, Site.MAIN),  # etCO2 on its own
    0x00024B48: (Code.TEMP, Site.MAIN),  # Temp
    0x00024B50: (Code.TEMP, Site.ARTERIAL),  # Tart
    0x00024B54: (Code.TEMP, Site.AIRWAY),  # Tairwy
    0x00024B5C: (Code.TEMP, Site.BODY),  # Tbody
    0x00024B60: (Code.TEMP, Site.CORE),  # Tcore
    0x00024B64: (Code.TEMP, Site.ESOPHAGEAL),  # Tesoph
    0x00024B6C: (Code.TEMP, Site.NASOPHARYNGEAL),  # Tnaso
    0x00024B74: (Code.TEMP, Site.SKIN),  # Tskin
    0x00024B78: (Code.TEMP, Site.TYMPANIC),  # Ttymp
    0x00024B7C: (Code.TEMP, Site.VENOUS),  # Tven
    0x0002E004: (Code.TEMP, Site.RECTAL),  # Trect
    0x0002E014: (Code.TEMP, Site.BLOOD),  # Tblood
    0x0002F0C4: (Code.TEMP, Site.BLADDER),  # Tvesic
    0x0002F0C5: (Code.TEMP, Site.CEREBRAL),  # Tcereb
    0x0002F0C7: (Code.TEMP, Site.T1),  # T1
    0x0002F0C8: (Code.TEMP, Site.T2),  # T2
    0x0002F0C9: (Code.TEMP, Site.T3),  # T3
    0x0002F0CA: (Code.TEMP, Site.T4),  # T4
    0x0002F108: (Code.TEMP, Site.ORAL),  # Toral (label = partition 2, NOM_TEMP_ORAL 0xF108)
    0x0002F10C: (Code.TEMP, Site.AXILLARY),  # Taxil (NOM_TEMP_AXIL 0xF10C)
    0x0002F110: (Code.TEMP, Site.ORAL),  # pToral, predictive oral
    0x0002F114: (Code.TEMP, Site.RECTAL),  # pTrect, predictive rectal
    0x0002F118: (Code.TEMP, Site.AXILLARY),  # pTaxil, predictive axillary
    0x0002F966: (Code.TEMP, Site.CORE_1),  # T1Core
    0x0002F967: (Code.TEMP, Site.CORE_2),  # T2Core
}

#: labels used only while the preferred label (same code and site) has not been seen
FALLBACK_LABEL_OF: dict[int, int] = {
    0x0002480A: 0x00024822,  # generic Pulse -> Pulse from pleth
    0x00025012: 0x0002500A,  # awRR -> RR
}

#: numeric physio ids we read when a monitor never sent the object's label: the unambiguous
#: site-specific ids (the shared ones — 0x4822, 0x4B48 — map to the main site, as before)
SITE_IDS: dict[int, tuple[Code, Site]] = {
    NOM_PULS_OXIM_SAT_O2_ART_LEFT: (Code.SPO2, Site.LEFT),
    NOM_PULS_OXIM_SAT_O2_ART_RIGHT: (Code.SPO2, Site.RIGHT),
    NOM_PULS_OXIM_SAT_O2_PRE_DUCTAL: (Code.SPO2, Site.PREDUCTAL),
    NOM_PULS_OXIM_SAT_O2_POST_DUCTAL: (Code.SPO2, Site.POSTDUCTAL),
    **{label & 0xFFFF: entry for label, entry in NUMERIC_LABELS.items()  # type: ignore[misc]
       if entry[0] == Code.TEMP and entry[1] and label >> 16 == NOM_PART_SCADA},
}

#: wave label -> (code, site), for labels that name a site the physio id does not
#: (the EMFC leads of an external ECG, the left/right/second pleth)
WAVE_LABELS: dict[int, tuple[Code, Site]] = {
    0x00024BB4: (Code.PLETH, Site.MAIN),  # Pleth
    0x0002F08D: (Code.PLETH, Site.LEFT),  # PLETHl
    0x0002F08C: (Code.PLETH, Site.RIGHT),  # PLETHr
    0x0002F09B: (Code.PLETH, Site.TELEMETRY),  # PlethT
    0x0401079C: (Code.PLETH, Site.SECOND),  # PLETH2
    0x04010764: (Code.ECG, Site.LEAD_V1), 0x04010768: (Code.ECG, Site.LEAD_V2),
    0x0401076C: (Code.ECG, Site.LEAD_V3), 0x04010770: (Code.ECG, Site.LEAD_V4),
    0x04010774: (Code.ECG, Site.LEAD_V5), 0x04010778: (Code.ECG, Site.LEAD_V6),
    0x0401077C: (Code.ECG, Site.LEAD_I), 0x04010780: (Code.ECG, Site.LEAD_II),
    0x04010784: (Code.ECG, Site.LEAD_III), 0x04010788: (Code.ECG, Site.LEAD_AVR),
    0x0401078C: (Code.ECG, Site.LEAD_AVL), 0x04010790: (Code.ECG, Site.LEAD_AVF),
    **{(NOM_PART_SCADA << 16) | physio: (Code.ECG, lead) for physio, lead in ECG_LEAD_IDS.items()},
}
