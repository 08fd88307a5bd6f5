"""Shipments: opened by a journey ship event, closed by its receive event; their excursions,
recomputed from the readings, raise a critical alert and wait for QA's signed disposition."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.alerts.models import Alert
from cartrack.alerts.raising import create_alert
from cartrack.audit import service as audit
from cartrack.errors import Conflict, Forbidden, NotFound
from cartrack.journey.access import visible_case, visible_site_filter
from cartrack.journey.models import Case
from cartrack.security import Principal
from cartrack.shipments import catalog
from cartrack.shipments.excursions import Analysis, Reading, analyse
from cartrack.shipments.models import (
    Direction,
    Disposition,
    Excursion,
    Shipment,
    ShipmentStatus,
    Shipper,
    ShipperStatus,
    ShippingProfile,
    TemperatureReading,
)
from cartrack.users import service as users
from cartrack.users.models import Role


def _record(session: Session, actor: Principal, action: str, shipment: Shipment,
            old: dict[str, Any] | None = None, new: dict[str, Any] | None = None,
            reason: str | None = None) -> None:
    audit.record(session, user_id=actor.id, printed_name=actor.name, action=action,
                 entity="shipment", entity_id=shipment.id or 0, case_id=shipment.case_id,
                 old=old, new=new, reason=reason)


# ---- opened and closed by the journey -------------------------------------------------------


def open_shipment(session: Session, actor: Principal, case: Case, direction: Direction, *,
                  profile: ShippingProfile, shipper_type: str, units: list[str],
                  shipper_serial: str | None, logger_serial: str | None, seal_id: str | None,
                  courier: str | None, air_waybill: str | None) -> Shipment:
    """The ship event's checks have passed (journey guards); the shipper goes in use."""
    shipment = Shipment(case_id=case.id or 0, direction=direction, profile_id=profile.id or 0,
                        shipper_type=shipper_type, shipper_serial=shipper_serial,
                        logger_serial=logger_serial, seal_id=seal_id, courier=courier,
                        air_waybill=air_waybill, units=units, packed_by=actor.id,
                        handed_over_at=clock.now())
    session.add(shipment)
    session.flush()
    if shipper_serial:
        shipper = catalog.get_shipper(session, shipper_serial)
        shipper.status = ShipperStatus.in_use
        session.add(shipper)
    shipment.late_alert_id = _schedule_late_alert(session, case, shipment, profile).id
    if shipper_serial and profile.code == "ln2_vapour":
        shipment.hold_alert_id = _schedule_hold_alert(session, case, shipment,
                                                      catalog.get_shipper(session,
                                                                          shipper_serial)).id
    _record(session, actor, "dispatch", shipment,
            new=shipment.model_dump(mode="json", exclude={"id"}) | {"profile": profile.code,
                                                                    "profile_version":
                                                                        profile.version})
    return shipment


LATE_MARGIN = timedelta(hours=4)


def _schedule_late_alert(session: Session, case: Case, shipment: Shipment,
                         profile: ShippingProfile) -> Alert:
    """``shipment_late``: still not received 4 h before the profile's transit limit (half the
    limit for a short one). Receipt cancels it."""
    limit = timedelta(hours=profile.max_transit_hours)
    fire_at = clock.as_utc(shipment.handed_over_at) + limit - min(LATE_MARGIN, limit / 2)
    sender = (Role.collection_staff.value, case.collection_site_id) \
        if shipment.direction == Direction.apheresis_to_manufacturing else \
        (Role.lab_tech.value, case.manufacturing_site_id)
    return create_alert(
        session, case.id, kind="shipment_late", severity="warning",
        title=f"Shipment {shipment.id} not yet received",
        message=f"Case {case.coi}: shipment {shipment.id} ({profile.code}) is not received and "
                f"its {profile.max_transit_hours:g} h transit limit is near; call the courier.",
        targets={(Role.coordinator.value, case.treatment_site_id), sender},
        fire_at=fire_at, data={"shipment_id": shipment.id})


HOLD_MARGIN = 0.8


def _schedule_hold_alert(session: Session, case: Case, shipment: Shipment, shipper: Shipper
                         ) -> Alert:
    """``shipper_hold_margin``: a dry shipper still travelling at 80 % of its nominal hold."""
    fire_at = clock.as_utc(shipment.handed_over_at) + timedelta(
        hours=shipper.nominal_hold_hours * HOLD_MARGIN)
    return create_alert(
        session, case.id, kind="shipper_hold_margin", severity="critical",
        title=f"Dry shipper {shipper.serial} near the end of its hold",
        message=f"Case {case.coi}: shipment {shipment.id} in dry shipper {shipper.serial} has "
                f"used 80 % of its {shipper.nominal_hold_hours:g} h nominal hold; arrange a "
                "recharge or a shipper swap with the courier now.",
        targets={(Role.coordinator.value, case.treatment_site_id),
                 (Role.lab_tech.value, case.manufacturing_site_id)},
        fire_at=fire_at, data={"shipment_id": shipment.id, "shipper": shipper.serial})


