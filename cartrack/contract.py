"""What the API promises in its OpenAPI document, kept true to what the server enforces.

Every text the server accepts is refused if it holds a NUL character (PostgreSQL cannot store
it; ``app.BodyLimit`` refuses it before anything is parsed), so every string of the spec says
so; a 405 names every method of the path in ``Allow``."""

from __future__ import annotations

from typing import Any

from starlette.routing import Match, Route
from starlette.types import Scope

NO_NUL = "^[^\\x00]*$"
# Text that is not blank once trimmed, and holds no NUL (what strip_whitespace + min_length
# check, written so that the spec can say it too).
NONBLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"


def nonblank_at_least(chars: int) -> str:
    """At least ``chars`` characters once trimmed (chars >= 2), no NUL."""
    return rf"^\s*[^\x00\s][^\x00]{{{chars - 2},}}[^\x00\s]\s*$"


_STRING_FORMATS_WITHOUT_NUL = {"date", "date-time", "time", "binary", "uuid", "email"}


def _declare_no_nul(schema: Any) -> None:
    """Walk a JSON schema and give every free string the no-NUL pattern."""
    if isinstance(schema, list):
        for item in schema:
            _declare_no_nul(item)
        return
    if not isinstance(schema, dict):
        return
    if (schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema
            and "const" not in schema
            and schema.get("format") not in _STRING_FORMATS_WITHOUT_NUL):
        schema["pattern"] = NO_NUL
    for key, value in schema.items():
        if key not in ("example", "examples", "default", "const", "enum"):
            _declare_no_nul(value)


def declare_request_shapes(spec: dict[str, Any]) -> dict[str, Any]:
    """The no-NUL rule on every schema and parameter of the document."""
    _declare_no_nul(spec.get("components", {}))
    for item in spec.get("paths", {}).values():
        _declare_no_nul(item)
    return spec


def allowed_methods(routes: list[Any], scope: Scope, skip: set[str]) -> list[str]:
    """Every method some route of this path answers (the catch-all UI route aside)."""
    methods: set[str] = set()
    for route in routes:
        if not isinstance(route, Route) or route.name in skip:
            continue
        match, _ = route.matches(scope)
        if match in (Match.FULL, Match.PARTIAL) and route.methods:
            methods |= route.methods
    return sorted(methods)
