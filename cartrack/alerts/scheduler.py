"""The alert scheduler: APScheduler keeps the beat, the rows decide what is due.

Nothing is held in memory between ticks, so a (re)start with any number of open deadlines is
immediate: the first tick runs at once and fires everything already due. Two interval jobs
run on their own threads, so a slow or failing channel never delays firing:

- fire: expire unconfirmed slot holds, claim due alerts (pending -> fired), escalate
  unacknowledged critical ones;
- send: send claimed delivery rows (e-mail, webhooks) after their claim has committed.

A third job keeps the leadership (`leader.py`): only the process holding the leader lock fires
and sends; the others stand by and take over within a retry interval of the leader's death.

All run with misfire_grace_time=None (a late run still runs; APScheduler's default grace of
1 s would drop it), coalesce=True (a backlog of missed runs is one run) and max_instances=1.
Run it embedded in `cartrack serve` (CARTRACK_SCHEDULER_ENABLED=true, the default) or alone
as `cartrack scheduler`; any number of them may run against one PostgreSQL database.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import col, select

from cartrack import clock, idempotency, metrics
from cartrack.alerts import leader, service
from cartrack.alerts.models import Alert
from cartrack.db import new_session
from cartrack.scheduling import expiry as slot_holds
from cartrack.settings import get_settings

log = logging.getLogger("cartrack.alerts.scheduler")
ESCALATION_CHECK_SECONDS = 5.0
PURGE_SECONDS = 600.0  # how often the leader forgets expired idempotency keys


class _QuietSkips(logging.Filter):
    """A tick still running when the next is due is normal here (max_instances=1)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_QuietSkips())
for _name in ("apscheduler.scheduler", "apscheduler.executors.default"):  # a line per tick
    logging.getLogger(_name).setLevel(logging.WARNING)


class AlertScheduler:
    def __init__(self, poll_seconds: float | None = None, instance: str | None = None,
                 lock: leader.LeaderLock | None = None) -> None:
        settings = get_settings()
        self.poll_seconds = poll_seconds or settings.scheduler_poll_seconds
        self.retry_seconds = settings.scheduler_leader_retry_seconds
        self.instance = instance or service.new_instance_id()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._lock = lock or leader.default_lock()
        self._last_escalation = 0.0
        self._last_fire_start: float | None = None
        self._last_heartbeat = 0.0
        self._beat_had_tick = False
        self._last_purge = 0.0
        self._announced_standby = False
        self.leading_since: datetime | None = None
        self.last_tick_at: datetime | None = None
        self.ticks = 0

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    @property
    def leading(self) -> bool:
        return self.leading_since is not None

    def start(self) -> None:
        self.keep_leadership()  # a sole scheduler leads from its first tick
        jobs = (("alerts-fire", self.fire_tick, self.poll_seconds),
                ("alerts-send", self.send_tick, self.poll_seconds),
                ("alerts-leader", self.keep_leadership, self.retry_seconds))
        for job_id, func, seconds in jobs:
            self._scheduler.add_job(func, "interval", seconds=seconds, id=job_id,
                                    next_run_time=datetime.now(UTC), misfire_grace_time=None,
                                    coalesce=True, max_instances=1, replace_existing=True)
        self._scheduler.start()
        log.info("alert scheduler %s started (every %.2f s)", self.instance, self.poll_seconds)

    def stop(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
            log.info("alert scheduler %s stopped", self.instance)
        self._lock.release()
        self.leading_since = None
        metrics.SCHEDULER_LEADER.set(0)

    # ---- leadership ---------------------------------------------------------------------

    def keep_leadership(self) -> None:
        """Standing by: try to take the lock. Leading: check it is still held, and beat."""
        try:
            if self.leading and not self._lock.held():
                log.warning("scheduler %s lost the leader lock; standing by", self.instance)
                self.leading_since = None
            elif not self.leading and self._lock.acquire():
                self.leading_since = clock.now()
                self._last_heartbeat, self.last_tick_at = 0.0, None
                log.info("scheduler %s leads", self.instance)
            elif not self.leading and not self._announced_standby:
                log.info("scheduler %s stands by: another holds the leader lock", self.instance)
                self._announced_standby = True
            if self.leading and self._heartbeat_due():
                assert self.leading_since is not None
                leader.write_heartbeat(self.instance, self.leading_since, self.last_tick_at)
                self._last_heartbeat = time.monotonic()
                self._beat_had_tick = self.last_tick_at is not None
            if self.leading and time.monotonic() - self._last_purge >= PURGE_SECONDS:
                self._last_purge = time.monotonic()
                idempotency.purge_expired()
        except Exception:
            log.exception("scheduler leadership check failed; retrying")
        metrics.SCHEDULER_LEADER.set(1 if self.leading else 0)

    def _heartbeat_due(self) -> bool:
        """Every HEARTBEAT_SECONDS, and at once when the first tick after taking over is in."""
        first_tick = not self._beat_had_tick and self.last_tick_at is not None
        return first_tick or time.monotonic() - self._last_heartbeat >= leader.HEARTBEAT_SECONDS

    # ---- ticks --------------------------------------------------------------------------

    def _note_lag(self) -> None:
        started = time.monotonic()
        if self._last_fire_start is not None:
            late = started - self._last_fire_start - self.poll_seconds
            metrics.SCHEDULER_LAG.set(max(late, 0.0))
        self._last_fire_start = started

    def fire_tick(self) -> None:
        if not self.leading:
            return
        self._note_lag()
        try:
            slot_holds.expire_holds()
            fired = service.fire_due(instance=self.instance)
            if fired:
                log.info("fired %d alert(s)", len(fired))
                _observe_fired(fired)
            if time.monotonic() - self._last_escalation >= ESCALATION_CHECK_SECONDS:
                service.escalate_due()
                self._last_escalation = time.monotonic()
            self.last_tick_at = clock.now()
            metrics.SCHEDULER_LAST_TICK.set(time.time())
        except Exception:
            log.exception("alert fire tick failed; retrying at the next tick")
        finally:
            self.ticks += 1

    def send_tick(self) -> None:
        if not self.leading:
            return
        try:
            service.send_due(instance=self.instance)
        except Exception:
            log.exception("alert send tick failed; retrying at the next tick")


def _observe_fired(ids: list[int]) -> None:
    with new_session(read_only=True) as session:
        rows = session.execute(select(Alert.severity, Alert.fire_at, Alert.fired_at)
                               .where(col(Alert.id).in_(ids))).all()
    for severity, fire_at, fired_at in rows:
        metrics.ALERTS_FIRED.labels(severity).inc()
        if fired_at is not None:
            metrics.ALERT_LATENESS.observe(max((fired_at - fire_at).total_seconds(), 0.0))


def startup_hook(app: Any, run_scheduler: bool) -> Callable[[], None] | None:
    """The app's start-up hook: run the scheduler in this process when asked to."""
    if not run_scheduler:
        return None
    scheduler = AlertScheduler()
    scheduler.start()
    app.state.alert_scheduler = scheduler
    return scheduler.stop


def run_forever(ready: Callable[[AlertScheduler], None] | None = None) -> None:
    """`cartrack scheduler`: run until SIGTERM or SIGINT, then stop cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = AlertScheduler()
    scheduler.start()
    if ready is not None:
        ready(scheduler)
    stop.wait()
    scheduler.stop()
