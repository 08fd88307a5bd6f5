"""Outbound channels against real servers on loopback: SMTP (aiosmtpd) and a webhook receiver.
One failing channel never holds up another; failures retry with backoff and are logged."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from cartrack.alerts import channels, service
from tests.helpers.alerts import (
    SECRET,
    add_alert,
    configure,
    deliveries,
    free_port,
    smtp_server,
    webhook_receiver,
)
from tests.helpers.journey import Journey

RECIPIENTS = ["coordinator@cartrack.example", "infusion_staff2@cartrack.example",
              "infusion_staff@cartrack.example"]


def test_email_reaches_a_real_smtp_server(client: Any, auth: Any, frozen: Any,
                                          monkeypatch: Any) -> None:
    case = Journey(client, auth).enroll()
    with smtp_server() as inbox:
        configure(monkeypatch, smtp_host="127.0.0.1", smtp_port=inbox.port,
                  smtp_from="alerts@cartrack.example")
        crit = add_alert(case["id"])
        add_alert(case["id"], targets={("lab_tech", "MF-EAST")}, severity="warning")
        result = service.deliver_due()
    assert result.sent.delivered == 4 and result.sent.failed == 0
    assert sorted(m["To"] for m in inbox.to_any(RECIPIENTS)) == RECIPIENTS
    mail = inbox.to("infusion_staff@cartrack.example")[0]
    assert mail["From"] == "alerts@cartrack.example"
    assert mail["Subject"] == "[cartrack] CRITICAL: Thawed product must be infused: limit reached"
    assert mail["X-Cartrack-Alert"] == str(crit)
    assert case["coi"] in mail.get_payload()
    assert [m["To"] for m in inbox.messages if "WARNING" in m["Subject"]] == [
        "lab_tech@cartrack.example"]
    rows = deliveries(crit)
    assert sorted(d.target for d in rows) == RECIPIENTS
    assert {(d.channel, d.status, d.attempts) for d in rows} == {("email", "delivered", 1)}


def test_webhook_carries_a_valid_hmac_signature(client: Any, auth: Any, frozen: Any,
                                                monkeypatch: Any) -> None:
    case = Journey(client, auth).enroll()
    with webhook_receiver() as hook:
        configure(monkeypatch, webhook_urls=f" {hook.url} ,", webhook_secret=SECRET)
        crit = add_alert(case["id"])
        service.deliver_due()
        assert service.deliver_due().sent.total == 0
    assert len(hook.requests) == 1
    headers, body = hook.requests[0]
    assert headers["content-type"] == "application/json"
    assert channels.verify(body, SECRET, headers["x-cartrack-signature"])
    assert not channels.verify(body, "another-secret", headers["x-cartrack-signature"])
    assert not channels.verify(body + b" ", SECRET, headers["x-cartrack-signature"])
    payload = json.loads(body)
    assert payload["event"] == "alert.fired" and headers["x-cartrack-event"] == "alert.fired"
    assert payload["alert"]["alert_id"] == crit and payload["alert"]["coi"] == case["coi"]
    assert payload["alert"]["severity"] == "critical"
    assert payload["delivery_id"] == int(headers["x-cartrack-delivery"])
    [row] = deliveries(crit)
    assert (row.channel, row.target, row.status) == ("webhook", hook.url, "delivered")


def test_failing_webhook_retries_with_backoff_while_email_goes_out(
        client: Any, auth: Any, frozen: Any, monkeypatch: Any) -> None:
    case = Journey(client, auth).enroll()
    with webhook_receiver(status=500) as hook, smtp_server() as inbox:
        configure(monkeypatch, webhook_urls=hook.url, webhook_secret=SECRET,
                  smtp_host="127.0.0.1", smtp_port=inbox.port, delivery_max_attempts=4,
                  delivery_backoff_seconds=2)
        crit = add_alert(case["id"])
        start = frozen()
        service.deliver_due()
        assert len(inbox.messages) == 3 and len(hook.requests) == 1
        # Attempts at 0 s, then after 2, 4 and 8 s: exponential backoff, nothing in between.
        for offset, expected in [(1.9, 1), (2, 2), (5.9, 2), (6, 3), (13.9, 3), (14, 4), (60, 4)]:
            frozen.current = start + timedelta(seconds=offset)
            service.deliver_due()
            assert len(hook.requests) == expected, offset
    [hook_row] = [d for d in deliveries(crit) if d.channel == "webhook"]
    assert (hook_row.status, hook_row.attempts) == ("failed", 4)
    assert hook_row.last_error and "HTTP 500" in hook_row.last_error
    assert {d.status for d in deliveries(crit) if d.channel == "email"} == {"delivered"}
    assert len(inbox.messages) == 3
    r = client.get("/api/alerts/deliveries", headers=auth["admin"], params={"status": "failed"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 1 and page["items"][0]["channel"] == "webhook"
    assert page["items"][0]["alert_id"] == crit and "HTTP 500" in page["items"][0]["last_error"]
    for role in ("coordinator", "infusion_staff", "qa"):
        assert client.get("/api/alerts/deliveries", headers=auth[role]).status_code == 403


def test_unreachable_smtp_does_not_hold_up_the_webhook(client: Any, auth: Any, frozen: Any,
                                                       monkeypatch: Any) -> None:
    case = Journey(client, auth).enroll()
    with webhook_receiver() as hook:
        configure(monkeypatch, webhook_urls=hook.url, webhook_secret=SECRET,
                  smtp_host="127.0.0.1", smtp_port=free_port(), delivery_timeout_seconds=2)
        crit = add_alert(case["id"])
        result = service.deliver_due()
    assert result.fired == [crit] and len(hook.requests) == 1
    assert result.sent.delivered == 1 and result.sent.retrying == 3
    emails = [d for d in deliveries(crit) if d.channel == "email"]
    assert all(d.status == "pending" and d.last_error for d in emails)
    r = client.get("/api/alerts", headers=auth["infusion_staff"])
    assert [a["id"] for a in r.json()["items"]] == [crit]  # in-app regardless
