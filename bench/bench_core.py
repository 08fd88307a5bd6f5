"""Core benchmarks (the chain-of-identity issue), each a ratio to a baseline in the same run.

1. Applying events through the one service function (role/site/state/guard checks, version
   bump, timeline event, audit row with its hash chain) against a raw INSERT/UPDATE loop
   writing the same rows with the bare driver, one transaction per event. SQLite always;
   PostgreSQL when CARTRACK_BENCH_POSTGRES_URL (or CARTRACK_TEST_POSTGRES_URL) is set.
   Beside it, the engine's statements alone through SQLAlchemy (no rules): the ceiling any
   engine on SQLAlchemy sessions can reach against that raw loop.
2. The case list with 10,000 cases and 1,000,000 audit rows (SQLite): p95 latency of the first
   page through the app, and the number of SQL statements per request with 100 and with
   10,000 cases (must not grow).
3. `cartrack audit verify` over 1,000,000 rows against a plain SELECT of the same rows.

Run: .venv/bin/python -m bench.bench_core [--events 2000] [--cases 10000] [--audit 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import bindparam, event, insert, update
from sqlmodel import select

from cartrack.app import create_app
from cartrack.audit.service import GENESIS, _audit_rows, entry_hash, verify_chain
from cartrack.db import engine_for, get_engine, new_session
from cartrack.demo import seed_reference
from cartrack.journey import events as sc
from cartrack.journey.models import Case
from cartrack.journey.service import apply_event, enroll
from cartrack.migrate import reset
from cartrack.security import load_principal
from cartrack.settings import get_settings
from cartrack.users.models import User

PASSWORD = "bench-password-123"


def configure(url: str) -> None:
    os.environ["CARTRACK_DATABASE_URL"] = url
    os.environ["CARTRACK_ENVIRONMENT"] = "test"
    get_settings.cache_clear()
    engine_for.cache_clear()


def fresh_database(url: str) -> None:
    configure(url)
    reset(url)
    with new_session() as session:
        seed_reference(session, PASSWORD)
        session.commit()


def principal(username: str) -> Any:
    with new_session() as s:
        user = s.exec(select(User).where(User.username == username)).one()
        return load_principal(s, user, "bench")


def enroll_one(coordinator: Any) -> int:
    with new_session() as s:
        case = enroll(s, coordinator, sc.EnrollIn(
            patient=sc.PatientIn(given_name="Bench", family_name="Patient",
                                 date_of_birth=date(1970, 1, 1), mrn="B-1"),
            product="yescarta", collection_site="TC-CITY", manufacturing_site="MF-EAST",
            treatment_site="TC-CITY"))
        s.commit()
        return int(case.id or 0)


# ---- 1. events against a raw loop ------------------------------------------------------


def events_per_second(url: str, n: int) -> float:
    """hold / resume alternating: each is a full event through apply_event."""
    fresh_database(url)
    coordinator = principal("coordinator")
    case_id = enroll_one(coordinator)
    adapter = TypeAdapter(sc.EventIn)
    bodies = [adapter.validate_python({"event": e, "data": {"reason": "benchmark toggle"}})
              for e in ("hold", "resume")]
    start = time.perf_counter()
    for i in range(n):
        with new_session() as s:
            apply_event(s, coordinator, case_id, bodies[i % 2])
            s.commit()
    return n / (time.perf_counter() - start)


def raw_rows_per_second(url: str, n: int) -> float:
    """The same rows an event writes (case update, timeline event, audit row), bare driver."""
    fresh_database(url)
    coordinator = principal("coordinator")
    case_id = enroll_one(coordinator)
    conn, ph = _raw_connection(url)
    now = datetime.now(UTC).isoformat()
    data = json.dumps({"reason": "benchmark toggle"})
    start = time.perf_counter()
    cur = conn.cursor()
    for i in range(n):
        state = "on_hold" if i % 2 == 0 else "enrolled"
        cur.execute("BEGIN")
        cur.execute(f'UPDATE "case" SET state={ph}, version=version+1, updated_at={ph} '
                    f"WHERE id={ph}", (state, now, case_id))
        cur.execute("INSERT INTO case_event (case_id, event, from_state, to_state, actor_id, "
                    f"actor_name, site_id, at, data, reason) VALUES ({ph},{ph},{ph},{ph},{ph},"
                    f"{ph},{ph},{ph},{ph},{ph})",
                    (case_id, "hold", "enrolled", state, coordinator.id, coordinator.name, 1, now,
                     data, "benchmark toggle"))
        cur.execute("INSERT INTO audit_entry (at, user_id, printed_name, action, entity, "
                    "entity_id, case_id, old, new, reason, prev_hash, hash) VALUES "
                    f"({ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph})",
                    (now, coordinator.id, coordinator.name, "hold", "case", str(case_id),
                     case_id, data, data, "benchmark toggle", "0" * 64, "1" * 64))
        cur.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


def core_floor_per_second(url: str, n: int) -> float:
    """The engine's statements with no rules: claim the case (UPDATE ... RETURNING), read the
    chain head, write the case, the timeline event and the audit row, as prebuilt Core
    statements in a Session. The ceiling of any engine on SQLAlchemy sessions, shown beside
    the raw loop so the two ratios can be read together."""
    fresh_database(url)
    coordinator = principal("coordinator")
    case_id = enroll_one(coordinator)
    tables = Case.metadata.tables
    case, event, audit = tables["case"], tables["case_event"], tables["audit_entry"]
    claim = (update(case).where(case.c.id == bindparam("cid"))
             .values(version=case.c.version + 1).returning(*case.c))
    head = select(audit.c.hash).order_by(audit.c.id.desc()).limit(1)
    save = update(case).where(case.c.id == bindparam("cid"))
    add_event, add_audit = insert(event), insert(audit)
    reason = "benchmark toggle"
    start = time.perf_counter()
    for i in range(n):
        now = datetime.now(UTC)
        state = "on_hold" if i % 2 == 0 else "enrolled"
        with new_session() as s:
            s.execute(claim, {"cid": case_id}).one()
            prev = s.execute(head).scalar() or "0" * 64
            s.execute(save, {"cid": case_id, "state": state, "updated_at": now})
            s.execute(add_event, {"case_id": case_id, "event": "hold", "from_state": "enrolled",
                                  "to_state": state, "actor_id": coordinator.id,
                                  "actor_name": coordinator.name, "site_id": 1, "at": now,
                                  "data": {"reason": reason}, "reason": reason})
            digest = hashlib.sha256(json.dumps([prev, i, reason]).encode()).hexdigest()
            s.execute(add_audit, {"at": now, "user_id": coordinator.id,
                                  "printed_name": coordinator.name, "action": "hold",
                                  "entity": "case", "entity_id": str(case_id),
                                  "case_id": case_id, "old": {"state": "enrolled"},
                                  "new": {"state": state}, "reason": reason,
                                  "prev_hash": prev, "hash": digest})
            s.commit()
    return n / (time.perf_counter() - start)


def _raw_connection(url: str) -> tuple[Any, str]:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn, "?"
    return psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True), "%s"


# ---- 2. the case list ------------------------------------------------------------------


def bulk_cases(url: str, count: int) -> None:
    """Cases with a patient, an open deadline and an audit row each, inserted in bulk."""
    conn, ph = _raw_connection(url)
    cur = conn.cursor()
    cur.execute("BEGIN")
    now = datetime.now(UTC)
    base = _max_id(cur, "case")
    for i in range(count):
        cid = base + i + 1
        stamp = (now - timedelta(minutes=i)).isoformat()
        cur.execute("INSERT INTO patient (id, given_name, family_name, date_of_birth, mrn, "
                    f"treatment_site_id, created_at) VALUES ({ph},{ph},{ph},{ph},{ph},1,{ph})",
                    (cid, "Bulk", f"Patient{cid}", "1970-01-01", f"M{cid}", stamp))
        cur.execute('INSERT INTO "case" (id, coi, patient_id, protocol_id, collection_site_id, '
                    "manufacturing_site_id, treatment_site_id, state, version, next_process_step, "
                    f"created_at, updated_at, milestones) VALUES ({ph},{ph},{ph},1,1,3,1,"
                    f"'collection_scheduled',1,0,{ph},{ph},'{{}}')",
                    (cid, f"CHB{cid:012d}", cid, stamp, stamp))
        cur.execute("INSERT INTO deadline (case_id, kind, label, opened_at, due_at, status) "
                    f"VALUES ({ph},'collection_due','Apheresis collection due',{ph},{ph},'open')",
                    (cid, stamp, (now + timedelta(days=1, minutes=i)).isoformat()))
    cur.execute("COMMIT")
    conn.close()


def _max_id(cur: Any, table: str) -> int:
    cur.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"')
    return int(cur.fetchone()[0])


def bulk_audit(url: str, count: int) -> None:
    """A valid hash chain of ``count`` rows appended to the existing trail."""
    conn, ph = _raw_connection(url)
    cur = conn.cursor()
    cur.execute("SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1")
    row = cur.fetchone()
    prev = row[0] if row else GENESIS
    now = datetime.now(UTC)
    sql = ("INSERT INTO audit_entry (at, user_id, printed_name, action, entity, entity_id, "
           "case_id, old, new, reason, prev_hash, hash) VALUES "
           f"({ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph},{ph})")
    batch = []
    cur.execute("BEGIN")
    for i in range(count):
        at = now + timedelta(microseconds=i)
        old, new = {"state": "enrolled"}, {"state": "on_hold", "n": i}
        digest = entry_hash(prev, at, 2, "Cora Coordinator", "hold", "case", str(i % 10000 + 1),
                            old, new, "bulk")
        batch.append((at.replace(tzinfo=None).isoformat(sep=" "), 2, "Cora Coordinator", "hold",
                      "case", str(i % 10000 + 1), i % 10000 + 1, json.dumps(old),
                      json.dumps(new), "bulk", prev, digest))
        prev = digest
        if len(batch) == 10_000:
            cur.executemany(sql, batch)
            batch.clear()
    if batch:
        cur.executemany(sql, batch)
    cur.execute("COMMIT")
    conn.close()


@contextmanager
def count_statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def case_list_figures(url: str, cases: int, audit_rows: int, requests: int) -> dict[str, float]:
    fresh_database(url)
    bulk_cases(url, 100)
    client = TestClient(create_app(start_scheduler=False))
    token = client.post("/api/auth/token", data={"username": "coordinator",
                                                 "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.get("/api/cases", headers=headers)
    with count_statements() as small:
        assert client.get("/api/cases", headers=headers).status_code == 200
    bulk_cases(url, cases - 100)
    bulk_audit(url, audit_rows)
    client.get("/api/cases", headers=headers)  # settles the session's periodic last-seen write
    with count_statements() as large:
        assert client.get("/api/cases", headers=headers).json()["total"] == cases
    latencies = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get("/api/cases", headers=headers)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    return {"p50_ms": statistics.median(latencies),
            "p95_ms": latencies[int(0.95 * len(latencies)) - 1],
            "statements_100": len(small), "statements_large": len(large)}


# ---- 3. audit verify -------------------------------------------------------------------


def verify_figures() -> dict[str, float]:
    with new_session(read_only=True) as s:
        start = time.perf_counter()
        rows = sum(1 for _ in _audit_rows(s))
        select_s = time.perf_counter() - start
    with new_session(read_only=True) as s:
        start = time.perf_counter()
        result = verify_chain(s)
        verify_s = time.perf_counter() - start
    assert result.ok, result
    return {"rows": rows, "select_s": select_s, "verify_s": verify_s}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cartrack-bench-"))
    targets = [("SQLite", f"sqlite:///{tmp / 'events.db'}")]
    pg = os.environ.get("CARTRACK_BENCH_POSTGRES_URL") or os.environ.get(
        "CARTRACK_TEST_POSTGRES_URL")
    if pg:
        targets.append(("PostgreSQL", _pg_bench_db(pg)))
    rows = []
    for name, url in targets:
        events = events_per_second(url, args.events)
        raw = raw_rows_per_second(url, args.events)
        floor = core_floor_per_second(url, args.events)
        rows.append((f"events/s ({name})", f"{events:,.0f}", f"raw loop {raw:,.0f}/s",
                     f"{events / raw:.2f}", ">= 0.25"))
        rows.append((f"  Core statements alone ({name})", f"{floor:,.0f}",
                     f"raw loop {raw:,.0f}/s", f"{floor / raw:.2f}", "ceiling"))
        rows.append((f"  events vs Core statements alone ({name})", f"{events:,.0f}",
                     f"{floor:,.0f}/s", f"{events / floor:.2f}", "-"))
    figures = case_list_figures(f"sqlite:///{tmp / 'list.db'}", args.cases, args.audit,
                                args.requests)
    rows.append((f"case list p95 ({args.cases:,} cases, {args.audit:,} audit rows)",
                 f"{figures['p95_ms']:.1f} ms", f"p50 {figures['p50_ms']:.1f} ms", "-", "< 50 ms"))
    rows.append(("SQL statements per case-list request", f"{figures['statements_large']}",
                 f"with 100 cases: {figures['statements_100']}",
                 f"{figures['statements_large'] / figures['statements_100']:.2f}", "= 1.00"))
    verify = verify_figures()
    rows.append((f"audit verify ({verify['rows']:,.0f} rows)", f"{verify['verify_s']:.2f} s",
                 f"plain SELECT {verify['select_s']:.2f} s",
                 f"{verify['verify_s'] / verify['select_s']:.2f}", "<= 3.00"))
    _print_table(rows)


def _pg_bench_db(url: str) -> str:
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS cartrack_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE cartrack_bench")
    return url.rsplit("/", 1)[0] + "/cartrack_bench"


def _print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("measure", "value", "baseline", "ratio", "target")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
