"""One error shape for every 4xx, 422 with the field, 413 for oversized bodies, pagination."""

from __future__ import annotations

import threading
from typing import Any

from tests.helpers.journey import Journey


def test_unknown_api_route_is_404_in_the_error_shape(client: Any) -> None:
    r = client.get("/api/nothing-here")
    assert r.status_code == 404
    assert set(r.json()) >= {"detail", "code"}


def test_invalid_input_names_the_field(client: Any, auth: Any) -> None:
    r = client.post("/api/cases", headers=auth["coordinator"], json={
        "patient": {"given_name": "A", "family_name": "B", "date_of_birth": "not-a-date",
                    "mrn": "1"}, "product": "yescarta", "collection_site": "TC-CITY",
        "manufacturing_site": "MF-EAST", "treatment_site": "TC-CITY"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_input"
    assert body["fields"][0]["field"] == "patient.date_of_birth"
    assert "patient.date_of_birth" in body["detail"]


def test_unknown_event_is_422(client: Any, auth: Any) -> None:
    case = Journey(client, auth).enroll()
    r = client.post(f"/api/cases/{case['id']}/events", headers=auth["coordinator"],
                    json={"event": "teleport", "data": {}})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"


def test_unknown_site_or_product_is_a_clear_4xx(client: Any, auth: Any) -> None:
    body = {"patient": {"given_name": "A", "family_name": "B", "date_of_birth": "1970-01-01",
                        "mrn": "1"}, "product": "yescarta", "collection_site": "NOPE",
            "manufacturing_site": "MF-EAST", "treatment_site": "TC-CITY"}
    r = client.post("/api/cases", headers=auth["coordinator"], json=body)
    assert r.status_code == 404 and r.json()["code"] == "site_not_found"
    body |= {"collection_site": "MF-EAST"}
    r = client.post("/api/cases", headers=auth["coordinator"], json=body)
    assert r.status_code == 409 and r.json()["code"] == "wrong_site_kind"
    body |= {"collection_site": "TC-CITY", "product": "snake-oil"}
    r = client.post("/api/cases", headers=auth["coordinator"], json=body)
    assert r.status_code == 404 and r.json()["code"] == "protocol_not_found"
    assert client.get("/api/cases", headers=auth["coordinator"]).json()["total"] == 0


def test_oversized_body_is_413(client: Any, auth: Any) -> None:
    r = client.post("/api/cases", headers={**auth["coordinator"],
                                           "content-type": "application/json"},
                    content=b"{" + b" " * 1_100_000 + b"}")
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"


def test_case_list_is_paginated(client: Any, auth: Any) -> None:
    j = Journey(client, auth)
    ids = [j.enroll(mrn=f"M{i}")["id"] for i in range(5)]
    page = client.get("/api/cases", params={"limit": 2, "offset": 1},
                      headers=auth["coordinator"]).json()
    assert page["total"] == 5 and page["limit"] == 2 and len(page["items"]) == 2
    assert {c["id"] for c in page["items"]} <= set(ids)
    r = client.get("/api/cases", params={"limit": 0}, headers=auth["coordinator"])
    assert r.status_code == 422


def test_two_concurrent_conflicting_events_exactly_one_wins(client: Any, auth: Any) -> None:
    j = Journey(client, auth)
    for _ in range(3):
        case = j.enroll()
        results: list[int] = []
        barrier = threading.Barrier(2)

        def act(day: str, cid: int = case["id"], barrier: threading.Barrier = barrier,
                results: list[int] = results) -> None:
            barrier.wait()
            r = j.event("coordinator", cid, "schedule_collection",
                        {"collection_date": day, "manufacturing_slot": f"slot for {day}"})
            results.append(r.status_code)

        # Two coordinators schedule the same case at the same moment, for different days.
        a = threading.Thread(target=act, args=("2099-01-02",))
        b = threading.Thread(target=act, args=("2099-01-03",))
        a.start()
        b.start()
        a.join()
        b.join()
        assert sorted(results) == [200, 409], results
        events = client.get(f"/api/cases/{case['id']}/events",
                            headers=auth["coordinator"]).json()
        assert len(events) == 2  # enroll + the one winner
        detail = j.case(case["id"])
        assert detail["collection_date"] in ("2099-01-02", "2099-01-03")
        assert [d["kind"] for d in detail["deadlines"]] == ["collection_due"]


def test_nul_characters_are_refused_not_stored(client: Any, auth: Any) -> None:
    r = client.post("/api/auth/login", json={"username": "\u0000", "password": "x"})
    assert r.status_code == 422 and r.json()["code"] == "nul_character"
    r = client.get("/api/cases?q=%00", headers=auth["coordinator"])
    assert r.status_code == 422


def test_a_wrong_method_is_405_naming_every_method_of_the_path(client: Any, auth: Any) -> None:
    # /api/cases has GET (the board) and POST (enroll); DELETE is neither.
    r = client.delete("/api/cases", headers=auth["coordinator"])
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}
    assert "GET" in r.json()["detail"] and "POST" in r.json()["detail"]
    assert r.headers["Cache-Control"] == "no-store"


def test_every_refusal_names_its_fields_in_the_typed_shape(client: Any, auth: Any) -> None:
    r = client.post("/api/cases", headers=auth["coordinator"], json={"product": 7})
    assert r.status_code == 422
    for problem in r.json()["fields"]:
        assert set(problem) <= {"field", "message", "type"} and problem["field"]
        assert problem["message"]
