"""The fonts labels and reports are drawn with, and text measured in them.

DejaVu Sans Mono (wide Unicode coverage, a slashed zero that keeps 0 and O apart in
identifiers) when installed, else the Vera fonts that ship inside reportlab. Every backend
(PNG, SVG, PDF, ZPL) wraps text where the PDF font would, so all formats break lines alike.
"""

from __future__ import annotations

import functools
from pathlib import Path

import reportlab
from PIL import ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

PDF_FONT_NAMES = ("CartrackText", "CartrackText-Bold")


@functools.cache
def font_files() -> tuple[str, str]:
    """(regular, bold) TrueType files."""
    try:
        regular = ImageFont.truetype("DejaVuSansMono.ttf", 10).path
        bold = ImageFont.truetype("DejaVuSansMono-Bold.ttf", 10).path
        return str(regular), str(bold)
    except OSError:
        fonts = Path(reportlab.__file__).parent / "fonts"
        return str(fonts / "Vera.ttf"), str(fonts / "VeraBd.ttf")


@functools.lru_cache(maxsize=256)
def pil_font(bold: bool, size_px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_files()[bold], size_px)


@functools.cache
def pdf_fonts() -> tuple[str, str]:
    """The (regular, bold) font names registered with reportlab, registering them once."""
    for name, path in zip(PDF_FONT_NAMES, font_files(), strict=True):
        pdfmetrics.registerFont(TTFont(name, path))
    return PDF_FONT_NAMES


@functools.lru_cache(maxsize=8192)
def _width_per_em(text: str, bold: bool) -> float:
    return float(pdfmetrics.stringWidth(text, pdf_fonts()[bold], 1.0))


def text_width(text: str, em: float, bold: bool) -> float:
    """Advance width of ``text`` at font size ``em`` (any unit: the result is in the same)."""
    return _width_per_em(text, bold) * em
