"""The whole journey through the API with real labels: every handoff and step scanned with the
signed payload read off the printed label, the bedside check, the two-person infusion; and a
wrong bag at the bedside that blocks the infusion. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlmodel import col, select

from cartrack.alerts.models import Alert, AlertTarget
from cartrack.db import new_session
from cartrack.scans.models import CustodyEvent
from tests.helpers.bedside import infuse, ready_to_infuse, scan
from tests.helpers.journey import SignedJourney


def test_full_journey_with_signed_label_scans(client: Any, auth: Any, frozen: Any) -> None:
    j = SignedJourney(client, auth)
    cid, bag = ready_to_infuse(j, frozen)
    band = j.wristband_payload(cid)
    # Nothing scanned at the bedside yet: refused.
    early = infuse(j, cid)
    assert early.status_code == 409 and early.json()["code"] == "bedside_scans_missing"
    wrist = scan(j, "infusion_staff", band, "infuse")
    assert wrist["verdict"] == "match" and wrist["kind"] == "wristband", wrist
    assert wrist["case_id"] == cid and "infuse" in wrist["allowed_actions"]
    right = scan(j, "infusion_staff", bag, "infuse")
    assert right["verdict"] == "match" and right["context_case_id"] == cid, right
    done = infuse(j, cid)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "infused"

    # Every handoff and step of the journey was scanned from a signed label and recorded.
    with new_session() as s:
        rows = s.exec(select(CustodyEvent).where(CustodyEvent.case_id == cid)
                      .order_by(col(CustodyEvent.id))).all()
    actions = [r.action for r in rows if r.verdict == "match"]
    for step in ("ship_to_manufacturing", "receive_at_manufacturing", "start_manufacturing",
                 "record_process_step", "complete_manufacturing", "ship_to_treatment_center",
                 "receive_at_treatment_center", "thaw", "infuse"):
        assert step in actions, step
    # The one mismatch: the thawed bag scanned for "thaw" a second time.
    assert [(r.action, r.reason) for r in rows if r.verdict != "match"] == [("thaw", "wrong_step")]
    assert {r.kind for r in rows} == {"handoff", "process", "scan"}

    # The bag's custody and the case's report.
    unit_id = j.case(cid)["units"][-1]["unit_id"]
    custody = client.get(f"/api/units/{unit_id}/custody", headers=auth["infusion_staff"]).json()
    assert custody["parent"]["kind"] == "apheresis"
    steps = [e["action"] for e in custody["events"]]
    assert steps[:2] == ["ship_to_treatment_center", "receive_at_treatment_center"]
    assert steps[-1] == "infuse" and custody["events"][-1]["holder"] == "Iris Infusion"
    report = client.get(f"/api/cases/{cid}/custody.csv", headers=auth["coordinator"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(report.text)))
    signatures = [(r["who"], r["meaning"]) for r in records if r["record"] == "signature"]
    assert ("Quinn Quality", "Approved for release") in signatures
    assert ("Iris Infusion", "Verified") in signatures
    assert ("Ivan Infusion", "Verified") in signatures
    lineage = [r for r in records if r["record"] == "unit" and r["unit_kind"] == "product"]
    assert lineage and lineage[0]["parent_unit_id"]


def test_wrong_bag_at_the_bedside_blocks_the_infusion(client: Any, auth: Any,
                                                      frozen: Any) -> None:
    j = SignedJourney(client, auth)
    other = j.enroll(mrn="MRN-OTHER")
    j.to(other["id"], "qc_pending")
    other_bag = j.typed(other["id"], "product", "lab_tech")[0]
    cid, bag = ready_to_infuse(j, frozen)
    version = j.case(cid)["version"]

    assert scan(j, "infusion_staff", j.wristband_payload(cid), "infuse")["verdict"] == "match"
    wrong = scan(j, "infusion_staff", other_bag, "infuse")
    assert wrong["verdict"] == "mismatch" and wrong["reason"] == "other_patient", wrong
    assert wrong["message"].startswith("STOP") and wrong["context_case_id"] == cid
    assert wrong["alert_id"] is not None

    refused = infuse(j, cid)
    assert refused.status_code == 409 and refused.json()["code"] == "bedside_mismatch"
    assert j.case(cid)["version"] == version and j.case(cid)["state"] == "thawed"
    with new_session() as s:
        row = s.exec(select(CustodyEvent).where(CustodyEvent.id == wrong["custody_event_id"])
                     ).one()
        assert row.case_id == cid and row.reason == "other_patient"
        alert = s.get(Alert, wrong["alert_id"])
        assert alert is not None and alert.severity == "critical" and alert.case_id == cid
        targets = {(t.role, t.site_id) for t in s.exec(
            select(AlertTarget).where(AlertTarget.alert_id == alert.id))}
    assert {role for role, _ in targets} == {"infusion_staff", "coordinator"}

    # Scanning the right bag after the wrong one (after the same wristband) clears the way.
    assert scan(j, "infusion_staff", bag, "infuse")["verdict"] == "match"
    assert infuse(j, cid).status_code == 200


def test_bag_before_wristband_and_stale_scans_do_not_count(client: Any, auth: Any,
                                                          frozen: Any) -> None:
    j = SignedJourney(client, auth)
    cid, bag = ready_to_infuse(j, frozen)
    first = scan(j, "infusion_staff", bag, "infuse")
    assert first["verdict"] == "mismatch" and first["reason"] == "wristband_first"
    assert infuse(j, cid).json()["code"] == "bedside_mismatch"
    scan(j, "infusion_staff", j.wristband_payload(cid), "infuse")
    scan(j, "infusion_staff", bag, "infuse")
    frozen.advance(minutes=16)  # the bedside scans count for 15 minutes
    late = infuse(j, cid)
    assert late.status_code == 409 and late.json()["code"] == "bedside_scans_missing"
    # Another nurse's bag scan has no wristband of hers before it.
    scan(j, "infusion_staff", j.wristband_payload(cid), "infuse")
    theirs = scan(j, "infusion_staff2", bag, "infuse")
    assert theirs["reason"] == "wristband_first"
    assert infuse(j, cid).json()["code"] == "bedside_mismatch"


def test_another_patients_wristband_for_the_case_on_screen_stops_the_bedside(
        client: Any, auth: Any, frozen: Any) -> None:
    j = SignedJourney(client, auth)
    other = j.enroll(mrn="MRN-NEXT-BED")
    j.to(other["id"], "released")
    other_band = j.wristband_payload(other["id"])
    cid, bag = ready_to_infuse(j, frozen)

    r = client.post("/api/scans", headers=auth["infusion_staff"], json={
        "payload": other_band, "action": "infuse", "case_id": cid})
    assert r.status_code == 200, r.text
    wrong = r.json()
    assert wrong["verdict"] == "mismatch" and wrong["reason"] == "other_patient"
    assert wrong["message"].startswith("STOP") and "wristband" in wrong["message"]
    assert wrong["alert_id"] is not None
    with new_session() as s:
        alert = s.get(Alert, wrong["alert_id"])
        assert alert is not None and alert.severity == "critical" and alert.case_id == cid
    assert infuse(j, cid).status_code == 409, "a STOP at the bedside blocks the infusion"

    # Away from the bedside the same mix-up is refused without waking anyone.
    quiet = client.post("/api/scans", headers=auth["infusion_staff"], json={
        "payload": other_band, "case_id": cid}).json()
    assert quiet["verdict"] == "mismatch" and quiet["alert_id"] is None

    assert scan(j, "infusion_staff", j.wristband_payload(cid), "infuse")["verdict"] == "match"
    assert scan(j, "infusion_staff", bag, "infuse")["verdict"] == "match"
    assert infuse(j, cid).status_code == 200
