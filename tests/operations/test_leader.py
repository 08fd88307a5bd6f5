"""Several `cartrack scheduler` processes: exactly one leads (it holds the leader lock), the
others stand by; SIGKILL the leader and another leads within two retry intervals; every due
alert fires exactly once throughout; /api/health names the leader and its last tick."""

from __future__ import annotations

import collections
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cartrack import clock
from cartrack.alerts import leader
from tests.helpers.alerts import SECRET, add_alerts, alerts, wait_for, webhook_receiver
from tests.helpers.processes import Proc, fleet

pytestmark = pytest.mark.realtime
RETRY = 2.0  # the default
LEADS = re.compile(r"scheduler (\S+) leads")


def _leader_of(procs: list[Proc]) -> list[tuple[Proc, str]]:
    return [(p, m.group(1)) for p in procs for m in [LEADS.search(p.text())] if m]


def test_one_scheduler_leads_and_a_standby_takes_over_after_sigkill(
        db_url: str, tmp_path: Path, client: TestClient) -> None:
    first_batch = add_alerts(None, 20, clock.now())
    with webhook_receiver() as hook, fleet(db_url, tmp_path, webhook_urls=hook.url,
                                           webhook_secret=SECRET, scheduler_poll_seconds=0.2,
                                           scheduler_leader_retry_seconds=RETRY) as running:
        procs = [running.scheduler("sched-a"), running.scheduler("sched-b")]
        assert wait_for(lambda: _leader_of(procs), 120), [p.text() for p in procs]
        time.sleep(3 * RETRY)  # several retries of the standby: still one leader
        leaders = _leader_of(procs)
        assert len(leaders) == 1, [p.text() for p in procs]
        leader, instance = leaders[0]
        standby = next(p for p in procs if p is not leader)
        assert wait_for(lambda: set(first_batch) <= set(hook.alert_ids()), 15)
        health = wait_for(lambda: _ticked(client), 5)
        assert health, client.get("/api/health").json()
        assert health["scheduler"]["leader"] == instance and not health["scheduler"]["stale"]

        # Alerts falling due around the failover, then the leader dies mid-stride.
        around = add_alerts(None, 30, clock.now() + timedelta(seconds=0.5))
        time.sleep(0.3)
        killed_at = time.monotonic()
        leader.kill()
        assert wait_for(lambda: LEADS.search(standby.text()), 10 * RETRY, step=0.02), \
            standby.text()
        took = time.monotonic() - killed_at
        assert took <= 2 * RETRY, f"the standby took {took:.2f} s to lead"
        later = add_alerts(None, 10, clock.now() + timedelta(seconds=1))
        everything = first_batch + around + later
        assert wait_for(lambda: set(everything) <= set(hook.alert_ids()), 20), \
            standby.text()
        time.sleep(0.6)  # a few more ticks: nothing fires twice
        new_instance = LEADS.search(standby.text()).group(1)  # type: ignore[union-attr]
        assert wait_for(lambda: client.get("/api/health").json()["scheduler"]["leader"]
                        == new_instance, 10)
    counts = collections.Counter(hook.alert_ids())
    assert {a: counts[a] for a in everything} == dict.fromkeys(everything, 1)
    rows = alerts(everything)
    assert all(r.status == "fired" for r in rows)
    assert {r.claimed_by for r in rows} <= {instance, new_instance}
    assert {r.claimed_by for r in alerts(later)} == {new_instance}


def _ticked(client: TestClient) -> dict[str, Any] | None:
    health: dict[str, Any] = client.get("/api/health").json()
    return health if health["scheduler"]["last_tick_at"] else None


def test_health_says_stale_when_no_leader_beats(db_url: str, client: TestClient,
                                                frozen: clock.FrozenClock) -> None:
    assert client.get("/api/health").json()["scheduler"]["leader"] is None
    leader.write_heartbeat("host:1:abc", clock.now(), clock.now())
    fresh: dict[str, Any] = client.get("/api/health").json()["scheduler"]
    assert fresh["leader"] == "host:1:abc" and fresh["stale"] is False
    frozen.advance(seconds=60)
    assert client.get("/api/health").json()["scheduler"]["stale"] is True
