"""Scheduling over HTTP: the capacity calendar, availability, and a case's slot."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Response

from cartrack import idempotency
from cartrack.db import SessionDep
from cartrack.journey.access import CASE_ROLES
from cartrack.scheduling import calendar as cal
from cartrack.scheduling import capacity, feed, service
from cartrack.scheduling.models import (
    AvailabilityDay,
    CapacityIn,
    CapacityOut,
    ConfirmIn,
    FeedCreated,
    FeedStatus,
    HoldIn,
    ReleaseIn,
    RescheduleIn,
    SlotOut,
    WeeklyPatternIn,
)
from cartrack.security import PUBLIC, SIGNED_IN, Access, Principal
from cartrack.users.models import Role

router = APIRouter(tags=["scheduling"], route_class=idempotency.Route)
PLANNER = Access(Role.manufacturing_planner, Role.admin)
BOOKER = Access(Role.coordinator)
CASE_ACCESS = Access(*CASE_ROLES)
CaseId = Path(ge=1, le=2**31 - 1)
Facility = Path(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
                description="a manufacturing facility's site code")
Product = Path(min_length=2, max_length=40, pattern=r"^[a-z0-9_-]+$",
               description="a protocol key, as in /api/protocols")


@router.put("/api/slots/capacity/{facility}/{product}/{day}")
def set_capacity(session: SessionDep, body: CapacityIn, day: date, facility: str = Facility,
                 product: str = Product, principal: Principal = Depends(PLANNER)) -> CapacityOut:
    """One day's capacity (0 = closed): a manufacturing planner at the facility, or an admin."""
    return capacity.set_day(session, principal, facility, product, day, body)


@router.put("/api/slots/capacity/{facility}/{product}")
def set_weekly_pattern(session: SessionDep, body: WeeklyPatternIn, facility: str = Facility,
                       product: str = Product, principal: Principal = Depends(PLANNER)
                       ) -> list[CapacityOut]:
    """A capacity per weekday over a date range; all days change or none."""
    return capacity.set_pattern(session, principal, facility, product, body)


@router.get("/api/slots/availability")
def availability(session: SessionDep,
                 facility: str = Query(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$"),
                 product: str = Query(min_length=2, max_length=40, pattern=r"^[a-z0-9_-]+$"),
                 start: date = Query(), end: date = Query(),
                 principal: Principal = Depends(SIGNED_IN)) -> list[AvailabilityDay]:
    """Per day: capacity, booked, open; and the bookings you may see (never another site's
    cases)."""
    return capacity.availability(session, principal, facility, product, start, end)


@router.get("/api/cases/{case_id}/slot")
def get_slot(session: SessionDep, case_id: int = CaseId,
             principal: Principal = Depends(CASE_ACCESS)) -> SlotOut:
    """The case's active slot (held or confirmed), else its latest, with the stored plan."""
    return service.get_slot(session, principal, case_id)


@router.post("/api/cases/{case_id}/slot", status_code=201)
def hold(session: SessionDep, body: HoldIn, case_id: int = CaseId,
         principal: Principal = Depends(BOOKER)) -> SlotOut:
    """Hold a manufacturing start day at the case's facility; the plan is derived from the
    product's lead times. 409 slot_full lists the next open days; 409 case_has_slot."""
    return service.hold(session, principal, case_id, body)


@router.post("/api/cases/{case_id}/slot/confirm")
def confirm(session: SessionDep, body: ConfirmIn, case_id: int = CaseId,
            principal: Principal = Depends(BOOKER)) -> SlotOut:
    """Confirm the held slot with your e-signature."""
    return service.confirm(session, principal, case_id, body.signature.password)


@router.post("/api/cases/{case_id}/slot/reschedule")
def reschedule(session: SessionDep, body: RescheduleIn, case_id: int = CaseId,
               principal: Principal = Depends(BOOKER)) -> SlotOut:
    """Move the slot: the new hold and the release of the old one together, or nothing."""
    return service.reschedule(session, principal, case_id, body)


@router.post("/api/cases/{case_id}/slot/release")
def release(session: SessionDep, body: ReleaseIn, case_id: int = CaseId,
            principal: Principal = Depends(BOOKER)) -> SlotOut:
    """Give the slot back, with a reason."""
    return service.release(session, principal, case_id, body)


@router.post("/api/cases/{case_id}/slot/recompute")
def recompute(session: SessionDep, case_id: int = CaseId,
              principal: Principal = Depends(BOOKER)) -> SlotOut:
    """Derive the slot's plan again from the product's current lead times (audited); a
    stored plan otherwise keeps the rule version it was made with."""
    return service.recompute(session, principal, case_id)


@router.get("/api/calendar")
def calendar(session: SessionDep,
             start: date = Query(description="first day (site-local)"),
             end: date = Query(description="last day, inclusive; at most 92 days"),
             site: str | None = Query(None, min_length=2, max_length=32,
                                      pattern=r"^[A-Za-z0-9_-]+$",
                                      description="only what happens at this site"),
             product: str | None = Query(None, min_length=2, max_length=40,
                                         pattern=r"^[a-z0-9_-]+$"),
             principal: Principal = Depends(CASE_ACCESS)) -> list[cal.CalendarEntry]:
    """Planned and actual collections, manufacturing starts, releases, deliveries,
    lymphodepletion starts and infusions of the cases you may see, by COI, per day."""
    return cal.calendar(session, principal, start, end, site, product)


@router.get("/api/calendar/feed")
def feed_status(session: SessionDep, principal: Principal = Depends(CASE_ACCESS)) -> FeedStatus:
    """Whether you have an active iCalendar feed (its address is shown only when made)."""
    return feed.status(session, principal)


@router.post("/api/calendar/feed", status_code=201)
def create_feed(session: SessionDep, principal: Principal = Depends(CASE_ACCESS)) -> FeedCreated:
    """A secret iCalendar address of your calendar, shown in this answer only; it replaces
    (revokes) the one you had."""
    return feed.create(session, principal)


@router.delete("/api/calendar/feed", status_code=204)
def revoke_feed(session: SessionDep, principal: Principal = Depends(CASE_ACCESS)) -> Response:
    """Revoke your iCalendar feed: its address answers 404 from now on."""
    feed.revoke(session, principal)
    return Response(status_code=204)


ICS_OK: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {"schema": {"type": "string"}}},
          "description": "An iCalendar (RFC 5545) feed"}}


@router.get("/api/calendar/feed/{token}.ics", response_class=Response, responses=ICS_OK,
            dependencies=[Depends(PUBLIC)])
def feed_ics(session: SessionDep,
             token: str = Path(min_length=43, max_length=43, pattern=feed.TOKEN_PATTERN,
                               description="the feed's secret token")) -> Response:
    """Your calendar, 30 days back and 120 ahead, as all-day events by COI (no patient
    data). No session: the token is the credential; a revoked or unknown token, or a disabled
    account, answers 404."""
    return Response(feed.ics(session, token), media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, no-store"})
