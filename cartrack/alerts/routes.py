"""In-app alerts: the list, the badge count, acknowledgement, the live stream (SSE), and the
outbound delivery log for admins."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from cartrack.alerts import inbox
from cartrack.alerts.inbox import AlertOut, DeliveryOut, SummaryOut
from cartrack.alerts.service import Memberships
from cartrack.db import SessionDep, new_session
from cartrack.pagination import Page
from cartrack.security import ADMIN, SIGNED_IN, Principal, still_admitted
from cartrack.settings import get_settings

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
AlertId = Path(ge=1, le=2**31 - 1)

STREAM_POLL_SECONDS = 0.3
STREAM_PING_SECONDS = 15
STREAM_BATCH = 200
# A stream re-checks its session this often, and before every alert it sends: it closes on
# logout, idle expiry, a disabled account or a change of roles or sites.
STREAM_RECHECK_SECONDS = 2.0
# A stream ends after this long anyway; the client reconnects with Last-Event-ID.
STREAM_MAX_SECONDS = 600


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=1000)


@router.get("")
def list_alerts(session: SessionDep, status: Literal["fired", "acknowledged"] | None = None,
    severity: Literal["info", "warning", "critical"] | None = None,
    case_id: int | None = Query(None, ge=1, le=2**31 - 1),
    unacknowledged: bool = False,
    limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=10**9),
    principal: Principal = Depends(SIGNED_IN),
) -> Page[AlertOut]:
    """Alerts for the roles you hold at your sites (fired or acknowledged; not those still to
    come), most recent activity first: firing, escalation or acknowledgement."""
    f = inbox.AlertFilter(status=status, severity=severity, case_id=case_id,
                            unacknowledged=unacknowledged)
    items, total = inbox.list_alerts(session, principal, f, limit, offset)
    return Page[AlertOut](items=items, total=total, limit=limit, offset=offset)


@router.get("/summary")
def alert_summary(session: SessionDep, principal: Principal = Depends(SIGNED_IN)) -> SummaryOut:
    """The badge: how many of your alerts are unacknowledged, and how many of those critical."""
    return inbox.summary(session, principal)


@router.get("/deliveries")
def deliveries(session: SessionDep,
               status: Literal["pending", "sending", "delivered", "failed"] | None = None,
    channel: Literal["email", "webhook"] | None = None,
    alert_id: int | None = Query(None, ge=1, le=2**31 - 1),
    limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=10**9),
    _: Principal = Depends(ADMIN),
) -> Page[DeliveryOut]:
    """The outbound delivery log (e-mail, webhooks): admins see failures here."""
    items, total = inbox.list_deliveries(session, status=status, channel=channel,
                                           alert_id=alert_id, limit=limit, offset=offset)
    return Page[DeliveryOut](items=items, total=total, limit=limit, offset=offset)


STREAM_RESPONSES: dict[int | str, dict[str, object]] = {200: {
    "description": "An endless text/event-stream: `alert` events (id: the feed position, data: "
                   "the alert as JSON) and keep-alive comments.",
    # Each `data:` line is an AlertOut as JSON (JSON Schema's contentMediaType/contentSchema).
    "content": {"text/event-stream": {"schema": {
        "type": "string", "contentMediaType": "application/json",
        "contentSchema": {"$ref": "#/components/schemas/AlertOut"}}}}}}


@router.get("/stream", response_class=EventSourceResponse, responses=STREAM_RESPONSES)
def stream(session: SessionDep, request: Request,
    last_event_id: int | None = Query(None, ge=0, le=2**62, description="resume after this event id"),
    last_event_header: str | None = Header(None, alias="Last-Event-ID"),
    principal: Principal = Depends(SIGNED_IN),
) -> EventSourceResponse:
    """Server-Sent Events: each alert of yours as it fires, escalates or is acknowledged.
    The event id is the alert's feed position (`fire_seq`); reconnect with Last-Event-ID (or
    ?last_event_id=) to receive everything after it first. A comment every 15 s keeps the
    connection alive. The stream closes within seconds of a logout, an idle expiry, a disabled
    account or a change of your roles or sites, and never sends an alert after it."""
    after = _resume_point(last_event_header, last_event_id)
    if after is None:
        after = inbox.feed_head(session)
    # Release the request's connection now: the stream polls with short sessions of its own.
    session.rollback()
    session.close()
    assert principal.auth_id is not None
    return EventSourceResponse(_events(request, principal.auth_id, list(principal.memberships),
                                       after), ping=STREAM_PING_SECONDS)


@router.get("/{alert_id}")
def get_alert(session: SessionDep,
              alert_id: int = AlertId, principal: Principal = Depends(SIGNED_IN)) -> AlertOut:
    return inbox.to_out(session, [inbox.get_visible(session, principal, alert_id)])[0]


@router.post("/{alert_id}/ack")
def acknowledge(session: SessionDep, alert_id: int = AlertId, body: AckIn | None = Body(None),
                principal: Principal = Depends(SIGNED_IN)) -> AlertOut:
    """Acknowledge an alert targeted at you (audited). Not yours: 404. Already acknowledged: 409."""
    alert = inbox.acknowledge(session, principal, alert_id, body.note if body else None)
    return inbox.to_out(session, [alert])[0]


# ---- the live stream -------------------------------------------------------------------


def _resume_point(header: str | None, query: int | None) -> int | None:
    if header and header.strip().isdigit():
        return int(header.strip())
    return query


class _Head:
    """The newest feed position, shared by every stream of this process and refreshed at most
    every STREAM_POLL_SECONDS: idle streams then cost one cheap query per interval in all."""

    def __init__(self) -> None:
        self.by_url: dict[str, tuple[float, int]] = {}

    def value(self) -> int:
        url = get_settings().database_url
        checked, value = self.by_url.get(url, (0.0, 0))
        if time.monotonic() - checked >= STREAM_POLL_SECONDS * 0.8:
            with new_session(read_only=True) as session:
                value = inbox.feed_head(session)
            self.by_url[url] = (time.monotonic(), value)
        return value


_head = _Head()


def _poll(memberships: Memberships, after: int) -> tuple[list[AlertOut], int]:
    """New alerts of this user, and where to continue. Positions are handed out in commit
    order, so everything up to a head read earlier is visible now: a stream whose user sees
    none of the newest alerts moves past them instead of querying for them again."""
    head = _head.value()
    if head <= after:
        return [], after
    with new_session(read_only=True) as session:
        batch = inbox.feed_after(session, memberships, after, STREAM_BATCH)
    last = batch[-1].fire_seq or after if batch else after
    return batch, last if len(batch) == STREAM_BATCH else max(last, head)


async def _events(request: Request, auth_id: int, memberships: Memberships, after: int
                  ) -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(comment="cartrack alerts", retry=2000)
    ends = time.monotonic() + STREAM_MAX_SECONDS
    checked = time.monotonic()
    while time.monotonic() < ends and not await request.is_disconnected():
        if time.monotonic() - checked >= STREAM_RECHECK_SECONDS:
            if not await run_in_threadpool(still_admitted, auth_id, memberships):
                return
            checked = time.monotonic()
        batch, after = await run_in_threadpool(_poll, memberships, after)
        if batch:
            if not await run_in_threadpool(still_admitted, auth_id, memberships):
                return
            checked = time.monotonic()
        for alert in batch:
            yield ServerSentEvent(data=alert.model_dump_json(), event="alert",
                                  id=str(alert.fire_seq))
        if len(batch) < STREAM_BATCH:
            await asyncio.sleep(STREAM_POLL_SECONDS)
