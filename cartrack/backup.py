"""`cartrack backup FILE` and `cartrack restore FILE`.

- SQLite: an online, consistent copy through SQLite's backup API (writers may keep writing).
- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot; `--serializable-deferrable`
  waits for a snapshot no concurrent transaction can make anomalous) without owners or
  privileges, so it restores into another role's database. The password goes to pg_dump in
  PGPASSWORD, never on its command line.

A restore first loads the backup somewhere harmless (the file itself for SQLite, a scratch
database for PostgreSQL) and walks its audit hash chain: a backup whose chain does not verify
is refused and the live database is left as it was. Only then does it replace the live data,
in one step (SQLite's backup API; `pg_restore --single-transaction`), and migrate the result
to this version's schema. Stop the API and the scheduler while restoring.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import Session

from cartrack.audit.service import VerifyResult, verify_chain
from cartrack.db import make_engine
from cartrack.migrate import alembic_config, upgrade

PG_DUMP_FLAGS = ["--format=custom", "--no-owner", "--no-privileges", "--serializable-deferrable"]
PG_RESTORE_FLAGS = ["--no-owner", "--no-privileges", "--exit-on-error"]


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why."""


class RestoreRefused(BackupError):
    def __init__(self, message: str, result: VerifyResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class Restored:
    audit_rows: int


def _sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[1])


def _is_pg(url: str) -> bool:
    return url.startswith(("postgresql", "postgres"))


# ---- backup ----------------------------------------------------------------------------------


def backup(url: str, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    if _is_pg(url):
        _pg_run("pg_dump", url, [*PG_DUMP_FLAGS, f"--file={partial}"])
    else:
        with closing(sqlite3.connect(_sqlite_path(url))) as src, \
                closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
    partial.replace(target)  # a backup file is whole or absent


# ---- restore ---------------------------------------------------------------------------------


def verify(url: str) -> VerifyResult:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return verify_chain(session)
    finally:
        engine.dispose()


def restore(url: str, source: Path) -> Restored:
    if not source.is_file():
        raise RestoreRefused(f"{source} is not a file.")
    with _loaded(url, source) as loaded_url:
        _check_revision(loaded_url)
        result = verify(loaded_url)
        if not result.ok:
            raise RestoreRefused(
                f"the backup's audit trail is BROKEN at row {result.broken_id}: {result.problem} "
                f"({result.rows} rows verified before it); nothing was restored", result)
    if _is_pg(url):
        _pg_run("pg_restore", url, [*PG_RESTORE_FLAGS, "--clean", "--if-exists",
                                    "--single-transaction", str(source)])
    else:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                closing(sqlite3.connect(_sqlite_path(url))) as dst:
            src.backup(dst)
    upgrade(url)
    return Restored(audit_rows=result.rows)


@contextmanager
def _loaded(url: str, source: Path) -> Iterator[str]:
    """The backup, readable as a database, without touching the live one."""
    if not _is_pg(url):
        _check_sqlite(source)
        yield f"sqlite:///{source}"
        return
    scratch = f"cartrack_restore_{uuid.uuid4().hex[:10]}"
    admin = _with_database(url, "postgres")
    with psycopg.connect(_plain(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    try:
        _pg_run("pg_restore", _with_database(url, scratch), [*PG_RESTORE_FLAGS, str(source)])
        yield _with_database(url, scratch)
    finally:
        with psycopg.connect(_plain(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def _check_sqlite(source: Path) -> None:
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as conn:
            conn.execute("SELECT count(*) FROM audit_entry").fetchone()
    except sqlite3.DatabaseError as exc:
        raise RestoreRefused(f"{source} is not a cartrack SQLite backup ({exc}).") from exc


def _check_revision(url: str) -> None:
    """A backup made by a newer cartrack (a migration this code does not know) is refused."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revisions = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config("")).walk_revisions()}
    unknown = [r for r in revisions if r not in known]
    if unknown or not revisions:
        raise RestoreRefused(f"the backup's schema ({', '.join(revisions) or 'none'}) is not one "
                             "this version of cartrack knows; nothing was restored")


# ---- PostgreSQL command-line tools ------------------------------------------------------------


def _plain(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(_plain(url))
    return urlunsplit(parts._replace(path="/" + name))


def _pg_run(tool: str, url: str, args: list[str]) -> None:
    """Run pg_dump or pg_restore against `url`; the password travels in PGPASSWORD."""
    parts = urlsplit(_plain(url))
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    dsn = urlunsplit(parts._replace(netloc=netloc))
    done = subprocess.run([tool, f"--dbname={dsn}", *args], env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-2000:]}")
