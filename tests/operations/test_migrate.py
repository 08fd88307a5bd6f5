"""Several processes migrating one empty database at once (replicas starting together, the
one-shot migration racing an old `serve`): every one succeeds, the schema is built once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from cartrack.db import make_engine
from cartrack.migrate import alembic_config
from tests.helpers.alerts import free_port, wait_for
from tests.helpers.processes import empty_database, fleet, run_cli

pytestmark = pytest.mark.realtime


def _versions(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


def _head() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1
    return heads[0]


def test_ten_concurrent_upgrades_all_succeed_and_migrate_once(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as url:
        with ThreadPoolExecutor(10) as pool:
            runs = list(pool.map(lambda _: run_cli("db", "upgrade", url=url, timeout=600),
                                 range(10)))
        failed = [(r.returncode, r.stderr[-800:]) for r in runs if r.returncode != 0]
        assert not failed, failed
        assert all("newest schema" in r.stdout for r in runs)
        assert _versions(url) == [_head()]
        # And the schema works: a table of the newest migration is there and empty.
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM idempotency_key")).scalar() == 0
        engine.dispose()


def test_two_servers_starting_together_on_an_empty_database_both_serve(
        backend: str, tmp_path: Path) -> None:
    """The defect as a new user met it: both migrate on start; neither may exit."""
    with empty_database(backend, tmp_path) as url, fleet(url, tmp_path) as running:
        procs = [running.start(f"api{i}", "serve", "--port", str(port), port=port,
                               scheduler_enabled="false")
                 for i, port in enumerate(_two_ports())]
        for proc in procs:
            assert _wait_health(proc.base), proc.text()
            assert proc.popen.poll() is None, proc.text()
        assert _versions(url) == [_head()]


def test_serve_no_migrate_leaves_the_schema_alone(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as url, fleet(url, tmp_path) as running:
        port = _two_ports()[0]
        proc = running.start("api", "serve", "--no-migrate", "--port", str(port), port=port,
                             scheduler_enabled="false")
        assert _wait_health(proc.base), proc.text()
        engine = make_engine(url)
        with engine.connect() as conn, pytest.raises(Exception, match="alembic_version"):
            conn.execute(text("SELECT version_num FROM alembic_version"))
        engine.dispose()
        # Not ready until the schema is this code's; ready once migrated, without a restart.
        r = httpx.get(f"{proc.base}/api/ready", timeout=5)
        assert r.status_code == 503 and r.headers["retry-after"].isdigit(), r.text
        assert r.json() == {"status": "unavailable", "database": "ok", "schema_revision": None}
        assert run_cli("db", "upgrade", url=url).returncode == 0
        r = httpx.get(f"{proc.base}/api/ready", timeout=5)
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready", "database": "ok", "schema_revision": _head()}


def _two_ports() -> list[int]:
    return [free_port(), free_port()]


def _wait_health(base: str) -> bool:
    def answers() -> bool:
        try:
            return httpx.get(f"{base}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return bool(wait_for(answers, 120, step=0.2))

