"""Slot reservations through the API: hold, full days, confirm with a signature, reschedule,
release, and what each site sees."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import col, select

from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey
from tests.helpers.slots import add_people, availability, hold, open_days, set_capacity

D1, D2, D3 = date(2026, 6, 10), date(2026, 6, 11), date(2026, 6, 12)


def _audit(case_id: int) -> list[tuple[str, str | None]]:
    with new_session() as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.case_id == case_id,
                                               col(AuditEntry.action).startswith("slot."))
                      .order_by(col(AuditEntry.id))).all()
    return [(r.action, r.new.get("status") if r.new else None) for r in rows]


def _setup(client: Any, auth: Any, cases: int = 3, product: str = "yescarta"
           ) -> tuple[dict[str, dict[str, str]], list[int]]:
    people = add_people()
    j = Journey(client, auth)
    ids = [j.enroll(product, mrn=f"MRN-{i}")["id"] for i in range(cases)]
    return people, ids


def test_a_full_day_is_refused_with_the_next_open_days(client: Any, auth: Any,
                                                       frozen: Any) -> None:
    people, (a, b, c) = _setup(client, auth)
    set_capacity(client, people["planner"], D1, 2)
    set_capacity(client, people["planner"], D2, 0)
    set_capacity(client, people["planner"], D3, 1)
    co = auth["coordinator"]
    for case in (a, b):
        r = hold(client, co, case, D1)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "held" and r.json()["plan"]["manufacturing_start"] == "2026-06-10"
    r = hold(client, co, c, D1)
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "slot_full"
    assert body["context"] == {"day": "2026-06-10", "capacity": 2, "booked": 2,
                               "next_open_days": ["2026-06-12"]}
    assert "Next open: 2026-06-12" in body["detail"]
    r = hold(client, co, c, D2)  # closed
    assert (r.status_code, r.json()["code"]) == (409, "slot_full")
    r = hold(client, co, c, date(2026, 6, 13))  # no capacity set: closed
    assert (r.status_code, r.json()["code"]) == (409, "slot_full")
    r = hold(client, co, a, D3)
    assert (r.status_code, r.json()["code"]) == (409, "case_has_slot")
    days = availability(client, co, D1, D3)
    assert [(d["capacity"], d["booked"], d["open"]) for d in days.values()] == [
        (2, 2, 0), (0, 0, 0), (1, 0, 1)]
    assert _audit(a) == [("slot.held", "held")]


def test_hold_refusals_have_their_codes(client: Any, auth: Any, frozen: Any) -> None:
    people, (a,) = _setup(client, auth, 1)
    open_days(client, people["planner"], date(2026, 6, 1), 14, 2)
    co = auth["coordinator"]
    r = hold(client, co, a, date(2026, 6, 1))  # today at the facility
    assert (r.status_code, r.json()["code"]) == (409, "slot_too_soon")
    r = hold(client, auth["lab_tech"], a, D1)
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
    r = hold(client, people["coordinator_other"], a, D1)  # not this case's site: not found
    assert (r.status_code, r.json()["code"]) == (404, "case_not_found")
    r = hold(client, co, 999999, D1)
    assert (r.status_code, r.json()["code"]) == (404, "case_not_found")
    r = client.post(f"/api/cases/{a}/slot", headers=co, json={"day": "2026-06-10",
                                                             "buffer_days": -1})
    assert r.status_code == 422
    r = client.post(f"/api/cases/{a}/slot", headers=co, json={"day": "2026-06-10", "x": 1})
    assert r.status_code == 422
    for path in ("confirm", "release"):
        body = ({"signature": {"password": PASSWORD}} if path == "confirm" else
                {"reason_code": "other", "reason_text": "no slot yet"})
        r = client.post(f"/api/cases/{a}/slot/{path}", headers=co, json=body)
        assert (r.status_code, r.json()["code"]) == (404, "no_slot"), path
    r = client.get(f"/api/cases/{a}/slot", headers=co)
    assert (r.status_code, r.json()["code"]) == (404, "no_slot")


def test_confirm_needs_the_signers_password(client: Any, auth: Any, frozen: Any) -> None:
    people, (a,) = _setup(client, auth, 1)
    set_capacity(client, people["planner"], D1, 1)
    co = auth["coordinator"]
    assert hold(client, co, a, D1).status_code == 201
    url = f"/api/cases/{a}/slot/confirm"
    assert client.post(url, headers=co, json={}).status_code == 422
    r = client.post(url, headers=co, json={"signature": {"password": "wrong-password-1"}})
    assert (r.status_code, r.json()["code"]) == (403, "signature_failed")
    assert client.get(f"/api/cases/{a}/slot", headers=co).json()["status"] == "held"
    r = client.post(url, headers=co, json={"signature": {"password": PASSWORD}})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "confirmed"
    assert got["confirmed_by"] == "Cora Coordinator"
    assert got["signature_meaning"] == "Approved: manufacturing slot"
    r = client.post(url, headers=co, json={"signature": {"password": PASSWORD}})
    assert (r.status_code, r.json()["code"]) == (409, "slot_not_held")
    assert _audit(a) == [("slot.held", "held"), ("slot.confirmed", "confirmed")]


def test_reschedule_is_atomic(client: Any, auth: Any, frozen: Any) -> None:
    people, (a, b) = _setup(client, auth, 2)
    set_capacity(client, people["planner"], D1, 1)
    set_capacity(client, people["planner"], D2, 1)
    set_capacity(client, people["planner"], D3, 1)
    co = auth["coordinator"]
    assert hold(client, co, a, D1).status_code == 201
    assert hold(client, co, b, D2).status_code == 201
    url = f"/api/cases/{a}/slot/reschedule"
    reason = {"reason_code": "patient_clinical", "reason_text": "Infection, wait two days"}
    r = client.post(url, headers=co, json={"day": "2026-06-11", **reason})  # full
    assert (r.status_code, r.json()["code"]) == (409, "slot_full")
    assert r.json()["context"]["next_open_days"] == ["2026-06-12"]
    got = client.get(f"/api/cases/{a}/slot", headers=co).json()
    assert (got["status"], got["day"]) == ("held", "2026-06-10")
    days = availability(client, co, D1, D3)
    assert [d["booked"] for d in days.values()] == [1, 1, 0]
    r = client.post(url, headers=co, json={"day": "2026-06-10", **reason})
    assert (r.status_code, r.json()["code"]) == (409, "same_day")
    r = client.post(url, headers=co, json={"day": "2026-06-12", "reason_code": "other",
                                           "reason_text": "  "})
    assert r.status_code == 422
    r = client.post(url, headers=co, json={"day": "2026-06-12", "reason_code": "nonsense",
                                           "reason_text": "a reason"})
    assert r.status_code == 422
    r = client.post(url, headers=co, json={"day": "2026-06-12", **reason})
    assert r.status_code == 200, r.text
    new = r.json()
    assert (new["status"], new["day"], new["plan"]["apheresis"]) == ("held", "2026-06-12",
                                                                     "2026-06-11")
    assert new["replaces_id"] is not None
    days = availability(client, co, D1, D3)
    assert [d["booked"] for d in days.values()] == [0, 1, 1]
    assert _audit(a) == [("slot.held", "held"), ("slot.released", "released"),
                         ("slot.held", "held")]
    with new_session() as s:
        old = s.exec(select(AuditEntry).where(AuditEntry.case_id == a,
                                              AuditEntry.action == "slot.released")).one()
    assert old.reason == "Infection, wait two days"
    assert old.new["reason_code"] == "patient_clinical"


def test_release_opens_the_day_again(client: Any, auth: Any, frozen: Any) -> None:
    people, (a, b) = _setup(client, auth, 2)
    set_capacity(client, people["planner"], D1, 1)
    co = auth["coordinator"]
    assert hold(client, co, a, D1).status_code == 201
    assert client.post(f"/api/cases/{a}/slot/confirm", headers=co,
                       json={"signature": {"password": PASSWORD}}).status_code == 200
    assert hold(client, co, b, D1).json()["code"] == "slot_full"
    r = client.post(f"/api/cases/{a}/slot/release", headers=co,
                    json={"reason_code": "payer", "reason_text": "Authorization denied"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reason_code"]) == ("released", "payer")
    assert availability(client, co, D1, D1)["2026-06-10"]["open"] == 1
    assert hold(client, co, b, D1).status_code == 201
    # The capacity cannot go below what is booked.
    r = set_capacity(client, people["planner"], D1, 0)
    assert (r.status_code, r.json()["code"]) == (409, "capacity_below_booked")
    # A released case may book again.
    set_capacity(client, people["planner"], D2, 1)
    assert hold(client, co, a, D2).status_code == 201


def test_each_site_sees_its_own_bookings_only(client: Any, auth: Any, frozen: Any) -> None:
    people, (a,) = _setup(client, auth, 1)
    r = client.post("/api/cases", headers=people["coordinator_other"], json={
        "patient": {"given_name": "O", "family_name": "Ther", "date_of_birth": "1970-01-01",
                    "mrn": "MRN-O"}, "product": "yescarta", "collection_site": "TC-OTHER",
        "manufacturing_site": "MF-EAST", "treatment_site": "TC-OTHER"})
    assert r.status_code == 201, r.text
    b = r.json()["id"]
    set_capacity(client, people["planner"], D1, 3)
    assert hold(client, auth["coordinator"], a, D1).status_code == 201
    assert hold(client, people["coordinator_other"], b, D1).status_code == 201
    mine = availability(client, auth["coordinator"], D1, D1)["2026-06-10"]
    theirs = availability(client, people["coordinator_other"], D1, D1)["2026-06-10"]
    plant = availability(client, people["planner"], D1, D1)["2026-06-10"]
    assert (mine["booked"], mine["open"]) == (2, 1) == (theirs["booked"], theirs["open"])
    assert [x["case_id"] for x in mine["bookings"]] == [a]
    assert [x["case_id"] for x in theirs["bookings"]] == [b]
    assert sorted(x["case_id"] for x in plant["bookings"]) == sorted([a, b])
    r = client.get(f"/api/cases/{a}/slot", headers=people["coordinator_other"])
    assert (r.status_code, r.json()["code"]) == (404, "case_not_found")
    r = client.post(f"/api/cases/{a}/slot/release", headers=people["coordinator_other"],
                    json={"reason_code": "other", "reason_text": "not mine"})
    assert (r.status_code, r.json()["code"]) == (404, "case_not_found")
    # Lab staff at the facility see the case's slot (a case role at one of its sites).
    assert client.get(f"/api/cases/{a}/slot", headers=auth["lab_tech"]).status_code == 200
