"""Where everything on a label goes, computed once in millimetres for every output format.

A label is one or more faces: the label itself (a QR code and its text) and, on stock too
small for everything, an accompanying tag (text only, as many pages as it needs, each headed
with the bag's identifiers). Text flows beside the QR code, then below it, wrapped at word
boundaries, in the largest single size that fits, never below ``MIN_EM``. A line with a
boxed check character (an identifier) is never wrapped. A content that cannot fit at the
smallest size is refused (``LabelOverflow``), never drawn off the label.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

from cartrack.labels.fonts import text_width
from cartrack.labels.qr import qr_matrix

LabelKind = Literal["apheresis", "product", "wristband"]
LABEL_KINDS: tuple[LabelKind, ...] = get_args(LabelKind)


def as_label_kind(value: str) -> LabelKind:
    """A stored kind (a unit's kind, a template's) as the label kind it names."""
    for kind in LABEL_KINDS:
        if kind == value:
            return kind
    raise ValueError(f"not a label kind: {value!r}")


class LabelSize(NamedTuple):
    width_mm: float
    height_mm: float


LABEL_SIZES: dict[str, LabelSize] = {
    "4x4in": LabelSize(101.6, 101.6),
    "4x2in": LabelSize(101.6, 50.8),
    "2x1in": LabelSize(50.8, 25.4),
}
DEFAULT_SIZE = "4x4in"
MM_PER_INCH = 25.4
MARGIN = 1.0  # mm; the QR's own quiet zone adds white around the symbol
GAP = 0.5  # mm between the QR's quiet zone and the text
LINE_PITCH = 1.25  # em
MAX_EM = 5.0  # mm, about 14 pt
MIN_EM = 1.5  # mm, about 4.3 pt: the smallest text a label carries
TAG_EM = 2.0  # mm: a tag takes another page rather than go below this, up to MAX_TAG_PAGES
MAX_TAG_PAGES = 4
WIDE_QR_MM = 30.5  # QR side (quiet zone included) on wide stock such as 4x2in
CHECK_GAP, CHECK_PAD = 0.4, 0.25  # em: before the boxed check character, inside its box
ELLIPSIS = "…"
PAGE, PAGES = "{page}", "{pages}"  # placeholders in a tag's heading


class LabelOverflow(ValueError):
    """The content does not fit the stock at the smallest legible size."""


@dataclass(frozen=True)
class Line:
    """One logical line of a label, before wrapping."""

    text: str
    check: str = ""  # drawn boxed after the text; such a line is never wrapped
    bold: bool = False
    max_lines: int = 0  # 0: as many as it needs; else cut with an ellipsis after this many


@dataclass(frozen=True)
class Face:
    """One printed face: a label with its QR code, or a tag (no QR) that follows it."""

    payload: str | None
    lines: tuple[Line, ...]
    heading: tuple[Line, ...] = ()  # repeated at the top of every page of a tag


@dataclass(frozen=True)
class TextLine:
    """One drawn line; positions in mm from the label's top-left corner."""

    x: float
    baseline: float
    em: float
    max_width: float
    text: str
    check: str
    bold: bool


@dataclass(frozen=True)
class Layout:
    """One page of label stock."""

    width: float
    height: float
    qr_x: float
    qr_y: float
    qr_side: float  # including the quiet zone; 0 on a tag
    matrix: list[list[bool]]  # including the quiet zone; empty on a tag
    lines: list[TextLine]
    payload: str | None = None


class Region(NamedTuple):
    x: float
    top: float
    width: float
    height: float
    lead: tuple[Line, ...] = ()  # lines that open this region (a tag page's heading)


def label_size(size: str) -> LabelSize:
    try:
        return LABEL_SIZES[size]
    except KeyError:
        raise ValueError(f"unknown label size {size!r}; use one of {sorted(LABEL_SIZES)}") from None


def clean(text: str) -> str:
    """One printable line: whitespace runs become one space, control characters go."""
    return "".join(ch for ch in " ".join(text.split()) if ch.isprintable())


def check_line_width(text: str, check: str, em: float, bold: bool) -> float:
    """Width of an identifier with its boxed check character."""
    return (text_width(text, em, bold) + (CHECK_GAP + 2 * CHECK_PAD) * em
            + text_width(check, em, True))


# ---- wrapping --------------------------------------------------------------------------


