from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from cartrack import security
from cartrack.db import SessionDep
from cartrack.errors import NotFound
from cartrack.pagination import Page
from cartrack.security import ADMIN, OWN_ACCOUNT, PUBLIC, SIGNED_IN, Principal
from cartrack.settings import get_settings
from cartrack.users import accounts, service
from cartrack.users.models import (
    MembershipsIn,
    MeOut,
    PasswordChangeIn,
    Site,
    SiteIn,
    SiteOut,
    TemporaryPasswordOut,
    User,
    UserIn,
    UserOut,
)

router = APIRouter(prefix="/api", tags=["auth and users"])
UserId = Path(ge=1, le=2**31 - 1)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


def _me(session: Session, principal_user: User, csrf: str | None) -> MeOut:
    base = service.user_out(session, principal_user)
    return MeOut(**base.model_dump(), csrf_token=csrf,
                 idle_minutes=get_settings().session_idle_minutes)


@router.post("/auth/login", dependencies=[Depends(PUBLIC)])
def login(session: SessionDep, body: LoginIn, response: Response) -> MeOut:
    """Browser sign-in: sets an HttpOnly, SameSite=Strict session cookie; returns the CSRF token
    to send as X-CSRF-Token on every unsafe request."""
    user = service.check_credentials(session, body.username, body.password)
    token, row = service.open_session(session, user, "cookie")
    settings = get_settings()
    response.set_cookie(security.SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=settings.is_production, path="/")
    return _me(session, user, row.csrf_token)


@router.post("/auth/token", dependencies=[Depends(PUBLIC)])
def token(session: SessionDep, username: Annotated[str, Form(min_length=1, max_length=64)],
          password: Annotated[str, Form(min_length=1, max_length=200)]) -> TokenOut:
    """OAuth2 password flow for scripts and scan devices."""
    user = service.check_credentials(session, username, password)
    raw, _ = service.open_session(session, user, "bearer")
    return TokenOut(access_token=raw, expires_in=get_settings().token_minutes * 60)


@router.post("/auth/logout", status_code=204, dependencies=[Depends(OWN_ACCOUNT)])
def logout(session: SessionDep, request: Request, response: Response) -> None:
    raw = security.bearer_token(request) or request.cookies.get(security.SESSION_COOKIE)
    if raw:
        service.close_session(session, raw)
    response.delete_cookie(security.SESSION_COOKIE, path="/")


@router.get("/auth/me")
def me(session: SessionDep, principal: Principal = Depends(OWN_ACCOUNT)) -> MeOut:
    return _me(session, principal.user, principal.csrf_token)


@router.post("/auth/password")
def change_password(session: SessionDep, body: PasswordChangeIn,
                    principal: Principal = Depends(OWN_ACCOUNT)) -> MeOut:
    """Change your own password: the current one, and a new one that meets the rules (12 to 64
    characters, not common or breached-style, not your username or printed name). Your other
    sessions and tokens end; this one goes on. A temporary password must be changed here first."""
    accounts.change_own_password(session, principal, body.current_password, body.new_password)
    return _me(session, principal.user, principal.csrf_token)


@router.get("/sites")
def list_sites(session: SessionDep, _: Principal = Depends(SIGNED_IN)) -> list[SiteOut]:
    return [service.site_out(s) for s in session.exec(select(Site).order_by(col(Site.code)))]


@router.post("/sites", status_code=201)
def create_site(session: SessionDep, body: SiteIn, principal: Principal = Depends(ADMIN)) -> SiteOut:
    return service.site_out(service.create_site(session, principal, body))


@router.get("/users")
def list_users(session: SessionDep,
               limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=10**9),
               _: Principal = Depends(ADMIN)) -> Page[UserOut]:
    total = session.exec(select(func.count()).select_from(User)).one()
    rows = session.exec(select(User).order_by(col(User.username)).limit(limit).offset(offset))
    return Page[UserOut](items=[service.user_out(session, u) for u in rows], total=int(total),
                         limit=limit, offset=offset)


@router.post("/users", status_code=201)
def create_user(session: SessionDep, body: UserIn, principal: Principal = Depends(ADMIN)) -> UserOut:
    return service.user_out(session, service.create_user(session, principal, body))


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.", code="user_not_found")
    return user


@router.post("/users/{user_id}/unlock")
def unlock_user(session: SessionDep,
                user_id: int = UserId, principal: Principal = Depends(ADMIN)) -> UserOut:
    user = _user(session, user_id)
    service.unlock(session, principal, user)
    return service.user_out(session, user)


@router.post("/users/{user_id}/disable")
def disable_user(session: SessionDep,
                 user_id: int = UserId, principal: Principal = Depends(ADMIN)) -> UserOut:
    """Disable an account: every session and token of it ends at once, and its live alert
    streams close. Not your own."""
    user = _user(session, user_id)
    accounts.disable(session, principal, user)
    return service.user_out(session, user)


@router.post("/users/{user_id}/enable")
def enable_user(session: SessionDep,
                user_id: int = UserId, principal: Principal = Depends(ADMIN)) -> UserOut:
    """Enable a disabled account, unless an active user now has its printed name."""
    user = _user(session, user_id)
    accounts.enable(session, principal, user)
    return service.user_out(session, user)


@router.post("/users/{user_id}/password-reset")
def reset_password(session: SessionDep, user_id: int = UserId,
                   principal: Principal = Depends(ADMIN)) -> TemporaryPasswordOut:
    """A one-time temporary password, shown in this answer only: it admits one sign-in before
    it expires, and that session may only set a new password. Ends the user's sessions and
    lifts a lock. Not your own (change it instead)."""
    user = _user(session, user_id)
    temporary, expires = accounts.reset_password(session, principal, user)
    return TemporaryPasswordOut(user=service.user_out(session, user),
                                temporary_password=temporary, expires_at=expires)


@router.put("/users/{user_id}/memberships")
def set_memberships(session: SessionDep, body: MembershipsIn, user_id: int = UserId,
                    principal: Principal = Depends(ADMIN)) -> UserOut:
    """Replace a user's roles and sites (audited with the old and the new). The user's live
    alert streams close and reconnect under the new roles."""
    user = _user(session, user_id)
    accounts.set_memberships(session, principal, user, body.memberships)
    return service.user_out(session, user)
