"""The cold-chain catalog: shipped profiles with their sources, new versions, shippers and
loggers edited by admins and the packing roles, every change audited."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from cartrack.audit.models import AuditEntry
from tests.helpers.journey import Journey
from tests.helpers.shipments import add_logger, add_shipper

PROFILE = {"code": "fresh_2_8", "name": "Fresh apheresis 2-8 °C, 24 h lane", "low_c": 2,
           "high_c": 8, "max_transit_hours": 24, "logger_interval_minutes": 10,
           "requires_logger": True, "requires_seal": True, "mkt": True,
           "alarm_rules": [{"kind": "instant", "side": "high", "threshold_c": 10}],
           "source": "site lane validation report LV-12"}


def test_three_profiles_ship_with_limits_rules_and_sources(client: Any, auth: Any) -> None:
    rows = client.get("/api/shipping-profiles", headers=auth["infusion_staff"]).json()
    by_code = {p["code"]: p for p in rows}
    assert set(by_code) == {"fresh_2_8", "crt_15_25", "ln2_vapour"}
    assert all(p["version"] == 1 and p["current"] and p["source"] for p in rows)
    fresh, crt, ln2 = by_code["fresh_2_8"], by_code["crt_15_25"], by_code["ln2_vapour"]
    assert (fresh["low_c"], fresh["high_c"], fresh["max_transit_hours"]) == (2, 8, 30)
    assert (crt["low_c"], crt["high_c"]) == (15, 25)
    assert (ln2["low_c"], ln2["high_c"], ln2["max_transit_hours"]) == (-196, -150, 240)
    assert fresh["mkt"] and crt["mkt"] and not ln2["mkt"]
    assert {r["kind"] for r in fresh["alarm_rules"]} == {"consecutive", "accumulative"}
    assert ln2["requires_logger"] and ln2["requires_seal"]
    assert ln2["logger_interval_minutes"] == 15


def test_a_new_profile_version_is_published_by_qa_and_the_old_one_kept(
        client: Any, auth: Any, session: Session) -> None:
    r = client.post("/api/shipping-profiles", headers=auth["qa"], json=PROFILE)
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["current"]) == (2, True)
    rows = client.get("/api/shipping-profiles?code=fresh_2_8", headers=auth["qa"]).json()
    assert [(p["version"], p["current"]) for p in rows] == [(1, False), (2, True)]
    refused = client.post("/api/shipping-profiles", headers=auth["lab_tech"], json=PROFILE)
    assert refused.status_code == 403
    upside_down = client.post("/api/shipping-profiles", headers=auth["admin"],
                              json=PROFILE | {"low_c": 8, "high_c": 2})
    assert upside_down.status_code == 409 and upside_down.json()["code"] == "profile_limits"
    entries = session.exec(select(AuditEntry).where(AuditEntry.entity == "shipping_profile",
                                                    AuditEntry.printed_name != "system")).all()
    assert len(entries) == 1 and entries[0].new["version"] == 2


def test_shippers_and_loggers_are_edited_by_the_packing_roles_and_audited(
        client: Any, auth: Any, session: Session) -> None:
    j = Journey(client, auth)
    add_shipper(j, "DS-1", role="lab_tech")
    add_shipper(j, "CF-2", "fresh_2_8", role="collection_staff")
    add_logger(j, "LG-1", role="admin")
    shippers = client.get("/api/shippers", headers=auth["coordinator"]).json()
    assert [(s["serial"], s["status"]) for s in shippers] == [("CF-2", "available"),
                                                              ("DS-1", "available")]
    body = {"serial": "X-1", "model": "m", "profile_code": "ln2_vapour",
            "qualified_until": "2030-01-01", "nominal_hold_hours": 200}
    assert client.post("/api/shippers", headers=auth["coordinator"], json=body).status_code == 403
    again = client.post("/api/shippers", headers=auth["lab_tech"], json=body | {"serial": "DS-1"})
    assert again.status_code == 409 and again.json()["code"] == "shipper_exists"
    unknown = client.post("/api/shippers", headers=auth["lab_tech"],
                          json=body | {"profile_code": "dry_ice"})
    assert unknown.status_code == 409 and unknown.json()["code"] == "unknown_profile"
    r = client.patch("/api/shippers/DS-1", headers=auth["lab_tech"],
                     json={"status": "retired"})
    assert r.status_code == 200 and r.json()["status"] == "retired"
    assert client.patch("/api/shippers/NOPE", headers=auth["lab_tech"],
                        json={"status": "retired"}).status_code == 404
    r = client.patch("/api/loggers/LG-1", headers=auth["lab_tech"],
                     json={"calibrated_until": "2031-02-03"})
    assert r.status_code == 200 and r.json()["calibrated_until"] == "2031-02-03"
    bad = client.post("/api/loggers", headers=auth["lab_tech"], json={
        "serial": "LG-2", "model": "m", "calibrated_until": "2030-01-01", "sensor_min_c": 10,
        "sensor_max_c": -10})
    assert bad.status_code == 409 and bad.json()["code"] == "logger_range_order"
    audit = session.exec(select(AuditEntry).where(
        col(AuditEntry.entity).in_(["shipper", "data_logger"])).order_by(col(AuditEntry.id))).all()
    assert [(a.entity, a.action, a.printed_name != "") for a in audit] == [
        ("shipper", "create", True), ("shipper", "create", True), ("data_logger", "create", True),
        ("shipper", "update", True), ("data_logger", "update", True)]
    assert audit[3].old == {"status": "available"} and audit[3].new == {"status": "retired"}
