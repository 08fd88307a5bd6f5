"""QR codes of label payloads: error correction M, a quiet zone of 4 modules."""

from __future__ import annotations

import functools
import io

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

QUIET_ZONE = 4  # modules


def _qr(payload: str, box_size: int = 10) -> qrcode.QRCode[PilImage]:
    qr: qrcode.QRCode[PilImage] = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=QUIET_ZONE,
        box_size=box_size,
    )
    qr.add_data(payload)
    qr.make(fit=True)
    return qr


@functools.lru_cache(maxsize=512)
def _matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    return tuple(tuple(row) for row in _qr(payload).get_matrix())


def qr_matrix(payload: str) -> list[list[bool]]:
    """Dark (True) and light modules, quiet zone included."""
    return [list(row) for row in _matrix(payload)]


def qr_png(payload: str, box_size: int = 10) -> bytes:
    buf = io.BytesIO()
    _qr(payload, box_size).make_image(image_factory=PilImage).save(buf)
    return buf.getvalue()


def qr_svg(payload: str) -> bytes:
    buf = io.BytesIO()
    _qr(payload).make_image(image_factory=SvgPathImage).save(buf)
    return buf.getvalue()


def dark_runs(matrix: list[list[bool]]) -> list[tuple[int, int, int]]:
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
