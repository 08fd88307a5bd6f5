"""Deadlines from the protocol, raised on time: the thaw-to-infusion warnings and breach, and
the infusion window after lymphodepletion for several catalog products, on the frozen clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cartrack import clock
from cartrack.alerts import service
from cartrack.alerts.models import Alert
from tests.helpers.alerts import alerts_of_case
from tests.helpers.journey import Journey

NY = ZoneInfo("America/New_York")  # TC-CITY's time zone
# product: (first day, last day) of infusion after the end of LD, thaw-to-infusion minutes
PRODUCTS = {"yescarta": (3, 3, 180), "abecma": (2, 7, 60), "kymriah": (2, 14, 30),
            "breyanzi": (2, 7, 120)}


def _local_today() -> date:
    return clock.now().astimezone(NY).date()


def _ready_to_thaw(j: Journey, product: str) -> tuple[int, date]:
    """A case with its product stored at the treatment center and LD complete today."""
    case = j.enroll(product)
    j.to(case["id"], "received_at_treatment_center")
    today = _local_today()
    j.ok("infusion_staff", case["id"], "start_lymphodepletion",
         {"start_date": (today - timedelta(days=2)).isoformat()})
    j.ok("infusion_staff", case["id"], "complete_lymphodepletion",
         {"end_date": today.isoformat()})
    return case["id"], today


def _thaw(j: Journey, case_id: int, **extra: Any) -> Any:
    scan = j.typed(case_id, "product", "infusion_staff")[0]
    data = {"scan": scan, **extra.pop("data", {})}
    return j.event("infusion_staff", case_id, "thaw", data, **extra)


def _deadline(j: Journey, case_id: int, kind: str) -> dict[str, Any]:
    found = [d for d in j.case(case_id)["deadlines"] if d["kind"] == kind]
    assert found, f"no {kind} deadline"
    return found[-1]


def _of_kind(case_id: int, kind: str) -> list[Alert]:
    return [a for a in alerts_of_case(case_id) if a.data.get("deadline_kind") == kind]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _local_midnight(day: date) -> datetime:
    return clock.as_utc(datetime(day.year, day.month, day.day, tzinfo=NY))


@pytest.mark.parametrize("product", sorted(PRODUCTS))
def test_infusion_and_thaw_windows_per_product(product: str, client: Any, auth: Any,
                                               frozen: Any) -> None:
    first, last, thaw_minutes = PRODUCTS[product]
    j = Journey(client, auth)
    case_id, ld_end = _ready_to_thaw(j, product)
    window = _deadline(j, case_id, "infusion_window")
    assert _at(window["earliest_at"]) == _local_midnight(ld_end + timedelta(days=first))
    assert _at(window["due_at"]) == _local_midnight(ld_end + timedelta(days=last + 1))

    early = _thaw(j, case_id)
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "outside_infusion_window"
    assert "outside the infusion window" in early.json()["detail"]

    frozen.advance(days=first)  # 10:00 local on the first day of the window
    thawed = _thaw(j, case_id)
    assert thawed.status_code == 200, thawed.text
    assert thawed.json()["state"] == "thawed"
    thaw = _deadline(j, case_id, "thaw_to_infusion")
    assert _at(thaw["due_at"]) == frozen() + timedelta(minutes=thaw_minutes)
    fire_ats = sorted(a.fire_at for a in _of_kind(case_id, "thaw_to_infusion"))
    assert fire_ats == [frozen() + timedelta(minutes=thaw_minutes * f) for f in (0.5, 0.8, 1)]


def test_thaw_after_the_window_needs_override_and_signature(client: Any, auth: Any,
                                                            frozen: Any) -> None:
    j = Journey(client, auth)
    case_id, _ = _ready_to_thaw(j, "abecma")
    frozen.advance(days=8)  # abecma: at most 7 days after LD
    late = _thaw(j, case_id)
    assert late.status_code == 409 and late.json()["code"] == "outside_infusion_window"
    # The case page offers the thaw as an override and names the field that asks for it.
    thaw_action = next(a for a in j.case(case_id, "infusion_staff")["actions"]
                       if a["event"] == "thaw")
    assert thaw_action["override"]["reason_field"] == "override_reason"
    assert [s["when"] for s in thaw_action["signatures"]] == ["override"]
    reason = "Patient fever delayed infusion; physician approved"
    unsigned = _thaw(j, case_id, data={"override_reason": reason})
    assert unsigned.status_code == 409 and unsigned.json()["code"] == "signature_required"
    wrong = _thaw(j, case_id, data={"override_reason": reason}, sign=True, password="wrong-pw")
    assert wrong.status_code in (401, 403, 409), wrong.text
    ok = _thaw(j, case_id, data={"override_reason": reason}, sign=True)
    assert ok.status_code == 200, ok.text
    events = client.get(f"/api/cases/{case_id}/events", headers=auth["coordinator"]).json()
    thaw = [e for e in events if e["event"] == "thaw"][-1]
    assert thaw["reason"] == reason and thaw["data"]["override"]["reason"] == reason


def _fired(case_id: int, kind: str) -> list[Alert]:
    return [a for a in _of_kind(case_id, kind) if a.status == "fired"]


def test_thaw_window_warns_at_50_and_80_percent_and_breaches_at_the_limit(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    case_id, _ = _ready_to_thaw(j, "yescarta")  # thaw window 180 min
    frozen.advance(days=3)
    assert _thaw(j, case_id).status_code == 200
    thawed_at = frozen()
    steps = [(89, 0), (90, 1), (143, 1), (144, 2), (179, 2), (180, 3)]
    for minutes, expected in steps:
        frozen.current = thawed_at + timedelta(minutes=minutes)
        service.deliver_due()
        fired = _fired(case_id, "thaw_to_infusion")
        assert len(fired) == expected, (minutes, [a.title for a in fired])
        if minutes == 90:
            j.ok("coordinator", case_id, "hold", {"reason": "Patient febrile; reassess"})
        if minutes == 144:
            j.ok("coordinator", case_id, "resume", {"reason": "Fever resolved"})
    fired = sorted(_fired(case_id, "thaw_to_infusion"), key=lambda a: a.fire_at)
    assert [a.severity for a in fired] == ["warning", "warning", "critical"]
    assert [a.kind for a in fired] == ["warning", "warning", "breach"]
    assert fired[0].title.endswith("90 min left") and fired[1].title.endswith("36 min left")
    assert fired[1].message.endswith(" (case is on hold)")
    assert not fired[0].message.endswith("on hold)") and not fired[2].message.endswith("on hold)")
    assert "limit reached" in fired[2].title
    assert "EDT" in fired[2].message  # times in the treatment center's own zone
    assert all(a.fired_at == a.fire_at for a in fired)
    listed = client.get("/api/alerts", headers=auth["infusion_staff"],
                        params={"case_id": case_id, "severity": "critical"}).json()["items"]
    assert fired[2].id in [a["id"] for a in listed]


def test_a_deadline_closed_before_it_falls_due_raises_nothing_more(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    case_id, _ = _ready_to_thaw(j, "kymriah")  # thaw window 30 min
    frozen.advance(days=2)
    assert _thaw(j, case_id).status_code == 200
    frozen.advance(minutes=15)
    service.deliver_due()
    assert len(_fired(case_id, "thaw_to_infusion")) == 1
    j.ok("coordinator", case_id, "cancel", {"reason": "Product bag damaged on thaw"}, sign=True)
    frozen.advance(hours=2)
    service.deliver_due()
    alerts = _of_kind(case_id, "thaw_to_infusion")
    assert sorted(a.status for a in alerts) == ["cancelled", "cancelled", "fired"]
    assert _deadline(j, case_id, "thaw_to_infusion")["status"] == "cancelled"
