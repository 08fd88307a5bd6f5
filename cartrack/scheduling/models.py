"""Manufacturing capacity per facility, product and facility-local day, and the slot
reservations booked against it (one active per case)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from cartrack.contract import nonblank_at_least
from cartrack.db import EnumText, UTCDateTime


class SlotStatus(StrEnum):
    held = "held"
    confirmed = "confirmed"
    consumed = "consumed"
    expired = "expired"
    released = "released"


ACTIVE = (SlotStatus.held, SlotStatus.confirmed)
# A consumed reservation started manufacturing on its day: it keeps its place in the count.
COUNTED = (SlotStatus.held, SlotStatus.confirmed, SlotStatus.consumed)


class ReasonCode(StrEnum):
    """Why a slot is released or rescheduled."""

    patient_clinical = "patient_clinical"
    patient_logistics = "patient_logistics"
    collection_failed = "collection_failed"
    mfg_capacity = "mfg_capacity"
    mfg_failure_remanufacture = "mfg_failure_remanufacture"
    courier = "courier"
    payer = "payer"
    other = "other"


class CapacityDay(SQLModel, table=True):
    """How many manufacturing starts a facility takes for a product on one of its days (0 =
    closed), and how many are booked: the row a booking locks, so the count never passes the
    capacity. A day with no row is closed."""

    __tablename__ = "capacity_day"
    __table_args__ = (UniqueConstraint("facility_id", "product", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    facility_id: int = Field(foreign_key="site.id")
    product: str = Field(max_length=40)
    day: date
    capacity: int
    booked: int = 0
    note: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: int | None = Field(default=None, foreign_key="user.id")


class SlotReservation(SQLModel, table=True):
    """A case's booking of a manufacturing start day, with the plan derived when it was made."""

    __tablename__ = "slot_reservation"
    __table_args__ = (
        Index("uq_slot_active_case", "case_id", unique=True,
              sqlite_where=text("status IN ('held', 'confirmed')"),
              postgresql_where=text("status IN ('held', 'confirmed')")),
        Index("ix_slot_day", "facility_id", "product", "day"),
        Index("ix_slot_status_expiry", "status", "hold_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    facility_id: int = Field(foreign_key="site.id")
    product: str = Field(max_length=40)
    day: date
    status: SlotStatus = Field(sa_column=Column(EnumText(SlotStatus, 20), nullable=False))
    buffer_days: int = 0
    protocol_id: int = Field(foreign_key="protocol.id")
    rule_version: int
    plan: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    hold_expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    warning_alert_id: int | None = Field(default=None, foreign_key="alert.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: int = Field(foreign_key="user.id")
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    confirmed_by: int | None = Field(default=None, foreign_key="user.id")
    signature_id: int | None = Field(default=None, foreign_key="signature.id")
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reason_code: str | None = Field(default=None, max_length=40)
    reason_text: str | None = Field(default=None, max_length=1000)
    replaces_id: int | None = Field(default=None, foreign_key="slot_reservation.id")


# ---- API schemas -----------------------------------------------------------------------

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
ReasonText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000,
                                              pattern=nonblank_at_least(3))]
Capacity = Annotated[int, PField(ge=0, le=1000, description="manufacturing starts; 0 = closed")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CapacityIn(Strict):
    capacity: Capacity
    note: Note | None = None


class WeeklyPatternIn(Strict):
    """The same capacity per weekday over a date range (both ends included)."""

    start: date
    end: date
    weekdays: list[Capacity] = PField(min_length=7, max_length=7, description=(
        "capacity Monday to Sunday"))
    note: Note | None = None


class CapacityOut(BaseModel):
    facility: str
    product: str
    day: date
    capacity: int
    booked: int
    note: str | None


class BookingOut(BaseModel):
    """A booking the asker may see: never another site's case."""

    case_id: int
    coi: str
    status: SlotStatus


class AvailabilityDay(BaseModel):
    day: date
    capacity: int
    booked: int
    open: int
    bookings: list[BookingOut] = PField(default_factory=list)


class SignatureBody(Strict):
    password: str = PField(min_length=1, max_length=200)


class HoldIn(Strict):
    day: date = PField(description="the manufacturing start day, facility-local")
    buffer_days: int = PField(default=0, ge=0, le=60, description=(
        "days between delivery and infusion"))


class ConfirmIn(Strict):
    signature: SignatureBody


class RescheduleIn(Strict):
    day: date
    buffer_days: int | None = PField(default=None, ge=0, le=60)
    reason_code: ReasonCode
    reason_text: ReasonText


class ReleaseIn(Strict):
    reason_code: ReasonCode
    reason_text: ReasonText


class PlanOut(BaseModel):
    """Planned dates derived from the product's lead times (facility-local days)."""

    binding: str  # fresh_bound | cryo_decoupled
    apheresis: date  # fresh: the collection day; cryopreserved: the latest collection day
    receipt: date
    manufacturing_start: date
    release: date
    delivery: date
    ld_start: date
    ld_end: date
    infusion: date
    vein_to_vein_days: int
    rule_version: int


class SlotOut(BaseModel):
    id: int
    case_id: int
    coi: str
    facility: str
    product: str
    day: date
    status: SlotStatus
    buffer_days: int
    hold_expires_at: datetime
    plan: PlanOut
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    signature_meaning: str | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    replaces_id: int | None = None



class CalendarFeed(SQLModel, table=True):
    """A user's iCalendar feed: the URL's token is its credential, kept here only as its
    SHA-256; one active (not revoked) per user."""

    __tablename__ = "calendar_feed"
    __table_args__ = (Index("uq_calendar_feed_active_user", "user_id", unique=True,
                            sqlite_where=text("revoked_at IS NULL"),
                            postgresql_where=text("revoked_at IS NULL")),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    token_hint: str = Field(max_length=8)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class FeedCreated(BaseModel):
    url: str = PField(description="the feed's address; shown once, keep it secret")
    token_hint: str = PField(description="the token's first characters, to recognise it")
    created_at: datetime


class FeedStatus(BaseModel):
    active: bool
    token_hint: str | None = None
    created_at: datetime | None = None
