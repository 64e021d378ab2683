"""`nursestation decode --protocol hl7 FILE`: MLLP or plain captures to JSON lines with the bed."""

from __future__ import annotations

import json
import subprocess
import sys

from nursestation.hl7.mllp import frame
from tests.hl7.messages import ge_style, philips_style


def run(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nursestation", "decode", "--protocol", "hl7",
                           str(path)], capture_output=True, text=True, timeout=120)


def test_mllp_capture_with_junk_and_a_bad_message(tmp_path):
    cap = tmp_path / "gw.mllp"
    cap.write_bytes(b"\x00\x00" + frame(ge_style("D1")) + frame("garbage")
                    + frame(philips_style("D2")))
    res = run(cap)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    hr = [(r["bed"], r["value"], r["control_id"]) for r in rows if r["code"] == "HR"]
    assert hr == [("INFUSION^^C4", 72, "D1"), ("C2", 64, "D2")]
    assert [r["equipment"] for r in rows if r["code"] == "HR"][0] == "00A0C8FFFE1234AB"
    temp = [r for r in rows if r["code"] == "TEMP" and r["bed"] == "INFUSION^^C4"][0]
    assert temp["site"] == "core"
    assert "message 2 (no control id): AR" in res.stderr
    assert "messages: 3" in res.stderr and "messages refused: 1" in res.stderr
    assert "bytes skipped: 2" in res.stderr


def test_plain_text_capture_with_lf_line_ends(tmp_path):
    cap = tmp_path / "gw.hl7"
    cap.write_text((ge_style("P1") + ge_style("P2", hr="7x")).replace("\r", "\n"),
                   encoding="utf-8")
    res = run(cap)
    assert res.returncode == 0
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["value"] for r in rows if r["code"] == "HR"] == [72]
    assert "message 2 (P2): AE" in res.stderr and "not a number" in res.stderr


def test_missing_file(tmp_path):
    res = run(tmp_path / "nope")
    assert res.returncode == 1 and "cannot read" in res.stderr
