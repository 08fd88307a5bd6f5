from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from cartrack.db import UTCDateTime


class Deadline(SQLModel, table=True):
    """A time limit of a case; opened and closed by journey events, in their transaction."""

    __table_args__ = (Index("ix_deadline_case_kind", "case_id", "kind", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    kind: str = Field(max_length=40)
    label: str = Field(max_length=200)
    ordinal: int | None = None  # e.g. the day of a daily monitoring check
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    earliest_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="open", max_length=20)  # open | met | breached | cancelled
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_by_event: str | None = Field(default=None, max_length=40)


class Alert(SQLModel, table=True):
    """One notification: scheduled (pending, fire_at) or raised at once by an event."""

    __table_args__ = (
        Index("ix_alert_pending", "status", "fire_at"),
        Index("ix_alert_case", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id")
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id", index=True)
    kind: str = Field(max_length=40)  # warning | breach | mismatch | deviation | clinical | ...
    severity: str = Field(max_length=10)  # info | warning | critical
    title: str = Field(max_length=200)
    message: str = Field(max_length=1000)
    fire_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="pending", max_length=20)  # pending|fired|acknowledged|cancelled
    fired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    claimed_by: str | None = Field(default=None, max_length=80)
    tier: int = 0
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    acked_by: int | None = Field(default=None, foreign_key="user.id")
    acked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    ack_note: str | None = Field(default=None, max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AlertTarget(SQLModel, table=True):
    """Who an alert is for: a role at a site. Users see alerts for the roles they hold there."""

    __tablename__ = "alert_target"
    __table_args__ = (Index("ix_alert_target_role_site", "role", "site_id"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    role: str = Field(max_length=32)
    site_id: int = Field(foreign_key="site.id")
