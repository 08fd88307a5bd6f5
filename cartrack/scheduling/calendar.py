"""The coordinator's calendar: every visible case's planned (from its slot's plan, else the
case's own planned dates) and actual collections, manufacturing starts, releases, deliveries,
lymphodepletion starts and infusions, each on the local day of the site where it happens.
COIs only: no patient data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.errors import Conflict, NotFound
from cartrack.journey.access import visible_site_filter
from cartrack.journey.models import Case
from cartrack.protocols.models import Protocol
from cartrack.scheduling.models import COUNTED, SlotReservation
from cartrack.security import Principal
from cartrack.users.models import Site

MAX_DAYS = 92
# kind -> (the plan's key, the case milestone with the actual moment, the site where it happens)
KINDS: dict[str, tuple[str, str, str]] = {
    "collection": ("apheresis", "collected_at", "collection"),
    "manufacturing_start": ("manufacturing_start", "manufacturing_started_at", "manufacturing"),
    "release": ("release", "released_at", "manufacturing"),
    "delivery": ("delivery", "received_at_treatment_center_at", "treatment"),
    "ld_start": ("ld_start", "ld_started_on", "treatment"),
    "infusion": ("infusion", "infused_at", "treatment"),
}


class CalendarEntry(BaseModel):
    day: date
    kind: str
    planned: bool  # False: it happened
    case_id: int
    coi: str
    product: str
    site: str
    slot_status: str | None = None


def _actual(value: Any, tz: str) -> date | None:
    if not value:
        return None
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    return clock.local_date(clock.as_utc(datetime.fromisoformat(text)), tz)


def _planned(case: Case, res: SlotReservation | None) -> dict[str, date]:
    if res is not None:
        return {kind: date.fromisoformat(res.plan[key]) for kind, (key, _, _) in KINDS.items()
                if res.plan.get(key)}
    out = {}
    if case.collection_date:
        out["collection"] = case.collection_date
    if case.planned_infusion_date:
        out["infusion"] = case.planned_infusion_date
    return out


def calendar(session: Session, principal: Principal, start: date, end: date,
             site_code: str | None = None, product: str | None = None,
             max_days: int = MAX_DAYS) -> list[CalendarEntry]:
    if end < start:
        raise Conflict(f"The range ends ({end}) before it starts ({start}).", code="bad_range")
    if (end - start).days >= max_days:
        raise Conflict(f"The calendar shows at most {max_days} days.", code="range_too_long")
    sites = {s.id: s for s in session.exec(select(Site)).all()}
    only = None
    if site_code is not None:
        only = next((s for s in sites.values() if s.code == site_code), None)
        if only is None:
            raise NotFound(f"No site with code {site_code!r}.", code="site_not_found")
    query = select(Case, Protocol.product).join(Protocol, col(Protocol.id) == Case.protocol_id)
    query = query.where(visible_site_filter(principal))
    if product:
        query = query.where(Protocol.product == product)
    if only is not None:
        query = query.where((col(Case.collection_site_id) == only.id)
                            | (col(Case.manufacturing_site_id) == only.id)
                            | (col(Case.treatment_site_id) == only.id))
    rows = session.exec(query.order_by(col(Case.id))).all()
    slots: dict[int, SlotReservation] = {}
    for row in session.exec(select(SlotReservation).where(
            col(SlotReservation.status).in_([s.value for s in COUNTED]))
            .order_by(col(SlotReservation.id))).all():
        slots[row.case_id] = row
    out = []
    for case, prod in rows:
        res = slots.get(case.id or 0)
        planned = _planned(case, res)
        for kind, (_, milestone, scope) in KINDS.items():
            site = sites[getattr(case, f"{scope}_site_id")]
            if only is not None and site.id != only.id:
                continue
            days = [(planned.get(kind), True),
                    (_actual(case.milestones.get(milestone), site.timezone), False)]
            for day, is_plan in days:
                if day is not None and start <= day <= end:
                    out.append(CalendarEntry(
                        day=day, kind=kind, planned=is_plan, case_id=case.id or 0, coi=case.coi,
                        product=prod, site=site.code,
                        slot_status=res.status.value if res else None))
    return sorted(out, key=lambda e: (e.day, e.site, e.coi, e.kind, e.planned))
