"""Each visible case's milestones, read from its own timeline (the journey's case events).

The timeline is append-only, so the milestones are what happened: the first apheresis (the
patient's clock starts there), the latest collection and manufacturing start (the attempt that
went on after a recollection), release (or exceptional release), receipt, lymphodepletion,
thaw and infusion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from cartrack.alerts.models import Deadline
from cartrack.clock import as_utc
from cartrack.journey import access as case_access
from cartrack.journey.models import Case, CaseEvent
from cartrack.journey.transitions import TERMINAL
from cartrack.protocols.models import Protocol
from cartrack.security import Principal
from cartrack.users.models import Role, Site

EVENTS = ("record_collection", "start_manufacturing", "release", "report_out_of_spec",
          "decide_out_of_spec", "receive_at_treatment_center", "start_lymphodepletion", "thaw",
          "infuse")


@dataclass
class CaseMilestones:
    case_id: int
    coi: str
    state: str
    product: str
    sites: dict[str, Site]  # collection, manufacturing, treatment
    first_collected: datetime | None = None
    collected: datetime | None = None
    mfg_started: datetime | None = None
    released: datetime | None = None
    received: datetime | None = None
    ld_started: date | None = None
    thawed: datetime | None = None
    infused: datetime | None = None
    oos_reported: bool = False
    oos_released: bool = False
    shipment_deadlines: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def tz(self, which: str) -> str:
        return self.sites[which].timezone

    def site_code(self, which: str) -> str:
        return self.sites[which].code


def visible(principal: Principal) -> Any:
    """Admins see the aggregates of every site (analytics carry no patient details); everyone
    else sees the cases the case rules let them see."""
    if principal.holds(Role.admin.value, None):
        return True
    return case_access.visible_site_filter(principal)


def load(session: Session, principal: Principal) -> list[CaseMilestones]:
    where = visible(principal)
    sites = {s.id: s for s in session.exec(select(Site)).all()}
    products = {p.id: p.product for p in session.exec(select(Protocol)).all()}
    # Columns, not Case objects: the milestones JSON and the ORM objects are not needed here.
    columns = (Case.id, Case.coi, Case.state, Case.protocol_id, Case.collection_site_id,
               Case.manufacturing_site_id, Case.treatment_site_id)
    rows = session.execute(sa_select(*(col(c) for c in columns)).where(where)
                           .order_by(col(Case.id))).all()
    cases = {
        cid: CaseMilestones(
            case_id=cid or 0, coi=coi, state=state, product=products[protocol_id],
            sites={"collection": sites[collection], "manufacturing": sites[manufacturing],
                   "treatment": sites[treatment]})
        for cid, coi, state, protocol_id, collection, manufacturing, treatment in rows
    }
    ids = select(Case.id).where(where)
    events = session.exec(select(CaseEvent.case_id, CaseEvent.event, CaseEvent.at, CaseEvent.data)
                          .where(col(CaseEvent.event).in_(EVENTS), col(CaseEvent.case_id).in_(ids))
                          .order_by(col(CaseEvent.id))).all()
    for case_id, event, at, data in events:
        _apply(cases[case_id], event, as_utc(at), data or {})
    deadlines = session.exec(select(Deadline.case_id, Deadline.status, Deadline.due_at)
                             .where(Deadline.kind == "shipment_arrival",
                                    col(Deadline.case_id).in_(ids))
                             .order_by(col(Deadline.id))).all()
    for case_id, status, due_at in deadlines:
        cases[case_id].shipment_deadlines.append((status, as_utc(due_at)))
    return list(cases.values())


def _apply(m: CaseMilestones, event: str, at: datetime, data: Mapping[str, Any]) -> None:
    if event == "record_collection":
        end = as_utc(datetime.fromisoformat(data["collection_end"])) \
            if data.get("collection_end") else at
        m.first_collected = m.first_collected or end
        m.collected = end
    elif event == "start_manufacturing":
        m.mfg_started = at
    elif event == "release":
        m.released = at
    elif event == "report_out_of_spec":
        m.oos_reported = True
    elif event == "decide_out_of_spec" and data.get("decision") == "exceptional_release":
        m.released, m.oos_released = at, True
    elif event == "receive_at_treatment_center":
        m.received = at
    elif event == "start_lymphodepletion" and data.get("start_date"):
        m.ld_started = date.fromisoformat(data["start_date"])
    elif event == "thaw":
        m.thawed = at
    elif event == "infuse":
        m.infused = at
