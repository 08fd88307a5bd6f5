"""Label prints (every label printed, by whom, how many copies, why a reprint was made, with
which template version) and the label templates themselves, version by version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from cartrack.db import UTCDateTime
from cartrack.labels.templates import TemplateSpec


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
    template_id: int | None = Field(default=None, foreign_key="label_template.id")
    template_version: int | None = Field(default=None, description="of the label's kind")


class LabelTemplate(SQLModel, table=True):
    """One version of one label kind's template. It prints only once QA has approved it with an
    e-signature; approving a version supersedes the one before. Rows are never deleted."""

    __tablename__ = "label_template"
    __table_args__ = (
        UniqueConstraint("kind", "version"),
        # One version in effect per kind, whatever two approvers do at the same moment.
        Index("ux_label_template_in_effect", "kind", unique=True,
              sqlite_where=text("status = 'approved'"),
              postgresql_where=text("status = 'approved'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)  # apheresis | product | wristband
    version: int
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    note: str = Field(max_length=1000, description="what changed and why")
    status: str = Field(default="proposed", max_length=20)  # proposed | approved | superseded
    proposed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    proposed_by: str = Field(max_length=200)
    proposed_by_id: int | None = Field(default=None, foreign_key="user.id")
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    approved_by: str | None = Field(default=None, max_length=200)
    signature_id: int | None = Field(default=None, foreign_key="signature.id")
    superseded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    def rules(self) -> TemplateSpec:
        return TemplateSpec.model_validate(self.spec)


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = PField(pattern="^(apheresis|product|wristband)$")
    spec: TemplateSpec
    note: str = PField(min_length=3, max_length=1000)


class TemplateOut(BaseModel):
    id: int
    kind: str
    version: int
    spec: TemplateSpec
    note: str
    status: str
    proposed_at: datetime
    proposed_by: str
    approved_at: datetime | None
    approved_by: str | None
    signature_id: int | None
    superseded_at: datetime | None
    in_effect: bool
