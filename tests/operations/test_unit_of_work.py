"""The unit of work when a route ends it in its own worker-thread hop (``db.run_to_end``, used
by the scan station): what the route wrote is committed before the answer, a refusal leaves
only its own records (once), and a transaction held open for a later write is not ended
early. Checked through the app's own error handling, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select
from starlette.concurrency import run_in_threadpool

from cartrack.app import create_app
from cartrack.audit import service as audit
from cartrack.audit.models import AuditEntry
from cartrack.db import SessionDep, hold_open, new_session, run_to_end
from cartrack.errors import Conflict

PREFIX = "/api/test-unit-of-work"


def _note(session: Session, entity_id: str) -> None:
    audit.record(session, user_id=None, printed_name="unit-of-work test", action="note",
                 entity="test", entity_id=entity_id)


def _notes(entity_id: str) -> int:
    with new_session(read_only=True) as s:
        return int(s.exec(select(func.count()).select_from(AuditEntry).where(
            col(AuditEntry.entity) == "test", col(AuditEntry.entity_id) == entity_id)).one())


def _routes(app: FastAPI) -> None:
    @app.post(f"{PREFIX}/write")
    async def write(session: SessionDep) -> dict[str, int]:
        await run_to_end(session, lambda: _note(session, "written"))
        # The answer is built after the commit: a fresh session already sees the row.
        return {"seen": _notes("written")}

    @app.post(f"{PREFIX}/refuse")
    async def refuse(session: SessionDep) -> None:
        def work() -> None:
            _note(session, "refused-write")
            raise Conflict("refused on purpose", code="test_refusal").also_record(
                lambda s: _note(s, "refusal-record"))

        try:
            await run_to_end(session, work)
        except Conflict:
            # Ended in the route's own hop: the refusal's record is already saved here.
            app.state.records_seen_in_route = _notes("refusal-record")
            raise

    @app.post(f"{PREFIX}/held")
    async def held(session: SessionDep, fail_after: bool = False) -> None:
        hold_open(session)
        await run_to_end(session, lambda: _note(session, "held-first"))
        await run_in_threadpool(_note, session, "held-second")
        if fail_after:
            raise Conflict("refused after both writes", code="test_refusal")

    # These routes must win over the UI's catch-all, which was added first.
    for _ in range(3):
        app.router.routes.insert(0, app.router.routes.pop())


@pytest.fixture
def uow_client(db_url: str) -> Iterator[TestClient]:
    app = create_app(start_scheduler=False)
    _routes(app)
    with TestClient(app) as c:
        yield c


def test_work_ended_in_the_route_hop_is_committed_before_the_answer(uow_client: Any) -> None:
    r = uow_client.post(f"{PREFIX}/write")
    assert r.status_code == 200 and r.json() == {"seen": 1}
    assert _notes("written") == 1


def test_a_refusal_in_the_route_hop_keeps_only_its_records_once(uow_client: Any) -> None:
    r = uow_client.post(f"{PREFIX}/refuse")
    assert r.status_code == 409 and r.json()["code"] == "test_refusal"
    assert _notes("refused-write") == 0
    assert _notes("refusal-record") == 1
    assert uow_client.app.state.records_seen_in_route == 1


def test_a_transaction_held_open_takes_the_later_write_with_it(uow_client: Any) -> None:
    assert uow_client.post(f"{PREFIX}/held").status_code == 200
    assert (_notes("held-first"), _notes("held-second")) == (1, 1)


def test_a_transaction_held_open_is_rolled_back_whole_on_a_later_refusal(
        uow_client: Any) -> None:
    r = uow_client.post(f"{PREFIX}/held", params={"fail_after": True})
    assert r.status_code == 409
    assert (_notes("held-first"), _notes("held-second")) == (0, 0)


def test_a_late_write_then_a_refusal_fails_the_request_and_records_no_refusal(
        db_url: str) -> None:
    """The route's work was committed: answering the refusal would tell the client otherwise."""
    app = create_app(start_scheduler=False)

    @app.post(f"{PREFIX}/late-refusal")
    async def late_refusal(session: SessionDep) -> None:
        await run_to_end(session, lambda: _note(session, "committed-first"))
        await run_in_threadpool(_note, session, "late-then-refused")
        raise Conflict("refused late", code="test_refusal").also_record(
            lambda s: _note(s, "late-refusal-record"))

    app.router.routes.insert(0, app.router.routes.pop())
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.post(f"{PREFIX}/late-refusal").status_code == 500
    assert (_notes("committed-first"), _notes("late-then-refused"),
            _notes("late-refusal-record")) == (1, 0, 0)


def test_a_write_after_the_unit_of_work_ended_is_refused_not_kept(db_url: str) -> None:
    """A bug, caught: the late write is rolled back and the request fails, and on SQLite the
    write lock is released for the next request."""
    app = create_app(start_scheduler=False)

    @app.post(f"{PREFIX}/late")
    async def late(session: SessionDep) -> None:
        await run_to_end(session, lambda: _note(session, "on-time"))
        await run_in_threadpool(_note, session, "late")

    app.router.routes.insert(0, app.router.routes.pop())
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.post(f"{PREFIX}/late").status_code == 500
        assert (_notes("on-time"), _notes("late")) == (1, 0)
        assert c.post(f"{PREFIX}/late").status_code == 500  # not stuck behind a held lock
    assert _notes("on-time") == 2
