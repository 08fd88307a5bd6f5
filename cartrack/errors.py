"""Business errors carry their HTTP status and a stable code; one error shape for every 4xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NotRequired

from pydantic import BaseModel, Field, JsonValue
from typing_extensions import TypedDict


class FieldProblem(TypedDict):
    """One input field and what is wrong with it."""

    field: str
    message: str
    type: NotRequired[str]


class ErrorBody(BaseModel):
    detail: str = Field(description="what went wrong, in words a user can act on")
    code: str = Field(description="stable machine-readable reason")
    fields: list[FieldProblem] | None = Field(None, description="the input fields at fault")
    context: dict[str, JsonValue] | None = Field(
        None, description="facts of the refusal, e.g. the next open days or the sizes affected")


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, status_code: int | None = None,
                 context: dict[str, Any] | None = None,
                 fields: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.context = context
        self.fields = fields
        # Records a refusal must leave behind (failed scans, mismatch alerts, failed logins):
        # written in a fresh transaction after the refused one is rolled back.
        self.on_refusal: list[Callable[[Any], None]] = []

    def also_record(self, writer: Callable[[Any], None]) -> DomainError:
        self.on_refusal.append(writer)
        return self

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"detail": self.detail, "code": self.code}
        if self.fields is not None:
            out["fields"] = self.fields
        if self.context is not None:
            out["context"] = self.context
        return out


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


class Locked(DomainError):
    status_code = 423
    code = "locked"
