"""The cold-chain catalog: versioned shipping profiles (shipped as data, published as new
versions), shippers and data loggers. Every change is audited."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.errors import Conflict, NotFound
from cartrack.security import Principal
from cartrack.shipments.models import (
    DataLogger,
    LoggerIn,
    LoggerOut,
    LoggerUpdate,
    ProfileIn,
    ProfileOut,
    Shipper,
    ShipperIn,
    ShipperOut,
    ShipperUpdate,
    ShippingProfile,
)


def _who(actor: Principal | None) -> dict[str, Any]:
    return {"user_id": actor.id if actor else None,
            "printed_name": actor.name if actor else "system"}


# ---- shipping profiles ----------------------------------------------------------------------


def shipped_profiles() -> list[ProfileIn]:
    raw = resources.files("cartrack.shipments").joinpath("profiles.json").read_text()
    return [ProfileIn.model_validate(entry) for entry in json.loads(raw)]


def profile_out(p: ShippingProfile) -> ProfileOut:
    assert p.id is not None
    return ProfileOut(id=p.id, code=p.code, version=p.version, name=p.name, low_c=p.low_c,
                      high_c=p.high_c, max_transit_hours=p.max_transit_hours,
                      logger_interval_minutes=p.logger_interval_minutes,
                      requires_logger=p.requires_logger, requires_seal=p.requires_seal,
                      mkt=p.mkt, alarm_rules=list(p.alarm_rules), source=p.source,
                      current=p.current, published_at=p.published_at,
                      published_by=p.published_by)


def publish_profile(session: Session, actor: Principal | None, data: ProfileIn) -> ShippingProfile:
    """A new version of a profile; shipments already under way keep the version they left on."""
    if data.low_c >= data.high_c:
        raise Conflict(f"The low limit ({data.low_c} °C) must be below the high limit "
                       f"({data.high_c} °C).", code="profile_limits")
    latest = session.exec(select(func.max(ShippingProfile.version))
                          .where(ShippingProfile.code == data.code)).one()
    for old in session.exec(select(ShippingProfile).where(
            ShippingProfile.code == data.code, col(ShippingProfile.current))).all():
        old.current = False
        session.add(old)
    row = ShippingProfile(
        code=data.code, version=(latest or 0) + 1, name=data.name, low_c=data.low_c,
        high_c=data.high_c, max_transit_hours=data.max_transit_hours,
        logger_interval_minutes=data.logger_interval_minutes,
        requires_logger=data.requires_logger, requires_seal=data.requires_seal, mkt=data.mkt,
        alarm_rules=[r.model_dump(mode="json") for r in data.alarm_rules], source=data.source,
        current=True, published_at=clock.now(), published_by=actor.name if actor else "catalog")
    session.add(row)
    session.flush()
    audit.record(session, **_who(actor), action="publish", entity="shipping_profile",
                 entity_id=row.id or 0, new=data.model_dump(mode="json") | {"version": row.version})
    return row


def load_shipped_profiles(session: Session) -> list[ShippingProfile]:
    """Version 1 of every shipped profile not yet in the catalog."""
    added = []
    for entry in shipped_profiles():
        exists = session.exec(select(ShippingProfile)
                              .where(ShippingProfile.code == entry.code)).first()
        if exists is None:
            added.append(publish_profile(session, None, entry))
    return added


def list_profiles(session: Session, code: str | None = None) -> list[ShippingProfile]:
    query = select(ShippingProfile).order_by(col(ShippingProfile.code),
                                             col(ShippingProfile.version))
    if code:
        query = query.where(ShippingProfile.code == code)
    return list(session.exec(query).all())


def current_profile(session: Session, code: str) -> ShippingProfile:
    row = session.exec(select(ShippingProfile).where(ShippingProfile.code == code,
                                                     col(ShippingProfile.current))).first()
    if row is None:
        raise Conflict(f"There is no shipping profile {code!r}; the catalog has "
                       + ", ".join(sorted({p.code for p in list_profiles(session)})) + ".",
                       code="unknown_profile")
    return row


# ---- shippers -------------------------------------------------------------------------------


def shipper_out(s: Shipper) -> ShipperOut:
    assert s.id is not None
    return ShipperOut(id=s.id, serial=s.serial, model=s.model, profile_code=s.profile_code,
                      qualified_until=s.qualified_until, nominal_hold_hours=s.nominal_hold_hours,
                      status=s.status)


def shipper_by_serial(session: Session, serial: str) -> Shipper | None:
    return session.exec(select(Shipper).where(Shipper.serial == serial)).first()


def get_shipper(session: Session, serial: str) -> Shipper:
    found = shipper_by_serial(session, serial)
    if found is None:
        raise NotFound(f"No shipper {serial}.", code="shipper_not_found")
    return found


CatalogRow = TypeVar("CatalogRow", Shipper, DataLogger)


def _created(session: Session, actor: Principal, row: CatalogRow, entity: str,
             data: BaseModel) -> CatalogRow:
    """A new catalog record, written and audited with what was asked for."""
    session.add(row)
    session.flush()
    audit.record(session, **_who(actor), action="create", entity=entity,
                 entity_id=row.id or 0, new=data.model_dump(mode="json"))
    return row


def add_shipper(session: Session, actor: Principal, data: ShipperIn) -> Shipper:
    current_profile(session, data.profile_code)
    if shipper_by_serial(session, data.serial) is not None:
        raise Conflict(f"Shipper {data.serial} is already in the catalog.",
                       code="shipper_exists")
    return _created(session, actor, Shipper(**data.model_dump()), "shipper", data)


def update_shipper(session: Session, actor: Principal, serial: str, data: ShipperUpdate
                   ) -> Shipper:
    row = get_shipper(session, serial)
    changes = data.model_dump(exclude_none=True)
    old = {k: getattr(row, k) for k in changes}
    for key, value in changes.items():
        setattr(row, key, value)
    session.add(row)
    audit.record(session, **_who(actor), action="update", entity="shipper",
                 entity_id=row.id or 0, old=old, new=changes)
    return row


def list_shippers(session: Session, status: str | None = None) -> list[Shipper]:
    query = select(Shipper).order_by(col(Shipper.serial))
    if status:
        query = query.where(Shipper.status == status)
    return list(session.exec(query).all())


# ---- data loggers ---------------------------------------------------------------------------


def logger_out(d: DataLogger) -> LoggerOut:
    assert d.id is not None
    return LoggerOut(id=d.id, serial=d.serial, model=d.model, calibrated_until=d.calibrated_until,
                     sensor_min_c=d.sensor_min_c, sensor_max_c=d.sensor_max_c)


def logger_by_serial(session: Session, serial: str) -> DataLogger | None:
    return session.exec(select(DataLogger).where(DataLogger.serial == serial)).first()


def add_logger(session: Session, actor: Principal, data: LoggerIn) -> DataLogger:
    if data.sensor_min_c >= data.sensor_max_c:
        raise Conflict(f"The sensor range must run upwards ({data.sensor_min_c} °C to "
                       f"{data.sensor_max_c} °C).", code="logger_range_order")
    if logger_by_serial(session, data.serial) is not None:
        raise Conflict(f"Data logger {data.serial} is already in the catalog.",
                       code="logger_exists")
    return _created(session, actor, DataLogger(**data.model_dump()), "data_logger", data)


def update_logger(session: Session, actor: Principal, serial: str, data: LoggerUpdate
                  ) -> DataLogger:
    row = logger_by_serial(session, serial)
    if row is None:
        raise NotFound(f"No data logger {serial}.", code="logger_not_found")
    old = {"calibrated_until": row.calibrated_until}
    row.calibrated_until = data.calibrated_until
    session.add(row)
    audit.record(session, **_who(actor), action="update", entity="data_logger",
                 entity_id=row.id or 0, old=old, new=data.model_dump(mode="json"))
    return row


def list_loggers(session: Session) -> list[DataLogger]:
    return list(session.exec(select(DataLogger).order_by(col(DataLogger.serial))).all())
