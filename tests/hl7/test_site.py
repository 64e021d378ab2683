"""The observation site (OBX-20, IHE PCD-01 / HL7 2.6 CWE) both ways: our ORU names the site of
every reading that has one, another HL7 library reads it there, and our parser takes it back
into the reading's site (never into a side dictionary)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hl7apy.parser import parse_message

from nursestation.hl7.pcd01 import (
    PatientIdent,
    VitalRow,
    build_oru,
    parse_pcd01,
    parse_time,
)
from tests.hl7.messages import ge_style

AT = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def _oru(rows: list[VitalRow]) -> str:
    return build_oru(rows, control_id="S1", patient=PatientIdent("M1", "Rivera", "Ana"),
                     unit="Clinic", bed="Chair 2", visit_number="7", now=AT,
                     sending_app="NURSESTATION", sending_facility="Clinic")


def _obx(node):
    if getattr(node, "name", "") == "OBX":
        yield node
    for child in getattr(node, "children", []):
        yield from _obx(child)


ROWS = [VitalRow(AT, "SPO2", 97), VitalRow(AT, "SPO2", 91, "right"),
        VitalRow(AT, "PR", 131, "right"), VitalRow(AT, "TEMP", 37.1, "rectal"),
        VitalRow(AT, "TEMP", 34.2, "skin"), VitalRow(AT, "HR", 70)]


def test_the_site_is_sent_in_obx_20_and_another_library_reads_it_there():
    text = _oru(ROWS)
    other = parse_message(text.replace("\n", "\r"), find_groups=True)
    sent = []
    for obx in _obx(other):
        if obx.obx_2.to_er7() != "NM":
            continue  # the device (MDS) row
        site = obx.obx_20.to_er7() if obx.obx_20.value else ""
        sent.append((obx.obx_3.to_er7().split("^")[1], obx.obx_5.to_er7(), site))
    assert sorted(sent) == [
        ("MDC_ECG_HEART_RATE", "70", ""),
        ("MDC_PULS_OXIM_PULS_RATE", "131", "right^right^L"),
        ("MDC_PULS_OXIM_SAT_O2", "91", "right^right^L"),
        ("MDC_PULS_OXIM_SAT_O2", "97", ""),
        # a site with its own MDC code is sent under it, and named in OBX-20 as well
        ("MDC_TEMP_RECT", "37.1", "rectal^rectal^L"),
        ("MDC_TEMP_SKIN", "34.2", "skin^skin^L"),
    ]


def test_our_oru_reads_back_with_every_site():
    got = sorted((r.code, r.site, r.value) for r, _ in parse_pcd01(_oru(ROWS)).readings)
    assert got == sorted((r.code, r.site, r.value) for r in ROWS)
    assert all("site" not in r.extra for r, _ in parse_pcd01(_oru(ROWS)).readings)


def _with_obx20(site_field: str) -> str:
    """The GE-style example with an OBX-20 on its SpO2 row (OBX 11)."""
    segs = ge_style().split("\r")
    i = next(k for k, s in enumerate(segs) if s.startswith("OBX|11|"))
    fields = segs[i].split("|")
    fields += [""] * (21 - len(fields))
    fields[20] = site_field
    segs[i] = "|".join(fields)
    return "\r".join(segs)


@pytest.mark.parametrize(("obx20", "site"), [
    ("left^left^L", "left"),  # as we send it
    ("^Left", "left"),  # text only, another case
    ("RIGHT", "right"),  # identifier only
    ("LF^Left finger^HL70163", "Left finger"),  # a body site we have no word for: as sent
    ("", ""),  # none: the device's main site
])
def test_a_gateways_obx_20_becomes_the_readings_site(obx20, site):
    msg = parse_pcd01(_with_obx20(obx20))
    (spo2,) = [r for r, _ in msg.readings if r.code == "SPO2"]
    assert spo2.value == 97 and spo2.site == site
    assert msg.problems == []


def test_a_site_too_long_to_record_is_refused_by_name():
    msg = parse_pcd01(_with_obx20("^" + "x" * 40))
    assert not [r for r, _ in msg.readings if r.code == "SPO2"]
    assert any("OBX 11" in p and "OBX-20" in p for p in msg.problems)


def test_the_site_named_by_the_mdc_code_wins():
    # MDC_TEMP_CORE names its site; an OBX-20 beside it does not change it
    segs = ge_style().split("\r")
    i = next(k for k, s in enumerate(segs) if "MDC_TEMP_CORE" in s)
    fields = segs[i].split("|") + [""] * 21
    fields[20] = "skin^skin^L"
    segs[i] = "|".join(fields[:21])
    (temp,) = [r for r, _ in parse_pcd01("\r".join(segs)).readings if r.code == "TEMP"]
    assert temp.site == "core"


def test_a_time_offset_of_a_day_or_more_is_no_time():
    # found by the mutation property test: "+9960" made datetime raise ValueError
    assert parse_time("20260105143000+9960") is None
    assert parse_time("20260105143000+0100") == datetime(2026, 1, 5, 13, 30, tzinfo=UTC)
