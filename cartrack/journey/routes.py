from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from cartrack import idempotency
from cartrack.audit import service as audit_service
from cartrack.audit.models import AuditOut
from cartrack.db import SessionDep
from cartrack.journey import queries, service
from cartrack.journey import schemas as sc
from cartrack.journey.transitions import (
    PRODUCT_TRACK,
    TERMINAL,
    TRANSITIONS,
    State,
)
from cartrack.pagination import Page
from cartrack.security import SIGNED_IN, Access, Principal

router = APIRouter(prefix="/api", tags=["journey"], route_class=idempotency.Route)
CASE_ACCESS = Access(*service.CASE_ROLES)
CaseId = Path(ge=1, le=2**31 - 1)


@router.get("/journey")
def journey(_: Principal = Depends(SIGNED_IN)) -> sc.JourneyOut:
    """The transition table, read-only: what the UI uses to offer the allowed next actions."""
    return sc.JourneyOut(
        states=[s.value for s in State],
        product_track=[s.value for s in PRODUCT_TRACK],
        side_states=[State.on_hold.value, State.out_of_specification.value, State.cancelled.value],
        terminal=sorted(s.value for s in TERMINAL),
        transitions=[
            sc.TransitionOut(
                event=t.event, from_states=sorted(s.value for s in t.sources),
                to_states=list(t.targets), roles=[r.value for r in t.roles], site=t.site.value,
                guards=list(t.guards), opens=[d.value for d in t.opens],
                closes=[d.value for d in t.closes], signature=t.signature,
                second_signature=t.second_signature, needs_reason=t.needs_reason,
                summary=t.summary,
                data_schema=sc.EVENT_DATA[t.event].model_json_schema()
                if t.event in sc.EVENT_DATA else sc.EnrollIn.model_json_schema(),
            )
            for t in TRANSITIONS
        ],
    )


@router.get("/cases")
def list_cases(session: SessionDep, state: State | None = None,
               q: str | None = Query(None, max_length=40, description="COI or unit ID"),
               limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=10**9),
               principal: Principal = Depends(CASE_ACCESS)) -> Page[sc.CaseSummary]:
    return queries.list_cases(session, principal, state=state.value if state else None, q=q,
                              limit=limit, offset=offset)


@router.post("/cases", status_code=201)
def enroll(session: SessionDep,
           body: sc.EnrollIn, principal: Principal = Depends(CASE_ACCESS)) -> sc.CaseDetail:
    """Enroll a patient: the case is created and its COI issued."""
    case = service.enroll(session, principal, body)
    return queries.detail(session, principal, case)


@router.get("/cases/{case_id}")
def get_case(session: SessionDep,
             case_id: int = CaseId, principal: Principal = Depends(CASE_ACCESS)) -> sc.CaseDetail:
    return queries.detail(session, principal, service.get_case(session, principal, case_id))


@router.post("/cases/{case_id}/events", dependencies=[idempotency.keyed(CASE_ACCESS)])
def apply_event(session: SessionDep, body: sc.EventIn, case_id: int = CaseId,  # type: ignore[valid-type]
                principal: Principal = Depends(CASE_ACCESS)) -> sc.CaseDetail:
    """Apply one journey event. Refused events answer 409 with the state, the failed guard and
    the allowed events; wrong role 403; a case of another site 404."""
    case = service.apply_event(session, principal, case_id, body)
    return queries.detail(session, principal, case)


@router.get("/cases/{case_id}/events")
def timeline(session: SessionDep,
             case_id: int = CaseId, principal: Principal = Depends(CASE_ACCESS)) -> list[sc.EventOut]:
    return queries.timeline(session, service.get_case(session, principal, case_id))


@router.get("/cases/{case_id}/audit")
def case_audit(session: SessionDep, case_id: int = CaseId, limit: int = Query(200, ge=1, le=1000),
               offset: int = Query(0, ge=0, le=10**9),
               principal: Principal = Depends(CASE_ACCESS)) -> Page[AuditOut]:
    case = service.get_case(session, principal, case_id)
    return audit_service.page_for_case(session, case.id or 0, limit, offset,
                                       include_phi=service.can_see_phi(principal, case))



