"""Scan station benchmark, on a SQLite file (the embedded default), through a real server.

1. POST /api/scans through uvicorn on a free loopback port: requests per second, p50 and p99
   latency, for a matching scan, a matching scan for a step (allowed actions, role and site
   checks) and a forged label (mismatch); each as a ratio to a bare endpoint of the same app
   (same middleware and client, no auth, no database) that returns a constant, and to a
   "plumbing" endpoint with a scan's authentication, role check, one audit row and commit,
   but none of its rules. Every scan writes its custody event and audit entry, as in
   production. Beside req/s, the server process's CPU time per request (from /proc), whose
   ratio is steadier on a shared machine.
2. Rendering: a PDF sheet of 100 labels against rendering the 100 QR images alone.

Run: .venv/bin/python -m bench.bench_scans [--requests 2000] [--workers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Depends
from sqlmodel import select

from cartrack import demo
from cartrack.app import create_app
from cartrack.audit import service as audit
from cartrack.db import SessionDep, engine_for, new_session, run_to_end
from cartrack.identity.identifiers import make_coi, make_din, make_unit_id
from cartrack.journey import events as sc
from cartrack.journey import service as journey
from cartrack.labels.layout import clear_cache
from cartrack.labels.payload import KeyRing, key_ring, sign_unit
from cartrack.labels.qr import qr_png
from cartrack.labels.render import labels_pdf
from cartrack.labels.templates import SHIPPED, LabelValues, compose, sample_values
from cartrack.migrate import upgrade
from cartrack.scans.routes import SCAN_ACCESS
from cartrack.security import Principal, load_principal
from cartrack.settings import get_settings
from cartrack.units.models import Unit
from cartrack.users.models import User
from cartrack.users.service import open_session

PASSWORD = "bench-password-123"
BARE_PATH = "/api/bench/bare"
PLUMBING_PATH = "/api/bench/plumbing"


# ---- the app under test ----------------------------------------------------------------


def bench_app() -> Any:
    """The production app plus two reference endpoints, for this benchmark's server only: a
    bare one, and one with a scan's plumbing but none of its rules (authentication and a role
    check, one audit row written, the commit in the route's hop as a scan's)."""
    app = create_app(start_scheduler=False)

    @app.post(BARE_PATH, include_in_schema=False)
    def bare() -> dict[str, bool]:
        return {"ok": True}

    @app.post(PLUMBING_PATH, include_in_schema=False)
    async def plumbing(session: SessionDep,
                       principal: Principal = Depends(SCAN_ACCESS)) -> dict[str, str]:
        digest = await run_to_end(session, lambda: audit.record(
            session, user_id=principal.id, printed_name=principal.name, action="bench",
            entity="bench", entity_id=0))
        return {"hash": digest}

    # The reference routes must win over the UI's catch-all, which was added first.
    for _ in range(2):
        app.router.routes.insert(0, app.router.routes.pop())
    return app


# ---- a prepared database ---------------------------------------------------------------


@dataclass
class Prepared:
    url: str
    token: str
    unit_payload: str
    forged_payload: str


def prepare(directory: str) -> Prepared:
    """A migrated SQLite file with the reference data and one case with two labeled bags."""
    url = f"sqlite:///{directory}/bench_scans.db"
    os.environ["CARTRACK_DATABASE_URL"] = url
    get_settings.cache_clear()
    engine_for.cache_clear()
    upgrade(url)
    with new_session() as s:
        demo.seed_reference(s, PASSWORD)
        people = {u.username: load_principal(s, u, "bench") for u in s.exec(select(User)).all()}
        case = journey.enroll(s, people["coordinator"], sc.EnrollIn(
            patient=sc.PatientIn(given_name="Bench", family_name="Patient",
                                 date_of_birth="1960-01-01", mrn="MRN-BENCH"),  # type: ignore[arg-type]
            product="yescarta", collection_site="TC-CITY", manufacturing_site="MF-EAST",
            treatment_site="TC-CITY"))
        s.flush()
        demo._schedule(s, people, case, PASSWORD)
        demo._collect(s, people, case, PASSWORD)
        unit = s.exec(select(Unit).where(Unit.case_id == case.id)).first()
        assert unit is not None
        payload = sign_unit(key_ring(), unit.unit_id, case.coi)
        nurse = s.exec(select(User).where(User.username == "collection_staff")).one()
        token, _ = open_session(s, nurse, "bearer")
        s.commit()
    engine_for(url).dispose()
    forged = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    return Prepared(url, token, payload, forged)


# ---- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CARTRACK_DATABASE_URL": url, "CARTRACK_SCHEDULER_ENABLED": "false",
           "CARTRACK_TOKEN_MINUTES": "600"}
    cmd = [sys.executable, "-m", "uvicorn", "bench.bench_scans:bench_app", "--factory",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
           "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the benchmark server did not start")


# ---- the load --------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    server_cpu: float = 0.0  # seconds of the server process's CPU for these requests

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu / self.requests * 1000

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds of a process, from /proc (Linux); 0 elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(base: str, name: str, path: str, body: dict[str, Any], headers: dict[str, str],
               requests: int, workers: int, server_pid: int = 0) -> Result:
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        for _ in range(50):  # warm-up: connections, caches, the first query plans
            await client.post(path, json=body, headers=headers)
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                r = await client.post(path, json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        started, cpu = time.perf_counter(), process_cpu(server_pid)
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - started
    return Result(name, requests, elapsed, latencies, statuses,
                  process_cpu(server_pid) - cpu)


def run_http(prepared: Prepared, requests: int, workers: int) -> list[Result]:
    port = free_port()
    server = start_server(prepared.url, port)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {prepared.token}"}
    scenarios = [
        ("bare endpoint (constant)", BARE_PATH, {"payload": prepared.unit_payload}, {}),
        ("plumbing (auth, 1 audit row)", PLUMBING_PATH, {"payload": prepared.unit_payload},
         auth),
        ("scan: match", "/api/scans", {"payload": prepared.unit_payload + "\r\n"}, auth),
        ("scan: match for a step", "/api/scans",
         {"payload": prepared.unit_payload, "action": "ship_to_manufacturing",
          "location": "Bay 1"}, auth),
        ("scan: forged (mismatch)", "/api/scans", {"payload": prepared.forged_payload}, auth),
    ]
    try:
        return [asyncio.run(load(base, name, path, body, headers, requests, workers, server.pid))
                for name, path, body, headers in scenarios]
    finally:
        server.terminate()
        server.wait(timeout=30)


# ---- rendering -------------------------------------------------------------------------


def best_of(fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def run_render(count: int = 100) -> list[tuple[str, float]]:
    ring = KeyRing.from_config("B1:bench-render-secret", "", "unused")
    coi = make_coi("A9999", 2026, 42)
    fields = dict(sample_values("product").fields, product="Yescarta (axicabtagene ciloleucel)",
                  patient_name="PATIENT, Bench", date_of_birth="1960-01-01")
    labels = []
    for i in range(count):
        unit_id = make_unit_id(make_din("A9999", 2026, 1000 + i), 1)
        labels.append(LabelValues("product", sign_unit(ring, unit_id, coi), coi, unit_id, fields))

    def sheet() -> bytes:
        clear_cache()
        return labels_pdf([face for values in labels
                           for face in compose(SHIPPED["product"], values, "4x4in")])

    labels_pdf(compose(SHIPPED["product"], labels[0], "4x4in"))  # fonts registered, imports done
    qr_only = best_of(lambda: [qr_png(label.payload) for label in labels])
    sheet_time = best_of(sheet)
    return [(f"{count} QR images alone (PNG)", qr_only),
            (f"PDF sheet of {count} labels (4x4in, laid out)", sheet_time)]


# ---- report ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cartrack-bench-scans-") as directory:
        prepared = prepare(directory)
        results = run_http(prepared, args.requests, args.workers)
    bare, plumbing = results[0].rps, results[1].rps
    print(f"\nPOST through uvicorn, SQLite, {args.requests} requests per row, "
          f"{args.workers} concurrent workers (httpx connection pool)\n")
    bare_cpu = results[0].cpu_ms
    print(f"{'endpoint':<28} {'req/s':>8} {'ratio':>7} {'vs plumb':>8} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'cpu ms':>7} {'ratio':>7}  statuses")
    for r in results:
        cpu_ratio = bare_cpu / r.cpu_ms if r.cpu_ms else float("nan")
        print(f"{r.name:<28} {r.rps:>8.0f} {r.rps / bare:>7.2f} {r.rps / plumbing:>8.2f} "
              f"{r.pct(0.50):>8.1f} {r.pct(0.99):>8.1f} {r.cpu_ms:>7.2f} {cpu_ratio:>7.2f}  "
              f"{dict(sorted(r.statuses.items()))}")
    print("\nratio: against the bare endpoint; vs plumb: against the endpoint with a scan's "
          "plumbing and none of its rules.\ncpu ms: the server process's CPU per request; its "
          "ratio (bare / this) moves less with machine load than req/s does.")
    rendered = run_render()
    print(f"\n{'rendering (best of 3)':<36} {'seconds':>8} {'ratio':>7}")
    base = rendered[0][1]
    for name, seconds in rendered:
        print(f"{name:<36} {seconds:>8.3f} {seconds / base:>7.2f}")


if __name__ == "__main__":
    main()
