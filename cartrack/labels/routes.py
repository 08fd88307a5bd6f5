"""Label printing: a bag's label, a case's sheet, a patient's wristband. Every print is recorded.

These GETs write (the ``label_print`` row and its audit entry), so they run in a unit of work
of their own that is committed before the label is sent: no label leaves unrecorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlmodel import Session

from cartrack.db import new_session
from cartrack.labels import service
from cartrack.labels.render import DEFAULT_SIZE, LABEL_SIZES
from cartrack.security import Access, Principal

router = APIRouter(prefix="/api", tags=["labels"])
PRINT_ACCESS = Access(*service.PRINT_ROLES)
CaseId = Path(ge=1, le=2**31 - 1)
UnitRef = Path(min_length=15, max_length=20, description="unit ID: 15 characters, or typed "
               "with its check character")
SIZE_HELP = "label stock: " + ", ".join(LABEL_SIZES)


class LabelFormat(StrEnum):
    png = "png"
    svg = "svg"
    pdf = "pdf"
    zpl = "zpl"


class SheetFormat(StrEnum):
    pdf = "pdf"
    zpl = "zpl"


class WristbandFormat(StrEnum):
    png = "png"
    pdf = "pdf"


def print_session() -> Iterator[Session]:
    """A writing unit of work for a GET: committed before the response goes out."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _options(size: str = Query(DEFAULT_SIZE, max_length=16, description=SIZE_HELP),
             copies: int = Query(1, ge=1, le=service.MAX_COPIES),
             reprint_reason: str | None = Query(
                 None, max_length=500,
                 description="required when this label was printed before")
             ) -> service.PrintOptions:
    return service.PrintOptions(size, copies, reprint_reason)


def _response(rendered: service.Rendered) -> Response:
    return Response(rendered.content, media_type=rendered.media_type, headers={
        "Content-Disposition": f'inline; filename="{rendered.filename}"',
        "Cache-Control": "no-store",
        "X-Label-Print-Ids": ",".join(str(p.id) for p in rendered.prints),
    })


_LABEL_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {t: {} for t in service.MEDIA_TYPES.values()},
          "description": "the label; the print is recorded"},
    409: {"description": "printed before: a reprint reason is required"},
}


@router.get("/units/{unit_id}/label.{fmt}", response_class=Response,
            responses=_LABEL_RESPONSES)
def unit_label(fmt: LabelFormat, unit_id: str = UnitRef,
               options: service.PrintOptions = Depends(_options),
               principal: Principal = Depends(PRINT_ACCESS),
               session: Session = Depends(print_session, scope="function")) -> Response:
    """A bag's label (PNG, SVG, PDF or ZPL) at one of the offered sizes."""
    printer = service.Printer(principal)
    return _response(service.print_unit(session, printer, unit_id, fmt.value, options))


@router.get("/cases/{case_id}/labels.{fmt}", response_class=Response,
            responses=_LABEL_RESPONSES)
def case_labels(fmt: SheetFormat, case_id: int = CaseId,
                options: service.PrintOptions = Depends(_options),
                principal: Principal = Depends(PRINT_ACCESS),
                session: Session = Depends(print_session, scope="function")) -> Response:
    """Every active label of a case, the wristband first: a PDF (one page per label) or ZPL."""
    printer = service.Printer(principal)
    return _response(service.print_case(session, printer, case_id, fmt.value, options))


@router.get("/cases/{case_id}/wristband.{fmt}", response_class=Response,
            responses=_LABEL_RESPONSES)
def wristband_label(fmt: WristbandFormat, case_id: int = CaseId,
                    options: service.PrintOptions = Depends(_options),
                    principal: Principal = Depends(PRINT_ACCESS),
                    session: Session = Depends(print_session, scope="function")) -> Response:
    """The patient's wristband (PNG or PDF)."""
    printer = service.Printer(principal)
    return _response(service.print_wristband(session, printer, case_id, fmt.value, options))
