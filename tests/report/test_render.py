"""The printed summary, read back as a reader would: the text of the PDF (pypdf)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from nursestation.report.model import VisitSummary
from nursestation.report.render import render_pdf, render_pdf_bytes
from nursestation.report.sample import sample_summary

NY = ZoneInfo("America/New_York")
PRINTED = datetime(2026, 3, 10, 21, 30, tzinfo=UTC)


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def normal() -> tuple[VisitSummary, int, str, list[str]]:
    s = sample_summary()
    data = render_pdf_bytes(s, tz=NY, printed_at=PRINTED)
    reader = PdfReader(io.BytesIO(data))
    pages = [re.sub(r"\s+", " ", p.extract_text()) for p in reader.pages]
    return s, len(pages), "\n".join(pages), pages


def test_normal_visit_is_one_to_three_pages(normal):
    _, n, _, _ = normal
    assert 1 <= n <= 3


def test_every_page_names_the_clinic_patient_mrn_dob_and_page_of_total(normal):
    _, n, _, pages = normal
    for i, page in enumerate(pages, 1):
        assert "Riverside Ketamine Clinic" in page
        assert "Elena Alvarez" in page
        assert "MRN RKC-004417" in page
        assert "DOB 1984-05-02" in page
        assert f"Page {i} of {n}" in page
        assert "Printed 2026-03-10 17:30 EDT" in page


def test_visit_header_facts(normal):
    _, _, text, _ = normal
    assert "Visit date" in text and "2026-03-10" in text
    assert "infusion 3 of 6" in text
    assert "Chair 4" in text
    assert "Dana Whitfield, RN" in text and "Samuel Okafor, RN" in text
    assert "penicillin (rash)" in text
    assert "72.0 kg" in text


def test_times_are_local(normal):
    _, _, text, _ = normal
    # check-in 18:00 UTC is 14:00 in New York (EDT) on 2026-03-10
    assert re.search(r"Check-in\s*14:00", text)
    assert "EDT (UTC-04:00)" in text


def test_screening_protocol_and_dose(normal):
    s, _, text, _ = normal
    assert "Screening at check-in - passed" in text
    assert "Fasted >= 6 h solids" in text
    assert "Ketamine IV 0.5 mg/kg over 40 min (version 2026.1)" in text
    assert "0.5 mg/kg = 36.0 mg over 40 min" in text
    delivered = f"{s.dose.delivered_mg:.1f} mg ({s.dose.delivered_mg_per_kg:.2f} mg/kg)"
    assert delivered in text
    assert f"{s.dose.pump_volume_ml:.1f} mL" in text


def test_timepoints_and_chart_axis(normal):
    _, _, text, _ = normal
    for label in ("Baseline", "40 min", "Infusion end", "Discharge"):
        assert label in text
    # chart: panel names, lanes and the legend are real text too
    for word in ("HR / NBP", "SpO2", "RR", "Dose", "Meds", "Assess.", "Alarms",
                 "ketamine infusing", "SpO2 (lowest per 30s)"):
        assert word in text


def test_dose_timeline(normal):
    _, _, text, _ = normal
    for word in ("Start", "Rate change", "Pause", "Resume", "Stop", "dissociation distressing",
                 "150 mL/h", "0.50 mg/kg/h"):
        assert word in text


def test_each_medication_with_route_response_and_late_entry(normal):
    _, _, text, _ = normal
    assert "ondansetron 4 mg IV" in text
    assert "acetaminophen 500 mg PO" in text
    assert "nausea mild at 15 min" in text
    assert "LATE ENTRY" in text


def test_amended_entry_shows_original_and_reason(normal):
    _, _, text, _ = normal
    assert "AMENDED" in text
    assert "Original entry: ondansetron 4 mg ODT" in text
    assert "route charted wrongly" in text


def test_each_assessment(normal):
    s, _, text, _ = normal
    for scale in ("CADSS-6", "MOAA/S", "Nausea", "Aldrete"):
        assert scale in text
    assert "distressed by the 'floating' feeling" in text or "distressed by the" in text
    assert "Slow motion 3" in text  # CADSS-6 items are printed
    assert len(s.assessments) == 12


def test_alarms_discharge_ride_signatures(normal):
    _, _, text, _ = normal
    assert "1 high, 1 medium, 2 low" in text
    assert "SpO2 < 90 % for 15 s" in text
    assert "by Dana Whitfield, RN" in text
    assert "DISCHARGED" in text and "all criteria met" in text
    assert "Driver: Maria Alvarez (spouse), phone (555) 014-2211" in text
    assert "Confirmed 16:50 by Dana Whitfield, RN (arrival)" in text
    # 21 CFR 11.50: printed name, date and time, meaning
    assert "Meaning of signature" in text
    assert "2026-03-10 16:57 EDT" in text
    assert "discharge decision" in text


def test_discharge_with_override_shows_unmet_criterion_and_reason():
    s = sample_summary(override=True)
    n, text = pdf_text(render_pdf_bytes(s, tz=NY, printed_at=PRINTED))
    assert 1 <= n <= 3
    assert "gate overridden" in text
    assert "NOT MET" in text
    assert "Override by Priya Raman, RN (charge)" in text
    assert "usual pressure on her home log" in text
    assert "override of the discharge gate" in text


def test_render_to_path_and_pdf_metadata(tmp_path):
    out = tmp_path / "summary.pdf"
    render_pdf(sample_summary(duration_s=2 * 3600), out, tz=NY, printed_at=PRINTED)
    reader = PdfReader(out)
    assert reader.metadata.title == "Session summary - Elena Alvarez - 2026-03-10"
    assert 1 <= len(reader.pages) <= 3


def test_characters_outside_the_base_fonts_are_spelt_out():
    from dataclasses import replace

    s = sample_summary()
    s = replace(s, notes=(*s.notes, replace(s.notes[0], text="SpO2 ≥ 94 % → discharge")))
    _, text = pdf_text(render_pdf_bytes(s, tz=NY, printed_at=PRINTED))
    assert "SpO2 >= 94 % -> discharge" in text


def test_an_empty_visit_still_renders():
    from dataclasses import replace

    s = sample_summary()
    s = replace(s, vitals=(), timepoints=(), dose_timeline=(), mar=(), assessments=(), notes=(),
                discharge=None, ride=None, signatures=(), screening=None, discharge_at=None,
                phase="infusing")
    n, text = pdf_text(render_pdf_bytes(s, tz=NY, printed_at=PRINTED))
    assert 1 <= n <= 2
    assert "No medications given during the visit." in text
    assert "No ride charted." in text
    assert "No discharge decision charted." in text
