"""Daily monitoring after infusion, and completing the case.

Day 0 is the local calendar day of the infusion at the treatment site; day 1 begins at the next
local midnight there. A check may be recorded for days 1..the product's monitoring period, once
that day has begun; an unrecorded day's deadline stays open and fires."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import select

from cartrack import clock
from cartrack.alerts import service as alerts
from cartrack.alerts.models import Alert, Deadline
from cartrack.db import new_session
from tests.helpers.bedside import NY, infuse, ready_to_infuse, scan
from tests.helpers.journey import SignedJourney

CHECK = {"crs_grade": 0, "icans_grade": 0}


@pytest.fixture
def infused(client: Any, auth: Any, frozen: Any) -> tuple[SignedJourney, int, date]:
    """A yescarta case infused now; returns the journey, the case id and the infusion day."""
    j = SignedJourney(client, auth)
    cid, bag = ready_to_infuse(j, frozen)
    scan(j, "infusion_staff", j.wristband_payload(cid), "infuse")
    scan(j, "infusion_staff", bag, "infuse")
    assert infuse(j, cid).status_code == 200
    return j, cid, clock.now().astimezone(NY).date()


def check(j: SignedJourney, cid: int, day: int) -> Any:
    return j.event("infusion_staff", cid, "record_monitoring_check", {"day": day, **CHECK})


def day_deadlines(cid: int) -> dict[int, str]:
    with new_session() as s:
        rows = s.exec(select(Deadline).where(Deadline.case_id == cid,
                                             Deadline.kind == "monitoring_check")).all()
    return {d.ordinal or 0: d.status for d in rows}


def local_midnight(day: date) -> datetime:
    return clock.as_utc(datetime.combine(day, time(0), tzinfo=NY))


def test_no_check_may_be_recorded_on_the_day_of_infusion(infused: Any) -> None:
    j, cid, day0 = infused
    for day in (1, 7):
        r = check(j, cid, day)
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["code"] == "monitoring_day_not_begun"
        assert body["context"]["possible_from"] == local_midnight(day0 + timedelta(days=day)
                                                                  ).isoformat()
        assert str(day0 + timedelta(days=day)) in body["detail"]
    assert set(day_deadlines(cid).values()) == {"open"}
    assert len(day_deadlines(cid)) == 7  # yescarta: a week of daily checks


def monitoring_action(j: SignedJourney, cid: int) -> dict[str, Any]:
    return next(a for a in j.case(cid, "infusion_staff")["actions"]
                if a["event"] == "record_monitoring_check")


def test_the_case_page_offers_a_check_only_once_its_day_has_begun(infused: Any,
                                                                  frozen: Any) -> None:
    j, cid, day0 = infused
    today = monitoring_action(j, cid)
    assert not today["available"] and today["defaults"]["day"] is None
    assert today["blocked_by"]["code"] == "monitoring_day_not_begun"
    assert today["blocked_by"]["guard"] == "an_unrecorded_day_has_begun"
    frozen.set(local_midnight(day0 + timedelta(days=2)) + timedelta(hours=9))
    later = monitoring_action(j, cid)
    assert later["available"] and later["defaults"]["day"] == 1
    assert check(j, cid, 1).status_code == 200
    assert monitoring_action(j, cid)["defaults"]["day"] == 2
    assert check(j, cid, 2).status_code == 200
    after = monitoring_action(j, cid)
    assert not after["available"] and "can be recorded from" in after["blocked_by"]["message"]


def test_a_day_past_the_monitoring_period_is_refused(infused: Any, frozen: Any) -> None:
    j, cid, day0 = infused
    frozen.set(local_midnight(day0 + timedelta(days=40)))
    for day in (8, 30):
        r = check(j, cid, day)
        assert r.status_code == 409 and r.json()["code"] == "monitoring_day_out_of_range", r.text
        assert "1 to 7" in r.json()["detail"]
    assert j.case(cid)["state"] == "infused"


def test_a_day_that_has_begun_is_recorded_and_closes_only_its_deadline(infused: Any,
                                                                        frozen: Any) -> None:
    j, cid, day0 = infused
    frozen.set(local_midnight(day0 + timedelta(days=1)) + timedelta(minutes=1))
    r = check(j, cid, 1)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "monitoring"
    assert [m["day"] for m in r.json()["monitoring"]] == [1]
    statuses = day_deadlines(cid)
    assert statuses[1] == "met" and all(statuses[d] == "open" for d in range(2, 8))
    assert check(j, cid, 2).json()["code"] == "monitoring_day_not_begun"
    again = check(j, cid, 1)
    assert again.status_code == 409 and "already recorded" in again.json()["detail"]


def test_the_deadline_of_an_unrecorded_day_stays_open_and_fires(infused: Any,
                                                                frozen: Any) -> None:
    j, cid, day0 = infused
    frozen.set(local_midnight(day0 + timedelta(days=1)) + timedelta(hours=2))
    assert check(j, cid, 1).status_code == 200
    frozen.set(local_midnight(day0 + timedelta(days=3)) + timedelta(minutes=1))
    alerts.fire_due()
    with new_session() as s:
        fired = s.exec(select(Alert, Deadline).join(Deadline, Alert.deadline_id == Deadline.id)
                       .where(Deadline.case_id == cid, Alert.kind == "breach",
                              Alert.status == "fired")).all()
    assert sorted(d.ordinal for _, d in fired) == [2]  # day 1 was recorded; day 3 not yet due
    assert day_deadlines(cid)[2] == "open"
    late = check(j, cid, 2)  # recording it late is still allowed, and says so in the deadline
    assert late.status_code == 200 and day_deadlines(cid)[2] == "met_late"


def test_complete_with_missing_checks_lists_them_and_needs_reason_and_signature(
        infused: Any, frozen: Any) -> None:
    j, cid, day0 = infused
    for day in (1, 2, 3, 5, 6, 7):
        frozen.set(local_midnight(day0 + timedelta(days=day)) + timedelta(hours=9))
        assert check(j, cid, day).status_code == 200
    early = j.event("coordinator", cid, "complete", {})
    assert early.status_code == 409 and "monitoring period runs until" in early.json()["detail"]
    frozen.set(local_midnight(day0 + timedelta(days=8)) + timedelta(hours=1))
    r = j.event("coordinator", cid, "complete", {})
    assert r.status_code == 409 and r.json()["code"] == "monitoring_checks_missing"
    assert r.json()["context"]["missing_days"] == [4] and "day 4" in r.json()["detail"]
    unsigned = j.event("coordinator", cid, "complete", {"reason": "patient transferred home"})
    assert unsigned.status_code == 409 and unsigned.json()["code"] == "signature_required"
    done = j.ok("coordinator", cid, "complete", {"reason": "patient transferred home"}, sign=True)
    assert done["state"] == "completed"
    events = j.client.get(f"/api/cases/{cid}/events", headers=j.auth["coordinator"]).json()
    assert events[-1]["reason"] == "patient transferred home"
    assert events[-1]["signatures"][0]["meaning"] == "Completed with missing monitoring checks"
    assert events[-1]["data"]["missing_days"] == [4]
    assert "open" not in day_deadlines(cid).values()


def test_complete_with_every_check_needs_no_signature(infused: Any, frozen: Any) -> None:
    j, cid, day0 = infused
    for day in range(1, 8):
        frozen.set(local_midnight(day0 + timedelta(days=day)) + timedelta(hours=9))
        assert check(j, cid, day).status_code == 200
    frozen.set(local_midnight(day0 + timedelta(days=8)))
    assert j.ok("coordinator", cid, "complete", {})["state"] == "completed"
