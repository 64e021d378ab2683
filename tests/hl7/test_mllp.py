"""MLLP framing: every message found whatever the chunking, junk skipped, cut frames rejected,
never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nursestation.hl7.mllp import MllpFramer, frame, parse_mllp_url, split_plain
from tests.hl7.messages import ge_style, philips_style

MESSAGES = [ge_style().encode(), philips_style().encode(), b"MSH|^~\\&|x"]


def feed_in_chunks(framer: MllpFramer, data: bytes, cuts: list[int]) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    for cut in sorted(set(c % (len(data) + 1) for c in cuts)) + [len(data)]:
        out += framer.feed(data[pos:cut])
        pos = cut
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(MESSAGES), min_size=1, max_size=5),
       st.lists(st.integers(0, 10_000), max_size=20))
def test_every_message_whatever_the_chunking(messages, cuts):
    data = b"".join(frame(m) for m in messages)
    framer = MllpFramer()
    assert feed_in_chunks(framer, data, cuts) == messages
    assert framer.stats.frames_accepted == len(messages)
    assert framer.stats.frames_rejected == 0 and framer.stats.bytes_skipped == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(0, 10_000), max_size=10))
def test_random_bytes_then_a_valid_frame_is_never_lost(junk, cuts):
    framer = MllpFramer()
    # junk may leave a frame open; a start block after it begins the real one
    got = feed_in_chunks(framer, junk + frame(MESSAGES[0]), cuts)
    assert got[-1] == MESSAGES[0]


def test_junk_between_frames_is_skipped_and_counted():
    framer = MllpFramer()
    got = framer.feed(b"noise" + frame(MESSAGES[1]) + b"\r\n" + frame(MESSAGES[2]))
    assert got == [MESSAGES[1], MESSAGES[2]]
    assert framer.stats.bytes_skipped == 7


def test_a_frame_cut_by_a_new_start_is_rejected_and_the_next_kept():
    framer = MllpFramer()
    got = framer.feed(b"\x0bMSH|half a mess" + frame(MESSAGES[2]))
    assert got == [MESSAGES[2]] and framer.stats.frames_rejected == 1


def test_an_oversized_frame_is_dropped_and_the_framer_recovers():
    framer = MllpFramer(max_frame=100)
    got = framer.feed(b"\x0b" + b"A" * 500 + b"\x1c\r" + frame(MESSAGES[2]))
    assert got == [MESSAGES[2]] and framer.stats.frames_rejected == 1


def test_plain_captures_split_at_msh_with_any_line_ending():
    text = (ge_style() + philips_style()).replace("\r", "\r\n").encode()
    parts = split_plain(text)
    assert len(parts) == 2 and parts[0].startswith(b"MSH") and parts[1].startswith(b"MSH")
    assert b"\n" not in parts[0]


def test_mllp_urls():
    assert parse_mllp_url("mllp://10.1.2.3:2575") == ("10.1.2.3", 2575)
    assert parse_mllp_url(":2575") == ("", 2575)
    for bad in ("http://x:1", "mllp://host", "mllp://host:99999"):
        try:
            parse_mllp_url(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
