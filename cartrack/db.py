"""Engine, sessions and the one-transaction-per-request unit of work."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import DateTime, String, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

from cartrack.errors import DomainError
from cartrack.settings import get_settings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CommitUncertain(Exception):
    """The connection broke during COMMIT: the database may or may not have committed."""


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class EnumText(TypeDecorator[E]):
    """A StrEnum stored as plain text (no database enum type, so adding a value needs no
    migration) and read back as the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Any) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> E | None:
        return None if value is None else self.enum(value)


WRITER_WAIT_SECONDS = 30.0


def _configure_sqlite(engine: Engine) -> None:
    # One writer at a time inside this process, queued fairly on a lock: SQLite's own busy
    # handler retries with sleeps, which under concurrent scans gave multi-second tails.
    writer = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that later
        # upgrades to write fails with SQLITE_BUSY instead of waiting its turn.
        if conn.get_execution_options().get("sqlite_read_only"):
            conn.exec_driver_sql("BEGIN")
            return
        # A timeout, not a deadlock, if a thread ever nests two writers: SQLite then decides.
        conn.info["holds_writer"] = writer.acquire(timeout=WRITER_WAIT_SECONDS)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn: Any) -> None:
        if conn.info.pop("holds_writer", False):
            writer.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    # No pre-ping: it costs a round trip per request; stale connections are recycled instead.
    return create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=20)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


def new_session(*, read_only: bool = False) -> Session:
    """A session whose transaction begins at its first statement; a read-only one takes no
    write lock on SQLite."""
    engine = get_engine()
    return Session(_read_only(engine) if read_only else engine, expire_on_commit=False)


@lru_cache(maxsize=8)
def _read_only(engine: Engine) -> Engine:
    return engine.execution_options(sqlite_read_only=True)


# Keys of Session.info that the unit of work keeps for itself.
_READ_ONLY = "cartrack.read_only"
_ENDED = "cartrack.ended"
_HELD = "cartrack.held_open"


async def db_session(request: Request) -> AsyncIterator[Session]:
    """The unit of work: one transaction per request, committed here, never in a route.

    Routes declare it through ``SessionDep`` (scope="function"), so the commit happens before
    the response is sent: a client never sees success for a write that is not yet (or never)
    committed. A refusal may leave records behind (``DomainError.also_record``): they are
    written in a fresh transaction after the refused one is rolled back.

    async, because opening a session does no I/O: the request's first statement, in a worker
    thread, begins the transaction, and its end (commit or rollback) takes one thread hop,
    unless the route ended it already with ``run_to_end``."""
    read_only = request.method not in UNSAFE_METHODS
    session = new_session(read_only=read_only)
    session.info[_READ_ONLY] = read_only
    try:
        yield session
    except BaseException as exc:
        await _finish(session, exc)
        raise
    await _finish(session, None)


async def _finish(session: Session, error: BaseException | None) -> None:
    """End the unit of work, unless the route ended it already (``run_to_end``). A statement
    that ran after that end (a bug) is rolled back, without a refusal's records, and fails the
    request."""
    if not session.info.get(_ENDED):
        await _shielded_end(session, error)
    elif session.in_transaction():
        late = RuntimeError("a statement ran after the request's unit of work had ended")
        await _shielded_end(session, late)
        raise late from error


async def _shielded_end(session: Session, error: BaseException | None) -> None:
    # Shielded: a cancelled request (a server shutting down) must still end its transaction,
    # or on SQLite the in-process write lock would stay taken.
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_end, session, error)


async def run_to_end(session: Session, work: Callable[[], T]) -> T:
    """Run an async route's database work and end the request's unit of work (commit, or
    rollback and the refusal's records) in the same worker-thread hop.

    For the busiest writes: a hop costs about as much CPU as a scan's statements, and on SQLite
    the write lock, taken at the request's first statement, is released in this hop instead of
    after one more trip through the event loop. The unit of work is still ended by this module,
    never by the route, and before the response is built. A transaction held open
    (``hold_open``) is left to ``db_session`` to end."""
    return await run_in_threadpool(_work_then_end, session, work)


def hold_open(session: Session) -> None:
    """Something still writes in this transaction after the route returns (an idempotent
    request's stored outcome): ``run_to_end`` must not end it."""
    session.info[_HELD] = True


def _work_then_end(session: Session, work: Callable[[], T]) -> T:
    if session.info.get(_HELD):
        return work()
    try:
        result = work()
    except BaseException as exc:
        _end(session, exc)
        raise
    _end(session, None)
    return result


def _end(session: Session, error: BaseException | None) -> None:
    session.info[_ENDED] = True
    try:
        if error is None and not session.info.get(_READ_ONLY):
            commit(session)
            return
        session.rollback()
        if isinstance(error, DomainError):
            _persist_refusal(session, error)
    finally:
        session.close()


def commit(session: Session) -> None:
    """COMMIT; a connection lost in the middle of it raises CommitUncertain (the server may
    have committed before the answer was lost), any other failure means nothing was saved."""
    try:
        session.commit()
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise CommitUncertain("the connection was lost during COMMIT") from exc
        raise


def _persist_refusal(session: Session, exc: DomainError) -> None:
    if not exc.on_refusal:
        return
    for writer in exc.on_refusal:
        writer(session)
    session.commit()


SessionDep = Annotated[Session, Depends(db_session, scope="function")]