def _take(words: list[str], width: float, em: float, bold: bool) -> tuple[str, list[str]]:
    """The longest run of words that fits ``width``; a word too long alone is split."""
    first = words[0]
    if text_width(first, em, bold) > width:
        cut = max(1, _longest_prefix(first, width, em, bold))
        return first[:cut], [first[cut:], *words[1:]]
    piece, used = first, 1
    for word in words[1:]:
        candidate = f"{piece} {word}"
        if text_width(candidate, em, bold) > width:
            break
        piece, used = candidate, used + 1
    return piece, words[used:]


def _longest_prefix(text: str, width: float, em: float, bold: bool) -> int:
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid], em, bold) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _with_ellipsis(piece: str, width: float, em: float, bold: bool) -> str:
    n = _longest_prefix(piece, width - text_width(ELLIPSIS, em, bold), em, bold)
    return piece[:n].rstrip() + ELLIPSIS


# ---- flowing text into regions ---------------------------------------------------------


class _Flow:
    """Lines placed one slot at a time into the regions, in order, at one size."""

    def __init__(self, regions: list[Region], em: float, cut: bool) -> None:
        self.regions, self.em, self.pitch, self.cut = regions, em, LINE_PITCH * em, cut
        self.index, self.y = 0, regions[0].top
        self.pages: list[list[TextLine]] = [[] for _ in regions]
        self.fits = self._open_lead()

    def _open_lead(self) -> bool:
        return all(self.place(line) for line in self.regions[self.index].lead)

    def _slot(self) -> Region | None:
        while self.index < len(self.regions):
            region = self.regions[self.index]
            if self.y + self.pitch <= region.top + region.height + 1e-9:
                return region
            self.index += 1
            if self.index == len(self.regions):
                return None
            self.y = self.regions[self.index].top
            if not self._open_lead():
                return None
        return None

    def _put(self, region: Region, text: str, check: str, bold: bool) -> None:
        self.pages[self.index].append(TextLine(
            x=region.x, baseline=self.y + self.em, em=self.em, max_width=region.width,
            text=text, check=check, bold=bold))
        self.y += self.pitch

    def place(self, line: Line) -> bool:
        region = self._slot()
        if region is None:
            return False
        if line.check:
            if check_line_width(line.text, line.check, self.em, line.bold) > region.width:
                return False
            self._put(region, line.text, line.check, line.bold)
            return True
        words, count = line.text.split(" "), 0
        while words:
            region = region if count == 0 else self._slot()
            if region is None:
                return False
            piece, words = _take(words, region.width, self.em, line.bold)
            count += 1
            if words and line.max_lines and count == line.max_lines:
                if not self.cut:
                    return False
                piece, words = _with_ellipsis(f"{piece} {' '.join(words)}", region.width,
                                              self.em, line.bold), []
            self._put(region, piece, "", line.bold)
        return True


def _flow(lines: tuple[Line, ...], regions: list[Region], em: float, cut: bool
          ) -> list[list[TextLine]] | None:
    flow = _Flow(regions, em, cut)
    if not flow.fits or not all(flow.place(line) for line in lines):
        return None
    return flow.pages


def _largest_fit(lines: tuple[Line, ...], regions: list[Region], floor: float = MIN_EM
                 ) -> tuple[float, list[list[TextLine]]] | None:
    """The largest size in [floor, MAX_EM] at which every line fits (bisection, 0.01 mm):
    whole if possible, else with names cut short where the template allows."""
    for cut in (False, True):
        fitted = _bisect(lines, regions, floor, cut)
        if fitted is not None:
            return fitted
    return None


def _bisect(lines: tuple[Line, ...], regions: list[Region], floor: float, cut: bool
            ) -> tuple[float, list[list[TextLine]]] | None:
    best = _flow(lines, regions, floor, cut)
    if best is None:
        return None
    low, high = floor, MAX_EM
    top = _flow(lines, regions, high, cut)
    if top is not None:
        return high, top
    while high - low > 0.01:
        mid = (low + high) / 2
        placed = _flow(lines, regions, mid, cut)
        if placed is None:
            high = mid
        else:
            low, best = mid, placed
    return low, best


def _cleaned(lines: tuple[Line, ...]) -> tuple[Line, ...]:
    out = (Line(clean(line.text), clean(line.check), line.bold, line.max_lines) for line in lines)
    return tuple(line for line in out if line.text or line.check)


# ---- the two kinds of face -------------------------------------------------------------


