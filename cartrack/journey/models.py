from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from cartrack.db import EnumText, UTCDateTime


class State(StrEnum):
    """The states of a case (DESIGN.md, "The journey"): the product track and three side states."""

    enrolled = "enrolled"
    collection_scheduled = "collection_scheduled"
    collected = "collected"
    shipped_to_manufacturing = "shipped_to_manufacturing"
    received_at_manufacturing = "received_at_manufacturing"
    manufacturing = "manufacturing"
    qc_pending = "qc_pending"
    released = "released"
    shipped_to_treatment_center = "shipped_to_treatment_center"
    received_at_treatment_center = "received_at_treatment_center"
    thawed = "thawed"
    infused = "infused"
    monitoring = "monitoring"
    completed = "completed"
    on_hold = "on_hold"
    out_of_specification = "out_of_specification"
    cancelled = "cancelled"


class Patient(SQLModel, table=True):
    """PHI lives here and only here: never in identifiers, URLs, QR payloads or alerts."""

    id: int | None = Field(default=None, primary_key=True)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date
    mrn: str = Field(max_length=40)
    treatment_site_id: int = Field(foreign_key="site.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Case(SQLModel, table=True):
    __table_args__ = (
        Index("ix_case_state", "state"),
        Index("ix_case_updated", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    coi: str = Field(unique=True, max_length=15)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    protocol_id: int = Field(foreign_key="protocol.id")
    collection_site_id: int = Field(foreign_key="site.id", index=True)
    manufacturing_site_id: int = Field(foreign_key="site.id", index=True)
    treatment_site_id: int = Field(foreign_key="site.id", index=True)
    state: State = Field(sa_column=Column(EnumText(State, 40), nullable=False))
    held_from: State | None = Field(default=None, sa_column=Column(EnumText(State, 40)))
    version: int = 1
    collection_date: date | None = None
    manufacturing_slot: str | None = Field(default=None, max_length=60)
    planned_infusion_date: date | None = None
    ld_started_on: date | None = None
    ld_completed_on: date | None = None
    ld_regimen: str | None = Field(default=None, max_length=300)
    next_process_step: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Milestones stored as data so the case page can show planned vs actual per step.
    milestones: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CaseEvent(SQLModel, table=True):
    """One line of a case's timeline: every applied event, custody handoffs included."""

    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    event: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str = Field(max_length=40)
    actor_id: int = Field(foreign_key="user.id")
    actor_name: str = Field(max_length=200)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str | None = Field(default=None, max_length=1000)
    signature_id: int | None = Field(default=None, foreign_key="signature.id")
    second_signature_id: int | None = Field(default=None, foreign_key="signature.id")


class QcResult(SQLModel, table=True):
    __tablename__ = "qc_result"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    test: str = Field(max_length=40)
    value: str = Field(max_length=100)
    spec: str = Field(max_length=200)
    passed: bool
    recorded_by: int = Field(foreign_key="user.id")
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class MonitoringCheck(SQLModel, table=True):
    __tablename__ = "monitoring_check"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    day: int
    crs_grade: int
    icans_grade: int
    notes: str | None = Field(default=None, max_length=1000)
    recorded_by: int = Field(foreign_key="user.id")
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
