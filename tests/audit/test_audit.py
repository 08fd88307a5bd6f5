"""The Part 11 audit trail: append-only by database triggers, hash-chained, verifiable."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cartrack.db import get_engine
from tests.helpers.journey import Journey

CLI = [sys.executable, "-m", "cartrack.cli"]


def _verify() -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "audit", "verify"], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET printed_name = 'Mallory' WHERE id = 1",
    "DELETE FROM audit_entry WHERE id = 1",
    "UPDATE signature SET meaning = 'Rejected'",
])
def test_triggers_refuse_changes_to_the_trail(db_url: str, client: Any, auth: Any,
                                              statement: str) -> None:

    case = Journey(client, auth).enroll()
    Journey(client, auth).ok("coordinator", case["id"], "cancel", {"reason": "test cancel"},
                             sign=True)
    with pytest.raises(DBAPIError, match="append-only"), get_engine().begin() as conn:
        conn.execute(text(statement))


def test_verify_walks_the_chain(db_url: str, client: Any, auth: Any) -> None:

    Journey(client, auth).enroll()
    out = _verify()
    assert out.returncode == 0, out.stderr
    assert "audit trail intact" in out.stdout
    with get_engine().connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM audit_entry")).scalar()
    assert f"{count} rows" in out.stdout


def _bypass_triggers(conn: Any) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
    else:
        conn.execute(text("DROP TRIGGER audit_entry_no_update"))
        conn.execute(text("DROP TRIGGER audit_entry_no_delete"))


def test_verify_names_the_first_altered_row(db_url: str, client: Any, auth: Any) -> None:

    Journey(client, auth).enroll()
    with get_engine().begin() as conn:
        _bypass_triggers(conn)
        target = conn.execute(text("SELECT id FROM audit_entry ORDER BY id LIMIT 1 OFFSET 5")
                              ).scalar()
        conn.execute(text("UPDATE audit_entry SET printed_name = 'Mallory' WHERE id = :i"),
                     {"i": target})
    out = _verify()
    assert out.returncode == 1
    assert f"row {target}" in out.stderr and "altered" in out.stderr


def test_verify_detects_a_removed_row(db_url: str, client: Any, auth: Any) -> None:

    Journey(client, auth).enroll()
    with get_engine().begin() as conn:
        _bypass_triggers(conn)
        target = conn.execute(text("SELECT id FROM audit_entry ORDER BY id LIMIT 1 OFFSET 3")
                              ).scalar()
        conn.execute(text("DELETE FROM audit_entry WHERE id = :i"), {"i": target})
    out = _verify()
    assert out.returncode == 1
    assert f"row {target + 1}" in out.stderr and "removed" in out.stderr


def test_concurrent_writers_keep_one_chain(db_url: str, client: Any, auth: Any) -> None:


    j = Journey(client, auth)
    cases = [j.enroll(mrn=f"M{i}")["id"] for i in range(4)]

    def hold(cid: int) -> None:
        j.ok("coordinator", cid, "hold", {"reason": "parallel hold"})

    threads = [threading.Thread(target=hold, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _verify().returncode == 0
