from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from cartrack.db import UTCDateTime


class CustodyEvent(SQLModel, table=True):
    """Every scan, passed or failed, and every handoff: who, where, when, verdict."""

    __tablename__ = "custody_event"
    # A user's latest bedside scans (the wristband that sets the context), newest first.
    __table_args__ = (Index("ix_custody_event_user_action", "user_id", "action", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    user_id: int = Field(foreign_key="user.id")
    holder_name: str = Field(max_length=200)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    location: str | None = Field(default=None, max_length=120)
    unit_pk: int | None = Field(default=None, foreign_key="unit.id", index=True)
    wristband_pk: int | None = Field(default=None, foreign_key="wristband.id")
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    action: str | None = Field(default=None, max_length=40)
    verdict: str = Field(max_length=10)  # match | mismatch
    reason: str | None = Field(default=None, max_length=40)
    message: str = Field(max_length=500)
    kind: str = Field(default="scan", max_length=20)  # scan | handoff | process
