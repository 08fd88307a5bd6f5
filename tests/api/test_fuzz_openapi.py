"""Fuzz every operation from the app's own OpenAPI spec: no 5xx, no response off its schema."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from cartrack.app import create_app
from cartrack.security import Access
from tests.helpers.routes import access_rule, api_routes

# A stream never ends and a logout ends the token the other calls use.
SKIPPED = {("GET", "/api/alerts/stream"), ("POST", "/api/auth/logout")}
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance, positive_data_acceptance]


def _operations() -> list[tuple[str, str]]:
    spec = create_app(start_scheduler=False).openapi()
    return sorted((method.upper(), path) for path, item in spec["paths"].items()
                  for method in item if (method.upper(), path) not in SKIPPED)


def _within_cross_field_rules(case: Any) -> bool:
    """Rules the schema cannot state; each answers 422 with its code. A FHIR Patient is
    validated against R5 by fhir.resources (fhir_patient_invalid), which the schema does not
    restate; tests/fhir cover that branch."""
    if isinstance(case.body, dict) and "fhir_patient" in case.body:
        return False
    query = case.query or {}
    if "start" in query and "end" in query:  # analytics: bad_date_range
        return bool(str(query["start"]) <= str(query["end"]))
    return True


def _role_for(app: Any, path: str, method: str) -> str:
    for route in api_routes(app):
        if route.path == path and method in route.methods:
            rule = access_rule(route)
            if isinstance(rule, Access) and rule.roles and not rule.any_signed_in:
                return sorted(r.value for r in rule.roles)[0]
    return "coordinator"


@pytest.mark.parametrize(("method", "path"), _operations())
def test_operation_has_no_server_errors_and_keeps_its_schema(method: str, path: str, app: Any,
                                                             auth: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema[path][method]
    headers = auth[_role_for(app, path, method)]

    @given(operation.as_strategy().filter(_within_cross_field_rules))
    @settings(max_examples=10, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        sent = {**(case.headers or {}), **headers}
        if "Idempotency-Key" in sent:
            # A client sends a fresh key per action; the same key with another body is refused
            # with 422 as the IETF Idempotency-Key draft says (tests/operations cover reuse).
            sent["Idempotency-Key"] = str(uuid.uuid4())
        case.call_and_validate(headers=sent, checks=CHECKS)

    run()
