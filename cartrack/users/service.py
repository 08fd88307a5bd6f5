"""Users, sites, sign-in with lockout, sessions and tokens."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.clock import as_utc
from cartrack.errors import Conflict, Forbidden, Locked, NotFound, Unauthorized
from cartrack.security import (
    Principal,
    hash_password,
    needs_rehash,
    token_digest,
    verify_password,
    verify_password_or_dummy,
)
from cartrack.settings import get_settings
from cartrack.users.models import (
    AuthSession,
    Membership,
    MembershipIn,
    MembershipOut,
    Role,
    Site,
    SiteIn,
    SiteOut,
    User,
    UserIn,
    UserOut,
    printed_name_key,
)
from cartrack.users.passwords import check_new_password

BAD_CREDENTIALS = "Wrong username or password."


def site_out(site: Site) -> SiteOut:
    assert site.id is not None
    return SiteOut(id=site.id, code=site.code, name=site.name, kinds=site.kind_list(),
                   timezone=site.timezone, mrn_system=site.mrn_system)


def site_by_code(session: Session, code: str) -> Site:
    site = session.exec(select(Site).where(Site.code == code)).first()
    if site is None:
        raise NotFound(f"No site with code {code!r}.", code="site_not_found")
    return site


def _check_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Conflict(f"{name!r} is not a time zone this server knows; use an IANA name such "
                       "as America/New_York.", code="unknown_time_zone") from exc


def create_site(session: Session, actor: Principal | None, data: SiteIn) -> Site:
    _check_time_zone(data.timezone)
    if session.exec(select(Site).where(Site.code == data.code)).first():
        raise Conflict(f"A site with code {data.code!r} already exists.", code="site_exists")
    kinds = ",".join(dict.fromkeys(k.value for k in data.kinds))  # each once, in order given
    site = Site(code=data.code, name=data.name, kinds=kinds, timezone=data.timezone,
                fin=get_settings().fin, mrn_system=data.mrn_system)
    session.add(site)
    session.flush()
    audit.record(session, user_id=actor.id if actor else None,
                 printed_name=actor.name if actor else "system", action="create",
                 entity="site", entity_id=site.id or 0, new=data.model_dump())
    return site


def is_locked(user: User) -> bool:
    return user.locked_until is not None and as_utc(user.locked_until) > clock.now()


def user_out(session: Session, user: User) -> UserOut:
    rows = session.exec(
        select(Membership, Site).join(Site, isouter=True).where(Membership.user_id == user.id)  # type: ignore[arg-type]
    ).all()
    assert user.id is not None
    return UserOut(
        id=user.id, username=user.username, full_name=user.full_name, email=user.email,
        active=user.active, locked=is_locked(user), must_change_password=user.must_change_password,
        memberships=[MembershipOut(role=Role(m.role), site_id=m.site_id,
                                   site_code=s.code if s else None) for m, s in rows],
    )


def create_user(session: Session, actor: Principal | None, data: UserIn, *,
                password_rules: bool = True, published_password: bool = False) -> User:
    """A new user. ``password_rules=False`` and ``published_password=True`` only for the demo's
    users, which share the published demo password (a cheap hash protects nothing there)."""
    if session.exec(select(User).where(User.username == data.username)).first():
        raise Conflict(f"The username {data.username!r} is taken.", code="username_taken")
    refuse_taken_printed_name(session, data.full_name)
    if password_rules:
        check_new_password(data.password, username=data.username, full_name=data.full_name)
    user = User(username=data.username, full_name=data.full_name,
                printed_name_key=printed_name_key(data.full_name), email=data.email,
                password_hash=hash_password(data.password, published=published_password),
                created_at=clock.now())
    session.add(user)
    session.flush()
    for role, site_id in resolve_memberships(session, data.memberships):
        session.add(Membership(user_id=user.id or 0, role=role, site_id=site_id))
    audit.record(session, user_id=actor.id if actor else None,
                 printed_name=actor.name if actor else "system", action="create", entity="user",
                 entity_id=user.id or 0,
                 new={"username": data.username, "full_name": data.full_name,
                      "memberships": [m.model_dump() for m in data.memberships]})
    return user


def resolve_memberships(session: Session, wanted: list[MembershipIn]) -> list[tuple[str, int | None]]:
    """(role, site id) pairs, each once: admins hold theirs everywhere, the rest at a site."""
    out: list[tuple[str, int | None]] = []
    for m in wanted:
        site_id = None
        if m.role != Role.admin:
            if not m.site_code:
                raise Conflict(f"The role {m.role.value} needs a site.", code="site_required")
            site_id = site_by_code(session, m.site_code).id
        if (m.role.value, site_id) not in out:
            out.append((m.role.value, site_id))
    return out


def refuse_taken_printed_name(session: Session, full_name: str, but: int | None = None) -> None:
    """Printed names appear on e-signatures: no two active users may share one."""
    other = session.exec(select(User).where(User.printed_name_key == printed_name_key(full_name),
                                            User.active == True,  # noqa: E712
                                            User.id != but)).first()
    if other is not None:
        raise Conflict(f"An active user already has the printed name {other.full_name!r}; "
                       "signatures must tell people apart (add a middle initial or a "
                       "department).", code="printed_name_taken",
                       fields=[{"field": "full_name", "message": "printed name in use",
                                "type": "printed_name_taken"}])


def failure_writer(user_id: int, action: str) -> Callable[[Session], None]:
    """Failures are kept though the request fails: written after its rollback."""

    def write(s: Session) -> None:
        settings = get_settings()
        user = s.get(User, user_id)
        if user is None:
            return
        user.failed_logins += 1
        locked = user.failed_logins >= settings.login_max_failures
        if locked:
            user.locked_until = clock.now() + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
        s.add(user)
        audit.record(s, user_id=user.id, printed_name=user.full_name,
                     action="lock_account" if locked else action, entity="user",
                     entity_id=user_id)

    return write


def check_credentials(session: Session, username: str, password: str) -> User:
    """Whoever does not present the right password gets the same answer at the same cost,
    whether the user is unknown, disabled, locked or merely mistyped: a dummy hash is
    verified when there is no user. Only the right password learns of a lock or a disable."""
    user = user_by_username(session, username)
    right = verify_password_or_dummy(user.password_hash if user else None, password)
    if user is None or not right:
        refusal = Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
        if user is not None and user.active and not is_locked(user):
            assert user.id is not None
            refusal.also_record(failure_writer(user.id, "login_failed"))
        raise refusal
    if not user.active:
        raise Forbidden("This account is disabled; ask an admin.", code="account_disabled")
    if is_locked(user):
        raise Locked("This account is locked after repeated failed sign-ins; try again later "
                     "or ask an admin.", code="account_locked")
    if user.must_change_password:
        _spend_temporary_password(user)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    session.add(user)
    return user


def _spend_temporary_password(user: User) -> None:
    """A temporary password admits one sign-in, before it expires."""
    expires = user.temporary_password_expires_at
    if expires is None or as_utc(expires) <= clock.now():
        raise Unauthorized("This temporary password was used already or has expired; ask an "
                           "admin for a new one.", code="temporary_password_spent")
    user.temporary_password_expires_at = None


def open_session(session: Session, user: User, kind: str) -> tuple[str, AuthSession]:
    settings = get_settings()
    token = secrets.token_urlsafe(32)
    now = clock.now()
    lifetime = timedelta(hours=12) if kind == "cookie" else timedelta(minutes=settings.token_minutes)
    row = AuthSession(token_hash=token_digest(token), user_id=user.id or 0, kind=kind,
                      csrf_token=secrets.token_urlsafe(24) if kind == "cookie" else "",
                      created_at=now, last_seen_at=now, expires_at=now + lifetime)
    session.add(row)
    audit.record(session, user_id=user.id, printed_name=user.full_name, action="login",
                 entity="user", entity_id=user.id or 0, new={"kind": kind})
    return token, row


def close_session(session: Session, token: str) -> None:
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == token_digest(token))).first()
    if row is not None and not row.revoked:
        row.revoked = True
        session.add(row)
        user = session.get(User, row.user_id)
        audit.record(session, user_id=row.user_id, printed_name=user.full_name if user else "?",
                     action="logout", entity="user", entity_id=row.user_id)


def verify_signer(session: Session, user: User, password: str) -> None:
    """The second component of a Part 11 signature: the password typed again at signing."""
    if is_locked(user):
        raise Locked("This account is locked after repeated failed attempts.",
                     code="account_locked")
    if not verify_password(user.password_hash, password):
        assert user.id is not None
        raise Forbidden("The signature password is wrong; nothing was signed.",
                        code="signature_failed").also_record(failure_writer(user.id, "signature_failed"))


def user_by_username(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def unlock(session: Session, actor: Principal, user: User) -> None:
    old = {"locked_until": user.locked_until, "failed_logins": user.failed_logins}
    user.locked_until = None
    user.failed_logins = 0
    session.add(user)
    audit.record(session, user_id=actor.id, printed_name=actor.name, action="unlock",
                 entity="user", entity_id=user.id or 0, old=old,
                 new={"locked_until": None, "failed_logins": 0})
