"""The journey table is what runs: for every catalog product, the whole journey is driven through
the API and, after every event, the deadlines in the database are compared with what the
table's row declares — which kinds it closed (and with which status), which it opened, and
their due times recomputed from the named computations in ``journey.due``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

import pytest
from sqlmodel import col, select

from cartrack import clock
from cartrack.alerts.models import Deadline, DeadlineStatus
from cartrack.db import new_session
from cartrack.journey.access import site_of
from cartrack.journey.due import DUE_RULES, DueInput
from cartrack.journey.models import Case
from cartrack.journey.transitions import BY_EVENT, Outcome
from cartrack.protocols.service import rules_of
from cartrack.users.models import Site
from tests.helpers.bedside import NY, scan
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import SignedJourney

PRODUCTS = [p["product"] for p in json.loads(
    resources.files("cartrack.protocols").joinpath("catalog.json").read_text())]


@dataclass
class Row:
    id: int
    kind: str
    ordinal: int | None
    status: str
    due_at: Any
    earliest_at: Any
    opened_at: Any


def _rows(case_id: int) -> dict[int, Row]:
    with new_session() as s:
        found = s.exec(select(Deadline).where(Deadline.case_id == case_id)
                       .order_by(col(Deadline.id))).all()
    return {d.id or 0: Row(d.id or 0, d.kind.value, d.ordinal, d.status.value,
                           clock.as_utc(d.due_at),
                           clock.as_utc(d.earliest_at) if d.earliest_at else None,
                           clock.as_utc(d.opened_at)) for d in found}


def _expected_due(case_id: int, rule: str, calendar: Any, opened_at: Any) -> list[tuple[Any, ...]]:
    with new_session() as s:
        case = s.get(Case, case_id)
        assert case is not None
        site = s.get(Site, site_of(case, calendar))
        assert site is not None
        due = DUE_RULES[rule](DueInput(case, rules_of(s, case.protocol_id), opened_at,
                                       site.timezone))
    return sorted((d.due_at, d.earliest_at, d.ordinal) for d in due)


class TableCheckedJourney(SignedJourney):
    """Every accepted event is checked against its table row."""

    checked: list[str]

    def event(self, role: str, case_id: int, event: str, data: dict[str, Any] | None = None,
              **kw: Any) -> Any:
        before = _rows(case_id)
        response = super().event(role, case_id, event, data, **kw)
        if response.status_code == 200:
            outcome = BY_EVENT[event].outcome_for((data or {}).get("decision"))
            self._check(case_id, event, outcome, before, _rows(case_id), data or {})
            self.checked = [*getattr(self, "checked", []), event]
        return response

    def _check(self, case_id: int, event: str, outcome: Outcome, before: dict[int, Row],
               after: dict[int, Row], data: dict[str, Any]) -> None:
        now = clock.now()
        was_open = {i: r for i, r in before.items() if r.status == "open"}
        closed = {i for i, r in was_open.items() if after[i].status != "open"}
        expected_closed: dict[int, str] = {}
        for close in outcome.closes:
            for i, r in was_open.items():
                if r.kind in close.kinds and (close.which is None or r.ordinal == data["day"]):
                    late = close.status == DeadlineStatus.met and r.due_at <= now
                    expected_closed[i] = "met_late" if late else close.status.value
        assert closed == set(expected_closed), (event, closed, expected_closed)
        for i, status in expected_closed.items():
            assert after[i].status == status, (event, after[i], status)
        new = [r for i, r in after.items() if i not in before]
        assert sorted(r.kind for r in new) == sorted(
            o.kind.value for o in outcome.opens
            for _ in _expected_due(case_id, o.due, o.calendar, now)), (event, new)
        for rule in outcome.opens:
            opened = sorted((r.due_at, r.earliest_at, r.ordinal) for r in new
                            if r.kind == rule.kind.value)
            assert opened == _expected_due(case_id, rule.due, rule.calendar, now), (event, rule)


def _infuse_and_monitor(j: TableCheckedJourney, frozen: Any, cid: int, product: str) -> None:
    with new_session() as s:
        case = s.get(Case, cid)
        assert case is not None
        rules = rules_of(s, case.protocol_id)
    today = clock.now().astimezone(NY).date()
    j.ok("infusion_staff", cid, "start_lymphodepletion",
         {"start_date": (today - timedelta(days=rules.ld_days - 1)).isoformat()})
    j.ok("infusion_staff", cid, "complete_lymphodepletion", {"end_date": today.isoformat()})
    frozen.advance(days=rules.infusion_min_days_after_ld)
    bag = j.typed(cid, "product", "infusion_staff")[0]
    j.ok("infusion_staff", cid, "thaw", {"scan": bag})
    scan(j, "infusion_staff", j.wristband_payload(cid), "infuse")
    scan(j, "infusion_staff", bag, "infuse")
    j.ok("infusion_staff", cid, "infuse",
         {"second_signer": {"username": "infusion_staff2", "password": PASSWORD}}, sign=True)
    day0 = clock.now().astimezone(NY).date()
    for day in range(1, rules.monitoring_days + 1):
        if day == 2:
            continue  # one day missed: its deadline stays open until complete closes it
        frozen.set(clock.start_of_local_day(day0 + timedelta(days=day), "America/New_York")
                   + timedelta(hours=8 if day % 3 else 30))
        j.ok("infusion_staff", cid, "record_monitoring_check",
             {"day": day, "crs_grade": 0, "icans_grade": 0})
    frozen.set(clock.end_of_local_day(day0 + timedelta(days=rules.monitoring_days),
                                      "America/New_York"))
    j.ok("coordinator", cid, "complete", {"reason": "day 2 check missed; patient seen day 3"},
         sign=True)


@pytest.mark.parametrize("product", PRODUCTS)
def test_every_event_opens_and_closes_what_the_table_declares(client: Any, auth: Any,
                                                              frozen: Any, product: str) -> None:
    j = TableCheckedJourney(client, auth)
    cid = j.enroll(product)["id"]
    j.ok("coordinator", cid, "hold", {"reason": "insurance pending"})
    j.ok("coordinator", cid, "resume", {"reason": "insurance approved"})
    j.to(cid, "received_at_treatment_center")
    _infuse_and_monitor(j, frozen, cid, product)
    assert j.case(cid)["state"] == "completed"
    rows = _rows(cid)
    assert not [r for r in rows.values() if r.status == "open"]
    not_on_this_path = {"enroll", "report_out_of_spec", "decide_out_of_spec", "cancel"}
    assert set(j.checked) == set(BY_EVENT) - not_on_this_path


@pytest.mark.parametrize("decision", ["recollect", "exceptional_release", "cancel"])
def test_out_of_spec_decisions_follow_their_row(client: Any, auth: Any, frozen: Any,
                                                decision: str) -> None:
    j = TableCheckedJourney(client, auth)
    cid = j.enroll("abecma")["id"]
    j.to(cid, "manufacturing")
    j.to(cid, "qc_pending")
    for test in ("sterility", "mycoplasma", "endotoxin", "viability", "car_expression", "vcn"):
        j.ok("lab_tech", cid, "record_qc_result",
             {"test": test, "value": "v", "passed": test != "viability"})
    j.ok("qa", cid, "report_out_of_spec", {"reason": "viability below spec"})
    data: dict[str, Any] = {"decision": decision, "reason": "decided by QA board"}
    if decision == "recollect":
        data["collection_date"] = (frozen.current + timedelta(days=2)).date().isoformat()
    if decision == "exceptional_release":
        data["physician_acknowledgement"] = "Dr. Rivera"
    j.ok("qa", cid, "decide_out_of_spec", data, sign=True)
    assert j.checked[-1] == "decide_out_of_spec"


def test_cancel_closes_every_open_deadline_as_its_row_says(client: Any, auth: Any,
                                                           frozen: Any) -> None:
    j = TableCheckedJourney(client, auth)
    cid = j.enroll("kymriah")["id"]
    j.to(cid, "qc_pending")
    j.ok("coordinator", cid, "cancel", {"reason": "patient withdrew consent"}, sign=True)
    assert j.checked[-1] == "cancel"
