"""The summary's fonts, embedded in every PDF (an archived chart must print the same anywhere).

Bitstream Vera Sans (the typeface DejaVu grew from), shipped inside the reportlab wheel, so the
project installs what it needs with its own dependencies and no system font is involved. It
covers every Windows-1252 character the summary may print (and ≥, ≤). Registered once per
process as a family, so ``<b>``/``<i>`` in paragraphs pick the right face.
"""

from __future__ import annotations

import threading
from pathlib import Path

import reportlab
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "NSSans"
FONT_BOLD = "NSSans-Bold"
FONT_ITALIC = "NSSans-Oblique"
FONT_BOLD_ITALIC = "NSSans-BoldOblique"

_FILES = {FONT: "Vera.ttf", FONT_BOLD: "VeraBd.ttf", FONT_ITALIC: "VeraIt.ttf",
          FONT_BOLD_ITALIC: "VeraBI.ttf"}
_lock = threading.Lock()
_done = False


def font_dir() -> Path:
    return Path(reportlab.__file__).resolve().parent / "fonts"


def register_fonts() -> None:
    """Register the embedded fonts (idempotent, thread-safe)."""
    global _done
    with _lock:
        if _done:
            return
        for name, file in _FILES.items():
            pdfmetrics.registerFont(TTFont(name, str(font_dir() / file)))
        addMapping(FONT, 0, 0, FONT)
        addMapping(FONT, 1, 0, FONT_BOLD)
        addMapping(FONT, 0, 1, FONT_ITALIC)
        addMapping(FONT, 1, 1, FONT_BOLD_ITALIC)
        _done = True
