"""Logger import benchmark, through a real server (uvicorn on a loopback port).

A 2-8 °C apheresis shipment with a tracked shipper and logger; its logger CSV of N readings
(default 100,000, one a minute, with warm runs so the excursion engine has work) is streamed
to POST /api/shipments/{id}/readings in 64 KiB chunks. Reported: the first import (insert,
analysis, excursions), the re-import of the same file (every row a duplicate), the file size
and the server's answer. SQLite by default; --database-url for PostgreSQL.

Run: .venv/bin/python -m bench.bench_shipments [--readings 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import select

from bench.bench_scans import free_port, start_server
from cartrack import demo
from cartrack.db import engine_for, new_session
from cartrack.journey import events as sc
from cartrack.journey import service as journey
from cartrack.migrate import upgrade
from cartrack.security import load_principal
from cartrack.settings import get_settings
from cartrack.shipments import catalog
from cartrack.shipments.models import LoggerIn, Shipment, ShipperIn
from cartrack.users.models import User
from cartrack.users.service import open_session

PASSWORD = "bench-password-123"


def prepare(url: str) -> tuple[int, str]:
    """Reference data, one collected case shipped with shipper CF-B1 and logger LG-B1."""

    os.environ["CARTRACK_DATABASE_URL"] = url
    get_settings.cache_clear()
    engine_for.cache_clear()
    upgrade(url)
    with new_session() as s:
        demo.seed_reference(s, PASSWORD)
        people = {u.username: load_principal(s, u, "bench") for u in s.exec(select(User)).all()}
        case = journey.enroll(s, people["coordinator"], sc.EnrollIn(
            patient=sc.PatientIn(given_name="Bench", family_name="Patient",
                                 date_of_birth=date(1960, 1, 1), mrn="MRN-BENCH"),
            product="yescarta", collection_site="TC-CITY", manufacturing_site="MF-EAST",
            treatment_site="TC-CITY"))
        s.flush()
        demo._schedule(s, people, case, PASSWORD)
        demo._collect(s, people, case, PASSWORD)
        packer = people["collection_staff"]
        catalog.add_shipper(s, packer, ShipperIn(
            serial="CF-B1", model="CF-45", profile_code="fresh_2_8",
            qualified_until=date(2099, 1, 1), nominal_hold_hours=30))
        catalog.add_logger(s, packer, LoggerIn(serial="LG-B1", model="bench logger",
                                               calibrated_until=date(2099, 1, 1),
                                               sensor_min_c=-40, sensor_max_c=85))
        demo._event(s, packer, case, "ship_to_manufacturing", {
            "scans": demo._scans(s, case, "apheresis"), "shipper_type": "2-8 °C shipper",
            "shipper_serial": "CF-B1", "logger_serial": "LG-B1", "seal_id": "SEAL-B1"})
        shipment = s.exec(select(Shipment).where(Shipment.case_id == case.id)).one()
        token, _ = open_session(s, s.exec(select(User).where(
            User.username == "collection_staff")).one(), "bearer")
        s.commit()
        shipment_id = shipment.id or 0
    engine_for(url).dispose()
    return shipment_id, token


def csv_lines(n: int) -> Iterator[bytes]:
    start = datetime(2026, 11, 28, tzinfo=UTC)
    yield b"logger_serial,timestamp,temp_c\n"
    for i in range(n):
        at = (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        warm = i % 1440 in range(600, 640)  # 40 warm minutes a day
        temp = 9.5 if warm else 4.0 + (i % 7) * 0.25
        yield f"LG-B1,{at},{temp:.2f}\n".encode()


def chunks(n: int, size: int = 65536) -> Iterator[bytes]:
    buf = bytearray()
    for line in csv_lines(n):
        buf += line
        if len(buf) >= size:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)


def post(base: str, shipment_id: int, token: str, n: int) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    r = httpx.post(f"{base}/api/shipments/{shipment_id}/readings", content=chunks(n),
                   headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
                   timeout=600)
    elapsed = time.perf_counter() - started
    r.raise_for_status()
    return elapsed, dict(r.json())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite:///{directory}/bench_shipments.db"
        shipment_id, token = prepare(url)
        size = sum(len(c) for c in chunks(args.readings))
        port = free_port()
        server = start_server(url, port)
        try:
            base = f"http://127.0.0.1:{port}"
            first, body = post(base, shipment_id, token, args.readings)
            again, body2 = post(base, shipment_id, token, args.readings)
        finally:
            server.terminate()
            server.wait(timeout=30)
    backend = "postgresql" if url.startswith("postgres") else "sqlite"
    print(f"| logger CSV import ({backend}) | readings | file MB | seconds | readings/s |")
    print("|---|---:|---:|---:|---:|")
    for name, secs, b in (("first import", first, body), ("re-import (duplicates)", again,
                                                          body2)):
        print(f"| {name}: inserted {b['inserted']}, duplicates {b['duplicates']}, "
              f"excursions {len(b['excursions'])} | {args.readings} | {size / 1e6:.1f} | "
              f"{secs:.2f} | {args.readings / secs:,.0f} |")
    s = body["summary"]
    print(f"\nsummary: points {s['points']}, min {s['min_c']} °C, max {s['max_c']} °C, "
          f"mean {s['mean_c']} °C, MKT {s['mkt_c']} °C, trip {s['trip_minutes']:.0f} min")


if __name__ == "__main__":
    main()
