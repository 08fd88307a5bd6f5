"""Honest failure answers over a real HTTP server and one keep-alive connection: a bug is a
500 whose request id is in the log too; a database out of reach or out of disk is a 503 with
Retry-After and nothing half-written; the connection stays usable through all of it."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends
from sqlalchemy import func
from sqlmodel import select

from cartrack.app import create_app
from cartrack.db import engine_for, new_session
from cartrack.scans.models import CustodyEvent
from cartrack.security import PUBLIC
from cartrack.settings import get_settings
from tests.helpers.alerts import free_port, served_app
from tests.helpers.auth import bearer_for
from tests.helpers.outage import database_on_small_disk
from tests.helpers.processes import KeepAlive

SCAN = {"payload": "NOT-A-CARTRACK-LABEL", "action": None, "location": "bench 1"}


def _custody_events() -> int:
    with new_session(read_only=True) as s:
        return int(s.exec(select(func.count()).select_from(CustodyEvent)).one())


def test_a_bug_answers_500_with_its_request_id_in_the_body_and_the_log(
        db_url: str, auth: Any, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(start_scheduler=False)

    def broken() -> None:
        raise RuntimeError("a bug in a route")

    app.router.add_api_route("/api/test/broken", broken, methods=["POST"],
                             dependencies=[Depends(PUBLIC)])
    caplog.set_level(logging.ERROR, logger="cartrack")
    with served_app(app) as base:
        conn = KeepAlive(base, auth["infusion_staff"])
        status, headers, body = conn.request("POST", "/api/test/broken", {})
        assert status == 500, body
        rid = body["context"]["request_id"]
        assert headers["x-request-id"] == rid and re.fullmatch(r"[0-9a-f]{32}", rid)
        assert body["code"] == "internal_error" and rid in body["detail"]
        logged = [r for r in caplog.records if rid in r.getMessage()]
        assert logged and logged[0].exc_info is not None  # the traceback, under the same id
        # The same connection answers the next request.
        status, _, _ = conn.request("POST", "/api/scans", SCAN)
        assert status == 200
        # A proxy's request id is kept, so one id follows the request through both logs.
        status, headers, _ = conn.request("POST", "/api/test/broken", {},
                                          {"X-Request-ID": "edge-0123456789"})
        assert status == 500 and headers["x-request-id"] == "edge-0123456789"
        assert conn.reconnects == 0


def _unreachable(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":  # a volume that is not mounted
        return f"sqlite:///{tmp_path / 'not-mounted' / 'cartrack.db'}"
    return f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens


def test_a_database_out_of_reach_answers_503_and_the_connection_stays(
        backend: str, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = bearer_for("infusion_staff")  # signed in while the database was there
    monkeypatch.setenv("CARTRACK_DATABASE_URL", _unreachable(backend, tmp_path))
    get_settings.cache_clear()
    engine_for.cache_clear()
    with served_app() as base:
        conn = KeepAlive(base, headers)
        for method, path, body in [("POST", "/api/scans", SCAN), ("GET", "/api/cases", None),
                                   ("POST", "/api/scans", SCAN)]:
            status, answer, data = conn.request(method, path, body)
            assert status == 503, data
            assert answer["retry-after"] == "5"
            assert data["code"] == "database_unavailable"
            assert "nothing was saved" in data["detail"]
        status, answer, data = conn.request("GET", "/api/ready")
        assert (status, data) == (503, {"status": "unavailable", "database": "down",
                                        "schema_revision": None})
        assert answer["retry-after"] == "5"
        status, _, data = conn.request("GET", "/api/health")
        assert status == 200 and data["database"] == "down" and data["scheduler"] is None
        assert conn.reconnects == 0


@pytest.mark.realtime
def test_a_full_disk_answers_503_writes_nothing_half_and_recovers_when_freed(
        backend: str, tmp_path: Path) -> None:
    with database_on_small_disk(backend, tmp_path) as (_url, disk):
        headers = bearer_for("infusion_staff")
        with served_app() as base:
            conn = KeepAlive(base, headers)
            assert conn.request("POST", "/api/scans", SCAN)[0] == 200
            before = _custody_events()
            disk.fill()
            answers = []
            for _ in range(400):  # until a write needs a page the disk has no room for
                status, head, data = conn.request("POST", "/api/scans", SCAN)
                answers.append(status)
                if status == 503:
                    break
            assert set(answers) <= {200, 503}, answers
            assert answers[-1] == 503, "the disk never filled"
            assert data["code"] == "storage_full" and head["retry-after"] == "60"
            disk.free()
            # Every 200 is one custody event; the refused scan left nothing behind.
            assert _custody_events() == before + answers.count(200)
            status, _, data = conn.request("POST", "/api/scans", SCAN)
            assert status == 200, data  # recovered, without a restart
            assert _custody_events() == before + answers.count(200) + 1
            assert conn.reconnects == 0
