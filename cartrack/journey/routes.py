"""The journey over HTTP: the table, cases, events, timeline and audit."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from cartrack import idempotency
from cartrack.audit import service as audit_service
from cartrack.audit.models import AuditOut
from cartrack.db import SessionDep
from cartrack.journey import queries
from cartrack.journey import schemas as sc
from cartrack.journey.access import CASE_ROLES, can_see_phi, visible_case
from cartrack.journey.actions import journey_out
from cartrack.journey.engine import apply_event as apply
from cartrack.journey.enroll import enroll as enroll_case
from cartrack.journey.events import EnrollIn, EventIn
from cartrack.journey.models import State
from cartrack.pagination import Page
from cartrack.security import SIGNED_IN, Access, Principal

router = APIRouter(prefix="/api", tags=["journey"], route_class=idempotency.Route)
CASE_ACCESS = Access(*CASE_ROLES)
CaseId = Path(ge=1, le=2**31 - 1)
Search = Query(None, min_length=1, max_length=40, pattern=r"^[^\x00]*$",
               description="COI or unit ID, with or without the check character; for users "
                           "who may see patient details, also a patient's name, MRN or date of "
                           "birth (YYYY-MM-DD)")


@router.get("/journey")
def journey(_: Principal = Depends(SIGNED_IN)) -> sc.JourneyOut:
    """The transition table, read-only: every event's roles, site, expected scans, guards,
    deadlines, signatures and data schema."""
    return journey_out()


@router.get("/cases")
def list_cases(session: SessionDep, state: list[State] = Query([], max_length=20),
               q: str | None = Search, limit: int = Query(50, ge=1, le=200),
               offset: int = Query(0, ge=0, le=10**9),
               principal: Principal = Depends(CASE_ACCESS)) -> Page[sc.CaseSummary]:
    return queries.list_cases(session, principal, states=state, q=q, limit=limit, offset=offset)


@router.post("/cases", status_code=201)
def enroll(session: SessionDep, body: EnrollIn,
           principal: Principal = Depends(CASE_ACCESS)) -> sc.CaseDetail:
    """Enroll a patient: the case is created and its COI issued."""
    return queries.detail(session, principal, enroll_case(session, principal, body))


@router.get("/cases/{case_id}")
def get_case(session: SessionDep, case_id: int = CaseId,
             principal: Principal = Depends(CASE_ACCESS)) -> sc.CaseDetail:
    """The case page, with ``actions``: every event you may apply now, or the guard that
    blocks it."""
    return queries.detail(session, principal, visible_case(session, principal, case_id))


@router.post("/cases/{case_id}/events", dependencies=[idempotency.keyed(CASE_ACCESS)])
def apply_event(session: SessionDep, body: EventIn, case_id: int = CaseId,
                principal: Principal = Depends(CASE_ACCESS)) -> sc.CaseDetail:
    """Apply one journey event. Refused events answer 409 with the state, the failed guard and
    the allowed events; wrong role 403; a case of another site 404."""
    return queries.detail(session, principal, apply(session, principal, case_id, body))


@router.get("/cases/{case_id}/events")
def timeline(session: SessionDep, case_id: int = CaseId,
             principal: Principal = Depends(CASE_ACCESS)) -> list[sc.EventOut]:
    return queries.timeline(session, visible_case(session, principal, case_id))


@router.get("/cases/{case_id}/audit")
def case_audit(session: SessionDep, case_id: int = CaseId,
               limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9),
               principal: Principal = Depends(CASE_ACCESS)) -> Page[AuditOut]:
    case = visible_case(session, principal, case_id)
    return audit_service.page_for_case(session, case.id or 0, limit, offset,
                                       include_phi=can_see_phi(principal, case))
