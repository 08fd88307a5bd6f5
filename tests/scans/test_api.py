"""POST /api/scans: what a scan answers, how input from a keyboard-wedge scanner is taken, and
that every scan, passed or failed, is a custody event and an audit entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from cartrack import clock
from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from cartrack.identity.identifiers import printed_unit
from cartrack.scans.models import CustodyEvent
from cartrack.units.models import Unit
from tests.helpers.journey import SignedJourney
from tests.labels.test_api import far_user


def scan(client: Any, auth: Any, payload: str, role: str = "coordinator",
         action: str | None = None, status: int = 200, **extra: Any) -> dict[str, Any]:
    r = client.post("/api/scans", headers=auth[role],
                    json={"payload": payload, "action": action, **extra})
    assert r.status_code == status, r.text
    return dict(r.json())


@pytest.fixture
def collected(client: Any, auth: Any) -> tuple[SignedJourney, dict[str, Any]]:
    j = SignedJourney(client, auth)
    case = j.enroll()
    j.to(case["id"], "collected")
    return j, j.case(case["id"])


def test_a_scan_answers_what_it_is_and_what_may_happen_next(client: Any, auth: Any,
                                                            collected: Any) -> None:
    j, case = collected
    payload = j.typed(case["id"], "apheresis", "collection_staff")[0]
    answer = scan(client, auth, payload + "  \r\n", role="collection_staff")
    unit = case["units"][0]
    assert answer | {"message": "", "custody_event_id": 0, "scanned_at": ""} == {
        "verdict": "match", "reason": None, "message": "", "kind": "unit",
        "unit_id": unit["unit_id"], "unit_id_check": printed_unit(unit["unit_id"]).check,
        "unit_kind": "apheresis", "unit_status": "collected", "wristband_id": None,
        "case_id": case["id"], "coi": case["coi"], "coi_check": case["coi_check"],
        "state": "collected", "allowed_actions": ["ship_to_manufacturing"], "action": None,
        "context_case_id": None, "alert_id": None, "custody_event_id": 0, "scanned_at": "",
        "blocked_by": None}
    assert unit["unit_id"] in answer["message"].replace(" ", "")
    # The coordinator may hold or cancel the case; the collection nurse may ship it.
    mine = scan(client, auth, payload)["allowed_actions"]
    assert "hold" in mine and "ship_to_manufacturing" not in mine


def test_every_scan_is_a_custody_event_and_audited(client: Any, auth: Any,
                                                   collected: Any) -> None:
    j, case = collected
    payload = j.typed(case["id"], "apheresis", "collection_staff")[0]
    good = scan(client, auth, payload, role="collection_staff",
                action="ship_to_manufacturing", location="Apheresis room 2")
    bad = scan(client, auth, payload[:-1] + ("A" if payload[-1] != "A" else "B"),
               role="collection_staff", action="ship_to_manufacturing")
    assert good["verdict"] == "match" and bad["verdict"] == "mismatch"
    assert bad["reason"] == "forged" and bad["case_id"] is None and bad["kind"] is None
    with new_session() as s:
        rows = {r.id: r for r in s.exec(select(CustodyEvent).where(col(CustodyEvent.id).in_(
            [good["custody_event_id"], bad["custody_event_id"]])))}
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "scan")
                       .order_by(col(AuditEntry.id))).all()
    ok, forged = rows[good["custody_event_id"]], rows[bad["custody_event_id"]]
    assert (ok.holder_name, ok.verdict, ok.action, ok.location, ok.case_id) == (
        "Colin Collector", "match", "ship_to_manufacturing", "Apheresis room 2", case["id"])
    assert ok.site_id is not None and ok.kind == "scan" and ok.unit_pk is not None
    assert (forged.verdict, forged.reason, forged.unit_pk, forged.case_id) == (
        "mismatch", "forged", None, None)
    assert [(a.new["verdict"], a.new["reason"]) for a in audit] == [
        ("match", None), ("mismatch", "forged")]
    assert audit[0].case_id == case["id"] and audit[0].printed_name == "Colin Collector"


def test_keyboard_wedge_input_and_refused_input(client: Any, auth: Any, collected: Any) -> None:
    j, case = collected
    payload = j.typed(case["id"], "apheresis", "collection_staff")[0]
    for wedge in (payload + "\r\n", payload + "\n", "  " + payload + " \r", payload + "\t\r\n"):
        assert scan(client, auth, wedge)["verdict"] == "match", repr(wedge)
    # A NUL is refused before it reaches the scan station, by the app's body check.
    nul = scan(client, auth, payload[:10] + "\x00" + payload[10:], status=422)
    assert nul["code"] in ("nul_character", "invalid_input", "scan_control_characters")
    refused = {
        payload[:10] + "\x1b" + payload[10:]: "scan_control_characters",
        payload[:10] + "\x7f" + payload[10:]: "scan_control_characters",
        payload[:10] + "\u2028" + payload[10:]: "scan_control_characters",
        payload + "\r\n" + payload: "scan_control_characters",
        payload + "X" * 1024: "scan_too_long",
        "é" * 513: "scan_too_long",
        " \r\n": "scan_empty",
    }
    for text, code in refused.items():
        body = scan(client, auth, text, status=422)
        assert body["code"] == code, (repr(text[:20]), body)
        assert body["detail"]
    unknown = scan(client, auth, payload, action="teleport", status=422)
    assert unknown["code"] == "invalid_input" and unknown["fields"][0]["field"] == "action"
    with new_session() as s:
        assert len(s.exec(select(CustodyEvent)).all()) == 4, "refused input is not a scan"


def test_typed_unit_id_with_its_check_character(client: Any, auth: Any, collected: Any) -> None:
    _, case = collected
    unit = printed_unit(case["units"][1]["unit_id"])
    answer = scan(client, auth, f"{unit.value} {unit.check}\r\n")
    assert answer["verdict"] == "match" and answer["unit_id"] == unit.value
    wrong = "A" if unit.check != "A" else "B"
    bad = scan(client, auth, unit.value + wrong)
    assert bad["verdict"] == "mismatch" and bad["reason"] == "malformed"
    assert "check character" in bad["message"]
    with new_session() as s:
        kinds = [r.kind for r in s.exec(select(CustodyEvent).order_by(col(CustodyEvent.id)))]
    assert kinds == ["typed", "scan"]


def test_wrong_step_wrong_role_and_wristband_for_a_bag(client: Any, auth: Any,
                                                       collected: Any) -> None:
    j, case = collected
    payload = j.typed(case["id"], "apheresis", "collection_staff")[0]
    thaw = scan(client, auth, payload, role="collection_staff", action="thaw")
    assert thaw["verdict"] == "mismatch" and thaw["reason"] == "wrong_step"
    assert thaw["allowed_actions"] == ["ship_to_manufacturing"]
    assert "collected" in thaw["message"] and "ship to manufacturing" in thaw["message"]
    role = scan(client, auth, payload, role="coordinator", action="ship_to_manufacturing")
    assert role["reason"] == "wrong_role" and "collection staff" in role["message"]
    band = j.wristband_payload(case["id"], role="collection_staff")
    wristband = scan(client, auth, band, role="collection_staff", action="ship_to_manufacturing")
    assert wristband["reason"] == "wrong_step" and wristband["kind"] == "wristband"
    assert "wristband" in wristband["message"]
    # A bag already shipped is the wrong bag for "ship" even if the case could ship.
    j.to(case["id"], "shipped_to_manufacturing")
    receive = scan(client, auth, payload, role="lab_tech", action="receive_at_manufacturing")
    assert receive["verdict"] == "match" and receive["state"] == "shipped_to_manufacturing"
    again = scan(client, auth, payload, role="collection_staff", action="ship_to_manufacturing")
    assert again["reason"] == "wrong_step"


def test_quarantined_and_expired_bags(client: Any, auth: Any, collected: Any) -> None:
    j, case = collected
    first, second = j.typed(case["id"], "apheresis", "collection_staff")
    with new_session() as s:
        units = s.exec(select(Unit).where(Unit.case_id == case["id"])
                       .order_by(col(Unit.id))).all()
        units[0].quarantined = True
        units[1].expires_at = clock.now() - timedelta(minutes=1)
        for u in units:
            s.add(u)
        s.commit()
    q = scan(client, auth, first, role="collection_staff", action="ship_to_manufacturing")
    assert q["reason"] == "quarantined" and "Do not use" in q["message"]
    e = scan(client, auth, second)
    assert e["reason"] == "expired" and e["verdict"] == "mismatch"


def test_a_unit_of_another_site_is_unknown_and_nothing_leaks(client: Any, auth: Any,
                                                             collected: Any, db_url: str
                                                             ) -> None:

    j, case = collected
    payload = j.typed(case["id"], "apheresis", "collection_staff")[0]
    far = far_user(db_url)
    r = client.post("/api/scans", headers=far, json={"payload": payload, "action": "infuse"})
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "mismatch" and body["reason"] == "unknown_unit"
    for key in ("kind", "unit_id", "unit_id_check", "case_id", "coi", "coi_check", "state",
                "unit_status", "unit_kind", "context_case_id"):
        assert body[key] is None, key
    assert body["allowed_actions"] == [] and case["coi"] not in body["message"]
    with new_session() as s:
        row = s.get(CustodyEvent, body["custody_event_id"])
        assert row is not None and row.case_id is None and row.unit_pk is not None
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "scan")).one()
        assert audit.entity == "scan" and audit.case_id is None


def test_scans_need_a_case_role(client: Any, auth: Any) -> None:
    r = client.post("/api/scans", headers=auth["admin"], json={"payload": "CT1.X"})
    assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
    r = client.post("/api/scans", json={"payload": "CT1.X"})
    assert r.status_code == 401


def test_a_scan_for_a_case_refuses_another_patients_bag(client: Any, auth: Any,
                                                        collected: Any) -> None:
    j, case = collected
    other = j.enroll(mrn="MRN-OTHER-2")
    j.to(other["id"], "collected")
    theirs = j.typed(other["id"], "apheresis", "collection_staff")[0]
    ours = j.typed(case["id"], "apheresis", "collection_staff")[0]
    wrong = scan(client, auth, theirs, role="collection_staff", action="ship_to_manufacturing",
                 case_id=case["id"])
    assert wrong["verdict"] == "mismatch" and wrong["reason"] == "other_patient"
    assert wrong["message"].startswith("STOP")
    right = scan(client, auth, ours, role="collection_staff", action="ship_to_manufacturing",
                 case_id=case["id"])
    assert right["verdict"] == "match" and right["case_id"] == case["id"]
    # Without the case, the same bag is judged for its own case, which it matches.
    alone = scan(client, auth, theirs, role="collection_staff", action="ship_to_manufacturing")
    assert alone["verdict"] == "match" and alone["case_id"] == other["id"]
    missing = scan(client, auth, ours, role="collection_staff", case_id=999_999, status=404)
    assert missing["code"] == "case_not_found"
