"""The capacity calendar: edited by a manufacturing planner at the facility (or an admin),
one day or a weekly pattern at a time, every change audited; read as availability."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.errors import Conflict, Forbidden, NotFound
from cartrack.journey.access import can_see
from cartrack.journey.models import Case
from cartrack.protocols import service as protocols
from cartrack.scheduling.models import (
    ACTIVE,
    COUNTED,
    AvailabilityDay,
    BookingOut,
    CapacityDay,
    CapacityIn,
    CapacityOut,
    SlotReservation,
    WeeklyPatternIn,
)
from cartrack.security import Principal
from cartrack.users.models import Role, Site, SiteKind

MAX_RANGE_DAYS = 366
NEXT_OPEN_COUNT = 5


def facility_by_code(session: Session, code: str) -> Site:
    site = session.exec(select(Site).where(Site.code == code)).first()
    if site is None or SiteKind.manufacturing_facility.value not in site.kind_list():
        raise NotFound(f"{code} is not a manufacturing facility.", code="facility_not_found")
    return site


def check_product(session: Session, product: str) -> None:
    protocols.find(session, product)


def may_plan(principal: Principal, facility_id: int) -> bool:
    return principal.is_admin or principal.holds(Role.manufacturing_planner.value, facility_id)


def check_planner(principal: Principal, facility: Site) -> None:
    if not may_plan(principal, facility.id or 0):
        raise Forbidden(f"Only a manufacturing planner at {facility.code} or an admin may edit "
                        "its capacity.", code="site_forbidden")


def check_range(start: date, end: date) -> None:
    if end < start:
        raise Conflict(f"The range ends ({end}) before it starts ({start}).", code="bad_range")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise Conflict(f"A range may span at most {MAX_RANGE_DAYS} days.", code="range_too_long")


def lock_day(session: Session, facility_id: int, product: str, day: date) -> CapacityDay | None:
    """The day's counter row, locked until the transaction ends (FOR UPDATE on PostgreSQL;
    on SQLite the writer already holds the database's write lock)."""
    return session.exec(
        select(CapacityDay).where(CapacityDay.facility_id == facility_id,
                                  CapacityDay.product == product, CapacityDay.day == day)
        .with_for_update().execution_options(populate_existing=True)
    ).first()


def capacity_out(facility: Site, row: CapacityDay) -> CapacityOut:
    return CapacityOut(facility=facility.code, product=row.product, day=row.day,
                       capacity=row.capacity, booked=row.booked, note=row.note)


def _set_day(session: Session, actor: Principal, facility: Site, product: str, day: date,
             capacity: int, note: str | None) -> CapacityDay:
    row = lock_day(session, facility.id or 0, product, day)
    if row is not None and capacity < row.booked:
        raise Conflict(f"{day} has {row.booked} booking(s); its capacity cannot go below that. "
                       "Reschedule or release bookings first.", code="capacity_below_booked",
                       context={"day": day.isoformat(), "booked": row.booked})
    old = None if row is None else {"capacity": row.capacity, "note": row.note}
    if row is None:
        row = CapacityDay(facility_id=facility.id or 0, product=product, day=day,
                          capacity=capacity, note=note, updated_at=clock.now(),
                          updated_by=actor.id)
    elif old == {"capacity": capacity, "note": note}:
        return row
    row.capacity, row.note, row.updated_at, row.updated_by = capacity, note, clock.now(), actor.id
    session.add(row)
    session.flush()
    audit.record(session, user_id=actor.id, printed_name=actor.name, action="capacity.set",
                 entity="capacity_day", entity_id=row.id or 0, old=old,
                 new={"facility": facility.code, "product": product, "day": day,
                      "capacity": capacity, "note": note})
    return row


def set_day(session: Session, actor: Principal, facility_code: str, product: str, day: date,
            body: CapacityIn) -> CapacityOut:
    facility = facility_by_code(session, facility_code)
    check_planner(actor, facility)
    check_product(session, product)
    return capacity_out(facility, _set_day(session, actor, facility, product, day,
                                           body.capacity, body.note))


