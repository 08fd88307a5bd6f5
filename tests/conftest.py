"""Every test runs against a real database built by the migrations: a SQLite file, and again
on PostgreSQL when CARTRACK_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from cartrack import clock
from cartrack.app import create_app
from cartrack.db import engine_for, new_session
from cartrack.demo import seed_reference
from cartrack.migrate import upgrade
from cartrack.settings import get_settings
from tests.helpers.auth import bearer_for
from tests.helpers.constants import PASSWORD, ROLES

PG_URL = os.environ.get("CARTRACK_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgres"]


def _pg_admin_url() -> str:
    return PG_URL.rsplit("/", 1)[0] + "/postgres"


def _pg_exec(sql: str) -> None:
    with psycopg.connect(_pg_admin_url(), autocommit=True) as conn:
        conn.execute(sql)


def _configure(url: str) -> None:
    os.environ["CARTRACK_DATABASE_URL"] = url
    os.environ["CARTRACK_ENVIRONMENT"] = "test"
    os.environ["CARTRACK_DEMO_PASSWORD"] = PASSWORD
    os.environ["CARTRACK_PASSWORD_HASH_PROFILE"] = "fast"  # argon2's cheapest cost; not in production
    get_settings.cache_clear()


def _seed(url: str) -> None:

    upgrade(url)
    _configure(url)
    with new_session() as session:
        seed_reference(session, PASSWORD)
        session.commit()
    engine_for(url).dispose()
    engine_for.cache_clear()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated and seeded database per backend, copied for each test."""
    out: dict[str, str] = {}
    path = tmp_path_factory.mktemp("template") / "template.db"
    _seed(f"sqlite:///{path}")
    out["sqlite"] = str(path)
    if PG_URL:
        name = f"cartrack_tpl_{os.getpid()}"
        _pg_exec(f"DROP DATABASE IF EXISTS {name}")
        _pg_exec(f"CREATE DATABASE {name}")
        _seed(PG_URL.rsplit("/", 1)[0] + "/" + name)
        out["postgres"] = name
    yield out
    if "postgres" in out:
        _pg_exec(f"DROP DATABASE IF EXISTS {out['postgres']} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not PG_URL:
        pytest.skip("PostgreSQL not configured (set CARTRACK_TEST_POSTGRES_URL)")
    return str(request.param)


@pytest.fixture
def db_url(backend: str, templates: dict[str, str], tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "cartrack.db"
        shutil.copy(templates["sqlite"], path)
        url = f"sqlite:///{path}"
        _configure(url)
        yield url
        engine_for(url).dispose()
    else:
        name = f"cartrack_t_{uuid.uuid4().hex[:12]}"
        _pg_exec(f"CREATE DATABASE {name} TEMPLATE {templates['postgres']}")
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
        _configure(url)
        yield url
        engine_for(url).dispose()
        _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    engine_for.cache_clear()
    clock.set_clock(None)


@pytest.fixture
def frozen(db_url: str) -> Iterator[clock.FrozenClock]:
    """Time that moves only when a test says so."""
    fc = clock.FrozenClock(datetime(2026, 6, 1, 14, 0, tzinfo=UTC))
    clock.set_clock(fc)
    yield fc
    clock.set_clock(None)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    with new_session() as s:
        yield s


@pytest.fixture
def app(db_url: str) -> Any:

    return create_app(start_scheduler=False)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth(db_url: str) -> dict[str, dict[str, str]]:
    names = [*ROLES, "infusion_staff2"]
    return {name: bearer_for(name) for name in names}
