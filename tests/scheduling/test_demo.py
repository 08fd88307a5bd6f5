"""The demo's eight weeks of capacity, with full days, and its booked cases on the calendar."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from cartrack import clock


def test_the_demo_publishes_eight_weeks_with_full_days(demo_client: Any, demo_auth: Any) -> None:
    today = clock.local_today("America/New_York")
    end = today + timedelta(weeks=8) - timedelta(days=1)
    co = demo_auth["coordinator"]
    full = []
    for product in ("breyanzi", "abecma", "carvykti", "tecartus", "kymriah"):
        r = demo_client.get("/api/slots/availability", headers=co, params={
            "facility": "MF-EAST", "product": product, "start": today.isoformat(),
            "end": end.isoformat()})
        assert r.status_code == 200, r.text
        days = r.json()
        assert len(days) == 56
        assert all(d["capacity"] == 0 for d in days if date.fromisoformat(d["day"]).weekday() >= 5)
        assert sum(d["capacity"] for d in days) > 0
        full += [(product, d["day"]) for d in days if d["capacity"] > 0 and d["open"] == 0]
        assert all(b["coi"] for d in days for b in d["bookings"])
    assert {p for p, _ in full} == {"breyanzi", "kymriah"}
    r = demo_client.get("/api/calendar", headers=co, params={
        "start": today.isoformat(), "end": (today + timedelta(days=60)).isoformat()})
    assert r.status_code == 200, r.text
    kinds = {(e["product"], e["kind"]) for e in r.json() if e["slot_status"]}
    assert ("breyanzi", "manufacturing_start") in kinds and ("kymriah", "infusion") in kinds
