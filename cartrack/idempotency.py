"""Idempotency-Key: a write a person may repeat (a scan, a journey event) is recorded once.

A client sends one key per user action and the same key when it repeats that action (after a
timeout, a 503, a connection cut during COMMIT). The first outcome (status and body) is stored
under (user, key) in the same transaction as the request's own writes, so either both are
committed or neither is. A repeat with the same key and the same request gets that stored
outcome back (header `Idempotent-Replayed: true`) and writes nothing; the same key with another
request (another body or address) is refused with 422. A refusal (4xx) is stored too, in the
transaction that keeps the refusal's own records, so a repeat does not record them twice.

Concurrent repeats queue: on PostgreSQL behind a transaction-level advisory lock on the key, on
SQLite behind the write lock every POST takes at its first query. Keys are remembered for
CARTRACK_IDEMPOTENCY_HOURS; the leading scheduler deletes older ones.

A route opts in with two lines: its router's `route_class=idempotency.Route` (which hands the
finished response to the mechanism before the transaction commits) and
`dependencies=[idempotency.keyed(ACCESS)]`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.params import Depends as DependsParam
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy import Column, Index, Text, UniqueConstraint, delete, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, select
from starlette.concurrency import run_in_threadpool

from cartrack import clock, metrics
from cartrack.db import SessionDep, UTCDateTime, hold_open, new_session
from cartrack.errors import DomainError, Invalid
from cartrack.security import Principal
from cartrack.settings import get_settings

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Patient details stay in the patient table: a stored outcome keeps none of them.
PHI_KEYS = ("patient",)


class IdempotencyRecord(SQLModel, table=True):
    """The first outcome of a request sent with an Idempotency-Key."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),
                      Index("ix_idempotency_key_created", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)  # HMAC of method, path and body
    status_code: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    media_type: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Replay(Exception):
    """The stored outcome, as plain values (the transaction that read it is rolled back)."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.status_code, self.body = record.status_code, record.body
        self.media_type = record.media_type


@dataclass
class Pending:
    """A keyed request under way; the route class puts its response here before commit."""

    user_id: int
    key: str
    fingerprint: str
    response: Response | None = None


# ---- the route class and the dependency --------------------------------------------------


class Route(APIRoute):
    """Hands each response to a pending keyed request, still inside the request's
    transaction (function-scoped dependencies close after the handler returns)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def remember(request: Request) -> Response:
            response = await handler(request)
            pending = getattr(request.state, "idempotency", None)
            if isinstance(pending, Pending):
                pending.response = response
            return response

        return remember


async def _fingerprint(request: Request) -> str:
    body = await request.body()
    message = b"\0".join([request.method.encode(), request.url.path.encode(), body])
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


KeyHeader = Header(None, alias=KEY_HEADER, min_length=1, max_length=200,
                   pattern=r"^[\x21-\x7e]+$",
                   description="One key per user action (e.g. a UUID), sent again when that "
                               "action is repeated: the repeat returns the first outcome and "
                               "records nothing new.")


def keyed(access: Callable[..., Awaitable[Principal]]) -> DependsParam:
    """The dependency of a route that honours Idempotency-Key, after the route's access rule."""

    async def idempotent(request: Request, session: SessionDep,
                         principal: Principal = Depends(access),
                         key: str | None = KeyHeader) -> AsyncIterator[None]:
        # async, so that a request without a key (most of them) costs no worker-thread hop;
        # the database work of a keyed one runs in the thread pool.
        if key is None:
            yield
            return
        pending = await run_in_threadpool(begin, session, principal.id, key,
                                          await _fingerprint(request))
        request.state.idempotency = pending
        hold_open(session)  # the outcome is stored in this transaction after the route
        try:
            yield
        except DomainError as exc:
            exc.also_record(partial(_store_refusal, pending, exc))
            raise
        if pending.response is not None:
            await run_in_threadpool(store, session, pending, pending.response.status_code,
                                    bytes(pending.response.body),
                                    pending.response.media_type or "application/json")

    return Depends(idempotent, scope="function")


# ---- the rules ---------------------------------------------------------------------------


def _lock_key(user_id: int, key: str) -> int:
    digest = hashlib.sha256(f"{user_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def begin(session: Session, user_id: int, key: str, fingerprint: str) -> Pending:
    """Wait for any request with this key to finish, then replay its outcome (Replay), refuse
    a different request under it (422), or let this one run (a Pending to complete)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(user_id, key)})
    found = session.exec(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)).first()
    if found is not None and clock.as_utc(found.created_at) < _cutoff():
        session.delete(found)  # remembered long enough: the key is free again
        session.flush()
        found = None
    if found is not None:
        if not hmac.compare_digest(found.fingerprint, fingerprint):
            raise Invalid(f"The {KEY_HEADER} {key!r} was already used for a different request. "
                          "Send a new key for a new action, and the same key only to repeat "
                          "the same action.", code="idempotency_key_reused")
        raise Replay(found)
    return Pending(user_id=user_id, key=key, fingerprint=fingerprint)


def _cutoff() -> datetime:
    return clock.now() - timedelta(hours=get_settings().idempotency_hours)


def _redacted(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    if isinstance(data, dict):
        for name in PHI_KEYS:
            if data.get(name) is not None:
                data[name] = None
    return json.dumps(data, separators=(",", ":"))


def store(session: Session, pending: Pending, status_code: int, body: bytes,
          media_type: str) -> None:
    ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(ins(IdempotencyRecord).values(
        user_id=pending.user_id, key=pending.key, fingerprint=pending.fingerprint,
        status_code=status_code, body=_redacted(body), media_type=media_type,
        created_at=clock.now()).on_conflict_do_nothing(index_elements=["user_id", "key"]))


def _store_refusal(pending: Pending, exc: DomainError, session: Session) -> None:
    """Written with the refusal's own records, after the refused transaction rolled back."""
    body = json.dumps(exc.body()).encode()
    store(session, pending, exc.status_code, body, "application/json")


def replay_response(replay: Replay) -> Response:
    metrics.IDEMPOTENT_REPLAYS.inc()
    return Response(content=replay.body, status_code=replay.status_code,
                    media_type=replay.media_type, headers={REPLAYED_HEADER: "true"})


def purge_expired(limit_hours: int | None = None) -> int:
    """Forget keys older than the retention (the leading scheduler calls this)."""
    hours = limit_hours if limit_hours is not None else get_settings().idempotency_hours
    cutoff = clock.now() - timedelta(hours=hours)
    with new_session() as session:
        result = session.execute(delete(IdempotencyRecord)
                                  .where(col(IdempotencyRecord.created_at) < cutoff))
        session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def install(app: FastAPI) -> None:
    async def replayed(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, Replay)
        return replay_response(exc)

    app.add_exception_handler(Replay, replayed)
