"""The calendar: planned and actual days of the cases a user may see, per site, COIs only."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey
from tests.helpers.slots import add_people, hold, set_capacity

RANGE = {"start": "2026-06-01", "end": "2026-06-30"}


def test_the_calendar_shows_plans_and_actuals_of_visible_cases(client: Any, auth: Any,
                                                               frozen: Any) -> None:
    people = add_people()
    j = Journey(client, auth)
    case = j.enroll("yescarta")
    set_capacity(client, people["planner"], date(2026, 6, 2), 2)
    assert hold(client, auth["coordinator"], case["id"], date(2026, 6, 2)).status_code == 201
    r = client.post("/api/cases", headers=people["coordinator_other"], json={
        "patient": {"given_name": "Olga", "family_name": "Other", "date_of_birth": "1970-01-01",
                    "mrn": "MRN-O"}, "product": "yescarta", "collection_site": "TC-OTHER",
        "manufacturing_site": "MF-EAST", "treatment_site": "TC-OTHER"})
    other = r.json()["id"]
    assert hold(client, people["coordinator_other"], other, date(2026, 6, 2)).status_code == 201
    r = client.get("/api/calendar", headers=auth["coordinator"], params=RANGE)
    assert r.status_code == 200, r.text
    mine = r.json()
    assert {e["case_id"] for e in mine} == {case["id"]}
    planned = {e["kind"]: (e["day"], e["site"]) for e in mine if e["planned"]}
    assert planned == {"collection": ("2026-06-01", "TC-CITY"),
                       "manufacturing_start": ("2026-06-02", "MF-EAST"),
                       "release": ("2026-06-15", "MF-EAST"), "delivery": ("2026-06-17", "TC-CITY"),
                       "ld_start": ("2026-06-12", "TC-CITY"), "infusion": ("2026-06-17", "TC-CITY")}
    assert "Test" not in r.text and "MRN" not in r.text  # COIs only
    # The lab at the facility sees both cases' manufacturing days at its site.
    r = client.get("/api/calendar", headers=auth["lab_tech"], params={**RANGE, "site": "MF-EAST"})
    assert {(e["case_id"], e["kind"]) for e in r.json()} == {
        (c, k) for c in (case["id"], other) for k in ("manufacturing_start", "release")}
    # What happened shows beside the plan.
    assert client.post(f"/api/cases/{case['id']}/slot/confirm", headers=auth["coordinator"],
                       json={"signature": {"password": PASSWORD}}).status_code == 200
    j.to(case["id"], "collected")
    r = client.get("/api/calendar", headers=auth["coordinator"],
                   params={**RANGE, "site": "TC-CITY", "product": "yescarta"})
    actual = [(e["kind"], e["day"]) for e in r.json() if not e["planned"]]
    assert actual == [("collection", "2026-06-01")]
    r = client.get("/api/calendar", headers=auth["coordinator"], params={**RANGE,
                                                                       "product": "kymriah"})
    assert r.json() == []


def test_calendar_refusals(client: Any, auth: Any, frozen: Any) -> None:
    co = auth["coordinator"]
    for params, status, code in (
            ({"start": "2026-06-10", "end": "2026-06-01"}, 409, "bad_range"),
            ({"start": "2026-06-01", "end": "2026-12-01"}, 409, "range_too_long"),
            ({**RANGE, "site": "NOPE"}, 404, "site_not_found"),
            ({"start": "2026-06-01"}, 422, None)):
        r = client.get("/api/calendar", headers=co, params=params)
        assert r.status_code == status, (params, r.text)
        if code:
            assert r.json()["code"] == code
    r = client.get("/api/calendar", headers=auth["admin"], params=RANGE)
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
