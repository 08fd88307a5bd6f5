from __future__ import annotations

from sqlmodel import Field, SQLModel


class SequenceCounter(SQLModel, table=True):
    """One counter per (kind, FIN, year); incremented inside the transaction that uses it."""

    __tablename__ = "sequence_counter"

    name: str = Field(primary_key=True, max_length=40)
    value: int = 0
