"""The journey through the API, allowed and refused, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.helpers.journey import Journey


def test_happy_path_to_received(client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    case = j.enroll()
    assert case["state"] == "enrolled"
    assert case["coi"].startswith("CHA999926")
    detail = j.to(case["id"], "received_at_treatment_center")
    assert detail["state"] == "received_at_treatment_center"


def _board(client: Any, headers: dict[str, str], q: str | None = None) -> list[dict[str, Any]]:
    r = client.get("/api/cases", params={"q": q} if q else {}, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_clinical_staff_find_a_patient_by_name_mrn_or_birth_date(client: Any, auth: Any) -> None:
    r = client.post("/api/cases", headers=auth["coordinator"], json={
        "patient": {"given_name": "Amelia", "family_name": "Okafor-Lind",
                    "date_of_birth": "1971-03-09", "mrn": "MRN-77410"},
        "product": "yescarta", "collection_site": "TC-CITY", "manufacturing_site": "MF-EAST",
        "treatment_site": "TC-CITY"})
    assert r.status_code == 201, r.text
    amelia = r.json()
    Journey(client, auth).enroll(mrn="MRN-OTHER")  # "Test Patient", born 1960-01-01
    coordinator = auth["coordinator"]

    row = next(c for c in _board(client, coordinator) if c["id"] == amelia["id"])
    assert row["patient"] == {"given_name": "Amelia", "family_name": "Okafor-Lind",
                              "date_of_birth": "1971-03-09", "mrn": "MRN-77410"}
    for q in ("okafor", "Amelia Okafor-Lind", "okafor-lind amelia", "mrn-77410", "1971-03-09",
              amelia["coi"]):
        assert [c["id"] for c in _board(client, coordinator, q)] == [amelia["id"]], q
    assert _board(client, coordinator, "1971-03-10") == []
    assert _board(client, coordinator, "MRN-7741") == [], "an MRN matches whole, not by prefix"
    assert _board(client, coordinator, "%") == [], "wildcards are text, not patterns"


def test_manufacturing_staff_search_by_coi_only_and_see_no_patient(client: Any,
                                                                   auth: Any) -> None:
    case = Journey(client, auth).enroll(mrn="MRN-55501")
    lab = auth["lab_tech"]
    rows = _board(client, lab)
    assert case["id"] in [c["id"] for c in rows]
    assert all(c["patient"] is None for c in rows)
    assert _board(client, lab, "Patient") == []
    assert _board(client, lab, "MRN-55501") == []
    assert _board(client, lab, "1960-01-01") == []
    assert [c["id"] for c in _board(client, lab, case["coi"])] == [case["id"]]
