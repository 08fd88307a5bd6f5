"""The protocol catalog as versioned data, and the CLI's user command (the demo command:
tests/demo)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from tests.helpers.journey import Journey

CLI = [sys.executable, "-m", "cartrack.cli"]


def test_catalog_ships_every_product_with_source_and_unconfirmed_flags(client: Any,
                                                                      auth: Any) -> None:
    rows = client.get("/api/protocols", headers=auth["coordinator"]).json()
    by_product = {p["product"]: p for p in rows}
    assert set(by_product) == {"yescarta", "tecartus", "breyanzi", "abecma", "carvykti",
                               "kymriah"}
    assert all(p["source"] and p["version"] == 1 and p["current"] for p in rows)
    assert "thaw_to_infusion_minutes" in by_product["kymriah"]["unconfirmed"]
    assert "thaw_to_infusion_minutes" not in by_product["abecma"]["unconfirmed"]
    assert by_product["abecma"]["data"]["thaw_to_infusion_minutes"] == 60
    assert by_product["carvykti"]["data"]["infusion_max_days_after_ld"] == 4


def test_a_new_version_does_not_change_enrolled_cases(client: Any, auth: Any) -> None:
    j = Journey(client, auth)
    old_case = j.enroll("kymriah")
    current = next(p for p in client.get("/api/protocols", params={"product": "kymriah"},
                                         headers=auth["admin"]).json())
    data = current["data"] | {"thaw_to_infusion_minutes": 45}
    r = client.post("/api/protocols", headers=auth["admin"], json={
        "product": "kymriah", "name": current["name"], "data": data,
        "source": "Corrected from the label, section 2.2", "unconfirmed": []})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2
    versions = client.get("/api/protocols", params={"product": "kymriah"},
                          headers=auth["admin"]).json()
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]
    new_case = j.enroll("kymriah", mrn="MRN-2")
    assert j.case(old_case["id"])["protocol_version"] == 1
    assert new_case["protocol_version"] == 2
    refused = client.post("/api/protocols", headers=auth["coordinator"], json={})
    assert refused.status_code == 403


def test_a_protocol_with_impossible_windows_is_refused(client: Any, auth: Any) -> None:
    r = client.post("/api/protocols", headers=auth["admin"], json={
        "product": "bad", "name": "Bad", "source": "none", "data": {
            "ld_regimen": "x", "ld_days": 0, "infusion_min_days_after_ld": 2,
            "infusion_max_days_after_ld": 1, "thaw_to_infusion_minutes": 30,
            "storage_max_celsius": -150}})
    assert r.status_code == 422 and r.json()["fields"]


def test_user_add_from_the_command_line(db_url: str, client: Any) -> None:
    env = {**os.environ, "CARTRACK_NEW_PASSWORD": "a-long-password-1"}
    out = subprocess.run([*CLI, "user", "add", "nurse_kim", "--name", "Kim Nurse",
                          "--role", "infusion_staff@TC-CITY"], env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    r = client.post("/api/auth/token", data={"username": "nurse_kim",
                                             "password": "a-long-password-1"})
    assert r.status_code == 200
    bad = subprocess.run([*CLI, "user", "add", "nurse_lee", "--name", "Lee",
                          "--role", "infusion_staff@NOWHERE"], env=env, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "NOWHERE" in bad.stderr
