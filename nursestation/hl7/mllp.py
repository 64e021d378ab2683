"""MLLP framing (HL7 v2 over TCP): each message is ``0x0B`` + message + ``0x1C 0x0D``.

``MllpFramer`` is incremental and never raises: bytes between frames are counted as skipped, a
frame cut short by a new start block or grown past ``max_frame`` is counted as rejected, and the
next good frame is always found.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from nursestation.devices.base import DecoderStats

START = b"\x0b"
END = b"\x1c\x0d"
SB, EB, CR = 0x0B, 0x1C, 0x0D
#: bytes: a longer frame is refused (a PCD-01 message is a few kB; this also bounds memory)
MAX_FRAME = 1 << 20


def frame(message: str | bytes) -> bytes:
    """Wrap one HL7 message (segments separated by CR) for MLLP."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    return START + data + END


class MllpFramer:
    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.stats = DecoderStats()
        self.max_frame = max_frame
        self._buf = bytearray()
        self._in_frame = False
        self._oversized = False  # the current frame passed max_frame: drop it at its end
        self._after_end = False  # the last feed ended on 0x1C: its CR may come next

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame held back."""
        return len(self._buf) if self._in_frame else 0

    def feed(self, data: bytes) -> list[bytes]:
        """Consume bytes; return every complete message (without the framing bytes)."""
        out: list[bytes] = []
        buf = self._buf
        pos = 0
        n = len(data)
        if self._after_end and n:
            self._after_end = False
            if data[0] == CR:
                pos = 1
        while pos < n:
            if not self._in_frame:
                start = data.find(START, pos)
                if start < 0:
                    self.stats.bytes_skipped += n - pos
                    break
                self.stats.bytes_skipped += start - pos
                pos = start + 1
                self._in_frame = True
                self._oversized = False
                buf.clear()
                continue
            # inside a frame: look for the end block, or a new start (the old frame was cut)
            end = data.find(b"\x1c", pos)
            restart = data.find(START, pos)
            if restart >= 0 and (end < 0 or restart < end):
                self.stats.frames_rejected += 1  # a start block inside a frame: cut short
                buf.clear()
                self._oversized = False
                pos = restart + 1
                continue
            stop = n if end < 0 else end
            if not self._oversized:
                buf += data[pos:stop]
                if len(buf) > self.max_frame:
                    self._oversized = True  # keep reading to its end, then drop it
                    buf.clear()
            if end < 0:
                break
            pos = end + 1
            if pos < n and data[pos] == CR:
                pos += 1
            elif pos == n:
                self._after_end = True
            self._in_frame = False
            if buf and not self._oversized:
                self.stats.frames_accepted += 1
                out.append(bytes(buf))
            else:
                self.stats.frames_rejected += 1
            buf.clear()
            self._oversized = False
        return out


def split_plain(data: bytes) -> list[bytes]:
    """Messages of a plain capture (no MLLP): a new message starts at each ``MSH`` segment;
    segments may be separated by CR, LF or CRLF (a capture saved by an editor)."""
    text = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    messages: list[bytes] = []
    current: list[bytes] = []
    for seg in text.split(b"\r"):
        if seg.startswith(b"MSH"):
            if current:
                messages.append(b"\r".join(current))
            current = [seg]
        elif seg.strip():
            current.append(seg)
    if current:
        messages.append(b"\r".join(current))
    return messages


class AddressError(ValueError):
    pass


def parse_mllp_url(url: str, *, default_host: str = "") -> tuple[str, int]:
    """``mllp://HOST:PORT`` (or ``HOST:PORT``, ``:PORT``) as (host, port)."""
    text = url.strip()
    if "://" not in text:
        text = "mllp://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("mllp", "tcp"):
        raise AddressError(f"{url!r}: use mllp://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        raise AddressError(f"{url!r}: the port must be a number from 1 to 65535") from None
    if port is None:
        raise AddressError(f"{url!r}: no port (mllp://HOST:PORT)")
    return parts.hostname or default_host, port
