"""The cold chain over HTTP: the catalog (profiles, shippers, loggers), shipments with their
readings, summary and excursions, and QA's disposition of an excursion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

import anyio.from_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from cartrack import clock
from cartrack.contract import nonblank_at_least
from cartrack.db import SessionDep
from cartrack.errors import DomainError
from cartrack.journey.access import CASE_ROLES
from cartrack.journey.events import SignatureIn
from cartrack.security import SIGNED_IN, Access, Principal
from cartrack.settings import get_settings
from cartrack.shipments import catalog, ingest, report_pdf, service
from cartrack.shipments.models import (
    Direction,
    Disposition,
    LoggerIn,
    LoggerOut,
    LoggerUpdate,
    ProfileIn,
    ProfileOut,
    ShipmentStatus,
    ShipperIn,
    ShipperOut,
    ShipperStatus,
    ShipperUpdate,
)
from cartrack.shipments.receipt import ReceiptIn, record_receipt
from cartrack.shipments.report import (
    ExcursionOut,
    ImportOut,
    ReportOut,
    ShipmentOut,
    build_report,
    shipment_out,
)
from cartrack.users.models import Role

router = APIRouter(prefix="/api", tags=["shipments"])
PROFILE_EDITORS = Access(Role.admin, Role.qa)
# Who packs and receives shippers and loggers: the collection and manufacturing staff.
LOGISTICS = Access(Role.admin, Role.lab_tech, Role.collection_staff)
CASE_ACCESS = Access(*CASE_ROLES)
QA = Access(Role.qa)
RECEIVERS = Access(Role.lab_tech, Role.infusion_staff, Role.qa)
ShipmentId = Path(ge=1, le=2**31 - 1)
ExcursionId = Path(ge=1, le=2**31 - 1)
SerialPath = Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


# ---- catalog ------------------------------------------------------------------------------


@router.get("/shipping-profiles")
def list_profiles(session: SessionDep, code: str | None = Query(
        None, min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]*$"),
                  _: Principal = Depends(SIGNED_IN)) -> list[ProfileOut]:
    """Every version of every shipping profile, with its sources."""
    return [catalog.profile_out(p) for p in catalog.list_profiles(session, code)]


@router.post("/shipping-profiles", status_code=201)
def publish_profile(session: SessionDep, body: ProfileIn,
                    principal: Principal = Depends(PROFILE_EDITORS)) -> ProfileOut:
    """Publish a new version; shipments under way keep the version they left with."""
    return catalog.profile_out(catalog.publish_profile(session, principal, body))


@router.get("/shippers")
def list_shippers(session: SessionDep, status: ShipperStatus | None = None,
                  _: Principal = Depends(SIGNED_IN)) -> list[ShipperOut]:
    return [catalog.shipper_out(s) for s in catalog.list_shippers(session, status)]


@router.post("/shippers", status_code=201)
def add_shipper(session: SessionDep, body: ShipperIn,
                principal: Principal = Depends(LOGISTICS)) -> ShipperOut:
    return catalog.shipper_out(catalog.add_shipper(session, principal, body))


@router.patch("/shippers/{serial}")
def update_shipper(session: SessionDep, body: ShipperUpdate, serial: str = SerialPath,
                   principal: Principal = Depends(LOGISTICS)) -> ShipperOut:
    """Requalify a shipper after its quarantine (status available, a new qualified-until
    date), or retire it."""
    return catalog.shipper_out(catalog.update_shipper(session, principal, serial, body))


@router.get("/loggers")
def list_loggers(session: SessionDep, _: Principal = Depends(SIGNED_IN)) -> list[LoggerOut]:
    return [catalog.logger_out(d) for d in catalog.list_loggers(session)]


@router.post("/loggers", status_code=201)
def add_logger(session: SessionDep, body: LoggerIn,
               principal: Principal = Depends(LOGISTICS)) -> LoggerOut:
    return catalog.logger_out(catalog.add_logger(session, principal, body))


@router.patch("/loggers/{serial}")
def update_logger(session: SessionDep, body: LoggerUpdate, serial: str = SerialPath,
                  principal: Principal = Depends(LOGISTICS)) -> LoggerOut:
    """A new calibration date."""
    return catalog.logger_out(catalog.update_logger(session, principal, serial, body))


# ---- shipments ------------------------------------------------------------------------------


@router.get("/shipments")
def list_shipments(session: SessionDep, case_id: int | None = Query(None, ge=1, le=2**31 - 1),
                   status: ShipmentStatus | None = None, direction: Direction | None = None,
                   limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=10**9),
                   principal: Principal = Depends(CASE_ACCESS)) -> list[ShipmentOut]:
    """Shipments of the cases you may see, newest first (without their readings' analysis)."""
    rows = service.list_shipments(session, principal, case_id, status, direction, limit,
                                  offset)
    return [shipment_out(session, s, analysed=False) for s in rows]


@router.get("/shipments/{shipment_id}")
def get_shipment(session: SessionDep, shipment_id: int = ShipmentId,
                 principal: Principal = Depends(CASE_ACCESS)) -> ShipmentOut:
    """A shipment with its profile, summary, excursions and data gaps."""
    return shipment_out(session, service.visible_shipment(session, principal, shipment_id))


@router.get("/shipments/{shipment_id}/report")
def report(session: SessionDep, shipment_id: int = ShipmentId,
           principal: Principal = Depends(CASE_ACCESS)) -> ReportOut:
    """The shipment report as JSON: header, custody points, profile, summary, excursions, and
    the readings for a chart with the limit band."""
    return build_report(session, service.visible_shipment(session, principal, shipment_id))


@router.get("/shipments/{shipment_id}/report.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def report_pdf_route(session: SessionDep, shipment_id: int = ShipmentId,
                     principal: Principal = Depends(CASE_ACCESS)) -> Response:
    """The shipment report as a printable PDF: the JSON report's header, custody points,
    summary, excursions with QA's disposition, data gaps, and the temperature chart with the
    limit band. The COI identifies the case; no patient details."""
    data = build_report(session, service.visible_shipment(session, principal, shipment_id))
    pdf = report_pdf.to_pdf(data, report_pdf.signers(session, data), clock.now())
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="shipment-{data.shipment.id}-{data.coi}.pdf"',
        "Cache-Control": "no-store"})


