"""Sign-in, cookies and CSRF, bearer tokens, lockout, idle expiry."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from cartrack.scans.models import CustodyEvent
from cartrack.settings import get_settings
from cartrack.users.models import Membership, User
from tests.helpers.constants import PASSWORD


def login(client: Any, username: str = "coordinator", password: str = PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_login_sets_an_httponly_strict_cookie_and_returns_a_csrf_token(client: Any) -> None:
    r = login(client)
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    body = r.json()
    assert body["username"] == "coordinator" and body["csrf_token"]
    assert client.get("/api/auth/me").json()["username"] == "coordinator"


def test_unsafe_request_with_cookie_needs_the_csrf_header(client: Any) -> None:
    csrf = login(client).json()["csrf_token"]
    case = {"patient": {"given_name": "A", "family_name": "B", "date_of_birth": "1970-01-01",
                        "mrn": "M1"}, "product": "yescarta", "collection_site": "TC-CITY",
            "manufacturing_site": "MF-EAST", "treatment_site": "TC-CITY"}
    refused = client.post("/api/cases", json=case)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    wrong = client.post("/api/cases", json=case, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    ok = client.post("/api/cases", json=case, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text


def test_wrong_password_is_refused_with_one_message_for_both_cases(client: Any) -> None:
    wrong_pw = login(client, password="not-the-password")
    no_user = login(client, username="nobody")
    assert wrong_pw.status_code == no_user.status_code == 401
    assert wrong_pw.json()["detail"] == no_user.json()["detail"]


def test_five_failures_lock_the_account_for_fifteen_minutes(client: Any, frozen: Any) -> None:
    for _ in range(5):
        assert login(client, "qa", "wrong-password").status_code == 401
    locked = login(client, "qa", PASSWORD)
    assert locked.status_code == 423 and locked.json()["code"] == "account_locked"
    frozen.advance(minutes=14)
    assert login(client, "qa", PASSWORD).status_code == 423
    frozen.advance(minutes=2)
    assert login(client, "qa", PASSWORD).status_code == 200
    with new_session() as s:
        actions = [a.action for a in s.exec(select(AuditEntry).where(
            AuditEntry.entity == "user")).all()]
    assert actions.count("login_failed") == 4 and "lock_account" in actions


def test_session_expires_after_idle_time(client: Any, frozen: Any) -> None:
    login(client)
    frozen.advance(minutes=10)
    assert client.get("/api/auth/me").status_code == 200  # activity resets the idle clock
    frozen.advance(minutes=14)
    assert client.get("/api/auth/me").status_code == 200
    frozen.advance(minutes=16)
    r = client.get("/api/auth/me")
    assert r.status_code == 401 and r.json()["code"] == "session_idle"


def test_bearer_token_flow_for_scripts_and_scan_devices(client: Any) -> None:
    r = client.post("/api/auth/token", data={"username": "lab_tech", "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["token_type"] == "bearer"
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "lab_tech"
    # Bearer requests are not subject to CSRF (no ambient credentials).
    out = client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204
    again = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401


def test_no_credentials_is_401_with_a_message(client: Any) -> None:
    r = client.get("/api/cases")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated" and "Sign in" in r.json()["detail"]


def test_garbage_token_is_401(client: Any) -> None:
    r = client.get("/api/cases", headers={"Authorization": "Bearer garbage"})
    assert r.status_code == 401 and r.json()["code"] == "session_invalid"


def test_passwords_are_stored_as_argon2id(db_url: str) -> None:

    with new_session() as s:
        hashes = [u.password_hash for u in s.exec(select(User)).all()]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)


def _token(client: Any, username: str) -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _custody_rows() -> int:
    with new_session() as s:
        return len(s.exec(select(CustodyEvent)).all())


def test_an_expired_bearer_token_is_refused_at_the_scan_station(client: Any,
                                                                 frozen: Any) -> None:
    """Authentication reads session, user and roles in one statement: an expired token still
    says so, and the scan it carried is not recorded."""
    headers = _token(client, "lab_tech")
    scan = {"payload": "NOT-A-CARTRACK-LABEL"}
    assert client.post("/api/scans", headers=headers, json=scan).status_code == 200
    recorded = _custody_rows()
    frozen.advance(minutes=get_settings().token_minutes + 1)
    r = client.post("/api/scans", headers=headers, json=scan)
    assert r.status_code == 401 and r.json()["code"] == "session_expired", r.text
    assert _custody_rows() == recorded


def test_a_user_left_without_any_role_is_forbidden_not_an_error(client: Any) -> None:
    """The user's roles come from an outer join: with none left, the user is still signed in
    and is refused for the role."""
    headers = _token(client, "lab_tech")
    with new_session() as s:
        user = s.exec(select(User).where(User.username == "lab_tech")).one()
        for membership in s.exec(select(Membership).where(Membership.user_id == user.id)):
            s.delete(membership)
        s.commit()
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    r = client.post("/api/scans", headers=headers, json={"payload": "NOT-A-CARTRACK-LABEL"})
    assert r.status_code == 403 and r.json()["code"] == "role_forbidden", r.text
