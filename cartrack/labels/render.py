"""Label rendering: QR codes (PNG, SVG), labels (PNG, SVG), PDF sheets and ZPL II.

Every format draws the same layout, computed once in millimetres: the QR code (error
correction M, quiet zone of 4 modules) and the eye-readable text, with the check
character K of the COI and of the unit id drawn in a box.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple
from xml.etree import ElementTree as ET

import qrcode
import qrcode.constants
import reportlab
from PIL import Image, ImageDraw, ImageFont
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

LabelKind = Literal["apheresis", "product", "wristband"]


class LabelSize(NamedTuple):
    width_mm: float
    height_mm: float


LABEL_SIZES: dict[str, LabelSize] = {
    "4x4in": LabelSize(101.6, 101.6),
    "4x2in": LabelSize(101.6, 50.8),
    "2x1in": LabelSize(50.8, 25.4),
}
DEFAULT_SIZE = "4x4in"
QUIET_ZONE = 4  # modules
MM_PER_INCH = 25.4
MARGIN = 1.0  # mm; the QR's own quiet zone adds white around the symbol
GAP = 0.5  # mm between the QR's quiet zone and the text
CHAR_WIDTH = 0.6  # advance of a monospaced glyph, in em
LINE_PITCH = 1.25  # em
MAX_EM = 5.0  # mm, about 14 pt
FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, Courier New, monospace"
SVG_NS = "http://www.w3.org/2000/svg"

_CAPTIONS: dict[str, str] = {
    "apheresis": "Apheresis collection",
    "product": "CAR-T cell product",
    "wristband": "Patient wristband",
}
_ZPL_SAFE = re.compile(r"[A-Za-z0-9 .,:;()/'+*=!?-]")
_QR_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+./:-]+")


@dataclass(frozen=True)
class LabelData:
    """What a label shows. ``unit_id`` holds the wristband id on a wristband."""

    payload: str
    coi: str
    coi_check: str
    unit_id: str
    unit_check: str
    product: str
    kind: LabelKind
    patient_name: str | None = None
    date_of_birth: str | None = None
    collection_date: str | None = None
    expiry_date: str | None = None


@dataclass(frozen=True)
class TextLine:
    """One line of text; positions in mm from the label's top-left corner."""

    x: float
    baseline: float
    em: float
    max_width: float
    text: str
    check: str  # drawn boxed after the text; "" for none
    bold: bool


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    qr_x: float
    qr_y: float
    qr_side: float  # including the quiet zone
    matrix: list[list[bool]]  # including the quiet zone
    lines: list[TextLine]


@dataclass(frozen=True)
class _Placed:
    """A line as a backend draws it, after shrinking to fit its measured width."""

    em: float
    box: tuple[float, float, float, float] | None  # x, top, width, height (mm)
    check_x: float
    stroke: float


Measure = Callable[[str, float, bool], float]  # (text, em mm, bold) -> width mm


# --- QR ---------------------------------------------------------------------------------


def _qr(payload: str, box_size: int = 10) -> qrcode.QRCode[PilImage]:
    qr: qrcode.QRCode[PilImage] = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=QUIET_ZONE,
        box_size=box_size,
    )
    qr.add_data(payload)
    qr.make(fit=True)
    return qr


def qr_matrix(payload: str) -> list[list[bool]]:
    """Dark (True) and light modules, quiet zone included."""
    return [list(row) for row in _qr(payload).get_matrix()]


def qr_png(payload: str, box_size: int = 10) -> bytes:
    buf = io.BytesIO()
    _qr(payload, box_size).make_image(image_factory=PilImage).save(buf)
    return buf.getvalue()


def qr_svg(payload: str) -> bytes:
    buf = io.BytesIO()
    _qr(payload).make_image(image_factory=SvgPathImage).save(buf)
    return buf.getvalue()


# --- layout -----------------------------------------------------------------------------


def _size(size: str) -> LabelSize:
    try:
        return LABEL_SIZES[size]
    except KeyError:
        raise ValueError(f"unknown label size {size!r}; use one of {sorted(LABEL_SIZES)}") from None


def _clean(text: str) -> str:
    """One printable line: whitespace runs become one space, control characters go."""
    return "".join(ch for ch in " ".join(text.split()) if ch.isprintable())


def _header(label: LabelData) -> list[tuple[str, str, bool]]:
    # A wristband is worn by the patient; the autologous-use statement belongs on bags.
    lines = [] if label.kind == "wristband" else [("FOR AUTOLOGOUS USE ONLY", "", True)]
    if label.product:
        lines.append((label.product, "", False))
    lines.append((_CAPTIONS[label.kind], "", False))
    return lines


