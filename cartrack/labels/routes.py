"""Label printing (a bag's label, a case's sheet, a patient's wristband) and label templates.

Printing writes a record (the ``label_print`` row and its audit entry), so it is a POST that
carries the CSRF token; its response is the label, sent once the print is committed, never
cached. Templates: any signed-in user sees the versions and a specimen of each; admins and
QA propose new versions; QA approves them with an e-signature.
"""

from __future__ import annotations

from enum import StrEnum

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from cartrack.contract import nonblank_at_least
from cartrack.db import SessionDep
from cartrack.identity.identifiers import UNIT_REF_PATTERN
from cartrack.journey.events import SignatureIn
from cartrack.labels import service, versions
from cartrack.labels.content import MEDIA_TYPES, render
from cartrack.labels.layout import DEFAULT_SIZE, LABEL_SIZES, as_label_kind
from cartrack.labels.models import TemplateIn, TemplateOut
from cartrack.labels.templates import compose, sample_values
from cartrack.security import SIGNED_IN, Access, Principal
from cartrack.users.models import Role

router = APIRouter(prefix="/api", tags=["labels"])
PRINT_ACCESS = Access(*service.PRINT_ROLES)
PROPOSE_ACCESS = Access(Role.admin, Role.qa)
APPROVE_ACCESS = Access(Role.qa)
CaseId = Path(ge=1, le=2**31 - 1)
TemplateId = Path(ge=1, le=2**31 - 1)
UnitRef = Path(pattern=UNIT_REF_PATTERN, description="unit ID: 15 characters, or typed with "
               "its check character")
SIZE_HELP = "label stock: " + ", ".join(LABEL_SIZES)
NO_STORE = {"Cache-Control": "no-store"}


class StockSize(StrEnum):
    """The label stocks on offer (``labels.layout.LABEL_SIZES``)."""

    large = "4x4in"
    medium = "4x2in"
    small = "2x1in"


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


class PrintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: StockSize = Field(StockSize(DEFAULT_SIZE), description=SIZE_HELP)
    copies: int = Field(1, ge=1, le=service.MAX_COPIES)
    # Declared here, checked by the print options (whose refusal names the rule).
    reprint_reason: str | None = Field(None, max_length=500,
                                       json_schema_extra={"pattern": nonblank_at_least(3)},
                                       description="required when this label was printed before")

    def options(self) -> service.PrintOptions:
        return service.PrintOptions(self.size.value, self.copies, self.reprint_reason)


def _response(rendered: service.Rendered) -> Response:
    return Response(rendered.content, media_type=rendered.media_type, headers={
        "Content-Disposition": f'inline; filename="{rendered.filename}"',
        **NO_STORE,
        "X-Label-Print-Ids": ",".join(str(p.id) for p in rendered.prints),
        "X-Label-Template-Versions": ",".join(
            f"{p.label_kind}:{p.template_version}" for p in rendered.prints),
    })


_LABEL_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {t: {} for t in MEDIA_TYPES.values()},
          "description": "the label; the print is recorded"},
    409: {"description": "printed before (a reprint reason is required), or no approved "
                         "template"},
}


@router.post("/units/{unit_id}/label.{fmt}", response_class=Response,
             responses=_LABEL_RESPONSES)
def unit_label(session: SessionDep, fmt: LabelFormat, body: PrintIn | None = None,
               unit_id: str = UnitRef, principal: Principal = Depends(PRINT_ACCESS)) -> Response:
    """Print a bag's label (PNG, SVG, PDF or ZPL) at one of the offered sizes. On stock where
    the label comes with a tag, PDF and ZPL hold both."""
    options = (body or PrintIn()).options()
    return _response(service.print_unit(session, service.Printer(principal), unit_id,
                                        fmt.value, options))


@router.post("/cases/{case_id}/labels.{fmt}", response_class=Response,
             responses=_LABEL_RESPONSES)
def case_labels(session: SessionDep, fmt: SheetFormat, body: PrintIn | None = None,
                case_id: int = CaseId, principal: Principal = Depends(PRINT_ACCESS)) -> Response:
    """Print every active label of a case you may print, the wristband first: a PDF (one page
    per label or tag) or ZPL."""
    options = (body or PrintIn()).options()
    return _response(service.print_case(session, service.Printer(principal), case_id,
                                        fmt.value, options))


@router.post("/cases/{case_id}/wristband.{fmt}", response_class=Response,
             responses=_LABEL_RESPONSES)
def wristband_label(session: SessionDep, fmt: WristbandFormat, body: PrintIn | None = None,
                    case_id: int = CaseId, principal: Principal = Depends(PRINT_ACCESS)
                    ) -> Response:
    """Print the patient's wristband (PNG or PDF): clinical staff of the case's collection or
    treatment site only."""
    options = (body or PrintIn()).options()
    return _response(service.print_wristband(session, service.Printer(principal), case_id,
                                             fmt.value, options))


# ---- templates -------------------------------------------------------------------------


@router.get("/label-templates")
def list_templates(session: SessionDep, kind: str | None = Query(None, max_length=20),
                   _: Principal = Depends(SIGNED_IN)) -> list[TemplateOut]:
    """Every version of every label kind's template: which one is in effect, who proposed and
    who approved it."""
    return [versions.template_out(row) for row in versions.list_templates(session, kind)]


@router.post("/label-templates", status_code=201)
def propose_template(session: SessionDep, body: TemplateIn,
                     principal: Principal = Depends(PROPOSE_ACCESS)) -> TemplateOut:
    """Propose a new version; it prints only once QA approves it."""
    return versions.template_out(versions.propose(session, principal, body))


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signature: SignatureIn


@router.post("/label-templates/{template_id}/approve")
def approve_template(session: SessionDep, body: ApproveIn, template_id: int = TemplateId,
                     principal: Principal = Depends(APPROVE_ACCESS)) -> TemplateOut:
    """QA's e-signature ("Approved for use") puts a proposed version in effect."""
    return versions.template_out(versions.approve(session, principal, template_id,
                                                  body.signature.password))


@router.get("/label-templates/{template_id}/specimen.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}},
                             "description": "a specimen label (its QR is never valid)"}})
def template_specimen(session: SessionDep, template_id: int = TemplateId,
                      stock: StockSize = Query(StockSize(DEFAULT_SIZE), alias="size",
                                               description=SIZE_HELP),
                      _: Principal = Depends(SIGNED_IN)) -> Response:
    """A specimen of this version with sample values, to review before approving it."""
    size = stock.value
    row = versions.get(session, template_id)
    faces = compose(row.rules(), sample_values(as_label_kind(row.kind), row.version), size)
    pdf = render([faces], "pdf", size, 1, f"Specimen: {row.kind} label template v{row.version}")
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="specimen-{row.kind}-v{row.version}-{size}.pdf"',
        **NO_STORE})
