"""IHE PCD-01 (HL7 v2 ORU^R01) device observations: parse a gateway's message into readings,
answer it with an ACK, and build our own PCD-01 messages for the EHR.

Parsing uses python-hl7 (``hl7.parse``). ``parse_pcd01`` never lets a library exception out: a
message that cannot be used raises ``MessageError`` with the acknowledgement code to answer
(``AR``: not a message we take; ``AE``: a message we take but that is wrong) and the reason.
Observations NurseStation does not use (an invasive pressure, a device's own header rows) are
listed in ``Pcd01Message.ignored``; observations it uses but cannot accept (a number that is not
one, a unit that does not fit) are listed in ``problems`` and make the answer an ``AE`` naming
them, while the message's good observations are still taken.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

import hl7

from nursestation.core.readings import Reading
from nursestation.core.vocabulary import SITES, UNITS, Code, Quality
from nursestation.hl7 import codes

#: HL7 v2 escape sequences for the default delimiters ``|^~\&``
_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))
_MDIL = re.compile(r"^([0-9A-Fa-f]{1,4})-([0-9A-Fa-f]{1,4})$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
PCD01_PROFILE = "IHE_PCD_001^IHE^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
MONITORING_OBR4 = "182777000^monitoring of patient^SCT"


def escape(text: object) -> str:
    """Text safe inside an HL7 field (default delimiters); CR/LF become ``\\.br\\``."""
    s = str(text)
    for raw, esc in _ESCAPES:
        s = s.replace(raw, esc)
    return s.replace("\r\n", "\\.br\\").replace("\n", "\\.br\\").replace("\r", "\\.br\\")


def hl7_time(dt: datetime) -> str:
    """An HL7 DTM with seconds and the UTC offset (``20260105143000+0000``)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return dt.strftime("%Y%m%d%H%M%S%z")


class MessageError(Exception):
    """A message we answer with ``AE`` or ``AR``; ``reason`` is the text sent back."""

    def __init__(self, ack_code: str, reason: str, control_id: str = "") -> None:
        super().__init__(reason)
        self.ack_code = ack_code
        self.reason = reason
        self.control_id = control_id


@dataclass
class Pcd01Message:
    control_id: str
    sending_application: str
    bed: str  # PV1-3 as sent, components joined by ^ ("" when absent)
    bed_components: tuple[str, ...]  # point of care, room, bed, facility...
    patient_id: str  # PID-3 first identifier
    patient_name: str
    #: (reading, equipment id from OBX-18 or "") in message order
    readings: list[tuple[Reading, str]] = field(default_factory=list)
    #: "OBX 7: 150033 MDC_PRESS_BLD_ART_SYS" rows we do not use
    ignored: list[str] = field(default_factory=list)
    #: "OBX 4: SpO2 value 'abc' is not a number" rows we use but refused
    problems: list[str] = field(default_factory=list)
    header: dict[str, str] = field(default_factory=dict)  # MSH fields for the ACK


def _text(msg: hl7.Message, seg: str, fld: int, rep: int = 1, comp: int = 1) -> str:
    try:
        return str(msg.extract_field(seg, 1, fld, rep, comp) or "")
    except (KeyError, IndexError, ValueError, hl7.HL7Exception):
        return ""


def _field(segment: hl7.Segment, idx: int) -> str:
    try:
        return str(segment[idx]) if len(segment) > idx else ""
    except (IndexError, TypeError):
        return ""


def _components(segment: hl7.Segment, idx: int) -> list[str]:
    """The components of the first repetition of field ``idx`` as text."""
    raw = _field(segment, idx)
    return raw.split("~", 1)[0].split("^") if raw else []


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # 8-bit gateways (MSH-18 8859/1); never fails
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x00 ")


def parse_time(value: str, local: tzinfo | None = None) -> datetime | None:
    """An HL7 DTM as an aware UTC datetime; a time without offset is the station's local time.
    None for an empty or malformed value."""
    value = value.strip()
    if not value:
        return None
    try:
        dt = hl7.parse_datetime(value)
    except (ValueError, TypeError, OverflowError):
        return None
    if dt is None:
        return None
    try:
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=local) if local is not None else dt.astimezone()
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):  # an offset of a day or more ("+9960"): not a time
        return None


