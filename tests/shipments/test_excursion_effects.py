"""What an excursion does: a critical alert to QA and the coordinator; while it awaits QA it
blocks thaw (product) or the start of manufacturing (apheresis) with 409 excursion_open; QA's
e-signed disposition releases the block, or a rejection keeps it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from cartrack import clock
from cartrack.alerts.models import Alert, AlertTarget
from cartrack.audit.models import Signature
from cartrack.users.models import Site
from tests.helpers.bedside import NY
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey
from tests.helpers.shipments import (
    add_logger,
    add_shipper,
    apheresis_ship_data,
    csv_of,
    post_csv,
    ship_product,
    shipments_of,
)

WARM_RUN = [-185.0] * 4 + [-148.0, -140.0, -147.0] + [-185.0] * 3


def product_with_excursion(j: Journey) -> tuple[int, int]:
    cid = j.enroll()["id"]
    j.to(cid, "released")
    add_shipper(j, "DS-1")
    add_logger(j, "LG-1")
    assert ship_product(j, cid).status_code == 200
    sid = shipments_of(j, cid)[0]["id"]
    r = post_csv(j, sid, csv_of("LG-1", clock.now(), WARM_RUN), role="lab_tech")
    assert r.status_code == 200, r.text
    [exc] = r.json()["excursions"]
    assert (exc["duration_minutes"], exc["extreme_c"], exc["disposition"]) == (45, -140.0,
                                                                               "pending_qa")
    return int(cid), int(exc["id"])


def ready_to_thaw(j: Journey, frozen: Any, cid: int) -> str:
    j.to(cid, "received_at_treatment_center")
    today = clock.now().astimezone(NY).date()
    j.ok("infusion_staff", cid, "start_lymphodepletion",
         {"start_date": (today - timedelta(days=2)).isoformat()})
    j.ok("infusion_staff", cid, "complete_lymphodepletion", {"end_date": today.isoformat()})
    frozen.advance(days=3)
    return j.typed(cid, "product", "infusion_staff")[0]


def dispose(j: Journey, exc_id: int, decision: str, role: str = "qa",
            password: str = PASSWORD) -> Any:
    return j.client.post(f"/api/excursions/{exc_id}/disposition", headers=j.auth[role], json={
        "decision": decision, "reason": "Stability data cover 45 min above -150 °C",
        "signature": {"password": password}})


def test_an_excursion_raises_a_critical_alert_to_qa_and_the_coordinator(
        client: Any, auth: Any, frozen: Any, session: Session) -> None:
    j = Journey(client, auth)
    cid, _ = product_with_excursion(j)
    [alert] = session.exec(select(Alert).where(Alert.kind == "shipment_excursion")).all()
    assert alert.severity == "critical" and alert.case_id == cid
    sites = {s.id: s.code for s in session.exec(select(Site)).all()}
    targets = session.exec(select(AlertTarget).where(AlertTarget.alert_id == alert.id)).all()
    assert {(t.role, sites[t.site_id]) for t in targets} == {("qa", "MF-EAST"),
                                                             ("coordinator", "TC-CITY")}
    session.rollback()  # end the read before the API writes again
    # the same readings again find the same excursion: no second alert
    sid = shipments_of(j, cid)[0]["id"]
    post_csv(j, sid, csv_of("LG-1", clock.now(), WARM_RUN))
    session.expire_all()
    assert len(session.exec(select(Alert).where(Alert.kind == "shipment_excursion")).all()) == 1


def test_an_open_excursion_blocks_thaw_until_qa_signs_it_acceptable(
        client: Any, auth: Any, frozen: Any, session: Session) -> None:
    j = Journey(client, auth)
    cid, exc_id = product_with_excursion(j)
    bag = ready_to_thaw(j, frozen, cid)
    r = j.event("infusion_staff", cid, "thaw", {"scan": bag})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "excursion_open"
    assert r.json()["context"]["excursions"] == [exc_id]
    assert j.case(cid)["state"] == "received_at_treatment_center"
    # only QA signs, and only with the right password
    assert dispose(j, exc_id, "acceptable", role="infusion_staff").status_code == 403
    assert dispose(j, exc_id, "acceptable", password="wrong-password-1").status_code == 403
    r = dispose(j, exc_id, "acceptable")
    assert r.status_code == 200, r.text
    assert r.json()["disposition"] == "acceptable" and r.json()["signature_id"]
    again = dispose(j, exc_id, "reject")
    assert again.status_code == 409 and again.json()["code"] == "excursion_dispositioned"
    assert j.ok("infusion_staff", cid, "thaw", {"scan": bag})["state"] == "thawed"
    signature = session.get(Signature, r.json()["signature_id"])
    assert signature is not None and signature.meaning.startswith("Approval")
    assert signature.record_ref == f"excursion:{exc_id}"


def test_a_rejected_excursion_keeps_the_product_from_thaw(client: Any, auth: Any,
                                                         frozen: Any) -> None:
    j = Journey(client, auth)
    cid, exc_id = product_with_excursion(j)
    bag = ready_to_thaw(j, frozen, cid)
    r0 = dispose(j, exc_id, "reject")
    assert r0.status_code == 200, r0.text
    r = j.event("infusion_staff", cid, "thaw", {"scan": bag})
    assert r.status_code == 409 and r.json()["code"] == "excursion_rejected"


def test_an_apheresis_excursion_blocks_the_start_of_manufacturing(client: Any, auth: Any,
                                                                  frozen: Any) -> None:
    j = Journey(client, auth)
    cid = j.enroll()["id"]
    j.to(cid, "collected")
    add_shipper(j, "CF-1", "fresh_2_8", role="collection_staff")
    add_logger(j, "LG-2", sensor_min=-30, sensor_max=60, role="collection_staff")
    j.ok("collection_staff", cid, "ship_to_manufacturing", apheresis_ship_data(
        j, cid, shipper_serial="CF-1", logger_serial="LG-2", seal_id="S-1"))
    sid = shipments_of(j, cid, "apheresis_to_manufacturing")[0]["id"]
    warm = [5.0] * 4 + [9.0] * 3 + [5.0] * 2  # 45 min above 8 °C: consecutive 30 min
    body = post_csv(j, sid, csv_of("LG-2", clock.now(), warm), role="collection_staff").json()
    assert [e["rule"] for e in body["excursions"]] == ["consecutive:high:8.0"]
    assert body["summary"]["mkt_c"] is not None
    j.to(cid, "received_at_manufacturing")
    scan = j.typed(cid, "apheresis", "lab_tech")[0]
    r = j.event("lab_tech", cid, "start_manufacturing", {"scan": scan})
    assert r.status_code == 409 and r.json()["code"] == "excursion_open"
    assert dispose(j, body["excursions"][0]["id"], "acceptable").status_code == 200
    assert j.ok("lab_tech", cid, "start_manufacturing", {"scan": scan})["state"] == "manufacturing"


def test_readings_that_worsen_an_accepted_excursion_reopen_it_for_qa(client: Any, auth: Any,
                                                                      frozen: Any) -> None:
    j = Journey(client, auth)
    cid = j.enroll()["id"]
    j.to(cid, "released")
    add_shipper(j, "DS-1")
    add_logger(j, "LG-1")
    assert ship_product(j, cid).status_code == 200
    sid = shipments_of(j, cid)[0]["id"]
    start = clock.now()
    first = post_csv(j, sid, csv_of("LG-1", start, [-185.0, -185.0, -148.0])).json()
    [exc] = first["excursions"]
    assert (exc["duration_minutes"], exc["extreme_c"]) == (15, -148.0)
    assert dispose(j, exc["id"], "acceptable").status_code == 200
    # the logger's next download: the run went on, warmer
    later = csv_of("LG-1", start + timedelta(minutes=45), [-140.0, -185.0])
    body = post_csv(j, sid, later).json()
    assert body["inserted"] == 2
    [again] = body["excursions"]
    assert again["id"] == exc["id"] and again["disposition"] == "pending_qa"
    assert (again["duration_minutes"], again["extreme_c"]) == (30, -140.0)
    bag = j.typed(cid, "product", "lab_tech")[0]
    j.to(cid, "received_at_treatment_center")
    r = j.event("infusion_staff", cid, "thaw", {"scan": bag})
    assert r.status_code == 409 and r.json()["code"] == "excursion_open"
