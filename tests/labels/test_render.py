"""Label rendering, checked by an independent decoder (zxing-cpp) on rasterised output, and
the template rules that decide what a label says."""

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

from cartrack.identity.identifiers import make_coi, make_din, make_unit_id, printed_coi, printed_unit
from cartrack.labels.layout import LABEL_SIZES, Face, LabelOverflow, Line, as_label_kind, layout, layout_face
from cartrack.labels.payload import KeyRing, decode, sign_unit, sign_wristband
from cartrack.labels.qr import qr_png, qr_svg
from cartrack.labels.render import label_png, label_svg, labels_pdf
from cartrack.labels.templates import (
    SHIPPED,
    LabelValues,
    LineRule,
    TemplateSpec,
    check_spec,
    compose,
    overflowing_sizes,
    sample_values,
)
from cartrack.labels.zpl import label_zpl, zpl_unescape

RING = KeyRing.from_config("K7:render-test-secret-0123456789", "", "unused")
COI = make_coi("A9999", 2025, 7)
DIN = make_din("A9999", 2025, 314)
SIZES = sorted(LABEL_SIZES)
PDF_DPI = 300
SVG = "{http://www.w3.org/2000/svg}"
QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def bag_values(container: int = 1, name: str | None = "Jane Doe-Müller",
               kind: str = "product") -> LabelValues:
    unit_id = make_unit_id(DIN, container)
    fields = dict(sample_values(as_label_kind(kind)).fields,
                  product="Yescarta (axicabtagene ciloleucel)", patient_name=name,
                  date_of_birth="1970-01-31", expires="2026-03-01 09:00 EST")
    return LabelValues(as_label_kind(kind), sign_unit(RING, unit_id, COI), COI, unit_id, fields)


def band_values() -> LabelValues:
    fields = dict(sample_values("wristband").fields, patient_name="Jane Doe-Müller",
                  date_of_birth="1970-01-31", product="Yescarta (axicabtagene ciloleucel)")
    return LabelValues("wristband", sign_wristband(RING, "WB0000000042", COI), COI,
                       "WB0000000042", fields)


def label_face(values: LabelValues, size: str = "4x4in") -> Face:
    return compose(SHIPPED[values.kind], values, size)[0]


def read_qr(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image, formats=QR_ONLY)]


def assert_accepted(texts: list[str], values: LabelValues) -> None:
    assert texts == [values.payload]
    decoded = decode(RING, texts[0])
    assert decoded.coi == values.coi
    assert decoded.ident == values.ident


def pdf_pages(pdf: bytes) -> list[Image.Image]:
    document = pdfium.PdfDocument(pdf)
    return [page.render(scale=PDF_DPI / 72).to_pil() for page in document]


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.get_textpage().get_text_range().split())
                    for page in pdfium.PdfDocument(pdf))


# --- independent decoding ---------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("make", [bag_values, band_values])
def test_png_label_decodes(size: str, make: Callable[[], LabelValues]) -> None:
    values = make()
    image = Image.open(io.BytesIO(label_png(label_face(values, size), size)))
    width, height = LABEL_SIZES[size]
    assert image.size == (round(width / 25.4 * 300), round(height / 25.4 * 300))
    assert_accepted(read_qr(image), values)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("make", [bag_values, band_values])
def test_pdf_label_decodes_at_300_dpi(size: str, make: Callable[[], LabelValues]) -> None:
    values = make()
    faces = compose(SHIPPED[values.kind], values, size)
    pages = pdf_pages(labels_pdf(faces, size))
    assert_accepted(read_qr(pages[0]), values)
    assert all(read_qr(tag) == [] for tag in pages[1:]), "a tag carries no QR code"


@pytest.mark.parametrize("size", SIZES)
def test_longest_payload_decodes(size: str) -> None:
    """An 8-character key id and a 20-character wristband id need a larger QR version."""
    ring = KeyRing.from_config("ABCDEFGH:longest-payload-secret", "", "unused")
    wristband_id = "WB345678901234567890"
    values = replace(band_values(), payload=sign_wristband(ring, wristband_id, COI),
                     ident=wristband_id)
    face = label_face(values, size)
    assert read_qr(Image.open(io.BytesIO(label_png(face, size)))) == [values.payload]
    (page,) = pdf_pages(labels_pdf([face], size))
    assert read_qr(page) == [values.payload]
    assert decode(ring, values.payload).ident == wristband_id


