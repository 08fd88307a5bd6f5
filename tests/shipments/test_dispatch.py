"""Ship events open a shipment; dispatch refuses an unfit shipper, logger or seal (one code per
rule) and leaves the case where it was; receipt closes the shipment and quarantines the
shipper."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.journey import Journey
from tests.helpers.shipments import (
    add_logger,
    add_shipper,
    apheresis_ship_data,
    ship_product,
    shipments_of,
)


def released_case(j: Journey, mrn: str = "MRN-1") -> int:
    cid = j.enroll(mrn=mrn)["id"]
    j.to(cid, "released")
    return int(cid)


def refused(r: Any, code: str) -> dict[str, Any]:
    assert r.status_code == 409, r.text
    body = dict(r.json())
    assert body["code"] == code, body
    return body


def test_a_tracked_product_shipment_is_recorded_and_its_shipper_goes_in_use(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    cid = released_case(j)
    add_shipper(j, "DS-1")
    add_logger(j, "LG-1")
    bags = j.typed(cid, "product", "lab_tech")
    assert ship_product(j, cid).status_code == 200
    [shipment] = shipments_of(j, cid)
    assert shipment["direction"] == "product_to_treatment_center"
    assert shipment["status"] == "in_transit"
    assert (shipment["profile"], shipment["profile_version"]) == ("ln2_vapour", 1)
    assert (shipment["shipper_serial"], shipment["logger_serial"], shipment["seal_id"]) == (
        "DS-1", "LG-1", "SEAL-1")
    assert shipment["air_waybill"] == "AWB-176-12345675"
    assert len(shipment["units"]) == len(bags) == 1
    shippers = client.get("/api/shippers", headers=auth["lab_tech"]).json()
    assert [s["status"] for s in shippers if s["serial"] == "DS-1"] == ["in_use"]
    detail = client.get(f"/api/shipments/{shipment['id']}", headers=auth["qa"]).json()
    assert detail["summary"]["points"] == 0 and detail["excursions"] == []
    events = client.get(f"/api/cases/{cid}/events", headers=auth["coordinator"]).json()
    shipped = next(e for e in events if e["event"] == "ship_to_treatment_center")["data"]
    assert (shipped["shipment_id"], shipped["shipper_serial"]) == (shipment["id"], "DS-1")


def test_receipt_closes_the_shipment_and_quarantines_the_shipper_until_requalified(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    cid = released_case(j)
    add_shipper(j, "DS-1")
    add_logger(j, "LG-1")
    assert ship_product(j, cid).status_code == 200
    frozen.advance(hours=20)
    j.to(cid, "received_at_treatment_center")
    [shipment] = shipments_of(j, cid)
    assert shipment["status"] == "received"
    assert shipment["transit_hours"] == 20 and shipment["within_transit_limit"] is True
    assert client.get("/api/shipments?status=in_transit&case_id=" + str(cid),
                      headers=auth["coordinator"]).json() == []
    [shipper] = client.get("/api/shippers?status=quarantine", headers=auth["qa"]).json()
    assert shipper["serial"] == "DS-1"
    # the quarantined shipper refuses the next dispatch, until it is requalified
    other = released_case(j, "MRN-2")
    refused(ship_product(j, other, logger="LG-1"), "shipper_quarantined")
    r = client.patch("/api/shippers/DS-1", headers=auth["lab_tech"],
                     json={"status": "available"})
    assert r.status_code == 200 and r.json()["status"] == "available"
    assert ship_product(j, other).status_code == 200


@pytest.mark.parametrize(("setup", "ship", "code"), [
    ("unknown_shipper", {"shipper": "NOPE-1"}, "shipper_unknown"),
    ("expired_shipper", {}, "shipper_not_qualified"),
    ("wrong_profile_shipper", {}, "shipper_not_qualified"),
    ("quarantined_shipper", {}, "shipper_quarantined"),
    ("shipper_in_use", {}, "shipper_in_use"),
    ("no_logger", {"logger": None}, "logger_missing"),
    ("uncalibrated_logger", {}, "logger_not_calibrated"),
    ("narrow_logger", {}, "logger_range"),
    ("no_seal", {"seal": None}, "seal_missing"),
])
def test_dispatch_refusals_one_code_per_rule(client: Any, auth: Any, frozen: Any, setup: str,
                                             ship: dict[str, Any], code: str) -> None:
    j = Journey(client, auth)
    cid = released_case(j)
    add_shipper(j, "DS-1", qualified_days=-1 if setup == "expired_shipper" else 30,
                profile="fresh_2_8" if setup == "wrong_profile_shipper" else "ln2_vapour",
                status={"quarantined_shipper": "quarantine",
                        "shipper_in_use": "in_use"}.get(setup, "available"))
    add_logger(j, "LG-1", calibrated_days=-1 if setup == "uncalibrated_logger" else 180,
               sensor_min=-95 if setup == "narrow_logger" else -200)
    kwargs = {"shipper": "DS-1", "logger": "LG-1", "seal": "SEAL-1"} | ship
    if kwargs["logger"] is None:
        data = {"scans": j.typed(cid, "product", "lab_tech"), "shipper_type": "LN2",
                "shipper_serial": kwargs["shipper"], "seal_id": "SEAL-1"}
        r = j.event("lab_tech", cid, "ship_to_treatment_center", data)
    else:
        r = ship_product(j, cid, kwargs["shipper"], kwargs["logger"], kwargs["seal"])
    body = refused(r, code)
    assert body["context"]["event"] == "ship_to_treatment_center"
    assert j.case(cid)["state"] == "released"
    assert shipments_of(j, cid) == []


def test_an_untracked_ship_event_still_records_a_shipment_under_the_default_profile(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    cid = j.enroll()["id"]
    j.to(cid, "collected")
    j.ok("collection_staff", cid, "ship_to_manufacturing", apheresis_ship_data(j, cid))
    [shipment] = shipments_of(j, cid, "apheresis_to_manufacturing")
    assert shipment["direction"] == "apheresis_to_manufacturing"
    assert shipment["profile"] == "fresh_2_8" and shipment["shipper_serial"] is None


def test_an_apheresis_shipment_under_a_named_profile_checks_its_2_8_shipper(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    cid = j.enroll()["id"]
    j.to(cid, "collected")
    add_shipper(j, "CF-45-7", profile="fresh_2_8", role="collection_staff")
    add_logger(j, "LG-9", sensor_min=-30, sensor_max=60, role="collection_staff")
    r = j.event("collection_staff", cid, "ship_to_manufacturing", apheresis_ship_data(
        j, cid, shipping_profile="ln2_vapour", shipper_serial="CF-45-7", logger_serial="LG-9",
        seal_id="S-77"))
    refused(r, "shipper_not_qualified")
    j.ok("collection_staff", cid, "ship_to_manufacturing", apheresis_ship_data(
        j, cid, shipper_serial="CF-45-7", logger_serial="LG-9", seal_id="S-77"))
    [shipment] = shipments_of(j, cid, "apheresis_to_manufacturing")
    assert (shipment["profile"], shipment["low_c"], shipment["high_c"]) == ("fresh_2_8", 2, 8)
