"""The alert scheduler: APScheduler keeps the beat, the rows decide what is due.

Nothing is held in memory between ticks, so a (re)start with any number of open deadlines is
immediate: the first tick runs at once and fires everything already due. Two interval jobs
run on their own threads, so a slow or failing channel never delays firing:

- fire: claim due alerts (pending -> fired), escalate unacknowledged critical ones;
- send: send claimed delivery rows (e-mail, webhooks) after their claim has committed.

Both run with misfire_grace_time=None (a late run still runs; APScheduler's default grace of
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

from cartrack.alerts import service
from cartrack.settings import get_settings

log = logging.getLogger("cartrack.alerts.scheduler")
ESCALATION_CHECK_SECONDS = 5.0


class _QuietSkips(logging.Filter):
    """A tick still running when the next is due is normal here (max_instances=1)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_QuietSkips())
for _name in ("apscheduler.scheduler", "apscheduler.executors.default"):  # a line per tick
    logging.getLogger(_name).setLevel(logging.WARNING)


class AlertScheduler:
    def __init__(self, poll_seconds: float | None = None, instance: str | None = None) -> None:
        self.poll_seconds = poll_seconds or get_settings().scheduler_poll_seconds
        self.instance = instance or service.new_instance_id()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._last_escalation = 0.0
        self.ticks = 0

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        for job_id, func in (("alerts-fire", self.fire_tick), ("alerts-send", self.send_tick)):
            self._scheduler.add_job(func, "interval", seconds=self.poll_seconds, id=job_id,
                                    next_run_time=datetime.now(UTC), misfire_grace_time=None,
                                    coalesce=True, max_instances=1, replace_existing=True)
        self._scheduler.start()
        log.info("alert scheduler %s started (every %.2f s)", self.instance, self.poll_seconds)

    def stop(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
            log.info("alert scheduler %s stopped", self.instance)

    def fire_tick(self) -> None:
        try:
            fired = service.fire_due(instance=self.instance)
            if fired:
                log.info("fired %d alert(s)", len(fired))
            if time.monotonic() - self._last_escalation >= ESCALATION_CHECK_SECONDS:
                service.escalate_due()
                self._last_escalation = time.monotonic()
        except Exception:
            log.exception("alert fire tick failed; retrying at the next tick")
        finally:
            self.ticks += 1

    def send_tick(self) -> None:
        try:
            service.send_due(instance=self.instance)
        except Exception:
            log.exception("alert send tick failed; retrying at the next tick")


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
