"""Label rendering, checked by an independent decoder (zxing-cpp) on rasterised output."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import replace
from xml.etree import ElementTree as ET

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from cartrack.identity.identifiers import (
    make_coi,
    make_din,
    make_unit_id,
    printed_coi,
    printed_unit,
)
from cartrack.labels.payload import KeyRing, decode, sign_unit, sign_wristband
from cartrack.labels.render import (
    LABEL_SIZES,
    LabelData,
    label_png,
    label_svg,
    label_zpl,
    labels_pdf,
    layout,
    qr_png,
    qr_svg,
)

RING = KeyRing.from_config("K7:render-test-secret-0123456789", "", "unused")
COI = make_coi("A9999", 2025, 7)
DIN = make_din("A9999", 2025, 314)
SIZES = sorted(LABEL_SIZES)
PDF_DPI = 300
SVG = "{http://www.w3.org/2000/svg}"
QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def unit_label(container: int = 1, name: str | None = "Jane Doe-Müller") -> LabelData:
    unit_id = make_unit_id(DIN, container)
    return LabelData(
        payload=sign_unit(RING, unit_id, COI),
        coi=COI,
        coi_check=printed_coi(COI).check,
        unit_id=unit_id,
        unit_check=printed_unit(unit_id).check,
        product="Yescarta (axi-cel)",
        kind="product",
        patient_name=name,
        date_of_birth="1970-01-31",
        collection_date="2025-03-01",
        expiry_date="2026-03-01",
    )


def wristband_label() -> LabelData:
    return LabelData(
        payload=sign_wristband(RING, "WB0000000042", COI),
        coi=COI,
        coi_check=printed_coi(COI).check,
        unit_id="WB0000000042",
        unit_check="",
        product="Yescarta (axi-cel)",
        kind="wristband",
        patient_name="Jane Doe-Müller",
        date_of_birth="1970-01-31",
    )


def read_qr(image: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(image, formats=QR_ONLY)
    return [barcode.text for barcode in found]


def assert_accepted(texts: list[str], label: LabelData) -> None:
    assert texts == [label.payload]
    decoded = decode(RING, texts[0])
    assert decoded.coi == label.coi
    assert decoded.ident == label.unit_id


def pdf_pages(pdf: bytes) -> list[Image.Image]:
    document = pdfium.PdfDocument(pdf)
    return [page.render(scale=PDF_DPI / 72).to_pil() for page in document]


# --- independent decoding ---------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("make", [unit_label, wristband_label])
def test_png_label_decodes(size: str, make: Callable[[], LabelData]) -> None:
    label = make()
    image = Image.open(io.BytesIO(label_png(label, size)))
    width, height = LABEL_SIZES[size]
    assert image.size == (round(width / 25.4 * 300), round(height / 25.4 * 300))
    assert_accepted(read_qr(image), label)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("make", [unit_label, wristband_label])
def test_pdf_label_decodes_at_300_dpi(size: str, make: Callable[[], LabelData]) -> None:
    label = make()
    (page,) = pdf_pages(labels_pdf([label], size))
    assert_accepted(read_qr(page), label)


@pytest.mark.parametrize("size", SIZES)
def test_longest_payload_decodes(size: str) -> None:
    """An 8-character key id and a 20-character wristband id need a larger QR version."""
    ring = KeyRing.from_config("ABCDEFGH:longest-payload-secret", "", "unused")
    wristband_id = "WB345678901234567890"
    label = replace(
        wristband_label(),
        payload=sign_wristband(ring, wristband_id, COI),
        unit_id=wristband_id,
    )
    assert read_qr(Image.open(io.BytesIO(label_png(label, size)))) == [label.payload]
    (page,) = pdf_pages(labels_pdf([label], size))
    assert read_qr(page) == [label.payload]
    assert decode(ring, label.payload).ident == wristband_id


@pytest.mark.parametrize("size", SIZES)
def test_pdf_page_is_the_label_stock(size: str) -> None:
    page = pdfium.PdfDocument(labels_pdf([unit_label()], size))[0]
    width, height = LABEL_SIZES[size]
    assert page.get_size() == pytest.approx((width / 25.4 * 72, height / 25.4 * 72), abs=0.01)


def test_pdf_sheet_has_one_page_per_label_and_each_decodes() -> None:
    labels = [unit_label(container) for container in (1, 2, 3)]
    pdf = labels_pdf(labels)
    assert len(pdfium.PdfDocument(pdf)) == 3
    for page, label in zip(pdf_pages(pdf), labels, strict=True):
        assert_accepted(read_qr(page), label)


def test_pdf_text_is_eye_readable() -> None:
    label = unit_label()
    page = pdfium.PdfDocument(labels_pdf([label]))[0]
    text = page.get_textpage().get_text_range()
    for expected in [
        f"COI {COI} {label.coi_check}",
        f"UNIT {label.unit_id} {label.unit_check}",
        "FOR AUTOLOGOUS USE ONLY",
        "Yescarta (axi-cel)",
        "Jane Doe-Müller",
        "DOB 1970-01-31",
        "Collected 2025-03-01",
        "Expires 2026-03-01",
    ]:
        assert expected in text


def test_smallest_label_qr_is_at_least_18_mm() -> None:
    label = unit_label()
    image = Image.open(io.BytesIO(label_png(label, "2x1in")))
    (barcode,) = zxingcpp.read_barcodes(image, formats=QR_ONLY)
    position = barcode.position
    side_px = position.top_right.x - position.top_left.x
    assert side_px / 300 * 25.4 >= 18
    lay = layout(label, "2x1in")
    symbol_mm = lay.qr_side * (len(lay.matrix) - 8) / len(lay.matrix)
    assert symbol_mm >= 18


def test_bare_qr_png_decodes() -> None:
    label = unit_label()
    assert_accepted(read_qr(Image.open(io.BytesIO(qr_png(label.payload)))), label)


def test_decoded_qr_holds_no_patient_data() -> None:
    label = unit_label(name="Jane Doe-Müller")
    (text,) = read_qr(Image.open(io.BytesIO(label_png(label, "2x1in"))))
    assert "Jane" not in text.title() and "DOE" not in text and "1970" not in text


# --- SVG --------------------------------------------------------------------------------


def test_qr_svg_is_well_formed() -> None:
    root = ET.fromstring(qr_svg(unit_label().payload))
    assert root.tag == f"{SVG}svg"


@pytest.mark.parametrize("size", SIZES)
def test_label_svg_is_well_formed_and_readable(size: str) -> None:
    label = unit_label()
    root = ET.fromstring(label_svg(label, size))
    assert root.tag == f"{SVG}svg"
    width, height = LABEL_SIZES[size]
    assert root.get("viewBox") == f"0 0 {width:g} {height:g}"
    texts = [node.text for node in root.iter(f"{SVG}text")]
    assert f"COI {COI}" in texts
    assert f"UNIT {label.unit_id}" in texts
    assert "FOR AUTOLOGOUS USE ONLY" in texts
    assert "Jane Doe-Müller" in texts
    assert label.coi_check in texts and label.unit_check in texts
    boxes = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "none"]
    assert len(boxes) == 2  # the two boxed check characters


def test_label_svg_escapes_markup_in_names() -> None:
    label = unit_label(name="<script>&amp; O'Brien")
    root = ET.fromstring(label_svg(label))
    assert "<script>&amp; O'Brien" in [node.text for node in root.iter(f"{SVG}text")]


def test_control_characters_never_reach_the_label() -> None:
    label = unit_label(name="Jane\x00 Doe\r\n\x1b[31m")
    root = ET.fromstring(label_svg(label))
    assert "Jane Doe [31m" in [node.text for node in root.iter(f"{SVG}text")]
    assert "\x1b" not in label_zpl(label)


def test_name_is_left_off_when_not_given() -> None:
    label = unit_label(name=None)
    assert b"Jane" not in label_svg(label)
    assert "Jane" not in label_zpl(label)


def test_wristband_label_text() -> None:
    texts = [n.text for n in ET.fromstring(label_svg(wristband_label())).iter(f"{SVG}text")]
    assert "WRISTBAND WB0000000042" in texts
    assert "Patient wristband" in texts


# --- layout -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("make", [unit_label, wristband_label])
def test_text_stays_on_the_label_and_off_the_qr(size: str, make: Callable[[], LabelData]) -> None:
    lay = layout(make(), size)
    qr_right, qr_bottom = lay.qr_x + lay.qr_side, lay.qr_y + lay.qr_side
    for line in lay.lines:
        assert line.x > 0 and line.x + line.max_width <= lay.width + 1e-9
        assert line.baseline + 0.3 * line.em <= lay.height
        assert line.x >= qr_right or line.baseline - line.em >= qr_bottom
        assert line.em >= 1.5  # mm: still readable on the smallest stock


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown label size"):
        label_png(unit_label(), "3x3in")


def test_empty_sheet_is_refused() -> None:
    with pytest.raises(ValueError):
        labels_pdf([])


# --- ZPL --------------------------------------------------------------------------------


def zpl_fields(zpl: str) -> list[str]:
    return re.findall(r"\^FD(.*?)\^FS", zpl)


@pytest.mark.parametrize("size", SIZES)
def test_zpl_label(size: str) -> None:
    label = unit_label()
    zpl = label_zpl(label, size)
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    qr = re.search(r"\^BQN,2,(\d+)\^FDMA,(.*?)\^FS", zpl)
    assert qr is not None
    assert 1 <= int(qr.group(1)) <= 10
    assert qr.group(2) == label.payload
    assert decode(RING, qr.group(2)).ident == label.unit_id
    fields = zpl_fields(zpl)
    assert f"COI {COI}" in fields
    assert f"UNIT {label.unit_id}" in fields
    assert "FOR AUTOLOGOUS USE ONLY" in fields
    assert label.coi_check in fields and label.unit_check in fields
    assert zpl.count("^GB") == 2  # boxed check characters
    width, height = LABEL_SIZES[size]
    assert f"^PW{round(width / 25.4 * 203)}" in zpl
    assert f"^LL{round(height / 25.4 * 203)}" in zpl


def test_zpl_escapes_caret_and_tilde_in_names() -> None:
    label = unit_label(name="Ann^XZ~JA_Smith Müller")
    zpl = label_zpl(label)
    assert zpl.count("^XZ") == 1
    assert "~" not in zpl
    assert "^FH^FDAnn_5EXZ_7EJA_5FSmith M_C3_BCller^FS" in zpl
    for line in zpl.splitlines():
        if "^FD" in line and "^BQ" not in line:
            assert "^FH^FD" in line  # every text field is hex-escaped


def test_zpl_magnification_follows_printer_resolution() -> None:
    low = re.search(r"\^BQN,2,(\d+)", label_zpl(unit_label(), "2x1in", dpi=203))
    high = re.search(r"\^BQN,2,(\d+)", label_zpl(unit_label(), "2x1in", dpi=300))
    assert low and high and int(high.group(1)) > int(low.group(1))