@pytest.mark.parametrize("size", SIZES)
def test_pdf_page_is_the_label_stock(size: str) -> None:
    page = pdfium.PdfDocument(labels_pdf([label_face(bag_values(), size)], size))[0]
    width, height = LABEL_SIZES[size]
    assert page.get_size() == pytest.approx((width / 25.4 * 72, height / 25.4 * 72), abs=0.01)


def test_pdf_sheet_has_one_page_per_label_and_each_decodes() -> None:
    labels = [bag_values(container) for container in (1, 2, 3)]
    pdf = labels_pdf([label_face(v) for v in labels])
    assert len(pdfium.PdfDocument(pdf)) == 3
    for page, values in zip(pdf_pages(pdf), labels, strict=True):
        assert_accepted(read_qr(page), values)


def test_pdf_text_is_eye_readable() -> None:
    values = bag_values()
    text = pdf_text(labels_pdf([label_face(values)]))
    for expected in [
        f"COI {COI} {printed_coi(COI).check}",
        f"UNIT {values.ident} {printed_unit(values.ident).check}",
        "FOR AUTOLOGOUS USE ONLY", "Rx only", "Yescarta (axicabtagene ciloleucel)",
        "Jane Doe-Müller", "DOB 1970-01-31",
        "EXP 2026-03-01 09:00 EST",
        "Store in vapour phase of liquid nitrogen at or below -150 °C",
        "! Do NOT use a leukodepleting filter", "! Do not irradiate",
        "Label template product v1",
    ]:
        assert expected in text


def test_smallest_label_qr_is_at_least_18_mm() -> None:
    face = label_face(bag_values(), "2x1in")
    image = Image.open(io.BytesIO(label_png(face, "2x1in")))
    (barcode,) = zxingcpp.read_barcodes(image, formats=QR_ONLY)
    position = barcode.position
    side_px = position.top_right.x - position.top_left.x
    assert side_px / 300 * 25.4 >= 18
    lay = layout(face, "2x1in")
    symbol_mm = lay.qr_side * (len(lay.matrix) - 8) / len(lay.matrix)
    assert symbol_mm >= 18


def test_bare_qr_png_decodes() -> None:
    values = bag_values()
    assert_accepted(read_qr(Image.open(io.BytesIO(qr_png(values.payload)))), values)


def test_decoded_qr_holds_no_patient_data() -> None:
    face = label_face(bag_values(name="Jane Doe-Müller"), "2x1in")
    (text,) = read_qr(Image.open(io.BytesIO(label_png(face, "2x1in"))))
    assert "Jane" not in text.title() and "DOE" not in text and "1970" not in text


# --- SVG --------------------------------------------------------------------------------


def svg_texts(face: Face, size: str = "4x4in") -> list[str | None]:
    return [node.text for node in ET.fromstring(label_svg(face, size)).iter(f"{SVG}text")]


def test_qr_svg_is_well_formed() -> None:
    root = ET.fromstring(qr_svg(bag_values().payload))
    assert root.tag == f"{SVG}svg"


@pytest.mark.parametrize("size", SIZES)
def test_label_svg_is_well_formed_and_readable(size: str) -> None:
    values = bag_values(kind="apheresis")
    root = ET.fromstring(label_svg(label_face(values, size), size))
    assert root.tag == f"{SVG}svg"
    width, height = LABEL_SIZES[size]
    assert root.get("viewBox") == f"0 0 {width:g} {height:g}"
    texts = [node.text for node in root.iter(f"{SVG}text")]
    assert f"COI {COI}" in texts and f"UNIT {values.ident}" in texts
    assert "FOR AUTOLOGOUS USE ONLY" in texts and "Not for direct infusion" in texts
    assert printed_coi(COI).check in texts and printed_unit(values.ident).check in texts
    boxes = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "none"]
    assert len(boxes) == 2  # the two boxed check characters


