"""The compose topology as plain processes: one migration, two `serve --no-migrate`, two
`cartrack scheduler`. An alert raised through API process 1 reaches the live streams on both
processes, once, with the same event id; and PostgreSQL stopped under load gives only 503
answers on kept-alive connections, then recovery without restarting anything."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from cartrack.db import engine_for, new_session
from cartrack.demo import seed_reference
from cartrack.settings import get_settings
from tests.helpers.alerts import SseReader, wait_for
from tests.helpers.auth import bearer_for
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey
from tests.helpers.processes import KeepAlive, empty_database, fleet, run_cli, throwaway_cluster

pytestmark = pytest.mark.realtime
SCAN = {"payload": "NOT-A-CARTRACK-LABEL", "action": None, "location": "bench 1"}


def _migrate_and_seed(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    r = run_cli("db", "upgrade", url=url)
    assert r.returncode == 0, r.stderr
    monkeypatch.setenv("CARTRACK_DATABASE_URL", url)
    get_settings.cache_clear()
    engine_for.cache_clear()
    with new_session() as session:
        seed_reference(session, PASSWORD)
        session.commit()


def test_an_alert_raised_on_one_api_process_reaches_streams_on_both_once(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with empty_database(backend, tmp_path) as url:
        _migrate_and_seed(url, monkeypatch)
        headers = {name: bearer_for(name) for name in ("coordinator", "collection_staff")}
        with fleet(url, tmp_path, scheduler_poll_seconds=0.2) as running:
            api1, api2 = running.serve("api1"), running.serve("api2")
            running.scheduler("sched1")
            running.scheduler("sched2")
            assert wait_for(lambda: _leader(api2.base), 120), running.procs[-1].text()
            streams = [SseReader(f"{api.base}/api/alerts/stream", headers["coordinator"])
                       for api in (api1, api2)]
            for s in streams:
                s.__enter__()
            try:
                assert all(s.status == 200 for s in streams)
                time.sleep(0.5)
                with httpx.Client(base_url=api1.base, timeout=30) as client:
                    j = Journey(client, {**headers, "coordinator": headers["coordinator"]})  # type: ignore[arg-type]
                    case = j.enroll()
                    j.to(case["id"], "collected")
                    r = j.event("collection_staff", case["id"], "ship_to_manufacturing", {
                        "scans": j.typed(case["id"], "apheresis")[:1],
                        "shipper_type": "2-8 C shipper", "courier": "MedCourier",
                        "tracking_number": "T1"})
                    assert r.status_code == 409, r.text
                raised = time.monotonic()
                received = [s.next(timeout=30) for s in streams]
                extra = [e for s in streams for e in s.drain(1.5)]
            finally:
                for s in streams:
                    s.__exit__(None, None, None)
        first, second = received
        assert first.json()["kind"] == "mismatch" and first.json()["case_id"] == case["id"]
        assert (first.id, first.json()["id"]) == (second.id, second.json()["id"])
        assert not [e for e in extra if e.json()["id"] == first.json()["id"]], "delivered twice"
        latency = max(e.received_at for e in received) - raised
        assert latency < 5, f"{latency:.2f} s from the refusal to both streams"


def _leader(base: str) -> str | None:
    scheduler = httpx.get(f"{base}/api/health", timeout=5).json()["scheduler"]
    return scheduler["leader"] if scheduler and not scheduler["stale"] else None


def test_postgres_stopped_under_load_gives_only_503_then_recovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with throwaway_cluster(tmp_path) as cluster:
        _migrate_and_seed(cluster.url, monkeypatch)
        headers = bearer_for("infusion_staff")
        with fleet(cluster.url, tmp_path) as running:
            apis = [running.serve("api1"), running.serve("api2")]
            load = Load([KeepAlive(api.base, headers) for api in apis for _ in range(2)])
            load.start()
            try:
                assert wait_for(lambda: load.count(200) >= 20, 30), load.statuses
                cluster.stop()
                down_from = len(load.statuses)
                assert wait_for(lambda: load.count(503, since=down_from) >= 20, 30), \
                    load.statuses[down_from:]
                ready = [httpx.get(f"{api.base}/api/ready", timeout=5) for api in apis]
                assert [r.status_code for r in ready] == [503, 503]
                assert all(r.headers["retry-after"] == "5" for r in ready)
                cluster.start()
                up_from = len(load.statuses)
                assert wait_for(lambda: load.count(200, since=up_from) >= 20, 60), \
                    load.statuses[up_from:]
                assert [httpx.get(f"{a.base}/api/ready", timeout=5).status_code
                        for a in apis] == [200, 200]
            finally:
                load.stop()
            for api in apis:
                assert api.popen.poll() is None, api.text()  # no restart was needed
    counts = Counter(load.statuses)
    assert set(counts) == {200, 503}, counts
    assert load.errors == [], load.errors[:3]  # no reset, no unanswered request
    assert load.reconnects() == 0
    assert load.without_retry_after == 0
    assert set(load.codes_503) <= {"database_unavailable", "outcome_unknown"}, load.codes_503


class Load:
    """Each client sends keyed scans back to back on its one connection (bounded: 3,000)."""

    def __init__(self, clients: list[KeepAlive]) -> None:
        self.clients = clients
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self.codes_503: Counter[str] = Counter()
        self.without_retry_after = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(c,), daemon=True)
                         for c in clients]
        self._lock = threading.Lock()

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def count(self, status: int, since: int = 0) -> int:
        with self._lock:
            return self.statuses[since:].count(status)

    def reconnects(self) -> int:
        return sum(c.reconnects for c in self.clients)

    def _run(self, client: KeepAlive) -> None:
        for _ in range(3000):
            if self._stop.is_set():
                return
            try:
                status, head, body = client.request(
                    "POST", "/api/scans", SCAN, {"Idempotency-Key": uuid.uuid4().hex})
            except Exception as exc:
                with self._lock:
                    self.errors.append(repr(exc))
                return
            with self._lock:
                self.statuses.append(status)
                if status == 503:
                    self.codes_503[_code(body)] += 1
                    self.without_retry_after += "retry-after" not in head
            if status == 503:
                time.sleep(0.05)


def _code(body: Any) -> str:
    return str(body.get("code")) if isinstance(body, dict) else repr(body)[:80]
