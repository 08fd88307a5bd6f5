"""The scan station (POST /api/scans) and a case's chain-of-custody report (CSV, PDF)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import Session

from cartrack import idempotency, metrics
from cartrack.db import SessionDep, run_to_end
from cartrack.identity.identifiers import printed_coi, printed_unit
from cartrack.journey.access import CASE_ROLES, visible_case
from cartrack.journey.models import State
from cartrack.journey.schemas import BlockOut
from cartrack.journey.transitions import EventName
from cartrack.scans import report, service
from cartrack.scans.models import ScanReason, Verdict
from cartrack.scans.resolve import MAX_SCAN_CHARS, SCAN_PATTERN
from cartrack.security import Access, Principal
from cartrack.units.models import UnitKind, UnitStatus

router = APIRouter(prefix="/api", tags=["scans"], route_class=idempotency.Route)
SCAN_ACCESS = Access(*CASE_ROLES)
CaseId = Path(ge=1, le=2**31 - 1)
Location = Annotated[str, StringConstraints(
    strip_whitespace=True, min_length=1, max_length=120,
    pattern=r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f\s][^\x00-\x1f\x7f]*$")]


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The shape is declared here and checked by clean_scan, whose refusals say what is wrong
    # in the words of the scan station (too long, control characters, nothing scanned).
    payload: str = Field(json_schema_extra={"minLength": 1, "maxLength": MAX_SCAN_CHARS,
                                            "pattern": SCAN_PATTERN},
                         description="the raw scanned text; a trailing CR/LF and surrounding "
                                     "spaces from a keyboard-wedge scanner are accepted, other "
                                     "control characters are refused")
    action: EventName | None = Field(default=None,
                                     description="the journey step the scan is for, e.g. thaw, "
                                                 "infuse, receive_at_treatment_center")
    location: Location | None = None
    case_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="the case you are working on: a bag or wristband of "
                                            "any other case is then a mismatch")


class ScanOut(BaseModel):
    verdict: Verdict
    reason: ScanReason | None = Field(description="stable code; null on a match")
    message: str = Field(description="one plain sentence for the person scanning")
    kind: Literal["unit", "wristband"] | None
    unit_id: str | None
    unit_id_check: str | None
    unit_kind: UnitKind | None
    unit_status: UnitStatus | None
    wristband_id: str | None
    case_id: int | None
    coi: str | None
    coi_check: str | None
    state: State | None
    allowed_actions: list[EventName] = Field(description="what you may do with this case now")
    blocked_by: BlockOut | None = Field(
        description="the scan matches, but a guard blocks the step for now")
    action: EventName | None
    context_case_id: int | None = Field(
        description="at the bedside: the case of the wristband scanned before this bag")
    alert_id: int | None
    custody_event_id: int
    scanned_at: datetime


@router.post("/scans", dependencies=[idempotency.keyed(SCAN_ACCESS)])
async def post_scan(session: SessionDep, body: ScanIn,
                    principal: Principal = Depends(SCAN_ACCESS)) -> ScanOut:
    """Judge a scan and record it (a custody event and an audit entry), match or mismatch.

    A mismatch is an answer, not an error: 200 with ``verdict: mismatch`` and the reason.
    Input that cannot be a scan (over 1 KB, control characters, nothing) is refused with 422.
    """
    # The busiest write: its database work, the commit and the answer's values take one
    # worker-thread hop; only serialisation follows the commit (a sync route would take two
    # more hops).
    out = await run_to_end(session, partial(
        _scan_answer, session, principal, body.payload,
        action=body.action.value if body.action else None, location=body.location,
        for_case=body.case_id))
    metrics.SCANS.labels(out.verdict.value).inc()
    return out


def _scan_answer(session: Session, principal: Principal, payload: str, *, action: str | None,
                 location: str | None, for_case: int | None) -> ScanOut:
    return scan_out(service.scan(session, principal, payload, action=action, location=location,
                                 for_case=for_case))


def _kind(kind: str) -> Literal["unit", "wristband"] | None:
    return "unit" if kind == "unit" else "wristband" if kind == "wristband" else None


def scan_out(result: service.ScanResult) -> ScanOut:
    res, case, row = result.resolved, result.case, result.event
    shown = case is not None
    unit = res.unit if shown else None
    band = res.wristband if shown else None
    action = next((a for a in result.actions if a.event == row.action), None)
    return ScanOut(
        verdict=result.judgement.verdict, reason=result.judgement.reason,
        message=result.judgement.message, kind=_kind(res.kind) if shown else None,
        blocked_by=action.blocked_by if action and result.judgement.reason is None else None,
        unit_id=unit.unit_id if unit else None,
        unit_id_check=printed_unit(unit.unit_id).check if unit else None,
        unit_kind=unit.kind if unit else None, unit_status=unit.status if unit else None,
        wristband_id=band.wristband_id if band else None,
        case_id=case.id if case else None, coi=case.coi if case else None,
        coi_check=printed_coi(case.coi).check if case else None,
        state=case.state if case else None,
        allowed_actions=[EventName(e) for e in result.allowed] if shown else [],
        action=EventName(row.action) if row.action else None,
        context_case_id=result.context.id if result.context else None,
        alert_id=result.alert_id, custody_event_id=row.id or 0, scanned_at=row.at,
    )


@router.get("/cases/{case_id}/custody.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def custody_csv(session: SessionDep,
                case_id: int = CaseId, principal: Principal = Depends(SCAN_ACCESS)) -> Response:
    """The chain of custody: COI, units and lineage, every event, handoff, scan, label print
    and signature (printed name, time, meaning)."""
    case = visible_case(session, principal, case_id)
    data = report.build(session, case)
    return Response(report.to_csv(data).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers=_download(f"custody-{case.coi}.csv"))


@router.get("/cases/{case_id}/custody.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def custody_pdf(session: SessionDep,
                case_id: int = CaseId, principal: Principal = Depends(SCAN_ACCESS)) -> Response:
    """The chain of custody as a printable PDF report."""
    case = visible_case(session, principal, case_id)
    data = report.build(session, case)
    return Response(report.to_pdf(data), media_type="application/pdf",
                    headers=_download(f"custody-{case.coi}.pdf"))


def _download(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store"}