def in_transit(session: Session, case_id: int, direction: Direction) -> Shipment | None:
    return session.exec(select(Shipment).where(
        Shipment.case_id == case_id, Shipment.direction == direction,
        Shipment.status == ShipmentStatus.in_transit).order_by(col(Shipment.id).desc())).first()


def close_shipment(session: Session, actor: Principal, case: Case, direction: Direction
                   ) -> Shipment | None:
    """Received: the shipper goes to quarantine until it is requalified."""
    shipment = in_transit(session, case.id or 0, direction)
    if shipment is None:
        return None
    shipment.status = ShipmentStatus.received
    shipment.received_at = clock.now()
    shipment.received_by = actor.id
    session.add(shipment)
    if shipment.shipper_serial:
        shipper = catalog.get_shipper(session, shipment.shipper_serial)
        shipper.status = ShipperStatus.quarantine
        session.add(shipper)
    for alert_id in (shipment.late_alert_id, shipment.hold_alert_id):
        alert = session.get(Alert, alert_id) if alert_id else None
        if alert is not None and alert.status == "pending":
            alert.status = "cancelled"
            session.add(alert)
    _record(session, actor, "receive", shipment, old={"status": ShipmentStatus.in_transit},
            new={"status": shipment.status, "received_at": shipment.received_at,
                 "shipper_status": ShipperStatus.quarantine if shipment.shipper_serial else None})
    return shipment


# ---- excursions ------------------------------------------------------------------------------


def profile_of(session: Session, shipment: Shipment) -> ShippingProfile:
    profile = session.get(ShippingProfile, shipment.profile_id)
    assert profile is not None
    return profile


def readings_of(session: Session, shipment: Shipment) -> list[Reading]:
    rows = session.exec(select(TemperatureReading.at, TemperatureReading.temp_c).where(
        TemperatureReading.shipment_id == shipment.id).order_by(col(TemperatureReading.at))).all()
    return [Reading(clock.as_utc(at), temp) for at, temp in rows]


def analysis_of(session: Session, shipment: Shipment,
                readings: list[Reading] | None = None) -> Analysis:
    profile = profile_of(session, shipment)
    return analyse(readings_of(session, shipment) if readings is None else readings,
                   profile.rules(), profile.logger_interval_minutes, with_mkt=profile.mkt)


def excursions_of(session: Session, shipment_id: int) -> list[Excursion]:
    return list(session.exec(select(Excursion).where(Excursion.shipment_id == shipment_id)
                             .order_by(col(Excursion.started_at), col(Excursion.id))).all())


def reconcile(session: Session, actor: Principal, shipment: Shipment, analysis: Analysis
              ) -> list[Excursion]:
    """Store what the readings now show: an excursion already known keeps its disposition (its
    end, duration and extreme follow the readings); a new one waits for QA and raises the
    alert."""
    known = {(e.rule_key, clock.as_utc(e.started_at)): e
             for e in excursions_of(session, shipment.id or 0)}
    new: list[Excursion] = []
    for found in analysis.excursions:
        row = known.get((found.rule.key, found.started_at))
        if row is None:
            row = Excursion(shipment_id=shipment.id or 0, rule_key=found.rule.key,
                            kind=found.rule.kind.value, started_at=found.started_at,
                            ended_at=found.ended_at, triggered_at=found.triggered_at,
                            duration_minutes=found.duration_minutes, extreme_c=found.extreme_c,
                            events=found.events)
            new.append(row)
        else:
            grew = (found.duration_minutes > row.duration_minutes
                    or abs(found.extreme_c - found.rule.threshold_c)
                    > abs(row.extreme_c - found.rule.threshold_c))
            if grew and row.disposition != Disposition.pending_qa:
                # QA decided on less than the readings now show: the decision is reopened.
                row.disposition, row.disposition_reason = Disposition.pending_qa, None
                row.disposition_by = row.disposition_at = row.signature_id = None
                new.append(row)
            row.ended_at, row.duration_minutes = found.ended_at, found.duration_minutes
            row.extreme_c, row.events = found.extreme_c, found.events
            row.triggered_at = found.triggered_at
        session.add(row)
    session.flush()
    if new:
        _record(session, actor, "excursion", shipment,
                new={"excursions": [{"id": e.id, "rule": e.rule_key, "started_at": e.started_at,
                                     "duration_minutes": e.duration_minutes,
                                     "extreme_c": e.extreme_c} for e in new]})
        _excursion_alert(session, shipment, new)
    return new