def _lookup_observation(ident: Sequence[str]) -> tuple[codes.MdcObservation | None, str]:
    """(observation, label) for OBX-3's components (id, text, coding system)."""
    code_id = ident[0].strip() if ident else ""
    name = ident[1].strip() if len(ident) > 1 else ""
    system = ident[2].strip().upper() if len(ident) > 2 else ""
    label = " ".join(x for x in (code_id, name) if x) or "(no code)"
    if system == "MDIL" or _MDIL.match(code_id):
        m = _MDIL.match(code_id)
        if m and int(m.group(1), 16) == codes.MDIL_PARTITION_SCADA:
            ours = codes.MDIL_SCADA.get(int(m.group(2), 16))
            if ours is not None:
                return codes.MdcObservation(0, name or code_id, ours), label
        return None, label
    if code_id.isdigit():
        obs = codes.MDC_OBSERVATIONS.get(int(code_id))
        if obs is not None:
            return obs, label
    if name in codes.MDC_BY_NAME and not code_id:
        return codes.MDC_BY_NAME[name], label
    return None, label


def _lookup_unit(unit: Sequence[str]) -> codes.Unit | None:
    uid = unit[0].strip() if unit else ""
    name = unit[1].strip() if len(unit) > 1 else ""
    if uid.isdigit() and int(uid) in codes.UNITS_BY_MDC:
        return codes.UNITS_BY_MDC[int(uid)]
    m = _MDIL.match(uid)
    if m and int(m.group(1), 16) == codes.MDIL_PARTITION_DIM:
        # MDIL unit ids are MDC partition 4 codes (0004-0f20 = 4·65536 + 0x0F20 = MDC_DIM_MMHG)
        found = codes.UNITS_BY_MDC.get((codes.MDIL_PARTITION_DIM << 16) | int(m.group(2), 16))
        if found is not None:
            return found
    for key in (name, uid):
        if key in codes.UNITS_BY_NAME:
            return codes.UNITS_BY_NAME[key]
        if key in codes.UNITS_BY_TEXT:
            return codes.UNITS_BY_TEXT[key]
    return None


