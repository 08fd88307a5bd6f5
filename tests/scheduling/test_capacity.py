"""The capacity calendar: who may edit it, one day or a weekly pattern, every change audited,
and availability as a planner and a coordinator read it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import col, select

from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from tests.helpers.slots import FACILITY, add_people, availability, set_capacity

DAY = date(2026, 6, 10)


def test_a_planner_sets_a_day_and_it_is_audited(client: Any, auth: Any, frozen: Any) -> None:
    people = add_people()
    r = set_capacity(client, people["planner"], DAY, 3)
    assert r.status_code == 200, r.text
    assert r.json() == {"facility": FACILITY, "product": "yescarta", "day": "2026-06-10",
                        "capacity": 3, "booked": 0, "note": None}
    r = client.put(f"/api/slots/capacity/{FACILITY}/yescarta/2026-06-10",
                   headers=people["planner"], json={"capacity": 0, "note": "Suite cleaning"})
    assert r.json()["capacity"] == 0 and r.json()["note"] == "Suite cleaning"
    with new_session() as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.action == "capacity.set")
                      .order_by(col(AuditEntry.id))).all()
    assert [(r.old, (r.new or {}).get("capacity")) for r in rows] == [
        (None, 3), ({"capacity": 3, "note": None}, 0)]
    assert rows[1].printed_name == "Pia Planner"
    days = availability(client, auth["coordinator"], DAY, DAY)
    assert days["2026-06-10"] == {"day": "2026-06-10", "capacity": 0, "booked": 0, "open": 0,
                                  "bookings": []}


def test_a_weekly_pattern_sets_each_day_of_the_range(client: Any, auth: Any,
                                                     frozen: Any) -> None:
    people = add_people()
    # 2026-06-08 is a Monday: Monday 2 ... Friday 1, weekend closed.
    r = client.put(f"/api/slots/capacity/{FACILITY}/yescarta", headers=people["planner"], json={
        "start": "2026-06-08", "end": "2026-06-21", "weekdays": [2, 2, 3, 3, 1, 0, 0],
        "note": "summer pattern"})
    assert r.status_code == 200, r.text
    assert len(r.json()) == 14
    days = availability(client, people["planner"], date(2026, 6, 7), date(2026, 6, 15))
    assert [days[d]["capacity"] for d in sorted(days)] == [0, 2, 2, 3, 3, 1, 0, 0, 2]
    assert days["2026-06-07"]["open"] == 0  # no row: closed


def test_who_may_edit_capacity(client: Any, auth: Any, frozen: Any) -> None:
    people = add_people()
    body = {"capacity": 2}
    url = f"/api/slots/capacity/{FACILITY}/yescarta/2026-06-10"
    r = client.put(url, headers=auth["coordinator"], json=body)
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
    r = client.put(url, headers=people["planner_west"], json=body)
    assert (r.status_code, r.json()["code"]) == (403, "site_forbidden")
    assert client.put(url, headers=auth["admin"], json=body).status_code == 200
    assert client.put(url, headers=people["planner"], json=body).status_code == 200


def test_capacity_refusals_have_their_codes(client: Any, auth: Any, frozen: Any) -> None:
    people = add_people()
    h = people["planner"]
    cases = [
        ("/api/slots/capacity/MF-NOPE/yescarta/2026-06-10", {"capacity": 1}, 404,
         "facility_not_found"),
        ("/api/slots/capacity/TC-CITY/yescarta/2026-06-10", {"capacity": 1}, 404,
         "facility_not_found"),
        ("/api/slots/capacity/MF-EAST/nosuch/2026-06-10", {"capacity": 1}, 404,
         "protocol_not_found"),
        ("/api/slots/capacity/MF-EAST/yescarta/2026-06-10", {"capacity": -1}, 422, None),
        ("/api/slots/capacity/MF-EAST/yescarta/2026-06-10", {"capacity": 1, "x": 1}, 422, None),
        ("/api/slots/capacity/MF-EAST/yescarta/2026-13-10", {"capacity": 1}, 422, None),
        ("/api/slots/capacity/MF-EAST/yescarta", {"start": "2026-06-10", "end": "2026-06-01",
                                                  "weekdays": [1] * 7}, 409, "bad_range"),
        ("/api/slots/capacity/MF-EAST/yescarta", {"start": "2026-06-10", "end": "2027-06-12",
                                                  "weekdays": [1] * 7}, 409, "range_too_long"),
        ("/api/slots/capacity/MF-EAST/yescarta", {"start": "2026-06-10", "end": "2026-06-11",
                                                  "weekdays": [1] * 6}, 422, None),
    ]
    for url, body, status, code in cases:
        r = client.put(url, headers=h, json=body)
        assert r.status_code == status, (url, body, r.text)
        if code:
            assert r.json()["code"] == code, (url, r.text)
    r = client.get("/api/slots/availability", headers=h, params={
        "facility": FACILITY, "product": "yescarta", "start": "2026-06-10", "end": "2026-06-01"})
    assert (r.status_code, r.json()["code"]) == (409, "bad_range")
