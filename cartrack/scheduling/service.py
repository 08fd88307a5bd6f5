"""Slot reservations: hold, confirm (e-signed), reschedule (atomic), release, consume.

Lock order, the same in every writer so PostgreSQL never deadlocks: the case row, then the
capacity rows (by day), then the audit chain. On SQLite the writer lock serialises them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.alerts.models import Alert
from cartrack.alerts.raising import create_alert
from cartrack.audit import service as audit
from cartrack.audit.models import Signature
from cartrack.errors import Conflict, Forbidden, NotFound
from cartrack.journey.access import clinical_site_ids, visible_case
from cartrack.journey.models import Case, State
from cartrack.protocols import service as protocols
from cartrack.protocols.models import Protocol, ProtocolData
from cartrack.scheduling import capacity
from cartrack.scheduling.models import (
    ACTIVE,
    HoldIn,
    PlanOut,
    ReasonCode,
    ReleaseIn,
    RescheduleIn,
    SlotOut,
    SlotReservation,
    SlotStatus,
)
from cartrack.scheduling.plan import derive
from cartrack.security import Principal
from cartrack.users import service as users
from cartrack.users.models import Role, Site, User

CONFIRM_MEANING = "Approved: manufacturing slot"
WARN_BEFORE = timedelta(hours=12)
# Before manufacturing starts; a fresh product books before it is collected.
FRESH_STATES = frozenset({State.enrolled, State.collection_scheduled})
CRYO_STATES = FRESH_STATES | {State.collected, State.shipped_to_manufacturing,
                              State.received_at_manufacturing}


# ---- reading ------------------------------------------------------------------------------


def active_of(session: Session, case_id: int) -> SlotReservation | None:
    return session.exec(select(SlotReservation).where(
        SlotReservation.case_id == case_id,
        col(SlotReservation.status).in_([s.value for s in ACTIVE]))).first()


def latest_of(session: Session, case_id: int) -> SlotReservation | None:
    return session.exec(select(SlotReservation).where(SlotReservation.case_id == case_id)
                        .order_by(col(SlotReservation.id).desc())).first()


def confirmed_of(session: Session, case_id: int) -> SlotReservation | None:
    res = active_of(session, case_id)
    return res if res is not None and res.status == SlotStatus.confirmed else None


def collection_defaults(session: Session, case_id: int) -> dict[str, Any]:
    """What schedule_collection takes from a confirmed slot's plan when it is not given."""
    res = confirmed_of(session, case_id)
    if res is None:
        return {}
    facility = session.get(Site, res.facility_id)
    return {"collection_date": date.fromisoformat(res.plan["apheresis"]),
            "manufacturing_slot": f"{facility.code if facility else ''} {res.day}".strip(),
            "planned_infusion_date": date.fromisoformat(res.plan["infusion"])}


def slot_out(session: Session, res: SlotReservation, case: Case) -> SlotOut:
    facility = session.get(Site, res.facility_id)
    signer = session.get(User, res.confirmed_by) if res.confirmed_by else None
    sig = session.get(Signature, res.signature_id) if res.signature_id else None
    return SlotOut(id=res.id or 0, case_id=case.id or 0, coi=case.coi,
                   facility=facility.code if facility else "", product=res.product, day=res.day,
                   status=res.status, buffer_days=res.buffer_days,
                   hold_expires_at=clock.as_utc(res.hold_expires_at),
                   plan=PlanOut.model_validate(res.plan),
                   confirmed_by=signer.full_name if signer else None,
                   confirmed_at=clock.as_utc(res.confirmed_at) if res.confirmed_at else None,
                   signature_meaning=sig.meaning if sig else None, reason_code=res.reason_code,
                   reason_text=res.reason_text, replaces_id=res.replaces_id)


def get_slot(session: Session, principal: Principal, case_id: int) -> SlotOut:
    """The case's active reservation, else its latest one."""
    case = visible_case(session, principal, case_id)
    res = active_of(session, case_id) or latest_of(session, case_id)
    if res is None:
        raise NotFound(f"Case {case.coi} has no manufacturing slot.", code="no_slot")
    return slot_out(session, res, case)


