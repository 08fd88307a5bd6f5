"""Every test runs against a real database built by the migrations: a SQLite file, and again
on PostgreSQL when CARTRACK_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from cartrack import clock
from cartrack.app import create_app
from cartrack.db import engine_for, new_session
from cartrack.demo import seed_reference
from cartrack.migrate import upgrade
from tests.helpers.auth import bearer_for
from tests.helpers.constants import PASSWORD, ROLES
from tests.helpers.databases import PG_URL, cloned, configure, pg_exec, pg_url

BACKENDS = ["sqlite", "postgres"]


def _seed(url: str) -> None:

    upgrade(url)
    configure(url)
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
        pg_exec(f"DROP DATABASE IF EXISTS {name}")
        pg_exec(f"CREATE DATABASE {name}")
        _seed(pg_url(name))
        out["postgres"] = name
    yield out
    if "postgres" in out:
        pg_exec(f"DROP DATABASE IF EXISTS {out['postgres']} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not PG_URL:
        pytest.skip("PostgreSQL not configured (set CARTRACK_TEST_POSTGRES_URL)")
    return str(request.param)


@pytest.fixture
def db_url(backend: str, templates: dict[str, str], tmp_path: Path) -> Iterator[str]:
    with cloned(backend, templates[backend], tmp_path) as url:
        yield url
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


# ---- the demo (a year of history), built once per backend by `cartrack demo` ------------


@dataclass
class DemoBuild:
    template: str  # SQLite file or PostgreSQL database name
    output: str  # what `cartrack demo --no-serve` printed
    returncode: int
    error: str


@pytest.fixture(scope="session")
def demo_builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], DemoBuild]]:
    """`cartrack demo --no-serve` run once per backend (on first use), then cloned per test."""
    builds: dict[str, DemoBuild] = {}

    def build(backend: str) -> DemoBuild:
        if backend not in builds:
            if backend == "sqlite":
                template = str(tmp_path_factory.mktemp("demo") / "demo.db")
                url = f"sqlite:///{template}"
            else:
                template = f"cartrack_demo_{os.getpid()}"
                pg_exec(f"DROP DATABASE IF EXISTS {template}")
                pg_exec(f"CREATE DATABASE {template}")
                url = pg_url(template)
            env = {**os.environ, "CARTRACK_DATABASE_URL": url, "CARTRACK_DEMO_PASSWORD": PASSWORD,
                   "CARTRACK_ENVIRONMENT": "test"}
            out = subprocess.run([sys.executable, "-m", "cartrack.cli", "demo", "--no-serve"],
                                 env=env, capture_output=True, text=True, timeout=900)
            # A failed build is kept too: the next test is told at once, not after a rebuild.
            builds[backend] = DemoBuild(template, out.stdout, out.returncode, out.stderr)
        made = builds[backend]
        assert made.returncode == 0, made.error
        return made

    yield build
    for backend, made in builds.items():
        if backend == "postgres":
            pg_exec(f"DROP DATABASE IF EXISTS {made.template} WITH (FORCE)")


@pytest.fixture
def demo_url(backend: str, demo_builds: Callable[[str], DemoBuild], tmp_path: Path
             ) -> Iterator[str]:
    with cloned(backend, demo_builds(backend).template, tmp_path) as url:
        yield url
    engine_for.cache_clear()


@pytest.fixture
def demo_client(demo_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(start_scheduler=False)) as c:
        yield c


@pytest.fixture
def demo_auth(demo_url: str) -> dict[str, dict[str, str]]:
    return {name: bearer_for(name) for name in [*ROLES, "infusion_staff2"]}
