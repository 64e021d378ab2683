"""The C-backed CRCs against a bit-by-bit reference written from their definitions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.devices.crc import crc16_ccitt_false, crc16_x25, crc16_xmodem


def reference_msb(data: bytes, crc: int) -> int:
    """Polynomial 0x1021, most significant bit first, no reflection, no final xor."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def reference_x25(data: bytes) -> int:
    """Reflected polynomial 0x8408, least significant bit first, init 0xFFFF, complemented."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def test_check_values_of_the_catalogue():
    # "123456789" check values from the CRC catalogue (reveng)
    assert crc16_x25(b"123456789") == 0x906E
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_xmodem(b"123456789") == 0x31C3
    assert crc16_x25(b"") == 0x0000 and crc16_ccitt_false(b"") == 0xFFFF


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_every_crc_matches_its_bitwise_definition(data):
    assert crc16_x25(data) == reference_x25(data)
    assert crc16_ccitt_false(data) == reference_msb(data, 0xFFFF)
    assert crc16_xmodem(data) == reference_msb(data, 0x0000)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_bytearray_and_bytes_agree(data):
    assert crc16_x25(bytearray(data)) == crc16_x25(data)
