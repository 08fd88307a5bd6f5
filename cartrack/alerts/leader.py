"""Which scheduler process works: the one holding the leader lock. The others stand by and
try again every CARTRACK_SCHEDULER_LEADER_RETRY_SECONDS.

- PostgreSQL: `pg_try_advisory_lock` on a dedicated autocommit connection (direct, not through
  a transaction-pooling proxy). The lock lives as long as that connection, so a leader killed
  with SIGKILL releases it the moment its socket closes.
- SQLite: an exclusive `flock` on a file beside the database, released by the kernel when the
  process dies. SQLite is one machine; this keeps two `cartrack serve` on one file from both
  working.

This is efficiency, not correctness: every claim stays a conditional UPDATE, so two leaders
for a moment (a network split, a lock lost and retaken) still fire each alert once.

The leader writes a heartbeat row (who, since when, its last tick) that /api/health reports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from datetime import datetime
from typing import Any, Protocol

import psycopg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from cartrack import clock
from cartrack.alerts.models import SchedulerLeader
from cartrack.db import new_session
from cartrack.settings import get_settings

try:  # POSIX only; elsewhere every scheduler on a SQLite file works (claims stay correct)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("cartrack.alerts.scheduler")

LEADER_LOCK = 0x63617274_6C656164  # "cartlead"
HEARTBEAT_SECONDS = 5.0
# libpq keepalives: a leader cut off from the database notices within about 15 s.
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "5", "keepalives_interval": "2",
              "keepalives_count": "3", "connect_timeout": "5"}


class LeaderLock(Protocol):
    def acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class PostgresLock:
    def __init__(self, url: str) -> None:
        self.dsn = "postgresql://" + url.split("://", 1)[1]
        self.conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self.conn is None or self.conn.closed:
            dsn = psycopg.conninfo.make_conninfo(self.dsn, **KEEPALIVES)
            self.conn = psycopg.connect(dsn, autocommit=True)
        return self.conn

    def acquire(self) -> bool:
        try:
            row = self._connection().execute("SELECT pg_try_advisory_lock(%s)",
                                             (LEADER_LOCK,)).fetchone()
        except psycopg.Error as exc:
            log.warning("leader lock: database unreachable (%s)", type(exc).__name__)
            self.release()
            return False
        return bool(row and row[0])

    def held(self) -> bool:
        """The lock is held while its connection lives; a round trip proves that it does."""
        try:
            self._connection().execute("SELECT 1")
        except psycopg.Error:
            self.release()
            return False
        return True

    def release(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):
                self.conn.close()
            self.conn = None


class FileLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Always:
    """An in-memory SQLite database (or no flock): this process is the only scheduler."""

    def acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        return None


def lock_for(url: str) -> LeaderLock:
    if url.startswith(("postgresql", "postgres")):
        return PostgresLock(url)
    path = url.split("///", 1)[-1] if "///" in url else ""
    if not path or path == ":memory:" or fcntl is None:
        return Always()
    return FileLock(path + ".scheduler-lock")


# ---- the heartbeat row ----------------------------------------------------------------


def _upsert(session: Session, values: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = ins(SchedulerLeader).values(id=1, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))


def write_heartbeat(instance: str, since: datetime, last_tick_at: datetime | None) -> None:
    with new_session() as session:
        _upsert(session, {"instance": instance, "host": socket.gethostname()[:80],
                          "pid": os.getpid(), "since": since, "last_tick_at": last_tick_at,
                          "heartbeat_at": clock.now()})
        session.commit()


def current(session: Session) -> SchedulerLeader | None:
    return session.get(SchedulerLeader, 1)


def default_lock() -> LeaderLock:
    return lock_for(get_settings().database_url)
