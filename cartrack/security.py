"""Passwords (argon2id), sessions and bearer tokens, CSRF, and the per-route access rules."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.clock import as_utc
from cartrack.db import UNSAFE_METHODS, SessionDep, new_session
from cartrack.errors import Forbidden, Unauthorized
from cartrack.settings import HashProfile, get_settings
from cartrack.users.models import AuthSession, Membership, Role, User

SESSION_COOKIE = "cartrack_session"
CSRF_HEADER = "x-csrf-token"
# A session's last activity is written at most this often (the idle timeout counts minutes), so
# a scan station does not rewrite its session row with every scan.
LAST_SEEN_GRANULARITY = timedelta(seconds=30)
Memberships = Sequence[tuple[str, int | None]]

# argon2-cffi's own profiles: RFC 9106's low-memory one (its default), and its cheapest cost
# with full-length salt and hash for test suites (production refuses that profile).
_HASHERS = {
    HashProfile.standard: PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY),
    HashProfile.fast: PasswordHasher.from_parameters(
        dataclasses.replace(profiles.CHEAPEST, salt_len=16, hash_len=32)),
}


def _hasher() -> PasswordHasher:
    return _HASHERS[get_settings().password_hash_profile]


# For accounts whose password is published (the demo's, printed in the README): a costly hash
# protects nothing there, and each e-signature of the demo's year of history would otherwise
# spend about half a second verifying it. Still argon2id; every other account uses _hasher().
_PUBLISHED = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str, *, published: bool = False) -> str:
    profile = get_settings().password_hash_profile
    cheap = published and profile == HashProfile.standard
    return (_PUBLISHED if cheap else _hasher()).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """A hash made with other parameters than today's profile (rehashed at the next sign-in)."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash(profile: HashProfile) -> str:
    return _HASHERS[profile].hash(secrets.token_urlsafe(24))


def verify_password_or_dummy(password_hash: str | None, password: str) -> bool:
    """Verify against the user's hash, or, for no user, against a dummy hash of the same cost:
    an unknown username then takes as long to refuse as a wrong password."""
    if password_hash is None:
        verify_password(_dummy_hash(get_settings().password_hash_profile), password)
        return False
    return verify_password(password_hash, password)


def warm_up() -> None:
    """Make the dummy hash at start-up, not on the first unknown username."""
    _dummy_hash(get_settings().password_hash_profile)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Principal:
    user: User
    memberships: list[tuple[str, int | None]]
    auth_kind: str = "bearer"
    csrf_token: str | None = None
    auth_id: int | None = None
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


# Every request runs one of these, so they are built once: on SQLite, building a statement and
# its cache key costs more than running it.
_MEMBERSHIPS = select(col(Membership.role), col(Membership.site_id)).where(
    col(Membership.user_id) == bindparam("user_id"))
# The session, its user and the user's memberships (a row each; one row with no role if none).
_SESSION_USER_ROLES = (
    select(AuthSession, User, col(Membership.role), col(Membership.site_id))
    .join(User, col(User.id) == col(AuthSession.user_id))
    .outerjoin(Membership, col(Membership.user_id) == col(User.id))
    .where(col(AuthSession.token_hash) == bindparam("token_hash"),
           col(AuthSession.kind) == bindparam("kind"))
)


def memberships_of(session: Session, user_id: int | None) -> list[tuple[str, int | None]]:
    return [(role, site) for role, site in session.execute(_MEMBERSHIPS, {"user_id": user_id})]


def load_principal(session: Session, user: User, kind: str, csrf: str | None = None,
                   auth_id: int | None = None) -> Principal:
    return Principal(user, memberships_of(session, user.id), kind, csrf, auth_id)


def bearer_token(request: Request) -> str | None:
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


def _token_refusal(auth: AuthSession | None, now: datetime) -> Unauthorized | None:
    if auth is None or auth.revoked:
        return Unauthorized("Your session is not valid; sign in again.", code="session_invalid")
    if as_utc(auth.expires_at) <= now:
        return Unauthorized("Your session has expired; sign in again.", code="session_expired")
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if auth.kind == "cookie" and as_utc(auth.last_seen_at) + idle <= now:
        return Unauthorized("You were signed out after a period of inactivity; sign in again.",
                            code="session_idle")
    return None


def session_refusal(auth: AuthSession | None, user: User | None, now: datetime) -> Unauthorized | None:
    """Why a session or token no longer admits its holder, or None while it does."""
    refusal = _token_refusal(auth, now)
    if refusal is not None:
        return refusal
    if user is None or not user.active:
        return Unauthorized("This account is disabled.", code="account_disabled")
    return None


def authenticate(request: Request, session: SessionDep) -> Principal:
    token = bearer_token(request)
    kind = "bearer" if token else "cookie"
    token = token or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized("Sign in first: this request carries no session or bearer token.",
                           code="not_authenticated")
    rows = session.execute(_SESSION_USER_ROLES,
                           {"token_hash": token_digest(token), "kind": kind}).all()
    auth, user = (rows[0][0], rows[0][1]) if rows else (None, None)
    now = clock.now()
    if kind == "cookie" and request.method in UNSAFE_METHODS and _token_refusal(auth, now) is None:
        assert auth is not None
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not secrets.compare_digest(sent, auth.csrf_token):
            raise Forbidden("This form's security token is missing or stale; reload the page.",
                            code="csrf_failed")
    refusal = session_refusal(auth, user, now)
    if refusal is not None:
        raise refusal
    assert auth is not None and user is not None and auth.id is not None
    if now - as_utc(auth.last_seen_at) >= LAST_SEEN_GRANULARITY:
        if request.method in UNSAFE_METHODS:
            auth.last_seen_at = now
            session.add(auth)
        else:
            # A GET's transaction is read-only; on SQLite it holds no write lock to wait on.
            _touch(auth.id)
    memberships = [(role, site) for _, _, role, site in rows if role is not None]
    return Principal(user, memberships, kind, auth.csrf_token if kind == "cookie" else None,
                     auth.id)


def still_admitted(auth_id: int, memberships: Memberships) -> bool:
    """For a long-lived response (the alert stream): the session still admits its holder, and
    the holder's roles and sites are those the response was opened with."""
    with new_session(read_only=True) as session:
        auth = session.get(AuthSession, auth_id)
        user = session.get(User, auth.user_id) if auth is not None else None
        if session_refusal(auth, user, clock.now()) is not None or user is None:
            return False
        if user.must_change_password:
            return False
        return sorted(memberships_of(session, user.id), key=str) == sorted(memberships, key=str)


class Access:
    """A route's access rule. Every route declares one; a test walks them all."""

    def __init__(self, *roles: Role, any_signed_in: bool = False,
                 before_password_change: bool = False) -> None:
        self.roles = frozenset(roles)
        self.any_signed_in = any_signed_in
        # Open to a user who signed in with a temporary password and must change it first.
        self.before_password_change = before_password_change

    async def __call__(self, principal: Principal = Depends(authenticate)) -> Principal:
        # async: a check of roles in memory, run on the event loop with no worker-thread hop.
        if principal.user.must_change_password and not self.before_password_change:
            raise Forbidden("Change your temporary password before you go on.",
                            code="password_change_required")
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
# Who am I, sign out, change my password: open while a temporary password awaits its change.
OWN_ACCOUNT = Access(any_signed_in=True, before_password_change=True)
ADMIN = Access(Role.admin)
