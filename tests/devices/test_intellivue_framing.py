"""IntelliVue serial framing: check values from intellivue.md, transparency, resynchronisation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.devices.intellivue import IntelliVueDecoder
from nursestation.devices.intellivue.framing import (
    FrameReader,
    crc16_x25,
    encode_frame,
    escape,
    fcs_bytes,
)

FAST = settings(max_examples=200, deadline=None)


# --- check values -------------------------------------------------------------------------


def test_crc_check_value_ascii_123456789():
    assert crc16_x25(b"123456789") == 0x906E


def test_crc_over_3a71_goes_on_the_wire_as_9b26():
    assert fcs_bytes(bytes([0x3A, 0x71])) == bytes([0x9B, 0x26])
    assert escape(fcs_bytes(bytes([0x3A, 0x71]))) == bytes([0x9B, 0x26])


def test_crc_over_3a91_is_95c1_and_is_escaped_as_95_7d_e1():
    assert fcs_bytes(bytes([0x3A, 0x91])) == bytes([0x95, 0xC1])
    assert escape(fcs_bytes(bytes([0x3A, 0x91]))) == bytes([0x95, 0x7D, 0xE1])


def test_frame_layout():
    frame = encode_frame(b"\x01\x02")
    body = bytes([0x11, 0x01, 0x00, 0x02, 0x01, 0x02])
    assert frame == b"\xc0" + body + fcs_bytes(body) + b"\xc1"


# --- escaping of header, length and FCS -------------------------------------------------------


def _unescape(wire: bytes) -> bytes:
    out, esc = bytearray(), False
    for b in wire:
        if esc:
            out.append(b ^ 0x20)
            esc = False
        elif b == 0x7D:
            esc = True
        else:
            out.append(b)
    return bytes(out)


def test_length_bytes_are_escaped():
    for n in (0x7D, 0xC0, 0xC1, 0x1C0, 0x17D):
        data = bytes(n)
        frame = encode_frame(data)
        inner = frame[1:-1]
        assert 0xC0 not in inner and 0xC1 not in inner
        assert _unescape(inner)[2:4] == n.to_bytes(2, "big")
        assert FrameReader().feed(frame) == [data]
    assert encode_frame(bytes(0xC0))[1:6] == bytes([0x11, 0x01, 0x00, 0x7D, 0xE0])
    assert encode_frame(bytes(0x7D))[1:6] == bytes([0x11, 0x01, 0x00, 0x7D, 0x5D])


def _data_with_special_fcs(position: int) -> bytes:
    """Two data bytes whose frame FCS byte at ``position`` (0 = low) is C0, C1 or 7D."""
    for a in range(256):
        for b in range(256):
            data = bytes([a, b])
            fcs = fcs_bytes(bytes([0x11, 0x01, 0x00, 0x02]) + data)
            if fcs[position] in (0xC0, 0xC1, 0x7D) and not ({a, b} & {0xC0, 0xC1, 0x7D}):
                return data
    raise AssertionError("no such data")


def test_fcs_bytes_are_escaped_and_the_frame_still_reads():
    for position in (0, 1):
        data = _data_with_special_fcs(position)
        frame = encode_frame(data)
        body = bytes([0x11, 0x01, 0x00, 0x02]) + data
        fcs = fcs_bytes(body)
        assert frame[1:-1] == body + escape(fcs)
        assert len(frame) > len(body) + 4  # the escape added a byte
        reader = FrameReader()
        assert reader.feed(frame) == [data]
        assert reader.stats.frames_accepted == 1
        # A reader that stopped unescaping before the FCS would see a bad checksum:
        raw_fcs_frame = b"\xc0" + body + fcs + b"\xc1"
        if fcs[position] != 0x7D:
            assert FrameReader().feed(raw_fcs_frame) == []


def test_escaped_data_bytes_round_trip():
    data = bytes([0xC0, 0xC1, 0x7D, 0x20, 0xE0, 0xE1, 0x5D])
    frame = encode_frame(data)
    assert FrameReader().feed(frame) == [data]


@given(st.binary(max_size=300))
def test_escape_is_the_byte_by_byte_rule(data):
    expected = bytearray()
    for b in data:
        expected += bytes((0x7D, b ^ 0x20)) if b in (0xC0, 0xC1, 0x7D) else bytes((b,))
    assert escape(data) == bytes(expected)
    assert _unescape(escape(data)) == data


# --- resynchronisation ------------------------------------------------------------------------


def test_7d_c1_aborts_a_frame():
    good = encode_frame(b"hello")
    reader = FrameReader()
    assert reader.feed(good[:5] + b"\x7d\xc1" + good) == [b"hello"]
    assert reader.stats.frames_rejected == 1
    assert reader.stats.frames_accepted == 1


def test_bof_inside_a_frame_restarts_it():
    good = encode_frame(b"second")
    reader = FrameReader()
    assert reader.feed(encode_frame(b"first")[:-3] + good) == [b"second"]
    assert reader.stats.frames_rejected == 1


def test_bof_right_after_an_escape_still_restarts():
    good = encode_frame(b"x")
    reader = FrameReader()
    assert reader.feed(b"\xc0\x11\x7d" + good) == [b"x"]


def test_bad_fcs_is_rejected_and_the_next_frame_is_read():
    bad = bytearray(encode_frame(b"abc"))
    bad[-2] ^= 0x01
    reader = FrameReader()
    assert reader.feed(bytes(bad) + encode_frame(b"def")) == [b"def"]
    assert reader.stats.as_dict() == {
        "frames_accepted": 1, "frames_rejected": 1, "bytes_skipped": 0,
    }


def test_wrong_length_field_is_rejected():
    body = bytes([0x11, 0x01, 0x00, 0x05, 0x01, 0x02])
    frame = b"\xc0" + escape(body + fcs_bytes(body)) + b"\xc1"
    reader = FrameReader()
    assert reader.feed(frame) == []
    assert reader.stats.frames_rejected == 1


def test_bytes_outside_frames_are_counted_as_skipped():
    reader = FrameReader()
    assert reader.feed(b"\x00\x01\x02" + encode_frame(b"z") + b"\xff") == [b"z"]
    assert reader.stats.bytes_skipped == 4


# --- properties -------------------------------------------------------------------------------

payloads = st.binary(min_size=0, max_size=300)


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data):
    reader = FrameReader()
    reader.feed(data)
    decoder = IntelliVueDecoder()
    decoder.feed(data)
    s = decoder.stats
    assert min(s.frames_accepted, s.frames_rejected, s.bytes_skipped) >= 0


@FAST
@given(st.lists(payloads, min_size=1, max_size=5), st.data())
def test_frames_split_anywhere_are_read_whole(frames, data):
    wire = b"".join(encode_frame(p) for p in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    reader = FrameReader()
    out, prev = [], 0
    for cut in cuts + [len(wire)]:
        out += reader.feed(wire[prev:cut])
        prev = cut
    assert out == frames
    assert reader.stats.frames_accepted == len(frames)
    assert reader.stats.frames_rejected == 0


@FAST
@given(st.lists(st.tuples(st.binary(max_size=100), payloads), min_size=1, max_size=5))
def test_every_valid_frame_after_garbage_is_read_and_counted(pairs):
    wire = b"".join(garbage + encode_frame(p) for garbage, p in pairs)
    reader = FrameReader()
    out = reader.feed(wire)
    assert out == [p for _, p in pairs]
    assert reader.stats.frames_accepted == len(pairs)


@FAST
@given(payloads, payloads, st.integers(min_value=1))
def test_truncated_frame_then_valid_frame(first, second, cut):
    f1 = encode_frame(first)
    cut = 1 + cut % (len(f1) - 1)  # lose the end of the first frame
    reader = FrameReader()
    assert reader.feed(f1[:cut] + encode_frame(second)) == [second]
    assert reader.stats.frames_accepted == 1


@FAST
@given(payloads, payloads, st.data())
def test_corrupted_frame_never_hides_the_next(first, second, data):
    f1 = bytearray(encode_frame(first))
    i = data.draw(st.integers(1, len(f1) - 2))
    f1[i] ^= data.draw(st.integers(1, 255))
    reader = FrameReader()
    out = reader.feed(bytes(f1) + encode_frame(second))
    assert out[-1:] == [second]
    assert reader.stats.frames_accepted == len(out)
