"""The demo's cold chain: shippers and data loggers in the catalog, today's ship events
tracked (shipper, logger, seal), and logger data for the shipments in transit; one product
shipment has a warm run, so an excursion waits for QA."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.journey.models import Case
from cartrack.protocols import service as protocols
from cartrack.security import Principal
from cartrack.shipments import catalog, ingest
from cartrack.shipments import service as shipments
from cartrack.shipments.dispatch import default_profile_code
from cartrack.shipments.models import (
    Direction,
    LoggerIn,
    Shipment,
    ShipmentStatus,
    ShipperIn,
    ShipperStatus,
)

SHIPPERS = [  # serial prefix, model, profile, how many, nominal hold (h)
    ("DS", "MVE CryoShipper XC 20/3V", "ln2_vapour", 8, 240),
    ("CF", "CF-45 2-8 °C kit", "fresh_2_8", 8, 30),
    ("CRT", "CRT 15-25 °C kit", "crt_15_25", 3, 30),
]


def seed_catalog(session: Session, who: Principal) -> None:
    """Shippers of each profile (one in quarantine after its last trip, one retired) and
    cryogenic-range data loggers."""
    until = clock.now().date() + timedelta(days=180)
    for prefix, model, profile, count, hold in SHIPPERS:
        for n in range(1, count + 1):
            catalog.add_shipper(session, who, ShipperIn(
                serial=f"{prefix}-{100 + n}", model=model, profile_code=profile,
                qualified_until=until, nominal_hold_hours=hold))
    for serial, profile, status in (("DS-190", "ln2_vapour", ShipperStatus.quarantine),
                                    ("CF-190", "fresh_2_8", ShipperStatus.retired)):
        catalog.add_shipper(session, who, ShipperIn(
            serial=serial, model="spare", profile_code=profile, qualified_until=until,
            nominal_hold_hours=200, status=status))
    for n in range(1, 25):
        catalog.add_logger(session, who, LoggerIn(
            serial=f"LG-{7000 + n}", model="Cryo thermocouple logger",
            calibrated_until=date.fromordinal(until.toordinal() + 185), sensor_min_c=-200,
            sensor_max_c=70))


def cold_chain(session: Session, case: Case, direction: Direction) -> dict[str, Any]:
    """The shipper (first available for the profile), a logger and a seal for a ship event."""
    rules = protocols.rules_of(session, case.protocol_id)
    code = default_profile_code(direction, apheresis_fresh=rules.apheresis_fresh,
                                apheresis_min_c=rules.apheresis_temp_min_c)
    shipper = next(s for s in catalog.list_shippers(session, ShipperStatus.available)
                   if s.profile_code == code)
    used = len(session.exec(select(Shipment.id).where(
        col(Shipment.logger_serial).is_not(None))).all())
    logger = catalog.list_loggers(session)[used % 24]
    return {"shipper_serial": shipper.serial, "logger_serial": logger.serial,
            "seal_id": f"SEAL-{case.id:05d}-{'A' if direction.value.startswith('a') else 'P'}"}


def _temps(profile: str, start: datetime, end: datetime, warm: bool) -> list[ingest.Row]:
    rows: list[ingest.Row] = []
    at, i = start, 0
    while at <= end:
        if profile == "ln2_vapour":
            temp = -182.0 + (i % 5) * 0.6
            if warm and 8 <= i < 11:  # 45 minutes above -150 °C
                temp = -146.0 + i - 8
        elif profile == "crt_15_25":
            temp = 19.5 + (i % 6) * 0.4
        else:
            temp = 4.2 + (i % 6) * 0.3
        rows.append((None, at, round(temp, 2)))
        at, i = at + timedelta(minutes=15), i + 1
    return rows


def add_logger_data(session: Session, who: Principal, since: datetime) -> None:
    """Readings of every tracked shipment in transit, from its handover to now."""
    in_transit = session.exec(select(Shipment).where(
        Shipment.status == ShipmentStatus.in_transit, col(Shipment.logger_serial).is_not(None),
        col(Shipment.handed_over_at) >= since).order_by(col(Shipment.id))).all()
    warm_done = False
    for shipment in in_transit:
        profile = shipments.profile_of(session, shipment)
        warm = profile.code == "ln2_vapour" and not warm_done
        warm_done = warm_done or warm
        ingest.store(session, shipment, _temps(profile.code, clock.as_utc(
            shipment.handed_over_at), clock.now(), warm))
        shipments.reconcile(session, who, shipment, shipments.analysis_of(session, shipment))
    session.flush()
