"""A milestone later than the slot's plan alerts the coordinators once, naming the planned
infusion at risk and the new earliest infusion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from cartrack import clock
from cartrack.alerts.models import Alert
from cartrack.db import new_session
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey
from tests.helpers.slots import add_people, hold, set_capacity


def _slips(case_id: int) -> list[dict[str, Any]]:
    with new_session() as s:
        rows = s.exec(select(Alert).where(Alert.case_id == case_id, Alert.kind == "slot_slip")
                      .order_by(col(Alert.id))).all()
    return [{"message": a.message, **a.data} for a in rows]


def test_a_slip_alerts_once_per_new_earliest_infusion(client: Any, auth: Any,
                                                      frozen: Any) -> None:
    people = add_people()
    j = Journey(client, auth)
    case = j.enroll("yescarta")["id"]
    set_capacity(client, people["planner"], date(2026, 6, 3), 1)
    r = hold(client, auth["coordinator"], case, date(2026, 6, 3))
    plan = r.json()["plan"]
    # Yescarta: apheresis 2 June, release 16 June, delivery 18 June, infusion 18 June.
    assert (plan["apheresis"], plan["release"], plan["delivery"], plan["infusion"]) == (
        "2026-06-02", "2026-06-16", "2026-06-18", "2026-06-18")
    assert client.post(f"/api/cases/{case}/slot/confirm", headers=auth["coordinator"],
                       json={"signature": {"password": PASSWORD}}).status_code == 200
    j.ok("coordinator", case, "schedule_collection", {
        "collection_date": "2026-06-02", "manufacturing_slot": "MF-EAST 2026-06-03"})
    frozen.set(datetime(2026, 6, 3, 14, 0, tzinfo=UTC))  # collected a day late
    j.ok("collection_staff", case, "record_collection", {
        "collection_end": (clock.now() - timedelta(minutes=30)).isoformat(),
        "units": [{"volume_ml": 200}], "override_reason": "Patient arrived a day late"},
        sign=True)
    slips = _slips(case)
    assert len(slips) == 1
    assert (slips[0]["milestone"], slips[0]["planned_infusion"],
            slips[0]["earliest_infusion"]) == ("collection", "2026-06-18", "2026-06-19")
    assert "planned infusion on 2026-06-18 is at risk" in slips[0]["message"]
    assert "earliest infusion is now 2026-06-19" in slips[0]["message"]
    j.to(case, "qc_pending")  # manufacturing starts on its planned day: no slip
    frozen.set(datetime(2026, 6, 17, 14, 0, tzinfo=UTC))
    j.to(case, "released")  # a day late, as already announced: no second alert
    assert len(_slips(case)) == 1
    frozen.set(datetime(2026, 6, 20, 14, 0, tzinfo=UTC))
    j.to(case, "received_at_treatment_center")  # delivered two days late: a new risk
    slips = _slips(case)
    assert [(s["milestone"], s["earliest_infusion"]) for s in slips] == [
        ("collection", "2026-06-19"), ("delivery", "2026-06-20")]
