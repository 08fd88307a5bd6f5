"""Credentials for seeded users."""

from __future__ import annotations

from sqlmodel import select

from cartrack.db import new_session
from cartrack.users.models import User
from cartrack.users.service import open_session


def bearer_for(username: str) -> dict[str, str]:
    """A bearer token for a seeded user, minted without the cost of argon2 per test."""
    with new_session() as s:
        user = s.exec(select(User).where(User.username == username)).one()
        token, _ = open_session(s, user, "bearer")
        s.commit()
    return {"Authorization": f"Bearer {token}"}
