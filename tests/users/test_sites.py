"""Adding a site: each kind once, the time zone checked, the code unique (admin only)."""

from __future__ import annotations

from typing import Any


def _site(client: Any, auth: Any, **body: Any) -> Any:
    payload = {"code": "TC-NORTH", "name": "North Hospital", "kinds": ["treatment_center"],
               "timezone": "Europe/Berlin", **body}
    return client.post("/api/sites", headers=auth["admin"], json=payload)


def test_a_site_names_each_kind_once(client: Any, auth: Any) -> None:
    r = _site(client, auth, kinds=["treatment_center", "collection_center", "treatment_center"])
    assert r.status_code == 201, r.text
    assert r.json()["kinds"] == ["treatment_center", "collection_center"]
    listed = next(s for s in client.get("/api/sites", headers=auth["admin"]).json()
                  if s["code"] == "TC-NORTH")
    assert listed["kinds"] == ["treatment_center", "collection_center"]


def test_a_site_is_refused_for_too_many_kinds_a_bad_zone_or_a_taken_code(client: Any,
                                                                         auth: Any) -> None:
    many = _site(client, auth, kinds=["treatment_center"] * 4)
    assert many.status_code == 422 and many.json()["fields"][0]["field"] == "kinds"
    zone = _site(client, auth, timezone="Mars/Olympus_Mons")
    assert zone.status_code == 409 and zone.json()["code"] == "unknown_time_zone"
    assert _site(client, auth).status_code == 201
    again = _site(client, auth, name="Another")
    assert again.status_code == 409 and again.json()["code"] == "site_exists"
    assert client.post("/api/sites", headers=auth["coordinator"], json={
        "code": "X1", "name": "X", "kinds": ["treatment_center"]}).status_code == 403
    assert [s["code"] for s in client.get("/api/sites", headers=auth["admin"]).json()].count(
        "TC-NORTH") == 1
