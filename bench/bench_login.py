"""Sign-in refusals cost the same whoever is asked about (no account enumeration by timing).

POST /api/auth/login through the app on a SQLite file, with production's argon2 profile
(RFC 9106 low memory), interleaved round by round:
- a wrong password for an existing, active user (the baseline);
- an unknown username (verified against a dummy hash);
- a wrong password for a locked user, and for a disabled user.
Each is shown as its median and as a ratio to the baseline's median (target: 0.9 to 1.1).

Run: .venv/bin/python -m bench.bench_login [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from cartrack import clock, demo
from cartrack.app import create_app
from cartrack.db import engine_for, new_session
from cartrack.migrate import upgrade
from cartrack.security import hash_password
from cartrack.settings import get_settings
from cartrack.users.models import User

PASSWORD = "bench-password-123"


def prepare(directory: str) -> None:
    url = f"sqlite:///{directory}/bench_login.db"
    os.environ.update({"CARTRACK_DATABASE_URL": url, "CARTRACK_PASSWORD_HASH_PROFILE": "standard",
                       # The baseline user must stay unlocked through every round.
                       "CARTRACK_LOGIN_MAX_FAILURES": "1000000"})
    get_settings.cache_clear()
    engine_for.cache_clear()
    upgrade(url)
    with new_session() as s:
        demo.seed_reference(s, PASSWORD)
        users = {u.username: u for u in s.exec(select(User)).all()}
        # Real accounts, not the demo's published-password ones: hashed at the standard cost,
        # as the dummy hash an unknown username is checked against is.
        for name in ("coordinator", "qa", "lab_tech"):
            users[name].password_hash = hash_password(PASSWORD)
        users["qa"].locked_until = clock.now() + timedelta(days=1)
        users["lab_tech"].active = False
        s.add_all([users["coordinator"], users["qa"], users["lab_tech"]])
        s.commit()


def measure(attempt: Callable[[], int], expected: int) -> float:
    started = time.perf_counter()
    status = attempt()
    elapsed = time.perf_counter() - started
    assert status == expected, status
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    os.environ.setdefault("CARTRACK_ENVIRONMENT", "development")
    with tempfile.TemporaryDirectory(prefix="cartrack-bench-") as directory:
        prepare(directory)
        with TestClient(create_app(start_scheduler=False)) as client:
            def login(username: str) -> Callable[[], int]:
                return lambda: client.post("/api/auth/login", json={
                    "username": username, "password": "not-the-password"}).status_code

            cases = {"wrong password, active user (baseline)": login("coordinator"),
                     "unknown username": login("nobody-by-this-name"),
                     "wrong password, locked user": login("qa"),
                     "wrong password, disabled user": login("lab_tech")}
            for attempt in cases.values():  # warm up
                measure(attempt, 401)
            times: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.rounds):
                for name, attempt in cases.items():
                    times[name].append(measure(attempt, 401))
    base = statistics.median(next(iter(times.values())))
    print(f"\nSign-in refusals, {args.rounds} rounds (argon2 standard profile, SQLite)\n")
    print(f"| {'path':<40} | {'median ms':>9} | {'ratio':>5} |")
    print(f"|{'-' * 42}|{'-' * 11}|{'-' * 7}|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name:<40} | {median * 1000:9.1f} | {median / base:5.2f} |")


if __name__ == "__main__":
    main()
