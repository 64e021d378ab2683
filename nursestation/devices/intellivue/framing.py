"""IntelliVue MIB/RS232 frames: ``C0 | 11 01 LL LL | user data | FCS lo hi | C1``.

Transparency applies to every byte between BOF and EOF (header, length, data and FCS): 0xC0, 0xC1
and 0x7D go on the wire as 0x7D followed by the byte XOR 0x20. ``7D C1`` aborts a frame; a BOF
always starts a new frame, whatever came before it.
"""

from __future__ import annotations

from nursestation.devices.base import DecoderStats
from nursestation.devices.crc import crc16_x25
from nursestation.devices.intellivue.constants import (
    BOF,
    EOF,
    ESC,
    ESC_XOR,
    FRAME_MSG_TYPE,
    FRAME_PROTOCOL_ID,
    MAX_USER_DATA,
)


def fcs_bytes(data: bytes) -> bytes:
    """The two FCS bytes for ``data`` as sent, least significant first (before escaping)."""
    crc = crc16_x25(data)
    return bytes((crc & 0xFF, crc >> 8))


_BOF, _EOF, _ESC = bytes((BOF,)), bytes((EOF,)), bytes((ESC,))


def escape(data: bytes) -> bytes:
    """Transparency: 0xC0, 0xC1 and 0x7D become 0x7D, byte XOR 0x20 (the escape byte first,
    so the escapes added for the other two are not escaped again)."""
    return (
        data.replace(_ESC, bytes((ESC, ESC ^ ESC_XOR)))
        .replace(_BOF, bytes((ESC, BOF ^ ESC_XOR)))
        .replace(_EOF, bytes((ESC, EOF ^ ESC_XOR)))
    )


def encode_frame(user_data: bytes) -> bytes:
    """One complete wire frame carrying ``user_data``."""
    if len(user_data) > 0xFFFF:
        raise ValueError("user data longer than 65535 bytes")
    body = bytes((FRAME_PROTOCOL_ID, FRAME_MSG_TYPE)) + len(user_data).to_bytes(2, "big")
    body += user_data
    return bytes((BOF,)) + escape(body + fcs_bytes(body)) + bytes((EOF,))


class FrameReader:
    """Incremental frame reader: feed any slices of the byte stream, get user data back.

    Never raises on bad input. Counts into ``stats``: frames accepted (FCS and length good),
    frames rejected (bad FCS, bad header or length, aborted, cut short by a new BOF, too long)
    and bytes skipped (anything outside a frame).
    """

    def __init__(self, stats: DecoderStats | None = None) -> None:
        self.stats = stats if stats is not None else DecoderStats()
        self._in_frame = False
        self._escaped = False
        self._buf = bytearray()

    def reset(self) -> None:
        self._in_frame = False
        self._escaped = False
        self._buf.clear()

    def _abandon(self) -> None:
        """Drop a frame in progress."""
        if self._buf or self._escaped:
            self.stats.frames_rejected += 1
        else:
            self.stats.bytes_skipped += 1  # a lone BOF
        self._buf.clear()
        self._escaped = False
        self._in_frame = False

    def _finish(self) -> bytes | None:
        buf = self._buf
        self._in_frame = False
        self._escaped = False
        ok = (
            len(buf) >= 6
            and buf[0] == FRAME_PROTOCOL_ID
            and buf[1] == FRAME_MSG_TYPE
            and int.from_bytes(buf[2:4], "big") == len(buf) - 6
            and crc16_x25(bytes(buf[:-2])) == buf[-2] | (buf[-1] << 8)
        )
        data = bytes(buf[4:-2]) if ok else None
        buf.clear()
        if ok:
            self.stats.frames_accepted += 1
        else:
            self.stats.frames_rejected += 1
        return data

    def feed(self, data: bytes) -> list[bytes]:
        # Works on runs of bytes between delimiters with bytes.find, not byte by byte: the
        # per-byte loop was two thirds of decoding an IntelliVue stream (make bench).
        out: list[bytes] = []
        stats = self.stats
        n = len(data)
        i = 0
        while i < n:
            if not self._in_frame:
                j = data.find(_BOF, i)
                if j < 0:
                    stats.bytes_skipped += n - i
                    break
                stats.bytes_skipped += j - i
                self._in_frame = True
                i = j + 1
                continue
            jb = data.find(_BOF, i)
            je = data.find(_EOF, i, jb if jb >= 0 else n)
            j = je if je >= 0 else (jb if jb >= 0 else n)
            if j > i:
                self._take(data, i, j)
            if j >= n:
                break
            i = j + 1
            if not self._in_frame:  # the run overflowed the frame: the delimiter is outside
                if data[j] == BOF:
                    self._in_frame = True
                else:
                    stats.bytes_skipped += 1
            elif data[j] == BOF:
                self._abandon()
                self._in_frame = True
            elif self._escaped:  # 7D C1: abort
                stats.frames_rejected += 1
                self._buf.clear()
                self._escaped = False
                self._in_frame = False
            else:
                frame = self._finish()
                if frame is not None:
                    out.append(frame)
        return out

    def _take(self, data: bytes, i: int, j: int) -> None:
        """Append ``data[i:j]`` (no BOF or EOF in it) to the frame in progress, unescaped."""
        buf = self._buf
        limit = MAX_USER_DATA + 6
        if len(buf) + (j - i) > limit:
            self._take_slow(data, i, j, limit)
            return
        if self._escaped:
            buf.append(data[i] ^ ESC_XOR)
            self._escaped = False
            i += 1
        while i < j:
            e = data.find(_ESC, i, j)
            if e < 0:
                buf += data[i:j]
                return
            buf += data[i:e]
            if e + 1 < j:
                buf.append(data[e + 1] ^ ESC_XOR)
                i = e + 2
            else:
                self._escaped = True
                return

    def _take_slow(self, data: bytes, i: int, j: int, limit: int) -> None:
        """Byte by byte, for a run that may make the frame too long."""
        buf = self._buf
        for k in range(i, j):
            if not self._in_frame:
                self.stats.bytes_skipped += j - k
                return
            b = data[k]
            if self._escaped:
                self._escaped = False
                buf.append(b ^ ESC_XOR)
            elif b == ESC:
                self._escaped = True
                continue
            else:
                buf.append(b)
            if len(buf) > limit:
                self.stats.frames_rejected += 1
                buf.clear()
                self._in_frame = False
