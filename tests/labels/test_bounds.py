"""Nothing falls off a label: every label kind at every stock size, filled with the longest
values the schemas allow, read back from the rendered PDF by PDFium (text boxes, font sizes)
and zxing-cpp (the QR code): all text inside the page, no text on the QR code or its quiet
zone, no line over another, no text smaller than the layout's minimum, the QR decodes. The ZPL
of the same kind and size carries the same text and the same QR payload as the PDF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import zxingcpp
from PIL import Image

from cartrack.labels.layout import LABEL_SIZES, MIN_EM, as_label_kind
from cartrack.labels.render import labels_pdf
from cartrack.labels.templates import (
    KINDS,
    SHIPPED,
    LabelValues,
    compose,
    sample_values,
    specimen_values,
)
from cartrack.labels.zpl import label_zpl, zpl_unescape

DPI = 300
PT_PER_MM = 72 / 25.4
QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
QUIET_ZONE = 4
CASES = [(kind, size) for kind in KINDS for size in LABEL_SIZES]

Box = tuple[float, float, float, float]  # left, bottom, right, top (PDF points)


@dataclass
class Page:
    width: float
    height: float
    chars: list[Box]
    font_sizes: list[float]
    lines: list[Box]
    text: str
    image: Image.Image


@contextmanager
def pages_of(pdf: bytes) -> Iterator[list[Page]]:
    document = pdfium.PdfDocument(pdf)
    try:
        out = []
        for page in document:
            text = page.get_textpage()
            count = text.count_chars()
            chars = [text.get_charbox(i) for i in range(count)
                     if not text.get_text_range(i, 1).isspace()]
            sizes = [pdfium_c.FPDFText_GetFontSize(text.raw, i) for i in range(count)
                     if not text.get_text_range(i, 1).isspace()]
            lines = [text.get_rect(i) for i in range(text.count_rects())]
            width, height = page.get_size()
            out.append(Page(width, height, chars, sizes, lines, text.get_text_range(),
                            page.render(scale=DPI / 72).to_pil()))
            text.close()
            page.close()
        yield out
    finally:
        document.close()


def qr_zone(page: Page) -> Box | None:
    """The QR symbol and its quiet zone as zxing-cpp finds them, in PDF points."""
    found = zxingcpp.read_barcodes(page.image, formats=QR_ONLY)
    if not found:
        return None
    (barcode,) = found
    corners = [barcode.position.top_left, barcode.position.top_right,
               barcode.position.bottom_left, barcode.position.bottom_right]
    xs, ys = [p.x for p in corners], [p.y for p in corners]
    modules = 17 + 4 * int(barcode.extra["Version"])
    quiet = (max(xs) - min(xs)) / modules * QUIET_ZONE
    scale = 72 / DPI
    return ((min(xs) - quiet) * scale, page.height - (max(ys) + quiet) * scale,
            (max(xs) + quiet) * scale, page.height - (min(ys) - quiet) * scale)


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def check_page(page: Page, payload: str | None, where: str) -> None:
    assert page.chars, f"{where}: no text"
    for box in page.chars:
        left, bottom, right, top = box
        assert left >= 0 and right <= page.width and bottom >= 0 and top <= page.height, \
            f"{where}: a character at {box} lies off the {page.width}x{page.height} pt label"
    assert min(page.font_sizes) >= MIN_EM * PT_PER_MM - 0.01, f"{where}: text below {MIN_EM} mm"
    for i, a in enumerate(page.lines):
        for b in page.lines[i + 1:]:
            assert not overlaps(a, b), f"{where}: text lines overlap at {a} and {b}"
    zone = qr_zone(page)
    if payload is None:
        assert zone is None, f"{where}: a tag carries no QR code"
        return
    assert zone is not None, f"{where}: the QR code does not decode"
    assert zxingcpp.read_barcodes(page.image, formats=QR_ONLY)[0].text == payload
    for box in page.chars:
        assert not overlaps(box, zone), f"{where}: text at {box} on the QR code or its quiet zone"


def render_pdf(values: LabelValues, size: str) -> tuple[bytes, list[str | None]]:
    faces = compose(SHIPPED[values.kind], values, size)
    return labels_pdf(faces, size), [f.payload for f in faces]


@pytest.mark.parametrize(("kind", "size"), CASES)
def test_longest_values_stay_on_the_label_and_off_the_qr(kind: str, size: str) -> None:
    values = specimen_values(as_label_kind(kind))
    pdf, payloads = render_pdf(values, size)
    with pages_of(pdf) as pages:
        assert len(pages) >= len(payloads)
        first = pages[0]
        check_page(first, values.payload, f"{kind} {size} label")
        for n, page in enumerate(pages[1:], start=2):
            check_page(page, None, f"{kind} {size} tag page {n}")
        text = " ".join(" ".join(p.text.split()) for p in pages)
    # Nothing was dropped: storage, transport and warnings are never cut, whatever their length.
    warnings = values.fields.get("warnings") or ()
    kept = {"product": [values.text("storage"), *warnings], "apheresis": [values.text("transport")],
            "wristband": []}[kind]
    for item in kept:
        assert isinstance(item, str) and item in text, f"{item!r} was cut on {kind} {size}"


@pytest.mark.parametrize(("kind", "size"), CASES)
def test_ordinary_values_fit_too(kind: str, size: str) -> None:
    values = sample_values(as_label_kind(kind))
    pdf, _ = render_pdf(values, size)
    with pages_of(pdf) as pages:
        check_page(pages[0], values.payload, f"{kind} {size} label")
        for n, page in enumerate(pages[1:], start=2):
            check_page(page, None, f"{kind} {size} tag page {n}")
        text = " ".join(" ".join(p.text.split()) for p in pages)
    for name, value in values.fields.items():
        if name in ("template",) or not value or name not in _shown(kind):
            continue
        expected = value if isinstance(value, tuple) else (value,)
        for item in expected:
            assert item in text, f"{kind} {size}: {name} {item!r} not printed"


def _shown(kind: str) -> set[str]:
    return {rule.field for rule in SHIPPED[kind].lines}


def zpl_blocks(zpl: str) -> list[tuple[str | None, str]]:
    """(QR payload, the text it prints) of each ^XA…^XZ block."""
    out = []
    for block in re.findall(r"\^XA.*?\^XZ", zpl, flags=re.S):
        qr = re.search(r"\^BQN,2,\d+\^FDMA,(.*?)\^FS", block)
        texts = [zpl_unescape(t) for t in re.findall(r"\^FH\^FD(.*?)\^FS", block)]
        out.append((qr.group(1) if qr else None, " ".join(" ".join(texts).split())))
    return out


@pytest.mark.parametrize(("kind", "size"), CASES)
@pytest.mark.parametrize("longest", [False, True], ids=["ordinary", "longest"])
def test_zpl_carries_what_the_pdf_carries(kind: str, size: str, longest: bool) -> None:
    values = (specimen_values if longest else sample_values)(as_label_kind(kind))
    faces = compose(SHIPPED[kind], values, size)
    zpl = zpl_blocks("".join(label_zpl(face, size) for face in faces))
    with pages_of(labels_pdf(faces, size)) as pages:
        pdf = [(qr_zone(p) is not None, " ".join(p.text.split()), p.image) for p in pages]
    assert len(zpl) == len(pdf), "one ZPL label per PDF page"
    for (payload, zpl_text), (has_qr, pdf_text, image) in zip(zpl, pdf, strict=True):
        assert zpl_text == pdf_text
        assert (payload is not None) == has_qr
        if payload is not None:
            assert zxingcpp.read_barcodes(image, formats=QR_ONLY)[0].text == payload
