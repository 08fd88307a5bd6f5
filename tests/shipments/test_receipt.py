"""The signed receipt check, the late-shipment alert and the JSON report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from cartrack import clock
from cartrack.alerts.models import Alert
from cartrack.audit.models import Signature
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey
from tests.helpers.shipments import (
    add_logger,
    add_shipper,
    csv_of,
    post_csv,
    ship_product,
    shipments_of,
)

GOOD = {"package_intact": True, "seal_intact": True, "seal_id": "SEAL-1",
        "shipper_serial": "DS-1", "logger_serial": "LG-1", "logger_stopped": True,
        "signature": {"password": PASSWORD}}


def shipped(j: Journey) -> tuple[int, int]:
    cid = j.enroll()["id"]
    j.to(cid, "released")
    add_shipper(j, "DS-1")
    add_logger(j, "LG-1")
    assert ship_product(j, cid).status_code == 200
    return int(cid), int(shipments_of(j, cid)[0]["id"])


def receipt(j: Journey, sid: int, role: str = "infusion_staff", **changes: Any) -> Any:
    return j.client.post(f"/api/shipments/{sid}/receipt", headers=j.auth[role],
                         json=GOOD | changes)


def test_every_item_passing_accepts_the_shipment_with_a_signature(
        client: Any, auth: Any, frozen: Any, session: Session) -> None:
    j = Journey(client, auth)
    cid, sid = shipped(j)
    early = receipt(j, sid)
    assert early.status_code == 409 and early.json()["code"] == "shipment_not_received"
    frozen.advance(hours=30)
    j.to(cid, "received_at_treatment_center")
    assert receipt(j, sid, role="lab_tech").status_code == 403  # not the receiving site's role
    r = receipt(j, sid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["receipt"] == "accepted"
    assert body["receipt_checklist"]["checklist"] == {
        "package_intact": True, "seal_intact": True, "seal_id_matches": True,
        "shipper_serial_matches": True, "logger_serial_matches": True, "logger_stopped": True,
        "within_transit_limit": True, "units_scanned_match": True}
    again = receipt(j, sid)
    assert again.status_code == 409 and again.json()["code"] == "receipt_recorded"
    sig = session.exec(select(Signature).where(Signature.record_type == "shipment_receipt")).one()
    assert sig.meaning == "Receipt check: accepted"


def test_a_failed_item_rejects_the_shipment_unless_qa_accepts_the_deviation(
        client: Any, auth: Any, frozen: Any, session: Session) -> None:
    j = Journey(client, auth)
    cid, sid = shipped(j)
    j.to(cid, "received_at_treatment_center")
    wrong_seal = receipt(j, sid, seal_id="SEAL-9", accept_deviation=True)
    assert wrong_seal.status_code == 409 and wrong_seal.json()["code"] == "qa_signature_required"
    assert wrong_seal.json()["context"]["failed"] == ["seal_id_matches"]
    r = receipt(j, sid, role="qa", seal_id="SEAL-9", accept_deviation=True)
    assert r.status_code == 200, r.text
    assert r.json()["receipt"] == "accepted_with_deviation"

    other, sid2 = _second(j)
    j.to(other, "received_at_treatment_center")
    r = receipt(j, sid2, package_intact=False, shipper_serial="DS-2", logger_serial="LG-2")
    assert r.status_code == 200 and r.json()["receipt"] == "rejected"
    assert r.json()["receipt_checklist"]["failed"] == ["package_intact"]
    [alert] = session.exec(select(Alert).where(Alert.kind == "shipment_rejected")).all()
    assert alert.severity == "critical" and alert.case_id == other


def _second(j: Journey) -> tuple[int, int]:
    cid = j.enroll(mrn="MRN-2")["id"]
    j.to(cid, "released")
    add_shipper(j, "DS-2")
    add_logger(j, "LG-2")
    r = ship_product(j, cid, shipper="DS-2", logger="LG-2")
    assert r.status_code == 200, r.text
    return int(cid), int(shipments_of(j, cid)[0]["id"])


def test_a_transit_past_the_profile_limit_is_precomputed_as_a_failed_item(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    cid = j.enroll()["id"]
    j.to(cid, "collected")
    add_shipper(j, "CF-1", "fresh_2_8", role="collection_staff")
    add_logger(j, "LG-9", sensor_min=-30, sensor_max=60, role="collection_staff")
    j.ok("collection_staff", cid, "ship_to_manufacturing", {
        "scans": j.typed(cid, "apheresis"), "shipper_type": "CF-45", "shipper_serial": "CF-1",
        "logger_serial": "LG-9", "seal_id": "S-1"})
    frozen.advance(hours=31)  # fresh_2_8: 30 h at most
    j.to(cid, "received_at_manufacturing")
    sid = shipments_of(j, cid, "apheresis_to_manufacturing")[0]["id"]
    r = j.client.post(f"/api/shipments/{sid}/receipt", headers=j.auth["lab_tech"], json=GOOD | {
        "seal_id": "S-1", "shipper_serial": "CF-1", "logger_serial": "LG-9"})
    assert r.status_code == 200, r.text
    assert r.json()["within_transit_limit"] is False and r.json()["transit_hours"] == 31
    assert r.json()["receipt"] == "rejected"
    assert r.json()["receipt_checklist"]["failed"] == ["within_transit_limit"]


def test_late_and_hold_margin_alerts_are_scheduled_at_dispatch_and_cancelled_by_receipt(
        client: Any, auth: Any, frozen: Any, session: Session) -> None:
    j = Journey(client, auth)
    cid, sid = shipped(j)
    lates = session.exec(select(Alert).where(Alert.kind == "shipment_late")).all()
    [late] = [a for a in lates if a.data["shipment_id"] == sid]
    assert late.status == "pending"
    [apheresis] = [a for a in lates if a.data["shipment_id"] != sid]
    assert apheresis.status == "cancelled"  # that shipment was received long ago
    assert clock.as_utc(late.fire_at) == clock.now() + timedelta(hours=240 - 4)
    [hold] = session.exec(select(Alert).where(Alert.kind == "shipper_hold_margin")).all()
    assert hold.severity == "critical" and "DS-1" in hold.title
    assert clock.as_utc(hold.fire_at) == clock.now() + timedelta(hours=240 * 0.8)
    session.rollback()
    j.to(cid, "received_at_treatment_center")
    session.expire_all()
    for alert in (session.get(Alert, late.id), session.get(Alert, hold.id)):
        assert alert is not None and alert.status == "cancelled"


def test_the_json_report_has_header_custody_summary_excursions_and_chart_readings(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    _, sid = shipped(j)
    temps = [-185.0] * 3000 + [-140.0] + [-185.0] * 10
    assert post_csv(j, sid, csv_of("LG-1", clock.now(), temps, every=1)).status_code == 200
    r = client.get(f"/api/shipments/{sid}/report", headers=auth["coordinator"])
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["coi"].startswith("CHA") and report["treatment_site"] == "TC-CITY"
    assert report["shipment"]["air_waybill"] == "AWB-176-12345675"
    assert report["custody"][0]["by"] and "World Courier" in report["custody"][0]["what"]
    assert report["shipment"]["summary"]["points"] == report["readings_total"] == 3011
    assert len(report["readings"]) <= 2002
    assert -140.0 in [p["temp_c"] for p in report["readings"]]  # the extreme is on the chart
    assert len(report["shipment"]["excursions"]) == 1
    assert report["alarm_rules"][0]["threshold_c"] == -150
