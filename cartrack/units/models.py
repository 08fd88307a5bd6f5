from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cartrack.db import EnumText, UTCDateTime


class UnitKind(StrEnum):
    apheresis = "apheresis"
    product = "product"


class UnitStatus(StrEnum):
    """Where a bag is in its life; the journey table says which statuses each step expects."""

    labeled = "labeled"
    collected = "collected"
    in_transit = "in_transit"
    received = "received"
    in_process = "in_process"
    consumed = "consumed"
    cryopreserved = "cryopreserved"
    released = "released"
    stored = "stored"
    thawed = "thawed"
    infused = "infused"
    discarded = "discarded"


class Unit(SQLModel, table=True):
    """A bag: an apheresis unit or a final product bag (lineage via parent_id)."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(unique=True, max_length=15, description="DIN (13) + container (2)")
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: UnitKind = Field(sa_column=Column(EnumText(UnitKind, 20), nullable=False))
    parent_id: int | None = Field(default=None, foreign_key="unit.id")
    status: UnitStatus = Field(default=UnitStatus.labeled,
                               sa_column=Column(EnumText(UnitStatus, 30), nullable=False))
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