# ---- shared steps --------------------------------------------------------------------------


def _booking_case(session: Session, principal: Principal, case_id: int) -> Case:
    """A case the user sees, where the user is coordinator at its collection site or treatment
    center; its row locked (the first lock of every booking writer)."""
    case = visible_case(session, principal, case_id)
    if not any(principal.holds(Role.coordinator.value, s) for s in clinical_site_ids(case)):
        raise Forbidden("Only a coordinator at the case's collection site or treatment center "
                        "may book its manufacturing slot.", code="site_forbidden")
    session.exec(select(Case).where(Case.id == case.id).with_for_update()
                 .execution_options(populate_existing=True)).one()
    return case


def _active_or_404(session: Session, case: Case) -> SlotReservation:
    res = active_of(session, case.id or 0)
    if res is None:
        raise NotFound(f"Case {case.coi} has no held or confirmed slot.", code="no_slot")
    return res


def _rules(session: Session, case: Case) -> tuple[Protocol, ProtocolData]:
    proto = session.get(Protocol, case.protocol_id)
    assert proto is not None
    return proto, protocols.rules_of(session, case.protocol_id)


def _plan(session: Session, case: Case, facility: Site, day: date, buffer_days: int
          ) -> tuple[Protocol, ProtocolData, PlanOut]:
    proto, rules = _rules(session, case)
    states = FRESH_STATES if rules.apheresis_fresh else CRYO_STATES
    if case.state not in states:
        raise Conflict(f"A slot can be booked only before manufacturing"
                       f"{' and, for fresh apheresis, before collection' if rules.apheresis_fresh else ''}"
                       f"; the case is {case.state.replace('_', ' ')}.", code="wrong_state",
                       context={"state": case.state})
    plan = derive(rules, day, buffer_days, proto.version)
    today = clock.local_today(facility.timezone)
    if day <= today:
        raise Conflict(f"{day} is not after today at {facility.code} ({today}).",
                       code="slot_too_soon", context={"today": today.isoformat()})
    if rules.apheresis_fresh:
        site = session.get(Site, case.collection_site_id)
        coll_today = clock.local_today(site.timezone if site else "UTC")
        if plan.apheresis < coll_today:
            raise Conflict(f"A start on {day} needs fresh apheresis on {plan.apheresis}, which "
                           f"is past at the collection site (today is {coll_today}).",
                           code="slot_too_soon", context={"apheresis": plan.apheresis.isoformat()})
    return proto, rules, plan


def _take(session: Session, case: Case, facility: Site, day: date) -> None:
    """One place on the day, or 409 slot_full with the next open days. The caller holds the
    day's row lock from here to its commit."""
    row = capacity.lock_day(session, facility.id or 0, case_product(session, case), day)
    if row is None or row.booked >= row.capacity:
        cap, booked = (row.capacity, row.booked) if row else (0, 0)
        nxt = capacity.next_open_days(session, facility.id or 0, case_product(session, case), day)
        what = "is closed" if cap == 0 else f"is full ({booked} of {cap} booked)"
        raise Conflict(f"{day} at {facility.code} {what}."
                       + (f" Next open: {', '.join(nxt)}." if nxt else " No open day follows."),
                       code="slot_full", context={"day": day.isoformat(), "capacity": cap,
                                                  "booked": booked, "next_open_days": nxt})
    row.booked += 1
    session.add(row)


def give_back(session: Session, res: SlotReservation) -> None:
    row = capacity.lock_day(session, res.facility_id, res.product, res.day)
    if row is not None and row.booked > 0:
        row.booked -= 1
        session.add(row)


def case_product(session: Session, case: Case) -> str:
    proto = session.get(Protocol, case.protocol_id)
    assert proto is not None
    return proto.product


def _coordinators(case: Case) -> set[tuple[str, int]]:
    return {(Role.coordinator.value, s) for s in clinical_site_ids(case)}