def _qr_block(width: float, height: float) -> tuple[float, float, float, list[Region]]:
    """QR position and side, and the text regions around it.

    Square stock: QR top left, text beside it and then below. Wide stock (4x2in): a smaller
    QR top left, text beside and below. Short stock (2x1in): the QR takes the full height, its
    quiet zone serving as the margin, so the symbol stays above 18 mm with whole pixels per
    module at 300 dpi; text beside it."""
    if height >= 0.75 * width:
        side = min(0.45 * width, 0.5 * height)
    elif height >= 40:
        side = min(WIDE_QR_MM, height - 2 * MARGIN)
    else:
        side = min(height, 0.5 * width)
        beside = side + GAP
        return 0.0, (height - side) / 2, side, [
            Region(beside, MARGIN, width - beside - MARGIN, height - 2 * MARGIN)]
    beside, below = MARGIN + side + GAP, MARGIN + side + GAP
    return MARGIN, MARGIN, side, [
        Region(beside, MARGIN, width - beside - MARGIN, side),
        Region(MARGIN, below, width - 2 * MARGIN, height - below - MARGIN)]


def _label_layout(face: Face, size: str) -> Layout:
    assert face.payload is not None
    width, height = label_size(size)
    qr_x, qr_y, side, regions = _qr_block(width, height)
    fitted = _largest_fit(_cleaned(face.lines), regions)
    if fitted is None:
        raise LabelOverflow(f"the label's text does not fit {size} stock at {MIN_EM} mm")
    lines = [line for region in fitted[1] for line in region]
    return Layout(width, height, qr_x, qr_y, side, qr_matrix(face.payload), lines, face.payload)


def _tag_regions(width: float, height: float, heading: tuple[Line, ...], pages: int
                 ) -> list[Region]:
    def lead(page: int) -> tuple[Line, ...]:
        return tuple(Line(line.text.replace(PAGE, str(page)).replace(PAGES, str(pages)),
                          line.check, line.bold, line.max_lines) for line in heading)

    return [Region(MARGIN, MARGIN, width - 2 * MARGIN, height - 2 * MARGIN, lead(page))
            for page in range(1, pages + 1)]


def _tag_layouts(face: Face, size: str) -> list[Layout]:
    """As few pages as keep the text at TAG_EM or larger; more, down to MIN_EM, if needed."""
    width, height = label_size(size)
    lines, heading = _cleaned(face.lines), _cleaned(face.heading)
    chosen: list[list[TextLine]] | None = None
    for floor in (TAG_EM, MIN_EM):
        for pages in range(1, MAX_TAG_PAGES + 1):
            fitted = _largest_fit(lines, _tag_regions(width, height, heading, pages), floor)
            if fitted is not None:
                chosen = fitted[1]
                break
        if chosen is not None:
            break
    if chosen is None:
        raise LabelOverflow(f"the tag's text does not fit {MAX_TAG_PAGES} pages of {size} stock")
    return [Layout(width, height, 0.0, 0.0, 0.0, [], page) for page in chosen if page]


def layout_face(face: Face, size: str = DEFAULT_SIZE) -> list[Layout]:
    """The pages of one face: one for a label, one or more for a tag."""
    return list(_layout_face(face, size))


@functools.lru_cache(maxsize=256)
def _layout_face(face: Face, size: str) -> tuple[Layout, ...]:
    # Cached: deciding whether a label needs its tag lays it out once before it is drawn.
    if face.payload is None:
        return tuple(_tag_layouts(face, size))
    return (_label_layout(face, size),)


def layout(face: Face, size: str = DEFAULT_SIZE) -> Layout:
    """The one page of a label face."""
    (page,) = layout_face(face, size)
    return page


# ---- drawing a line --------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """A line as a backend draws it: its size, and the box of its check character."""

    em: float
    box: tuple[float, float, float, float] | None  # x, top, width, height (mm)
    check_x: float
    stroke: float


def place(line: TextLine) -> Placed:
    em = line.em
    total = (check_line_width(line.text, line.check, em, line.bold) if line.check
             else text_width(line.text, em, line.bold))
    if total > line.max_width:  # only a backend's rounding can get here; shrink, never spill
        em *= line.max_width / total
    if not line.check:
        return Placed(em, None, 0.0, 0.0)
    pad = CHECK_PAD * em
    box_x = line.x + text_width(line.text, em, line.bold) + CHECK_GAP * em
    box_w = text_width(line.check, em, True) + 2 * pad
    box = (box_x, line.baseline - 0.9 * em, box_w, 1.12 * em)
    return Placed(em, box, box_x + pad, max(0.07 * em, 0.15))


def clear_cache() -> None:
    """Forget cached layouts (a benchmark measures laying out, not the cache)."""
    _layout_face.cache_clear()
