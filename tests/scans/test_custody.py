"""Handoffs refuse a missing bag, an extra bag, another patient's bag, a forged label and a
wristband, each refusal recorded with an alert; a bag's custody and the case's report."""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from typing import Any

import pypdfium2 as pdfium
import pytest
from sqlmodel import col, select

from cartrack.alerts.models import Alert
from cartrack.db import new_session
from cartrack.scans.models import CustodyEvent
from cartrack.scans.resolve import CustodyRecord
from tests.helpers.journey import SignedJourney

SHIP = {"shipper_type": "2-8 C shipper", "courier": "MedCourier", "tracking_number": "T1"}


def rows_of(case_id: int) -> list[CustodyEvent]:
    with new_session() as s:
        return list(s.exec(select(CustodyEvent).where(CustodyEvent.case_id == case_id)
                           .order_by(col(CustodyEvent.id))).all())


def alerts_of(case_id: int) -> list[Alert]:
    with new_session() as s:
        return list(s.exec(select(Alert).where(Alert.case_id == case_id, Alert.kind == "mismatch")
                           .order_by(col(Alert.id))).all())


@pytest.fixture
def two_cases(client: Any, auth: Any) -> tuple[SignedJourney, int, int]:
    j = SignedJourney(client, auth)
    mine, other = j.enroll(mrn="MRN-MINE"), j.enroll(mrn="MRN-OTHER")
    j.to(mine["id"], "collected")
    j.to(other["id"], "collected")
    return j, mine["id"], other["id"]


def refused_ship(j: SignedJourney, cid: int, scans: list[str], code: str,
                 severity: str) -> list[CustodyEvent]:
    version = j.case(cid)["version"]
    before = len(rows_of(cid))
    r = j.event("collection_staff", cid, "ship_to_manufacturing", {"scans": scans, **SHIP})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == code, r.json()
    assert j.case(cid)["version"] == version and j.case(cid)["state"] == "collected"
    alert = alerts_of(cid)[-1]
    assert alert.severity == severity and alert.data["event"] == "ship_to_manufacturing"
    return rows_of(cid)[before:]


def test_a_missing_bag_is_refused_and_recorded(two_cases: Any) -> None:
    j, cid, _ = two_cases
    first, _second = j.typed(cid, "apheresis", "collection_staff")
    rows = refused_ship(j, cid, [first], "scan_missing_unit", "warning")
    assert [(r.verdict, r.reason, r.kind) for r in rows] == [
        ("match", None, "handoff"), ("mismatch", "missing_unit", "handoff")]
    assert "refused" in rows[0].message and rows[1].unit_pk is not None


def test_another_patients_bag_is_refused_as_critical(two_cases: Any) -> None:
    j, cid, other = two_cases
    mine = j.typed(cid, "apheresis", "collection_staff")
    theirs = j.typed(other, "apheresis", "collection_staff")[0]
    rows = refused_ship(j, cid, [*mine, theirs], "scan_other_patient", "critical")
    assert [r.reason for r in rows] == [None, None, "other_patient"]
    assert "another patient" in alerts_of(cid)[-1].message
    # Even when the other patient's bag is scanned first, the alert names the gravest problem.
    rows = refused_ship(j, cid, [mine[0], theirs], "scan_other_patient", "critical")
    assert {r.reason for r in rows} == {None, "other_patient", "missing_unit"}


def test_a_forged_label_a_duplicate_and_a_wristband_are_refused(two_cases: Any) -> None:
    j, cid, _ = two_cases
    first, second = j.typed(cid, "apheresis", "collection_staff")
    forged = first[:-1] + ("A" if first[-1] != "A" else "B")
    rows = refused_ship(j, cid, [forged, second], "scan_forged", "critical")
    assert [r.reason for r in rows] == ["forged", None, "missing_unit"]
    rows = refused_ship(j, cid, [first, first, second], "scan_duplicate_scan", "warning")
    assert [r.reason for r in rows] == [None, "duplicate_scan", None]
    band = j.wristband_payload(cid, role="collection_staff")
    rows = refused_ship(j, cid, [first, second, band], "scan_wrong_step", "warning")
    assert rows[-1].wristband_pk is not None and rows[-1].reason == "wrong_step"
    ok = j.event("collection_staff", cid, "ship_to_manufacturing",
                 {"scans": [second, first], **SHIP})
    assert ok.status_code == 200 and ok.json()["state"] == "shipped_to_manufacturing"


