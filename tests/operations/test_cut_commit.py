"""The COMMIT reached PostgreSQL and was saved, but its answer never came back. The client is
told that the outcome is unknown; its repeat with the same Idempotency-Key gets the saved
outcome and writes nothing new. (PostgreSQL only: a COMMIT to a SQLite file cannot be cut.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from cartrack import clock
from cartrack.audit.models import AuditEntry
from cartrack.db import engine_for
from cartrack.journey.models import CaseEvent
from cartrack.scans.models import CustodyEvent
from cartrack.settings import get_settings
from tests.helpers.alerts import served_app
from tests.helpers.journey import Journey
from tests.helpers.outage import CommitCutter

SCAN = {"payload": "NOT-A-CARTRACK-LABEL", "action": None, "location": "bench 1"}


@pytest.fixture
def proxied(backend: str, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[str, CommitCutter, str]]:
    """The app served through a COMMIT-cutting proxy; tests count rows directly."""
    if backend != "postgres":
        pytest.skip("a COMMIT to a SQLite file has no connection to cut")
    rest = db_url.split("@", 1)[1]
    host_port, name = rest.split("/", 1)
    host, port = host_port.split(":")
    with CommitCutter(host, int(port)) as cutter:
        monkeypatch.setenv("CARTRACK_DATABASE_URL",
                           f"postgresql://postgres@127.0.0.1:{cutter.port}/{name}")
        get_settings.cache_clear()
        engine_for.cache_clear()
        with served_app() as base:
            yield base, cutter, db_url
        engine_for.cache_clear()
    monkeypatch.setenv("CARTRACK_DATABASE_URL", db_url)
    get_settings.cache_clear()


def _count(url: str, model: type[SQLModel]) -> int:
    """Counted straight from PostgreSQL, not through the proxy."""
    with Session(engine_for(url)) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_a_scan_whose_commit_answer_is_lost_is_not_recorded_twice(
        proxied: tuple[str, CommitCutter, str], auth: Any) -> None:
    base, cutter, direct = proxied
    key = {"Idempotency-Key": str(uuid.uuid4())}
    headers = {**auth["infusion_staff"], **key}
    before = _count(direct, CustodyEvent)
    cutter.armed.set()
    r = httpx.post(f"{base}/api/scans", headers=headers, json=SCAN, timeout=30)
    assert cutter.cuts == 1
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["code"] == "outcome_unknown" and r.headers["retry-after"] == "5"
    assert "not known whether it was saved" in body["detail"]
    assert "Try the same action again" in body["detail"]
    # It was saved: the server committed before the answer was cut.
    assert _count(direct, CustodyEvent) == before + 1
    again = httpx.post(f"{base}/api/scans", headers=headers, json=SCAN, timeout=30)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert _count(direct, CustodyEvent) == before + 1
    assert again.json()["verdict"] == "mismatch"


def test_a_journey_event_whose_commit_answer_is_lost_is_applied_once(
        proxied: tuple[str, CommitCutter, str], auth: Any) -> None:
    base, cutter, direct = proxied
    with httpx.Client(base_url=base, timeout=30) as client:
        j = Journey(client, auth)  # type: ignore[arg-type]
        case = j.enroll()
        body = {"event": "schedule_collection", "data": {
            "collection_date": clock.now().date().isoformat(), "manufacturing_slot": "slot 1"}}
        headers = {**auth["coordinator"], "Idempotency-Key": str(uuid.uuid4())}
        events, audit = _count(direct, CaseEvent), _count(direct, AuditEntry)
        cutter.armed.set()
        r = client.post(f"/api/cases/{case['id']}/events", headers=headers, json=body)
        assert r.status_code == 503 and r.json()["code"] == "outcome_unknown", r.text
        assert _count(direct, CaseEvent) == events + 1
        audit_after = _count(direct, AuditEntry)
        again = client.post(f"/api/cases/{case['id']}/events", headers=headers, json=body)
        assert again.status_code == 200, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["state"] == "collection_scheduled"
        assert _count(direct, CaseEvent) == events + 1
        assert _count(direct, AuditEntry) == audit_after > audit


def test_without_a_key_the_answer_says_to_check_before_repeating(
        proxied: tuple[str, CommitCutter, str], auth: Any) -> None:
    base, cutter, _ = proxied
    cutter.armed.set()
    r = httpx.post(f"{base}/api/scans", headers=auth["infusion_staff"], json=SCAN, timeout=30)
    assert r.status_code == 503 and r.json()["code"] == "outcome_unknown"
    assert "Check before doing it again" in r.json()["detail"]
