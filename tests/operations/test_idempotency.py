"""Idempotency-Key on scans and journey events: a repeat returns the first outcome and records
nothing new; the same key on another request is refused; refusals are remembered too."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import SQLModel, select

from cartrack import clock, idempotency
from cartrack.alerts.models import Alert
from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from cartrack.idempotency import IdempotencyRecord
from cartrack.journey.models import CaseEvent
from cartrack.scans.models import CustodyEvent
from tests.helpers.alerts import served_app
from tests.helpers.journey import Journey

SCAN = {"payload": "NOT-A-CARTRACK-LABEL", "action": None, "location": "bench 1"}


def _count(model: type[SQLModel]) -> int:
    with new_session(read_only=True) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _rows() -> dict[str, int]:
    return {m.__name__: _count(m) for m in (CustodyEvent, AuditEntry, Alert, CaseEvent)}


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_a_repeated_scan_returns_the_first_outcome_and_records_nothing(
        client: TestClient, auth: Any) -> None:
    headers = {**auth["infusion_staff"], **_key()}
    first = client.post("/api/scans", headers=headers, json=SCAN)
    assert first.status_code == 200 and first.json()["verdict"] == "mismatch"
    assert "idempotent-replayed" not in first.headers
    after_first = _rows()
    again = client.post("/api/scans", headers=headers, json=SCAN)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()  # the same custody event id and time
    assert _rows() == after_first
    # Without a key (or with a new one) the same scan is a new scan, as before.
    assert client.post("/api/scans", headers=auth["infusion_staff"], json=SCAN).status_code == 200
    assert client.post("/api/scans", headers={**auth["infusion_staff"], **_key()},
                       json=SCAN).status_code == 200
    assert _count(CustodyEvent) == after_first["CustodyEvent"] + 2


def test_the_same_key_on_a_different_request_is_refused(client: TestClient, auth: Any) -> None:
    headers = {**auth["infusion_staff"], **_key()}
    assert client.post("/api/scans", headers=headers, json=SCAN).status_code == 200
    before = _rows()
    other = client.post("/api/scans", headers=headers, json={**SCAN, "location": "bench 2"})
    assert other.status_code == 422, other.text
    body = other.json()
    assert body["code"] == "idempotency_key_reused"
    assert "new key for a new action" in body["detail"]
    assert _rows() == before


def test_keys_belong_to_their_user(client: TestClient, auth: Any) -> None:
    key = _key()
    a = client.post("/api/scans", headers={**auth["infusion_staff"], **key}, json=SCAN)
    b = client.post("/api/scans", headers={**auth["lab_tech"], **key}, json=SCAN)
    assert a.status_code == b.status_code == 200
    assert "idempotent-replayed" not in b.headers
    assert a.json()["custody_event_id"] != b.json()["custody_event_id"]


@pytest.mark.parametrize("bad", ["", "x" * 201, "has space", "tab\there"])
def test_an_unusable_key_is_refused(client: TestClient, auth: Any, bad: str) -> None:
    before = _count(CustodyEvent)
    r = client.post("/api/scans", headers={**auth["infusion_staff"], "Idempotency-Key": bad},
                    json=SCAN)
    assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text
    assert _count(CustodyEvent) == before


def test_a_repeated_journey_event_is_applied_once(client: TestClient, auth: Any) -> None:
    j = Journey(client, auth)
    case = j.enroll()
    headers = {**auth["coordinator"], **_key()}
    body = {"event": "schedule_collection", "data": {
        "collection_date": clock.now().date().isoformat(), "manufacturing_slot": "slot 1"}}
    first = client.post(f"/api/cases/{case['id']}/events", headers=headers, json=body)
    assert first.status_code == 200 and first.json()["state"] == "collection_scheduled"
    version, before = first.json()["version"], _rows()
    again = client.post(f"/api/cases/{case['id']}/events", headers=headers, json=body)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["version"] == version and again.json()["state"] == "collection_scheduled"
    # Patient details stay in the patient table: the stored outcome kept none of them.
    assert first.json()["patient"] is not None and again.json()["patient"] is None
    assert {k: v for k, v in again.json().items() if k != "patient"} == \
        {k: v for k, v in first.json().items() if k != "patient"}
    assert _rows() == before
    assert j.case(case["id"])["version"] == version
    with new_session(read_only=True) as s:
        stored = s.exec(select(IdempotencyRecord)).all()
    assert all("Patient" not in r.body and "MRN-1" not in r.body for r in stored)


def test_a_refusal_is_remembered_with_the_records_it_left(client: TestClient, auth: Any) -> None:
    """A handoff with a bag missing is refused and leaves custody rows and an alert behind;
    its repeat gets the same refusal and leaves nothing more."""
    j = Journey(client, auth)
    case = j.enroll()
    j.to(case["id"], "collected")
    body = {"event": "ship_to_manufacturing", "data": {
        "scans": j.typed(case["id"], "apheresis")[:1], "shipper_type": "2-8 C shipper",
        "courier": "MedCourier", "tracking_number": "T1"}}
    headers = {**auth["collection_staff"], **_key()}
    before = _rows()
    first = client.post(f"/api/cases/{case['id']}/events", headers=headers, json=body)
    assert first.status_code == 409 and first.json()["code"] == "scan_missing_unit", first.text
    left = _rows()
    assert left["CustodyEvent"] > before["CustodyEvent"] and left["Alert"] == before["Alert"] + 1
    again = client.post(f"/api/cases/{case['id']}/events", headers=headers, json=body)
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert _rows() == left
    # The same refusal without the key records its traces again: that is what the key spares.
    client.post(f"/api/cases/{case['id']}/events", headers=auth["collection_staff"], json=body)
    assert _rows()["Alert"] == left["Alert"] + 1


def test_concurrent_repeats_record_one_scan(db_url: str, auth: Any) -> None:
    """Four copies of one request at the same moment (a retry racing the original)."""
    headers = {**auth["infusion_staff"], **_key()}
    before = _count(CustodyEvent)
    with served_app() as base:
        answers: list[httpx.Response] = []
        start = threading.Barrier(4)

        def send() -> None:
            start.wait()
            answers.append(httpx.post(f"{base}/api/scans", headers=headers, json=SCAN, timeout=30))

        threads = [threading.Thread(target=send) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["custody_event_id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 3
    assert _count(CustodyEvent) == before + 1


def test_keys_expire_after_the_retention(client: TestClient, auth: Any,
                                         frozen: clock.FrozenClock) -> None:
    headers = {**auth["infusion_staff"], **_key()}
    first = client.post("/api/scans", headers=headers, json=SCAN)
    frozen.advance(hours=23)
    assert client.post("/api/scans", headers=headers, json=SCAN).json() == first.json()
    assert idempotency.purge_expired() == 0
    frozen.advance(hours=2)
    later = client.post("/api/scans", headers=headers, json=SCAN)  # a new request by now
    assert "idempotent-replayed" not in later.headers
    assert later.json()["custody_event_id"] != first.json()["custody_event_id"]
    frozen.advance(hours=25)
    assert idempotency.purge_expired() == 1
    assert _count(IdempotencyRecord) == 0


def test_the_key_is_documented_on_both_routes(app: Any) -> None:
    spec = app.openapi()["paths"]
    for path in ("/api/scans", "/api/cases/{case_id}/events"):
        params = {p["name"]: p for p in spec[path]["post"].get("parameters", [])}
        assert params["Idempotency-Key"]["in"] == "header"
        assert not params["Idempotency-Key"].get("required", False)

