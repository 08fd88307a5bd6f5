"""Label prints: every label printed, by whom, how many copies and why a reprint was made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cartrack.db import UTCDateTime


class LabelPrint(SQLModel, table=True):
    """One label (a bag's or a wristband's) in one print request. A second row for the same
    bag or wristband is a reprint and carries its reason."""

    __tablename__ = "label_print"

    id: int | None = Field(default=None, primary_key=True)
    printed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    user_id: int | None = Field(default=None, foreign_key="user.id")
    printed_name: str = Field(max_length=200)
    case_id: int = Field(foreign_key="case.id", index=True)
    unit_pk: int | None = Field(default=None, foreign_key="unit.id", index=True)
    wristband_pk: int | None = Field(default=None, foreign_key="wristband.id", index=True)
    label_id: str = Field(max_length=20, description="unit id or wristband id")
    label_kind: str = Field(max_length=20)  # apheresis | product | wristband
    format: str = Field(max_length=8)  # png | svg | pdf | zpl
    size: str = Field(max_length=16)
    copies: int
    reprint: bool = False
    reason: str | None = Field(default=None, max_length=500)
    key_id: str = Field(max_length=8, description="label key that signed the QR payload")
    payload_version: int = 1
    with_patient: bool = Field(default=False, description="name and birth date on the label")
