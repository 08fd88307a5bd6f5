"""The derived plan, checked against dates computed by hand, and kept with its rule version."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import select

from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from cartrack.protocols.models import ProtocolData
from cartrack.scheduling.plan import derive
from tests.helpers.journey import Journey
from tests.helpers.slots import add_people, hold, open_days

LD = {"ld_regimen": "Cy/Flu", "ld_days": 3, "infusion_max_days_after_ld": 14,
      "thaw_to_infusion_minutes": 60, "storage_max_celsius": -150}


def test_fresh_bound_vector_from_the_proposal() -> None:
    """axi-cel-like rule {receipt 1, start 0, duration 14, delivery 2, LD 3, LD end to
    infusion 2}: a start on 3 Dec 2026 collects on 2 Dec and infuses on 19 Dec."""
    rules = ProtocolData.model_validate({
        **LD, "infusion_min_days_after_ld": 2, "apheresis_fresh": True,
        "apheresis_to_receipt_days": 1, "receipt_to_start_days": 0, "manufacturing_days": 14,
        "release_to_delivery_days": 2})
    plan = derive(rules, date(2026, 12, 3), 0, 4)
    assert plan.model_dump(mode="json") == {
        "binding": "fresh_bound", "apheresis": "2026-12-02", "receipt": "2026-12-03",
        "manufacturing_start": "2026-12-03", "release": "2026-12-17", "delivery": "2026-12-19",
        "ld_start": "2026-12-15", "ld_end": "2026-12-17", "infusion": "2026-12-19",
        "vein_to_vein_days": 17, "rule_version": 4}


def test_cryopreserved_vector_crosses_the_year() -> None:
    """Kymriah-like rule {cryo, receipt 3, start 0, duration 24, delivery 2, LD 3, LD end to
    infusion 2}, buffer 3: apheresis by 30 Nov, infusion on 1 Jan 2027."""
    rules = ProtocolData.model_validate({
        **LD, "infusion_min_days_after_ld": 2, "apheresis_fresh": False,
        "apheresis_to_receipt_days": 3, "receipt_to_start_days": 0, "manufacturing_days": 24,
        "release_to_delivery_days": 2})
    plan = derive(rules, date(2026, 12, 3), 3, 1)
    assert plan.model_dump(mode="json") == {
        "binding": "cryo_decoupled", "apheresis": "2026-11-30", "receipt": "2026-12-03",
        "manufacturing_start": "2026-12-03", "release": "2026-12-27", "delivery": "2026-12-29",
        "ld_start": "2026-12-28", "ld_end": "2026-12-30", "infusion": "2027-01-01",
        "vein_to_vein_days": 32, "rule_version": 1}


def test_a_booking_stores_the_plan_and_keeps_its_rule_version(client: Any, auth: Any,
                                                              frozen: Any) -> None:
    """Yescarta's shipped lead times (transit 1, start 0, manufacturing 13, delivery 2; LD 3
    days ending 3 days before infusion), start 10 June, buffer 1."""
    people = add_people()
    open_days(client, people["planner"], date(2026, 6, 8), 7, 2)
    case = Journey(client, auth).enroll("yescarta")
    r = hold(client, auth["coordinator"], case["id"], date(2026, 6, 10), buffer_days=1)
    assert r.status_code == 201, r.text
    plan = r.json()["plan"]
    assert {k: plan[k] for k in ("apheresis", "release", "delivery", "ld_start", "ld_end",
                                 "infusion", "vein_to_vein_days", "rule_version")} == {
        "apheresis": "2026-06-09", "release": "2026-06-23", "delivery": "2026-06-25",
        "ld_start": "2026-06-21", "ld_end": "2026-06-23", "infusion": "2026-06-26",
        "vein_to_vein_days": 17, "rule_version": 1}
    # A new version of the product's rules does not change the stored plan.
    proto = client.get("/api/protocols", headers=auth["admin"],
                       params={"product": "yescarta"}).json()[-1]
    data = {**proto["data"], "manufacturing_days": 20}
    r = client.post("/api/protocols", headers=auth["admin"], json={
        "product": "yescarta", "name": proto["name"], "data": data, "source": proto["source"],
        "unconfirmed": proto["unconfirmed"]})
    assert r.status_code == 201, r.text
    got = client.get(f"/api/cases/{case['id']}/slot", headers=auth["coordinator"]).json()
    assert got["plan"]["release"] == "2026-06-23" and got["plan"]["rule_version"] == 1
    # A recompute is explicit, and audited.
    r = client.post(f"/api/cases/{case['id']}/slot/recompute", headers=auth["coordinator"])
    assert r.status_code == 200, r.text
    assert (r.json()["plan"]["release"], r.json()["plan"]["rule_version"]) == ("2026-06-30", 2)
    with new_session() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "slot.recomputed")).one()
    assert entry.old["rule_version"] == 1 and entry.new["plan"]["rule_version"] == 2
    r = client.post(f"/api/cases/{case['id']}/slot/recompute", headers=auth["lab_tech"])
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
