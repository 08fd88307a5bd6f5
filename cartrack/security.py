"""Passwords (argon2id), sessions and bearer tokens, CSRF, and the per-route access rules."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from sqlmodel import Session, select

from cartrack import clock
from cartrack.clock import as_utc
from cartrack.db import UNSAFE_METHODS, SessionDep, new_session
from cartrack.errors import Forbidden, Unauthorized
from cartrack.settings import get_settings
from cartrack.users.models import AuthSession, Membership, Role, User

SESSION_COOKIE = "cartrack_session"
CSRF_HEADER = "x-csrf-token"
LAST_SEEN_GRANULARITY = timedelta(seconds=30)

_hasher = PasswordHasher()
# For accounts whose password is published (the demo's, printed in the README): a costly hash
# protects nothing there, and each e-signature of the demo's year of history would otherwise
# spend about half a second verifying it. Still argon2id; every other account uses _hasher.
_published_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str, *, published: bool = False) -> str:
    return (_published_hasher if published else _hasher).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Principal:
    user: User
    memberships: list[tuple[str, int | None]]
    auth_kind: str = "bearer"
    csrf_token: str | None = None
    roles: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.roles = {role for role, _ in self.memberships}

    @property
    def id(self) -> int:
        assert self.user.id is not None
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.full_name

    @property
    def is_admin(self) -> bool:
        return Role.admin in self.roles

    def site_ids(self, *roles: str) -> set[int | None]:
        wanted = set(roles) if roles else None
        return {site for role, site in self.memberships if wanted is None or role in wanted}

    def holds(self, role: str, site_id: int | None) -> bool:
        return (role, site_id) in self.memberships or (role, None) in self.memberships


def load_principal(session: Session, user: User, kind: str, csrf: str | None = None) -> Principal:
    rows = session.exec(select(Membership).where(Membership.user_id == user.id)).all()
    return Principal(user, [(m.role, m.site_id) for m in rows], kind, csrf)


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _touch(auth_id: int) -> None:
    """Record activity in its own short transaction (a GET request's own is read-only)."""
    with new_session() as s:
        row = s.get(AuthSession, auth_id)
        if row is not None:
            row.last_seen_at = clock.now()
            s.add(row)
            s.commit()


def authenticate(request: Request, session: SessionDep) -> Principal:
    token = _bearer_token(request)
    kind = "bearer" if token else "cookie"
    token = token or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized("Sign in first: this request carries no session or bearer token.",
                           code="not_authenticated")
    auth = session.exec(
        select(AuthSession).where(AuthSession.token_hash == token_digest(token),
                                  AuthSession.kind == kind)
    ).first()
    now = clock.now()
    if auth is None or auth.revoked:
        raise Unauthorized("Your session is not valid; sign in again.", code="session_invalid")
    if as_utc(auth.expires_at) <= now:
        raise Unauthorized("Your session has expired; sign in again.", code="session_expired")
    if kind == "cookie":
        idle = timedelta(minutes=get_settings().session_idle_minutes)
        if as_utc(auth.last_seen_at) + idle <= now:
            raise Unauthorized("You were signed out after a period of inactivity; sign in again.",
                               code="session_idle")
        if request.method in UNSAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not secrets.compare_digest(sent, auth.csrf_token):
                raise Forbidden("This form's security token is missing or stale; reload the page.",
                                code="csrf_failed")
    user = session.get(User, auth.user_id)
    if user is None or not user.active:
        raise Unauthorized("This account is disabled.", code="account_disabled")
    if request.method in UNSAFE_METHODS:
        auth.last_seen_at = now
        session.add(auth)
    elif now - as_utc(auth.last_seen_at) >= LAST_SEEN_GRANULARITY:
        # A GET's transaction is read-only; on SQLite it holds no write lock to wait on.
        assert auth.id is not None
        _touch(auth.id)
    return load_principal(session, user, kind, auth.csrf_token if kind == "cookie" else None)


class Access:
    """A route's access rule. Every route declares one; a test walks them all."""

    def __init__(self, *roles: Role, any_signed_in: bool = False) -> None:
        self.roles = frozenset(roles)
        self.any_signed_in = any_signed_in

    def __call__(self, principal: Principal = Depends(authenticate)) -> Principal:
        if self.any_signed_in or principal.roles & self.roles:
            return principal
        raise Forbidden(
            "Your role may not do this. Allowed: " + ", ".join(sorted(self.roles)) + ".",
            code="role_forbidden",
        )

    def __repr__(self) -> str:
        return f"Access({sorted(self.roles)}, any_signed_in={self.any_signed_in})"


class Public:
    """Marks a route that needs no credentials (sign-in, health, the journey table)."""

    def __call__(self) -> None:
        return None


PUBLIC = Public()
SIGNED_IN = Access(any_signed_in=True)
ADMIN = Access(Role.admin)
