"""The slot in the journey table: fresh apheresis is scheduled only for a confirmed slot (where
the facility books by slot), collected close to its start or with a signed override, and
start_manufacturing consumes the reservation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from cartrack import clock
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey
from tests.helpers.slots import add_people, availability, hold, set_capacity

TOMORROW = date(2026, 6, 2)  # the frozen clock's today is 2026-06-01
SCHEDULE = {"collection_date": "2026-06-01", "manufacturing_slot": "MF-EAST 2026-06-02"}


def _confirm(client: Any, auth: Any, case: int) -> None:
    r = client.post(f"/api/cases/{case}/slot/confirm", headers=auth["coordinator"],
                    json={"signature": {"password": PASSWORD}})
    assert r.status_code == 200, r.text


def test_fresh_apheresis_is_scheduled_only_for_a_confirmed_slot(client: Any, auth: Any,
                                                                frozen: Any) -> None:
    people = add_people()
    j = Journey(client, auth)
    case = j.enroll("yescarta")["id"]
    other = j.enroll("tecartus", mrn="MRN-T")["id"]
    set_capacity(client, people["planner"], TOMORROW, 2)
    r = j.event("coordinator", case, "schedule_collection", SCHEDULE)
    assert (r.status_code, r.json()["code"]) == (409, "slot_required")
    assert r.json()["context"]["slot_status"] is None
    assert hold(client, auth["coordinator"], case, TOMORROW).status_code == 201
    r = j.event("coordinator", case, "schedule_collection", SCHEDULE)
    assert (r.status_code, r.json()["code"]) == (409, "slot_required")
    assert "is only held" in r.json()["detail"]
    _confirm(client, auth, case)
    assert j.ok("coordinator", case, "schedule_collection", SCHEDULE)["state"] == \
        "collection_scheduled"
    # A product the facility publishes no capacity for is scheduled as before.
    assert j.ok("coordinator", other, "schedule_collection", SCHEDULE)["state"] == \
        "collection_scheduled"


def test_cryopreserved_apheresis_is_collected_without_a_slot(client: Any, auth: Any,
                                                             frozen: Any) -> None:
    people = add_people()
    j = Journey(client, auth)
    case = j.enroll("kymriah")["id"]
    set_capacity(client, people["planner"], TOMORROW, 2, product="kymriah")
    assert j.ok("coordinator", case, "schedule_collection", SCHEDULE)["state"] == \
        "collection_scheduled"
    # ... and books its slot after collection.
    j.to(case, "collected")
    set_capacity(client, people["planner"], date(2026, 6, 10), 1, product="kymriah")
    r = hold(client, auth["coordinator"], case, date(2026, 6, 10))
    assert r.status_code == 201, r.text
    assert r.json()["plan"]["binding"] == "cryo_decoupled"


def test_a_collection_far_from_the_slot_needs_a_signed_override(client: Any, auth: Any,
                                                                frozen: Any) -> None:
    people = add_people()
    j = Journey(client, auth)
    case = j.enroll("yescarta")["id"]
    set_capacity(client, people["planner"], date(2026, 6, 5), 1)
    assert hold(client, auth["coordinator"], case, date(2026, 6, 5)).status_code == 201
    _confirm(client, auth, case)
    j.ok("coordinator", case, "schedule_collection", SCHEDULE)
    data = {"collection_end": (clock.now() - timedelta(minutes=30)).isoformat(),
            "units": [{"volume_ml": 200}]}
    r = j.event("collection_staff", case, "record_collection", data)
    assert (r.status_code, r.json()["code"]) == (409, "collection_far_from_slot")
    assert r.json()["context"]["slot_day"] == "2026-06-05"
    r = j.event("collection_staff", case, "record_collection",
                {**data, "override_reason": "Patient only available today"})
    assert (r.status_code, r.json()["code"]) == (409, "signature_required")
    done = j.ok("collection_staff", case, "record_collection",
                {**data, "override_reason": "Patient only available today"}, sign=True)
    assert done["state"] == "collected"
    timeline = client.get(f"/api/cases/{case}/events", headers=auth["coordinator"])
    assert "Override: collection far from the manufacturing slot" in timeline.text


def test_start_manufacturing_consumes_the_slot(client: Any, auth: Any, frozen: Any) -> None:
    people = add_people()
    j = Journey(client, auth)
    case = j.enroll("yescarta")["id"]
    set_capacity(client, people["planner"], TOMORROW, 1)
    assert hold(client, auth["coordinator"], case, TOMORROW).status_code == 201
    _confirm(client, auth, case)
    j.to(case, "received_at_manufacturing")
    assert client.get(f"/api/cases/{case}/slot",
                      headers=auth["coordinator"]).json()["status"] == "confirmed"
    j.to(case, "manufacturing")
    got = client.get(f"/api/cases/{case}/slot", headers=auth["coordinator"]).json()
    assert got["status"] == "consumed"
    day = availability(client, auth["coordinator"], TOMORROW, TOMORROW)["2026-06-02"]
    assert (day["booked"], day["open"]) == (1, 0)  # the start used the day's place
    r = client.post(f"/api/cases/{case}/slot/release", headers=auth["coordinator"],
                    json={"reason_code": "other", "reason_text": "too late"})
    assert (r.status_code, r.json()["code"]) == (404, "no_slot")


def test_cancelling_the_case_releases_its_slot(client: Any, auth: Any, frozen: Any) -> None:
    people = add_people()
    j = Journey(client, auth)
    case = j.enroll("yescarta")["id"]
    set_capacity(client, people["planner"], TOMORROW, 1)
    assert hold(client, auth["coordinator"], case, TOMORROW).status_code == 201
    j.ok("coordinator", case, "cancel", {"reason": "Patient withdrew consent"}, sign=True)
    got = client.get(f"/api/cases/{case}/slot", headers=auth["coordinator"]).json()
    assert got["status"] == "released"
    assert got["reason_text"] == "Case cancelled: Patient withdrew consent"
    assert availability(client, auth["coordinator"], TOMORROW, TOMORROW)["2026-06-02"]["open"] == 1


def test_schedule_collection_takes_the_slot_and_infusion_from_the_confirmed_plan(
        client: Any, auth: Any, frozen: Any) -> None:
    people = add_people()
    j = Journey(client, auth)
    case = j.enroll("yescarta")["id"]
    set_capacity(client, people["planner"], date(2026, 6, 5), 1)
    plan = hold(client, auth["coordinator"], case, date(2026, 6, 5), buffer_days=2).json()["plan"]
    assert (plan["apheresis"], plan["infusion"]) == ("2026-06-04", "2026-06-22")
    _confirm(client, auth, case)
    r = j.event("coordinator", case, "schedule_collection", {
        "collection_date": "2026-06-04", "planned_infusion_date": "2026-06-03"})
    assert (r.status_code, r.json()["code"]) == (409, "guard_failed")
    done = j.ok("coordinator", case, "schedule_collection", {"collection_date": "2026-06-04"})
    assert (done["collection_date"], done["planned_infusion_date"]) == ("2026-06-04",
                                                                        "2026-06-22")
    assert done["manufacturing_slot"] == "MF-EAST 2026-06-05"
