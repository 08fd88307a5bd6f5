from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from cartrack.db import EnumText, UTCDateTime


class DeadlineKind(StrEnum):
    """The time limits of DESIGN.md; the journey table says which event opens and closes each."""

    collection_due = "collection_due"
    apheresis_transit = "apheresis_transit"
    manufacturing_start = "manufacturing_start"
    qc_release_target = "qc_release_target"
    storage_expiry = "storage_expiry"
    shipment_arrival = "shipment_arrival"
    infusion_window = "infusion_window"
    thaw_to_infusion = "thaw_to_infusion"
    monitoring_check = "monitoring_check"
    proximity_period = "proximity_period"


class DeadlineStatus(StrEnum):
    open = "open"
    met = "met"  # closed by its event before the limit
    met_late = "met_late"  # closed by its event after the limit
    replaced = "replaced"  # superseded by a recomputed deadline of the same kind
    cancelled = "cancelled"  # the case left the path that needed it
    closed = "closed"  # closed when the case was completed


class Deadline(SQLModel, table=True):
    """A time limit of a case; opened and closed by journey events, in their transaction."""

    __table_args__ = (Index("ix_deadline_case_kind", "case_id", "kind", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    kind: DeadlineKind = Field(sa_column=Column(EnumText(DeadlineKind, 40), nullable=False))
    label: str = Field(max_length=200)
    ordinal: int | None = None  # e.g. the day of a daily monitoring check
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    earliest_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: DeadlineStatus = Field(default=DeadlineStatus.open,
                                   sa_column=Column(EnumText(DeadlineStatus, 20), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_by_event: str | None = Field(default=None, max_length=40)


class Alert(SQLModel, table=True):
    """One notification: scheduled (pending, fire_at) or raised at once by an event."""

    __table_args__ = (
        Index("ix_alert_pending", "status", "fire_at"),
        Index("ix_alert_case", "case_id"),
        Index("ix_alert_fire_seq", "fire_seq", unique=True),
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
    # Position in the live feed (SSE event id): set when the alert fires and bumped when it
    # escalates or is acknowledged, from one counter, in commit order.
    fire_seq: int | None = None


class AlertTarget(SQLModel, table=True):
    """Who an alert is for: a role at a site. Users see alerts for the roles they hold there."""

    __tablename__ = "alert_target"
    __table_args__ = (Index("ix_alert_target_role_site", "role", "site_id"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    role: str = Field(max_length=32)
    site_id: int = Field(foreign_key="site.id")


class AlertDelivery(SQLModel, table=True):
    """One send of one alert over one outbound channel (email, webhook) to one target.

    Written in the transaction that fires (or escalates) the alert; sent after it commits.
    Each row retries on its own, so a failing channel never holds up another.
    """

    __tablename__ = "alert_delivery"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", "target", "tier"),
        Index("ix_alert_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    tier: int = 0
    channel: str = Field(max_length=20)  # email | webhook
    target: str = Field(max_length=500)  # an e-mail address or a URL
    status: str = Field(default="pending", max_length=20)  # pending|sending|delivered|failed
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    # When to try next; while sending, when the claim lapses (a crashed sender's row is retried).
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claimed_by: str | None = Field(default=None, max_length=80)


class SchedulerLeader(SQLModel, table=True):
    """One row: the scheduler process that holds the leader lock, and its last tick."""

    __tablename__ = "scheduler_leader"

    id: int = Field(default=1, primary_key=True)
    instance: str = Field(max_length=80)
    host: str = Field(max_length=80)
    pid: int
    since: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_tick_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    heartbeat_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
