"""ZPL II for thermal label printers: the same pages, lines and breaks as the PDF.

One ``^XA … ^XZ`` block per page (a label, then each page of its tag). Text fields are
hex-escaped (``^FH``) so that nothing typed into cartrack can become a printer command.
"""

from __future__ import annotations

import math
import re

from cartrack.labels.layout import DEFAULT_SIZE, MM_PER_INCH, Face, Layout, TextLine, layout_face, place
from cartrack.labels.qr import QUIET_ZONE

_ZPL_SAFE = re.compile(r"[A-Za-z0-9 .,:;()/'+*=!?-]")
_QR_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+./:-]+")
_ESCAPED = re.compile(r"(?:_[0-9A-F]{2})+")


def zpl_escape(text: str) -> str:
    """Field data for ``^FH``: anything but plain characters as _XX hex (UTF-8 bytes)."""
    return "".join(
        ch if _ZPL_SAFE.fullmatch(ch) else "".join(f"_{b:02X}" for b in ch.encode("utf-8"))
        for ch in text
    )


def zpl_unescape(field: str) -> str:
    """The text a ``^FH`` field prints (the inverse of ``zpl_escape``)."""
    return _ESCAPED.sub(lambda m: bytes.fromhex(m.group(0).replace("_", "")).decode("utf-8"),
                        field)


def label_zpl(face: Face, size: str = DEFAULT_SIZE, dpi: int = 203) -> str:
    """Every page of one face, one ``^XA … ^XZ`` block each."""
    return "".join(page_zpl(page, dpi) for page in layout_face(face, size))


def page_zpl(lay: Layout, dpi: int = 203) -> str:
    dots = dpi / MM_PER_INCH  # dots per mm
    commands = [
        "^XA",
        "^CI28",
        f"^PW{round(lay.width * dots)}",
        f"^LL{round(lay.height * dots)}",
        "^LH0,0",
    ]
    if lay.payload is not None:
        commands.append(_zpl_qr(lay, dots))
    for line in lay.lines:
        commands += _zpl_line(line, dots)
    commands.append("^XZ")
    return "\n".join(commands) + "\n"


def _zpl_qr(lay: Layout, dots: float) -> str:
    assert lay.payload is not None
    if not _QR_ALPHANUMERIC.fullmatch(lay.payload):
        raise ValueError("a label payload must be upper-case QR alphanumeric text")
    n = len(lay.matrix)
    # ^BQ draws no quiet zone: leave it blank ourselves; magnification = dots per module.
    mag = max(1, min(10, math.floor(lay.qr_side * dots / n)))
    pad = (lay.qr_side * dots - n * mag) / 2 + QUIET_ZONE * mag
    qr_x, qr_y = round(lay.qr_x * dots + pad), round(lay.qr_y * dots + pad)
    return f"^FO{qr_x},{qr_y}^BQN,2,{mag}^FDMA,{lay.payload}^FS"


def _zpl_text(x: float, baseline: float, em: float, text: str, dots: float) -> str:
    h = max(10, round(em * dots))
    return f"^FT{round(x * dots)},{round(baseline * dots)}^A0N,{h},{h}^FH^FD{zpl_escape(text)}^FS"


def _zpl_line(line: TextLine, dots: float) -> list[str]:
    placed = place(line)
    out = [_zpl_text(line.x, line.baseline, placed.em, line.text, dots)]
    if placed.box is not None:
        x, top, w, h = (round(v * dots) for v in placed.box)
        stroke = max(1, round(placed.stroke * dots))
        out.append(f"^FO{x},{top}^GB{w},{h},{stroke}^FS")
        out.append(_zpl_text(placed.check_x, line.baseline, placed.em, line.check, dots))
    return out


def with_copies(zpl: str, copies: int) -> str:
    """^PQ: the printer prints the label this many times."""
    if copies == 1:
        return zpl
    head, _, tail = zpl.rpartition("^XZ")
    return f"{head}^PQ{copies}\n^XZ{tail}"
