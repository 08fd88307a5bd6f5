"""Test databases: a copy (SQLite) or a clone (PostgreSQL) of a migrated, seeded template."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from cartrack.db import engine_for
from cartrack.settings import get_settings
from tests.helpers.constants import PASSWORD

PG_URL = os.environ.get("CARTRACK_TEST_POSTGRES_URL", "")


def pg_url(name: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + name


def pg_exec(sql: str) -> None:
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def configure(url: str) -> None:
    """Point the app at ``url`` (every setting is read from the environment)."""
    os.environ["CARTRACK_DATABASE_URL"] = url
    os.environ["CARTRACK_ENVIRONMENT"] = "test"
    os.environ["CARTRACK_DEMO_PASSWORD"] = PASSWORD
    os.environ["CARTRACK_PASSWORD_HASH_PROFILE"] = "fast"  # argon2's cheapest cost; not in production
    get_settings.cache_clear()


@contextmanager
def cloned(backend: str, template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database from ``template`` (a SQLite file path, or a PostgreSQL database name),
    configured for the app while the block runs, dropped after it."""
    if backend == "sqlite":
        path = tmp_path / f"cartrack-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
        configure(url)
        try:
            yield url
        finally:
            engine_for(url).dispose()
        return
    name = f"cartrack_t_{uuid.uuid4().hex[:12]}"
    pg_exec(f"CREATE DATABASE {name} TEMPLATE {template}")
    url = pg_url(name)
    configure(url)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
