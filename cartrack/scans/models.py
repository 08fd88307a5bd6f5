from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from cartrack.db import EnumText, UTCDateTime


class Verdict(StrEnum):
    match = "match"
    mismatch = "mismatch"


class CustodyKind(StrEnum):
    scan = "scan"  # a QR label read at the scan station
    typed = "typed"  # a unit ID typed by hand, with its check character
    handoff = "handoff"  # a bag scanned into or out of a shipment
    process = "process"  # a bag scanned inside a journey step


class ScanReason(StrEnum):
    """Why a scan is a mismatch: a stable code beside the sentence shown to the user."""

    malformed = "malformed"
    forged = "forged"
    unknown_key = "unknown_key"
    retired_key = "retired_key"
    unsupported_version = "unsupported_version"
    unknown_unit = "unknown_unit"
    inactive_wristband = "inactive_wristband"
    other_patient = "other_patient"
    other_case = "other_case"
    wrong_step = "wrong_step"
    wrong_role = "wrong_role"
    quarantined = "quarantined"
    expired = "expired"
    missing_unit = "missing_unit"
    extra_unit = "extra_unit"
    duplicate_scan = "duplicate_scan"
    wristband_first = "wristband_first"


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
    verdict: Verdict = Field(sa_column=Column(EnumText(Verdict, 10), nullable=False))
    reason: ScanReason | None = Field(default=None, sa_column=Column(EnumText(ScanReason, 40)))
    message: str = Field(max_length=500)
    kind: CustodyKind = Field(default=CustodyKind.scan,
                              sa_column=Column(EnumText(CustodyKind, 20), nullable=False))
