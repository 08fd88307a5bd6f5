"""The password rules, through the admin's "add a user" and the command line: 12 to 64
characters in any script, nothing common or breached-style, nothing of one's own names; every
refusal names its rule and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.helpers.constants import PASSWORD

CLI = [sys.executable, "-m", "cartrack.cli"]


def new_user(client: Any, auth: Any, password: str, username: str = "nurse_kim",
             full_name: str = "Kim Nurse") -> Any:
    return client.post("/api/users", headers=auth["admin"], json={
        "username": username, "full_name": full_name, "password": password,
        "memberships": [{"role": "infusion_staff", "site_code": "TC-CITY"}]})


def signs_in(client: Any, username: str, password: str) -> bool:
    r = client.post("/api/auth/token", data={"username": username, "password": password})
    return bool(r.status_code == 200)


REFUSED = [
    ("x7#kQ9!mZp2", "password_too_short", "at least 12 characters; this one has 11"),
    ("密码是长城上的一只猫吧", "password_too_short", "this one has 11"),
    ("x" * 30 + "-correct-horse-battery-staple-" + "y" * 5, "password_too_long",
     "at most 64 characters; this one has 65"),
    ("aaaaaaaaaaaa", "password_too_common", 'Repeats like "aaa" are easy to guess'),
    ("1234567890123", "password_too_common", "too easy to guess"),
    ("password1234", "password_too_common", "This is a very common password"),
    ("qwertyuiop12", "password_too_common", "too easy to guess"),
    ("iloveyou2024", "password_too_common", "too easy to guess"),
    ("nurse_kim", "password_too_short", "at least 12"),
    ("nurse_kim-2024!", "password_personal", "may not contain your username or your printed"),
    ("NURSE.KIM.rocks.42", "password_personal", "username"),
    ("Kim Nurse rules 42", "password_personal", "printed name"),
    ("kimnurse+cartrack", "password_personal", "printed name"),
]


@pytest.mark.parametrize(("password", "code", "words"), REFUSED)
def test_a_password_that_breaks_a_rule_is_refused_naming_the_rule(
        client: Any, auth: Any, password: str, code: str, words: str) -> None:
    r = new_user(client, auth, password)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == code
    assert words in body["detail"]
    assert body["fields"][0]["field"] == "password"
    assert body["context"]["rule"]["name"] in ("min_length", "max_length", "not_common",
                                               "not_personal")
    users = client.get("/api/users", headers=auth["admin"]).json()["items"]
    assert "nurse_kim" not in {u["username"] for u in users}  # nothing half-written
    assert not signs_in(client, "nurse_kim", password)


ACCEPTED = [
    "x7#kQ9!mZp2v",  # 12
    "Tr0ub4dor&3xx-but-longer",
    "correct horse battery staple " + "violin " * 5,  # 64 exactly
    "ünïcödé-пароль-密码",
    "密码是长城上的一只猫吧呀",  # 12 characters, 36 bytes
    "🐢🦒🍉🚲🧭🪁🌵🎻🦉🧊🪴🛶",  # 12 characters, 48 bytes
]


@pytest.mark.parametrize("password", ACCEPTED)
def test_long_uncommon_passwords_in_any_script_are_accepted_and_sign_in(
        client: Any, auth: Any, password: str) -> None:
    assert 12 <= len(password) <= 64
    r = new_user(client, auth, password)
    assert r.status_code == 201, r.text
    assert signs_in(client, "nurse_kim", password)
    assert not signs_in(client, "nurse_kim", password[:-1])


def test_a_short_username_does_not_refuse_passwords_that_merely_contain_its_letters(
        client: Any, auth: Any) -> None:
    r = new_user(client, auth, "aqua-marine-violin-42", username="qa2", full_name="Quentin A")
    assert r.status_code == 201, r.text


def test_the_command_line_applies_the_same_rules(db_url: str, client: Any) -> None:
    def add(password: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CARTRACK_NEW_PASSWORD": password}
        return subprocess.run([*CLI, "user", "add", "nurse_kim", "--name", "Kim Nurse",
                               "--role", "infusion_staff@TC-CITY"], env=env, capture_output=True,
                              text=True, timeout=60)

    weak = add("password1234")
    assert weak.returncode == 2 and "too easy to guess" in weak.stderr
    personal = add("kim-nurse-on-duty")
    assert personal.returncode == 2 and "printed name" in personal.stderr
    assert not signs_in(client, "nurse_kim", "password1234")
    assert add("night-shift-violin-42").returncode == 0
    assert signs_in(client, "nurse_kim", "night-shift-violin-42")


def test_existing_passwords_still_sign_in(client: Any) -> None:
    """The rules apply when a password is set, not to sign-ins with older ones."""
    assert signs_in(client, "coordinator", PASSWORD)
