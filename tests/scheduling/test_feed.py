"""The calendar as an iCalendar feed: a secret URL per user, revocable, COIs only, no session
needed; it shows what the user's calendar shows, re-checked at every fetch."""

from __future__ import annotations

import json
import logging
import threading
from datetime import date
from typing import Any

from icalendar import Calendar
from sqlmodel import col, select

from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from cartrack.logs import logging_config
from cartrack.scheduling import feed
from cartrack.scheduling.models import CalendarFeed
from cartrack.security import load_principal, token_digest
from cartrack.users.models import User
from tests.helpers.journey import Journey
from tests.helpers.slots import add_people, hold, set_capacity

WINDOW = {"start": "2026-05-02", "end": "2026-07-31"}  # within the feed's 30 back, 120 ahead
PATIENT_DATA = ("Test", "Patient", "MRN-1", "1960-01-01", "19600101", "Olga", "MRN-O")


def make_feed(client: Any, headers: dict[str, str]) -> str:
    r = client.post("/api/calendar/feed", headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"url", "token_hint", "created_at"}
    assert body["url"].startswith("/api/calendar/feed/") and body["url"].endswith(".ics")
    token = body["url"].removeprefix("/api/calendar/feed/").removesuffix(".ics")
    assert token.startswith(body["token_hint"]) and len(token) == 43
    return str(body["url"])


def events(client: Any, url: str) -> list[tuple[str, str, str, str]]:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    out = []
    for ev in cal.walk("VEVENT"):
        start = ev.decoded("dtstart")
        assert type(start) is date  # all-day
        assert (ev.decoded("dtend") - start).days == 1
        out.append((str(ev["uid"]), start.isoformat(), str(ev["summary"]), str(ev["location"])))
    return sorted(out)


def calendar_api(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/api/calendar", headers=headers, params=WINDOW)
    assert r.status_code == 200, r.text
    return list(r.json())


def two_cases(client: Any, auth: Any) -> tuple[int, int, dict[str, dict[str, str]]]:
    """Ours at TC-CITY with a slot, another site's case at TC-OTHER with one on the same day."""
    people = add_people()
    case = Journey(client, auth).enroll("yescarta")
    set_capacity(client, people["planner"], date(2026, 6, 2), 2)
    assert hold(client, auth["coordinator"], case["id"], date(2026, 6, 2)).status_code == 201
    r = client.post("/api/cases", headers=people["coordinator_other"], json={
        "patient": {"given_name": "Olga", "family_name": "Other", "date_of_birth": "1970-01-01",
                    "mrn": "MRN-O"}, "product": "yescarta", "collection_site": "TC-OTHER",
        "manufacturing_site": "MF-EAST", "treatment_site": "TC-OTHER"})
    assert r.status_code == 201, r.text
    other = r.json()["id"]
    assert hold(client, people["coordinator_other"], other, date(2026, 6, 2)).status_code == 201
    return case["id"], other, people


def test_the_feed_parses_and_matches_the_calendar_with_cois_only(client: Any, auth: Any,
                                                                  frozen: Any) -> None:
    mine, other, people = two_cases(client, auth)
    url = make_feed(client, auth["coordinator"])
    feed = events(client, url)  # no session: the token is the credential
    api = calendar_api(client, auth["coordinator"])
    assert len(feed) == len(api) == 6
    labels = {"collection": "collection", "manufacturing_start": "manufacturing start",
              "release": "release", "delivery": "delivery", "ld_start": "lymphodepletion start",
              "infusion": "infusion"}
    assert feed == sorted(
        (f"{e['case_id']}-{e['kind']}-{'planned' if e['planned'] else 'actual'}@cartrack",
         e["day"], f"{e['coi']} {'planned ' if e['planned'] else ''}{labels[e['kind']]}",
         e["site"]) for e in api)
    assert any(s.endswith("planned infusion") for _, _, s, _ in feed)
    assert {e["case_id"] for e in api} == {mine}  # the other site's case is not in it
    assert not any(uid.startswith(f"{other}-") for uid, _, _, _ in feed)
    text = client.get(url).text
    for word in PATIENT_DATA:
        assert word not in text, word
    # Stable UIDs: the same events fetched again (a calendar app updates, not duplicates).
    assert [uid for uid, *_ in events(client, url)] == [uid for uid, *_ in feed]
    # The lab at the facility sees both cases' manufacturing days in its own feed.
    lab = events(client, make_feed(client, auth["lab_tech"]))
    assert {uid.split("-")[0] for uid, *_ in lab} == {str(mine), str(other)}
    # The other site's coordinator does not see ours.
    theirs = events(client, make_feed(client, people["coordinator_other"]))
    assert {uid.split("-")[0] for uid, *_ in theirs} == {str(other)}


def test_status_revoke_and_replace(client: Any, auth: Any, frozen: Any) -> None:
    co = auth["coordinator"]
    assert client.get("/api/calendar/feed", headers=co).json() == {
        "active": False, "token_hint": None, "created_at": None}
    r = client.delete("/api/calendar/feed", headers=co)
    assert (r.status_code, r.json()["code"]) == (404, "feed_not_found")
    first = make_feed(client, co)
    status = client.get("/api/calendar/feed", headers=co).json()
    assert status["active"] is True and first.split("/")[-1].startswith(status["token_hint"])
    assert "url" not in status and first not in json.dumps(status)
    assert client.get(first).status_code == 200
    second = make_feed(client, co)  # a new one revokes the old
    assert second != first
    r = client.get(first)
    assert (r.status_code, r.json()["code"]) == (404, "feed_not_found")
    assert client.get(second).status_code == 200
    assert client.delete("/api/calendar/feed", headers=co).status_code == 204
    assert client.get(second).status_code == 404
    assert client.get("/api/calendar/feed", headers=co).json()["active"] is False
    with new_session() as s:
        rows = s.exec(select(CalendarFeed)).all()
        assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)
        stored = {r.token_hash for r in rows}
        for url in (first, second):  # only the hash is kept
            token = url.split("/")[-1].removesuffix(".ics")
            assert token not in stored and token_digest(token) in stored
        actions = [e.action for e in s.exec(select(AuditEntry).where(
            AuditEntry.entity == "calendar_feed").order_by(col(AuditEntry.id))).all()]
    assert actions == ["calendar_feed.create", "calendar_feed.revoke", "calendar_feed.create",
                       "calendar_feed.revoke"]