def test_an_extra_bag_of_the_same_case_is_refused(client: Any, auth: Any) -> None:
    j = SignedJourney(client, auth)
    cid = j.enroll()["id"]
    j.to(cid, "released")
    apheresis = j.unit_payload(j.case(cid)["units"][0]["unit_id"], "lab_tech")
    product = j.typed(cid, "product", "lab_tech")
    r = j.event("lab_tech", cid, "ship_to_treatment_center",
                {"scans": [*product, apheresis], "shipper_type": "LN2 dry shipper"})
    assert r.status_code == 409 and r.json()["code"] == "scan_extra_unit"
    assert rows_of(cid)[-1].reason == "extra_unit"
    assert j.case(cid)["state"] == "released"


def test_a_bags_custody_and_the_case_report(client: Any, auth: Any) -> None:
    j = SignedJourney(client, auth)
    cid = j.enroll()["id"]
    j.to(cid, "released")
    detail = j.case(cid)
    product = next(u for u in detail["units"] if u["kind"] == "product")
    parent = product["parent_unit_id"]
    scan = client.post("/api/scans", headers=auth["lab_tech"], json={
        "payload": j.unit_payload(product["unit_id"], "lab_tech"),
        "action": "ship_to_treatment_center", "location": "=HYPERLINK(\"x\")"})
    assert scan.json()["verdict"] == "match"

    custody = client.get(f"/api/units/{parent}/custody", headers=auth["qa"]).json()
    assert [c["unit_id"] for c in custody["children"]] == [product["unit_id"]]
    steps = [e["action"] for e in custody["events"]]
    assert steps == ["ship_to_manufacturing", "receive_at_manufacturing", "start_manufacturing",
                     *["record_process_step"] * 5, "complete_manufacturing"]
    first, received = custody["events"][0], custody["events"][1]
    assert (first["holder"], first["site"], first["kind"]) == ("Colin Collector", "TC-CITY",
                                                               "handoff")
    assert (received["holder"], received["site"], received["location"]) == (
        "Lara Labtech", "MF-EAST", "fridge 1")
    bag = client.get(f"/api/units/{product['unit_id']}{product['unit_id_check']}/custody",
                     headers=auth["lab_tech"]).json()
    assert bag["parent"]["unit_id"] == parent and bag["events"][-1]["location"].startswith("=")

    report = client.get(f"/api/cases/{cid}/custody.csv", headers=auth["qa"])
    records = list(csv.DictReader(io.StringIO(report.text)))
    assert records[0]["record"] == "case" and records[0]["coi"].startswith(detail["coi"])
    assert {r["record"] for r in records} >= {"case", "unit", "wristband", "event", "custody",
                                              "label_print", "signature"}
    assert any(r["location"] == "'=HYPERLINK(\"x\")" for r in records), "no formula in a cell"
    release = [r for r in records if r["record"] == "signature"]
    assert [(r["who"], r["meaning"]) for r in release] == [("Quinn Quality",
                                                            "Approved for release")]
    assert release[0]["at"] and "Patient" not in report.text

    pdf = client.get(f"/api/cases/{cid}/custody.pdf", headers=auth["coordinator"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(pdf.content))
    for expected in (f"COI {detail['coi']} {detail['coi_check']}", "Units and lineage",
                     "Handoffs and scans", "Electronic signatures", "Quinn Quality",
                     "Approved for release", "Lara Labtech"):
        assert expected in text, expected


def test_a_station_scan_writes_its_whole_custody_row(two_cases: Any) -> None:
    """The station writes its row from plain values (no ORM object): every column the table has
    is written, and the row says what the answer said."""
    j, mine, _ = two_cases
    bag = j.typed(mine, "apheresis", role="collection_staff")[0]
    r = j.client.post("/api/scans", headers=j.auth["collection_staff"],
                      json={"payload": bag, "action": "ship_to_manufacturing",
                            "location": "Dock 2", "case_id": mine})
    assert r.status_code == 200, r.text
    answer = r.json()
    with new_session() as s:
        row = s.get(CustodyEvent, answer["custody_event_id"])
    assert row is not None
    columns = CustodyEvent.metadata.tables["custody_event"].columns
    assert {f.name for f in fields(CustodyRecord)} == {c.key for c in columns}
    assert (row.verdict, row.reason, row.message) == ("match", None, answer["message"])
    assert (row.case_id, row.action, row.location, row.kind) == (
        mine, "ship_to_manufacturing", "Dock 2", "scan")
    assert row.unit_pk is not None and row.wristband_pk is None and row.site_id is not None
    assert row.holder_name and row.at.isoformat().startswith(answer["scanned_at"][:19])
