"""Users, sites, sign-in with lockout, sessions and tokens."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import Session, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.clock import as_utc
from cartrack.errors import Conflict, Forbidden, Invalid, Locked, NotFound, Unauthorized
from cartrack.security import Principal, hash_password, token_digest, verify_password
from cartrack.settings import get_settings
from cartrack.users.models import (
    AuthSession,
    Membership,
    MembershipOut,
    Role,
    Site,
    SiteIn,
    SiteOut,
    User,
    UserIn,
    UserOut,
)

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


def create_site(session: Session, actor: Principal | None, data: SiteIn) -> Site:
    if session.exec(select(Site).where(Site.code == data.code)).first():
        raise Conflict(f"A site with code {data.code!r} already exists.", code="site_exists")
    site = Site(code=data.code, name=data.name, kinds=",".join(k.value for k in data.kinds),
                timezone=data.timezone, fin=get_settings().fin, mrn_system=data.mrn_system)
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
        active=user.active, locked=is_locked(user),
        memberships=[MembershipOut(role=Role(m.role), site_id=m.site_id,
                                   site_code=s.code if s else None) for m, s in rows],
    )


def create_user(session: Session, actor: Principal | None, data: UserIn, *,
                published_password: bool = False) -> User:
    """A user with their memberships; ``published_password`` for demo accounts only."""
    if session.exec(select(User).where(User.username == data.username)).first():
        raise Conflict(f"The username {data.username!r} is taken.", code="username_taken")
    user = User(username=data.username, full_name=data.full_name, email=data.email,
                password_hash=hash_password(data.password, published=published_password),
                created_at=clock.now())
    session.add(user)
    session.flush()
    seen: set[tuple[str, int | None]] = set()
    for m in data.memberships:
        site_id = None
        if m.role != Role.admin:
            if not m.site_code:
                raise Invalid(f"The role {m.role.value} needs a site.", code="site_required")
            site_id = site_by_code(session, m.site_code).id
        if (m.role, site_id) not in seen:
            seen.add((m.role, site_id))
            session.add(Membership(user_id=user.id or 0, role=m.role.value, site_id=site_id))
    audit.record(session, user_id=actor.id if actor else None,
                 printed_name=actor.name if actor else "system", action="create", entity="user",
                 entity_id=user.id or 0,
                 new={"username": data.username, "full_name": data.full_name,
                      "memberships": [m.model_dump() for m in data.memberships]})
    return user


def _failure_writer(user_id: int, action: str) -> Callable[[Session], None]:
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
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    if is_locked(user):
        raise Locked("This account is locked after repeated failed sign-ins; try again later "
                     "or ask an admin.", code="account_locked")
    if not verify_password(user.password_hash, password):
        assert user.id is not None
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials").also_record(
            _failure_writer(user.id, "login_failed"))
    if user.failed_logins:
        user.failed_logins = 0
        session.add(user)
    return user


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
                        code="signature_failed").also_record(_failure_writer(user.id, "signature_failed"))


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
