"""Capacity under concurrency: N holds at the same moment on a day of capacity k give exactly
k successes, on a real SQLite file and on PostgreSQL (each hold in its own thread, session and
transaction, as concurrent requests are)."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlmodel import select

from cartrack.db import new_session
from cartrack.errors import DomainError
from cartrack.scheduling import capacity, service
from cartrack.scheduling.models import CapacityDay, HoldIn
from cartrack.security import load_principal
from cartrack.users.models import Site, User
from tests.helpers.journey import Journey
from tests.helpers.slots import add_people, set_capacity

DAY = date(2026, 6, 10)


def _race(case_ids: list[int]) -> list[str]:
    barrier = threading.Barrier(len(case_ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(case_id: int) -> None:
        with new_session(read_only=True) as s:
            user = s.exec(select(User).where(User.username == "coordinator")).one()
            principal = load_principal(s, user, "test")
        barrier.wait()
        with new_session() as s:
            try:
                service.hold(s, principal, case_id, HoldIn(day=DAY))
                s.commit()
                outcome = "held"
            except DomainError as exc:
                s.rollback()
                outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one, args=(c,)) for c in case_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.parametrize(("holds", "cap"), [(10, 3), (12, 1)])
def test_concurrent_holds_never_pass_the_capacity(client: Any, auth: Any, frozen: Any,
                                                  holds: int, cap: int) -> None:
    people = add_people()
    j = Journey(client, auth)
    ids = [j.enroll("yescarta", mrn=f"MRN-R{i}")["id"] for i in range(holds)]
    assert set_capacity(client, people["planner"], DAY, cap).status_code == 200
    outcomes = _race(ids)
    assert sorted(outcomes) == ["held"] * cap + ["slot_full"] * (holds - cap)
    with new_session() as s:
        site = s.exec(select(Site).where(Site.code == "MF-EAST")).one()
        row = s.exec(select(CapacityDay).where(CapacityDay.day == DAY)).one()
        assert row.booked == cap
        assert capacity.active_count(s, site.id or 0, "yescarta", DAY) == cap
