"""Liveness (/api/health), readiness (/api/ready) and the Prometheus metrics (/metrics).

- /api/health answers 200 while the process serves, database or not (restarting an API
  process does not bring a database back). It reports who leads the alert scheduler and when
  it last ticked, read from the leader's heartbeat row, when the database can say.
- /api/ready answers 503 with Retry-After while the database cannot be reached: a load
  balancer sends no traffic to a process that could only answer 503.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import lru_cache

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlmodel import Session

from cartrack import __version__, clock, metrics
from cartrack.alerts import leader
from cartrack.db import new_session
from cartrack.failures import RETRY_AFTER_SECONDS, is_database_unavailable
from cartrack.migrate import alembic_config
from cartrack.security import PUBLIC
from cartrack.settings import get_settings

log = logging.getLogger("cartrack")
router = APIRouter(tags=["meta"], dependencies=[Depends(PUBLIC)])


class SchedulerOut(BaseModel):
    leader: str | None
    host: str | None
    since: datetime | None
    last_tick_at: datetime | None
    heartbeat_at: datetime | None
    stale: bool


class HealthOut(BaseModel):
    status: str
    version: str
    database: str
    scheduler: SchedulerOut | None


class ReadyOut(BaseModel):
    status: str
    database: str
    schema_revision: str | None = Field(
        default=None, description="the database's migration; 503 unless it is this code's")


@lru_cache(maxsize=1)
def _code_head() -> str:
    heads = ScriptDirectory.from_config(alembic_config("")).get_heads()
    return ",".join(sorted(heads))


def _scheduler() -> SchedulerOut | None:
    """The leader's heartbeat row; None while the database (or its schema) cannot be read."""
    try:
        with new_session(read_only=True) as session:
            row = leader.current(session)
    except SQLAlchemyError as exc:
        log.warning("health: the scheduler heartbeat cannot be read (%s)", type(exc).__name__)
        return None
    if row is None:
        return SchedulerOut(leader=None, host=None, since=None, last_tick_at=None,
                            heartbeat_at=None, stale=True)
    # A beat is written every HEARTBEAT_SECONDS; three missed ones and nobody is known to lead.
    limit = timedelta(seconds=3 * leader.HEARTBEAT_SECONDS
                      + get_settings().scheduler_leader_retry_seconds)
    stale = clock.as_utc(row.heartbeat_at) + limit < clock.now()
    return SchedulerOut(leader=row.instance, host=row.host, since=row.since,
                        last_tick_at=row.last_tick_at, heartbeat_at=row.heartbeat_at, stale=stale)


@router.get("/api/health")
def health() -> HealthOut:
    """Liveness: 200 while this process serves. Also the scheduler leader and its last tick
    (`scheduler` is null while the database cannot be read; `stale` when no leader has
    written a heartbeat lately)."""
    scheduler = _scheduler()
    return HealthOut(status="ok", version=__version__,
                     database="ok" if scheduler is not None else "down", scheduler=scheduler)


@router.get("/api/ready", response_model=ReadyOut,
            responses={503: {"model": ReadyOut, "description": "Database down"}})
def ready() -> ReadyOut | JSONResponse:
    """Readiness: 200 when the database answers and its schema is this code's; 503 with
    Retry-After when the database cannot be reached or is not migrated (yet)."""
    try:
        with new_session(read_only=True) as session:
            revision = _revision(session)
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        return _not_ready(ReadyOut(status="unavailable", database="down"))
    if revision != _code_head():
        return _not_ready(ReadyOut(status="unavailable", database="ok", schema_revision=revision))
    return ReadyOut(status="ready", database="ok", schema_revision=revision)


def _revision(session: Session) -> str | None:
    session.execute(text("SELECT 1"))
    try:
        with session.begin_nested():
            rows = session.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return ",".join(sorted(rows)) or None
    except ProgrammingError:  # PostgreSQL: no alembic_version table
        return None
    except OperationalError as exc:  # SQLite says "no such table" this way
        if "no such table" in str(exc):
            return None
        raise


def _not_ready(body: ReadyOut) -> JSONResponse:
    return JSONResponse(body.model_dump(), status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    """Prometheus text format. The reverse proxy keeps it off the public port."""
    return metrics.metrics_response()
