"""``nursestation decode --protocol hl7 FILE``: decode a gateway capture to JSON lines.

The capture is MLLP (what went over the wire: ``0x0B`` … ``0x1C 0x0D``) or plain HL7 text
(segments separated by CR, LF or CRLF, each message starting with ``MSH``). Each reading is one
JSON line like the device decoders', with the message's bed (PV1-3), the device id (OBX-18)
and control id; on standard error a summary, and for each message that would not get an ``AA``
the acknowledgement code and reason the listener would send.
"""

from __future__ import annotations

import json
import sys
from typing import BinaryIO, TextIO

from nursestation.hl7.mllp import MllpFramer, split_plain
from nursestation.hl7.pcd01 import MessageError, parse_pcd01


def decode_capture(stream: BinaryIO, out: TextIO, err: TextIO) -> dict[str, int]:
    data = stream.read()
    stats = {"messages": 0, "readings": 0, "refused": 0, "with_problems": 0,
             "observations_ignored": 0, "frames_rejected": 0, "bytes_skipped": 0}
    if b"\x0b" in data:
        framer = MllpFramer()
        messages = framer.feed(data)
        stats["frames_rejected"] = framer.stats.frames_rejected
        stats["bytes_skipped"] = framer.stats.bytes_skipped
        if framer.pending:
            stats["frames_rejected"] += 1  # the capture ends inside a frame
    else:
        messages = split_plain(data)
    for n, raw in enumerate(messages, 1):
        stats["messages"] += 1
        try:
            msg = parse_pcd01(raw)
        except MessageError as exc:
            stats["refused"] += 1
            err.write(f"message {n} ({exc.control_id or 'no control id'}): {exc.ack_code}: "
                      f"{exc.reason}\n")
            continue
        for reading, equipment in msg.readings:
            row = reading.to_json_dict()
            row["bed"] = msg.bed
            row["equipment"] = equipment
            row["control_id"] = msg.control_id
            if "converted_from" in reading.extra:
                row["converted_from"] = reading.extra["converted_from"]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            stats["readings"] += 1
        stats["observations_ignored"] += len(msg.ignored)
        if msg.problems:
            stats["with_problems"] += 1
            err.write(f"message {n} ({msg.control_id}): AE: {'; '.join(msg.problems)}\n")
    return stats


def decode_main(file: str) -> int:
    try:
        if file == "-":
            stats = decode_capture(sys.stdin.buffer, sys.stdout, sys.stderr)
        else:
            with open(file, "rb") as fh:
                stats = decode_capture(fh, sys.stdout, sys.stderr)
    except OSError as exc:
        print(f"nursestation decode: cannot read {file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    sys.stdout.flush()
    print(
        f"messages: {stats['messages']}, readings: {stats['readings']}, "
        f"messages refused: {stats['refused']}, messages with refused values: "
        f"{stats['with_problems']}, observations not used: {stats['observations_ignored']}, "
        f"frames rejected: {stats['frames_rejected']}, bytes skipped: {stats['bytes_skipped']}",
        file=sys.stderr,
    )
    return 0
