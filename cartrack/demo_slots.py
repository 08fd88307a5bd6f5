"""The demo's capacity calendar: eight weeks at the manufacturing facility, weekends closed,
and today's cases booked on days of capacity one, so the calendar shows full days too.

Yescarta is left without a calendar: its fresh apheresis would then need a confirmed slot
before collection, and the end-to-end walk-through schedules a Yescarta collection directly."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.journey.models import Case, Patient
from cartrack.scheduling import capacity, service
from cartrack.scheduling.models import CapacityIn, HoldIn, WeeklyPatternIn
from cartrack.security import Principal

FACILITY = "MF-EAST"
WEEKS = 8
# Manufacturing starts per weekday, Monday to Sunday.
PATTERNS = {
    "breyanzi": [2, 2, 2, 2, 1, 0, 0],
    "abecma": [1, 0, 1, 0, 1, 0, 0],
    "carvykti": [1, 1, 0, 1, 1, 0, 0],
    "tecartus": [1, 1, 1, 1, 1, 0, 0],
    "kymriah": [2, 0, 2, 0, 2, 0, 0],
}
# Today's cases booked on a day closed to others: MRN -> (days from today, confirm?).
BOOKINGS = {"MRN-100232": (8, True), "MRN-100233": (10, False)}


def _weekday_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def seed_capacity(session: Session, people: dict[str, Principal], password: str) -> int:
    """Returns how many days were published."""
    facility = capacity.facility_by_code(session, FACILITY)
    today = clock.local_today(facility.timezone)
    admin, coordinator = people["admin"], people["coordinator"]
    published = 0
    for product, weekdays in PATTERNS.items():
        published += len(capacity.set_pattern(session, admin, FACILITY, product, WeeklyPatternIn(
            start=today, end=today + timedelta(weeks=WEEKS) - timedelta(days=1),
            weekdays=weekdays, note="Demo pattern")))
    for mrn, (ahead, confirm) in BOOKINGS.items():
        case = session.exec(select(Case).join(Patient, col(Patient.id) == Case.patient_id)
                            .where(Patient.mrn == mrn)).first()
        if case is None:
            continue
        product = service.case_product(session, case)
        day = _weekday_after(today + timedelta(days=ahead))
        capacity.set_day(session, admin, FACILITY, product, day,
                         CapacityIn(capacity=1, note="One suite free"))
        service.hold(session, coordinator, case.id or 0, HoldIn(day=day, buffer_days=1))
        if confirm:
            service.confirm(session, coordinator, case.id or 0, password)
        session.flush()
    return published
