"""Firing, escalation and acknowledgement of alerts, on the frozen clock, through the tick
function the scheduler runs and through the API."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from cartrack.alerts import service
from cartrack.alerts.models import Alert
from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from tests.helpers.alerts import (
    SECRET,
    add_alert,
    add_alerts,
    alert,
    configure,
    deliveries,
    site_id,
    webhook_receiver,
)
from tests.helpers.journey import Journey


def test_tick_fires_due_alerts_once_in_firing_order(client: Any, auth: Any, frozen: Any) -> None:
    case = Journey(client, auth).enroll()
    now = frozen()
    late = add_alert(case["id"], fire_at=now - timedelta(minutes=5))
    due = add_alert(case["id"], fire_at=now)
    future = add_alert(case["id"], fire_at=now + timedelta(seconds=1))
    result = service.deliver_due()
    assert result.fired == [late, due]
    assert service.deliver_due().fired == []
    rows = [alert(a) for a in (late, due, future)]
    assert [r.status for r in rows] == ["fired", "fired", "pending"]
    assert rows[0].fire_seq is not None and rows[1].fire_seq == rows[0].fire_seq + 1
    assert rows[0].fired_at == now and rows[0].claimed_by == service.DEFAULT_INSTANCE
    frozen.advance(seconds=1)
    assert service.deliver_due().fired == [future]
    assert (alert(future).fire_seq or 0) > (rows[1].fire_seq or 0)


def test_concurrent_ticks_fire_each_alert_exactly_once(client: Any, auth: Any,
                                                       frozen: Any) -> None:
    case = Journey(client, auth).enroll()
    ids = add_alerts(case["id"], 120, frozen())
    results: dict[str, list[int]] = {}

    def run(name: str) -> None:
        results[name] = service.fire_due(instance=name, limit=15)

    threads = [threading.Thread(target=run, args=(f"worker-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [a for got in results.values() for a in got]
    assert sorted(claimed) == sorted(ids)
    owners = {a: name for name, got in results.items() for a in got}
    assert all(alert(a).claimed_by == owners[a] for a in ids[:10])
    seqs = [alert(a).fire_seq for a in ids]
    assert len(set(seqs)) == len(ids)


def test_alerts_of_a_case_on_hold_say_so(client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    case = j.enroll()
    first = add_alert(case["id"])
    j.ok("coordinator", case["id"], "hold", {"reason": "Patient has an infection"})
    held = add_alert(case["id"])
    service.deliver_due()
    assert alert(held).message.endswith(" (case is on hold)")
    assert alert(first).message.endswith(" (case is on hold)")  # it fires while on hold too
    j.ok("coordinator", case["id"], "resume", {"reason": "Infection cleared"})
    later = add_alert(case["id"])
    service.deliver_due()
    assert not alert(later).message.endswith("(case is on hold)")


def test_list_summary_and_visibility(client: Any, auth: Any, frozen: Any) -> None:
    case = Journey(client, auth).enroll()
    now = frozen()
    crit = add_alert(case["id"])
    warn = add_alert(case["id"], severity="warning")
    lab = add_alert(case["id"], targets={("lab_tech", "MF-EAST")})
    pending = add_alert(case["id"], fire_at=now + timedelta(hours=1))
    service.deliver_due()

    def ids(role: str, **params: Any) -> list[int]:
        r = client.get("/api/alerts", headers=auth[role], params=params)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["items"]]

    assert ids("infusion_staff") == [warn, crit]  # newest fired first; not pending, not others'
    assert ids("lab_tech") == [lab]
    assert ids("qa") == [] and ids("admin") == []
    assert pending not in ids("coordinator")
    assert ids("infusion_staff", severity="critical") == [crit]
    assert ids("infusion_staff", case_id=case["id"], limit=1, offset=1) == [crit]
    page = client.get("/api/alerts", headers=auth["infusion_staff"], params={"limit": 1}).json()
    assert page["total"] == 2 and page["limit"] == 1 and page["items"][0]["coi"] == case["coi"]
    summary = client.get("/api/alerts/summary", headers=auth["infusion_staff"]).json()
    assert summary == {"unacknowledged_critical": 1, "unacknowledged": 2}
    assert client.get("/api/alerts", headers=auth["infusion_staff"],
                      params={"status": "pending"}).status_code == 422
    assert client.get("/api/alerts").status_code == 401


def test_ack_is_audited_once_and_only_by_a_target(client: Any, auth: Any, frozen: Any) -> None:
    case = Journey(client, auth).enroll()
    crit = add_alert(case["id"])
    pending = add_alert(case["id"], fire_at=frozen() + timedelta(hours=1))
    service.deliver_due()
    url = f"/api/alerts/{crit}/ack"
    assert client.post(url, headers=auth["lab_tech"], json={}).status_code == 404
    assert client.post("/api/alerts/999999/ack", headers=auth["infusion_staff"]).status_code == 404
    assert client.post(f"/api/alerts/{pending}/ack",
                       headers=auth["infusion_staff"]).status_code == 404
    seq_before = alert(crit).fire_seq or 0
    r = client.post(url, headers=auth["infusion_staff"], json={"note": "Infusing now"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acknowledged" and body["acked_by_name"] == "Iris Infusion"
    assert body["ack_note"] == "Infusing now" and body["acked_at"].startswith("2026-06-01T14:00")
    assert body["fire_seq"] > seq_before  # the live stream shows the acknowledgement
    again = client.post(url, headers=auth["coordinator"], json={"note": "me too"})
    assert again.status_code == 409 and again.json()["code"] == "already_acknowledged"
    with new_session(read_only=True) as s:
        entries = s.exec(select(AuditEntry).where(AuditEntry.entity == "alert",
                                                  AuditEntry.entity_id == str(crit))).all()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.action == "acknowledge_alert" and entry.printed_name == "Iris Infusion"
    assert entry.reason == "Infusing now" and entry.case_id == case["id"]
    assert entry.new and entry.new["status"] == "acknowledged"
    summary = client.get("/api/alerts/summary", headers=auth["infusion_staff"]).json()
    assert summary["unacknowledged_critical"] == 0
    assert client.get("/api/alerts", headers=auth["infusion_staff"],
                      params={"unacknowledged": True}).json()["items"] == []


def test_escalation_after_ten_minutes_exactly_once(client: Any, auth: Any, frozen: Any,
                                                   monkeypatch: Any) -> None:
    case = Journey(client, auth).enroll()
    crit = add_alert(case["id"])
    warn = add_alert(case["id"], severity="warning")
    acked = add_alert(case["id"])
    with webhook_receiver() as hook:
        configure(monkeypatch, webhook_urls=hook.url, webhook_secret=SECRET)
        service.deliver_due()
        assert client.post(f"/api/alerts/{acked}/ack",
                           headers=auth["infusion_staff"]).status_code == 200
        assert client.post(f"/api/alerts/{crit}/ack", headers=auth["qa"]).status_code == 404
        frozen.advance(minutes=9, seconds=59)
        assert service.deliver_due().escalated == []
        frozen.advance(seconds=1)
        results: list[list[int]] = []
        threads = [threading.Thread(target=lambda: results.append(service.escalate_due()))
                   for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a for r in results for a in r) == [crit]
        service.deliver_due()
        frozen.advance(minutes=30)
        assert service.deliver_due().escalated == []  # tier 1 is the last tier
    row = alert(crit)
    assert row.tier == 1 and row.escalated_at is not None and row.status == "fired"
    assert row.message.startswith("ESCALATED: not acknowledged in 10 min.")
    assert alert(warn).tier == 0 and alert(acked).tier == 0
    out = client.get(f"/api/alerts/{crit}", headers=auth["qa"]).json()
    pairs = {(t["role"], t["site_id"]) for t in out["targets"]}
    mf, tc = site_id("MF-EAST"), site_id("TC-CITY")
    assert {("qa", mf), ("coordinator", mf), ("coordinator", tc),
            ("infusion_staff", tc)} <= pairs
    hooks = [(d.tier, d.status) for d in deliveries(crit)]
    assert hooks == [(0, "delivered"), (1, "delivered")]
    events = [b["event"] for b in hook.bodies() if b["alert"]["alert_id"] == crit]
    assert events == ["alert.fired", "alert.escalated"]
    r = client.post(f"/api/alerts/{crit}/ack", headers=auth["qa"], json={"note": "QA on it"})
    assert r.status_code == 200 and r.json()["tier"] == 1


def test_pending_alerts_of_a_closed_deadline_never_fire(client: Any, auth: Any,
                                                        frozen: Any) -> None:
    j = Journey(client, auth)
    case = j.enroll()
    j.ok("coordinator", case["id"], "schedule_collection", {
        "collection_date": frozen().date().isoformat(), "manufacturing_slot": "slot 1"})
    j.ok("coordinator", case["id"], "cancel", {"reason": "Patient withdrew consent"},
         sign=True)
    frozen.advance(days=3)
    service.deliver_due()
    with new_session(read_only=True) as s:

        rows = s.exec(select(Alert).where(Alert.case_id == case["id"])
                      .order_by(col(Alert.id))).all()
    assert rows and {r.status for r in rows} == {"cancelled"}
