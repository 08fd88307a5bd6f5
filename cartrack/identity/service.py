"""Gap-free, duplicate-free sequence allocation for COIs and DINs, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from cartrack import clock
from cartrack.identity.identifiers import make_coi, make_din
from cartrack.identity.models import SequenceCounter


def next_value(session: Session, name: str) -> int:
    """Increment in the caller's transaction: a rollback gives the number back (no gap), and
    the row lock (PostgreSQL) or write lock (SQLite) hands each number out once."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(SequenceCounter).values(name=name, value=0)
                    .on_conflict_do_nothing(index_elements=["name"]))
    value = session.execute(
        update(SequenceCounter).where(col(SequenceCounter.name) == name)
        .values(value=col(SequenceCounter.value) + 1).returning(col(SequenceCounter.value))
    ).scalar_one()
    return int(value)


def allocate_coi(session: Session, fin: str) -> str:
    year = clock.now().year
    return make_coi(fin, year, next_value(session, f"coi:{fin}:{year % 100:02d}"))


def allocate_din(session: Session, fin: str) -> str:
    year = clock.now().year
    return make_din(fin, year, next_value(session, f"din:{fin}:{year % 100:02d}"))
