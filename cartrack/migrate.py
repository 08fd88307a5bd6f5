"""Schema management: the schema is built by Alembic migrations, in tests too.

Several processes may migrate at once (replicas starting together, a one-shot `migrate`
container racing an old `serve`): on PostgreSQL every run first takes a session-level advisory
lock, so they queue and all but the first find the schema at head. On SQLite the whole run is
one transaction that takes the write lock up front (BEGIN IMMEDIATE, see `cartrack.db`), which
serialises them the same way. (Alembic alone would commit after each migration on SQLite, and a
second process could then read the half-migrated version between two of them and apply the next
migration again.)
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from cartrack.db import make_engine

HERE = Path(__file__).resolve().parent / "migrations"
# pg_advisory_lock key of schema migrations: any constant no other lock of cartrack uses.
MIGRATION_LOCK = 0x63617274_6D696772  # "cartmigr"


def alembic_config(database_url: str, connection: Connection | None = None) -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["database_url"] = database_url
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    if database_url.startswith("sqlite"):
        _upgrade_sqlite(database_url, revision)
        return
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            conn.commit()  # the lock is the session's; the migrations get their own transaction
            try:
                command.upgrade(alembic_config(database_url, conn), revision)
                conn.commit()
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                conn.commit()
    finally:
        engine.dispose()


def _upgrade_sqlite(database_url: str, revision: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # BEGIN IMMEDIATE, held until every migration is applied
            command.upgrade(alembic_config(database_url, conn), revision)
    finally:
        engine.dispose()


def reset(database_url: str) -> None:
    """Start from an empty schema (demo only): drop everything, then migrate up."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
    else:
        command.downgrade(alembic_config(database_url), "base")
    upgrade(database_url)
