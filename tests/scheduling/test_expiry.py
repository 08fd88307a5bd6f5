"""Hold expiry with the injectable clock: the warning alert, then expiry, and the day open
again; a confirmed hold is never warned about nor expired."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from cartrack.alerts.models import Alert
from cartrack.alerts.service import fire_due
from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from cartrack.scheduling.expiry import expire_holds
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey
from tests.helpers.slots import add_people, availability, hold, set_capacity

DAY = date(2026, 6, 10)


def _slot_alerts(case_id: int) -> list[tuple[str, str]]:
    with new_session() as s:
        rows = s.exec(select(Alert).where(Alert.case_id == case_id,
                                          col(Alert.kind).startswith("slot_"))
                      .order_by(col(Alert.id))).all()
    return [(a.kind, a.status) for a in rows]


def test_a_hold_warns_then_expires_and_the_day_opens(client: Any, auth: Any,
                                                     frozen: Any) -> None:
    people = add_people()
    set_capacity(client, people["planner"], DAY, 1)
    case = Journey(client, auth).enroll("yescarta")["id"]
    t0 = frozen()
    r = hold(client, auth["coordinator"], case, DAY)
    assert r.status_code == 201
    assert r.json()["hold_expires_at"].startswith((t0 + timedelta(hours=48)).isoformat()[:16])
    frozen.set(t0 + timedelta(hours=35, minutes=59))
    fire_due()
    assert _slot_alerts(case) == [("slot_hold_expiring", "pending")]
    frozen.set(t0 + timedelta(hours=36))
    fire_due()
    assert _slot_alerts(case) == [("slot_hold_expiring", "fired")]
    frozen.set(t0 + timedelta(hours=47, minutes=59))
    assert expire_holds() == []
    frozen.set(t0 + timedelta(hours=48, seconds=1))
    # Past its time to live the hold can no longer be confirmed, even before the scheduler runs.
    r = client.post(f"/api/cases/{case}/slot/confirm", headers=auth["coordinator"],
                    json={"signature": {"password": PASSWORD}})
    assert (r.status_code, r.json()["code"]) == (409, "hold_expired")
    assert len(expire_holds()) == 1
    assert expire_holds() == []  # once
    got = client.get(f"/api/cases/{case}/slot", headers=auth["coordinator"]).json()
    assert (got["status"], got["reason_code"]) == ("expired", "hold_expired")
    day = availability(client, auth["coordinator"], DAY, DAY)["2026-06-10"]
    assert (day["booked"], day["open"], day["bookings"]) == (0, 1, [])
    assert _slot_alerts(case) == [("slot_hold_expiring", "fired"),
                                  ("slot_hold_expired", "pending")]
    with new_session() as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.case_id == case,
                                                AuditEntry.action == "slot.expired")).one()
    assert audit.printed_name == "system" and audit.new["status"] == "expired"
    # The case may book again.
    assert hold(client, auth["coordinator"], case, DAY).status_code == 201


def test_a_confirmed_hold_is_not_warned_nor_expired(client: Any, auth: Any,
                                                    frozen: Any) -> None:
    people = add_people()
    set_capacity(client, people["planner"], DAY, 1)
    case = Journey(client, auth).enroll("yescarta")["id"]
    t0 = frozen()
    assert hold(client, auth["coordinator"], case, DAY).status_code == 201
    r = client.post(f"/api/cases/{case}/slot/confirm", headers=auth["coordinator"],
                    json={"signature": {"password": PASSWORD}})
    assert r.status_code == 200
    frozen.set(t0 + timedelta(hours=72))
    fire_due()
    assert expire_holds() == []
    assert _slot_alerts(case) == [("slot_hold_expiring", "cancelled")]
    got = client.get(f"/api/cases/{case}/slot", headers=auth["coordinator"]).json()
    assert got["status"] == "confirmed"