@router.post("/shipments/{shipment_id}/receipt")
def receipt_check(session: SessionDep, body: ReceiptIn, shipment_id: int = ShipmentId,
                  principal: Principal = Depends(RECEIVERS)) -> ShipmentOut:
    """The signed receipt checklist, after the receive event: all items pass → accepted; a
    failed item → rejected, or accepted with deviation when QA signs it off."""
    return shipment_out(session, record_receipt(session, principal, shipment_id, body))


MAX_JSON_READINGS = 20_000  # larger logs come as CSV, streamed
JsonReadings = TypeAdapter(Annotated[list[ingest.ReadingIn], Field(max_length=MAX_JSON_READINGS)])
READINGS_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {
        "type": "array", "maxItems": MAX_JSON_READINGS,
        "items": TypeAdapter(ingest.ReadingIn).json_schema(ref_template="{model}")}}}}}
Tz = Query(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$",
           description="the logger's time zone, for CSV times without a UTC offset")


def _chunks(request: Request, limit: int) -> Iterator[bytes]:
    """The body as it arrives, read from this worker thread; 413 past the limit."""
    stream = request.stream()

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None
    size = 0
    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        size += len(chunk)
        if size > limit:
            raise DomainError(f"The file is larger than {limit} bytes.", code="body_too_large",
                              status_code=413)
        yield chunk


@router.post("/shipments/{shipment_id}/readings", openapi_extra=READINGS_BODY)
def post_readings(request: Request, session: SessionDep, shipment_id: int = ShipmentId,
                  tz: str | None = Tz, principal: Principal = Depends(CASE_ACCESS)) -> ImportOut:
    """Temperature readings as JSON ``[{at, temp_c}]``, or as ``text/csv`` from the logger
    (``logger_serial,timestamp,temp_c``, or ``Date,Time,Temperature(°C)`` with ``tz``).
    Readings already stored (same logger and time) count as duplicates; rows of another
    logger are rejected; a malformed line refuses the whole file (422, its line number)."""
    shipment = service.visible_shipment(session, principal, shipment_id)
    zone = ingest.zone(tz)
    settings = get_settings()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if kind == "text/csv":
        chunks = _chunks(request, settings.max_upload_bytes)
        counts = ingest.store(session, shipment, ingest.csv_rows(chunks, zone))
    else:
        raw = b"".join(_chunks(request, settings.max_body_bytes))
        try:
            readings = JsonReadings.validate_json(raw or b"null")
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        counts = ingest.store(session, shipment, ingest.json_rows(readings))
    analysis = service.analysis_of(session, shipment)
    service.reconcile(session, principal, shipment, analysis)
    out = shipment_out(session, shipment, analysis=analysis)
    return ImportOut(inserted=counts.inserted, duplicates=counts.duplicates,
                     rejected=counts.rejected, summary=out.summary, excursions=out.excursions,
                     gaps=out.gaps)


class DispositionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["acceptable", "reject"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                             max_length=1000, pattern=nonblank_at_least(3))]
    signature: SignatureIn = Field(description="your password again: the e-signature")


@router.post("/excursions/{excursion_id}/disposition")
def disposition(session: SessionDep, body: DispositionIn, excursion_id: int = ExcursionId,
                principal: Principal = Depends(QA)) -> ExcursionOut:
    """QA's e-signed decision on an excursion: acceptable (the product may go on) or reject."""
    excursion = service.dispose(session, principal, excursion_id, Disposition(body.decision),
                                body.reason, body.signature.password)
    return ExcursionOut.of(excursion)
