"""Bags and wristbands: creation with ISBT-shaped identifiers, lineage, lookup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.identity.identifiers import make_unit_id
from cartrack.identity.service import allocate_din
from cartrack.journey.models import Case
from cartrack.security import Principal
from cartrack.units.models import Unit, UnitKind, UnitStatus, Wristband
from cartrack.users.models import Site

# What a bag's event data may record about it, copied onto the unit (and its label).
RECORDED = ("volume_ml", "anticoagulant", "cell_dose")


def create_units(session: Session, actor: Principal, case: Case, site: Site, kind: UnitKind,
                 bags: Sequence[BaseModel], *, parent: Unit | None = None,
                 collected_at: datetime | None = None,
                 cryopreserved_at: datetime | None = None,
                 expires_at: datetime | None = None) -> list[Unit]:
    """One DIN per collection or per manufacturing lot; container numbers 01..n. Each bag's
    event data gives its volume and, if recorded, its anticoagulant or cell dose."""
    din = allocate_din(session, site.fin)
    units = []
    for container, bag in enumerate(bags, start=1):
        recorded = {k: v for k, v in bag.model_dump().items() if k in RECORDED}
        unit = Unit(unit_id=make_unit_id(din, container), case_id=case.id or 0, kind=kind,
                    parent_id=parent.id if parent else None, status=UnitStatus.labeled,
                    site_id=site.id, collected_at=collected_at, cryopreserved_at=cryopreserved_at,
                    expires_at=expires_at, created_at=clock.now(), **recorded)
        session.add(unit)
        units.append(unit)
    session.flush()
    for unit in units:
        audit.record(session, user_id=actor.id, printed_name=actor.name, action="create",
                     entity="unit", entity_id=unit.unit_id, case_id=case.id,
                     new={"unit_id": unit.unit_id, "kind": kind, "volume_ml": unit.volume_ml,
                          "anticoagulant": unit.anticoagulant, "cell_dose": unit.cell_dose,
                          "cryopreserved_at": unit.cryopreserved_at,
                          "expires_at": unit.expires_at,
                          "parent": parent.unit_id if parent else None})
    return units


def units_of(session: Session, case_id: int, kind: UnitKind | None = None) -> list[Unit]:
    query = select(Unit).where(Unit.case_id == case_id)
    if kind:
        query = query.where(Unit.kind == kind)
    return list(session.exec(query.order_by(col(Unit.id))).all())


def set_status(session: Session, actor: Principal, units: list[Unit], status: UnitStatus, *,
               site_id: int | None = None, location: str | None = None) -> None:
    for unit in units:
        old = {"status": unit.status, "site_id": unit.site_id, "location": unit.location}
        unit.status = status
        if site_id is not None:
            unit.site_id = site_id
        if location is not None:
            unit.location = location
        session.add(unit)
        audit.record(session, user_id=actor.id, printed_name=actor.name, action="update",
                     entity="unit", entity_id=unit.unit_id, case_id=unit.case_id, old=old,
                     new={"status": unit.status, "site_id": unit.site_id,
                          "location": unit.location})


def ensure_wristband(session: Session, actor: Principal, case: Case) -> Wristband:
    band = session.exec(select(Wristband).where(Wristband.case_id == case.id,
                                                Wristband.active == True)).first()  # noqa: E712
    if band is not None:
        return band
    count = len(session.exec(select(Wristband).where(Wristband.case_id == case.id)).all())
    band = Wristband(wristband_id=f"W{case.coi[2:]}{count + 1:02d}", case_id=case.id or 0,
                     issued_at=clock.now())
    session.add(band)
    session.flush()
    audit.record(session, user_id=actor.id, printed_name=actor.name, action="create",
                 entity="wristband", entity_id=band.wristband_id, case_id=case.id,
                 new={"wristband_id": band.wristband_id})
    return band