def parse_pcd01(raw: bytes | str, *, local: tzinfo | None = None) -> Pcd01Message:
    """One HL7 message (without MLLP framing). Raises ``MessageError``."""
    text = _decode(raw) if isinstance(raw, bytes) else raw.replace("\n", "\r").strip("\r ")
    if not text.startswith("MSH") or len(text) < 8:
        raise MessageError("AR", "not an HL7 v2 message: it does not start with an MSH segment")
    control_guess = ""
    parts = text.split("\r", 1)[0].split(text[3])
    if len(parts) > 9:
        control_guess = parts[9][:50]
    try:
        msg = hl7.parse(text)
        msh = msg.segment("MSH")
    except Exception as exc:  # noqa: BLE001 - the library raises many kinds on bad input
        raise MessageError("AR", f"cannot be parsed as HL7 v2: {type(exc).__name__}: {exc}",
                           control_guess) from None
    control_id = _field(msh, 10)
    mtype = _components(msh, 9)
    kind = "^".join(mtype[:2])
    if kind != "ORU^R01":
        raise MessageError("AR", f"message type {kind or '(none)'} is not taken here: only "
                                 "ORU^R01 device observations (IHE PCD-01)", control_id)
    header = {"sending_application": _field(msh, 3), "sending_facility": _field(msh, 4),
              "receiving_application": _field(msh, 5), "receiving_facility": _field(msh, 6),
              "processing_id": _field(msh, 11) or "P", "version": _field(msh, 12) or "2.6",
              "trigger": mtype[1] if len(mtype) > 1 else "R01"}
    msg_time = parse_time(_field(msh, 7), local)
    try:
        pv1 = msg.segment("PV1")
    except KeyError:
        pv1 = None
    bed_parts = tuple(_components(pv1, 3)) if pv1 is not None else ()
    try:
        pid = msg.segment("PID")
    except KeyError:
        pid = None
    patient_id = _components(pid, 3)[0] if pid is not None and _components(pid, 3) else ""
    name = _components(pid, 5) if pid is not None else []
    patient_name = " ".join(x for x in (name[1:2] + name[:1]) if x)

    out = Pcd01Message(control_id=control_id, sending_application=_field(msh, 3),
                       bed="^".join(bed_parts).rstrip("^"), bed_components=bed_parts,
                       patient_id=patient_id, patient_name=patient_name, header=header)

    obr_time = msg_time
    mds_equipment: dict[str, str] = {}
    for seg in msg:
        sid = _field(seg, 0)
        if sid == "OBR":
            obr_time = parse_time(_field(seg, 7), local) or msg_time
            continue
        if sid != "OBX":
            continue
        setid = _field(seg, 1) or "?"
        vtype = _field(seg, 2).strip()
        ident = _components(seg, 3)
        obs, label = _lookup_observation(ident)
        where = f"OBX {setid} ({label})"
        # OBX-18 on a device row applies to the metrics below it (same MDS in OBX-4)
        mds = _field(seg, 4).split(".", 1)[0].strip()
        equipment = (_components(seg, 18) or [""])[0].strip()
        if equipment and mds and mds not in mds_equipment:
            mds_equipment[mds] = equipment
        equipment = equipment or mds_equipment.get(mds, "")
        if not vtype and not _field(seg, 5):
            continue  # a device / VMD / channel header row of the containment tree
        if obs is None:
            out.ignored.append(where)
            continue
        if vtype not in ("NM", "ST", "SN", ""):
            out.problems.append(f"{where}: value type {vtype!r} is not a number (NM)")
            continue
        status = _field(seg, 11).strip().upper()
        obs_time = parse_time(_field(seg, 14), local) or obr_time
        raw_value = _field(seg, 5).strip()
        if vtype == "SN" and raw_value:
            sn = raw_value.split("^")  # comparator^num1: only a plain number is taken
            raw_value = sn[1] if len(sn) > 1 and sn[0] in ("", "=") else raw_value
        extra: dict = {"mdc": ident[0] if ident else "", "obx": setid}
        site, site_problem = _site(obs, _components(seg, 20))
        if site_problem:
            out.problems.append(f"{where}: {site_problem}")
            continue
        if obs.name:
            extra["label"] = obs.name
        if status == "X" or not raw_value:
            # the monitor shows no value ("?" / parameter off): say so, never keep the last one
            r = Reading(obs.code, None, _canonical_unit(obs.code),
                        frozenset({Quality.UNAVAILABLE}), device_time=obs_time, extra=extra,
                        site=site)
            out.readings.append((r, equipment))
            continue
        if not _NUMBER.match(raw_value):
            out.problems.append(f"{where}: value {raw_value!r} is not a number")
            continue
        unit = _lookup_unit(_components(seg, 6))
        if unit is None:
            shown = "^".join(_components(seg, 6)) or "none"
            out.problems.append(f"{where}: unit {shown!r} is not one NurseStation knows")
            continue
        expected = codes.EXPECTED_UNIT.get(obs.code, frozenset())
        if unit.canonical not in expected:
            out.problems.append(f"{where}: unit {unit.name} does not fit {obs.code}")
            continue
        value = float(raw_value) * unit.factor + unit.offset
        if obs.code == Code.ETCO2 and unit.canonical == "%":
            extra["converted_from"] = f"{raw_value} %"
            extra["barometric_mmHg"] = codes.STANDARD_BAROMETRIC_MMHG
            value = float(raw_value) * codes.STANDARD_BAROMETRIC_MMHG / 100.0
        elif unit.factor != 1.0 or unit.offset:
            extra["converted_from"] = f"{raw_value} {unit.ucum}"
        quality: set[str] = set()
        if status in ("D", "W"):
            quality.add(Quality.INVALID)  # deleted / wrong result
        out.readings.append((Reading(obs.code, round(value, 3), _canonical_unit(obs.code),
                                     frozenset(quality), device_time=obs_time, extra=extra,
                                     site=site), equipment))
    return out


#: OBX-20's coding system for our sites: HL7 table 0396 "L", a local code (the site words of
#: ``core.vocabulary.Site``; MDC has no body-site codes for an oximeter's left or right probe)
SITE_CODING = "L"
SITE_MAX = 32  # the record's site column


def _site(obs: codes.MdcObservation, obx20: Sequence[str]) -> tuple[str, str]:
    """(site, problem) of an observation: the site its MDC code names (MDC_TEMP_RECT…), else
    OBX-20's (IHE PCD-01 / HL7 2.6 observation site, CWE: identifier^text^coding system) as one
    of our site words when it is one (identifier or text, any case), else its text as sent
    (the identifier when it has no text)."""
    sent = [c.strip() for c in obx20[:2] if c.strip()]
    if obs.site:
        return obs.site, ""
    if not sent:
        return "", ""
    known = {str(x).casefold(): str(x) for x in SITES.get(obs.code, ()) if x}
    for c in sent:
        if c.casefold() in known:
            return known[c.casefold()], ""
    text = sent[-1]
    if len(text) > SITE_MAX:
        return "", f"observation site (OBX-20) {text[:40]!r}... is longer than {SITE_MAX}"
    return text, ""