def _body(label: LabelData) -> list[tuple[str, str, bool]]:
    id_caption = "WRISTBAND" if label.kind == "wristband" else "UNIT"
    lines = [
        (f"COI {label.coi}", label.coi_check, True),
        (f"{id_caption} {label.unit_id}", label.unit_check, True),
    ]
    optional = [
        ("", label.patient_name, True),
        ("DOB ", label.date_of_birth, False),
        ("Collected ", label.collection_date, False),
        ("Expires ", label.expiry_date, False),
    ]
    lines += [(prefix + value, "", bold) for prefix, value, bold in optional if value]
    return lines


def _width_em(text: str, check: str) -> float:
    """Estimated width in em of a line in a monospaced font, with its boxed check."""
    return len(text) * CHAR_WIDTH + (0.4 + CHAR_WIDTH + 0.5 if check else 0.0)


def _fit(
    lines: list[tuple[str, str, bool]], x: float, top: float, width: float, height: float
) -> list[TextLine]:
    """Stack lines in a box: one size for all, smaller for a line too long to fit."""
    lines = [(_clean(text), _clean(check), bold) for text, check, bold in lines]
    if not lines:
        return []
    widths = [_width_em(text, check) for text, check, _ in lines]
    em = min(
        MAX_EM,
        height / (len(lines) * LINE_PITCH),
        *(width / w for (_, check, _), w in zip(lines, widths, strict=True) if check),
    )
    return [
        TextLine(
            x=x,
            baseline=top + (i * LINE_PITCH + 1.0) * em,
            em=min(em, width / w),
            max_width=width,
            text=text,
            check=check,
            bold=bold,
        )
        for i, ((text, check, bold), w) in enumerate(zip(lines, widths, strict=True))
    ]


def layout(label: LabelData, size: str = DEFAULT_SIZE) -> Layout:
    """Square-ish stock: QR top left, header beside it, the rest below; wide stock:
    QR left, all text to its right."""
    width, height = _size(size)
    matrix = qr_matrix(label.payload)
    header, body = _header(label), _body(label)
    if height >= 0.75 * width:
        side = min(0.45 * width, 0.5 * height)
        text_x = MARGIN + side + GAP
        below = MARGIN + side + GAP
        lines = _fit(header, text_x, MARGIN, width - text_x - MARGIN, side) + _fit(
            body, MARGIN, below, width - 2 * MARGIN, height - below - MARGIN
        )
        return Layout(width, height, MARGIN, MARGIN, side, matrix, lines)
    # Short stock: the QR takes the full height, its quiet zone serving as the margin, so
    # that on 2x1in the symbol stays above 18 mm with whole pixels per module at 300 dpi.
    side = min(height, 0.5 * width)
    text_x = side + GAP
    lines = _fit(header + body, text_x, MARGIN, width - text_x - MARGIN, height - 2 * MARGIN)
    return Layout(width, height, 0.0, (height - side) / 2, side, matrix, lines)


def _place(line: TextLine, measure: Measure) -> _Placed:
    em = line.em
    total = measure(line.text, em, line.bold)
    if line.check:
        total += (0.4 + 0.5) * em + measure(line.check, em, True)
    if total > line.max_width:
        em *= line.max_width / total
    if not line.check:
        return _Placed(em, None, 0.0, 0.0)
    pad = 0.25 * em
    box_x = line.x + measure(line.text, em, line.bold) + 0.4 * em
    box_w = measure(line.check, em, True) + 2 * pad
    box = (box_x, line.baseline - 0.9 * em, box_w, 1.12 * em)
    return _Placed(em, box, box_x + pad, max(0.07 * em, 0.15))


def _estimate(text: str, em: float, bold: bool) -> float:
    return len(text) * CHAR_WIDTH * em


