"""What the API promises in its OpenAPI document, kept true to what the server enforces.

Every text the server accepts is refused if it holds a NUL character (PostgreSQL cannot store
it; ``app.BodyLimit`` refuses it before anything is parsed), so every string of the spec says
so; a 405 names every method of the path in ``Allow``."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

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


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _close_form_bodies(spec: dict[str, Any]) -> None:
    """A form's unknown fields are ignored, not stored: the document offers none, so that no
    client sends them (and no NUL can hide in one)."""
    schemas = spec.get("components", {}).get("schemas", {})
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(
                operation, dict) else {}
            for media, body in content.items():
                ref = body.get("schema", {}).get("$ref", "")
                if media in _FORMS and ref.startswith("#/components/schemas/"):
                    schemas[ref.rsplit("/", 1)[1]].setdefault("additionalProperties", False)


def declare_request_shapes(spec: dict[str, Any]) -> dict[str, Any]:
    """The no-NUL rule on every schema and parameter of the document; closed form bodies."""
    _declare_no_nul(spec.get("components", {}))
    for item in spec.get("paths", {}).values():
        _declare_no_nul(item)
    _close_form_bodies(spec)
    return spec


def allowed_methods(spec: dict[str, Any], path: str) -> list[str]:
    """Every method the API document declares for this concrete path (its templates matched)."""
    methods: set[str] = set()
    for template, item in spec.get("paths", {}).items():
        if _template_regex(template).fullmatch(path):
            methods |= {m.upper() for m in item if m.upper() in _HTTP_METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


_HTTP_METHODS = {"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}


@lru_cache(maxsize=512)
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))
