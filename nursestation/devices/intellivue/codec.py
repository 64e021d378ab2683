"""IntelliVue message encoding and decoding (the user data inside a frame). Pure; big-endian.

Builders return the user data of one message; parsers raise :class:`ParseError` on anything
malformed (the decoder turns that into a rejected frame).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from datetime import datetime

from nursestation.devices.intellivue import constants as C


class ParseError(ValueError):
    """A message that does not follow the protocol's layout."""


_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
H2 = struct.Struct(">HH")
_U16_PAIR = H2.unpack_from
H3 = struct.Struct(">HHH")
H4 = struct.Struct(">HHHH")
H5 = struct.Struct(">HHHHH")
_POLL_REPLY_HEAD = struct.Struct(">HI8xHHH")  # poll number, rel time, abs time, obj type
_POLL_REPLY_HEAD_EXT = struct.Struct(">HHI8xHHH")  # ... and the sequence number


class Cursor:
    """Reads big-endian fields from a bytes object, never past ``end``."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, n: int) -> bytes:
        pos = self.pos
        if n < 0 or pos + n > self.end:
            raise ParseError(f"need {n} bytes at {pos}, have {self.end - pos}")
        self.pos = pos + n
        return self.data[pos : pos + n]

    # The field readers unpack in place: they run thousands of times a second per monitor.
    def u8(self) -> int:
        pos = self.pos
        if pos + 1 > self.end:
            raise ParseError(f"need 1 bytes at {pos}, have {self.end - pos}")
        self.pos = pos + 1
        return self.data[pos]

    def u16(self) -> int:
        pos = self.pos
        if pos + 2 > self.end:
            raise ParseError(f"need 2 bytes at {pos}, have {self.end - pos}")
        self.pos = pos + 2
        return _U16(self.data, pos)[0]

    def u32(self) -> int:
        pos = self.pos
        if pos + 4 > self.end:
            raise ParseError(f"need 4 bytes at {pos}, have {self.end - pos}")
        self.pos = pos + 4
        return _U32(self.data, pos)[0]

    def fields(self, st: struct.Struct) -> tuple:
        """Several fixed fields at once (``st``: a big-endian ``struct.Struct``)."""
        pos = self.pos
        if pos + st.size > self.end:
            raise ParseError(f"need {st.size} bytes at {pos}, have {self.end - pos}")
        self.pos = pos + st.size
        return st.unpack_from(self.data, pos)

    def sub(self, n: int) -> Cursor:
        """A cursor over the next ``n`` bytes; this one skips past them."""
        if n < 0 or self.pos + n > self.end:
            raise ParseError(f"length {n} at {self.pos} runs past the end")
        c = Cursor(self.data, self.pos, self.pos + n)
        self.pos += n
        return c


def u16(v: int) -> bytes:
    return struct.pack(">H", v & 0xFFFF)


def u32(v: int) -> bytes:
    return struct.pack(">I", v & 0xFFFFFFFF)


# --- FLOAT-Type -------------------------------------------------------------------------------

FLOAT_NAN = 0x7FFFFF
FLOAT_NRES = 0x800000
FLOAT_POS_INF = 0x7FFFFE
FLOAT_NEG_INF = 0x800002
_MANT_MAX = 0x7FFFFD  # 2**23 - 3


def float_special(raw: int) -> str | None:
    """'nan', 'nres', '+inf', '-inf' for the special mantissas, else None."""
    return {
        FLOAT_NAN: "nan",
        FLOAT_NRES: "nres",
        FLOAT_POS_INF: "+inf",
        FLOAT_NEG_INF: "-inf",
    }.get(raw & 0xFFFFFF)


def decode_float(raw: int) -> float:
    """FLOAT-Type → float (NaN for NaN and NRes, ±inf for the infinities)."""
    mant = raw & 0xFFFFFF
    special = float_special(raw)
    if special is not None:
        return {"+inf": math.inf, "-inf": -math.inf}.get(special, math.nan)
    if mant & 0x800000:
        mant -= 1 << 24
    exp = (raw >> 24) & 0xFF
    if exp & 0x80:
        exp -= 256
    if exp >= 0:
        return float(mant * 10**exp)
    return mant / 10 ** (-exp)


def encode_float(value: float | None, decimals: int = 2) -> int:
    """float → FLOAT-Type with at most ``decimals`` digits after the point (None/NaN → NaN)."""
    if value is None or math.isnan(value):
        return FLOAT_NAN
    if math.isinf(value):
        return FLOAT_POS_INF if value > 0 else FLOAT_NEG_INF
    exp = -decimals
    while True:
        mant = round(value * 10 ** (-exp)) if exp <= 0 else round(value / 10**exp)
        if abs(mant) <= _MANT_MAX or exp >= 127:
            break
        exp += 1
    # drop trailing zeros so the number is as short as the monitor would send it
    while mant and mant % 10 == 0 and exp < 0:
        mant //= 10
        exp += 1
    mant = max(-_MANT_MAX, min(_MANT_MAX, mant))
    return ((exp & 0xFF) << 24) | (mant & 0xFFFFFF)


# --- times ----------------------------------------------------------------------------------


def _bcd(b: int) -> int:
    hi, lo = b >> 4, b & 0x0F
    if hi > 9 or lo > 9:
        raise ParseError(f"not BCD: {b:#04x}")
    return hi * 10 + lo


def _to_bcd(v: int) -> int:
    return ((v // 10) << 4) | (v % 10)


def decode_abs_time(b: bytes) -> datetime | None:
    """AbsoluteTime (8 BCD bytes) → naive datetime; None when 'not given' (0xFF) or impossible."""
    if len(b) != 8 or b[:7] == b"\xff" * 7:
        return None
    try:
        century, year, month, day, hour, minute, second = (_bcd(x) for x in b[:7])
        return datetime(century * 100 + year, month, day, hour, minute, second)
    except (ParseError, ValueError):
        return None


def encode_abs_time(t: datetime | None) -> bytes:
    if t is None:
        return b"\xff" * 8
    return bytes(
        _to_bcd(x)
        for x in (t.year // 100, t.year % 100, t.month, t.day, t.hour, t.minute, t.second, 0)
    )


# --- attribute lists --------------------------------------------------------------------------

Attr = tuple[int, bytes]


def parse_attribute_list(cur: Cursor) -> list[Attr]:
    """``count, length, (id, length, value)*``."""
    count, length = cur.fields(H2)
    pos = cur.pos
    end = pos + length
    if end > cur.end:
        raise ParseError(f"length {length} at {pos} runs past the end")
    attrs = _attributes(cur.data, pos, end, count)
    cur.pos = end
    return attrs


def _attributes(data: bytes, pos: int, end: int, count: int) -> list[Attr]:
    """``count`` AVA entries (id, length, value) filling exactly ``data[pos:end]``. The hottest
    loop of a monitor's stream (every observation is one), so it unpacks in place."""
    attrs: list[Attr] = []
    for _ in range(count):
        if pos + 4 > end:
            raise ParseError(f"attribute header at {pos} runs past the list")
        attr_id, n = _U16_PAIR(data, pos)
        pos += 4
        if pos + n > end:
            raise ParseError(f"attribute value of {n} bytes at {pos} runs past the list")
        attrs.append((attr_id, data[pos : pos + n]))
        pos += n
    if pos != end:
        raise ParseError("attribute list longer than its entries")
    return attrs


