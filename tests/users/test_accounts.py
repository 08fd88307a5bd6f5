"""An account's life cycle through the API: disable and enable, an admin's password reset with a
one-time temporary password, changing one's own password, editing roles and sites, and printed
names unique among active users. Every change is audited with old and new values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import col, select

from cartrack.audit.models import AuditEntry
from cartrack.db import make_engine, new_session
from cartrack.migrate import upgrade
from tests.helpers.auth import bearer_for
from tests.helpers.constants import PASSWORD

NEW_PASSWORD = "violet-harbour-lantern-7"


def user_id(client: Any, auth: Any, username: str) -> int:
    users = client.get("/api/users", headers=auth["admin"]).json()["items"]
    return int(next(u["id"] for u in users if u["username"] == username))


def user_row(client: Any, auth: Any, username: str) -> dict[str, Any]:
    users = client.get("/api/users", headers=auth["admin"]).json()["items"]
    return dict(next(u for u in users if u["username"] == username))


def cookie_session(app: Any, username: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    """A browser of its own, signed in: the client and its CSRF token."""
    browser = TestClient(app)
    r = browser.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return browser, r.json()["csrf_token"]


def audit_of(user: int, action: str) -> list[AuditEntry]:
    with new_session() as s:
        return list(s.exec(select(AuditEntry).where(AuditEntry.entity == "user",
                                                    AuditEntry.entity_id == user,
                                                    AuditEntry.action == action)
                           .order_by(col(AuditEntry.id))).all())


def values(entry: AuditEntry, which: str) -> Any:
    raw = getattr(entry, which)
    return json.loads(raw) if isinstance(raw, str) else raw


def admin_post(client: Any, auth: Any, path: str, **kw: Any) -> Any:
    return client.post(path, headers=auth["admin"], **kw)


# ---- disable and enable ------------------------------------------------------------------


def test_disabling_ends_every_session_and_token_at_once(app: Any, client: Any, auth: Any) -> None:
    browser, _ = cookie_session(app, "lab_tech")
    token = auth["lab_tech"]
    assert browser.get("/api/auth/me").status_code == 200
    lab = user_id(client, auth, "lab_tech")
    r = admin_post(client, auth, f"/api/users/{lab}/disable")
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    for answer in (browser.get("/api/auth/me"), client.get("/api/cases", headers=token)):
        assert answer.status_code == 401
    right = client.post("/api/auth/login", json={"username": "lab_tech", "password": PASSWORD})
    assert right.status_code == 403 and right.json()["code"] == "account_disabled"
    [entry] = audit_of(lab, "disable")
    assert values(entry, "old") == {"active": True}
    assert values(entry, "new") == {"active": False, "sessions_ended": 2}
    again = admin_post(client, auth, f"/api/users/{lab}/disable")
    assert again.status_code == 409 and again.json()["code"] == "already_disabled"


def test_enabling_lets_the_user_sign_in_again_but_old_sessions_stay_ended(
        app: Any, client: Any, auth: Any) -> None:
    browser, _ = cookie_session(app, "lab_tech")
    lab = user_id(client, auth, "lab_tech")
    admin_post(client, auth, f"/api/users/{lab}/disable")
    r = admin_post(client, auth, f"/api/users/{lab}/enable")
    assert r.status_code == 200 and r.json()["active"] is True
    assert browser.get("/api/auth/me").json()["code"] == "session_invalid"
    fresh, _ = cookie_session(app, "lab_tech")
    assert fresh.get("/api/auth/me").json()["username"] == "lab_tech"
    [entry] = audit_of(lab, "enable")
    assert (values(entry, "old"), values(entry, "new")) == ({"active": False}, {"active": True})
    again = admin_post(client, auth, f"/api/users/{lab}/enable")
    assert again.status_code == 409 and again.json()["code"] == "already_enabled"


def test_an_admin_cannot_disable_or_reset_their_own_account(client: Any, auth: Any) -> None:
    me = user_id(client, auth, "admin")
    for action in ("disable", "password-reset"):
        r = admin_post(client, auth, f"/api/users/{me}/{action}")
        assert r.status_code == 409 and r.json()["code"] == "own_account", action
    assert client.get("/api/auth/me", headers=auth["admin"]).status_code == 200


def test_only_admins_manage_accounts_and_unknown_users_are_404(client: Any, auth: Any) -> None:
    lab = user_id(client, auth, "lab_tech")
    for path in ("disable", "enable", "password-reset"):
        r = client.post(f"/api/users/{lab}/{path}", headers=auth["coordinator"])
        assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
        missing = admin_post(client, auth, f"/api/users/99999/{path}")
        assert missing.status_code == 404 and missing.json()["code"] == "user_not_found"
    assert user_row(client, auth, "lab_tech")["active"] is True


# ---- printed names -------------------------------------------------------------------------


def add_user(client: Any, auth: Any, username: str, full_name: str) -> Any:
    return admin_post(client, auth, "/api/users", json={
        "username": username, "full_name": full_name, "password": NEW_PASSWORD,
        "memberships": [{"role": "qa", "site_code": "MF-EAST"}]})


def test_printed_names_are_unique_among_active_users(client: Any, auth: Any) -> None:
    for spelling in ("Quinn Quality", "quinn  QUALITY", " Quinn Quality "):
        r = add_user(client, auth, "quinn2", spelling)
        assert r.status_code == 409, (spelling, r.text)
        assert r.json()["code"] == "printed_name_taken"
        assert r.json()["fields"][0]["field"] == "full_name"
    ok = add_user(client, auth, "quinn2", "Quinn R. Quality")
    assert ok.status_code == 201 and ok.json()["full_name"] == "Quinn R. Quality"
    assert add_user(client, auth, "quinn3", "Quinn   R.  Quality").status_code == 409


def test_a_disabled_users_name_may_be_reused_but_then_not_enabled_twice(
        client: Any, auth: Any) -> None:
    qa = user_id(client, auth, "qa")
    admin_post(client, auth, f"/api/users/{qa}/disable")
    assert add_user(client, auth, "quinn2", "Quinn Quality").status_code == 201
    r = admin_post(client, auth, f"/api/users/{qa}/enable")
    assert r.status_code == 409 and r.json()["code"] == "printed_name_taken"
    assert user_row(client, auth, "qa")["active"] is False


# ---- an admin's password reset -----------------------------------------------------------


def test_a_reset_gives_a_one_time_password_that_must_be_changed(app: Any, client: Any,
                                                               auth: Any) -> None:
    browser, _ = cookie_session(app, "infusion_staff")
    nurse = user_id(client, auth, "infusion_staff")
    r = admin_post(client, auth, f"/api/users/{nurse}/password-reset")
    assert r.status_code == 200, r.text
    temporary = r.json()["temporary_password"]
    assert len(temporary) >= 20 and r.json()["user"]["must_change_password"] is True
    assert browser.get("/api/auth/me").status_code == 401  # the reset ended her sessions
    old = client.post("/api/auth/login", json={"username": "infusion_staff", "password": PASSWORD})
    assert old.status_code == 401

    fresh, csrf = cookie_session(app, "infusion_staff", temporary)
    me = fresh.get("/api/auth/me").json()
    assert me["must_change_password"] is True
    for path in ("/api/cases", "/api/alerts", "/api/alerts/stream"):
        refused = fresh.get(path)
        assert refused.status_code == 403 and refused.json()["code"] == "password_change_required"
    second = client.post("/api/auth/login", json={"username": "infusion_staff",
                                                  "password": temporary})
    assert second.status_code == 401 and second.json()["code"] == "temporary_password_spent"

    changed = fresh.post("/api/auth/password", headers={"X-CSRF-Token": csrf}, json={
        "current_password": temporary, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert changed.json()["must_change_password"] is False
    assert fresh.get("/api/cases").status_code == 200
    assert cookie_session(app, "infusion_staff", NEW_PASSWORD)[0].get("/api/auth/me").is_success
    entries = audit_of(nurse, "password_reset")
    assert len(entries) == 1 and temporary not in str(values(entries[0], "new"))
    assert values(entries[0], "new")["sessions_ended"] == 2  # her browser and her token


def test_a_temporary_password_expires_unused(client: Any, auth: Any, frozen: Any) -> None:
    nurse = user_id(client, auth, "infusion_staff")
    temporary = admin_post(client, auth, f"/api/users/{nurse}/password-reset").json()[
        "temporary_password"]
    frozen.advance(hours=24, minutes=1)
    r = client.post("/api/auth/login", json={"username": "infusion_staff", "password": temporary})
    assert r.status_code == 401 and r.json()["code"] == "temporary_password_spent"


def test_a_reset_lifts_a_lock(client: Any, auth: Any) -> None:
    for _ in range(5):
        client.post("/api/auth/login", json={"username": "qa", "password": "wrong-password"})
    assert user_row(client, auth, "qa")["locked"] is True
    qa = user_id(client, auth, "qa")
    temporary = admin_post(client, auth, f"/api/users/{qa}/password-reset").json()[
        "temporary_password"]
    assert user_row(client, auth, "qa")["locked"] is False
    r = client.post("/api/auth/login", json={"username": "qa", "password": temporary})
    assert r.status_code == 200, r.text


# ---- changing one's own password ---------------------------------------------------------


def test_changing_your_password_needs_the_current_one_and_ends_your_other_sessions(
        app: Any, client: Any, auth: Any) -> None:
    other_browser, _ = cookie_session(app, "coordinator")
    token = bearer_for("coordinator")
    browser, csrf = cookie_session(app, "coordinator")

    def change(current: str, new: str) -> Any:
        return browser.post("/api/auth/password", headers={"X-CSRF-Token": csrf},
                            json={"current_password": current, "new_password": new})

    wrong = change("not-my-password", NEW_PASSWORD)
    assert wrong.status_code == 403 and wrong.json()["code"] == "current_password_wrong"
    assert wrong.json()["fields"][0]["field"] == "current_password"
    weak = change(PASSWORD, "password1234")
    assert weak.status_code == 409 and weak.json()["code"] == "password_too_common"
    assert weak.json()["fields"][0]["field"] == "new_password"
    personal = change(PASSWORD, "cora-coordinator-2026")
    assert personal.status_code == 409 and personal.json()["code"] == "password_personal"
    same = change(PASSWORD, PASSWORD)
    assert same.status_code == 409 and same.json()["code"] == "password_unchanged"
    no_csrf = browser.post("/api/auth/password", json={"current_password": PASSWORD,
                                                        "new_password": NEW_PASSWORD})
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_failed"
    assert other_browser.get("/api/auth/me").status_code == 200  # nothing changed so far

    ok = change(PASSWORD, NEW_PASSWORD)
    assert ok.status_code == 200, ok.text
    assert browser.get("/api/auth/me").status_code == 200  # this session goes on
    assert other_browser.get("/api/auth/me").status_code == 401
    assert client.get("/api/cases", headers=token).status_code == 401
    assert client.get("/api/cases", headers=auth["coordinator"]).status_code == 401
    for password, status in ((PASSWORD, 401), (NEW_PASSWORD, 200)):
        r = client.post("/api/auth/token", data={"username": "coordinator", "password": password})
        assert r.status_code == status
    coordinator = user_id(client, auth, "coordinator")
    [entry] = audit_of(coordinator, "password_change")
    assert values(entry, "new")["sessions_ended"] == 3  # a browser and two tokens
    assert len(audit_of(coordinator, "password_change_failed")) == 1


def test_wrong_current_passwords_count_toward_the_lock(app: Any, client: Any) -> None:
    browser, csrf = cookie_session(app, "qa")
    for _ in range(5):
        r = browser.post("/api/auth/password", headers={"X-CSRF-Token": csrf}, json={
            "current_password": "a-guess-at-it", "new_password": NEW_PASSWORD})
        assert r.status_code == 403
    locked = client.post("/api/auth/login", json={"username": "qa", "password": PASSWORD})
    assert locked.status_code == 423


# ---- roles and sites -----------------------------------------------------------------------


def put_memberships(client: Any, auth: Any, user: int, memberships: list[dict[str, Any]]) -> Any:
    return client.put(f"/api/users/{user}/memberships", headers=auth["admin"],
                      json={"memberships": memberships})


def test_editing_roles_and_sites_is_audited_with_old_and_new(client: Any, auth: Any) -> None:
    coordinator = user_id(client, auth, "coordinator")
    token = auth["coordinator"]
    assert client.get("/api/alerts/summary", headers=token).status_code == 200
    r = put_memberships(client, auth, coordinator, [
        {"role": "coordinator", "site_code": "TC-CITY"}, {"role": "qa", "site_code": "MF-EAST"}])
    assert r.status_code == 200, r.text
    assert {(m["role"], m["site_code"]) for m in r.json()["memberships"]} == {
        ("coordinator", "TC-CITY"), ("qa", "MF-EAST")}
    [entry] = audit_of(coordinator, "change_roles")
    assert values(entry, "old") == {"memberships": ["coordinator@CC-NORTH", "coordinator@TC-CITY"]}
    assert values(entry, "new") == {"memberships": ["coordinator@TC-CITY", "qa@MF-EAST"]}
    me = client.get("/api/auth/me", headers=token).json()  # the open token sees the new roles
    assert {m["role"] for m in me["memberships"]} == {"coordinator", "qa"}
    same = put_memberships(client, auth, coordinator, [
        {"role": "qa", "site_code": "MF-EAST"}, {"role": "coordinator", "site_code": "TC-CITY"}])
    assert same.status_code == 200 and len(audit_of(coordinator, "change_roles")) == 1


def test_editing_roles_refuses_what_creating_refuses(client: Any, auth: Any) -> None:
    lab = user_id(client, auth, "lab_tech")
    nowhere = put_memberships(client, auth, lab, [{"role": "lab_tech", "site_code": "NOWHERE"}])
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "site_not_found"
    siteless = put_memberships(client, auth, lab, [{"role": "lab_tech"}])
    assert siteless.status_code == 409 and siteless.json()["code"] == "site_required"
    empty = put_memberships(client, auth, lab, [])
    assert empty.status_code == 422
    me = user_id(client, auth, "admin")
    own = put_memberships(client, auth, me, [{"role": "qa", "site_code": "MF-EAST"}])
    assert own.status_code == 409 and own.json()["code"] == "own_account"
    by_coordinator = client.put(f"/api/users/{lab}/memberships", headers=auth["coordinator"],
                                json={"memberships": [{"role": "admin"}]})
    assert by_coordinator.status_code == 403
    assert [m["role"] for m in user_row(client, auth, "lab_tech")["memberships"]] == ["lab_tech"]
    assert audit_of(lab, "change_roles") == []


def test_the_migration_refuses_printed_names_shared_by_active_users(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0004")
    engine = make_engine(url)
    with engine.begin() as conn:
        for name, full_name, active in (("a", "Sam Signer", True), ("b", "sam  SIGNER", True),
                                        ("c", "Old Name", True), ("d", "old name", False)):
            conn.execute(text('INSERT INTO "user" (username, full_name, password_hash, active, '
                              "failed_logins, created_at) VALUES (:u, :n, 'x', :a, 0, "
                              "'2026-01-01 00:00:00')"), {"u": name, "n": full_name, "a": active})
    with pytest.raises(RuntimeError, match="these are shared: Sam Signer"):
        upgrade(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE \"user\" SET full_name = 'Sam B. Signer' WHERE username = 'b'"))
    upgrade(url)  # nothing was half-done by the refused attempt
    with engine.connect() as conn:
        keys = dict(conn.execute(text('SELECT username, printed_name_key FROM "user"')).all())
    engine.dispose()
    assert keys == {"a": "sam signer", "b": "sam b. signer", "c": "old name", "d": "old name"}
