"""Scheduling: a planner and a second site's staff, capacity set through the API, and holds."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from cartrack.db import new_session
from cartrack.users import service as users
from cartrack.users.models import MembershipIn, Role, SiteIn, SiteKind, UserIn
from tests.helpers.auth import bearer_for
from tests.helpers.constants import PASSWORD

FACILITY, PRODUCT = "MF-EAST", "yescarta"


def add_people() -> dict[str, dict[str, str]]:
    """A planner at MF-EAST, a planner at a second facility, and a coordinator at a second
    treatment center; their bearer headers by username."""
    with new_session() as s:
        users.create_site(s, None, SiteIn(code="MF-WEST", name="West Manufacturing",
                                          kinds=[SiteKind.manufacturing_facility],
                                          timezone="America/Los_Angeles"))
        users.create_site(s, None, SiteIn(code="TC-OTHER", name="Other Hospital",
                                          kinds=[SiteKind.treatment_center,
                                                 SiteKind.collection_center],
                                          timezone="America/New_York"))
        for username, name, role, site in (
                ("planner", "Pia Planner", Role.manufacturing_planner, "MF-EAST"),
                ("planner_west", "Walt Planner", Role.manufacturing_planner, "MF-WEST"),
                ("coordinator_other", "Otto Coordinator", Role.coordinator, "TC-OTHER")):
            users.create_user(s, None, UserIn(
                username=username, full_name=name, password=PASSWORD,
                memberships=[MembershipIn(role=role, site_code=site)]),
                password_rules=False, published_password=True)
        s.commit()
    return {u: bearer_for(u) for u in ("planner", "planner_west", "coordinator_other")}


def set_capacity(client: TestClient, headers: dict[str, str], day: date, capacity: int,
                 product: str = PRODUCT, facility: str = FACILITY) -> Any:
    return client.put(f"/api/slots/capacity/{facility}/{product}/{day.isoformat()}",
                      headers=headers, json={"capacity": capacity, "note": None})


def open_days(client: TestClient, headers: dict[str, str], first: date, days: int,
              capacity: int, product: str = PRODUCT) -> None:
    r = client.put(f"/api/slots/capacity/{FACILITY}/{product}", headers=headers, json={
        "start": first.isoformat(), "end": (first + timedelta(days=days - 1)).isoformat(),
        "weekdays": [capacity] * 7})
    assert r.status_code == 200, r.text


def availability(client: TestClient, headers: dict[str, str], start: date, end: date,
                 product: str = PRODUCT) -> dict[str, dict[str, Any]]:
    r = client.get("/api/slots/availability", headers=headers, params={
        "facility": FACILITY, "product": product, "start": start.isoformat(),
        "end": end.isoformat()})
    assert r.status_code == 200, r.text
    return {d["day"]: d for d in r.json()}


def hold(client: TestClient, headers: dict[str, str], case_id: int, day: date,
         buffer_days: int = 0) -> Any:
    return client.post(f"/api/cases/{case_id}/slot", headers=headers,
                       json={"day": day.isoformat(), "buffer_days": buffer_days})
