"""The scheduler's step for holds: a hold not confirmed by its time to live expires, its place
goes back to the day, and the coordinators are told. The warning before it is a scheduled
alert made with the hold (``service._warn``)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.alerts.raising import create_alert
from cartrack.db import new_session
from cartrack.journey.access import clinical_site_ids
from cartrack.journey.models import Case
from cartrack.scheduling import service
from cartrack.scheduling.models import SlotReservation, SlotStatus
from cartrack.users.models import Role


def _due(now: datetime, limit: int) -> list[int]:
    with new_session(read_only=True) as session:
        return [i for i in session.exec(
            select(col(SlotReservation.id)).where(SlotReservation.status == SlotStatus.held,
                                             col(SlotReservation.hold_expires_at) <= now)
            .order_by(col(SlotReservation.hold_expires_at)).limit(limit)).all() if i is not None]


def _expire_one(session: Session, res_id: int, now: datetime) -> bool:
    res = session.get(SlotReservation, res_id)
    if res is None:
        return False
    # The case row first, as every booking writer does; then the reservation as it is now.
    case = session.exec(select(Case).where(Case.id == res.case_id).with_for_update()).one()
    session.refresh(res, with_for_update=True)
    if res.status != SlotStatus.held or clock.as_utc(res.hold_expires_at) > now:
        return False  # confirmed, released or rebooked meanwhile
    service.give_back(session, res)
    res.status, res.ended_at, res.reason_code = SlotStatus.expired, now, "hold_expired"
    service.unwarn(session, res)
    session.add(res)
    create_alert(session, case.id, kind="slot_hold_expired", severity="warning",
                 title="Manufacturing slot hold expired",
                 message=f"Case {case.coi}: the hold on the manufacturing slot of {res.day} "
                         "expired unconfirmed; the day is open to others. Book again.",
                 targets={(Role.coordinator.value, s) for s in clinical_site_ids(case)},
                 data={"slot_id": res.id, "day": res.day.isoformat()})
    service.audit_slot(session, None, "slot.expired", res, old={"status": SlotStatus.held})
    return True


def expire_holds(now: datetime | None = None, limit: int = 200) -> list[int]:
    """Expire every hold past its time to live, one committed transaction each."""
    at = now or clock.now()
    done = []
    for res_id in _due(at, limit):
        with new_session() as session:
            if _expire_one(session, res_id, at):
                session.commit()
                done.append(res_id)
            else:
                session.rollback()
    return done
