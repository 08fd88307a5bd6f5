"""Slip alerts: an actual milestone later than its slot's plan puts the planned infusion at
risk. The coordinators are told once per new earliest infusion date: a slip carried forward
by the next milestone does not alert again; a further slip does."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from cartrack.alerts.models import Alert
from cartrack.alerts.raising import create_alert
from cartrack.journey.access import clinical_site_ids
from cartrack.journey.models import Case
from cartrack.scheduling.models import COUNTED, SlotReservation

PLANNED = {"collection": "apheresis", "manufacturing_start": "manufacturing_start",
           "release": "release", "delivery": "delivery"}
KIND = "slot_slip"


def _reservation(session: Session, case_id: int) -> SlotReservation | None:
    return session.exec(select(SlotReservation).where(
        SlotReservation.case_id == case_id,
        col(SlotReservation.status).in_([s.value for s in COUNTED]))
        .order_by(col(SlotReservation.id).desc())).first()


def _alerted_until(session: Session, case_id: int, slot_id: int) -> date | None:
    rows = session.exec(select(Alert).where(Alert.case_id == case_id, Alert.kind == KIND)).all()
    days = [date.fromisoformat(a.data["earliest_infusion"]) for a in rows
            if a.data.get("slot_id") == slot_id]
    return max(days) if days else None


def check(session: Session, case: Case, milestone: str, actual: date) -> Alert | None:
    """``actual`` is the milestone's local day where it happened."""
    res = _reservation(session, case.id or 0)
    if res is None:
        return None
    planned = date.fromisoformat(res.plan[PLANNED[milestone]])
    late = (actual - planned).days
    if late <= 0:
        return None
    infusion = date.fromisoformat(res.plan["infusion"])
    earliest = infusion + timedelta(days=late)
    before = _alerted_until(session, case.id or 0, res.id or 0)
    if before is not None and earliest <= before:
        return None
    words = milestone.replace("_", " ")
    return create_alert(
        session, case.id, kind=KIND, severity="warning",
        title=f"Plan slipped: {words} {late} day(s) late",
        message=f"Case {case.coi}: {words} on {actual}, planned {planned}. The planned "
                f"infusion on {infusion} is at risk; the earliest infusion is now {earliest}.",
        targets={("coordinator", s) for s in clinical_site_ids(case)},
        data={"slot_id": res.id, "milestone": milestone, "planned": planned.isoformat(),
              "actual": actual.isoformat(), "planned_infusion": infusion.isoformat(),
              "earliest_infusion": earliest.isoformat()})