def _dark_runs(matrix: list[list[bool]]) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (row, first column, length)."""
    runs = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            runs.append((r, start, c - start))
    return runs


# --- fonts ------------------------------------------------------------------------------


@functools.cache
def _font_files() -> tuple[str, str]:
    """(regular, bold) TrueType files: DejaVu Sans Mono (wide Unicode, slashed zero) when
    installed, else the Vera fonts that ship inside reportlab."""
    try:
        regular = ImageFont.truetype("DejaVuSansMono.ttf", 10).path
        bold = ImageFont.truetype("DejaVuSansMono-Bold.ttf", 10).path
        return str(regular), str(bold)
    except OSError:
        fonts = Path(reportlab.__file__).parent / "fonts"
        return str(fonts / "Vera.ttf"), str(fonts / "VeraBd.ttf")


@functools.lru_cache(maxsize=256)
def _pil_font(bold: bool, size_px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_font_files()[bold], size_px)


@functools.cache
def pdf_fonts() -> tuple[str, str]:
    names = ("CartrackText", "CartrackText-Bold")
    for name, path in zip(names, _font_files(), strict=True):
        pdfmetrics.registerFont(TTFont(name, path))
    return names


# --- PNG --------------------------------------------------------------------------------


def label_png(label: LabelData, size: str = DEFAULT_SIZE, dpi: int = 300) -> bytes:
    lay = layout(label, size)
    scale = dpi / MM_PER_INCH  # px per mm
    image = Image.new("L", (round(lay.width * scale), round(lay.height * scale)), 255)
    _png_qr(image, lay, scale)
    draw = ImageDraw.Draw(image)
    for line in lay.lines:
        _png_line(draw, line, scale)
    buf = io.BytesIO()
    image.save(buf, "PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def _png_qr(image: Image.Image, lay: Layout, scale: float) -> None:
    # Whole pixels per module keep every module the same size, which scanners like.
    n = len(lay.matrix)
    module = max(1, math.floor(lay.qr_side * scale / n))
    small = Image.new("L", (n, n), 255)
    small.putdata([0 if dark else 255 for row in lay.matrix for dark in row])
    qr = small.resize((n * module, n * module), Image.Resampling.NEAREST)
    offset = (lay.qr_side * scale - n * module) / 2
    image.paste(qr, (round(lay.qr_x * scale + offset), round(lay.qr_y * scale + offset)))


def _png_line(draw: ImageDraw.ImageDraw, line: TextLine, scale: float) -> None:
    def measure(text: str, em: float, bold: bool) -> float:
        return _pil_font(bold, em * scale).getlength(text) / scale

    placed = _place(line, measure)
    baseline = line.baseline * scale
    font = _pil_font(line.bold, placed.em * scale)
    draw.text((line.x * scale, baseline), line.text, fill=0, font=font, anchor="ls")
    if placed.box is None:
        return
    x, top, w, h = (v * scale for v in placed.box)
    stroke = max(1, round(placed.stroke * scale))
    draw.rectangle((x, top, x + w, top + h), outline=0, width=stroke)
    bold = _pil_font(True, placed.em * scale)
    draw.text((placed.check_x * scale, baseline), line.check, fill=0, font=bold, anchor="ls")


# --- SVG --------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def label_svg(label: LabelData, size: str = DEFAULT_SIZE) -> bytes:
    lay = layout(label, size)
    svg = ET.Element(
        "svg",
        xmlns=SVG_NS,
        version="1.1",
        width=f"{_n(lay.width)}mm",
        height=f"{_n(lay.height)}mm",
        viewBox=f"0 0 {_n(lay.width)} {_n(lay.height)}",
    )
    ET.SubElement(svg, "rect", width=_n(lay.width), height=_n(lay.height), fill="#fff")
    ET.SubElement(svg, "path", d=_svg_qr_path(lay), fill="#000")
    svg.set("shape-rendering", "crispEdges")
    for line in lay.lines:
        _svg_line(svg, line)
    return ET.tostring(svg, encoding="utf-8", xml_declaration=True)


def _svg_qr_path(lay: Layout) -> str:
    m = lay.qr_side / len(lay.matrix)
    return "".join(
        f"M{_n(lay.qr_x + c * m)} {_n(lay.qr_y + r * m)}h{_n(run * m)}v{_n(m)}h{_n(-run * m)}z"
        for r, c, run in _dark_runs(lay.matrix)
    )


def _svg_text(parent: ET.Element, x: float, y: float, em: float, text: str, bold: bool) -> None:
    node = ET.SubElement(
        parent, "text", x=_n(x), y=_n(y), fill="#000", attrib={"font-family": FONT_FAMILY}
    )
    node.set("font-size", _n(em))
    if bold:
        node.set("font-weight", "bold")
    node.text = text


def _svg_line(svg: ET.Element, line: TextLine) -> None:
    placed = _place(line, _estimate)
    _svg_text(svg, line.x, line.baseline, placed.em, line.text, line.bold)
    if placed.box is None:
        return
    x, top, w, h = placed.box
    ET.SubElement(
        svg,
        "rect",
        x=_n(x),
        y=_n(top),
        width=_n(w),
        height=_n(h),
        fill="none",
        stroke="#000",
        attrib={"stroke-width": _n(placed.stroke)},
    )
    _svg_text(svg, placed.check_x, line.baseline, placed.em, line.check, True)


# --- PDF --------------------------------------------------------------------------------


def labels_pdf(labels: list[LabelData], size: str = DEFAULT_SIZE) -> bytes:
    """One label per page, each page the size of the label stock."""
    if not labels:
        raise ValueError("there are no labels to print")
    width, height = _size(size)
    buf = io.BytesIO()
    pdf = Canvas(buf, pagesize=(width * mm, height * mm), invariant=True)
    pdf.setTitle(f"cartrack labels {labels[0].coi}")
    for label in labels:
        _pdf_label(pdf, layout(label, size))
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _pdf_label(pdf: Canvas, lay: Layout) -> None:
    def y(top_mm: float) -> float:
        return (lay.height - top_mm) * mm

    m = lay.qr_side / len(lay.matrix)
    path = pdf.beginPath()
    for r, c, run in _dark_runs(lay.matrix):
        path.rect((lay.qr_x + c * m) * mm, y(lay.qr_y + (r + 1) * m), run * m * mm, m * mm)
    pdf.setFillGray(0)
    pdf.drawPath(path, stroke=0, fill=1)
    fonts = pdf_fonts()

    def measure(text: str, em: float, bold: bool) -> float:
        return pdfmetrics.stringWidth(text, fonts[bold], em * mm) / mm

    for line in lay.lines:
        placed = _place(line, measure)
        pdf.setFont(fonts[line.bold], placed.em * mm)
        pdf.drawString(line.x * mm, y(line.baseline), line.text)
        if placed.box is None:
            continue
        x, top, w, h = placed.box
        pdf.setLineWidth(placed.stroke * mm)
        pdf.rect(x * mm, y(top + h), w * mm, h * mm, stroke=1, fill=0)
        pdf.setFont(fonts[True], placed.em * mm)
        pdf.drawString(placed.check_x * mm, y(line.baseline), line.check)


# --- ZPL II -----------------------------------------------------------------------------


def zpl_escape(text: str) -> str:
    """Field data for ``^FH``: anything but plain characters as _XX hex (UTF-8 bytes)."""
    return "".join(
        ch if _ZPL_SAFE.fullmatch(ch) else "".join(f"_{b:02X}" for b in ch.encode("utf-8"))
        for ch in text
    )


def label_zpl(label: LabelData, size: str = DEFAULT_SIZE, dpi: int = 203) -> str:
    if not _QR_ALPHANUMERIC.fullmatch(label.payload):
        raise ValueError("a label payload must be upper-case QR alphanumeric text")
    lay = layout(label, size)
    dots = dpi / MM_PER_INCH  # dots per mm
    n = len(lay.matrix)
    # ^BQ draws no quiet zone: leave it blank ourselves; magnification = dots per module.
    mag = max(1, min(10, math.floor(lay.qr_side * dots / n)))
    pad = (lay.qr_side * dots - n * mag) / 2 + QUIET_ZONE * mag
    qr_x, qr_y = round(lay.qr_x * dots + pad), round(lay.qr_y * dots + pad)
    commands = [
        "^XA",
        "^CI28",
        f"^PW{round(lay.width * dots)}",
        f"^LL{round(lay.height * dots)}",
        "^LH0,0",
        f"^FO{qr_x},{qr_y}^BQN,2,{mag}^FDMA,{label.payload}^FS",
    ]
    for line in lay.lines:
        commands += _zpl_line(line, dots)
    commands.append("^XZ")
    return "\n".join(commands) + "\n"


def _zpl_text(x: float, baseline: float, em: float, text: str, dots: float) -> str:
    h = max(10, round(em * dots))
    return f"^FT{round(x * dots)},{round(baseline * dots)}^A0N,{h},{h}^FH^FD{zpl_escape(text)}^FS"


def _zpl_line(line: TextLine, dots: float) -> list[str]:
    placed = _place(line, _estimate)
    out = [_zpl_text(line.x, line.baseline, placed.em, line.text, dots)]
    if placed.box is not None:
        x, top, w, h = (round(v * dots) for v in placed.box)
        stroke = max(1, round(placed.stroke * dots))
        out.append(f"^FO{x},{top}^GB{w},{h},{stroke}^FS")
        out.append(_zpl_text(placed.check_x, line.baseline, placed.em, line.check, dots))
    return out
