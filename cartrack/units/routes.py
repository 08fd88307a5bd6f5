"""A bag's chain of custody: who held it, where and when, and every scan with its verdict."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel
from sqlmodel import col, select

from cartrack.db import SessionDep
from cartrack.errors import NotFound
from cartrack.identity.identifiers import UNIT_REF_PATTERN, printed_coi, printed_unit
from cartrack.journey.access import CASE_ROLES, can_see
from cartrack.journey.models import Case
from cartrack.labels.service import parse_unit_ref
from cartrack.scans.models import CustodyEvent
from cartrack.security import Access, Principal
from cartrack.units.models import Unit, Wristband
from cartrack.users.models import Site

router = APIRouter(prefix="/api", tags=["units"])
UNIT_ACCESS = Access(*CASE_ROLES)
UnitRef = Path(pattern=UNIT_REF_PATTERN, description="unit ID: 15 characters, or typed "
               "with its check character")


class CustodyEventOut(BaseModel):
    id: int
    at: datetime
    holder: str
    site: str | None
    location: str | None
    kind: str
    action: str | None
    verdict: str
    reason: str | None
    message: str
    wristband_id: str | None
    for_this_case: bool


class LineageOut(BaseModel):
    unit_id: str
    unit_id_check: str
    kind: str
    status: str


class UnitCustodyOut(BaseModel):
    unit_id: str
    unit_id_check: str
    kind: str
    status: str
    case_id: int
    coi: str
    coi_check: str
    parent: LineageOut | None
    children: list[LineageOut]
    events: list[CustodyEventOut]


def _lineage(unit: Unit) -> LineageOut:
    return LineageOut(unit_id=unit.unit_id, unit_id_check=printed_unit(unit.unit_id).check,
                      kind=unit.kind, status=unit.status)


@router.get("/units/{unit_id}/custody")
def unit_custody(session: SessionDep,
                 unit_id: str = UnitRef, principal: Principal = Depends(UNIT_ACCESS)) -> UnitCustodyOut:
    """Every custody event of a bag, oldest first: handoffs, process scans, scan-station scans
    (passed or failed, wherever the bag was scanned), with the bag's lineage."""
    bare = parse_unit_ref(unit_id)
    unit = session.exec(select(Unit).where(Unit.unit_id == bare)).first()
    case = session.get(Case, unit.case_id) if unit is not None else None
    if unit is None or case is None or not can_see(principal, case):
        raise NotFound(f"No unit {bare}.", code="unit_not_found")
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    children = session.exec(select(Unit).where(Unit.parent_id == unit.id)
                            .order_by(col(Unit.id))).all()
    rows = session.exec(select(CustodyEvent).where(CustodyEvent.unit_pk == unit.id)
                        .order_by(col(CustodyEvent.at), col(CustodyEvent.id))).all()
    sites = {s.id: s.code for s in session.exec(select(Site)).all()}
    band_pks = {r.wristband_pk for r in rows if r.wristband_pk}
    bands = {b.id: b.wristband_id for b in session.exec(
        select(Wristband).where(col(Wristband.id).in_(band_pks)))} if band_pks else {}
    coi = printed_coi(case.coi)
    return UnitCustodyOut(
        unit_id=unit.unit_id, unit_id_check=printed_unit(unit.unit_id).check, kind=unit.kind,
        status=unit.status, case_id=case.id or 0, coi=coi.value, coi_check=coi.check,
        parent=_lineage(parent) if parent else None,
        children=[_lineage(c) for c in children],
        events=[CustodyEventOut(
            id=r.id or 0, at=r.at, holder=r.holder_name, site=sites.get(r.site_id),
            location=r.location, kind=r.kind, action=r.action, verdict=r.verdict,
            reason=r.reason, message=r.message, wristband_id=bands.get(r.wristband_pk),
            for_this_case=r.case_id in (None, case.id)) for r in rows],
    )
