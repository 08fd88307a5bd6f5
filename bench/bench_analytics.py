"""Analytics benchmarks (the FHIR and analytics issue), each a ratio to a baseline in the same run.

1. The demo build: `cartrack demo`'s seed (a year of history through the journey, then today's
   cases), timed in-process on SQLite.
2. The analytics endpoints through the app (intervals, rates, waterfall, drill-down, CSV) on
   the demo, and on the demo copied to 10x its cases (case, timeline and deadline rows cloned
   with the bare driver). Baseline: a plain SELECT, with the bare driver, of the rows the
   analytics read (the visible cases, their milestone events and shipment deadlines).
   Reported: p50 per endpoint, its ratio to the baseline, and its growth from 1x to 10x.

Run: .venv/bin/python -m bench.bench_analytics [--requests 15]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from cartrack.analytics.milestones import EVENTS
from cartrack.app import create_app
from cartrack.db import engine_for, new_session
from cartrack.demo import seed
from cartrack.migrate import reset
from cartrack.settings import get_settings
from cartrack.users.models import User
from cartrack.users.service import open_session

PASSWORD = "bench-password-123"
ENDPOINTS = {
    "intervals v2v by product": ("/api/analytics/intervals",
                                 {"metric": "v2v", "group_by": "product"}),
    "intervals by product,month": ("/api/analytics/intervals",
                                   {"metric": "mfg_turnaround", "group_by": "product,month"}),
    "rates by product": ("/api/analytics/rates", {"group_by": "product"}),
    "waterfall": ("/api/analytics/waterfall", {}),
    "drill-down (50)": ("/api/analytics/cases", {"metric": "v2v"}),
    "export.csv": ("/api/analytics/export.csv", {}),
}


def configure(url: str) -> None:
    os.environ["CARTRACK_DATABASE_URL"] = url
    os.environ["CARTRACK_ENVIRONMENT"] = "test"
    get_settings.cache_clear()
    engine_for.cache_clear()


def build_demo(url: str) -> float:
    configure(url)
    reset(url)
    start = time.perf_counter()
    with new_session() as session:
        seed(session, PASSWORD)
        session.commit()
    return time.perf_counter() - start


def multiply(path: str, times: int) -> int:
    """Clone every case (with its timeline and deadlines) ``times - 1`` times; returns cases."""
    conn = sqlite3.connect(path, isolation_level=None)
    cur = conn.cursor()
    cases = cur.execute('SELECT count(*), max(id) FROM "case"').fetchone()
    count, top = int(cases[0]), int(cases[1])
    case_cols = [r[1] for r in cur.execute('PRAGMA table_info("case")') if r[1] not in ("id", "coi")]
    event_cols = [r[1] for r in cur.execute("PRAGMA table_info(case_event)")
                  if r[1] not in ("id", "case_id")]
    deadline_cols = [r[1] for r in cur.execute("PRAGMA table_info(deadline)")
                     if r[1] not in ("id", "case_id")]
    cur.execute("BEGIN")
    for k in range(1, times):
        shift = k * top
        cur.execute(f'INSERT INTO "case" (id, coi, {", ".join(case_cols)}) '
                    f"SELECT id + {shift}, printf('CHB%012d', id + {shift}), "
                    f'{", ".join(case_cols)} FROM "case" WHERE id <= {top}')
        cur.execute(f"INSERT INTO case_event (case_id, {', '.join(event_cols)}) "
                    f"SELECT case_id + {shift}, {', '.join(event_cols)} FROM case_event "
                    f"WHERE case_id <= {top}")
        cur.execute(f"INSERT INTO deadline (case_id, {', '.join(deadline_cols)}) "
                    f"SELECT case_id + {shift}, {', '.join(deadline_cols)} FROM deadline "
                    f"WHERE case_id <= {top}")
    cur.execute("COMMIT")
    conn.close()
    return count * times


def baseline(path: str) -> Callable[[], int]:
    """The rows the analytics read, selected with the bare driver (the floor)."""
    names = ", ".join(f"'{e}'" for e in EVENTS)

    def run() -> int:
        conn = sqlite3.connect(path)
        rows = conn.execute('SELECT id, coi, state, protocol_id, collection_site_id, '
                            'manufacturing_site_id, treatment_site_id FROM "case"').fetchall()
        rows += conn.execute(f"SELECT case_id, event, at, data FROM case_event WHERE event IN "
                             f"({names}) ORDER BY id").fetchall()
        rows += conn.execute("SELECT case_id, status, due_at FROM deadline WHERE kind = "
                             "'shipment_arrival'").fetchall()
        conn.close()
        return len(rows)

    return run


def p50(fn: Callable[[], object], n: int) -> float:
    fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(url: str, path: str, n: int) -> dict[str, float]:
    configure(url)
    with new_session() as s:
        user = s.exec(select(User).where(User.username == "coordinator")).one()
        token, _ = open_session(s, user, "bearer")
        s.commit()
    client = TestClient(create_app(start_scheduler=False))
    headers = {"Authorization": f"Bearer {token}"}
    out = {"baseline": p50(baseline(path), n)}
    for name, (route, params) in ENDPOINTS.items():
        def call(route: str = route, params: dict[str, str] = params) -> None:
            assert client.get(route, params=params, headers=headers).status_code == 200
        out[name] = p50(call, n)
    client.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=15)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cartrack-bench-analytics-"))
    demo = tmp / "demo.db"
    build_s = build_demo(f"sqlite:///{demo}")
    print(f"demo build (seed, in-process, SQLite): {build_s:.1f} s", flush=True)
    big = tmp / "demo-10x.db"
    engine_for(f"sqlite:///{demo}").dispose()
    with sqlite3.connect(demo) as src, sqlite3.connect(big) as dst:
        src.backup(dst)
    cases = multiply(str(big), 10)
    one = measure(f"sqlite:///{demo}", str(demo), args.requests)
    ten = measure(f"sqlite:///{big}", str(big), args.requests)
    print(f"\n| analytics (SQLite) | demo p50 ms | x baseline | 10x ({cases} cases) p50 ms "
          "| x baseline | 10x / 1x |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ["baseline", *ENDPOINTS]:
        print(f"| {name} | {one[name]:.1f} | {one[name] / one['baseline']:.1f} | "
              f"{ten[name]:.1f} | {ten[name] / ten['baseline']:.1f} | "
              f"{ten[name] / one[name]:.1f} |")


if __name__ == "__main__":
    main()