def test_a_disabled_user_or_a_wrong_token_gets_404(client: Any, auth: Any, frozen: Any) -> None:
    url = make_feed(client, auth["lab_tech"])
    assert client.get(url).status_code == 200
    wrong = url[:-10] + ("A" if url[-10] != "A" else "B") + url[-9:]
    for bad in (wrong, "/api/calendar/feed/" + "x" * 43 + ".ics"):
        r = client.get(bad)
        assert (r.status_code, r.json()["code"]) == (404, "feed_not_found")
    assert client.get("/api/calendar/feed/short.ics").status_code == 422
    users = client.get("/api/users", headers=auth["admin"]).json()["items"]
    lab = next(u["id"] for u in users if u["username"] == "lab_tech")
    assert client.post(f"/api/users/{lab}/disable", headers=auth["admin"]).status_code == 200
    assert client.get(url).status_code == 404
    assert client.post(f"/api/users/{lab}/enable", headers=auth["admin"]).status_code == 200
    assert client.get(url).status_code == 200
    # Roles are read at each fetch: out of every calendar role, the feed stops.
    r = client.put(f"/api/users/{lab}/memberships", headers=auth["admin"],
                   json={"memberships": [{"role": "manufacturing_planner",
                                          "site_code": "MF-EAST"}]})
    assert r.status_code == 200, r.text
    assert client.get(url).status_code == 404


def test_who_may_make_a_feed(client: Any, auth: Any, frozen: Any) -> None:
    r = client.post("/api/calendar/feed", headers=auth["admin"])
    assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
    r = client.post("/api/calendar/feed")
    assert r.status_code == 401


def test_the_access_log_hides_the_token() -> None:
    config = logging_config("text", "INFO")
    feed_filter = config["filters"]["feed_token"]["()"]()
    token = "A" * 43
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:1", "GET",
                                                           f"/api/calendar/feed/{token}.ics",
                                                           "1.1", 200), None)
    assert feed_filter.filter(record)
    assert token not in record.getMessage()
    assert "/api/calendar/feed/***.ics" in record.getMessage()


def test_feeds_made_at_the_same_moment_leave_one_active(client: Any, auth: Any) -> None:
    """Four creates at once (each in its own thread and transaction): all succeed, one stays."""
    barrier = threading.Barrier(4)
    made: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        with new_session(read_only=True) as s:
            user = s.exec(select(User).where(User.username == "coordinator")).one()
            principal = load_principal(s, user, "test")
        barrier.wait()
        with new_session() as s:
            url = feed.create(s, principal).url
        with lock:
            made.append(url)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 4
    assert sorted(client.get(url).status_code for url in made) == [200, 404, 404, 404]
    with new_session() as s:
        active = s.exec(select(CalendarFeed).where(col(CalendarFeed.revoked_at).is_(None))).all()
    assert len(active) == 1