def _excursion_alert(session: Session, shipment: Shipment, new: list[Excursion]) -> None:
    case = session.get(Case, shipment.case_id)
    assert case is not None
    what = ("apheresis to manufacturing" if shipment.direction ==
            Direction.apheresis_to_manufacturing else "product to the treatment center")
    blocks = ("start of manufacturing" if shipment.direction ==
              Direction.apheresis_to_manufacturing else "thaw and infusion")
    worst = ", ".join(f"{e.rule_key} from {clock.fmt_local(clock.as_utc(e.started_at), 'UTC')} "
                      f"for {e.duration_minutes:g} min (extreme {e.extreme_c:g} °C)"
                      for e in new[:3])
    create_alert(session, case.id, kind="shipment_excursion", severity="critical",
                 title=f"Temperature excursion: shipment {shipment.id}",
                 message=f"Case {case.coi}: the {what} shipment left its limits ({worst}). "
                         f"QA disposition is needed before the {blocks}.",
                 targets={(Role.qa.value, case.manufacturing_site_id),
                          (Role.coordinator.value, case.treatment_site_id)},
                 data={"shipment_id": shipment.id, "excursions": [e.id for e in new]})


def blocking_excursions(session: Session, case_id: int, direction: Direction,
                        disposition: Disposition) -> list[Excursion]:
    """Excursions of the case's shipments in this direction with this disposition."""
    return list(session.exec(
        select(Excursion).join(Shipment, col(Shipment.id) == Excursion.shipment_id)
        .where(Shipment.case_id == case_id, Shipment.direction == direction,
               Excursion.disposition == disposition).order_by(col(Excursion.id))).all())


def dispose(session: Session, actor: Principal, excursion_id: int, decision: Disposition,
            reason: str, password: str) -> Excursion:
    """QA's signed decision: the excursion is acceptable (the product may go on) or reject."""
    excursion = session.get(Excursion, excursion_id)
    shipment = session.get(Shipment, excursion.shipment_id) if excursion else None
    if excursion is None or shipment is None:
        raise NotFound(f"No excursion {excursion_id}.", code="excursion_not_found")
    case = visible_case(session, actor, shipment.case_id)
    if not actor.holds(Role.qa.value, case.manufacturing_site_id):
        raise Forbidden("Only QA at the case's manufacturing site dispositions an excursion.",
                        code="role_forbidden")
    if excursion.disposition != Disposition.pending_qa:
        raise Conflict(f"Excursion {excursion_id} was already dispositioned "
                       f"({excursion.disposition.value}).", code="excursion_dispositioned")
    users.verify_signer(session, actor.user, password)
    meaning = ("Approval: temperature excursion acceptable" if decision == Disposition.acceptable
               else "Rejection: temperature excursion, product not to be used")
    signature = audit.add_signature(
        session, user_id=actor.id, printed_name=actor.name, meaning=meaning,
        record_type="excursion", record_ref=f"excursion:{excursion.id}",
        content={"shipment": shipment.id, "rule": excursion.rule_key,
                 "started_at": excursion.started_at, "decision": decision.value,
                 "reason": reason}, case_id=case.id)
    excursion.disposition = decision
    excursion.disposition_reason = reason
    excursion.disposition_by = actor.id
    excursion.disposition_at = clock.now()
    excursion.signature_id = signature.id
    session.add(excursion)
    _record(session, actor, "disposition", shipment, old={"excursion": excursion.id,
                                                          "disposition": "pending_qa"},
            new={"excursion": excursion.id, "disposition": decision.value,
                 "signature_id": signature.id}, reason=reason)
    return excursion


# ---- reading -----------------------------------------------------------------------------------


def visible_shipment(session: Session, actor: Principal, shipment_id: int) -> Shipment:
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(f"No shipment {shipment_id}.", code="shipment_not_found")
    try:
        visible_case(session, actor, shipment.case_id)
    except NotFound:
        raise NotFound(f"No shipment {shipment_id}.", code="shipment_not_found") from None
    return shipment


def list_shipments(session: Session, actor: Principal, case_id: int | None,
                   status: ShipmentStatus | None, direction: Direction | None, limit: int,
                   offset: int) -> list[Shipment]:
    query = (select(Shipment).join(Case, col(Case.id) == Shipment.case_id)
             .where(visible_site_filter(actor)).order_by(col(Shipment.id).desc()))
    if case_id is not None:
        query = query.where(Shipment.case_id == case_id)
    if status is not None:
        query = query.where(Shipment.status == status)
    if direction is not None:
        query = query.where(Shipment.direction == direction)
    rows = list(session.exec(query.offset(offset).limit(limit)).all())
    # Their cases in one query: the answer names each shipment's COI (session.get then hits
    # the identity map instead of the database once per shipment).
    session.exec(select(Case).where(col(Case.id).in_({r.case_id for r in rows}))).all()
    return rows


def received_at_or_none(shipment: Shipment) -> datetime | None:
    return clock.as_utc(shipment.received_at) if shipment.received_at else None