def _warn(session: Session, case: Case, res: SlotReservation, now: datetime) -> None:
    ttl = clock.as_utc(res.hold_expires_at) - now
    before = WARN_BEFORE if ttl > WARN_BEFORE * 2 else ttl / 2
    alert = create_alert(
        session, case.id, kind="slot_hold_expiring", severity="warning",
        title="Manufacturing slot hold expires soon",
        message=f"Case {case.coi}: the hold on the manufacturing slot of {res.day} expires at "
                f"{clock.as_utc(res.hold_expires_at).isoformat(timespec='minutes')}; confirm it "
                "with your e-signature or it is released.",
        targets=_coordinators(case), fire_at=clock.as_utc(res.hold_expires_at) - before,
        data={"slot_id": res.id, "day": res.day.isoformat()})
    res.warning_alert_id = alert.id


def unwarn(session: Session, res: SlotReservation) -> None:
    if res.warning_alert_id is not None:
        session.execute(update(Alert).where(col(Alert.id) == res.warning_alert_id,
                                            col(Alert.status) == "pending")
                        .values(status="cancelled").execution_options(synchronize_session=False))


def audit_slot(session: Session, actor: Principal | None, action: str, res: SlotReservation,
           old: dict[str, Any] | None = None, reason: str | None = None) -> None:
    audit.record(session, user_id=actor.id if actor else None,
                 printed_name=actor.name if actor else "system", action=action,
                 entity="slot_reservation", entity_id=res.id or 0, case_id=res.case_id, old=old,
                 new={"status": res.status, "day": res.day, "product": res.product,
                      "facility_id": res.facility_id, "plan": res.plan,
                      "replaces_id": res.replaces_id, "reason_code": res.reason_code},
                 reason=reason)


def _new_hold(session: Session, actor: Principal, case: Case, facility: Site, day: date,
              buffer_days: int, replaces: int | None = None) -> SlotReservation:
    proto, rules, plan = _plan(session, case, facility, day, buffer_days)
    _take(session, case, facility, day)
    now = clock.now()
    res = SlotReservation(case_id=case.id or 0, facility_id=facility.id or 0,
                          product=proto.product, day=day, status=SlotStatus.held,
                          buffer_days=buffer_days, protocol_id=proto.id or 0,
                          rule_version=proto.version, plan=plan.model_dump(mode="json"),
                          hold_expires_at=now + timedelta(hours=rules.hold_ttl_hours),
                          created_at=now, created_by=actor.id, replaces_id=replaces)
    session.add(res)
    session.flush()
    _warn(session, case, res, now)
    session.add(res)
    audit_slot(session, actor, "slot.held", res)
    return res


# ---- writers --------------------------------------------------------------------------------


def hold(session: Session, actor: Principal, case_id: int, body: HoldIn) -> SlotOut:
    case = _booking_case(session, actor, case_id)
    existing = active_of(session, case_id)
    if existing is not None:
        raise Conflict(f"Case {case.coi} already has a {existing.status.value} slot on "
                       f"{existing.day}; reschedule or release it.", code="case_has_slot",
                       context={"slot_id": existing.id, "day": existing.day.isoformat(),
                                "status": existing.status})
    facility = session.get(Site, case.manufacturing_site_id)
    assert facility is not None
    res = _new_hold(session, actor, case, facility, body.day, body.buffer_days)
    return slot_out(session, res, case)


def confirm(session: Session, actor: Principal, case_id: int, password: str) -> SlotOut:
    case = _booking_case(session, actor, case_id)
    res = _active_or_404(session, case)
    if res.status != SlotStatus.held:
        raise Conflict(f"The slot of {res.day} is already confirmed.", code="slot_not_held",
                       context={"status": res.status})
    now = clock.now()
    if clock.as_utc(res.hold_expires_at) <= now:
        raise Conflict(f"The hold on {res.day} expired at "
                       f"{clock.as_utc(res.hold_expires_at).isoformat(timespec='minutes')}; "
                       "book the slot again.", code="hold_expired")
    users.verify_signer(session, actor.user, password)
    sig = audit.add_signature(
        session, user_id=actor.id, printed_name=actor.name, meaning=CONFIRM_MEANING,
        record_type="slot_reservation", record_ref=f"slot:{res.id}:{res.day}",
        content={"coi": case.coi, "day": res.day, "plan": res.plan}, case_id=case.id)
    res.status, res.confirmed_at, res.confirmed_by = SlotStatus.confirmed, now, actor.id
    res.signature_id = sig.id
    unwarn(session, res)
    session.add(res)
    audit_slot(session, actor, "slot.confirmed", res, old={"status": SlotStatus.held})
    return slot_out(session, res, case)


