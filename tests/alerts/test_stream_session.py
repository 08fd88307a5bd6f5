"""The live alert stream does not outlive its session: over a real SSE connection, it closes
within seconds of a logout, an idle expiry, a disabled account, a password reset or a change
of roles or sites, and no alert fired after that reaches it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cartrack.alerts import routes, service
from tests.helpers.alerts import SseReader, add_alert, served_app
from tests.helpers.constants import PASSWORD

pytestmark = pytest.mark.realtime
MINE = {("infusion_staff", "TC-CITY")}
# The stream re-checks at least this often; the test allows a second on top.
CLOSES_WITHIN = routes.STREAM_RECHECK_SECONDS + 1.0


def fire() -> int:
    alert_id = add_alert(None, targets=MINE)
    assert service.fire_due() == [alert_id]
    return alert_id


class Browser:
    """A signed-in browser: its session cookie and CSRF token."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        r = httpx.post(f"{base}/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.cookie = {"Cookie": f"cartrack_session={r.cookies['cartrack_session']}"}
        self.csrf = r.json()["csrf_token"]

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", headers={**self.cookie, "X-CSRF-Token": self.csrf},
                          **kw)

    def stream(self) -> SseReader:
        return SseReader(f"{self.base}/api/alerts/stream", self.cookie)


def admin_action(path: str, method: str = "POST", **kw: Any) -> Callable[[str, Any], None]:
    def act(base: str, auth: Any) -> None:
        users = httpx.get(f"{base}/api/users", headers=auth["admin"]).json()["items"]
        nurse = next(u["id"] for u in users if u["username"] == "infusion_staff")
        r = httpx.request(method, f"{base}/api/users/{nurse}/{path}", headers=auth["admin"], **kw)
        assert r.status_code == 200, r.text

    return act


def test_logout_closes_the_stream_and_no_later_alert_reaches_it(db_url: str) -> None:
    with served_app() as base:
        nurse = Browser(base, "infusion_staff")
        with nurse.stream() as live:
            assert live.status == 200
            time.sleep(0.4)
            before = fire()
            assert live.next(timeout=3).json()["id"] == before  # the stream is live
            assert nurse.post("/api/auth/logout").status_code == 204
            after = fire()  # another patient's bedside alert, right after the logout
            assert live.ended.wait(CLOSES_WITHIN), "the stream outlived its session"
            assert [e.json()["id"] for e in live.drain(0.3)] == [], f"alert {after} delivered"
        with nurse.stream() as again:
            assert again.status == 401


ENDINGS = {
    "disabled": admin_action("disable"),
    "password reset": admin_action("password-reset"),
    "roles changed": admin_action("memberships", "PUT", json={"memberships": [
        {"role": "infusion_staff", "site_code": "TC-CITY"},
        {"role": "coordinator", "site_code": "TC-CITY"}]}),
    "sites changed": admin_action("memberships", "PUT", json={"memberships": [
        {"role": "infusion_staff", "site_code": "CC-NORTH"}]}),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_an_admins_change_to_the_account_closes_its_live_stream(db_url: str, auth: Any,
                                                                ending: str) -> None:
    with served_app() as base:
        nurse = Browser(base, "infusion_staff")
        with nurse.stream() as live:
            assert live.status == 200
            time.sleep(0.4)
            ENDINGS[ending](base, auth)
            started = time.monotonic()
            assert live.ended.wait(CLOSES_WITHIN), f"the stream outlived: {ending}"
            assert time.monotonic() - started < CLOSES_WITHIN
            fire()
            assert live.drain(0.3) == []


def test_idle_expiry_closes_the_stream(db_url: str, frozen: Any) -> None:
    with served_app() as base:
        nurse = Browser(base, "infusion_staff")
        with nurse.stream() as live:
            assert live.status == 200
            frozen.advance(minutes=14)
            time.sleep(CLOSES_WITHIN)
            assert not live.ended.is_set()  # the stream is not activity, but not idle yet
            frozen.advance(minutes=2)
            assert live.ended.wait(CLOSES_WITHIN), "the stream outlived its idle session"
            fire()
            assert live.drain(0.3) == []


def test_a_bearer_tokens_stream_closes_when_the_token_is_revoked(db_url: str, auth: Any) -> None:
    with served_app() as base, SseReader(f"{base}/api/alerts/stream",
                                         auth["infusion_staff"]) as live:
        assert live.status == 200
        r = httpx.post(f"{base}/api/auth/logout", headers=auth["infusion_staff"])
        assert r.status_code == 204
        fire()
        assert live.ended.wait(CLOSES_WITHIN)
        assert live.drain(0.3) == []


def test_a_stream_rechecks_every_few_seconds() -> None:
    assert 0 < routes.STREAM_RECHECK_SECONDS <= 5
