"""No account enumeration at sign-in: whoever does not present the right password gets the same
answer, for the same work (one argon2 verification at today's cost), whether the username is
unknown, disabled, locked or real; only the right password learns of a lock or a disable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import argon2
import pytest
from sqlmodel import select

from cartrack.db import new_session
from cartrack.security import hash_password
from cartrack.users.models import User
from tests.helpers.constants import PASSWORD


@pytest.fixture
def verifications(monkeypatch: Any) -> Iterator[list[argon2.Parameters]]:
    """The argon2 parameters of every hash verified, in order (the real verification runs)."""
    seen: list[argon2.Parameters] = []
    real = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        seen.append(argon2.extract_parameters(hash if isinstance(hash, str) else hash.decode()))
        return real(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    yield seen


def login(client: Any, username: str, password: str) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def token(client: Any, username: str, password: str) -> Any:
    return client.post("/api/auth/token", data={"username": username, "password": password})


def lock(client: Any, username: str) -> None:
    for _ in range(5):
        assert login(client, username, "wrong-password-x").status_code == 401
    assert login(client, username, PASSWORD).status_code == 423


def disable(username: str) -> None:
    with new_session() as s:
        user = s.exec(select(User).where(User.username == username)).one()
        user.active = False
        s.add(user)
        s.commit()


def today_parameters() -> argon2.Parameters:
    return argon2.extract_parameters(hash_password("any password at all"))


@pytest.mark.parametrize("attempt", [login, token])
def test_an_unknown_username_costs_one_verification_like_a_wrong_password(
        client: Any, verifications: list[argon2.Parameters], attempt: Any) -> None:
    known = attempt(client, "coordinator", "wrong-password-x")
    unknown = attempt(client, "no-such-user", "wrong-password-x")
    assert known.status_code == unknown.status_code == 401
    assert known.json() == unknown.json()
    assert len(verifications) == 2, "an unknown username must be verified against a dummy hash"
    assert verifications[0] == verifications[1] == today_parameters()


def test_a_locked_account_answers_a_wrong_password_like_an_unknown_user(
        client: Any, verifications: list[argon2.Parameters]) -> None:
    lock(client, "qa")
    verifications.clear()
    locked = login(client, "qa", "wrong-password-x")
    unknown = login(client, "no-such-user", "wrong-password-x")
    assert locked.status_code == unknown.status_code == 401
    assert locked.json() == unknown.json() == {"detail": "Wrong username or password.",
                                               "code": "bad_credentials"}
    assert len(verifications) == 2  # a locked account's password is still verified
    right = login(client, "qa", PASSWORD)  # only the right password learns of the lock
    assert right.status_code == 423 and right.json()["code"] == "account_locked"


def test_a_disabled_account_answers_a_wrong_password_like_an_unknown_user(
        client: Any, verifications: list[argon2.Parameters]) -> None:
    disable("lab_tech")
    disabled = login(client, "lab_tech", "wrong-password-x")
    unknown = login(client, "no-such-user", "wrong-password-x")
    assert disabled.status_code == unknown.status_code == 401
    assert disabled.json() == unknown.json()
    assert len(verifications) == 2
    right = login(client, "lab_tech", PASSWORD)
    assert right.status_code == 403 and right.json()["code"] == "account_disabled"
    assert "Set-Cookie" not in right.headers


def test_failures_on_a_locked_account_do_not_extend_the_lock(client: Any, frozen: Any) -> None:
    lock(client, "qa")
    frozen.advance(minutes=10)
    for _ in range(5):
        assert login(client, "qa", "wrong-password-x").status_code == 401
    frozen.advance(minutes=6)
    assert login(client, "qa", PASSWORD).status_code == 200
