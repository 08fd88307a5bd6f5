"""Every event of the journey table: its allowed path and its refusals."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from cartrack.alerts.models import Alert, Deadline
from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from cartrack.journey.transitions import BY_EVENT, TRANSITIONS, State, target_states
from cartrack.scans.models import CustodyEvent
from tests.helpers.bedside import infuse, ready_to_infuse, scan
from tests.helpers.journey import Journey, SignedJourney


@pytest.fixture
def j(client: Any, auth: Any, frozen: Any) -> Journey:
    return Journey(client, auth)


def refused(r: Any, code: str | None = None, status: int = 409) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = dict(r.json())
    if code:
        assert body["code"] == code, body
    return body


def deadlines(case_id: int) -> dict[str, str]:
    with new_session() as s:
        rows = s.exec(select(Deadline).where(Deadline.case_id == case_id)).all()
    return {d.kind + (f"#{d.ordinal}" if d.ordinal else ""): d.status for d in rows}


# ---- the table itself -----------------------------------------------------------------

DESIGN = Path(__file__).resolve().parents[3] / "shared" / "DESIGN.md"


def test_transition_table_matches_design_md() -> None:
    if not DESIGN.is_file():
        pytest.skip("shared/DESIGN.md is not beside the checkout")
    rows = [line for line in DESIGN.read_text().splitlines() if line.startswith("| ")]
    table = {}
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and re.fullmatch(r"[a-z_ /]+", cells[0]) and cells[0] != "event":
            table[cells[0]] = cells
    for event, (_, src, dst, who, _, _) in table.items():
        names = event.split(" / ")
        for name in names:
            assert name in BY_EVENT, f"{name} from DESIGN.md is missing in code"
            t = BY_EVENT[name]
            for role in re.findall(r"[a-z_]+", who.split("(")[0]):
                if role in ("or", "a", "second", "user", "e", "signature"):
                    continue
                assert role in {r.value for r in t.roles}, (name, role)
        t = BY_EVENT[names[0]]
        if dst.startswith("(milestone)"):
            assert t.milestone and target_states(t) == [], event
        elif dst.startswith("on_hold / previous"):
            pass  # hold / resume: checked in the tests of hold and resume
        else:
            assert set(dst.split(" / ")) == set(target_states(t)), (event, dst)
        named = re.findall(r"[a-z_]+", src)
        if src == "—":
            assert not t.sources, event
        elif src.startswith("any non-terminal"):
            assert {State.on_hold, State.cancelled, State.completed}.isdisjoint(
                t.sources - {State.on_hold}), event
        elif all(n in State.__members__ for n in named) and "…" not in src:
            assert {State(n) for n in named} == set(t.sources), (event, src)
    assert set(BY_EVENT) == {n for e in table for n in e.split(" / ")}


def test_journey_is_served_read_only(client: Any, auth: Any) -> None:
    r = client.get("/api/journey", headers=auth["lab_tech"])
    assert r.status_code == 200
    body = r.json()
    assert [t["event"] for t in body["transitions"]] == [t.event for t in TRANSITIONS]
    release = next(t for t in body["transitions"] if t["event"] == "release")
    assert [s["meaning"] for s in release["signatures"]] == ["Approved for release"]
    assert release["roles"] == ["qa"]
    resume = next(t for t in body["transitions"] if t["event"] == "resume")
    assert resume["returns_to_previous"] and resume["to_states"] == []
    ld = next(t for t in body["transitions"] if t["event"] == "start_lymphodepletion")
    assert ld["milestone"] and ld["to_states"] == []
    states = set(body["states"])
    assert all(set(t["to_states"]) <= states for t in body["transitions"])
    thaw = next(t for t in body["transitions"] if t["event"] == "thaw")
    override = next(g for g in thaw["guards"] if g["name"] == "inside_infusion_window")
    assert override["overridable"]
    assert [(s["meaning"], s["when"]) for s in thaw["signatures"]] == [
        ("Override: thaw outside the infusion window", "override")]
    assert client.post("/api/journey", headers=auth["admin"]).status_code == 405


# ---- schedule and collection ----------------------------------------------------------


def test_schedule_collection_in_the_past_is_refused(j: Journey, frozen: Any) -> None:
    case = j.enroll()
    r = j.event("coordinator", case["id"], "schedule_collection", {
        "collection_date": (frozen.current - timedelta(days=2)).date().isoformat(),
        "manufacturing_slot": "s1"})
    body = refused(r, "guard_failed")
    assert body["context"]["state"] == "enrolled"
    assert body["context"]["allowed_events"] == ["schedule_collection", "hold", "cancel"]
    assert "past" in body["detail"]


def test_wrong_state_answers_409_with_state_and_allowed_events(j: Journey) -> None:
    case = j.enroll()
    r = j.event("lab_tech", case["id"], "start_manufacturing", {"scan": "X"})
    # lab_tech works at the manufacturing site of this case: the state is what refuses it.
    body = refused(r, "wrong_state")
    assert body["context"]["state"] == "enrolled"
    assert "schedule_collection" in body["context"]["allowed_events"]


def test_wrong_role_is_403(j: Journey) -> None:
    case = j.enroll()
    r = j.event("lab_tech", case["id"], "schedule_collection",
                {"collection_date": "2026-06-02", "manufacturing_slot": "s"})
    assert refused(r, "role_forbidden", 403)["detail"].startswith("Your role may not")


def test_collection_creates_labeled_units_and_moves_deadlines(j: Journey) -> None:
    case = j.enroll()
    detail = j.to(case["id"], "collection_scheduled")
    assert deadlines(case["id"]) == {"collection_due": "open"}
    detail = j.to(case["id"], "collected")
    units = [u for u in detail["units"] if u["kind"] == "apheresis"]
    assert len(units) == 2 and all(u["unit_id"].startswith("A999926") for u in units)
    assert {u["unit_id"][-2:] for u in units} == {"01", "02"}
    assert deadlines(case["id"]) == {"collection_due": "met", "apheresis_transit": "open"}


def test_collection_end_in_the_future_is_refused(j: Journey, frozen: Any) -> None:
    case = j.enroll()
    j.to(case["id"], "collection_scheduled")
    r = j.event("collection_staff", case["id"], "record_collection", {
        "collection_end": (frozen.current + timedelta(hours=3)).isoformat(),
        "units": [{"volume_ml": 100}]})
    refused(r, "guard_failed")
    assert j.case(case["id"])["units"] == []


# ---- handoffs ---------------------------------------------------------------------------


def test_shipping_with_a_missing_unit_is_refused_recorded_and_alerted(j: Journey) -> None:
    case = j.enroll()
    j.to(case["id"], "collected")
    one = j.typed(case["id"], "apheresis")[:1]
    r = j.event("collection_staff", case["id"], "ship_to_manufacturing",
                {"scans": one, "shipper_type": "box"})
    body = refused(r, "scan_missing_unit")
    assert "not scanned" in body["detail"]
    assert j.case(case["id"])["state"] == "collected"
    with new_session() as s:
        rows = s.exec(select(CustodyEvent).where(CustodyEvent.case_id == case["id"])).all()
        alerts = s.exec(select(Alert).where(Alert.case_id == case["id"],
                                            Alert.kind == "mismatch")).all()
    # The scan that was made, and the unit that was missing, are both on record.
    assert sorted((r.verdict, r.reason) for r in rows) == [("match", None),
                                                           ("mismatch", "missing_unit")]
    assert len(alerts) == 1 and "not scanned" in alerts[0].message


def test_shipping_another_patients_bag_is_refused(j: Journey) -> None:
    a = j.enroll(mrn="MRN-A")
    b = j.enroll(mrn="MRN-B")
    j.to(a["id"], "collected")
    j.to(b["id"], "collected")
    scans = j.typed(a["id"], "apheresis") + j.typed(b["id"], "apheresis")[:1]
    r = j.event("collection_staff", a["id"], "ship_to_manufacturing",
                {"scans": scans, "shipper_type": "box"})
    body = refused(r, "scan_other_patient")
    assert "another patient" in body["detail"]
    with new_session() as s:
        alert = s.exec(select(Alert).where(Alert.case_id == a["id"])
                       .where(Alert.kind == "mismatch")).one()
    assert alert.severity == "critical"


def test_a_typed_unit_id_with_a_wrong_check_character_is_refused(j: Journey) -> None:
    case = j.enroll()
    j.to(case["id"], "collected")
    scans = j.typed(case["id"], "apheresis")
    last = scans[0][-1]
    scans[0] = scans[0][:-1] + ("A" if last != "A" else "B")
    r = j.event("collection_staff", case["id"], "ship_to_manufacturing",
                {"scans": scans, "shipper_type": "box"})
    assert "check character" in refused(r, "scan_malformed")["detail"]


def test_receipt_out_of_temperature_records_a_deviation(j: Journey) -> None:
    case = j.enroll()
    j.to(case["id"], "shipped_to_manufacturing")
    detail = j.ok("lab_tech", case["id"], "receive_at_manufacturing", {
        "scans": j.typed(case["id"], "apheresis", "lab_tech"), "shipper_temperature_c": 12.0})
    assert detail["state"] == "received_at_manufacturing"
    with new_session() as s:
        alert = s.exec(select(Alert).where(Alert.case_id == case["id"],
                                           Alert.kind == "deviation")).one()
    assert "12.0" in alert.message
    events = j.client.get(f"/api/cases/{case['id']}/events", headers=j.auth["lab_tech"]).json()
    assert events[-1]["data"]["temperature_in_range"] is False


# ---- manufacturing and QC ---------------------------------------------------------------


def test_process_steps_must_follow_protocol_order(j: Journey) -> None:
    case = j.enroll()
    j.to(case["id"], "manufacturing")
    scan = j.typed(case["id"], "apheresis", "lab_tech")[0]
    r = j.event("lab_tech", case["id"], "record_process_step", {"step": "expansion", "scan": scan})
    assert "next step is activation" in refused(r, "guard_failed")["detail"]
    r = j.event("lab_tech", case["id"], "complete_manufacturing", {
        "scan": scan, "bags": [{"volume_ml": 50}], "cryopreserved_at": "2026-06-01T14:00:00Z"})
    assert "steps still to record" in refused(r, "guard_failed")["detail"]


def test_product_bags_carry_lineage_to_the_apheresis_unit(j: Journey) -> None:
    case = j.enroll()
    detail = j.to(case["id"], "qc_pending")
    units = {u["unit_id"]: u for u in detail["units"]}
    bags = [u for u in units.values() if u["kind"] == "product"]
    assert bags and all(units[b["parent_unit_id"]]["kind"] == "apheresis" for b in bags)
    assert all(b["status"] == "cryopreserved" and b["expires_at"] for b in bags)
    assert {"qc_release_target", "storage_expiry"} <= set(deadlines(case["id"]))


def test_unknown_qc_test_is_refused(j: Journey) -> None:
    case = j.enroll()
    j.to(case["id"], "qc_pending")
    r = j.event("lab_tech", case["id"], "record_qc_result",
                {"test": "astrology", "value": "x", "passed": True})
    assert "not a QC test" in refused(r, "guard_failed")["detail"]


def _to_qc_with_results(j: Journey, failing: str | None = None) -> int:
    case = j.enroll()
    j.to(case["id"], "qc_pending")
    for test in ("sterility", "mycoplasma", "endotoxin", "viability", "car_expression", "vcn"):
        j.ok("lab_tech", case["id"], "record_qc_result",
             {"test": test, "value": "v", "passed": test != failing})
    return int(case["id"])


def test_release_needs_every_test_passing(j: Journey) -> None:
    case = j.enroll()
    j.to(case["id"], "qc_pending")
    j.ok("lab_tech", case["id"], "record_qc_result",
         {"test": "sterility", "value": "No growth", "passed": True})
    r = j.event("qa", case["id"], "release", {}, sign=True)
    assert "results missing for mycoplasma" in refused(r, "guard_failed")["detail"]


def test_release_needs_the_e_signature_and_records_it(j: Journey) -> None:
    cid = _to_qc_with_results(j)
    refused(j.event("qa", cid, "release", {}), "signature_required")
    wrong = j.event("qa", cid, "release", {}, sign=True, password="wrong-password")
    assert refused(wrong, "signature_failed", 403)
    assert j.case(cid)["state"] == "qc_pending"
    detail = j.ok("qa", cid, "release", {}, sign=True)
    assert detail["state"] == "released"
    events = j.client.get(f"/api/cases/{cid}/events", headers=j.auth["qa"]).json()
    sig = events[-1]["signatures"][0]
    assert sig["printed_name"] == "Quinn Quality" and sig["meaning"] == "Approved for release"
    assert len(sig["record_hash"]) == 64
    assert deadlines(cid)["qc_release_target"] == "met"


def test_lab_tech_may_not_release(j: Journey) -> None:
    cid = _to_qc_with_results(j)
    refused(j.event("lab_tech", cid, "release", {}, sign=True), "role_forbidden", 403)


def test_out_of_spec_needs_a_failing_result(j: Journey) -> None:
    cid = _to_qc_with_results(j)
    r = j.event("qa", cid, "report_out_of_spec", {"reason": "looks odd"})
    assert "no QC result is failing" in refused(r, "guard_failed")["detail"]


def test_out_of_spec_quarantines_and_exceptional_release_needs_the_physician(j: Journey) -> None:
    cid = _to_qc_with_results(j, failing="viability")
    refused(j.event("qa", cid, "release", {}, sign=True), "guard_failed")
    detail = j.ok("qa", cid, "report_out_of_spec", {"reason": "viability 61 % below spec"})
    assert detail["state"] == "out_of_specification"
    assert all(u["quarantined"] for u in detail["units"] if u["kind"] == "product")
    r = j.event("qa", cid, "decide_out_of_spec",
                {"decision": "exceptional_release", "reason": "no alternative"}, sign=True)
    assert "physician" in refused(r, "guard_failed")["detail"]
    detail = j.ok("qa", cid, "decide_out_of_spec", {
        "decision": "exceptional_release", "reason": "no alternative therapy",
        "physician_acknowledgement": "Dr. Rivera"}, sign=True)
    assert detail["state"] == "released"
    assert not any(u["quarantined"] for u in detail["units"] if u["kind"] == "product")


def test_out_of_spec_recollect_goes_back_to_collection(j: Journey, frozen: Any) -> None:
    cid = _to_qc_with_results(j, failing="sterility")
    j.ok("qa", cid, "report_out_of_spec", {"reason": "sterility failed"})
    refused(j.event("qa", cid, "decide_out_of_spec", {
        "decision": "recollect", "reason": "new collection"}, sign=True), "guard_failed")
    detail = j.ok("qa", cid, "decide_out_of_spec", {
        "decision": "recollect", "reason": "new collection",
        "collection_date": (frozen.current + timedelta(days=3)).date().isoformat()}, sign=True)
    assert detail["state"] == "collection_scheduled"
    assert all(u["status"] == "discarded" for u in detail["units"])


def test_out_of_spec_cancel_cancels_every_deadline(j: Journey) -> None:
    cid = _to_qc_with_results(j, failing="sterility")
    j.ok("qa", cid, "report_out_of_spec", {"reason": "sterility failed"})
    detail = j.ok("qa", cid, "decide_out_of_spec",
                  {"decision": "cancel", "reason": "patient no longer eligible"}, sign=True)
    assert detail["state"] == "cancelled"
    assert "open" not in deadlines(cid).values()


# ---- treatment center ------------------------------------------------------------------


def test_receipt_at_treatment_center_too_warm_is_refused(j: Journey) -> None:
    case = j.enroll()
    j.to(case["id"], "shipped_to_treatment_center")
    r = j.event("infusion_staff", case["id"], "receive_at_treatment_center", {
        "scans": j.typed(case["id"], "product", "infusion_staff"),
        "shipper_temperature_c": -60, "storage_location": "tank"})
    assert "warmer than" in refused(r, "guard_failed")["detail"]
    with new_session() as s:
        assert s.exec(select(Alert).where(Alert.case_id == case["id"],
                                          Alert.kind == "mismatch")).first() is not None


def test_lymphodepletion_milestones_and_their_refusals(j: Journey, frozen: Any) -> None:
    case = j.enroll()
    cid = case["id"]
    j.to(cid, "released")
    today = frozen.current.date()
    refused(j.event("infusion_staff", cid, "complete_lymphodepletion",
                    {"end_date": today.isoformat()}), "guard_failed")
    detail = j.ok("infusion_staff", cid, "start_lymphodepletion",
                  {"start_date": today.isoformat()})
    assert detail["state"] == "released" and detail["ld_started_on"] == today.isoformat()
    assert "Cyclophosphamide 500" in detail["ld_regimen"]
    again = j.event("coordinator", cid, "start_lymphodepletion", {"start_date": today.isoformat()})
    assert "already started" in refused(again, "guard_failed")["detail"]
    assert deadlines(cid)["infusion_window"] == "open"
    frozen.advance(days=2)
    j.ok("infusion_staff", cid, "complete_lymphodepletion",
         {"end_date": (today + timedelta(days=2)).isoformat()})
    assert list(deadlines(cid).values()).count("open") >= 1


def test_thaw_needs_completed_lymphodepletion(j: Journey) -> None:
    case = j.enroll()
    j.to(case["id"], "received_at_treatment_center")
    r = j.event("infusion_staff", case["id"], "thaw",
                {"scan": j.typed(case["id"], "product", "infusion_staff")[0]})
    assert "not recorded as complete" in refused(r, "guard_failed")["detail"]


def _thawed(j: Journey, frozen: Any) -> int:
    cid = int(j.enroll()["id"])
    j.to(cid, "received_at_treatment_center")
    start = frozen.current.date()
    j.ok("infusion_staff", cid, "start_lymphodepletion", {"start_date": start.isoformat()})
    frozen.advance(days=2)
    j.ok("infusion_staff", cid, "complete_lymphodepletion",
         {"end_date": frozen.current.date().isoformat()})
    frozen.advance(days=3)  # yescarta: infusion on day 0, 3 days after the last LD day
    j.ok("infusion_staff", cid, "thaw", {"scan": j.typed(cid, "product", "infusion_staff")[0]})
    return cid


def test_infuse_without_bedside_scans_is_refused(j: Journey, frozen: Any) -> None:
    cid = _thawed(j, frozen)
    r = j.event("infusion_staff", cid, "infuse", {
        "second_signer": {"username": "infusion_staff2", "password": "test-password-123"}},
        sign=True)
    assert "wristband" in refused(r, "bedside_scans_missing")["detail"]
    assert j.case(cid)["state"] == "thawed"


def test_infuse_after_the_thaw_window_is_refused(client: Any, auth: Any, frozen: Any) -> None:
    j = SignedJourney(client, auth)
    cid, bag = ready_to_infuse(j, frozen)
    frozen.advance(minutes=181)
    scan(j, "infusion_staff", j.wristband_payload(cid), "infuse")
    right_bag = scan(j, "infusion_staff", bag, "infuse")
    # The station knows the bag is right, and says the step is blocked, and why.
    assert right_bag["verdict"] == "match"
    assert right_bag["blocked_by"]["guard"] == "inside_thaw_window"
    assert "thaw-to-infusion limit" in right_bag["message"]
    r = infuse(j, cid)
    assert "thaw-to-infusion limit" in refused(r, "guard_failed")["detail"]
    assert r.json()["context"]["guard"] == "inside_thaw_window"



def test_the_qc_form_starts_from_the_next_test_without_a_result(j: Journey) -> None:
    case = j.enroll()
    j.to(case["id"], "qc_pending")
    tests_required = ["sterility", "mycoplasma", "endotoxin", "viability", "car_expression",
                      "vcn"]

    def next_test() -> str | None:
        action = next(a for a in j.case(case["id"], "lab_tech")["actions"]
                      if a["event"] == "record_qc_result")
        return action["defaults"]["test"]

    assert next_test() == tests_required[0]
    j.ok("lab_tech", case["id"], "record_qc_result",
         {"test": tests_required[0], "value": "ok", "passed": True})
    assert next_test() == tests_required[1]
    for test in tests_required[1:]:
        j.ok("lab_tech", case["id"], "record_qc_result", {"test": test, "value": "v",
                                                          "passed": True})
    assert next_test() is None


# ---- hold, resume, cancel, complete ---------------------------------------------------------


def test_hold_and_resume_return_to_the_state_left(j: Journey) -> None:
    case = j.enroll()
    cid = case["id"]
    j.to(cid, "collected")
    refused(j.event("lab_tech", cid, "hold", {"reason": "because"}), "role_forbidden", 403)
    refused(j.event("coordinator", cid, "resume", {"reason": "not held"}), "wrong_state")
    held = j.ok("coordinator", cid, "hold", {"reason": "patient febrile"})
    assert held["state"] == "on_hold" and held["held_from"] == "collected"
    assert [a["event"] for a in held["actions"] if a["available"]] == ["resume", "cancel"]
    refused(j.event("collection_staff", cid, "ship_to_manufacturing",
                    {"scans": j.typed(cid, "apheresis"), "shipper_type": "box"}), "wrong_state")
    assert deadlines(cid)["apheresis_transit"] == "open"  # deadlines keep running on hold
    back = j.ok("qa", cid, "resume", {"reason": "fever resolved"})
    assert back["state"] == "collected" and back["held_from"] is None


def test_a_reason_is_required_for_hold(j: Journey) -> None:
    case = j.enroll()
    r = j.event("coordinator", case["id"], "hold", {})
    assert r.status_code == 422 and r.json()["fields"][0]["field"].endswith("reason")


def test_cancel_needs_e_signature_and_cancels_deadlines(j: Journey) -> None:
    case = j.enroll()
    cid = case["id"]
    j.to(cid, "collected")
    refused(j.event("coordinator", cid, "cancel", {"reason": "withdrew consent"}),
            "signature_required")
    detail = j.ok("coordinator", cid, "cancel", {"reason": "withdrew consent"}, sign=True)
    assert detail["state"] == "cancelled" and detail["actions"] == []
    assert set(deadlines(cid).values()) == {"met", "cancelled"}
    refused(j.event("coordinator", cid, "hold", {"reason": "after cancel"}), "wrong_state")


def test_expected_version_mismatch_is_409(j: Journey) -> None:
    case = j.enroll()
    r = j.event("coordinator", case["id"], "hold", {"reason": "stale form"},
                expected_version=case["version"] + 5)
    assert refused(r, "version_conflict")["context"]["version"] == case["version"]


def test_every_event_is_audited_with_old_and_new_values(j: Journey) -> None:
    case = j.enroll()
    j.ok("coordinator", case["id"], "hold", {"reason": "audit me"})
    with new_session() as s:
        row = s.exec(select(AuditEntry).where(AuditEntry.case_id == case["id"],
                                              AuditEntry.action == "hold")).one()
    assert row.old["state"] == "enrolled" and row.new["state"] == "on_hold"
    assert row.reason == "audit me" and row.printed_name == "Cora Coordinator"


def test_every_state_is_reached_by_some_event() -> None:
    targets = {s for tr in TRANSITIONS for s in target_states(tr)}
    assert set(State) <= targets
