"""The engine's write path: the case row is claimed (read, locked, version bumped) and saved by
the engine's own statements, and a refused event leaves no trace of either."""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter
from sqlmodel import select

from bench.bench_core import count_statements
from cartrack.audit.service import verify_chain
from cartrack.db import new_session
from cartrack.journey.engine import apply_event
from cartrack.journey.events import EventIn
from cartrack.security import load_principal
from cartrack.users.models import User
from tests.helpers.journey import Journey

EVENT = TypeAdapter(EventIn)


def _writes(seen: list[str], table: str) -> list[str]:
    pattern = re.compile(rf'^(UPDATE|INSERT INTO) "?{table}"?[ (]', re.IGNORECASE)
    return [s for s in seen if pattern.match(s.strip())]


def test_an_event_writes_its_case_row_twice_at_most_and_keeps_what_it_set(
        client: Any, auth: Any) -> None:
    j = Journey(client, auth)
    case = j.enroll()
    with new_session() as s:
        user = s.exec(select(User).where(User.username == "coordinator")).one()
        coordinator = load_principal(s, user, "bearer")
    hold = EVENT.validate_python({"event": "hold", "data": {"reason": "awaiting insurance"},
                                  "expected_version": case["version"]})
    with count_statements() as seen, new_session() as s:
        apply_event(s, coordinator, case["id"], hold)
        s.commit()
    # The claim (UPDATE ... RETURNING) and the save of what changed; no third write at commit.
    assert len(_writes(seen, "case")) == 2, seen
    assert len(_writes(seen, "case_event")) == 1 and len(_writes(seen, "audit_entry")) == 1
    after = j.case(case["id"])
    assert (after["state"], after["version"]) == ("on_hold", case["version"] + 1)
    assert j.ok("coordinator", case["id"], "resume", {"reason": "insurance approved"},
                expected_version=after["version"])["state"] == "enrolled"
    with new_session(read_only=True) as s:
        assert verify_chain(s).ok


def test_refused_events_leave_the_version_and_the_timeline_as_they_were(
        client: Any, auth: Any) -> None:
    j = Journey(client, auth)
    case = j.enroll()
    before = len(client.get(f"/api/cases/{case['id']}/events", headers=auth["coordinator"]).json())
    refusals = [
        # Not on hold: the state refuses it, after the claim bumped the version in the transaction.
        (j.event("coordinator", case["id"], "resume", {"reason": "not on hold"}),
         409, "wrong_state"),
        # A version the case is not at: the claim read the one it is at.
        (j.event("coordinator", case["id"], "hold", {"reason": "other reader"},
                 expected_version=case["version"] + 1), 409, "version_conflict"),
        # A role the row does not name.
        (j.event("lab_tech", case["id"], "hold", {"reason": "not mine to hold"}),
         403, "role_forbidden"),
        # No such case: nothing to claim.
        (j.event("coordinator", 999_999, "hold", {"reason": "nobody"}), 404, "case_not_found"),
    ]
    for response, status, code in refusals:
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
    refused = refusals[1][0].json()
    assert refused["context"]["version"] == case["version"]
    after = j.case(case["id"])
    assert (after["state"], after["version"]) == (case["state"], case["version"])
    events = client.get(f"/api/cases/{case['id']}/events", headers=auth["coordinator"]).json()
    assert len(events) == before
