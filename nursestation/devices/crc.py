"""Table-driven 16-bit CRCs used by the device protocols.

- CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, MSB first, no final xor): Alaris ASCII frames.
- CRC-16/X-25 (poly 0x1021 reflected = 0x8408, init 0xFFFF, LSB first, final xor 0xFFFF): the
  PPP FCS16 of RFC 1662, used by IntelliVue serial frames.
- CRC-16/XMODEM (poly 0x1021, init 0, MSB first): Baxter AS50, for completeness.
"""

from __future__ import annotations


def _table_msb(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


def _table_lsb(poly_reflected: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly_reflected if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_MSB_1021 = _table_msb(0x1021)
_LSB_8408 = _table_lsb(0x8408)


def _crc_msb(data: bytes, crc: int) -> int:
    table = _MSB_1021
    for b in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ b]
    return crc


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE; ``crc16_ccitt_false(b"123456789") == 0x29B1``."""
    return _crc_msb(data, 0xFFFF)


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM; ``crc16_xmodem(b"123456789") == 0x31C3``."""
    return _crc_msb(data, 0x0000)


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 (PPP FCS16); ``crc16_x25(b"123456789") == 0x906E``.

    On the wire the result goes least significant byte first.
    """
    table = _LSB_8408
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF
