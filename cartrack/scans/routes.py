"""The scan station (POST /api/scans) and a case's chain-of-custody report (CSV, PDF)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cartrack import idempotency, metrics
from cartrack.db import SessionDep
from cartrack.identity.identifiers import printed_coi, printed_unit
from cartrack.journey import service as journey
from cartrack.scans import report, service
from cartrack.security import Access, Principal

router = APIRouter(prefix="/api", tags=["scans"], route_class=idempotency.Route)
SCAN_ACCESS = Access(*service.CASE_ROLES)
CaseId = Path(ge=1, le=2**31 - 1)
Location = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120,
                                            pattern=r"^[^\x00-\x1f\x7f]*$")]


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payload: str = Field(description="the raw scanned text (at most 1 KB); a trailing CR/LF "
                                     "and surrounding spaces from a keyboard-wedge scanner are "
                                     "accepted, other control characters are refused")
    action: str | None = Field(default=None, max_length=40,
                               description="the journey step the scan is for, e.g. thaw, "
                                           "infuse, receive_at_treatment_center")
    location: Location | None = None


class ScanOut(BaseModel):
    verdict: Literal["match", "mismatch"]
    reason: str | None = Field(description="stable code; null on a match")
    message: str = Field(description="one plain sentence for the person scanning")
    kind: Literal["unit", "wristband"] | None
    unit_id: str | None
    unit_id_check: str | None
    unit_kind: str | None
    unit_status: str | None
    wristband_id: str | None
    case_id: int | None
    coi: str | None
    coi_check: str | None
    state: str | None
    allowed_actions: list[str]
    action: str | None
    context_case_id: int | None = Field(
        description="at the bedside: the case of the wristband scanned before this bag")
    alert_id: int | None
    custody_event_id: int
    scanned_at: datetime


@router.post("/scans", dependencies=[idempotency.keyed(SCAN_ACCESS)])
def post_scan(session: SessionDep, body: ScanIn, principal: Principal = Depends(SCAN_ACCESS)) -> ScanOut:
    """Judge a scan and record it (a custody event and an audit entry), match or mismatch.

    A mismatch is an answer, not an error: 200 with ``verdict: mismatch`` and the reason.
    Input that cannot be a scan (over 1 KB, control characters, nothing) is refused with 422.
    """
    result = service.scan(session, principal, body.payload, action=body.action,
                          location=body.location)
    metrics.SCANS.labels(result.verdict.verdict).inc()
    return scan_out(result)


def scan_out(result: service.ScanResult) -> ScanOut:
    res, case, row = result.resolved, result.case, result.event
    shown = case is not None
    unit = res.unit if shown else None
    band = res.wristband if shown else None
    return ScanOut(
        verdict=result.verdict.verdict,  # type: ignore[arg-type]
        reason=result.verdict.reason, message=result.verdict.message,
        kind=res.kind if shown and res.kind in ("unit", "wristband") else None,  # type: ignore[arg-type]
        unit_id=unit.unit_id if unit else None,
        unit_id_check=printed_unit(unit.unit_id).check if unit else None,
        unit_kind=unit.kind if unit else None, unit_status=unit.status if unit else None,
        wristband_id=band.wristband_id if band else None,
        case_id=case.id if case else None, coi=case.coi if case else None,
        coi_check=printed_coi(case.coi).check if case else None,
        state=case.state if case else None, allowed_actions=result.allowed,
        action=row.action, context_case_id=result.context.id if result.context else None,
        alert_id=result.alert_id, custody_event_id=row.id or 0, scanned_at=row.at,
    )


@router.get("/cases/{case_id}/custody.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def custody_csv(session: SessionDep,
                case_id: int = CaseId, principal: Principal = Depends(SCAN_ACCESS)) -> Response:
    """The chain of custody: COI, units and lineage, every event, handoff, scan, label print
    and signature (printed name, time, meaning)."""
    case = journey.get_case(session, principal, case_id)
    data = report.build(session, case)
    return Response(report.to_csv(data).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers=_download(f"custody-{case.coi}.csv"))


@router.get("/cases/{case_id}/custody.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def custody_pdf(session: SessionDep,
                case_id: int = CaseId, principal: Principal = Depends(SCAN_ACCESS)) -> Response:
    """The chain of custody as a printable PDF report."""
    case = journey.get_case(session, principal, case_id)
    data = report.build(session, case)
    return Response(report.to_pdf(data), media_type="application/pdf",
                    headers=_download(f"custody-{case.coi}.pdf"))


def _download(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store"}
