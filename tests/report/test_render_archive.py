"""The summary as an archived document: fonts embedded, printed on the configured paper."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from nursestation.report.render import render_pdf_bytes
from nursestation.report.sample import sample_summary


def _fonts(reader: PdfReader) -> dict[str, bool]:
    """Base font name -> embedded? for every font the pages use."""
    out: dict[str, bool] = {}
    for page in reader.pages:
        res = page["/Resources"].get_object()
        fonts = res.get("/Font")
        if fonts is None:
            continue
        for ref in fonts.get_object().values():
            f = ref.get_object()
            desc = f.get("/FontDescriptor")
            if desc is None and "/DescendantFonts" in f:
                desc = f["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            out[str(f["/BaseFont"])] = any(k in desc for k in ("/FontFile", "/FontFile2",
                                                                  "/FontFile3"))
    return out


@pytest.fixture(scope="module")
def letter_and_a4():
    s = sample_summary()
    return (PdfReader(io.BytesIO(render_pdf_bytes(s))),
            PdfReader(io.BytesIO(render_pdf_bytes(s, paper="a4"))))


def test_every_font_is_embedded(letter_and_a4):
    for reader in letter_and_a4:
        fonts = _fonts(reader)
        assert fonts, "no fonts found"
        assert all(fonts.values()), f"fonts not embedded: {fonts}"
        assert not any("Helvetica" in name for name in fonts)


def test_paper_follows_the_config(letter_and_a4):
    letter, a4 = letter_and_a4
    for page in letter.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)
    for page in a4.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


def test_a4_keeps_every_page_header_and_the_same_content(letter_and_a4):
    letter, a4 = letter_and_a4
    n = len(a4.pages)
    assert 1 <= n <= 3
    for i, page in enumerate(a4.pages, 1):
        text = page.extract_text()
        assert "Elena Alvarez" in text and f"Page {i} of {n}" in text
    words = lambda r: " ".join(" ".join(p.extract_text() for p in r.pages).split())  # noqa: E731
    assert "Electronic signatures" in words(a4) and "Electronic signatures" in words(letter)