def _end(res: SlotReservation, status: SlotStatus, code: str | None, text: str | None) -> None:
    res.status, res.ended_at = status, clock.now()
    res.reason_code, res.reason_text = code, text


def _release(session: Session, actor: Principal, res: SlotReservation, code: str,
             text: str) -> None:
    old = res.status
    give_back(session, res)
    _end(res, SlotStatus.released, code, text)
    unwarn(session, res)
    session.add(res)
    audit_slot(session, actor, "slot.released", res, old={"status": old}, reason=text)


def release(session: Session, actor: Principal, case_id: int, body: ReleaseIn) -> SlotOut:
    case = _booking_case(session, actor, case_id)
    res = _active_or_404(session, case)
    _release(session, actor, res, body.reason_code.value, body.reason_text)
    return slot_out(session, res, case)


def release_for_cancelled(session: Session, case: Case, actor: Principal, reason: str) -> None:
    """The case was cancelled: its active slot goes back to the day (journey integration)."""
    res = active_of(session, case.id or 0)
    if res is not None:
        _release(session, actor, res, ReasonCode.other.value, f"Case cancelled: {reason}")


def reschedule(session: Session, actor: Principal, case_id: int, body: RescheduleIn) -> SlotOut:
    """The new hold and the old release together or not at all: a full day changes nothing."""
    case = _booking_case(session, actor, case_id)
    old = _active_or_404(session, case)
    if body.day == old.day:
        raise Conflict(f"The slot is already on {old.day}.", code="same_day")
    facility = session.get(Site, case.manufacturing_site_id)
    assert facility is not None
    # Both day rows locked in day order, the old one's count given back before the new taken.
    first, second = sorted([old.day, body.day])
    capacity.lock_day(session, old.facility_id, old.product, first)
    capacity.lock_day(session, old.facility_id, old.product, second)
    was = old.status
    give_back(session, old)
    _end(old, SlotStatus.released, body.reason_code.value, body.reason_text)
    unwarn(session, old)
    session.add(old)
    session.flush()  # the one-active-per-case index sees the old one released
    audit_slot(session, actor, "slot.released", old, old={"status": was}, reason=body.reason_text)
    buffer = old.buffer_days if body.buffer_days is None else body.buffer_days
    new = _new_hold(session, actor, case, facility, body.day, buffer, replaces=old.id)
    return slot_out(session, new, case)


def consume(session: Session, case: Case, actor: Principal) -> SlotReservation | None:
    """Manufacturing started: the case's active reservation is used (journey integration)."""
    res = active_of(session, case.id or 0)
    if res is None:
        return None
    was = res.status
    _end(res, SlotStatus.consumed, None, None)
    unwarn(session, res)
    session.add(res)
    audit_slot(session, actor, "slot.consumed", res, old={"status": was})
    return res


def recompute(session: Session, actor: Principal, case_id: int) -> SlotOut:
    """Derive the active slot's plan again from the product's current rules: explicit and
    audited, never implicit when a rule changes."""
    case = _booking_case(session, actor, case_id)
    res = _active_or_404(session, case)
    proto = protocols.find(session, res.product)
    rules = proto.rules()
    old = {"plan": res.plan, "rule_version": res.rule_version}
    plan = derive(rules, res.day, res.buffer_days, proto.version)
    res.plan, res.rule_version, res.protocol_id = plan.model_dump(mode="json"), proto.version, \
        proto.id or 0
    session.add(res)
    audit_slot(session, actor, "slot.recomputed", res, old=old)
    return slot_out(session, res, case)