def test_label_svg_escapes_markup_in_names() -> None:
    texts = svg_texts(label_face(bag_values(name="<script>&amp; O'Brien")))
    assert "<script>&amp; O'Brien" in texts


def test_control_characters_never_reach_the_label() -> None:
    values = bag_values(name="Jane\x00 Doe\r\n\x1b[31m")
    assert "Jane Doe [31m" in svg_texts(label_face(values))
    assert "\x1b" not in label_zpl(label_face(values))


def test_name_is_left_off_when_not_given() -> None:
    face = label_face(bag_values(name=None))
    assert b"Jane" not in label_svg(face)
    assert "Jane" not in label_zpl(face)


def test_wristband_label_text() -> None:
    texts = svg_texts(label_face(band_values()))
    assert "WRISTBAND WB0000000042" in texts and "Patient wristband" in texts
    assert "FOR AUTOLOGOUS USE ONLY" not in texts  # worn by the patient, not on a bag


# --- layout -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("make", [bag_values, band_values])
def test_text_stays_on_the_label_and_off_the_qr(size: str, make: Callable[[], LabelValues]) -> None:
    lay = layout(label_face(make(), size), size)
    qr_right, qr_bottom = lay.qr_x + lay.qr_side, lay.qr_y + lay.qr_side
    for line in lay.lines:
        assert line.x > 0 and line.x + line.max_width <= lay.width + 1e-9
        assert line.baseline + 0.3 * line.em <= lay.height
        assert line.x >= qr_right or line.baseline - line.em >= qr_bottom
        assert line.em >= 1.5  # mm: still readable on the smallest stock


def test_a_long_name_wraps_and_is_cut_only_as_a_last_resort() -> None:
    short = layout(label_face(bag_values(name="Ann Lee")), "4x4in")
    long_name = "Maximiliana " * 15
    cut = layout(label_face(bag_values(name=long_name), "2x1in"), "2x1in")
    assert [line.text for line in short.lines if "Ann Lee" in line.text]
    names = [line.text for line in cut.lines if "Maximiliana" in line.text]
    assert len(names) == 2 and names[-1].endswith("…"), "at most 2 lines, then an ellipsis"


def test_content_that_cannot_fit_is_refused_not_drawn_off_the_label() -> None:
    face = Face("CT1.K7.U.X", tuple(Line(f"line {i} " * 8) for i in range(60)))
    with pytest.raises(LabelOverflow):
        layout_face(face, "2x1in")


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown label size"):
        label_png(label_face(bag_values()), "3x3in")


def test_empty_sheet_is_refused() -> None:
    with pytest.raises(ValueError):
        labels_pdf([])


# --- the 2x1in reduced set and its tag --------------------------------------------------


def test_on_the_smallest_stock_a_bag_label_has_a_tag_with_the_rest() -> None:
    values = bag_values()
    label, tag = compose(SHIPPED["product"], values, "2x1in")
    label_text = " ".join(line.text for line in label.lines)
    tag_text = " ".join(line.text for line in tag.lines)
    for kept in ("FOR AUTOLOGOUS USE ONLY", "COI", "UNIT", "EXP 2026-03-01 09:00 EST",
                 "Jane Doe-Müller", "See attached tag", "Label template product v1"):
        assert kept in label_text
    for moved in ("Store in vapour phase", "Do NOT use a leukodepleting filter", "Rx only",
                  "Made at", "Volume 68 mL", "Label template product v1"):
        assert moved in tag_text and (moved not in label_text or moved.startswith("Label"))
    assert tag.payload is None
    assert tag.heading[0].text.startswith("TAG {page}/{pages} of UNIT " + values.ident)
    (whole,) = compose(SHIPPED["product"], values, "4x4in")
    assert "See attached tag" not in " ".join(line.text for line in whole.lines)


# --- template rules ---------------------------------------------------------------------