def set_pattern(session: Session, actor: Principal, facility_code: str, product: str,
                body: WeeklyPatternIn) -> list[CapacityOut]:
    """Every day of the range takes its weekday's capacity, or none does."""
    facility = facility_by_code(session, facility_code)
    check_planner(actor, facility)
    check_product(session, product)
    check_range(body.start, body.end)
    out = []
    day = body.start
    while day <= body.end:
        out.append(capacity_out(facility, _set_day(session, actor, facility, product, day,
                                                   body.weekdays[day.weekday()], body.note)))
        day += timedelta(days=1)
    return out


def _rows(session: Session, facility_id: int, product: str, start: date, end: date
          ) -> dict[date, CapacityDay]:
    rows = session.exec(select(CapacityDay).where(
        CapacityDay.facility_id == facility_id, CapacityDay.product == product,
        col(CapacityDay.day) >= start, col(CapacityDay.day) <= end)).all()
    return {r.day: r for r in rows}


def _bookings(session: Session, principal: Principal, facility_id: int, product: str,
              start: date, end: date) -> dict[date, list[BookingOut]]:
    """The bookings this user may see: all of them for the facility's planner and admins, else
    only those of cases the user can see (journey.access)."""
    rows = session.exec(
        select(SlotReservation, Case).join(Case, col(Case.id) == SlotReservation.case_id)
        .where(SlotReservation.facility_id == facility_id, SlotReservation.product == product,
               col(SlotReservation.day) >= start, col(SlotReservation.day) <= end,
               col(SlotReservation.status).in_([s.value for s in COUNTED]))
        .order_by(col(SlotReservation.id))).all()
    planner = may_plan(principal, facility_id)
    out: dict[date, list[BookingOut]] = {}
    for res, case in rows:
        if planner or can_see(principal, case):
            out.setdefault(res.day, []).append(
                BookingOut(case_id=case.id or 0, coi=case.coi, status=res.status))
    return out


def availability(session: Session, principal: Principal, facility_code: str, product: str,
                 start: date, end: date) -> list[AvailabilityDay]:
    """Every day of the range: its capacity (0 where none is set), how many are booked, how
    many are open, and the bookings the asker may see."""
    facility = facility_by_code(session, facility_code)
    check_product(session, product)
    check_range(start, end)
    rows = _rows(session, facility.id or 0, product, start, end)
    seen = _bookings(session, principal, facility.id or 0, product, start, end)
    out = []
    day = start
    while day <= end:
        row = rows.get(day)
        capacity, booked = (row.capacity, row.booked) if row else (0, 0)
        out.append(AvailabilityDay(day=day, capacity=capacity, booked=booked,
                                   open=max(capacity - booked, 0), bookings=seen.get(day, [])))
        day += timedelta(days=1)
    return out


def next_open_days(session: Session, facility_id: int, product: str, after: date,
                   count: int = NEXT_OPEN_COUNT) -> list[str]:
    rows = session.exec(
        select(col(CapacityDay.day)).where(
            CapacityDay.facility_id == facility_id, CapacityDay.product == product,
            col(CapacityDay.day) > after, col(CapacityDay.booked) < col(CapacityDay.capacity))
        .order_by(col(CapacityDay.day)).limit(count)).all()
    return [d.isoformat() for d in rows]


def active_count(session: Session, facility_id: int, product: str, day: date) -> int:
    """Counted from the reservations themselves (tests compare it with the counter)."""
    return len(session.exec(select(SlotReservation.id).where(
        SlotReservation.facility_id == facility_id, SlotReservation.product == product,
        SlotReservation.day == day,
        col(SlotReservation.status).in_([s.value for s in ACTIVE]))).all())


def books_by_slot(session: Session, facility_id: int, product: str) -> bool:
    """The facility publishes capacity for the product: its fresh apheresis is then collected
    only for a confirmed slot."""
    return session.exec(select(CapacityDay.id).where(
        CapacityDay.facility_id == facility_id, CapacityDay.product == product).limit(1)
    ).first() is not None
