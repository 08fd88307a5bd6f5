"""Cold-chain tables: shipping profiles (versioned), shippers, data loggers, shipments with their
temperature readings and excursions; and the request and answer shapes of the catalog."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from cartrack.contract import NONBLANK
from cartrack.db import EnumText, UTCDateTime
from cartrack.shipments.excursions import AlarmKind, Rule, Side

Serial = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                          pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Code = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                        pattern=NONBLANK)]
Temp = Annotated[float, PField(ge=-273, le=100)]


class ShipperStatus(StrEnum):
    available = "available"
    in_use = "in_use"
    quarantine = "quarantine"  # after every trip, until requalified
    retired = "retired"


class Direction(StrEnum):
    apheresis_to_manufacturing = "apheresis_to_manufacturing"
    product_to_treatment_center = "product_to_treatment_center"


class ShipmentStatus(StrEnum):
    in_transit = "in_transit"
    received = "received"


class ReceiptOutcome(StrEnum):
    accepted = "accepted"
    accepted_with_deviation = "accepted_with_deviation"  # a failed item, signed off by QA
    rejected = "rejected"


class Disposition(StrEnum):
    pending_qa = "pending_qa"
    acceptable = "acceptable"
    reject = "reject"


# ---- tables ---------------------------------------------------------------------------------


class ShippingProfile(SQLModel, table=True):
    """One version of a shipping profile; a shipment keeps the version it left under."""

    __tablename__ = "shipping_profile"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, index=True)
    version: int
    name: str = Field(max_length=200)
    low_c: float
    high_c: float
    max_transit_hours: float
    logger_interval_minutes: float
    requires_logger: bool
    requires_seal: bool
    mkt: bool  # the mean kinetic temperature means something at this range
    alarm_rules: list[dict[str, Any]] = Field(default_factory=list,
                                              sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=2000)
    current: bool = True
    published_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    published_by: str = Field(max_length=200)

    def rules(self) -> list[Rule]:
        return [Rule(AlarmKind(r["kind"]), Side(r["side"]), float(r["threshold_c"]),
                     float(r.get("delay_minutes", 0))) for r in self.alarm_rules]


class Shipper(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=40, unique=True, index=True)
    model: str = Field(max_length=200)
    profile_code: str = Field(max_length=32)
    qualified_until: date
    nominal_hold_hours: float
    status: ShipperStatus = Field(default=ShipperStatus.available, sa_column=Column(
        EnumText(ShipperStatus, 20), nullable=False))


class DataLogger(SQLModel, table=True):
    __tablename__ = "data_logger"

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=40, unique=True, index=True)
    model: str = Field(max_length=200)
    calibrated_until: date
    sensor_min_c: float
    sensor_max_c: float


class Shipment(SQLModel, table=True):
    __table_args__ = (Index("ix_shipment_case", "case_id"),
                      Index("ix_shipment_status", "status"))

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    direction: Direction = Field(sa_column=Column(EnumText(Direction, 40), nullable=False))
    profile_id: int = Field(foreign_key="shipping_profile.id")
    shipper_type: str = Field(max_length=200)
    shipper_serial: str | None = Field(default=None, max_length=40)
    logger_serial: str | None = Field(default=None, max_length=40)
    seal_id: str | None = Field(default=None, max_length=40)
    courier: str | None = Field(default=None, max_length=200)
    air_waybill: str | None = Field(default=None, max_length=200)
    units: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: ShipmentStatus = Field(default=ShipmentStatus.in_transit, sa_column=Column(
        EnumText(ShipmentStatus, 20), nullable=False))
    packed_by: int = Field(foreign_key="user.id")
    handed_over_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    received_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    received_by: int | None = Field(default=None, foreign_key="user.id")
    late_alert_id: int | None = Field(default=None, foreign_key="alert.id")
    hold_alert_id: int | None = Field(default=None, foreign_key="alert.id")
    # the signed receipt check: accepted | accepted_with_deviation | rejected
    receipt: ReceiptOutcome | None = Field(default=None, sa_column=Column(
        EnumText(ReceiptOutcome, 30)))
    receipt_checklist: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    receipt_signature_id: int | None = Field(default=None, foreign_key="signature.id")


class TemperatureReading(SQLModel, table=True):
    __tablename__ = "temperature_reading"
    __table_args__ = (UniqueConstraint("shipment_id", "logger_serial", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="shipment.id")
    logger_serial: str = Field(max_length=40)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    temp_c: float


class Excursion(SQLModel, table=True):
    """A rule of the profile broken; derived from the readings, dispositioned by QA."""

    __table_args__ = (UniqueConstraint("shipment_id", "rule_key", "started_at"),
                      Index("ix_excursion_pending", "shipment_id", "disposition"))

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="shipment.id")
    rule_key: str = Field(max_length=80)
    kind: str = Field(max_length=20)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    triggered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    duration_minutes: float
    extreme_c: float
    events: int = 1
    disposition: Disposition = Field(default=Disposition.pending_qa, sa_column=Column(
        EnumText(Disposition, 20), nullable=False))
    disposition_reason: str | None = Field(default=None, max_length=1000)
    disposition_by: int | None = Field(default=None, foreign_key="user.id")
    disposition_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    signature_id: int | None = Field(default=None, foreign_key="signature.id")


# ---- catalog requests and answers -----------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlarmRuleIn(Strict):
    kind: AlarmKind
    side: Side
    threshold_c: Temp
    delay_minutes: float = PField(default=0, ge=0, le=10_000)


class ProfileIn(Strict):
    code: Code
    name: Text
    low_c: Temp
    high_c: Temp
    max_transit_hours: float = PField(gt=0, le=1000)
    logger_interval_minutes: float = PField(gt=0, le=1440)
    requires_logger: bool = True
    requires_seal: bool = True
    mkt: bool = False
    alarm_rules: list[AlarmRuleIn] = PField(min_length=1, max_length=6)
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                             max_length=2000, pattern=NONBLANK)]


class ProfileOut(BaseModel):
    id: int
    code: str
    version: int
    name: str
    low_c: float
    high_c: float
    max_transit_hours: float
    logger_interval_minutes: float
    requires_logger: bool
    requires_seal: bool
    mkt: bool
    alarm_rules: list[dict[str, Any]]
    source: str
    current: bool
    published_at: datetime
    published_by: str


class ShipperIn(Strict):
    serial: Serial
    model: Text
    profile_code: Code
    qualified_until: date
    nominal_hold_hours: float = PField(gt=0, le=10_000)
    status: ShipperStatus = ShipperStatus.available


class ShipperUpdate(Strict):
    """Requalify a shipper (back to available, a new qualified-until date) or retire it."""

    qualified_until: date | None = None
    nominal_hold_hours: float | None = PField(default=None, gt=0, le=10_000)
    status: ShipperStatus | None = None


class ShipperOut(BaseModel):
    id: int
    serial: str
    model: str
    profile_code: str
    qualified_until: date
    nominal_hold_hours: float
    status: ShipperStatus


class LoggerIn(Strict):
    serial: Serial
    model: Text
    calibrated_until: date
    sensor_min_c: Temp
    sensor_max_c: Temp


class LoggerUpdate(Strict):
    calibrated_until: date


class LoggerOut(BaseModel):
    id: int
    serial: str
    model: str
    calibrated_until: date
    sensor_min_c: float
    sensor_max_c: float