def test_shipped_templates_are_complete_and_fit_every_size() -> None:
    for kind, spec in SHIPPED.items():
        assert check_spec(kind, spec) == [], kind
        assert overflowing_sizes(spec, as_label_kind(kind)) == [], kind


def test_a_template_missing_required_content_is_named() -> None:
    rules = [r for r in SHIPPED["product"].lines
             if r.field not in ("expires", "warnings") and r.text != "FOR AUTOLOGOUS USE ONLY"]
    problems = check_spec("product", TemplateSpec(lines=rules, tag_sizes=["2x1in"]))
    assert any("expires" in p for p in problems)
    assert any("warnings" in p for p in problems)
    assert any("FOR AUTOLOGOUS USE ONLY" in p for p in problems)
    moved = [r.model_copy(update={"on_tag": True}) if r.field == "coi" else r
             for r in SHIPPED["product"].lines]
    assert any("coi" in p for p in check_spec("product", TemplateSpec(lines=moved)))
    odd = [*SHIPPED["wristband"].lines, LineRule(field="expires")]
    assert any("expires" in p for p in check_spec("wristband", TemplateSpec(lines=odd)))


def test_only_names_may_be_cut_short() -> None:
    assert any("never cut short" in p for p in LineRule(field="warnings", max_lines=1).problems())
    assert any("needs its text" in p for p in LineRule(field="statement").problems())
    assert LineRule(field="patient_name", max_lines=1).problems() == []
    cut = [r.model_copy(update={"max_lines": 1}) if r.field == "warnings" else r
           for r in SHIPPED["product"].lines]
    assert any("never cut short" in p for p in check_spec("product", TemplateSpec(lines=cut)))


def test_a_template_without_a_tag_overflows_the_smallest_stock() -> None:
    spec = TemplateSpec(lines=[r.model_copy(update={"on_tag": False})
                               for r in SHIPPED["product"].lines])
    assert "2x1in" in overflowing_sizes(spec, "product")


# --- ZPL --------------------------------------------------------------------------------


def zpl_fields(zpl: str) -> list[str]:
    return [zpl_unescape(f) for f in re.findall(r"\^FH\^FD(.*?)\^FS", zpl)]


@pytest.mark.parametrize("size", SIZES)
def test_zpl_label(size: str) -> None:
    values = bag_values()
    zpl = label_zpl(label_face(values, size), size)
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    qr = re.search(r"\^BQN,2,(\d+)\^FDMA,(.*?)\^FS", zpl)
    assert qr is not None
    assert 1 <= int(qr.group(1)) <= 10
    assert qr.group(2) == values.payload
    assert decode(RING, qr.group(2)).ident == values.ident
    fields = zpl_fields(zpl)
    assert f"COI {COI}" in fields and f"UNIT {values.ident}" in fields
    assert "FOR AUTOLOGOUS USE ONLY" in fields
    assert printed_coi(COI).check in fields and printed_unit(values.ident).check in fields
    assert zpl.count("^GB") == 2  # boxed check characters
    width, height = LABEL_SIZES[size]
    assert f"^PW{round(width / 25.4 * 203)}" in zpl
    assert f"^LL{round(height / 25.4 * 203)}" in zpl


def test_zpl_escapes_caret_and_tilde_in_names() -> None:
    zpl = label_zpl(label_face(bag_values(name="Ann^XZ~JA_Smith Müller")))
    assert zpl.count("^XZ") == 1
    assert "~" not in zpl
    assert "^FH^FDAnn_5EXZ_7EJA_5FSmith M_C3_BCller^FS" in zpl
    for line in zpl.splitlines():
        if "^FD" in line and "^BQ" not in line:
            assert "^FH^FD" in line  # every text field is hex-escaped


def test_zpl_magnification_follows_printer_resolution() -> None:
    face = label_face(bag_values(), "2x1in")
    low = re.search(r"\^BQN,2,(\d+)", label_zpl(face, "2x1in", dpi=203))
    high = re.search(r"\^BQN,2,(\d+)", label_zpl(face, "2x1in", dpi=300))
    assert low and high and int(high.group(1)) > int(low.group(1))
