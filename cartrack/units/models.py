from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cartrack.db import UTCDateTime


class Unit(SQLModel, table=True):
    """A bag: an apheresis unit or a final product bag (lineage via parent_id)."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(unique=True, max_length=15, description="DIN (13) + container (2)")
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=20)  # apheresis | product
    parent_id: int | None = Field(default=None, foreign_key="unit.id")
    status: str = Field(default="labeled", max_length=30)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    location: str | None = Field(default=None, max_length=120)
    volume_ml: float | None = None
    anticoagulant: str | None = Field(default=None, max_length=40)
    cell_dose: float | None = Field(default=None, description="CAR-positive viable T cells")
    collected_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    cryopreserved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    quarantined: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Wristband(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    wristband_id: str = Field(unique=True, max_length=20)
    case_id: int = Field(foreign_key="case.id", index=True)
    active: bool = True
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