def obx20(site: str) -> str:
    """OBX-20 for one of our sites ("" for the device's main site)."""
    return f"{escape(site)}^{escape(site)}^{SITE_CODING}" if site else ""


def _canonical_unit(code: Code) -> str:
    return UNITS.get(code, "")


# ---------------------------------------------------------------------------------- the ACK


def build_ack(code: str, control_id: str, reason: str = "", *, header: dict | None = None,
              our_application: str = "NURSESTATION", our_facility: str = "",
              now: datetime | None = None, ack_control_id: str = "") -> str:
    """An original-mode acknowledgement (``ACK``) for message ``control_id``: ``MSA`` with the
    code and, for AE/AR, the reason in MSA-3 and an ``ERR`` segment."""
    h = header or {}
    now = now or datetime.now(UTC)
    trigger = h.get("trigger", "R01") or "R01"
    msh = "|".join([
        "MSH", "^~\\&", our_application, our_facility,
        h.get("sending_application", ""), h.get("sending_facility", ""), hl7_time(now), "",
        f"ACK^{trigger}^ACK", ack_control_id or f"ACK{control_id}"[:50] or "ACK",
        h.get("processing_id", "P") or "P", h.get("version", "2.6") or "2.6",
    ])
    segs = [msh, "|".join(["MSA", code, escape(control_id), escape(reason)[:80]])]
    if code != "AA" and reason:
        # ERR-3: HL7 table 0357 (207: application internal error; 200: unsupported message
        # type), ERR-4 severity E, ERR-8 the reason for a person
        hl7_code = "200^Unsupported message type^HL70357" if "message type" in reason else \
            "207^Application internal error^HL70357"
        segs.append("|".join(["ERR", "", "", hl7_code, "E", "", "", "", escape(reason)]))
    return "\r".join(segs) + "\r"


@dataclass(frozen=True)
class Ack:
    code: str  # AA / AE / AR (or CA / CE / CR)
    control_id: str  # the message it acknowledges (MSA-2)
    text: str  # MSA-3 and ERR-8, joined

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")


def parse_ack(raw: bytes | str) -> Ack:
    """The receiver's answer. Raises ``MessageError`` when it is not an ACK."""
    text = _decode(raw) if isinstance(raw, bytes) else raw.strip("\r\n ")
    try:
        msg = hl7.parse(text.replace("\n", "\r"))
        msa = msg.segment("MSA")
    except Exception as exc:  # noqa: BLE001
        raise MessageError("AR", f"the answer is not an HL7 acknowledgement ({exc})") from None
    code = _field(msa, 1).strip().upper()
    if not code:
        raise MessageError("AR", "the acknowledgement has no code (MSA-1)")
    notes = [msg.unescape(_field(msa, 3).strip())]
    try:
        for err in msg.segments("ERR"):
            notes.append(msg.unescape(_field(err, 8).strip())
                         or "^".join(_components(err, 3)[:2]))
    except KeyError:
        pass
    return Ack(code, _field(msa, 2).strip(), "; ".join(dict.fromkeys(n for n in notes if n)))


# --------------------------------------------------------------------------------- outbound


@dataclass(frozen=True)
class PatientIdent:
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: str = ""  # YYYYMMDD or ""


@dataclass(frozen=True)
class VitalRow:
    at: datetime  # observation time (UTC)
    code: str  # canonical code with an entry in codes.OUTBOUND
    value: float
    site: str = ""  # where it was measured (core.vocabulary.Site): OBX-20


def msh_segment(message_type: str, control_id: str, now: datetime, *, sending_app: str,
                sending_facility: str, receiving_app: str, receiving_facility: str,
                profile: str = "") -> str:
    fields = ["MSH", "^~\\&", escape(sending_app), escape(sending_facility),
              escape(receiving_app), escape(receiving_facility), hl7_time(now), "",
              message_type, control_id, "P", "2.6", "", "", "NE", "AL", "", "UNICODE UTF-8"]
    if profile:
        fields += ["", "", profile]
    return "|".join(fields)


def pid_segment(p: PatientIdent) -> str:
    return "|".join(["PID", "1", "", f"{escape(p.mrn)}^^^^MR", "",
                     f"{escape(p.family_name)}^{escape(p.given_name)}^^^^^L", "",
                     p.date_of_birth])