def build_attribute_list(attrs: list[Attr]) -> bytes:
    body = b"".join(u16(a) + u16(len(v)) + v for a, v in attrs)
    return u16(len(attrs)) + u16(len(body)) + body


# --- association control ------------------------------------------------------------------------

# Fixed building blocks from the guide ("Association Control Protocol Examples").
_ASSOC_SESSION_DATA = bytes.fromhex("0508130100160102800014020002")
_ASSOC_REQ_PRES_HEAD = bytes.fromhex(
    "3180a0808001010000a280a003000001a4803080020101060452010001308006"
    "025101000000003080020102060c2a8648ce14020100000001013080060c2a86"
    "48ce140201000000020100000000000061803080020101a0806080a180060c2a"
    "8648ce14020100000003010000be802880060c2a8648ce140201000000010102"
    "010281"
)
_ASSOC_RESP_PRES_HEAD = bytes.fromhex(
    "3180a0808001010000a280a003000001a5803080800100810251010000308080"
    "0100810c2a8648ce14020100000002010000000061803080020101a0806180a1"
    "80060c2a8648ce14020100000003010000a203020100a305a103020100be8028"
    "8002010281"
)
_PRES_TRAILER = bytes(16)
RELEASE_REQUEST = bytes.fromhex("0918c11661803080020101a08062808001000000000000000000")
RELEASE_RESPONSE = bytes.fromhex("0a18c11661803080020101a08063808001000000000000000000")
ABORT = bytes.fromhex(
    "192e110103c129a080a0803080020101060251010000000061803080020101a0"
    "80648080010100000000000000000000"
)
REFUSE = bytes.fromhex("0c03320100")


