"""`cartrack backup` / `cartrack restore` as a person runs them: a restore brings back exactly
the backed-up records; a backup whose audit chain was tampered with is refused and the live
database is left as it was."""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.helpers.journey import Journey
from tests.helpers.processes import run_cli

pytestmark = pytest.mark.realtime


def _cases(client: TestClient, auth: Any) -> set[int]:
    r = client.get("/api/cases", headers=auth["coordinator"])
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def test_a_restore_brings_back_exactly_the_backup(db_url: str, client: TestClient, auth: Any,
                                                  tmp_path: Path) -> None:
    j = Journey(client, auth)
    kept = j.enroll(mrn="MRN-KEPT")["id"]
    file = tmp_path / "cartrack.backup"
    done = run_cli("backup", str(file), url=db_url)
    assert done.returncode == 0 and file.stat().st_size > 0, done.stderr
    later = j.enroll(mrn="MRN-LATER")["id"]
    assert _cases(client, auth) == {kept, later}
    done = run_cli("restore", str(file), "--yes", url=db_url)
    assert done.returncode == 0, done.stderr
    assert "audit trail intact" in done.stdout
    assert _cases(client, auth) == {kept}
    assert run_cli("audit", "verify", url=db_url).returncode == 0


def test_restore_asks_before_replacing_the_data(db_url: str, tmp_path: Path) -> None:
    file = tmp_path / "cartrack.backup"
    assert run_cli("backup", str(file), url=db_url).returncode == 0
    done = run_cli("restore", str(file), url=db_url)  # no --yes and no one to answer
    assert done.returncode != 0


def _tamper_sqlite(file: Path) -> int:
    with closing(sqlite3.connect(file)) as conn:
        conn.execute("DROP TRIGGER audit_entry_no_update")
        row = conn.execute("SELECT max(id) FROM audit_entry").fetchone()[0]
        conn.execute("UPDATE audit_entry SET reason = 'rewritten' WHERE id = ?", (row,))
        conn.commit()
    return int(row)


def _tamper_postgres(db_url: str, file: Path, tmp_path: Path) -> tuple[Path, int]:
    admin = db_url.rsplit("/", 1)[0] + "/postgres"
    name = f"cartrack_tamper_{uuid.uuid4().hex[:8]}"
    url = db_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={url}", str(file)], check=True,
                       capture_output=True)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER TABLE audit_entry DISABLE TRIGGER USER")
            row = conn.execute("SELECT max(id) FROM audit_entry").fetchone()
            assert row is not None
            conn.execute("UPDATE audit_entry SET reason = 'rewritten' WHERE id = %s", (row[0],))
            conn.execute("ALTER TABLE audit_entry ENABLE TRIGGER USER")
        tampered = tmp_path / "tampered.backup"
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={tampered}",
                        f"--dbname={url}"], check=True, capture_output=True)
        return tampered, int(row[0])
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_backup_whose_audit_chain_was_altered_is_refused(
        backend: str, db_url: str, client: TestClient, auth: Any, tmp_path: Path) -> None:
    j = Journey(client, auth)
    first = j.enroll(mrn="MRN-1")["id"]
    file = tmp_path / "cartrack.backup"
    assert run_cli("backup", str(file), url=db_url).returncode == 0
    if backend == "sqlite":
        tampered, row = file, _tamper_sqlite(file)
    else:
        tampered, row = _tamper_postgres(db_url, file, tmp_path)
    second = j.enroll(mrn="MRN-2")["id"]
    done = run_cli("restore", str(tampered), "--yes", url=db_url)
    assert done.returncode == 1
    assert f"audit trail is BROKEN at row {row}" in done.stderr, done.stderr
    assert "nothing was restored" in done.stderr
    assert _cases(client, auth) == {first, second}  # the live database as it was
    assert run_cli("audit", "verify", url=db_url).returncode == 0


def test_a_file_that_is_no_backup_is_refused(db_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all" * 100)
    done = run_cli("restore", str(junk), "--yes", url=db_url)
    assert done.returncode == 1 and "restore refused" in done.stderr, done.stderr