def pv1_segment(unit: str, bed: str, visit_number: str) -> str:
    # PV1-2 O (outpatient), PV1-3 point of care ^ room ^ bed (the clinic, the chair),
    # PV1-19 the visit number
    fields = ["PV1", "1", "O", f"{escape(unit)}^^{escape(bed)}"] + [""] * 15 + \
        [escape(visit_number)]
    return "|".join(fields)


def build_oru(rows: Sequence[VitalRow], *, control_id: str, patient: PatientIdent,
              unit: str, bed: str, visit_number: str, now: datetime, sending_app: str,
              sending_facility: str, receiving_app: str = "", receiving_facility: str = "",
              equipment: str = "NURSESTATION") -> str:
    """A PCD-01 ORU^R01 with ``rows``: one OBR per observation time (IHE PCD-01: an OBR groups
    observations made at one time), the MDS header OBX first, then each numeric with its MDC
    code, MDC unit, OBX-4 in the containment tree's dotted form and OBX-14 its time."""
    segs = [
        msh_segment("ORU^R01^ORU_R01", control_id, now, sending_app=sending_app,
                    sending_facility=sending_facility, receiving_app=receiving_app,
                    receiving_facility=receiving_facility, profile=PCD01_PROFILE),
        pid_segment(patient),
        pv1_segment(unit, bed, visit_number),
    ]
    by_time: dict[datetime, list[VitalRow]] = {}
    for r in sorted(rows, key=lambda r: r.at):
        by_time.setdefault(r.at, []).append(r)
    for n, (at, group) in enumerate(by_time.items(), 1):
        when = hl7_time(at)
        segs.append("|".join(["OBR", str(n), f"{control_id}-{n}^{escape(sending_app)}",
                              f"{control_id}-{n}^{escape(sending_app)}", MONITORING_OBR4, "",
                              "", when, when]))
        segs.append("|".join(["OBX", "1", "", "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
                              "1.0.0.0", "", "", "", "", "", "", "X"]))
        for i, r in enumerate(group, 2):
            oc = codes.outbound_code(r.code, r.site)
            fields = ["OBX", str(i), "NM", f"{oc.mdc}^{oc.name}^MDC", f"1.0.0.{i - 1}",
                      _fmt(r.value), f"{oc.unit.mdc}^{oc.unit.name}^MDC", "", "", "", "", "R",
                      "", "", when, "", "", "", escape(equipment)]
            if r.site:
                fields += ["", obx20(r.site)]  # OBX-19 analysis time, OBX-20 site
            segs.append("|".join(fields))
    return "\r".join(segs) + "\r"


def _fmt(v: float) -> str:
    """One decimal at most: what a monitor shows (the stored value may carry float noise)."""
    v = round(float(v), 1)
    return str(int(v)) if v.is_integer() else f"{v:.1f}"


def build_mdm(pdf: bytes, *, control_id: str, patient: PatientIdent, unit: str, bed: str,
              visit_number: str, now: datetime, document_time: datetime, document_id: str,
              signed: bool, author: str, sending_app: str, sending_facility: str,
              receiving_app: str = "", receiving_facility: str = "") -> str:
    """An MDM^T02 (original document notification and content) carrying the PDF: TXA
    describes the document (a procedure note, authenticated when signed), one OBX of type ED
    holds it base64-encoded (``^AP^PDF^Base64^…``)."""
    segs = [
        msh_segment("MDM^T02^MDM_T02", control_id, now, sending_app=sending_app,
                    sending_facility=sending_facility, receiving_app=receiving_app,
                    receiving_facility=receiving_facility),
        "|".join(["EVN", "T02", hl7_time(now)]),
        pid_segment(patient),
        pv1_segment(unit, bed, visit_number),
        # TXA-2 PN (procedure note), -3 AP (application data), -4 activity time, -5 author,
        # -12 unique document number, -17 AU (authenticated) or IP (in progress),
        # -19 AV (available)
        "|".join(["TXA", "1", "PN", "AP", hl7_time(document_time), escape(author), "", "", "",
                  "", "", "", escape(document_id), "", "", "", "", "AU" if signed else "IP",
                  "", "AV"]),
        "|".join(["OBX", "1", "ED", "SESSION_SUMMARY^Ketamine infusion session summary^L", "",
                  "^AP^PDF^Base64^" + base64.b64encode(pdf).decode("ascii"), "", "", "", "",
                  "", "F", "", "", hl7_time(document_time)]),
    ]
    return "\r".join(segs) + "\r"
