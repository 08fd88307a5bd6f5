"""Alert delivery benchmark, on a SQLite file (the embedded default).

1. Lateness: N alerts (default 10,000) fall due within one minute; the real scheduler
   (APScheduler, poll every CARTRACK_SCHEDULER_POLL_SECONDS) fires them. Lateness is
   fired_at - fire_at per alert, from the rows. Also run with every alert due at once.
2. Start-up: M open deadlines (default 100,000, each with two warnings and a breach pending,
   so 3 M pending alerts) plus 100 alerts already overdue. Time until the scheduler is
   started, until it has fired the overdue ones, the cost of an idle tick, and memory.

Run: .venv/bin/python -m bench.bench_alerts [--alerts N] [--window S] [--deadlines M]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

PASSWORD = "bench-password-123"


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    status = Path("/proc/self/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak, peak


def fresh_database(directory: str, name: str) -> str:
    """A migrated SQLite file with the reference data, configured as the current database."""
    from cartrack.db import engine_for, new_session
    from cartrack.demo import seed_reference
    from cartrack.migrate import upgrade
    from cartrack.settings import get_settings

    url = f"sqlite:///{directory}/{name}.db"
    upgrade(url)
    os.environ["CARTRACK_DATABASE_URL"] = url
    get_settings.cache_clear()
    engine_for.cache_clear()
    with new_session() as session:
        seed_reference(session, PASSWORD)
        session.commit()
    return url


def _site_ids() -> dict[str, int]:
    from sqlmodel import select

    from cartrack.db import new_session
    from cartrack.users.models import Site

    with new_session(read_only=True) as session:
        return {s.code: s.id or 0 for s in session.exec(select(Site)).all()}


def insert_alerts(fire_ats: list[datetime], deadline_ids: list[int | None] | None = None,
                  case_id: int | None = None, chunk: int = 20_000) -> None:
    """Pending alerts (each targeted at infusion staff of TC-CITY), bulk-inserted."""
    from sqlalchemy import func, insert, select

    from cartrack.alerts.models import Alert, AlertTarget
    from cartrack.db import new_session

    site = _site_ids()["TC-CITY"]
    for start in range(0, len(fire_ats), chunk):
        part = fire_ats[start:start + chunk]
        dids = (deadline_ids or [None] * len(fire_ats))[start:start + chunk]
        with new_session() as session:
            first = (session.execute(select(func.max(Alert.id))).scalar() or 0) + 1
            session.execute(insert(Alert), [
                {"id": first + i, "case_id": case_id, "deadline_id": d, "kind": "breach",
                 "severity": "warning", "title": "bench", "message": "bench alert",
                 "fire_at": at, "status": "pending", "tier": 0, "data": {}}
                for i, (at, d) in enumerate(zip(part, dids, strict=True))])
            session.execute(insert(AlertTarget), [
                {"alert_id": first + i, "role": "infusion_staff", "site_id": site}
                for i in range(len(part))])
            session.commit()


def lateness(since: datetime) -> list[float]:
    from sqlmodel import col, select

    from cartrack.alerts.models import Alert
    from cartrack.clock import as_utc
    from cartrack.db import new_session

    with new_session(read_only=True) as session:
        rows = session.exec(select(Alert.fire_at, Alert.fired_at)
                            .where(col(Alert.fire_at) >= since)).all()
    return [(as_utc(fired) - as_utc(fire)).total_seconds() if fired else float("inf")
            for fire, fired in rows]


def count_pending_due(now: datetime) -> int:
    from sqlalchemy import func, select

    from cartrack.alerts.models import Alert
    from cartrack.db import new_session

    with new_session(read_only=True) as session:
        return int(session.execute(select(func.count()).select_from(Alert).where(
            Alert.status == "pending", Alert.fire_at <= now)).scalar_one())


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def run_lateness(directory: str, name: str, alerts: int, window: float) -> dict[str, Any]:
    from cartrack import clock
    from cartrack.alerts.scheduler import AlertScheduler

    fresh_database(directory, name)
    start = clock.now() + timedelta(seconds=3)
    fire_ats = sorted(start + timedelta(seconds=random.uniform(0, window)) for _ in range(alerts))
    insert_alerts(fire_ats)
    scheduler = AlertScheduler()
    scheduler.start()
    last = fire_ats[-1]
    try:
        wait_until(lambda: clock.now() > last and count_pending_due(clock.now()) == 0,
                   window + 120, step=0.25)
    finally:
        scheduler.stop()
    late = lateness(start)
    return {"alerts": alerts, "window_s": window, "fired": sum(v != float("inf") for v in late),
            "median_s": statistics.median(late), "p99_s": _pct(late, 0.99), "max_s": max(late)}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _one_case() -> int:
    from sqlmodel import select

    from cartrack.db import new_session
    from cartrack.journey import events as sc
    from cartrack.journey import service as journey
    from cartrack.security import load_principal
    from cartrack.users.models import User

    with new_session() as session:
        user = session.exec(select(User).where(User.username == "coordinator")).one()
        case = journey.enroll(session, load_principal(session, user, "bench"), sc.EnrollIn(
            patient=sc.PatientIn(given_name="Bench", family_name="Patient",
                                 date_of_birth=date(1960, 1, 1), mrn="MRN-BENCH"),
            product="yescarta", collection_site="TC-CITY", manufacturing_site="MF-EAST",
            treatment_site="TC-CITY"))
        session.commit()
        return case.id or 0


def insert_deadlines(case_id: int, count: int, chunk: int = 20_000) -> list[int]:
    from sqlalchemy import func, insert, select

    from cartrack import clock
    from cartrack.alerts.models import Deadline
    from cartrack.db import new_session

    now = clock.now()
    ids: list[int] = []
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        with new_session() as session:
            first = (session.execute(select(func.max(Deadline.id))).scalar() or 0) + 1
            session.execute(insert(Deadline), [
                {"id": first + i, "case_id": case_id, "kind": "storage_expiry",
                 "label": "bench", "opened_at": now, "status": "open",
                 "due_at": now + timedelta(days=1 + (start + i) % 300)} for i in range(n)])
            session.commit()
        ids += range(first, first + n)
    return ids


def run_startup(directory: str, deadlines: int) -> dict[str, Any]:
    from cartrack import clock
    from cartrack.alerts import service
    from cartrack.alerts.scheduler import AlertScheduler

    fresh_database(directory, "startup")
    case_id = _one_case()
    built = time.monotonic()
    ids = insert_deadlines(case_id, deadlines)
    now = clock.now()
    horizon = [now + timedelta(hours=1 + i % 5000) for i in range(deadlines)]
    for fraction in (0.5, 0.8, 1.0):
        insert_alerts([now + (h - now) * fraction for h in horizon], list(ids), case_id)
    insert_alerts([now - timedelta(minutes=1)] * 100)
    setup_s = time.monotonic() - built
    rss_before, _ = rss_mb()
    t0 = time.monotonic()
    scheduler = AlertScheduler()
    scheduler.start()
    started = time.monotonic() - t0
    wait_until(lambda: count_pending_due(clock.now()) == 0, 60, step=0.01)
    delivering = time.monotonic() - t0
    time.sleep(2)
    scheduler.stop()
    rss_after, peak = rss_mb()
    t1 = time.monotonic()
    service.fire_due()
    idle_tick = time.monotonic() - t1
    return {"deadlines": deadlines, "pending_alerts": 3 * deadlines, "setup_s": setup_s,
            "start_s": started, "overdue_fired_s": delivering, "idle_tick_ms": idle_tick * 1000,
            "rss_mb": rss_after, "rss_delta_mb": rss_after - rss_before, "peak_mb": peak}


def table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}\n" + "-" * len(title))
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds they fall due in")
    parser.add_argument("--deadlines", type=int, default=100_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("CARTRACK_ENVIRONMENT", "development")
    from cartrack.settings import get_settings

    poll = get_settings().scheduler_poll_seconds
    with tempfile.TemporaryDirectory(prefix="cartrack-bench-") as directory:
        results = [run_lateness(directory, "spread", args.alerts, args.window),
                   run_lateness(directory, "burst", args.alerts, 0.0)]
        for r in results:
            table(f"{r['alerts']:,} alerts due within {r['window_s']:.0f} s "
                  f"(SQLite, poll {poll} s)", [
                      ("delivered", f"{r['fired']:,} / {r['alerts']:,}"),
                      ("median lateness", f"{r['median_s']:.3f} s  (target < 1 s)"),
                      ("p99 lateness", f"{r['p99_s']:.3f} s"),
                      ("max lateness", f"{r['max_s']:.3f} s  (target < 5 s)")])
        s = run_startup(directory, args.deadlines)
        table(f"Start-up with {s['deadlines']:,} open deadlines "
              f"({s['pending_alerts']:,} pending alerts)", [
                  ("scheduler started", f"{s['start_s'] * 1000:.0f} ms"),
                  ("100 overdue alerts fired", f"{s['overdue_fired_s'] * 1000:.0f} ms after start"),
                  ("idle tick (nothing due)", f"{s['idle_tick_ms']:.1f} ms"),
                  ("resident memory", f"{s['rss_mb']:.0f} MB (scheduler added "
                                      f"{s['rss_delta_mb']:.1f} MB; peak {s['peak_mb']:.0f} MB)"),
                  ("(building the rows took", f"{s['setup_s']:.1f} s)")])


if __name__ == "__main__":
    main(sys.argv[1:])
