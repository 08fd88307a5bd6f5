"""Label rendering: PNG, SVG and PDF of the layout computed in ``layout`` (ZPL: ``zpl``).

Every format draws the same pages: the QR code (error correction M, quiet zone of 4 modules)
and the eye-readable text, with the check character K of the COI and of the unit id drawn in
a box. A PDF holds every page of every label (a label and its tag); PNG and SVG hold one.
"""

from __future__ import annotations

import io
import math
from xml.etree import ElementTree as ET

from PIL import Image, ImageDraw
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from cartrack.labels.fonts import pdf_fonts, pil_font
from cartrack.labels.layout import (
    DEFAULT_SIZE,
    MM_PER_INCH,
    Face,
    Layout,
    TextLine,
    label_size,
    layout_face,
    place,
)
from cartrack.labels.qr import dark_runs

FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, Courier New, monospace"
SVG_NS = "http://www.w3.org/2000/svg"


def single_page(face: Face, size: str) -> Layout:
    pages = layout_face(face, size)
    if len(pages) != 1:
        raise ValueError("this face takes several pages; print it as PDF or ZPL")
    return pages[0]


# --- PNG --------------------------------------------------------------------------------


def label_png(face: Face, size: str = DEFAULT_SIZE, dpi: int = 300) -> bytes:
    return page_png(single_page(face, size), dpi)


def page_png(lay: Layout, dpi: int = 300) -> bytes:
    scale = dpi / MM_PER_INCH  # px per mm
    image = Image.new("L", (round(lay.width * scale), round(lay.height * scale)), 255)
    if lay.matrix:
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
    placed = place(line)
    baseline = line.baseline * scale
    font = pil_font(line.bold, placed.em * scale)
    draw.text((line.x * scale, baseline), line.text, fill=0, font=font, anchor="ls")
    if placed.box is None:
        return
    x, top, w, h = (v * scale for v in placed.box)
    stroke = max(1, round(placed.stroke * scale))
    draw.rectangle((x, top, x + w, top + h), outline=0, width=stroke)
    bold = pil_font(True, placed.em * scale)
    draw.text((placed.check_x * scale, baseline), line.check, fill=0, font=bold, anchor="ls")


# --- SVG --------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def label_svg(face: Face, size: str = DEFAULT_SIZE) -> bytes:
    lay = single_page(face, size)
    svg = ET.Element(
        "svg",
        xmlns=SVG_NS,
        version="1.1",
        width=f"{_n(lay.width)}mm",
        height=f"{_n(lay.height)}mm",
        viewBox=f"0 0 {_n(lay.width)} {_n(lay.height)}",
    )
    ET.SubElement(svg, "rect", width=_n(lay.width), height=_n(lay.height), fill="#fff")
    if lay.matrix:
        ET.SubElement(svg, "path", d=_svg_qr_path(lay), fill="#000")
    svg.set("shape-rendering", "crispEdges")
    for line in lay.lines:
        _svg_line(svg, line)
    return ET.tostring(svg, encoding="utf-8", xml_declaration=True)


def _svg_qr_path(lay: Layout) -> str:
    m = lay.qr_side / len(lay.matrix)
    return "".join(
        f"M{_n(lay.qr_x + c * m)} {_n(lay.qr_y + r * m)}h{_n(run * m)}v{_n(m)}h{_n(-run * m)}z"
        for r, c, run in dark_runs(lay.matrix)
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
    placed = place(line)
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


def labels_pdf(faces: list[Face], size: str = DEFAULT_SIZE, title: str = "cartrack labels"
               ) -> bytes:
    """Every page of every face in order, each page the size of the label stock."""
    if not faces:
        raise ValueError("there are no labels to print")
    return pages_pdf([page for face in faces for page in layout_face(face, size)], size, title)


def pages_pdf(pages: list[Layout], size: str, title: str = "cartrack labels") -> bytes:
    if not pages:
        raise ValueError("there are no labels to print")
    width, height = label_size(size)
    buf = io.BytesIO()
    pdf = Canvas(buf, pagesize=(width * mm, height * mm), invariant=True)
    pdf.setTitle(title)
    for lay in pages:
        _pdf_page(pdf, lay)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _pdf_page(pdf: Canvas, lay: Layout) -> None:
    def y(top_mm: float) -> float:
        return (lay.height - top_mm) * mm

    if lay.matrix:
        m = lay.qr_side / len(lay.matrix)
        path = pdf.beginPath()
        for r, c, run in dark_runs(lay.matrix):
            path.rect((lay.qr_x + c * m) * mm, y(lay.qr_y + (r + 1) * m), run * m * mm, m * mm)
        pdf.setFillGray(0)
        pdf.drawPath(path, stroke=0, fill=1)
    fonts = pdf_fonts()
    for line in lay.lines:
        placed = place(line)
        pdf.setFont(fonts[line.bold], placed.em * mm)
        pdf.drawString(line.x * mm, y(line.baseline), line.text)
        if placed.box is None:
            continue
        x, top, w, h = placed.box
        pdf.setLineWidth(placed.stroke * mm)
        pdf.rect(x * mm, y(top + h), w * mm, h * mm, stroke=1, fill=0)
        pdf.setFont(fonts[True], placed.em * mm)
        pdf.drawString(placed.check_x * mm, y(line.baseline), line.check)
