"""An account's life cycle: disable and enable, an admin's password reset, changing your own
password, and editing roles and sites. Every change is audited with its old and new values."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.errors import Conflict, Forbidden
from cartrack.security import Principal, hash_password, verify_password
from cartrack.settings import get_settings
from cartrack.users.models import AuthSession, Membership, MembershipIn, Role, Site, User
from cartrack.users.passwords import check_new_password, temporary_password
from cartrack.users.service import failure_writer, refuse_taken_printed_name, resolve_memberships


def revoke_sessions(session: Session, user_id: int, keep: int | None = None) -> int:
    """End every browser session and bearer token of a user at once (but ``keep``); live
    streams notice within seconds. Returns how many were ended."""
    query = update(AuthSession).where(col(AuthSession.user_id) == user_id,
                                      col(AuthSession.revoked) == False)  # noqa: E712
    if keep is not None:
        query = query.where(col(AuthSession.id) != keep)
    result = cast("CursorResult[Any]", session.execute(query.values(revoked=True)))
    return int(result.rowcount or 0)


def _record(session: Session, actor: Principal, action: str, user: User, old: dict[str, Any],
            new: dict[str, Any]) -> None:
    audit.record(session, user_id=actor.id, printed_name=actor.name, action=action,
                 entity="user", entity_id=user.id or 0, old=old, new=new)


def _not_yourself(actor: Principal, user: User, what: str) -> None:
    if actor.id == user.id:
        raise Conflict(f"You cannot {what} your own account; ask another admin.",
                       code="own_account")


def disable(session: Session, actor: Principal, user: User) -> None:
    _not_yourself(actor, user, "disable")
    if not user.active:
        raise Conflict(f"{user.username} is disabled already.", code="already_disabled")
    user.active = False
    session.add(user)
    ended = revoke_sessions(session, user.id or 0)
    _record(session, actor, "disable", user, {"active": True},
            {"active": False, "sessions_ended": ended})


def enable(session: Session, actor: Principal, user: User) -> None:
    if user.active:
        raise Conflict(f"{user.username} is enabled already.", code="already_enabled")
    refuse_taken_printed_name(session, user.full_name, but=user.id)
    user.active = True
    session.add(user)
    _record(session, actor, "enable", user, {"active": False}, {"active": True})


def reset_password(session: Session, actor: Principal, user: User) -> tuple[str, datetime]:
    """A one-time temporary password for the user (returned once, never stored or logged):
    it admits one sign-in before it expires, and that session may only set a new password.
    Every session of the user ends, and a lock from failed sign-ins is lifted."""
    _not_yourself(actor, user, "reset the password of")
    temporary = temporary_password()
    expires = clock.now() + timedelta(hours=get_settings().temporary_password_hours)
    old = {"must_change_password": user.must_change_password, "locked_until": user.locked_until,
           "failed_logins": user.failed_logins}
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    user.temporary_password_expires_at = expires
    user.locked_until = None
    user.failed_logins = 0
    session.add(user)
    ended = revoke_sessions(session, user.id or 0)
    _record(session, actor, "password_reset", user, old,
            {"must_change_password": True, "temporary_password_expires_at": expires,
             "locked_until": None, "failed_logins": 0, "sessions_ended": ended})
    return temporary, expires


def change_own_password(session: Session, principal: Principal, current: str, new: str) -> None:
    """Needs the current password (failures count toward the lock); the new one must meet the
    rules and differ. The other sessions of the user end; this one goes on."""
    user = principal.user
    if not verify_password(user.password_hash, current):
        raise Forbidden("Your current password is wrong; the password was not changed.",
                        code="current_password_wrong",
                        fields=[{"field": "current_password", "message": "wrong password",
                                 "type": "current_password_wrong"}],
                        ).also_record(failure_writer(principal.id, "password_change_failed"))
    check_new_password(new, username=user.username, full_name=user.full_name,
                       field="new_password")
    if new == current:
        raise Conflict("The new password must differ from the current one.",
                       code="password_unchanged",
                       fields=[{"field": "new_password", "message": "same as the current one",
                                "type": "password_unchanged"}])
    was_temporary = user.must_change_password
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.temporary_password_expires_at = None
    session.add(user)
    ended = revoke_sessions(session, principal.id, keep=principal.auth_id)
    audit.record(session, user_id=principal.id, printed_name=principal.name,
                 action="password_change", entity="user", entity_id=principal.id,
                 old={"must_change_password": was_temporary},
                 new={"must_change_password": False, "sessions_ended": ended})


def set_memberships(session: Session, actor: Principal, user: User,
                    wanted: list[MembershipIn]) -> None:
    """Replace a user's roles and sites. Open sessions pick the change up on their next
    request; live alert streams close so that they reconnect under the new roles."""
    new = resolve_memberships(session, wanted)
    rows = session.exec(select(Membership).where(Membership.user_id == user.id)).all()
    old = [(m.role, m.site_id) for m in rows]
    if sorted(old, key=str) == sorted(new, key=str):
        return
    if actor.id == user.id and (Role.admin.value, None) in old and (Role.admin.value, None) not in new:
        raise Conflict("You cannot remove your own admin role; ask another admin.",
                       code="own_account")
    for row in rows:
        session.delete(row)
    session.flush()
    for role, site_id in new:
        session.add(Membership(user_id=user.id or 0, role=role, site_id=site_id))
    codes = _site_codes(session, {s for _, s in old + new if s is not None})
    _record(session, actor, "change_roles", user, {"memberships": _described(old, codes)},
            {"memberships": _described(new, codes)})


def _site_codes(session: Session, ids: set[int]) -> dict[int, str]:
    sites = session.exec(select(Site).where(col(Site.id).in_(ids))).all() if ids else []
    return {s.id or 0: s.code for s in sites}


def _described(memberships: list[tuple[str, int | None]], codes: dict[int, str]) -> list[str]:
    return sorted(f"{role}@{codes[site]}" if site is not None else role
                  for role, site in memberships)
