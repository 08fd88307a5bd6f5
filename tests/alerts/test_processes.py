"""`cartrack scheduler` as real processes: killed with SIGKILL and restarted, or two at once on
one database. Every alert is delivered, and delivered once."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from cartrack import clock
from tests.helpers.alerts import (
    SECRET,
    Receiver,
    add_alerts,
    alert,
    alerts,
    deliveries,
    env_for_subprocess,
    wait_for,
    webhook_receiver,
)

pytestmark = pytest.mark.realtime


@contextmanager
def scheduler_process(log: Path, hook: Receiver, **settings: object
                      ) -> Iterator[subprocess.Popen[bytes]]:
    env = env_for_subprocess(webhook_urls=hook.url, webhook_secret=SECRET,
                             scheduler_poll_seconds=0.2, **settings)
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cartrack.cli", "scheduler"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    started = log.read_text().count(" running every ")
    try:
        # Start-up (imports) can take long on a loaded machine; the timings below start here.
        assert wait_for(lambda: log.read_text().count(" running every ") > started, 120), \
            log.read_text()
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _delivered(hook: Receiver, ids: list[int]) -> bool:
    return set(ids) <= set(hook.alert_ids())


def _recorded(ids: list[int]) -> bool:
    return all(d.status == "delivered" for a in ids for d in deliveries(a))


def test_sigkill_and_restart_fire_every_alert_exactly_once(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "scheduler.log"
    with webhook_receiver() as hook:
        before = add_alerts(None, 5, clock.now() - timedelta(minutes=1))
        with scheduler_process(log, hook) as first:
            assert wait_for(lambda: _delivered(hook, before), 15), log.read_text()
            # Killed between ticks, not between a send and its record: a webhook sent but not
            # yet recorded would be sent again after the claim lapses (at-least-once for that
            # window; receivers dedupe on X-Cartrack-Delivery).
            assert wait_for(lambda: _recorded(before), 5)
            # These fall due while the scheduler is dead.
            during = add_alerts(None, 10, clock.now() + timedelta(seconds=0.5))
            first.send_signal(signal.SIGKILL)
            assert first.wait(5) == -signal.SIGKILL
        time.sleep(1.5)
        after = add_alerts(None, 5, clock.now() + timedelta(seconds=3))
        assert alert(during[0]).status == "pending"
        with scheduler_process(log, hook):
            assert log.read_text().count(" running every ") == 2
            restarted = time.monotonic()
            assert wait_for(lambda: _delivered(hook, during), 10), log.read_text()
            caught_up = time.monotonic() - restarted
            assert wait_for(lambda: _delivered(hook, after), 10), log.read_text()
            time.sleep(0.6)  # a few more ticks: nothing is sent twice
    everything = before + during + after
    counts = collections.Counter(hook.alert_ids())
    assert {a: counts[a] for a in everything} == dict.fromkeys(everything, 1)
    rows = [alert(a) for a in everything]
    assert all(r.status == "fired" and r.fired_at is not None for r in rows)
    assert len({r.claimed_by for r in rows}) == 2  # the first process, then the second
    assert caught_up < 5, f"overdue alerts took {caught_up:.1f} s after the scheduler started"
    sent = [(d.alert_id, d.status, d.attempts) for d in deliveries()]
    assert sorted(sent) == sorted((a, "delivered", 1) for a in everything)


def test_two_scheduler_processes_deliver_each_alert_once(db_url: str, tmp_path: Path) -> None:
    ids = add_alerts(None, 300, clock.now())
    small = {"scheduler_batch_size": 20}  # many small claims: the two processes contend
    with webhook_receiver() as hook, scheduler_process(tmp_path / "a.log", hook, **small), \
            scheduler_process(tmp_path / "b.log", hook, **small):
        assert wait_for(lambda: _delivered(hook, ids), 30), (
            len(set(hook.alert_ids())), (tmp_path / "a.log").read_text())
        late = add_alerts(None, 50, clock.now() + timedelta(seconds=0.5))
        assert wait_for(lambda: _delivered(hook, late), 10)
        time.sleep(0.6)
    counts = collections.Counter(hook.alert_ids())
    assert len(counts) == 350 and set(counts.values()) == {1}
    rows = alerts(ids + late)
    assert all(r.status == "fired" and r.claimed_by for r in rows)
    sent = deliveries()
    assert len(sent) == 350 and {(d.status, d.attempts) for d in sent} == {("delivered", 1)}
