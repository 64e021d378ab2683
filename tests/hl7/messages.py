"""Gateway messages for the tests, written for this suite from the published message
structures: the IHE PCD-01 ORU^R01 layout (MDS → VMD → channel → metric rows, OBX-4 dotted),
a GE monitor's HL7 guide (EUI-64 sending application, a bed in PV1-3, OBX-18 the device's
EUI-64), a Philips export (MDIL ids "partition-code", OBX-11 X for "no value") and a home blood
pressure gateway (MDC_PRESS_CUFF, times with a UTC offset). Values and identifiers are ours."""

from __future__ import annotations

CR = "\r"


def ge_style(control: str = "GE0001", bed: str = "INFUSION^^C4", hr: str = "72",
             device: str = "00A0C8FFFE1234AB") -> str:
    return CR.join([
        "MSH|^~\\&|CIC^00A0C8FFFE00BEEF^EUI-64|Vendor Gateway|||20260105091500-0500||"
        f"ORU^R01^ORU_R01|{control}|P|2.6|||NE|AL||UNICODE UTF-8|||"
        "IHE_PCD_001^IHE^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        "PID|||PT55120^^^HOSP^MR||RIVERA^ANA^^^^^L",
        f"PV1||O|{bed}",
        "OBR|1|X1^CIC^00A0C8FFFE00BEEF^EUI-64|X1^CIC^00A0C8FFFE00BEEF^EUI-64|"
        "182777000^monitoring of patient^SCT|||20260105091500-0500",
        "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
        "OBX|2||69798^MDC_DEV_ECG_VMD^MDC|1.1.0.0|||||||X",
        f"OBX|3|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|{hr}|264864^MDC_DIM_BEAT_PER_MIN^MDC|"
        f"||||R|||20260105091455-0500||||{device}^MON_X",
        "OBX|4||69854^MDC_DEV_METER_PRESS_BLD_VMD^MDC|1.2.0.0|||||||X",
        "OBX|5||69855^MDC_DEV_METER_PRESS_BLD_CHAN^MDC|1.2.1.0|||||||X",
        "OBX|6|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.2.1.1|131|266016^MDC_DIM_MMHG^MDC|||||R"
        f"|||20260105091230-0500||||{device}^MON_X",
        "OBX|7|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.2.1.2|84|266016^MDC_DIM_MMHG^MDC|||||R"
        f"|||20260105091230-0500||||{device}^MON_X",
        "OBX|8|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.2.1.3|99|266016^MDC_DIM_MMHG^MDC|||||R"
        f"|||20260105091230-0500||||{device}^MON_X",
        "OBX|9|NM|150033^MDC_PRESS_BLD_ART_SYS^MDC|1.2.2.1|118|266016^MDC_DIM_MMHG^MDC|||||R",
        "OBX|10||69642^MDC_DEV_ANALY_SAT_O2_VMD^MDC|1.3.0.0|||||||X",
        "OBX|11|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.1|97|262688^MDC_DIM_PERCENT^MDC|||||R",
        "OBX|12|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.3.1.2|71|264864^MDC_DIM_BEAT_PER_MIN^MDC"
        "|||||R",
        "OBX|13|NM|151562^MDC_RESP_RATE^MDC|1.4.1.1|15|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R",
        "OBX|14|NM|151728^MDC_AWAY_CO2_ET^MDC|1.5.1.1|5.2|265987^MDC_DIM_KILO_PASCAL^MDC|||||R",
        "OBX|15|NM|150368^MDC_TEMP_CORE^MDC|1.6.1.1|36.8|268192^MDC_DIM_DEGC^MDC|||||R",
    ]) + CR


def philips_style(control: str = "PH0002", bed: str = "C2") -> str:
    return CR.join([
        f"MSH|^~\\&|^IntelliVueGW||||20260105101500||ORU^R01|{control}|P|2.4",
        "PID|||MRN889||DOE^JAN",
        f"PV1|||{bed}",
        "OBR||||MONITOR|||20260105101500",
        "OBX||NM|0002-4182^HR^MDIL||64|0004-0aa0^bpm^MDIL|||||F",
        "OBX||NM|0002-4822^Pulse^MDIL||63|0004-0aa0^bpm^MDIL|||||F",
        "OBX||NM|0002-4bb8^SpO2^MDIL|||0004-0220^%^MDIL|||||X",
        "OBX||NM|0002-4a05^NBPs^MDIL||122|0004-0f20^mmHg^MDIL|||||F|||20260105101430",
        "OBX||NM|0002-4a06^NBPd^MDIL||79|0004-0f20^mmHg^MDIL|||||F|||20260105101430",
        "OBX||NM|0002-5000^Resp^MDIL||18|0004-0ae0^rpm^MDIL|||||F",
        "OBX||NM|0002-f0c7^T1^MDIL||99.1|0004-1140^F^MDIL|||||F",
    ]) + CR


def cuff_style(control: str = "BP0003") -> str:
    return CR.join([
        f"MSH|^~\\&|HomeBP||||20260105120000+0200||ORU^R01^ORU_R01|{control}|P|2.6|||NE|AL",
        "PV1||O|HOME^^1",
        "OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20260105120000+0200",
        "OBX|1||528391^MDC_DEV_SPEC_PROFILE_BP^MDC|1|||||||X|||||||0011223344556677^EUI64",
        "OBX|2|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.0.1.1|141|266016^MDC_DIM_MMHG^MDC|||||R|||"
        "20260105115800+0200",
        "OBX|3|NM|150302^MDC_PRESS_CUFF_DIA^MDC|1.0.1.2|92|mm[Hg]^mm[Hg]^UCUM|||||R|||"
        "20260105115800+0200",
        "OBX|4|NM|150303^MDC_PRESS_CUFF_MEAN^MDC|1.0.1.3|108|266016^MDC_DIM_MMHG^MDC|||||R|||"
        "20260105115800+0200",
        "OBX|5|NM|149546^MDC_PULS_RATE_NON_INV^MDC|1.0.0.2|77|264864^MDC_DIM_BEAT_PER_MIN^MDC||"
        "|||R|||20260105115800+0200",
    ]) + CR
