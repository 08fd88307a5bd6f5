from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from cartrack.db import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """Append-only (database triggers refuse UPDATE and DELETE), hash-chained."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    user_id: int | None = Field(default=None)
    printed_name: str = Field(max_length=200)
    action: str = Field(max_length=60)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=40, index=True)
    case_id: int | None = Field(default=None, index=True)
    old: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    new: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reason: str | None = Field(default=None, max_length=1000)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Signature(SQLModel, table=True):
    """A Part 11 e-signature: printed name, time, meaning, bound to the signed record's hash."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    printed_name: str = Field(max_length=200)
    meaning: str = Field(max_length=60)
    signed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    record_type: str = Field(max_length=40)
    record_ref: str = Field(max_length=80)
    record_hash: str = Field(max_length=64)
    case_id: int | None = Field(default=None, index=True)


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    printed_name: str
    action: str
    entity: str
    entity_id: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str | None
