"""Real time: the live stream (SSE over a real HTTP server) and the real scheduler."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cartrack import clock
from cartrack.alerts import routes, service
from cartrack.app import create_app
from tests.helpers.alerts import SseReader, add_alert, alert, served_app, wait_for

pytestmark = pytest.mark.realtime
MINE = {("infusion_staff", "TC-CITY")}
NOT_MINE = {("lab_tech", "MF-EAST")}


def _fire(targets: set[tuple[str, str]] = MINE) -> tuple[int, float]:
    alert_id = add_alert(None, targets=targets)
    assert service.fire_due() == [alert_id]
    return alert_id, time.monotonic()


def test_stream_shows_new_alerts_live_and_resumes_without_gaps(
        db_url: str, auth: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(routes, "STREAM_PING_SECONDS", 1)
    earlier, _ = _fire()
    with served_app() as base:
        url = f"{base}/api/alerts/stream"
        headers = auth["infusion_staff"]
        with SseReader(url, {}) as anonymous:
            assert anonymous.status == 401
        with SseReader(url, headers) as live:
            assert live.status == 200
            time.sleep(0.4)  # connected: older alerts are not replayed without Last-Event-ID
            first, fired_at = _fire()
            event = live.next(timeout=3)
            assert event.received_at - fired_at < 1.0, "not live"
            assert event.event == "alert" and event.json()["id"] == first
            assert event.id == str(alert(first).fire_seq)
            _fire(NOT_MINE)
            second, _ = _fire()
            assert live.next(timeout=3).json()["id"] == second  # not the other role's alert
            seen_id = str(alert(second).fire_seq)
            assert wait_for(lambda: any(c.startswith("ping") for c in live.comments), 3)
        # Offline: two alerts fire and the first one is acknowledged.
        missed = [_fire()[0], _fire()[0]]
        r = _ack(base, first, headers)
        assert r.status_code == 200, r.text
        with SseReader(url, {**headers, "Last-Event-ID": seen_id}) as resumed:
            events = [resumed.next(timeout=3) for _ in range(3)]
            assert [e.json()["id"] for e in events] == [*missed, first]
            assert events[-1].json()["status"] == "acknowledged"
            assert [int(e.id or 0) for e in events] == sorted(int(e.id or 0) for e in events)
            newest, _ = _fire()
            assert resumed.next(timeout=3).json()["id"] == newest
            assert resumed.drain(0.5) == []
        with SseReader(f"{url}?last_event_id=0", headers) as everything:
            ids = [e.json()["id"] for e in everything.drain(1.5)]
        assert ids == [earlier, second, *missed, first, newest]


def _ack(base: str, alert_id: int, headers: dict[str, str]) -> Any:

    return httpx.post(f"{base}/api/alerts/{alert_id}/ack", headers=headers, json={})


def test_embedded_scheduler_fires_a_deadline_within_a_second_of_due(db_url: str) -> None:

    due = clock.now() + timedelta(seconds=2)
    alert_id = add_alert(None, fire_at=due)
    with TestClient(create_app(start_scheduler=True)) as client:
        assert client.app.state.alert_scheduler.running  # type: ignore[attr-defined]
        assert wait_for(lambda: alert(alert_id).status == "fired", 5, step=0.05)
        noticed = clock.now()
    row = alert(alert_id)
    assert row.fired_at is not None
    lateness = (clock.as_utc(row.fired_at) - due).total_seconds()
    assert 0 <= lateness < 1.0, lateness
    assert (noticed - due).total_seconds() < 1.2
