from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PField
from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from cartrack.contract import NONBLANK
from cartrack.db import UTCDateTime


class Role(StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    collection_staff = "collection_staff"
    lab_tech = "lab_tech"
    qa = "qa"
    infusion_staff = "infusion_staff"
    manufacturing_planner = "manufacturing_planner"  # edits capacity at a facility


class SiteKind(StrEnum):
    collection_center = "collection_center"
    manufacturing_facility = "manufacturing_facility"
    treatment_center = "treatment_center"


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=32)
    name: str = Field(max_length=200)
    kinds: str = Field(max_length=200, description="comma-separated SiteKind values")
    timezone: str = Field(default="UTC", max_length=64)
    fin: str = Field(default="A9999", max_length=5)
    # The FHIR identifier system of this site's medical record numbers (Patient import/export).
    mrn_system: str | None = Field(default=None, max_length=200)

    def kind_list(self) -> list[str]:
        return [k for k in self.kinds.split(",") if k]


def printed_name_key(name: str) -> str:
    """A printed name as a reader of a signature compares it: letter case, compatibility
    forms and spacing aside."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def tidy_printed_name(name: str) -> str:
    return " ".join(name.split())


class User(SQLModel, table=True):
    # Printed names appear on e-signatures: one active user per name.
    __table_args__ = (Index("uq_user_active_printed_name", "printed_name_key", unique=True,
                            sqlite_where=text("active"), postgresql_where=text("active")),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    full_name: str = Field(max_length=200, description="printed name used on signatures")
    printed_name_key: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=200)
    password_hash: str = Field(max_length=300)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Set by an admin's password reset: the temporary password admits one sign-in before this
    # time, and that session may only change the password.
    must_change_password: bool = False
    temporary_password_expires_at: datetime | None = Field(default=None,
                                                           sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Membership(SQLModel, table=True):
    """A user holds a role at a site; admins hold theirs with no site (everywhere)."""

    __table_args__ = (UniqueConstraint("user_id", "role", "site_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(max_length=32)
    site_id: int | None = Field(default=None, foreign_key="site.id")


class AuthSession(SQLModel, table=True):
    """A browser session (cookie) or a bearer token; only the token's hash is stored."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(max_length=16)  # cookie | bearer
    csrf_token: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked: bool = False


# ---- API schemas -----------------------------------------------------------------------


class SiteOut(BaseModel):
    id: int
    code: str
    name: str
    kinds: list[str]
    timezone: str
    mrn_system: str | None = None


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = PField(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = PField(min_length=1, max_length=200)
    kinds: list[SiteKind] = PField(min_length=1, max_length=len(SiteKind),
                                   json_schema_extra={"uniqueItems": True},
                                   description="each kind once (a repeat is ignored)")
    timezone: str = PField(default="UTC", min_length=1, max_length=64,
                           pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
                           description="an IANA time zone, e.g. America/New_York")
    mrn_system: str | None = PField(
        default=None, min_length=3, max_length=200, pattern=r"^(urn|https?):[^\x00\s]+$",
        description="FHIR identifier system of the site's medical record numbers (a URI)")


class MembershipOut(BaseModel):
    role: Role
    site_id: int | None
    site_code: str | None


class MembershipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    site_code: str | None = PField(default=None, max_length=32)


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    email: str | None
    active: bool
    locked: bool
    must_change_password: bool
    memberships: list[MembershipOut]


# Long enough for any password the rules accept and any older one; the rules say the rest.
PasswordText = PField(min_length=1, max_length=200)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = PField(min_length=2, max_length=64, pattern=r"^[a-z0-9_.-]+$")
    full_name: str = PField(min_length=1, max_length=200, pattern=NONBLANK)
    email: str | None = PField(default=None, max_length=200)
    password: str = PField(min_length=1, max_length=200,
                           description="12 to 64 characters, any script; not a common or "
                                       "breached-style password; not your username or name")
    memberships: list[MembershipIn] = PField(min_length=1, max_length=50)

    @field_validator("full_name")
    @classmethod
    def _tidy_name(cls, value: str) -> str:
        return tidy_printed_name(value)


class MembershipsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    memberships: list[MembershipIn] = PField(min_length=1, max_length=50)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = PasswordText
    new_password: str = PField(min_length=1, max_length=200,
                               description="12 to 64 characters, any script; not a common or "
                                           "breached-style password; not your username or name")


class TemporaryPasswordOut(BaseModel):
    user: UserOut
    temporary_password: str = PField(description="shown once; admits one sign-in, which must "
                                                 "set a new password")
    expires_at: datetime


class MeOut(UserOut):
    csrf_token: str | None = None
    idle_minutes: int
