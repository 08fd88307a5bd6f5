from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from cartrack.contract import NONBLANK
from cartrack.db import UTCDateTime

ProcessStep = Literal["activation", "transduction", "expansion", "harvest", "formulation"]
PROCESS_STEPS: tuple[ProcessStep, ...] = get_args(ProcessStep)


class QcTestSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = PField(min_length=1, max_length=40)
    name: str = PField(min_length=1, max_length=120)
    spec: str = PField(min_length=1, max_length=200)


LabelText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
RequiredLabelText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                    max_length=120, pattern=NONBLANK)]
LabelWarning = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80,
                                                pattern=NONBLANK)]

DEFAULT_QC_TESTS = (
    QcTestSpec(code="sterility", name="Sterility", spec="No growth"),
    QcTestSpec(code="mycoplasma", name="Mycoplasma", spec="Not detected"),
    QcTestSpec(code="endotoxin", name="Endotoxin", spec="<= 5 EU/mL"),
    QcTestSpec(code="viability", name="Viability", spec=">= 70 %"),
    QcTestSpec(code="car_expression", name="CAR expression", spec=">= 15 %"),
    QcTestSpec(code="vcn", name="Vector copy number", spec="<= 5 copies/cell"),
)


class ProtocolData(BaseModel):
    """The windows and rules of one product, as published. Hours and days are limits."""

    ld_regimen: str
    ld_days: int = PField(ge=1, le=10)
    infusion_min_days_after_ld: int = PField(ge=0, le=60)
    infusion_max_days_after_ld: int = PField(ge=0, le=60)
    repeat_ld_after_days: int | None = None
    thaw_to_infusion_minutes: int = PField(ge=5, le=24 * 60)
    infusion_start_after_thaw_minutes: int | None = None
    storage_max_celsius: float
    storage_months: int | None = PField(default=None, ge=1, le=120, description=(
        "expiry rule: the product expires this many calendar months after cryopreservation"))
    storage_condition: LabelText = PField(default="", description="printed on the bag label")
    warnings: list[LabelWarning] = PField(default_factory=list, max_length=6,
                                     description="printed on the bag label, one line each")
    manufacturer: str = PField(default="", max_length=80, description="license holder's name")
    manufacturer_id: str = PField(default="", max_length=40, description="and its identifier")
    apheresis_transport: LabelText = PField(default="", description=(
        "transport and storage condition printed on the apheresis bag label"))
    apheresis_fresh: bool = True
    apheresis_temp_min_c: float = 2.0
    apheresis_temp_max_c: float = 8.0
    product_ship_temp_max_c: float = -120.0
    collection_due_hours: int = 24
    apheresis_transit_hours: int = 48
    manufacturing_start_hours: int = 24
    qc_release_days: int = 21
    shipment_arrival_hours: int = 72
    monitoring_days: int = 7
    proximity_days: int = 14
    warning_fractions: list[float] = PField(default_factory=lambda: [0.5, 0.8])
    bedside_scan_minutes: int = 15
    qc_tests: list[QcTestSpec] = PField(default_factory=lambda: list(DEFAULT_QC_TESTS), min_length=1)
    # Lead times of the manufacturing slot plan (days, facility calendar). Whether apheresis is
    # bound to the slot is ``apheresis_fresh``: fresh apheresis is collected for its slot,
    # cryopreserved apheresis is collected before and decoupled from it.
    apheresis_to_receipt_days: int = PField(default=1, ge=0, le=30, description=(
        "apheresis to receipt at the manufacturing facility"))
    receipt_to_start_days: int = PField(default=0, ge=0, le=30, description=(
        "receipt at manufacturing to manufacturing start"))
    manufacturing_days: int = PField(default=14, ge=1, le=120, description=(
        "manufacturing start to release"))
    release_to_delivery_days: int = PField(default=2, ge=0, le=30, description=(
        "release to delivery at the treatment center"))
    hold_ttl_hours: int = PField(default=48, ge=1, le=24 * 14, description=(
        "how long a slot hold lives before it expires unless confirmed"))
    max_apheresis_to_start_hours: int | None = PField(default=None, ge=1, le=24 * 30, description=(
        "fresh apheresis only: the longest time from collection to manufacturing start"))


class Protocol(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("product", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    product: str = Field(max_length=40, index=True)
    version: int
    name: str = Field(max_length=120)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=1000)
    unconfirmed: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    published_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    published_by: str = Field(max_length=200)
    current: bool = True

    def rules(self) -> ProtocolData:
        return ProtocolData.model_validate(self.data)


class ProtocolOut(BaseModel):
    id: int
    product: str
    version: int
    name: str
    data: ProtocolData
    source: str
    unconfirmed: list[str]
    published_at: datetime
    published_by: str
    current: bool


class PublishedProtocolData(ProtocolData):
    """What a new product version must state: its bags' expiry rule and their labels' content
    (older stored versions may lack them; they are read as ``ProtocolData``)."""

    model_config = ConfigDict(extra="forbid")

    storage_months: int = PField(ge=1, le=120, description=(
        "expiry rule: the product expires this many calendar months after cryopreservation"))
    storage_condition: RequiredLabelText = PField(description="printed on the bag label")
    manufacturer: str = PField(min_length=1, max_length=80, pattern=NONBLANK,
                               description="license holder's name")
    apheresis_transport: RequiredLabelText = PField(description=(
        "transport and storage condition printed on the apheresis bag label"))


class ProtocolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str = PField(min_length=2, max_length=40, pattern=r"^[a-z0-9_-]+$")
    name: str = PField(min_length=1, max_length=120)
    data: PublishedProtocolData
    source: str = PField(min_length=1, max_length=1000)
    unconfirmed: list[str] = PField(default_factory=list, max_length=40)