def _li(n: int) -> bytes:
    """Session/presentation length indicator: one byte up to 254, else 0xFF + u16."""
    return bytes((n,)) if n <= 254 else b"\xff" + u16(n)


def _asn_length(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


@dataclass
class MdseUserInfo:
    protocol_version: int = C.MDDL_VERSION1
    nomenclature_version: int = C.NOMEN_VERSION
    functional_units: int = 0
    system_type: int = C.SYST_CLIENT
    startup_mode: int = C.COLD_START
    poll_profile_revision: int = C.POLL_PROFILE_REV_0
    min_poll_period: int = C.TICKS_PER_SECOND  # RelativeTime ticks
    max_mtu_rx: int = 1000
    max_mtu_tx: int = 1000
    max_bw_tx: int = 0xFFFFFFFF
    options: int = C.P_OPT_DYN_CREATE_OBJECTS | C.P_OPT_DYN_DELETE_OBJECTS
    poll_ext_options: int | None = None  # the 0xF001 optional package, when present

    def encode(self) -> bytes:
        packages: list[Attr] = []
        if self.poll_ext_options is not None:
            packages.append(
                (C.NOM_ATTR_POLL_PROFILE_EXT, u32(self.poll_ext_options) + build_attribute_list([]))
            )
        profile = (
            u32(self.poll_profile_revision)
            + u32(self.min_poll_period)
            + u32(self.max_mtu_rx)
            + u32(self.max_mtu_tx)
            + u32(self.max_bw_tx)
            + u32(self.options)
            + build_attribute_list(packages)
        )
        return (
            u32(self.protocol_version)
            + u32(self.nomenclature_version)
            + u32(self.functional_units)
            + u32(self.system_type)
            + u32(self.startup_mode)
            + build_attribute_list([])
            + build_attribute_list([(C.NOM_POLL_PROFILE_SUPPORT, profile)])
        )

    @classmethod
    def decode(cls, cur: Cursor) -> MdseUserInfo:
        info = cls(
            protocol_version=cur.u32(),
            nomenclature_version=cur.u32(),
            functional_units=cur.u32(),
            system_type=cur.u32(),
            startup_mode=cur.u32(),
        )
        parse_attribute_list(cur)  # option_list: nothing defined yet
        profiles = parse_attribute_list(cur)
        for attr_id, value in profiles:
            if attr_id != C.NOM_POLL_PROFILE_SUPPORT:
                continue
            p = Cursor(value)
            info.poll_profile_revision = p.u32()
            info.min_poll_period = p.u32()
            info.max_mtu_rx = p.u32()
            info.max_mtu_tx = p.u32()
            info.max_bw_tx = p.u32()
            info.options = p.u32()
            for pkg_id, pkg in parse_attribute_list(p):
                if pkg_id == C.NOM_ATTR_POLL_PROFILE_EXT:
                    info.poll_ext_options = Cursor(pkg).u32()
            break
        else:
            raise ParseError("no poll profile support in the association user data")
        return info


def _assoc_message(spdu: int, pres_head: bytes, info: MdseUserInfo) -> bytes:
    user = info.encode()
    user = _asn_length(len(user)) + user
    after_pres_li = pres_head + user + _PRES_TRAILER
    pres = b"\xc1" + _li(len(after_pres_li)) + after_pres_li
    after_session_li = _ASSOC_SESSION_DATA + pres
    return bytes((spdu,)) + _li(len(after_session_li)) + after_session_li


def build_assoc_request(info: MdseUserInfo) -> bytes:
    return _assoc_message(C.CN_SPDU_SI, _ASSOC_REQ_PRES_HEAD, info)


def build_assoc_response(info: MdseUserInfo) -> bytes:
    return _assoc_message(C.AC_SPDU_SI, _ASSOC_RESP_PRES_HEAD, info)


def parse_assoc_user_info(msg: bytes) -> MdseUserInfo:
    """The MDSEUserInfoStd of an association request or response."""
    idx = msg.find(b"\xbe\x80\x28\x80")
    if idx < 0:
        raise ParseError("no user data marker in association message")
    start = idx + 4
    if msg[start : start + 1] == b"\x81":
        start += 1
    else:
        j = msg.find(b"\x02\x01\x02\x81", start)
        if j < 0:
            raise ParseError("no user data marker in association message")
        start = j + 4
    cur = Cursor(msg, start)
    first = cur.u8()
    if first & 0x80:
        n = 0
        for _ in range(first & 0x7F):
            n = (n << 8) | cur.u8()
    else:
        n = first
    return MdseUserInfo.decode(cur.sub(n))


# --- data export messages -------------------------------------------------------------------------

MDS_OBJECT = (C.NOM_MOC_VMS_MDS, 0, 0)  # class, context, handle


def _sp() -> bytes:
    return u16(C.SESSION_ID) + u16(C.P_CONTEXT_ID)


def _mo(obj: tuple[int, int, int]) -> bytes:
    return u16(obj[0]) + u16(obj[1]) + u16(obj[2])


def _roiv(invoke_id: int, command_type: int, body: bytes) -> bytes:
    apdu = u16(invoke_id) + u16(command_type) + u16(len(body)) + body
    return _sp() + u16(C.ROIV_APDU) + u16(len(apdu)) + apdu


def _rors(invoke_id: int, command_type: int, body: bytes, linked: tuple[int, int] | None) -> bytes:
    apdu = u16(invoke_id) + u16(command_type) + u16(len(body)) + body
    if linked is None:
        return _sp() + u16(C.RORS_APDU) + u16(len(apdu)) + apdu
    apdu = bytes(linked) + apdu
    return _sp() + u16(C.ROLRS_APDU) + u16(len(apdu)) + apdu


def build_mds_create_event(invoke_id: int, event_time: int, attrs: list[Attr]) -> bytes:
    info = _mo(MDS_OBJECT) + build_attribute_list(attrs)
    arg = _mo(MDS_OBJECT) + u32(event_time) + u16(C.NOM_NOTI_MDS_CREAT) + u16(len(info)) + info
    return _roiv(invoke_id, C.CMD_CONFIRMED_EVENT_REPORT, arg)


def build_mds_create_result(
    invoke_id: int, managed_object: tuple[int, int, int] = MDS_OBJECT, current_time: int = 0
) -> bytes:
    res = _mo(managed_object) + u32(current_time) + u16(C.NOM_NOTI_MDS_CREAT) + u16(0)
    return _rors(invoke_id, C.CMD_CONFIRMED_EVENT_REPORT, res, None)


def build_poll_request(
    invoke_id: int,
    poll_number: int,
    obj_code: int,
    attr_grp: int = C.NOM_ATTR_GRP_ALL,
    *,
    extended: bool = True,
    period_ticks: int | None = None,
) -> bytes:
    """Extended (0xF13B) or single (0x0C16) poll request on the MDS."""
    req = u16(poll_number) + u16(C.NOM_PART_OBJ) + u16(obj_code) + u16(attr_grp)
    if extended:
        ext: list[Attr] = []
        if period_ticks is not None:
            ext.append((C.NOM_ATTR_TIME_PD_POLL, u32(period_ticks)))
        req += build_attribute_list(ext)
        action = C.NOM_ACT_POLL_MDIB_DATA_EXT
    else:
        action = C.NOM_ACT_POLL_MDIB_DATA
    arg = _mo(MDS_OBJECT) + u32(0) + u16(action) + u16(len(req)) + req
    return _roiv(invoke_id, C.CMD_CONFIRMED_ACTION, arg)


ObservationPoll = tuple[int, list[Attr]]  # (obj_handle, attributes)
ContextPoll = tuple[int, list[ObservationPoll]]  # (context_id, observations)


def encode_poll_info(contexts: list[ContextPoll]) -> bytes:
    parts = []
    for context_id, observations in contexts:
        obs = b"".join(u16(h) + build_attribute_list(a) for h, a in observations)
        parts.append(u16(context_id) + u16(len(observations)) + u16(len(obs)) + obs)
    body = b"".join(parts)
    return u16(len(contexts)) + u16(len(body)) + body


def build_poll_reply(
    invoke_id: int,
    poll_number: int,
    rel_time: int,
    obj_code: int,
    contexts: list[ContextPoll],
    *,
    attr_grp: int = C.NOM_ATTR_GRP_ALL,
    sequence_no: int = 0,
    extended: bool = True,
    linked: tuple[int, int] | None = None,
    abs_time: datetime | None = None,
) -> bytes:
    """A poll result: RORS, or ROLRS when ``linked`` = (state, count)."""
    head = u16(poll_number)
    if extended:
        head += u16(sequence_no)
    head += u32(rel_time) + encode_abs_time(abs_time)
    head += u16(C.NOM_PART_OBJ) + u16(obj_code) + u16(attr_grp)
    reply = head + encode_poll_info(contexts)
    action = C.NOM_ACT_POLL_MDIB_DATA_EXT if extended else C.NOM_ACT_POLL_MDIB_DATA
    res = _mo(MDS_OBJECT) + u16(action) + u16(len(reply)) + reply
    return _rors(invoke_id, C.CMD_CONFIRMED_ACTION, res, linked)


# --- parsing data export messages -----------------------------------------------------------------


@dataclass
class PollReply:
    poll_number: int
    sequence_no: int | None
    rel_time: int
    obj_partition: int
    obj_code: int
    attr_grp: int
    contexts: list[ContextPoll]


@dataclass
class PollRequest:
    poll_number: int
    obj_partition: int
    obj_code: int
    attr_grp: int
    extended: bool
    period_ticks: int | None = None


@dataclass
class DataExportMessage:
    """One decoded SPpdu/ROapdus message. ``body`` is the command data after the RO header."""

    ro_type: int
    invoke_id: int = 0
    command_type: int = 0
    linked_state: int | None = None
    linked_count: int | None = None
    error_value: int | None = None
    # invoke: event report
    managed_object: tuple[int, int, int] | None = None
    event_time: int | None = None
    event_type: int | None = None
    event_attrs: list[Attr] = field(default_factory=list)
    # invoke: action / result: action result
    action_type: int | None = None
    poll_request: PollRequest | None = None
    poll_reply: PollReply | None = None


def parse_poll_info(cur: Cursor) -> list[ContextPoll]:
    """PollInfoList → SingleContextPoll → ObservationPoll → AttributeList, every level's count
    and length checked. Walks the bytes in place: a wave reply is a few dozen of these lists
    four times a second per monitor."""
    count, length = cur.fields(H2)
    data, pos = cur.data, cur.pos
    end = pos + length
    if end > cur.end:
        raise ParseError(f"length {length} at {pos} runs past the end")
    contexts: list[ContextPoll] = []
    for _ in range(count):
        context_id, n_obs, pos, obs_end = _list_head(data, pos, end, "context")
        observations: list[ObservationPoll] = []
        for _ in range(n_obs):
            handle, n_attrs, pos, attrs_end = _list_head(data, pos, obs_end, "observation")
            observations.append((handle, _attributes(data, pos, attrs_end, n_attrs)))
            pos = attrs_end
        if pos != obs_end:
            raise ParseError("observation list longer than its entries")
        contexts.append((context_id, observations))
    if pos != end:
        raise ParseError("poll info list longer than its entries")
    cur.pos = end
    return contexts


def _list_head(data: bytes, pos: int, end: int, what: str) -> tuple[int, int, int, int]:
    """An (id, count, length) header at ``pos`` opening a list that must end by ``end``: the
    id, the count, and where the list's entries start and stop."""
    if pos + 6 > end:
        raise ParseError(f"{what} header at {pos} runs past its list")
    ident, count, length = H3.unpack_from(data, pos)
    pos += 6
    stop = pos + length
    if stop > end:
        raise ParseError(f"{what} list of {length} bytes at {pos} runs past its list")
    return ident, count, pos, stop


def parse_poll_reply(cur: Cursor, extended: bool) -> PollReply:
    # (the abs_time_stamp between is skipped: monitors send 0xFF, "not given")
    if extended:
        poll_number, sequence_no, rel_time, partition, code, grp = cur.fields(
            _POLL_REPLY_HEAD_EXT)
    else:
        sequence_no = None
        poll_number, rel_time, partition, code, grp = cur.fields(_POLL_REPLY_HEAD)
    contexts = parse_poll_info(cur)
    return PollReply(poll_number, sequence_no, rel_time, partition, code, grp, contexts)


def parse_message(data: bytes) -> DataExportMessage:
    """Parse a data export message (first byte 0xE1). Raises ParseError when malformed."""
    cur = Cursor(data)
    if len(data) < 2 or data[0] << 8 | data[1] != C.SESSION_ID:
        raise ParseError("not a data export message")
    _session, _context, ro_type, length = cur.fields(H4)
    apdu = cur.sub(length)
    msg = DataExportMessage(ro_type=ro_type)
    if ro_type == C.ROER_APDU:
        msg.invoke_id = apdu.u16()
        msg.error_value = apdu.u16()
        return msg
    if ro_type == C.ROLRS_APDU:
        msg.linked_state = apdu.u8()
        msg.linked_count = apdu.u8()
        if msg.linked_state not in (C.RORLS_FIRST, C.RORLS_NOT_FIRST_NOT_LAST, C.RORLS_LAST):
            raise ParseError(f"bad linked result state {msg.linked_state}")
    elif ro_type not in (C.ROIV_APDU, C.RORS_APDU):
        raise ParseError(f"unknown ro_type {ro_type}")
    msg.invoke_id, msg.command_type, length = apdu.fields(H3)
    body = apdu.sub(length)
    if ro_type == C.ROIV_APDU:
        if msg.command_type in (C.CMD_EVENT_REPORT, C.CMD_CONFIRMED_EVENT_REPORT):
            msg.managed_object = (body.u16(), body.u16(), body.u16())
            msg.event_time = body.u32()
            msg.event_type = body.u16()
            ev = body.sub(body.u16())
            if msg.event_type == C.NOM_NOTI_MDS_CREAT:
                ev.take(6)  # the MDS managed object id again
                msg.event_attrs = parse_attribute_list(ev)
        elif msg.command_type == C.CMD_CONFIRMED_ACTION:
            msg.managed_object = (body.u16(), body.u16(), body.u16())
            body.u32()  # scope
            msg.action_type = body.u16()
            arg = body.sub(body.u16())
            if msg.action_type in (C.NOM_ACT_POLL_MDIB_DATA, C.NOM_ACT_POLL_MDIB_DATA_EXT):
                extended = msg.action_type == C.NOM_ACT_POLL_MDIB_DATA_EXT
                req = PollRequest(arg.u16(), arg.u16(), arg.u16(), arg.u16(), extended)
                if extended and arg.remaining:
                    for attr_id, value in parse_attribute_list(arg):
                        if attr_id == C.NOM_ATTR_TIME_PD_POLL and len(value) == 4:
                            req.period_ticks = int.from_bytes(value, "big")
                msg.poll_request = req
        return msg
    # RORS / ROLRS
    if msg.command_type == C.CMD_CONFIRMED_ACTION:
        oc, inst, handle, msg.action_type, length = body.fields(H5)
        msg.managed_object = (oc, inst, handle)
        res = body.sub(length)
        if msg.action_type in (C.NOM_ACT_POLL_MDIB_DATA, C.NOM_ACT_POLL_MDIB_DATA_EXT):
            msg.poll_reply = parse_poll_reply(res, msg.action_type == C.NOM_ACT_POLL_MDIB_DATA_EXT)
    elif msg.command_type == C.CMD_CONFIRMED_EVENT_REPORT:
        msg.managed_object = (body.u16(), body.u16(), body.u16())
        msg.event_time = body.u32()
        msg.event_type = body.u16()
    return msg
