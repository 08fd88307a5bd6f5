"""The journey through the API, allowed and refused, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.helpers.journey import Journey


def test_happy_path_to_received(client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    case = j.enroll()
    assert case["state"] == "enrolled"
    assert case["coi"].startswith("CHA999926")
    detail = j.to(case["id"], "received_at_treatment_center")
    assert detail["state"] == "received_at_treatment_center"
